package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.RawHttp2;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestCerts;
import io.portico.proxy.testing.TestPortico;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 on every listener: h2c by upgrade (the JDK client's way) and by prior knowledge, h2 over
 * TLS by ALPN, a v3 produce stream over HTTP/2, and {@code http2.enabled=false} keeping HTTP/1.1.
 */
@ExtendWith(PorticoExtension.class)
class Http2IT {
    @TempDir
    static Path dir;

    private static HttpClient h2(javax.net.ssl.SSLContext tls) {
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
                .connectTimeout(Duration.ofSeconds(10));
        return tls == null ? b.build() : b.sslContext(tls).build();
    }

    private static HttpResponse<String> get(HttpClient client, URI uri) throws Exception {
        return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theJdkClientUpgradesToH2cAndStreamsAV3ProduceOverIt(Rest rest, KafkaCluster kafka) throws Exception {
        HttpClient client = h2(null);
        HttpResponse<String> root = get(client, rest.uri("/"));
        assertEquals(200, root.statusCode());
        assertEquals(HttpClient.Version.HTTP_2, root.version(), "h2c by upgrade");
        assertTrue(root.headers().firstValue("keep-alive").isEmpty(), "HTTP/2 forbids connection headers: " + root.headers());
        // Headers of up to request.headers.max.bytes (64 KiB) are taken over HTTP/2 as over HTTP/1.1.
        HttpResponse<String> large = client.send(HttpRequest.newBuilder(rest.uri("/")).timeout(Duration.ofSeconds(30))
                .header("X-Pad", "a".repeat(40_000)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, large.statusCode(), large.body());
        assertEquals(HttpClient.Version.HTTP_2, large.version());

        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("h2stream"), 1);
        String cluster = kafka.admin().describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            body.append("{\"value\":{\"type\":\"STRING\",\"data\":\"h").append(i).append("\"}}\n");
        }
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        HttpResponse<java.util.stream.Stream<String>> stream = client.send(HttpRequest.newBuilder(
                        rest.uri("/v3/clusters/" + cluster + "/topics/" + topic + "/records"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes))).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertEquals(HttpClient.Version.HTTP_2, stream.version());
        List<String> reports = stream.body().filter(l -> !l.isBlank()).collect(Collectors.toList());
        assertEquals(5000, reports.size());
        assertTrue(reports.stream().allMatch(r -> r.startsWith("{\"error_code\":200,")), reports.get(0));
        assertEquals(5000, kafka.read(topic, 5000).size());
    }

    @Test
    void aClientWithPriorKnowledgeGetsHttp2FromItsFirstBytes(Rest rest) throws Exception {
        try (Socket socket = new Socket(rest.base().getHost(), rest.base().getPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            byte[] header = new byte[9];
            in.readFully(header);
            assertEquals(4, header[3], "the server's first frame is its SETTINGS");
        }
    }

    /** Waits until Portico has no request in progress but the one asking (30 s at most). */
    private static void assertOnlyTheAskingRequestInProgress(TestPortico p) throws InterruptedException {
        int inFlight = -1;
        for (int i = 0; i < 300 && inFlight != 1; i++) {
            Thread.sleep(i == 0 ? 0 : 100);
            inFlight = p.rest().get("/metrics").json().get("gauges").get("portico.http.in.flight").get("value").asInt();
        }
        assertEquals(1, inFlight, "no request in progress but the one asking");
    }

    /**
     * A client that grants its connection no more window than the first 64 KiB: the stream that
     * waits for it is reset, and the connection, with nothing in progress, is closed when idle.
     */
    @Test
    void aClientThatGrantsItsConnectionNoWindowHasTheStreamResetAndTheConnectionClosedWhenIdle(KafkaCluster kafka)
            throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.timeout.ms", "500",
                "connections.idle.timeout.ms", "3000"));
             Socket socket = new Socket(p.rest().base().getHost(), p.rest().base().getPort())) {
            RawHttp2 h2 = RawHttp2.zeroWindow(socket);
            h2.get(1, "/openapi.json"); // about 170 KB: more than the connection's first window
            h2.grant(1, 1 << 20);
            boolean reset = false;
            try {
                while (true) {
                    RawHttp2.Frame f = h2.read();
                    assertTrue(f.stream() == 0 || f.stream() == 1, "frame of stream " + f.stream());
                    assertTrue(!f.endsStream(), "the whole answer sent: more than the connection's window");
                    reset |= f.type() == RawHttp2.Frame.RST_STREAM;
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("the connection stayed open (stream reset: " + reset + ")", e);
            } catch (java.io.EOFException | java.net.SocketException e) {
                // closed once idle
            }
            assertTrue(reset, "the stream was reset before its connection closed");
            assertOnlyTheAskingRequestInProgress(p);
            assertEquals(200, p.rest().get("/topics").status());
        }
    }

    /**
     * A client that opens more than twice the streams the connection's SETTINGS allowed has the
     * one past them answered 429 (Undertow only announces the bound; twice, for streams reset
     * but not ended yet): eight streams stay in progress (answers of 170 KB, granted no window),
     * the ninth is refused, its answer given a window.
     */
    @Test
    void aStreamPastTheAnnouncedMaximumIsRefused(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("http2.max.concurrent.streams", "4",
                "access.control.allow.origin", "https://app.example"));
             Socket socket = new Socket(p.rest().base().getHost(), p.rest().base().getPort())) {
            RawHttp2 h2 = RawHttp2.zeroWindow(socket);
            for (int stream = 1; stream <= 15; stream += 2) {
                h2.get(stream, "/openapi.json"); // never granted a window: in progress
            }
            h2.get(17, "/", "origin", "https://app.example");
            h2.grant(17, 65_535);
            StringBuilder body = new StringBuilder();
            // Every HEADERS frame is decoded, in order: HPACK's table is the connection's.
            io.undertow.protocols.http2.HpackDecoder hpack = new io.undertow.protocols.http2.HpackDecoder();
            Map<String, String> refused = new java.util.HashMap<>();
            while (true) {
                RawHttp2.Frame f = h2.read();
                assertTrue(f.type() != RawHttp2.Frame.GOAWAY, "GOAWAY: the connection is ended");
                if (f.type() == 1) {
                    hpack.setHeaderEmitter((name, value, neverIndex) -> {
                        if (f.stream() == 17) {
                            refused.put(name.toString(), value);
                        }
                    });
                    hpack.decode(java.nio.ByteBuffer.wrap(f.payload()), false);
                }
                if (f.stream() == 17 && f.type() == RawHttp2.Frame.DATA) {
                    body.append(new String(f.payload(), StandardCharsets.UTF_8));
                }
                if (f.stream() == 17 && f.endsStream()) {
                    break;
                }
            }
            assertEquals("429", refused.get(":status"), refused.toString());
            assertTrue(body.toString().contains("\"error_code\":429"), body.toString());
            assertTrue(body.toString().contains("http2.max.concurrent.streams"), body.toString());
            // Answered through the chain's edge, as any request: CORS headers, counted (and logged)
            assertEquals("https://app.example", refused.get("access-control-allow-origin"), refused.toString());
            com.fasterxml.jackson.databind.JsonNode meters = p.rest().get("/metrics").json().get("meters");
            assertEquals(1, meters.path("portico.http.responses.get.root.4xx").path("count").asLong(), meters.toString());
        }
    }

    /** A Portico of its own that resets a stream its client takes none of for half a second, and never closes idle connections. */
    private static TestPortico resettingAfterHalfASecond(KafkaCluster kafka) throws Exception {
        return TestPortico.start(kafka, Map.of("request.body.timeout.ms", "500", "connections.idle.timeout.ms", "600000"));
    }

    /**
     * Behind a proxy that multiplexes many clients over one HTTP/2 connection, a stream its client
     * reads nothing of is reset alone: the connection's other streams, before and after, are answered.
     */
    @Test
    void aStreamThatIsGrantedNoWindowIsResetAloneAndItsConnectionGoesOn(KafkaCluster kafka) throws Exception {
        try (TestPortico p = resettingAfterHalfASecond(kafka);
             Socket socket = new Socket(p.rest().base().getHost(), p.rest().base().getPort())) {
            RawHttp2 h2 = RawHttp2.zeroWindow(socket);
            h2.get(1, "/openapi.json"); // never granted a window
            h2.get(3, "/");
            h2.grant(3, 65_535);
            h2.grant(0, 1 << 20); // the connection's window: not what stalls stream 1
            java.util.Set<Integer> answered = new java.util.HashSet<>();
            boolean reset = false;
            try {
                while (!reset || !answered.contains(5)) {
                    RawHttp2.Frame f = h2.read();
                    if (f.endsStream()) {
                        answered.add(f.stream());
                    }
                    if (f.type() == RawHttp2.Frame.RST_STREAM) {
                        assertTrue(!reset, "one RST_STREAM (Undertow limits them per connection)");
                        assertEquals(1, f.stream(), "the stream reset");
                        reset = true;
                        h2.get(5, "/"); // the connection is still served
                        h2.grant(5, 65_535);
                    }
                    assertTrue(f.type() != RawHttp2.Frame.GOAWAY, "GOAWAY: the connection is ended");
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("stream 1 was not reset in time; answered: " + answered, e);
            } catch (java.io.EOFException | java.net.SocketException e) {
                throw new AssertionError("the connection was closed for one stream's stall; answered: " + answered, e);
            }
            assertEquals(java.util.Set.of(3, 5), answered, "the other streams' answers");
            assertOnlyTheAskingRequestInProgress(p);
        }
    }

    /**
     * A connection whose streams Portico has had to reset more than eight times is closed: each
     * reset stream's answer stays queued (its buffers held) until the connection closes.
     */
    @Test
    void aConnectionWithManyStreamsResetIsClosed(KafkaCluster kafka) throws Exception {
        try (TestPortico p = resettingAfterHalfASecond(kafka);
             Socket socket = new Socket(p.rest().base().getHost(), p.rest().base().getPort())) {
            RawHttp2 h2 = RawHttp2.zeroWindow(socket);
            for (int stream = 1; stream <= 17; stream += 2) { // nine streams, never granted a window
                h2.get(stream, "/openapi.json");
            }
            int resets = 0;
            try {
                while (true) {
                    RawHttp2.Frame f = h2.read();
                    resets += f.type() == RawHttp2.Frame.RST_STREAM ? 1 : 0;
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("the connection stayed open (" + resets + " streams reset)", e);
            } catch (java.io.EOFException | java.net.SocketException e) {
                // closed at the ninth reset
            }
            assertTrue(resets <= 8, resets + " streams reset before the connection closed");
            assertOnlyTheAskingRequestInProgress(p);
        }
    }

    /**
     * What reset streams keep queued until their connections close is charged (32 KiB a stream)
     * to a budget of a quarter of the responses budget's size (of 1 MiB: room for eight): a client
     * stalling eight streams on one connection after another has each connection closed when its
     * next one needs the room, so the charge never passes the quarter; closing the connections
     * gives it back.
     */
    @Test
    void resetStreamsOnManyConnectionsAreBoundedByTheResponsesBudget(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.timeout.ms", "500",
                "connections.idle.timeout.ms", "600000", "memory.responses.max.bytes", "1048576"))) {
            long before = resetAnswersUsed(p);
            List<Socket> sockets = new java.util.ArrayList<>();
            RawHttp2 previous = null;
            try {
                for (int c = 0; c < 4; c++) {
                    Socket socket = new Socket(p.rest().base().getHost(), p.rest().base().getPort());
                    sockets.add(socket);
                    RawHttp2 h2 = RawHttp2.zeroWindow(socket);
                    for (int stream = 1; stream <= 15; stream += 2) { // eight streams, never granted a window
                        h2.get(stream, "/");
                    }
                    int resets = 0;
                    try {
                        while (resets < 8) {
                            resets += h2.read().type() == RawHttp2.Frame.RST_STREAM ? 1 : 0;
                        }
                    } catch (java.net.SocketTimeoutException e) {
                        throw new AssertionError("connection " + c + ": " + resets + " of 8 streams reset in time", e);
                    } catch (java.io.EOFException | java.net.SocketException e) {
                        throw new AssertionError("connection " + c + " closed after " + resets + " resets", e);
                    }
                    if (previous != null) {
                        assertClosed(previous, "connection " + (c - 1) + ", closed to make room for connection " + c);
                    }
                    previous = h2;
                    assertEquals(8 * 32 * 1024L, resetAnswersUsed(p) - before, "the open connection's eight charged");
                }
            } finally {
                for (Socket socket : sockets) {
                    socket.close();
                }
            }
            long used = -1;
            for (int i = 0; i < 300 && used != before; i++) {
                Thread.sleep(i == 0 ? 0 : 100);
                used = resetAnswersUsed(p);
            }
            assertEquals(before, used, "given back once the connections closed");
            assertEquals(200, p.rest().get("/").status());
        }
    }

    private static void assertClosed(RawHttp2 h2, String what) throws java.io.IOException {
        try {
            while (true) {
                h2.read();
            }
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError(what + ": still open", e);
        } catch (java.io.EOFException | java.net.SocketException e) {
            // closed
        }
    }

    /**
     * A stream the client resets itself while its answer waits for a window leaves that answer
     * queued as one Portico resets does: its answer, still in progress, is reset by Portico when
     * it has made no progress for {@code request.body.timeout.ms}, and so charged as well.
     */
    @Test
    void streamsTheClientResetsWhileTheirAnswersWaitAreChargedToo(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.timeout.ms", "10000",
                "connections.idle.timeout.ms", "600000", "memory.responses.max.bytes", "1048576"))) {
            long before = resetAnswersUsed(p);
            try (Socket socket = new Socket(p.rest().base().getHost(), p.rest().base().getPort())) {
                RawHttp2 h2 = RawHttp2.zeroWindow(socket);
                long asked = System.nanoTime();
                for (int stream = 1; stream <= 15; stream += 2) { // eight streams, never granted a window
                    h2.get(stream, "/");
                }
                int inFlight = -1;
                for (int i = 0; i < 300 && inFlight != 9; i++) { // the eight in progress, and the one asking
                    Thread.sleep(i == 0 ? 0 : 100);
                    inFlight = p.rest().get("/metrics").json().get("gauges").get("portico.http.in.flight").get("value").asInt();
                }
                assertEquals(9, inFlight, "the eight streams' requests in progress");
                for (int stream = 1; stream <= 15; stream += 2) {
                    h2.reset(stream);
                }
                org.junit.jupiter.api.Assumptions.assumeTrue(System.nanoTime() - asked < TimeUnit.SECONDS.toNanos(9),
                        "the client's resets came before Portico's own (at 10 s) on this machine");
                long used = -1;
                for (int i = 0; i < 300 && used - before < 8 * 32 * 1024L; i++) {
                    Thread.sleep(i == 0 ? 0 : 100);
                    used = resetAnswersUsed(p);
                }
                assertEquals(8 * 32 * 1024L, used - before, "the eight answers the client's resets left queued");
            }
        }
    }

    /** What reset streams' queued answers are charged, in their budget of a quarter of the responses budget's size. */
    private static long resetAnswersUsed(TestPortico p) {
        return p.rest().get("/metrics").json().get("gauges").get("portico.memory.reset.answers.used").get("value").asLong();
    }

    /**
     * A GET that announces a body it never sends is answered, and then, its body still unread
     * after the linger, its stream is reset: the connection goes on.
     */
    @Test
    void aStreamWhoseBodyNeverComesIsResetAfterItsAnswerAndItsConnectionGoesOn(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("connections.idle.timeout.ms", "600000"));
             Socket socket = new Socket(p.rest().base().getHost(), p.rest().base().getPort())) {
            RawHttp2 h2 = RawHttp2.zeroWindow(socket);
            h2.get(1, "/", false); // a body announced, never sent
            h2.grant(1, 65_535);
            boolean answered = false;
            try {
                while (true) {
                    RawHttp2.Frame f = h2.read();
                    assertTrue(f.type() != RawHttp2.Frame.GOAWAY, "GOAWAY: the connection is ended");
                    answered |= f.stream() == 1 && f.endsStream();
                    if (f.type() == RawHttp2.Frame.RST_STREAM) {
                        assertEquals(1, f.stream(), "the stream reset");
                        break;
                    }
                }
                assertTrue(answered, "answered before its reset");
                h2.get(3, "/");
                h2.grant(3, 65_535);
                RawHttp2.Frame f;
                do {
                    f = h2.read();
                } while (!f.endsStream());
                assertEquals(3, f.stream());
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("no reset in time (answered: " + answered + ")", e);
            } catch (java.io.EOFException | java.net.SocketException e) {
                throw new AssertionError("the connection was closed for one stream's body (answered: " + answered + ")", e);
            }
            assertOnlyTheAskingRequestInProgress(p);
        }
    }

    @Test
    void h2OverTlsByAlpnAndHttp2CanBeTurnedOff(KafkaCluster kafka) throws Exception {
        TestCerts.Identity server = TestCerts.selfSigned(dir, "portico", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1");
        try (TestPortico tls = TestPortico.start(kafka, Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", server.pkcs12().toString(), "ssl.keystore.password", TestCerts.PASSWORD))) {
            URI base = tls.portico().listenerUrls().get(0);
            HttpResponse<String> r = get(h2(TestCerts.clientContext(server.certificate(), null)), base.resolve("/topics"));
            assertEquals(200, r.statusCode());
            assertEquals(HttpClient.Version.HTTP_2, r.version(), "h2 by ALPN");
        }
        try (TestPortico off = TestPortico.start(kafka, Map.of("http2.enabled", "false"))) {
            HttpResponse<String> r = get(h2(null), off.rest().uri("/"));
            assertEquals(200, r.statusCode());
            assertEquals(HttpClient.Version.HTTP_1_1, r.version(), "no upgrade when HTTP/2 is off");
        }
    }
}
