package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An HTTP/1.1 request answered after its handler returns keeps its connection armed for reading
 * ({@link HttpServer#keepReadsArmed}), and bytes the client sends meanwhile stop the reads rather
 * than being read or spinning the IO thread: a pipelined request is answered after the held one,
 * and a client that half-closes still gets its answer. Runs on an in-process server, without Kafka.
 */
class ReadsArmedTest {
    private static final BlockingQueue<Held> HELD = new LinkedBlockingQueue<>();
    private static HttpServer server;
    private static int port;

    /** A request whose answer waits for {@code answer}. */
    private record Held(HttpServerExchange exchange, CompletableFuture<Map<String, Object>> answer) {
    }

    @BeforeAll
    static void start() throws Exception {
        Router routes = new Router()
                .get("/held", exchange -> {
                    CompletableFuture<Map<String, Object>> answer = new CompletableFuture<>();
                    HELD.add(new Held(exchange, answer));
                    Http.complete(exchange, answer, v -> v);
                })
                .post("/held", exchange -> Http.readBody(exchange, 1024, body -> {
                    CompletableFuture<Map<String, Object>> answer = new CompletableFuture<>();
                    HELD.add(new Held(exchange, answer));
                    Http.complete(exchange, answer, v -> v);
                }))
                .get("/now", exchange -> Http.ok(exchange, Map.of("now", true)));
        server = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(new InFlight(routes, 100)),
                null, new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60),
                        Duration.ofSeconds(30), 100, 1 << 20, List.of(), List.of(), "none", true, 100,
                        // Heads counted as Portico counts them: the counting conduit passes resumed reads on.
                        new io.portico.sessions.MemoryBudget("memory.heads.max.bytes", 1 << 20)));
        port = server.addresses().get(0).getPort();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void noneHeld() {
        HELD.clear();
    }

    private static boolean readsArmed(HttpServerExchange exchange) throws Exception {
        CompletableFuture<Boolean> armed = new CompletableFuture<>();
        exchange.getIoThread().execute(() -> armed.complete(
                ((io.undertow.server.protocol.http.HttpServerConnection) exchange.getConnection())
                        .getOriginalSourceConduit().isReadResumed()));
        return armed.get(10, TimeUnit.SECONDS);
    }

    /** Waits (up to 10 s) until the held request's connection is no longer read. */
    private static void awaitReadsStopped(HttpServerExchange exchange) throws Exception {
        for (int i = 0; i < 1000 && readsArmed(exchange); i++) {
            Thread.sleep(10);
        }
        assertFalse(readsArmed(exchange), "the connection is still armed for reading");
    }

    private static Held held() throws InterruptedException {
        Held held = HELD.poll(10, TimeUnit.SECONDS);
        assertTrue(held != null, "the request did not arrive");
        return held;
    }

    private static void send(Socket socket, String path) throws IOException {
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
    }

    /** One answer's body, which must be a 200's. */
    private static String answer(InputStream in) throws IOException {
        RawAnswer answer = RawAnswer.read(in);
        assertTrue(answer.status().startsWith("HTTP/1.1 200 "), answer.head());
        return answer.body();
    }

    /** A GET of the held route, or a POST with a 5-byte body sent whole. */
    private static void sendHeld(Socket socket, boolean withBody) throws IOException {
        if (withBody) {
            socket.getOutputStream().write(("POST /held HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 5\r\n\r\nhello").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
        } else {
            send(socket, "/held");
        }
    }

    @ParameterizedTest(name = "with a body: {0}")
    @ValueSource(booleans = {false, true})
    void aRequestWaitingForItsAnswerKeepsItsConnectionArmedForReading(boolean withBody) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            sendHeld(socket, withBody);
            Held held = held();
            assertTrue(readsArmed(held.exchange()), "reads were stopped while the answer waits");
            held.answer().complete(Map.of("n", 1));
            assertEquals("{\"n\":1}", answer(socket.getInputStream()));
            send(socket, "/now"); // the connection serves on
            assertEquals("{\"now\":true}", answer(socket.getInputStream()));
        }
    }

    @Test
    void aRequestPipelinedBehindAWaitingOneIsAnsweredAfterIt() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            send(socket, "/held");
            Held held = held();
            assertTrue(readsArmed(held.exchange()), "reads were stopped while the answer waits");
            send(socket, "/now");
            awaitReadsStopped(held.exchange()); // readable while a request runs: reads stop, nothing is read
            held.answer().complete(Map.of("n", 2));
            InputStream in = socket.getInputStream();
            assertEquals("{\"n\":2}", answer(in));
            assertEquals("{\"now\":true}", answer(in));
        }
    }

    @ParameterizedTest(name = "with a body: {0}")
    @ValueSource(booleans = {false, true})
    void aClientThatHalfClosesWhileWaitingStillGetsItsAnswer(boolean withBody) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            sendHeld(socket, withBody);
            Held held = held();
            assertTrue(readsArmed(held.exchange()), "reads were stopped while the answer waits");
            socket.shutdownOutput();
            awaitReadsStopped(held.exchange()); // with a body, the connection has no listener: XNIO stops the reads
            held.answer().complete(Map.of("n", 3));
            InputStream in = socket.getInputStream();
            assertEquals("{\"n\":3}", answer(in));
            assertEquals(-1, in.read(), "the connection is closed once its end is read");
        }
    }
}
