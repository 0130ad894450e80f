package io.portico.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Authenticator;
import io.portico.proxy.handlers.AdminTopicsHandlers;
import io.portico.proxy.handlers.ConsumerHandlers;
import io.portico.proxy.handlers.ConsumerV2Handlers;
import io.portico.proxy.handlers.EventStreamHandlers;
import io.portico.proxy.handlers.MessagesHandler;
import io.portico.proxy.handlers.MetadataHandlers;
import io.portico.proxy.handlers.OpenApiHandler;
import io.portico.proxy.handlers.ProduceHandler;
import io.portico.proxy.handlers.RecordsHandler;
import io.portico.proxy.handlers.RootHandler;
import io.portico.proxy.handlers.StreamTokensHandler;
import io.portico.proxy.handlers.v3.ProduceV3Handler;
import io.portico.proxy.handlers.v3.ReadV3Handler;
import io.portico.proxy.nodes.Forwarding;
import io.portico.proxy.handlers.v3.V3AdminHandlers;
import io.portico.proxy.http.AdminCalls;
import io.portico.proxy.http.Router;
import io.portico.proxy.ops.OpsHandlers;
import io.portico.proxy.testing.OpenApiDocs;
import io.undertow.util.HttpString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@code openapi.json} against the route table: one operation for each path template and method
 * of the table, and none other; every operation named, tagged with its dialect, summarized,
 * answered, and secured with the role it needs; and a document swagger-parser accepts as OpenAPI
 * 3.1. No server and no Kafka: the table is built by {@link Api} itself, as Portico builds it, on
 * handlers without services (no request reaches them here).
 */
class OpenApiDocumentTest {
    private static final Set<String> DIALECTS = Set.of("Confluent v1", "Confluent v2", "Confluent v3", "IBM Event Streams",
            "Server-Sent Events");
    private static final String OPERATIONS = "Operations";
    private static final List<String> SCHEMES = List.of("bearerAuth", "basicAuth", "xAuthToken", "clientCertificate");
    /** Event streams also open with a stream token in the query (a browser's EventSource sends no header). */
    private static final String STREAM_TOKEN = "sseToken";
    private static final Set<String> ROLES = Set.of("reader", "writer", "manager");

    private static final byte[] BYTES = OpenApiHandler.load();
    private static final JsonNode DOCUMENT = OpenApiDocs.parse(BYTES);

    /** Every route Portico serves, {@code GET /topics/{topic}}, as {@link Api} builds its table. */
    static Set<String> routeTable() {
        Router routes = Api.routes(new Access(Authenticator.none()), new AdminCalls(1, 1), new Api.Handlers(
                new RootHandler(),
                new MetadataHandlers(null),
                new ProduceHandler(null, null, null, 0, 0, null, null),
                new MessagesHandler(null, null, null, 0, null),
                new ConsumerHandlers(null, null, null, null, List.of(), null, 0),
                new ConsumerV2Handlers(null, null, null, null, 0),
                new RecordsHandler(null, null, null, null, null, null),
                new AdminTopicsHandlers(null, 0),
                V3AdminHandlers.of(null, null, 0),
                new ProduceV3Handler(null, null, null, null, null, null, null),
                new ReadV3Handler(null, null, null, null, 0),
                new Forwarding(null, null, "", null, null, java.time.Duration.ofSeconds(1), 1, java.time.Duration.ofSeconds(15)),
                new EventStreamHandlers(null, null, null, null, null),
                new StreamTokensHandler(null)));
        Api.operations(routes, new OpsHandlers(new MetricRegistry(), null));
        Set<String> out = new TreeSet<>();
        routes.routes().forEach((template, methods) -> {
            for (HttpString method : methods.keySet()) {
                out.add(method + " " + template);
            }
        });
        return out;
    }

    @Test
    void everyRouteHasAnOperationAndEveryOperationARoute() {
        Set<String> routes = routeTable();
        Set<String> documented = new TreeSet<>();
        for (OpenApiDocs.Operation op : OpenApiDocs.operations(DOCUMENT)) {
            assertTrue(documented.add(op.route()), "documented twice: " + op.route());
        }
        Set<String> undocumented = new TreeSet<>(routes);
        undocumented.removeAll(documented);
        Set<String> unrouted = new TreeSet<>(documented);
        unrouted.removeAll(routes);
        assertTrue(undocumented.isEmpty() && unrouted.isEmpty(),
                "proxy/src/main/resources/openapi.json and the route table (Api.java) must describe the same routes."
                        + "\n  routes without an operation: " + undocumented
                        + "\n  operations without a route: " + unrouted);
        assertTrue(routes.contains("GET /openapi.json"), "the document describes itself too");
    }

