package io.portico.protocol.v2;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.portico.protocol.BoundedList;
import io.portico.protocol.ErrorCode;
import java.util.List;

/**
 * {@code {"partitions":[{"topic","partition"}]}}: the body of an assignment, of seeks to the
 * beginning or end, of a committed-offsets query, and the answer of {@code GET …/assignments}.
 */
public record Partitions(@JsonDeserialize(using = BoundedList.Entries.class) @JsonProperty("partitions") List<TopicPartitionRef> partitions) {

    public Partitions {
        if (partitions == null) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("partitions is required");
        }
        for (TopicPartitionRef p : partitions) {
            if (p == null) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("partitions may not contain null");
            }
        }
        partitions = List.copyOf(partitions);
    }
}
