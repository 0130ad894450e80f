package io.portico.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.ExecutionConfig;
import com.networknt.schema.ExecutionContext;
import com.networknt.schema.OutputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaException;
import java.util.List;
import java.util.function.Supplier;

/**
 * The validation of JSON values against JSON schemas, with a bound on its work. The validator
 * evaluates a schema once for each path that leads to it, and a schema that refers back to itself
 * twice for the same part of the value ({@code {"properties":{"x":{"allOf":[{"$ref":"#"},
 * {"$ref":"#"}]}}}}) doubles its work with each level the value nests: forty levels, a few hundred
 * bytes, are 2^40 evaluations, and the produce thread would not come back. {@link JsonSchemaPaths}
 * cannot refuse it at parse, as it takes a {@code $ref} back to a schema it is within once a
 * level of the value, which trees and linked lists need. So each keyword the validator evaluates
 * is counted, all the values of a request sharing one budget ({@link #within}), and a validation
 * past it refuses its value.
 *
 * <p>Why a count as values are validated rather than a refusal at parse: it is exact, the work
 * itself being counted, where a parse would have to tell paths that go into the same part of a
 * value from paths that go into different ones through every applicator and reference, and would
 * refuse schemas whose values never fan out (under an {@code if} no value meets, say). The hook is
 * the validator's {@link ExecutionContext}: each schema it evaluates adds each of its keywords to
 * the context's evaluation path ({@link ExecutionContext#evaluationPathAddLast(String)}), which
 * {@link Counted} charges.
 */
final class BoundedValidation {
    /**
     * Keywords the values of a request may evaluate in all: this many, and {@link #STEPS_PER_BYTE}
     * per byte of them. A million (some 50 ms) lets a small value meet the 100,000 schemas a
     * schema may expand to ({@link JsonSchemaPaths}), a few keywords each; 64 a byte is twice what
     * an array of small objects each checked against a {@code oneOf} of twenty object schemas
     * takes, and a MiB of values at most a few seconds.
     */
    static final long BASE_STEPS = 1_000_000;
    static final long STEPS_PER_BYTE = 64;

    private static final ThreadLocal<long[]> CURRENT = new ThreadLocal<>();

    private BoundedValidation() {
    }

    /**
     * Runs {@code validation} of {@code bytes} bytes (a value, or a request's values), its
     * keywords sharing one budget, and its patterns another ({@link BoundedPatterns#within});
     * inside another such call, the outer budgets are the ones charged.
     */
    static <T> T within(long bytes, Supplier<T> validation) {
        if (CURRENT.get() != null) {
            return BoundedPatterns.within(bytes, validation);
        }
        CURRENT.set(new long[] {BASE_STEPS + STEPS_PER_BYTE * bytes});
        try {
            return BoundedPatterns.within(bytes, validation);
        } finally {
            CURRENT.remove();
        }
    }

    /**
     * The errors of {@code value} under {@code schema}, charged to the budget of the enclosing
     * {@link #within}, or to one of {@link #BASE_STEPS} outside it.
     *
     * @throws SchemaException when the budget is spent
     */
    static List<Error> validate(Schema schema, JsonNode value) {
        long[] budget = CURRENT.get();
        Counted context = new Counted(schema.createExecutionContext().getExecutionConfig(),
                budget != null ? budget : new long[] {BASE_STEPS}, budget != null);
        return schema.validate(context, value, OutputFormat.DEFAULT);
    }

    /**
     * Errors one validation may make (each is kept until the branch that made it ends): a value
     * with errors by the million would hold hundreds of MB before its budget of steps ran out. A
     * hundred thousand leave room for a {@code oneOf} of twenty object schemas (nineteen of which
     * fail) over thousands of items.
     */
    static final int MAX_ERRORS = 100_000;

    /**
     * Runs {@code work} with budgets of its own, not those of the enclosing {@link #within}: the
     * checks of a schema as it is parsed, which a request that registers it must not pay for
     * with its values' budget (nor leave spent for them).
     */
    static <T> T apart(Supplier<T> work) {
        long[] outer = CURRENT.get();
        CURRENT.remove();
        try {
            return BoundedPatterns.apart(work);
        } finally {
            if (outer != null) {
                CURRENT.set(outer);
            }
        }
    }

    /**
     * The validator's context for one validation, charging each keyword it evaluates, each item
     * or property it goes into, each schema it validates (an empty one too, as {@code "items":{}}
     * is for every item: each asks for the errors so far) and each error it makes, of which it
     * may make at most {@link #MAX_ERRORS}.
     */
    private static final class Counted extends ExecutionContext {
        private final long[] left;
        private final boolean shared;
        private int errors;

        Counted(ExecutionConfig config, long[] left, boolean shared) {
            super(config);
            this.left = left;
            this.shared = shared;
        }

        @Override
        public void evaluationPathAddLast(String keyword) {
            charge(1);
            super.evaluationPathAddLast(keyword);
        }

        @Override
        public void evaluationPathAddLast(int index) {
            charge(1);
            super.evaluationPathAddLast(index);
        }

        @Override
        public List<Error> getErrors() {
            charge(1);
            return super.getErrors();
        }

        @Override
        public void addError(Error error) {
            charge(1);
            if (++errors > MAX_ERRORS) {
                throw new SchemaException("validating it made more than " + MAX_ERRORS + " errors: the value is far "
                        + "from fitting the schema");
            }
            super.addError(error);
        }

        private void charge(long steps) {
            left[0] -= steps;
            if (left[0] < 0) {
                throw new SchemaException("validating it took too long (" + (shared ? "the values of a request may "
                        + "take " + BASE_STEPS + " steps and " + STEPS_PER_BYTE + " for each of their bytes"
                        : BASE_STEPS + " steps taken") + ", a step a schema keyword, item or property gone into, "
                        + "or error): its $refs lead to the same schemas by very many paths");
            }
        }
    }
}
