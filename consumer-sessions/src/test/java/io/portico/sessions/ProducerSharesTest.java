package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** One caller's records waiting for Kafka are counted as the producer's buffer holds them: a batch per partition. */
class ProducerSharesTest {
    private static final long BATCH = 1000;

    @Test
    void eachPartitionWithRecordsWaitingCountsOneBatchBesidesTheBytes() {
        ProducerShares shares = new ProducerShares(10_000, BATCH);
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
        ProducerShares shares = new ProducerShares(10_000, BATCH);
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
    void whatKafkaIsDoneWithIsGivenBackAndAnEmptyAccountIsLetGo() {
        ProducerShares shares = new ProducerShares(10_000, BATCH);
        ProducerShares.Account a = shares.account("a");
        ProducerShares.Account counted = a.take("t", 0, 10);
        a.take("t", 1, 10).release("t", 1, 10);
        assertEquals(BATCH + 10, shares.heldBy("a"));
        counted.release("t", 0, 10);
        assertEquals(0, shares.heldBy("a"));
        // The account let go of still serves whoever holds it: it counts in the owner's live one.
        ProducerShares.Account live = a.take("t", 0, 10);
        assertNotNull(live);
        assertEquals(BATCH + 10, shares.heldBy("a"));
        assertSame(shares.account("a"), live);
        live.release("t", 0, 10);
        assertEquals(0, shares.heldBy("a"));
    }

    @Test
    void aCallerWithNothingWaitingMaySendOneRecordLargerThanItsShare() {
        ProducerShares shares = new ProducerShares(10_000, BATCH);
        ProducerShares.Account a = shares.account("a");
        assertNotNull(a.take("t", 0, 50_000));
        assertNull(a.take("t", 0, 1), "nothing more while it waits");
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
}
