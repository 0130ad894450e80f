package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;

/**
 * One record of a produce to a partition given in the path: as {@link ProduceRecord} without a
 * {@code partition} field (sending one is an unrecognized field, as in Confluent's API).
 */
public record PartitionProduceRecord(
        @JsonProperty("key") @JsonDeserialize(using = EmbeddedBytesDeserializer.class) byte[] key,
        @JsonProperty("value") @JsonDeserialize(using = EmbeddedBytesDeserializer.class) byte[] value) {

    /** This record bound to the path's partition. */
    public ProduceRecord toPartition(int partition) {
        return new ProduceRecord(key, value, partition);
    }
}
