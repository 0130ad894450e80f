package io.portico.proxy.auth;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import javax.security.auth.x500.X500Principal;

/**
 * The API keys of one version of the keys file:
 * {@code {"keys":[{"name":"orders-app","key":"<secret>","role":"writer","topics":["orders","orders.*"]}]}},
 * where an entry may give {@code "sha256":"<hex of the key>"} instead of {@code "key"}, and may
 * name a client certificate ({@code "certificate_subject":"CN=cics-app,O=Example"} or
 * {@code "certificate_sha256":"<its fingerprint>"}) besides a key or instead of one, and may
 * have a request quota of its own ({@code "requests_per_second": 100}; 0: none) and list the
 * consumer groups it may use ({@code "groups":["billing-*"]}; without it, any group) and the schema
 * registry subjects it may use beyond its topics' own ({@code "subjects":["billing.*"]}; without
 * it, any subject).
 *
 * <p>Only SHA-256 digests are kept. {@link #find} compares the digest of a presented key with
 * every entry in constant time per entry, so timing tells nothing about how close a guess was.
 * Immutable and thread-safe.
 */
public final class ApiKeys {
    /** The fewest characters of an API key given in the clear (and of Portico's other secrets). */
    public static final int KEY_MIN_CHARS = 16;
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private final List<ApiKey> keys;

    private ApiKeys(List<ApiKey> keys) {
        this.keys = List.copyOf(keys);
    }

    record FileEntry(@JsonProperty("name") String name, @JsonProperty("key") String key,
                     @JsonProperty("sha256") String sha256,
                     @JsonProperty("certificate_subject") String certificateSubject,
                     @JsonProperty("certificate_sha256") String certificateSha256,
                     @JsonProperty("role") String role, @JsonProperty("topics") List<String> topics,
                     @JsonProperty("groups") List<String> groups,
                     @JsonProperty("subjects") List<String> subjects,
                     @JsonProperty("requests_per_second") Integer requestsPerSecond,
                     @JsonProperty("burst") Integer burst) {
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
        Set<X500Principal> subjects = new HashSet<>();
        Set<String> fingerprints = new HashSet<>();
        Set<String> digests = new HashSet<>();
        for (int i = 0; i < parsed.keys().size(); i++) {
            FileEntry e = parsed.keys().get(i);
            String where = "keys[" + i + "]";
            if (e == null || e.name() == null || e.name().isBlank()) {
                throw new IllegalArgumentException(where + ": \"name\" is required");
            }
            if (Principal.hasControlCharacter(e.name())) {
                throw new IllegalArgumentException(where + ": a name may not hold control characters");
            }
            where = where + " (" + e.name() + ")";
            if (!names.add(e.name())) {
                throw new IllegalArgumentException(where + ": the name is used twice");
            }
            byte[] digest = null;
            if (e.key() != null && e.sha256() != null) {
                throw new IllegalArgumentException(where + ": give one of \"key\" and \"sha256\", not both");
            } else if (e.key() != null) {
                if (e.key().length() < KEY_MIN_CHARS) {
                    throw new IllegalArgumentException(where + ": a key must have at least " + KEY_MIN_CHARS + " characters");
                }
                if (!e.key().chars().allMatch(c -> c > ' ' && c < 0x7f)) {
                    // HTTP header values are read as ISO-8859-1 and trimmed: a key with other
                    // characters, or spaces, could never be sent as a Bearer or X-Auth-Token.
                    throw new IllegalArgumentException(where + ": a key must be printable ASCII without spaces "
                            + "(as `openssl rand -hex 24` makes one)");
                }
                digest = Digests.sha256(e.key());
            } else if (e.sha256() != null) {
                try {
                    digest = HexFormat.of().parseHex(e.sha256().trim());
                } catch (IllegalArgumentException bad) {
                    throw new IllegalArgumentException(where + ": \"sha256\" must be hexadecimal");
                }
                if (digest.length != 32) {
                    throw new IllegalArgumentException(where + ": \"sha256\" must be 64 hexadecimal digits");
                }
            }
            if (digest != null && !digests.add(HexFormat.of().formatHex(digest))) {
                // Two entries of one key: the last would silently decide what its holders may do.
                throw new IllegalArgumentException(where + ": another entry has the same key");
            }
            X500Principal subject = null;
            byte[] fingerprint = null;
            if (e.certificateSubject() != null && e.certificateSha256() != null) {
                throw new IllegalArgumentException(where
                        + ": give one of \"certificate_subject\" and \"certificate_sha256\", not both");
            } else if (e.certificateSubject() != null) {
                try {
                    subject = new X500Principal(e.certificateSubject().trim());
                } catch (IllegalArgumentException bad) {
                    throw new IllegalArgumentException(where
                            + ": \"certificate_subject\" must be a distinguished name such as \"CN=orders-app,O=Example\"");
                }
                if (subject.getName().isEmpty()) {
                    throw new IllegalArgumentException(where + ": \"certificate_subject\" is empty");
                }
                if (!subjects.add(subject)) {
                    throw new IllegalArgumentException(where + ": another entry names the same certificate_subject");
                }
            } else if (e.certificateSha256() != null) {
                try {
                    fingerprint = ClientCertificate.parseFingerprint(e.certificateSha256());
                } catch (IllegalArgumentException bad) {
                    throw new IllegalArgumentException(where + ": \"certificate_sha256\" " + bad.getMessage());
                }
                if (!fingerprints.add(HexFormat.of().formatHex(fingerprint))) {
                    throw new IllegalArgumentException(where + ": another entry names the same certificate_sha256");
                }
            }
            if (digest == null && subject == null && fingerprint == null) {
                throw new IllegalArgumentException(where + ": give \"key\" or \"sha256\", "
                        + "or a client certificate's \"certificate_subject\" or \"certificate_sha256\"");
            }
            Role role = Role.parse(e.role());
            if (role == null) {
                throw new IllegalArgumentException(where + ": \"role\" must be reader, writer or manager");
            }
            if (e.topics() == null || e.topics().isEmpty()) {
                throw new IllegalArgumentException(where + ": \"topics\" must list topic names or globs such as \"*\"");
            }
            List<String> topics = new ArrayList<>();
            for (String t : e.topics()) {
                if (t == null || t.isBlank()) {
                    throw new IllegalArgumentException(where + ": an empty topic pattern");
                }
                topics.add(t.trim());
            }
            List<String> groups = globs(e.groups(), where + ": an empty consumer group pattern");
            List<String> registrySubjects = globs(e.subjects(), where + ": an empty subject pattern");
            if (e.requestsPerSecond() != null && (e.requestsPerSecond() < 0 || e.requestsPerSecond() > 1_000_000_000)) {
                throw new IllegalArgumentException(where + ": \"requests_per_second\" must be 0 (no quota) to 1000000000");
            }
            if (e.burst() != null && (e.burst() < 1 || e.burst() > 1_000_000_000 || e.requestsPerSecond() == null)) {
                throw new IllegalArgumentException(where + ": \"burst\" is 1 to 1000000000, with \"requests_per_second\"");
            }
            keys.add(new ApiKey(e.name(), digest, subject, fingerprint, role, topics, groups, registrySubjects,
                    e.requestsPerSecond(), e.burst()));
        }
        return new ApiKeys(keys);
    }

