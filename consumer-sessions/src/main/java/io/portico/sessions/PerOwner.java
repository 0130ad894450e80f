package io.portico.sessions;

import java.util.concurrent.ConcurrentHashMap;

/**
 * How many of something (consumer instances, event streams, connections from one address) each
 * caller holds, and at most how many each may: so that one API key (or client address) cannot
 * take every place of a server-wide bound from the others. A null owner (authentication off: one
 * caller) is never counted. Thread-safe.
 */
public final class PerOwner {
    private final ConcurrentHashMap<String, Integer> held = new ConcurrentHashMap<>();
    private volatile int max = Integer.MAX_VALUE;

    /** At most {@code max} per owner from now on. */
    public void max(int max) {
        this.max = max;
    }

    public int max() {
        return max;
    }

    /** Takes one place for {@code owner}: false when it holds its most already. */
    public boolean take(String owner) {
        if (owner == null) {
            return true;
        }
        boolean[] taken = {false};
        held.compute(owner, (k, n) -> {
            int now = n == null ? 0 : n;
            if (now >= max) {
                return n;
            }
            taken[0] = true;
            return now + 1;
        });
        return taken[0];
    }

    /** Gives back one place {@code owner} took. */
    public void give(String owner) {
        if (owner != null) {
            held.computeIfPresent(owner, (k, n) -> n <= 1 ? null : n - 1);
        }
    }
}
