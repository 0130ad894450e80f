package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code KafkaConsumer}: a member of a consumer group, its static instance id (or null), client id and assignments link. */
public record ConsumerData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("consumer_group_id") String consumerGroupId,
        @JsonProperty("consumer_id") String consumerId,
        @JsonProperty("instance_id") String instanceId,
        @JsonProperty("client_id") String clientId,
        @JsonProperty("assignments") Related assignments) {

    public static final String KIND = "KafkaConsumer";
    public static final String LIST_KIND = "KafkaConsumerList";
}
