package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code KafkaPartition}: its id and links to its leader replica (null without a leader), replicas and reassignment. */
public record PartitionData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("partition_id") int partitionId,
        @JsonProperty("leader") Related leader,
        @JsonProperty("replicas") Related replicas,
        @JsonProperty("reassignment") Related reassignment) {

    public static final String KIND = "KafkaPartition";
    public static final String LIST_KIND = "KafkaPartitionList";
}
