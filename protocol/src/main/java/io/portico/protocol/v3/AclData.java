package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code KafkaAcl}: one of Kafka's ACLs — on what resources ({@code resource_type},
 * {@code resource_name}, {@code pattern_type}), for whom ({@code principal}, {@code host}),
 * which {@code operation}, allowed or denied. Its {@code self} is the search that finds it alone.
 */
public record AclData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("resource_type") String resourceType,
        @JsonProperty("resource_name") String resourceName,
        @JsonProperty("pattern_type") String patternType,
        @JsonProperty("principal") String principal,
        @JsonProperty("host") String host,
        @JsonProperty("operation") String operation,
        @JsonProperty("permission") String permission) {

    public static final String KIND = "KafkaAcl";
    public static final String LIST_KIND = "KafkaAclList";
}
