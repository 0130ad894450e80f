package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ByteChunks;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.ErrorCode;
import io.portico.sessions.MemoryBudget;
import io.portico.sessions.OffsetReader;
import io.portico.sessions.PartitionStream;
import io.portico.sessions.ResponseRoom;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link EventStream} on an in-process server, without Kafka: events as they are fetched, a
 * JSON error before the stream starts and an error event after, heartbeats while nothing comes,
 * fetching that stops while the client reads nothing or the responses budget is full, and
 * shutdown ending every stream cleanly.
 */
@Timeout(60)
class EventStreamTest {
    private static final MemoryBudget RESPONSES = new MemoryBudget("memory.responses.max.bytes", 64L << 20);
    private static HttpServer server;
    private static EventStreams streams;
    private static int port;
    private static final AtomicInteger bigFetches = new AtomicInteger();
    private static final AtomicInteger quietClosed = new AtomicInteger();
    private static final AtomicInteger afterErrorFetches = new AtomicInteger();
    /** Events of about 6 MiB (past a socket send buffer), each with its own data: a batch of many arrays. */
    private static final byte[] ARRAYS_EVENTS = arraysEvents();

    private static byte[] arraysEvents() {
        StringBuilder out = new StringBuilder();
        java.util.Random random = new java.util.Random(5);
        for (int i = 0; out.length() < 6 << 20; i++) {
            out.append("id: ").append(i).append("\ndata: ");
            int n = 1 + random.nextInt(3000);
            for (int c = 0; c < n; c++) {
                out.append((char) ('a' + random.nextInt(26)));
            }
            out.append("\n\n");
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** A source of numbered events, {@code perBatch} a batch, each {@code size} bytes of data. */
    private static EventStream.Source numbers(int perBatch, int size, int failAfter, AtomicInteger fetches) {
        return new EventStream.Source() {
            private int next;

            @Override
            public EventStream.Events next(ResponseRoom room) {
                fetches.incrementAndGet();
                if (failAfter >= 0 && next >= failAfter) {
                    throw ErrorCode.KAFKA_ERROR.exception("the source broke");
                }
                StringBuilder out = new StringBuilder();
                for (int i = 0; i < perBatch; i++) {
                    out.append("id: ").append(next).append("\ndata: ").append("x".repeat(size)).append(next).append("\n\n");
                    next++;
                }
                if (perBatch == 0) {
                    try {
                        Thread.sleep(20); // as a long poll that found nothing
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return EventStream.Events.of(out.toString().getBytes(StandardCharsets.US_ASCII));
            }

            @Override
            public void close() {
            }
        };
    }

    @BeforeAll
    static void start() throws Exception {
        streams = new EventStreams(8, Duration.ofMillis(200));
        Router routes = new Router()
                .get("/numbers", exchange -> EventStream.start(exchange, streams, () -> numbers(2, 1, 3, new AtomicInteger())))
                .get("/missing", exchange -> EventStream.start(exchange, streams, () -> {
                    throw ErrorCode.TOPIC_NOT_FOUND.exception();
                }))
                .get("/big", exchange -> EventStream.start(exchange, streams, () -> numbers(1, 256 * 1024, -1, bigFetches)))
                .get("/arrays", exchange -> EventStream.start(exchange, streams, () -> new EventStream.Source() {
                    private boolean sent;

                    @Override
                    public EventStream.Events next(ResponseRoom room) {
                        if (sent) {
                            return EventStream.Events.END;
                        }
                        sent = true;
                        ByteChunks.Builder out = new ByteChunks.Builder();
                        out.writeBytes(ARRAYS_EVENTS);
                        return new EventStream.Events(out.build(), null, false);
                    }

                    @Override
                    public void close() {
                    }
                }))
                .get("/failsWhileWriting", exchange -> EventStream.start(exchange, streams, () -> new EventStream.Source() {
                    @Override
                    public EventStream.Events next(ResponseRoom room) {
                        int call = afterErrorFetches.incrementAndGet();
                        if (call == 1) { // past what sockets buffer (4 MiB + 64 KiB here): still being written when the next comes
                            return EventStream.Events.of(("id: 0\ndata: " + "x".repeat(16 << 20) + "\n\n")
                                    .getBytes(StandardCharsets.US_ASCII));
                        }
                        if (call == 2) { // the record before a bad one, then the error
                            ByteChunks.Builder out = new ByteChunks.Builder();
                            out.writeBytes("id: 1\ndata: ok\n\n".getBytes(StandardCharsets.US_ASCII));
                            return new EventStream.Events(out.build(), ErrorCode.KAFKA_ERROR.exception("bad"), false);
                        }
                        return EventStream.Events.of("id: 2\ndata: after\n\n".getBytes(StandardCharsets.US_ASCII));
                    }

                    @Override
                    public void close() {
                    }
                }))
                .get("/quiet", exchange -> EventStream.start(exchange, streams, () -> new EventStream.Source() {
                    @Override
                    public EventStream.Events next(ResponseRoom room) {
                        try {
                            Thread.sleep(20);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        return EventStream.Events.of(new byte[0]);
                    }

                    @Override
                    public void close() {
                        quietClosed.incrementAndGet();
                    }
                }));
        io.undertow.server.HttpHandler chain = new Budgets(routes, new Budgets.Settings(MemoryBudget.unbounded("memory.requests.max.bytes"),
                RESPONSES, Duration.ofSeconds(30), Duration.ofMillis(100)));
        server = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(chain), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
        port = server.addresses().get(0).getPort();
    }

    @AfterAll
    static void stop() {
        streams.close();
        server.close();
    }

    private static Socket get(String path) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    private static String readUntil(InputStream in, ByteArrayOutputStream seen, String expected) throws IOException {
        byte[] buf = new byte[8192];
        while (!seen.toString(StandardCharsets.US_ASCII).contains(expected)) {
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            seen.write(buf, 0, n);
        }
        return seen.toString(StandardCharsets.US_ASCII);
    }

    /** As above, but reading for at most {@code seconds} (heartbeats keep a socket's reads from timing out). */
    private static String readUntil(InputStream in, ByteArrayOutputStream seen, String expected, int seconds) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        byte[] buf = new byte[8192];
        while (!seen.toString(StandardCharsets.US_ASCII).contains(expected) && System.nanoTime() < deadline) {
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            seen.write(buf, 0, n);
        }
        return seen.toString(StandardCharsets.US_ASCII);
    }

    @Test
    void eventsComeAsFetchedAndAFailureAfterTheStartIsAnErrorEventThatEndsTheStream() throws Exception {
        try (Socket s = get("/numbers")) {
            String all = readUntil(s.getInputStream(), new ByteArrayOutputStream(), "0\r\n\r\n");
            assertTrue(all.startsWith("HTTP/1.1 200"), all);
            assertTrue(all.contains("Content-Type: text/event-stream"), all);
            assertTrue(all.contains("Cache-Control: no-cache"), all);
            assertTrue(all.indexOf("id: 0\ndata: x0") < all.indexOf("id: 3\ndata: x3"), all);
            assertTrue(all.contains("event: error\ndata: {\"error_code\":50002,\"message\":\"Kafka error: the source broke\"}\n\n"),
                    all);
            assertTrue(all.endsWith("0\r\n\r\n"), "the response ends with its last chunk: " + all);
        }
    }

    @Test
    void nothingIsFetchedOrWrittenAfterABatchThatEndsWithAnErrorWhileTheOneBeforeIsStillBeingWritten()
            throws Exception {
        afterErrorFetches.set(0);
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(64 * 1024);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", port));
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /failsWhileWriting HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            readUntil(s.getInputStream(), seen, ": stream opened");
            // The client reads nothing until the second batch (with its error) has been fetched
            // while the first is still being written.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (afterErrorFetches.get() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            String all = readUntil(s.getInputStream(), seen, "0\r\n\r\n");
            int error = all.indexOf("event: error");
            assertTrue(error > all.indexOf("id: 1\ndata: ok"), "the record before the error, then the error: "
                    + all.substring(Math.max(0, all.length() - 300)));
            assertTrue(!all.contains("id: 2\n"), "nothing after the error: " + all.substring(error));
            assertTrue(all.endsWith("0\r\n\r\n"), "the stream ended");
            assertEquals(2, afterErrorFetches.get(), "nothing fetched once a batch ended the stream");
        }
    }

    @Test
    void aSourceThatCannotOpenIsAnErrorResponseNotAStream() throws Exception {
        try (Socket s = get("/missing")) {
            String all = readUntil(s.getInputStream(), new ByteArrayOutputStream(), "}");
            assertTrue(all.startsWith("HTTP/1.1 404"), all);
            assertTrue(all.contains("{\"error_code\":40401,\"message\":\"Topic not found.\"}"), all);
        }
    }

    @Test
    void aQuietStreamWritesHeartbeatsAndItsSourceIsClosedWhenTheClientGoes() throws Exception {
        int closedBefore = quietClosed.get();
        try (Socket s = get("/quiet")) {
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            String first = readUntil(s.getInputStream(), seen, ": heartbeat\n\n");
            assertTrue(first.contains(": stream opened\n\n"), first);
            String more = readUntil(s.getInputStream(), new ByteArrayOutputStream(), ": heartbeat\n\n");
            assertTrue(more.contains(": heartbeat\n\n"), "heartbeats go on: " + more);
        }
        // The client is gone: a heartbeat's write fails, and the source is closed.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (quietClosed.get() == closedBefore && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(closedBefore + 1, quietClosed.get());
    }

    @Test
    void nothingMoreIsFetchedWhileTheClientReadsNothing() throws Exception {
        bigFetches.set(0);
        try (Socket s = get("/big")) {
            s.setReceiveBufferSize(64 * 1024);
            readUntil(s.getInputStream(), new ByteArrayOutputStream(), "id: 0\n");
            // The client stops reading: once the sockets' buffers are full, fetching stops.
            int before;
            int after = bigFetches.get();
            do {
                before = after;
                Thread.sleep(500);
                after = bigFetches.get();
            } while (after != before && after < 10_000);
            assertTrue(after < 200, "fetching stopped while the client read nothing: " + after + " batches");
            // It reads again: the stream goes on.
            String more = readUntil(s.getInputStream(), new ByteArrayOutputStream(), "id: " + (after + 2) + "\n");
            assertTrue(more.contains("id: " + (after + 2) + "\n"));
        }
    }

    @Test
    void oneCallerHoldsAtMostItsShareOfTheStreamsAndAClosedOneFreesItsPlace() throws Exception {
        EventStreams own = new EventStreams(4, Duration.ofSeconds(30)).perOwner(2);
        Router routes = new Router().get("/quiet", exchange -> EventStream.start(exchange, own,
                exchange.getQueryParameters().get("key").getFirst(), () -> numbers(0, 0, -1, new AtomicInteger())));
        HttpServer other = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(routes), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
        List<Socket> open = new java.util.ArrayList<>();
        try {
            java.util.function.Function<String, String> openStream = key -> {
                try {
                    Socket s = new Socket("127.0.0.1", other.addresses().get(0).getPort());
                    open.add(s);
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write(("GET /quiet?key=" + key + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    byte[] head = new byte[12];
                    int n = 0;
                    while (n < head.length) {
                        int r = s.getInputStream().read(head, n, head.length - n);
                        if (r < 0) {
                            break;
                        }
                        n += r;
                    }
                    return new String(head, 0, n, StandardCharsets.US_ASCII);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            assertEquals("HTTP/1.1 200", openStream.apply("a"));
            assertEquals("HTTP/1.1 200", openStream.apply("a"));
            assertEquals("HTTP/1.1 429", openStream.apply("a"), "a third for the same key");
            assertEquals("HTTP/1.1 200", openStream.apply("b"), "another key still gets one");
            open.get(0).close(); // the first of a's streams ends
            String again = "";
            for (int i = 0; i < 500 && !again.equals("HTTP/1.1 200"); i++) {
                Thread.sleep(10); // until the server saw the close
                again = openStream.apply("a");
            }
            assertEquals("HTTP/1.1 200", again, "a closed stream frees its key's place");
        } finally {
            own.close(Duration.ofSeconds(10));
            for (Socket s : open) {
                s.close();
            }
            other.close();
        }
    }

    @Test
    void aRelayingNodeHeardFromAgainAfterItLeftHasItsStreamsServedAgain() throws Exception {
        EventStreams own = new EventStreams(4, Duration.ofMillis(100));
        java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        own.relayersGoneWhen(id -> id.equals("node-r") && gone.get()); // as the nodes' directory tells
        Router routes = new Router().get("/relayed", exchange -> {
            exchange.putAttachment(Http.RELAYED_BY, "node-r"); // as the node gate marks a relayed request
            EventStream.start(exchange, own, () -> numbers(0, 0, -1, new AtomicInteger()));
        });
        HttpServer other = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(routes), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
        int otherPort = other.addresses().get(0).getPort();
        try {
            gone.set(true); // its departure was read
            own.endRelayedBy("node-r");
            try (Socket s = new Socket("127.0.0.1", otherPort)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write("GET /relayed HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                String all = readUntil(s.getInputStream(), new ByteArrayOutputStream(), "\r\n0\r\n\r\n");
                assertTrue(all.endsWith("\r\n0\r\n\r\n"), "a stream it relays after it left ends at once: " + all);
            }
            gone.set(false); // restarted under the same id, heard from again
            try (Socket s = new Socket("127.0.0.1", otherPort)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write("GET /relayed HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                ByteArrayOutputStream seen = new ByteArrayOutputStream();
                readUntil(s.getInputStream(), seen, ": heartbeat\n\n");
                String all = readUntil(s.getInputStream(), new ByteArrayOutputStream(), ": heartbeat\n\n");
                assertTrue(all.contains(": heartbeat\n\n") && !all.contains("\r\n0\r\n\r\n"),
                        "served, heartbeat after heartbeat: " + seen + all);
            }
        } finally {
            own.close(Duration.ofSeconds(10));
            other.close();
        }
    }

    @Test
    void aStreamWhoseRelayingNodeIsNoLongerHeardFromIsClosedAndItsPlaceFreed() throws Exception {
        EventStreams own = new EventStreams(4, Duration.ofMillis(100));
        java.util.concurrent.atomic.AtomicBoolean unheard = new java.util.concurrent.atomic.AtomicBoolean();
        own.relayersGoneWhen(id -> id.equals("node-r") && unheard.get());
        Router routes = new Router().get("/relayed", exchange -> {
            exchange.putAttachment(Http.RELAYED_BY, "node-r");
            EventStream.start(exchange, own, () -> numbers(0, 0, -1, new AtomicInteger()));
        });
        HttpServer other = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(routes), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
        try (Socket s = new Socket("127.0.0.1", other.addresses().get(0).getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /relayed HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            readUntil(s.getInputStream(), new ByteArrayOutputStream(), ": heartbeat\n\n");
            assertEquals(1, own.active());
            unheard.set(true); // the relaying node's heartbeats stop
            byte[] buf = new byte[8192];
            int n = 0;
            long readFor = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < readFor && (n = s.getInputStream().read(buf)) > 0) {
                // heartbeats written before the check, then the connection's end
            }
            assertEquals(-1, n, "the connection is closed (not heartbeats on and on)");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (own.active() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(0, own.active(), "its place is free");
        } finally {
            own.close(Duration.ofSeconds(10));
            other.close();
        }
    }

    @Test
    void shutdownEndsEveryStreamCleanly() throws Exception {
        EventStreams own = new EventStreams(4, Duration.ofSeconds(30));
        Router routes = new Router().get("/quiet", exchange -> EventStream.start(exchange, own,
                () -> numbers(0, 0, -1, new AtomicInteger())));
        HttpServer other = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(routes), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
        try (Socket s = new Socket("127.0.0.1", other.addresses().get(0).getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /quiet HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            readUntil(s.getInputStream(), seen, ": stream opened");
            own.close(Duration.ofSeconds(10));
            assertEquals(0, own.active());
            String all = readUntil(s.getInputStream(), seen, "0\r\n\r\n");
            assertTrue(all.endsWith("0\r\n\r\n"), all);
        } finally {
            other.close();
        }
    }

    @Test
    void aSourceLeftAfterTheStreamsPoolStoppedIsClosedOffTheIoThread() throws Exception {
        EventStreams own = new EventStreams(4, Duration.ofSeconds(30));
        java.util.concurrent.CountDownLatch fetching = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch cancelled = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<String> closedOn = new java.util.concurrent.CompletableFuture<>();
        Router routes = new Router().get("/late", exchange -> EventStream.start(exchange, own, () -> new EventStream.Source() {
            @Override
            public EventStream.Events next(ResponseRoom room) {
                fetching.countDown();
                try {
                    cancelled.await(30, TimeUnit.SECONDS); // a fetch still waiting when the pool stops
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return EventStream.Events.of(new byte[0]);
            }

            @Override
            public void cancel() {
                cancelled.countDown();
            }

            @Override
            public void close() {
                closedOn.complete(Thread.currentThread().getName());
            }
        }));
        HttpServer other = serverOver(routes, new MemoryBudget("memory.responses.max.bytes", 64L << 20));
        try (Socket s = streamFrom(other, "/late")) {
            readUntil(s.getInputStream(), new ByteArrayOutputStream(), ": stream opened");
            assertTrue(fetching.await(30, TimeUnit.SECONDS));
            own.close(Duration.ZERO); // the pool stops while the fetch runs; the fetch is cancelled
            // The cancelled fetch may end before the pool stops taking tasks (its close then runs
            // on the pool) or after (on a thread of its own): never on an IO thread.
            String thread = closedOn.get(30, TimeUnit.SECONDS);
            assertTrue(thread.startsWith("portico-stream-"), thread);
            assertFalse(thread.contains("I/O"), thread);
        } finally {
            other.close();
        }
    }

    /**
     * A partition holding one record of {@code valueBytes}, read by {@link PartitionStream}s of a
     * reader over {@code MockConsumer}s.
     */
    private static OffsetReader oneRecord(int valueBytes) {
        TopicPartition tp = new TopicPartition("t", 0);
        Node node = new Node(0, "localhost", 9092);
        return new OffsetReader(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"), config -> {
            MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
            consumer.updatePartitions("t", List.of(new PartitionInfo("t", 0, node, new Node[] {node}, new Node[] {node})));
            consumer.updateBeginningOffsets(Map.of(tp, 0L));
            consumer.updateEndOffsets(Map.of(tp, 1L));
            consumer.schedulePollTask(() -> consumer.addRecord(new ConsumerRecord<>("t", 0, 0, null, new byte[valueBytes])));
            return consumer;
        }, 1, Duration.ofSeconds(5), Duration.ofSeconds(5), 1 << 20);
    }

    /** A server of {@code routes} whose responses budget is {@code responses}. */
    private static HttpServer serverOver(Router routes, MemoryBudget responses) throws Exception {
        return HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(new Budgets(routes,
                new Budgets.Settings(MemoryBudget.unbounded("memory.requests.max.bytes"), responses, Duration.ofSeconds(30),
                        Duration.ofMillis(100)))), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
    }

    /** A connection to {@code server} that has asked for the event stream of {@code path}. */
    private static Socket streamFrom(HttpServer server, String path) throws java.io.IOException {
        Socket s = new Socket("127.0.0.1", server.addresses().get(0).getPort());
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    @Test
    void aBatchHoldsWhatItsEventsTakeOfTheBudgetUntilWritten() throws Exception {
        // The source took no room for its records (events larger than their records' reckoning):
        // the batch counts its rendered bytes against the budget until the client has them.
        MemoryBudget responses = new MemoryBudget("memory.responses.max.bytes", 64L << 20);
        int size = 32 << 20; // more than the connection's socket buffers hold
        AtomicInteger fetches = new AtomicInteger();
        EventStreams own = new EventStreams(4, Duration.ofSeconds(30));
        Router routes = new Router().get("/big", exchange -> EventStream.start(exchange, own, () -> new EventStream.Source() {
            @Override
            public EventStream.Events next(ResponseRoom room) {
                if (fetches.getAndIncrement() > 0) {
                    return EventStream.Events.END;
                }
                byte[] event = new byte[size];
                java.util.Arrays.fill(event, (byte) 'x');
                byte[] head = "data: ".getBytes(StandardCharsets.US_ASCII);
                System.arraycopy(head, 0, event, 0, head.length);
                event[size - 2] = '\n';
                event[size - 1] = '\n';
                return EventStream.Events.of(event);
            }

            @Override
            public void close() {
            }
        }));
        HttpServer other = serverOver(routes, responses);
        try (Socket s = streamFrom(other, "/big")) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (responses.used() < size && System.nanoTime() < deadline) {
                Thread.sleep(5); // the client reads nothing: the batch cannot be written whole
            }
            assertTrue(responses.used() >= size, "the batch's events are counted: " + responses.used());
            // To the stream's end: its last chunk.
            byte[] buf = new byte[65536];
            StringBuilder tail = new StringBuilder();
            long read = 0;
            while (read < size || !tail.toString().endsWith("\r\n0\r\n\r\n")) {
                int n = s.getInputStream().read(buf);
                if (n < 0) {
                    break;
                }
                read += n;
                tail.append(new String(buf, Math.max(0, n - 16), Math.min(n, 16), StandardCharsets.US_ASCII));
                tail.delete(0, Math.max(0, tail.length() - 16));
            }
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (responses.used() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(0, responses.used(), "written: given back");
        } finally {
            own.close(Duration.ofSeconds(10));
            other.close();
        }
    }

    @Test
    void aStreamWaitingForRoomInAnOverfullBudgetKeepsItsSourceInPlace() throws Exception {
        // Over its capacity (records taken anyway): the stream fetches nothing until there is room,
        // but its source (a consumer instance in its group) must still be polled at each heartbeat.
        MemoryBudget responses = new MemoryBudget("memory.responses.max.bytes", 1 << 20);
        MemoryBudget.Lease others = responses.lease();
        others.takeAnyway(responses.capacity() + 1);
        AtomicInteger idles = new AtomicInteger();
        AtomicInteger fetches = new AtomicInteger();
        EventStreams own = new EventStreams(4, Duration.ofMillis(50));
        Router routes = new Router().get("/waiting", exchange -> EventStream.start(exchange, own, () -> new EventStream.Source() {
            @Override
            public EventStream.Events next(ResponseRoom room) {
                fetches.incrementAndGet();
                return EventStream.Events.of(new byte[0]);
            }

            @Override
            public void idle() {
                idles.incrementAndGet();
            }

            @Override
            public void close() {
            }
        }));
        HttpServer other = serverOver(routes, responses);
        try (Socket s = streamFrom(other, "/waiting")) {
            readUntil(s.getInputStream(), new ByteArrayOutputStream(), ": stream opened");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (idles.get() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(idles.get() >= 2, "the source kept in place while the budget has no room: " + idles.get());
            assertEquals(0, fetches.get(), "nothing fetched without room");
        } finally {
            others.close();
            own.close(Duration.ofSeconds(10));
            other.close();
        }
    }

    /**
     * A source of one record of 64 KiB (about 192 KiB of room), {@code id: 0} and {@code data: big},
     * which goes out once it finds room; then the stream ends. {@code refused} hears the number
     * of each look that found no room (1, 2, …).
     */
    private static EventStream.Source oneBigRecord(java.util.function.IntConsumer refused) {
        return new EventStream.Source() {
            private boolean sent;
            private int looks;

            @Override
            public EventStream.Events next(ResponseRoom room) {
                if (sent) {
                    return EventStream.Events.END;
                }
                if (!room.take(64 * 1024, true)) {
                    refused.accept(++looks);
                    return EventStream.Events.of(new byte[0]);
                }
                sent = true;
                return EventStream.Events.of("id: 0\ndata: big\n\n".getBytes(StandardCharsets.US_ASCII));
            }

            @Override
            public void close() {
            }
        };
    }

    /** A responses budget of 64 MiB, of which an API key may hold 1 MiB. */
    private static MemoryBudget busyShare() {
        MemoryBudget responses = new MemoryBudget("memory.responses.max.bytes", 64L << 20);
        responses.ownerShare(1 << 20);
        return responses;
    }

    @Test
    void whileARecordWaitsForItsKeysShareTheKeysOtherStreamsFetchNothingSoThatItsRoomComes() throws Exception {
        // The key's share is busy (others holds most of it): /big's record waits for room. The
        // key's other stream, /small, must not take the room that frees meanwhile (it would, at
        // once, every time: a stream fetches the moment its batch is written, a waiting one
        // looks every 20 ms), so it fetches nothing until /big's record went out.
        MemoryBudget responses = busyShare();
        MemoryBudget.Lease others = responses.lease("key");
        assertTrue(others.tryTake(900 * 1024)); // the key's other things: 900 KiB of its 1 MiB
        AtomicInteger bigLooks = new AtomicInteger();
        AtomicInteger smallFetches = new AtomicInteger();
        EventStreams own = new EventStreams(4, Duration.ofSeconds(30));
        Router routes = new Router()
                .get("/big", exchange -> EventStream.start(exchange, own, "key", () -> oneBigRecord(bigLooks::set)))
                .get("/small", exchange -> EventStream.start(exchange, own, "key", () -> new EventStream.Source() {
                    private int next;

                    @Override
                    public EventStream.Events next(ResponseRoom room) {
                        smallFetches.incrementAndGet();
                        if (!room.take(100, true)) {
                            return EventStream.Events.of(new byte[0]);
                        }
                        return EventStream.Events.of(("id: " + next++ + "\ndata: small\n\n").getBytes(StandardCharsets.US_ASCII));
                    }

                    @Override
                    public void close() {
                    }
                }));
        HttpServer other = serverOver(routes, responses);
        try (Socket big = streamFrom(other, "/big")) {
            readUntil(big.getInputStream(), new ByteArrayOutputStream(), ": stream opened", 20);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (bigLooks.get() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(bigLooks.get() >= 2, "/big looked and found no room: " + bigLooks.get());
            try (Socket small = streamFrom(other, "/small")) {
                readUntil(small.getInputStream(), new ByteArrayOutputStream(), ": stream opened", 20);
                int looks = bigLooks.get();
                while (bigLooks.get() < looks + 10 && System.nanoTime() < deadline) {
                    Thread.sleep(5); // /big looks again and again meanwhile
                }
                assertEquals(0, smallFetches.get(), "the key's other stream waits while /big's record waits for the key's share");

                others.close(); // the key's other things are done: /big's room
                String all = readUntil(big.getInputStream(), new ByteArrayOutputStream(), "\r\n0\r\n\r\n", 20);
                assertTrue(all.contains("id: 0\ndata: big\n\n"), "/big's record went out: " + all);
                String smalls = readUntil(small.getInputStream(), new ByteArrayOutputStream(), "data: small", 20);
                assertTrue(smalls.contains("data: small"), "then /small streams: " + smalls);
            }
        } finally {
            others.close();
            own.close(Duration.ofSeconds(10));
            other.close();
        }
    }

    @Test
    void aClaimOfTheKeysShareLastsAHeartbeatIntervalThenTheStreamEndsWithA429() throws Exception {
        // The key's other thing (a read being sent, say) never lets go: the waiting record's
        // claim would hold the key's other streams for good. After a heartbeat interval, 429.
        MemoryBudget responses = busyShare();
        MemoryBudget.Lease others = responses.lease("key");
        assertTrue(others.tryTake(900 * 1024)); // the key's other things: 900 KiB of its 1 MiB
        AtomicInteger looks = new AtomicInteger();
        EventStreams own = new EventStreams(4, Duration.ofMillis(300));
        Router routes = new Router().get("/big", exchange -> EventStream.start(exchange, own, "key", () -> oneBigRecord(looks::set)));
        HttpServer other = serverOver(routes, responses);
        try (Socket big = streamFrom(other, "/big")) {
            String all = readUntil(big.getInputStream(), new ByteArrayOutputStream(), "\r\n0\r\n\r\n", 20);
            assertTrue(all.contains("event: error\ndata: {\"error_code\":429"), "a 429 error event: " + all);
            assertTrue(all.endsWith("\r\n0\r\n\r\n"), "then the stream ends: " + all);
            assertFalse(all.contains("data: big"), all);
            assertTrue(looks.get() >= 3, "it looked again and again first: " + looks.get());
        } finally {
            others.close();
            own.close(Duration.ofSeconds(10));
            other.close();
        }
    }

    @Test
    void aRecordWaitingForItsKeysShareGoesOutOnceTheKeysOtherThingsAreDone() throws Exception {
        MemoryBudget responses = busyShare();
        MemoryBudget.Lease others = responses.lease("key");
        assertTrue(others.tryTake(900 * 1024)); // the key's other things: 900 KiB of its 1 MiB
        EventStreams own = new EventStreams(4, Duration.ofSeconds(30));
        Router routes = new Router().get("/share", exchange -> EventStream.start(exchange, own, "key", () -> oneBigRecord(looks -> {
            if (looks == 3) {
                others.close(); // the key's other stream ended
            }
        })));
        HttpServer other = serverOver(routes, responses);
        try (Socket s = streamFrom(other, "/share")) {
            String all = readUntil(s.getInputStream(), new ByteArrayOutputStream(), "\r\n0\r\n\r\n", 20);
            assertTrue(all.contains("id: 0\ndata: big\n\n") && !all.contains("event: error"), "the record, no error: " + all);
        } finally {
            others.close();
            own.close(Duration.ofSeconds(10));
            other.close();
        }
    }

    @Test
    void aStreamWaitingForRoomEndsWhenItsInstanceIsDeleted() throws Exception {
        // Over its capacity: nothing is fetched, but the heartbeat's keeping in place learns that
        // the instance is gone (404), and the stream ends then, not once the budget has room.
        MemoryBudget responses = new MemoryBudget("memory.responses.max.bytes", 1 << 20);
        MemoryBudget.Lease others = responses.lease();
        others.takeAnyway(responses.capacity() + 1);
        AtomicInteger idles = new AtomicInteger();
        java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
        EventStreams own = new EventStreams(4, Duration.ofMillis(50));
        Router routes = new Router().get("/deleted", exchange -> EventStream.start(exchange, own, () -> new EventStream.Source() {
            @Override
            public EventStream.Events next(ResponseRoom room) {
                return EventStream.Events.of(new byte[0]);
            }

            @Override
            public void idle() {
                if (idles.incrementAndGet() >= 2) {
                    throw io.portico.protocol.ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
                }
            }

            @Override
            public void close() {
                closed.countDown();
            }
        }));
        HttpServer other = serverOver(routes, responses);
        try (Socket s = streamFrom(other, "/deleted")) {
            // Heartbeats keep coming until it ends: read for 30 s at most.
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!seen.toString(StandardCharsets.US_ASCII).endsWith("\r\n0\r\n\r\n") && System.nanoTime() < deadline) {
                int n = s.getInputStream().read(buf);
                if (n < 0) {
                    break;
                }
                seen.write(buf, 0, n);
            }
            String all = seen.toString(StandardCharsets.US_ASCII);
            assertTrue(all.endsWith("\r\n0\r\n\r\n"), "ended cleanly: " + all.substring(Math.max(0, all.length() - 200)));
            assertTrue(closed.await(10, TimeUnit.SECONDS), "its source closed");
            assertEquals(0, own.active());
        } finally {
            others.close();
            own.close(Duration.ofSeconds(10));
            other.close();
        }
    }

    @Test
    void aFullResponsesBudgetPausesAStreamAndNeverEndsIt() throws Exception {
        // A budget full but for less than the record needs, never over its capacity: reads that
        // hold it (another client's large slow responses) are what fill it.
        MemoryBudget responses = new MemoryBudget("memory.responses.max.bytes", 1 << 20);
        MemoryBudget.Lease others = responses.lease();
        assertTrue(others.tryTake(responses.capacity() - 1000));
        OffsetReader reader = oneRecord(10_000);
        AtomicInteger fetches = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        EventStreams own = new EventStreams(4, Duration.ofSeconds(30));
        Router routes = new Router().get("/partition", exchange -> EventStream.start(exchange, own, () -> {
            PartitionStream stream = reader.stream("t", 0, 0, null);
            return new EventStream.Source() {
                @Override
                public EventStream.Events next(ResponseRoom room) {
                    List<ConsumedRecord> records;
                    try {
                        records = stream.next(Duration.ofMillis(10), EventStream.BATCH_MAX_BYTES, room);
                    } catch (RuntimeException e) {
                        failures.incrementAndGet();
                        throw e;
                    }
                    fetches.incrementAndGet();
                    StringBuilder out = new StringBuilder();
                    for (ConsumedRecord r : records) {
                        out.append("id: ").append(r.offset()).append("\ndata: ").append(r.value().length).append("\n\n");
                    }
                    return EventStream.Events.of(out.toString().getBytes(StandardCharsets.US_ASCII));
                }

                @Override
                public void close() {
                    stream.close();
                }
            };
        }));
        HttpServer other = serverOver(routes, responses);
        try (Socket s = streamFrom(other, "/partition")) {
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            readUntil(s.getInputStream(), seen, ": stream opened");
            // The record has been fetched and found no room, more than once (or the stream failed).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (fetches.get() < 3 && failures.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(0, failures.get(), "a full budget does not fail the stream's fetch");
            assertTrue(fetches.get() >= 3, "the stream goes on fetching while the budget is full: " + fetches.get());
            others.close(); // the other responses are sent: room again
            String all = readUntil(s.getInputStream(), seen, "id: 0\ndata: 10000\n\n");
            assertTrue(all.contains("id: 0\ndata: 10000\n\n"), "the record comes once there is room: " + all);
            assertTrue(!all.contains("event: error"), all);
        } finally {
            own.close(Duration.ofSeconds(10));
            other.close();
            reader.close();
        }
    }

    @Test
    void aBatchOfSeveralArraysReachesASlowReaderWholeAndInOrder() throws Exception {
        // A small receive window and a slow reader: the server's writes of the batch's arrays are
        // partial, and each goes on from where the last stopped, over HTTP/1.1 chunks.
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", port));
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /arrays HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(
                    new SlowStream(s.getInputStream()), 1024));
            String line;
            while (!(line = asciiLine(in)).isEmpty()) {
                assertTrue(!line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length"), line);
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (int size; (size = Integer.parseInt(asciiLine(in).trim(), 16)) > 0; ) {
                byte[] chunk = new byte[size];
                in.readFully(chunk);
                body.writeBytes(chunk);
                assertEquals("", asciiLine(in), "a chunk ends where its size line says");
            }
            // Heartbeats may come between whole writes while the reader is slow.
            String text = body.toString(StandardCharsets.US_ASCII).replace(": heartbeat\n\n", "");
            String opened = ": stream opened\n\n";
            assertTrue(text.startsWith(opened), text.substring(0, Math.min(80, text.length())));
            String got = text.substring(opened.length());
            String expected = new String(ARRAYS_EVENTS, StandardCharsets.US_ASCII);
            int at = 0;
            while (at < Math.min(got.length(), expected.length()) && got.charAt(at) == expected.charAt(at)) {
                at++;
            }
            assertEquals(expected.length(), at, "the events differ from byte " + at + " on (of " + got.length() + ")");
            assertEquals(expected.length(), got.length());
        }
    }

    /** Reads at most 512 bytes a call, pausing a little every 64 KiB. */
    private static final class SlowStream extends java.io.FilterInputStream {
        private long read;

        SlowStream(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, Math.min(len, 512));
            if (n > 0 && (read += n) % (64 * 1024) < n) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return n;
        }
    }

    private static String asciiLine(java.io.DataInputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new java.io.EOFException("the response ended inside a line: " + line);
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }
}
