package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MemoryBudgetTest {

    @Test
    void takesWhatFitsAndRefusesTheRest() {
        MemoryBudget budget = new MemoryBudget("b", 100);
        assertTrue(budget.tryTake(60));
        assertFalse(budget.tryTake(41));
        assertTrue(budget.tryTake(40));
        assertEquals(100, budget.used());
        budget.give(30);
        assertTrue(budget.tryTake(30));
        assertFalse(budget.fits(101));
        assertFalse(budget.take(101, Duration.ofSeconds(10)), "what can never fit is refused at once");
    }

    @Test
    void memoryThatExistsIsCountedPastTheCapacity() {
        MemoryBudget budget = new MemoryBudget("b", 100);
        budget.takeAnyway(150);
        assertTrue(budget.over());
        assertFalse(budget.tryTake(1));
        budget.give(100);
        assertFalse(budget.over());
        assertTrue(budget.tryTake(50));
    }

    @Test
    void aWaitingTakeGoesAheadOnceRoomIsGivenBack() throws Exception {
        MemoryBudget budget = new MemoryBudget("b", 100);
        assertTrue(budget.tryTake(100));
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
            started.countDown();
            return budget.take(50, Duration.ofMinutes(1));
        });
        started.await();
        budget.give(60);
        assertTrue(waiter.get(1, TimeUnit.MINUTES));
        assertEquals(90, budget.used());
    }

    @Test
    void aTakeWithoutWaitFailsAtOnceWhenFull() {
        MemoryBudget budget = new MemoryBudget("b", 10);
        budget.takeAnyway(10);
        assertFalse(budget.take(1, Duration.ZERO));
    }

    @Test
    void aLeaseGivesBackEverythingItTookWhenClosed() {
        MemoryBudget budget = new MemoryBudget("b", 100);
        MemoryBudget.Lease lease = budget.lease();
        assertTrue(lease.tryTake(30));
        lease.takeAnyway(20);
        assertTrue(lease.take(10, Duration.ZERO));
        lease.give(5);
        assertEquals(55, lease.held());
        assertEquals(55, budget.used());
        lease.close();
        lease.close();
        assertEquals(0, budget.used());
        assertFalse(lease.tryTake(1), "a closed lease takes nothing");
        lease.takeAnyway(7);
        assertEquals(0, budget.used(), "memory counted on a closed lease is given back at once");
    }

    @Test
    void anOwnersLeasesHoldAtMostItsShareAndOthersKeepTheirRoom() {
        MemoryBudget budget = new MemoryBudget("memory.consumers.max.bytes", 100);
        budget.ownerShare(50);
        MemoryBudget.Lease a1 = budget.lease("a");
        MemoryBudget.Lease a2 = budget.lease("a");
        assertTrue(a1.tryTake(30));
        assertTrue(a2.take(20, Duration.ofSeconds(10)));
        assertEquals(50, budget.heldBy("a"));
        assertFalse(a2.tryTake(1), "the owner's share is full though the budget is not");
        assertFalse(a1.take(1, Duration.ofMillis(1)), "nothing of the owner's was given back");
        assertTrue(a1.ownerFull(1));
        assertEquals(429, budget.ownerShareFull().httpStatus());

        MemoryBudget.Lease b = budget.lease("b");
        assertTrue(b.tryTake(50), "another owner has its half");
        MemoryBudget.Lease none = budget.lease();
        assertFalse(none.tryTake(1), "the budget is full");
        assertEquals(100, budget.used());

        a1.give(10);
        assertEquals(40, budget.heldBy("a"));
        assertTrue(a2.tryTakeSmall(10));
        a1.close();
        assertEquals(30, budget.heldBy("a"));
        a2.close();
        b.close();
        assertEquals(0, budget.heldBy("a"));
        assertEquals(0, budget.heldBy("b"));
        assertEquals(0, budget.used());
    }

    @Test
    void aTakeWaitsForItsOwnersRoomAsForTheBudgets() throws Exception {
        MemoryBudget budget = new MemoryBudget("b", 100);
        budget.ownerShare(50);
        MemoryBudget.Lease sending = budget.lease("a");
        assertTrue(sending.tryTake(50));
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
            started.countDown();
            return budget.lease("a").take(20, Duration.ofMinutes(1));
        });
        assertTrue(started.await(10, TimeUnit.SECONDS));
        sending.close(); // the owner's answer was sent
        assertTrue(waiter.get(1, TimeUnit.MINUTES));
        assertEquals(20, budget.heldBy("a"));
    }

    @Test
    void anOwnersReclaimerIsAskedForItsShareBeforeItWaits() {
        MemoryBudget budget = new MemoryBudget("b", 100);
        budget.ownerShare(50);
        MemoryBudget.Lease cached = budget.lease("a");
        cached.takeAnyway(45);
        List<String> asked = new ArrayList<>();
        budget.addReclaimer(new MemoryBudget.Reclaimer() {
            @Override
            public void reclaim(long needed) {
                asked.add("budget " + needed);
            }

            @Override
            public void reclaimOwn(String owner, long needed) {
                asked.add(owner + " " + needed);
                cached.give(cached.held());
            }
        });
        assertTrue(budget.lease("a").take(20, Duration.ZERO));
        assertEquals(List.of("a 20"), asked, "the budget had room: only the owner's share was short");
        assertEquals(20, budget.heldBy("a"));
    }

    @Test
    void memoryThatExistsCountsForItsOwnerPastItsShareAndOneThingLargerThanAShareGoesAlone() {
        MemoryBudget budget = new MemoryBudget("b", 100);
        budget.ownerShare(50);
        MemoryBudget.Lease a = budget.lease("a");
        a.takeAnyway(70);
        assertEquals(70, budget.heldBy("a"));
        assertFalse(a.tryTake(1));
        assertFalse(a.over(), "alone past the share: letting go would never bring it under");
        MemoryBudget.Lease another = budget.lease("a");
        another.takeAnyway(1);
        assertTrue(a.over(), "the owner is past its share with other holders: they let go of what they can");
        assertTrue(another.over());
        assertFalse(budget.lease("b").over());
        another.close();
        a.close();
        assertEquals(0, budget.heldBy("a"));
        a.takeAnyway(5);
        assertEquals(0, budget.heldBy("a"), "counted on a closed lease: given back at once");
        assertEquals(0, budget.used());

        MemoryBudget.Lease large = budget.lease("a");
        assertTrue(large.tryTake(60), "larger than the share, with nothing else held: alone");
        assertFalse(budget.lease("a").tryTake(1));
        assertTrue(budget.lease("b").tryTake(40));
    }
}
