package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code KafkaCluster}: the cluster's id and links to its controller (null when unknown),
 * ACLs, brokers, broker configs, consumer groups, topics and partition reassignments.
 */
public record ClusterData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("controller") Related controller,
        @JsonProperty("acls") Related acls,
        @JsonProperty("brokers") Related brokers,
        @JsonProperty("broker_configs") Related brokerConfigs,
        @JsonProperty("consumer_groups") Related consumerGroups,
        @JsonProperty("topics") Related topics,
        @JsonProperty("partition_reassignments") Related partitionReassignments) {

    public static final String KIND = "KafkaCluster";
    public static final String LIST_KIND = "KafkaClusterList";
}
