package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** One caller's records waiting for Kafka are counted as the producer's buffer holds them: a batch per partition. */
class ProducerSharesTest {
    private static final long BATCH = 1000;

    @Test
    void eachPartitionWithRecordsWaitingCountsOneBatchBesidesTheBytes() {
        ProducerShares shares = new ProducerShares(20_000, BATCH);
        ProducerShares.Account a = shares.account("a");
        assertNotNull(a.take("t", 0, 10));
        assertNotNull(a.take("t", 0, 10));
        assertEquals(BATCH + 20, shares.heldBy("a"), "two records in one partition: one batch");
        assertNotNull(a.take("t", 1, 10));
        assertNotNull(a.take("u", 0, 10));
        assertEquals(3 * BATCH + 40, shares.heldBy("a"), "a batch for each other partition, of each topic");
    }

    @Test
    void recordsSprayedOverPartitionsArePastTheShareLongBeforeTheirBytesAre() {
        ProducerShares shares = new ProducerShares(20_000, BATCH);
        ProducerShares.Account a = shares.account("a");
        int taken = 0;
        while (taken < 100 && a.take("t", taken, 1) != null) {
            taken++;
        }
        assertEquals(9, taken, "nine batches fit in the share, the tenth does not");
        assertNotNull(a.full(), "the whole next request is refused");
        assertEquals(429, a.full().httpStatus());
        assertNotNull(a.take("t", 3, 1), "a record for a partition it has a batch in still fits");

        ProducerShares.Account b = shares.account("b");
        assertNull(b.full(), "another caller has its own share");
        assertNotNull(b.take("t", 50, 1));
    }

    @Test
    void whatKafkaIsDoneWithIsGivenBackAndAnEmptyAccountCountsAgain() {
        ProducerShares shares = new ProducerShares(20_000, BATCH);
        ProducerShares.Account a = shares.account("a");
        ProducerShares.Account counted = a.take("t", 0, 10);
        a.take("t", 1, 10).release("t", 1, 10);
        assertEquals(BATCH + 10, shares.heldBy("a"));
        counted.release("t", 0, 10);
        assertEquals(0, shares.heldBy("a"));
        // The empty account is the owner's still: it counts the next record.
        ProducerShares.Account live = a.take("t", 0, 10);
        assertNotNull(live);
        assertEquals(BATCH + 10, shares.heldBy("a"));
        assertSame(shares.account("a"), live);
        live.release("t", 0, 10);
        assertEquals(0, shares.heldBy("a"));
    }

    @Test
    void aCallerWithNothingWaitingMaySendOneRecordLargerThanItsShare() {
        ProducerShares shares = new ProducerShares(20_000, BATCH);
        ProducerShares.Account a = shares.account("a");
        assertNotNull(a.take("t", 0, 50_000));
        assertNull(a.take("t", 0, 1), "nothing more while it waits");
    }

    /** Takes a record of one byte for each new partition of {@code topic} until refused: how many were taken. */
    private static int spray(ProducerShares.Account account, String topic) {
        int taken = 0;
        while (taken < 1000 && account.take(topic, taken, 1) != null) {
            taken++;
        }
        return taken;
    }

    @Test
    void keysEachWithinTheirHalfStopAtAnEqualPartOnceTheyCrowdTheBuffer() {
        // A buffer of 20,000: a half is 10,000, crowded past 15,000, nothing more past 17,500.
        ProducerShares shares = new ProducerShares(20_000, BATCH);
        ProducerShares.Account a = shares.account("a");
        for (int p = 0; p < 7; p++) {
            assertNotNull(a.take("t", p, 1));
        }
        ProducerShares.Account b = shares.account("b");
        assertEquals(7, spray(b, "u"), "b takes 7 batches before the buffer is crowded (14,014), the 8th would "
                + "take it past 15,000 with b past its part (7,500)");
        assertEquals(14_014, shares.total());
        assertNull(a.take("t", 7, 1), "a holds 7,007, within its half, but the next batch would crowd the buffer "
                + "with a past its part: refused");
        assertNotNull(a.full(), "and its next request is refused whole");
        assertNotNull(a.take("t", 0, 1), "a record for a partition it has a batch in leaves the buffer uncrowded");
        ProducerShares.Account released = shares.account("b");
        for (int p = 0; p < 7; p++) {
            released.release("u", p, 1);
        }
        assertEquals(0, shares.heldBy("b"));
        assertNotNull(a.take("t", 7, 1), "once b's records are acknowledged, a has room again");
    }

