package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Validation;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * {@code POST …/topics/-/configs:alter} (Confluent's kafka-rest 8): the settings of several
 * topics changed in one request,
 * {@code {"data":[{"topic_name":"a","configs":[{"name":"cleanup.policy","value":"compact"}]}],"validate_only":false}}.
 * Each topic's entries are {@link AlterConfigsRequest.Entry}s ({@code SET} by default, or
 * {@code DELETE}). A topic named twice is refused (Confluent's keeps the last entry and drops the
 * others' changes without a word).
 */
public record AlterTopicsConfigsRequest(
        @JsonProperty("data") List<Topic> data,
        @JsonProperty("validate_only") Boolean validateOnly) {

    /** One topic's changes. */
    public record Topic(
            @JsonProperty("topic_name") String topicName,
            @JsonProperty("configs") List<AlterConfigsRequest.Entry> configs) {

        public Topic {
            if (topicName == null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Every entry of data needs a topic_name.");
            }
            if (configs == null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("The entry of topic " + Validation.excerpt(topicName) + " needs configs.");
            }
            if (configs.stream().anyMatch(Objects::isNull)) {
                throw ErrorCode.PAYLOAD_ERROR.exception("The configs of topic " + Validation.excerpt(topicName)
                        + " may not contain null.");
            }
            configs = List.copyOf(configs);
        }
    }

    /** Most topics one request changes: their settings are all described first, in memory together. */
    public static final int MAX_TOPICS = 100;
    /** Most changes one request makes, over all its topics. */
    public static final int MAX_CHANGES = 1000;

    public AlterTopicsConfigsRequest {
        if (data == null) {
            throw ErrorCode.PAYLOAD_ERROR.exception("data is required.");
        }
        if (data.stream().anyMatch(Objects::isNull)) {
            throw ErrorCode.PAYLOAD_ERROR.exception("data may not contain null.");
        }
        // Counted before any name is looked at: a body of thousands of topics costs no more checks.
        if (data.size() > MAX_TOPICS) {
            throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MAX_TOPICS + " topics at once.");
        }
        if (data.stream().mapToLong(t -> t.configs().size()).sum() > MAX_CHANGES) {
            throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MAX_CHANGES + " configs at once.");
        }
        Set<String> seen = new HashSet<>();
        for (Topic t : data) {
            if (!seen.add(t.topicName())) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Topic " + Validation.excerpt(t.topicName())
                        + " is named more than once in data.");
            }
        }
        data = List.copyOf(data);
    }

    /** Whether the changes are only checked by Kafka, not made. */
    public boolean dryRun() {
        return Boolean.TRUE.equals(validateOnly);
    }

    /**
     * The answer when Kafka refused some topics' changes (207): {@code {"failures":[{"topic_name",
     * "error_code","message"}]}}, in the request's order; the other topics' changes were made.
     */
    public record Failures(@JsonProperty("failures") List<Failure> failures) {
    }

    /** A topic whose changes Kafka refused: Confluent's error code and message for the refusal. */
    public record Failure(
            @JsonProperty("topic_name") String topicName,
            @JsonProperty("error_code") int errorCode,
            @JsonProperty("message") String message) {
    }
}
