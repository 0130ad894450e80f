package io.portico.proxy.auth;

import java.util.List;
import java.util.regex.Pattern;

/**
 * One entry of the API-keys file: a name (what logs and consumer ownership use), the SHA-256 of
 * the secret, a role, and the topics it applies to (exact names or {@code *} globs).
 */
public record ApiKey(String name, byte[] sha256, Role role, List<Pattern> topics) implements Principal {

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
