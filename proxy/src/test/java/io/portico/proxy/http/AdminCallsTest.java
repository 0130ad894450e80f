package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.SameThreadExecutor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An API key has at most {@code admin.requests.per.key.max} admin requests in progress: one more
 * is a JSON 429 with {@code Retry-After}, another key's is served, and a place comes back when its
 * request ends, answered or failed. The server has at most {@code admin.requests.max} in progress,
 * all callers together (none named too: authentication off): one more is a JSON 503. On an in-process server, without Kafka: the handler behind
 * the cap holds the requests the test asks it to (as a slow admin call would) until the test
 * answers them, so which are in progress is known without timing.
 */
class AdminCallsTest {
    private static final String CALLER = "X-Caller";
    private static final String HOLD = "X-Hold";
    private static final String FAIL = "X-Fail";
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    /** Requests the handler holds, in the order they reached it. */
    private final BlockingQueue<HttpServerExchange> held = new LinkedBlockingQueue<>();
    /** Requests whose exchange completed: each after the cap gave its place back. */
    private final BlockingQueue<String> completed = new LinkedBlockingQueue<>();
    private HttpServer server;
    private URI base;

    @BeforeEach
    void start() throws Exception {
        AdminCalls calls = new AdminCalls(5, 2, exchange -> exchange.getRequestHeaders().getFirst(CALLER));
        io.undertow.server.HttpHandler admin = calls.wrap(exchange -> {
            if (exchange.getRequestHeaders().contains(FAIL)) {
                throw ErrorCode.TOPIC_NOT_FOUND.exception();
            }
            if (exchange.getRequestHeaders().contains(HOLD)) {
                exchange.dispatch(SameThreadExecutor.INSTANCE, () -> held.add(exchange));
                return;
            }
            exchange.getResponseSender().send("{}");
        });
        io.undertow.server.HttpHandler route = exchange -> {
            // Added before the cap's own listener, so it runs after it: the place is back by then.
            String caller = exchange.getRequestHeaders().getFirst(CALLER);
            exchange.addExchangeCompleteListener((ex, next) -> {
                completed.add(String.valueOf(caller));
                next.proceed();
            });
            admin.handleRequest(exchange);
        };
        Router routes = new Router().get("/admin", route).post("/admin", route);
        server = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(routes), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
        base = URI.create("http://127.0.0.1:" + server.addresses().get(0).getPort() + "/admin");
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private CompletableFuture<HttpResponse<String>> send(String caller, String... flags) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base).timeout(Duration.ofSeconds(60));
        if (caller != null) {
            request.header(CALLER, caller);
        }
        for (String flag : flags) {
            request.header(flag, "1");
        }
        return CLIENT.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> answer(CompletableFuture<HttpResponse<String>> response) throws Exception {
        return response.get(60, TimeUnit.SECONDS);
    }

    /** A request sent holding: returns once the handler holds it (its place is taken by then). */
    private HttpServerExchange hold(String caller) throws Exception {
        send(caller, HOLD);
        HttpServerExchange exchange = held.poll(60, TimeUnit.SECONDS);
        assertTrue(exchange != null, "the request never reached the handler");
        return exchange;
    }

    private static void ok(HttpServerExchange exchange) {
        exchange.getIoThread().execute(() -> exchange.getResponseSender().send("{}"));
    }

    private static void notFound(HttpServerExchange exchange) {
        exchange.getIoThread().execute(() -> ErrorWriter.write(exchange, ErrorCode.TOPIC_NOT_FOUND.exception()));
    }

    private void awaitCompleted(String caller) throws InterruptedException {
        assertEquals(caller, completed.poll(60, TimeUnit.SECONDS), "no request of " + caller + " completed");
    }

    private static void assertRefused(HttpResponse<String> r) throws Exception {
        assertEquals(429, r.statusCode(), r.body());
        assertEquals("1", r.headers().firstValue("Retry-After").orElse(null), r.headers().toString());
        JsonNode body = Json.mapper().readTree(r.body());
        assertEquals(429, body.get("error_code").asInt(), r.body());
        assertTrue(body.get("message").asText().contains("admin.requests.per.key.max"), r.body());
    }

