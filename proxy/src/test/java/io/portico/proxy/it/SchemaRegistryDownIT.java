package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A schema registry that does not answer is a 503 within {@code schema.registry.request.timeout.ms},
 * never a hang: one that refuses connections, and one that accepts them and never answers. Without
 * {@code schema.registry.url} the schema formats answer 415 naming the key to set.
 */
@ExtendWith(PorticoExtension.class)
class SchemaRegistryDownIT {
    private static final String AVRO_V2 = "application/vnd.kafka.avro.v2+json";
    private static final String BODY = "{\"value_schema\":\"\\\"string\\\"\",\"records\":[{\"value\":\"x\"}]}";

    private static void answers503Within(Rest rest, long maxMillis) {
        long start = System.nanoTime();
        Rest.Response r = rest.post("/topics/" + KafkaCluster.uniqueTopic("avro-down"), AVRO_V2, BODY);
        long took = (System.nanoTime() - start) / 1_000_000;
        assertEquals(503, r.status(), r.body());
        assertEquals(503, r.json().get("error_code").asInt());
        assertTrue(r.json().get("message").asText().contains("schema registry"), r.body());
        assertTrue(took < maxMillis, "answered in " + took + " ms");
    }

    @Test
    void aRegistryThatRefusesConnectionsIs503AtOnce(KafkaCluster kafka) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url", "http://127.0.0.1:" + port))) {
            answers503Within(p.rest(), 15_000);
            // v3 reports it per record, and a record without a schema still lands
            String cluster = p.rest().get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
            Rest.Response v3 = p.rest().post("/v3/clusters/" + cluster + "/topics/" + KafkaCluster.uniqueTopic("v3-down")
                    + "/records", "application/json", "{\"value\":{\"type\":\"AVRO\",\"schema\":\"\\\"string\\\"\",\"data\":\"x\"}}\n"
                    + "{\"value\":{\"type\":\"STRING\",\"data\":\"y\"}}");
            String[] reports = v3.body().split("\r\n");
            assertEquals(2, reports.length, v3.body());
            assertTrue(reports[0].startsWith("{\"error_code\":503,") && reports[0].contains("schema registry"), reports[0]);
            assertTrue(reports[1].startsWith("{\"error_code\":200,"), reports[1]);
            // A keyed batch: the registry's 503 for one entry is not kept as the key's answer (a retry
            // may find the registry back), so nothing is written and the same key runs again.
            String keyed = KafkaCluster.uniqueTopic("v3-down-keyed");
            String entries = "{\"entries\":[{\"id\":\"a\",\"value\":{\"type\":\"AVRO\",\"schema\":\"\\\"string\\\"\","
                    + "\"data\":\"x\"}},{\"id\":\"b\",\"value\":{\"type\":\"STRING\",\"data\":\"y\"}}]}";
            for (int attempt = 0; attempt < 2; attempt++) {
                Rest.Response batch = p.rest().post("/v3/clusters/" + cluster + "/topics/" + keyed + "/records:batch",
                        "application/json", entries, "Idempotency-Key", "registry-down-1");
                assertEquals(207, batch.status(), batch.body());
                assertEquals(null, batch.header("Idempotent-Replayed"), "not kept, so not replayed: " + batch.body());
                assertTrue(batch.body().contains("\"successes\":[]"), batch.body());
                assertTrue(batch.body().contains("{\"id\":\"a\",\"error_code\":503,"), batch.body());
                assertTrue(batch.body().contains("{\"id\":\"b\",\"error_code\":50003,"), batch.body());
            }
            assertEquals(0, IdempotencyIT.committed(kafka, keyed).size(), "nothing written under the key");
            // a consumer read of the format needs the registry too: the instance is created, and reads tell
            String group = KafkaCluster.uniqueTopic("down");
            assertEquals(200, p.rest().post("/consumers/" + group, "application/vnd.kafka.v2+json",
                    "{\"name\":\"i\",\"format\":\"avro\"}").status());
        }
    }

    @Test
    void aKeyedRequestWhoseSchemaCannotBeLookedUpStartsNoTransaction(KafkaCluster kafka) throws Exception {
        // Certain to fail before it sends anything: no producer of the key's transactional id is
        // started for it, which would fence (and abort) another node's request with the key.
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String state = KafkaCluster.uniqueTopic("idem-state");
        try (TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url", "http://127.0.0.1:" + port,
                "idempotency.topic", state, "idempotency.transactional.ids", "1"))) {
            Rest.Response r = p.rest().post("/topics/" + KafkaCluster.uniqueTopic("avro-down-keyed"), AVRO_V2, BODY,
                    "Idempotency-Key", "registry-down-v2");
            assertEquals(503, r.status(), r.body());
            assertTrue(r.json().get("message").asText().contains("schema registry"), r.body());
            // v3, one record and a batch: the registry's error reported, the valid entry not written.
            String cluster = p.rest().get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
            String v3 = "/v3/clusters/" + cluster + "/topics/" + KafkaCluster.uniqueTopic("v3-down-keyed");
            Rest.Response one = p.rest().post(v3 + "/records", "application/json",
                    "{\"value\":{\"type\":\"AVRO\",\"schema\":\"\\\"string\\\"\",\"data\":\"x\"}}",
                    "Idempotency-Key", "registry-down-v3");
            assertEquals(200, one.status(), one.body());
            assertTrue(one.body().startsWith("{\"error_code\":503,") && one.body().contains("schema registry"), one.body());
            Rest.Response batch = p.rest().post(v3 + "/records:batch", "application/json",
                    "{\"entries\":[{\"id\":\"a\",\"value\":{\"type\":\"AVRO\",\"schema\":\"\\\"string\\\"\","
                            + "\"data\":\"x\"}},{\"id\":\"b\",\"value\":{\"type\":\"STRING\",\"data\":\"y\"}}]}",
                    "Idempotency-Key", "registry-down-v3-batch");
            assertEquals(207, batch.status(), batch.body());
            assertTrue(batch.body().contains("\"successes\":[]"), batch.body());
            assertTrue(batch.body().contains("{\"id\":\"a\",\"error_code\":503,"), batch.body());
            assertTrue(batch.body().contains("{\"id\":\"b\",\"error_code\":50003,"), batch.body());
            // The one transactional id of this node's keys was never started.
            java.util.List<String> ids = new java.util.ArrayList<>();
            kafka.admin().listTransactions().all().get(30, java.util.concurrent.TimeUnit.SECONDS)
                    .forEach(t -> ids.add(t.transactionalId()));
            assertTrue(!ids.contains(state + "-0"), "no transaction of " + state + "-0 (v2, v3 and batch): " + ids);
            // A keyed request that can run does start it: the check above can see one.
            Rest.Response plain = p.rest().post("/topics/" + KafkaCluster.uniqueTopic("plain-keyed"),
                    "application/vnd.kafka.binary.v2+json", "{\"records\":[{\"value\":\"eA==\"}]}",
                    "Idempotency-Key", "runs");
            assertEquals(200, plain.status(), plain.body());
            ids.clear();
            kafka.admin().listTransactions().all().get(30, java.util.concurrent.TimeUnit.SECONDS)
                    .forEach(t -> ids.add(t.transactionalId()));
            assertTrue(ids.contains(state + "-0"), "a transaction of " + state + "-0: " + ids);
        }
    }

    @Test
    void aRegistryThatNeverAnswersIs503AfterTheTimeout(KafkaCluster kafka) throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             TestPortico p = TestPortico.start(kafka, Map.of("schema.registry.url",
                     "http://127.0.0.1:" + silent.getLocalPort(), "schema.registry.request.timeout.ms", "500"))) {
            answers503Within(p.rest(), 15_000);
        }
    }

    @Test
    void withoutARegistryTheSchemaFormatsAre415NamingTheKey(Rest rest) {
        Rest.Response r = rest.post("/topics/" + KafkaCluster.uniqueTopic("avro-none"), AVRO_V2, BODY);
        assertEquals(415, r.status(), r.body());
        assertTrue(r.json().get("message").asText().contains("schema.registry.url"), r.body());
        Rest.Response consumer = rest.post("/consumers/" + KafkaCluster.uniqueTopic("none"), "application/vnd.kafka.v2+json",
                "{\"format\":\"protobuf\"}");
        assertEquals(415, consumer.status(), consumer.body());
        Rest.Response read = rest.get("/topics/t/partitions/0/messages?offset=0", "Accept", "application/vnd.kafka.avro.v1+json");
        assertEquals(415, read.status(), read.body());
    }
}
