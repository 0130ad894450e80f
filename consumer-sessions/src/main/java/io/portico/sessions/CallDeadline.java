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

    /** The deadline {@code timeoutMs} from now. */
    static CallDeadline in(int timeoutMs) {
        return new CallDeadline(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs));
    }

    /**
     * The milliseconds left for the request's next call; 503 when none is left (the calls before
     * took the request's time).
     */
    int left() {
        if (at - System.nanoTime() <= 0) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("Kafka did not answer in time (metadata.timeout.ms, for all "
                    + "the calls of this request); retry later");
        }
        return remaining();
    }

    /**
     * The milliseconds left, at least 1: for a call after the request's main one succeeded, which
     * must not fail it (a created topic's look-ups).
     */
    int remaining() {
        long ms = TimeUnit.NANOSECONDS.toMillis(at - System.nanoTime());
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, ms));
    }
}
