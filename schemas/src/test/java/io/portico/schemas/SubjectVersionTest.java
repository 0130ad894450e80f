package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link SchemaService#subjectVersion} (the records endpoint's {@code schemaname} and
 * {@code schemaversion}) against a stub of a Confluent registry that counts what it is asked:
 * Confluent's 40401/40402 are "not found" (remembered a moment, so a client repeating a misspelt
 * name does not have each request asked of the registry), any other 404 is the registry's failure.
 */
class SubjectVersionTest {
    private static final String USER = "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}";

    private StubRegistry registry;
    private SchemaService service;

    @BeforeEach
    void start() throws Exception {
        registry = new StubRegistry(path -> {
            if (path.equals("/subjects/users/versions/1") || path.equals("/subjects/users/versions/latest")) {
                return new StubRegistry.Answer(200, "{\"subject\":\"users\",\"id\":7,\"version\":1,\"schema\":"
                        + io.portico.protocol.Json.mapper().getNodeFactory().textNode(USER) + "}");
            } else if (path.startsWith("/subjects/users/versions/")) {
                return new StubRegistry.Answer(404, "{\"error_code\":40402,\"message\":\"Version not found\"}");
            } else if (path.startsWith("/subjects/proxied/")) {
                return new StubRegistry.Answer(404, "<html>no such page</html>"); // a reverse proxy's 404, not the registry's
            }
            return new StubRegistry.Answer(404, "{\"error_code\":40401,\"message\":\"Subject not found\"}");
        });
        service = registry.service();
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    private int asked(String path) {
        return registry.asked(path);
    }

    @Test
    void aVersionOfASubjectIsFoundByNumberOrLatest() {
        SchemaService.Resolved one = service.subjectVersion("users", "1");
        assertEquals("users", one.subject());
        assertEquals(7, one.id());
        assertEquals(1, one.version());
        assertEquals(SchemaType.AVRO, one.schema().type());
        assertEquals(1, service.subjectVersion("users", "latest").version());
    }

    @Test
    void aSubjectOrVersionTheRegistryDoesNotHaveIsNotFoundAndAskedAgainOnlyAfterAMoment() {
        for (int i = 0; i < 5; i++) {
            RestException e = assertThrows(RestException.class, () -> service.subjectVersion("typo", "1"));
            assertEquals(ErrorCode.SCHEMA_NOT_FOUND, e.errorCode());
            assertTrue(e.getMessage().contains("40401"), e.getMessage());
        }
        assertEquals(1, asked("/subjects/typo/versions/1"), "five requests, one look-up");
        assertEquals(ErrorCode.SCHEMA_NOT_FOUND,
                assertThrows(RestException.class, () -> service.subjectVersion("users", "9")).errorCode());
        // Not a version a Confluent registry can have: answered without asking it.
        for (String version : List.of("one", "0", "1.0.0", "-1")) {
            assertEquals(ErrorCode.SCHEMA_NOT_FOUND,
                    assertThrows(RestException.class, () -> service.subjectVersion("users", version)).errorCode(), version);
        }
        assertEquals(ErrorCode.SCHEMA_NOT_FOUND,
                assertThrows(RestException.class, () -> service.subjectVersion("..", "1")).errorCode());
        assertEquals(0, registry.paths().stream().filter(p -> p.contains("/versions/one") || p.contains("/versions/0")
                || p.contains("/subjects/../") || p.contains("/subjects/%2E")).count(), registry.paths().toString());
    }

    @Test
    void aNotFoundThatIsNotConfluentsIsTheRegistrysFailureNotTheClients() {
        RestException e = assertThrows(RestException.class, () -> service.subjectVersion("proxied", "1"));
        assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, e.errorCode(), e.getMessage());
        assertTrue(e.getMessage().contains("answered 404"), e.getMessage());
    }
}
