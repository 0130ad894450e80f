package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Schemas whose size or shape would let one client's schema take a shared thread for good: each
 * is refused as invalid (42205) in time, while schemas of the same kinds within the bounds work.
 */
class SchemaBoundsTest {
    /** Far longer than any of these takes when bounded; without the bounds they run for days. */
    private static final Duration PATIENCE = Duration.ofSeconds(20);

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Records R0 to R(n-1), each with a field {@code a} defining the next record inline and a
     * field {@code b} naming it: R0 is reached by 2^n paths, though its text grows linearly.
     */
    static String avroChain(int n) {
        String inner = "{\"type\":\"record\",\"name\":\"R" + n + "\",\"fields\":[{\"name\":\"z\",\"type\":\"null\"}]}";
        for (int i = n - 1; i >= 0; i--) {
            inner = "{\"type\":\"record\",\"name\":\"R" + i + "\",\"fields\":[{\"name\":\"a\",\"type\":" + inner
                    + "},{\"name\":\"b\",\"type\":\"R" + (i + 1) + "\"}]}";
        }
        return inner;
    }

    /** A value of {@link #avroChain}{@code (n)}'s R0 in avro's JSON encoding. */
    private static String avroChainValue(int n) {
        String v = "{\"z\":null}";
        for (int i = 0; i < n; i++) {
            v = "{\"a\":" + v + ",\"b\":" + v + "}";
        }
        return v;
    }

