package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.PartitionOffset;
import io.portico.protocol.ProduceRecord;
import io.portico.protocol.RecordsResponse;
import io.portico.protocol.RestException;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Produces records with the shared producer and reports, per record and in request order, where
 * each landed or why it failed.
 *
 * <p>Blocking: {@link #produce} may block its caller while the producer fetches metadata for a
 * topic it has not seen (bounded by the producer's {@code max.block.ms}) or waits for buffer
 * space; call it from a bounded worker pool, never from an HTTP IO thread. The returned future
 * completes on a Kafka producer thread once every record is acknowledged or failed (per
 * {@code acks}); keep what runs on it short.
 *
 * <p>Whole-request errors (thrown, nothing produced): 404/40401 when the topic does not exist
 * and is not auto-created within the wait; 404/40402 when a record names a partition the topic
 * does not have; 503 when the cluster does not answer.
 */
public final class ProduceService {
    /** ISO-8601 in UTC with milliseconds, as the records endpoint reports timestamps. */
    private static final DateTimeFormatter TIMESTAMP =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final ProducerPool producers;
    private final TopicExistence topics;
    private final SessionMetrics metrics;
    private final Options options;
    /** Topics the shared producer has metadata for: asked directly, without a bounded hop. */
    private final Cache<String, Boolean> known = Caffeine.newBuilder()
            .maximumSize(10_000)
            .expireAfterAccess(Duration.ofMinutes(1)) // well within the producer's metadata.max.idle.ms
            .build();

    /** Decides, after a metadata wait timed out, whether the topic is missing or the cluster unreachable. */
    @FunctionalInterface
    public interface TopicExistence {
        /** True if the topic exists, false if the cluster says it does not; throws if the cluster does not answer. */
        boolean exists(String topic);

        /** As {@link #exists(String)}, waiting at most {@code timeout} for the cluster. */
        default boolean exists(String topic, Duration timeout) {
            return exists(topic);
        }
    }

    /**
     * How produce requests are bounded.
     *
     * @param metadataTimeout the bound on a request's metadata waits ({@code metadata.timeout.ms})
     * @param internalTopicsAllowed whether records may be written to internal topics
     * @param metadataPool runs the producer's blocking metadata look-ups of topics it does not know
     *        yet, so that a request can stop waiting at its deadline (bounded; full means 503)
     */
    public record Options(Duration metadataTimeout, boolean internalTopicsAllowed, Executor metadataPool) {
        /** Defaults for unit tests: a minute, internal topics refused, look-ups on the caller's thread. */
        public static final Options DEFAULTS = new Options(Duration.ofMinutes(1), false, Runnable::run);
    }

    public ProduceService(ProducerPool producers, TopicExistence topics) {
        this(producers, topics, SessionMetrics.unreported(), Options.DEFAULTS);
    }

    public ProduceService(ProducerPool producers, TopicExistence topics, SessionMetrics metrics, Options options) {
        this.producers = producers;
        this.topics = topics;
        this.metrics = metrics;
        this.options = options;
        metrics.registry().gauge("portico.producers", () -> producers::size);
    }

    /** A deadline {@code metadata.timeout.ms} from now, for callers that start timing here. */
    public long deadlineFromNow() {
        return System.nanoTime() + options.metadataTimeout().toNanos();
    }

    /** As {@link #produce(String, List, long)} with a deadline from now. */
    public CompletableFuture<List<PartitionOffset>> produce(String topic, List<ProduceRecord> records) {
        return produce(topic, records, deadlineFromNow());
    }

    /**
     * Produces {@code records} to {@code topic}; see the class comment for blocking and errors.
     *
     * @param deadline {@link System#nanoTime()} by which the request must know where its records
     *        go (usually its arrival plus {@code metadata.timeout.ms}); past it, 503
     */
    public CompletableFuture<List<PartitionOffset>> produce(String topic, List<ProduceRecord> records, long deadline) {
        checkTopic(topic);
        if (records.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        Producer<byte[], byte[]> producer = producers.shared();
        int partitionCount = partitionCount(producer, topic, deadline);
        for (ProduceRecord r : records) {
            if (r.partition() != null && r.partition() >= partitionCount) {
                throw ErrorCode.PARTITION_NOT_FOUND.exception();
            }
        }
        Batch batch = new Batch(records.size());
        for (int i = 0; i < records.size(); i++) {
            ProduceRecord r = records.get(i);
            Callback callback = batch.callback(i);
            try {
                producer.send(new ProducerRecord<>(topic, r.partition(), r.key(), r.value()), callback);
            } catch (RuntimeException e) {
                callback.onCompletion(null, e);
            }
        }
        return batch.result.whenComplete((offsets, e) -> {
            if (offsets != null) {
                metrics.produced(records, offsets);
            }
        });
    }

    private void checkTopic(String topic) {
        KafkaNames.topic(topic);
        if (!options.internalTopicsAllowed()) {
            KafkaNames.notInternal(topic, "produced to");
        }
    }

    /** As {@link #produceOne(String, byte[], byte[], List, long)} with a deadline from now. */
    public CompletableFuture<RecordsResponse.Metadata> produceOne(String topic, byte[] key, byte[] value,
                                                                  List<Map.Entry<String, byte[]>> headers) {
        return produceOne(topic, key, value, headers, deadlineFromNow());
    }

    /**
     * Produces one record with headers and reports where it landed; the records endpoint's path.
     * Blocking and whole-request errors as {@link #produce}; a failed send completes the future
     * with the error {@link KafkaErrors#forSingleRecord} maps it to (408 timeout, 503 cluster
     * unavailable, 400 too large, 403, 500).
     */
    public CompletableFuture<RecordsResponse.Metadata> produceOne(String topic, byte[] key, byte[] value,
                                                                  List<Map.Entry<String, byte[]>> headers,
                                                                  long deadline) {
        checkTopic(topic);
        Producer<byte[], byte[]> producer = producers.shared();
        partitionCount(producer, topic, deadline);
        List<Header> kafkaHeaders = new ArrayList<>(headers.size());
        for (Map.Entry<String, byte[]> h : headers) {
            kafkaHeaders.add(new RecordHeader(h.getKey(), h.getValue()));
        }
        CompletableFuture<RecordsResponse.Metadata> result = new CompletableFuture<>();
        Callback callback = (metadata, e) -> {
            if (e != null) {
                RestException error = KafkaErrors.forSingleRecord(e);
                metrics.produceError(error.errorCode());
                result.completeExceptionally(error);
            } else {
                metrics.producedOne((key == null ? 0 : key.length) + (long) value.length);
                result.complete(new RecordsResponse.Metadata(topic, TIMESTAMP.format(Instant.ofEpochMilli(metadata.timestamp())),
                        metadata.partition(), metadata.offset()));
            }
        };
        try {
            producer.send(new ProducerRecord<>(topic, null, null, key, value, kafkaHeaders), callback);
        } catch (RuntimeException e) {
            callback.onCompletion(null, e);
        }
        return result;
    }

    /**
     * The topic's partition count. A topic the producer knows answers at once; for another, the
     * producer's look-up (which may block while it learns of the topic) gets most of the time
     * left before {@code deadline}, and if it does not answer, the cluster is asked in the rest
     * whether the topic exists: 404 if not, 503 if it does or the cluster does not answer.
     */
    private int partitionCount(Producer<byte[], byte[]> producer, String topic, long deadline) {
        if (known.getIfPresent(topic) != null) {
            try {
                return partitions(producer.partitionsFor(topic), topic);
            } catch (RestException e) {
                throw e;
            } catch (RuntimeException e) {
                known.invalidate(topic);
                throw KafkaErrors.toRestException(e);
            }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the request waited longer than the metadata timeout ("
                    + options.metadataTimeout().toMillis() + " ms) before it could be handled; retry later");
        }
        CompletableFuture<List<PartitionInfo>> lookup;
        try {
            lookup = CompletableFuture.supplyAsync(() -> producer.partitionsFor(topic), options.metadataPool());
        } catch (RejectedExecutionException e) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("too many topic look-ups in progress; retry later");
        }
        long forProducer = left * 3 / 5;
        Throwable timeout;
        try {
            int count = partitions(lookup.get(forProducer, TimeUnit.NANOSECONDS), topic);
            known.put(topic, Boolean.TRUE);
            return count;
        } catch (java.util.concurrent.TimeoutException e) {
            timeout = null;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (!(cause instanceof TimeoutException)) {
                throw KafkaErrors.toRestException(cause);
            }
            timeout = cause;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
        }
        // The producer cannot tell "no such topic" from "no cluster": ask the cluster.
        Duration rest = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
        if (!topics.exists(topic, rest)) {
            throw ErrorCode.TOPIC_NOT_FOUND.exception();
        }
        String message = timeout != null ? KafkaErrors.describe(timeout)
                : "Topic " + topic + " not present in metadata after " + TimeUnit.NANOSECONDS.toMillis(forProducer) + " ms.";
        // The cluster answers and has the topic, yet the producer could not learn of it: if the
        // producer is what is broken, the next request gets a new one.
        producers.replaceShared(producer, "it could not get the metadata of an existing topic: " + message);
        throw new RestException(ErrorCode.BROKER_NOT_AVAILABLE, message, timeout);
    }

    private static int partitions(List<PartitionInfo> partitions, String topic) {
        if (partitions == null || partitions.isEmpty()) {
            throw ErrorCode.TOPIC_NOT_FOUND.exception();
        }
        return partitions.size();
    }

    /** Collects per-record results; completes when the last callback arrives. */
    private static final class Batch {
        final PartitionOffset[] offsets;
        final AtomicInteger remaining;
        final CompletableFuture<List<PartitionOffset>> result = new CompletableFuture<>();

        Batch(int size) {
            offsets = new PartitionOffset[size];
            remaining = new AtomicInteger(size);
        }

        Callback callback(int index) {
            return (RecordMetadata metadata, Exception e) -> {
                offsets[index] = e == null
                        ? PartitionOffset.success(metadata.partition(), metadata.offset())
                        : PartitionOffset.failure(KafkaErrors.perRecordCode(e), KafkaErrors.describe(e));
                if (remaining.decrementAndGet() == 0) {
                    // The decrement orders every slot write before this read.
                    result.complete(Arrays.asList(offsets));
                }
            };
        }
    }
}
