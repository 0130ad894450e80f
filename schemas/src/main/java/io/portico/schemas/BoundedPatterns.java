package io.portico.schemas;

import com.networknt.schema.SchemaException;
import com.networknt.schema.regex.RegularExpression;
import com.networknt.schema.regex.RegularExpressionFactory;
import com.networknt.schema.regex.RegularExpressions;
import io.portico.protocol.BoundedMatch;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The regular expressions of JSON schemas ({@code pattern}, {@code patternProperties}), run as
 * the validator's own JDK ones are but with a bound on their work: a schema's pattern is a
 * client's code, and one that backtracks without end ({@code ^(a+)+$} against a long run of
 * {@code a}s and a {@code b}) would hold a produce thread, and with it every client's produce, for
 * as long as it runs. All the patterns met while one value is validated share one budget of
 * characters read ({@link #within}); past it the value is refused, naming the pattern.
 */
final class BoundedPatterns implements RegularExpressionFactory {
    static final BoundedPatterns INSTANCE = new BoundedPatterns();

    /** Characters a value's patterns may read in all: this many, and {@link #STEPS_PER_BYTE} per byte of it. */
    static final long BASE_STEPS = 100_000;
    static final long STEPS_PER_BYTE = 32;

    private static final ThreadLocal<BoundedMatch.Budget> CURRENT = new ThreadLocal<>();

    private BoundedPatterns() {
    }

    /** Runs {@code work} with no enclosing budget of {@link #within} (see {@link BoundedValidation#apart}). */
    static <T> T apart(Supplier<T> work) {
        BoundedMatch.Budget outer = CURRENT.get();
        CURRENT.remove();
        try {
            return work.get();
        } finally {
            if (outer != null) {
                CURRENT.set(outer);
            }
        }
    }

    /**
     * Runs {@code validation} of {@code bytes} bytes (a value, or a request's values), its
     * patterns sharing one budget; inside another such call, the outer budget is the one charged
     * (a request's values share the request's, so a thousand small values do not get a thousand
     * budgets).
     */
    static <T> T within(long bytes, Supplier<T> validation) {
        if (CURRENT.get() != null) {
            return validation.get();
        }
        CURRENT.set(new BoundedMatch.Budget(BASE_STEPS + STEPS_PER_BYTE * bytes));
        try {
            return validation.get();
        } finally {
            CURRENT.remove();
        }
    }

    @Override
    public RegularExpression getRegularExpression(String regex) {
        // The validator's own rewriting for JSON Schema's dialect ($ anchors, \p{Letter} names).
        String java = RegularExpressions.replaceLongformCharacterProperties(RegularExpressions.replaceDollarAnchors(regex));
        Pattern pattern = Pattern.compile(java);
        if (!io.portico.protocol.RegexChoices.bounded(java)) {
            // Backtracking through choices that read nothing is not bounded by the reads counted below.
            throw new SchemaException("the pattern " + shown(regex) + " has too many choices that match empty "
                    + "(empty alternatives, optional parts that may be empty) to be matched in bounded time");
        }
        return text -> {
            BoundedMatch.Budget budget = CURRENT.get();
            try {
                return BoundedMatch.find(pattern, text, budget != null ? budget : new BoundedMatch.Budget(BASE_STEPS));
            } catch (BoundedMatch.TooMuchWork e) {
                throw new SchemaException("the pattern " + shown(regex) + " took too long to match ("
                        + (budget != null ? "the patterns of a value, or of a request's values, may read " + BASE_STEPS
                                + " characters and " + STEPS_PER_BYTE + " for each of their bytes" : BASE_STEPS
                                + " characters read") + ")");
            }
        };
    }

    private static String shown(String regex) {
        return "/" + (regex.length() > 80 ? regex.substring(0, 80) + "…" : regex) + "/";
    }
}
