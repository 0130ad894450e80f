package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;

/**
 * One record of a v1/v2 produce to a topic. {@code key} and {@code value} hold the bytes Kafka
 * will store, already decoded from the embedded format; null means no key / a null value.
 * {@code partition} null lets the producer's partitioner choose.
 */
public record ProduceRecord(
        @JsonProperty("key") @JsonDeserialize(using = EmbeddedBytesDeserializer.class) byte[] key,
        @JsonProperty("value") @JsonDeserialize(using = EmbeddedBytesDeserializer.class) byte[] value,
        @JsonProperty("partition") Integer partition) {

    public ProduceRecord {
        if (partition != null && partition < 0) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Record partition must not be negative: " + partition);
        }
    }
}
