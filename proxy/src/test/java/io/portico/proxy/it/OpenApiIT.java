package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.handlers.OpenApiHandler;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.OpenApiDocs;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /openapi.json} from a running Portico: the document on the class path, valid
 * OpenAPI 3.1, reachable without an API key when keys are on, and true to the server about
 * security: every operation it says needs a key answers 401 without one and 403 to a key one role
 * short, and a key of the role it names gets past the check.
 */
@ExtendWith(PorticoExtension.class)
class OpenApiIT {
    private static final String READER = "reader-" + UUID.randomUUID();
    private static final String WRITER = "writer-" + UUID.randomUUID();
    private static final String MANAGER = "manager-" + UUID.randomUUID();

    @Test
    void theServedDocumentIsTheResourceAndValidOpenApi(Rest rest) {
        Rest.Response r = rest.get("/openapi.json");
        assertEquals(200, r.status(), r.body());
        assertEquals("application/json", r.contentType());
        assertEquals(new String(OpenApiHandler.load(), StandardCharsets.UTF_8), r.body());
        assertEquals(List.of(), OpenApiDocs.problems(r.body()));
    }

    @Test
    void withApiKeysTheDocumentNeedsNoKeyAndEveryOperationTheRoleItNames(KafkaCluster kafka, @TempDir Path dir)
            throws IOException {
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + key("reader", READER) + "," + key("writer", WRITER) + "," + key("manager", MANAGER) + "]}");
        try (TestPortico p = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString()))) {
            Rest rest = p.rest();
            Rest.Response served = rest.get("/openapi.json");
            assertEquals(200, served.status(), served.body());
            assertEquals(new String(OpenApiHandler.load(), StandardCharsets.UTF_8), served.body());

            JsonNode document = served.json();
            for (OpenApiDocs.Operation op : OpenApiDocs.operations(document)) {
                String path = op.samplePath(document);
                String role = op.role();
                if (role == null) {
                    assertEquals(200, send(rest, op.method(), path).status(), op.route() + " takes no API key");
                    continue;
                }
                // Nothing reaches a handler without a key: the route exists (no 404 or 405) and is guarded.
                assertEquals(401, send(rest, op.method(), path).status(), op.route() + " without a key");
                String shortOf = switch (role) {
                    case "writer" -> READER;
                    case "manager" -> WRITER;
                    default -> null;
                };
                if (shortOf != null) {
                    assertEquals(403, send(rest, op.method(), path, shortOf).status(), op.route() + " needs " + role);
                }
                // Past the check, the handler answers for itself (made-up names: 4xx), never 401 or 403.
                Rest.Response allowed = send(rest, op.method(), path, keyOf(role));
                assertNotEquals(401, allowed.status(), op.route() + " with a " + role + " key: " + allowed);
                assertNotEquals(403, allowed.status(), op.route() + " with a " + role + " key: " + allowed);
            }
        }
    }

    @Test
    void theDocumentStaysWithTheApiWhenAdminListenersAreSet(KafkaCluster kafka) throws IOException {
        int adminPort = TestPortico.freePort();
        try (TestPortico p = TestPortico.start(kafka, Map.of("admin.listeners", "http://127.0.0.1:" + adminPort))) {
            assertEquals(200, p.rest().get("/openapi.json").status());
            Rest admin = new Rest(URI.create("http://127.0.0.1:" + adminPort));
            assertEquals(404, admin.get("/openapi.json").status());
        }
    }

    private static String key(String role, String key) {
        return "{\"name\":\"" + role + "\",\"key\":\"" + key + "\",\"role\":\"" + role + "\",\"topics\":[\"*\"]}";
    }

    private static String keyOf(String role) {
        return switch (role) {
            case "reader" -> READER;
            case "writer" -> WRITER;
            default -> MANAGER;
        };
    }

    /** The request without a body, with {@code key} as a Bearer token when there is one. */
    private static Rest.Response send(Rest rest, String method, String path, String... key) {
        HttpRequest.Builder request = key.length == 0 ? rest.request(path)
                : rest.request(path, "Authorization", "Bearer " + key[0]);
        return rest.send(request.method(method, HttpRequest.BodyPublishers.noBody()));
    }
}
