package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Schemas that use other registered schemas by reference name, in each format. */
class ReferencesTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static String refused(Runnable parse) {
        return assertThrows(ParsedSchema.InvalidSchemaException.class, parse::run).getMessage();
    }

    // ---- avro: a named type defined by the reference, used by name

    private static final String AVRO_ADDRESS = "{\"type\":\"record\",\"name\":\"Address\",\"namespace\":\"shop\","
            + "\"fields\":[{\"name\":\"city\",\"type\":\"string\"}]}";
    private static final String AVRO_CUSTOMER = "{\"type\":\"record\",\"name\":\"Customer\",\"namespace\":\"shop\","
            + "\"fields\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"home\",\"type\":\"shop.Address\"}]}";
    private static final String AVRO_ORDER = "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"shop\","
            + "\"fields\":[{\"name\":\"id\",\"type\":\"int\"},{\"name\":\"by\",\"type\":\"shop.Customer\"},"
            + "{\"name\":\"to\",\"type\":\"shop.Address\"}]}";

    @Test
    void avroUsesTheNamedTypesOfItsReferencesInDependencyOrder() {
        Map<String, String> references = new LinkedHashMap<>();
        references.put("shop.Address", AVRO_ADDRESS);
        references.put("shop.Customer", AVRO_CUSTOMER);
        ParsedSchema order = AvroFormat.parse(AVRO_ORDER, references);
        String json = "{\"id\":7,\"by\":{\"name\":\"Ada\",\"home\":{\"city\":\"Oslo\"}},\"to\":{\"city\":\"Rome\"}}";
        byte[] framed = order.encodeFramed(3, utf8(json));
        assertEquals(json, text(order.toJson(framed)));
        assertEquals("shop.Order", order.recordName());
        assertTrue(refused(() -> AvroFormat.parse(AVRO_ORDER, Map.of())).contains("shop.Customer"),
                "without its references the type is unknown");
        assertTrue(refused(() -> AvroFormat.parse(AVRO_ORDER, Map.of("shop.Customer", "{not json")))
                .startsWith("its reference 'shop.Customer': "));
    }

    // ---- protobuf: an imported file, by its import path

    private static final String PROTO_MONEY = "syntax = \"proto3\";\npackage shop.common;\n"
            + "message Money { string currency = 1; int64 cents = 2; }\n";
    private static final String PROTO_LINE = "syntax = \"proto3\";\npackage shop.common;\nimport \"shop/money.proto\";\n"
            + "message Line { string sku = 1; Money price = 2; }\n";
    private static final String PROTO_ORDER = "syntax = \"proto3\";\npackage shop;\nimport \"shop/line.proto\";\n"
            + "import \"shop/money.proto\";\nimport \"google/protobuf/timestamp.proto\";\n"
            + "message Order { int32 id = 1; repeated shop.common.Line lines = 2; shop.common.Money total = 3;"
            + " google.protobuf.Timestamp at = 4; }\n";

    @Test
    void protobufImportsTheFilesOfItsReferencesAndTheWellKnownTypes() {
        Map<String, String> references = Map.of("shop/money.proto", PROTO_MONEY, "shop/line.proto", PROTO_LINE);
        ParsedSchema order = ProtobufFormat.parse(PROTO_ORDER, references);
        String json = "{\"id\":7,\"lines\":[{\"sku\":\"a\",\"price\":{\"currency\":\"EUR\",\"cents\":\"250\"}}],"
                + "\"total\":{\"currency\":\"EUR\",\"cents\":\"250\"},\"at\":\"2026-12-03T10:00:00Z\"}";
        assertEquals(json, text(order.toJson(order.encodeFramed(4, utf8(json)))));
        assertEquals("shop.Order", order.recordName(), "the schema's own first message, not an import's");

        assertTrue(refused(() -> ProtobufFormat.parse(PROTO_ORDER, Map.of("shop/line.proto", PROTO_LINE)))
                .contains("its import \"shop/line.proto\": import \"shop/money.proto\" is neither one of the schema's references"));
        String loop = "syntax = \"proto3\";\nimport \"b.proto\";\nmessage A { int32 x = 1; }\n";
        String back = "syntax = \"proto3\";\nimport \"a.proto\";\nmessage B { int32 y = 1; }\n";
        assertTrue(refused(() -> ProtobufFormat.parse("syntax = \"proto3\";\nimport \"a.proto\";\nmessage M { A a = 1; }\n",
                Map.of("a.proto", loop, "b.proto", back))).contains("imports itself"));
    }

    @Test
    void googleTypesAndConfluentsOwnFilesNeedNoReference() {
        String order = "syntax = \"proto3\";\nimport \"google/type/money.proto\";\nimport \"google/type/date.proto\";\n"
                + "import \"confluent/meta.proto\";\nimport \"confluent/type/decimal.proto\";\n"
                + "message Order {\n  google.type.Money total = 1 [(confluent.field_meta).doc = \"the total\"];\n"
                + "  google.type.Date due = 2;\n  confluent.type.Decimal rate = 3;\n}\n";
        ParsedSchema parsed = ProtobufFormat.parse(order, Map.of());
        String json = "{\"total\":{\"currencyCode\":\"EUR\",\"units\":\"12\",\"nanos\":500000000},"
                + "\"due\":{\"year\":2026,\"month\":12,\"day\":3},\"rate\":{\"value\":\"AQ==\",\"precision\":4,\"scale\":2}}";
        assertEquals(json, text(parsed.toJson(parsed.encodeFramed(1, utf8(json)))));
        assertTrue(refused(() -> ProtobufFormat.parse("syntax = \"proto3\";\nimport \"google/type/nothing.proto\";\n"
                + "message M { int32 x = 1; }\n", Map.of())).contains("nor a file built in"));
    }

    @Test
    void aReferenceMayHaveAnyNameAndImportsMayBePublicOrWeak() {
        String common = "syntax = \"proto3\";\npackage c;\nmessage Id { string v = 1; }\n";
        String reexport = "syntax = \"proto3\";\npackage c;\nimport public \"schema.proto\";\n";
        String user = "syntax = \"proto3\";\nimport \"all.proto\";\nimport weak \"google/protobuf/empty.proto\";\n"
                + "message User { c.Id id = 1; }\n";
        ParsedSchema parsed = ProtobufFormat.parse(user, Map.of("schema.proto", common, "all.proto", reexport));
        String json = "{\"id\":{\"v\":\"u-1\"}}";
        assertEquals(json, text(parsed.toJson(parsed.encodeFramed(1, utf8(json)))));
        assertEquals("User", parsed.recordName());
    }

    // ---- JSON Schema: a $ref to the reference's name

    private static final String JSON_ADDRESS = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
            + "\"required\":[\"city\"]}";
    private static final String JSON_ORDER = "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
            + "\"to\":{\"$ref\":\"address.json\"}},\"required\":[\"id\",\"to\"]}";

    @Test
    void jsonSchemaFollowsARefToAReferenceByItsName() {
        ParsedSchema order = JsonSchemaFormat.parse(JSON_ORDER, Map.of("address.json", JSON_ADDRESS));
        String json = "{\"id\":7,\"to\":{\"city\":\"Rome\"}}";
        assertEquals(json, text(order.toJson(order.encodeFramed(5, utf8(json)))));
        ParsedSchema.InvalidDataException wrong = assertThrows(ParsedSchema.InvalidDataException.class,
                () -> order.encode(utf8("{\"id\":7,\"to\":{\"city\":3}}")));
        assertTrue(wrong.getMessage().contains("city"), wrong.getMessage());
    }

    @Test
    void jsonSchemaResolvesARelativeRefAgainstTheSchemasId() {
        String withId = "{\"$id\":\"https://example.com/schemas/order.json\",\"type\":\"object\","
                + "\"properties\":{\"to\":{\"$ref\":\"address.json\"}},\"required\":[\"to\"]}";
        ParsedSchema order = JsonSchemaFormat.parse(withId, Map.of("address.json", JSON_ADDRESS));
        order.encode(utf8("{\"to\":{\"city\":\"Rome\"}}"));
        assertThrows(ParsedSchema.InvalidDataException.class, () -> order.encode(utf8("{\"to\":{}}")),
                "the referenced schema requires city");
    }
}
