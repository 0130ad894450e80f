package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * {@link AvroJsonWriter} against avro's own path ({@link AvroFormat#throughAvro}): every value the
 * writer takes comes out as the same bytes, every value it declines is still answered by avro as
 * before, and the values avro's JSON encoder writes are all taken.
 */
class AvroJsonWriterTest {
    private static final String EVERYTHING = """
            {"type":"record","name":"Everything","namespace":"t","fields":[
              {"name":"n","type":"null"},
              {"name":"b","type":"boolean"},
              {"name":"i","type":"int"},
              {"name":"l","type":"long"},
              {"name":"f","type":"float"},
              {"name":"d","type":"double"},
              {"name":"s","type":"string"},
              {"name":"by","type":"bytes"},
              {"name":"fx","type":{"type":"fixed","name":"Four","size":4}},
              {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
              {"name":"a","type":{"type":"array","items":"int"}},
              {"name":"m","type":{"type":"map","values":"string"}},
              {"name":"u","type":["null","string",{"type":"record","name":"Inner","fields":[{"name":"x","type":"int"}]}]},
              {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}
            ]}""";

    private static final String CANONICAL = "{\"n\":null,\"b\":true,\"i\":-7,\"l\":12345678901,\"f\":1.5,\"d\":-2.25e10,"
            + "\"s\":\"h\\u00e9llo \\ud83d\\ude00\",\"by\":\"\\u0000\\u00ff\",\"fx\":\"abcd\",\"e\":\"GREEN\","
            + "\"a\":[1,2,3],\"m\":{\"k\":\"v\"},\"u\":{\"t.Inner\":{\"x\":5}},\"ts\":1700000000000}";

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** avro's bytes for {@code json}, or null when avro refuses it. */
    private static byte[] reference(AvroFormat format, byte[] json) {
        try {
            return format.throughAvro(json);
        } catch (ParsedSchema.InvalidDataException e) {
            return null;
        }
    }

    /** Asserts that the writer's answer, when it gives one, is avro's; returns whether it gave one. */
    private static boolean agrees(AvroFormat format, Schema schema, String json) {
        byte[] text = utf8(json);
        byte[] expected = reference(format, text);
        byte[] written = new AvroJsonWriter(schema).write(text, 0);
        if (written != null) {
            assertNotNull(expected, () -> "avro refuses what the writer took: " + json);
            assertArrayEquals(expected, written, json);
        }
        if (expected == null) {
            assertThrows(ParsedSchema.InvalidDataException.class, () -> format.encode(text), json);
        } else {
            assertArrayEquals(expected, format.encode(text), json);
            byte[] framed = format.encodeFramed(0x01020304, text);
            assertArrayEquals(Framing.frame(0x01020304, expected), framed, json);
        }
        return written != null;
    }

    @Test
    void everyTypeInItsCanonicalShapeIsWrittenAsAvroWritesIt() {
        AvroFormat format = AvroFormat.parse(EVERYTHING);
        Schema schema = new Schema.Parser().parse(EVERYTHING);
        assertTrue(agrees(format, schema, CANONICAL));
        assertTrue(agrees(format, schema, CANONICAL.replace("\"u\":{\"t.Inner\":{\"x\":5}}", "\"u\":null")));
        assertTrue(agrees(format, schema, CANONICAL.replace("\"u\":{\"t.Inner\":{\"x\":5}}", "\"u\":{\"string\":\"x\"}")));
        assertTrue(agrees(format, schema, CANONICAL.replace("[1,2,3]", "[]").replace("{\"k\":\"v\"}", "{}")));
        // integers where floats are wanted, and the extremes of int and long
        assertTrue(agrees(format, schema, CANONICAL.replace("1.5", "3").replace("-2.25e10", "-2")));
        assertTrue(agrees(format, schema, CANONICAL.replace("-7", "-2147483648").replace("12345678901", "9223372036854775807")));
        assertTrue(agrees(format, schema, CANONICAL.replace("-7", "2147483647").replace("12345678901", "-9223372036854775808")));
        // a float beyond float's range, and a lone surrogate in a string: the same bytes as avro's
        assertTrue(agrees(format, schema, CANONICAL.replace("1.5", "1e39").replace("-2.25e10", "1e400")));
        assertTrue(agrees(format, schema, CANONICAL.replace("h\\u00e9llo", "\\ud800x")));
        // characters past 255 in bytes become '?' in both
        assertTrue(agrees(format, schema, CANONICAL.replace("\\u0000\\u00ff", "\\u0100")));
    }

