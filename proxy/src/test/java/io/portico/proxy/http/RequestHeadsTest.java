package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.sessions.MemoryBudget;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Request heads still arriving are counted against a memory budget ({@link RequestHeads}): a
 * head trickled past its free allowance takes room, one that finds none is answered 503 and its
 * connection closed, while heads that arrive whole, bodies and pipelined requests take none.
 * Runs on an in-process server, without Kafka.
 */
class RequestHeadsTest {
    /** Room for one trickled 40,045-byte head (78.5 KB of cost past its free 2 KiB), not one more of 15,045. */
    private static final MemoryBudget HEADS = new MemoryBudget("memory.heads.max.bytes", 100_000);
    private static HttpServer server;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        Router routes = new Router()
                .get("/now", exchange -> Http.ok(exchange, Map.of("now", true)))
                .post("/body", exchange -> Http.readBody(exchange, 1 << 20,
                        body -> Http.ok(exchange, Map.of("bytes", body.length))));
        server = HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(new InFlight(routes, 100)),
                null, new HttpServer.Settings(1, 65536, Duration.ofSeconds(30), Duration.ofSeconds(60),
                        Duration.ofSeconds(30), 100, 1 << 20, List.of(), List.of(), "none", true, 100, HEADS));
        port = server.addresses().get(0).getPort();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void allGivenBack() throws Exception {
        await(() -> HEADS.used() == 0, "the heads budget was not given back: " + HEADS.used());
    }

    private static void await(BooleanSupplier condition, String message) throws InterruptedException {
        for (int i = 0; i < 1000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), message);
    }

    private static Socket connect() throws IOException {
        Socket socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        return socket;
    }

    private static void write(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
    }

    /** A request line and a header whose value is {@code bytes} long and not ended yet. */
    private static String unfinishedHead(int bytes) {
        return "GET /now HTTP/1.1\r\nHost: localhost\r\nX-Large: " + "a".repeat(bytes);
    }

    /** One answer: its status line and body. */
    private static String answer(InputStream in) throws IOException {
        RawAnswer answer = RawAnswer.read(in);
        return answer.status() + " " + answer.body();
    }

    private static String get(Socket socket) throws IOException {
        write(socket, "GET /now HTTP/1.1\r\nHost: localhost\r\n\r\n");
        return answer(socket.getInputStream());
    }

    @Test
    void aHeadTrickledPastItsAllowanceTakesRoomAndGivesItBackWhenItEnds() throws Exception {
        try (Socket socket = connect()) {
            // Under 16 KiB, so that the connection stays open after it (see HttpServer.LARGE_HEAD_BYTES).
            write(socket, unfinishedHead(10_000));
            await(() -> HEADS.used() > 15_000, "the unfinished head took no room: " + HEADS.used());
            write(socket, "\r\n\r\n");
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", answer(socket.getInputStream()));
            await(() -> HEADS.used() == 0, "the finished head kept its room: " + HEADS.used());
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", get(socket)); // the connection serves on
        }
    }

    @Test
    void aHeadThatFindsNoRoomIsAnswered503AndItsConnectionClosedWhileOthersAreServed() throws Exception {
        try (Socket holder = connect(); Socket refused = connect(); Socket other = connect()) {
            // The holder leaves less room than one read of a head and a body would take if it were all head.
            write(holder, unfinishedHead(40_000));
            await(() -> HEADS.used() > 75_000, "the first unfinished head took no room: " + HEADS.used());
            write(refused, unfinishedHead(15_000));
            InputStream in = refused.getInputStream();
            StringBuilder status = new StringBuilder();
            for (int c; !status.toString().endsWith("\r\n") && (c = in.read()) >= 0; ) {
                status.append((char) c);
            }
            // A client that goes on sending its head after the answer came still reads all of
            // the answer, and the server's end of the connection, not a reset.
            for (int i = 0; i < 10; i++) {
                write(refused, "a".repeat(5_000));
            }
            refused.shutdownOutput();
            String answer = status + new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 503 "), answer);
            assertTrue(answer.contains("\"error_code\":503") && answer.contains("memory.heads.max.bytes"), answer);
            // Heads that arrive whole take no room, and bodies are not heads: served while the budget is held.
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", get(other));
            String body = "b".repeat(200_000);
            write(other, "POST /body HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body);
            assertEquals("HTTP/1.1 200 OK {\"bytes\":200000}", answer(other.getInputStream()));
            // The holder, untouched, finishes its head and is answered.
            write(holder, "\r\n\r\n");
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", answer(holder.getInputStream()));
        }
    }

    @Test
    void theNextHeadOnAKeptAliveConnectionIsCountedAgain() throws Exception {
        try (Socket socket = connect()) {
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", get(socket));
            write(socket, unfinishedHead(30_000));
            await(() -> HEADS.used() > 50_000, "the second request's unfinished head took no room: " + HEADS.used());
        }
        // closing the connection gives its room back (checked after each test)
    }

    @Test
    void aPipelinedHeadIsCountedFromWhatTheServerAlreadyHolds() throws Exception {
        try (Socket socket = connect()) {
            // One write: a whole request and the start of the next, which the server reads with it.
            write(socket, "GET /now HTTP/1.1\r\nHost: localhost\r\n\r\n" + unfinishedHead(10_000));
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", answer(socket.getInputStream()));
            await(() -> HEADS.used() > 15_000, "the pipelined unfinished head took no room: " + HEADS.used());
            write(socket, "a".repeat(2_000));
            await(() -> HEADS.used() > 19_000, "the rest of the pipelined head took no room: " + HEADS.used());
            write(socket, "\r\n\r\n");
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", answer(socket.getInputStream()));
        }
    }

    @Test
    void anUpgradeUndertowDoesNotMakeKeepsTheHeadsCounted() throws Exception {
        try (Socket socket = connect()) {
            write(socket, "GET /now HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c, websocket\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", answer(socket.getInputStream()));
            write(socket, unfinishedHead(10_000));
            await(() -> HEADS.used() > 15_000, "the next unfinished head took no room: " + HEADS.used());
        }
    }

    @Test
    void anUpgradedConnectionsHttp2FramesAreNoHeads() throws Exception {
        java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_2).build();
        URI base = URI.create("http://127.0.0.1:" + port);
        // The first request (no body) upgrades the connection; the others are HTTP/2 streams on it.
        java.net.http.HttpResponse<String> first = client.send(java.net.http.HttpRequest.newBuilder(base.resolve("/now"))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(java.net.http.HttpClient.Version.HTTP_2, first.version(), "not upgraded");
        for (int i = 0; i < 3; i++) {
            // Bodies larger than the whole budget, in frames no head scan would find an end in.
            java.net.http.HttpResponse<String> posted = client.send(java.net.http.HttpRequest.newBuilder(base.resolve("/body"))
                    .header("Content-Type", "text/plain")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("b".repeat(300_000))).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, posted.statusCode(), posted.body());
            assertEquals(java.net.http.HttpClient.Version.HTTP_2, posted.version());
            assertEquals("{\"bytes\":300000}", posted.body());
        }
        assertEquals(0, HEADS.used());
    }

    @Test
    void theScanFindsAHeadsEndAcrossReadsWithEitherLineEnd() {
        RequestHeads.Scan scan = new RequestHeads.Scan();
        assertFalse(feed(scan, "\r\n\n"), "empty lines before the request line are no end");
        assertFalse(feed(scan, "GET / HTTP/1.1\r\nHost: a\r"));
        assertFalse(feed(scan, "\n\r"));
        assertTrue(feed(scan, "\nbody"), "the end, split between reads");
        assertEquals(3 + 16 + 8 + 2 + 1, scan.bytes(), "the bytes up to the end, the body not among them");
        scan.reset();
        assertTrue(feed(scan, "GET / HTTP/1.1\nHost: a\n\nbody"), "bare line feeds");
        assertEquals(24, scan.bytes());
        scan.reset();
        assertFalse(feed(scan, "GET / HTTP/1.1\r\nX: a\r\n \r\n"), "a line of a space is no empty line");
        assertEquals(2 * 25 + RequestHeads.PART_COST * 4, scan.cost());
        scan.reset();
        assertFalse(feed(scan, "GET /?a=1&b=2;c HTTP/1.1\r\n"), "parameters cost as lines do");
        assertEquals(2 * 26 + RequestHeads.PART_COST * 4, scan.cost());
        scan.reset();
        // A header value full of ';' is one string: its bytes count, not a part per ';'.
        assertFalse(feed(scan, "GET / HTTP/1.1\r\nX: " + ";".repeat(30_000)));
        assertEquals(2 * (16 + 3 + 30_000) + RequestHeads.PART_COST * 2, scan.cost());
        scan.reset();
        // Parameters and lines count up to what Undertow takes (it refuses a head with more).
        assertFalse(feed(scan, "GET /?" + "&".repeat(5_000) + " HTTP/1.1\r\n" + "X: a\n".repeat(1_000)));
        assertEquals(2 * (6 + 5_000 + 11 + 5 * 1_000)
                + RequestHeads.PART_COST * (1 + RequestHeads.PARAMETERS_MAX + RequestHeads.HEADERS_MAX + 1), scan.cost());
    }

    /** An HTTP/2 frame: its 9-byte header (stream 1 unless a SETTINGS frame) and payload. */
    private static byte[] frame(int type, int flags, byte[] payload) {
        int stream = type == 0x4 ? 0 : 1;
        byte[] f = new byte[9 + payload.length];
        f[0] = (byte) (payload.length >>> 16);
        f[1] = (byte) (payload.length >>> 8);
        f[2] = (byte) payload.length;
        f[3] = (byte) type;
        f[4] = (byte) flags;
        f[8] = (byte) stream;
        System.arraycopy(payload, 0, f, 9, payload.length);
        return f;
    }

    /**
     * Reads the server's HTTP/2 frames up to the next HEADERS frame of a response and returns its
     * status, which a server's HPACK sends as one byte for 200 (index 8) and 404 (index 13).
     */
    private static int responseStatus(InputStream in) throws IOException {
        while (true) {
            byte[] header = in.readNBytes(9);
            if (header.length < 9) {
                throw new IOException("the connection ended before a response");
            }
            int length = (header[0] & 0xff) << 16 | (header[1] & 0xff) << 8 | header[2] & 0xff;
            byte[] payload = in.readNBytes(length);
            if (header[3] == 0x1) {
                int first = payload[0] & 0xff;
                return first == 0x88 ? 200 : first == 0x8d ? 404 : -first;
            }
        }
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /** HPACK for GET http://localhost/now: :method GET, :scheme http, :path /now (8 bytes), :authority localhost (20 in all). */
    private static final byte[] GET_NOW = concat(new byte[] {(byte) 0x82, (byte) 0x86, 0x44, 4},
            "/now".getBytes(StandardCharsets.US_ASCII), new byte[] {0x41, 9}, "localhost".getBytes(StandardCharsets.US_ASCII));

    @Test
    void http2HeaderBlocksAreFollowedAcrossFramesAndReads() {
        RequestHeads.Frames frames = new RequestHeads.Frames(PREFACE);
        byte[] headersOpen = frame(0x1, 0x1, java.util.Arrays.copyOf(GET_NOW, 8)); // END_STREAM, no END_HEADERS
        byte[] continuation = frame(0x9, 0x4, java.util.Arrays.copyOfRange(GET_NOW, 8, 20)); // END_HEADERS
        byte[] data = new byte[300];
        java.util.Arrays.fill(data, (byte) 0x1); // bytes that read as HEADERS frame headers, were they not a payload
        byte[] all = concat(PREFACE, frame(0x4, 0, new byte[0]), frame(0x0, 0, data), headersOpen, continuation,
                frame(0x1, 0x5, GET_NOW), frame(0x0, 0x1, data));
        int headersAt = PREFACE.length + 9 + 9 + data.length;
        int continuationAt = headersAt + headersOpen.length;
        int wholeAt = continuationAt + continuation.length;
        // Fed a byte at a time: a block is in progress from its HEADERS frame's header to the
        // last byte of the CONTINUATION that ends it, and never within a DATA payload.
        for (int at = 0; at < all.length; at++) {
            boolean open = frames.feed(ByteBuffer.wrap(all), at, at + 1);
            boolean expected = at >= headersAt + 8 && at < continuationAt + continuation.length - 1
                    || at >= wholeAt + 8 && at < wholeAt + 9 + GET_NOW.length - 1;
            assertEquals(expected, open, "after byte " + at);
            if (at == continuationAt + 8) {
                assertEquals(8, frames.blockBytes(), "the payload bytes of the block so far");
            }
        }
        // Whole in one read: nothing left in progress.
        RequestHeads.Frames whole = new RequestHeads.Frames(new byte[0]);
        assertFalse(whole.feed(ByteBuffer.wrap(concat(frame(0x4, 0, new byte[0]), headersOpen, continuation)), 0,
                9 + headersOpen.length + continuation.length));
        // A preface expected but not there: frames from the first byte.
        RequestHeads.Frames early = new RequestHeads.Frames(PREFACE);
        assertTrue(early.feed(ByteBuffer.wrap(headersOpen), 0, headersOpen.length));
    }

    /** A server of its own answering GET /now, HTTP/2 on, heads of 4 KiB at most. */
    private static HttpServer nowServer(Duration headerTimeout, MemoryBudget heads) throws Exception {
        Router routes = new Router().get("/now", exchange -> Http.ok(exchange, Map.of("now", true)));
        return HttpServer.start(List.of(URI.create("http://127.0.0.1:0")), new ErrorBoundary(new InFlight(routes, 100)),
                null, new HttpServer.Settings(1, 4096, headerTimeout, Duration.ofSeconds(60), Duration.ofSeconds(30), 100,
                        1 << 20, List.of(), List.of(), "none", true, 100, heads));
    }

    @Test
    void anHttp2HeaderBlockLeftOpenTakesRoomAndOneWithoutRoomClosesItsConnectionOnly() throws Exception {
        // A block in progress of 69 bytes (GET_NOW's pseudo-headers, then 50 one-byte indexed
        // fields) costs 2 x 69 + 160 x 69, less the free 2 KiB: 9,130. Room for one.
        MemoryBudget budget = new MemoryBudget("memory.heads.max.bytes", 12_000);
        HttpServer small = nowServer(Duration.ofSeconds(30), budget);
        int smallPort = small.addresses().get(0).getPort();
        byte[] manyHeaders = new byte[50];
        java.util.Arrays.fill(manyHeaders, (byte) 0x90); // accept-encoding: gzip, deflate (HPACK's static entry 16)
        byte[] blockStart = concat(GET_NOW, manyHeaders); // pseudo-headers first, as HTTP/2 requires
        long cost = RequestHeads.blockCost(blockStart.length, 4096) - RequestHeads.FREE_COST;
        assertEquals(9130, cost);
        // The holder turns to HTTP/2 on its second request, by a PRI head with a header, which
        // Undertow takes for HTTP/2 on any request as it does the exact preface on the first.
        byte[] holderOpening = concat("PRI * HTTP/2.0\r\nX-Any: b\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                frame(0x4, 0, new byte[0]), frame(0x1, 0x1, blockStart));
        byte[] opening = concat(PREFACE, frame(0x4, 0, new byte[0]), frame(0x1, 0x1, blockStart));
        try (Socket holder = new Socket("127.0.0.1", smallPort); Socket refused = new Socket("127.0.0.1", smallPort);
             Socket other = new Socket("127.0.0.1", smallPort)) {
            holder.setSoTimeout(10_000);
            refused.setSoTimeout(10_000);
            other.setSoTimeout(10_000);
            holder.getOutputStream().write("GET /now HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", answer(holder.getInputStream()));
            holder.getOutputStream().write(holderOpening);
            await(() -> budget.used() == cost, "the open block took no room: " + budget.used());
            // The refused one sends its preface pipelined behind an HTTP/1.1 request, in one write.
            refused.getOutputStream().write(concat("GET /now HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII), opening));
            // Closed without an answer; what the server sent before (its SETTINGS) may come first.
            InputStream in = refused.getInputStream();
            try {
                while (in.read() >= 0) {
                    // until the end
                }
            } catch (java.net.SocketException reset) {
                // closed with our bytes unread: also an end
            }
            assertEquals(cost, budget.used(), "the refused block took nothing");
            // HTTP/1.1 heads that arrive whole are served meanwhile.
            other.getOutputStream().write("GET /now HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("HTTP/1.1 200 OK {\"now\":true}", answer(other.getInputStream()));
            // The holder ends its block: its room is given back.
            holder.getOutputStream().write(frame(0x9, 0x4, new byte[] {(byte) 0x90})); // one more field, END_HEADERS
            assertEquals(200, responseStatus(holder.getInputStream()), "the holder's request was served");
            await(() -> budget.used() == 0, "the ended block kept its room: " + budget.used());
        } finally {
            small.close();
        }
        await(() -> budget.used() == 0, "room kept after the connections closed: " + budget.used());
    }

    @Test
    void anHttp2HeaderBlockStillInProgressAfterTheHeaderTimeoutClosesItsConnectionAlone() throws Exception {
        // request.header.timeout.ms of 1 s: a block that ends in time is served, and its connection
        // is served again after that time; one left open is closed.
        MemoryBudget budget = new MemoryBudget("memory.heads.max.bytes", 100_000);
        HttpServer timed = nowServer(Duration.ofSeconds(1), budget);
        int timedPort = timed.addresses().get(0).getPort();
        byte[] opening = concat(PREFACE, frame(0x4, 0, new byte[0]),
                frame(0x1, 0x1, java.util.Arrays.copyOf(GET_NOW, 8))); // END_STREAM, no END_HEADERS
        try (Socket stuck = new Socket("127.0.0.1", timedPort); Socket ended = new Socket("127.0.0.1", timedPort)) {
            stuck.setSoTimeout(10_000);
            ended.setSoTimeout(10_000);
            stuck.getOutputStream().write(opening);
            ended.getOutputStream().write(opening);
            Thread.sleep(200); // most likely read apart: the block is in progress after a read, and timed
            ended.getOutputStream().write(frame(0x9, 0x4, java.util.Arrays.copyOfRange(GET_NOW, 8, GET_NOW.length)));
            assertEquals(200, responseStatus(ended.getInputStream()));
            InputStream in = stuck.getInputStream();
            try {
                while (in.read() >= 0) {
                    // the server's SETTINGS, then the end
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("a header block left open kept its connection", e);
            } catch (java.net.SocketException reset) {
                // closed with our bytes unread: also an end
            }
            Thread.sleep(500); // past the time the ended block would have had too
            byte[] again = frame(0x1, 0x5, GET_NOW); // a whole block, on stream 3
            again[8] = 3;
            ended.getOutputStream().write(again);
            assertEquals(200, responseStatus(ended.getInputStream()), "the connection whose block ended is served");
        } finally {
            timed.close();
        }
        await(() -> budget.used() == 0, "room kept after the connections closed: " + budget.used());
    }

    @Test
    void anHttp2HeaderFrameAnnouncingMoreThanTheLargestFrameClosesItsConnectionAtOnce() throws Exception {
        try (Socket socket = connect()) {
            byte[] header = frame(0x1, 0x4, new byte[0]);
            header[0] = 0;
            header[1] = (byte) (20_000 >>> 8); // 20,000 bytes announced, more than the 16,384 allowed
            header[2] = (byte) 20_000;
            socket.getOutputStream().write(concat(PREFACE, frame(0x4, 0, new byte[0]), header, GET_NOW));
            InputStream in = socket.getInputStream();
            try {
                while (in.read() >= 0) {
                    // the server's SETTINGS, then the end, long before the 20,000 bytes
                }
            } catch (java.net.SocketException reset) {
                // closed with our bytes unread: also an end
            }
        }
        assertEquals(0, HEADS.used());
    }

    @Test
    void aPriHeadOfAnotherVersionIsServedAsHttp1AndTheHeadsAfterItAreCountedStill() throws Exception {
        try (Socket socket = connect()) {
            write(socket, "PRI /now HTTP/1.1\r\nHost: localhost\r\n\r\n");
            String answer = answer(socket.getInputStream());
            assertTrue(answer.startsWith("HTTP/1.1 405"), answer);
            write(socket, unfinishedHead(10_000));
            await(() -> HEADS.used() > 15_000, "the next unfinished head took no room: " + HEADS.used());
        }
    }

    @Test
    void theScanTellsTheHeadsUndertowTakesForHttp2() {
        RequestHeads.Scan scan = new RequestHeads.Scan();
        for (String head : new String[] {"PRI * HTTP/2.0\r\n\r\n", "pri * http/2.0\r\n\r\n",
                "\r\nPRI /x HTTP/2.0\r\nA: b\r\n\r\n", "PRI * HTTP/2.0\n\n"}) {
            scan.reset();
            for (int i = 0; i < head.length(); i++) { // a byte at a time
                feed(scan, head.substring(i, i + 1));
            }
            assertTrue(scan.http2(), head);
        }
        for (String head : new String[] {"PRI * HTTP/1.1\r\n\r\n", "GET /PRI HTTP/2.0\r\n\r\n",
                "PRIX * HTTP/2.0\r\n\r\n", "GET / HTTP/1.1\r\nPRI: HTTP/2.0\r\n\r\n", "PR * HTTP/2.0\r\n\r\n"}) {
            scan.reset();
            assertTrue(feed(scan, head));
            assertFalse(scan.http2(), head);
        }
    }

    private static boolean feed(RequestHeads.Scan scan, String text) {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        return scan.feed(b, 0, b.limit());
    }
}
