package io.portico.protocol;

/**
 * How much a regular expression (Java's syntax) can backtrack without reading a character, as a
 * power of two. {@link BoundedMatch} bounds the characters a match reads, which bounds every
 * other kind of backtracking; this bounds the rest. {@code (?:|)(?:|)…(?:|)(?!)} — forty empty
 * choices, then a failure — makes Java's matcher try 2^40 paths and read nothing; so does
 * {@code (?:a?)?} forty times at the end of the text, where {@code a?} matches empty without
 * reading.
 *
 * <p>Each part of the pattern is known by whether it can match empty, log2 of the ways it can
 * ({@code paths}), and log2 of the steps it can take without reading ({@code work}). In a
 * sequence the ways multiply (their logs add) up to the first part that must read; a group of
 * alternatives adds log2 of how many of them can match empty; an optional part that can itself
 * match empty ({@code (?:a?)?}) adds one; repeats count once (Java's matcher stops an iteration
 * that matched empty). Lookarounds and atomic groups keep their inside's work but match empty one
 * way. An overestimate for what it knows; what it does not parse counts as a character.
 */
public final class RegexChoices {
    /**
     * The most {@link #work} a client's pattern may have: 2^8 steps without reading at each
     * place it is tried. Everyday patterns count 0 to 2.
     */
    public static final int MAX_WORK = 8;

    private RegexChoices() {
    }

    /** Whether a client's {@code regex} may be run (its backtracking bounded by the characters it reads). */
    public static boolean bounded(String regex) {
        return work(regex) <= MAX_WORK;
    }

    /** log2 of the steps {@code regex} (valid Java syntax) can take without reading a character. */
    public static int work(String regex) {
        Node n = new Parser(regex).alternation();
        return (int) Math.min(Integer.MAX_VALUE, n.work());
    }

    private record Node(boolean nullable, long paths, long work) {
        static final Node CHAR = new Node(false, 0, 0);
        static final Node EMPTY = new Node(true, 0, 0);
    }

    private static long sat(long v) {
        return v < 0 || v > Integer.MAX_VALUE ? Integer.MAX_VALUE : v;
    }

    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        private boolean at(char c) {
            return i < s.length() && s.charAt(i) == c;
        }

        /** Alternatives up to a ')' at this depth or the end. */
        Node alternation() {
            Node first = sequence();
            if (!at('|')) {
                return first;
            }
            int nullable = first.nullable() ? 1 : 0;
            long paths = first.nullable() ? first.paths() : 0;
            long work = first.work();
            while (at('|')) {
                i++;
                Node a = sequence();
                work = Math.max(work, a.work());
                if (a.nullable()) {
                    nullable++;
                    paths = Math.max(paths, a.paths());
                }
            }
            if (nullable == 0) {
                return new Node(false, 0, work);
            }
            long extra = 64 - Long.numberOfLeadingZeros(nullable - 1L); // ceil(log2(nullable))
            long all = sat(paths + extra);
            return new Node(true, all, Math.max(work, all));
        }

        Node sequence() {
            boolean nullable = true;
            long paths = 0; // log2 of the ways the parts so far matched empty
            long work = 0;
            while (i < s.length() && !at('|') && !at(')')) {
                Node part = quantified(atom());
                if (nullable) { // reached without reading
                    work = Math.max(work, sat(paths + part.work()));
                    if (part.nullable()) {
                        paths = sat(paths + part.paths());
                        work = Math.max(work, paths);
                    } else {
                        nullable = false;
                    }
                }
            }
            return new Node(nullable, nullable ? paths : 0, work);
        }

        Node atom() {
            char c = s.charAt(i);
            switch (c) {
                case '(':
                    return group();
                case '[':
                    skipClass();
                    return Node.CHAR;
                case '\\':
                    return escape();
                case '^':
                case '$':
                    i++;
                    return Node.EMPTY;
                default:
                    i++;
                    return Node.CHAR;
            }
        }

