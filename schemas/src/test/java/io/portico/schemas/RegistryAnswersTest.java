package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a registry's answers other than a schema mean, through {@link SchemaService} against stubs
 * of a Confluent registry: a 5xx, 408 or 429 is a registry that cannot answer now (the next URL is
 * tried, 503 when none answers); 401, 403, a 404 without Confluent's error code and a redirect are
 * this server's failure (500), never the client's, except that a 403 with Confluent's 40301 (its
 * authorization refusing this server a subject or schema) is 403/40301 as Confluent's proxy answers; Confluent's own refusals stay the client's
 * (422/42205 on produce, 50002 naming the record on consume).
 */
class RegistryAnswersTest {
    private static final String USER = "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}";
    private static final String SCHEMA_7 = "{\"schema\":" + Json.mapper().getNodeFactory().textNode(USER) + "}";
    /** A record whose value is framed with schema id 7. */
    private static final ConsumedRecord RECORD = new ConsumedRecord("t", null, Framing.frame(7, new byte[] {2, 'x'}), 0, 42);

    private final List<StubRegistry> registries = new ArrayList<>();

    /** A registry that answers every request with {@code status} and {@code body}. */
    private StubRegistry registry(int status, String body) throws IOException {
        StubRegistry r = new StubRegistry(path -> new StubRegistry.Answer(status, body));
        registries.add(r);
        return r;
    }

    @AfterEach
    void stop() {
        registries.forEach(StubRegistry::close);
    }

    private static RestException byId(SchemaService service) {
        return assertThrows(RestException.class, () -> service.ofId(EmbeddedFormat.AVRO, 7));
    }

    private static RestException registering(SchemaService service) {
        return assertThrows(RestException.class, () -> service.forProduce(EmbeddedFormat.AVRO, "t-value", USER, null));
    }

    private static RestException consuming(SchemaService service) {
        return assertThrows(RestException.class, () -> service.decode(EmbeddedFormat.AVRO, RECORD));
    }

    @Test
    void a408Or429IsARegistryThatCannotAnswerNow() throws IOException {
        for (int status : new int[] {408, 429}) {
            StubRegistry busy = registry(status, "{\"error_code\":" + status + ",\"message\":\"slow down\"}");
            StubRegistry fine = registry(200, SCHEMA_7);
            SchemaService both = StubRegistry.service(busy.url(), fine.url());
            assertEquals(7, both.ofId(EmbeddedFormat.AVRO, 7).id());
            assertEquals(1, busy.asked("/schemas/ids/7"), "the busy registry first");
            assertEquals(1, fine.asked("/schemas/ids/7"), "then the next");

            SchemaService alone = busy.service();
            RestException e = byId(alone);
            assertEquals(ErrorCode.SERVICE_UNAVAILABLE, e.errorCode(), e.getMessage());
            assertTrue(e.getMessage().contains("answered " + status), e.getMessage());
            assertEquals(ErrorCode.SERVICE_UNAVAILABLE, registering(alone).errorCode());
            assertEquals(ErrorCode.SERVICE_UNAVAILABLE, consuming(alone).errorCode());
        }
    }

    @Test
    void aJsonSchemaWithAReferenceThatIsNoPointerIsReadNotARegistryOutage() throws IOException {
        // networknt's draft 7 ignores dependentSchemas; the count of where $refs lead read its
        // "#/%zz" as a pointer and failed, which was answered 503 "retry later" for good.
        String schema = "{\"dependentSchemas\":{\"a\":{\"$ref\":\"#/%zz\"}}}";
        SchemaService service = registry(200, "{\"schemaType\":\"JSON\",\"schema\":"
                + Json.mapper().getNodeFactory().textNode(schema) + "}").service();
        assertEquals(7, service.ofId(EmbeddedFormat.JSONSCHEMA, 7).id());
    }

