package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code KafkaBroker}: id, host, port and rack (each null when unknown), links to its configs and replicas. */
public record BrokerData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("broker_id") int brokerId,
        @JsonProperty("host") String host,
        @JsonProperty("port") Integer port,
        @JsonProperty("rack") String rack,
        @JsonProperty("configs") Related configs,
        @JsonProperty("partition_replicas") Related partitionReplicas) {

    public static final String KIND = "KafkaBroker";
    public static final String LIST_KIND = "KafkaBrokerList";
}