    @Test
    void theLastEighthIsLeftForCallersWithNothingWaiting() {
        ProducerShares shares = new ProducerShares(20_000, BATCH);
        assertEquals(9, spray(shares.account("a"), "t"));
        assertEquals(7, spray(shares.account("b"), "u"), "b stops at its part of 7,500 once crowded (a's 9,009 "
                + "besides)");
        assertEquals(16_016, shares.total());
        assertEquals(1, spray(shares.account("c"), "v"), "c, far under its part of 5,000, has its first record "
                + "taken, then none past the ceiling of 17,500");
        assertEquals(17_017, shares.total());
        assertNull(shares.account("c").take("v", 0, 1_000), "past the ceiling even within its part");
        assertNotNull(shares.account("d").take("w", 0, 1), "a caller with nothing waiting still sends a record");
        assertNull(shares.account("d").take("w", 1, 1), "but no more while the buffer is at its ceiling");
    }

    @Test
    void recordsThatTakeNothingStillMakeOneCallerWithRecordsWaiting() {
        // batch.size=0 (no batching) and empty records: each holds nothing, yet waits.
        ProducerShares shares = new ProducerShares(20_000, 0);
        ProducerShares.Account z = shares.account("z");
        for (int i = 0; i < 3; i++) {
            assertNotNull(z.take("t", 0, 0));
        }
        assertEquals(1, shares.active(), "one caller, however many of its records wait");
        for (int i = 0; i < 3; i++) {
            z.release("t", 0, 0);
        }
        assertEquals(0, shares.active());
        assertEquals(0, shares.total());
    }

    @Test
    void noOwnerIsNeverCounted() {
        ProducerShares shares = new ProducerShares(10, BATCH);
        ProducerShares.Account none = shares.account(null);
        for (int i = 0; i < 100; i++) {
            assertNotNull(none.take("t", i, 1_000));
        }
        assertNull(none.full());
    }

    @Test
    void anEmptyAccountStaysForItsOwnerUntilManyOwnersAreHeldThenTheEmptyOnesGo() {
        ProducerShares shares = new ProducerShares(20_000, BATCH);
        ProducerShares.Account a = shares.account("a");
        assertSame(a, a.take("t", 0, 10));
        a.release("t", 0, 10);
        assertEquals(0, shares.heldBy("a"));
        assertSame(a, shares.account("a"), "kept for the owner's next records");
        assertSame(a, a.take("t", 0, 10), "counted on it again");

        ProducerShares.Account busy = shares.account("busy");
        busy.take("t", 0, 10);
        assertEquals(BATCH + 10, shares.heldBy("a"));
        for (int i = 0; i < ProducerShares.SWEEP_AT - 2; i++) {
            shares.account("owner-" + i).take("t", 0, 1);
            shares.account("owner-" + i).release("t", 0, 1);
        }
        assertEquals(ProducerShares.SWEEP_AT, shares.accountsHeld(), "the empty ones kept until then");
        a.release("t", 0, 10);
        shares.account("newcomer");
        assertEquals(2, shares.accountsHeld(), "the empty ones let go of: busy's is held, and the newcomer's");
        assertEquals(BATCH + 10, shares.heldBy("busy"), "what waits is still counted");
        // a request still holding a let-go account counts on the owner's live one
        ProducerShares.Account live = a.take("t", 0, 10);
        assertNotSame(a, live);
        assertSame(live, shares.account("a"));
        assertEquals(BATCH + 10, shares.heldBy("a"));
        assertEquals(2, shares.active(), "busy and a have records waiting");
        assertEquals(2 * (BATCH + 10), shares.total());
    }
}
