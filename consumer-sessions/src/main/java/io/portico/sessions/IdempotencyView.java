package io.portico.sessions;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * This node's view of the idempotency topic: for each key, the result of the one request that
 * produced under it — its fingerprint, status, content type, body and time — as the topic's
 * committed records say (it is filled by a {@code read_committed} consumer, and by this node's
 * own commits). Results older than the retention are dropped, whether Kafka has deleted them yet
 * or not. It also knows how far it has read each partition, so that a request can wait until it
 * has seen everything committed before a given offset.
 *
 * <p>Memory: a key's entry holds its response body plus about 250 bytes (identity, fingerprint,
 * map entry); {@link #bytes()} counts them. A v1 produce of one record answers 120 bytes: 370
 * bytes a key, 370 MB for a million keys within the retention. The results read from the topic
 * are bounded too ({@code maxBytes}): one that does not fit is not kept, and the view is then
 * {@linkplain #complete() incomplete} (a key it has no result for may have one) until a read of
 * the whole topic again keeps everything. Thread-safe: one thread applies records and positions,
 * any number read and wait.
 */
final class IdempotencyView {
    /** Value format of a result record. */
    private static final byte VERSION = 1;
    /** What an entry costs beyond its body (identity, fingerprint, objects, map node): 246 bytes measured on a 64-bit JVM. */
    static final int ENTRY_OVERHEAD = 250;

    /**
     * The result of the request that produced under a key.
     *
     * @param owner who holds it ({@link IdempotencyKey#owner(String)}), 0 when not known (a result
     *        written without one)
     */
    record Result(byte[] fingerprint, Idempotency.Response response, long time, long owner) {
        Result(byte[] fingerprint, Idempotency.Response response, long time) {
            this(fingerprint, response, time, 0);
        }

        int bytes() {
            return ENTRY_OVERHEAD + response.body().length; // content types are shared (interned)
        }

        boolean sameRequest(byte[] otherFingerprint) {
            return java.security.MessageDigest.isEqual(fingerprint, otherFingerprint);
        }
    }

    private final ConcurrentHashMap<IdempotencyKey, Result> results = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();
    /** What each owner's results take ({@link Result#bytes()}), owners with none left out. */
    private final ConcurrentHashMap<Long, Long> owned = new ConcurrentHashMap<>();
    private final Duration retention;
    private final long maxBytes;
    private final long ownerMaxBytes;
    /** Results read from the topic and not kept for room, ever. */
    private final AtomicLong refused = new AtomicLong();
    /** The owners whose results were refused since the view last held every result (0: a result naming none). */
    private final java.util.Map<Long, Long> refusedOwners = new java.util.concurrent.ConcurrentHashMap<>(); // owner → its newest refused result's time
    /** Those of them refused for their share (not for the results' room in all). */
    private final java.util.Set<Long> overShare = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final LongSupplier clock;
    private final Object lock = new Object();
    private long[] positions; // guarded by lock; null until the topic's partitions are assigned
    private int waiters; // guarded by lock

    /**
     * @param retention how long a result counts (the topic's retention)
     * @param clock wall-clock milliseconds (results carry their time)
     */
    IdempotencyView(Duration retention, LongSupplier clock) {
        this(retention, Long.MAX_VALUE, clock);
    }

    /**
     * @param retention how long a result counts (the topic's retention)
     * @param maxBytes what the results read from the topic may take ({@link #bytes()})
     * @param clock wall-clock milliseconds (results carry their time)
     */
    IdempotencyView(Duration retention, long maxBytes, LongSupplier clock) {
        this(retention, maxBytes, Long.MAX_VALUE, clock);
    }

    /**
     * @param ownerMaxBytes what the results of one owner (but owner 0, none) may take of them: past
     *        it that owner's further results are not kept, and its keys' view is incomplete
     */
    IdempotencyView(Duration retention, long maxBytes, long ownerMaxBytes, LongSupplier clock) {
        this.retention = retention;
        this.maxBytes = maxBytes;
        this.ownerMaxBytes = ownerMaxBytes;
        this.clock = clock;
    }

    /** The result recorded for {@code key} within the retention, or null. */
    Result get(IdempotencyKey key) {
        Result r = results.get(key);
        if (r != null && expired(r, clock.getAsLong())) {
            remove(key, r);
            return null;
        }
        return r;
    }

    /** Records a result (this node's own commit, or one read from the topic). */
    void put(IdempotencyKey key, Result result) {
        if (expired(result, clock.getAsLong())) {
            return;
        }
        Result previous = results.put(key, result);
        bytes.addAndGet(result.bytes() - (previous == null ? 0 : previous.bytes()));
        if (previous != null) {
            own(previous, -previous.bytes());
        }
        own(result, result.bytes());
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    /**
     * Applies one committed record of the topic: a result, or a tombstone (null value) that
     * removes one. A record that is not a result of this format is ignored. A result that would
     * take the results past {@code maxBytes} is not kept (nor the key's result before it), and
     * the view is incomplete from then on.
     */
    void apply(byte[] recordKey, byte[] value) {
        apply(recordKey, value, 0);
    }

    /** As {@link #apply(byte[], byte[])}, for a result whose record names its {@code owner} (0: none). */
    void apply(byte[] recordKey, byte[] value, long owner) {
        IdempotencyKey key;
        try {
            key = IdempotencyKey.fromId(recordKey);
        } catch (IllegalArgumentException e) {
            return;
        }
        if (value == null) {
            Result r = results.get(key);
            if (r != null) {
                remove(key, r);
            }
            return;
        }
        Result r = decode(value, owner);
        if (r == null || expired(r, clock.getAsLong())) {
            return;
        }
        Result previous = results.get(key);
        long more = r.bytes() - (previous == null ? 0 : previous.bytes());
        // Only a result that adds bytes past the bound is refused: this node's own, read back
        // after it put it, adds none (the results may be over the bound then, by the results
        // being committed together).
        if (more > 0 && (bytes.get() + more > maxBytes || owner != 0 && bytesOf(owner) + more > ownerMaxBytes)) {
            sweepBeforeRefusing();
        }
        // One owner's results past its share are not kept either: they leave that owner's keys,
        // not every key's, without their results here.
        boolean pastShare = owner != 0 && bytesOf(owner) + more > ownerMaxBytes;
        if (more > 0 && (bytes.get() + more > maxBytes || pastShare)) {
            if (previous != null) {
                remove(key, previous);
            }
            refusedOwners.merge(owner, r.time(), Math::max);
            if (pastShare) {
                overShare.add(owner);
            }
            refused.incrementAndGet();
            return;
        }
        put(key, r);
    }

    /**
     * Whether the view holds every result the topic does (as far as it has read it): false once
     * one was not kept for room, until {@link #completeAsOf} says a read of the whole topic since
     * kept everything, or every result not kept has expired. While false, a key without a result
     * here may have one.
     */
    boolean complete() {
        return refusedOwners.isEmpty();
    }

    /**
     * Whether the view holds every result of {@code owner}'s keys: it does unless one of its
     * results, or one naming no owner, was not kept (since the view last held every result) and
     * has not expired yet. So the results one API key leaves unkept at this node (many results at
     * a node with more room, past its share here) turn away that key's new keys here, not every
     * key's, and only within the retention of the newest of them. Owner 0 (no owner:
     * authentication off) needs every result kept.
     */
    boolean complete(long owner) {
        if (complete()) {
            return true;
        }
        long now = clock.getAsLong();
        if (owner == 0) {
            for (long newest : refusedOwners.values()) {
                if (now - newest < retention.toMillis()) {
                    return false;
                }
            }
            return true;
        }
        Long none = refusedOwners.get(0L);
        Long mine = refusedOwners.get(owner);
        return (none == null || now - none >= retention.toMillis()) && (mine == null || now - mine >= retention.toMillis());
    }

    /**
     * Whether what was not kept may fit now, so that a read of the whole topic again is worth
     * it: the results under {@code below}, and each owner refused for its share under half of it
     * (else the read would refuse the same results again, and be made again, for as long as
     * they last).
     */
    boolean roomAgain(long below) {
        if (bytes.get() >= below) {
            return false;
        }
        for (Long owner : overShare) {
            if (bytesOf(owner) >= ownerMaxBytes / 2) {
                return false;
            }
        }
        return true;
    }

    /** Results read and not kept for room, ever: taken before a read of the whole topic again. */
    long refused() {
        return refused.get();
    }

    /**
     * A read of the whole topic again, started when {@link #refused()} was {@code before}, has
     * reached where the view had read: when it kept everything, the view is complete again.
     */
    void completeAsOf(long before) {
        if (refused.get() == before) {
            refusedOwners.clear(); // refusals are applied by the same thread: none since the check
            overShare.clear();
        }
    }

    /** The topic has {@code partitions} partitions, none read yet. */
    void assigned(int partitions) {
        synchronized (lock) {
            positions = new long[partitions];
            Arrays.fill(positions, -1);
            lock.notifyAll();
        }
    }

    /** Every committed record of {@code partition} before {@code position} has been applied. */
    void advanced(int partition, long position) {
        synchronized (lock) {
            if (positions != null && partition < positions.length && position > positions[partition]) {
                positions[partition] = position;
                lock.notifyAll();
            }
        }
    }

    /** The topic's partition count as the reader opened it; -1 before (see {@link #awaitPartitions}). */
    int partitions() {
        synchronized (lock) {
            return positions == null ? -1 : positions.length;
        }
    }

    /** The topic's partition count, waiting for it until {@code deadline} ({@link System#nanoTime()}); -1 if unknown then. */
    int awaitPartitions(long deadline) throws InterruptedException {
        synchronized (lock) {
            while (positions == null) {
                if (!waitUntil(deadline)) {
                    return -1;
                }
            }
            return positions.length;
        }
    }

    /**
     * Waits until everything committed in {@code partition} below {@code offset} has been
     * applied, or {@code deadline} passes.
     *
     * @return whether it has been
     */
    boolean awaitPosition(int partition, long offset, long deadline) throws InterruptedException {
        return awaitPosition(partition, offset, deadline, () -> { });
    }

    /** As {@link #awaitPosition(int, long, long)}, calling {@code waiting} once first when it has to wait. */
    boolean awaitPosition(int partition, long offset, long deadline, Runnable waiting) throws InterruptedException {
        synchronized (lock) {
            if (positions != null && positions[partition] >= offset) {
                return true;
            }
            waiters++;
            try {
                waiting.run();
                while (positions == null || positions[partition] < offset) {
                    if (!waitUntil(deadline)) {
                        return false;
                    }
                }
                return true;
            } finally {
                waiters--;
            }
        }
    }

    /** How many requests wait for a position now. */
    int waiters() {
        synchronized (lock) {
            return waiters;
        }
    }

    /** The result of {@code key} once there is one, or null when {@code deadline} passes first. */
    Result awaitResult(IdempotencyKey key, long deadline) throws InterruptedException {
        synchronized (lock) {
            Result r;
            while ((r = get(key)) == null) {
                if (!waitUntil(deadline)) {
                    return null;
                }
            }
            return r;
        }
    }

    /** Waits on the lock until notified or the deadline; false once it has passed. Hold the lock. */
    private boolean waitUntil(long deadline) throws InterruptedException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
        return true;
    }

    private volatile long sweptBeforeRefusing;

    /**
     * Drops the expired results, at most once a second, before a result is refused for room:
     * results that expired since the last sweep (every minute) must not cost another's place.
     */
    private void sweepBeforeRefusing() {
        long now = clock.getAsLong();
        if (now - sweptBeforeRefusing >= 1_000) {
            sweptBeforeRefusing = now;
            sweep();
        }
    }

    /**
     * Drops results older than the retention, and forgets the results not kept that are as old:
     * once none is left, the view holds every result again. Returns how many results it dropped.
     * Called by the thread that applies records.
     */
    int sweep() {
        long now = clock.getAsLong();
        int dropped = 0;
        for (var e : results.entrySet()) {
            if (expired(e.getValue(), now) && remove(e.getKey(), e.getValue())) {
                dropped++;
            }
        }
        if (!refusedOwners.isEmpty()) { // once none is left, every result not kept has expired
            refusedOwners.values().removeIf(newest -> now - newest >= retention.toMillis());
            overShare.removeIf(owner -> !refusedOwners.containsKey(owner));
        }
        return dropped;
    }

    private boolean remove(IdempotencyKey key, Result r) {
        if (results.remove(key, r)) {
            bytes.addAndGet(-r.bytes());
            own(r, -r.bytes());
            return true;
        }
        return false;
    }

    private boolean expired(Result r, long now) {
        return now - r.time() >= retention.toMillis();
    }

    /** Results held. */
    int size() {
        return results.size();
    }

    /** What the results held take in memory, roughly ({@link Result#bytes()} each). */
    long bytes() {
        return bytes.get();
    }

    /** What the results of {@code owner} take ({@link Result#bytes()} each); 0 for owner 0. */
    long bytesOf(long owner) {
        return owner == 0 ? 0 : owned.getOrDefault(owner, 0L);
    }

    /**
     * Whether {@code owner}, holding results already, may keep no more while others need room in
     * {@code maxBytes}, as {@link Crowding} shares it out. Never for owner 0 (no owner:
     * authentication off, one caller).
     */
    boolean crowded(long owner, long maxBytes) {
        long mine = bytesOf(owner);
        if (owner == 0 || mine <= 0) {
            return false;
        }
        return !Crowding.allows(mine, 1, bytes.get(), maxBytes, owned.size()); // one byte more: none
    }

    private void own(Result r, long delta) {
        if (r.owner() != 0) {
            owned.compute(r.owner(), (o, held) -> {
                // Below 0 for a moment when a result's removal is counted before its arrival
                // (the reader thread and a commit putting the same result at once): kept, so
                // the arrival brings it back to what is held.
                long now = (held == null ? 0 : held) + delta;
                return now == 0 ? null : now;
            });
        }
    }

    // ---- the record value: version, fingerprint, time, status, content type, body

    static byte[] encode(Result r) {
        byte[] type = r.response().contentType().getBytes(StandardCharsets.UTF_8);
        byte[] body = r.response().body();
        ByteBuffer out = ByteBuffer.allocate(1 + 32 + 8 + 2 + 2 + type.length + 4 + body.length);
        out.put(VERSION).put(r.fingerprint()).putLong(r.time()).putShort((short) r.response().status())
                .putShort((short) type.length).put(type).putInt(body.length).put(body);
        return out.array();
    }

    /** The result in {@code value}, or null when it is not one this version wrote. */
    static Result decode(byte[] value) {
        return decode(value, 0);
    }

    /** As {@link #decode(byte[])}, the result held by {@code owner}. */
    static Result decode(byte[] value, long owner) {
        try {
            ByteBuffer in = ByteBuffer.wrap(value);
            if (in.get() != VERSION) {
                return null;
            }
            byte[] fingerprint = new byte[32];
            in.get(fingerprint);
            long time = in.getLong();
            int status = in.getShort();
            int typeLength = in.getShort() & 0xffff;
            if (typeLength > in.remaining()) {
                return null;
            }
            byte[] type = new byte[typeLength];
            in.get(type);
            int bodyLength = in.getInt();
            if (bodyLength < 0 || bodyLength != in.remaining()) {
                return null; // checked before allocating: a record claiming 2 GiB is not 2 GiB of heap
            }
            byte[] body = new byte[bodyLength];
            in.get(body);
            if (in.hasRemaining()) {
                return null;
            }
            return new Result(fingerprint, new Idempotency.Response(status, new String(type, StandardCharsets.UTF_8)
                    .intern(), body), time, owner);
        } catch (RuntimeException e) { // short, or a negative length
            return null;
        }
    }
}