        Node group() {
            i++; // (
            boolean lookaround = false;
            boolean atomic = false;
            if (at('?')) {
                i++;
                if (at('=') || at('!')) {
                    lookaround = true;
                    i++;
                } else if (at('>')) {
                    atomic = true;
                    i++;
                } else if (at('<') && i + 1 < s.length() && (s.charAt(i + 1) == '=' || s.charAt(i + 1) == '!')) {
                    lookaround = true;
                    i += 2;
                } else if (at('<')) { // (?<name>
                    int end = s.indexOf('>', i);
                    i = end < 0 ? s.length() : end + 1;
                } else {
                    // (?:  or inline flags: (?i) alone, or (?i:
                    while (i < s.length() && !at(':') && !at(')')) {
                        i++;
                    }
                    if (at(')')) {
                        i++;
                        return Node.EMPTY;
                    }
                    if (at(':')) {
                        i++;
                    }
                }
            }
            Node inner = alternation();
            if (at(')')) {
                i++;
            }
            if (lookaround) {
                return new Node(true, 0, inner.work());
            }
            if (atomic) {
                return new Node(inner.nullable(), 0, inner.work());
            }
            return inner;
        }

        Node escape() {
            i++; // the backslash
            if (i >= s.length()) {
                return Node.CHAR;
            }
            char e = s.charAt(i++);
            switch (e) {
                case 'b', 'B', 'A', 'z', 'Z', 'G':
                    return Node.EMPTY;
                case 'Q': {
                    int end = s.indexOf("\\E", i);
                    boolean any = end < 0 ? i < s.length() : end > i;
                    i = end < 0 ? s.length() : end + 2;
                    return any ? Node.CHAR : Node.EMPTY;
                }
                case 'p', 'P', 'N', 'x':
                    if (at('{')) {
                        int end = s.indexOf('}', i);
                        i = end < 0 ? s.length() : end + 1;
                    } else if (e == 'x') {
                        i = Math.min(s.length(), i + 2);
                    } else {
                        i = Math.min(s.length(), i + 1);
                    }
                    return Node.CHAR;
                case 'u':
                    i = Math.min(s.length(), i + 4);
                    return Node.CHAR;
                case 'c':
                    i = Math.min(s.length(), i + 1);
                    return Node.CHAR;
                case '0':
                    for (int n = 0; n < 3 && i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '7'; n++) {
                        i++;
                    }
                    return Node.CHAR;
                case 'k':
                    if (at('<')) {
                        int end = s.indexOf('>', i);
                        i = end < 0 ? s.length() : end + 1;
                    }
                    return Node.EMPTY; // a back reference: its group may have matched empty
                default:
                    if (e >= '1' && e <= '9') {
                        while (i < s.length() && Character.isDigit(s.charAt(i))) {
                            i++;
                        }
                        return Node.EMPTY;
                    }
                    return Node.CHAR;
            }
        }

        /** Past a character class, nested ones and escapes included; a ']' first in a class is a character. */
        void skipClass() {
            int depth = 0;
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c == '\\') {
                    i++;
                } else if (c == '[') {
                    depth++;
                    if (at('^')) {
                        i++;
                    }
                    if (at(']')) {
                        i++;
                    }
                } else if (c == ']' && --depth == 0) {
                    return;
                }
            }
        }

        Node quantified(Node atom) {
            while (i < s.length()) {
                char q = s.charAt(i);
                long min;
                boolean optional;
                if (q == '?') {
                    min = 0;
                    optional = true;
                    i++;
                } else if (q == '*') {
                    min = 0;
                    optional = false;
                    i++;
                } else if (q == '+') {
                    min = 1;
                    optional = false;
                    i++;
                } else if (q == '{' && i + 1 < s.length() && Character.isDigit(s.charAt(i + 1))) {
                    int end = s.indexOf('}', i);
                    if (end < 0) {
                        return atom;
                    }
                    String bound = s.substring(i + 1, end);
                    int comma = bound.indexOf(',');
                    String low = (comma < 0 ? bound : bound.substring(0, comma)).trim();
                    min = low.chars().allMatch(ch -> ch == '0') ? 0 : 1; // only whether it may be none
                    optional = false;
                    i = end + 1;
                } else {
                    return atom;
                }
                if (at('?') || at('+')) {
                    i++; // lazy or possessive: counted as greedy
                }
                if (atom.nullable()) {
                    // Taking it (matching empty, in its ways) or not: one more choice for '?';
                    // Java stops a repeat's iteration that matched empty, so a repeat adds one too.
                    long paths = sat(atom.paths() + 1);
                    atom = new Node(true, paths, Math.max(atom.work(), paths));
                } else {
                    atom = new Node(min == 0 || optional, 0, atom.work());
                }
            }
            return atom;
        }
    }
}
