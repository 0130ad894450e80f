package io.portico.protocol;

import java.util.regex.Pattern;

/**
 * Runs a client's regular expression with a bound on its work. Java's matcher backtracks, so a
 * pattern such as {@code (a+)+b} can take longer than any request should on a short string; here
 * the matcher reads the text through a view that counts each character it reads and stops the
 * match with {@link TooMuchWork} once the budget is spent. A backtracking matcher rereads the text
 * at every step it retries, so the count bounds its time.
 */
public final class BoundedMatch {
    private BoundedMatch() {
    }

    /** Whether the whole of {@code text} matches. @throws TooMuchWork past {@code steps} reads */
    public static boolean matches(Pattern pattern, String text, long steps) {
        return pattern.matcher(new CountedText(text, new Budget(steps))).matches();
    }

    /** As {@link #matches(Pattern, String, long)}, its reads taken from {@code budget}. */
    public static boolean matches(Pattern pattern, String text, Budget budget) {
        return pattern.matcher(new CountedText(text, budget)).matches();
    }

    /**
     * Whether some part of {@code text} matches, its reads taken from {@code budget}, which
     * several matches may share (the strings of one value, say).
     *
     * @throws TooMuchWork once the budget is spent
     */
    public static boolean find(Pattern pattern, String text, Budget budget) {
        return pattern.matcher(new CountedText(text, budget)).find();
    }

    /** The match was stopped: it read more characters than its budget. */
    public static final class TooMuchWork extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooMuchWork() {
            super("too much work", null, false, false);
        }
    }

    /** Characters a matcher may still read; not for use by two threads at once. */
    public static final class Budget {
        private long left;

        public Budget(long left) {
            this.left = left;
        }

        /** Reads left (below zero once a match was stopped). */
        public long left() {
            return left;
        }
    }

    /** A text whose characters may be read only so many times in all, its parts' reads included. */
    private static final class CountedText implements CharSequence {
        private final String text;
        private final Budget budget;

        CountedText(String text, Budget budget) {
            this.text = text;
            this.budget = budget;
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public char charAt(int index) {
            if (--budget.left < 0) {
                throw new TooMuchWork();
            }
            return text.charAt(index);
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new CountedText(text.substring(start, end), budget);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
