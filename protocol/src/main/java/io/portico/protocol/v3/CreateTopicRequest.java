package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Validation;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code POST /v3/clusters/{cluster_id}/topics}:
 * {@code {"topic_name":"t","partitions_count":3,"replication_factor":1,"configs":[{"name":"cleanup.policy","value":"compact"}],"validate_only":false}},
 * or {@code "replicas_assignments":{"0":[1,2],"1":[2,3]}} instead of the two counts. Absent counts
 * take the broker's defaults. The shape is checked here (42206 when it does not fit), the number
 * of settings and partitions first, and the settings and assignments are built once, as the body
 * is read; the topic name, counts, settings and brokers are checked against Kafka's rules by the
 * service that creates it.
 */
public record CreateTopicRequest(String topicName, Integer partitionsCount, Integer replicationFactor,
                                 Map<Integer, List<Integer>> assignments, Map<String, String> configMap, boolean dryRun) {
    /** The most settings a topic may be created with (as many as the service takes). */
    public static final int MAX_CONFIGS = 1000;
    /** The most partitions {@code replicas_assignments} may give (as many as the service takes). */
    public static final int MAX_PARTITIONS = 10_000;

    /** One setting of the new topic: {@code {"name":"cleanup.policy","value":"compact"}}. */
    public record ConfigValue(@JsonProperty("name") String name, @JsonProperty("value") String value) {
        public ConfigValue {
            if (name == null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Every config needs a name.");
            }
        }
    }

    /**
     * The request: {@code assignments}, the replicas of each partition by partition id (empty when
     * the counts are used instead), and {@code configMap}, the settings by name, both in the
     * request's order and unmodifiable; {@code dryRun} when only Kafka's checks run and no topic
     * is created.
     */
    public CreateTopicRequest {
        assignments = assignments == null ? Map.of() : assignments;
        configMap = configMap == null ? Map.of() : configMap;
    }

    /** The request as the body gives it; 42206 when it does not fit. */
    @JsonCreator
    public static CreateTopicRequest of(
            @JsonProperty("topic_name") String topicName,
            @JsonProperty("partitions_count") Integer partitionsCount,
            @JsonProperty("replication_factor") Integer replicationFactor,
            @JsonProperty("replicas_assignments") Map<String, List<Integer>> replicasAssignments,
            @JsonProperty("configs") List<ConfigValue> configs,
            @JsonProperty("validate_only") Boolean validateOnly) {
        if (configs != null && configs.size() > MAX_CONFIGS) {
            throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MAX_CONFIGS + " configs.");
        }
        if (replicasAssignments != null && replicasAssignments.size() > MAX_PARTITIONS) {
            throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MAX_PARTITIONS + " partitions.");
        }
        boolean assigned = replicasAssignments != null && !replicasAssignments.isEmpty();
        // With replicas_assignments the counts are what the assignments say: counts given beside
        // them are ignored, as Confluent's proxy ignores them.
        return new CreateTopicRequest(topicName, assigned ? null : partitionsCount, assigned ? null : replicationFactor,
                assignments(replicasAssignments), configMap(configs), Boolean.TRUE.equals(validateOnly));
    }

    private static Map<String, String> configMap(List<ConfigValue> configs) {
        Map<String, String> out = new LinkedHashMap<>();
        if (configs == null) {
            return Collections.unmodifiableMap(out);
        }
        for (ConfigValue c : configs) {
            if (c == null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("configs may not contain null.");
            }
            if (out.containsKey(c.name())) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Config '" + Validation.excerpt(c.name()) + "' is given twice.");
            }
            out.put(c.name(), c.value());
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<Integer, List<Integer>> assignments(Map<String, List<Integer>> replicas) {
        Map<Integer, List<Integer>> out = new LinkedHashMap<>();
        if (replicas == null) {
            return Collections.unmodifiableMap(out);
        }
        for (Map.Entry<String, List<Integer>> e : replicas.entrySet()) {
            int partition;
            try {
                partition = Integer.parseInt(e.getKey());
            } catch (NumberFormatException notANumber) {
                partition = -1;
            }
            if (partition < 0) {
                throw ErrorCode.PAYLOAD_ERROR.exception("The keys of replicas_assignments are partition ids, not '"
                        + Validation.excerpt(e.getKey()) + "'.");
            }
            List<Integer> brokers = e.getValue();
            if (brokers == null || brokers.isEmpty() || brokers.stream().anyMatch(Objects::isNull)) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Partition " + partition + " needs a list of broker ids.");
            }
            if (out.put(partition, List.copyOf(brokers)) != null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Partition " + partition + " is given twice.");
            }
        }
        return Collections.unmodifiableMap(out);
    }
}
