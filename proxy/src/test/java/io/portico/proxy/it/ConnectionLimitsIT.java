package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Connections that hold a server's resources without finishing a request: each is timed out or
 * turned away, with a JSON answer where HTTP allows one, and other clients are still served.
 * The timeouts are set short here; the tests wait for the server's answer, never for a duration.
 */
@ExtendWith(PorticoExtension.class)
class ConnectionLimitsIT {
    /** Long enough for any answer the server owes, even on a slow machine. */
    private static final int READ_TIMEOUT_MS = 60_000;

    private static Socket connect(Rest rest) throws IOException {
        URI base = rest.base();
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(base.getHost(), base.getPort()), 10_000);
        socket.setSoTimeout(READ_TIMEOUT_MS);
        return socket;
    }

    /** Everything the server sends until it closes the connection. */
    private static String readUntilClosed(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        try {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                out.write(buffer, 0, n);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server neither answered nor closed within " + READ_TIMEOUT_MS + " ms: "
                    + out.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // a reset after the answer counts as closed
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static void send(Socket socket, String text) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static void assertServes(Rest rest) {
        Rest.Response r = rest.get("/topics");
        assertEquals(200, r.status(), r.body());
    }

    @Test
    void aRequestWithALargeHeadIsAnsweredThenItsConnectionClosed(KafkaCluster kafka) throws Exception {
        // The parser's buffers grow to the largest head a connection sent and stay for its life.
        // Idle connections are kept far longer than the read waits: only the large head closes it.
        try (TestPortico p = TestPortico.start(kafka, Map.of("connections.idle.timeout.ms", "600000"));
             Socket socket = connect(p.rest())) {
            send(socket, "GET /small-" + "a".repeat(1000) + " HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /large-" + "a".repeat(17 * 1024) + " HTTP/1.1\r\nHost: x\r\n\r\n");
            String answers = readUntilClosed(socket);
            assertEquals(2, answers.split("HTTP/1.1 404", -1).length - 1, "both answered, the small one kept it open: "
                    + answers.substring(0, Math.min(answers.length(), 2000)));
            assertServes(p.rest());
        }
        try (TestPortico p = TestPortico.start(kafka, Map.of("connections.idle.timeout.ms", "600000"));
             Socket socket = connect(p.rest())) { // HTTP/1.0 asking to keep the connection: the same
            send(socket, "GET /large-" + "a".repeat(17 * 1024) + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            String answer = readUntilClosed(socket);
            assertTrue(answer.startsWith("HTTP/1.0 404"), answer.substring(0, Math.min(answer.length(), 200)));
        }
    }

    @Test
    void aConnectionThatNeverSendsARequestIsClosed(KafkaCluster kafka) throws Exception {
        // Also the window in which the final request, on a new connection, must reach the server.
        try (TestPortico p = TestPortico.start(kafka, Map.of("connections.idle.timeout.ms", "2000"));
             Socket idle = connect(p.rest())) {
            assertEquals("", readUntilClosed(idle));
            assertServes(p.rest());
        }
    }

    @Test
    void aBodyDeclaredAndNeverSentDoesNotKeepItsRequestInProgressAfterTheAnswer(KafkaCluster kafka) throws Exception {
        // Answered without reading the body (a GET declaring one): the rest gets a short linger,
        // then the connection closes and the request no longer counts among those in progress.
        try (TestPortico p = TestPortico.start(kafka, Map.of("max.concurrent.requests", "2",
                "requests.per.address.max", "2", "connections.idle.timeout.ms", "600000"));
             Socket first = connect(p.rest());
             Socket second = connect(p.rest())) {
            for (Socket s : List.of(first, second)) {
                send(s, "GET /topics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
            }
            for (Socket s : List.of(first, second)) {
                String answer = readUntilClosed(s);
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            }
            for (int i = 0; i < 3; i++) {
                assertServes(p.rest());
            }
        }
    }

    @Test
    void anHttp2PrefaceWithoutARequestIsClosed(KafkaCluster kafka) throws Exception {
        // Also the window in which the final request, on a new connection, must reach the server.
        try (TestPortico p = TestPortico.start(kafka, Map.of("connections.idle.timeout.ms", "2000"));
             Socket half = connect(p.rest());
             Socket settings = connect(p.rest())) {
            send(half, "PRI * HTTP/2.0\r\n\r\n");
            // The whole preface and an empty SETTINGS frame, then nothing.
            send(settings, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\u0004\0\0\0\0\0");
            readUntilClosed(half);
            readUntilClosed(settings);
            assertServes(p.rest());
        }
    }

    @Test
    void headsArrivingSlowlyShareABudgetAndOneThatFindsNoRoomIs503WhileOthersAreServed(KafkaCluster kafka)
            throws Exception {
        // 64 KiB: an unfinished head of 20,038 bytes takes 38.5 KB of it (twice its bytes and 160
        // a line, past the free 2 KiB), and one of 15,038 (read at once) would take 28.5 KB more.
        try (TestPortico p = TestPortico.start(kafka, Map.of("memory.heads.max.bytes", "65536",
                "request.headers.max.bytes", "21000", "connections.idle.timeout.ms", "600000"));
             Socket holder = connect(p.rest()); Socket refused = connect(p.rest())) {
            String head = "GET /topics HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(15_000);
            send(holder, head + "a".repeat(5_000));
            long used = 0;
            for (int i = 0; i < 1000 && used < 35_000; i++) {
                Thread.sleep(10);
                used = p.rest().get("/metrics").json().path("gauges").path("portico.memory.heads.used").path("value").asLong();
            }
            assertTrue(used >= 35_000, "the unfinished head took no room in memory.heads.max.bytes: " + used);
            send(refused, head);
            String answer = readUntilClosed(refused);
            assertTrue(answer.startsWith("HTTP/1.1 503 ") && answer.contains("memory.heads.max.bytes"), answer);
            assertServes(p.rest());
            send(holder, "\r\n\r\n");
            String held = readUntilClosed(holder); // a head over 16 KiB: answered, then closed
            assertTrue(held.startsWith("HTTP/1.1 200 "), held);
        }
    }

    @Test
    void aRequestWhoseHeadersNeverEndIsClosed(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.header.timeout.ms", "300",
                "connections.idle.timeout.ms", "600000"));
             Socket slow = connect(p.rest())) {
            send(slow, "GET /topics HTTP/1.1\r\nHost: x\r\nX-Slow: a");
            assertEquals("", readUntilClosed(slow));
            assertServes(p.rest());
        }
    }

    @Test
    void aBodyThatStopsArrivingGets408(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.timeout.ms", "300"));
             Socket slow = connect(p.rest())) {
            send(slow, "POST /topics/t HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.kafka.binary.v1+json\r\n"
                    + "Content-Length: 16777216\r\n\r\n{");
            String answer = readUntilClosed(slow);
            assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
            assertTrue(answer.contains("\"error_code\":408"), answer);
            assertTrue(answer.contains("request.body.timeout.ms"), answer);
            assertServes(p.rest());
        }
    }

    @Test
    void aBodyThatTricklesGets408(KafkaCluster kafka) throws Exception {
        // The rate check fires at the timeout; a byte every 100 ms keeps the body far from idle for it.
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.timeout.ms", "2000"));
             Socket slow = connect(p.rest())) {
            send(slow, "POST /topics/t HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.kafka.binary.v1+json\r\n"
                    + "Content-Length: 1000000\r\n\r\n{");
            Thread trickle = new Thread(() -> {
                try {
                    while (true) {
                        Thread.sleep(100); // never idle for the timeout, far below the minimum rate
                        send(slow, " ");
                    }
                } catch (IOException | InterruptedException e) {
                    // closed by the server, or the test is over
                }
            });
            trickle.setDaemon(true);
            trickle.start();
            String answer = readUntilClosed(slow);
            trickle.interrupt();
            assertTrue(answer.startsWith("HTTP/1.1 408"), answer);
            assertTrue(answer.contains("KiB/s"), answer);
            assertServes(p.rest());
        }
    }

    @Test
    void connectionsBeyondTheCapAreTurnedAwayWith503(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("connections.max", "4",
                "connections.per.address.max", "4", "connections.idle.timeout.ms", "600000"))) {
            List<Socket> held = new ArrayList<>();
            try {
                holdServed(held, 4, () -> connect(p.rest()));
                turnedAway(p.rest());
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            // The cap counts open connections: once they are closed, new ones are served.
            Rest.Response r = null;
            for (int attempt = 0; attempt < 200 && (r == null || r.status() != 200); attempt++) {
                try {
                    r = new Rest(p.rest().base(), Rest.client(javax.net.ssl.SSLContext.getDefault())).get("/topics");
                } catch (java.io.UncheckedIOException e) {
                    r = null;
                }
                if (r == null || r.status() != 200) {
                    Thread.sleep(50); // the server may not have seen the closes yet
                }
            }
            assertTrue(r != null && r.status() == 200, String.valueOf(r));
        }
    }

    @Test
    void oneAddressHoldsAtMostItsShareWhileOthersAreStillServed(KafkaCluster kafka) throws Exception {
        // connections.per.address.max not set: half of the cap, 2.
        try (TestPortico p = TestPortico.start(kafka, Map.of("connections.max", "4",
                "connections.idle.timeout.ms", "600000"))) {
            List<Socket> held = new ArrayList<>();
            try {
                holdServed(held, 2, () -> connect(p.rest()));
                String answer = turnedAway(p.rest());
                assertTrue(answer.contains("connections.per.address.max"), answer);
                // Another address (all of 127/8 is this host on Linux) still has places of the cap.
                holdServed(held, 2, () -> connectFrom("127.0.0.2", p.rest()));
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            // The share counts open connections: once the first address's are closed, it is served again.
            String answer = null;
            for (int attempt = 0; attempt < 200 && (answer == null || !answer.startsWith("HTTP/1.1 200")); attempt++) {
                try (Socket again = connect(p.rest())) {
                    send(again, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                    answer = readUntilClosed(again);
                } catch (IOException e) {
                    answer = null;
                }
                if (answer == null || !answer.startsWith("HTTP/1.1 200")) {
                    Thread.sleep(50); // the server may not have seen the closes yet
                }
            }
            assertTrue(answer != null && answer.startsWith("HTTP/1.1 200"), String.valueOf(answer));
        }
    }

    @Test
    void oneAddressHasAtMostItsShareOfTheRequestsInProgressWhileOthersAreStillServed(KafkaCluster kafka)
            throws Exception {
        // requests.per.address.max not set: half of max.concurrent.requests, 2. Held here by two
        // produces whose declared bodies never come (no API key needed: the share is taken before
        // routing and authentication).
        String secret = "connection-limits-node-secret";
        try (TestPortico p = TestPortico.start(kafka, Map.of("max.concurrent.requests", "4",
                "request.body.timeout.ms", "600000", "connections.idle.timeout.ms", "600000",
                "nodes.secret", secret, "nodes.topic", "__portico_nodes_limits_" + System.nanoTime()))) {
            Socket first = connect(p.rest());
            Socket second = connect(p.rest());
            for (Socket s : List.of(first, second)) {
                // Each in progress before the next request is sent: its 100 Continue tells that its
                // handler reads its body (past the address's share); requests racing them on other
                // connections could take the places first.
                send(s, "POST /topics/held HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.kafka.binary.v1+json\r\n"
                        + "Expect: 100-continue\r\nContent-Length: 100\r\n\r\n");
                String interim = AdminRequestsPerKeyIT.readHead(s.getInputStream());
                assertTrue(interim.startsWith("HTTP/1.1 100"), interim);
            }
            String answer = null;
            for (int attempt = 0; attempt < 200 && (answer == null || !answer.startsWith("HTTP/1.1 429")); attempt++) {
                answer = oneRequest(connect(p.rest()), "GET /nothing-here");
                if (!answer.startsWith("HTTP/1.1 429")) {
                    assertTrue(answer.startsWith("HTTP/1.1 404"), answer); // the holders not yet seen
                    Thread.sleep(50);
                }
            }
            assertTrue(answer.startsWith("HTTP/1.1 429"), answer);
            assertTrue(answer.contains("\"error_code\":429") && answer.contains("requests.per.address.max"), answer);
            assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("retry-after:"), answer);
            // Another address (all of 127/8 is this host on Linux) still has places of the cap.
            assertTrue(oneRequest(connectFrom("127.0.0.2", p.rest()), "GET /").startsWith("HTTP/1.1 200"));
            // A request another node relays (it carries the node secret) is not held to the
            // relaying node's address share: its caller was counted there.
            assertTrue(oneRequest(connect(p.rest()), "GET /", "Portico-Node-Secret: " + secret).startsWith("HTTP/1.1 200"));
            first.close();
            second.close();
            // The share counts requests in progress: once the first address's have ended, it is served again.
            for (int attempt = 0; attempt < 200 && !answer.startsWith("HTTP/1.1 200"); attempt++) {
                answer = oneRequest(connect(p.rest()), "GET /");
                if (!answer.startsWith("HTTP/1.1 200")) {
                    Thread.sleep(50); // the server may not have seen the closes yet
                }
            }
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
        }
    }

    /**
     * Sends {@code requestLine}'s request (with {@code headers}, each a whole line) on
     * {@code socket} asking it closed after, and returns the whole answer.
     */
    private static String oneRequest(Socket socket, String requestLine, String... headers) throws IOException {
        try (socket) {
            send(socket, requestLine + " HTTP/1.1\r\nHost: x\r\n" + String.join("", java.util.Arrays.stream(headers)
                    .map(h -> h + "\r\n").toList()) + "Connection: close\r\n\r\n");
            return readUntilClosed(socket);
        }
    }

    /** Opens {@code n} connections and has each served a request (proof the server has taken it), adding them to {@code held}. */
    private static void holdServed(List<Socket> held, int n, java.util.concurrent.Callable<Socket> open) throws Exception {
        for (int i = 0; i < n; i++) {
            Socket s = open.call();
            held.add(s);
            send(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assertTrue(readHead(s).startsWith("HTTP/1.1 200"));
        }
    }

    /** A new connection's answer: a 503 JSON error, then the connection closed. */
    private static String turnedAway(Rest rest) throws IOException {
        try (Socket extra = connect(rest)) {
            String answer = readUntilClosed(extra);
            assertTrue(answer.startsWith("HTTP/1.1 503"), answer);
            assertTrue(answer.contains("\"error_code\":503"), answer);
            return answer;
        }
    }

    private static Socket connectFrom(String localAddress, Rest rest) throws IOException {
        URI base = rest.base();
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(localAddress, 0));
        socket.connect(new InetSocketAddress(base.getHost(), base.getPort()), 10_000);
        socket.setSoTimeout(READ_TIMEOUT_MS);
        return socket;
    }

    /** Reads one response to a request without a body (headers and a small body) on a kept-alive connection. */
    private static String readHead(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        StringBuilder out = new StringBuilder();
        int contentLength = -1;
        while (!out.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            out.append((char) b);
        }
        for (String line : out.toString().split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                contentLength = Integer.parseInt(line.substring(15).trim());
            }
        }
        for (int i = 0; i < contentLength; i++) {
            out.append((char) in.read());
        }
        return out.toString();
    }

    @Test
    void anAnswerOnAConnectionLeftOpenSaysHowLongItMayIdle(Rest rest, KafkaCluster kafka) throws Exception {
        try (Socket socket = connect(rest)) {
            // Two requests at once (pipelined): the first leaves the connection open, the second closes it.
            send(socket, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            String answers = readUntilClosed(socket).toLowerCase(java.util.Locale.ROOT);
            int second = answers.indexOf("http/1.1 200", 1);
            assertTrue(answers.startsWith("http/1.1 200") && second > 0, answers);
            assertTrue(answers.substring(0, second).contains("\r\nkeep-alive: timeout=60\r\n"),
                    "the idle timeout (connections.idle.timeout.ms, 60 s) in whole seconds: " + answers);
            assertTrue(!answers.substring(second).contains("keep-alive:"), "a closing answer promises nothing: " + answers);
        }
        try (TestPortico p = TestPortico.start(kafka, Map.of("connections.idle.timeout.ms", "900"));
             Socket socket = connect(p.rest())) {
            send(socket, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            String answer = readUntilClosed(socket); // closed once idle
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            assertTrue(!answer.toLowerCase(java.util.Locale.ROOT).contains("keep-alive:"), "no hint under a second: " + answer);
        }
    }

    @Test
    void aRequestTheHttpParserRejectsGetsAJsonBody(Rest rest) throws Exception {
        try (Socket garbage = connect(rest)) {
            send(garbage, "NOT A REQUEST LINE\r\n\r\n");
            String answer = readUntilClosed(garbage);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("application/json"), answer);
            assertTrue(answer.contains("\"error_code\":400"), answer);
        }
        try (Socket huge = connect(rest)) {
            // Past the header limit the server answers 400 and closes while the client still writes,
            // so the client may see only the reset: what is checked is that the server ends it.
            try {
                send(huge, "GET /topics HTTP/1.1\r\nHost: x\r\nX-Huge: " + "h".repeat(2 << 20) + "\r\n\r\n");
            } catch (IOException e) {
                // closed by the server before the whole header was written
            }
            String answer = readUntilClosed(huge);
            assertTrue(answer.isEmpty() || answer.startsWith("HTTP/1.1 400"), answer);
        }
        assertServes(rest);
    }
}
