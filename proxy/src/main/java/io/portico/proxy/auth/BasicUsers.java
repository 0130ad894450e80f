package io.portico.proxy.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * The users of HTTP basic authentication as Confluent REST Proxy reads them
 * ({@code authentication.method=BASIC}): a Jetty {@code PropertyFileLoginModule} users file of
 * {@code user: credential[,role...]} lines (UTF-8), the credential plain, {@code OBF:} (Jetty's
 * obfuscation), {@code MD5:} (the hex MD5 of the password) or {@code MD:<algorithm>:} (Jetty
 * 12.1's digest of any algorithm). Only digests of the passwords are kept; a check compares them
 * in constant time. Immutable and thread-safe.
 */
final class BasicUsers {
    /**
     * One user: the digest of its password (the SHA-256 of a plain or {@code OBF:} one, else the
     * file's digest in its {@code algorithm}) and its roles. As in Confluent's proxy, a user with
     * one of the roles may do everything.
     */
    record User(String name, byte[] digest, String algorithm, List<String> roles) implements Principal {
        @Override
        public boolean hasRole(Role role) {
            return true;
        }

        @Override
        public boolean allows(Role role, String topic) {
            return true;
        }

        @Override
        public byte[] credentialDigest() {
            return digest;
        }
    }

    private final Map<String, User> users;

    private BasicUsers(Map<String, User> users) {
        this.users = Map.copyOf(users);
    }

    /**
     * Reads a users file.
     *
     * @throws IllegalArgumentException naming the user whose line cannot be used
     */
    static BasicUsers parse(byte[] content) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(content)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("the users file is not UTF-8 (save it as UTF-8; ASCII is UTF-8)");
        }
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1); // a byte order mark, as some editors write one
        }
        Properties lines = new Properties();
        try {
            lines.load(new java.io.StringReader(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // no I/O reading from a string
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a users file (user: password[,role...]): " + e.getMessage());
        }
        Map<String, User> users = new HashMap<>();
        for (String name : lines.stringPropertyNames()) {
            String[] parts = lines.getProperty(name).split(",");
            String credential = parts[0].trim();
            if (name.isBlank() || credential.isEmpty()) {
                throw new IllegalArgumentException("user '" + name + "': a line is user: password[,role...]");
            }
            if (Principal.hasControlCharacter(name)) {
                throw new IllegalArgumentException("a user name may not hold control characters");
            }
            List<String> roles = new ArrayList<>();
            for (int i = 1; i < parts.length; i++) {
                if (!parts[i].isBlank()) {
                    roles.add(parts[i].trim());
                }
            }
            User user;
            // Jetty's prefixes, as its Credential reads them (case matters there too).
            if (credential.startsWith("MD5:")) {
                user = new User(name, hex(credential.substring(4), 16, name, "an MD5: credential"), "MD5", List.copyOf(roles));
            } else if (credential.startsWith("MD:")) {
                // MD:<algorithm>:<hex digest>, as Jetty 12.1's Password tool writes it
                int colon = credential.indexOf(':', 3);
                String algorithm = colon < 0 ? "" : credential.substring(3, colon);
                try {
                    MessageDigest.getInstance(algorithm);
                } catch (NoSuchAlgorithmException | IllegalArgumentException e) {
                    throw new IllegalArgumentException("user '" + name + "': an MD: credential is MD:<algorithm>:<hex>, "
                            + "with an algorithm the JVM knows (not '" + algorithm + "')");
                }
                int length = Digests.of(algorithm, "").length;
                user = new User(name, hex(credential.substring(colon + 1), length, name, "an MD:" + algorithm + ": credential"),
                        algorithm, List.copyOf(roles));
            } else if (credential.startsWith("OBF:")) {
                user = new User(name, Digests.sha256(deobfuscate(credential.substring(4), name)), "SHA-256", List.copyOf(roles));
            } else if (credential.startsWith("CRYPT:")) {
                throw new IllegalArgumentException("user '" + name + "': CRYPT: credentials are not supported; "
                        + "use MD5:, MD: or OBF: (or the password itself)");
            } else {
                user = new User(name, Digests.sha256(credential), "SHA-256", List.copyOf(roles));
            }
            users.put(name, user);
        }
        return new BasicUsers(users);
    }

    /** The user {@code name} if {@code password} is its password, else null (also for an unknown user). */
    User check(String name, String password) {
        User user = users.get(name);
        // Both digests every time: what a check costs tells nothing about which names exist or how they are stored.
        byte[] sha256 = Digests.sha256(password);
        byte[] other = Digests.of(user == null || user.algorithm().equals("SHA-256") ? "MD5" : user.algorithm(), password);
        if (user == null) {
            MessageDigest.isEqual(sha256, new byte[sha256.length]);
            return null;
        }
        byte[] presented = user.algorithm().equals("SHA-256") ? sha256 : other;
        return MessageDigest.isEqual(user.digest(), presented) ? user : null;
    }

    private static byte[] hex(String digits, int length, String user, String what) {
        byte[] bytes;
        try {
            bytes = HexFormat.of().parseHex(digits.trim().toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            bytes = new byte[0];
        }
        if (bytes.length != length) {
            throw new IllegalArgumentException("user '" + user + "': " + what + " is " + 2 * length + " hexadecimal digits");
        }
        return bytes;
    }

    /** The user {@code name}, or null. */
    User named(String name) {
        return name == null ? null : users.get(name);
    }

    int size() {
        return users.size();
    }

    /**
     * Jetty's obfuscation undone: four base-36 digits per character (a {@code U} before the four
     * of a byte above 127).
     */
    static String deobfuscate(String obfuscated, String user) {
        String s = obfuscated.trim();
        byte[] bytes = new byte[s.length() / 2 + 1];
        int n = 0;
        try {
            for (int i = 0; i < s.length(); i += 4) {
                if (s.charAt(i) == 'U') {
                    i++;
                    bytes[n++] = (byte) (Integer.parseInt(s.substring(i, i + 4), 36) >> 8);
                } else {
                    int value = Integer.parseInt(s.substring(i, i + 4), 36);
                    bytes[n++] = (byte) ((value / 256 + value % 256 - 254) / 2);
                }
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("user '" + user + "': not an OBF: credential");
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    /**
     * The users file a JAAS configuration names for {@code realm}: the {@code file} option of its
     * section's login module (Jetty's {@code PropertyFileLoginModule}, as Confluent's docs set it
     * up), read by the JDK's own parser of JAAS files. {@code location} is what
     * {@code -Djava.security.auth.login.config} holds: a path or a URL ({@code =} before it, "only
     * this file", is dropped).
     *
     * @throws IllegalArgumentException when the configuration cannot be read, or has no such section or option
     */
    static Path fromJaas(String location, String realm) {
        String where = location.startsWith("=") ? location.substring(1) : location;
        java.net.URI uri;
        try {
            java.net.URI given = new java.net.URI(where);
            uri = given.getScheme() != null && given.getScheme().length() > 1 ? given : Path.of(where).toAbsolutePath().toUri();
        } catch (java.net.URISyntaxException e) {
            uri = Path.of(where).toAbsolutePath().toUri();
        }
        javax.security.auth.login.AppConfigurationEntry[] entries;
        try {
            entries = javax.security.auth.login.Configuration.getInstance("JavaLoginConfig",
                    new java.security.URIParameter(uri)).getAppConfigurationEntry(realm);
        } catch (NoSuchAlgorithmException | SecurityException | IllegalArgumentException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException("the JAAS configuration " + where + " cannot be read: " + cause.getMessage());
        }
        if (entries == null || entries.length == 0) {
            throw new IllegalArgumentException("the JAAS configuration " + where + " has no section " + realm
                    + " { … }; (authentication.realm)");
        }
        for (javax.security.auth.login.AppConfigurationEntry entry : entries) {
            Object file = entry.getOptions().get("file");
            if (file instanceof String f && !f.isBlank()) {
                return Path.of(f);
            }
        }
        throw new IllegalArgumentException("the section " + realm + " of the JAAS configuration " + where
                + " names no users file (file=\"…\" of its PropertyFileLoginModule)");
    }

    /** Whether {@code user} holds one of {@code needed} ({@code *} in it: any user). */
    static boolean allowed(User user, Set<String> needed) {
        if (needed.contains("*")) {
            return true;
        }
        for (String role : user.roles()) {
            if (needed.contains(role)) {
                return true;
            }
        }
        return false;
    }
}
