package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.PartitionOffset;
import io.portico.protocol.ProduceRecord;
import io.portico.protocol.RecordsResponse;
import io.portico.protocol.RestException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
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

    /** Decides, after a metadata wait timed out, whether the topic is missing or the cluster unreachable. */
    @FunctionalInterface
    public interface TopicExistence {
        /** True if the topic exists, false if the cluster says it does not; throws if the cluster does not answer. */
        boolean exists(String topic);
    }

    public ProduceService(ProducerPool producers, TopicExistence topics) {
        this(producers, topics, SessionMetrics.unreported());
    }

    public ProduceService(ProducerPool producers, TopicExistence topics, SessionMetrics metrics) {
        this.producers = producers;
        this.topics = topics;
        this.metrics = metrics;
        metrics.registry().gauge("portico.producers", () -> producers::size);
    }

    /** Produces {@code records} to {@code topic}; see the class comment for blocking and errors. */
    public CompletableFuture<List<PartitionOffset>> produce(String topic, List<ProduceRecord> records) {
        if (records.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        Producer<byte[], byte[]> producer = producers.shared();
        int partitionCount = partitionCount(producer, topic);
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

    /**
     * Produces one record with headers and reports where it landed; the records endpoint's path.
     * Blocking and whole-request errors as {@link #produce}; a failed send completes the future
     * with the error {@link KafkaErrors#forSingleRecord} maps it to (408 timeout, 503 cluster
     * unavailable, 400 too large, 403, 500).
     */
    public CompletableFuture<RecordsResponse.Metadata> produceOne(String topic, byte[] key, byte[] value,
                                                                  List<Map.Entry<String, byte[]>> headers) {
        Producer<byte[], byte[]> producer = producers.shared();
        partitionCount(producer, topic);
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

    /** The topic's partition count; blocks while the producer learns of a topic it has not seen. */
    private int partitionCount(Producer<byte[], byte[]> producer, String topic) {
        List<PartitionInfo> partitions;
        try {
            partitions = producer.partitionsFor(topic);
        } catch (TimeoutException e) {
            // The producer cannot tell "no such topic" from "no cluster": ask the cluster.
            if (!topics.exists(topic)) {
                throw ErrorCode.TOPIC_NOT_FOUND.exception();
            }
            throw new RestException(ErrorCode.BROKER_NOT_AVAILABLE, KafkaErrors.describe(e), e);
        } catch (RuntimeException e) {
            throw KafkaErrors.toRestException(e);
        }
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
