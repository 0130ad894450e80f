package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code KafkaReplica}: a broker holding a replica of a partition, whether it leads and whether it is in sync. */
public record ReplicaData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("partition_id") int partitionId,
        @JsonProperty("broker_id") int brokerId,
        @JsonProperty("is_leader") boolean isLeader,
        @JsonProperty("is_in_sync") boolean isInSync,
        @JsonProperty("broker") Related broker) {

    public static final String KIND = "KafkaReplica";
    public static final String LIST_KIND = "KafkaReplicaList";
}
