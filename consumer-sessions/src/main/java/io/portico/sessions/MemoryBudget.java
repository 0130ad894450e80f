package io.portico.sessions;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bytes of one kind that Portico holds on its clients' behalf (request bodies, responses being
 * built, records held by consumers), counted against a capacity derived from the heap. Asking it
 * is how a request decides between going ahead, waiting briefly for room, and answering 503 (or
 * 413 when what it needs can never fit).
 *
 * <p>Memory that already exists (records a consumer fetched) is counted with
 * {@link #takeAnyway}, which may push the total past the capacity; whoever holds such memory
 * checks {@link #over()} and lets go of what it can.
 *
 * <p>Thread-safe. {@link #tryTake} and {@link #give} never block; {@link #take(long, Duration)}
 * waits and is for worker threads only.
 */
public final class MemoryBudget {
    private final String name;
    private final long capacity;
    private final long reserve;
    private final AtomicLong used = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition freed = lock.newCondition();
    private volatile int waiting;
    private final java.util.List<Reclaimer> reclaimers = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** What each owner's leases hold (owners holding nothing have no entry). */
    private final java.util.concurrent.ConcurrentHashMap<String, Long> owners = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile long ownerShare = Long.MAX_VALUE;

    /**
     * Something that holds memory it can let go of on demand (records kept ahead of reads are a
     * cache): asked, on a worker thread, before a take waits for room.
     */
    @FunctionalInterface
    public interface Reclaimer {
        /** Lets go of what it can, until {@code needed} more bytes fit (or it has nothing left to give). */
        void reclaim(long needed);

        /**
         * Lets go of what it holds for {@code owner}, until {@code needed} more bytes fit that
         * owner's share (or it has nothing of the owner's left to give). Nothing by default.
         */
        default void reclaimOwn(String owner, long needed) {
        }
    }

    /**
     * @param name what the budget is for, as its configuration key names it (for messages)
     * @param capacity bytes at most
     */
    public MemoryBudget(String name, long capacity) {
        this(name, capacity, 0);
    }

    /**
     * As above, with {@code reserve} bytes beyond the capacity that only small takes may use
     * ({@link #tryTakeSmall}): large requests filling the budget never starve small ones.
     */
    public MemoryBudget(String name, long capacity, long reserve) {
        if (capacity <= 0 || reserve < 0) {
            throw new IllegalArgumentException("capacity must be positive and reserve not negative: " + capacity
                    + ", " + reserve);
        }
        this.name = name;
        this.capacity = capacity;
        this.reserve = reserve;
    }

    /** A budget nothing is ever refused by (for callers and tests that do not bound memory). */
    public static MemoryBudget unbounded(String name) {
        return new MemoryBudget(name, Long.MAX_VALUE / 4);
    }

    public String name() {
        return name;
    }

    public long capacity() {
        return capacity;
    }

    /** Bytes counted now (may exceed the capacity, see the class comment). */
    public long used() {
        return used.get();
    }

    /** Whether more is counted than the capacity allows. */
    public boolean over() {
        return used.get() > capacity;
    }

    /** Whether more is counted than the capacity and the reserve for small takes allow together. */
    public boolean overReserve() {
        return used.get() > capacity + reserve;
    }

    /** Whether {@code bytes} could ever be taken (when nothing else is counted). */
    public boolean fits(long bytes) {
        return bytes <= capacity;
    }

    /**
     * At most {@code bytes} held at once by the leases of one owner (an API key): so that one key
     * cannot take all of a budget the others share. Leases without an owner are not bounded by it.
     */
    public void ownerShare(long bytes) {
        this.ownerShare = Math.max(1, bytes);
    }

    /** What one owner may hold at once ({@link Long#MAX_VALUE}: no bound). */
    public long ownerShare() {
        return ownerShare;
    }

    /** The 429 of a take refused because its owner holds its share. */
    public io.portico.protocol.RestException ownerShareFull() {
        return io.portico.protocol.ErrorCode.TOO_MANY_REQUESTS.exception("this API key holds its share (half) of the "
                + "memory set aside (" + name + "): what it has open or being sent must end first; retry later");
    }

    /** Bytes the leases of {@code owner} hold now. */
    public long heldBy(String owner) {
        Long held = owner == null ? null : owners.get(owner);
        return held == null ? 0 : held;
    }

    /**
     * Counts {@code bytes} more for {@code owner}: false (nothing counted) when past {@code limit},
     * unless the owner holds nothing (one thing larger than a share goes alone).
     */
    private boolean ownerTake(String owner, long bytes, long limit) {
        if (owner == null || bytes <= 0) {
            return true;
        }
        boolean[] taken = {false};
        owners.compute(owner, (k, held) -> {
            long now = held == null ? 0 : held;
            if (now > 0 && now + bytes > limit) {
                return held;
            }
            taken[0] = true;
            return now + bytes;
        });
        return taken[0];
    }

    private void ownerGive(String owner, long bytes) {
        if (owner != null && bytes > 0) {
            owners.computeIfPresent(owner, (k, held) -> held <= bytes ? null : held - bytes);
        }
    }

    /** Registers a holder that {@link #take(long, Duration)} asks to let go of memory before it waits. */
    public void addReclaimer(Reclaimer reclaimer) {
        reclaimers.add(reclaimer);
    }

    /** Whether {@code bytes} more fit now. */
    public boolean hasRoomFor(long bytes) {
        return used.get() + bytes <= capacity;
    }

    /** Takes {@code bytes} if they fit now; never blocks. */
    public boolean tryTake(long bytes) {
        return tryTake(bytes, capacity);
    }

    /** As {@link #tryTake}, for a small request: it may also use the reserve beyond the capacity. */
    public boolean tryTakeSmall(long bytes) {
        return tryTake(bytes, capacity + reserve);
    }

    private boolean tryTake(long bytes, long limit) {
        if (bytes <= 0) {
            return true;
        }
        while (true) {
            long now = used.get();
            if (now + bytes > limit) {
                return false;
            }
            if (used.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    /**
     * Takes {@code bytes}, waiting up to {@code wait} for room. Blocks: worker threads only.
     *
     * @return false when there was no room within the wait (or the thread was interrupted)
     */
    public boolean take(long bytes, Duration wait) {
        return takeWaiting(bytes, wait, null);
    }

    /**
     * Takes {@code bytes}, counted for {@code owner} (null: none) within its share: asks the
     * reclaimers (for the owner's share, then for the budget) and then waits up to {@code wait}
     * for room in both. Blocks: worker threads only.
     */
    private boolean takeWaiting(long bytes, Duration wait, String owner) {
        if (tryTakeFor(bytes, owner)) {
            return true;
        }
        if (!fits(bytes)) {
            return false;
        }
        for (Reclaimer r : reclaimers) {
            if (owner != null && ownerFull(owner, bytes)) {
                r.reclaimOwn(owner, bytes);
            }
            if (!hasRoomFor(bytes)) {
                r.reclaim(bytes);
            }
            if (tryTakeFor(bytes, owner)) {
                return true;
            }
        }
        if (wait.isZero() || wait.isNegative()) {
            return false;
        }
        long deadline = System.nanoTime() + wait.toNanos();
        lock.lock();
        waiting++;
        try {
            while (!tryTakeFor(bytes, owner)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                // Bounded slices: a give() between the failed try and the await is not missed for long.
                freed.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(20)), TimeUnit.NANOSECONDS);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            waiting--;
            lock.unlock();
        }
    }

    /** Takes {@code bytes} if they fit now, counted for {@code owner} within its share; never blocks. */
    private boolean tryTakeFor(long bytes, String owner) {
        if (!ownerTake(owner, bytes, ownerShare)) {
            return false;
        }
        if (!tryTake(bytes)) {
            ownerGive(owner, bytes);
            return false;
        }
        return true;
    }

    /** Whether {@code owner} holds too much for {@code bytes} more (see {@link #ownerTake}). */
    private boolean ownerFull(String owner, long bytes) {
        return ownerFullWithout(owner, bytes, 0);
    }

    /**
     * As {@link Lease#ownerFull}, leaving out {@code excluded} of what {@code owner} holds (what
     * the asking holder itself holds, which it gives back on its own): whether the owner's other
     * things keep it from {@code bytes} more. False without an owner.
     */
    public boolean ownerFullWithout(String owner, long bytes, long excluded) {
        if (owner == null) {
            return false;
        }
        long held = heldBy(owner) - excluded;
        return held > 0 && held + Math.max(0, bytes) > ownerShare;
    }

    /** Counts memory that exists already, whether or not it fits. */
    public void takeAnyway(long bytes) {
        if (bytes > 0) {
            used.addAndGet(bytes);
        }
    }

    /** Gives back what was taken. */
    public void give(long bytes) {
        if (bytes <= 0) {
            return;
        }
        used.addAndGet(-bytes);
        if (waiting > 0) {
            lock.lock();
            try {
                freed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private final java.util.concurrent.atomic.AtomicLong tickets = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.ConcurrentSkipListSet<Long> queue = new java.util.concurrent.ConcurrentSkipListSet<>();

    /** How many leases wait for room in order now (see {@link Lease#waitInOrder}). */
    public int queued() {
        return queue.size();
    }

    /** A new account of what one request or holder takes from this budget. */
    public Lease lease() {
        return new Lease(null);
    }

    /**
     * A new account for {@code owner} (an API key; null: none): its takes also count against what
     * that owner may hold ({@link #ownerShare}), and fail when that is full.
     */
    public Lease lease(String owner) {
        return new Lease(owner);
    }

    /**
     * What one request (or one holder of records) has taken from the budget, so that it can all be
     * given back at once when the request completes. Thread-safe; closing twice gives back once.
     */
    public final class Lease implements AutoCloseable {
        private final String owner;
        private long held; // guarded by this
        private boolean closed; // guarded by this
        private long ticket; // its place among those that waited in order (0: it never did); guarded by this

        private Lease(String owner) {
            this.owner = owner;
        }

        /** Whether this lease's owner holds too much for {@code bytes} more (its takes then fail). */
        public boolean ownerFull(long bytes) {
            return owner != null && MemoryBudget.this.ownerFull(owner, bytes);
        }

        /**
         * Whether the budget is {@linkplain MemoryBudget#over over} its capacity, or this lease's
         * owner over its share while its other leases hold part of it: holders of records let go
         * of what they can then (a lease that holds all its owner holds, admitted alone past the
         * share, is not over by that: letting go would never bring it under).
         */
        public boolean over() {
            return MemoryBudget.this.over() || ownerOver();
        }

        /** Whether this lease's owner holds more than its share while its other leases hold part of it. */
        public boolean ownerOver() {
            if (owner == null) {
                return false;
            }
            long owners = heldBy(owner);
            return owners > ownerShare && owners > held();
        }

        /** The budget this lease takes from. */
        public MemoryBudget budget() {
            return MemoryBudget.this;
        }

        /** Bytes this lease holds. */
        public synchronized long held() {
            return held;
        }

        /** As {@link MemoryBudget#tryTake}, counted on this lease (and its owner's share). */
        public synchronized boolean tryTake(long bytes) {
            return !closed && tryTakeWithin(bytes, capacity);
        }

        /** As {@link MemoryBudget#tryTakeSmall}, counted on this lease (and its owner's share). */
        public synchronized boolean tryTakeSmall(long bytes) {
            return !closed && tryTakeWithin(bytes, capacity + reserve);
        }

        private boolean tryTakeWithin(long bytes, long limit) {
            if (!ownerTake(owner, bytes, ownerShare)) {
                return false;
            }
            if (!MemoryBudget.this.tryTake(bytes, limit)) {
                ownerGive(owner, bytes);
                return false;
            }
            held += Math.max(0, bytes);
            return true;
        }

        /**
         * As {@link MemoryBudget#take(long, Duration)}, counted on this lease, waiting for room in
         * its owner's share as in the budget. Blocks (not holding the lease).
         */
        public boolean take(long bytes, Duration wait) {
            if (tryTake(bytes)) {
                return true;
            }
            if (!takeWaiting(bytes, wait, owner)) {
                return false;
            }
            return keep(bytes);
        }

        /**
         * As {@link MemoryBudget#takeAnyway}, counted on this lease and its owner, whatever the
         * owner's share (given back at once when closed).
         */
        public void takeAnyway(long bytes) {
            MemoryBudget.this.takeAnyway(bytes);
            if (bytes > 0 && owner != null) {
                owners.merge(owner, bytes, Long::sum);
            }
            keep(bytes);
        }

        /** Keeps what was taken from the budget and counted for the owner; gives both back when closed. */
        private synchronized boolean keep(long bytes) {
            if (closed) {
                MemoryBudget.this.give(bytes);
                ownerGive(owner, bytes);
                return false;
            }
            held += Math.max(0, bytes);
            return true;
        }

        /** Gives back part of what this lease holds. */
        public synchronized void give(long bytes) {
            long given = Math.min(Math.max(0, bytes), held);
            held -= given;
            ownerGive(owner, given);
            MemoryBudget.this.give(given);
        }

        /**
         * Waits for room in order: joins the holders waiting now, at the place this lease got the
         * first time it waited (a lease that waited before keeps its place). Holders that each
         * took part of what they need and wait for the rest would otherwise all wait until every
         * one gives up; in order, the first goes on and the others make way
         * ({@link #firstInQueue}).
         */
        public synchronized void waitInOrder() {
            if (closed) {
                return;
            }
            if (ticket == 0) {
                ticket = tickets.incrementAndGet();
            }
            queue.add(ticket);
        }

        /** Whether this lease waits in order and has waited longest of those waiting now. */
        public synchronized boolean firstInQueue() {
            Long first = queue.ceiling(Long.MIN_VALUE);
            return ticket != 0 && first != null && first == ticket;
        }

        /** No longer waiting (it has room, or it gives up); it keeps its place for a next wait. */
        public synchronized void doneWaiting() {
            if (ticket != 0) {
                queue.remove(ticket);
            }
        }

        /** Gives back everything this lease holds, and leaves the queue; later takes fail. */
        @Override
        public synchronized void close() {
            closed = true;
            doneWaiting();
            ownerGive(owner, held);
            MemoryBudget.this.give(held);
            held = 0;
        }
    }
}
