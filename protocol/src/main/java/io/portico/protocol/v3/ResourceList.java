package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A list of resources, {@code {"kind":"KafkaTopicList","metadata":{"self":…,"next":null},"data":[…]}}.
 * Lists come whole: {@code next} is always null.
 */
public record ResourceList<T>(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") Metadata metadata,
        @JsonProperty("data") List<T> data) {

    /** A list's {@code metadata}: its URL and the next page's ({@code null}: there is none). */
    public record Metadata(@JsonProperty("self") String self, @JsonProperty("next") String next) {
    }

    /** The whole list of {@code data} at {@code self}. */
    public static <T> ResourceList<T> of(String kind, String self, List<T> data) {
        return new ResourceList<>(kind, new Metadata(self, null), List.copyOf(data));
    }
}
