package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code KafkaConsumerLag}: for one partition, the group's committed offset, the partition's end
 * offset and the lag between them (never negative), with the member that has the partition
 * ({@code ""} when none has).
 */
public record ConsumerLagData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("consumer_group_id") String consumerGroupId,
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("partition_id") int partitionId,
        @JsonProperty("consumer_id") String consumerId,
        @JsonProperty("instance_id") String instanceId,
        @JsonProperty("client_id") String clientId,
        @JsonProperty("current_offset") long currentOffset,
        @JsonProperty("log_end_offset") long logEndOffset,
        @JsonProperty("lag") long lag) {

    public static final String KIND = "KafkaConsumerLag";
    public static final String LIST_KIND = "KafkaConsumerLagList";
}
