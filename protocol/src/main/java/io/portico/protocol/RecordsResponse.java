package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The answer of the records endpoint (IBM Event Streams' REST producer):
 * {@code {"metadata":{"topic","timestamp","partition","offset"}}}. The timestamp is the record's
 * timestamp as an ISO-8601 UTC string with milliseconds, e.g. {@code 2026-11-25T16:30:00.123Z}.
 */
public record RecordsResponse(@JsonProperty("metadata") Metadata metadata) {

    /** Where the record landed. */
    public record Metadata(
            @JsonProperty("topic") String topic,
            @JsonProperty("timestamp") String timestamp,
            @JsonProperty("partition") int partition,
            @JsonProperty("offset") long offset) {
    }
}