    @Test
    void avrosDecoderKeptForTheNextValueReadsItAsANewOneWouldAfterAFailureMidValue() {
        AvroFormat kept = AvroFormat.parse(EVERYTHING);
        byte[] good = utf8(CANONICAL);
        byte[] expected = AvroFormat.parse(EVERYTHING).throughAvro(good);
        for (String bad : List.of(CANONICAL.replace("\"GREEN\"", "\"BLUE\""), CANONICAL.substring(0, 40), "[1,2")) {
            assertThrows(ParsedSchema.InvalidDataException.class, () -> kept.throughAvro(utf8(bad)), bad);
            assertArrayEquals(expected, kept.throughAvro(good), "after " + bad);
        }
    }

    /** What avro's generic reader keeps in its static cache for this thread, by schema. */
    @SuppressWarnings("unchecked")
    private static java.util.Map<Schema, ?> avrosResolversOfThisThread() throws ReflectiveOperationException {
        java.lang.reflect.Field f = org.apache.avro.generic.GenericDatumReader.class.getDeclaredField("RESOLVER_CACHE");
        f.setAccessible(true);
        return ((ThreadLocal<java.util.Map<Schema, ?>>) f.get(null)).get();
    }

    /** What avro's fast reader (the generic reader's default) keeps for the whole process, by schema. */
    private static java.util.Map<?, ?> avrosFastReaders() throws ReflectiveOperationException {
        java.lang.reflect.Field f = org.apache.avro.io.FastReaderBuilder.class.getDeclaredField("readerCache");
        f.setAccessible(true);
        return (java.util.Map<?, ?>) f.get(org.apache.avro.generic.GenericData.get().getFastReaderBuilder());
    }

    @Test
    void readingThroughAvroLeavesNothingInAvrosCaches() throws Exception {
        // Avro's reader keeps a reader per record schema in caches of its own, uncounted, which
        // never let go of it: each holds the schema it is cached under (weakly).
        String list = "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
                + "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}";
        int resolvers = avrosResolversOfThisThread().size();
        int fast = avrosFastReaders().size();
        for (int i = 0; i < 20; i++) { // a schema parsed again (evicted from the caches, say) is another key
            // Parsed on another thread, as schemas are (avro's reader keeps what the thread that
            // made it needs in itself, what other threads need in its caches).
            java.util.concurrent.FutureTask<AvroFormat> parsed = new java.util.concurrent.FutureTask<>(() -> AvroFormat.parse(list));
            new Thread(parsed).start();
            AvroFormat format = parsed.get();
            // Fields out of order: not the writer's shape, so avro reads it.
            byte[] bytes = format.throughAvro(utf8("{\"next\":{\"Node\":{\"v\":2,\"next\":null}},\"v\":1}"));
            assertArrayEquals(new byte[] {2, 2, 4, 0}, bytes);
        }
        assertEquals(fast, avrosFastReaders().size(), "avro's process-wide cache of fast readers grew");
        assertEquals(resolvers, avrosResolversOfThisThread().size(), "avro's per-thread cache of resolvers grew");
    }

