package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.errors.RetriableException;

/**
 * What each caller's records (an API key's, or with authentication off a client address's) take
 * of the shared producer's buffer until Kafka acknowledges them, and at most how much each may: half the buffer ({@code producer.buffer.memory}), so that one API
 * key whose batches Kafka keeps retrying (records sprayed over hundreds of partitions of a topic
 * that cannot take them, say) never fills the buffer every other client's records need. Several
 * keys each within its half could still fill it together, so once the callers' records hold three
 * quarters of it (crowded), a caller holding more than an equal part of those three quarters
 * (among the callers with records waiting) takes no more, and none takes more once they hold
 * seven eighths: the last eighth is left for callers with nothing waiting, whose first record is
 * always taken (and each caller holding less than its part may still grow to it).
 *
 * <p>Kafka's producer gives each partition's open batch a whole {@code batch.size} of its buffer
 * however little is in it, so a record is counted as its key, value and header bytes plus, when the caller
 * has no other record waiting for that partition, one batch. Where a record goes is known when it
 * names its partition, or has a key and the producer partitions by key with Kafka's own
 * partitioner; a record without either is counted against one place per topic (Kafka's sticky
 * partitioner fills one partition's batch at a time). A caller with nothing waiting may always
 * send one record, so no record is refused for its size alone. A null owner (authentication off,
 * the client's address unknown) is never counted. Thread-safe.
 */
public final class ProducerShares {
    /** Where a record's partition is not known before it is sent. */
    public static final int UNKNOWN_PARTITION = -1;

    /** The account of no one: takes everything, counts nothing. */
    public static final Account NONE = new Account(null, null);

    private final long share;
    private final long buffer;
    private final long batchBytes;
    private final ConcurrentHashMap<String, Account> accounts = new ConcurrentHashMap<>();
    /** Bytes counted for all callers together. */
    private final java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong();
    /** Callers with records waiting. */
    private final java.util.concurrent.atomic.AtomicInteger active = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * @param buffer the shared producer's buffer ({@code buffer.memory}): half of it per caller at most
     * @param batchBytes what a partition's open batch takes of the buffer ({@code batch.size})
     */
    public ProducerShares(long buffer, long batchBytes) {
        this.share = buffer / 2;
        this.buffer = buffer;
        this.batchBytes = batchBytes;
    }

    /**
     * Whether a caller holding {@code held} (more than nothing) may take {@code need} more while all
     * callers hold {@code all} (its own included).
     */
    private boolean fits(long held, long need, long all) {
        return held + need <= share && Crowding.allows(held, need, all, buffer, active.get());
    }

    /**
     * The account of {@code owner}; {@link #NONE} for a null owner. An account whose records were
     * all acknowledged stays for its owner's next ones (letting go of it at once made the
     * requests that held it look the owner up again for each of their records, a profile of
     * batched produce showed), until a new owner comes while twice as many accounts are held as
     * the last sweep kept ({@link #SWEEP_AT} at least): then the empty ones are let go of, by
     * that owner's thread alone (another meanwhile does not wait for it).
     */
    public Account account(String owner) {
        if (owner == null) {
            return NONE;
        }
        Account known = accounts.get(owner);
        if (known != null) {
            return known;
        }
        if (accounts.size() >= sweepAt) {
            sweep();
        }
        return accounts.computeIfAbsent(owner, o -> new Account(this, o));
    }

    /** How many owners' accounts are held before a new owner's lets go of the empty ones. */
    static final int SWEEP_AT = 1024;
    /** The next sweep's threshold: twice what a sweep kept (others' records waiting), at least {@link #SWEEP_AT}. */
    private volatile int sweepAt = SWEEP_AT;

    private final java.util.concurrent.atomic.AtomicBoolean sweeping = new java.util.concurrent.atomic.AtomicBoolean();

