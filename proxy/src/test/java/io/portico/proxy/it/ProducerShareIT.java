package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.EmbeddedKafka;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One API key's records waiting for Kafka hold at most half the shared producer's buffer:
 * records sprayed over many partitions (a batch of the buffer each) while the cluster cannot
 * take them never leave another key's record without room (failed after {@code max.block.ms}).
 */
class ProducerShareIT {
    private static final String KEY_A = "a-" + UUID.randomUUID();
    private static final String KEY_B = "b-" + UUID.randomUUID();
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";
    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void aKeysWaitingRecordsOverManyPartitionsLeaveTheOtherHalfOfTheBufferToOthers(@TempDir Path dir) throws Exception {
        int brokerPort;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            brokerPort = free.getLocalPort();
        }
        Relay relay = new Relay(brokerPort);
        // Clients reach the broker through the relay, which the test can stop passing bytes on.
        EmbeddedKafka broker = EmbeddedKafka.start(Files.createDirectories(dir.resolve("kafka")),
                Map.of("advertised.listeners", "PLAINTEXT://127.0.0.1:" + relay.port()), brokerPort, 0);
        int partitions = 24;
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"a\",\"key\":\"" + KEY_A + "\",\"role\":\"writer\",\"topics\":[\"*\"]},"
                + "{\"name\":\"b\",\"key\":\"" + KEY_B + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}");
        KafkaCluster cluster = KafkaCluster.external("127.0.0.1:" + relay.port());
        // A 1 MiB buffer of 64 KiB batches: sixteen partitions' batches fill it, a key's half takes seven.
        TestPortico portico = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "producer.buffer.memory", String.valueOf(1 << 20),
                "producer.batch.size", String.valueOf(64 << 10), "producer.max.block.ms", "3000"));
        try {
            String sprayed = cluster.createTopic(KafkaCluster.uniqueTopic("sprayed"), partitions);
            String other = cluster.createTopic(KafkaCluster.uniqueTopic("other"), 1);
            Rest rest = portico.rest();
            // Both topics produced to once, so the producer knows them when the broker is gone.
            assertEquals(200, rest.post("/topics/" + sprayed, BINARY, "{\"records\":[{\"key\":\"aw==\",\"value\":\"YQ==\"}]}",
                    "Authorization", "Bearer " + KEY_A).status());
            assertEquals(200, rest.post("/topics/" + other, BINARY, "{\"records\":[{\"key\":\"aw==\",\"value\":\"Yg==\"}]}",
                    "Authorization", "Bearer " + KEY_B).status());

            String clusterId = cluster.admin().describeCluster().clusterId().get(30, TimeUnit.SECONDS);
            relay.hold(true); // what is sent now waits in the producer's buffer for Kafka's answer
            StringBuilder body = new StringBuilder("{\"records\":[");
            for (int p = 0; p < partitions; p++) {
                body.append(p == 0 ? "" : ",").append("{\"key\":\"aw==\",\"value\":\"c3ByYXk=\",\"partition\":")
                        .append(p).append('}');
            }
            body.append("]}");
            CompletableFuture<Rest.Response> spray = CompletableFuture.supplyAsync(() -> rest.post("/topics/" + sprayed,
                    BINARY, body.toString(), "Authorization", "Bearer " + KEY_A));
            Rest.Response refused = null;
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (refused == null && System.nanoTime() < deadline) {
                CompletableFuture<Rest.Response> next = CompletableFuture.supplyAsync(() -> rest.post("/topics/" + sprayed
                        + "/partitions/0", BINARY, "{\"records\":[{\"key\":\"aw==\",\"value\":\"YQ==\"}]}",
                        "Authorization", "Bearer " + KEY_A));
                try {
                    refused = next.get(1, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    // taken, waiting for Kafka like the rest: the spray was not in yet
                }
            }
            assertTrue(refused != null, "the key's requests were never refused; the spray: "
                    + (spray.isDone() ? excerpt(spray.join().body()) : "not answered"));
            assertEquals(429, refused.status(), "while its records wait, the key's next request: " + refused.body());
            assertTrue(refused.body().contains("producer.buffer.memory"), refused.body());
            assertEquals("1", refused.header("Retry-After"));
            // v3 too, single or streamed or batched, before it reads the body.
            for (String path : List.of("/records", "/records:batch")) {
                Rest.Response v3 = rest.post("/v3/clusters/" + clusterId + "/topics/" + sprayed + path, "application/json",
                        path.endsWith("batch") ? "{\"entries\":[{\"id\":\"1\",\"value\":{\"type\":\"BINARY\",\"data\":\"YQ==\"}}]}"
                                : "{\"value\":{\"type\":\"BINARY\",\"data\":\"YQ==\"}}",
                        "Authorization", "Bearer " + KEY_A);
                assertEquals(429, v3.status(), path + ": " + v3.body());
                assertTrue(v3.body().contains("producer.buffer.memory"), v3.body());
            }

            // The other key's record finds room in the buffer (it would fail after max.block.ms if
            // the first key's batches took it all) and lands once the broker is back.
            CompletableFuture<Rest.Response> otherKey = CompletableFuture.supplyAsync(() -> rest.post("/topics/" + other,
                    BINARY, "{\"records\":[{\"key\":\"aw==\",\"value\":\"Yg==\"}]}", "Authorization", "Bearer " + KEY_B));
            Thread.sleep(3500); // longer than max.block.ms: a record without room fails by then
            assertTrue(!otherKey.isDone(), "the other key's record waits for Kafka: " + (otherKey.isDone() ? otherKey.join() : ""));
            relay.hold(false);
            Rest.Response b = otherKey.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(200, b.status(), b.body());
            assertTrue(b.json().path("offsets").get(0).path("error_code").isNull(), b.body());

            Rest.Response answered = spray.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(200, answered.status(), answered.body());
            int landed = 0;
            for (JsonNode offset : answered.json().path("offsets")) {
                if (offset.path("error_code").isNull()) {
                    landed++;
                } else {
                    assertEquals(50003, offset.path("error_code").asInt(), answered.body());
                    assertTrue(offset.path("error").asText().contains("share"), answered.body());
                }
            }
            assertTrue(landed >= 1 && landed <= 8, "what fit the key's half landed, no more: " + answered.body());
            Rest.Response again = rest.post("/topics/" + sprayed, BINARY, "{\"records\":[{\"key\":\"aw==\",\"value\":\"YQ==\"}]}",
                    "Authorization", "Bearer " + KEY_A);
            assertEquals(200, again.status(), again.body());
            assertTrue(again.json().path("offsets").get(0).path("error_code").isNull(), "its room came back: " + again.body());
        } finally {
            relay.hold(false);
            portico.close();
            cluster.close();
            broker.close();
            relay.close();
        }
    }

    private static String excerpt(String body) {
        return body.length() <= 400 ? body : body.substring(0, 400) + "…";
    }

    /** Passes bytes between clients and the broker both ways, until told to hold them (connections stay open). */
    private static final class Relay implements AutoCloseable {
        private final java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        private final int target;
        private final Object lock = new Object();
        private boolean holding;
        private final java.util.List<java.net.Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

        Relay(int target) throws java.io.IOException {
            this.target = target;
            Thread accept = new Thread(this::accept, "relay-accept");
            accept.setDaemon(true);
            accept.start();
        }

        int port() {
            return server.getLocalPort();
        }

        void hold(boolean hold) {
            synchronized (lock) {
                holding = hold;
                lock.notifyAll();
            }
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    java.net.Socket client = server.accept();
                    java.net.Socket upstream = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), target);
                    sockets.add(client);
                    sockets.add(upstream);
                    pump(client, upstream);
                    pump(upstream, client);
                } catch (java.io.IOException e) {
                    return; // closed
                }
            }
        }

        private void pump(java.net.Socket from, java.net.Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[64 << 10];
                try {
                    int n;
                    while ((n = from.getInputStream().read(buf)) >= 0) {
                        synchronized (lock) {
                            while (holding) {
                                lock.wait();
                            }
                        }
                        to.getOutputStream().write(buf, 0, n);
                    }
                } catch (java.io.IOException | InterruptedException e) {
                    // one side closed
                } finally {
                    try {
                        from.close();
                        to.close();
                    } catch (java.io.IOException ignored) {
                        // closing
                    }
                }
            }, "relay-pump");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() throws java.io.IOException {
            server.close();
            for (java.net.Socket s : sockets) {
                s.close();
            }
        }
    }
}
