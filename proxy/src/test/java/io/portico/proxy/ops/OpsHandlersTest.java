package io.portico.proxy.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.sessions.MemoryBudget;
import org.junit.jupiter.api.Test;

class OpsHandlersTest {

    @Test
    void metricsAnswersBeingSentAreBoundInBytesThoughOneAlwaysGoes() {
        MemoryBudget sending = new MemoryBudget("metrics answers", 1000);
        assertTrue(OpsHandlers.admit(sending, 600));
        assertTrue(OpsHandlers.admit(sending, 400), "up to the bound");
        assertFalse(OpsHandlers.admit(sending, 1), "past it");
        assertEquals(1000, sending.used(), "a refused answer is not counted");
        sending.give(1000); // both sent
        assertTrue(OpsHandlers.admit(sending, 5000), "one answer larger than the bound goes when none is out");
        assertFalse(OpsHandlers.admit(sending, 5000));
    }
}
