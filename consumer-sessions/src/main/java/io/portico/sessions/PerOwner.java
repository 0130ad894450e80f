package io.portico.sessions;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How many of something (consumer instances, event streams, connections from one address, pooled
 * readers, a pool's places) each caller holds, and at most how many each may: so that one API key
 * (or client address) cannot take every place of a server-wide bound from the others. With
 * {@link #shareOut} the places are also shared out as {@link Crowding} shares memories: once the
 * callers hold three quarters of them, a caller holding more than an equal part of those takes
 * no more, and past seven eighths no caller holding any does (a caller holding none may always
 * take one), so that two or three busy callers never hold them all between them. A null owner
 * (authentication off: one caller) is never counted. Thread-safe.
 */
public final class PerOwner {
    private final ConcurrentHashMap<String, Integer> held = new ConcurrentHashMap<>();
    private volatile int max = Integer.MAX_VALUE;
    /** Places all callers hold together. */
    private final AtomicLong total = new AtomicLong();
    /** The places shared out ({@link #shareOut}); 0: not shared out. */
    private volatile long places;

    /** At most {@code max} per owner from now on. */
    public void max(int max) {
        this.max = max;
    }

    public int max() {
        return max;
    }

    /** Shares {@code places} places out among the callers as {@link Crowding} does, besides each one's {@link #max}. */
    public void shareOut(long places) {
        this.places = Math.max(1, places);
    }

    /** Takes one place for {@code owner}: false when it holds its most (or, shared out, its part) already. */
    public boolean take(String owner) {
        if (owner == null) {
            return true;
        }
        boolean[] taken = {false};
        held.compute(owner, (k, n) -> {
            int now = n == null ? 0 : n;
            long shared = places;
            if (now >= max || shared > 0 && now > 0 && !Crowding.allows(now, 1, total.get(), shared, held.size())) {
                return n;
            }
            taken[0] = true;
            total.incrementAndGet();
            return now + 1;
        });
        return taken[0];
    }

    /** Gives back one place {@code owner} took. */
    public void give(String owner) {
        if (owner != null) {
            held.computeIfPresent(owner, (k, n) -> {
                total.decrementAndGet();
                return n <= 1 ? null : n - 1;
            });
        }
    }

    /** Places all callers hold now. */
    public long total() {
        return total.get();
    }

    /** Places {@code owner} holds now. */
    public int heldBy(String owner) {
        return owner == null ? 0 : held.getOrDefault(owner, 0);
    }
}
