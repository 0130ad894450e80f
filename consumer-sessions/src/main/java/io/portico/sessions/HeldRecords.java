package io.portico.sessions;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/** What records and consumers cost against the consumers budget. */
public final class HeldRecords {
    /**
     * What one Kafka consumer costs while it exists: its own objects (about 260 KiB measured for a
     * subscribed instance) and one fetch response it may hold ahead (384 KiB, Portico's
     * {@code fetch.max.bytes}): 640 KiB.
     */
    public static final long CONSUMER_COST = 640 * 1024;

    /** What a held record costs beyond its key and value bytes: the objects around them. */
    static final long RECORD_OVERHEAD = 160;

    private HeldRecords() {
    }

    static long cost(ConsumerRecord<byte[], byte[]> r) {
        return Math.max(0, r.serializedKeySize()) + (long) Math.max(0, r.serializedValueSize()) + RECORD_OVERHEAD;
    }
}
