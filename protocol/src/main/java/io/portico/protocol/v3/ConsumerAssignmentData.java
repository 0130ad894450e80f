package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code KafkaConsumerAssignment}: a partition assigned to a member of a consumer group, with links to the partition and the group's lag on it. */
public record ConsumerAssignmentData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("consumer_group_id") String consumerGroupId,
        @JsonProperty("consumer_id") String consumerId,
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("partition_id") int partitionId,
        @JsonProperty("partition") Related partition,
        @JsonProperty("lag") Related lag) {

    public static final String KIND = "KafkaConsumerAssignment";
    public static final String LIST_KIND = "KafkaConsumerAssignmentList";
}
