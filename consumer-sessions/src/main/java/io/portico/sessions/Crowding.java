package io.portico.sessions;

/**
 * How the memories every API key shares (the shared producer's buffer, the kept results of
 * Idempotency-Key requests, the places of a pool's threads and queue) are shared out beyond each key's own cap: once what all keys hold
 * passes three quarters of the whole (crowded), a key holding an equal part of those three
 * quarters (among the keys holding any) takes no more, and past seven eighths no key holding
 * anything does: the last eighth is left for keys that hold nothing, whose first take is always
 * allowed by the callers.
 */
public final class Crowding {
    private Crowding() {
    }

    /**
     * Whether a key holding {@code mine} may take {@code need} more of {@code capacity} while all
     * keys hold {@code all} (its own included) and {@code holders} keys hold any.
     */
    public static boolean allows(long mine, long need, long all, long capacity, int holders) {
        // Rounded up, not down: of a pool of 4 places, 3 and 4 (not 3 and 0).
        long crowded = capacity - capacity / 4;
        return all + need <= capacity - capacity / 8
                && (all + need <= crowded || mine + need <= crowded / Math.max(1, holders));
    }
}