    @Test
    void otherShapesAreLeftToAvroWhoseAnswerStands() {
        AvroFormat format = AvroFormat.parse(EVERYTHING);
        Schema schema = new Schema.Parser().parse(EVERYTHING);
        List<String> declined = List.of(
                CANONICAL.replace("\"n\":null,\"b\":true", "\"b\":true,\"n\":null"),    // fields out of order: avro takes it
                CANONICAL.replace("\"ts\":1700000000000}", "\"ts\":1700000000000,\"extra\":{\"z\":[1]}}"), // avro skips it
                CANONICAL.replace("{\"n\":null,", "{\"extra\":1,\"n\":null,"),       // avro refuses it
                CANONICAL.replace("\"i\":-7", "\"i\":4.0"),                           // avro takes an integral float
                CANONICAL.replace("\"i\":-7", "\"i\":4.5"),
                CANONICAL.replace("\"i\":-7", "\"i\":2147483648"),
                CANONICAL.replace("\"l\":12345678901", "\"l\":92233720368547758070"),
                CANONICAL.replace("\"f\":1.5", "\"f\":\"NaN\""),
                CANONICAL.replace("\"d\":-2.25e10", "\"d\":\"-Infinity\""),
                CANONICAL.replace("{\"k\":\"v\"}", "{\"k\":\"v\",\"j\":\"w\",\"a\":\"b\"}"), // avro's HashMap order
                CANONICAL.replace("{\"k\":\"v\"}", "{\"k\":\"v\",\"k\":\"w\"}"),
                CANONICAL.replace("\"fx\":\"abcd\"", "\"fx\":\"abc\""),
                CANONICAL.replace("\"e\":\"GREEN\"", "\"e\":\"BLUE\""),
                CANONICAL.replace("{\"t.Inner\":{\"x\":5}}", "{\"Inner\":{\"x\":5}}"),
                CANONICAL.replace("{\"t.Inner\":{\"x\":5}}", "{\"string\":\"a\",\"null\":null}"),
                CANONICAL.replace("{\"t.Inner\":{\"x\":5}}", "\"bare\""),
                CANONICAL.replace(",\"ts\":1700000000000", ""),
                CANONICAL.replace("\"s\":\"h\\u00e9llo \\ud83d\\ude00\"", "\"s\":5"),
                CANONICAL.replace("\"b\":true", "\"b\":1"),
                "[]", "null", "\"x\"");
        for (String json : declined) {
            assertEquals(false, agrees(format, schema, json), json);
        }
    }

    @Test
    void primitivesAtTheTopAndUnionsOfThem() {
        for (String[] c : new String[][] {
                {"\"int\"", "25"}, {"\"long\"", "-1"}, {"\"string\"", "\"\""}, {"\"boolean\"", "false"},
                {"\"null\"", "null"}, {"\"double\"", "0.1"}, {"[\"null\",\"int\"]", "{\"int\":1}"},
                {"[\"null\",\"int\"]", "null"}, {"[\"int\",\"null\"]", "{\"null\":null}"},
                {"{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":\"string\"}}", "[[\"a\"],[],[\"b\",\"c\"]]"},
                {"{\"type\":\"map\",\"values\":\"long\"}", "{\"only\":3}"}}) {
            AvroFormat format = AvroFormat.parse(c[0]);
            assertTrue(agrees(format, new Schema.Parser().parse(c[0]), c[1]), c[0] + " " + c[1]);
        }
        AvroFormat noNull = AvroFormat.parse("[\"int\",\"string\"]");
        assertNull(new AvroJsonWriter(new Schema.Parser().parse("[\"int\",\"string\"]")).write(utf8("null"), 0));
        assertThrows(ParsedSchema.InvalidDataException.class, () -> noNull.encode(utf8("null")));
    }

    @Test
    void recursiveSchemasAliasesAndJavaStringTypes() {
        String list = "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":"
                + "{\"type\":\"string\",\"avro.java.string\":\"String\"}},"
                + "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"aliases\":[\"tail\"]}]}";
        Schema schema = new Schema.Parser().parse(list);
        AvroFormat format = AvroFormat.parse(list);
        assertTrue(agrees(format, schema, "{\"v\":\"a\",\"next\":{\"Node\":{\"v\":\"b\",\"next\":null}}}"));
        // a field by its alias: avro takes it, the writer leaves it to avro
        assertEquals(false, agrees(format, schema, "{\"v\":\"a\",\"tail\":null}"));
        assertNotNull(reference(format, utf8("{\"v\":\"a\",\"tail\":null}")));
    }

