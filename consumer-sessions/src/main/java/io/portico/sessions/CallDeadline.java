package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import java.util.concurrent.TimeUnit;

/**
 * The time of one request that makes several calls of the cluster one after the other (a listing
 * described a chunk at a time, a look-up before a change): all of them together within one
 * {@code metadata.timeout.ms}, not each within its own.
 */
final class CallDeadline {
    private final long at; // System.nanoTime()

    private CallDeadline(long at) {
        this.at = at;
    }

    /** The deadline {@code timeoutMs} from now (at least twice {@link #MIN_CALL_MS}: a first call is sent). */
    static CallDeadline in(int timeoutMs) {
        return new CallDeadline(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(timeoutMs, 2 * MIN_CALL_MS)));
    }

    /** When it is ({@link System#nanoTime}'s clock; tests). */
    long atNanos() {
        return at;
    }

    /** The deadline at {@code nanoTime} ({@link System#nanoTime}'s clock; tests). */
    static CallDeadline atNanos(long nanoTime) {
        return new CallDeadline(nanoTime);
    }

    /**
     * The least time a call is sent with: Kafka's admin client closes its connection to a broker
     * when a call times out while in flight there (so that a late answer is matched to no other
     * call), and every caller's next call to that broker pays a new connection; a call of a few
     * milliseconds would all but surely do that.
     */
    static final int MIN_CALL_MS = 100;

    /**
     * The milliseconds left for the request's next call; 503 when less than {@link #MIN_CALL_MS}
     * is left (the calls before took the request's time).
     */
    int left() {
        if (at - System.nanoTime() < TimeUnit.MILLISECONDS.toNanos(MIN_CALL_MS)) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("Kafka did not answer in time (metadata.timeout.ms, for all "
                    + "the calls of this request); retry later");
        }
        return remaining();
    }

    /**
     * The milliseconds left, at least {@link #MIN_CALL_MS}: for a call after the request's main
     * one succeeded, which must not fail it (a created topic's look-ups).
     */
    int remaining() {
        long ms = TimeUnit.NANOSECONDS.toMillis(at - System.nanoTime());
        return (int) Math.max(MIN_CALL_MS, Math.min(Integer.MAX_VALUE, ms));
    }
}
