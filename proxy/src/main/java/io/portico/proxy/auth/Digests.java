package io.portico.proxy.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** The message digests credentials are kept and compared as. */
final class Digests {
    private Digests() {
    }

    static byte[] sha256(byte[] bytes) {
        return of("SHA-256", bytes);
    }

    /** The SHA-256 of {@code text}'s UTF-8 bytes. */
    static byte[] sha256(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code algorithm}'s digest of {@code text}'s UTF-8 bytes (an algorithm the JVM knows, checked before). */
    static byte[] of(String algorithm, String text) {
        return of(algorithm, text.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] of(String algorithm, byte[] bytes) {
        try {
            return MessageDigest.getInstance(algorithm).digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " was checked to be known to this JVM", e);
        }
    }
}