    @Test
    void schemasAvrosReaderRefusesOrBoundsBeyondTheJsonAreLeftToAvro() {
        for (String text : new String[] {
                "{\"type\":\"string\",\"avro.java.string\":\"java.lang.String\"}",
                "{\"type\":\"map\",\"values\":\"int\",\"avro.java.string\":\"x\"}",
                "{\"type\":\"array\",\"items\":\"null\"}",
                "{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}}",
                "{\"type\":\"map\",\"values\":{\"type\":\"fixed\",\"name\":\"Z\",\"size\":0}}"}) {
            Schema schema = new Schema.Parser().parse(text);
            assertEquals(false, new AvroJsonWriter(schema).enabled(), text);
            AvroFormat format = AvroFormat.parse(text);
            for (String json : new String[] {"\"x\"", "{\"a\":1}", "[null,null]", "[{},{}]", "{\"k\":\"\"}"}) {
                agrees(format, schema, json);
            }
        }
    }

    @Test
    void anArrayOfManyItemsCarriesItsCountAheadOfThem() {
        String schemaText = "{\"type\":\"array\",\"items\":\"string\"}";
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < 300; i++) { // a count of two varint bytes, inserted ahead of 300 items
            json.append(i == 0 ? "" : ",").append('"').append("item").append(i).append('"');
        }
        assertTrue(agrees(AvroFormat.parse(schemaText), new Schema.Parser().parse(schemaText), json.append(']').toString()));
    }

    /**
     * Random schemas and values, written as avro's JSON encoder writes them (all taken, same bytes),
     * and then altered in the ways clients get them wrong or merely different (same verdict as avro).
     */
    @Test
    void randomSchemasAndValuesAgreeWithAvro() {
        Random random = new Random(20261203);
        int canonical = 0;
        for (int round = 0; round < 300; round++) {
            Generator g = new Generator(random);
            String schemaText = g.schema(0);
            Schema schema = new Schema.Parser().parse(schemaText);
            AvroFormat format = AvroFormat.parse(schemaText);
            for (int v = 0; v < 20; v++) {
                g.bigMap = false;
                String json = g.value(schema, 0, false);
                boolean written = agrees(format, schema, json);
                if (!g.bigMap && new AvroJsonWriter(schema).enabled()) {
                    canonical++;
                    assertTrue(written, () -> "not taken: " + json + " of " + schemaText);
                }
                agrees(format, schema, g.value(schema, 0, true));
            }
        }
        assertTrue(canonical > 3000, "values in the canonical shape: " + canonical);
    }

    /** Portico's answer to which items take no bytes is avro's, for every type of random schemas. */
    @Test
    void zeroByteItemsAreTheOnesAvroCounts() {
        Random random = new Random(20261205);
        int zero = 0;
        for (int round = 0; round < 300; round++) {
            Schema schema = new Schema.Parser().parse(new Generator(random).schema(0));
            java.util.Map<Schema, Boolean> known = new java.util.IdentityHashMap<>();
            java.util.Deque<Schema> pending = new java.util.ArrayDeque<>(List.of(schema));
            java.util.Set<Schema> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            while (!pending.isEmpty()) {
                Schema s = pending.pop();
                if (!seen.add(s)) {
                    continue;
                }
                boolean expected = org.apache.avro.generic.GenericDatumReader.isZeroByteSchema(s);
                assertEquals(expected, AvroPaths.zeroBytes(s, known), s::toString);
                zero += expected ? 1 : 0;
                switch (s.getType()) {
                    case RECORD -> s.getFields().forEach(f -> pending.push(f.schema()));
                    case ARRAY -> pending.push(s.getElementType());
                    case MAP -> pending.push(s.getValueType());
                    case UNION -> s.getTypes().forEach(pending::push);
                    default -> { }
                }
            }
        }
        assertTrue(zero > 50, "types of no bytes: " + zero);
    }

    /** Random avro schemas (as text) and values of them in avro's JSON encoding, optionally altered. */
    static final class Generator {
        private final Random random;
        private int names;
        boolean bigMap;

        Generator(Random random) {
            this.random = random;
        }

        String schema(int depth) {
            int kind = random.nextInt(depth >= 3 ? 9 : 14);
            switch (kind) {
                case 0: return "\"null\"";
                case 1: return "\"boolean\"";
                case 2: return "\"int\"";
                case 3: return "\"long\"";
                case 4: return "\"float\"";
                case 5: return "\"double\"";
                case 6: return "\"string\"";
                case 7: return "\"bytes\"";
                case 8: return "{\"type\":\"enum\",\"name\":\"E" + (names++) + "\",\"symbols\":[\"A\",\"B\",\"C\"]}";
                case 9: return "{\"type\":\"fixed\",\"name\":\"F" + (names++) + "\",\"size\":" + random.nextInt(5) + "}";
                case 10: return "{\"type\":\"array\",\"items\":" + schema(depth + 1) + "}";
                case 11: return "{\"type\":\"map\",\"values\":" + schema(depth + 1) + "}";
                case 12: {
                    // null and up to four other branches of distinct types (a union may not hold two of one type)
                    List<String> branches = new ArrayList<>(List.of("\"null\""));
                    java.util.Set<String> kinds = new java.util.HashSet<>(List.of("null"));
                    for (int i = 0; i < 4; i++) {
                        String branch = schema(depth + 1);
                        String branchKind = branch.startsWith("[") ? "union" : new Schema.Parser().parse(branch).getType()
                                == Schema.Type.RECORD || branch.contains("\"enum\"") || branch.contains("\"fixed\"")
                                ? branch : new Schema.Parser().parse(branch).getType().getName();
                        if (!branchKind.equals("union") && kinds.add(branchKind)) {
                            branches.add(branch);
                        }
                    }
                    java.util.Collections.shuffle(branches, random);
                    return "[" + String.join(",", branches) + "]";
                }
                default:
                    return record(depth + 1);
            }
        }

        private String record(int depth) {
            // the same short name in two namespaces now and then; a field alias now and then
            StringBuilder s = new StringBuilder("{\"type\":\"record\",\"name\":\"R" + (names++ / 2)
                    + "\",\"namespace\":\"ns" + names + "\",\"fields\":[");
            int fields = random.nextInt(5);
            for (int i = 0; i < fields; i++) {
                s.append(i == 0 ? "" : ",").append("{\"name\":\"f").append(i)
                        .append(random.nextInt(4) == 0 ? "\",\"aliases\":[\"g" + i + "\"]" : "\"")
                        .append(",\"type\":").append(schema(depth)).append('}');
            }
            return s.append("]}").toString();
        }

        String value(Schema s, int depth, boolean alter) {
            boolean change = alter && random.nextInt(4) == 0;
            switch (s.getType()) {
                case NULL: return change ? "0" : "null";
                case BOOLEAN: return change ? "\"true\"" : Boolean.toString(random.nextBoolean());
                case INT: {
                    int n = random.nextInt(4) == 0 ? (random.nextBoolean() ? Integer.MIN_VALUE : Integer.MAX_VALUE)
                            : random.nextInt(2000) - 1000;
                    return change ? (random.nextBoolean() ? n + ".0" : Long.toString(n * 10_000_000_000L + 1)) : Integer.toString(n);
                }
                case LONG: {
                    long n = random.nextInt(4) == 0 ? (random.nextBoolean() ? Long.MIN_VALUE : Long.MAX_VALUE) : random.nextLong();
                    return change ? n + "0" : Long.toString(n);
                }
                case FLOAT:
                case DOUBLE: {
                    if (change) {
                        return random.nextBoolean() ? "\"NaN\"" : "\"Infinity\"";
                    }
                    int pick = random.nextInt(6);
                    return pick == 0 ? Integer.toString(random.nextInt(100)) : pick == 1 ? "1e" + (random.nextInt(700) - 350)
                            : pick == 2 ? Long.toString(random.nextLong()) : pick == 3 ? "-0"
                            : pick == 4 ? "16777217" + "0".repeat(random.nextInt(20))
                            : Double.toString(random.nextGaussian() * 1e6);
                }
                case STRING: return change ? "7" : text(false, true);
                case BYTES: return text(true, true);
                case FIXED: {
                    StringBuilder b = new StringBuilder("\"");
                    int size = s.getFixedSize() + (change ? 1 : 0);
                    for (int i = 0; i < size; i++) {
                        b.append(String.format("\\u%04x", random.nextInt(256)));
                    }
                    return b.append('"').toString();
                }
                case ENUM: return change ? "\"Z\"" : "\"" + s.getEnumSymbols().get(random.nextInt(3)) + "\"";
                case ARRAY: {
                    int n = random.nextInt(depth > 2 ? 2 : 4);
                    List<String> items = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        items.add(value(s.getElementType(), depth + 1, alter));
                    }
                    return "[" + String.join(",", items) + "]";
                }
                case MAP: {
                    int n = random.nextInt(depth > 2 ? 2 : 4);
                    bigMap |= n > 1;
                    List<String> entries = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        entries.add(text(false, false) + ":" + value(s.getValueType(), depth + 1, alter));
                    }
                    return "{" + String.join(",", entries) + "}";
                }
                case UNION: {
                    Schema branch = s.getTypes().get(random.nextInt(s.getTypes().size()));
                    if (branch.getType() == Schema.Type.NULL && !change) {
                        return "null";
                    }
                    String label = change && random.nextBoolean() ? "nope" : branch.getFullName();
                    return "{\"" + label + "\":" + value(branch, depth + 1, alter) + "}";
                }
                case RECORD: {
                    List<String> fields = new ArrayList<>();
                    for (Schema.Field f : s.getFields()) {
                        fields.add("\"" + f.name() + "\":" + value(f.schema(), depth + 1, alter));
                    }
                    if (change && !fields.isEmpty()) {
                        switch (random.nextInt(4)) {
                            case 0 -> java.util.Collections.shuffle(fields, random);
                            case 1 -> fields.add("\"extra\":[1,{\"x\":2}]");
                            case 2 -> fields.add(0, "\"extra\":3");
                            default -> fields.remove(random.nextInt(fields.size()));
                        }
                    }
                    return "{" + String.join(",", fields) + "}";
                }
                default:
                    throw new AssertionError(s);
            }
        }

        /**
         * A JSON string of random characters, some escaped, some past the BMP, and lone surrogates
         * when {@code lone} (not in map keys: Jackson's byte parser refuses them in a field name, so
         * they never get past Portico's request parser there).
         */
        private String text(boolean latin1, boolean lone) {
            StringBuilder b = new StringBuilder("\"");
            int n = random.nextInt(6);
            for (int i = 0; i < n; i++) {
                int pick = random.nextInt(10);
                if (pick < 5) {
                    b.append((char) ('a' + random.nextInt(26)));
                } else if (pick < 7) {
                    b.append(String.format("\\u%04x", random.nextInt(latin1 ? 256 : 0x3000)));
                } else if (pick == 7) {
                    b.append(latin1 ? "\\u00e9" : "\ud83d\ude00");
                } else if (pick == 8 && lone) {
                    b.append("\\ud800");
                } else {
                    b.append("\\\"\\\\\\n");
                }
            }
            return b.append('"').toString();
        }
    }
}
