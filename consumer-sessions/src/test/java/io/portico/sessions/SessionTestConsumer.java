package io.portico.sessions;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.ConcurrentModificationException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.clients.consumer.RetriableCommitFailedException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Kafka's {@link MockConsumer} with what the consumer-session tests need on top: a log of every
 * commit and of the close (both still readable after the close, when {@code committed()} throws),
 * the thread that closed it, and the single-thread check that {@code KafkaConsumer} makes
 * ({@code MockConsumer} is only {@code synchronized}, which would hide two threads taking turns
 * inside one operation). {@link #wakeup()} is allowed from any thread, as in {@code KafkaConsumer}.
 *
 * <p>Two opt-in behaviours model the real client where {@code MockConsumer} is simpler:
 * {@link #honourPendingWakeup} makes a {@code commitSync} after an unconsumed {@code wakeup()}
 * throw {@link WakeupException}, as the {@code Consumer#commitSync} contract says ("if wakeup()
 * is called before or while this function is called"), and {@link #failAsyncCommits} makes
 * {@code commitAsync} report a retriable failure (a coordinator that moved) without committing.
 */
class SessionTestConsumer extends MockConsumer<byte[], byte[]> {

    /** Records every configuration asked for and every consumer made, in order. */
    static final class Factory implements Function<Map<String, Object>, Consumer<byte[], byte[]>> {
        final List<Map<String, Object>> configs = new CopyOnWriteArrayList<>();
        final List<SessionTestConsumer> made = new CopyOnWriteArrayList<>();
        /** Runs inside {@link #apply} before the consumer is made (a test may block it there). */
        volatile Runnable beforeCreate = () -> { };
        volatile java.util.function.Consumer<SessionTestConsumer> afterCreate = c -> { };

        @Override
        public Consumer<byte[], byte[]> apply(Map<String, Object> config) {
            configs.add(Map.copyOf(config));
            beforeCreate.run();
            SessionTestConsumer consumer = new SessionTestConsumer();
            afterCreate.accept(consumer);
            made.add(consumer);
            return consumer;
        }

        SessionTestConsumer last() {
            return made.get(made.size() - 1);
        }
    }

    final List<Map<TopicPartition, Long>> commits = new CopyOnWriteArrayList<>();
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<Throwable> violations = new CopyOnWriteArrayList<>();
    volatile String closedBy;
    volatile boolean honourPendingWakeup;
    volatile boolean failAsyncCommits;
    /** The member id {@link #groupMetadata} says (a member dropped from its group joins again under a new one). */
    volatile String memberId = "member-1";

    @Override
    @SuppressWarnings("removal") // the one constructor that takes a member id (MockConsumer's own uses it)
    public synchronized org.apache.kafka.clients.consumer.ConsumerGroupMetadata groupMetadata() {
        return new org.apache.kafka.clients.consumer.ConsumerGroupMetadata("g", 1, memberId, java.util.Optional.empty());
    }
    /** Thrown by every {@code commitSync} while set (Kafka refusing commits). */
    volatile RuntimeException commitSyncFailure;
    /** Runs inside each commitSync (to hold it there). */
    volatile Runnable duringCommitSync = () -> { };
    /** Told the timeout of each commitSync given one, as it is called. */
    volatile java.util.function.Consumer<Duration> commitSyncTimeouts = timeout -> { };
    /** Runs inside close, before it closes (to hold the closing thread there). */
    volatile Runnable duringClose = () -> { };

    private final AtomicReference<Thread> owner = new AtomicReference<>();
    private int depth; // only touched by the owner
    private volatile boolean wakeupPending;
    /** Whether the rebalance listener hears of assignments (not while {@link #eagerRebalance} revokes). */
    private volatile boolean assignedHeard = true;

    SessionTestConsumer() {
        super("earliest");
    }

    /** Topics set apart by {@link #partitions}: how many partitions each has (0: none such). */
    private final Map<String, Integer> partitionCounts = new java.util.concurrent.ConcurrentHashMap<>();

    /** The cluster's {@code topic} has {@code count} partitions (0: it has no such topic). */
    void partitions(String topic, int count) {
        partitionCounts.put(topic, count);
    }

    /**
     * The partitions set by {@link #partitions} or {@code updatePartitions}; else, as a consumer's
     * metadata has them, those of a topic it is assigned up to the highest it is assigned (none
     * of a topic it is not).
     */
    @Override
    public synchronized List<org.apache.kafka.common.PartitionInfo> partitionsFor(String topic) {
        Integer count = partitionCounts.get(topic);
        if (count == null) {
            List<org.apache.kafka.common.PartitionInfo> known = super.partitionsFor(topic);
            if (known != null && !known.isEmpty()) {
                return known;
            }
            count = assignment().stream().filter(tp -> tp.topic().equals(topic)).mapToInt(TopicPartition::partition)
                    .max().orElse(-1) + 1;
        }
        List<org.apache.kafka.common.PartitionInfo> out = new java.util.ArrayList<>();
        for (int p = 0; p < count; p++) {
            out.add(new org.apache.kafka.common.PartitionInfo(topic, p, null, null, null));
        }
        return out;
    }

    // ---- helpers for tests ------------------------------------------------------------------

    static ConsumerRecord<byte[], byte[]> record(String topic, int partition, long offset, String key, String value) {
        return new ConsumerRecord<>(topic, partition, offset,
                key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                value == null ? null : value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * On the next poll: the group assigns {@code partitions} (all starting at offset 0) and
     * {@code records} arrive.
     */
    void assignOnNextPoll(Collection<TopicPartition> partitions, List<ConsumerRecord<byte[], byte[]>> records) {
        schedulePollTask(() -> {
            rebalance(partitions);
            Map<TopicPartition, Long> beginnings = new HashMap<>();
            partitions.forEach(tp -> beginnings.put(tp, 0L));
            updateBeginningOffsets(beginnings);
            records.forEach(this::addRecord);
        });
    }

    /**
     * A rebalance of the classic protocol's eager assignors (its default): the group revokes every
     * partition the consumer has, then assigns it {@code partitions}, in one rebalance. The listener
     * hears {@code onPartitionsRevoked} of them all, then {@code onPartitionsAssigned} of the new
     * assignment (nothing in between), and every partition, kept ones too, starts again from its
     * committed offset, as with {@code KafkaConsumer}. ({@link #rebalance} revokes only what is
     * taken away, and would tell the listener of an empty assignment in between.)
     */
    void eagerRebalance(Collection<TopicPartition> partitions) {
        revokeForRebalance();
        rebalance(partitions);
    }

    /** The first half of {@link #eagerRebalance}: every partition revoked, none assigned yet (a join under way). */
    void revokeForRebalance() {
        assignedHeard = false;
        try {
            rebalance(List.of());
        } finally {
            assignedHeard = true;
        }
    }

    /** On the next poll, {@code records} arrive (their partitions must be assigned by then). */
    void deliverOnNextPoll(List<ConsumerRecord<byte[], byte[]>> records) {
        schedulePollTask(() -> records.forEach(this::addRecord));
    }

    /** The last offset committed for {@code tp} by any commit, or null; readable after close. */
    Long lastCommitted(TopicPartition tp) {
        Long last = null;
        for (Map<TopicPartition, Long> commit : commits) {
            if (commit.containsKey(tp)) {
                last = commit.get(tp);
            }
        }
        return last;
    }

    static boolean waitUntil(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    // ---- the single-thread check of KafkaConsumer ---------------------------------------------

    private void acquire() {
        Thread me = Thread.currentThread();
        if (owner.get() != me && !owner.compareAndSet(null, me)) {
            ConcurrentModificationException e = new ConcurrentModificationException(
                    "KafkaConsumer is not safe for multi-threaded access: " + me.getName()
                            + " called it while " + owner.get() + " was using it");
            violations.add(e);
            throw e;
        }
        depth++;
    }

    private void release() {
        if (--depth == 0) {
            owner.set(null);
        }
    }

    // ---- the operations ConsumerInstance and OffsetReader use -------------------------------

    @Override
    public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
        acquire();
        try {
            if (honourPendingWakeup && wakeupPending) {
                wakeupPending = false;
                throw new WakeupException();
            }
            return super.poll(timeout);
        } finally {
            release();
        }
    }

    /** Whether close tells the subscription's listener its partitions are revoked, as KafkaConsumer's leave does. */
    volatile boolean revokeOnClose;
    private volatile ConsumerRebalanceListener subscribedListener;

    @Override
    public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
        subscribedListener = listener;
        acquire();
        try {
            super.subscribe(topics, new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    listener.onPartitionsRevoked(partitions);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    if (assignedHeard) {
                        listener.onPartitionsAssigned(partitions);
                    }
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {
                    listener.onPartitionsLost(partitions);
                }
            });
        } finally {
            release();
        }
    }

    /** Runs inside each currentLag, holding the consumer as KafkaConsumer does (to hold the asking thread there). */
    volatile Runnable duringCurrentLag = () -> { };

    @Override
    public java.util.OptionalLong currentLag(TopicPartition tp) {
        acquire();
        try {
            duringCurrentLag.run();
            return super.currentLag(tp);
        } finally {
            release();
        }
    }

    @Override
    public Set<TopicPartition> assignment() {
        acquire();
        try {
            return super.assignment();
        } finally {
            release();
        }
    }

    @Override
    public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
        acquire();
        try {
            if (failAsyncCommits && callback != null) {
                callback.onComplete(offsets, new RetriableCommitFailedException("the group coordinator moved"));
                return;
            }
            super.commitAsync(offsets, callback);
            Map<TopicPartition, Long> plain = new HashMap<>();
            offsets.forEach((tp, om) -> plain.put(tp, om.offset()));
            commits.add(Map.copyOf(plain));
            events.add("commit " + plain);
        } finally {
            release();
        }
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
        acquire();
        try {
            if (honourPendingWakeup && wakeupPending) {
                wakeupPending = false;
                throw new WakeupException();
            }
            if (commitSyncFailure != null) {
                throw commitSyncFailure;
            }
            duringCommitSync.run();
            super.commitSync(offsets);
        } finally {
            release();
        }
    }

    @Override
    public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        commitSyncTimeouts.accept(timeout);
        acquire();
        try {
            commitSync(offsets);
        } finally {
            release();
        }
    }

    @Override
    public void wakeup() {
        if (honourPendingWakeup) {
            wakeupPending = true;
        } else {
            super.wakeup();
        }
    }

    @Override
    public void close(CloseOptions options) {
        acquire();
        try {
            duringClose.run();
            if (revokeOnClose && subscribedListener != null && !assignment().isEmpty()) {
                subscribedListener.onPartitionsRevoked(assignment());
            }
            closedBy = Thread.currentThread().getName();
            events.add("close");
            super.close(options);
        } finally {
            release();
        }
    }
}
