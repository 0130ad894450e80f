package io.portico.protocol.v2;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.portico.protocol.BoundedList;
import io.portico.protocol.ErrorCode;
import java.util.List;

/**
 * {@code POST …/positions}: seek partitions to offsets, {@code {"offsets":[{"topic","partition","offset"}]}},
 * or to the first offset at or after timestamps, {@code {"timestamps":[{"topic","partition","timestamp"}]}}
 * (milliseconds since the epoch); either or both.
 */
public record Positions(
        @JsonDeserialize(using = BoundedList.Entries.class) @JsonProperty("offsets") List<Offset> offsets,
        @JsonDeserialize(using = BoundedList.Entries.class) @JsonProperty("timestamps") List<Timestamp> timestamps) {

    public Positions {
        offsets = offsets == null ? List.of() : List.copyOf(offsets);
        timestamps = timestamps == null ? List.of() : List.copyOf(timestamps);
        if (offsets.isEmpty() && timestamps.isEmpty()) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("offsets or timestamps is required");
        }
    }

    /** One partition and the offset to read from next ({@code metadata}, as Confluent takes it, is ignored). */
    public record Offset(
            @JsonProperty("topic") String topic,
            @JsonProperty("partition") Integer partition,
            @JsonProperty("offset") Long offset,
            @JsonProperty("metadata") String metadata) {
        public Offset {
            new TopicPartitionRef(topic, partition);
            if (offset == null || offset < 0) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("offset is required and must not be negative");
            }
        }
    }

    /**
     * One partition and the time whose first record to read from next: an ISO-8601 instant
     * ({@code "2026-12-01T10:00:00Z"}, as Confluent's proxy takes it) or milliseconds since the epoch.
     */
    public record Timestamp(
            @JsonProperty("topic") String topic,
            @JsonProperty("partition") Integer partition,
            @JsonProperty("timestamp") Object timestamp,
            @JsonProperty("metadata") String metadata) {
        public Timestamp {
            new TopicPartitionRef(topic, partition);
            millis(timestamp);
        }

        /** The timestamp in milliseconds since the epoch. */
        public long epochMillis() {
            return millis(timestamp);
        }

        private static long millis(Object timestamp) {
            if (timestamp instanceof Number n && (n instanceof Integer || n instanceof Long) && n.longValue() >= 0) {
                return n.longValue();
            }
            if (timestamp instanceof String text) {
                try {
                    long millis = java.time.Instant.parse(text).toEpochMilli();
                    if (millis >= 0) { // Kafka finds no offset for a time before 1970 (it refuses to look)
                        return millis;
                    }
                } catch (java.time.format.DateTimeParseException | ArithmeticException e) {
                    // reported below (an instant too far off for milliseconds is an ArithmeticException)
                }
            }
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception(
                    "timestamp must be an ISO-8601 instant from 1970 on or milliseconds since the epoch");
        }
    }
}