    @Test
    void anAvroSchemaWhoseRecordsAreReachedByVeryManyPathsIsRefusedAtOnce() {
        // 2^60 paths to the last record: avro's check of an array's items walks every one of them.
        String wrapped = "{\"type\":\"array\",\"items\":" + avroChain(60) + "}";
        RestException e = assertTimeoutPreemptively(PATIENCE,
                () -> assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO, wrapped)));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertTrue(e.getMessage().contains("paths"), e.getMessage());
        // In a map too.
        assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO,
                "{\"type\":\"map\",\"values\":" + avroChain(60) + "}"));
        // The same shape a few levels deep is fine: written, and read back.
        ParsedSchema few = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"array\",\"items\":" + avroChain(4) + "}");
        String json = "[" + avroChainValue(4) + "]";
        assertEquals(json, new String(few.toJson(few.encodeFramed(1, utf8(json))), StandardCharsets.UTF_8));
        // Not in an array or a map either: avro's JSON decoder lays each path out, and a check walks each.
        e = assertTimeoutPreemptively(PATIENCE,
                () -> assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO, avroChain(60))));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertTrue(e.getMessage().contains("paths"), e.getMessage());
        // Nor in a union: each of its records is laid out.
        assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO, "[\"null\"," + avroChain(60) + "]"));
    }

    @Test
    void anAvroSchemaWhoseRecordsTogetherExpandTooFarIsRefused() {
        // Each record within MAX_WALK, 25 of them in a union each reaching 2^13 paths: 200,000+ laid out in all.
        StringBuilder union = new StringBuilder("[\"null\"");
        for (int i = 0; i < 25; i++) {
            union.append(",").append(avroChain(13).replace("\"R", "\"U" + i + "R"));
        }
        RestException e = assertTimeoutPreemptively(PATIENCE, () -> assertThrows(RestException.class,
                () -> SchemaService.parse(SchemaType.AVRO, union.append("]").toString())));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertTrue(e.getMessage().contains("fields in all"), e.getMessage());
        // A few of them are fine.
        SchemaService.parse(SchemaType.AVRO, "[\"null\"," + avroChain(13) + "]");
        // Arrays count too: each is laid out with its items' records inlined.
        StringBuilder arrays = new StringBuilder("{\"type\":\"record\",\"name\":\"Top\",\"fields\":[{\"name\":\"f0\","
                + "\"type\":{\"type\":\"array\",\"items\":" + avroChain(14) + "}}");
        for (int i = 1; i < 10; i++) {
            arrays.append(",{\"name\":\"f").append(i).append("\",\"type\":{\"type\":\"array\",\"items\":\"R0\"}}");
        }
        e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO, arrays.append("]}").toString()));
        assertTrue(e.getMessage().contains("fields in all"), e.getMessage());
    }

    @Test
    void anAvroFixedLargerThanAMebibyteIsRefusedAndOneLargerThanItsRecordIsNotAllocated() {
        RestException e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO,
                "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2147483639}"));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertTrue(e.getMessage().contains("fixed"), e.getMessage());
        ParsedSchema mebibyte = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1048576}");
        ParsedSchema.InvalidDataException read = assertThrows(ParsedSchema.InvalidDataException.class, () -> mebibyte.toJson(Framing.frame(1, new byte[] {1, 2})));
        assertTrue(read.getMessage().contains("fixed of 1048576 bytes in a datum of 2"), read.getMessage());
    }

    @Test
    void aCheckOfItemsOfNoBytesStopsWhenItsStepsRunOut() {
        // Each item is 49,151 steps of records whose fields are null; 500,000 items are declared in a few bytes.
        ParsedSchema parsed = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"record\",\"name\":\"Top\",\"fields\":["
                + "{\"name\":\"pad\",\"type\":\"bytes\"},{\"name\":\"xs\",\"type\":{\"type\":\"array\",\"items\":"
                + avroChain(14) + "}}]}");
        java.io.ByteArrayOutputStream message = new java.io.ByteArrayOutputStream();
        try {
            org.apache.avro.io.BinaryEncoder out = org.apache.avro.io.EncoderFactory.get().directBinaryEncoder(message, null);
            out.writeBytes(new byte[65_536]);
            out.writeLong(500_000); // one block of items, no bytes each
            out.writeLong(0);
            out.flush();
        } catch (java.io.IOException impossible) {
            throw new AssertionError(impossible);
        }
        ParsedSchema.InvalidDataException e = assertTimeoutPreemptively(PATIENCE, () -> assertThrows(
                ParsedSchema.InvalidDataException.class, () -> parsed.check(message.toByteArray(), false)));
        assertTrue(e.getMessage().contains("steps"), e.getMessage());
    }

    @Test
    void anAvroRecordThatHoldsItselfWithoutAUnionOrACollectionIsRefused() {
        // No value of it is finite, and avro's check of an array of it walks every simple path of its records.
        RestException e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO,
                "{\"type\":\"record\",\"name\":\"Loop\",\"fields\":[{\"name\":\"self\",\"type\":\"Loop\"}]}"));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertTrue(e.getMessage().contains("Loop"), e.getMessage());
        // Through a union it is a linked list, as before.
        SchemaService.parse(SchemaType.AVRO, "{\"type\":\"record\",\"name\":\"Node\",\"fields\":"
                + "[{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}");
    }

    /** An avro record whose doc is {@code chars} characters long. */
    private static String withDoc(int chars) {
        return "{\"type\":\"record\",\"name\":\"Big\",\"doc\":\"" + "d".repeat(chars) + "\",\"fields\":"
                + "[{\"name\":\"n\",\"type\":\"int\"}]}";
    }

    @Test
    void aSchemaTextLongerThanTheBoundIsRefusedBeforeItIsParsed() throws Exception {
        RestException e = assertThrows(RestException.class,
                () -> SchemaService.parse(SchemaType.AVRO, withDoc(SchemaService.MAX_SCHEMA_CHARS)));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertTrue(e.getMessage().contains(SchemaService.MAX_SCHEMA_CHARS + " characters"), e.getMessage());
        for (SchemaType type : SchemaType.values()) {
            // not even read as JSON or .proto: the bound is checked first
            assertThrows(RestException.class, () -> SchemaService.parse(type, " ".repeat(SchemaService.MAX_SCHEMA_CHARS + 1)));
        }
        // A raw schema given on produce: refused without asking the registry.
        try (StubRegistry registry = new StubRegistry(path -> new StubRegistry.Answer(200, "{\"id\":1}"))) {
            RestException produced = assertThrows(RestException.class, () -> registry.service().forProduce(
                    io.portico.protocol.EmbeddedFormat.AVRO, "t-value", withDoc(SchemaService.MAX_SCHEMA_CHARS), null));
            assertEquals(ErrorCode.INVALID_SCHEMA, produced.errorCode());
            assertEquals(java.util.Set.of(), registry.paths());
        }
    }

    @Test
    void aLargeSchemaIsFetchedOnceNotForEveryRecord() throws Exception {
        // Half a million characters: heavier (256 + 8 a character) than a fifth of Portico's 16 MiB of caches.
        String big = withDoc(500_000);
        String body = "{\"schema\":" + io.portico.protocol.Json.mapper().getNodeFactory().textNode(big) + "}";
        try (StubRegistry registry = new StubRegistry(path -> new StubRegistry.Answer(200, body))) {
            SchemaService service = new SchemaService(new RegistryClient(new RegistryClient.Settings(
                    java.util.List.of(registry.url()), null, null, Duration.ofSeconds(5))), 16L << 20);
            for (int offset = 0; offset < 3; offset++) {
                io.portico.protocol.ConsumedRecord r = new io.portico.protocol.ConsumedRecord("t", null,
                        Framing.frame(1, new byte[] {2}), 0, offset);
                assertEquals("{\"n\":1}", new String(service.decode(io.portico.protocol.EmbeddedFormat.AVRO, r).value(),
                        StandardCharsets.UTF_8));
            }
            assertEquals(1, registry.paths().stream().mapToInt(registry::asked).sum(), registry.paths().toString());
        }
    }

    /** Definitions a0 to a(n-1), each all of the next twice: validating against a0 evaluates 2^n schemas. */
    private static String doubling(int n) {
        StringBuilder d = new StringBuilder();
        for (int k = 0; k < n; k++) {
            d.append(k == 0 ? "" : ",").append("\"a").append(k).append("\":{\"allOf\":[{\"$ref\":\"#/definitions/a")
                    .append(k + 1).append("\"},{\"$ref\":\"#/definitions/a").append(k + 1).append("\"}]}");
        }
        d.append(",\"a").append(n).append("\":{\"type\":\"string\"}");
        // Behind an if that only "boom" meets: the plain values checked at parse never reach it.
        return "{\"definitions\":{" + d + "},\"if\":{\"const\":\"boom\"},\"then\":{\"$ref\":\"#/definitions/a0\"}}";
    }

    @Test
    void aJsonSchemaThatEvaluatesItsSchemasByVeryManyPathsIsRefused() {
        RestException e = assertTimeoutPreemptively(PATIENCE, () -> assertThrows(RestException.class, () -> {
            ParsedSchema parsed = SchemaService.parse(SchemaType.JSON, doubling(40));
            parsed.encode(utf8("\"boom\"")); // 2^40 evaluations, if the schema was taken
        }));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertTrue(e.getMessage().contains("100000"), e.getMessage());
        // A few levels of it are fine.
        ParsedSchema few = SchemaService.parse(SchemaType.JSON, doubling(5));
        few.encode(utf8("\"boom\""));
        // A schema referring to itself for the values inside a value is bounded by the value: taken.
        ParsedSchema tree = SchemaService.parse(SchemaType.JSON, "{\"type\":\"object\",\"properties\":{"
                + "\"left\":{\"$ref\":\"#\"},\"right\":{\"$ref\":\"#\"}},\"additionalProperties\":false}");
        tree.encode(utf8("{\"left\":{\"right\":{}},\"right\":{}}"));
    }

    @Test
    void aJsonSchemaRecordReadsWhateverItsSchemaWhichProduceStillRefuses() throws Exception {
        // A schema the registry took and serializers wrote with, beyond what Portico produces with.
        String body = "{\"schemaType\":\"JSON\",\"schema\":"
                + io.portico.protocol.Json.mapper().getNodeFactory().textNode(doubling(40)) + "}";
        try (StubRegistry registry = new StubRegistry(path -> new StubRegistry.Answer(200, body))) {
            SchemaService service = new SchemaService(new RegistryClient(new RegistryClient.Settings(
                    java.util.List.of(registry.url()), null, null, Duration.ofSeconds(5))), 16L << 20);
            for (int offset = 0; offset < 2; offset++) {
                io.portico.protocol.ConsumedRecord r = new io.portico.protocol.ConsumedRecord("t", null,
                        Framing.frame(1, utf8("{\"n\":1}")), 0, offset);
                assertEquals("{\"n\":1}", new String(service.decode(io.portico.protocol.EmbeddedFormat.JSONSCHEMA, r).value(),
                        StandardCharsets.UTF_8));
            }
            assertEquals(1, registry.paths().stream().mapToInt(registry::asked).sum(), "its type is cached");
            RestException e = assertThrows(RestException.class, () -> service.forProduce(
                    io.portico.protocol.EmbeddedFormat.JSONSCHEMA, "t-value", null, 1));
            assertTrue(e.getMessage().contains("100000"), e.getMessage());
            // Read as another format, the id's type says which to use.
            RestException avro = assertThrows(RestException.class, () -> service.decode(io.portico.protocol.EmbeddedFormat.AVRO,
                    new io.portico.protocol.ConsumedRecord("t", null, Framing.frame(1, utf8("{}")), 0, 9)));
            assertEquals(ErrorCode.KAFKA_ERROR, avro.errorCode(), avro.getMessage());
        }
        // An id the registry does not know: the record's failure, named, as in the other formats.
        try (StubRegistry registry = new StubRegistry(path -> new StubRegistry.Answer(404,
                "{\"error_code\":40403,\"message\":\"Schema not found\"}"))) {
            SchemaService service = new SchemaService(new RegistryClient(new RegistryClient.Settings(
                    java.util.List.of(registry.url()), null, null, Duration.ofSeconds(5))), 16L << 20);
            RestException e = assertThrows(RestException.class, () -> service.decode(io.portico.protocol.EmbeddedFormat.JSONSCHEMA,
                    new io.portico.protocol.ConsumedRecord("t", null, Framing.frame(5, utf8("{}")), 0, 3)));
            assertEquals(ErrorCode.KAFKA_ERROR, e.errorCode(), e.getMessage());
            assertTrue(e.getMessage().contains("offset 3"), e.getMessage());
        }
    }

    /** {@code {"x":{"x":…{}…}}}, {@code depth} levels of {@code key} around {@code inner}. */
    private static String nested(String key, int depth, String inner) {
        return ("{\"" + key + "\":").repeat(depth) + inner + "}".repeat(depth);
    }

    @Test
    void aJsonSchemaReferringToItselfTwiceForTheSamePartOfTheValueRefusesADeepValueInTime() {
        // Each level of the value is validated twice against the whole schema: 2^40 evaluations
        // for a value of a few hundred bytes. The parse cannot tell it from a tree (it refers back
        // once a level of the value), so the validation itself is bounded.
        ParsedSchema twice = SchemaService.parse(SchemaType.JSON,
                "{\"type\":\"object\",\"properties\":{\"x\":{\"allOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#\"}]}}}");
        twice.encode(utf8(nested("x", 5, "{}")));
        ParsedSchema.InvalidDataException e = assertTimeoutPreemptively(PATIENCE,
                () -> assertThrows(ParsedSchema.InvalidDataException.class, () -> twice.encode(utf8(nested("x", 40, "{}")))));
        assertTrue(e.getMessage().contains("took too long"), e.getMessage());
        // The values of one request share one budget, as their patterns do.
        byte[] value = utf8(nested("x", 12, "{}"));
        twice.encode(value);
        ParsedSchema.InvalidDataException shared = assertTimeoutPreemptively(PATIENCE,
                () -> assertThrows(ParsedSchema.InvalidDataException.class,
                        () -> SchemaService.patternsWithin(1_000L * value.length, () -> {
                            for (int i = 0; i < 1_000; i++) {
                                twice.encode(value);
                            }
                            return null;
                        })));
        assertTrue(shared.getMessage().contains("took too long"), shared.getMessage());
    }

    @Test
    void itemsAndPropertiesGoneIntoCountToo() {
        // The value nests 20 levels, each gone into twice (2^20 paths), and ends in an array of
        // 100,000 items, each validated against the empty schema of "items" (no keyword): with
        // only keywords counted, 2^20 paths each went through every item, 10^11 validations.
        ParsedSchema twice = SchemaService.parse(SchemaType.JSON, "{\"type\":[\"object\",\"array\"],"
                + "\"properties\":{\"x\":{\"allOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#\"}]}},\"items\":{}}");
        String items = "0,".repeat(99_999) + "0";
        twice.encode(utf8(nested("x", 3, "[" + items + "]")));
        ParsedSchema.InvalidDataException e = assertTimeoutPreemptively(PATIENCE, () -> assertThrows(
                ParsedSchema.InvalidDataException.class, () -> twice.encode(utf8(nested("x", 20, "[" + items + "]")))));
        assertTrue(e.getMessage().contains("took too long"), e.getMessage());
    }

    @Test
    void aValueMakingErrorsByTheHundredThousandIsRefusedAndAOneOfOverThousandsOfItemsIsNot() {
        // Eight failing types for each of 20,000 items: 160,000 errors, each kept.
        ParsedSchema strict = SchemaService.parse(SchemaType.JSON, "{\"type\":\"array\",\"items\":{\"allOf\":["
                + "{\"type\":\"string\"},".repeat(7) + "{\"type\":\"string\"}]}}");
        ParsedSchema.InvalidDataException e = assertTimeoutPreemptively(PATIENCE, () -> assertThrows(
                ParsedSchema.InvalidDataException.class, () -> strict.encode(utf8("[" + "0,".repeat(19_999) + "0]"))));
        assertTrue(e.getMessage().contains("errors"), e.getMessage());
        // Each of 2,000 items one of twenty kinds: nineteen branches fail for each (38,000 errors).
        StringBuilder kinds = new StringBuilder();
        for (int k = 0; k < 20; k++) {
            kinds.append(k == 0 ? "" : ",").append("{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"k")
                    .append(k).append("\"},\"n\":{\"type\":\"integer\"}},\"required\":[\"kind\",\"n\"]}");
        }
        ParsedSchema kindsOf = SchemaService.parse(SchemaType.JSON, "{\"type\":\"array\",\"items\":{\"oneOf\":["
                + kinds + "]}}");
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < 2_000; i++) {
            items.append(i == 0 ? "" : ",").append("{\"kind\":\"k").append(i % 20).append("\",\"n\":").append(i).append('}');
        }
        assertTimeoutPreemptively(PATIENCE, () -> kindsOf.encode(utf8("[" + items + "]")));
    }

    @Test
    void checksOfASchemaAsItIsParsedLeaveTheRequestsBudgetWhole() {
        // Each plain value the parse checks meets 2^14 schemas (within the 100,000 a schema may
        // expand to): some 1.4 million steps for all of them, more than a small request's budget.
        // Paid apart, the request's one value (which meets them once) still fits its own.
        String definitions = doubling(14).substring(0, doubling(14).indexOf(",\"if\""));
        String schema = definitions + ",\"$ref\":\"#/definitions/a0\"}";
        SchemaService.patternsWithin(10, () -> {
            ParsedSchema parsed = SchemaService.parse(SchemaType.JSON, schema);
            parsed.encode(utf8("\"s\""));
            return null;
        });
    }

    @Test
    void recursiveJsonSchemasValidateDeepValues() {
        ParsedSchema tree = SchemaService.parse(SchemaType.JSON, "{\"type\":\"object\",\"properties\":{"
                + "\"value\":{\"type\":\"integer\"},\"left\":{\"$ref\":\"#\"},\"right\":{\"$ref\":\"#\"}},"
                + "\"additionalProperties\":false}");
        ParsedSchema list = SchemaService.parse(SchemaType.JSON, "{\"$ref\":\"#/definitions/node\",\"definitions\":{"
                + "\"node\":{\"type\":\"object\",\"required\":[\"value\"],\"properties\":{"
                + "\"value\":{\"type\":\"string\"},\"next\":{\"$ref\":\"#/definitions/node\"}}}}}");
        // A full tree 12 deep (8,191 nodes), and one 200 deep on the left and on the right.
        String full = "{\"value\":0}";
        for (int i = 0; i < 12; i++) {
            full = "{\"value\":" + i + ",\"left\":" + full + ",\"right\":" + full + "}";
        }
        String fullTree = full;
        for (String v : new String[] {full, nested("left", 200, "{\"value\":1}"), nested("right", 200, "{}")}) {
            byte[] value = utf8(v);
            assertTimeoutPreemptively(PATIENCE, () -> assertEquals(v, new String(tree.encode(value), StandardCharsets.UTF_8)));
        }
        for (String v : new String[] {fullTree.replace("\"value\":0}", "\"value\":\"zero\"}"),
                nested("left", 200, "{\"value\":1.5}"), nested("right", 200, "{\"up\":{}}")}) {
            ParsedSchema.InvalidDataException e = assertTimeoutPreemptively(PATIENCE,
                    () -> assertThrows(ParsedSchema.InvalidDataException.class, () -> tree.encode(utf8(v))));
            assertTrue(e.getMessage().contains("does not match"), e.getMessage());
        }
        StringBuilder linked = new StringBuilder("{\"value\":\"last\"}");
        for (int i = 0; i < 200; i++) {
            linked.insert(0, "{\"value\":\"" + i + "\",\"next\":").append('}');
        }
        byte[] valid = utf8(linked.toString());
        assertTimeoutPreemptively(PATIENCE, () -> assertEquals(linked.toString(), new String(list.encode(valid),
                StandardCharsets.UTF_8)));
        for (String v : new String[] {linked.toString().replace("{\"value\":\"last\"}", "{}"),
                linked.toString().replace("\"last\"", "7")}) {
            ParsedSchema.InvalidDataException e = assertTimeoutPreemptively(PATIENCE,
                    () -> assertThrows(ParsedSchema.InvalidDataException.class, () -> list.encode(utf8(v))));
            assertTrue(e.getMessage().contains("does not match"), e.getMessage());
        }
    }
}
