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
    private static final String KEY_C = "c-" + UUID.randomUUID();
    private static final String KEY_D = "d-" + UUID.randomUUID();
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";
    private static final Duration WAIT = Duration.ofSeconds(60);

    /**
     * A broker of its own that clients reach through a relay the test can stop passing bytes on,
     * and Portico with four API keys and a 1 MiB buffer of 64 KiB batches: sixteen partitions'
     * batches fill it, a key's half takes seven, it is crowded past twelve and full for the keys'
     * records past fourteen.
     */
    /** Records refused so far because a key's records hold its share of the producer's buffer: Portico's meter. */
    private static long refusedForTheShare(Rest rest) {
        Rest.Response r = rest.get("/metrics", "Authorization", "Bearer " + KEY_A);
        assertEquals(200, r.status(), r.body());
        JsonNode meter = r.json().get("meters").get("portico.produce.share.refused");
        return meter == null ? 0 : meter.get("count").asLong();
    }

    private static final class Rig implements AutoCloseable {
        final Relay relay;
        final EmbeddedKafka broker;
        final KafkaCluster cluster;
        final TestPortico portico;

        Rig(Path dir) throws Exception {
            this(dir, true);
        }

        /** With the four keys, or with authentication off ({@code withKeys} false). */
        Rig(Path dir, boolean withKeys) throws Exception {
            int brokerPort;
            try (java.net.ServerSocket free = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
                brokerPort = free.getLocalPort();
            }
            relay = new Relay(brokerPort);
            broker = EmbeddedKafka.start(Files.createDirectories(dir.resolve("kafka")),
                    Map.of("advertised.listeners", "PLAINTEXT://127.0.0.1:" + relay.port()), brokerPort, 0);
            StringBuilder keys = new StringBuilder("{\"keys\":[");
            List<String> all = List.of(KEY_A, KEY_B, KEY_C, KEY_D);
            for (int i = 0; i < all.size(); i++) {
                keys.append(i == 0 ? "" : ",").append("{\"name\":\"").append((char) ('a' + i)).append("\",\"key\":\"")
                        .append(all.get(i)).append("\",\"role\":\"writer\",\"topics\":[\"*\"]}");
            }
            Path file = Files.writeString(dir.resolve("keys.json"), keys.append("]}"));
            cluster = KafkaCluster.external("127.0.0.1:" + relay.port());
            Map<String, String> settings = new java.util.HashMap<>(Map.of("producer.buffer.memory", String.valueOf(1 << 20),
                    "producer.batch.size", String.valueOf(64 << 10), "producer.max.block.ms", "3000"));
            if (withKeys) {
                settings.put("authentication.method", "API_KEY");
                settings.put("api.keys.file", file.toString());
            }
            portico = TestPortico.start(cluster, settings);
        }

        @Override
        public void close() throws java.io.IOException {
            relay.hold(false);
            portico.close();
            cluster.close();
            try {
                broker.close();
            } catch (Exception e) {
                throw new java.io.IOException(e);
            }
            relay.close();
        }
    }

    /** A v1 produce body of one record for each of {@code partitions}. */
    private static String sprayBody(int partitions) {
        StringBuilder body = new StringBuilder("{\"records\":[");
        for (int p = 0; p < partitions; p++) {
            body.append(p == 0 ? "" : ",").append("{\"key\":\"aw==\",\"value\":\"c3ByYXk=\",\"partition\":")
                    .append(p).append('}');
        }
        return body.append("]}").toString();
    }

    @Test
    void keysEachWithinTheirHalfLeaveRoomForAnotherKeyTogether(@TempDir Path dir) throws Exception {
        // Three keys spray 24 partitions each while Kafka answers nothing: each within its half,
        // they would fill the buffer together (7 + 7 + 2 batches), and a fourth key's record
        // would fail after max.block.ms. Crowded, each stops at an equal part: the fourth's waits
        // for Kafka and lands.
        try (Rig rig = new Rig(dir)) {
            Rest rest = rig.portico.rest();
            List<String> sprayers = List.of(KEY_A, KEY_B, KEY_C);
            List<String> topics = new java.util.ArrayList<>();
            for (String key : sprayers) {
                String topic = rig.cluster.createTopic(KafkaCluster.uniqueTopic("crowd"), 24);
                topics.add(topic);
                assertEquals(200, rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"key\":\"aw==\",\"value\":\"YQ==\"}]}",
                        "Authorization", "Bearer " + key).status());
            }
            String other = rig.cluster.createTopic(KafkaCluster.uniqueTopic("other"), 1);
            assertEquals(200, rest.post("/topics/" + other, BINARY, "{\"records\":[{\"key\":\"aw==\",\"value\":\"Yg==\"}]}",
                    "Authorization", "Bearer " + KEY_D).status());

            rig.relay.hold(true);
            List<CompletableFuture<Rest.Response>> sprays = new java.util.ArrayList<>();
            for (int i = 0; i < sprayers.size(); i++) {
                String topic = topics.get(i);
                String key = sprayers.get(i);
                sprays.add(CompletableFuture.supplyAsync(() -> rest.post("/topics/" + topic, BINARY, sprayBody(24),
                        "Authorization", "Bearer " + key)));
                Thread.sleep(500); // one after the other: each key's records are with the producer before the next's
            }
            Thread.sleep(1000);
            CompletableFuture<Rest.Response> fourth = CompletableFuture.supplyAsync(() -> rest.post("/topics/" + other,
                    BINARY, "{\"records\":[{\"key\":\"aw==\",\"value\":\"Yg==\"}]}", "Authorization", "Bearer " + KEY_D));
            Thread.sleep(3500); // longer than max.block.ms: a record without room fails by then
            assertTrue(!fourth.isDone(), "the fourth key's record waits for Kafka: " + (fourth.isDone() ? fourth.join().body() : ""));
            rig.relay.hold(false);
            Rest.Response d = fourth.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(200, d.status(), d.body());
            assertTrue(d.json().path("offsets").get(0).path("error_code").isNull(), d.body());
            int landed = 0;
            for (CompletableFuture<Rest.Response> spray : sprays) {
                Rest.Response answered = spray.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertEquals(200, answered.status(), answered.body());
                for (JsonNode offset : answered.json().path("offsets")) {
                    if (offset.path("error_code").isNull()) {
                        landed++;
                    } else {
                        assertEquals(50003, offset.path("error_code").asInt(), answered.body());
                        assertTrue(offset.path("error").asText().contains("share"), answered.body());
                    }
                }
            }
            assertTrue(landed >= 3 && landed <= 14, "what fit the keys' parts landed, no more: " + landed);
        }
    }

    /**
     * With authentication off, a client address's records are held to half the buffer as a key's
     * are: one client spraying partitions while Kafka answers nothing is refused (429) once its
     * records hold its half, and a client at another address still has its record taken.
     */
    @Test
    void withAuthenticationOffEachClientAddressHasItsOwnShare(@TempDir Path dir) throws Exception {
        try (Rig rig = new Rig(dir, false)) {
            Rest rest = rig.portico.rest();
            String sprayed = rig.cluster.createTopic(KafkaCluster.uniqueTopic("sprayed"), 24);
            String other = rig.cluster.createTopic(KafkaCluster.uniqueTopic("other"), 1);
            String one = "{\"records\":[{\"key\":\"aw==\",\"value\":\"YQ==\"}]}";
            assertEquals(200, rest.post("/topics/" + sprayed, BINARY, one).status());
            assertEquals(200, rest.post("/topics/" + other, BINARY, one).status());

            rig.relay.hold(true);
            CompletableFuture<Rest.Response> spray = CompletableFuture.supplyAsync(
                    () -> rest.post("/topics/" + sprayed, BINARY, sprayBody(24)));
            Rest.Response refused = null;
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (refused == null && System.nanoTime() < deadline) {
                CompletableFuture<Rest.Response> next = CompletableFuture.supplyAsync(
                        () -> rest.post("/topics/" + sprayed + "/partitions/0", BINARY, one));
                try {
                    refused = next.get(1, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    // taken, waiting for Kafka like the rest: the spray was not in yet
                }
            }
            assertTrue(refused != null, "the client's requests were never refused");
            assertEquals(429, refused.status(), refused.body());
            assertTrue(refused.body().contains("client address"), refused.body());

            // Another client, at 127.0.0.2: its record is taken and lands once Kafka answers.
            try (java.net.Socket socket = new java.net.Socket()) {
                socket.bind(new java.net.InetSocketAddress("127.0.0.2", 0));
                socket.connect(new java.net.InetSocketAddress("127.0.0.1", rest.base().getPort()), 10_000);
                socket.setSoTimeout((int) WAIT.toMillis());
                byte[] body = one.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                socket.getOutputStream().write(("POST /topics/" + other + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                        + BINARY + "\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                socket.getOutputStream().write(body);
                Thread.sleep(1000); // its request in before Kafka answers again (a refusal would come at once)
                rig.relay.hold(false);
                String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                assertTrue(answer.startsWith("HTTP/1.1 200 "), answer);
                assertTrue(answer.contains("\"error_code\":null"), answer);
            }
            assertEquals(200, spray.get(WAIT.toSeconds(), TimeUnit.SECONDS).status());
        }
    }

    @Test
    void aKeysWaitingRecordsOverManyPartitionsLeaveTheOtherHalfOfTheBufferToOthers(@TempDir Path dir) throws Exception {
        int partitions = 24;
        Rig rig = new Rig(dir);
        Relay relay = rig.relay;
        KafkaCluster cluster = rig.cluster;
        TestPortico portico = rig.portico;
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
            CompletableFuture<Rest.Response> spray = CompletableFuture.supplyAsync(() -> rest.post("/topics/" + sprayed,
                    BINARY, sprayBody(partitions), "Authorization", "Bearer " + KEY_A));
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
            rig.close();
        }
    }

    @Test
    void aV3BatchsRecordPastTheShareIsNotOvertakenInItsPartitionByTheBatchsLaterRecords(@TempDir Path dir) throws Exception {
        Rig rig = new Rig(dir);
        try {
            String topic = rig.cluster.createTopic(KafkaCluster.uniqueTopic("batch-order"), 2);
            Rest rest = rig.portico.rest();
            assertEquals(200, rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"value\":\"YQ==\",\"partition\":0}]}",
                    "Authorization", "Bearer " + KEY_A).status(), "the producer knows the topic");
            String clusterId = rig.cluster.admin().describeCluster().clusterId().get(30, TimeUnit.SECONDS);
            // A batch first, so that Portico knows the cluster's id and the topic's partitions: with
            // the broker held, the batch below must wait for nothing but its records' acknowledgements.
            Rest.Response known = rest.post("/v3/clusters/" + clusterId + "/topics/" + topic + "/records:batch",
                    "application/json", "{\"entries\":[{\"id\":\"a\",\"partition_id\":0,\"value\":{\"type\":\"BINARY\","
                            + "\"data\":\"YQ==\"}},{\"id\":\"b\",\"partition_id\":1,\"value\":{\"type\":\"BINARY\","
                            + "\"data\":\"YQ==\"}}]}", "Authorization", "Bearer " + KEY_A);
            assertEquals(207, known.status(), known.body());
            assertEquals(2, known.json().path("successes").size(), known.body());
            rig.relay.hold(true); // the batch's first record waits in the buffer
            String large = java.util.Base64.getEncoder().encodeToString(new byte[600 * 1024]);
            String batch = "{\"entries\":["
                    + "{\"id\":\"0\",\"partition_id\":0,\"value\":{\"type\":\"BINARY\",\"data\":\"YQ==\"}},"
                    + "{\"id\":\"1\",\"partition_id\":0,\"value\":{\"type\":\"BINARY\",\"data\":\"" + large + "\"}},"
                    + "{\"id\":\"2\",\"partition_id\":0,\"value\":{\"type\":\"BINARY\",\"data\":\"Yg==\"}},"
                    + "{\"id\":\"3\",\"partition_id\":1,\"value\":{\"type\":\"BINARY\",\"data\":\"Yw==\"}}]}";
            CompletableFuture<Rest.Response> sent = CompletableFuture.supplyAsync(() -> rest.post("/v3/clusters/" + clusterId
                    + "/topics/" + topic + "/records:batch", "application/json", batch, "Authorization", "Bearer " + KEY_A));
            // The large record is refused while the first one is held in the buffer (nothing is
            // acknowledged): only then may the broker answer. Polled, not slept: a loaded machine
            // may take its time to get there.
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (refusedForTheShare(rest) < 1) {
                assertTrue(System.nanoTime() < deadline && !sent.isDone(), "the large record was not refused in time: "
                        + (sent.isDone() ? excerpt(sent.join().body()) : "still waiting"));
                Thread.sleep(20);
            }
            rig.relay.hold(false);
            Rest.Response answered = sent.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(207, answered.status(), answered.body());
            List<String> landed = new java.util.ArrayList<>();
            answered.json().path("successes").forEach(r -> landed.add(r.path("id").asText()));
            List<String> refused = new java.util.ArrayList<>();
            answered.json().path("failures").forEach(r -> refused.add(r.path("id").asText() + ":" + r.path("error_code").asInt()));
            assertEquals(List.of("0", "3"), landed, excerpt(answered.body()));
            assertEquals(List.of("1:429", "2:429"), refused, "the record after the refused one in its partition is "
                    + "refused too (retrying them keeps their order); another partition's lands: " + excerpt(answered.body()));
        } finally {
            rig.close();
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
