package io.portico.protocol.v2;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.portico.protocol.BoundedList;
import io.portico.protocol.ErrorCode;
import java.util.List;

/**
 * {@code {"topics":["a","b"]}} or {@code {"topic_pattern":"a.*"}}: a subscription to set (one of
 * the two), and {@code {"topics":[…]}} as {@code GET …/subscription} answers.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Subscription(
        @JsonDeserialize(using = BoundedList.Entries.class) @JsonProperty("topics") List<String> topics,
        @JsonProperty("topic_pattern") String topicPattern) {

    /** The answer of {@code GET …/subscription}. */
    public static Subscription of(List<String> topics) {
        return new Subscription(topics, null);
    }

    /**
     * Checks a subscription request: one of {@code topics} (not empty) and {@code topic_pattern}
     * (the caller treats neither as unsubscribing).
     */
    public Subscription requireOne() {
        boolean hasTopics = topics != null && !topics.isEmpty();
        boolean hasPattern = topicPattern != null && !topicPattern.isEmpty();
        if (hasTopics == hasPattern) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception(
                    "A subscription needs either topics (a non-empty list) or topic_pattern, not both");
        }
        if (hasTopics && topics.contains(null)) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("topics may not contain null");
        }
        return this;
    }
}
