package io.portico.proxy.http;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The event streams of one server: at most {@code sse.streams.max} at once, their pool (each
 * stream has at most one call of its source running, usually a long poll of a consumer, so the
 * pool has a thread per stream and never queues behind other work), their heartbeat interval,
 * and shutdown, which ends every stream cleanly. Thread-safe.
 */
public final class EventStreams implements AutoCloseable {
    private final int max;
    private final Duration heartbeat;
    private final Semaphore places;
    private final ThreadPoolExecutor pool;
    private final Set<EventStream> open = ConcurrentHashMap.newKeySet();
    /**
     * Whether a relaying node said it left or is no longer heard from, as the nodes' directory
     * knows now (set with several nodes): a relayed stream that opens after its node's departure
     * was read ends at once (only one whose request was relayed before its node began to shut
     * down can), and one already open at its next heartbeat check. A node heard from again (one
     * restarted under the same id) is served again.
     */
    private volatile java.util.function.Predicate<String> relayerGone = id -> false;
    private volatile boolean closing;

    public EventStreams(int max, Duration heartbeat) {
        this.max = max;
        this.heartbeat = heartbeat;
        this.places = new Semaphore(max);
        // A thread per stream at most (made when no idle one is there, gone after a minute unused);
        // a stream's calls come one at a time, so the queue never holds more than a call per stream.
        this.pool = ScalingPool.create("portico-stream", max + 1, Integer.MAX_VALUE);
    }

    /** Streams at most at once. */
    public int max() {
        return max;
    }

    /** How long a stream may write nothing before it writes a comment. */
    public Duration heartbeat() {
        return heartbeat;
    }

    /** Streams open now. */
    public int active() {
        return max - places.availablePermits();
    }

    ThreadPoolExecutor pool() {
        return pool;
    }

    /** What {@link #admit} says. */
    enum Admission { ADMITTED, FULL, OWNER_FULL }

    /** Streams each caller (an API key or user) holds. */
    private final io.portico.sessions.PerOwner owned = new io.portico.sessions.PerOwner();

    /** At most {@code max} streams per API key or user ({@code sse.streams.per.key.max}). */
    public EventStreams perOwner(int max) {
        owned.max(max);
        return this;
    }

    int perOwnerMax() {
        return owned.max();
    }

    /**
     * Takes a stream's place for {@code owner} (null: no key, authentication off): FULL when all
     * are taken or the server shuts down, OWNER_FULL when the owner holds its share.
     */
    Admission admit(String owner) {
        if (closing || !places.tryAcquire()) {
            return Admission.FULL;
        }
        if (!owned.take(owner)) {
            places.release();
            return Admission.OWNER_FULL;
        }
        return Admission.ADMITTED;
    }

    /**
     * Per caller, the stream whose next record waits for room in the caller's share of the
     * responses budget: the caller's other streams fetch nothing meanwhile (see
     * {@link EventStream}), so that their batches, once written, leave it that room.
     */
    private final ConcurrentHashMap<String, EventStream> claims = new ConcurrentHashMap<>();

    /**
     * {@code stream}'s next record waits for room in its owner's share: whether it now holds the
     * owner's claim (not when another stream of the owner holds it, nor without an owner).
     */
    boolean claim(String owner, EventStream stream) {
        if (owner == null) {
            return false;
        }
        EventStream holder = claims.putIfAbsent(owner, stream);
        return holder == null || holder == stream;
    }

    /** {@code stream} no longer waits for its owner's share. */
    void unclaim(String owner, EventStream stream) {
        if (owner != null) {
            claims.remove(owner, stream);
        }
    }

    /** Whether {@code stream} fetches nothing for now: another stream of its owner waits for the owner's share. */
    boolean yields(String owner, EventStream stream) {
        if (owner == null) {
            return false;
        }
        EventStream claimant = claims.get(owner);
        return claimant != null && claimant != stream;
    }

    void opened(EventStream stream) {
        open.add(stream);
        String relayer = stream.relayer();
        if (closing || relayer != null && relayerGone(relayer)) {
            stream.end(); // the server, or the node relaying it, is shutting down
        }
    }

    /** Gives back an admitted stream's place (once per stream). */
    void closed(EventStream stream) {
        open.remove(stream);
        unclaim(stream.owner(), stream);
        owned.give(stream.owner());
        places.release();
    }

    /**
     * Ends cleanly the streams that node {@code nodeId} relays to its clients: that node is
     * shutting down, and waits for the requests it relays before it stops. Their clients see
     * their stream end as when this node shuts down, and resume through another node with
     * {@code Last-Event-ID}; the instances stay.
     */
    public void endRelayedBy(String nodeId) {
        // The directory counts the node gone before it calls this: a stream opening meanwhile
        // sees that (opened), or is open already and ended here.
        open.stream().filter(s -> nodeId.equals(s.relayer())).forEach(EventStream::end);
    }

    /**
     * How to tell that a node relaying streams here left or is no longer heard from: a stream it
     * relays that opens then ends at once, and an open one at its next heartbeat check
     * ({@code sse.heartbeat.ms} at the latest).
     */
    public void relayersGoneWhen(java.util.function.Predicate<String> gone) {
        this.relayerGone = gone;
    }

    boolean relayerGone(String nodeId) {
        return !nodeId.isEmpty() && relayerGone.test(nodeId);
    }

    /**
     * Ends every stream cleanly (each after the batch it is fetching is written) and admits no
     * more; then, once they ended (or {@code wait} passed), stops the pool.
     */
    public void close(Duration wait) {
        closing = true;
        List.copyOf(open).forEach(EventStream::end);
        long deadline = System.nanoTime() + wait.toNanos();
        while (active() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        pool.shutdown();
    }

    @Override
    public void close() {
        close(Duration.ZERO);
    }
}
