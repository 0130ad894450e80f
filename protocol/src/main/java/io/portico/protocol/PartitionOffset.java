package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Where one produced record landed, or why it did not: on success {@code partition} and
 * {@code offset} are set and the error fields null; on failure the reverse, with
 * {@code error_code} 50002 (non-retriable Kafka error) or 50003 (retriable).
 */
public record PartitionOffset(
        @JsonProperty("partition") Integer partition,
        @JsonProperty("offset") Long offset,
        @JsonProperty("error_code") Integer errorCode,
        @JsonProperty("error") String error) {

    public static PartitionOffset success(int partition, long offset) {
        return new PartitionOffset(partition, offset, null, null);
    }

    public static PartitionOffset failure(ErrorCode code, String error) {
        return new PartitionOffset(null, null, code.code(), error);
    }
}
