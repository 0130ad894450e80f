package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.Rest;
import io.portico.sessions.MemoryBudget;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Request bodies count against the requests budget as they arrive: a body that finds no room
 * waits briefly, then gets a 503 the client can read (the rest of its body is drained, not cut
 * off); one that could never fit is a 413 at once; the budget is given back whatever the outcome.
 */
class BodyBudgetTest {
    private static final int CAPACITY = 1 << 20;
    private MemoryBudget budget;
    private HttpServer server;
    private Rest rest;

    @BeforeEach
    void start() throws Exception {
        start(Duration.ofMillis(200));
    }

    private void start(Duration memoryWait) throws Exception {
        if (server != null) {
            server.close();
        }
        budget = new MemoryBudget("memory.requests.max.bytes", CAPACITY, CAPACITY / 8);
        Router routes = new Router().post("/echo", exchange -> Http.readBody(exchange, 16 << 20,
                body -> Http.ok(exchange, Map.of("bytes", body.length))));
        HttpHandlerChain chain = new HttpHandlerChain(new Budgets(routes, new Budgets.Settings(budget,
                MemoryBudget.unbounded("r"), Duration.ofSeconds(30), memoryWait)));
        server = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), chain.root(), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 64 << 20, List.of(), List.of(), "none"));
        rest = new Rest(URI.create("http://127.0.0.1:" + server.addresses().get(0).getPort()));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** The error boundary in front, as Portico has it. */
    private record HttpHandlerChain(io.undertow.server.HttpHandler inner) {
        io.undertow.server.HttpHandler root() {
            return new ErrorBoundary(inner);
        }
    }

    private Rest.Response post(int bytes) {
        return rest.send(rest.request("/echo").POST(HttpRequest.BodyPublishers.ofByteArray(new byte[bytes])));
    }

    private void awaitBudgetEmpty(long expected) throws InterruptedException {
        for (int i = 0; i < 6000 && budget.used() != expected; i++) {
            Thread.sleep(10);
        }
        assertEquals(expected, budget.used(), "what the requests took is given back");
        assertEquals(0, budget.queued(), "no body is left waiting in order");
    }

    private void awaitQueued(int n) throws InterruptedException {
        for (int i = 0; i < 6000 && budget.queued() != n; i++) {
            Thread.sleep(10);
        }
        assertEquals(n, budget.queued(), "bodies waiting in order");
    }

    @Test
    void aBodyThatFitsIsReadAndItsBytesGivenBack() throws Exception {
        Rest.Response r = post(300_000);
        assertEquals(200, r.status(), r.body());
        assertEquals(300_000, r.json().get("bytes").asInt());
        awaitBudgetEmpty(0);
    }

    @Test
    void aBodyThatFindsNoRoomGetsAReadable503AndTheConnectionStaysUsable() throws Exception {
        budget.takeAnyway(CAPACITY); // everything taken by someone else
        Rest.Response r = post(400_000);
        assertEquals(503, r.status(), r.body());
        assertTrue(r.body().contains("memory.requests.max.bytes"), r.body());
        assertEquals("1", r.header("retry-after"));
        budget.give(CAPACITY);
        awaitBudgetEmpty(0);
        Rest.Response again = post(1000);
        assertEquals(200, again.status(), again.body());
    }

    @Test
    void aBodyThatWaitsForRoomGoesOnOnceThereIsRoom() throws Exception {
        start(Duration.ofMinutes(5));
        budget.takeAnyway(CAPACITY);
        java.util.concurrent.CompletableFuture<Rest.Response> waiting =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> post(400_000));
        // The first chunk that found no room is counted (it is memory already) while it waits.
        for (int i = 0; i < 6000 && budget.used() <= CAPACITY; i++) {
            Thread.sleep(10);
        }
        assertTrue(budget.used() > CAPACITY, "a chunk waits for room");
        assertTrue(!waiting.isDone(), "the request waits");
        budget.give(CAPACITY);
        Rest.Response r = waiting.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(200, r.status(), r.body());
        assertEquals(400_000, r.json().get("bytes").asInt());
        awaitBudgetEmpty(0);
    }

    @Test
    void smallBodiesStillGetInWhileLargeOnesFillTheBudget() throws Exception {
        budget.takeAnyway(CAPACITY); // large uploads hold everything
        Rest.Response small = post(10_000);
        assertEquals(200, small.status(), small.body());
        Rest.Response large = post(400_000);
        assertEquals(503, large.status(), large.body());
        budget.give(CAPACITY);
        awaitBudgetEmpty(0);
    }

    @Test
    void smallBodiesWaitAndGet503OnceTheReserveIsFullToo() throws Exception {
        budget.takeAnyway(CAPACITY + CAPACITY / 8); // the budget and its reserve both held
        Rest.Response small = post(10_000);
        assertEquals(503, small.status(), small.body());
        assertTrue(small.body().contains("memory.requests.max.bytes"), small.body());
        budget.give(CAPACITY / 8);
        awaitBudgetEmpty(CAPACITY);
        Rest.Response again = post(10_000);
        assertEquals(200, again.status(), "the reserve has room again: " + again.body());
        budget.give(CAPACITY);
        awaitBudgetEmpty(0);
    }

    @Test
    void aChunkedBodyOutgrowingWhatCouldEverFitIs413() throws Exception {
        byte[] big = new byte[CAPACITY]; // counts twice: can never fit, but no Content-Length says so up front
        Rest.Response r = rest.send(rest.request("/echo").POST(HttpRequest.BodyPublishers.ofInputStream(
                () -> new java.io.ByteArrayInputStream(big))));
        assertEquals(413, r.status(), r.body());
        awaitBudgetEmpty(0);
    }

    @Test
    void aBodyThatCouldNeverFitIs413AtOnce() throws Exception {
        Rest.Response r = post(CAPACITY); // counts twice: raw and decoded
        assertEquals(413, r.status(), r.body());
        assertTrue(r.body().contains("memory.requests.max.bytes"), r.body());
        awaitBudgetEmpty(0);
    }

    /** The status line and body of one answer read from {@code in}, which stays at the answer's end. */
    private static String[] readAnswer(java.io.InputStream in) throws java.io.IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new java.io.EOFException("the connection ended within an answer's head: " + head);
            }
            head.append((char) b);
        }
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        byte[] body = in.readNBytes(length);
        return new String[] {head.toString().split("\r\n")[0], new String(body, StandardCharsets.UTF_8)};
    }

    /**
     * A client that sends all of a body too large to ever fit before it reads (as blocking
     * clients do) is not cut off: the rest is read and dropped, so it reads the 413; its
     * connection then serves the next request (past the linger: nothing closes it later), or,
     * when the request said {@code Connection: close}, is closed cleanly.
     */
    private void aClientSendingAllOfATooLargeBodyReadsThe413(boolean chunked, boolean close) throws Exception {
        int total = 12 << 20; // within request.body.max.bytes (16 MiB), never within the budget
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.addresses().get(0).getPort())) {
            socket.setSoTimeout(60_000);
            java.io.OutputStream out = socket.getOutputStream();
            out.write(("POST /echo HTTP/1.1\r\nHost: test\r\n" + (close ? "Connection: close\r\n" : "")
                    + (chunked ? "Transfer-Encoding: chunked" : "Content-Length: " + total) + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] piece = new byte[64 * 1024];
            for (int sent = 0; sent < total; sent += piece.length) {
                if (chunked) {
                    out.write((Integer.toHexString(piece.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                }
                out.write(piece);
                if (chunked) {
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
            }
            if (chunked) {
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.flush();
            java.io.InputStream in = socket.getInputStream();
            String[] refused = readAnswer(in);
            assertEquals("HTTP/1.1 413 Request Entity Too Large", refused[0], refused[1]);
            assertTrue(refused[1].contains("memory.requests.max.bytes"), refused[1]);
            awaitBudgetEmpty(0);

            if (close) {
                assertEquals(-1, in.read(), "closed after the answer, as the request asked");
                return;
            }
            Thread.sleep(Http.LINGER_MILLIS + 500); // the linger's bound must not close the connection once the body is in
            out.write("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String[] next = readAnswer(in);
            assertEquals("HTTP/1.1 200 OK", next[0], next[1]);
            assertTrue(next[1].contains("\"bytes\":3"), next[1]);
        }
        awaitBudgetEmpty(0);
    }

    @Test
    void aClientSendingAllOfATooLargeBodyBeforeReadingGetsThe413NotAReset() throws Exception {
        aClientSendingAllOfATooLargeBodyReadsThe413(false, false);
    }

    @Test
    void aClientSendingAllOfATooLargeChunkedBodyBeforeReadingGetsThe413NotAReset() throws Exception {
        aClientSendingAllOfATooLargeBodyReadsThe413(true, false);
    }

    @Test
    void aClientThatAskedToCloseGetsThe413ThenACleanClose() throws Exception {
        aClientSendingAllOfATooLargeBodyReadsThe413(false, true);
    }

    @Test
    void aBodyDeclaredOverEveryLimitIsDrainedForTheLingerThenItsConnectionClosed() throws Exception {
        long started = System.nanoTime();
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.addresses().get(0).getPort())) {
            // Far longer than the linger; shorter than any other timeout that would close the connection.
            socket.setSoTimeout(25_000);
            java.io.OutputStream out = socket.getOutputStream();
            // Over request.body.max.bytes and over the server's entity limit (64 MiB here).
            out.write(("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: " + (100 << 20) + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // The body goes from another thread while this one reads the answer: a writer held up past
            // the linger finds the connection closed under it (not what is checked), while a server that
            // did not drain what arrived closes with it unread, a reset instead of the clean end below.
            java.util.concurrent.Future<?> writer = clients.submit(() -> {
                byte[] piece = new byte[64 * 1024];
                try {
                    for (int sent = 0; sent < 12 << 20; sent += piece.length) {
                        out.write(piece); // more than the socket buffers hold: a close with it unread would be a reset
                    }
                    out.flush();
                } catch (java.io.IOException e) {
                    // closed by the server's linger before all of it was sent
                }
            });
            java.io.InputStream in = socket.getInputStream();
            assertEquals("HTTP/1.1 413 Request Entity Too Large", readAnswer(in)[0]);
            assertEquals(-1, in.read(), "the connection is closed, cleanly, once the linger is over");
            writer.get(25, TimeUnit.SECONDS);
        }
        assertTrue(System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(Http.LINGER_MILLIS),
                "closed by the linger's bound, not at once");
        awaitBudgetEmpty(0);
    }

    /** A POST of {@code bytes} over its own socket: the first half, then (once {@code go} opens) the rest; the status. */
    private java.util.concurrent.CompletableFuture<Integer> halves(int bytes, java.util.concurrent.CountDownLatch sent,
                                                                   java.util.concurrent.CountDownLatch go) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", rest.base().getPort())) {
                java.io.OutputStream out = socket.getOutputStream();
                out.write(("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: "
                        + bytes + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(new byte[bytes / 2]);
                out.flush();
                sent.countDown();
                go.await();
                out.write(new byte[bytes - bytes / 2]);
                out.flush();
                String status = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                        StandardCharsets.US_ASCII)).readLine();
                return Integer.parseInt(status.split(" ")[1]);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, clients);
    }

    private final java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newCachedThreadPool();

    @AfterEach
    void stopClients() {
        clients.shutdownNow();
    }

    @Test
    void largeBodiesThatEachHoldPartOfTheBudgetDoNotAllWaitInVain() throws Exception {
        // Three bodies of which one fits at a time, each half sent before any sends the rest: each
        // holds part of the budget, and waiting for the rest they would all wait until they ran out
        // of time (10 minutes here): none served before. The one that waited longest goes on; the
        // others make way at once (503, retry).
        start(Duration.ofMinutes(10));
        java.util.concurrent.CountDownLatch sent = new java.util.concurrent.CountDownLatch(3);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.CompletableFuture<Integer>> posts = List.of(halves(400_000, sent, go),
                halves(400_000, sent, go), halves(400_000, sent, go));
        assertTrue(sent.await(60, TimeUnit.SECONDS));
        for (int i = 0; i < 6000 && !budget.over(); i++) {
            Thread.sleep(10); // until the server has read the halves: together they are more than the budget
        }
        assertTrue(budget.over(), "the halves hold the whole budget: " + budget.used());
        go.countDown();
        List<Integer> statuses = new java.util.ArrayList<>();
        for (java.util.concurrent.CompletableFuture<Integer> p : posts) {
            statuses.add(p.get(120, TimeUnit.SECONDS));
        }
        assertTrue(statuses.contains(200), "at least one served: " + statuses);
        assertTrue(statuses.stream().allMatch(s -> s == 200 || s == 503), statuses.toString());
        awaitBudgetEmpty(0);
    }

    @Test
    void aBodyThatWaitedOnceAndGoesOnSlowlyDoesNotMakeTheNextOneGiveUp() throws Exception {
        start(Duration.ofMinutes(10));
        budget.takeAnyway(CAPACITY); // someone else holds everything
        java.util.concurrent.CountDownLatch sent = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<Integer> slow = halves(200_000, sent, go);
        awaitQueued(1); // it waits, in order
        budget.give(CAPACITY);
        awaitQueued(0); // it had room again and read on; now it waits for its client, not for memory
        for (int i = 0; i < 6000 && budget.used() < 200_000; i++) {
            Thread.sleep(10); // until the server has read the first half
        }
        long others = CAPACITY - budget.used(); // someone else holds the rest of the budget, not its reserve
        budget.takeAnyway(others);
        java.util.concurrent.CompletableFuture<Rest.Response> next =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> post(200_000), clients);
        awaitQueued(1); // the next body waits; the slow one's old place does not send it away
        budget.give(others);
        Rest.Response r = next.get(120, TimeUnit.SECONDS);
        assertEquals(200, r.status(), r.body());
        go.countDown();
        assertEquals(200, slow.get(120, TimeUnit.SECONDS));
        awaitBudgetEmpty(0);
    }
}
