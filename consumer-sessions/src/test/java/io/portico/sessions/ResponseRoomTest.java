package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A response's first record grown after its room was taken (decoded into longer JSON) must have room for that too. */
class ResponseRoomTest {
    @Test
    void aFirstRecordGrownBeyondWhatIsFreeWaitsThenIs503() {
        MemoryBudget budget = new MemoryBudget("memory.responses.max.bytes", 1000);
        MemoryBudget.Lease other = budget.lease();
        assertTrue(other.tryTake(600), "another response holds most of the budget");
        MemoryBudget.Lease mine = budget.lease();
        ResponseRoom room = new ResponseRoom(mine, Duration.ZERO);
        assertTrue(room.take(10, true));
        long held = mine.held();

        RestException e = assertThrows(RestException.class, () -> room.growFirst(10, 100));
        assertEquals(ErrorCode.SERVICE_UNAVAILABLE, e.errorCode());
        assertEquals(held, mine.held(), "nothing more taken");

        other.close();
        room.growFirst(10, 100);
        assertEquals(held + ResponseRoom.cost(100) - ResponseRoom.cost(10), mine.held(), "counted once there is room");
    }

    @Test
    void aFirstRecordThatGrowsBeyondTheWholeBudgetGoesOutAloneThoughItsGrowthAloneWouldFit() {
        MemoryBudget budget = new MemoryBudget("memory.responses.max.bytes", 1000);
        MemoryBudget.Lease mine = budget.lease();
        ResponseRoom room = new ResponseRoom(mine, Duration.ZERO);
        assertTrue(room.take(200, true)); // 728 of 1,000

        room.growFirst(200, 300); // 1,028 in all: never in the budget, however long it waits
        assertTrue(mine.held() >= ResponseRoom.cost(300), "held " + mine.held());
    }

    @Test
    void aFirstRecordLargerThanTheWholeBudgetGoesOutAloneCounted() {
        MemoryBudget budget = new MemoryBudget("memory.responses.max.bytes", 1000);
        MemoryBudget.Lease mine = budget.lease();
        ResponseRoom room = new ResponseRoom(mine, Duration.ZERO);
        assertTrue(room.take(10, true));

        room.growFirst(10, 16L << 20); // an avro record whose JSON is 16 MiB
        assertTrue(mine.held() >= ResponseRoom.cost(16L << 20) - ResponseRoom.cost(10), "held " + mine.held());
        assertTrue(budget.over(), "the budget is over: other responses wait for it");
    }

    @Test
    void aFirstRecordLargerThanItsKeysShareGoesAloneWithinTheBudgetAndWaitsForItsRoom() {
        MemoryBudget budget = new MemoryBudget("memory.responses.max.bytes", 10_000);
        budget.ownerShare(5_000);
        MemoryBudget.Lease other = budget.lease("b");
        assertTrue(other.tryTake(5_000));
        MemoryBudget.Lease mine = budget.lease("a");
        ResponseRoom room = new ResponseRoom(mine, Duration.ZERO);

        // 6,128 of cost: more than the key's share, less than the budget, which has 5,000 free.
        RestException e = assertThrows(RestException.class, () -> room.take(2_000, true));
        assertEquals(ErrorCode.SERVICE_UNAVAILABLE, e.errorCode(), "it waits for the budget, it does not go anyway");
        assertEquals(5_000, budget.used());

        other.close();
        assertTrue(room.take(2_000, true), "alone, with the key holding nothing else");
        assertTrue(budget.used() <= budget.capacity(), "within the budget: " + budget.used());
        assertEquals(ErrorCode.TOO_MANY_REQUESTS, assertThrows(RestException.class,
                () -> new ResponseRoom(budget.lease("a"), Duration.ZERO).take(10, true)).errorCode(),
                "the key's other answer waits for its share");
    }
}