    @Test
    void aKeysThirdAdminRequestInProgressIs429WhileAnotherKeysIsServed() throws Exception {
        hold("a");
        hold("a");
        HttpResponse<String> third = answer(send("a"));
        assertRefused(third);
        awaitCompleted("a"); // the refused one
        assertEquals(200, answer(send("b")).statusCode());
        HttpServerExchange b = hold("b"); // b holds its own places
        hold("b");
        assertRefused(answer(send("b")));
        ok(b);
    }

    @Test
    void aPlaceComesBackWhenItsRequestIsAnsweredOrFails() throws Exception {
        HttpServerExchange first = hold("a");
        HttpServerExchange second = hold("a");
        assertRefused(answer(send("a")));
        awaitCompleted("a");

        notFound(first); // a failed request gives its place back
        awaitCompleted("a");
        HttpServerExchange third = hold("a");
        assertRefused(answer(send("a")));
        awaitCompleted("a");

        ok(second);
        ok(third);
        awaitCompleted("a");
        awaitCompleted("a");
        hold("a");
        hold("a"); // both places back
        assertRefused(answer(send("a")));
    }

    @Test
    void aRequestThatThrowsGivesItsPlaceBack() throws Exception {
        for (int i = 0; i < 5; i++) {
            HttpResponse<String> r = answer(send("a", FAIL));
            assertEquals(404, r.statusCode(), r.body());
            awaitCompleted("a");
        }
        hold("a");
        hold("a");
        assertRefused(answer(send("a")));
    }

    private static void assertServerFull(HttpResponse<String> r) throws Exception {
        assertEquals(503, r.statusCode(), r.body());
        assertEquals("1", r.headers().firstValue("Retry-After").orElse(null), r.headers().toString());
        JsonNode body = Json.mapper().readTree(r.body());
        assertEquals(503, body.get("error_code").asInt(), r.body());
        assertTrue(body.get("message").asText().contains("admin.requests.max"), r.body());
    }

    @Test
    void withoutACallerOnlyTheServersBoundCounts() throws Exception {
        HttpServerExchange first = null;
        for (int i = 0; i < 5; i++) {
            HttpServerExchange e = hold(null);
            first = first == null ? e : first;
        }
        assertServerFull(answer(send(null)));
        awaitCompleted("null");
        ok(first);
        awaitCompleted("null");
        assertEquals(200, answer(send(null)).statusCode());
    }

    @Test
    void requestsWithABodyAreNotCountedForTheWholeServer() throws Exception {
        // Their place would be taken before their body arrives: bodies that never come would
        // shut every caller out of the admin routes.
        for (int i = 0; i < 5; i++) {
            hold(null);
        }
        assertServerFull(answer(send(null)));
        awaitCompleted("null");
        HttpRequest post = HttpRequest.newBuilder(base).timeout(Duration.ofSeconds(60)).header(HOLD, "1")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        CLIENT.sendAsync(post, HttpResponse.BodyHandlers.ofString());
        HttpServerExchange held = this.held.poll(60, TimeUnit.SECONDS);
        assertTrue(held != null, "a create or change goes on while the server's bound is reached");
        ok(held);
    }

    @Test
    void theServersBoundCountsEveryCallerTogether() throws Exception {
        HttpServerExchange a = hold("a");
        hold("a");
        hold("b");
        hold("b");
        hold(null);
        assertServerFull(answer(send("c"))); // c has room of its own, the server none
        awaitCompleted("c");
        assertServerFull(answer(send(null)));
        awaitCompleted("null");
        assertRefused(answer(send("a"))); // a at its own bound: 429, as before
        awaitCompleted("a");

        ok(a);
        awaitCompleted("a");
        hold("c"); // the place a gave back
        // Full again: 503, not 429, so c's refusals kept no place of its own.
        assertServerFull(answer(send("c")));
    }
}
