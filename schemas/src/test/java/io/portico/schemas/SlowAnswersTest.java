package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Registry answers whose headers come in time and whose body does not, or is too large, through
 * {@link RegistryClient} with a short timeout: an attempt is bounded as a whole, body included
 * (the next URL is tried, unavailable when none answers), and a body larger than 8 MiB is refused
 * as its Content-Length says so or as it grows past it, without waiting for the rest. Each
 * outcome is awaited for far longer than the timeout: a look-up that hangs fails the test.
 */
class SlowAnswersTest {
    /** The client's timeout, where the test waits it out (a body that trickles in). */
    private static final Duration TIMEOUT = Duration.ofMillis(1500);
    /**
     * The client's timeout where an answer too large must be refused before it: long enough for
     * 8 MiB to be read on a slow machine (else the outcome is "did not answer", not "larger than").
     */
    private static final Duration SIZE_TIMEOUT = Duration.ofSeconds(10);
    /** How long a test waits for an outcome the timeout should bring much sooner. */
    private static final long PATIENCE_SECONDS = 20;
    private static final String USER = "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}";

    /** What a registry stub does with an exchange. */
    private interface Handler {
        void handle(HttpExchange exchange) throws IOException, InterruptedException;
    }

    private final List<HttpServer> servers = new ArrayList<>();
    private final ExecutorService handlers = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        handlers.shutdownNow(); // the handlers still writing or waiting end
        servers.forEach(s -> s.stop(0));
    }

    /** A registry stub on a loopback port whose every exchange {@code handler} answers. */
    private URI registry(Handler handler) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(handlers);
        server.createContext("/", exchange -> {
            try (exchange) {
                handler.handle(exchange);
            } catch (IOException | InterruptedException e) {
                // the client went away, or the test ended
            }
        });
        server.start();
        servers.add(server);
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private static RegistryClient client(URI... urls) {
        return client(TIMEOUT, urls);
    }

    private static RegistryClient client(Duration timeout, URI... urls) {
        return new RegistryClient(new RegistryClient.Settings(List.of(urls), null, null, timeout));
    }

    /** The exception a look-up of schema id 1 fails with (within the test's patience). */
    private static RegistryException failure(RegistryClient client) {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> client.byId(1).get(PATIENCE_SECONDS, TimeUnit.SECONDS));
        return assertInstanceOf(RegistryException.class, e.getCause());
    }

    /** Headers, then the start of a body, then a byte every 100 ms for a minute. */
    private static void trickle(HttpExchange exchange) throws IOException, InterruptedException {
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        out.write("{\"schema\":\"".getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < 600; i++) {
            out.write(' ');
            out.flush();
            Thread.sleep(100);
        }
    }

    @Test
    void aBodyThatTricklesInEndsTheAttemptAtTheTimeout() throws Exception {
        RegistryException e = failure(client(registry(SlowAnswersTest::trickle)));
        assertTrue(e.unavailable(), e.getMessage());
        assertTrue(e.getMessage().contains("did not answer within 1500 ms"), e.getMessage());

        // With another URL, that one is asked next.
        URI fine = registry(exchange -> {
            byte[] body = ("{\"schema\":" + Json.mapper().getNodeFactory().textNode(USER) + "}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        });
        RegistryClient.SchemaText text = client(registry(SlowAnswersTest::trickle), fine).byId(1)
                .get(PATIENCE_SECONDS, TimeUnit.SECONDS);
        assertEquals(USER, text.text());
    }

    @Test
    void aUrlThatDidNotAnswerIsSkippedForASecondThenAskedByOneCallAgain() throws Exception {
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(5);
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean answers = new java.util.concurrent.atomic.AtomicBoolean();
        byte[] schema = ("{\"schema\":" + Json.mapper().getNodeFactory().textNode(USER) + "}").getBytes(StandardCharsets.UTF_8);
        URI down = registry(exchange -> {
            asked.incrementAndGet();
            if (!answers.get()) {
                trickle(exchange);
                return;
            }
            exchange.sendResponseHeaders(200, schema.length);
            exchange.getResponseBody().write(schema);
        });
        RegistryClient client = new RegistryClient(new RegistryClient.Settings(List.of(down), null, null, TIMEOUT),
                now::get);
        assertTrue(failure(client).getMessage().contains("did not answer within"));
        assertEquals(1, asked.get());
        // During an outage each look-up no longer waits the timeout again: it fails at once.
        for (int i = 0; i < 3; i++) {
            RegistryException e = failure(client);
            assertTrue(e.unavailable() && e.getMessage().contains("did not answer a moment ago"), e.getMessage());
        }
        assertEquals(1, asked.get(), "not asked while skipped");

        answers.set(true);
        now.addAndGet(RegistryClient.DOWN_NANOS);
        assertEquals(USER, client.byId(1).get(PATIENCE_SECONDS, TimeUnit.SECONDS).text(), "asked again a second later");
        assertEquals(USER, client.byId(1).get(PATIENCE_SECONDS, TimeUnit.SECONDS).text());
        assertEquals(3, asked.get(), "answering, it is asked by every call");

        // With another URL, the one that did not answer is skipped for the next.
        answers.set(false);
        URI fine = registry(exchange -> {
            exchange.sendResponseHeaders(200, schema.length);
            exchange.getResponseBody().write(schema);
        });
        RegistryClient both = new RegistryClient(new RegistryClient.Settings(List.of(down, fine), null, null, TIMEOUT),
                now::get);
        assertEquals(USER, both.byId(1).get(PATIENCE_SECONDS, TimeUnit.SECONDS).text());
        assertEquals(4, asked.get());
        assertEquals(USER, both.byId(1).get(PATIENCE_SECONDS, TimeUnit.SECONDS).text());
        assertEquals(4, asked.get(), "skipped: the next URL answered at once");
    }

    @Test
    void aBodyLargerThanTheLimitIsRefusedAsItsLengthSaysSo() throws Exception {
        // Headers declaring 9 MiB, then nothing: refused on the headers, the body never awaited.
        RegistryException e = failure(client(SIZE_TIMEOUT, registry(exchange -> {
            exchange.sendResponseHeaders(200, 9L << 20);
            exchange.getResponseBody().flush();
            Thread.sleep(60_000);
        })));
        assertFalse(e.unavailable() || e.refused(), e.getMessage());
        assertEquals(502, e.status());
        assertTrue(e.getMessage().contains("larger than"), e.getMessage());
    }

    @Test
    void aBodyGrowingPastTheLimitIsRefusedAsItDoes() throws Exception {
        // A chunked body of 9 MiB sent at once, then nothing: refused once 8 MiB are read.
        URI url = registry(exchange -> {
            exchange.sendResponseHeaders(200, 0);
            byte[] chunk = new byte[64 << 10];
            java.util.Arrays.fill(chunk, (byte) ' ');
            for (int i = 0; i < 9 * 16; i++) {
                exchange.getResponseBody().write(chunk);
            }
            exchange.getResponseBody().flush();
            Thread.sleep(60_000);
        });
        RegistryException e = failure(client(SIZE_TIMEOUT, url));
        assertFalse(e.unavailable() || e.refused(), e.getMessage());
        assertTrue(e.getMessage().contains("larger than"), e.getMessage());

        // Through the schema service: the registry's failure, not the client's.
        SchemaService service = new SchemaService(client(SIZE_TIMEOUT, url), 1 << 20);
        RestException rest = assertThrows(RestException.class,
                () -> service.ofId(EmbeddedFormat.AVRO, 1));
        assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, rest.errorCode(), rest.getMessage());
    }

    @Test
    void aLookUpThatWouldWaitForTheRegistryThrowsInsideCachedOnlyAndItsAnswerIsCachedForTheNext() throws Exception {
        // Schema id 1 answered at once, id 2 only once the test lets it.
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger askedFor2 = new java.util.concurrent.atomic.AtomicInteger();
        byte[] body = ("{\"schema\":" + Json.mapper().getNodeFactory().textNode(USER) + "}").getBytes(StandardCharsets.UTF_8);
        URI url = registry(exchange -> {
            if (exchange.getRequestURI().getPath().endsWith("/2")) {
                askedFor2.incrementAndGet();
                release.await();
            }
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
        });
        SchemaService service = new SchemaService(client(Duration.ofSeconds(30), url), 1 << 20);
        assertEquals(1, service.ofId(EmbeddedFormat.AVRO, 1).id());
        // Cached: answered inside cachedOnly.
        assertEquals(1, SchemaService.cachedOnly(() -> service.ofId(EmbeddedFormat.AVRO, 1)).id());
        // Not cached: thrown at once, nothing asked of the registry there.
        assertThrows(SchemaService.NeedsRegistry.class,
                () -> SchemaService.cachedOnly(() -> service.ofId(EmbeddedFormat.AVRO, 2)));
        assertEquals(0, askedFor2.get());
        // Asked outside it, and while its answer is awaited, still not cached inside it.
        CompletableFuture<SchemaService.Resolved> asking = CompletableFuture.supplyAsync(
                () -> service.ofId(EmbeddedFormat.AVRO, 2), handlers);
        while (askedFor2.get() == 0) {
            assertFalse(asking.isDone(), "the look-up ended before the registry answered");
            Thread.sleep(5);
        }
        assertThrows(SchemaService.NeedsRegistry.class,
                () -> SchemaService.cachedOnly(() -> service.ofId(EmbeddedFormat.AVRO, 2)));
        release.countDown();
        assertEquals(2, asking.get(PATIENCE_SECONDS, TimeUnit.SECONDS).id());
        assertEquals(1, askedFor2.get());
        assertEquals(2, SchemaService.cachedOnly(() -> service.ofId(EmbeddedFormat.AVRO, 2)).id());
        // Outside cachedOnly a look-up waits as before.
        assertEquals(1, service.ofId(EmbeddedFormat.AVRO, 1).id());
    }
}
