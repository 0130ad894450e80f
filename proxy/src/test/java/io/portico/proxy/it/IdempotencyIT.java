package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.HoldAcks;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code Idempotency-Key} against the real broker: on every produce route a retry answers the
 * first response again and produces nothing (what Kafka holds is read with {@code read_committed},
 * to its end); another request with the key is 422; concurrent requests with one key on one node
 * and on three nodes produce once and answer alike; keys that share one transactional id at two
 * nodes are each written once; a keyed request that waits holds up no produce without a key,
 * and is still produced when it waited longer than {@code metadata.timeout.ms};
 * the state topic is hidden from clients, and one created beforehand with a shorter retention
 * has it raised; Portico's own readers skip aborted records.
 */
@ExtendWith(PorticoExtension.class)
class IdempotencyIT {
    private static final String V1 = "application/vnd.kafka.binary.v1+json";
    private static final String V2 = "application/vnd.kafka.binary.v2+json";

    private static String clusterId(KafkaCluster kafka) throws Exception {
        return kafka.admin().describeCluster().clusterId().get(30, TimeUnit.SECONDS);
    }

    private static String key() {
        return "key-" + UUID.randomUUID();
    }

    /** One way to produce, with a body that makes records {@code a} and {@code b} (or the one {@code a}). */
    private record Route(String name, String path, String contentType, String body, List<String> values) {
    }

    private static List<Route> routes(KafkaCluster kafka, String topic) throws Exception {
        String v3 = "/v3/clusters/" + clusterId(kafka) + "/topics/" + topic;
        return List.of(
                new Route("v1", "/topics/" + topic, V1, "{\"records\":[{\"value\":\"YQ==\"},{\"value\":\"Yg==\"}]}",
                        List.of("a", "b")),
                new Route("v2 to a partition", "/topics/" + topic + "/partitions/1", V2,
                        "{\"records\":[{\"value\":\"YQ==\"},{\"value\":\"Yg==\"}]}", List.of("a", "b")),
                new Route("records endpoint", "/topics/" + topic + "/records?key=k", "text/plain", "a", List.of("a")),
                new Route("v3 single", v3 + "/records", "application/json",
                        "{\"value\":{\"type\":\"STRING\",\"data\":\"a\"}}", List.of("a")),
                new Route("v3 batch", v3 + "/records:batch", "application/json",
                        "{\"entries\":[{\"id\":\"1\",\"value\":{\"type\":\"STRING\",\"data\":\"a\"}},"
                                + "{\"id\":\"2\",\"value\":{\"type\":\"STRING\",\"data\":\"b\"}}]}", List.of("a", "b")));
    }

    private static Rest.Response post(Rest rest, Route route, String key) {
        return rest.post(route.path(), route.contentType(), route.body(), "Idempotency-Key", key);
    }

