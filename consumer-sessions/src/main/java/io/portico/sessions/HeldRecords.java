package io.portico.sessions;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;

/**
 * Records a consumer fetched and has not returned yet, in fetch order, counted against the
 * consumers budget through the holder's lease. One kind of buffer for consumer instances and for
 * readers by offset. Not thread-safe: its holder guards it (an instance's lock, a reader's loan).
 * Counting is settled per batch ({@link #settle}), not per record, so the shared budget is touched
 * rarely.
 */
public final class HeldRecords {
    /**
     * What one Kafka consumer costs while it exists with Portico's default fetch size: its own
     * objects ({@link #CONSUMER_BASE}) and two fetch responses of 384 KiB (Portico's
     * {@code fetch.max.bytes}): 1 MiB. Measured by {@code ConsumerCostIT}: instances made as
     * Portico makes them, each in its own group and read a few times from a 3-partition topic,
     * keep about 1010 KiB each after full collections (heap used, in a JVM of their own).
     */
    public static final long CONSUMER_COST = 1024 * 1024;

    /**
     * A consumer's own objects, beyond the fetch responses it holds: about 250 KiB measured (its
     * metrics, some 160 of them, are a large part; their JMX registration some 20 KiB).
     */
    static final long CONSUMER_BASE = 256 * 1024;

    /**
     * Fetch responses one consumer keeps whole: the one whose records it last handed out (Kafka
     * keeps the fetch in line referenced, and with it the response's buffer, until another
     * replaces it, which a consumer at the end of its partitions may never get) and the one
     * fetched ahead of the next poll.
     */
    static final int RESPONSES_HELD = 2;

    /** What a held record costs beyond its key and value bytes: the objects around them. */
    static final long RECORD_OVERHEAD = 160;

    private final ArrayDeque<ConsumerRecord<byte[], byte[]>> records = new ArrayDeque<>();
    private final MemoryBudget.Lease lease;
    private long bytes; // key and value bytes held
    private long unsettled; // cost not yet counted on the lease

    HeldRecords(MemoryBudget.Lease lease) {
        this.lease = lease;
    }

    /**
     * What one consumer with this configuration costs: its own objects and two responses of its
     * {@code fetch.max.bytes} (Kafka's 50 MiB when unset), see {@link #RESPONSES_HELD}. A
     * consumer fetching from several brokers may hold one more response per broker: lower
     * {@code fetch.max.bytes} or raise the budget for large clusters.
     */
    public static long consumerCost(Map<String, ?> consumerConfig) {
        return CONSUMER_BASE + RESPONSES_HELD * Math.max(0, fetchBytes(consumerConfig.get("fetch.max.bytes")));
    }

    /**
     * A consumer's fetch size setting ({@code fetch.max.bytes}, {@code max.partition.fetch.bytes})
     * in bytes; Kafka's largest default (50 MiB) when unset or not a number (the consumer's own
     * validation then reports it).
     */
    static long fetchBytes(Object setting) {
        if (setting != null) {
            try {
                return Long.parseLong(setting.toString().trim());
            } catch (NumberFormatException e) {
                // the consumer's own validation reports it
            }
        }
        return 50L << 20;
    }

    static long cost(ConsumerRecord<byte[], byte[]> r) {
        return size(r) + headerBytes(r) + RECORD_OVERHEAD;
    }

    /** The bytes of a record's headers (names and values): not in {@code max_bytes}, but in memory and in v2 answers. */
    static long headerBytes(ConsumerRecord<byte[], byte[]> r) {
        long n = 0;
        for (org.apache.kafka.common.header.Header h : r.headers().toArray()) {
            n += h.key().length() + (h.value() == null ? 0 : h.value().length);
        }
        return n;
    }

    /** Key plus value bytes, as {@code max_bytes} counts them (null counts 0). */
    static long size(ConsumerRecord<byte[], byte[]> r) {
        return (r.key() == null ? 0 : r.key().length) + (long) (r.value() == null ? 0 : r.value().length);
    }

    /** The holder's account with the consumers budget (its fixed cost is on it too). */
    MemoryBudget.Lease lease() {
        return lease;
    }

    /** Holds what a poll returned; returns how many records. */
    int add(ConsumerRecords<byte[], byte[]> polled) {
        for (ConsumerRecord<byte[], byte[]> r : polled) {
            add(r);
        }
        settle();
        return polled.count();
    }

    void add(ConsumerRecord<byte[], byte[]> r) {
        records.add(r);
        bytes += size(r);
        unsettled += cost(r);
    }

    boolean isEmpty() {
        return records.isEmpty();
    }

    int count() {
        return records.size();
    }

    /** Key and value bytes held. */
    long bytes() {
        return bytes;
    }

    ConsumerRecord<byte[], byte[]> peek() {
        return records.peekFirst();
    }

    /** The first record, no longer held (settle when a batch of these is done). */
    ConsumerRecord<byte[], byte[]> poll() {
        ConsumerRecord<byte[], byte[]> r = records.pollFirst();
        if (r != null) {
            bytes -= size(r);
            unsettled -= cost(r);
        }
        return r;
    }

    /** Brings the consumers budget up to date with what is held. */
    void settle() {
        if (unsettled > 0) {
            lease.takeAnyway(unsettled);
        } else if (unsettled < 0) {
            lease.give(-unsettled);
        }
        unsettled = 0;
    }

    /** Lets go of the records of {@code partitions}. */
    void drop(Collection<TopicPartition> partitions) {
        for (Iterator<ConsumerRecord<byte[], byte[]>> it = records.iterator(); it.hasNext(); ) {
            ConsumerRecord<byte[], byte[]> r = it.next();
            if (partitions.contains(new TopicPartition(r.topic(), r.partition()))) {
                it.remove();
                bytes -= size(r);
                unsettled -= cost(r);
            }
        }
        settle();
    }

    /** The offset of the first record held of each partition: where to seek to fetch them again. */
    Map<TopicPartition, Long> firstOffsets() {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            first.putIfAbsent(new TopicPartition(r.topic(), r.partition()), r.offset());
        }
        return first;
    }

    /** Lets go of everything held. */
    void clear() {
        while (poll() != null) {
            // counted off one by one
        }
        settle();
    }
}
