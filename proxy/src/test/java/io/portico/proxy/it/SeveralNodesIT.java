package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three Portico nodes in front of one broker, as behind a round-robin load balancer: a consumer
 * instance created on one node is read, committed and deleted through the others (v1 and v2, with
 * API keys on); a node that stops takes its instances with it, and a new instance resumes from
 * the group's commit; a node restarted with its id frees its former instances' names; relayed
 * requests without the node secret are refused.
 */
@ExtendWith(PorticoExtension.class)
class SeveralNodesIT {
    private static final String V2 = "application/vnd.kafka.v2+json";
    private static final String BINARY_V2 = "application/vnd.kafka.binary.v2+json";
    private static final String V1 = "application/vnd.kafka.v1+json";
    private static final String BINARY_V1 = "application/vnd.kafka.binary.v1+json";
    private static final String APP = "app-" + UUID.randomUUID();
    private static final String OTHER = "other-" + UUID.randomUUID();
    private static final String SECRET = "nodes-" + UUID.randomUUID();

    @TempDir
    static Path dir;
    private static KafkaCluster kafka;
    private static Map<String, String> nodeConfig;
    private static final List<TestPortico> nodes = new ArrayList<>();

    @BeforeAll
    static void start(KafkaCluster cluster) throws IOException {
        kafka = cluster;
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"app\",\"key\":\"" + APP + "\",\"role\":\"writer\",\"topics\":[\"*\"]},"
                + "{\"name\":\"other\",\"key\":\"" + OTHER + "\",\"role\":\"reader\",\"topics\":[\"*\"]}]}");
        nodeConfig = new HashMap<>(Map.of(
                "authentication.method", "API_KEY",
                "api.keys.file", keys.toString(),
                "nodes.secret", SECRET,
                "nodes.topic", "__portico_nodes_" + UUID.randomUUID().toString().substring(0, 8),
                "nodes.heartbeat.interval.ms", "250",
                "nodes.expiry.ms", "3000",
                // Short, so the event-stream test sees that a relayed stream outlives it.
                "nodes.forward.timeout.ms", "2000"));
        for (int i = 0; i < 3; i++) {
            nodes.add(TestPortico.start(cluster, nodeConfig));
        }
    }

    @AfterAll
    static void stop() throws Exception {
        nodes.forEach(TestPortico::close);
        // The directory topic goes too: tests that list topics (whichever runs after) expect no "__" names.
        kafka.admin().deleteTopics(List.of(nodeConfig.get("nodes.topic"))).all().get();
    }

    private static Rest node(int i) {
        return nodes.get(i % nodes.size()).rest();
    }

    private static String[] as(String key, String... more) {
        String[] out = new String[more.length + 2];
        out[0] = "Authorization";
        out[1] = "Bearer " + key;
        System.arraycopy(more, 0, out, 2, more.length);
        return out;
    }

    private static String path(String baseUri) {
        return URI.create(baseUri).getRawPath();
    }

    private static void produce(String topic, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            kafka.produce(topic, 0, null, ("v" + i).getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aV2InstanceIsUsedThroughEveryNodeRoundRobin() throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-v2"), 1);
        produce(topic, 12);
        String group = "nodes-v2-" + UUID.randomUUID();

        Rest.Response created = node(0).post("/consumers/" + group, V2,
                "{\"name\":\"c1\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}", as(APP));
        assertEquals(200, created.status(), created.body());
        String instance = path(created.json().get("base_uri").asText());
        assertEquals("/consumers/" + group + "/instances/c1", instance);

        assertEquals(204, node(1).post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}", as(APP))
                .status());
        Rest.Response subscription = node(2).get(instance + "/subscription", as(APP, "Accept", V2));
        assertEquals(200, subscription.status(), subscription.body());
        assertEquals(topic, subscription.json().get("topics").get(0).asText());

        // Records through all three nodes in turn: one instance, one position.
        List<Long> offsets = new ArrayList<>();
        for (int i = 0; i < 60 && offsets.size() < 12; i++) {
            Rest.Response r = node(i).get(instance + "/records?timeout=500&max_bytes=20", as(APP, "Accept", BINARY_V2));
            assertEquals(200, r.status(), "through node " + (i % 3) + ": " + r.body());
            r.json().forEach(rec -> offsets.add(rec.get("offset").asLong()));
        }
        List<Long> expected = new ArrayList<>();
        for (long o = 0; o < 12; o++) {
            expected.add(o);
        }
        assertEquals(expected, offsets, "each record once, in order, whichever node was asked");

        Rest.Response commit = node(1).post(instance + "/offsets", V2, "", as(APP));
        assertEquals(200, commit.status(), commit.body());
        Rest.Response committed = node(2).send(node(2).request(instance + "/offsets",
                as(APP, "Accept", V2, "Content-Type", V2)).method("GET", java.net.http.HttpRequest.BodyPublishers
                        .ofString("{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}")));
        assertEquals(200, committed.status(), committed.body());
        assertEquals(12, committed.json().get("offsets").get(0).get("offset").asLong(), committed.body());

        // The caller's identity travels with the relayed request: another key is refused by the holder.
        Rest.Response foreign = node(1).get(instance + "/records", as(OTHER, "Accept", BINARY_V2));
        assertEquals(403, foreign.status(), foreign.body());

        assertEquals(204, node(2).delete(instance, as(APP)).status());
        for (int i = 0; i < 3; i++) {
            Rest.Response gone = node(i).get(instance + "/records", as(APP, "Accept", BINARY_V2));
            assertEquals(404, gone.status(), gone.body());
            assertEquals(40403, gone.json().get("error_code").asInt(), gone.body());
        }
    }

    @Test
    void aRelayedReadThatWouldWaitLongerThanTheRelayAnswersWithinItAndLosesNothing() throws Exception {
        // The instance's reads wait 20 s for records; these two nodes relay for 8 s, so the holder
        // caps a relayed read's wait at 6 s. Relayed, a read answers within the relay's time ([] on
        // an empty topic), not a 504 while the holder still reads (whatever came meanwhile would be
        // answered to nobody). A pair of its own: under the class's 2 s relay the capped read would
        // leave only 0.5 s for the hops, which a stall of the JVM can take.
        Map<String, String> config = new HashMap<>(nodeConfig);
        config.put("nodes.forward.timeout.ms", "8000");
        TestPortico holder = TestPortico.start(kafka, config);
        TestPortico relay = TestPortico.start(kafka, config);
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-wait"), 1);
            String group = "nodes-wait-" + UUID.randomUUID();
            Rest.Response created = holder.rest().post("/consumers/" + group, V2, "{\"name\":\"slow\",\"format\":\"binary\","
                    + "\"auto.offset.reset\":\"earliest\",\"consumer.request.timeout.ms\":20000}", as(APP));
            assertEquals(200, created.status(), created.body());
            String instance = path(created.json().get("base_uri").asText());
            assertEquals(204, holder.rest().post(instance + "/assignments", V2,
                    "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}", as(APP)).status());
            for (String read : List.of("/records", "/records?timeout=60000")) {
                Rest.Response empty = relay.rest().get(instance + read, as(APP, "Accept", BINARY_V2));
                assertEquals(200, empty.status(), read + " relayed: " + empty.body());
                assertEquals(0, empty.json().size(), empty.body());
            }
            produce(topic, 1);
            List<String> values = new ArrayList<>();
            for (int i = 0; i < 20 && values.isEmpty(); i++) {
                Rest.Response r = relay.rest().get(instance + "/records", as(APP, "Accept", BINARY_V2));
                assertEquals(200, r.status(), r.body());
                r.json().forEach(rec -> values.add(new String(java.util.Base64.getDecoder().decode(rec.get("value").asText()),
                        StandardCharsets.UTF_8)));
            }
            assertEquals(List.of("v0"), values, "the record produced after the empty reads");
            assertEquals(204, holder.rest().delete(instance, as(APP)).status());
        } finally {
            relay.close();
            holder.close();
        }
    }

    @Test
    void aV1InstanceWithAGeneratedNameIsReadCommittedAndDeletedThroughOtherNodes() throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-v1"), 1);
        produce(topic, 5);
        String group = "nodes-v1-" + UUID.randomUUID();
        Rest.Response created = node(2).post("/consumers/" + group, V1,
                "{\"format\":\"binary\",\"auto.offset.reset\":\"smallest\"}", as(APP));
        assertEquals(200, created.status(), created.body());
        String id = created.json().get("instance_id").asText();
        assertTrue(id.startsWith("rest-consumer-" + nodes.get(2).portico().nodeId() + "-"), id);
        String instance = path(created.json().get("base_uri").asText());

        List<JsonNode> records = new ArrayList<>();
        for (int i = 0; i < 20 && records.size() < 5; i++) {
            Rest.Response r = node(i % 2).get(instance + "/topics/" + topic, as(APP, "Accept", BINARY_V1));
            assertEquals(200, r.status(), r.body());
            r.json().forEach(records::add);
        }
        assertEquals(5, records.size());
        Rest.Response commit = node(0).post(instance + "/offsets", V1, "", as(APP));
        assertEquals(200, commit.status(), commit.body());
        assertEquals(5, commit.json().get(0).get("consumed").asLong() + 1, commit.body());
        assertEquals(204, node(1).delete(instance, as(APP)).status());
        assertEquals(404, node(2).get(instance + "/topics/" + topic, as(APP, "Accept", BINARY_V1)).status());
    }

    @Test
    void aNodeThatStopsTakesItsInstancesAndANewInstanceResumesFromTheCommit() throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-left"), 1);
        produce(topic, 6);
        String group = "nodes-left-" + UUID.randomUUID();
        TestPortico leaving = TestPortico.start(kafka, nodeConfig);
        String instance;
        String leftId = leaving.portico().nodeId();
        try {
            Rest.Response created = leaving.rest().post("/consumers/" + group, V2,
                    "{\"name\":\"first\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}", as(APP));
            assertEquals(200, created.status(), created.body());
            instance = path(created.json().get("base_uri").asText());
            assertEquals(204, node(0).post(instance + "/assignments", V2,
                    "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}", as(APP)).status());
            List<Long> offsets = new ArrayList<>();
            for (int i = 0; i < 20 && offsets.size() < 3; i++) {
                Rest.Response r = node(i).get(instance + "/records?timeout=500&max_bytes=4", as(APP, "Accept", BINARY_V2));
                assertEquals(200, r.status(), r.body());
                r.json().forEach(rec -> offsets.add(rec.get("offset").asLong()));
            }
            assertEquals(List.of(0L, 1L, 2L), offsets.subList(0, 3));
            // Commits what it returned: offsets 0.. up to the last record read.
            long next = offsets.get(offsets.size() - 1) + 1;
            assertEquals(200, node(1).post(instance + "/offsets", V2, "", as(APP)).status());

            leaving.close();

            Rest.Response gone = node(2).get(instance + "/records", as(APP, "Accept", BINARY_V2));
            assertEquals(404, gone.status(), gone.body());
            assertEquals(40403, gone.json().get("error_code").asInt(), gone.body());
            assertTrue(gone.json().get("message").asText().contains("'" + leftId + "', which has left"), gone.body());

            Rest.Response again = node(0).post("/consumers/" + group, V2,
                    "{\"name\":\"second\",\"format\":\"binary\"}", as(APP));
            assertEquals(200, again.status(), again.body());
            String second = path(again.json().get("base_uri").asText());
            assertEquals(204, node(1).post(second + "/assignments", V2,
                    "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}", as(APP)).status());
            List<Long> resumed = new ArrayList<>();
            for (int i = 0; i < 20 && resumed.size() < 6 - next; i++) {
                Rest.Response r = node(i + 2).get(second + "/records?timeout=500", as(APP, "Accept", BINARY_V2));
                assertEquals(200, r.status(), r.body());
                r.json().forEach(rec -> resumed.add(rec.get("offset").asLong()));
            }
            assertEquals(next, resumed.get(0), "the new instance starts at the commit: " + resumed);
            assertEquals(204, node(0).delete(second, as(APP)).status());
        } finally {
            leaving.close();
        }
    }

    /**
     * A relayed event stream whose link to the holder goes silent while the holder is still heard
     * from (a cut between the two nodes, not a departure) is ended by the relaying node once four
     * of its heartbeats passed without a byte, so that its client reconnects and resumes with its
     * Last-Event-ID instead of waiting for good.
     */
    @Test
    void aRelayedStreamWhoseLinkToTheHolderGoesSilentIsEnded() throws Exception {
        Link link = new Link(); // in front of the holder: passes bytes on until cut
        Map<String, String> config = new HashMap<>(nodeConfig);
        config.put("sse.heartbeat.ms", "250"); // the relaying node ends a stream silent for 1 s
        Map<String, String> holderConfig = new HashMap<>(config);
        holderConfig.put("node.url", "http://127.0.0.1:" + link.port());
        TestPortico holder = TestPortico.start(kafka, holderConfig);
        link.to(holder.rest().base().getPort());
        TestPortico relaying = TestPortico.start(kafka, config);
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-sse-cut"), 1);
            produce(topic, 1);
            String instance = subscribedOn(holder, "nodes-sse-cut-", EARLIEST, topic, APP);
            try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(
                    relaying.rest().uri(instance + "/records"), "Authorization", "Bearer " + APP)) {
                assertEquals(200, stream.status(), stream.errorBody());
                assertEquals(topic + "/0/0", stream.next(java.time.Duration.ofSeconds(30)).id());
                link.cut();
                assertTrue(stream.awaitEnd(java.time.Duration.ofSeconds(60)), "the silent relayed stream is ended");
            }
        } finally {
            relaying.close();
            holder.close();
            link.close();
        }
    }

    @Test
    void aRelayedStreamTheHolderRefusesDoesNotLeaveItsConnectionToBeUsedAgain() throws Exception {
        // Undertow's client wraps a kept-alive connection in one more read-timeout layer for each
        // request it sends on it: refused streams retried for hours on one connection nested them
        // until a read overflowed the IO thread's stack. A relayed stream's connection is the
        // stream's alone, closed after it, whatever the holder answers.
        Link link = new Link();
        Map<String, String> holderConfig = new HashMap<>(nodeConfig);
        holderConfig.put("node.url", "http://127.0.0.1:" + link.port());
        TestPortico holder = TestPortico.start(kafka, holderConfig);
        link.to(holder.rest().base().getPort());
        Map<String, String> relayingConfig = new HashMap<>(nodeConfig);
        relayingConfig.put("io.threads", "1"); // one pool of connections to the holder
        TestPortico relaying = TestPortico.start(kafka, relayingConfig);
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-sse-refused"), 1);
            produce(topic, 1);
            String instance = subscribedOn(holder, "nodes-sse-refused-", EARLIEST, topic, APP);
            try (io.portico.proxy.testing.SseClient first = io.portico.proxy.testing.SseClient.open(
                    holder.rest().uri(instance + "/records"), "Authorization", "Bearer " + APP)) {
                assertEquals(200, first.status(), first.errorBody());
                int before = link.accepted();
                for (int i = 0; i < 3; i++) {
                    try (io.portico.proxy.testing.SseClient again = io.portico.proxy.testing.SseClient.open(
                            relaying.rest().uri(instance + "/records"), "Authorization", "Bearer " + APP)) {
                        assertEquals(409, again.status(), "the instance streams to its first client: " + again.errorBody());
                    }
                }
                assertEquals(before + 3, link.accepted(), "a connection to the holder for each relayed stream");
            }
        } finally {
            relaying.close();
            holder.close();
            link.close();
        }
    }

    /** A TCP relay to a port, which can stop passing bytes on while keeping its connections open. */
    private static final class Link implements AutoCloseable {
        private final java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        private final List<java.net.Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();
        private volatile int target;
        private volatile boolean cut;
        private volatile boolean closed;

        Link() throws IOException {
            daemon(() -> {
                try {
                    while (true) {
                        java.net.Socket in = server.accept();
                        java.net.Socket out = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), target);
                        sockets.add(in);
                        sockets.add(out);
                        daemon(() -> pump(in, out));
                        daemon(() -> pump(out, in));
                    }
                } catch (IOException closedNow) {
                    // closed
                }
            });
        }

        private static void daemon(Runnable r) {
            Thread t = new Thread(r, "link");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        /** How many connections it has taken. */
        int accepted() {
            return sockets.size() / 2;
        }

        void to(int port) {
            target = port;
        }

        void cut() {
            cut = true;
        }

        private void pump(java.net.Socket from, java.net.Socket to) {
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = from.getInputStream().read(buf)) >= 0) {
                    while (cut && !closed) {
                        Thread.sleep(20); // silent: nothing passed on, the connection kept open
                    }
                    to.getOutputStream().write(buf, 0, n);
                    to.getOutputStream().flush();
                }
            } catch (IOException | InterruptedException e) {
                // closed
            }
        }

        @Override
        public void close() throws IOException {
            closed = true;
            server.close();
            for (java.net.Socket s : sockets) {
                s.close();
            }
        }
    }

    /**
     * A relayed request the holder does not answer within {@code nodes.forward.timeout.ms} (an
     * avro read decoding a record whose schema the registry holds) is answered 504 with
     * {@code Connection: close}: Undertow closes the client's connection once the relay's
     * connection to the holder has drained shut, seconds later, when a kept-alive connection
     * could carry the client's next request (or another client's, behind a load balancer).
     */
    @Test
    void aRelayedRequestThatTimesOutClosesItsClientsConnectionWithTheAnswer() throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-timeout"), 1);
        // framed as the schema formats frame records: magic byte 0, schema id 2 (held), avro "x"
        kafka.produce(topic, 0, null, new byte[] {0, 0, 0, 0, 2, 2, 'x'});
        String group = "nodes-timeout-" + UUID.randomUUID();
        io.portico.proxy.testing.HoldingRegistry registry = new io.portico.proxy.testing.HoldingRegistry();
        Map<String, String> config = new HashMap<>(nodeConfig);
        config.put("schema.registry.url", registry.url());
        config.put("schema.registry.request.timeout.ms", "60000");
        TestPortico holder = TestPortico.start(kafka, config);
        try {
            Rest.Response created = holder.rest().post("/consumers/" + group, V2,
                    "{\"name\":\"slow\",\"format\":\"avro\",\"auto.offset.reset\":\"earliest\"}", as(APP));
            assertEquals(200, created.status(), created.body());
            String instance = path(created.json().get("base_uri").asText());
            assertEquals(204, holder.rest().post(instance + "/assignments", V2,
                    "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}", as(APP)).status());

            Rest relay = node(0);
            try (java.net.Socket socket = new java.net.Socket(relay.base().getHost(), relay.base().getPort())) {
                socket.setSoTimeout(60_000);
                socket.getOutputStream().write(("GET " + instance + "/records HTTP/1.1\r\nHost: localhost\r\n"
                        + "Authorization: Bearer " + APP + "\r\nAccept: application/vnd.kafka.avro.v2+json\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                java.io.InputStream in = socket.getInputStream();
                String head = AdminRequestsPerKeyIT.readHead(in);
                String h = head.toLowerCase(java.util.Locale.ROOT);
                assertTrue(h.startsWith("http/1.1 504"), head);
                assertTrue(h.contains("\r\nconnection: close\r\n"), head);
                String body = new String(in.readAllBytes(), StandardCharsets.UTF_8); // to the close, not later
                assertTrue(body.contains("did not answer within nodes.forward.timeout.ms"), body);
            }
            assertTrue(registry.held() >= 1, "the holder's read was waiting on the registry");
        } finally {
            registry.close(); // the holder's read ends
            holder.close();
        }
    }

    /**
     * Nodes with fixed ids: one restarts while it holds an instance. The instance went with the
     * node's former run, so through the other node its name is free (not 40902 for as long as
     * the restarted node lives) and a request for it is 40403, as with a single node.
     */
    @Test
    void aNodeRestartedWithItsIdFreesTheNamesOfItsFormerInstances() throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> first = new HashMap<>(nodeConfig);
        first.put("id", "fixed-a-" + suffix);
        Map<String, String> second = new HashMap<>(nodeConfig);
        second.put("id", "fixed-b-" + suffix);
        String group = "nodes-restart-" + UUID.randomUUID();
        TestPortico a = TestPortico.start(kafka, first);
        TestPortico b = TestPortico.start(kafka, second);
        try {
            Rest.Response created = a.rest().post("/consumers/" + group, V2,
                    "{\"name\":\"my_consumer\",\"format\":\"binary\"}", as(APP));
            assertEquals(200, created.status(), created.body());
            String instance = path(created.json().get("base_uri").asText());

            a.close();
            a = TestPortico.start(kafka, first); // well within consumer.instance.timeout.ms

            Rest.Response gone = b.rest().get(instance + "/records", as(APP, "Accept", BINARY_V2));
            assertEquals(404, gone.status(), gone.body());
            assertEquals(40403, gone.json().get("error_code").asInt(), gone.body());
            Rest.Response again = b.rest().post("/consumers/" + group, V2,
                    "{\"name\":\"my_consumer\",\"format\":\"binary\"}", as(APP));
            assertEquals(200, again.status(), again.body());
            assertEquals(204, a.rest().delete(instance, as(APP)).status(), "relayed to the node that holds it now");
        } finally {
            a.close();
            b.close();
        }
    }

    /**
     * One API key's long reads relayed to one node take at most 16 of the relay's connections to
     * it: the 17th and 18th of 18 reads waiting at once are 429, and another key's relayed
     * request is answered meanwhile.
     */
    @Test
    void oneKeysRelayedReadsTakeAtMostItsShareOfTheConnectionsToANode() throws Exception {
        Map<String, String> config = new HashMap<>(nodeConfig);
        config.put("nodes.forward.timeout.ms", "60000");
        TestPortico holder = TestPortico.start(kafka, config);
        TestPortico relay = TestPortico.start(kafka, config);
        java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(18);
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-share"), 1); // empty: reads wait
            String othersInstance = subscribedOn(holder, "nodes-share-", "{\"format\":\"binary\"}", topic, OTHER);
            List<String> instances = new ArrayList<>();
            for (int i = 0; i < 9; i++) { // two reads each (an instance serves its reads one at a time)
                String instance = subscribedOn(holder, "nodes-share-", "{\"format\":\"binary\"}", topic, APP);
                assertEquals(200, holder.rest().get(instance + "/records?timeout=100", as(APP, "Accept", BINARY_V2)).status());
                instances.add(instance);
            }
            List<java.util.concurrent.Future<Rest.Response>> reads = new ArrayList<>();
            for (int i = 0; i < 18; i++) {
                String instance = instances.get(i % 9);
                reads.add(clients.submit(() -> relay.rest().get(instance + "/records?timeout=8000",
                        as(APP, "Accept", BINARY_V2))));
            }
            List<Rest.Response> refused = new ArrayList<>();
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(7);
            while (refused.size() < 2 && System.nanoTime() < deadline) {
                refused.clear();
                for (java.util.concurrent.Future<Rest.Response> read : reads) {
                    if (read.isDone() && read.get().status() == 429) {
                        refused.add(read.get());
                    }
                }
                Thread.sleep(20);
            }
            assertEquals(2, refused.size(), "two of 18 reads past the key's 16 relayed at once");
            assertTrue(refused.get(0).body().contains("relayed to node"), refused.get(0).body());
            Rest.Response other = relay.rest().get(othersInstance + "/subscription", as(OTHER));
            assertEquals(200, other.status(), "another key is relayed meanwhile: " + other.body());
            assertEquals(topic, other.json().get("topics").get(0).asText(), other.body());
            int served = 0;
            for (java.util.concurrent.Future<Rest.Response> read : reads) {
                Rest.Response r = read.get(60, java.util.concurrent.TimeUnit.SECONDS);
                served += r.status() == 200 ? 1 : 0;
            }
            assertEquals(16, served, "the others were served");
        } finally {
            clients.shutdownNow();
            relay.close();
            holder.close();
        }
    }

    /** A binary v2 instance's body that reads a new group's partitions from their beginning. */
    private static final String EARLIEST = "{\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}";

    /**
     * A v2 instance of a new group ({@code groupPrefix} and a random part) made on {@code node}
     * with {@code body} by {@code key}'s caller, and subscribed to {@code topic} there; its path.
     */
    private static String subscribedOn(TestPortico node, String groupPrefix, String body, String topic, String key) {
        Rest.Response created = node.rest().post("/consumers/" + groupPrefix + UUID.randomUUID(), V2, body, as(key));
        assertEquals(200, created.status(), created.body());
        String instance = path(created.json().get("base_uri").asText());
        assertEquals(204, node.rest().post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}",
                as(key)).status());
        return instance;
    }

    /**
     * A binary v2 instance {@code name} of a new group, created on node 0 (reading from the
     * earliest offset) and subscribed to {@code topic} through {@code via}; its path.
     */
    private static String subscribedInstance(String groupPrefix, String name, String topic, Rest via) {
        Rest.Response created = node(0).post("/consumers/" + groupPrefix + UUID.randomUUID(), V2,
                "{\"name\":\"" + name + "\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}", as(APP));
        assertEquals(200, created.status(), created.body());
        String instance = path(created.json().get("base_uri").asText());
        assertEquals(204, via.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}", as(APP)).status());
        return instance;
    }

    @Test
    void anInstancesEventStreamIsRelayedLiveThroughAnotherNode() throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-sse"), 1);
        produce(topic, 3);
        String instance = subscribedInstance("nodes-sse-", "streamed", topic, node(1));
        try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(
                node(2).uri(instance + "/records"), "Authorization", "Bearer " + APP)) {
            assertEquals(200, stream.status(), stream.errorBody());
            List<String> ids = new ArrayList<>();
            stream.take(3, java.time.Duration.ofSeconds(30)).forEach(e -> ids.add(e.id()));
            assertEquals(List.of(topic + "/0/0", topic + "/0/1", topic + "/0/2"), ids);
            // Live, through the relay, after longer than nodes.forward.timeout.ms (which bounds
            // plain relayed requests, never streams): a record produced now arrives.
            Thread.sleep(2500);
            kafka.produce(topic, 0, null, "live".getBytes(StandardCharsets.UTF_8));
            assertEquals(topic + "/0/3", stream.next(java.time.Duration.ofSeconds(30)).id());
            // A commit through the third node while the stream is open.
            assertEquals(200, node(1).post(instance + "/offsets", V2, "", as(APP)).status());
        }
        assertEquals(204, node(1).delete(instance, as(APP)).status());
    }

    @Test
    void aRelayedStreamWhoseClientLeavesFreesItsInstanceAtTheHolderAtOnce() throws Exception {
        // Quiet streams (no heartbeat for an hour): the relaying node tells the holder at once that
        // the client left, so the instance streams to the client's next connection (a reloaded
        // page's new EventSource, to which a 409 is final) instead of being held until a write fails.
        Map<String, String> quiet = new HashMap<>(nodeConfig);
        quiet.put("sse.heartbeat.ms", "3600000");
        TestPortico holder = TestPortico.start(kafka, quiet);
        TestPortico relaying = TestPortico.start(kafka, quiet);
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-sse-left"), 1);
            produce(topic, 1);
            String instance = subscribedOn(holder, "nodes-sse-left-", EARLIEST, topic, APP);
            java.net.URI records = relaying.rest().uri(instance + "/records");
            try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(records,
                    "Authorization", "Bearer " + APP)) {
                assertEquals(200, stream.status(), stream.errorBody());
                assertEquals(topic + "/0/0", stream.next(java.time.Duration.ofSeconds(30)).id());
            } // left: nothing more is written to it
            long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
            while (true) {
                try (io.portico.proxy.testing.SseClient again = io.portico.proxy.testing.SseClient.open(records,
                        "Authorization", "Bearer " + APP)) {
                    if (again.status() == 200 || again.status() != 409 || System.nanoTime() > deadline) {
                        assertEquals(200, again.status(), again.errorBody());
                        produce(topic, 1);
                        assertEquals(topic + "/0/1", again.next(java.time.Duration.ofSeconds(30)).id());
                        break;
                    }
                }
                Thread.sleep(100);
            }
        } finally {
            relaying.close();
            holder.close();
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 90, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void anInstancesEventStreamIsRelayedEventByEventToAnHttp2Client() throws Exception {
        // HTTP/2 keeps a stream's bytes until its frame fills or is flushed: the relay flushes
        // each write, so events (a few bytes each) arrive as they come, not 16 KiB later.
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-sse-h2"), 1);
        produce(topic, 2);
        String instance = subscribedInstance("nodes-sse-h2-", "streamed", topic, node(1));
        java.net.http.HttpClient h2 = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_2).connectTimeout(java.time.Duration.ofSeconds(10)).build();
        try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(h2,
                node(2).uri(instance + "/records"), "Authorization", "Bearer " + APP)) {
            assertEquals(200, stream.status(), stream.errorBody());
            assertEquals(java.net.http.HttpClient.Version.HTTP_2, stream.version());
            List<String> ids = new ArrayList<>();
            stream.take(2, java.time.Duration.ofSeconds(30)).forEach(e -> ids.add(e.id()));
            assertEquals(List.of(topic + "/0/0", topic + "/0/1"), ids);
            kafka.produce(topic, 0, null, "live".getBytes(StandardCharsets.UTF_8));
            assertEquals(topic + "/0/2", stream.next(java.time.Duration.ofSeconds(30)).id());
        }
        assertEquals(204, node(1).delete(instance, as(APP)).status());
    }

    /**
     * An HTTP/2 client that takes none of a relayed event stream has its stream reset; the
     * connection to the holder that carried it, its answer half read, is closed rather than given
     * to the next stream relayed to that node (which waited behind it for good).
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void aRelayedStreamResetForItsStalledClientDoesNotLeaveItsConnectionToTheHolderToTheNext() throws Exception {
        Map<String, String> relaying = new HashMap<>(nodeConfig);
        relaying.put("request.body.timeout.ms", "1000"); // a stream the client takes none of for 1 s is reset
        relaying.put("io.threads", "1");
        relaying.put("sse.streams.max", "1"); // one connection to the holder for relayed streams
        relaying.put("nodes.forward.timeout.ms", "60000");
        TestPortico holder = TestPortico.start(kafka, nodeConfig);
        TestPortico relay = TestPortico.start(kafka, relaying);
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-sse-reset"), 1);
            byte[] value = "x".repeat(200).getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 300; i++) { // about 100 KB of events: more than the relay reads ahead
                kafka.produce(topic, 0, null, value);
            }
            List<String> instances = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                instances.add(subscribedOn(holder, "nodes-sse-reset-", EARLIEST, topic, APP));
            }
            try (java.net.Socket socket = new java.net.Socket(relay.rest().base().getHost(), relay.rest().base().getPort())) {
                io.portico.proxy.testing.RawHttp2 h2 = io.portico.proxy.testing.RawHttp2.zeroWindow(socket);
                h2.get(1, instances.get(0) + "/records", "accept", "text/event-stream", "authorization", "Bearer " + APP);
                io.portico.proxy.testing.RawHttp2.Frame f;
                do {
                    f = h2.read();
                    assertTrue(f.type() != io.portico.proxy.testing.RawHttp2.Frame.GOAWAY, "GOAWAY");
                } while (f.type() != io.portico.proxy.testing.RawHttp2.Frame.RST_STREAM);
                assertEquals(1, f.stream(), "the stalled stream is reset");
            }
            try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(
                    relay.rest().uri(instances.get(1) + "/records"), "Authorization", "Bearer " + APP)) {
                assertEquals(200, stream.status(), stream.errorBody());
                assertEquals(topic + "/0/0", stream.next(java.time.Duration.ofSeconds(30)).id());
            }
        } finally {
            relay.close();
            holder.close();
        }
    }

    /**
     * An HTTP/2 client resets its relayed long poll while every connection the relaying node's IO
     * thread has to the holder is busy and another request waits for one. When the holder
     * answers the poll, the connection that carried it, its answer half read, is closed rather
     * than handed to the waiting request (which was then sent behind that answer and answered
     * 503 when the connection closed): the waiting request is answered by the holder.
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void aRelayedRequestItsHttp2ClientResetsDoesNotLeaveItsConnectionToTheHolderToTheNext() throws Exception {
        // Authentication off: no key's share of the connections to a node, so one caller takes all 32.
        Map<String, String> config = new HashMap<>(nodeConfig);
        config.remove("authentication.method");
        config.remove("api.keys.file");
        config.put("nodes.forward.timeout.ms", "60000");
        Link link = new Link(); // in front of the holder: counts the connections to it
        Map<String, String> holderConfig = new HashMap<>(config);
        holderConfig.put("node.url", "http://127.0.0.1:" + link.port());
        TestPortico holder = TestPortico.start(kafka, holderConfig);
        link.to(holder.rest().base().getPort());
        Map<String, String> relayingConfig = new HashMap<>(config);
        relayingConfig.put("io.threads", "1"); // one pool of connections to the holder
        TestPortico relay = TestPortico.start(kafka, relayingConfig);
        java.util.concurrent.ExecutorService waiting = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-h2-reset"), 1); // empty: reads wait
            List<String> instances = new ArrayList<>();
            for (int i = 0; i < 33; i++) { // an instance serves its reads one at a time
                Rest.Response created = holder.rest().post("/consumers/nodes-h2-reset-" + UUID.randomUUID(), V2,
                        "{\"format\":\"binary\",\"consumer.request.timeout.ms\":5000}");
                assertEquals(200, created.status(), created.body());
                String instance = path(created.json().get("base_uri").asText());
                assertEquals(204, holder.rest().post(instance + "/assignments", V2,
                        "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}").status());
                instances.add(instance);
            }
            try (java.net.Socket socket = new java.net.Socket(relay.rest().base().getHost(), relay.rest().base().getPort())) {
                io.portico.proxy.testing.RawHttp2 h2 = io.portico.proxy.testing.RawHttp2.zeroWindow(socket);
                int before = link.accepted();
                // 32 polls (each answered [] after 5 s) take the IO thread's 32 connections to the
                // holder. The client grants no stream a window: the answers of the 31 not reset are
                // never taken, and they keep their connections.
                for (int i = 0; i < 32; i++) {
                    h2.get(2 * i + 1, instances.get(i) + "/records?timeout=5000", "accept", BINARY_V2);
                }
                long deadline = System.nanoTime() + java.time.Duration.ofSeconds(4).toNanos();
                while (link.accepted() < before + 32 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertEquals(before + 32, link.accepted(), "every connection of the IO thread to the holder is busy");
                h2.reset(1);
                java.util.concurrent.Future<Rest.Response> waiter = waiting.submit(() ->
                        relay.rest().get(instances.get(32) + "/assignments", "Accept", V2));
                Rest.Response answered = waiter.get(60, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(200, answered.status(), "the request that waited for a connection: " + answered.body());
                assertTrue(answered.body().contains(topic), answered.body());
            }
            // An HTTP/2 client's answers passed on whole leave their connection to the next request.
            try (java.net.Socket socket = new java.net.Socket(relay.rest().base().getHost(), relay.rest().base().getPort())) {
                io.portico.proxy.testing.RawHttp2 h2 = io.portico.proxy.testing.RawHttp2.zeroWindow(socket);
                int connections = 0;
                for (int stream = 1; stream <= 5; stream += 2) {
                    h2.get(stream, instances.get(32) + "/assignments", "accept", V2);
                    h2.grant(stream, 65_535);
                    StringBuilder body = new StringBuilder();
                    io.portico.proxy.testing.RawHttp2.Frame f;
                    do {
                        f = h2.read();
                        assertTrue(f.type() != io.portico.proxy.testing.RawHttp2.Frame.RST_STREAM, "reset");
                        if (f.type() == io.portico.proxy.testing.RawHttp2.Frame.DATA && f.stream() == stream) {
                            body.append(new String(f.payload(), StandardCharsets.UTF_8));
                        }
                    } while (f.stream() != stream || !f.endsStream());
                    assertTrue(body.toString().contains(topic), body.toString());
                    if (stream == 1) {
                        connections = link.accepted();
                    }
                }
                assertEquals(connections, link.accepted(), "one connection to the holder for the three");
            }
        } finally {
            waiting.shutdownNow();
            relay.close();
            holder.close();
            link.close();
        }
    }

    @Test
    void aRelayedRequestThatReachesAnotherNodeThanItsTargetIsRefusedNotAnsweredAsUnknown() {
        // As when every node's directory address is a load balancer's: the request reaches a node
        // that does not hold the instance, which must not answer "no such instance".
        String path = "/consumers/nodes-misdirected/instances/i/subscription";
        String own = nodes.get(1).portico().nodeId();
        String running = nodes.get(2).portico().nodeId();
        Rest.Response misdirected = node(1).get(path, as(APP, "Portico-Node-Secret", SECRET,
                "Portico-Forwarded-By", nodes.get(0).portico().nodeId(), "Portico-Forwarded-To", running));
        assertEquals(421, misdirected.status(), misdirected.body());
        assertEquals(421, misdirected.json().get("error_code").asInt());
        // For a node that does not run (crashed; this node started at its address since): its
        // instances are gone, as any departed node's.
        Rest.Response earlierRun = node(1).get(path, as(APP, "Portico-Node-Secret", SECRET,
                "Portico-Forwarded-By", nodes.get(0).portico().nodeId(), "Portico-Forwarded-To", own + "-earlier"));
        assertEquals(404, earlierRun.status(), earlierRun.body());
        assertEquals(40403, earlierRun.json().get("error_code").asInt());
        Rest.Response meant = node(1).get(path, as(APP, "Portico-Node-Secret", SECRET,
                "Portico-Forwarded-By", nodes.get(0).portico().nodeId(), "Portico-Forwarded-To", own));
        assertEquals(404, meant.status(), "served by the node it was meant for: " + meant.body());
        Rest.Response claimed = node(1).get(path, as(APP, "Portico-Forwarded-To", own));
        assertEquals(403, claimed.status(), "only with the nodes' secret: " + claimed.body());
    }

    @Test
    void anInstancesEventStreamOpenedWithATokenIsRelayedThroughAnotherNode() throws Exception {
        // sse.token.secret unset: the nodes sign tokens with a key made from their node secret.
        // The node the browser asks checks the token, and the node holding the instance believes
        // it for the key.
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-token"), 1);
        produce(topic, 2);
        String instance = subscribedInstance("nodes-token-", "tokened", topic, node(1));
        Rest.Response minted = node(2).post("/sse/tokens", "application/json",
                "{\"path\":\"" + instance + "/records\"}", as(APP));
        assertEquals(200, minted.status(), minted.body());
        String token = java.net.URLEncoder.encode(minted.json().get("token").asText(), StandardCharsets.UTF_8);
        try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(
                node(2).uri(instance + "/records?sse_token=" + token))) {
            assertEquals(200, stream.status(), stream.errorBody());
            List<String> ids = new ArrayList<>();
            stream.take(2, java.time.Duration.ofSeconds(30)).forEach(e -> ids.add(e.id()));
            assertEquals(List.of(topic + "/0/0", topic + "/0/1"), ids);
        }
        // A load balancer sends the reconnecting browser to another node: the token opens it there too.
        try (io.portico.proxy.testing.SseClient again = io.portico.proxy.testing.SseClient.open(
                node(0).uri(instance + "/records?sse_token=" + token), "Last-Event-ID", topic + "/0/1")) {
            assertEquals(200, again.status(), again.errorBody());
        }
        assertEquals(204, node(1).delete(instance, as(APP)).status());
    }

    /**
     * A node that shuts down while it relays an instance's event stream: the holder ends the
     * stream cleanly as soon as the relaying node says it leaves (the client sees the response
     * end, not a dropped connection, long before the relaying node's graceful period is over),
     * and the client resumes through another node with Last-Event-ID, nothing lost or repeated.
     */
    @Test
    void aNodeThatStopsWhileRelayingAStreamHasItEndedCleanlyAndTheClientResumesElsewhere() throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-sse-leave"), 1);
        produce(topic, 3);
        String instance = subscribedInstance("nodes-sse-leave-", "relayed", topic, node(0));
        Map<String, String> config = new HashMap<>(nodeConfig);
        // Without the holder ending the stream, the relay would wait this long for it, then drop it.
        config.put("shutdown.graceful.ms", "120000");
        TestPortico relay = TestPortico.start(kafka, config);
        String last;
        try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(
                relay.rest().uri(instance + "/records"), "Authorization", "Bearer " + APP)) {
            assertEquals(200, stream.status(), stream.errorBody());
            List<String> ids = new ArrayList<>();
            stream.take(3, java.time.Duration.ofSeconds(30)).forEach(e -> ids.add(e.id()));
            assertEquals(List.of(topic + "/0/0", topic + "/0/1", topic + "/0/2"), ids);

            relay.close();

            assertTrue(stream.awaitEnd(java.time.Duration.ofSeconds(30)), "the relayed stream ends");
            assertTrue(stream.endedCleanly(), "the relayed stream ends as a response ends, not by a dropped connection");
            assertTrue(stream.pending().stream().noneMatch(e -> "error".equals(e.event())), stream.pending().toString());
            last = stream.lastEventId();
        } finally {
            relay.close();
        }
        assertEquals(topic + "/0/2", last);
        kafka.produce(topic, 0, null, "after".getBytes(StandardCharsets.UTF_8));
        try (io.portico.proxy.testing.SseClient resumed = io.portico.proxy.testing.SseClient.open(
                node(1).uri(instance + "/records"), "Authorization", "Bearer " + APP, "Last-Event-ID", last)) {
            assertEquals(200, resumed.status(), resumed.errorBody());
            assertEquals(topic + "/0/3", resumed.next(java.time.Duration.ofSeconds(30)).id());
        }
        assertEquals(204, node(1).delete(instance, as(APP)).status());
    }

    /**
     * The node holding an instance whose event stream another node relays vanishes without a
     * word (its process stopped with SIGSTOP: its connections stay open, nothing more comes on
     * them, and it heartbeats no more, as when its host is cut off): the relayed stream ends once
     * the node is unheard of for nodes.expiry.ms, so that its client reconnects (here it learns
     * that the node left) instead of waiting for good. The holder is the shipped jar in a process
     * of its own.
     */
    @Test
    void aRelayedStreamEndsOnceItsNodeVanishes() throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-vanish"), 1);
        produce(topic, 2);
        int port = TestPortico.freePort();
        StringBuilder config = new StringBuilder("listeners=http://127.0.0.1:" + port + "\nbootstrap.servers="
                + kafka.bootstrapServers() + "\n");
        nodeConfig.forEach((k, v) -> config.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
        Path properties = Files.writeString(dir.resolve("vanishing.properties"), config.toString());
        Path jar = Path.of("target", "portico.jar");
        assertTrue(Files.exists(jar), "run after package: " + jar.toAbsolutePath());
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-jar", jar.toString(), properties.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("vanishing.log").toFile()).start();
        try {
            Rest direct = new Rest(URI.create("http://127.0.0.1:" + port));
            Rest.Response created = null;
            long deadline = System.nanoTime() + java.time.Duration.ofSeconds(90).toNanos();
            while (created == null && System.nanoTime() < deadline && holder.isAlive()) {
                try {
                    created = direct.post("/consumers/nodes-vanish-" + UUID.randomUUID(), V2,
                            "{\"name\":\"frozen\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}", as(APP));
                } catch (RuntimeException notYet) {
                    Thread.sleep(200); // not listening yet
                }
            }
            assertTrue(created != null, "the node did not start: " + Files.readString(dir.resolve("vanishing.log")));
            assertEquals(200, created.status(), created.body());
            String instance = path(created.json().get("base_uri").asText());
            assertEquals(204, node(0).post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}", as(APP))
                    .status());
            try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(
                    node(1).uri(instance + "/records"), "Authorization", "Bearer " + APP)) {
                assertEquals(200, stream.status(), stream.errorBody());
                assertEquals(2, stream.take(2, java.time.Duration.ofSeconds(30)).size());

                Process stop = new ProcessBuilder("kill", "-STOP", Long.toString(holder.pid())).start();
                assertEquals(0, stop.waitFor(), "SIGSTOP");

                assertTrue(stream.awaitEnd(java.time.Duration.ofSeconds(60)), "the relayed stream ends");
            }
            Rest.Response gone = node(1).get(instance + "/records", as(APP, "Accept", BINARY_V2));
            assertEquals(404, gone.status(), gone.body());
            assertEquals(40403, gone.json().get("error_code").asInt(), gone.body());
        } finally {
            holder.destroyForcibly(); // SIGKILL ends a stopped process too
            holder.waitFor();
        }
    }

    @Test
    void aRelayedRequestWithoutTheNodeSecretIsRefused() {
        String path = "/consumers/g/instances/x/records";
        Rest.Response none = node(0).get(path, as(APP, "Accept", BINARY_V2, "Portico-Forwarded-By", "intruder"));
        assertEquals(403, none.status(), none.body());
        assertTrue(none.json().get("message").asText().contains("Portico-Node-Secret"), none.body());
        Rest.Response wrong = node(1).get(path, as(APP, "Accept", BINARY_V2, "Portico-Forwarded-By", "intruder",
                "Portico-Node-Secret", "guess"));
        assertEquals(403, wrong.status(), wrong.body());
        // The right secret is served as a relayed request (here: an instance this node does not hold).
        Rest.Response right = node(2).get(path, as(APP, "Accept", BINARY_V2, "Portico-Forwarded-By", "n",
                "Portico-Node-Secret", SECRET));
        assertEquals(404, right.status(), right.body());
        assertNotEquals(403, right.status());
    }

    /**
     * Clients at the address a node relays from (the same host, SNAT, an IPv6 /64) that send bad
     * API keys until their address is refused (429) do not make the holder refuse that node's
     * relays: a request with the node secret is recognized before the address's refused
     * credentials are counted. A right key from the address itself is still refused.
     */
    @Test
    void badKeysFromTheAddressOfARelayingNodeDoNotMakeTheHolderRefuseItsRelays() throws Exception {
        Map<String, String> config = new HashMap<>(nodeConfig);
        config.put("quota.auth.failures.per.second", "1"); // ten refused at once, then 429
        TestPortico holder = TestPortico.start(kafka, config);
        TestPortico relay = TestPortico.start(kafka, config);
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-guessed"), 1);
            String instance = subscribedOn(holder, "nodes-guessed-", EARLIEST, topic, APP);
            int refused = 0;
            for (int i = 0; i < 20 && refused == 0; i++) { // 127.0.0.1, the relaying node's address too
                int status = holder.rest().get("/topics", as("a-guess-0123456789")).status();
                refused += status == 429 ? 1 : 0;
            }
            assertEquals(1, refused, "the address's refused credentials are past their bound");
            Rest.Response direct = holder.rest().get(instance + "/subscription", as(APP));
            assertEquals(429, direct.status(), "a right key from that address is not tried: " + direct.body());
            Rest.Response relayed = relay.rest().get(instance + "/subscription", as(APP));
            assertEquals(200, relayed.status(), "relayed by the other node: " + relayed.body());
            assertEquals(topic, relayed.json().get("topics").get(0).asText(), relayed.body());
            // Where the node secret itself is guessed, a right one is not tried past the bound either:
            // it would tell the guesser it was right.
            Rest.Response guess = holder.rest().get(instance + "/subscription", as(APP, "Portico-Forwarded-By", "n",
                    "Portico-Node-Secret", "a-guess-0123456789"));
            assertEquals(429, guess.status(), guess.body());
            Rest.Response afterGuess = relay.rest().get(instance + "/subscription", as(APP));
            assertEquals(429, afterGuess.status(), "relayed from the guessing address: " + afterGuess.body());
        } finally {
            relay.close();
            holder.close();
        }
    }

    /**
     * A holder the relaying node cannot reach is answered 503 naming the node, not its internal
     * URL (that goes to the relaying node's log only).
     */
    @Test
    void aHolderThatCannotBeReachedIsA503ThatDoesNotTellItsUrl() throws Exception {
        Link link = new Link();
        Map<String, String> holderConfig = new HashMap<>(nodeConfig);
        holderConfig.put("node.url", "http://127.0.0.1:" + link.port());
        TestPortico holder = TestPortico.start(kafka, holderConfig);
        link.to(holder.rest().base().getPort());
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("nodes-unreachable"), 1);
            String instance = subscribedOn(holder, "nodes-unreachable-", EARLIEST, topic, APP);
            link.close(); // the holder still heartbeats, but its URL takes no connection
            Rest.Response r = node(0).get(instance + "/subscription", as(APP));
            assertEquals(503, r.status(), r.body());
            String message = r.json().get("message").asText();
            assertTrue(message.contains("does not answer"), "the relay's own answer: " + message);
            assertTrue(message.contains("node '" + holder.portico().nodeId() + "'"), message);
            assertTrue(!message.contains(Integer.toString(link.port())) && !message.contains("http"), message);
        } finally {
            holder.close();
            link.close();
        }
    }

    @Test
    void theNodeSecretDoesNotMakeAPartitionsStreamBelieveANamedCaller() throws Exception {
        // Only an instance's stream is ever relayed: a partition's, with the secret and a name, is not served.
        String topic = KafkaCluster.uniqueTopic("not-relayed");
        kafka.produce(topic, 0, null, "secret".getBytes(StandardCharsets.UTF_8));
        java.net.http.HttpRequest request = node(0).request("/topics/" + topic
                        + "/partitions/0/messages?offset=0&sse_token=x", "Accept", "text/event-stream",
                "Portico-Forwarded-By", "n", "Portico-Node-Secret", SECRET,
                "Portico-Forwarded-For", io.portico.proxy.auth.Authenticator.encodeName("app"))
                .timeout(java.time.Duration.ofSeconds(30)).build();
        java.net.http.HttpResponse<java.io.InputStream> response = java.net.http.HttpClient.newHttpClient()
                .send(request, java.net.http.HttpResponse.BodyHandlers.ofInputStream());
        response.body().close();
        assertEquals(401, response.statusCode(), "the stream was opened for the named caller");
    }
}