    @Test
    void theDocumentPassesTheOpenApiValidator() {
        assertEquals("3.1.0", DOCUMENT.path("openapi").asText());
        assertEquals(List.of(), OpenApiDocs.problems(new String(BYTES, StandardCharsets.UTF_8)));
    }

    @Test
    void theVersionIsTheBuilds() {
        String version = DOCUMENT.path("info").path("version").asText();
        assertFalse(version.isEmpty() || version.contains("${"), "info.version is filled in by the build: " + version);
        assertEquals("Portico", DOCUMENT.path("info").path("title").asText());
    }

    @Test
    void everyOperationIsNamedTaggedSummarizedAndAnswered() {
        Set<String> ids = new HashSet<>();
        for (OpenApiDocs.Operation op : OpenApiDocs.operations(DOCUMENT)) {
            JsonNode d = op.definition();
            assertTrue(ids.add(d.path("operationId").asText()), op.route() + ": operationId missing or taken");
            assertFalse(d.path("summary").asText().isBlank(), op.route() + ": summary");
            List<String> tags = new ArrayList<>();
            d.path("tags").forEach(t -> tags.add(t.asText()));
            assertFalse(tags.isEmpty(), op.route() + ": no tag");
            assertTrue(tags.equals(List.of(OPERATIONS)) || DIALECTS.containsAll(tags),
                    op.route() + ": tags are dialects, or Operations alone: " + tags);
            assertTrue(d.path("responses").size() > 0, op.route() + ": responses");
            Set<String> declared = new HashSet<>();
            for (JsonNode p : op.parameters(DOCUMENT)) {
                if (p.path("in").asText().equals("path")) {
                    assertTrue(p.path("required").asBoolean(), op.route() + ": path parameters are required");
                    assertTrue(p.path("schema").has("type"), op.route() + ": " + p.path("name") + " has a type");
                    declared.add(p.path("name").asText());
                } else {
                    assertTrue(p.path("schema").has("type"), op.route() + ": " + p.path("name") + " has a type");
                }
            }
            assertEquals(OpenApiDocs.templateParameters(op.path()), declared, op.route() + ": path parameters");
        }
    }

    /** Whether the operation's 200 answer may be {@code text/event-stream} (directly or through its response). */
    private static boolean hasEventStream(JsonNode definition) {
        JsonNode ok = definition.path("responses").path("200");
        if (ok.has("$ref")) {
            String name = ok.path("$ref").asText().substring("#/components/responses/".length());
            ok = DOCUMENT.path("components").path("responses").path(name);
        }
        return ok.path("content").has("text/event-stream");
    }

    @Test
    void theReadsThatStreamEventsSayWhereTheyResume() {
        List<String> streaming = new ArrayList<>();
        for (OpenApiDocs.Operation op : OpenApiDocs.operations(DOCUMENT)) {
            if (hasEventStream(op.definition())) {
                streaming.add(op.route());
                List<String> names = new ArrayList<>();
                op.parameters(DOCUMENT).forEach(p -> names.add(p.path("name").asText()));
                assertTrue(names.contains("Last-Event-ID") && names.contains("last_event_id"), op.route() + ": " + names);
            }
        }
        assertEquals(new TreeSet<>(List.of("GET /consumers/{group}/instances/{instance}/records",
                "GET /consumers/{group}/instances/{instance}/topics/{topic}",
                "GET /topics/{topic}/partitions/{partition}/messages",
                "GET /v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/records")), new TreeSet<>(streaming));
    }

    @Test
    void everyOperationButTheOperatorsNeedsAnApiKeyOfOneRole() {
        for (OpenApiDocs.Operation op : OpenApiDocs.operations(DOCUMENT)) {
            JsonNode security = op.definition().path("security");
            boolean operators = op.definition().path("tags").path(0).asText().equals(OPERATIONS);
            if (operators) {
                assertTrue(security.isMissingNode(), op.route() + ": the operator's routes take no API key");
                continue;
            }
            boolean streams = hasEventStream(op.definition());
            assertEquals(SCHEMES.size() + (streams ? 1 : 0), security.size(),
                    op.route() + ": one requirement per credential form (and the stream token where events stream)");
            if (streams) {
                JsonNode token = security.get(SCHEMES.size()).path(STREAM_TOKEN);
                assertTrue(token.size() == 1 && token.get(0).asText().equals(op.role()), op.route() + ": " + token);
            }
            String role = op.role();
            assertTrue(ROLES.contains(role), op.route() + ": role " + role);
            for (int i = 0; i < SCHEMES.size(); i++) {
                JsonNode requirement = security.get(i);
                JsonNode roles = requirement.path(SCHEMES.get(i));
                assertTrue(requirement.size() == 1 && roles.size() == 1 && roles.get(0).asText().equals(role),
                        op.route() + ": " + SCHEMES.get(i) + " with the role " + role + ", not " + requirement);
            }
        }
    }
}
