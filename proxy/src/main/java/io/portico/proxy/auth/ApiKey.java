package io.portico.proxy.auth;

import java.util.List;
import java.util.regex.Pattern;
import javax.security.auth.x500.X500Principal;

/**
 * One entry of the API-keys file: a name (what logs and consumer ownership use), how a caller
 * proves it is this entry (the SHA-256 of the secret key, a client certificate's subject or its
 * SHA-256 fingerprint: each null when the entry does not use it, never all three), a role, the
 * topics it applies to (exact names or {@code *} globs), and its own request quota (null: the
 * server's {@code quota.requests.per.second}; 0: none) and burst (null: one second's worth).
 */
public record ApiKey(String name, byte[] sha256, X500Principal certificateSubject, byte[] certificateSha256,
                     Role role, List<Pattern> topics, Integer requestsPerSecond, Integer burst) implements Principal {

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

    /** A {@code *} glob as a regular expression matching whole topic names. */
    static Pattern glob(String glob) {
        StringBuilder regex = new StringBuilder();
        for (String part : glob.split("\\*", -1)) {
            if (regex.length() > 0) {
                regex.append(".*");
            }
            regex.append(Pattern.quote(part));
        }
        return Pattern.compile(regex.toString());
    }

    @Override
    public boolean hasRole(Role needed) {
        return role.includes(needed);
    }

    @Override
    public boolean allows(Role needed, String topic) {
        if (!role.includes(needed)) {
            return false;
        }
        for (Pattern p : topics) {
            if (p.matcher(topic).matches()) {
                return true;
            }
        }
        return false;
    }
}
