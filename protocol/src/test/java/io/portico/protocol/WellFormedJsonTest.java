package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * A body stored as it came is checked only for being JSON: as deep as IBM's producer (written in
 * Go) accepts and with numbers of any length, where JSON that is parsed further keeps Jackson's
 * bounds.
 */
class WellFormedJsonTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String nested(int depth) {
        return "[".repeat(depth) + "]".repeat(depth);
    }

    @Test
    void jsonStoredAsItCameMayNestAsDeeplyAsGoAllowsAndHoldNumbersOfAnyLength() {
        assertTrue(Json.isWellFormedAsIs(bytes(nested(1001))));
        assertTrue(Json.isWellFormedAsIs(bytes(nested(10_000))));
        assertTrue(Json.isWellFormedAsIs(bytes("1".repeat(5000))));
        assertTrue(Json.isWellFormedAsIs(bytes("{\"n\":" + "9".repeat(5000) + ".5e10}")));
        // JSON parsed further keeps the mapper's bounds.
        assertFalse(Json.isWellFormed(bytes(nested(1001))));
        assertFalse(Json.isWellFormed(bytes("1".repeat(5000))));
    }

    @Test
    void whatIsNotOneJsonValueIsRefused() {
        assertFalse(Json.isWellFormedAsIs(bytes(nested(10_001))));
        assertFalse(Json.isWellFormedAsIs(bytes("[" + nested(5)))); // unclosed
        assertFalse(Json.isWellFormedAsIs(bytes("{\"a\":1} {\"b\":2}"))); // two values
        assertFalse(Json.isWellFormedAsIs(bytes("test message")));
        assertFalse(Json.isWellFormedAsIs(bytes("")));
        assertFalse(Json.isWellFormedAsIs(bytes("{\"a\":01}")));
    }
}
