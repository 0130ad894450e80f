package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The three formats without a registry: JSON in, Confluent's payload out, and back. */
class FormatsTest {
    private static final String USER = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"demo\",\"fields\":["
            + "{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"age\",\"type\":[\"null\",\"int\"],\"default\":null}]}";
    private static final String ORDER = """
            syntax = "proto3";
            package demo;
            import "google/protobuf/timestamp.proto";
            message Order {
              string id = 1;
              int64 total = 2;
              repeated Item items = 3;
              message Item { string sku = 1; int32 qty = 2; }
              map<string, string> tags = 4;
              Status status = 5;
              oneof payment { string card = 6; string iban = 7; }
              optional string note = 8;
              google.protobuf.Timestamp at = 9;
            }
            enum Status { NEW = 0; PAID = 1; }
            """;

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String framedToJson(ParsedSchema schema, int id, byte[] payload) {
        return new String(schema.toJson(Framing.frame(id, payload)), StandardCharsets.UTF_8);
    }

    @Test
    void avroRecordsRoundTripInAvrosJsonEncoding() {
        ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, USER);
        assertEquals("demo.User", schema.recordName());
        byte[] payload = schema.encode(utf8("{\"name\":\"testUser\",\"age\":{\"int\":25}}"));
        // avro binary: string (zig-zag length 8, then the bytes), union branch 1, int 25 (zig-zag 50)
        assertArrayEquals(new byte[] {16, 't', 'e', 's', 't', 'U', 's', 'e', 'r', 2, 50}, payload);
        assertEquals("{\"name\":\"testUser\",\"age\":{\"int\":25}}", framedToJson(schema, 7, payload));
        assertEquals("{\"name\":\"x\",\"age\":null}", framedToJson(schema, 7, schema.encode(utf8("{\"name\":\"x\",\"age\":null}"))));
    }

    @Test
    void avroPrimitivesAsTheQuickstartsKeySchema() {
        ParsedSchema key = SchemaService.parse(SchemaType.AVRO, "{\"name\":\"user_id\"  ,\"type\": \"int\"   }");
        assertEquals("\"int\"", key.canonical());
        assertArrayEquals(new byte[] {2}, key.encode(utf8("1")));
        assertEquals("1", framedToJson(key, 1, new byte[] {2}));
    }

    @Test
    void anAvroUnionThatIsTheSchemaItselfIsShownBareAndProducedWrapped() {
        // Confluent's proxy shows a key or value through an encoder made from the schema of the
        // datum read (the union's branch): the branch bare at the top, unions within it wrapped.
        ParsedSchema optional = SchemaService.parse(SchemaType.AVRO, "[\"null\",\"string\"]");
        byte[] abc = optional.encode(utf8("{\"string\":\"abc\"}"));
        assertArrayEquals(new byte[] {2, 6, 'a', 'b', 'c'}, abc);
        assertEquals("\"abc\"", framedToJson(optional, 1, abc));
        assertEquals("null", framedToJson(optional, 1, optional.encode(utf8("null"))));
        // Produced as avro's JSON decoder reads it (Confluent's proxy uses it): the branch named.
        assertThrows(ParsedSchema.InvalidDataException.class, () -> optional.encode(utf8("\"abc\"")));

        ParsedSchema either = SchemaService.parse(SchemaType.AVRO, "[{\"type\":\"record\",\"name\":\"A\","
                + "\"namespace\":\"com.acme\",\"fields\":[{\"name\":\"x\",\"type\":[\"null\",\"int\"]}]},"
                + "{\"type\":\"record\",\"name\":\"B\",\"namespace\":\"com.acme\",\"fields\":"
                + "[{\"name\":\"b\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"string\"]}}]}]");
        assertEquals("{\"x\":{\"int\":3}}", framedToJson(either, 1, either.encode(utf8("{\"com.acme.A\":{\"x\":{\"int\":3}}}"))));
        assertEquals("{\"x\":null}", framedToJson(either, 1, either.encode(utf8("{\"com.acme.A\":{\"x\":null}}"))));
        assertEquals("{\"b\":[null,{\"string\":\"s\"}]}",
                framedToJson(either, 1, either.encode(utf8("{\"com.acme.B\":{\"b\":[null,{\"string\":\"s\"}]}}"))));
    }

    @Test
    void jsonThatDoesNotFitAnAvroSchemaSaysWhy() {
        ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, USER);
        ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.encode(utf8("{\"name\":1}")));
        assertTrue(e.getMessage().contains("string"), e.getMessage());
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.encode(utf8("{\"name\":\"x\",\"age\":25}")));
    }

    @Test
    void aSchemaThatDoesNotParseIs42205() {
        RestException e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO, "{\"type\":\"recor"));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertEquals(ErrorCode.INVALID_SCHEMA,
                assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.PROTOBUF, "message {")).errorCode());
        assertEquals(ErrorCode.INVALID_SCHEMA,
                assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.JSON, "[1,2]")).errorCode());
    }

    @Test
    void protobufWritesConfluentsMessageIndexesAndReadsNestedOnes() throws Exception {
        ParsedSchema schema = SchemaService.parse(SchemaType.PROTOBUF, ORDER);
        assertEquals("demo.Order", schema.recordName());
        byte[] payload = schema.encode(utf8("{\"id\":\"o-1\",\"total\":\"42\",\"items\":[{\"sku\":\"a\",\"qty\":2}],"
                + "\"tags\":{\"k\":\"v\"},\"status\":\"PAID\",\"card\":\"visa\",\"at\":\"2026-12-01T10:15:30Z\"}"));
        assertEquals(0, payload[0], "the first message: the index list [0] as one byte 0");
        com.google.protobuf.DynamicMessage m = com.google.protobuf.DynamicMessage.parseFrom(
                ((ProtobufFormat) schema).firstMessage(), java.util.Arrays.copyOfRange(payload, 1, payload.length));
        assertEquals("o-1", m.getField(m.getDescriptorForType().findFieldByName("id")));
        String json = framedToJson(schema, 3, payload);
        assertTrue(json.startsWith("{\"id\":\"o-1\",\"total\":\"42\",\"items\":[{\"sku\":\"a\",\"qty\":2}],"
                + "\"tags\":{\"k\":\"v\"},\"status\":\"PAID\""), json);
        assertTrue(json.contains("\"card\":\"visa\"") && json.contains("\"at\":\"2026-12-01T10:15:30Z\""), json);

        // A nested message written by another serializer: indexes [0, 0] are Order.Item.
        byte[] item = com.google.protobuf.DynamicMessage.newBuilder(((ProtobufFormat) schema).firstMessage().getNestedTypes().get(0))
                .setField(((ProtobufFormat) schema).firstMessage().getNestedTypes().get(0).findFieldByName("sku"), "b")
                .build().toByteArray();
        byte[] indexes = ProtobufFormat.indexes(0, 0);
        byte[] nested = new byte[indexes.length + item.length];
        System.arraycopy(indexes, 0, nested, 0, indexes.length);
        System.arraycopy(item, 0, nested, indexes.length, item.length);
        assertEquals("{\"sku\":\"b\",\"qty\":0}", framedToJson(schema, 3, nested));
    }

    @Test
    void protobufRefusesUnknownFieldsAndOtherImports() {
        ParsedSchema schema = SchemaService.parse(SchemaType.PROTOBUF, ORDER);
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.encode(utf8("{\"nope\":1}")));
        RestException e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.PROTOBUF,
                "syntax = \"proto3\"; import \"other.proto\"; message A { string x = 1; }"));
        assertTrue(e.getMessage().contains("other.proto"), e.getMessage());
    }

    @Test
    void aProto2MessagesUnsetOptionalFieldsAreShownWithTheirDefaultsAsConfluentShowsThem() {
        // Protobuf's "including default value fields", as Confluent's proxy prints records: a
        // scalar, string or enum field outside a oneof is shown unset too; a message or a oneof's member is not.
        ParsedSchema schema = SchemaService.parse(SchemaType.PROTOBUF, "syntax = \"proto2\";\n"
                + "message M { optional int32 a = 1 [default = 5]; optional string b = 2; optional Inner inner = 3;\n"
                + "  repeated int32 r = 4; oneof o { string x = 5; int32 y = 6; } }\nmessage Inner { optional bool f = 1; }\n");
        assertEquals("{\"a\":5,\"b\":\"\",\"r\":[]}", framedToJson(schema, 4, schema.encode(utf8("{}"))));
        assertEquals("{\"a\":1,\"b\":\"\",\"inner\":{\"f\":false},\"r\":[],\"y\":0}",
                framedToJson(schema, 4, schema.encode(utf8("{\"a\":1,\"inner\":{},\"y\":0}"))));
    }

    @Test
    void aProto2MessageWithoutItsRequiredFieldsIsInvalidData() {
        ParsedSchema schema = SchemaService.parse(SchemaType.PROTOBUF, "syntax = \"proto2\";\n"
                + "message R { required string id = 1; optional Inner inner = 2; }\nmessage Inner { required int32 n = 1; }\n");
        assertArrayEquals(new byte[] {0, 0x0a, 1, 'a'}, schema.encode(utf8("{\"id\":\"a\"}")));
        ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.encode(utf8("{}")));
        assertEquals("missing required fields: id", e.getMessage());
        e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.encode(utf8("{\"id\":\"a\",\"inner\":{}}")));
        assertTrue(e.getMessage().contains("missing required fields: n"), e.getMessage()); // the parser's own words
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(utf8("{}"), true));
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[0], false));
    }

    @Test
    void jsonSchemaValidatesAndKeepsTheTextAsSent() {
        ParsedSchema schema = SchemaService.parse(SchemaType.JSON, "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
                + "\"title\":\"Person\",\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                + "\"age\":{\"type\":\"integer\"}},\"required\":[\"name\"]}");
        assertEquals("Person", schema.recordName());
        byte[] json = utf8("{\"name\":\"Ann\",\"age\":1.0e1}");
        assertArrayEquals(json, schema.encode(json));
        assertEquals("{\"name\":\"Ann\",\"age\":1.0e1}", framedToJson(schema, 9, json));
        ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.encode(utf8("{\"age\":\"old\"}")));
        assertTrue(e.getMessage().contains("name") && e.getMessage().contains("age"), e.getMessage());
    }

    @Test
    void aJsonSchemasNumbersAreRegisteredAndLookedUpAsWritten() {
        // The schema registry reads them exactly (big decimals) and compares texts: through a
        // double, 1.50 would be 1.5 and 0.0001 1.0E-4, a schema it does not hold.
        ParsedSchema schema = SchemaService.parse(SchemaType.JSON, "{ \"type\": \"object\", \"properties\": {"
                + "\"p\": {\"type\": \"number\", \"multipleOf\": 0.0001, \"maximum\": 100.00, \"minimum\": 1.50},"
                + "\"q\": {\"type\": \"number\", \"maximum\": 12345678.9}}}");
        assertEquals("{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"number\",\"multipleOf\":0.0001,"
                + "\"maximum\":100.00,\"minimum\":1.50},\"q\":{\"type\":\"number\",\"maximum\":12345678.9}}}",
                schema.canonical());
        assertArrayEquals(utf8("{\"p\":1.5}"), schema.encode(utf8("{\"p\":1.5}")));
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.encode(utf8("{\"p\":1.00005}")));
    }

    @Test
    void jsonSchemaRefsAreNeverFetched() throws Exception {
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            String ref = "http://127.0.0.1:" + server.getLocalPort() + "/other.json";
            RestException e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.JSON,
                    "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"" + ref + "\"}}}"));
            assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
            server.setSoTimeout(200);
            assertThrows(java.net.SocketTimeoutException.class, server::accept, "no connection was attempted");
        }
    }

    @Test
    void aJsonSchemaPatternThatBacktracksWithoutEndRefusesTheValueInsteadOfRunning() {
        // Java's matcher remembers where a plain group loop failed, but not with a back reference
        // or a counted repeat: both of these double their work with each character.
        ParsedSchema schema = SchemaService.parse(SchemaType.JSON,
                "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\",\"pattern\":\"^(a+)+\\\\1$\"}}}");
        schema.encode(utf8("{\"id\":\"aaaa\"}"));
        // About 2^40 steps without the bound: the produce thread would not come back for days.
        ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.encode(utf8("{\"id\":\"" + "a".repeat(40) + "!\"}")));
        assertTrue(e.getMessage().contains("/^(a+)+\\1$/ took too long"), e.getMessage());
        // A pattern whose backtracking reads nothing (2^40 empty choices): the schema is refused.
        RestException refused = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.JSON,
                "{\"type\":\"string\",\"pattern\":\"" + "(?:|)".repeat(40) + "(?!)\"}"));
        assertEquals(ErrorCode.INVALID_SCHEMA, refused.errorCode());
        assertTrue(refused.getMessage().contains("choices that match empty"), refused.getMessage());
        // The same for a property name's pattern.
        ParsedSchema names = SchemaService.parse(SchemaType.JSON,
                "{\"type\":\"object\",\"patternProperties\":{\"^(.*a){12}$\":{\"type\":\"integer\"}},"
                        + "\"additionalProperties\":false}");
        names.encode(utf8("{\"" + "a".repeat(12) + "\":1}"));
        e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> names.encode(utf8("{\"" + "a".repeat(60) + "!\":1}")));
        assertTrue(e.getMessage().contains("took too long"), e.getMessage());
    }

    @Test
    void aJsonValuesPatternsShareOneBudgetAndALongStringMatchingPlainlyPasses() {
        ParsedSchema schema = SchemaService.parse(SchemaType.JSON,
                "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"pattern\":\"^(a+)+\\\\1$\"}}");
        // Each string alone costs about 32,000 reads, well within the budget; 400 of them cost
        // more than the value's budget together.
        String one = "\"" + "a".repeat(12) + "!\"";
        ParsedSchema.InvalidDataException alone = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.encode(utf8("[" + one + "]")));
        assertTrue(alone.getMessage().contains("does not match"), alone.getMessage());
        ParsedSchema.InvalidDataException many = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.encode(utf8("[" + String.join(",", java.util.Collections.nCopies(400, one)) + "]")));
        assertTrue(many.getMessage().contains("took too long"), many.getMessage());
        // The values of one request share the request's budget: each alone is fine, ten are not.
        byte[] value = utf8("[" + one + "]");
        for (int i = 0; i < 10; i++) {
            assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.encode(value)); // "does not match"
        }
        ParsedSchema.InvalidDataException shared = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> SchemaService.patternsWithin(10L * value.length, () -> {
                    for (int i = 0; i < 10; i++) {
                        try {
                            schema.encode(value);
                        } catch (ParsedSchema.InvalidDataException e) {
                            if (e.getMessage().contains("took too long")) {
                                throw e;
                            }
                        }
                    }
                    return null;
                }));
        assertTrue(shared.getMessage().contains("took too long"), shared.getMessage());
        // A pattern that reads each character a few times takes a long string.
        ParsedSchema plain = SchemaService.parse(SchemaType.JSON, "{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}");
        byte[] longText = utf8("\"" + "x".repeat(1_000_000) + "\"");
        assertArrayEquals(longText, plain.encode(longText));
    }

    @Test
    void aJsonSchemaWhoseRefsLeadBackToThemselvesIsRefused() {
        for (String text : new String[] {"{\"$ref\":\"#\"}", "{\"allOf\":[{\"$ref\":\"#\"}]}",
                "{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"$ref\":\"#/definitions/a\"}},"
                        + "\"$ref\":\"#/definitions/a\"}"}) {
            RestException e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.JSON, text), text);
            assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
            assertTrue(e.getMessage().contains("never ends"), e.getMessage());
        }
        // A schema referring to itself for a property's value ends with the value: it is fine.
        ParsedSchema tree = SchemaService.parse(SchemaType.JSON,
                "{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#\"}}}");
        tree.encode(utf8("{\"next\":{\"next\":{}}}"));
        // One that loops only for some values: those values are refused as data, the others taken.
        ParsedSchema loops = SchemaService.parse(SchemaType.JSON,
                "{\"if\":{\"type\":\"object\",\"required\":[\"a\"]},\"then\":{\"$ref\":\"#\"}}");
        loops.encode(utf8("{\"b\":1}"));
        ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> loops.encode(utf8("{\"a\":1}")));
        assertTrue(e.getMessage().contains("never ends"), e.getMessage());
        assertThrows(ParsedSchema.InvalidDataException.class, () -> loops.check(utf8("{\"a\":1}"), true));
    }

    @Test
    void aProtoNestedTooDeeplyIsRefusedBeforeItIsParsed() {
        RestException e = assertThrows(RestException.class,
                () -> SchemaService.parse(SchemaType.PROTOBUF, "message A{".repeat(20_000)));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode());
        assertTrue(e.getMessage().contains("20000 levels"), e.getMessage());
        String deep = "message A { ".repeat(100) + "}".repeat(100); // as deep as is read
        // Braces in strings and comments do not nest.
        String braces = "{[(".repeat(200);
        ParsedSchema hundred = SchemaService.parse(SchemaType.PROTOBUF, "syntax = \"proto3\";\n// " + braces + "\n/* "
                + braces + " */\noption java_package = \"" + braces + "\\\"\";\n" + deep);
        assertEquals("A", hundred.recordName());
        e = assertThrows(RestException.class,
                () -> SchemaService.parse(SchemaType.PROTOBUF, "syntax = \"proto3\";\nmessage B { " + deep + " }"));
        assertTrue(e.getMessage().contains("101 levels"), e.getMessage());
        // An import nested too deeply is refused, naming it.
        e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.PROTOBUF,
                "syntax = \"proto3\";\nimport \"deep.proto\";\nmessage C { int32 x = 1; }",
                java.util.Map.of("deep.proto", "syntax = \"proto3\";\n" + "message D { ".repeat(5_000))));
        assertTrue(e.getMessage().contains("deep.proto") && e.getMessage().contains("5000 levels"), e.getMessage());
    }

    @Test
    void aRecordThatCannotBeShownAsJsonIsInvalidData() {
        // Timestamps out of their range: a protobuf message, which protobuf's JSON mapping cannot show.
        ParsedSchema order = SchemaService.parse(SchemaType.PROTOBUF, ORDER);
        for (com.google.protobuf.Timestamp at : new com.google.protobuf.Timestamp[] {
                com.google.protobuf.Timestamp.newBuilder().setNanos(-1).build(),
                com.google.protobuf.Timestamp.newBuilder().setSeconds(Long.MAX_VALUE).build()}) {
            byte[] bytes = at.toByteArray();
            byte[] payload = new byte[3 + bytes.length];
            payload[1] = (9 << 3) | 2; // index list [0], then field 9 (at), length-delimited
            payload[2] = (byte) bytes.length;
            System.arraycopy(bytes, 0, payload, 3, bytes.length);
            ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                    () -> order.toJson(Framing.frame(3, payload)), at.toString());
            assertTrue(e.getMessage().contains("JSON mapping"), e.getMessage());
        }
        // A linked list 50,000 nodes long: each node's union is branch 1 (a node), the last's branch 0 (null).
        ParsedSchema list = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"record\",\"name\":\"Node\",\"fields\":"
                + "[{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}");
        assertEquals("{\"next\":{\"Node\":{\"next\":null}}}", framedToJson(list, 1, new byte[] {2, 0}));
        byte[] deep = new byte[50_001];
        java.util.Arrays.fill(deep, 0, 50_000, (byte) 2);
        ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> list.toJson(Framing.frame(1, deep)));
        assertTrue(e.getMessage().contains("too deeply"), e.getMessage());
    }

    @Test
    void framingIsMagicByteAndBigEndianId() {
        byte[] framed = Framing.frame(0x01020304, new byte[] {9});
        assertArrayEquals(new byte[] {0, 1, 2, 3, 4, 9}, framed);
        assertTrue(Framing.isFramed(framed));
        assertEquals(0x01020304, Framing.schemaId(framed));
        assertTrue(!Framing.isFramed(new byte[] {1, 0, 0, 0, 1}) && !Framing.isFramed(new byte[] {0, 0}));
    }

    // ---- check: a message in the schema's own encoding, unframed (the records endpoint's schemavalidation)

    @Test
    void avroCheckTakesOneWholeDatumInEitherEncoding() {
        ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, USER);
        schema.check(new byte[] {16, 't', 'e', 's', 't', 'U', 's', 'e', 'r', 2, 50}, false);
        schema.check(new byte[] {2, 'x', 0}, false); // age null
        schema.check(utf8("{\"name\":\"x\",\"age\":{\"int\":3}}"), true);
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[] {2, 'x', 0, 0}, false),
                "a byte after the datum");
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[] {2, 'x', 4}, false),
                "union branch 2 of two");
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[] {20, 'x'}, false),
                "a string longer than the bytes");
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(utf8("{\"name\":1}"), true));
    }

    @Test
    void avroCheckRefusesANegativeStringOrBytesLengthAsItsReadersDo() {
        // zig-zag 1 is -1: avro's skipString/skipBytes skip it as nothing; its readers refuse it.
        for (String text : new String[] {"\"string\"", "\"bytes\""}) {
            ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, text);
            ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                    () -> schema.check(new byte[] {1}, false), text);
            assertTrue(e.getMessage().contains("Length is negative"), e.getMessage());
            assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.toJson(Framing.frame(1, new byte[] {1})));
            schema.check(new byte[] {0}, false); // empty
            schema.check(new byte[] {2, 'x'}, false);
            assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[] {4, 'x'}, false),
                    "longer than the bytes");
            // A length past any message (2^40).
            assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[] {(byte) 0x80,
                    (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x40}, false));
        }
        // A map's key too: one entry, key length -1, value int 0.
        ParsedSchema map = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"map\",\"values\":\"int\"}");
        map.check(new byte[] {2, 2, 'k', 0, 0}, false);
        assertThrows(ParsedSchema.InvalidDataException.class, () -> map.check(new byte[] {2, 1, 0, 0}, false));
        // A negative block count is avro's own (-1 items, then the block's size in bytes: 3): taken.
        map.check(new byte[] {1, 6, 2, 'k', 0, 0}, false);
        assertEquals("{\"k\":0}", framedToJson(map, 1, new byte[] {1, 6, 2, 'k', 0, 0}));
        ParsedSchema array = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"array\",\"items\":\"string\"}");
        array.check(new byte[] {3, 6, 2, 'a', 0, 0}, false); // -2 items in 3 bytes: "a", ""
        assertThrows(ParsedSchema.InvalidDataException.class, () -> array.check(new byte[] {2, 1, 0}, false));
    }

    @Test
    void avroCheckRefusesManyEmptyItemsInFewBytesWithoutBuildingThem() {
        ParsedSchema nulls = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"array\",\"items\":\"null\"}");
        nulls.check(new byte[] {(byte) 0x80, 0x10, 0}, false); // 1,024 nulls in one block: within the floor
        // A block of 2^30 nulls in 6 bytes (avro's reader would build a list of them): refused at once.
        byte[] huge = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08, 0};
        ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> nulls.check(huge, false));
        assertTrue(e.getMessage().contains("more items"), e.getMessage());
    }

    @Test
    void jsonSchemaCheckTakesOneValidValueAndNothingAfterIt() {
        ParsedSchema schema = SchemaService.parse(SchemaType.JSON,
                "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},\"required\":[\"n\"]}");
        schema.check(utf8("{\"n\":1}"), false);
        schema.check(utf8("{\"n\":1}"), true);
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(utf8("{\"n\":\"x\"}"), true));
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(utf8("{\"n\":1} {\"n\":2}"), false));
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(utf8("not json"), false));
    }

    @Test
    void jsonSchemaTextInAnotherEncodingOrAfterAByteOrderMarkIsNotJson() {
        ParsedSchema schema = SchemaService.parse(SchemaType.JSON, "{}");
        byte[][] notUtf8 = {
            "1".getBytes(StandardCharsets.UTF_16LE),
            "{}".getBytes(StandardCharsets.UTF_16BE),
            "{}".getBytes(java.nio.charset.Charset.forName("UTF-32LE")),
            {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{', '}'},
        };
        for (byte[] payload : notUtf8) {
            // Read back, it would be copied into a response as it is: not JSON there.
            assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.toJson(Framing.frame(1, payload)));
            // Stored as it came (the records endpoint), it would be read back so.
            assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(payload, true));
            assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(payload, false));
        }
        assertEquals("1", framedToJson(schema, 1, utf8("1")));
    }

    @Test
    void protobufCheckTakesAMessageOfTheFirstTypeWithNoFieldItLacks() {
        ParsedSchema schema = SchemaService.parse(SchemaType.PROTOBUF, ORDER);
        // id = "a" (field 1, string), items = [{sku = "s"}] (field 3, a message)
        schema.check(new byte[] {0x0a, 1, 'a', 0x1a, 3, 0x0a, 1, 's'}, false);
        schema.check(utf8("{\"id\":\"a\",\"total\":\"5\"}"), true);
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[] {(byte) 0xf8, 0x01, 1}, false),
                "field 31, which Order does not have");
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[] {0x1a, 2, 0x18, 1}, false),
                "field 3 of an Item, which Item does not have");
        assertThrows(ParsedSchema.InvalidDataException.class, () -> schema.check(new byte[] {0x0a, 9, 'a'}, false),
                "a string longer than the bytes");
    }
}