    @Test
    void aRetryAnswersTheFirstResponseAgainAndProducesNothingOnEveryRoute(Rest rest, KafkaCluster kafka)
            throws Exception {
        for (Route route : routes(kafka, "unused")) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-retry"), 2);
            Route r = routes(kafka, topic).stream().filter(x -> x.name().equals(route.name())).findFirst().orElseThrow();
            String key = key();
            Rest.Response first = post(rest, r, key);
            assertTrue(first.status() == 200 || first.status() == 207, r.name() + ": " + first);
            assertFalse(first.body().contains("error_code\":5") || first.body().contains("\"failures\":[{"),
                    r.name() + ": " + first);
            assertNull(first.header("Idempotent-Replayed"), r.name());

            Rest.Response again = post(rest, r, key);
            assertEquals(first.status(), again.status(), r.name());
            assertEquals(first.body(), again.body(), r.name() + ": the first response again");
            assertEquals(first.contentType(), again.contentType(), r.name());
            assertEquals("true", again.header("Idempotent-Replayed"), r.name());

            Rest.Response other = post(rest, r, key()); // another key: produced again
            assertNull(other.header("Idempotent-Replayed"), r.name());

            List<String> expected = new ArrayList<>(r.values());
            expected.addAll(r.values());
            assertEquals(sorted(expected), sorted(values(committed(kafka, topic))), r.name()
                    + ": the first request's records and the other key's, once each");
        }
    }

    @Test
    void oneApiKeysKeyedRequestsHoldAtMostHalfTheKeyedThreads(KafkaCluster kafka,
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // Four keyed threads: one API key may have two keyed requests on them at once. Its two
        // requests wait (the producer's acknowledgements of their topic are held); a third is
        // 429, while another key's keyed request is served.
        String greedy = "g-" + UUID.randomUUID();
        String other = "o-" + UUID.randomUUID();
        java.nio.file.Path keys = java.nio.file.Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"greedy\",\"key\":\"" + greedy + "\",\"role\":\"writer\",\"topics\":[\"*\"]},"
                + "{\"name\":\"other\",\"key\":\"" + other + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}");
        String held = kafka.createTopic(KafkaCluster.uniqueTopic("idem-held"), 1);
        String free = kafka.createTopic(KafkaCluster.uniqueTopic("idem-free"), 1);
        String body = "{\"records\":[{\"value\":\"YQ==\"}]}";
        HoldAcks.hold(held);
        ExecutorService clients = Executors.newFixedThreadPool(2);
        try (TestPortico p = TestPortico.start(kafka, Map.of("produce.threads", "4",
                "producer.interceptor.classes", HoldAcks.class.getName(),
                "authentication.method", "API_KEY", "api.keys.file", keys.toString()))) {
            List<Future<Rest.Response>> waiting = new ArrayList<>();
            String answeredKey = key();
            assertEquals(200, p.rest().post("/topics/" + free, V1, body, "Idempotency-Key", answeredKey,
                    "Authorization", "Bearer " + greedy).status());
            try {
                for (int i = 0; i < 2; i++) {
                    waiting.add(clients.submit(() -> p.rest().post("/topics/" + held, V1, body,
                            "Idempotency-Key", key(), "Authorization", "Bearer " + greedy)));
                }
                com.codahale.metrics.Gauge<?> active = p.portico().metrics().getGauges().get("portico.pool.keyed.active");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (((Number) active.getValue()).intValue() < 2 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals(2, ((Number) active.getValue()).intValue(), "the two keyed requests wait on the keyed pool");
                Rest.Response third = p.rest().post("/topics/" + held, V1, body,
                        "Idempotency-Key", key(), "Authorization", "Bearer " + greedy);
                assertEquals(429, third.status(), third.body());
                assertTrue(third.body().contains("produce.threads"), third.body());
                Rest.Response retry = p.rest().post("/topics/" + free, V1, body, "Idempotency-Key", answeredKey,
                        "Authorization", "Bearer " + greedy);
                assertEquals(200, retry.status(), "a retry of an answered key is answered again: " + retry.body());
                assertEquals("true", retry.header("Idempotent-Replayed"));
                Rest.Response others = p.rest().post("/topics/" + free, V1, body,
                        "Idempotency-Key", key(), "Authorization", "Bearer " + other);
                assertEquals(200, others.status(), "another key is served: " + others.body());
            } finally {
                HoldAcks.release(); // before Portico closes: its producers' close waits for them
            }
            for (Future<Rest.Response> w : waiting) {
                assertEquals(200, w.get(60, TimeUnit.SECONDS).status());
            }
            Rest.Response after = p.rest().post("/topics/" + held, V1, body,
                    "Idempotency-Key", key(), "Authorization", "Bearer " + greedy);
            assertEquals(200, after.status(), "its places are given back: " + after.body());
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void theSameKeyWithAnotherBodyIs422AndProducesNothing(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-422"), 1);
        String key = key();
        assertEquals(200, rest.post("/topics/" + topic, V1, "{\"records\":[{\"value\":\"YQ==\"}]}",
                "Idempotency-Key", key).status());
        Rest.Response changed = rest.post("/topics/" + topic, V1, "{\"records\":[{\"value\":\"Yg==\"}]}",
                "Idempotency-Key", key);
        assertEquals(422, changed.status(), changed.body());
        assertEquals(42209, changed.json().get("error_code").asInt());
        assertTrue(changed.json().get("message").asText().contains("Idempotency-Key"), changed.body());
        assertEquals(List.of("a"), values(committed(kafka, topic)));

        // The records endpoint answers in IBM's error style; its key (query string) is part of the request.
        String records = "/topics/" + topic + "/records";
        assertEquals(200, rest.post(records + "?key=one", "text/plain", "c", "Idempotency-Key", key + "-r").status());
        Rest.Response otherKey = rest.post(records + "?key=two", "text/plain", "c", "Idempotency-Key", key + "-r");
        assertEquals(422, otherKey.status(), otherKey.body());
        assertEquals(422, otherKey.json().get("error_code").asInt());
        assertTrue(otherKey.json().get("error").get("message").asText().contains("Idempotency-Key"), otherKey.body());
    }

    @Test
    void badKeysAre400InTheRoutesStyleAndAStreamWithAKeyIsRefused(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-bad"), 1);
        for (String bad : List.of("", "has space", "tab\there", "x".repeat(256))) {
            Rest.Response r = rest.send(rest.request("/topics/" + topic, "Content-Type", V1, "Idempotency-Key", bad)
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"records\":[{\"value\":\"YQ==\"}]}")));
            assertEquals(400, r.status(), "'" + bad + "': " + r.body());
            assertEquals(400, r.json().get("error_code").asInt());
        }
        // Bytes past ASCII, which the JDK's client will not send as they are.
        try (java.net.Socket socket = new java.net.Socket(rest.base().getHost(), rest.base().getPort())) {
            byte[] body = "{\"records\":[{\"value\":\"YQ==\"}]}".getBytes(StandardCharsets.US_ASCII);
            java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream();
            request.writeBytes(("POST /topics/" + topic + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + V1
                    + "\r\nConnection: close\r\nContent-Length: " + body.length + "\r\nIdempotency-Key: caf")
                    .getBytes(StandardCharsets.US_ASCII));
            request.writeBytes(new byte[] {(byte) 0xc3, (byte) 0xa9});
            request.writeBytes("\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            request.writeBytes(body);
            socket.getOutputStream().write(request.toByteArray());
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("visible ASCII"), answer);
        }
        Rest.Response ibm = rest.post("/topics/" + topic + "/records", "text/plain", "v", "Idempotency-Key", "a b");
        assertEquals(400, ibm.status());
        assertEquals(400, ibm.json().get("error").get("error_code").asInt(), ibm.body());
        assertEquals(200, rest.post("/topics/" + topic, V1, "{\"records\":[{\"value\":\"YQ==\"}]}",
                "Idempotency-Key", "!~" + "x".repeat(253)).status(), "255 visible characters");

        String v3 = "/v3/clusters/" + clusterId(kafka) + "/topics/" + topic + "/records";
        Rest.Response stream = rest.post(v3, "application/json", "{\"value\":{\"type\":\"STRING\",\"data\":\"a\"}}"
                + "{\"value\":{\"type\":\"STRING\",\"data\":\"b\"}}", "Idempotency-Key", key());
        assertEquals(400, stream.status(), stream.body());
        assertTrue(stream.body().contains("records:batch"), stream.body());
        assertEquals(List.of("a"), values(committed(kafka, topic)), "only the 255-character key's record");
    }

    @Test
    void concurrentRequestsWithOneKeyOnOneNodeProduceOnceAndAnswerAlike(Rest rest, KafkaCluster kafka)
            throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-concurrent"), 3);
        String key = key();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            List<Future<Rest.Response>> answers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                answers.add(clients.submit(() -> rest.post("/topics/" + topic, V1,
                        "{\"records\":[{\"value\":\"YQ==\"},{\"value\":\"Yg==\"}]}", "Idempotency-Key", key)));
            }
            Set<String> bodies = new HashSet<>();
            int replayed = 0;
            for (Future<Rest.Response> f : answers) {
                Rest.Response r = f.get(60, TimeUnit.SECONDS);
                assertEquals(200, r.status(), r.body());
                bodies.add(r.body());
                replayed += "true".equals(r.header("Idempotent-Replayed")) ? 1 : 0;
            }
            assertEquals(1, bodies.size(), "every answer is the first: " + bodies);
            assertEquals(7, replayed, "all but one are replays");
            assertEquals(List.of("a", "b"), sorted(values(committed(kafka, topic))));
        } finally {
            clients.shutdownNow();
        }
    }

    /**
     * A keyed v1 produce, sent again with the same key after a 503, as the answer tells a client
     * to: when nodes fence one another's transactions, the broker may answer a commit that lost the
     * race with an unexpected error instead of a fencing one (only a retry can say what became of
     * it), and a request fenced by another key that shares its transactional id gets no result to
     * answer.
     */
    private static Rest.Response postAsAClientWould(Rest node, String path, String body, String key) {
        return postAsAClientWould(node, path, body, key, 3);
    }

    private static Rest.Response postAsAClientWould(Rest node, String path, String body, String key, int retries) {
        Rest.Response r = node.post(path, V1, body, "Idempotency-Key", key);
        for (int retry = 0; retry < retries && r.status() == 503
                && (r.body().contains("is not known") || r.body().contains("transactional id")); retry++) {
            r = node.post(path, V1, body, "Idempotency-Key", key);
        }
        return r;
    }

    /**
     * Partitions added to the state topic while a node runs: a key's result is written to, and
     * looked up in, its partition of the count the node reads, so the node refuses keyed requests
     * (503, nothing produced) instead of missing results written at the new count, and writing again.
     */
    @Test
    void partitionsAddedToTheStateTopicWhileANodeRunsTurnItsKeyedRequestsAway(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-grown"), 1);
        String state = "_portico_idem_grown_" + UUID.randomUUID().toString().substring(0, 8);
        try (TestPortico node = TestPortico.start(kafka, Map.of("idempotency.topic", state,
                "idempotency.topic.partitions", "2"))) {
            String body = "{\"records\":[{\"value\":\"YQ==\"}]}";
            Rest.Response before = node.rest().post("/topics/" + topic, V1, body, "Idempotency-Key", key());
            assertEquals(200, before.status(), before.body());
            kafka.admin().createPartitions(Map.of(state, org.apache.kafka.clients.admin.NewPartitions.increaseTo(3)))
                    .all().get(30, TimeUnit.SECONDS);
            Rest.Response after = null;
            int produced = 1;
            for (int i = 0; i < 100 && (after == null || !after.body().contains("partitions where this server reads")); i++) {
                Thread.sleep(i == 0 ? 0 : 200); // the count is looked up at most once a second
                after = node.rest().post("/topics/" + topic, V1, body, "Idempotency-Key", key());
                produced += after.status() == 200 ? 1 : 0; // a 503 for another reason produced nothing
            }
            assertEquals(503, after.status(), after.body());
            assertTrue(after.body().contains("has 3 partitions where this server reads 2"), after.body());
            assertEquals(produced, committed(kafka, topic).size(), "the refused request produced nothing");
        }
    }

    /**
     * With one transactional id for all keys, two nodes executing different keys at once fence
     * each other on every overlap: a fenced request answers 503 (nothing written, or its outcome
     * not known when fenced during its commit), and its retry with the key writes it or answers
     * what was written. Every key's records end up in Kafka exactly once.
     */
    @Test
    void keysThatShareOneTransactionalIdAtTwoNodesAreEachWrittenOnce(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-shared-id"), 1);
        String state = "_portico_idem_shared_" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> config = Map.of("idempotency.transactional.ids", "1", "idempotency.wait.ms", "2000",
                "idempotency.topic", state);
        int keys = 10;
        try (TestPortico first = TestPortico.start(kafka, config);
             TestPortico second = TestPortico.start(kafka, config)) {
            List<Rest> nodes = List.of(first.rest(), second.rest());
            ExecutorService clients = Executors.newFixedThreadPool(keys);
            try {
                List<Future<Rest.Response>> answers = new ArrayList<>();
                for (int k = 0; k < keys; k++) {
                    Rest node = nodes.get(k % 2);
                    String key = "shared-id-" + k + "-" + UUID.randomUUID();
                    String body = "{\"records\":[{\"value\":\"" + base64("s" + k) + "\"}]}";
                    answers.add(clients.submit(() -> postAsAClientWould(node, "/topics/" + topic, body, key, 30)));
                }
                for (Future<Rest.Response> f : answers) {
                    Rest.Response r = f.get(300, TimeUnit.SECONDS);
                    assertEquals(200, r.status(), r.body());
                }
            } finally {
                clients.shutdownNow();
            }
        }
        List<String> expected = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            expected.add("s" + k);
        }
        assertEquals(sorted(expected), sorted(values(committed(kafka, topic))), "each key's record exactly once");
        // Ten keys, one transactional id: all Kafka's coordinator keeps for them.
        Set<String> ids = new HashSet<>();
        kafka.admin().listTransactions().all().get(30, TimeUnit.SECONDS).forEach(t -> {
            if (t.transactionalId().startsWith(state + "-")) {
                ids.add(t.transactionalId());
            }
        });
        assertEquals(Set.of(state + "-0"), ids);
        kafka.admin().deleteTopics(List.of(state)).all().get(30, TimeUnit.SECONDS);
    }

    @Test
    void oneKeyFiredAtThreeNodesAtOnceProducesOnce(TestPortico shared, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-nodes"), 3);
        int keys = 100;
        try (TestPortico second = TestPortico.start(kafka, Map.of());
             TestPortico third = TestPortico.start(kafka, Map.of())) {
            List<Rest> nodes = List.of(shared.rest(), second.rest(), third.rest());
            ExecutorService clients = Executors.newFixedThreadPool(3 * 4);
            try {
                Map<String, List<Future<Rest.Response>>> answers = new HashMap<>();
                for (int k = 0; k < keys; k++) {
                    String key = "node-key-" + k + "-" + UUID.randomUUID();
                    String body = "{\"records\":[{\"value\":\"" + base64("k" + k + "-a") + "\"},{\"value\":\""
                            + base64("k" + k + "-b") + "\"}]}";
                    List<Future<Rest.Response>> three = new ArrayList<>();
                    for (Rest node : nodes) {
                        Callable<Rest.Response> call = () -> postAsAClientWould(node, "/topics/" + topic, body, key);
                        three.add(clients.submit(call));
                    }
                    answers.put("k" + k, three);
                }
                for (Map.Entry<String, List<Future<Rest.Response>>> e : answers.entrySet()) {
                    Set<String> bodies = new HashSet<>();
                    for (Future<Rest.Response> f : e.getValue()) {
                        Rest.Response r = f.get(120, TimeUnit.SECONDS);
                        assertEquals(200, r.status(), e.getKey() + ": " + r.body());
                        bodies.add(r.body());
                    }
                    assertEquals(1, bodies.size(), e.getKey() + ": every answer is the first: " + bodies);
                }
            } finally {
                clients.shutdownNow();
            }
        }
        List<String> expected = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            expected.add("k" + k + "-a");
            expected.add("k" + k + "-b");
        }
        assertEquals(sorted(expected), sorted(values(committed(kafka, topic))), "each key's records exactly once");
    }

    /**
     * A keyed request that waits holds none of the threads produces without a key need: with one
     * produce thread, a request whose view of the state topic cannot catch up (an open
     * transaction there keeps its {@code read_committed} reader behind the end) waits, and
     * another client's produce, large enough to go to the pool, is answered meanwhile.
     */
    @Test
    void aKeyedRequestThatWaitsHoldsUpNoProduceWithoutAKey(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-apart"), 1);
        withStateTopicHeld(kafka, topic, Map.of("produce.threads", "1"), (node, holder, clients) -> {
            Future<Rest.Response> keyed = clients.submit(() -> node.rest().post("/topics/" + topic, V1, SMALL,
                    "Idempotency-Key", key()));
            awaitAThreadIn("io.portico.sessions.IdempotencyView", "awaitPosition");

            String large = "{\"records\":[{\"value\":\"" + base64("b".repeat(6000)) + "\"}]}";
            Rest other = new Rest(node.rest().base(), java.net.http.HttpClient.newBuilder()
                    .version(java.net.http.HttpClient.Version.HTTP_1_1).build());
            Rest.Response plain = other.post("/topics/" + topic, V1, large);
            assertEquals(200, plain.status(), plain.body());
            assertFalse(keyed.isDone(), "answered while the keyed request still waits: " + (keyed.isDone()
                    ? keyed.get() : ""));

            holder.abortTransaction();
            Rest.Response answered = keyed.get(60, TimeUnit.SECONDS);
            assertEquals(200, answered.status(), answered.body());
        });
    }

    /**
     * A keyed request's produce is bounded by {@code metadata.timeout.ms} from the start of its
     * transaction, not from its arrival: one that first waited longer than that for its view of
     * the state topic (held behind an open transaction there) is still produced and answered 200.
     */
    @Test
    void aKeyedRequestThatWaitedLongerThanTheMetadataBoundIsStillProduced(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-late"), 1);
        withStateTopicHeld(kafka, topic, Map.of("metadata.timeout.ms", "5000"), (node, holder, clients) -> {
            // 64 records: the bound is looked at every 64th record sent.
            String many = "{\"records\":[" + String.join(",", java.util.Collections.nCopies(64,
                    "{\"value\":\"Yg==\"}")) + "]}";
            Future<Rest.Response> keyed = clients.submit(() -> node.rest().post("/topics/" + topic, V1, many,
                    "Idempotency-Key", key()));
            awaitAThreadIn("io.portico.sessions.IdempotencyView", "awaitPosition");
            Thread.sleep(6000); // the request is now older than metadata.timeout.ms (5 s) before its transaction
            holder.abortTransaction();
            Rest.Response answered = keyed.get(60, TimeUnit.SECONDS);
            assertEquals(200, answered.status(), answered.body());
            for (var offset : answered.json().get("offsets")) { // v1 reports a record's failure in its entry
                assertTrue(offset.get("error_code").isNull(), answered.body());
            }
            List<String> expected = new ArrayList<>(List.of("a"));
            expected.addAll(java.util.Collections.nCopies(64, "b"));
            assertEquals(expected, values(committed(kafka, topic)));
        });
    }

    /** As above, on the records endpoint, to a topic the node has not produced to (its metadata is asked for). */
    @Test
    void aKeyedRecordsEndpointRequestThatWaitedLongerThanTheMetadataBoundIsStillProduced(KafkaCluster kafka)
            throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-late"), 1);
        String fresh = kafka.createTopic(KafkaCluster.uniqueTopic("idem-late-records"), 1);
        withStateTopicHeld(kafka, topic, Map.of("metadata.timeout.ms", "5000"), (node, holder, clients) -> {
            Future<Rest.Response> keyed = clients.submit(() -> node.rest().post("/topics/" + fresh + "/records",
                    "text/plain", "late", "Idempotency-Key", key()));
            awaitAThreadIn("io.portico.sessions.IdempotencyView", "awaitPosition");
            Thread.sleep(6000); // the request is now older than metadata.timeout.ms (5 s) before its transaction
            holder.abortTransaction();
            Rest.Response answered = keyed.get(60, TimeUnit.SECONDS);
            assertEquals(200, answered.status(), answered.body());
            assertEquals(List.of("late"), values(committed(kafka, fresh)));
        });
    }

    private static final String SMALL = "{\"records\":[{\"value\":\"YQ==\"}]}";

    /** What a test does while a node's state topic is held behind {@code holder}'s open transaction. */
    private interface WhileHeld {
        void run(TestPortico node, KafkaProducer<byte[], byte[]> holder, ExecutorService clients) throws Exception;
    }

    /**
     * Starts a node with a one-partition state topic of its own and {@code settings}, checks that
     * keys work there (one keyed record {@code a} to {@code topic}: the node has read its state
     * topic), then opens a transaction on the state topic, which keeps the node's
     * {@code read_committed} view behind the end so that keyed requests wait (up to 30 s), and
     * runs {@code test} with a one-thread pool for its clients. The state topic is deleted after.
     */
    private static void withStateTopicHeld(KafkaCluster kafka, String topic, Map<String, String> settings,
                                           WhileHeld test) throws Exception {
        String state = "_portico_idem_held_" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> config = new HashMap<>(settings);
        config.put("idempotency.topic", state);
        config.put("idempotency.topic.partitions", "1");
        config.put("idempotency.wait.ms", "30000");
        try (TestPortico node = TestPortico.start(kafka, config);
             KafkaProducer<byte[], byte[]> holder = new KafkaProducer<>(Map.of("bootstrap.servers",
                     kafka.bootstrapServers(), "transactional.id", "it-holder-" + UUID.randomUUID()),
                     new ByteArraySerializer(), new ByteArraySerializer())) {
            assertEquals(200, node.rest().post("/topics/" + topic, V1, SMALL, "Idempotency-Key", key()).status(),
                    "keys work, and the node has read its state topic");
            holder.initTransactions();
            holder.beginTransaction();
            holder.send(new ProducerRecord<>(state, 0, "held".getBytes(StandardCharsets.UTF_8),
                    "held".getBytes(StandardCharsets.UTF_8))).get();
            ExecutorService clients = Executors.newFixedThreadPool(1);
            try {
                test.run(node, holder, clients);
            } finally {
                clients.shutdownNow();
            }
        }
        kafka.admin().deleteTopics(List.of(state)).all().get(30, TimeUnit.SECONDS);
    }

    /** Waits until a thread of this JVM (the node runs here) is inside {@code className.method}. */
    private static void awaitAThreadIn(String className, String method) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (StackTraceElement[] stack : Thread.getAllStackTraces().values()) {
                for (StackTraceElement frame : stack) {
                    if (frame.getClassName().equals(className) && frame.getMethodName().equals(method)) {
                        return;
                    }
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no thread came to " + className + "." + method);
    }

    @Test
    void aKeyedRequestToAnInternalTopicIsRefusedBeforeKafkaIsAskedOfIt(Rest rest, KafkaCluster kafka) throws Exception {
        // The broker creates topics a producer looks up: a keyed request's producer must not look
        // up a topic no client may write (nor build a transactional producer for it).
        String topic = "__idem-internal-" + UUID.randomUUID().toString().substring(0, 8);
        for (Route route : routes(kafka, topic)) {
            Rest.Response r = post(rest, route, key());
            assertEquals(403, r.status(), route.name() + ": " + r.body());
        }
        assertFalse(kafka.admin().listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true))
                .names().get(30, TimeUnit.SECONDS).contains(topic), "the topic was not created");
    }

    @Test
    void aKeyedRequestWithARecordThatCannotBeWrittenAsItIsDoesNotCallTheOthersRetriable(Rest rest, KafkaCluster kafka)
            throws Exception {
        // A keyless record for a compacted topic is refused whatever the retry: the request is
        // written whole or not at all, and its other records are told to correct it, not to retry.
        String topic = KafkaCluster.uniqueTopic("idem-compacted");
        kafka.admin().createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1)
                .configs(Map.of("cleanup.policy", "compact")))).all().get(30, TimeUnit.SECONDS);
        String body = "{\"records\":[{\"key\":\"aw==\",\"value\":\"dg==\"},{\"value\":\"dg==\"}]}";
        Rest.Response r = rest.post("/topics/" + topic, V1, body, "Idempotency-Key", key());
        assertEquals(200, r.status(), r.body());
        com.fasterxml.jackson.databind.JsonNode offsets = r.json().get("offsets");
        assertEquals(50002, offsets.get(0).get("error_code").asInt(), r.body());
        assertTrue(offsets.get(0).get("error").asText().contains("correct that record"), r.body());
        assertTrue(offsets.get(1).get("error").asText().contains("without key"), r.body());
    }

    @Test
    void theStateTopicIsHiddenFromClients(Rest rest, KafkaCluster kafka) throws Exception {
        assertEquals(200, rest.post("/topics/" + kafka.createTopic(KafkaCluster.uniqueTopic("idem-hidden"), 1), V1,
                "{\"records\":[{\"value\":\"YQ==\"}]}", "Idempotency-Key", key()).status());
        String state = "_portico_idempotency";
        assertTrue(kafka.admin().listTopics().names().get(30, TimeUnit.SECONDS).contains(state), "created on start");
        assertFalse(rest.get("/topics").body().contains(state));
        assertFalse(rest.get("/v3/clusters/" + clusterId(kafka) + "/topics").body().contains(state));
        assertFalse(rest.get("/admin/topics").body().contains(state));
        assertEquals(403, rest.get("/topics/" + state).status());
        assertEquals(403, rest.get("/topics/" + state + "/partitions/0/messages?offset=0").status());
        assertEquals(403, rest.post("/topics/" + state, V1, "{\"records\":[{\"value\":\"YQ==\"}]}").status());
        assertEquals(403, rest.delete("/v3/clusters/" + clusterId(kafka) + "/topics/" + state).status());
        assertEquals(403, rest.delete("/admin/topics/" + state).status());
        assertEquals(403, rest.get("/v3/clusters/" + clusterId(kafka) + "/topics/" + state
                + "/partitions/0/records?offset=0").status());
        String group = "/consumers/" + UUID.randomUUID();
        String instance = rest.post(group, V2, "{\"format\":\"binary\"}").json().get("instance_id").asText();
        Rest.Response subscribe = rest.post(group + "/instances/" + instance + "/subscription", V2,
                "{\"topics\":[\"" + state + "\"]}");
        assertEquals(403, subscribe.status(), subscribe.body());
        rest.delete(group + "/instances/" + instance, "Content-Type", V2);
    }

    @Test
    void porticosReadersSkipRecordsOfAbortedTransactions(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-aborted"), 1);
        try (KafkaProducer<byte[], byte[]> tx = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers(),
                "transactional.id", "it-" + UUID.randomUUID()), new ByteArraySerializer(), new ByteArraySerializer())) {
            tx.initTransactions();
            tx.beginTransaction();
            tx.send(new ProducerRecord<>(topic, "aborted".getBytes(StandardCharsets.UTF_8))).get();
            tx.abortTransaction();
            tx.beginTransaction();
            tx.send(new ProducerRecord<>(topic, "committed".getBytes(StandardCharsets.UTF_8))).get();
            tx.commitTransaction();
        }
        Rest.Response read = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&count=10",
                "Accept", V1);
        assertEquals(200, read.status(), read.body());
        assertEquals(1, read.json().size(), read.body());
        assertEquals(base64("committed"), read.json().get(0).get("value").asText());
    }

    @Test
    void withoutKafkaTransactionsAKeyedRequestFailsClearlyAndProducesNothing() throws Exception {
        // A single broker that keeps Kafka's default replication of its transaction log cannot coordinate transactions.
        try (KafkaCluster plain = KafkaCluster.embedded(Map.of("transaction.state.log.replication.factor", "3"));
             TestPortico portico = TestPortico.start(plain, Map.of("metadata.timeout.ms", "5000"));
             TestPortico off = TestPortico.start(plain, Map.of("idempotency.enabled", "false"))) {
            String topic = plain.createTopic(KafkaCluster.uniqueTopic("idem-no-tx"), 1);
            Rest.Response keyed = portico.rest().post("/topics/" + topic, V1, "{\"records\":[{\"value\":\"YQ==\"}]}",
                    "Idempotency-Key", key());
            assertEquals(503, keyed.status(), keyed.body());
            assertEquals(503, keyed.json().get("error_code").asInt());
            assertTrue(keyed.json().get("message").asText().contains("transaction"), keyed.body());

            Rest.Response disabled = off.rest().post("/topics/" + topic, V1, "{\"records\":[{\"value\":\"Yg==\"}]}",
                    "Idempotency-Key", key());
            assertEquals(501, disabled.status(), disabled.body());
            assertTrue(disabled.json().get("message").asText().contains("idempotency.enabled=false"), disabled.body());

            assertEquals(200, portico.rest().post("/topics/" + topic, V1, "{\"records\":[{\"value\":\"Yw==\"}]}").status(),
                    "without a key, produce works as ever");
            assertEquals(List.of("c"), values(committed(plain, topic)));
        }
    }

    /**
     * A state topic created beforehand that deletes results after a minute, started with the
     * default idempotency.retention.ms (24 h): Portico raises the topic's retention.ms, so that a
     * node that starts later still finds results a day old.
     */
    @Test
    void anExistingStateTopicThatDeletesResultsSoonerHasItsRetentionRaised(KafkaCluster kafka) throws Exception {
        String state = "_portico_idempotency_" + UUID.randomUUID().toString().substring(0, 8);
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, state);
        NewTopic shortLived = new NewTopic(state, java.util.Optional.of(2), java.util.Optional.empty())
                .configs(Map.of("cleanup.policy", "compact,delete", "retention.ms", "60000"));
        kafka.admin().createTopics(List.of(shortLived)).all().get(30, TimeUnit.SECONDS);
        try (TestPortico portico = TestPortico.start(kafka, Map.of("idempotency.topic", state))) {
            String retention = kafka.admin().describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS)
                    .get(resource).get("retention.ms").value();
            assertEquals("86400000", retention, "raised to idempotency.retention.ms");
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-retention"), 1);
            Rest.Response keyed = portico.rest().post("/topics/" + topic, V1, "{\"records\":[{\"value\":\"YQ==\"}]}",
                    "Idempotency-Key", key());
            assertEquals(200, keyed.status(), keyed.body());
        } finally {
            kafka.admin().deleteTopics(List.of(state)).all().get(30, TimeUnit.SECONDS);
        }
    }

    // ---- reading what Kafka holds

    /** Every committed record of {@code topic}, read with {@code read_committed} to the end of each partition. */
    static List<ConsumerRecord<byte[], byte[]>> committed(KafkaCluster kafka, String topic) {
        return kafka.readToEnd(topic, "read_committed");
    }

    static List<String> values(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList();
    }

    private static List<String> sorted(List<String> values) {
        return values.stream().sorted().toList();
    }

    private static String base64(String s) {
        return java.util.Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
