package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import org.apache.kafka.common.utils.Utils;

/**
 * One {@code Idempotency-Key} in its scope (the API key's name; one global scope with
 * authentication off), and the fingerprint of the request that carries it.
 *
 * <p>The key's identity is the SHA-256 of its scope and key, each length-prefixed, so no scope and
 * key can be confused with another pair and neither is ever written to Kafka as such: the
 * identity is the record key in the idempotency topic, and picks the Kafka
 * {@code transactional.id} that fences other nodes executing the same key ({@link #number}).
 */
public final class IdempotencyKey {
    /** Longest key a client may send (characters, all ASCII). */
    public static final int MAX_LENGTH = 255;

    private final byte[] id;
    private final int hash;
    private final long owner;

    private IdempotencyKey(byte[] id, long owner) {
        this.id = id; // all a key holds (and its owner), as the view keeps one per result
        this.hash = Arrays.hashCode(id);
        this.owner = owner;
    }

    /**
     * The key {@code value} in {@code scope}.
     *
     * @param scope the API key's name, or null with authentication off
     * @param value the header's value, already {@link #check checked}
     */
    public static IdempotencyKey of(String scope, String value) {
        return of(scope, value, scope);
    }

    /**
     * As {@link #of(String, String)}, its memory counted for {@code owner} (the caller's owner
     * of per-key shares, which for callers without credentials is not their scope).
     */
    public static IdempotencyKey of(String scope, String value, String owner) {
        MessageDigest sha = sha256();
        field(sha, "portico-idempotency-key");
        field(sha, scope == null ? "" : scope);
        sha.update((byte) (scope == null ? 0 : 1));
        field(sha, value);
        return new IdempotencyKey(sha.digest(), owner(owner));
    }

    /**
     * Who holds a key's result, as a number: eight bytes of the SHA-256 of the scope (never the
     * API key's name itself, which is not written to Kafka), or 0 for none (authentication off).
     */
    static long owner(String scope) {
        if (scope == null) {
            return 0;
        }
        MessageDigest sha = sha256();
        field(sha, "portico-idempotency-owner");
        field(sha, scope);
        long owner = java.nio.ByteBuffer.wrap(sha.digest()).getLong();
        return owner == 0 ? 1 : owner;
    }

    /** The owner of this key ({@link #owner(String)}); 0 when unknown (a key read back from the topic). */
    long owner() {
        return owner;
    }

    /** A key read back from the idempotency topic (its record key). */
    static IdempotencyKey fromId(byte[] id) {
        if (id == null || id.length != 32) {
            throw new IllegalArgumentException("an idempotency key's id has 32 bytes");
        }
        return new IdempotencyKey(id.clone(), 0);
    }

    /**
     * {@code value}, if it can be an {@code Idempotency-Key}: 1 to 255 visible ASCII characters
     * ({@code !} to {@code ~}).
     *
     * @throws RestException 400 otherwise (the message never echoes the value)
     */
    public static String check(String value) {
        if (value == null || value.isEmpty() || value.length() > MAX_LENGTH) {
            throw ErrorCode.BAD_REQUEST.exception("The Idempotency-Key header must have 1 to " + MAX_LENGTH
                    + " visible ASCII characters");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '!' || c > '~') {
                throw ErrorCode.BAD_REQUEST.exception("The Idempotency-Key header must have 1 to " + MAX_LENGTH
                        + " visible ASCII characters (no spaces, control or non-ASCII characters)");
            }
        }
        return value;
    }

    /**
     * The fingerprint of a request: SHA-256 over its method, path (with the query string, which
     * carries the records endpoint's key and headers), {@code Content-Type} and body. The same key
     * with another fingerprint is another request (422).
     */
    public static byte[] fingerprint(String method, String pathAndQuery, String contentType, byte[] body) {
        MessageDigest sha = sha256();
        field(sha, method);
        field(sha, pathAndQuery);
        field(sha, contentType == null ? "" : contentType);
        sha.update((byte) (contentType == null ? 0 : 1));
        sha.update(longBytes(body.length));
        sha.update(body);
        return sha.digest();
    }

    /** The 32 bytes of the identity: the record key in the idempotency topic. */
    byte[] id() {
        return id.clone();
    }

    /** The identity in hex (64 characters). */
    public String hex() {
        return HexFormat.of().formatHex(id);
    }

    /**
     * A number in [0, {@code bound}) from the identity's first eight bytes (a SHA-256: even over
     * the range), the same on every node: the number of the key's transactional id.
     */
    int number(int bound) {
        long first = 0;
        for (int i = 0; i < Long.BYTES; i++) {
            first = first << 8 | (id[i] & 0xff);
        }
        return (int) Long.remainderUnsigned(first, bound);
    }

    /** The partition of the idempotency topic the key's result goes to: Kafka's default partitioner's choice. */
    int partition(int partitions) {
        return Utils.toPositive(Utils.murmur2(id)) % partitions;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IdempotencyKey other && Arrays.equals(id, other.id);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return "IdempotencyKey[" + hex().substring(0, 12) + "…]"; // never the client's key
    }

    private static void field(MessageDigest sha, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        sha.update(longBytes(bytes.length));
        sha.update(bytes);
    }

    private static byte[] longBytes(long v) {
        byte[] out = new byte[8];
        for (int i = 7; i >= 0; i--) {
            out[i] = (byte) v;
            v >>>= 8;
        }
        return out;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
