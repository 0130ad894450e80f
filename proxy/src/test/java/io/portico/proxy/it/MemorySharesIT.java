package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.SseClient;
import io.portico.proxy.testing.TestPortico;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * One API key holds at most half of the consumers budget: its event streams of partitions (each
 * a Kafka consumer of its own) cannot take the room another key's streams and consumer instances
 * need.
 */
@ExtendWith(PorticoExtension.class)
class MemorySharesIT {
    private static final String KEY_A = "a-" + UUID.randomUUID();
    private static final String KEY_B = "b-" + UUID.randomUUID();
    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void oneKeysPartitionStreamsTakeAtMostHalfTheConsumersBudget(KafkaCluster kafka, @TempDir Path dir)
            throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("shares"), 1);
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"a\",\"key\":\"" + KEY_A + "\",\"role\":\"reader\",\"topics\":[\"*\"]},"
                + "{\"name\":\"b\",\"key\":\"" + KEY_B + "\",\"role\":\"reader\",\"topics\":[\"*\"]}]}");
        // A partition stream's consumer costs 1 MiB (256 KiB and two fetches of 384 KiB): the
        // budget holds four, a key's half two.
        try (TestPortico portico = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "memory.consumers.max.bytes", String.valueOf(4 << 20),
                "consumer.instances.max", "4"))) {
            Rest rest = portico.rest();
            String stream = "/topics/" + topic + "/partitions/0/messages?offset=0";
            List<SseClient> open = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    SseClient a = SseClient.open(rest.uri(stream), "Authorization", "Bearer " + KEY_A);
                    open.add(a);
                    assertEquals(200, a.status(), a.errorBody());
                }
                SseClient third = SseClient.open(rest.uri(stream), "Authorization", "Bearer " + KEY_A);
                open.add(third);
                assertEquals(429, third.status(), "a key's third stream is past its share");
                assertTrue(third.errorBody().contains("memory.consumers.max.bytes"), third.errorBody());

                // The other key still gets its streams and its consumer instance.
                SseClient b = SseClient.open(rest.uri(stream), "Authorization", "Bearer " + KEY_B);
                open.add(b);
                assertEquals(200, b.status(), b.errorBody());
                Rest.Response created = rest.post("/consumers/" + KafkaCluster.uniqueTopic("shares-group"),
                        "application/vnd.kafka.v1+json", "{\"name\":\"b1\",\"format\":\"binary\"}",
                        "Authorization", "Bearer " + KEY_B);
                assertEquals(200, created.status(), created.body());

                // A stream of the first key that ends gives its room back.
                open.get(0).close();
                SseClient again = null;
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (System.nanoTime() < deadline) {
                    again = SseClient.open(rest.uri(stream), "Authorization", "Bearer " + KEY_A);
                    open.add(again);
                    if (again.status() == 200) {
                        break;
                    }
                    Thread.sleep(50);
                }
                assertEquals(200, again.status(), "the key's room came back when its stream ended");
            } finally {
                open.forEach(SseClient::close);
            }
        }
    }

    @Test
    void oneKeysUnreadStreamsHoldAtMostHalfTheResponsesBudget(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("unread"), 1);
        byte[] value = new byte[100_000];
        java.util.Arrays.fill(value, (byte) 'x');
        for (int i = 0; i < 400; i++) { // 40 MB: more than the sockets' buffers take in
            kafka.produce(topic, 0, null, value);
        }
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"a\",\"key\":\"" + KEY_A + "\",\"role\":\"reader\",\"topics\":[\"*\"]},"
                + "{\"name\":\"b\",\"key\":\"" + KEY_B + "\",\"role\":\"reader\",\"topics\":[\"*\"]}]}");
        try (TestPortico portico = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "memory.responses.max.bytes", String.valueOf(8 << 20)))) {
            Rest rest = portico.rest();
            List<java.net.Socket> unread = new ArrayList<>();
            try {
                // Four streams whose client reads nothing: their batches wait to be written.
                for (int i = 0; i < 4; i++) {
                    java.net.Socket socket = new java.net.Socket(rest.base().getHost(), rest.base().getPort());
                    unread.add(socket);
                    socket.getOutputStream().write(("GET /topics/" + topic + "/partitions/0/messages?offset=0 HTTP/1.1\r\n"
                            + "Host: localhost\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + KEY_A
                            + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    socket.getOutputStream().flush();
                }
                long half = 4L << 20;
                long deadline = System.nanoTime() + WAIT.toNanos();
                long used = 0;
                while (used < half / 2 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                    used = responsesUsed(rest);
                }
                assertTrue(used >= half / 2, "the unread streams hold answers: " + used);
                // However long they stay unread, they hold no more than the key's half.
                for (int i = 0; i < 20; i++) {
                    used = responsesUsed(rest);
                    assertTrue(used <= half, "one key's unread streams hold " + used + " of " + (8 << 20));
                    Thread.sleep(50);
                }
                // The other key's read is answered, from the other half.
                Rest.Response read = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&count=5",
                        "Accept", "application/vnd.kafka.binary.v1+json", "Authorization", "Bearer " + KEY_B);
                assertEquals(200, read.status(), read.body());
                assertEquals(5, read.json().size());
            } finally {
                for (java.net.Socket socket : unread) {
                    socket.close();
                }
            }
        }
    }

    private static long responsesUsed(Rest rest) {
        Rest.Response metrics = rest.get("/metrics", "Authorization", "Bearer " + KEY_B);
        assertEquals(200, metrics.status(), metrics.body());
        return metrics.json().get("gauges").get("portico.memory.responses.used").get("value").asLong();
    }

    @Test
    void oneKeysSlowBodiesHoldAtMostHalfTheRequestsBudget(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("shares-bodies"), 1);
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"a\",\"key\":\"" + KEY_A + "\",\"role\":\"writer\",\"topics\":[\"*\"]},"
                + "{\"name\":\"b\",\"key\":\"" + KEY_B + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}");
        // 4 MiB, a body byte counting twice: a key's half holds 1 MiB of bodies.
        try (TestPortico portico = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "memory.requests.max.bytes", String.valueOf(4 << 20),
                "memory.wait.ms", "5000"))) {
            Rest rest = portico.rest();
            String path = "/topics/" + topic;
            List<java.net.Socket> slow = new ArrayList<>();
            try {
                // The first key sends three bodies of 650 KB each but their last bytes, and stalls.
                byte[] body = body(650_000);
                for (int i = 0; i < 3; i++) {
                    java.net.Socket socket = new java.net.Socket(rest.base().getHost(), rest.base().getPort());
                    slow.add(socket);
                    socket.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                            + KEY_A + "\r\nContent-Type: application/vnd.kafka.binary.v1+json\r\nContent-Length: "
                            + body.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    socket.getOutputStream().write(body, 0, body.length - 10);
                    socket.getOutputStream().flush();
                }
                com.codahale.metrics.Gauge<?> used = portico.portico().metrics().getGauges().get("portico.memory.requests.used");
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (((Number) used.getValue()).longValue() < 2_000_000 && System.nanoTime() < deadline) {
                    Thread.sleep(10); // until the first key holds its half
                }
                assertTrue(((Number) used.getValue()).longValue() >= 2_000_000, "the slow bodies are read: " + used.getValue());
                // The other key's body (600 KB counted) finds the room the first key's share leaves.
                Rest.Response other = rest.post(path, "application/vnd.kafka.binary.v1+json",
                        new String(body(300_000), java.nio.charset.StandardCharsets.US_ASCII), "Authorization", "Bearer " + KEY_B);
                assertEquals(200, other.status(), other.body());
            } finally {
                for (java.net.Socket socket : slow) {
                    socket.close();
                }
            }
        }
    }

    /** A v1 binary produce body of about {@code bytes} bytes: one record. */
    private static byte[] body(int bytes) {
        String value = java.util.Base64.getEncoder().encodeToString(new byte[bytes * 3 / 4 - 40]);
        return ("{\"records\":[{\"value\":\"" + value + "\"}]}").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    @Test
    void callersLetInWithoutCredentialsAreOneOwnerHeldToAKeysShare(KafkaCluster kafka, @TempDir Path dir)
            throws Exception {
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"a\",\"key\":\"" + KEY_A + "\",\"role\":\"reader\",\"topics\":[\"*\"]}]}");
        String group = KafkaCluster.uniqueTopic("open-group");
        try (TestPortico portico = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "authentication.skip.paths", "/consumers/" + group + "/*",
                "consumer.instances.per.key.max", "2"))) {
            Rest rest = portico.rest();
            String v2 = "application/vnd.kafka.v2+json";
            for (int i = 0; i < 2; i++) {
                Rest.Response created = rest.post("/consumers/" + group, v2, "{\"name\":\"open" + i + "\"}");
                assertEquals(200, created.status(), created.body());
            }
            Rest.Response third = rest.post("/consumers/" + group, v2, "{\"name\":\"open2\"}");
            assertEquals(429, third.status(), "callers without credentials hold a key's share together: " + third.body());
            assertTrue(third.body().contains("consumer.instances.per.key.max"), third.body());

            // A key still has its own share.
            Rest.Response keyed = rest.post("/consumers/" + KafkaCluster.uniqueTopic("keyed-group"), v2,
                    "{\"name\":\"keyed\"}", "Authorization", "Bearer " + KEY_A);
            assertEquals(200, keyed.status(), keyed.body());
            Rest.Response own = rest.get("/consumers/" + group + "/instances/open0/subscription", "Accept", v2);
            assertEquals(200, own.status(), "one caller without credentials uses another's instance: " + own.body());

            // Deleting one gives the place back (once its consumer is closed).
            assertEquals(204, rest.delete("/consumers/" + group + "/instances/open1").status());
            Rest.Response again = null;
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                again = rest.post("/consumers/" + group, v2, "{\"name\":\"open3\"}");
                if (again.status() != 429) {
                    break;
                }
                Thread.sleep(50);
            }
            assertEquals(200, again.status(), again.body());
        }
    }
}
