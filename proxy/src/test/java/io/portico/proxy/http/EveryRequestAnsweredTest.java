package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.Rest;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Whatever a handler or its work throws — errors included — the request is answered with a JSON
 * 500 and its in-flight slot is released; the pool thread that failed keeps serving. Runs the
 * HTTP mechanisms on an in-process server, without Kafka.
 */
class EveryRequestAnsweredTest {
    private static final ExecutorService POOL = Executors.newSingleThreadExecutor();
    private static HttpServer server;
    private static InFlight inFlight;
    private static Rest rest;

    @BeforeAll
    static void start() throws Exception {
        Router routes = new Router()
                .get("/ok", exchange -> Http.run(exchange, POOL, () -> Map.of("ok", true)))
                .get("/worker-error", exchange -> Http.run(exchange, POOL, () -> {
                    throw new StackOverflowError("injected");
                }))
                .get("/worker-oom", exchange -> Http.run(exchange, POOL, () -> {
                    throw new OutOfMemoryError("injected");
                }))
                .get("/io-error", exchange -> {
                    throw new AssertionError("injected");
                })
                .get("/future-error", exchange -> Http.complete(exchange,
                        CompletableFuture.failedFuture(new LinkageError("injected")), v -> v))
                .get("/body-error", exchange -> Http.readBody(exchange, 1024, body -> {
                    throw new ExceptionInInitializerError("injected");
                }))
                .get("/throttled", exchange -> {
                    throw new io.portico.protocol.RestException(io.portico.protocol.ErrorCode.TOO_MANY_REQUESTS, "quota",
                            new java.util.concurrent.ExecutionException(
                                    new org.apache.kafka.common.errors.ThrottlingQuotaExceededException(2500, "throttled")));
                })
                .get("/consumers/held", exchange -> Http.run(exchange, POOL, () -> Map.of("consumed", true)))
                .get("/too-many", exchange -> {
                    throw io.portico.protocol.ErrorCode.TOO_MANY_REQUESTS.exception("share");
                })
                .get("/bare-503", exchange -> {
                    exchange.setStatusCode(503);
                    exchange.endExchange();
                })
                .get("/continuation-error", exchange -> {
                    // More than the socket buffers hold, so the rest is written once the client
                    // reads, from the channel's write listener; what runs next then fails.
                    new ResponseChannel(exchange, "text/plain", Duration.ofSeconds(30)).write(
                            java.nio.ByteBuffer.wrap(new byte[8 << 20]), () -> {
                                throw new IllegalStateException("injected");
                            });
                });
        inFlight = new InFlight(routes, 100);
        server = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(inFlight), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
        rest = new Rest(URI.create("http://127.0.0.1:" + server.addresses().get(0).getPort()));
    }

    @AfterAll
    static void stop() {
        server.close();
        POOL.shutdownNow();
    }

    private static void assertJson500(String path) throws InterruptedException {
        Rest.Response r = rest.get(path);
        assertEquals(500, r.status(), path + ": " + r.body());
        assertEquals(500, r.json().get("error_code").asInt(), r.body());
        assertEquals("Internal Server Error", r.json().get("message").asText(), r.body());
        assertTrue(r.contentType().contains("json"), r.contentType());
        awaitNoneInFlight();
    }

    /** The slot is released when the exchange completes, just after the answer is written. */
    private static void awaitNoneInFlight() throws InterruptedException {
        for (int i = 0; i < 6000 && inFlight.active() > 0; i++) {
            Thread.sleep(10);
        }
        assertEquals(0, inFlight.active(), "requests still in flight");
    }

    @Test
    void anErrorInPoolWorkIsAJson500AndThePoolKeepsServing() throws Exception {
        assertJson500("/worker-error");
        assertJson500("/worker-oom");
        Rest.Response ok = rest.get("/ok");
        assertEquals(200, ok.status(), ok.body());
    }

    @Test
    void aStartedAnswerWhoseNextStepFailsEndsItsConnectionRatherThanHangingIt() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.addresses().get(0).getPort())) {
            s.setSoTimeout(20_000); // a hang fails here, not a clean end
            s.getOutputStream().write("GET /continuation-error HTTP/1.1\r\nHost: x\r\n\r\n"
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            Thread.sleep(200); // the server's write blocks first, the client reading nothing yet
            java.io.InputStream in = s.getInputStream();
            byte[] buf = new byte[1 << 16];
            long read = 0;
            int n;
            while ((n = in.read(buf)) >= 0) {
                read += n;
            }
            org.junit.jupiter.api.Assertions.assertTrue(read >= 8 << 20, "the piece, then the end: " + read);
        }
    }

    @Test
    void anErrorOnTheIoThreadIsAJson500() throws Exception {
        assertJson500("/io-error");
    }

    @Test
    void aFutureFailedWithAnErrorIsAJson500() throws Exception {
        assertJson500("/future-error");
    }

    @Test
    void anErrorWhileHandlingABodyIsAJson500() throws Exception {
        assertJson500("/body-error");
    }

    @Test
    void aHeadIsAnsweredAsItsGetWithoutTheBodyExceptWhereAGetConsumes() throws Exception {
        Rest.Response head = rest.send(rest.request("/ok").method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, head.status(), head.body());
        assertEquals("", head.body());
        Rest.Response consuming = rest.send(rest.request("/consumers/held")
                .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()));
        assertEquals(405, consuming.status(), "a HEAD never reads an instance's records to throw them away");
        assertEquals("GET", consuming.header("Allow"));
        Rest.Response post = rest.post("/ok", "application/json", "{}");
        assertEquals(405, post.status());
        assertEquals("GET, HEAD", post.header("Allow"));
        awaitNoneInFlight();
    }

    @Test
    void anH2cUpgradeWithSettingsThatCannotBeReadIsServedAsHttp11() throws Exception {
        assertTrue(statusLine("@@@@").startsWith("HTTP/1.1 200"), "unreadable settings: served as it came");
        assertTrue(statusLine("AAMAAABkAAQAAP__").startsWith("HTTP/1.1 101"), "readable ones: upgraded");
        assertTrue(statusLine("AAUAAAAA").startsWith("HTTP/1.1 200"), "a frame size HTTP/2 refuses: not upgraded");
        assertTrue(statusLine("AAMAAABkAAQAAP__", "Expect: 100-continue\r\n").startsWith("HTTP/1.1 200"),
                "expecting 100-continue: served as HTTP/1.1, no 100 and no upgrade");
        awaitNoneInFlight();
    }

    private static String statusLine(String settings) throws Exception {
        return statusLine(settings, "");
    }

    private static String statusLine(String settings, String moreHeaders) throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.addresses().get(0).getPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET /ok HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: " + settings + "\r\n" + moreHeaders + "\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    java.nio.charset.StandardCharsets.US_ASCII)).readLine();
        }
    }

    @Test
    void a429SaysWhenToRetryAsLongAsKafkaThrottles() throws Exception {
        Rest.Response throttled = rest.get("/throttled");
        assertEquals(429, throttled.status(), throttled.body());
        assertEquals("3", throttled.header("Retry-After"), "Kafka's 2.5 s, rounded up");
        Rest.Response share = rest.get("/too-many");
        assertEquals(429, share.status(), share.body());
        assertEquals("1", share.header("Retry-After"));
    }

    @Test
    void anErrorStatusEndedWithoutABodyGetsAJsonOne() throws Exception {
        Rest.Response r = rest.get("/bare-503");
        assertEquals(503, r.status());
        assertEquals(503, r.json().get("error_code").asInt(), r.body());
        awaitNoneInFlight();
    }
}
