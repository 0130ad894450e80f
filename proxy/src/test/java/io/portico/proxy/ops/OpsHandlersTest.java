package io.portico.proxy.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class OpsHandlersTest {

    @Test
    void metricsAnswersBeingSentAreBoundInBytesThoughOneAlwaysGoes() {
        AtomicLong sending = new AtomicLong();
        assertTrue(OpsHandlers.admit(sending, 600, 1000));
        assertTrue(OpsHandlers.admit(sending, 400, 1000), "up to the bound");
        assertFalse(OpsHandlers.admit(sending, 1, 1000), "past it");
        assertEquals(1000, sending.get(), "a refused answer is not counted");
        sending.addAndGet(-1000); // both sent
        assertTrue(OpsHandlers.admit(sending, 5000, 1000), "one answer larger than the bound goes when none is out");
        assertFalse(OpsHandlers.admit(sending, 5000, 1000));
    }
}
