package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code KafkaReassignment}: a partition being moved between brokers, the replicas it is gaining
 * ({@code adding_replicas}) and losing ({@code removing_replicas}), and a link to its replicas.
 */
public record ReassignmentData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("partition_id") int partitionId,
        @JsonProperty("adding_replicas") List<Integer> addingReplicas,
        @JsonProperty("removing_replicas") List<Integer> removingReplicas,
        @JsonProperty("replicas") Related replicas) {

    public static final String KIND = "KafkaReassignment";
    public static final String LIST_KIND = "KafkaReassignmentList";
}
