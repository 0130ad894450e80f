package io.portico.sessions;

import java.lang.reflect.Field;
import java.util.Map;
import org.apache.kafka.clients.Metadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether one producer would take records at once. Kafka's {@code send()} waits (up to
 * {@code max.block.ms}) while it has no metadata of the record's topic (or of the partition named)
 * and while its buffer has no room for the record's batch; this looks at both without waiting:
 * the producer's own metadata (read from its private {@code metadata} field, as the producer
 * itself reads it) and its {@code buffer-available-bytes} metric, which must keep half the buffer
 * free after the records' batches. It answers no whenever it cannot tell: for a producer other
 * than Kafka's, a Kafka version without that field or metric, and a producer with interceptors or
 * a partitioner of the configuration's own, which may do anything in {@code send()}. Threads
 * sending at once claim their room first, so that together they never take the free half; what
 * it cannot see is a thread sending the usual way (a worker, which may wait) taking it between
 * the look and the send.
 */
final class SendsAtOnce {
    private static final Logger LOG = LoggerFactory.getLogger(SendsAtOnce.class);
    private static final Field METADATA = metadataField();

    /** Never at once. */
    static final SendsAtOnce NEVER = new SendsAtOnce(null, null, null, null, 0);

    final Producer<byte[], byte[]> producer;
    private final Metadata metadata;
    private final Metric available;
    private final Metric total;
    private final long batchBytes;
    /** Room claimed by threads about to send ({@link #claim}): IO threads looking at once see each other's. */
    private final java.util.concurrent.atomic.AtomicLong claimed = new java.util.concurrent.atomic.AtomicLong();

    private SendsAtOnce(Producer<byte[], byte[]> producer, Metadata metadata, Metric available, Metric total,
                        long batchBytes) {
        this.producer = producer;
        this.metadata = metadata;
        this.available = available;
        this.total = total;
        this.batchBytes = batchBytes;
    }

    /** The check for {@code producer}, made with {@code config} (its settings). */
    static SendsAtOnce of(Producer<byte[], byte[]> producer, Map<String, ?> config) {
        if (!(producer instanceof KafkaProducer) || METADATA == null
                || present(config.get(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG))
                || present(config.get(ProducerConfig.PARTITIONER_CLASS_CONFIG))) {
            return new SendsAtOnce(producer, null, null, null, 0);
        }
        try {
            Object batch = config.get(ProducerConfig.BATCH_SIZE_CONFIG);
            long batchBytes = batch == null ? 16384 : Long.parseLong(batch.toString().trim()); // Kafka's default
            Metadata metadata = (Metadata) METADATA.get(producer);
            Metric available = null;
            Metric total = null;
            for (Map.Entry<MetricName, ? extends Metric> m : producer.metrics().entrySet()) {
                if (!"producer-metrics".equals(m.getKey().group())) {
                    continue;
                }
                if ("buffer-available-bytes".equals(m.getKey().name())) {
                    available = m.getValue();
                } else if ("buffer-total-bytes".equals(m.getKey().name())) {
                    total = m.getValue();
                }
            }
            return new SendsAtOnce(producer, available != null && total != null ? metadata : null, available, total,
                    Math.max(0, batchBytes));
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.info("Every produce runs on the produce pool: the producer's metadata cannot be read ({})", e.toString());
            return new SendsAtOnce(producer, null, null, null, 0);
        }
    }

    /** The topic's partition count as the producer knows it now, or null when it does not (or this cannot tell). */
    Integer partitionCount(String topic) {
        if (metadata == null) {
            return null;
        }
        try {
            return metadata.fetch().partitionCountForTopic(topic);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Claims room in the buffer for {@code batches} new batches of {@code bytes} in all, with half
     * the buffer still free after them and after what other threads claimed and have not sent
     * yet: what was claimed, to give back with {@link #release} once the records are sent (the
     * buffer's free bytes then say it), or -1 when there is no such room (nothing claimed).
     */
    long claim(int batches, long bytes) {
        if (metadata == null) {
            return -1;
        }
        try {
            double free = ((Number) available.metricValue()).doubleValue();
            double all = ((Number) total.metricValue()).doubleValue();
            long need = (long) batches * batchBytes + bytes;
            long claimedNow = claimed.addAndGet(need);
            if (free - claimedNow >= all / 2) {
                return need;
            }
            claimed.addAndGet(-need);
            return -1;
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** Gives back a {@link #claim} (its records sent, or not). */
    void release(long claim) {
        if (claim > 0) {
            claimed.addAndGet(-claim);
        }
    }

    private static boolean present(Object setting) {
        return setting != null && !setting.toString().isBlank()
                && !(setting instanceof java.util.Collection<?> c && c.isEmpty());
    }

    private static Field metadataField() {
        try {
            Field f = KafkaProducer.class.getDeclaredField("metadata");
            if (!Metadata.class.isAssignableFrom(f.getType())) {
                return null;
            }
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
