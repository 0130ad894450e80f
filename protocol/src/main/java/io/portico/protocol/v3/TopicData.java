package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code KafkaTopic}: name, whether Kafka owns it, replication factor, partition count, links to
 * its partitions, configs and reassignments, and {@code authorized_operations} (always
 * {@code []}: Portico's API keys, not Kafka ACLs, say what a caller may do).
 */
public record TopicData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("is_internal") boolean isInternal,
        @JsonProperty("replication_factor") int replicationFactor,
        @JsonProperty("partitions_count") int partitionsCount,
        @JsonProperty("partitions") Related partitions,
        @JsonProperty("configs") Related configs,
        @JsonProperty("partition_reassignments") Related partitionReassignments,
        @JsonProperty("authorized_operations") List<String> authorizedOperations) {

    public static final String KIND = "KafkaTopic";
    public static final String LIST_KIND = "KafkaTopicList";
}
