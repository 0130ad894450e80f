package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

/** Idempotency-Key values, their scope, and the fingerprint of a request. */
class IdempotencyKeyTest {

    @Test
    void oneTo255VisibleAsciiCharactersAreAKey() {
        assertEquals("a", IdempotencyKey.check("a"));
        String all = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
        assertEquals(all, IdempotencyKey.check(all));
        assertEquals("x".repeat(255), IdempotencyKey.check("x".repeat(255)));
    }

    @Test
    void anythingElseIs400WithoutEchoingTheValue() {
        for (String bad : new String[] {null, "", "x".repeat(256), "a b", "tab\t", "new\nline", "caf\u00e9", "\u0000",
                "\u007f"}) {
            RestException e = assertThrows(RestException.class, () -> IdempotencyKey.check(bad), String.valueOf(bad));
            assertEquals(400, e.httpStatus());
            assertTrue(e.getMessage().contains("visible ASCII"), e.getMessage());
            if (bad != null && !bad.isEmpty()) {
                assertFalse(e.getMessage().contains(bad), "the value is not echoed: " + e.getMessage());
            }
        }
    }

    @Test
    void aKeyBelongsToItsScope() {
        assertEquals(IdempotencyKey.of("orders-app", "k1"), IdempotencyKey.of("orders-app", "k1"));
        assertEquals(IdempotencyKey.of("orders-app", "k1").hashCode(), IdempotencyKey.of("orders-app", "k1").hashCode());
        assertNotEquals(IdempotencyKey.of("orders-app", "k1"), IdempotencyKey.of("dashboard", "k1"), "another API key");
        assertNotEquals(IdempotencyKey.of(null, "k1"), IdempotencyKey.of("", "k1"), "anonymous is no API key's name");
        assertNotEquals(IdempotencyKey.of("a", "bc"), IdempotencyKey.of("ab", "c"), "no concatenation confuses two");
        assertNotEquals(IdempotencyKey.of(null, "k1"), IdempotencyKey.of(null, "k2"));
    }

    @Test
    void theIdentityIs32BytesAndNeverShowsTheKey() {
        IdempotencyKey key = IdempotencyKey.of("orders-app", "secret-key-value");
        assertEquals(32, key.id().length);
        assertEquals(64, key.hex().length());
        assertEquals(key, IdempotencyKey.fromId(key.id()));
        assertFalse(key.toString().contains("secret"), key.toString());
        assertThrows(IllegalArgumentException.class, () -> IdempotencyKey.fromId(new byte[31]));
        assertThrows(IllegalArgumentException.class, () -> IdempotencyKey.fromId(null));
    }

    @Test
    void theKeysPartitionIsKafkasDefaultPartitionersChoice() {
        for (int i = 0; i < 100; i++) {
            IdempotencyKey key = IdempotencyKey.of(null, "k" + i);
            for (int partitions : new int[] {1, 3, 8, 50}) {
                assertEquals(BuiltInPartitioner.partitionForKey(key.id(), partitions), key.partition(partitions));
            }
        }
    }

    @Test
    void theFingerprintCoversMethodPathContentTypeAndBody() {
        byte[] body = "{\"records\":[]}".getBytes(StandardCharsets.UTF_8);
        byte[] base = IdempotencyKey.fingerprint("POST", "/topics/t?", "application/json", body);
        assertEquals(32, base.length);
        assertArrayEquals(base, IdempotencyKey.fingerprint("POST", "/topics/t?", "application/json", body.clone()));
        assertFalse(java.util.Arrays.equals(base, IdempotencyKey.fingerprint("PUT", "/topics/t?", "application/json", body)));
        assertFalse(java.util.Arrays.equals(base, IdempotencyKey.fingerprint("POST", "/topics/u?", "application/json", body)));
        assertFalse(java.util.Arrays.equals(base, IdempotencyKey.fingerprint("POST", "/topics/t?key=a", "application/json",
                body)));
        assertFalse(java.util.Arrays.equals(base, IdempotencyKey.fingerprint("POST", "/topics/t?", "text/plain", body)));
        assertFalse(java.util.Arrays.equals(base, IdempotencyKey.fingerprint("POST", "/topics/t?", null, body)));
        assertFalse(java.util.Arrays.equals(base, IdempotencyKey.fingerprint("POST", "/topics/t?", "application/json",
                "{\"records\":[ ]}".getBytes(StandardCharsets.UTF_8))));
        assertFalse(java.util.Arrays.equals(IdempotencyKey.fingerprint("POST", "/a", "b", new byte[0]),
                IdempotencyKey.fingerprint("POST", "/ab", "", new byte[0])), "fields never run into each other");
    }

    @Test
    void callersWithoutCredentialsShareAScopeButAreCountedForTheirOwner() {
        IdempotencyKey open = IdempotencyKey.of(null, "k", "\u0000unauthenticated");
        assertArrayEquals(IdempotencyKey.of(null, "k").id(), open.id(), "the same key as without an owner");
        assertNotEquals(0, IdempotencyKey.owner("\u0000unauthenticated"));
        assertEquals(IdempotencyKey.owner("\u0000unauthenticated"), open.owner(), "their memory is counted for them");
        assertEquals(IdempotencyKey.of("a", "k").owner(), IdempotencyKey.of("a", "k", "a").owner());
    }
}
