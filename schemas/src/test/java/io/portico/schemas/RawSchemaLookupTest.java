package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A schema given as text (v1 and v2's {@code key_schema}/{@code value_schema}, v3's
 * {@code schema}) is looked up under its subject first and registered only when the registry
 * answers that the subject (40401) or the schema (40403) is not there, as Confluent's proxy does:
 * a schema already registered is produced with under a subject in READONLY mode, or with
 * credentials that may only read, where registering it is refused.
 */
class RawSchemaLookupTest {
    private static final String USER = "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}";
    private static final String NOT_FOUND = "{\"error_code\":40401,\"message\":\"Subject not found.\"}";

    private StubRegistry registry;
    private SchemaService service;
    /** Whether the schema was registered under {@code new-value}. */
    private final AtomicBoolean registered = new AtomicBoolean();

    @BeforeEach
    void start() throws Exception {
        registry = new StubRegistry(path -> switch (path) {
            // Registered before; the subject in READONLY mode, as Confluent's registry refuses it.
            case "/subjects/ro-value", "/subjects/reader-value" -> new StubRegistry.Answer(200,
                    "{\"subject\":\"x\",\"id\":5,\"version\":2,\"schema\":\"\"}");
            case "/subjects/ro-value/versions", "/subjects/ro-new-value/versions" -> new StubRegistry.Answer(422,
                    "{\"error_code\":42205,\"message\":\"Subject ro-value in context is in read-only mode\"}");
            // Credentials that may only read: register is forbidden.
            case "/subjects/reader-value/versions" -> new StubRegistry.Answer(403,
                    "{\"error_code\":40301,\"message\":\"User cannot access the resource.\"}");
            // Not registered until it is.
            case "/subjects/new-value" -> registered.get()
                    ? new StubRegistry.Answer(200, "{\"subject\":\"new-value\",\"id\":9,\"version\":1,\"schema\":\"\"}")
                    : new StubRegistry.Answer(404, NOT_FOUND);
            case "/subjects/new-value/versions" -> {
                registered.set(true);
                yield new StubRegistry.Answer(200, "{\"id\":9}");
            }
            // The subject is there, the schema is not; its version is then not known.
            case "/subjects/other-value" -> new StubRegistry.Answer(404,
                    "{\"error_code\":40403,\"message\":\"Schema not found\"}");
            case "/subjects/other-value/versions" -> new StubRegistry.Answer(200, "{\"id\":10}");
            case "/subjects/busy-value" -> new StubRegistry.Answer(503, "{\"error_code\":50003,\"message\":\"busy\"}");
            case "/subjects/denied-value" -> new StubRegistry.Answer(401, "{\"error_code\":401,\"message\":\"Unauthorized\"}");
            default -> new StubRegistry.Answer(404, NOT_FOUND);
        });
        service = registry.service();
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    private SchemaService.Resolved v2(String subject) {
        return service.forProduce(EmbeddedFormat.AVRO, subject, USER, null);
    }

    @Test
    void aSchemaAlreadyRegisteredIsProducedWithWhereRegisteringIsRefused() {
        for (int i = 0; i < 3; i++) {
            SchemaService.Resolved r = v2("ro-value");
            assertEquals(5, r.id());
            assertEquals(2, r.version());
            SchemaService.Resolved v3 = service.forV3(SchemaType.AVRO, "reader", false, null, null, null, null, USER);
            assertEquals("reader-value", v3.subject());
            assertEquals(5, v3.id());
            assertEquals(2, v3.version());
        }
        assertEquals(1, registry.asked("/subjects/ro-value"), "looked up once, then cached");
        assertEquals(1, registry.asked("/subjects/reader-value"));
        assertEquals(0, registry.asked("/subjects/ro-value/versions"), "never registered");
        assertEquals(0, registry.asked("/subjects/reader-value/versions"));
    }

    @Test
    void aSchemaNotRegisteredIsRegistered() {
        for (int i = 0; i < 3; i++) {
            SchemaService.Resolved r = v2("new-value");
            assertEquals(9, r.id());
            assertEquals(1, r.version());
        }
        assertEquals(1, registry.asked("/subjects/new-value/versions"), "registered once");
        assertEquals(2, registry.asked("/subjects/new-value"), "looked up before and after");

        SchemaService.Resolved other = service.forV3(SchemaType.AVRO, "other", false, null, null, null, null, USER);
        assertEquals(10, other.id());
        assertNull(other.version(), "the registry does not say its version");
        assertEquals(1, registry.asked("/subjects/other-value/versions"));

        // Not registered, and registering it refused: the registry's refusal.
        RestException e = assertThrows(RestException.class, () -> v2("ro-new-value"));
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode(), e.getMessage());
    }

    @Test
    void aLookUpThatFailsOtherwiseRegistersNothing() {
        RestException busy = assertThrows(RestException.class, () -> v2("busy-value"));
        assertEquals(ErrorCode.SERVICE_UNAVAILABLE, busy.errorCode(), busy.getMessage());
        RestException denied = assertThrows(RestException.class, () -> v2("denied-value"));
        assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, denied.errorCode(), denied.getMessage());
        assertEquals(0, registry.asked("/subjects/busy-value/versions"));
        assertEquals(0, registry.asked("/subjects/denied-value/versions"));
    }
}
