package io.portico.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A parsed media type or media range: {@code type/subtype} in lower case, and the {@code q}
 * weight it carried (1 when absent). Other parameters ({@code charset}, …) are ignored, as
 * the Kafka REST media types have no parameters that matter.
 */
public record MediaType(String type, String subtype, double quality) {

    public static final MediaType ANY = new MediaType("*", "*", 1.0);

    public MediaType {
        type = type.toLowerCase(Locale.ROOT);
        subtype = subtype.toLowerCase(Locale.ROOT);
    }

    /**
     * Parses one media type, e.g. {@code "application/json; charset=utf-8"}. Never throws: null when
     * the value is not {@code type/subtype} with both parts HTTP tokens (letters, digits and
     * {@code !#$%&'*+-.^_`|~}), spaces and tabs around it allowed. Parameters other than {@code q}
     * are ignored whatever their form; a {@code q} that is not a number from 0 to 1 counts as 0.
     */
    public static MediaType parse(String value) {
        if (value == null) {
            return null;
        }
        if (value.length() > MEMO_MAX_LENGTH) {
            return parseFresh(value);
        }
        // Clients send the same few Content-Type and Accept values again and again: the newest
        // parse of each of a few slots is kept (a value's hash picks its slot). Slots are read and
        // written without locking: a read may see null or any Memo written before, each whole (its
        // fields are final), and takes it only when it is this value's.
        int slot = value.hashCode() & (MEMO.length - 1);
        Memo memo = MEMO[slot];
        if (memo != null && memo.value.equals(value)) {
            return memo.type;
        }
        MediaType type = parseFresh(value);
        MEMO[slot] = new Memo(value, type);
        return type;
    }

    /** Values longer than this are parsed every time rather than kept. */
    private static final int MEMO_MAX_LENGTH = 128;
    private static final Memo[] MEMO = new Memo[32];

    /** A value and what it parsed to (null when it did not parse). */
    private record Memo(String value, MediaType type) {
    }

    private static MediaType parseFresh(String value) {
        int semicolon = value.indexOf(';');
        String essence = withoutOws(semicolon < 0 ? value : value.substring(0, semicolon));
        int slash = essence.indexOf('/');
        if (slash < 0 || !isToken(essence, 0, slash) || !isToken(essence, slash + 1, essence.length())) {
            return null;
        }
        double q = 1.0;
        String[] params = semicolon < 0 ? new String[0] : value.substring(semicolon + 1).split(";");
        for (String param : params) {
            int eq = param.indexOf('=');
            if (eq > 0 && param.substring(0, eq).trim().equalsIgnoreCase("q")) {
                try {
                    q = Double.parseDouble(param.substring(eq + 1).trim());
                } catch (NumberFormatException e) {
                    q = 0; // an unreadable weight makes the range unusable, as if q=0
                }
                if (!(q >= 0 && q <= 1)) {
                    q = 0;
                }
            }
        }
        return new MediaType(essence.substring(0, slash), essence.substring(slash + 1), q);
    }

    /** {@code s} without the spaces and tabs (HTTP's optional white space) at either end. */
    private static String withoutOws(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && (s.charAt(from) == ' ' || s.charAt(from) == '\t')) {
            from++;
        }
        while (to > from && (s.charAt(to - 1) == ' ' || s.charAt(to - 1) == '\t')) {
            to--;
        }
        return s.substring(from, to);
    }

    /** Whether {@code s[from, to)} is a non-empty HTTP token (RFC 9110 section 5.6.2). */
    private static boolean isToken(String s, int from, int to) {
        if (from >= to) {
            return false;
        }
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            boolean tchar = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!tchar) {
                return false;
            }
        }
        return true;
    }

    /**
     * Parses an {@code Accept} header into its ranges. A missing or blank header means {@code *}{@code /*}.
     * Never throws: elements that do not {@link #parse} are skipped; a header with none that parse
     * yields an empty list (which accepts nothing: the caller answers 406).
     */
    public static List<MediaType> parseAccept(String header) {
        List<MediaType> ranges = new ArrayList<>();
        if (header == null || header.isBlank()) {
            ranges.add(ANY);
            return ranges;
        }
        for (String element : header.split(",")) {
            if (element.isBlank()) {
                continue;
            }
            MediaType range = parse(element);
            if (range != null) {
                ranges.add(range);
            }
        }
        return ranges;
    }

    /** {@code type/subtype}, without parameters. */
    public String essence() {
        return type + "/" + subtype;
    }

    /** How specifically this range matches {@code concrete}: 3 exact, 2 type/*, 1 any, 0 no match. */
    int specificityFor(MediaType concrete) {
        if (type.equals("*")) {
            return subtype.equals("*") ? 1 : 0;
        }
        if (!type.equals(concrete.type)) {
            return 0;
        }
        if (subtype.equals("*")) {
            return 2;
        }
        return subtype.equals(concrete.subtype) ? 3 : 0;
    }

    @Override
    public String toString() {
        return essence();
    }
}