    @Test
    void credentialsTheRegistryDoesNotTakeAreTheServersFailure() throws IOException {
        for (int status : new int[] {401, 403}) {
            SchemaService service = registry(status, "{\"error_code\":" + status + ",\"message\":\"Unauthorized\"}").service();
            for (RestException e : List.of(byId(service), registering(service), consuming(service))) {
                assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, e.errorCode(), e.getMessage());
                assertEquals(500, e.httpStatus());
                assertTrue(e.getMessage().contains("answered " + status) && e.getMessage().contains("credentials"),
                        e.getMessage());
            }
        }
    }

    @Test
    void aRefusalOfTheRegistrysAuthorizationIs403As40301() throws IOException {
        // The registry takes this server's credentials, but its authorization (RBAC) does not let
        // it use that subject or schema: as Confluent's proxy answers it.
        SchemaService service = registry(403, "{\"error_code\":40301,\"message\":\"User cannot access the resource.\"}")
                .service();
        for (RestException e : List.of(byId(service), registering(service))) {
            assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR, e.errorCode(), e.getMessage());
            assertEquals(403, e.httpStatus());
            assertTrue(e.getMessage().contains("User cannot access the resource."), e.getMessage());
        }
        // v3 by id: the id is read, its look-up under the subject refused.
        StubRegistry subjectRefused = new StubRegistry(path -> path.startsWith("/schemas/ids/7")
                ? new StubRegistry.Answer(200, SCHEMA_7)
                : new StubRegistry.Answer(403, "{\"error_code\":40301,\"message\":\"User cannot access the subject.\"}"));
        registries.add(subjectRefused);
        SchemaService v3 = subjectRefused.service();
        for (int i = 0; i < 2; i++) { // not kept as the subject's answer: asked again, refused again
            RestException e = assertThrows(RestException.class, () -> v3.forV3(SchemaType.AVRO, "t", false, null, null, 7,
                    null, null));
            assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR, e.errorCode(), e.getMessage());
            assertTrue(e.getMessage().contains("User cannot access the subject."), e.getMessage());
        }
    }

    @Test
    void aNotFoundWithoutConfluentsErrorCodeOrARedirectIsTheServersFailure() throws IOException {
        for (StubRegistry r : List.of(registry(404, "<html>Not Found</html>"), registry(404, "{\"message\":\"no route\"}"),
                registry(302, ""))) {
            SchemaService service = r.service();
            for (RestException e : List.of(byId(service), registering(service), consuming(service))) {
                assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, e.errorCode(), e.getMessage());
                assertTrue(e.getMessage().contains("its URL is not"), e.getMessage());
            }
        }
    }

    @Test
    void anIdTheRegistryDoesNotHaveIsNotAskedForAgainAtEveryRecord() throws IOException {
        // A consumer stuck at a record framed with it read its schema again on every poll.
        StubRegistry r = registry(404, "{\"error_code\":40403,\"message\":\"Schema 7 not found\"}");
        SchemaService unknown = r.service();
        for (int i = 0; i < 3; i++) {
            assertTrue(consuming(unknown).getMessage().contains("40403"));
            assertEquals(ErrorCode.INVALID_SCHEMA, byId(unknown).errorCode());
        }
        assertEquals(1, r.asked("/schemas/ids/7"), "asked once within " + SchemaService.FAILED_ID_TTL);
    }

    @Test
    void anIdTheRegistryDoesNotHaveIsNotAskedForAgainByAJsonSchemaReader() throws IOException {
        // A JSON Schema reader asks for the id's type alone, which had kept no failure.
        StubRegistry r = registry(404, "{\"error_code\":40403,\"message\":\"Schema 7 not found\"}");
        SchemaService unknown = r.service();
        for (int i = 0; i < 3; i++) {
            RestException e = assertThrows(RestException.class, () -> unknown.decode(EmbeddedFormat.JSONSCHEMA, RECORD));
            assertEquals(ErrorCode.KAFKA_ERROR, e.errorCode(), e.getMessage());
            assertTrue(e.getMessage().contains("40403"), e.getMessage());
        }
        assertEquals(1, r.asked("/schemas/ids/7"), "asked once within " + SchemaService.FAILED_ID_TTL);
    }

    @Test
    void confluentsRefusalsStayTheClients() throws IOException {
        SchemaService unknown = registry(404, "{\"error_code\":40403,\"message\":\"Schema 7 not found\"}").service();
        RestException e = byId(unknown);
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode(), e.getMessage());
        assertTrue(e.getMessage().contains("40403"), e.getMessage());
        e = consuming(unknown);
        assertEquals(ErrorCode.KAFKA_ERROR, e.errorCode(), e.getMessage());
        assertTrue(e.getMessage().contains("offset 42") && e.getMessage().contains("40403"), e.getMessage());

        SchemaService invalid = registry(422, "{\"error_code\":42201,\"message\":\"Invalid schema\"}").service();
        e = registering(invalid);
        assertEquals(ErrorCode.INVALID_SCHEMA, e.errorCode(), e.getMessage());
        assertTrue(e.getMessage().contains("42201"), e.getMessage());
        SchemaService incompatible = registry(409, "{\"error_code\":409,\"message\":\"incompatible\"}").service();
        assertEquals(ErrorCode.INVALID_SCHEMA, registering(incompatible).errorCode());
    }
}
