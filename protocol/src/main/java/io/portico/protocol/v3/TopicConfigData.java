package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code KafkaTopicConfig}: one setting of a topic as Kafka describes it — its value (null when
 * sensitive or unset), whether it is the default, read-only or sensitive, where the value comes
 * from ({@code DYNAMIC_TOPIC_CONFIG}, {@code STATIC_BROKER_CONFIG}, {@code DEFAULT_CONFIG}, …)
 * and the values it overrides, most specific first.
 */
public record TopicConfigData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("name") String name,
        @JsonProperty("value") String value,
        @JsonProperty("is_default") boolean isDefault,
        @JsonProperty("is_read_only") boolean isReadOnly,
        @JsonProperty("is_sensitive") boolean isSensitive,
        @JsonProperty("source") String source,
        @JsonProperty("synonyms") List<Synonym> synonyms) {

    public static final String KIND = "KafkaTopicConfig";
    public static final String LIST_KIND = "KafkaTopicConfigList";

    /** A value the setting has at another level: {@code {"name","value","source"}}. */
    public record Synonym(
            @JsonProperty("name") String name,
            @JsonProperty("value") String value,
            @JsonProperty("source") String source) {
    }
}
