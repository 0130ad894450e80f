package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Schemas the registry lists with references to other registered schemas, through
 * {@link SchemaService} against a stub of a Confluent registry: the references are fetched (each
 * version once), parsed before the schema that uses them, and a closure that cannot be used
 * (a cycle, too many, another type, one name for two schemas) is refused with a reason.
 */
class ReferencedSchemasTest {
    private static final String MONEY = "syntax = \"proto3\";\npackage shop;\nmessage Money { int64 cents = 1; }\n";
    private static final String ORDER = "syntax = \"proto3\";\npackage shop;\nimport \"money.proto\";\n"
            + "message Order { int32 id = 1; Money total = 2; }\n";
    private static final String REFUND = "syntax = \"proto3\";\npackage shop;\nimport \"money.proto\";\n"
            + "message Refund { Money amount = 1; }\n";

    /** An answer that makes the stub answer 503, as a registry that is down. */
    private static final String DOWN = "down";

    private StubRegistry registry;
    /** What the stub answers, by request path. */
    private final Map<String, String> answers = new ConcurrentHashMap<>();
    private SchemaService service;

    @BeforeEach
    void start() throws Exception {
        registry = new StubRegistry(path -> {
            String body = answers.get(path);
            if (body == null) {
                return new StubRegistry.Answer(404, path.startsWith("/subjects/")
                        ? "{\"error_code\":40402,\"message\":\"Version not found\"}"
                        : "{\"error_code\":40403,\"message\":\"Schema not found\"}");
            }
            return body.equals(DOWN) ? new StubRegistry.Answer(503, "down") : new StubRegistry.Answer(200, body);
        });
        service = registry.service();
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    /** A registry answer: the schema, its type, and its references as {name, subject, version} triples. */
    private static String schema(String type, String text, String... references) {
        ObjectNode json = Json.mapper().createObjectNode().put("schema", text).put("schemaType", type)
                .put("id", 1).put("version", 1);
        ArrayNode refs = json.putArray("references");
        for (int i = 0; i < references.length; i += 3) {
            refs.addObject().put("name", references[i]).put("subject", references[i + 1])
                    .put("version", Integer.parseInt(references[i + 2]));
        }
        return json.toString();
    }

    private void id(int id, String answer) {
        answers.put("/schemas/ids/" + id, answer);
    }

    private void version(String subject, int version, String answer) {
        answers.put("/subjects/" + subject + "/versions/" + version, answer);
    }

    private SchemaService.Resolved byId(EmbeddedFormat format, int id) {
        return service.ofId(format, id);
    }

    private String refusal(EmbeddedFormat format, int id) {
        RestException e = assertThrows(RestException.class, () -> byId(format, id));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode(), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aSchemaIsParsedWithItsReferencesAndEachReferencedVersionIsFetchedOnce() {
        version("money", 3, schema("PROTOBUF", MONEY));
        id(10, schema("PROTOBUF", ORDER, "money.proto", "money", "3"));
        id(11, schema("PROTOBUF", REFUND, "money.proto", "money", "3"));

        SchemaService.Resolved order = byId(EmbeddedFormat.PROTOBUF, 10);
        String json = "{\"id\":7,\"total\":{\"cents\":\"250\"}}";
        byte[] framed = order.serialize(json.getBytes(StandardCharsets.UTF_8));
        assertEquals(json, new String(order.schema().toJson(framed), StandardCharsets.UTF_8));
        assertEquals(ORDER, order.schema().canonical(), "the registry's own text, as a look-up sends it back");
        assertEquals(List.of(new RegistryClient.Reference("money.proto", "money", 3)), order.schema().references());

        assertEquals("shop.Refund", byId(EmbeddedFormat.PROTOBUF, 11).schema().recordName());
        assertEquals(1, registry.asked("/subjects/money/versions/3?deleted=true"),
                "a referenced version is fetched once, soft-deleted or not (records written before still need it)");
    }

    @Test
    void anAvroSchemaTheRegistryHoldsIsReadWithoutCheckingItsDefaultsAsConfluentsSerializersReadIt() {
        // Registered before avro checked defaults: a string as an int's default.
        String old = "{\"type\":\"record\",\"name\":\"U\",\"fields\":[{\"name\":\"n\","
                + "\"type\":[\"null\",\"string\"]},{\"name\":\"i\",\"type\":\"int\",\"default\":\"x\"}]}";
        id(12, schema("AVRO", old));
        SchemaService.Resolved held = byId(EmbeddedFormat.AVRO, 12);
        String json = "{\"n\":{\"string\":\"abc\"},\"i\":7}";
        assertEquals(json, new String(held.schema().toJson(held.serialize(json.getBytes(StandardCharsets.UTF_8))),
                StandardCharsets.UTF_8));
        // The same text as a new schema (a produce's value_schema) is refused, as Confluent refuses it.
        RestException e = assertThrows(RestException.class, () -> SchemaService.parse(SchemaType.AVRO, old));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode(), e.getMessage());
    }

    @Test
    void referencesOfReferencesComeFirstAndANameMetAgainIsSkippedAsConfluentDoes() {
        String a = "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"b\",\"type\":\"B\"}]}";
        String b = "{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"c\",\"type\":\"C\"}]}";
        String c = "{\"type\":\"record\",\"name\":\"C\",\"fields\":[{\"name\":\"n\",\"type\":\"int\"}]}";
        version("b", 1, schema("AVRO", b, "C", "c", "1"));
        version("c", 1, schema("AVRO", c));
        id(20, schema("AVRO", a, "B", "b", "1"));
        String json = "{\"b\":{\"c\":{\"n\":5}}}";
        SchemaService.Resolved top = byId(EmbeddedFormat.AVRO, 20);
        assertEquals(json, new String(top.schema().toJson(top.serialize(json.getBytes(StandardCharsets.UTF_8))),
                StandardCharsets.UTF_8));

        // C's own reference back to B (a cycle) is skipped: B is already being resolved
        version("x", 1, schema("AVRO", b, "C", "y", "1"));
        version("y", 1, schema("AVRO", c, "B", "x", "1"));
        id(21, schema("AVRO", a, "B", "x", "1"));
        assertEquals("A", byId(EmbeddedFormat.AVRO, 21).schema().recordName());

        // one name for two versions: the first met, depth first, takes it
        String moneyWithCurrency = "syntax = \"proto3\";\npackage shop;\nmessage Money { int64 cents = 1; string currency = 2; }\n";
        version("money", 1, schema("PROTOBUF", MONEY));
        version("money", 2, schema("PROTOBUF", moneyWithCurrency));
        version("refund", 1, schema("PROTOBUF", REFUND, "money.proto", "money", "2"));
        id(22, schema("PROTOBUF", ORDER, "money.proto", "money", "1", "refund.proto", "refund", "1"));
        SchemaService.Resolved order = byId(EmbeddedFormat.PROTOBUF, 22);
        order.serialize("{\"total\":{\"cents\":\"5\"}}".getBytes(StandardCharsets.UTF_8));
        assertThrows(ParsedSchema.InvalidDataException.class, () -> order.serialize(
                "{\"total\":{\"cents\":\"5\",\"currency\":\"EUR\"}}".getBytes(StandardCharsets.UTF_8)),
                "version 1 of money, met first, has no currency");

        // -1 is the latest version
        answers.put("/subjects/money/versions/latest", schema("PROTOBUF", moneyWithCurrency));
        id(23, schema("PROTOBUF", ORDER, "money.proto", "money", "-1"));
        byId(EmbeddedFormat.PROTOBUF, 23).serialize("{\"total\":{\"currency\":\"EUR\"}}".getBytes(StandardCharsets.UTF_8));
        assertEquals(1, registry.asked("/subjects/money/versions/latest?deleted=true"));
    }

    @Test
    void aClosureThatCannotBeUsedIsRefusedWithItsReason() {
        // another type
        version("avro", 1, schema("AVRO", "{\"type\":\"record\",\"name\":\"M\",\"fields\":[]}"));
        id(30, schema("PROTOBUF", ORDER, "money.proto", "avro", "1"));
        assertTrue(refusal(EmbeddedFormat.PROTOBUF, 30).contains("its reference 'money.proto' is a AVRO schema, not PROTOBUF"));

        // a version no registry numbers
        id(31, schema("PROTOBUF", ORDER, "money.proto", "money", "0"));
        assertTrue(refusal(EmbeddedFormat.PROTOBUF, 31).contains("its reference 'money.proto' names version 0"));

        // too many
        String[] many = new String[3 * (SchemaService.MAX_REFERENCED + 1)];
        for (int i = 0; i <= SchemaService.MAX_REFERENCED; i++) {
            version("m" + i, 1, schema("PROTOBUF", "syntax = \"proto3\";\nmessage M" + i + " { int32 x = 1; }\n"));
            many[3 * i] = "m" + i + ".proto";
            many[3 * i + 1] = "m" + i;
            many[3 * i + 2] = "1";
        }
        id(32, schema("PROTOBUF", ORDER, many));
        assertTrue(refusal(EmbeddedFormat.PROTOBUF, 32).contains("it references more than " + SchemaService.MAX_REFERENCED));

        // a reference the registry does not have: named, whatever the registry's code
        id(33, schema("PROTOBUF", ORDER, "money.proto", "gone", "1"));
        String gone = refusal(EmbeddedFormat.PROTOBUF, 33);
        assertTrue(gone.contains("its reference 'money.proto' (version 1 of subject 'gone'): the registry answered 40402"), gone);
        // ... also where the schema is named by subject and version: the subject is there, its reference is not
        answers.put("/subjects/orders/versions/latest", schema("PROTOBUF", ORDER, "money.proto", "gone", "1"));
        RestException byName = assertThrows(RestException.class, () -> service.subjectVersion("orders", "latest"));
        assertEquals(ErrorCode.INVALID_SCHEMA, byName.errorCode(), byName.getMessage());
        assertTrue(byName.getMessage().contains("its reference 'money.proto'"), byName.getMessage());
    }

    @Test
    void aRegistryDownWhileFetchingAReferenceIs503AndARetryWorksOnceItIsBack() {
        version("money", 1, DOWN);
        id(40, schema("PROTOBUF", ORDER, "money.proto", "money", "1"));
        RestException down = assertThrows(RestException.class, () -> byId(EmbeddedFormat.PROTOBUF, 40));
        assertEquals(ErrorCode.SERVICE_UNAVAILABLE, down.errorCode(), down.getMessage());
        version("money", 1, schema("PROTOBUF", MONEY));
        assertEquals("shop.Order", byId(EmbeddedFormat.PROTOBUF, 40).schema().recordName());
    }
}
