package io.portico.proxy.auth;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The users of HTTP basic authentication as Confluent REST Proxy reads them
 * ({@code authentication.method=BASIC}): a Jetty {@code PropertyFileLoginModule} users file of
 * {@code user: credential[,role...]} lines, the credential plain, {@code OBF:} (Jetty's
 * obfuscation) or {@code MD5:} (the hex MD5 of the password). Only digests of the passwords are
 * kept; a check compares them in constant time. Immutable and thread-safe.
 */
final class BasicUsers {
    /**
     * One user: the digest of its password (SHA-256 of it, or the file's MD5) and its roles. As
     * in Confluent's proxy, a user with one of the roles may do everything.
     */
    record User(String name, byte[] digest, boolean md5, List<String> roles) implements Principal {
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
        Properties lines = new Properties();
        try {
            lines.load(new InputStreamReader(new ByteArrayInputStream(content), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // no I/O reading from an array
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
            List<String> roles = new ArrayList<>();
            for (int i = 1; i < parts.length; i++) {
                if (!parts[i].isBlank()) {
                    roles.add(parts[i].trim());
                }
            }
            String upper = credential.toUpperCase(Locale.ROOT);
            User user;
            if (upper.startsWith("MD5:")) {
                byte[] md5;
                try {
                    md5 = HexFormat.of().parseHex(credential.substring(4).trim());
                } catch (IllegalArgumentException e) {
                    md5 = new byte[0];
                }
                if (md5.length != 16) {
                    throw new IllegalArgumentException("user '" + name + "': an MD5: credential is 32 hexadecimal digits");
                }
                user = new User(name, md5, true, List.copyOf(roles));
            } else if (upper.startsWith("OBF:")) {
                user = new User(name, sha256(deobfuscate(credential.substring(4), name)), false, List.copyOf(roles));
            } else if (upper.startsWith("CRYPT:")) {
                throw new IllegalArgumentException("user '" + name + "': CRYPT: credentials are not supported; "
                        + "use MD5: or OBF: (or the password itself)");
            } else {
                user = new User(name, sha256(credential), false, List.copyOf(roles));
            }
            users.put(name, user);
        }
        return new BasicUsers(users);
    }

    /** The user {@code name} if {@code password} is its password, else null (also for an unknown user). */
    User check(String name, String password) {
        User user = users.get(name);
        byte[] presented = user != null && user.md5() ? md5(password) : sha256(password);
        // An unknown user costs as much as a known one: timing tells nothing about which names exist.
        byte[] expected = user != null ? user.digest() : new byte[presented.length];
        return MessageDigest.isEqual(expected, presented) && user != null ? user : null;
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
     * up).
     *
     * @throws IllegalArgumentException when the configuration has no such section or option
     */
    static Path fromJaas(String jaas, String realm, Path where) {
        Matcher section = Pattern.compile("(?s)(?:^|[\\s;}])" + Pattern.quote(realm) + "\\s*\\{(.*?)\\}\\s*;").matcher(jaas);
        if (!section.find()) {
            throw new IllegalArgumentException(where + " has no section " + realm + " { … }; (authentication.realm)");
        }
        Matcher file = Pattern.compile("\\bfile\\s*=\\s*\"([^\"]*)\"").matcher(section.group(1));
        if (!file.find()) {
            throw new IllegalArgumentException("the section " + realm + " of " + where
                    + " names no users file (file=\"…\" of its PropertyFileLoginModule)");
        }
        return Path.of(file.group(1));
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

    static byte[] sha256(String s) {
        return digest("SHA-256", s);
    }

    private static byte[] md5(String s) {
        return digest("MD5", s);
    }

    private static byte[] digest(String algorithm, String s) {
        try {
            return MessageDigest.getInstance(algorithm).digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is part of every JDK", e);
        }
    }
}
