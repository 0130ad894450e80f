package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.charset.StandardCharsets;

/**
 * The answer of the records endpoint (IBM Event Streams' REST producer):
 * {@code {"metadata":{"topic","timestamp","partition","offset"}}}. The timestamp is the record's
 * timestamp as an ISO-8601 UTC string with milliseconds, e.g. {@code 2026-11-25T16:30:00.123Z}.
 */
public record RecordsResponse(@JsonProperty("metadata") Metadata metadata) {

    /**
     * This answer as JSON written directly, byte for byte as Jackson writes it; null when a string
     * in it holds anything but printable ASCII other than a quote or a backslash (which Jackson
     * escapes, or for non-ASCII writes as UTF-8: left to it), which Kafka's topic names and the ISO
     * timestamps never do. {@link Json#write} takes it.
     */
    byte[] plainJson() {
        if (metadata == null || !plain(metadata.topic()) || !plain(metadata.timestamp())) {
            return null;
        }
        return ("{\"metadata\":{\"topic\":" + quoted(metadata.topic()) + ",\"timestamp\":" + quoted(metadata.timestamp())
                + ",\"partition\":" + metadata.partition() + ",\"offset\":" + metadata.offset() + "}}")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static String quoted(String s) {
        return s == null ? "null" : '"' + s + '"';
    }

    /** Whether Jackson writes {@code s} as it is between quotes: printable ASCII, no quote or backslash. */
    private static boolean plain(String s) {
        if (s == null) {
            return true;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                return false;
            }
        }
        return true;
    }

    /** Where the record landed. */
    public record Metadata(
            @JsonProperty("topic") String topic,
            @JsonProperty("timestamp") String timestamp,
            @JsonProperty("partition") int partition,
            @JsonProperty("offset") long offset) {
    }
}
