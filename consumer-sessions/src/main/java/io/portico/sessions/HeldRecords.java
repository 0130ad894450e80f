package io.portico.sessions;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/** What records and consumers cost against the consumers budget. */
public final class HeldRecords {
    /**
     * What one Kafka consumer costs while it exists with Portico's default fetch size: its own
     * objects (about 260 KiB measured for a subscribed instance) and one fetch response it may
     * hold ahead (384 KiB, Portico's {@code fetch.max.bytes}): 640 KiB.
     */
    public static final long CONSUMER_COST = 640 * 1024;

    /** A consumer's own objects, beyond the fetch response it may hold ahead. */
    static final long CONSUMER_BASE = 256 * 1024;

    /**
     * What one consumer with this configuration costs: its own objects and one response of its
     * {@code fetch.max.bytes} (Kafka's 50 MiB when unset). A consumer fetching from several
     * brokers may hold one response per broker: lower {@code fetch.max.bytes} or raise the budget
     * for large clusters.
     */
    public static long consumerCost(java.util.Map<String, ?> consumerConfig) {
        Object fetch = consumerConfig.get("fetch.max.bytes");
        long bytes = 50L << 20;
        if (fetch != null) {
            try {
                bytes = Long.parseLong(fetch.toString().trim());
            } catch (NumberFormatException e) {
                // the consumer's own validation reports it
            }
        }
        return CONSUMER_BASE + Math.max(0, bytes);
    }

    /** What a held record costs beyond its key and value bytes: the objects around them. */
    static final long RECORD_OVERHEAD = 160;

    private HeldRecords() {
    }

    static long cost(ConsumerRecord<byte[], byte[]> r) {
        return Math.max(0, r.serializedKeySize()) + (long) Math.max(0, r.serializedValueSize()) + RECORD_OVERHEAD;
    }
}
