package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.sessions.MemoryBudget;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ResetAnswersTest {
    private static final long HELD = ResetAnswers.HELD_BYTES;

    /** A budget of 256 KiB (a quarter of a 1 MiB responses budget): eight reset streams' answers. */
    private final MemoryBudget budget = new MemoryBudget("memory.responses.max.bytes", 256 * 1024);
    private final ResetAnswers answers = new ResetAnswers(budget);

    @Test
    void chargesAreTakenFromTheBudgetAndGivenBackOnceWhenTheConnectionCloses() {
        ResetAnswers.Holder a = answers.holder("a", () -> { });
        assertTrue(a.charge());
        assertTrue(a.charge());
        assertEquals(2 * HELD, budget.used());
        assertEquals(2 * HELD, answers.total());
        a.release();
        a.release();
        assertEquals(0, budget.used());
        assertEquals(0, answers.total());
        assertFalse(a.charge(), "a connection that closed is charged nothing more");
        assertEquals(0, budget.used());
    }

    @Test
    void whenTheQuarterIsFullTheConnectionHoldingTheMostIsClosedToMakeRoom() {
        AtomicInteger closed = new AtomicInteger();
        ResetAnswers.Holder bad = answers.holder("a", closed::incrementAndGet);
        for (int i = 0; i < 8; i++) {
            assertTrue(bad.charge(), "charge " + i + " fits the quarter");
        }
        ResetAnswers.Holder good = answers.holder("a", () -> { throw new AssertionError("not the one to close"); });
        assertTrue(good.charge(), "room made for another connection's reset");
        assertEquals(1, closed.get(), "the connection holding eight closed");
        assertEquals(HELD, answers.total(), "its charge gone, the new one taken");
        assertEquals(HELD, budget.used());
        bad.release(); // its close listener, later: nothing more given back
        assertEquals(HELD, budget.used());
    }

    @Test
    void aConnectionHoldingNoMoreThanTheResettingOneWouldIsNotClosedForIt() {
        AtomicInteger closed = new AtomicInteger();
        for (int i = 0; i < 8; i++) {
            assertTrue(answers.holder("a", closed::incrementAndGet).charge());
        }
        ResetAnswers.Holder late = answers.holder("a", () -> { });
        assertFalse(late.charge(), "eight connections of one each: the resetting one closes instead");
        assertEquals(0, closed.get());
        assertEquals(8 * HELD, answers.total());
    }

    @Test
    void anAddressSpreadingItsResetsOverManyConnectionsLosesItsOwnForAnotherAddressesReset() {
        AtomicInteger closedA = new AtomicInteger();
        for (int i = 0; i < 8; i++) { // one each on eight connections: none holds more than another would
            assertTrue(answers.holder("a", closedA::incrementAndGet).charge());
        }
        AtomicInteger closedB = new AtomicInteger();
        ResetAnswers.Holder b = answers.holder("b", closedB::incrementAndGet);
        assertTrue(b.charge(), "room made from the address holding the most");
        assertEquals(1, closedA.get(), "one of a's connections closed");
        assertTrue(b.charge(), "and again");
        assertTrue(answers.holder("b", () -> { }).charge());
        assertTrue(answers.holder("b", () -> { }).charge());
        assertEquals(4, closedA.get(), "a: 4, b: 4");
        assertEquals(0, closedB.get());
        assertTrue(answers.holder("b", () -> { }).charge(), "b's own connection of two makes room");
        assertEquals(1, closedB.get());
        assertEquals(4, closedA.get(), "a holds no more than b would");
        assertEquals(7 * HELD, answers.total());
        assertTrue(answers.holder("b", () -> { }).charge(), "room left");
        assertFalse(answers.holder("b", () -> { }).charge(),
                "b holds as much as a, none of its connections more than one: the resetting one closes");
        assertEquals(1, closedB.get());
        assertEquals(4, closedA.get());
        assertEquals(8 * HELD, answers.total());
    }

    @Test
    void withoutABudgetChargesAreCountedWithinNoBound() {
        ResetAnswers unbounded = new ResetAnswers(null);
        ResetAnswers.Holder a = unbounded.holder("a", () -> { });
        for (int i = 0; i < 100; i++) {
            assertTrue(a.charge());
        }
        assertEquals(100 * HELD, unbounded.total());
        a.release();
        assertEquals(0, unbounded.total());
    }
}
