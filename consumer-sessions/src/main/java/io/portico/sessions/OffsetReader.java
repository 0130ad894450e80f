package io.portico.sessions;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stateless reads of a partition by offset ({@code GET /topics/{t}/partitions/{p}/messages}),
 * served by a bounded pool of assign-only consumers (no group) that are reused across requests.
 *
 * <p>Blocking: {@link #read} waits for a pooled consumer (up to the pool timeout, then 503/50301)
 * and for the fetch; call it from a worker pool. Thread-safe.
 */
public final class OffsetReader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OffsetReader.class);

    private final Map<String, Object> config;
    private final Function<Map<String, Object>, Consumer<byte[], byte[]>> factory;
    private final Semaphore permits;
    private final Duration poolTimeout;
    private final Duration fetchTimeout;
    private final long maxBytes;
    private final ConcurrentLinkedQueue<Consumer<byte[], byte[]>> idle = new ConcurrentLinkedQueue<>();
    private final SessionMetrics metrics;
    private volatile boolean closed;

    /**
     * @param kafka consumer settings (bootstrap servers, {@code consumer.*} pass-through)
     * @param poolSize consumers at most; a request that finds none free waits {@code poolTimeout}
     * @param fetchTimeout bound on metadata lookups and on fetching one request's records
     * @param maxBytes cap on key+value bytes per response (the first record always comes back)
     */
    public OffsetReader(Map<String, Object> kafka, Function<Map<String, Object>, Consumer<byte[], byte[]>> factory,
                        int poolSize, Duration poolTimeout, Duration fetchTimeout, long maxBytes) {
        this(kafka, factory, poolSize, poolTimeout, fetchTimeout, maxBytes, SessionMetrics.unreported());
    }

    /** As above, counting records read and pooled consumers in {@code metrics}. */
    public OffsetReader(Map<String, Object> kafka, Function<Map<String, Object>, Consumer<byte[], byte[]>> factory,
                        int poolSize, Duration poolTimeout, Duration fetchTimeout, long maxBytes,
                        SessionMetrics metrics) {
        this.metrics = metrics;
        metrics.registry().gauge("portico.offset.readers.idle", () -> idle::size);
        Map<String, Object> c = new HashMap<>(kafka);
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "portico-offset-reader");
        // Reads stop at the log end they looked up, so there is nothing to long-poll for; a short
        // broker-side wait keeps a fetch left in flight by the previous read from delaying the next.
        c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "10");
        this.config = Map.copyOf(c);
        this.factory = factory;
        this.permits = new Semaphore(poolSize);
        this.poolTimeout = poolTimeout;
        this.fetchTimeout = fetchTimeout;
        this.maxBytes = maxBytes;
    }

    /** A pool of real {@link KafkaConsumer}s. */
    public static OffsetReader kafka(Map<String, Object> kafka, int poolSize, Duration poolTimeout,
                                     Duration fetchTimeout, long maxBytes, SessionMetrics metrics) {
        return new OffsetReader(kafka,
                config -> new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer()),
                poolSize, poolTimeout, fetchTimeout, maxBytes, metrics);
    }

    /**
     * Up to {@code count} records of one partition from {@code offset} on: fewer when the log ends
     * (none at the log end), or when the byte cap or the fetch timeout is reached.
     *
     * @throws RestException 40401 unknown topic, 40402 unknown partition, 40406 offset below the
     *         log start or past the log end, 503/50301 no pooled consumer free in time
     */
    public List<ConsumedRecord> read(String topic, int partition, long offset, int count) {
        Consumer<byte[], byte[]> consumer = borrow();
        boolean healthy = false;
        try {
            List<ConsumedRecord> out = read(consumer, topic, partition, offset, count);
            healthy = true;
            metrics.consumed(out);
            return out;
        } catch (RestException e) {
            healthy = true;
            throw e;
        } catch (RuntimeException e) {
            throw KafkaErrors.toRestException(e);
        } finally {
            giveBack(consumer, healthy);
        }
    }

    private List<ConsumedRecord> read(Consumer<byte[], byte[]> consumer, String topic, int partition,
                                      long offset, int count) {
        List<PartitionInfo> partitions = consumer.partitionsFor(topic, fetchTimeout);
        if (partitions == null || partitions.isEmpty()) {
            throw ErrorCode.TOPIC_NOT_FOUND.exception();
        }
        if (partitions.stream().noneMatch(p -> p.partition() == partition)) {
            throw ErrorCode.PARTITION_NOT_FOUND.exception();
        }
        TopicPartition tp = new TopicPartition(topic, partition);
        long start = consumer.beginningOffsets(List.of(tp), fetchTimeout).get(tp);
        long end = consumer.endOffsets(List.of(tp), fetchTimeout).get(tp);
        if (offset < start) {
            throw ErrorCode.OFFSET_OUT_OF_RANGE.exception("offset " + offset + " is below the log start offset "
                    + start + " of partition " + partition);
        }
        if (offset > end) {
            throw ErrorCode.OFFSET_OUT_OF_RANGE.exception("offset " + offset + " is past the log end offset "
                    + end + " of partition " + partition);
        }
        List<ConsumedRecord> out = new ArrayList<>(Math.min(count, 1024));
        long stop = Math.min(end, offset + count);
        if (offset >= stop) {
            return out;
        }
        consumer.assign(List.of(tp));
        consumer.seek(tp, offset);
        long bytes = 0;
        long deadline = System.nanoTime() + fetchTimeout.toNanos();
        while (out.size() < count && consumer.position(tp) < stop) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofNanos(left))) {
                if (r.offset() >= stop || out.size() >= count) {
                    return out;
                }
                ConsumedRecord c = new ConsumedRecord(r.topic(), r.key(), r.value(), r.partition(), r.offset());
                if (!out.isEmpty() && bytes + c.size() > maxBytes) {
                    return out;
                }
                bytes += c.size();
                out.add(c);
            }
        }
        return out;
    }

    private Consumer<byte[], byte[]> borrow() {
        boolean got;
        try {
            got = !closed && permits.tryAcquire(poolTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            got = false;
        }
        if (!got) {
            throw ErrorCode.NO_SIMPLE_CONSUMER_AVAILABLE.exception();
        }
        Consumer<byte[], byte[]> consumer = idle.poll();
        if (consumer != null) {
            return consumer;
        }
        try {
            return factory.apply(config);
        } catch (RuntimeException e) {
            permits.release();
            throw KafkaErrors.toRestException(e);
        }
    }

    private void giveBack(Consumer<byte[], byte[]> consumer, boolean healthy) {
        try {
            if (healthy && !closed) {
                consumer.unsubscribe();
                idle.add(consumer);
            } else {
                closeQuietly(consumer);
            }
        } catch (RuntimeException e) {
            closeQuietly(consumer);
        } finally {
            permits.release();
        }
    }

    private static void closeQuietly(Consumer<byte[], byte[]> consumer) {
        try {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        } catch (RuntimeException e) {
            LOG.warn("Closing a reader consumer failed: {}", e.toString());
        }
    }

    /** Pooled consumers now (busy and idle). */
    public int idleCount() {
        return idle.size();
    }

    @Override
    public void close() {
        closed = true;
        Consumer<byte[], byte[]> c;
        while ((c = idle.poll()) != null) {
            closeQuietly(c);
        }
    }
}