    /** The globs listed, trimmed; null when none are listed (anything goes). */
    private static List<String> globs(List<String> listed, String whenEmpty) {
        if (listed == null) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (String g : listed) {
            if (g == null || g.isBlank()) {
                throw new IllegalArgumentException(whenEmpty);
            }
            out.add(g.trim());
        }
        return List.copyOf(out);
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
        byte[] digest = Digests.sha256(presented);
        ApiKey found = null;
        for (ApiKey k : keys) {
            if (k.sha256() != null && MessageDigest.isEqual(k.sha256(), digest)) {
                found = k;
            }
        }
        return found;
    }

    /**
     * The entry that names {@code presented}, a verified client certificate, or null. An entry
     * that pins its fingerprint comes before one that names its subject.
     */
    ApiKey find(ClientCertificate presented) {
        ApiKey bySubject = null;
        for (ApiKey k : keys) {
            if (k.isCertificate(presented)) {
                if (k.certificateSha256() != null) {
                    return k;
                }
                bySubject = bySubject == null ? k : bySubject;
            }
        }
        return bySubject;
    }

    /** Whether some entry names a client certificate. */
    public boolean namesCertificates() {
        for (ApiKey k : keys) {
            if (k.certificateSubject() != null || k.certificateSha256() != null) {
                return true;
            }
        }
        return false;
    }

    /** The entry named {@code name}, or null. */
    public ApiKey named(String name) {
        if (name == null) {
            return null;
        }
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

}
