package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code KafkaPartitionWithOffsets}: a partition's first offset and the offset after its last record. */
public record PartitionOffsetsData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("partition_id") int partitionId,
        @JsonProperty("earliest_offset") long earliestOffset,
        @JsonProperty("latest_offset") long latestOffset) {

    public static final String KIND = "KafkaPartitionWithOffsets";
}
