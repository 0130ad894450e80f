package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code POST /v3/clusters/{cluster_id}/topics}:
 * {@code {"topic_name":"t","partitions_count":3,"replication_factor":1,"configs":[{"name":"cleanup.policy","value":"compact"}],"validate_only":false}},
 * or {@code "replicas_assignments":{"0":[1,2],"1":[2,3]}} instead of the two counts. Absent counts
 * take the broker's defaults. The shape is checked here (42206 when it does not fit); the topic
 * name, counts and settings are checked against Kafka's rules by the service that creates it.
 */
public record CreateTopicRequest(
        @JsonProperty("topic_name") String topicName,
        @JsonProperty("partitions_count") Integer partitionsCount,
        @JsonProperty("replication_factor") Integer replicationFactor,
        @JsonProperty("replicas_assignments") Map<String, List<Integer>> replicasAssignments,
        @JsonProperty("configs") List<ConfigValue> configs,
        @JsonProperty("validate_only") Boolean validateOnly) {

    /** One setting of the new topic: {@code {"name":"cleanup.policy","value":"compact"}}. */
    public record ConfigValue(@JsonProperty("name") String name, @JsonProperty("value") String value) {
        public ConfigValue {
            if (name == null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Every config needs a name.");
            }
        }
    }

    public CreateTopicRequest {
        configMap(configs);
        assignments(replicasAssignments);
        if (replicasAssignments != null && !replicasAssignments.isEmpty()
                && (partitionsCount != null || replicationFactor != null)) {
            throw ErrorCode.PAYLOAD_ERROR.exception(
                    "Give either replicas_assignments or partitions_count and replication_factor, not both.");
        }
    }

    /** Whether only Kafka's checks run and no topic is created. */
    public boolean dryRun() {
        return Boolean.TRUE.equals(validateOnly);
    }

    /** The settings by name, in the request's order. */
    public Map<String, String> configMap() {
        return configMap(configs);
    }

    /** The replicas of each partition by partition id; empty when the counts are used instead. */
    public Map<Integer, List<Integer>> assignments() {
        return assignments(replicasAssignments);
    }

    private static Map<String, String> configMap(List<ConfigValue> configs) {
        Map<String, String> out = new LinkedHashMap<>();
        if (configs == null) {
            return out;
        }
        for (ConfigValue c : configs) {
            if (c == null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("configs may not contain null.");
            }
            if (out.containsKey(c.name())) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Config '" + excerpt(c.name()) + "' is given twice.");
            }
            out.put(c.name(), c.value());
        }
        return out;
    }

    private static Map<Integer, List<Integer>> assignments(Map<String, List<Integer>> replicas) {
        Map<Integer, List<Integer>> out = new LinkedHashMap<>();
        if (replicas == null) {
            return out;
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
                        + excerpt(e.getKey()) + "'.");
            }
            List<Integer> brokers = e.getValue();
            if (brokers == null || brokers.isEmpty() || brokers.stream().anyMatch(Objects::isNull)) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Partition " + partition + " needs a list of broker ids.");
            }
            out.put(partition, List.copyOf(brokers));
        }
        return out;
    }

    private static String excerpt(String value) {
        return value.length() <= 64 ? value : value.substring(0, 64) + "…";
    }
}
