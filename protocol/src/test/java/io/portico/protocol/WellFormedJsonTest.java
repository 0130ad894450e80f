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

    @Test
    void jsonInAnotherEncodingOrAfterAByteOrderMarkIsNotJsonThatCanBeCopiedAsItIs() {
        byte[][] notUtf8 = {
            "1".getBytes(StandardCharsets.UTF_16LE), // 31 00
            "1".getBytes(StandardCharsets.UTF_16BE), // 00 31
            "{}".getBytes(StandardCharsets.UTF_16LE),
            "{\"a\":1}".getBytes(StandardCharsets.UTF_16), // with its byte order mark FE FF
            "[1]".getBytes(java.nio.charset.Charset.forName("UTF-32BE")),
            "[1]".getBytes(java.nio.charset.Charset.forName("UTF-32LE")),
            {(byte) 0xFF, (byte) 0xFE, '1', 0}, // UTF-16LE with its byte order mark
            {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{', '}'}, // a UTF-8 byte order mark
            {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '1'},
        };
        for (byte[] data : notUtf8) {
            String shown = java.util.HexFormat.of().formatHex(data);
            assertFalse(Json.isWellFormed(data), shown);
            assertFalse(Json.isWellFormedAsIs(data), shown);
        }
        // What is not refused: UTF-8 JSON of one, two and three bytes, and non-ASCII text.
        assertTrue(Json.isWellFormed(bytes("1")));
        assertTrue(Json.isWellFormed(bytes("12")));
        assertTrue(Json.isWellFormed(bytes(" 1 ")));
        assertTrue(Json.isWellFormed(bytes("\"\u00e9\u20ac\ud83d\ude00\"")));
        assertTrue(Json.isWellFormedAsIs(bytes("[\"\ufeff\"]"))); // a BOM's character inside a string is text
    }
    @Test
    void anEmptyOrNullBodySaysNothing() {
        for (String nothing : new String[] {"", " ", "\r\n\t", "null", " null\n", "\tnull "}) {
            org.junit.jupiter.api.Assertions.assertTrue(Json.isEmptyOrNull(nothing.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    "'" + nothing + "'");
        }
        for (String something : new String[] {"{}", "nul", "nulls", "\"null\"", "null null", "[null]", "x"}) {
            org.junit.jupiter.api.Assertions.assertFalse(Json.isEmptyOrNull(something.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    something);
        }
    }
}
