package io.portico.protocol;

/**
 * One record as a read returns it: key and value as Kafka stored them (null when absent), the
 * partition and offset it came from. Rendered to JSON by {@link RecordsWriter} in an embedded format.
 */
public record ConsumedRecord(String topic, byte[] key, byte[] value, int partition, long offset) {

    /** Key plus value bytes: what {@code max_bytes} counts. */
    public long size() {
        return (key == null ? 0 : key.length) + (long) (value == null ? 0 : value.length);
    }
}
