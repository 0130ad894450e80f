package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * {@code KafkaClusterConfig}: a broker setting set for the whole cluster ({@code config_type}
 * {@code BROKER}, the only type Confluent's API knows), in the shape of {@link TopicConfigData}.
 */
public record ClusterConfigData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("config_type") String configType,
        @JsonProperty("name") String name,
        @JsonProperty("value") String value,
        @JsonProperty("is_default") boolean isDefault,
        @JsonProperty("is_read_only") boolean isReadOnly,
        @JsonProperty("is_sensitive") boolean isSensitive,
        @JsonProperty("source") String source,
        @JsonProperty("synonyms") List<TopicConfigData.Synonym> synonyms) {

    public static final String KIND = "KafkaClusterConfig";
    public static final String LIST_KIND = "KafkaClusterConfigList";
    /** The one type of cluster-wide settings: the brokers'. */
    public static final String BROKER = "BROKER";
}
