package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One setting as Kafka describes it — its value (null when sensitive or unset), whether it is the
 * default, read-only or sensitive, where the value comes from ({@code DYNAMIC_TOPIC_CONFIG},
 * {@code STATIC_BROKER_CONFIG}, {@code DEFAULT_CONFIG}, …) and the values it overrides, most
 * specific first — of what it belongs to: a topic ({@code KafkaTopicConfig}, with
 * {@code topic_name}), a broker ({@code KafkaBrokerConfig}, with {@code broker_id}) or every
 * broker of the cluster ({@code KafkaClusterConfig}, with {@code config_type} {@code BROKER}, the
 * only type Confluent's API knows). The two fields a kind does not have are left out.
 */
public record ConfigData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("topic_name") @JsonInclude(JsonInclude.Include.NON_NULL) String topicName,
        @JsonProperty("broker_id") @JsonInclude(JsonInclude.Include.NON_NULL) Integer brokerId,
        @JsonProperty("config_type") @JsonInclude(JsonInclude.Include.NON_NULL) String configType,
        @JsonProperty("name") String name,
        @JsonProperty("value") String value,
        @JsonProperty("is_default") boolean isDefault,
        @JsonProperty("is_read_only") boolean isReadOnly,
        @JsonProperty("is_sensitive") boolean isSensitive,
        @JsonProperty("source") String source,
        @JsonProperty("synonyms") List<Synonym> synonyms) {

    public static final String TOPIC_KIND = "KafkaTopicConfig";
    public static final String TOPIC_LIST_KIND = "KafkaTopicConfigList";
    public static final String BROKER_KIND = "KafkaBrokerConfig";
    public static final String BROKER_LIST_KIND = "KafkaBrokerConfigList";
    public static final String CLUSTER_KIND = "KafkaClusterConfig";
    public static final String CLUSTER_LIST_KIND = "KafkaClusterConfigList";
    /** The one type of cluster-wide settings: the brokers'. */
    public static final String BROKER = "BROKER";

    /** A value the setting has at another level: {@code {"name","value","source"}}. */
    public record Synonym(
            @JsonProperty("name") String name,
            @JsonProperty("value") String value,
            @JsonProperty("source") String source) {
    }
}
