package io.portico.protocol;

import java.util.List;

/**
 * One record as a read returns it: key and value as Kafka stored them (null when absent), the
 * partition and offset it came from, its timestamp (milliseconds since the epoch; -1 when Kafka
 * has none) and headers (empty when it has none). Rendered to JSON by {@link RecordsWriter} in an
 * embedded format; v1 shows neither timestamp nor headers.
 */
public record ConsumedRecord(String topic, byte[] key, byte[] value, int partition, long offset, long timestamp,
                             List<RecordHeader> headers) {

    public ConsumedRecord {
        headers = headers == null ? List.of() : headers;
    }

    /** A record without timestamp or headers (as v1 shows every record). */
    public ConsumedRecord(String topic, byte[] key, byte[] value, int partition, long offset) {
        this(topic, key, value, partition, offset, -1, List.of());
    }

    /** Key plus value bytes: what {@code max_bytes} counts. */
    public long size() {
        return (key == null ? 0 : key.length) + (long) (value == null ? 0 : value.length);
    }
}
