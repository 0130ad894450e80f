package io.portico.schemas;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * What avro's reader walks in a schema, counted once per schema, not once per path. Avro asks how
 * few bytes an item of an array or map may take ({@code GenericDatumReader.isZeroByteSchema} and
 * the check of each block's count) by walking the item's records field by field, each record as
 * often as paths lead to it: a record named by two fields of each of 60 nested records is walked
 * 2^60 times, and it does so as a schema is checked and for every block of every array it reads.
 * A schema's text is a client's, and its parse (on a shared pool, inside a cache's loader) and each
 * record of it must not take a thread for good, so {@link #requireBounded} refuses what avro would
 * walk too long, and {@link #zeroBytes} answers avro's question in time linear in the schema.
 */
final class AvroPaths {
    /**
     * The most steps avro's walk of one array's or map's item type may take: far more than the
     * fields an item of any schema written by hand holds (it counts each field of each record
     * within the item, through records only, as often as it is reached), and a few milliseconds of
     * work for each block avro reads.
     */
    static final long MAX_WALK = 100_000;

    /**
     * The most steps of all the schema's records' walks together: what avro's JSON decoder lays
     * out for a schema (it flattens each record, inlining the records of its fields once per path
     * to them) and what a check of a datum walks, within a few megabytes and milliseconds.
     */
    static final long MAX_EXPANDED = 200_000;

    /** The largest {@code fixed}: a value of it is allocated whole before its bytes are read. */
    static final int MAX_FIXED = 1 << 20;

    private AvroPaths() {
    }

    /**
     * @throws ParsedSchema.InvalidSchemaException when a record holds itself through fields that
     *         are records only (no union, array or map on the way: no value of it is finite),
     *         avro's walk of a record or of an array's or map's item type would take more than
     *         {@value #MAX_WALK} steps, its records', arrays' and maps' walks more than
     *         {@value #MAX_EXPANDED} together, or a {@code fixed} is larger than {@value #MAX_FIXED} bytes
     * @return those walks together: about what avro's JSON decoder lays out for the schema
     */
    static long requireBounded(Schema schema) {
        Map<Schema, Long> walks = new IdentityHashMap<>();
        long expanded = 0;
        Deque<Schema> pending = new ArrayDeque<>();
        Map<Schema, Boolean> seen = new IdentityHashMap<>();
        pending.push(schema);
        while (!pending.isEmpty()) {
            Schema s = pending.pop();
            if (seen.put(s, Boolean.TRUE) != null) {
                continue;
            }
            switch (s.getType()) {
                case RECORD -> {
                    // Refuses a loop through records alone, and a record reached by too many paths
                    // (each record named twice by the one before it: 2^60 paths in 60 records).
                    expanded = requireExpansion(expanded + requireShortWalk(s, walks, "the record " + s.getFullName()));
                    s.getFields().forEach(f -> pending.push(f.schema()));
                }
                case FIXED -> {
                    if (s.getFixedSize() > MAX_FIXED) {
                        throw new ParsedSchema.InvalidSchemaException("the fixed " + s.getFullName() + " of "
                                + s.getFixedSize() + " bytes is larger than " + MAX_FIXED + " bytes");
                    }
                }
                case ARRAY -> {
                    // Each array is laid out with its items' records inlined, as each record is.
                    expanded = requireExpansion(expanded + requireShortWalk(s.getElementType(), walks, "an array's items"));
                    pending.push(s.getElementType());
                }
                case MAP -> {
                    expanded = requireExpansion(expanded + requireShortWalk(s.getValueType(), walks, "a map's values"));
                    pending.push(s.getValueType());
                }
                case UNION -> s.getTypes().forEach(pending::push);
                default -> {
                }
            }
        }
        return expanded;
    }

    private static long requireExpansion(long expanded) {
        if (expanded > MAX_EXPANDED) {
            throw new ParsedSchema.InvalidSchemaException("its records, arrays and maps hold more than " + MAX_EXPANDED
                    + " fields in all, counting a record's fields once for each path to it");
        }
        return expanded;
    }

    private static long requireShortWalk(Schema item, Map<Schema, Long> walks, String what) {
        long steps = walk(item, walks, new IdentityHashMap<>());
        if (steps > MAX_WALK) {
            throw new ParsedSchema.InvalidSchemaException("the records of " + what + " (" + item.getFullName()
                    + ") are reached by more than " + MAX_WALK + " paths through their fields (a record named by "
                    + "several fields of several records in turn); avro's reader walks each path");
        }
        return steps;
    }

    /**
     * The steps of avro's walk of {@code s} (one per schema met, records entered through their
     * fields), at most {@link #MAX_WALK} + 1; memoized per record.
     */
    private static long walk(Schema s, Map<Schema, Long> walks, Map<Schema, Boolean> inside) {
        if (s.getType() != Schema.Type.RECORD) {
            return 1; // avro does not go into unions, arrays or maps
        }
        Long known = walks.get(s);
        if (known != null) {
            return known;
        }
        if (inside.put(s, Boolean.TRUE) != null) {
            throw new ParsedSchema.InvalidSchemaException("the record " + s.getFullName() + " holds itself through "
                    + "fields that are records (no union, array or map on the way): no value of it is finite");
        }
        long steps = 1;
        for (Schema.Field f : s.getFields()) {
            steps = Math.min(MAX_WALK + 1, steps + walk(f.schema(), walks, inside));
        }
        inside.remove(s);
        walks.put(s, steps);
        return steps;
    }

    /**
     * Whether an item of {@code s} may take no bytes at all, as avro's
     * {@code GenericDatumReader.isZeroByteSchema} answers, each record's answer computed once in
     * {@code known} (a record met again inside itself counts no bytes, as avro counts it).
     */
    static boolean zeroBytes(Schema s, Map<Schema, Boolean> known) {
        switch (s.getType()) {
            case NULL:
                return true;
            case FIXED:
                return s.getFixedSize() == 0;
            case RECORD: {
                Boolean answer = known.get(s);
                if (answer != null) {
                    return answer;
                }
                known.put(s, Boolean.TRUE); // inside itself
                boolean zero = true;
                for (Schema.Field f : s.getFields()) {
                    if (!zeroBytes(f.schema(), known)) {
                        zero = false;
                        break;
                    }
                }
                known.put(s, zero);
                return zero;
            }
            default:
                return false;
        }
    }
}
