package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The bodies of IBM Event Streams' admin API ({@code /admin/topics}), which IBM's Node client and
 * samples use to create topics. Topic settings travel in camel case ({@code retentionMs},
 * {@code cleanupPolicy}); {@link #kafkaName} turns them into Kafka's names.
 */
public final class AdminTopics {
    /** The most settings a topic may be created with: as many as Confluent v3's create takes. */
    public static final int MAX_CONFIGS = 1000;

    private AdminTopics() {
    }

    /** {@code POST /admin/topics}: {@code {"name":"t","partitions":1,"configs":{"retentionMs":86400000}}}. */
    public record CreateRequest(
            @JsonProperty("name") String name,
            @JsonProperty("partitions") Integer partitions,
            @JsonProperty("replicationFactor") Integer replicationFactor,
            @JsonProperty("configs") Map<String, Object> configs) {

        public CreateRequest {
            if (name == null || name.isBlank()) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("\"name\" is required");
            }
            if (partitions != null && partitions < 1) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("\"partitions\" must be at least 1");
            }
            if (replicationFactor != null && replicationFactor < 1) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("\"replicationFactor\" must be at least 1");
            }
            if (configs != null && configs.size() > MAX_CONFIGS) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("\"configs\" may hold at most " + MAX_CONFIGS + " settings");
            }
        }

        /** The partition count asked for: IBM's default, 1, when the body names none (not the broker's {@code num.partitions}). */
        public int partitionsOrDefault() {
            return partitions == null ? 1 : partitions;
        }

        /** The topic settings with Kafka's names and string values. */
        public Map<String, String> kafkaConfigs() {
            Map<String, String> out = new LinkedHashMap<>();
            if (configs != null) {
                configs.forEach((k, v) -> {
                    if (v == null || v instanceof Map || v instanceof List) {
                        throw ErrorCode.UNPROCESSABLE_ENTITY.exception("config " + Validation.excerpt(k)
                                + " must be a string, number or boolean");
                    }
                    if (out.put(kafkaName(k), String.valueOf(v)) != null) {
                        throw ErrorCode.UNPROCESSABLE_ENTITY.exception("config " + Validation.excerpt(kafkaName(k))
                                + " is given twice (under IBM's name and Kafka's)");
                    }
                });
            }
            return out;
        }
    }

    /** One topic of {@code GET /admin/topics}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Topic(
            @JsonProperty("name") String name,
            @JsonProperty("partitions") int partitions,
            @JsonProperty("replicationFactor") int replicationFactor,
            @JsonProperty("retentionMs") Long retentionMs,
            @JsonProperty("cleanupPolicy") String cleanupPolicy,
            @JsonProperty("configs") Map<String, String> configs) {
    }

    /** {@code retentionMs} → {@code retention.ms}; names with dots are taken as Kafka's already. */
    public static String kafkaName(String name) {
        if (name.indexOf('.') >= 0) {
            return name;
        }
        StringBuilder out = new StringBuilder();
        for (char c : name.toCharArray()) {
            if (Character.isUpperCase(c)) {
                out.append('.').append(Character.toLowerCase(c));
            } else {
                out.append(c);
            }
        }
        return out.toString().toLowerCase(Locale.ROOT);
    }
}