    /** Lets go of the empty accounts, unless another thread is at it (callers are IO threads: none waits). */
    private void sweep() {
        if (!sweeping.compareAndSet(false, true)) {
            return;
        }
        try {
            if (accounts.size() < sweepAt) {
                return; // another thread just swept
            }
            for (Account a : accounts.values()) {
                a.retireIfEmpty();
            }
            sweepAt = Math.max(SWEEP_AT, 2 * accounts.size());
        } finally {
            sweeping.set(false);
        }
    }

    /** How many owners' accounts are held now (for tests). */
    int accountsHeld() {
        return accounts.size();
    }

    /** Bytes of the buffer counted for {@code owner} now. */
    public long heldBy(String owner) {
        Account account = owner == null ? null : accounts.get(owner);
        return account == null ? 0 : account.held();
    }

    /** At most this many bytes per caller. */
    public long share() {
        return share;
    }

    /** Callers with records waiting now. */
    int active() {
        return active.get();
    }

    /** Bytes counted for all callers together now. */
    long total() {
        return total.get();
    }

    /** Why a record was not sent: its caller's records waiting for Kafka hold its share already. */
    public static final class ShareFull extends RetriableException {
        private static final long serialVersionUID = 1L;

        ShareFull(String message) {
            super(message);
        }
    }

    /** The message of a refusal, for the whole request ({@link #full()}) and for one record. */
    private String words() {
        return "this API key's records (with authentication off, this client address's) waiting for Kafka's "
                + "acknowledgement hold its share of the shared producer's buffer (producer.buffer.memory): at most "
                + "half, " + share + " bytes, and while the records of several keys fill three quarters of it, an "
                + "equal part of those each; retry when they are acknowledged";
    }

    /** One caller's records that Kafka has not acknowledged yet. */
    public static final class Account {
        private final ProducerShares shares;
        private final String owner;
        /** Per partition (topic and partition): records waiting, and their bytes. */
        private Map<Place, long[]> waiting = new HashMap<>();
        /** The most partitions {@link #waiting} held since it was last made anew. */
        private int widest;
        private long held;
        /**
         * The partition counted last and its entry of {@link #waiting}: a request's records go to
         * one topic, keyless ones to one place, so most takes and releases find it here without a
         * look-up (which showed in a profile of batched produce).
         */
        private String lastTopic;
        private int lastPartition;
        private long[] lastCounts;
        /** The key {@link #waiting} is looked up by (under this account's lock), so that a look-up allocates nothing. */
        private final Place probe = new Place(null, 0);
        /** Let go of (it held nothing): whoever still has it asks the shares for the owner's live account. */
        private boolean retired;

        private Account(ProducerShares shares, String owner) {
            this.shares = shares;
            this.owner = owner;
        }

        /**
         * The 429 for a whole request when this caller's share has no room left for another
         * partition's batch (nothing of the request should be sent), else null.
         */
        public RestException full() {
            if (shares == null) {
                return null;
            }
            synchronized (this) {
                if (!retired) {
                    // No room left for another partition's batch: most of what it would send would be refused.
                    return !waiting.isEmpty() && !shares.fits(held, shares.batchBytes, shares.total.get())
                            ? ErrorCode.TOO_MANY_REQUESTS.exception(shares.words()) : null;
                }
            }
            return shares.account(owner).full();
        }

        /** Throws {@link #full()}'s 429 when there is one. */
        public void refuseIfFull() {
            RestException full = full();
            if (full != null) {
                throw full;
            }
        }

