package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.internals.Topic;

/**
 * The checks every client-supplied name passes before it reaches a Kafka client that other
 * clients share. Kafka's clients serialize names into requests with 16-bit lengths, and one that
 * does not fit fails the client's network thread for every later request (a producer fails every
 * send, an admin client's thread exits); names are therefore checked here, by Kafka's own rules,
 * and refused with a 4xx that never echoes more than the start of the name.
 */
public final class KafkaNames {
    /** Kafka's longest topic name. */
    public static final int TOPIC_MAX_LENGTH = 249;
    /** Longest consumer group name Portico accepts. */
    public static final int GROUP_MAX_LENGTH = 255;
    /** Longest topic config name and value (the protocol's 16-bit string length). */
    public static final int CONFIG_MAX_BYTES = Short.MAX_VALUE;

    private KafkaNames() {
    }

    /**
     * {@code topic}, if it is a legal Kafka topic name: 1 to 249 characters of ASCII letters,
     * digits, {@code .}, {@code _} and {@code -}, and neither {@code .} nor {@code ..}.
     *
     * @throws RestException 400/40002 otherwise
     */
    public static String topic(String topic) {
        return topic(topic, ErrorCode.KAFKA_BAD_REQUEST);
    }

    /** As {@link #topic(String)}, failing with {@code error} (e.g. 422 for a name in a body). */
    public static String topic(String topic, ErrorCode error) {
        String problem = topicProblem(topic);
        if (problem != null) {
            throw error.exception("Invalid topic name '" + excerpt(topic) + "': " + problem);
        }
        return topic;
    }

    private static String topicProblem(String topic) {
        if (topic == null || topic.isEmpty()) {
            return "a topic name is required";
        }
        if (topic.length() > TOPIC_MAX_LENGTH) {
            return "longer than " + TOPIC_MAX_LENGTH + " characters";
        }
        if (topic.equals(".") || topic.equals("..")) {
            return "'.' and '..' are not topic names";
        }
        for (int i = 0; i < topic.length(); i++) {
            char c = topic.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-')) {
                return "only ASCII letters, digits, '.', '_' and '-' are allowed";
            }
        }
        return null;
    }

    /**
     * Whether Kafka (or a tool of its ecosystem) owns the topic: {@code __consumer_offsets},
     * {@code __transaction_state}, and every name starting with {@code __}.
     */
    public static boolean isInternal(String topic) {
        return topic.startsWith("__") || Topic.isInternal(topic) || RESERVED.contains(topic);
    }

    /** Topics Portico keeps its own state in (the idempotency topic): see {@link #reserve}. */
    private static final Set<String> RESERVED = ConcurrentHashMap.newKeySet();

    /**
     * Makes {@code topic} one of Portico's own: from now on, in this JVM, it is left out of topic
     * lists and refused to clients on every route ({@link #notReserved}), besides counting as
     * internal. Called by the service that keeps its state there, when it starts.
     */
    public static void reserve(String topic) {
        RESERVED.add(topic);
    }

    /** Whether {@code topic} holds Portico's own state. */
    public static boolean isReserved(String topic) {
        return topic != null && RESERVED.contains(topic);
    }

    /**
     * Refuses a topic that holds Portico's own state to a client, whatever it asks of it.
     *
     * @throws RestException 403
     */
    public static void notReserved(String topic) {
        if (isReserved(topic)) {
            throw ErrorCode.FORBIDDEN.exception("Topic '" + topic + "' holds this server's own state: it cannot be read, "
                    + "written or changed through it");
        }
    }

    /**
     * Refuses internal topics for an operation that changes them.
     *
     * @throws RestException 403 naming the topic and the operation
     */
    public static void notInternal(String topic, String operation) {
        if (isInternal(topic)) {
            throw ErrorCode.FORBIDDEN.exception("Topic '" + topic + "' is internal to Kafka: it cannot be " + operation
                    + " through this server");
        }
    }

    /**
     * {@code group}, if it can be a consumer group id: 1 to 255 characters, none of them a
     * control character.
     *
     * @throws RestException 400 otherwise
     */
    public static String group(String group) {
        if (group == null || group.isEmpty() || group.length() > GROUP_MAX_LENGTH) {
            throw ErrorCode.BAD_REQUEST.exception("Invalid consumer group name '" + excerpt(group)
                    + "': it must have 1 to " + GROUP_MAX_LENGTH + " characters");
        }
        for (int i = 0; i < group.length(); i++) {
            if (Character.isISOControl(group.charAt(i))) {
                throw ErrorCode.BAD_REQUEST.exception("Invalid consumer group name: control characters are not allowed");
            }
        }
        return group;
    }

    /**
     * Topic settings as a create request passes them to Kafka: names of lower-case letters, digits,
     * {@code .}, {@code _} and {@code -}; names and values within the protocol's string length.
     *
     * @throws RestException 422 naming the setting otherwise
     */
    public static Map<String, String> configs(Map<String, String> configs) {
        return configs(configs, ErrorCode.UNPROCESSABLE_ENTITY);
    }

    /** As {@link #configs(Map)}, failing with {@code error} (e.g. Confluent v3's 42206). */
    public static Map<String, String> configs(Map<String, String> configs, ErrorCode error) {
        for (Map.Entry<String, String> e : configs.entrySet()) {
            configName(e.getKey(), error);
            configValue(e.getKey(), e.getValue(), error);
        }
        return configs;
    }

    /**
     * {@code name}, if it can be a topic setting's name: 1 to 255 lower-case letters, digits,
     * {@code .}, {@code _} and {@code -}.
     *
     * @throws RestException {@code error} otherwise
     */
    public static String configName(String name, ErrorCode error) {
        if (name == null || name.isEmpty() || name.length() > 255) {
            throw error.exception("Invalid config name '" + excerpt(name) + "'");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-')) {
                throw error.exception("Invalid config name '" + excerpt(name) + "'");
            }
        }
        return name;
    }

    /**
     * {@code value} (null allowed), if it fits the protocol's string length.
     *
     * @throws RestException {@code error} naming the setting otherwise
     */
    public static String configValue(String name, String value, ErrorCode error) {
        if (value != null && value.getBytes(StandardCharsets.UTF_8).length > CONFIG_MAX_BYTES) {
            throw error.exception("The value of config " + name + " is longer than " + CONFIG_MAX_BYTES + " bytes");
        }
        return value;
    }

    /** The start of a name, safe to put in a message or a log line (control characters replaced). */
    public static String excerpt(String name) {
        if (name == null) {
            return "";
        }
        String start = name.length() > 64 ? name.substring(0, 64) + "…" : name;
        StringBuilder out = new StringBuilder(start.length());
        for (int i = 0; i < start.length(); i++) {
            char c = start.charAt(i);
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        return out.toString();
    }
}
