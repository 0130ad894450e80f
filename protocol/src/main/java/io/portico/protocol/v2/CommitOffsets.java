package io.portico.protocol.v2;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.portico.protocol.BoundedList;
import io.portico.protocol.ErrorCode;
import java.util.List;

/**
 * {@code POST …/offsets} with a body, {@code {"offsets":[{"topic","partition","offset","metadata"?}]}}:
 * each offset is the last one the client processed (Portico commits it plus one, as Confluent
 * does); and {@code GET …/offsets}'s answer, where each offset is the one committed (the next to read).
 */
public record CommitOffsets(@JsonDeserialize(using = BoundedList.Entries.class) @JsonProperty("offsets") List<Entry> offsets) {

    public CommitOffsets {
        if (offsets == null) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("offsets is required");
        }
        offsets = List.copyOf(offsets);
    }

    /** One partition's offset, with the metadata string stored with a commit. */
    public record Entry(
            @JsonProperty("topic") String topic,
            @JsonProperty("partition") Integer partition,
            @JsonProperty("offset") Long offset,
            @JsonProperty("metadata") String metadata) {
        public Entry {
            new TopicPartitionRef(topic, partition);
            if (offset == null || offset < 0) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("offset is required and must not be negative");
            }
            if (offset == Long.MAX_VALUE) { // the next offset to read, committed, would not be a number
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("offset must be below " + Long.MAX_VALUE);
            }
            if (metadata != null && metadata.length() > 4096) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("metadata may have at most 4096 characters");
            }
        }
    }
}
