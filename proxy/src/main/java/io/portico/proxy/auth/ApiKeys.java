package io.portico.proxy.auth;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The API keys of one version of the keys file:
 * {@code {"keys":[{"name":"orders-app","key":"<secret>","role":"writer","topics":["orders","orders.*"]}]}},
 * where an entry may give {@code "sha256":"<hex of the key>"} instead of {@code "key"}.
 *
 * <p>Only SHA-256 digests are kept. {@link #find} compares the digest of a presented key with
 * every entry in constant time per entry, so timing tells nothing about how close a guess was.
 * Immutable and thread-safe.
 */
public final class ApiKeys {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final List<ApiKey> keys;

    private ApiKeys(List<ApiKey> keys) {
        this.keys = List.copyOf(keys);
    }

    record FileEntry(@JsonProperty("name") String name, @JsonProperty("key") String key,
                     @JsonProperty("sha256") String sha256, @JsonProperty("role") String role,
                     @JsonProperty("topics") List<String> topics) {
    }

    record KeysFile(@JsonProperty("keys") List<FileEntry> keys) {
    }

    /**
     * Checks the content of a keys file.
     *
     * @throws IllegalArgumentException naming the entry and what is wrong with it
     */
    public static ApiKeys parse(byte[] content) {
        KeysFile parsed;
        try {
            parsed = MAPPER.readValue(content, KeysFile.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException("not a valid keys file: " + reason(e));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // no I/O reading from an array
        }
        if (parsed == null || parsed.keys() == null) {
            throw new IllegalArgumentException("the file must hold {\"keys\":[…]}");
        }
        List<ApiKey> keys = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < parsed.keys().size(); i++) {
            FileEntry e = parsed.keys().get(i);
            String where = "keys[" + i + "]";
            if (e == null || e.name() == null || e.name().isBlank()) {
                throw new IllegalArgumentException(where + ": \"name\" is required");
            }
            where = where + " (" + e.name() + ")";
            if (!names.add(e.name())) {
                throw new IllegalArgumentException(where + ": the name is used twice");
            }
            byte[] digest;
            if (e.key() != null && e.sha256() == null) {
                if (e.key().length() < 16) {
                    throw new IllegalArgumentException(where + ": a key must have at least 16 characters");
                }
                digest = sha256(e.key());
            } else if (e.sha256() != null && e.key() == null) {
                try {
                    digest = HexFormat.of().parseHex(e.sha256().trim());
                } catch (IllegalArgumentException bad) {
                    throw new IllegalArgumentException(where + ": \"sha256\" must be hexadecimal");
                }
                if (digest.length != 32) {
                    throw new IllegalArgumentException(where + ": \"sha256\" must be 64 hexadecimal digits");
                }
            } else {
                throw new IllegalArgumentException(where + ": give exactly one of \"key\" and \"sha256\"");
            }
            Role role = Role.parse(e.role());
            if (role == null) {
                throw new IllegalArgumentException(where + ": \"role\" must be reader, writer or manager");
            }
            if (e.topics() == null || e.topics().isEmpty()) {
                throw new IllegalArgumentException(where + ": \"topics\" must list topic names or globs such as \"*\"");
            }
            List<Pattern> topics = new ArrayList<>();
            for (String t : e.topics()) {
                if (t == null || t.isBlank()) {
                    throw new IllegalArgumentException(where + ": an empty topic pattern");
                }
                topics.add(ApiKey.glob(t.trim()));
            }
            keys.add(new ApiKey(e.name(), digest, role, topics));
        }
        return new ApiKeys(keys);
    }

    /**
     * Why Jackson refused the file. For malformed JSON only where: Jackson's message quotes the
     * offending token, which may be a key written without its quotes, and the reason is logged.
     */
    private static String reason(com.fasterxml.jackson.core.JacksonException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof com.fasterxml.jackson.core.exc.StreamReadException malformed) {
                com.fasterxml.jackson.core.JsonLocation at = malformed.getLocation();
                return at == null ? "malformed JSON"
                        : "malformed JSON at line " + at.getLineNr() + ", column " + at.getColumnNr();
            }
        }
        return e.getOriginalMessage();
    }

    /** The entry whose key is {@code presented}, or null. */
    public ApiKey find(String presented) {
        byte[] digest = sha256(presented);
        ApiKey found = null;
        for (ApiKey k : keys) {
            if (MessageDigest.isEqual(k.sha256(), digest)) {
                found = k;
            }
        }
        return found;
    }

    /** The entry named {@code name}, or null. */
    public ApiKey named(String name) {
        for (ApiKey k : keys) {
            if (k.name().equals(name)) {
                return k;
            }
        }
        return null;
    }

    public int size() {
        return keys.size();
    }

    static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
