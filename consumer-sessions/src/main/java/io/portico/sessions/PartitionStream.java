package io.portico.sessions;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One partition read from an offset on and then live, by a consumer of its own (made by
 * {@link OffsetReader#stream}): the source of a stateless read's event stream. It counts its
 * consumer and the records it fetched ahead against the consumers budget until closed.
 *
 * <p>Threading: {@link #next} blocks (a long poll) and is called by one thread at a time;
 * {@link #close} may be called from any worker thread: it wakes a waiting {@code next} and closes
 * the consumer once that returned.
 */
public final class PartitionStream implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionStream.class);

    private final Consumer<byte[], byte[]> consumer;
    private final TopicPartition partition;
    private final MemoryBudget.Lease lease;
    private final HeldRecords held;
    private final SessionMetrics metrics;
    private final ReentrantLock lock = new ReentrantLock();
    private final java.util.function.LongSupplier nanoClock;
    private long next;
    /** When the partition was last looked up (a poll that brings nothing cannot tell a deleted topic). */
    private long lookedUp;
    private volatile boolean closed;
    private boolean consumerClosed; // guarded by lock

    /** How often a stream that gets nothing asks whether its partition is still there. */
    static final long LOOK_UP_EVERY_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);

    PartitionStream(Consumer<byte[], byte[]> consumer, TopicPartition partition, long offset, MemoryBudget.Lease lease,
                    SessionMetrics metrics) {
        this(consumer, partition, offset, lease, metrics, System::nanoTime);
    }

    PartitionStream(Consumer<byte[], byte[]> consumer, TopicPartition partition, long offset, MemoryBudget.Lease lease,
                    SessionMetrics metrics, java.util.function.LongSupplier nanoClock) {
        this.consumer = consumer;
        this.nanoClock = nanoClock;
        this.lookedUp = nanoClock.getAsLong();
        this.partition = partition;
        this.next = offset;
        this.lease = lease;
        this.held = new HeldRecords(lease);
        this.metrics = metrics;
    }

    /** The offset of the next record the stream hands out. */
    public long position() {
        return next;
    }

    /**
     * The next records: as soon as there are any, else none after {@code wait}; at most
     * {@code maxBytes} of keys and values (a larger first record comes alone), each taking its
     * room in the response from {@code room}. Records fetched beyond stay for the next call, and
     * are let go of when the consumers budget is over its capacity.
     *
     * @throws RestException 40406 when the records to read next are gone from the log (retention),
     *         Kafka's errors as reads map them; none after {@link #close} (the answer is empty)
     */
    public List<ConsumedRecord> next(Duration wait, long maxBytes, ResponseRoom room) {
        lock.lock();
        try {
            if (closed) {
                return List.of();
            }
            if (held.isEmpty()) {
                try {
                    held.add(PollBound.poll(consumer, wait));
                } catch (OffsetOutOfRangeException e) {
                    throw ErrorCode.OFFSET_OUT_OF_RANGE.exception("offset " + next + " of partition "
                            + partition.partition() + " is no longer in the log");
                } catch (WakeupException e) {
                    return List.of(); // closed meanwhile
                } catch (RuntimeException e) {
                    throw KafkaErrors.toRestException(e);
                }
                if (held.isEmpty()) {
                    stillThere();
                }
            }
            // Sized for what is held (a fetch of 100-byte records holds thousands): growing the
            // list by halves from 1,024 copied it three times a batch. At most 16,384 references.
            List<ConsumedRecord> out = new ArrayList<>(Math.min(held.count(), 16_384));
            long bytes = 0;
            while (!held.isEmpty()) {
                ConsumerRecord<byte[], byte[]> r = held.peek();
                long size = HeldRecords.size(r);
                if (!out.isEmpty() && bytes + size > maxBytes
                        || !room.take(size + HeldRecords.headerBytes(r), out.isEmpty())) {
                    break;
                }
                held.poll();
                bytes += size;
                out.add(ConsumerInstance.toConsumed(r));
            }
            held.settle();
            if (!out.isEmpty()) {
                next = out.get(out.size() - 1).offset() + 1;
            }
            if (lease.over() && !held.isEmpty()) {
                // What is held is a cache: let it go and fetch it again when the client gets to it.
                held.clear();
                consumer.seek(partition, next);
            }
            metrics.consumed(out.size(), bytes);
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * 40401 (40402) when the topic (partition) is gone, asked of Kafka at most every
     * {@link #LOOK_UP_EVERY_NANOS} while polls bring nothing: an assigned consumer whose topic was
     * deleted fetches nothing and hears of no error, and the stream would wait for good.
     */
    private void stillThere() {
        long now = nanoClock.getAsLong();
        if (now - lookedUp < LOOK_UP_EVERY_NANOS) {
            return;
        }
        lookedUp = now;
        RestException missing;
        try {
            missing = OffsetReader.missing(consumer.partitionsFor(partition.topic(), Duration.ofSeconds(1)), partition);
        } catch (WakeupException e) {
            return; // closed meanwhile
        } catch (RuntimeException e) {
            return; // Kafka cannot say now: asked again later
        }
        if (missing != null) {
            throw missing;
        }
    }

    /**
     * The client went away: a waiting {@link #next} returns at once, empty, and so does every
     * later one, without blocking the caller (an IO thread); {@link #close} still closes the consumer.
     */
    public void cancel() {
        closed = true;
        consumer.wakeup();
    }

    /**
     * Ends the stream: wakes a waiting {@link #next}, waits for it to return, and closes the
     * consumer. Blocks briefly (call it from a worker thread). Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        consumer.wakeup();
        lock.lock();
        try {
            closeConsumer();
        } finally {
            lock.unlock();
        }
    }

    private void closeConsumer() {
        if (consumerClosed) {
            return;
        }
        consumerClosed = true;
        held.clear();
        try {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        } catch (RuntimeException e) {
            LOG.warn("Closing a partition stream's consumer failed: {}", e.toString());
        } finally {
            lease.close();
        }
    }
}
