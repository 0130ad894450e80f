package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * v3's produce with a schema ({@link SchemaService#forV3}) against a stub of a Confluent registry
 * that counts what it is asked. By {@code schema_id}: the version an id has under the subject is
 * asked once, not per record, and records by id are produced while the registry does not answer;
 * an id the subject does not have is refused, and that is remembered too, for a while. By
 * {@code schema} text: looked up, and registered when the subject lacks it, once per subject,
 * under the subject its strategy names.
 */
class ProduceV3Test {
    private static final String USER = "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}";

    private StubRegistry registry;
    private SchemaService service;
    /** When set, the stub answers 503 to everything, as a registry that is down. */
    private volatile boolean down;

    @BeforeEach
    void start() throws Exception {
        registry = new StubRegistry(path -> {
            if (down) {
                return new StubRegistry.Answer(503, "down");
            } else if (path.equals("/schemas/ids/7")) {
                return new StubRegistry.Answer(200, "{\"schema\":" + Json.mapper().getNodeFactory().textNode(USER) + "}");
            } else if (path.endsWith("/versions")) {
                return new StubRegistry.Answer(200, "{\"id\":7}");
            } else if (path.equals("/subjects/t-value")) {
                return new StubRegistry.Answer(200, "{\"subject\":\"t-value\",\"id\":7,\"version\":3,\"schema\":"
                        + Json.mapper().getNodeFactory().textNode(USER) + "}");
            }
            return new StubRegistry.Answer(404, "{\"error_code\":40403,\"message\":\"Schema not found\"}");
        });
        service = registry.service();
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    private SchemaService.Resolved byId(String subject) {
        return service.forV3(SchemaType.AVRO, "t", false, subject, null, 7, null, null);
    }

    @Test
    void theVersionOfAnIdUnderASubjectIsAskedOnce() {
        for (int i = 0; i < 5; i++) {
            SchemaService.Resolved r = byId(null);
            assertEquals("t-value", r.subject());
            assertEquals(7, r.id());
            assertEquals(3, r.version());
        }
        assertEquals(1, registry.asked("/subjects/t-value"), "five records, one look-up");

        down = true;
        for (int i = 0; i < 5; i++) {
            assertEquals(3, byId(null).version(), "produced while the registry does not answer");
        }
        // A subject never asked about cannot be answered for.
        RestException e = assertThrows(RestException.class, () -> byId("elsewhere"));
        assertEquals(ErrorCode.SERVICE_UNAVAILABLE, e.errorCode(), e.getMessage());
    }

    /** v1 and v2's {@code key_schema_id}/{@code value_schema_id} are held to the topic's subject as v3's are (as Confluent's v2 is). */
    @Test
    void aV2SchemaIdIsHeldToTheTopicsSubjectToo() {
        SchemaService.Resolved r = service.forProduce(EmbeddedFormat.AVRO, "t-value", null, 7);
        assertEquals(7, r.id());
        assertEquals(3, r.version());
        RestException e = assertThrows(RestException.class,
                () -> service.forProduce(EmbeddedFormat.AVRO, "other-value", null, 7));
        assertEquals(ErrorCode.SERIALIZATION_ERROR, e.errorCode(), e.getMessage());
        assertTrue(e.getMessage().contains("Schema id 7 is not registered under subject 'other-value' (40403: "),
                e.getMessage());
        assertEquals(7, SchemaService.cachedOnly(() -> service.forProduce(EmbeddedFormat.AVRO, "t-value", null, 7)).id(),
                "answered from the caches once asked, without the registry");
        assertEquals(1, registry.asked("/subjects/t-value"));
    }

    @Test
    void anIdTheSubjectDoesNotHaveIsRefusedAndThatIsRememberedForAWhile() {
        for (int i = 0; i < 5; i++) {
            // As Confluent's v3: the subject's compatibility rule holds for every record under it.
            RestException e = assertThrows(RestException.class, () -> byId("other"));
            assertEquals(ErrorCode.SERIALIZATION_ERROR, e.errorCode(), e.getMessage());
            assertTrue(e.getMessage().contains("Schema id 7 is not registered under subject 'other' (40403: "),
                    e.getMessage());
        }
        assertEquals(1, registry.asked("/subjects/other"), "five records, one look-up");
        down = true;
        RestException e = assertThrows(RestException.class, () -> byId("other"));
        assertEquals(ErrorCode.SERIALIZATION_ERROR, e.errorCode(), e.getMessage());
    }

    /**
     * A schema fetched by id is looked up under its subject by the registry's own text, not by the
     * form Portico writes it in: a registry that compares a look-up's text as given (Apicurio
     * 3.0.x) finds a schema registered as pretty-printed text by that text alone.
     */
    @Test
    void aSchemaIdIsLookedUpUnderItsSubjectByTheRegistrysOwnText() throws Exception {
        String pretty = "{\n  \"type\": \"record\",\n  \"name\": \"User\",\n  \"fields\": [\n"
                + "    {\"name\": \"name\", \"type\": \"string\"}\n  ]\n}";
        String stored = Json.mapper().getNodeFactory().textNode(pretty).toString();
        try (StubRegistry apicurio = new StubRegistry(path -> switch (path) {
            case "/schemas/ids/8" -> new StubRegistry.Answer(200, "{\"schema\":" + stored + "}");
            case "/subjects/p-value" -> new StubRegistry.Answer(200, "{\"subject\":\"p-value\",\"id\":8,"
                    + "\"version\":4,\"schema\":" + stored + "}");
            default -> new StubRegistry.Answer(404, "{\"error_code\":40403,\"message\":\"Schema not found\"}");
        })) {
            SchemaService byText = apicurio.service();
            assertEquals(4, byText.forProduce(EmbeddedFormat.AVRO, "p-value", null, 8).version());
            assertEquals(4, byText.forV3(SchemaType.AVRO, "p", false, null, null, 8, null, null).version());
            java.util.List<String> bodies = apicurio.bodies("/subjects/p-value");
            assertEquals(1, bodies.size(), "asked once, then cached: " + bodies);
            com.fasterxml.jackson.databind.JsonNode body = Json.mapper().readTree(bodies.get(0));
            assertEquals(pretty, body.get("schema").asText(), "the registry's text, exactly");
            assertNull(body.get("references"), "none to send");
        }
    }

    /**
     * A subject of {@code .} or {@code ..} is no path segment of the registry's URLs
     * ({@code POST /subjects/..} reaches its root): refused as the client's fault, before the
     * registry is asked or the caller's check of the subject runs.
     */
    @Test
    void aSubjectOfDotOrDotDotIsRefusedBeforeTheRegistryIsAsked() {
        for (String subject : java.util.List.of(".", "..")) {
            java.util.List<java.util.function.Supplier<SchemaService.Resolved>> ways = java.util.List.of(
                    () -> service.forV3(SchemaType.AVRO, "t", false, subject, null, null, null, USER),
                    () -> service.forV3(SchemaType.AVRO, "t", false, subject, null, 7, null, null),
                    () -> service.forV3(SchemaType.AVRO, "t", false, subject, null, null, 1, null),
                    () -> service.forV3(null, "t", false, subject, null, null, null, null));
            for (java.util.function.Supplier<SchemaService.Resolved> way : ways) {
                RestException e = assertThrows(RestException.class, way::get);
                assertEquals(ErrorCode.PAYLOAD_ERROR, e.errorCode(), e.getMessage());
                assertTrue(e.getMessage().contains("'" + subject + "'"), e.getMessage());
            }
            RestException e = assertThrows(RestException.class, () -> service.forV3(SchemaType.AVRO, "t", false, subject,
                    null, 7, null, null, target -> {
                        throw new AssertionError("the subject is refused before it is checked: " + target);
                    }));
            assertEquals(ErrorCode.PAYLOAD_ERROR, e.errorCode(), e.getMessage());
            // A JSON Schema's title names the subject under RECORD_NAME: the same refusal.
            RestException titled = assertThrows(RestException.class, () -> service.forV3(SchemaType.JSON, "t", false,
                    null, SchemaService.SubjectStrategy.RECORD_NAME, null, null,
                    "{\"title\":\"" + subject + "\",\"type\":\"string\"}"));
            assertEquals(ErrorCode.PAYLOAD_ERROR, titled.errorCode(), titled.getMessage());
        }
        assertEquals(java.util.Set.of(), registry.paths(), "the registry is not asked");
    }

    @Test
    void aRawSchemaIsRegisteredOnceUnderTheSubjectItsStrategyNames() {
        for (int i = 0; i < 3; i++) {
            SchemaService.Resolved r = service.forV3(SchemaType.AVRO, "t", false, null, null, null, null, USER);
            assertEquals("t-value", r.subject());
            assertEquals(7, r.id());
            assertEquals(3, r.version());
            assertEquals("User", r.schema().recordName());
            SchemaService.Resolved named = service.forV3(SchemaType.AVRO, "t", false, null,
                    SchemaService.SubjectStrategy.RECORD_NAME, null, null, USER);
            assertEquals("User", named.subject());
            assertNull(named.version());
        }
        // Looked up first: t-value has it (not registered again), User does not (registered).
        assertEquals(0, registry.asked("/subjects/t-value/versions"));
        assertEquals(1, registry.asked("/subjects/t-value"));
        assertEquals(1, registry.asked("/subjects/User/versions"));
        for (SchemaService.SubjectStrategy s : SchemaService.SubjectStrategy.values()) {
            RestException e = assertThrows(RestException.class,
                    () -> service.forV3(SchemaType.AVRO, "t", false, null, s, null, null, "{\"type\":\"recor"));
            assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode(), e.getMessage());
        }
        // A schema that is not a record has no record name: no subject named "string" or "union".
        for (String notRecord : java.util.List.of("\"string\"", "[\"null\",\"string\"]",
                "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}")) {
            for (SchemaService.SubjectStrategy s : java.util.List.of(SchemaService.SubjectStrategy.RECORD_NAME,
                    SchemaService.SubjectStrategy.TOPIC_RECORD_NAME)) {
                RestException e = assertThrows(RestException.class,
                        () -> service.forV3(SchemaType.AVRO, "t", false, null, s, null, null, notRecord));
                assertEquals(ErrorCode.PAYLOAD_ERROR, e.errorCode(), e.getMessage());
            }
        }
    }
}
