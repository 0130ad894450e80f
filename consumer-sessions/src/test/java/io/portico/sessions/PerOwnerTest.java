package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Places per caller: each at most its max, and, shared out, fewer while other callers crowd
 * them (past three quarters an equal part each, past seven eighths none for callers holding
 * some); a null caller is never counted.
 */
class PerOwnerTest {
    @Test
    void eachCallerHasAtMostItsMax() {
        PerOwner places = new PerOwner();
        places.max(2);
        assertTrue(places.take("a"));
        assertTrue(places.take("a"));
        assertFalse(places.take("a"));
        assertTrue(places.take("b"));
        places.give("a");
        assertTrue(places.take("a"));
        for (int i = 0; i < 10; i++) {
            assertTrue(places.take(null), "authentication off: one caller, not counted");
        }
        assertEquals(0, places.heldBy(null));
    }

    @Test
    void sharedOutTwoBusyCallersLeaveTheLastEighthToOthers() {
        PerOwner readers = new PerOwner();
        readers.max(12); // half of 25 pooled readers
        readers.shareOut(25); // crowded past 19 (25 - 6), none more for holders at 22 (25 - 3)
        for (int i = 0; i < 12; i++) {
            assertTrue(readers.take("a"));
        }
        int b = 0;
        while (readers.take("b")) {
            b++;
        }
        assertEquals(9, b, "past the crowded 19, b takes up to its part of them, 9 (19 / 2)");
        assertTrue(readers.take("c"), "a caller with none takes one");
        assertFalse(readers.take("c"));
        readers.give("a");
        readers.give("a");
        assertFalse(readers.take("a"), "a, over its part (19 / 3), takes no more while crowded");
        assertTrue(readers.take("c"), "c, under its part, takes one more once there is room");
        assertEquals(10, readers.heldBy("a"));
        assertEquals(2, readers.heldBy("c"));
    }

    @Test
    void withoutSharingOutOnlyTheMaxCounts() {
        PerOwner places = new PerOwner();
        places.max(12);
        for (int i = 0; i < 12; i++) {
            assertTrue(places.take("a"));
            assertTrue(places.take("b"));
        }
        assertTrue(places.take("c"));
    }
}
