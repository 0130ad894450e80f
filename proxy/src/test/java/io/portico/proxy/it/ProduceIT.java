package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** v1 produce, checked by reading the topic back with a plain KafkaConsumer. */
@ExtendWith(PorticoExtension.class)
class ProduceIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";
    private static final String JSON = "application/vnd.kafka.json.v1+json";

    private static String b64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    @Test
    void partitionsATopicGainedAfterPorticoLearnedOfItAreServedAtOnce(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("grown"), 1);
        String one = "{\"records\":[{\"value\":\"" + b64("a".getBytes(StandardCharsets.UTF_8)) + "\"}]}";
        assertEquals(200, rest.post("/topics/" + topic + "/partitions/0", BINARY, one).status());
        // An Accept equal to the body's type: Confluent's partition resource answers it (its topic one does not).
        Rest.Response typed = rest.post("/topics/" + topic + "/partitions/0", BINARY, one, "Accept", BINARY);
        assertEquals(200, typed.status(), typed.body());
        assertEquals(BINARY, typed.contentType());
        assertEquals(200, rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&count=1", "Accept", BINARY)
                .status());
        // Portico's producer and readers know the topic with one partition; it gains two.
        kafka.admin().createPartitions(java.util.Map.of(topic, org.apache.kafka.clients.admin.NewPartitions.increaseTo(3)))
                .all().get();
        for (int i = 0; i < 100 && kafka.admin().describeTopics(List.of(topic)).allTopicNames().get().get(topic)
                .partitions().size() < 3; i++) {
            Thread.sleep(50); // until the broker's metadata shows them (KRaft applies the change a little later)
        }

        Rest.Response toNew = rest.post("/topics/" + topic + "/partitions/2", BINARY, one);
        assertEquals(200, toNew.status(), "a partition the topic has now: " + toNew.body());
        assertEquals(2, toNew.json().get("offsets").get(0).get("partition").asInt());
        Rest.Response named = rest.post("/topics/" + topic, BINARY,
                "{\"records\":[{\"value\":\"" + b64("b".getBytes(StandardCharsets.UTF_8)) + "\",\"partition\":1}]}");
        assertEquals(200, named.status(), named.body());
        assertEquals(1, named.json().get("offsets").get(0).get("partition").asInt());
        Rest.Response read = rest.get("/topics/" + topic + "/partitions/2/messages?offset=0&count=1", "Accept", BINARY);
        assertEquals(200, read.status(), read.body());
        assertEquals(b64("a".getBytes(StandardCharsets.UTF_8)), read.json().get(0).get("value").asText());

        Rest.Response past = rest.post("/topics/" + topic + "/partitions/7", BINARY, one);
        assertEquals(404, past.status(), past.body());
        assertEquals(40402, past.json().get("error_code").asInt());
    }

    @Test
    void aRecordWithoutAKeyForACompactedTopicIsRefusedAloneNotInABatchWithOthers(Rest rest, KafkaCluster kafka)
            throws Exception {
        // The broker refuses a whole batch holding a keyless record for a compacted topic, and the
        // producer fails every record of it: those of the same request, and other clients' sent
        // to the same partition at the same time.
        String topic = KafkaCluster.uniqueTopic("compacted");
        kafka.admin().createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1)
                .configs(java.util.Map.of("cleanup.policy", "compact")))).all().get();
        String key = b64("k".getBytes(StandardCharsets.UTF_8));
        String value = b64("v".getBytes(StandardCharsets.UTF_8));
        for (String path : List.of("/topics/" + topic, "/topics/" + topic + "/partitions/0")) {
            Rest.Response r = rest.post(path, BINARY, "{\"records\":[{\"key\":\"" + key + "\",\"value\":\"" + value
                    + "\"},{\"value\":\"" + value + "\"},{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}]}");
            JsonNode offsets = r.json().get("offsets");
            assertTrue(offsets.get(0).get("error_code").isNull(), "the keyed records land: " + r.body());
            assertTrue(offsets.get(2).get("error_code").isNull(), r.body());
            assertTrue(offsets.get(1).get("error").asText().contains("without key"), r.body());
        }
        Rest.Response keyless = rest.post("/topics/" + topic + "/records", "text/plain", "v");
        assertEquals(400, keyless.status(), keyless.body()); // the client's record to mend, not a Kafka failure
        assertTrue(keyless.body().contains("without key"), keyless.body());
        assertEquals(200, rest.post("/topics/" + topic + "/records?key=k", "text/plain", "v").status());
        String v3 = "/v3/clusters/" + kafka.admin().describeCluster().clusterId().get() + "/topics/" + topic + "/records";
        Rest.Response v3Keyless = rest.post(v3, "application/json", "{\"value\":{\"type\":\"STRING\",\"data\":\"v\"}}");
        assertTrue(v3Keyless.body().contains("without key") && !v3Keyless.body().contains("\"error_code\":200"),
                v3Keyless.body());
        assertEquals(200, rest.post(v3, "application/json", "{\"key\":{\"type\":\"STRING\",\"data\":\"k\"},"
                + "\"value\":{\"type\":\"STRING\",\"data\":\"v\"}}").status());
        assertEquals(6, kafka.read(topic, 6).size(), "the keyed records, none other");
    }

    /**
     * A large produce's answer (some 60 bytes a record) is counted in the responses budget until it
     * is sent: a client that reads none of it holds no memory the budgets do not see. 100,000
     * records answer 6 MB, more than the kernel's send buffer takes (4 MB at most here).
     */
    @Test
    void aLargeProducesAnswerCountsInTheResponsesBudgetUntilSent(KafkaCluster kafka) throws Exception {
        int records = 100_000;
        try (TestPortico p = TestPortico.start(kafka, Map.of("produce.records.max", String.valueOf(records)))) {
            Rest rest = p.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("answers"), 1);
            StringBuilder body = new StringBuilder("{\"records\":[");
            for (int i = 0; i < records; i++) {
                body.append(i == 0 ? "" : ",").append("{\"value\":\"YQ==\"}");
            }
            byte[] bytes = body.append("]}").toString().getBytes(StandardCharsets.US_ASCII);
            try (java.net.Socket socket = new java.net.Socket()) {
                socket.setReceiveBufferSize(1024); // the client reads nothing: the answer stays with Portico
                socket.connect(new java.net.InetSocketAddress(rest.base().getHost(), rest.base().getPort()), 10_000);
                socket.getOutputStream().write(("POST /topics/" + topic + " HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Type: application/vnd.kafka.binary.v1+json\r\nContent-Length: " + bytes.length
                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().write(bytes);
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
                long used = 0;
                while ((used = responsesUsed(rest)) < 50L * records && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertTrue(used >= 50L * records, "the answer not read yet is counted: " + used + " bytes");
            }
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
            while (responsesUsed(rest) > 100_000 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(responsesUsed(rest) <= 100_000, "given back once its client left: " + responsesUsed(rest));

            // An answer read whole, its JSON written on the produce pool (1,000 records and more).
            StringBuilder thousand = new StringBuilder("{\"records\":[");
            for (int i = 0; i < 1_000; i++) {
                thousand.append(i == 0 ? "" : ",").append("{\"value\":\"YQ==\"}");
            }
            Rest.Response answered = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v2+json",
                    thousand.append("]}").toString(), "Accept", "application/vnd.kafka.v2+json");
            assertEquals(200, answered.status(), answered.body());
            assertEquals(1_000, answered.json().get("offsets").size());
            assertEquals(records + 999, answered.json().get("offsets").get(999).get("offset").asLong(), answered.body());
        }
    }

    private static long responsesUsed(Rest rest) {
        return rest.get("/metrics").json().get("gauges").get("portico.memory.responses.used").get("value").asLong();
    }

    @Test
    void binaryKeysValuesAndNullsArriveByteForByte(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("bytes");
        byte[] notUtf8 = {(byte) 0xff, (byte) 0xfe, 0, 1, (byte) 0x80, (byte) 0xc3, 0x28};
        byte[] key = {0, (byte) 0x9f, 42};
        String body = "{\"records\":["
                + "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(notUtf8) + "\"},"
                + "{\"key\":null,\"value\":\"" + b64("plain".getBytes(StandardCharsets.UTF_8)) + "\",\"partition\":null},"
                + "{\"key\":\"" + b64(key) + "\",\"value\":null},"
                + "{\"value\":\"\"}"
                + "],\"value_schema\":null}";
        Rest.Response r = rest.post("/topics/" + topic, BINARY, body);
        assertEquals(200, r.status(), r.body());
        JsonNode offsets = r.json().get("offsets");
        assertEquals(4, offsets.size());
        for (int i = 0; i < 4; i++) {
            assertEquals(0, offsets.get(i).get("partition").asInt());
            assertEquals(i, offsets.get(i).get("offset").asLong(), "one entry per record, in order");
            assertTrue(offsets.get(i).get("error_code").isNull());
        }

        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 4);
        assertEquals(4, stored.size());
        assertArrayEquals(key, stored.get(0).key());
        assertArrayEquals(notUtf8, stored.get(0).value());
        assertNull(stored.get(1).key());
        assertArrayEquals("plain".getBytes(StandardCharsets.UTF_8), stored.get(1).value());
        assertArrayEquals(key, stored.get(2).key());
        assertNull(stored.get(2).value(), "a null value is a tombstone");
        assertArrayEquals(new byte[0], stored.get(3).value());
    }

    @Test
    void jsonEmbeddedFormatStoresCompactJsonText(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("json");
        String body = "{\"records\":[{\"key\":\"k1\",\"value\":{ \"a\" : [1, 2.5, true, null], \"b\": \"é\" }},"
                + "{\"value\":42},{\"key\":{\"id\":7},\"value\":null},{\"value\":\"text\"}]}";
        Rest.Response r = rest.post("/topics/" + topic, JSON, body);
        assertEquals(200, r.status(), r.body());

        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 4);
        assertEquals(4, stored.size());
        assertEquals("\"k1\"", utf8(stored.get(0).key()));
        assertEquals("{\"a\":[1,2.5,true,null],\"b\":\"é\"}", utf8(stored.get(0).value()));
        assertNull(stored.get(1).key());
        assertEquals("42", utf8(stored.get(1).value()));
        assertEquals("{\"id\":7}", utf8(stored.get(2).key()));
        assertNull(stored.get(2).value());
        assertEquals("\"text\"", utf8(stored.get(3).value()));
    }

    @Test
    void explicitPartitionsAreHonouredAndReportedInRequestOrder(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("parts"), 3);
        String body = "{\"records\":[{\"value\":\"MA==\",\"partition\":2},{\"value\":\"MQ==\",\"partition\":0},"
                + "{\"value\":\"Mg==\",\"partition\":2},{\"value\":\"Mw==\",\"partition\":1}]}";
        Rest.Response r = rest.post("/topics/" + topic, BINARY, body);
        assertEquals(200, r.status(), r.body());
        assertEquals("{\"offsets\":["
                + "{\"partition\":2,\"offset\":0,\"error_code\":null,\"error\":null},"
                + "{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null},"
                + "{\"partition\":2,\"offset\":1,\"error_code\":null,\"error\":null},"
                + "{\"partition\":1,\"offset\":0,\"error_code\":null,\"error\":null}],"
                + "\"key_schema_id\":null,\"value_schema_id\":null}", r.body());

        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 4);
        stored.sort(Comparator.comparingInt((ConsumerRecord<byte[], byte[]> c) -> c.partition())
                .thenComparingLong(ConsumerRecord::offset));
        assertEquals(List.of("1", "3", "0", "2"), stored.stream().map(c -> utf8(c.value())).toList());
    }

    @Test
    void produceToAPartitionPutsEveryRecordThere(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("topart"), 2);
        Rest.Response r = rest.post("/topics/" + topic + "/partitions/1", BINARY,
                "{\"records\":[{\"key\":\"a2V5\",\"value\":\"dmFsdWU=\"},{\"value\":\"dHdv\"}]}");
        assertEquals(200, r.status(), r.body());
        for (JsonNode o : r.json().get("offsets")) {
            assertEquals(1, o.get("partition").asInt());
        }
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 2);
        assertEquals(2, stored.size());
        assertTrue(stored.stream().allMatch(c -> c.partition() == 1));
        assertEquals("key", utf8(stored.get(0).key()));
        assertEquals("value", utf8(stored.get(0).value()));
    }

    @Test
    void jsonProduceToAPartitionWorks(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("jsonpart");
        Rest.Response r = rest.post("/topics/" + topic + "/partitions/0", JSON,
                "{\"records\":[{\"key\":1,\"value\":[\"x\"]}]}");
        assertEquals(200, r.status(), r.body());
        ConsumerRecord<byte[], byte[]> stored = kafka.read(topic, 1).get(0);
        assertEquals("1", utf8(stored.key()));
        assertEquals("[\"x\"]", utf8(stored.value()));
    }

    @Test
    void everyVagueContentTypeMeansBinary(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("vague");
        List<String> types = List.of("application/vnd.kafka.v1+json", "application/vnd.kafka+json",
                "application/json", "application/octet-stream", "application/vnd.kafka.binary.v1+json; charset=utf-8",
                "APPLICATION/JSON;charset=UTF-8");
        for (String type : types) {
            Rest.Response r = rest.post("/topics/" + topic, type, "{\"records\":[{\"value\":\"AQID\"}]}");
            assertEquals(200, r.status(), type + ": " + r.body());
        }
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, types.size());
        assertEquals(types.size(), stored.size());
        stored.forEach(c -> assertArrayEquals(new byte[] {1, 2, 3}, c.value()));
    }

    @Test
    void aRecordTheBrokerRejectsFailsAloneWithAPerRecordCode(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("toolarge");
        byte[] big = new byte[2 * 1024 * 1024]; // over the producer's default max.request.size (1 MiB)
        Rest.Response r = rest.post("/topics/" + topic, BINARY,
                "{\"records\":[{\"value\":\"b2s=\"},{\"value\":\"" + b64(big) + "\"},{\"value\":\"b2sy\"}]}");
        assertEquals(200, r.status(), "per-record failures keep the 200, as Confluent's proxy does");
        JsonNode offsets = r.json().get("offsets");
        assertEquals(3, offsets.size());
        assertEquals(0, offsets.get(0).get("offset").asLong());
        assertTrue(offsets.get(1).get("partition").isNull());
        assertTrue(offsets.get(1).get("offset").isNull());
        assertEquals(50002, offsets.get(1).get("error_code").asInt());
        assertTrue(offsets.get(1).get("error").asText().contains("bytes"), offsets.get(1).toString());
        assertEquals(1, offsets.get(2).get("offset").asLong());
        assertEquals(List.of("ok", "ok2"), kafka.read(topic, 2).stream().map(c -> utf8(c.value())).toList());
    }

    @Test
    void chunkedRequestBodiesAreRead(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("chunked");
        byte[] body = "{\"records\":[{\"value\":\"Y2h1bmtlZA==\"}]}".getBytes(StandardCharsets.UTF_8);
        // An InputStream publisher has no length: the JDK client sends Transfer-Encoding: chunked.
        Rest.Response r = rest.send(rest.request("/topics/" + topic, "Content-Type", BINARY)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))));
        assertEquals(200, r.status(), r.body());
        assertEquals("chunked", utf8(kafka.read(topic, 1).get(0).value()));
    }

    @Test
    void expectContinueIsAnswered(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("continue");
        Rest.Response r = rest.send(rest.request("/topics/" + topic, "Content-Type", BINARY)
                .expectContinue(true)
                .POST(HttpRequest.BodyPublishers.ofString("{\"records\":[{\"value\":\"eWVz\"}]}")));
        assertEquals(200, r.status(), r.body());
        assertEquals("yes", utf8(kafka.read(topic, 1).get(0).value()));
    }

    private static String utf8(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }
}
