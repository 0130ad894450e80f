package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.sessions.MemoryBudget;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The streaming primitives on an in-process server, without Kafka: {@link ReplyStream} writes
 * items in the order their places were taken whatever order they complete in, each as soon as
 * every earlier one is done, while the request is still arriving; {@link StreamingBody} stops
 * reading while its consumer is full and reads on when it has room; a client that reads nothing
 * of its answer is disconnected.
 */
class StreamingTest {
    private static final ExecutorService COMPLETER = Executors.newSingleThreadExecutor();
    private static HttpServer server;
    private static int port;
    /** Chunks the /paused stream received while its consumer said it was full. */
    private static final AtomicInteger chunksWhilePaused = new AtomicInteger();
    /** What /held's waiting item was counted for. */
    private static final java.util.concurrent.atomic.AtomicLong heldBehindFirst = new java.util.concurrent.atomic.AtomicLong();
    /** Completions of /reverse's places that took effect after the first. */
    private static final AtomicInteger secondCompletions = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        Router routes = new Router()
                // Each line of the body takes a place; the lines of one chunk complete in reverse
                // order, on another thread.
                .post("/reverse", exchange -> {
                    ReplyStream replies = new ReplyStream(exchange, "text/plain", "\n".getBytes(StandardCharsets.US_ASCII),
                            MemoryBudget.unbounded("test").lease(), Duration.ofSeconds(30), () -> { });
                    new StreamingBody(exchange, new Sink() {
                        @Override
                        public void chunk(byte[] chunk, boolean last) {
                            List<ReplyStream.Slot> slots = new ArrayList<>();
                            List<String> lines = new ArrayList<>();
                            for (String line : new String(chunk, StandardCharsets.US_ASCII).split("\n")) {
                                if (!line.isEmpty()) {
                                    slots.add(replies.reserve(() -> { }));
                                    lines.add(line);
                                }
                            }
                            COMPLETER.execute(() -> {
                                for (int i = slots.size() - 1; i >= 0; i--) {
                                    slots.get(i).complete(("got " + lines.get(i)).getBytes(StandardCharsets.US_ASCII));
                                    // A second completion (a failure path after the record's report) is ignored.
                                    if (slots.get(i).complete("again".getBytes(StandardCharsets.US_ASCII))) {
                                        secondCompletions.incrementAndGet();
                                    }
                                }
                            });
                            if (last) {
                                replies.finish(false);
                            }
                        }
                    }, Duration.ofSeconds(30), Duration.ofHours(1)).start();
                })
                // The consumer says it is full after its first chunk: reading stops until /resume.
                .post("/paused", exchange -> {
                    ReplyStream replies = new ReplyStream(exchange, "text/plain", "\n".getBytes(StandardCharsets.US_ASCII),
                            MemoryBudget.unbounded("test").lease(), Duration.ofSeconds(30), () -> { });
                    StreamingBody[] body = new StreamingBody[1];
                    body[0] = new StreamingBody(exchange, new Sink() {
                        private int chunks;

                        @Override
                        public void chunk(byte[] chunk, boolean last) {
                            if (body[0].isPaused()) {
                                chunksWhilePaused.incrementAndGet();
                            }
                            if (++chunks == 1) {
                                body[0].pause();
                                replies.reserve(() -> { }).complete("paused".getBytes(StandardCharsets.US_ASCII));
                                exchange.getIoThread().executeAfter(() -> {
                                    replies.reserve(() -> { }).complete("resumed".getBytes(StandardCharsets.US_ASCII));
                                    body[0].resume();
                                }, 300, TimeUnit.MILLISECONDS);
                            }
                            if (last) {
                                replies.reserve(() -> { }).complete(("chunks " + chunks).getBytes(StandardCharsets.US_ASCII));
                                replies.finish(false);
                            }
                        }
                    }, Duration.ofSeconds(30), Duration.ofHours(1));
                    body[0].start();
                })
                // A large item completes behind one not completed yet: it waits, counted by its size.
                .get("/held", exchange -> {
                    MemoryBudget.Lease memory = MemoryBudget.unbounded("test").lease();
                    ReplyStream replies = new ReplyStream(exchange, "text/plain", "\n".getBytes(StandardCharsets.US_ASCII),
                            memory, Duration.ofSeconds(30), () -> { });
                    ReplyStream.Slot first = replies.reserve(() -> { });
                    replies.reserve(() -> { }).complete("e".repeat(10_000).getBytes(StandardCharsets.US_ASCII));
                    heldBehindFirst.set(memory.held());
                    first.complete("first".getBytes(StandardCharsets.US_ASCII));
                    replies.finish(false);
                    exchange.dispatch(io.undertow.util.SameThreadExecutor.INSTANCE, () -> { });
                })
                // Answers far more than a socket holds, to a client that reads nothing.
                .get("/flood", exchange -> {
                    ReplyStream replies = new ReplyStream(exchange, "text/plain", "\n".getBytes(StandardCharsets.US_ASCII),
                            MemoryBudget.unbounded("test").lease(), Duration.ofMillis(300), () -> { });
                    byte[] line = "x".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII);
                    for (int i = 0; i < 1024; i++) { // 64 MiB, more than the sockets' buffers hold
                        replies.reserve(() -> { }).complete(line);
                    }
                    replies.finish(false);
                    exchange.dispatch(io.undertow.util.SameThreadExecutor.INSTANCE, () -> { });
                });
        server = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(routes), null,
                new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30),
                        100, 1 << 20, List.of(), List.of(), "none"));
        port = server.addresses().get(0).getPort();
    }

    @AfterAll
    static void stop() {
        server.close();
        COMPLETER.shutdownNow();
    }

    private interface Sink extends StreamingBody.Sink {
        @Override
        default void idle(Duration idleTimeout) {
        }

        @Override
        default void expired(Duration maxDuration) {
        }

        @Override
        default void failed(Throwable cause) {
        }
    }

    private static Socket post(String path) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    private static void chunk(OutputStream out, String text) throws IOException {
        byte[] data = text.getBytes(StandardCharsets.US_ASCII);
        out.write((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(data);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Reads until {@code expected} appears in what arrived (the raw response, chunk framing included). */
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

    @Test
    void itemsAreWrittenInTheOrderOfTheirPlacesWhileTheRequestStillArrives() throws Exception {
        try (Socket s = post("/reverse")) {
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            chunk(s.getOutputStream(), "a\nb\nc\n");
            // The next chunk is sent only once these answers are in: an answer held to the end of
            // the body would never come (the read times out).
            String first = readUntil(s.getInputStream(), seen, "got c\n");
            assertTrue(first.indexOf("got a") < first.indexOf("got b") && first.indexOf("got b") < first.indexOf("got c"),
                    first);
            chunk(s.getOutputStream(), "d\n");
            s.getOutputStream().write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String all = readUntil(s.getInputStream(), seen, "0\r\n\r\n");
            assertTrue(all.contains("got d\n"), all);
            assertTrue(all.startsWith("HTTP/1.1 200"), all);
            assertFalse(all.contains("again"), all);
            assertEquals(0, secondCompletions.get(), "a place is completed once");
        }
    }

    @Test
    void aPausedBodyIsNotReadUntilResumed() throws Exception {
        chunksWhilePaused.set(0);
        try (Socket s = post("/paused")) {
            ByteArrayOutputStream seen = new ByteArrayOutputStream();
            chunk(s.getOutputStream(), "one");
            readUntil(s.getInputStream(), seen, "paused");
            chunk(s.getOutputStream(), "two");
            chunk(s.getOutputStream(), "three");
            s.getOutputStream().write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String all = readUntil(s.getInputStream(), seen, "0\r\n\r\n");
            assertTrue(all.indexOf("resumed") < all.indexOf("chunks"), "nothing more was read before the resume: " + all);
            assertEquals(0, chunksWhilePaused.get(), "no chunk was handed over while paused");
        }
    }

    @Test
    void aCompletedItemWaitingToBeWrittenIsCountedByItsSize() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /held HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = readUntil(s.getInputStream(), new ByteArrayOutputStream(), "eeee\n");
            assertTrue(answer.contains("first\ne"), answer.substring(0, Math.min(200, answer.length())));
        }
        // An error report quoting what the client sent is as large as that: counted as 256 bytes,
        // a slow reader's reports could hold many times what the responses budget allows it.
        assertTrue(heldBehindFirst.get() >= 10_000, "counted " + heldBehindFirst.get() + " bytes");
    }

    @Test
    void aClientThatReadsNothingOfItsAnswerIsDisconnected() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write("GET /flood HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            // Reads nothing for longer than the stall timeout (300 ms), then drains what was sent:
            // the answer stops short of its 64 MiB, and the connection is closed.
            new CountDownLatch(1).await(1500, TimeUnit.MILLISECONDS);
            s.setSoTimeout(10_000);
            long total = 0;
            byte[] buf = new byte[65536];
            try {
                for (int n; (n = s.getInputStream().read(buf)) >= 0; ) {
                    total += n;
                }
            } catch (IOException e) {
                // a reset: closed as well
            }
            assertTrue(total < 64L * 1024 * 1024, "the answer was cut: " + total + " bytes");
        }
    }
}
