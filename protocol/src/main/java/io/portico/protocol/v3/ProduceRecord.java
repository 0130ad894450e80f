package io.portico.protocol.v3;

import io.portico.protocol.RecordHeader;
import java.util.List;

/**
 * One record of a v3 produce, as parsed from its JSON object: the partition it asks for (null:
 * the producer's partitioner), its headers (a name may repeat), its key and value (null when
 * absent from the request), and its timestamp in milliseconds since the epoch (null: now).
 *
 * @param bytes the size of the record's JSON object in the request, for the memory budgets
 */
public record ProduceRecord(Integer partitionId, List<RecordHeader> headers, Data key, Data value, Long timestamp,
                            int bytes) {

    /** The types a key or value may take without a schema registry. */
    public enum Type { BINARY, JSON, STRING }

    /**
     * A key or value as given: its type and the bytes Kafka stores (null for JSON {@code null} or
     * absent {@code data}).
     */
    public record Data(Type type, byte[] serialized) {
        /** The serialized size a delivery report shows (0 for null data). */
        public int size() {
            return serialized == null ? 0 : serialized.length;
        }
    }

    /** The key's bytes, or null. */
    public byte[] keyBytes() {
        return key == null ? null : key.serialized();
    }

    /** The value's bytes, or null. */
    public byte[] valueBytes() {
        return value == null ? null : value.serialized();
    }

    /** Key, value and header bytes: what the record holds while it waits for its acknowledgement. */
    public long payloadBytes() {
        long n = (key == null ? 0 : key.size()) + (value == null ? 0 : value.size());
        for (RecordHeader h : headers) {
            n += h.key().length() + (h.value() == null ? 0 : h.value().length);
        }
        return n;
    }
}
