package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.RestException;
import org.junit.jupiter.api.Test;

/**
 * No call is sent with a few milliseconds to live: Kafka's admin client closes its connection to
 * a broker when a call times out in flight there, and every caller then pays a new connection.
 */
class CallDeadlineTest {
    @Test
    void aCallIsSentWithAtLeastTheLeastTimeOrNotAtAll() {
        // metadata.timeout.ms=1: the first call still goes out, with twice the least time.
        long before = System.nanoTime();
        CallDeadline tiny = CallDeadline.in(1);
        assertTrue(tiny.atNanos() - before >= java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(2 * CallDeadline.MIN_CALL_MS));
        long after = System.nanoTime();
        CallDeadline plenty = CallDeadline.in(60_000);
        assertTrue(plenty.atNanos() - after >= java.util.concurrent.TimeUnit.SECONDS.toNanos(60));

        // One whose calls before took its time: passed, or with less than the least left.
        CallDeadline spent = CallDeadline.atNanos(System.nanoTime() - 1);
        assertEquals(CallDeadline.MIN_CALL_MS, spent.remaining(), "a call after the main one: the least time");
        assertEquals(503, assertThrows(RestException.class, spent::left).httpStatus());
        CallDeadline almost = CallDeadline.atNanos(System.nanoTime()
                + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(CallDeadline.MIN_CALL_MS / 2));
        assertEquals(503, assertThrows(RestException.class, almost::left).httpStatus(), "not sent to expire in flight");
    }
}
