package io.portico.sessions;

import io.portico.protocol.CommittedOffset;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer-group instance: a {@link Consumer} of its own, the topic it subscribed to on its
 * first read, records fetched but not yet returned, and the last offset returned per partition
 * (what a commit commits).
 *
 * <p>Threading: every operation takes the instance's lock, so concurrent requests on one
 * instance (a commit arriving while a read long-polls) run one after the other; the consumer is
 * never touched by two threads. Operations block (poll, commit): call them from a worker pool.
 * {@link #close()} may be called from any thread: it wakes a blocked poll, waits for the lock,
 * and closes the consumer (leaving the group); later operations answer 40403.
 */
public final class ConsumerInstance {
    private static final Logger LOG = LoggerFactory.getLogger(ConsumerInstance.class);
    private static final Duration POLL_SLICE = Duration.ofMillis(100);
    private static final int MAX_DRAIN_POLLS = 8;

    private final String group;
    private final String name;
    private final EmbeddedFormat format;
    private final boolean autoCommit;
    private final String owner;
    private final Consumer<byte[], byte[]> consumer;
    private final SessionMetrics metrics;
    /** The consumer's fixed cost and the records it holds, against the consumers budget. */
    private final MemoryBudget.Lease memory;
    private final ReentrantLock lock = new ReentrantLock();

    // Guarded by lock.
    private String topic;
    private boolean assigned; // had partitions assigned once
    private boolean awaitedAssignment; // the first read waited for an assignment
    private final Deque<ConsumerRecord<byte[], byte[]>> fetched = new ArrayDeque<>();
    private long fetchedBytes; // key and value bytes of the records in fetched
    private long unsettled; // held-record cost not yet counted on the memory lease (settled per batch)
    private final Map<TopicPartition, Long> returned = new HashMap<>();
    private volatile boolean closed;

    ConsumerInstance(String group, String name, EmbeddedFormat format, boolean autoCommit, String owner,
                     Consumer<byte[], byte[]> consumer, SessionMetrics metrics) {
        this(group, name, format, autoCommit, owner, consumer, metrics,
                MemoryBudget.unbounded("memory.consumers.max.bytes").lease());
    }

    ConsumerInstance(String group, String name, EmbeddedFormat format, boolean autoCommit, String owner,
                     Consumer<byte[], byte[]> consumer, SessionMetrics metrics, MemoryBudget.Lease memory) {
        this.memory = memory;
        this.group = group;
        this.name = name;
        this.format = format;
        this.autoCommit = autoCommit;
        this.owner = owner;
        this.consumer = consumer;
        this.metrics = metrics;
    }

    public String group() {
        return group;
    }

    public String name() {
        return name;
    }

    public EmbeddedFormat format() {
        return format;
    }

    /** Who created the instance (an API key's name), or null when authentication is off. */
    public String owner() {
        return owner;
    }

    /** What a read needs besides the topic: its time bounds and byte cap. */
    public record ReadLimits(Duration requestTimeout, Duration assignmentTimeout, long maxBytes) {
    }

    /**
     * Returns the next records of {@code topic}, subscribing on the first read. Returns as soon as
     * records are available; otherwise after {@code requestTimeout} with none. The first read
     * also waits (up to {@code assignmentTimeout}) for the group to assign partitions, so that
     * records already in the topic come back at once. Records past {@code maxBytes} stay for the
     * next read; the first record is always returned, whatever its size.
     *
     * @param topicExists asked once, on the first read: whether the topic exists
     * @throws RestException 40901 when the instance already reads another topic, 40401 when the
     *         topic does not exist, 40403 when the instance was closed meanwhile
     */
    public List<ConsumedRecord> read(String topic, ReadLimits limits, Predicate<String> topicExists) {
        return read(topic, limits, topicExists, ResponseRoom.unbounded());
    }

    /**
     * As {@link #read(String, ReadLimits, Predicate)}, each record taking its room in the response
     * from {@code room} first (fewer records when the responses budget is full, 503 when not even
     * one fits). While the consumers budget is over its capacity, the instance fetches nothing new
     * (it still takes part in its group); what it holds beyond a read is let go when the budget
     * is over (it is fetched again later: held records are a cache of the partitions' positions).
     */
    public List<ConsumedRecord> read(String topic, ReadLimits limits, Predicate<String> topicExists, ResponseRoom room) {
        return locked(KafkaErrors::toRestException, () -> {
            if (this.topic == null) {
                KafkaNames.topic(topic);
                if (!topicExists.test(topic)) {
                    throw ErrorCode.TOPIC_NOT_FOUND.exception();
                }
                consumer.subscribe(List.of(topic), new Rebalance());
                this.topic = topic;
            } else if (!this.topic.equals(topic)) {
                throw ErrorCode.CONSUMER_ALREADY_SUBSCRIBED.exception();
            }
            if (!fetched.isEmpty()) {
                answerGroup();
            }
            if (fetched.isEmpty()) { // nothing held, or a rebalance dropped what was
                if (memory.budget().over()) {
                    waitPaused(limits);
                } else {
                    poll(limits);
                }
            }
            List<ConsumedRecord> out = take(limits.maxBytes(), room);
            if (memory.budget().over()) {
                letGoOfHeld();
            }
            if (autoCommit && !out.isEmpty()) {
                consumer.commitAsync(toCommit(), (offsets, e) -> {
                    if (e != null) {
                        LOG.debug("Auto-commit of {}/{} failed: {}", group, name, e.toString());
                    }
                });
            }
            return out;
        });
    }

    /**
     * Runs {@code operation} holding the lock: a wakeup (the instance closed meanwhile) is 40403,
     * any other Kafka failure what {@code onKafkaError} makes of it.
     */
    private <T> T locked(Function<RuntimeException, RestException> onKafkaError, Supplier<T> operation) {
        lock();
        try {
            return operation.get();
        } catch (WakeupException e) {
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        } catch (RestException e) {
            throw e;
        } catch (RuntimeException e) {
            throw onKafkaError.apply(e);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A read while the consumers budget is full: the consumer polls with its partitions paused
     * (taking part in its group, fetching nothing) until the request timeout, so the read answers
     * {@code []} unless a rebalance handed it records already fetched.
     */
    private void waitPaused(ReadLimits limits) {
        try {
            consumer.pause(consumer.assignment());
            buffer(consumer.poll(limits.requestTimeout()));
        } finally {
            resumePaused();
        }
    }

    /**
     * Lets go of the records held beyond this read: each partition goes back to its first held
     * record, so nothing is lost and the next read fetches them again.
     */
    private void letGoOfHeld() {
        if (fetched.isEmpty()) {
            return;
        }
        Map<TopicPartition, Long> firstHeld = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : fetched) {
            firstHeld.putIfAbsent(new TopicPartition(r.topic(), r.partition()), r.offset());
        }
        Set<TopicPartition> owned = consumer.assignment();
        firstHeld.forEach((tp, offset) -> {
            if (owned.contains(tp)) {
                consumer.seek(tp, offset);
            }
        });
        while (!fetched.isEmpty()) {
            unhold(fetched.pollFirst());
        }
        settle();
    }

    /**
     * Lets go of what this instance holds, if no operation is using it now: called for idle
     * instances when the consumers budget is over its capacity. Never blocks.
     *
     * @return whether anything was let go
     */
    boolean shed() {
        if (closed || !lock.tryLock()) {
            return false;
        }
        try {
            if (closed || fetched.isEmpty()) {
                return false;
            }
            letGoOfHeld();
            return true;
        } catch (RuntimeException e) {
            LOG.debug("Letting go of the records {}/{} holds failed: {}", group, name, e.toString());
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes this instance counts against the consumers budget (its fixed cost and held records). */
    long memoryHeld() {
        return memory.held();
    }

    private void hold(ConsumerRecord<byte[], byte[]> r) {
        fetched.add(r);
        fetchedBytes += size(r);
        unsettled += HeldRecords.cost(r);
    }

    private void unhold(ConsumerRecord<byte[], byte[]> r) {
        fetchedBytes -= size(r);
        unsettled -= HeldRecords.cost(r);
    }

    /** Brings the consumers budget up to date with the records held (once per batch, not per record). */
    private void settle() {
        if (unsettled > 0) {
            memory.takeAnyway(unsettled);
        } else if (unsettled < 0) {
            memory.give(-unsettled);
        }
        unsettled = 0;
    }

    private void poll(ReadLimits limits) {
        resumePaused();
        long now = System.nanoTime();
        long deadline = now + limits.requestTimeout().toNanos();
        // Only the first read waits for an assignment (partitions arrive in a poll, so none came
        // before it): a member with no partitions long-polls as any other afterwards.
        boolean firstAssignment = !awaitedAssignment;
        awaitedAssignment = true;
        if (firstAssignment) {
            deadline = Math.max(deadline, now + limits.assignmentTimeout().toNanos());
        }
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            // Before the assignment, poll in slices so the request timeout applies once it arrives.
            Duration wait = firstAssignment ? min(Duration.ofNanos(left), POLL_SLICE) : Duration.ofNanos(left);
            buffer(consumer.poll(wait));
            if (!fetched.isEmpty()) {
                drainFetched(limits.maxBytes());
                return;
            }
            if (firstAssignment && assigned) {
                firstAssignment = false;
                // Assigned now: the request timeout runs from here, so the first fetch of what is
                // already in the topic has its full time.
                deadline = System.nanoTime() + limits.requestTimeout().toNanos();
            }
        }
    }

    /**
     * Polls with every partition paused, so that a read answered from records held back (a small
     * {@code max_bytes}) still takes part in the group: a rebalance another member started
     * proceeds (revoked partitions drop their held records, see {@link Rebalance}), and the
     * consumer does not exceed {@code max.poll.interval.ms} and leave the group. Paused
     * partitions return nothing and keep their position; a partition newly assigned during the
     * poll is not paused, and what it returns is kept with the rest.
     */
    private void answerGroup() {
        try {
            consumer.pause(consumer.assignment());
            buffer(consumer.poll(Duration.ZERO));
        } catch (WakeupException | InterruptException e) {
            throw e;
        } catch (KafkaException e) {
            // The held records are still good: answer with them; the next poll that fetches
            // meets the error again and reports it.
            LOG.debug("Poll of {}/{} while answering from held records failed: {}", group, name, e.toString());
        } finally {
            resumePaused();
        }
    }

    /**
     * Resumes the paused partitions still assigned. Nothing stays paused between operations; a
     * resume that fails (a partition revoked meanwhile, which the group protocol "consumer"
     * applies in the background) is retried by the next poll.
     */
    private void resumePaused() {
        Set<TopicPartition> paused = consumer.paused();
        if (paused.isEmpty()) {
            return;
        }
        Set<TopicPartition> still = new HashSet<>(paused);
        still.retainAll(consumer.assignment());
        try {
            consumer.resume(still);
        } catch (IllegalStateException e) {
            LOG.debug("Resuming the partitions of {}/{} failed: {}", group, name, e.toString());
        }
    }

    /**
     * Takes what the consumer has already fetched, without waiting, up to the byte cap: a
     * response then carries what is there rather than one poll's worth.
     */
    private void drainFetched(long maxBytes) {
        for (int i = 0; i < MAX_DRAIN_POLLS && fetchedBytes < maxBytes && !memory.budget().over(); i++) {
            if (buffer(consumer.poll(Duration.ZERO)) == 0) {
                return;
            }
        }
    }

    /** Keeps polled records for the reads to come; returns how many there were. */
    private int buffer(ConsumerRecords<byte[], byte[]> records) {
        for (ConsumerRecord<byte[], byte[]> r : records) {
            hold(r);
        }
        settle();
        return records.count();
    }

    /** Key plus value bytes, as {@link ConsumedRecord#size()} counts them (null counts 0). */
    private static long size(ConsumerRecord<byte[], byte[]> r) {
        return Math.max(0, r.serializedKeySize()) + (long) Math.max(0, r.serializedValueSize());
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /**
     * Takes the records to return, up to the byte cap. In the json format a record whose key or
     * value is not JSON cannot be returned: the records before it are, and it stays first in
     * line (a read that starts at it fails with 50002 and consumes nothing), so nothing is
     * marked returned, and committed, that the client did not get.
     */
    private List<ConsumedRecord> take(long maxBytes, ResponseRoom room) {
        List<ConsumedRecord> out = new ArrayList<>(fetched.size());
        long bytes = 0;
        ConsumedRecord previous = null;
        while (!fetched.isEmpty()) {
            ConsumerRecord<byte[], byte[]> r = fetched.peekFirst();
            ConsumedRecord c = new ConsumedRecord(r.topic(), r.key(), r.value(), r.partition(), r.offset());
            long size = c.size();
            if (previous != null && bytes + size > maxBytes) {
                break;
            }
            if (!room.take(size, previous == null)) {
                break;
            }
            if (format == EmbeddedFormat.JSON && !isJson(c)) {
                if (previous == null) {
                    throw ErrorCode.KAFKA_ERROR.exception("the record at offset " + c.offset() + " of partition "
                            + c.partition() + " is not JSON; read it with a consumer instance of the binary format");
                }
                break;
            }
            unhold(fetched.pollFirst());
            bytes += size;
            if (previous != null && (previous.partition() != c.partition() || !previous.topic().equals(c.topic()))) {
                remember(previous);
            }
            out.add(c);
            previous = c;
        }
        settle();
        if (previous != null) {
            remember(previous);
        }
        metrics.consumed(out.size(), bytes);
        return out;
    }

    private static boolean isJson(ConsumedRecord r) {
        return (r.key() == null || Json.isWellFormed(r.key())) && (r.value() == null || Json.isWellFormed(r.value()));
    }

    /** Notes the last record returned of a partition (records of one partition come in offset order). */
    private void remember(ConsumedRecord last) {
        returned.put(new TopicPartition(last.topic(), last.partition()), last.offset());
    }

    /**
     * Commits the offsets of the records returned so far, on the partitions the instance still
     * owns, and reports them ({@code consumed} = last returned offset).
     *
     * @throws RestException 50002 when Kafka refuses the commit, 40403 when closed meanwhile
     */
    public List<CommittedOffset> commit() {
        return locked(e -> new RestException(ErrorCode.KAFKA_ERROR, KafkaErrors.describe(e), e), () -> {
            Map<TopicPartition, OffsetAndMetadata> offsets = toCommit();
            if (!offsets.isEmpty()) {
                consumer.commitSync(offsets);
            }
            List<CommittedOffset> out = new ArrayList<>();
            for (TopicPartition tp : offsets.keySet()) {
                long last = returned.get(tp);
                out.add(new CommittedOffset(tp.topic(), tp.partition(), last, last));
            }
            out.sort(Comparator.comparing(CommittedOffset::topic).thenComparingInt(CommittedOffset::partition));
            return out;
        });
    }

    private Map<TopicPartition, OffsetAndMetadata> toCommit() {
        Set<TopicPartition> owned = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (Map.Entry<TopicPartition, Long> e : returned.entrySet()) {
            if (owned.contains(e.getKey())) {
                offsets.put(e.getKey(), new OffsetAndMetadata(e.getValue() + 1));
            }
        }
        return offsets;
    }

    private void lock() {
        if (closed) {
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        }
        lock.lock();
        if (closed) {
            lock.unlock();
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        }
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Wakes a blocked read, waits for the operation in progress, commits returned offsets when
     * auto-commit is on, and closes the consumer, which leaves the group. Idempotent.
     */
    void close(Duration timeout) {
        if (closed) {
            return;
        }
        closed = true;
        // Wake the consumer only when an operation holds it (a long poll): a wakeup nobody uses
        // up would make the final commit below throw.
        boolean locked = lock.tryLock();
        if (!locked) {
            consumer.wakeup();
            try {
                locked = lock.tryLock(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            if (!locked) {
                LOG.warn("Consumer {}/{} was busy for {} ms; closing it anyway", group, name, timeout.toMillis());
            }
            if (autoCommit) {
                try {
                    Map<TopicPartition, OffsetAndMetadata> offsets = toCommit();
                    if (!offsets.isEmpty()) {
                        try {
                            consumer.commitSync(offsets, timeout);
                        } catch (WakeupException e) {
                            // the wakeup meant for a poll that had already ended (a shed, say)
                            consumer.commitSync(offsets, timeout);
                        }
                    }
                } catch (RuntimeException e) {
                    LOG.warn("Final auto-commit of {}/{} failed: {}", group, name, e.toString());
                }
            }
            consumer.close(CloseOptions.timeout(timeout));
        } catch (RuntimeException e) {
            LOG.warn("Closing consumer {}/{} failed: {}", group, name, e.toString());
        } finally {
            if (locked) {
                fetched.clear();
                lock.unlock();
            }
            memory.close(); // its fixed cost and held records, at once: the consumer is gone
        }
    }

    /** Keeps fetched-but-unreturned records only for partitions the instance still owns. */
    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (autoCommit) {
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (TopicPartition tp : partitions) {
                    Long last = returned.get(tp);
                    if (last != null) {
                        offsets.put(tp, new OffsetAndMetadata(last + 1));
                    }
                }
                if (!offsets.isEmpty()) {
                    try {
                        consumer.commitSync(offsets);
                    } catch (RuntimeException e) {
                        LOG.debug("Commit on revocation of {}/{} failed: {}", group, name, e.toString());
                    }
                }
            }
            drop(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            drop(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            // The group protocol "consumer" calls this with no partitions when a member joins,
            // before its assignment: only partitions end the first read's wait.
            assigned |= !partitions.isEmpty();
        }

        private void drop(Collection<TopicPartition> partitions) {
            for (Iterator<ConsumerRecord<byte[], byte[]>> it = fetched.iterator(); it.hasNext(); ) {
                ConsumerRecord<byte[], byte[]> r = it.next();
                if (partitions.contains(new TopicPartition(r.topic(), r.partition()))) {
                    it.remove();
                    unhold(r);
                }
            }
            settle();
            partitions.forEach(returned::remove);
        }
    }
}
