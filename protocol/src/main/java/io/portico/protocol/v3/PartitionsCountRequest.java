package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;

/** {@code PATCH …/topics/{topic}}: {@code {"partitions_count":6}}, the topic's new (larger) partition count. */
public record PartitionsCountRequest(@JsonProperty("partitions_count") Integer partitionsCount) {
    public PartitionsCountRequest {
        if (partitionsCount == null) {
            throw ErrorCode.PAYLOAD_ERROR.exception("partitions_count is required.");
        }
    }
}
