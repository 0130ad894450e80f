package io.portico.proxy.auth;

import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * One entry of the API-keys file: a name (what logs and consumer ownership use), how a caller
 * proves it is this entry (the SHA-256 of the secret key, a client certificate's subject or its
 * SHA-256 fingerprint: each null when the entry does not use it, never all three), a role, the
 * topics it applies to (exact names or {@code *} globs), the consumer groups it may use (the same;
 * null: any), the schema registry subjects it may use beyond its topics' own (the same; null:
 * any), and its own request quota (null: the
 * server's {@code quota.requests.per.second}; 0: none) and burst (null: one second's worth).
 */
public record ApiKey(String name, byte[] sha256, X500Principal certificateSubject, byte[] certificateSha256,
                     Role role, List<String> topics, List<String> groups, List<String> subjects,
                     Integer requestsPerSecond, Integer burst)
        implements Principal {

    /** Whether {@code presented}, a verified client certificate, is this entry's. */
    boolean isCertificate(ClientCertificate presented) {
        if (certificateSubject != null) {
            return certificateSubject.equals(presented.subject()); // canonical form: case and spacing aside
        }
        return certificateSha256 != null && java.security.MessageDigest.isEqual(certificateSha256, presented.sha256());
    }

    /**
     * What the entry's credentials are, as one digest: the key's SHA-256, or (an entry that names
     * a certificate) the SHA-256 of its key's digest, if any, and how it names the certificate.
     * What a stream token binds: a token outlives neither.
     */
    @Override
    public byte[] credentialDigest() {
        if (certificateSubject == null && certificateSha256 == null) {
            return sha256;
        }
        String certificate = certificateSubject != null
                ? "subject:" + certificateSubject.getName(X500Principal.CANONICAL)
                : "sha256:" + java.util.HexFormat.of().formatHex(certificateSha256);
        String key = sha256 == null ? "" : "key:" + java.util.HexFormat.of().formatHex(sha256) + "\n";
        return Digests.sha256(key + certificate);
    }

    /**
     * Whether {@code name} matches {@code glob} as a whole, each {@code *} standing for any run of
     * characters: in one pass with one step back to the last star, at most the name's length
     * times the glob's (a regular expression of several {@code .*} backtracked for as many steps
     * as a power of the name's length, on the IO thread, when it failed to match). Also CORS's
     * allowed origins' (see {@code Cors}).
     */
    public static boolean globMatches(String glob, String name) {
        int g = 0;
        int n = 0;
        int star = -1; // the glob's last star passed
        int resume = 0; // where the name resumes once that star takes one more character
        while (n < name.length()) {
            if (g < glob.length() && glob.charAt(g) == '*') {
                star = g++;
                resume = n;
            } else if (g < glob.length() && glob.charAt(g) == name.charAt(n)) {
                g++;
                n++;
            } else if (star >= 0) {
                g = star + 1;
                n = ++resume;
            } else {
                return false;
            }
        }
        while (g < glob.length() && glob.charAt(g) == '*') {
            g++;
        }
        return g == glob.length();
    }

    @Override
    public boolean hasRole(Role needed) {
        return role.includes(needed);
    }

    /** {@inheritDoc} An entry whose topics include {@code *} and that lists no groups. */
    @Override
    public boolean allowsCluster(Role needed) {
        return role.includes(needed) && groups == null && topics.contains("*");
    }

    @Override
    public boolean allowsGroup(String group) {
        return matchesAny(groups, group);
    }

    @Override
    public boolean allowsSubject(String subject) {
        return matchesAny(subjects, subject);
    }

    /** Whether {@code name} matches one of {@code globs}; any name when there are none (null). */
    private static boolean matchesAny(List<String> globs, String name) {
        if (globs == null) {
            return true;
        }
        for (String glob : globs) {
            if (globMatches(glob, name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@inheritDoc} An entry that lists its groups reaches Kafka's internal topics ({@code __…})
     * only through a topic pattern that starts with {@code __} itself: {@code __consumer_offsets}
     * holds every group's offsets, which a key kept to its own groups must not read through a
     * {@code *}.
     */
    @Override
    public boolean allows(Role needed, String topic) {
        if (!role.includes(needed)) {
            return false;
        }
        boolean internalKeptApart = groups != null && topic.startsWith("__");
        for (String glob : topics) {
            if (globMatches(glob, topic) && (!internalKeptApart || glob.startsWith("__"))) {
                return true;
            }
        }
        return false;
    }
}
