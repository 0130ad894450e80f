package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One partition of a v1 commit: {@code consumed} is the offset of the last record returned (not
 * +1), {@code committed} the same once the commit succeeded, as Confluent's proxy reports it.
 */
public record CommittedOffset(
        @JsonProperty("topic") String topic,
        @JsonProperty("partition") int partition,
        @JsonProperty("consumed") long consumed,
        @JsonProperty("committed") long committed) {
}
