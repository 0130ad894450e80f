package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.Json;
import io.portico.proxy.testing.HoldingRegistry;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.SseClient;
import io.portico.proxy.testing.TestPortico;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One client must never hurt another: produce requests of the schema formats waiting on a schema
 * registry that does not answer (more of them than the produce pool has threads) hold up no
 * produce that does not need the registry, whatever its dialect; reads decoding records likewise
 * hold up no read of the binary format, and their event streams no other stream. Nothing here is timed: the other
 * produces are answered while every schema request is still waiting (the registry's timeout is a
 * minute; the test ends them by closing the registry's socket).
 */
@ExtendWith(PorticoExtension.class)
class SlowRegistryIT {
    private static final String AVRO_V2 = "application/vnd.kafka.avro.v2+json";
    private static final int WAITING = 40; // over produce.threads (16): the whole schema pool, and its queue

    @Test
    void schemaProducesWaitingOnASilentRegistryHoldUpNoOtherProduce(KafkaCluster kafka) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(WAITING);
        SilentRegistry silent = new SilentRegistry();
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url",
                     "http://127.0.0.1:" + silent.port(), "schema.registry.request.timeout.ms", "60000"))) {
            Rest rest = p.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("slow-registry"), 1);
            List<CompletableFuture<Rest.Response>> waiting = new ArrayList<>();
            for (int i = 0; i < WAITING; i++) {
                String body = "{\"value_schema\":\"\\\"string\\\"\",\"records\":[{\"value\":\"x" + i + "\"}]}";
                waiting.add(CompletableFuture.supplyAsync(() -> rest.post("/topics/" + topic, AVRO_V2, body), clients));
            }
            int threads = 16;
            while (gauge(rest, "portico.pool.schema.active") < threads) {
                assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "a schema produce ended early");
                Thread.sleep(20); // polling until every thread of the schema pool is taken
            }

            // v2 binary, over 4 KiB (so it goes to a pool, not produced on the IO thread)
            StringBuilder v2 = new StringBuilder("{\"records\":[");
            for (int i = 0; i < 100; i++) {
                v2.append(i == 0 ? "" : ",").append("{\"value\":\"").append("QUJD".repeat(20)).append("\"}");
            }
            v2.append("]}");
            Rest.Response binary = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v2+json", v2.toString());
            assertEquals(200, binary.status(), binary.body());
            // the records endpoint, over 4 KiB
            Rest.Response record = rest.post("/topics/" + topic + "/records", "text/plain", "r".repeat(8192));
            assertEquals(200, record.status(), record.body());
            // a v3 batch of binary records
            String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
            Rest.Response batch = rest.post("/v3/clusters/" + cluster + "/topics/" + topic + "/records:batch",
                    "application/json", "{\"entries\":[{\"id\":\"a\",\"value\":{\"type\":\"STRING\",\"data\":\"s\"}}]}");
            assertEquals(207, batch.status(), batch.body());
            assertTrue(batch.body().contains("\"successes\":[{\"id\":\"a\""), batch.body());
            // a keyed v3 batch of binary records (written in a transaction, from the produce pool)
            Rest.Response keyed = rest.post("/v3/clusters/" + cluster + "/topics/" + topic + "/records:batch",
                    "application/json", "{\"entries\":[{\"id\":\"k\",\"value\":{\"type\":\"STRING\",\"data\":\"k\"}}]}",
                    "Idempotency-Key", "slow-registry-1");
            assertEquals(207, keyed.status(), keyed.body());
            assertTrue(keyed.body().contains("\"successes\":[{\"id\":\"k\""), keyed.body());
            // a v3 record over 4 KiB (sent from the produce pool)
            Rest.Response v3 = rest.post("/v3/clusters/" + cluster + "/topics/" + topic + "/records", "application/json",
                    "{\"value\":{\"type\":\"STRING\",\"data\":\"" + "v".repeat(6000) + "\"}}");
            assertEquals(200, v3.status(), v3.body());
            assertTrue(v3.body().startsWith("{\"error_code\":200,"), v3.body());
            assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "the schema produces were still waiting");

            silent.close(); // the registry goes away: the waiting requests end (503), none lost in a hang
            for (CompletableFuture<Rest.Response> w : waiting) {
                Rest.Response r = w.get(5, TimeUnit.MINUTES);
                assertEquals(503, r.status(), r.body());
            }
            assertEquals(104, kafka.read(topic, 104).size(), "100 binary records, one record, three v3 records: no avro one");
        } finally {
            silent.close();
            clients.shutdownNow();
        }
    }

    @Test
    void aSchemaProduceWhoseSchemaIsCachedIsNotHeldUpByThoseWaitingOnTheRegistry(KafkaCluster kafka) throws Exception {
        HoldingRegistry registry = new HoldingRegistry();
        ExecutorService clients = Executors.newFixedThreadPool(WAITING);
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url", registry.url(),
                "schema.registry.request.timeout.ms", "60000"))) {
            Rest rest = p.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("cached-schema"), 1);
            String cached = "{\"value_schema_id\":1,\"records\":[{\"value\":\"c\"}]}";
            Rest.Response first = rest.post("/topics/" + topic, AVRO_V2, cached);
            assertEquals(200, first.status(), first.body());
            List<CompletableFuture<Rest.Response>> waiting = new ArrayList<>();
            for (int i = 0; i < WAITING; i++) {
                String body = "{\"value_schema_id\":" + (2 + i) + ",\"records\":[{\"value\":\"w\"}]}";
                waiting.add(CompletableFuture.supplyAsync(() -> rest.post("/topics/" + topic, AVRO_V2, body), clients));
            }
            while (gauge(rest, "portico.pool.schema.active") < 16) {
                assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "a schema produce ended early");
                Thread.sleep(20); // polling until every thread of the schema pool is taken
            }
            Rest.Response again = rest.post("/topics/" + topic, AVRO_V2, cached);
            assertEquals(200, again.status(), again.body());
            assertEquals(1, again.json().get("value_schema_id").asInt(), again.body());
            assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "the others were still waiting");
            registry.close();
            for (CompletableFuture<Rest.Response> w : waiting) {
                Rest.Response r = w.get(5, TimeUnit.MINUTES);
                assertTrue(r.status() == 503 || r.status() == 422, r.body());
            }
            assertEquals(2, kafka.read(topic, 2).size(), "the two records of the cached schema");
        } finally {
            registry.close();
            clients.shutdownNow();
        }
    }

    /**
     * One API key's schema produces waiting on the registry hold at most half of the schema pool's
     * threads (16): its requests past them are 429 at once, not queued, so another key's request
     * that must ask the registry finds a thread and is answered while the first key's still wait.
     */
    @Test
    void oneKeysSchemaProducesWaitingOnTheRegistryLeaveAnotherKeyThreads(KafkaCluster kafka,
                                                                          @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String busy = "busy-" + java.util.UUID.randomUUID();
        String other = "other-" + java.util.UUID.randomUUID();
        HoldingRegistry registry = new HoldingRegistry();
        int sent = 16; // produce.threads: the whole schema pool
        ExecutorService clients = Executors.newFixedThreadPool(sent + 1);
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url", registry.url(),
                "schema.registry.request.timeout.ms", "60000",
                "authentication.method", "API_KEY", "api.keys.file", keys(dir, busy, other).toString()))) {
            Rest rest = p.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("schema-share"), 1);
            List<CompletableFuture<Rest.Response>> waiting = new ArrayList<>();
            for (int i = 0; i < sent; i++) {
                String body = "{\"value_schema_id\":" + (2 + i) + ",\"records\":[{\"value\":\"w\"}]}";
                waiting.add(CompletableFuture.supplyAsync(() -> rest.post("/topics/" + topic, AVRO_V2, body,
                        "Authorization", "Bearer " + busy), clients));
            }
            assertHalfHeldHalfRefused(registry, waiting, sent, "produce.threads");

            // Another key's produce whose schema is not cached yet: it asks the registry, on a free thread.
            CompletableFuture<Rest.Response> others = CompletableFuture.supplyAsync(() -> rest.post("/topics/" + topic,
                    AVRO_V2, "{\"value_schema_id\":1,\"records\":[{\"value\":\"o\"}]}",
                    "Authorization", "Bearer " + other), clients);
            Rest.Response served = others.get(5, TimeUnit.MINUTES); // queued behind the waiting ones, it would wait for them
            assertEquals(200, served.status(), served.body());
            assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "the first key's were still waiting");
            registry.close();
            for (CompletableFuture<Rest.Response> w : waiting) {
                Rest.Response r = w.get(5, TimeUnit.MINUTES);
                assertTrue(r.status() == 503 || r.status() == 422, r.body());
            }
            assertEquals(1, kafka.read(topic, 1).size(), "the other key's record");
        } finally {
            registry.close();
            clients.shutdownNow();
        }
    }

    /**
     * As {@link #oneKeysSchemaProducesWaitingOnTheRegistryLeaveAnotherKeyThreads}, with v3 batches
     * (no {@code Idempotency-Key}) and v3 streams, which had run on the schema pool itself: one
     * key's batches waiting on the registry took every thread and queued place there.
     */
    @Test
    void oneKeysV3BatchesAndStreamsWaitingOnTheRegistryLeaveAnotherKeyThreads(KafkaCluster kafka,
                                                                             @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String busy = "busy-" + java.util.UUID.randomUUID();
        String other = "other-" + java.util.UUID.randomUUID();
        HoldingRegistry registry = new HoldingRegistry();
        int sent = 16; // produce.threads: the whole schema pool
        ExecutorService clients = Executors.newFixedThreadPool(sent + 2);
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url", registry.url(),
                "schema.registry.request.timeout.ms", "60000",
                "authentication.method", "API_KEY", "api.keys.file", keys(dir, busy, other).toString()))) {
            Rest rest = p.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("schema-share-v3"), 1);
            String cluster = rest.get("/v3/clusters", "Authorization", "Bearer " + busy).json()
                    .get("data").get(0).get("cluster_id").asText();
            String records = "/v3/clusters/" + cluster + "/topics/" + topic + "/records";
            List<CompletableFuture<Rest.Response>> waiting = new ArrayList<>();
            for (int i = 0; i < sent; i++) {
                // Half batches, half streams (a stream of one record, its body's length declared).
                String value = "{\"type\":\"AVRO\",\"schema_id\":" + (2 + i) + ",\"data\":\"w\"}";
                boolean batch = i % 2 == 0;
                String body = batch ? "{\"entries\":[{\"id\":\"a\",\"value\":" + value + "}]}" : "{\"value\":" + value + "}";
                waiting.add(CompletableFuture.supplyAsync(() -> rest.post(batch ? records + ":batch" : records,
                        "application/json", body, "Authorization", "Bearer " + busy), clients));
            }
            int held = awaitAnswered(registry, waiting, sent);
            assertEquals(sent / 2, held, "half of the threads wait on the registry");
            for (int i = 0; i < sent; i++) {
                // the answered: a batch refused whole (429), or a stream's record reported 429
                if (waiting.get(i).isDone()) {
                    Rest.Response r = waiting.get(i).join();
                    String status = r.status() == 429 ? "429" : r.status() == 200 && r.body().contains("\"error_code\":429")
                            ? "429" : r.status() + " " + r.body();
                    assertEquals("429", status, r.body());
                    assertTrue(r.body().contains("produce.threads"), r.body());
                }
            }

            // Another key's record whose schema is not cached yet: it asks the registry, on a free thread.
            CompletableFuture<Rest.Response> others = CompletableFuture.supplyAsync(() -> rest.post(records + ":batch",
                    "application/json", "{\"entries\":[{\"id\":\"o\",\"value\":{\"type\":\"AVRO\",\"schema_id\":1,"
                            + "\"data\":\"o\"}}]}", "Authorization", "Bearer " + other), clients);
            Rest.Response served = others.get(5, TimeUnit.MINUTES); // queued behind the waiting ones, it would wait for them
            assertEquals(207, served.status(), served.body());
            assertEquals(1, served.json().get("successes").size(), served.body());
            registry.close();
            for (CompletableFuture<Rest.Response> w : waiting) {
                w.get(5, TimeUnit.MINUTES);
            }
            assertEquals(1, kafka.read(topic, 1).size(), "the other key's record");
        } finally {
            registry.close();
            clients.shutdownNow();
        }
    }

    /**
     * A stream's records that each wait on the registry longer than a stream's turn on the schema
     * pool (50 ms) are sent a turn at a time, each turn submitting the next: with a share of one
     * place (produce.threads 2), that next turn had asked a second place of the key's share while
     * its own was held, and the stream's records after the first were reported 429.
     */
    @Test
    void aStreamsRecordsWaitingOnASlowRegistryTakeOnePlaceOfItsKeysShareNotOneATurn(KafkaCluster kafka,
                                                                                @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String key = "slow-" + java.util.UUID.randomUUID();
        com.sun.net.httpserver.HttpServer registry = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        registry.setExecutor(Executors.newCachedThreadPool());
        registry.createContext("/", exchange -> {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                String body;
                if (path.startsWith("/schemas/ids/")) {
                    Thread.sleep(150); // longer than a stream's turn on the schema pool
                    body = "{\"schema\":\"\\\"string\\\"\"}";
                } else { // a look-up under the subject: it has it
                    body = "{\"subject\":\"s\",\"id\":2,\"version\":1,\"schema\":\"\\\"string\\\"\"}";
                }
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(200, bytes.length);
                exchange.getResponseBody().write(bytes);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        registry.start();
        try (TestPortico p = TestPortico.start(kafka, Map.of(
                "schema.registry.url", "http://127.0.0.1:" + registry.getAddress().getPort(),
                "produce.threads", "2", // a key's share of the schema pool: one place
                "authentication.method", "API_KEY", "api.keys.file", keys(dir, key, "unused-" + key).toString()))) {
            Rest rest = p.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("schema-share-turns"), 1);
            String cluster = rest.get("/v3/clusters", "Authorization", "Bearer " + key).json()
                    .get("data").get(0).get("cluster_id").asText();
            StringBuilder body = new StringBuilder();
            int n = 4;
            for (int i = 0; i < n; i++) { // a schema id each: a registry look-up each
                body.append("{\"value\":{\"type\":\"AVRO\",\"schema_id\":").append(2 + i).append(",\"data\":\"r")
                        .append(i).append("\"}}\n");
            }
            Rest.Response r = rest.post("/v3/clusters/" + cluster + "/topics/" + topic + "/records", "application/json",
                    body.toString(), "Authorization", "Bearer " + key);
            assertEquals(200, r.status(), r.body());
            String[] reports = r.body().trim().split("\r\n");
            assertEquals(n, reports.length, r.body());
            for (String report : reports) {
                assertTrue(report.contains("\"error_code\":200"), r.body());
            }
            assertEquals(n, kafka.read(topic, n).size());
        } finally {
            registry.stop(0);
        }
    }

    /**
     * Polls (two minutes at most, against a hang) until each of {@code sent} requests was answered
     * or waits on {@code registry}; returns how many wait there.
     */
    private static int awaitAnswered(HoldingRegistry registry, List<CompletableFuture<Rest.Response>> waiting, int sent)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (registry.held() + waiting.stream().filter(CompletableFuture::isDone).count() < sent
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return registry.held();
    }

    /**
     * One API key's reads by offset decoding records whose schema ids the registry holds take at
     * most half of the schema reads' threads: its reads past them are 429 at once, and another
     * key's read of a record whose schema the registry answers is answered meanwhile.
     */
    @Test
    void oneKeysSchemaReadsWaitingOnTheRegistryLeaveAnotherKeyThreads(KafkaCluster kafka,
                                                                      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        int threads = 4; // consumer.threads: the schema reads' pool has as many
        String busy = "busy-" + java.util.UUID.randomUUID();
        String other = "other-" + java.util.UUID.randomUUID();
        HoldingRegistry registry = new HoldingRegistry();
        ExecutorService clients = Executors.newFixedThreadPool(threads + 1);
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url", registry.url(),
                "schema.registry.request.timeout.ms", "60000", "consumer.threads", Integer.toString(threads),
                "authentication.method", "API_KEY", "api.keys.file", keys(dir, busy, other).toString()))) {
            Rest rest = p.rest();
            String heldTopic = kafka.createTopic(KafkaCluster.uniqueTopic("schema-reads-held"), 1);
            String answeredTopic = kafka.createTopic(KafkaCluster.uniqueTopic("schema-reads-answered"), 1);
            // Records framed as the schema formats frame theirs: magic byte 0, a schema id, an avro string "x".
            // Each of the first key's reads reads a record of a schema id of its own (look-ups of one id are shared).
            StringBuilder records = new StringBuilder("{\"records\":[");
            for (int i = 0; i < threads; i++) {
                records.append(i == 0 ? "" : ",").append("{\"value\":\"").append(java.util.Base64.getEncoder()
                        .encodeToString(new byte[] {0, 0, 0, 0, (byte) (2 + i), 2, 'x'})).append("\"}");
            }
            Rest.Response produced = rest.post("/topics/" + heldTopic, "application/vnd.kafka.binary.v2+json",
                    records.append("]}").toString(), "Authorization", "Bearer " + busy);
            assertEquals(200, produced.status(), produced.body());
            produced = rest.post("/topics/" + answeredTopic, "application/vnd.kafka.binary.v2+json", "{\"records\":[{\"value\":\""
                    + java.util.Base64.getEncoder().encodeToString(new byte[] {0, 0, 0, 0, 1, 2, 'x'}) + "\"}]}",
                    "Authorization", "Bearer " + other);
            assertEquals(200, produced.status(), produced.body());

            List<CompletableFuture<Rest.Response>> waiting = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                String path = "/topics/" + heldTopic + "/partitions/0/messages?offset=" + i + "&count=1";
                waiting.add(CompletableFuture.supplyAsync(() -> rest.get(path, "Accept", "application/vnd.kafka.avro.v1+json",
                        "Authorization", "Bearer " + busy), clients));
            }
            assertHalfHeldHalfRefused(registry, waiting, threads, "consumer.threads");

            Rest.Response served = CompletableFuture.supplyAsync(() -> rest.get("/topics/" + answeredTopic
                    + "/partitions/0/messages?offset=0", "Accept", "application/vnd.kafka.avro.v1+json",
                    "Authorization", "Bearer " + other), clients).get(5, TimeUnit.MINUTES);
            assertEquals(200, served.status(), served.body());
            assertEquals("x", served.json().get(0).get("value").asText(), served.body());
            assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "the first key's reads were still waiting");
            registry.close();
            for (CompletableFuture<Rest.Response> w : waiting) {
                Rest.Response r = w.get(5, TimeUnit.MINUTES);
                assertTrue(r.status() >= 500, r.body());
            }
        } finally {
            registry.close();
            clients.shutdownNow();
        }
    }

    @Test
    void readsDecodingWithASilentRegistryHoldUpNoOtherRead(KafkaCluster kafka) throws Exception {
        int threads = 4; // consumer.threads: the schema reads' pool has as many
        ExecutorService clients = Executors.newFixedThreadPool(2 * threads);
        SilentRegistry silent = new SilentRegistry();
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url",
                "http://127.0.0.1:" + silent.port(), "schema.registry.request.timeout.ms", "60000",
                "consumer.threads", Integer.toString(threads)))) {
            Rest rest = p.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("slow-registry-reads"), 1);
            // A record framed as the schema formats frame theirs (magic byte 0, schema id 1): decoding asks the registry.
            String framed = java.util.Base64.getEncoder().encodeToString(new byte[] {0, 0, 0, 0, 1, 2, 'x'});
            Rest.Response produced = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v2+json",
                    "{\"records\":[{\"value\":\"" + framed + "\"}]}");
            assertEquals(200, produced.status(), produced.body());
            String path = "/topics/" + topic + "/partitions/0/messages?offset=0";
            List<CompletableFuture<Rest.Response>> waiting = new ArrayList<>();
            for (int i = 0; i < 2 * threads; i++) {
                waiting.add(CompletableFuture.supplyAsync(
                        () -> rest.get(path, "Accept", "application/vnd.kafka.avro.v1+json"), clients));
            }
            while (gauge(rest, "portico.pool.schema.reads.active") < threads) {
                assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "an avro read ended early");
                Thread.sleep(20); // polling until every thread of the schema reads' pool is taken
            }
            for (int i = 0; i < 2 * threads; i++) { // more binary reads than the consumer pool has threads
                Rest.Response binary = rest.get(path, "Accept", "application/vnd.kafka.binary.v1+json");
                assertEquals(200, binary.status(), binary.body());
                assertTrue(binary.body().contains(framed), binary.body());
            }
            assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "the avro reads were still waiting");
            silent.close(); // the registry goes away: the waiting reads end
            for (CompletableFuture<Rest.Response> w : waiting) {
                Rest.Response r = w.get(5, TimeUnit.MINUTES);
                assertEquals(503, r.status(), r.body());
            }
        } finally {
            silent.close();
            clients.shutdownNow();
        }
    }

    /**
     * Server-Sent Events of schema-format instances, each waiting to decode a record on the silent
     * registry, hold up no binary instance's stream, no binary partition stream and no read by
     * offset; once the registry goes away each of them ends with an error event (503), none hangs.
     * Each avro instance reads a topic of its own whose record names a schema id of its own, so
     * each decode is a request of its own to the registry (lookups of one id are shared).
     */
    @Test
    void eventStreamsDecodingWithASilentRegistryHoldUpNoOtherStream(KafkaCluster kafka) throws Exception {
        int avroStreams = 3;
        SilentRegistry silent = new SilentRegistry();
        List<SseClient> streams = new ArrayList<>();
        // The registry's timeout (the most allowed) is far beyond this test: only closing it ends the waits.
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url",
                "http://127.0.0.1:" + silent.port(), "schema.registry.request.timeout.ms", "600000"))) {
            Rest rest = p.rest();
            List<String> topics = new ArrayList<>();
            List<String> framed = new ArrayList<>();
            List<SseClient> avro = new ArrayList<>();
            for (int i = 0; i < avroStreams; i++) {
                String topic = kafka.createTopic(KafkaCluster.uniqueTopic("slow-registry-sse-" + i), 1);
                // framed as the schema formats frame records: magic byte 0, then schema id i + 1
                String value = java.util.Base64.getEncoder().encodeToString(new byte[] {0, 0, 0, 0, (byte) (i + 1), 2, 'x'});
                Rest.Response produced = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v2+json",
                        "{\"records\":[{\"value\":\"" + value + "\"}]}");
                assertEquals(200, produced.status(), produced.body());
                topics.add(topic);
                framed.add(value);
                String base = instance(rest, "slow-registry-avro-" + i, "avro", topic);
                SseClient s = SseClient.open(rest.uri(base + "/records"));
                streams.add(s);
                avro.add(s);
                assertEquals(200, s.status(), s.errorBody());
            }
            silent.awaitAsked(avroStreams, () -> {
                for (SseClient s : avro) {
                    assertTrue(s.pending().isEmpty() && !s.awaitEnd(Duration.ZERO),
                            "an avro stream answered or ended while the registry was silent");
                }
            });

            String topic = topics.get(0);
            // a binary instance's stream of the same topic
            SseClient binary = SseClient.open(
                    rest.uri(instance(rest, "slow-registry-binary", "binary", topic) + "/records"));
            streams.add(binary);
            assertEquals(200, binary.status(), binary.errorBody());
            SseClient.Event event = binary.next(Duration.ofSeconds(30));
            assertTrue(event != null && event.event() == null && event.data().contains(framed.get(0)), String.valueOf(event));
            // a binary partition stream, and a read by offset
            SseClient partition = SseClient.open(
                    rest.uri("/topics/" + topic + "/partitions/0/messages?offset=0"));
            streams.add(partition);
            event = partition.next(Duration.ofSeconds(30));
            assertTrue(event != null && event.event() == null && event.data().contains(framed.get(0)), String.valueOf(event));
            Rest.Response read = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0",
                    "Accept", "application/vnd.kafka.binary.v1+json");
            assertEquals(200, read.status(), read.body());
            assertTrue(read.body().contains(framed.get(0)), read.body());
            for (SseClient s : avro) {
                List<SseClient.Event> early = s.pending();
                assertTrue(early.isEmpty(), "the avro streams were still waiting: " + early);
            }

            silent.close(); // every avro stream ends with an error event
            for (SseClient s : avro) {
                SseClient.Event error = s.next(Duration.ofMinutes(2));
                assertTrue(error != null && "error".equals(error.event()), String.valueOf(error));
                assertEquals(503, Json.mapper().readTree(error.data()).get("error_code").asInt(), error.data());
                assertTrue(s.awaitEnd(Duration.ofSeconds(30)), "the stream ended after its error");
            }
        } finally {
            silent.close();
            for (SseClient s : streams) {
                s.close();
            }
        }
    }

    /**
     * Keyed requests of the schema formats ({@code Idempotency-Key}) waiting on the silent
     * registry hold no transactional id: with one id for every key
     * ({@code idempotency.transactional.ids=1}), a keyed binary produce is answered while a keyed
     * avro produce (v2), a keyed v3 record, a keyed v3 batch and a keyed record of the records
     * endpoint naming a schema, each to a topic of its own (a subject of its own), all wait on the
     * registry. Once it goes away each of them ends with 503 for its record, nothing of theirs written.
     */
    @Test
    void keyedSchemaRequestsWaitingOnASilentRegistryHoldNoTransactionalId(KafkaCluster kafka) throws Exception {
        SilentRegistry silent = new SilentRegistry();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url",
                "http://127.0.0.1:" + silent.port(), "schema.registry.request.timeout.ms", "600000",
                "idempotency.transactional.ids", "1", "idempotency.wait.ms", "30000"))) {
            Rest rest = p.rest();
            String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
            List<String> topics = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                topics.add(kafka.createTopic(KafkaCluster.uniqueTopic("slow-registry-keyed-" + i), 1));
            }
            String avro = "{\"type\":\"AVRO\",\"schema\":\"\\\"string\\\"\",\"data\":\"x\"}";
            String v3 = "/v3/clusters/" + cluster + "/topics/";
            List<CompletableFuture<Rest.Response>> waiting = List.of(
                    CompletableFuture.supplyAsync(() -> rest.post("/topics/" + topics.get(0), AVRO_V2,
                            "{\"value_schema\":\"\\\"string\\\"\",\"records\":[{\"value\":\"x\"}]}",
                            "Idempotency-Key", "slow-registry-avro-v2"), clients),
                    CompletableFuture.supplyAsync(() -> rest.post(v3 + topics.get(1) + "/records", "application/json",
                            "{\"value\":" + avro + "}", "Idempotency-Key", "slow-registry-avro-v3"), clients),
                    CompletableFuture.supplyAsync(() -> rest.post(v3 + topics.get(2) + "/records:batch", "application/json",
                            "{\"entries\":[{\"id\":\"a\",\"value\":" + avro + "}]}",
                            "Idempotency-Key", "slow-registry-avro-batch"), clients),
                    // the records endpoint naming a schema of the registry
                    CompletableFuture.supplyAsync(() -> rest.post("/topics/" + topics.get(3)
                            + "/records?schemaname=" + topics.get(3) + "-value&schemaversion=1", "text/plain", "x",
                            "Idempotency-Key", "slow-registry-records"), clients));
            silent.awaitAsked(waiting.size(), () -> assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone),
                    "a keyed avro request ended while the registry was silent"));

            Rest.Response binary = rest.post("/topics/" + topics.get(0), "application/vnd.kafka.binary.v2+json",
                    "{\"records\":[{\"value\":\"QUJD\"}]}", "Idempotency-Key", "slow-registry-binary");
            assertEquals(200, binary.status(), binary.body());
            assertTrue(binary.body().contains("\"offset\":0"), binary.body());
            assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "the keyed avro requests were still waiting");

            silent.close(); // the registry goes away: each keyed avro request ends, nothing written
            Rest.Response v2 = waiting.get(0).get(2, TimeUnit.MINUTES);
            assertEquals(503, v2.status(), v2.body());
            Rest.Response one = waiting.get(1).get(2, TimeUnit.MINUTES);
            assertEquals(200, one.status(), one.body());
            assertTrue(one.body().startsWith("{\"error_code\":503,"), one.body());
            Rest.Response batch = waiting.get(2).get(2, TimeUnit.MINUTES);
            assertEquals(207, batch.status(), batch.body());
            assertTrue(batch.body().contains("{\"id\":\"a\",\"error_code\":503,"), batch.body());
            assertEquals(List.of("ABC"), kafka.readToEnd(topics.get(0), "read_uncommitted").stream()
                    .map(r -> new String(r.value(), java.nio.charset.StandardCharsets.UTF_8)).toList(),
                    "the binary record alone");
            assertEquals(0, kafka.readToEnd(topics.get(1), "read_uncommitted").size());
            assertEquals(0, kafka.readToEnd(topics.get(2), "read_uncommitted").size());
            Rest.Response records = waiting.get(3).get(2, TimeUnit.MINUTES);
            assertEquals(503, records.status(), records.body());
            assertEquals(0, kafka.readToEnd(topics.get(3), "read_uncommitted").size());
        } finally {
            silent.close();
            clients.shutdownNow();
        }
    }

    /**
     * A schema registry that accepts connections and never answers, until it is closed: then every
     * connection it accepted is closed, and so is any it accepts later. (A client may retry a GET
     * whose connection closed unanswered, and a thread blocked in accept can still be handed that
     * connection after the listening socket is closed.)
     */
    /**
     * Polls (two minutes at most, against a hang) until each of {@code sent} requests was answered
     * or waits on {@code registry}, taking the answered out of {@code waiting}; then half of them
     * must wait there and half be 429 for the key's share of {@code setting}'s threads.
     */
    private static void assertHalfHeldHalfRefused(HoldingRegistry registry, List<CompletableFuture<Rest.Response>> waiting,
                                                  int sent, String setting) throws InterruptedException {
        List<Rest.Response> refused = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (registry.held() + refused.size() < sent && System.nanoTime() < deadline) {
            for (CompletableFuture<Rest.Response> w : new ArrayList<>(waiting)) {
                if (w.isDone()) {
                    refused.add(w.join());
                    waiting.remove(w);
                }
            }
            Thread.sleep(20);
        }
        assertEquals(sent / 2, registry.held(), "half of the threads wait on the registry; answered: "
                + refused.stream().map(Rest.Response::body).toList());
        assertEquals(sent / 2, refused.size());
        for (Rest.Response r : refused) {
            assertEquals(429, r.status(), r.body());
            assertEquals("1", r.header("Retry-After"), r.body());
            assertTrue(r.json().get("message").asText().contains(setting), r.body());
        }
    }

    /** A keys file of two managers of every topic. */
    private static java.nio.file.Path keys(java.nio.file.Path dir, String first, String second) throws IOException {
        return java.nio.file.Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"first\",\"key\":\"" + first + "\",\"role\":\"manager\",\"topics\":[\"*\"]},"
                + "{\"name\":\"second\",\"key\":\"" + second + "\",\"role\":\"manager\",\"topics\":[\"*\"]}]}");
    }

    private static final class SilentRegistry implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        private final List<Socket> accepted = new ArrayList<>(); // guarded by this
        private boolean closed; // guarded by this

        SilentRegistry() throws IOException {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        take(server.accept());
                    }
                } catch (IOException gone) {
                    // the registry goes away
                }
            }, "silent-registry");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private synchronized void take(Socket s) throws IOException {
            if (closed) {
                s.close();
            } else {
                accepted.add(s);
            }
        }

        private synchronized int asked() {
            return accepted.size();
        }

        /**
         * Polls until the registry has accepted {@code asks} connections (each waiting request
         * asked it on one of its own), checking {@code stillWaiting} meanwhile; fails after two minutes.
         */
        void awaitAsked(int asks, Check stillWaiting) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (asked() < asks) {
                stillWaiting.run();
                assertTrue(System.nanoTime() < deadline, "the waiting requests did not all ask the registry");
                Thread.sleep(20);
            }
        }

        /** Closes the registry, every connection it accepted and any it accepts from now on. */
        @Override
        public void close() throws IOException {
            try {
                synchronized (this) {
                    closed = true;
                    for (Socket s : accepted) {
                        try {
                            s.close();
                        } catch (IOException ignored) {
                            // closed already, or the client went away: nothing to answer anyway
                        }
                    }
                }
            } finally {
                server.close();
            }
        }
    }

    /** An assertion that may wait. */
    @FunctionalInterface
    private interface Check {
        void run() throws InterruptedException;
    }

    /** A v2 consumer instance of {@code format} subscribed to {@code topic}, from its start; its path. */
    private static String instance(Rest rest, String group, String format, String topic) {
        String v2 = "application/vnd.kafka.v2+json";
        Rest.Response created = rest.post("/consumers/" + group, v2,
                "{\"format\":\"" + format + "\",\"auto.offset.reset\":\"earliest\"}", "Accept", v2);
        assertEquals(200, created.status(), created.body());
        String base = java.net.URI.create(created.json().get("base_uri").asText()).getRawPath();
        Rest.Response subscribed = rest.post(base + "/subscription", v2, "{\"topics\":[\"" + topic + "\"]}");
        assertEquals(204, subscribed.status(), subscribed.body());
        return base;
    }

    private static long gauge(Rest rest, String name) {
        return rest.get("/metrics").json().get("gauges").get(name).get("value").asLong();
    }
}
