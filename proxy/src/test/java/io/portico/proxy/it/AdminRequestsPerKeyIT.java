package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code admin.requests.per.key.max} on a real Portico and broker: an API key with its most admin
 * requests in progress is answered 429 with {@code Retry-After} on every admin route, while its
 * produce, another key's admin requests and {@code /ready} are served; its places come back when
 * its requests end, a failed one (404) included. A request is kept in progress without timing: a
 * v3 config change sent with {@code Expect: 100-continue} whose body is held back — the
 * {@code 100 Continue} tells that its handler runs (past the cap), and it ends when the body is sent.
 */
@ExtendWith(PorticoExtension.class)
class AdminRequestsPerKeyIT {
    private static final String BUSY = "busy-" + UUID.randomUUID();
    private static final String OTHER = "other-" + UUID.randomUUID();
    private static final byte[] ALTER = "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"100000\"}]}"
            .getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private static String[] bearer(String key) {
        return new String[] {"Authorization", "Bearer " + key};
    }

    private static void assertRefused(Rest.Response r) {
        assertEquals(429, r.status(), r.body());
        assertEquals("1", r.header("Retry-After"), r.body());
        JsonNode body = r.json();
        assertEquals(429, body.get("error_code").asInt(), r.body());
        assertTrue(body.get("message").asText().contains("admin.requests.per.key.max"), r.body());
    }

    /** Sends a config change's headers and waits for its 100 Continue: the request is in progress. */
    private static Socket heldAlter(Rest rest, String path, String key) throws IOException {
        Socket socket = new Socket(rest.base().getHost(), rest.base().getPort());
        socket.setSoTimeout(60_000);
        socket.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + "Content-Type: application/json\r\nExpect: 100-continue\r\nAuthorization: Bearer " + key
                + "\r\nContent-Length: " + ALTER.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        String interim = readHead(socket.getInputStream());
        assertTrue(interim.startsWith("HTTP/1.1 100"), interim);
        return socket;
    }

    /** An answer's head, to its blank line, read a byte at a time (the body stays to be read). */
    static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        return head.toString();
    }

    /**
     * Sends the held body and reads the answer to its end: the connection closes after the
     * exchange completed, so its place is back by then.
     */
    private static String finish(Socket socket) throws IOException {
        try (socket) {
            socket.getOutputStream().write(ALTER);
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aKeyWithItsMostRequestsInProgressIs429UntilOneEndsWhileAnotherKeyIsServed(KafkaCluster cluster) throws Exception {
        // requests.per.key.max: a key whose bodies arrive slowly (held back here) cannot take
        // every place of max.concurrent.requests from the others.
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"busy\",\"key\":\"" + BUSY + "\",\"role\":\"manager\",\"topics\":[\"*\"]},"
                + "{\"name\":\"other\",\"key\":\"" + OTHER + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}");
        String topic = cluster.createTopic(KafkaCluster.uniqueTopic("request-share"), 1);
        String missing = KafkaCluster.uniqueTopic("request-share-missing");
        String v3 = "/v3/clusters/" + cluster.admin().describeCluster().clusterId().get();
        String records = "{\"records\":[{\"value\":\"YQ==\"}]}";
        try (TestPortico portico = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "requests.per.key.max", "2"))) {
            Rest rest = portico.rest();
            Socket first = heldAlter(rest, v3 + "/topics/" + missing + "/configs:alter", BUSY);
            Socket second = heldAlter(rest, v3 + "/topics/" + missing + "/configs:alter", BUSY);

            Rest.Response refused = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v2+json", records, bearer(BUSY));
            assertEquals(429, refused.status(), refused.body());
            assertEquals("1", refused.header("Retry-After"), refused.body());
            assertTrue(refused.json().get("message").asText().contains("requests.per.key.max"), refused.body());
            Rest.Response others = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v2+json", records, bearer(OTHER));
            assertEquals(200, others.status(), "another key is served: " + others.body());

            assertTrue(finish(first).startsWith("HTTP/1.1 404"));
            Rest.Response again = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v2+json", records, bearer(BUSY));
            assertEquals(200, again.status(), "the ended request gave its place back: " + again.body());
            assertTrue(finish(second).startsWith("HTTP/1.1 404"));
        }
    }

    @Test
    void aKeyWithItsMostAdminRequestsInProgressIs429UntilTheyEnd(KafkaCluster cluster) throws Exception {
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"busy\",\"key\":\"" + BUSY + "\",\"role\":\"manager\",\"topics\":[\"*\"]},"
                + "{\"name\":\"other\",\"key\":\"" + OTHER + "\",\"role\":\"reader\",\"topics\":[\"*\"]}]}");
        String topic = cluster.createTopic(KafkaCluster.uniqueTopic("admin-share"), 1);
        String missing = KafkaCluster.uniqueTopic("admin-share-missing");
        String v3 = "/v3/clusters/" + cluster.admin().describeCluster().clusterId().get();
        try (TestPortico portico = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "admin.requests.per.key.max", "2"))) {
            Rest rest = portico.rest();
            Socket first = heldAlter(rest, v3 + "/topics/" + missing + "/configs:alter", BUSY);
            Socket second = heldAlter(rest, v3 + "/topics/" + missing + "/configs:alter", BUSY);

            assertRefused(rest.get(v3 + "/topics", bearer(BUSY)));
            assertRefused(rest.get(v3 + "/consumer-groups", bearer(BUSY)));
            assertRefused(rest.get("/topics", bearer(BUSY)));
            assertRefused(rest.get("/topics/" + topic + "/partitions", bearer(BUSY)));
            assertRefused(rest.get("/admin/topics", bearer(BUSY)));
            Rest.Response produced = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v2+json",
                    "{\"records\":[{\"value\":\"YQ==\"}]}", bearer(BUSY));
            assertEquals(200, produced.status(), "produce is not an admin request: " + produced.body());

            Rest.Response others = rest.get(v3 + "/topics", bearer(OTHER));
            assertEquals(200, others.status(), "another key's admin requests are served: " + others.body());
            assertEquals(200, rest.get("/topics", bearer(OTHER)).status());
            assertEquals(200, rest.get(v3 + "/consumer-groups", bearer(OTHER)).status());
            assertEquals(200, rest.get("/ready").status());

            String failed = finish(first);
            assertTrue(failed.startsWith("HTTP/1.1 404"), "a failed request: " + failed);
            Rest.Response again = rest.get(v3 + "/topics", bearer(BUSY));
            assertEquals(200, again.status(), "the failed request gave its place back: " + again.body());

            String alsoFailed = finish(second);
            assertTrue(alsoFailed.startsWith("HTTP/1.1 404"), alsoFailed);
            // One after the other: each gives its place back, so none is ever the third in progress.
            for (int i = 0; i < 3; i++) {
                assertEquals(200, rest.get(v3 + "/topics", bearer(BUSY)).status(), "request " + i);
                assertEquals(200, rest.get("/topics/" + topic, bearer(BUSY)).status(), "request " + i);
                assertEquals(404, rest.get(v3 + "/topics/" + missing, bearer(BUSY)).status(), "request " + i);
                assertEquals(404, rest.get("/admin/topics/" + missing, bearer(BUSY)).status(), "request " + i);
            }
        }
    }
}
