package io.portico.proxy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a configuration value may be, and how it is read: one of a few kinds, with bounds or
 * choices. Parsing a value checks it; a bad value is a {@link ConfigException} naming the key.
 *
 * <p>Byte sizes may be written as a share of the maximum heap ({@code 15%}), so that the memory
 * budgets follow {@code -Xmx}; durations are milliseconds.
 */
record Setting(Kind kind, long min, long max, Set<String> choices) {

    /** The kinds of values. */
    enum Kind { STRING, PASSWORD, BOOLEAN, INT, LONG, MILLIS, BYTES, CHOICE, LISTENERS, ADVERTISED, LIST, PATH }

    static Setting string() {
        return new Setting(Kind.STRING, 0, 0, Set.of());
    }

    static Setting password() {
        return new Setting(Kind.PASSWORD, 0, 0, Set.of());
    }

    static Setting bool() {
        return new Setting(Kind.BOOLEAN, 0, 0, Set.of());
    }

    static Setting integer(long min, long max) {
        return new Setting(Kind.INT, min, Math.min(max, Integer.MAX_VALUE), Set.of());
    }

    static Setting longValue(long min, long max) {
        return new Setting(Kind.LONG, min, max, Set.of());
    }

    static Setting millis(long min, long max) {
        return new Setting(Kind.MILLIS, min, max, Set.of());
    }

    /** Bytes, or {@code N%} of the maximum heap. */
    static Setting bytes(long min, long max) {
        return new Setting(Kind.BYTES, min, max, Set.of());
    }

    /** One of {@code choices}, compared without case; the value is the choice as listed. */
    static Setting choice(String... choices) {
        return new Setting(Kind.CHOICE, 0, 0, Set.of(choices));
    }

    /** URLs to bind: {@code http(s)://host:port}, no path. */
    static Setting listeners() {
        return new Setting(Kind.LISTENERS, 0, 0, Set.of());
    }

    /** URLs clients reach a server at: as {@link #listeners()}, a path allowed (a proxy's prefix). */
    static Setting advertised() {
        return new Setting(Kind.ADVERTISED, 0, 0, Set.of());
    }

    /** A comma-separated list of non-blank items. */
    static Setting list() {
        return new Setting(Kind.LIST, 0, 0, Set.of());
    }

    static Setting path() {
        return new Setting(Kind.PATH, 0, 0, Set.of());
    }

    /** The type column of the README's table. */
    String describe() {
        return switch (kind) {
            case STRING, PASSWORD -> "string";
            case BOOLEAN -> "boolean";
            case INT, LONG -> "integer " + range();
            case MILLIS -> "ms " + range();
            case BYTES -> "bytes or % of heap";
            case CHOICE -> String.join(" / ", choices.stream().sorted().toList());
            case LISTENERS, ADVERTISED -> "URL list";
            case LIST -> "list";
            case PATH -> "file";
        };
    }

    private String range() {
        return "[" + number(min) + ", " + (max >= Integer.MAX_VALUE ? "…" : number(max)) + "]";
    }

    private static String number(long n) {
        return n >= 1000 && n % 1000 == 0 && n < 1_000_000_000 ? String.format(Locale.ROOT, "%,d", n) : Long.toString(n);
    }

    /**
     * The value of {@code key} read from {@code text}: a String, Boolean, Integer, Long, Duration,
     * List of URI or String, or Path (null for an empty path).
     *
     * @param maxHeap the bytes that {@code 100%} stands for
     * @throws ConfigException naming the key when the value does not fit
     */
    Object parse(String key, String text, long maxHeap) {
        String value = text == null ? "" : text.trim();
        return switch (kind) {
            case STRING, PASSWORD -> value;
            case BOOLEAN -> switch (value.toLowerCase(Locale.ROOT)) {
                case "true" -> Boolean.TRUE;
                case "false" -> Boolean.FALSE;
                default -> throw new ConfigException(key, "'" + value + "' is not true or false");
            };
            case INT -> (int) bounded(key, value, whole(key, value));
            case LONG -> bounded(key, value, whole(key, value));
            case MILLIS -> Duration.ofMillis(bounded(key, value, whole(key, value)));
            case BYTES -> bounded(key, value, bytes(key, value, maxHeap));
            case CHOICE -> choices.stream().filter(c -> c.equalsIgnoreCase(value)).findFirst()
                    .orElseThrow(() -> new ConfigException(key, "'" + value + "' is not one of "
                            + String.join(", ", choices.stream().sorted().toList())));
            case LISTENERS -> listeners(key, value, false);
            case ADVERTISED -> listeners(key, value, true);
            case LIST -> items(value);
            case PATH -> value.isEmpty() ? null : Path.of(value);
        };
    }

    private long bounded(String key, String text, long value) {
        if (value < min || value > max) {
            throw new ConfigException(key, "'" + text + "' is out of range [" + min + ", " + max + "]");
        }
        return value;
    }

    private static long whole(String key, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "'" + value + "' is not a whole number");
        }
    }

    private static long bytes(String key, String value, long maxHeap) {
        if (value.endsWith("%")) {
            String share = value.substring(0, value.length() - 1).trim();
            double percent;
            try {
                percent = Double.parseDouble(share);
            } catch (NumberFormatException e) {
                throw new ConfigException(key, "'" + value + "' is not a percentage of the heap");
            }
            if (!(percent > 0 && percent <= 100)) {
                throw new ConfigException(key, "'" + value + "' must be a share of the heap above 0% and at most 100%");
            }
            return (long) (maxHeap * percent / 100);
        }
        return whole(key, value);
    }

    private static List<String> items(String value) {
        List<String> out = new ArrayList<>();
        for (String part : value.split(",")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return List.copyOf(out);
    }

    private static List<URI> listeners(String key, String value, boolean paths) {
        List<URI> out = new ArrayList<>();
        for (String part : items(value)) {
            URI uri;
            try {
                uri = URI.create(part);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, "'" + part + "' is not a URL");
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new ConfigException(key, "'" + part + "': a listener is http://host:port or https://host:port");
            }
            if (uri.getHost() == null || uri.getPort() < 0 || uri.getPort() > 65535) {
                throw new ConfigException(key, "'" + part
                        + "' must look like http://host:port (e.g. http://0.0.0.0:8082 or https://0.0.0.0:8443)");
            }
            String path = uri.getRawPath() == null ? "" : uri.getRawPath();
            if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null
                    || !paths && !path.isEmpty() && !path.equals("/")) {
                throw new ConfigException(key, "'" + part + "': " + (paths
                        ? "a URL without user, query or fragment (a path is kept, e.g. https://gateway:443/kafka)"
                        : "a listener binds host:port only (no path, user, query or fragment)"));
            }
            if (paths) { // answers append /consumers/…: no trailing slash, so none doubled
                uri = URI.create(uri.getScheme() + "://" + uri.getRawAuthority() + path.replaceAll("/+$", ""));
            }
            out.add(uri);
        }
        return List.copyOf(out);
    }
}
