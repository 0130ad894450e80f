package io.portico.protocol.v2;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.portico.protocol.BoundedList;
import io.portico.protocol.ErrorCode;
import java.util.List;

/**
 * {@code POST …/positions}: seek partitions to offsets, {@code {"offsets":[{"topic","partition","offset"}]}},
 * or to the first offset at or after timestamps, {@code {"timestamps":[{"topic","partition","timestamp"}]}};
 * either, both, or neither (nothing to seek: 204, as Confluent's proxy answers).
 */
public record Positions(
        @JsonDeserialize(using = BoundedList.Entries.class) @JsonProperty("offsets") List<Offset> offsets,
        @JsonDeserialize(using = BoundedList.Entries.class) @JsonProperty("timestamps") List<Timestamp> timestamps) {

    public Positions {
        offsets = offsets == null ? List.of() : List.copyOf(offsets);
        timestamps = timestamps == null ? List.of() : List.copyOf(timestamps);
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
     * ({@code "2026-12-01T10:00:00Z"}) or a number of seconds since the epoch (a fraction for
     * less: {@code 1764583200.5}), as Confluent's proxy reads both (its {@code Instant} field).
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
            if (timestamp instanceof Number n && !(n instanceof Double d && (d.isNaN() || d.isInfinite()))) {
                try {
                    java.math.BigDecimal seconds = new java.math.BigDecimal(n.toString());
                    if (seconds.signum() >= 0) {
                        return seconds.movePointRight(3).setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
                    }
                } catch (ArithmeticException | NumberFormatException e) {
                    // reported below (too many seconds for milliseconds)
                }
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
                    "timestamp must be an ISO-8601 instant from 1970 on or seconds since the epoch");
        }
    }
}