        /**
         * Counts a record of {@code bytes} for {@code partition} of {@code topic}
         * ({@link #UNKNOWN_PARTITION} when not known): the account that counted it, whose
         * {@link #release} must follow its acknowledgement (or failure) exactly once; null when
         * it does not fit this caller's share (nothing counted: the record must not be sent).
         */
        public Account take(String topic, int partition, long bytes) {
            if (shares == null) {
                return this;
            }
            synchronized (this) {
                if (!retired) {
                    long[] there = counts(topic, partition);
                    long need = there == null ? bytes + shares.batchBytes : bytes;
                    // Counted in the total first, so that callers taking at once never pass the
                    // ceiling together; given back when it does not fit.
                    long all = shares.total.addAndGet(need) - need;
                    // A caller with nothing waiting may always send one record (even with a zero
                    // batch.size and an empty record, where it holds nothing after it).
                    boolean first = waiting.isEmpty();
                    if (!first && !shares.fits(held, need, all)) {
                        shares.total.addAndGet(-need);
                        return null;
                    }
                    if (first) {
                        shares.active.incrementAndGet();
                    }
                    if (there == null) {
                        there = new long[] {1};
                        waiting.put(new Place(topic, partition), there);
                        widest = Math.max(widest, waiting.size());
                        remember(topic, partition, there);
                    } else {
                        there[0]++;
                    }
                    held += need;
                    return this;
                }
            }
            return shares.account(owner).take(topic, partition, bytes);
        }

        /** Gives back what {@link #take} counted for a record, once Kafka is done with it. */
        public void release(String topic, int partition, long bytes) {
            if (shares == null) {
                return;
            }
            synchronized (this) {
                long[] there = counts(topic, partition);
                if (there == null) {
                    return; // never counted here
                }
                long freed = bytes;
                if (--there[0] == 0) {
                    probe.set(topic, partition);
                    waiting.remove(probe);
                    if (lastCounts == there) {
                        lastCounts = null;
                    }
                    freed += shares.batchBytes;
                }
                held -= freed;
                shares.total.addAndGet(-freed);
                if (waiting.isEmpty()) {
                    shares.total.addAndGet(-held); // nothing, unless releases did not match takes
                    held = 0;
                    shares.active.decrementAndGet();
                    // Kept for the owner's next records (see ProducerShares.account), but not with the
                    // table of a spray over hundreds of partitions: a map never shrinks.
                    if (widest > 12) {
                        waiting = new HashMap<>();
                        widest = 0;
                    }
                }
            }
        }

        /** Lets go of this account when it holds nothing: whoever still has it asks for the owner's live one. */
        synchronized void retireIfEmpty() {
            if (!retired && waiting.isEmpty()) {
                retired = true;
                shares.accounts.remove(owner, this);
            }
        }

        /** The entry of {@link #waiting} for the partition, or null; called holding this account's lock. */
        private long[] counts(String topic, int partition) {
            long[] last = lastCounts;
            if (last != null && lastPartition == partition && (lastTopic == topic || lastTopic.equals(topic))) {
                return last;
            }
            probe.set(topic, partition);
            long[] there = waiting.get(probe);
            if (there != null) {
                remember(topic, partition, there);
            }
            return there;
        }

        private void remember(String topic, int partition, long[] counts) {
            lastTopic = topic;
            lastPartition = partition;
            lastCounts = counts;
        }

        /** The failure of a record that did not fit. */
        public ShareFull shareFull() {
            return new ShareFull(shares == null ? "" : shares.words());
        }

        synchronized long held() {
            return held;
        }
    }

    /**
     * A partition of a topic, as a key of {@link Account#waiting}: counted at each record's send and
     * acknowledgement, so its equality is written out (a record's generated one went through
     * method handles that showed in a profile of batched produce, about 4% of Portico's CPU).
     */
    private static final class Place {
        private String topic;
        private int partition;
        private int hash;

        Place(String topic, int partition) {
            set(topic, partition);
        }

        /** Another partition: only for an account's probe, never for a key in its map. */
        void set(String topic, int partition) {
            this.topic = topic;
            this.partition = partition;
            this.hash = topic == null ? 0 : 31 * topic.hashCode() + partition;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Place p && p.partition == partition && p.hash == hash
                    && (p.topic == topic || p.topic.equals(topic));
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
