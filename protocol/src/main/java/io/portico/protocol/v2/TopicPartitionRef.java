package io.portico.protocol.v2;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;

/** {@code {"topic":"t","partition":0}}: one partition of a topic. */
public record TopicPartitionRef(
        @JsonProperty("topic") String topic,
        @JsonProperty("partition") Integer partition) {

    public TopicPartitionRef {
        if (topic == null || topic.isEmpty()) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("topic is required");
        }
        if (partition == null || partition < 0) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("partition is required and must not be negative");
        }
    }
}
