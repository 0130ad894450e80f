package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code KafkaBrokerConfig}: one setting of a broker as Kafka describes it, in the shape of
 * {@link TopicConfigData} with the broker's id in place of the topic's name.
 */
public record BrokerConfigData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("broker_id") int brokerId,
        @JsonProperty("name") String name,
        @JsonProperty("value") String value,
        @JsonProperty("is_default") boolean isDefault,
        @JsonProperty("is_read_only") boolean isReadOnly,
        @JsonProperty("is_sensitive") boolean isSensitive,
        @JsonProperty("source") String source,
        @JsonProperty("synonyms") List<TopicConfigData.Synonym> synonyms) {

    public static final String KIND = "KafkaBrokerConfig";
    public static final String LIST_KIND = "KafkaBrokerConfigList";
}
