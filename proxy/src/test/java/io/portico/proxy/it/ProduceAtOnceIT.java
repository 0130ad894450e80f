package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.PartitionOffset;
import io.portico.protocol.ProduceRecord;
import io.portico.protocol.RestException;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.ProduceService;
import io.portico.sessions.ProducerPool;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Small produce requests the shared producer takes at once are produced on the IO thread that
 * read them (no hand-over to the produce pool); anything the producer might wait for goes to the
 * pool as before, nothing of it sent. Checked against a real producer's metadata and buffer, and end to
 * end through Portico's {@code portico.produce.at.once} meter.
 */
@ExtendWith(PorticoExtension.class)
class ProduceAtOnceIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";

    private static ProduceRecord record(String value) {
        return new ProduceRecord(null, value.getBytes(StandardCharsets.UTF_8), null);
    }

    @Test
    void aTopicTheProducerHasLookedUpIsTakenAtOnceAnUnknownOneIsNot(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("at-once"), 2);
        try (ProducerPool producers = ProducerPool.kafka(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                Duration.ofSeconds(5))) {
            ProduceService produce = new ProduceService(producers, new ProduceService.TopicExistence() {
                @Override
                public boolean exists(String t) {
                    return true;
                }

                @Override
                public int recentPartitionCount(String t) {
                    return 2; // as the cluster says: no partition past what the producer knows
                }
            });
            assertNull(produce.produceAtOnce(topic, List.of(record("not yet")), KafkaErrors::perRecordCode),
                    "a topic not looked up yet is left to the pool");
            produce.produce(topic, List.of(record("one"))).join();
            CompletableFuture<List<PartitionOffset>> now =
                    produce.produceAtOnce(topic, List.of(record("two"), record("three")), KafkaErrors::perRecordCode);
            assertNotNull(now);
            assertEquals(List.of(1L, 2L), now.join().stream().map(PartitionOffset::offset).toList());
            assertNotNull(produce.produceOneAtOnce(topic, null, "four".getBytes(StandardCharsets.UTF_8), List.of()).join());
            // A partition past what the producer knows is not taken at once: the cluster is asked
            // first (the topic may have grown), off the IO thread.
            assertNull(produce.produceAtOnce(topic, List.of(new ProduceRecord(null, new byte[1], 2)),
                    KafkaErrors::perRecordCode));
            assertEquals(40402, assertThrows(RestException.class, () -> produce.produce(topic,
                    List.of(new ProduceRecord(null, new byte[1], 2)))).errorCode().code());
            assertNull(produce.produceAtOnce(KafkaCluster.uniqueTopic("never-produced"), List.of(record("x")),
                    KafkaErrors::perRecordCode));
            assertEquals(4, kafka.read(topic, 4).size(), "what was not taken at once was not sent");
        }
    }

    @Test
    void recordsWhoseBatchWouldLeaveLessThanHalfTheBufferFreeAreLeftToThePool(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("at-once-full"), 1);
        // A batch takes 300 KiB of the 1 MiB buffer, and lingers for a minute unless flushed.
        Map<String, Object> config = Map.of("bootstrap.servers", kafka.bootstrapServers(),
                "linger.ms", "60000", "delivery.timeout.ms", "120000",
                "batch.size", String.valueOf(300 * 1024), "buffer.memory", String.valueOf(1024 * 1024));
        try (ProducerPool producers = ProducerPool.kafka(config, Duration.ofSeconds(5))) {
            ProduceService produce = new ProduceService(producers, t -> true);
            CompletableFuture<?> first = produce.produce(topic, List.of(record("looks the topic up")));
            producers.shared().flush();
            first.join();
            // The producer frees a batch's memory just after its records' callbacks have run.
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            CompletableFuture<List<PartitionOffset>> atOnce = null;
            while (atOnce == null && System.nanoTime() < until) {
                atOnce = produce.produceAtOnce(topic, List.of(record("at once")), KafkaErrors::perRecordCode);
                Thread.sleep(atOnce == null ? 5 : 0);
            }
            assertNotNull(atOnce, "a free buffer (1 MiB) keeps half free after one batch (300 KiB)");
            assertFalse(atOnce.isDone(), "its batch lingers, holding 300 KiB");
            assertNull(produce.produceAtOnce(topic, List.of(record("left")), KafkaErrors::perRecordCode),
                    "a second batch would leave 424 KiB free, less than half");
            assertNull(produce.produceOneAtOnce(topic, null, new byte[1], List.of()));
            producers.shared().flush();
            assertEquals(1L, atOnce.join().get(0).offset());
        }
    }

    @Test
    void smallRequestsToAKnownTopicAreProducedAtOnceAndAnsweredAsBefore(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("at-once-http"), 2);
        String one = "{\"records\":[{\"value\":\"" + b64("first") + "\"}]}";
        long before = atOnce(rest);
        assertEquals(200, rest.post("/topics/" + topic, BINARY, one).status());
        assertEquals(before, atOnce(rest), "the first request looks the topic up on the pool");

        Rest.Response second = rest.post("/topics/" + topic + "/partitions/1", BINARY,
                "{\"records\":[{\"value\":\"" + b64("second") + "\"}]}");
        assertEquals(200, second.status(), second.body());
        assertEquals(1, second.json().get("offsets").get(0).get("partition").asInt());
        Rest.Response records = rest.post("/topics/" + topic + "/records", "text/plain", "third");
        assertEquals(200, records.status(), records.body());
        assertEquals(before + 2, atOnce(rest), "v1 produce and the records endpoint, each at once");

        // Errors found on the IO thread are answered as on the pool, and nothing is sent.
        Rest.Response noPartition = rest.post("/topics/" + topic + "/partitions/7", BINARY, one);
        assertEquals(404, noPartition.status(), noPartition.body());
        assertEquals(40402, noPartition.json().get("error_code").asInt());
        Rest.Response badValue = rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"value\":\"*\"}]}");
        assertEquals(422, badValue.status(), badValue.body());
        assertEquals(before + 2, atOnce(rest), "neither was sent");

        // A larger body goes to the pool.
        String big = "{\"records\":[{\"value\":\"" + b64("x".repeat(ProduceService.AT_ONCE_MAX_BYTES)) + "\"}]}";
        assertEquals(200, rest.post("/topics/" + topic, BINARY, big).status());
        assertEquals(before + 2, atOnce(rest));

        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 4);
        assertEquals(4, stored.size());
        assertTrue(stored.stream().anyMatch(r -> r.partition() == 1
                && "second".equals(new String(r.value(), StandardCharsets.UTF_8))));
        assertTrue(stored.stream().anyMatch(r -> java.util.Arrays.equals("third".getBytes(StandardCharsets.UTF_8), r.value())));
        assertTrue(stored.stream().anyMatch(r -> r.value().length == ProduceService.AT_ONCE_MAX_BYTES));
        assertArrayEquals("first".getBytes(StandardCharsets.UTF_8),
                stored.stream().filter(r -> r.value().length == 5).findFirst().orElseThrow().value());
    }

    @Test
    void smallV3BodiesAreProducedAtOnceAndAStreamStillGoesToThePool(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("at-once-v3"), 2);
        String path = "/v3/clusters/" + kafka.admin().describeCluster().clusterId().get(30, TimeUnit.SECONDS)
                + "/topics/" + topic + "/records";
        long before = atOnce(rest);
        Rest.Response first = rest.post(path, "application/json",
                "{\"partition_id\":0,\"value\":{\"type\":\"STRING\",\"data\":\"a\"}}");
        assertEquals(200, first.status(), first.body());
        assertEquals(200, reports(first).get(0).get("error_code").asInt(), first.body());
        assertEquals(before, atOnce(rest), "the first record looks the topic up on the pool");

        Rest.Response one = rest.post(path, "application/json", "{\"partition_id\":1,"
                + "\"headers\":[{\"name\":\"h\",\"value\":\"" + b64("v") + "\"}],"
                + "\"key\":{\"type\":\"STRING\",\"data\":\"k\"},\"value\":{\"type\":\"STRING\",\"data\":\"b\"}}");
        assertEquals(200, one.status(), one.body());
        JsonNode report = reports(one).get(0);
        assertEquals(200, report.get("error_code").asInt(), one.body());
        assertEquals(1, report.get("partition_id").asInt());
        assertEquals(0, report.get("offset").asLong());
        assertEquals(before + 1, atOnce(rest), "a one-record body, at once");

        Rest.Response two = rest.post(path, "application/json", "{\"partition_id\":0,\"value\":{\"type\":\"STRING\",\"data\":\"c\"}}\n"
                + "{\"partition_id\":0,\"value\":{\"type\":\"STRING\",\"data\":\"d\"}}");
        assertEquals(List.of(1L, 2L), reports(two).stream().map(r -> r.get("offset").asLong()).toList(), two.body());
        assertEquals(before + 3, atOnce(rest), "each record of a small body, at once, in order");

        // A partition past the producer's metadata goes to the pool, which answers as before.
        Rest.Response noPartition = rest.post(path, "application/json",
                "{\"partition_id\":7,\"value\":{\"type\":\"STRING\",\"data\":\"x\"}}");
        assertEquals(200, noPartition.status(), noPartition.body());
        assertEquals(40402, reports(noPartition).get(0).get("error_code").asInt(), noPartition.body());
        assertEquals(before + 3, atOnce(rest));

        // A topic refused by name is reported by the pool, in the record's report, as before.
        Rest.Response internal = rest.post(path.replace("/topics/" + topic + "/", "/topics/__consumer_offsets/"),
                "application/json", "{\"value\":{\"type\":\"STRING\",\"data\":\"x\"}}");
        assertEquals(200, internal.status(), internal.body());
        assertEquals(ErrorCode.FORBIDDEN.code(), reports(internal).get(0).get("error_code").asInt(), internal.body());
        assertEquals(before + 3, atOnce(rest));

        // A stream's records go to the pool: this one's only record is reported before its body ends.
        try (V3RecordsIT.RawStream stream = V3RecordsIT.RawStream.open(rest, path)) {
            stream.sendChunk("{\"partition_id\":0,\"value\":{\"type\":\"STRING\",\"data\":\"e\"}}");
            assertEquals(3, stream.awaitReports(1).get(0).get("offset").asLong());
            stream.endBody();
            assertEquals(1, stream.readToEnd().size());
        }
        assertEquals(before + 3, atOnce(rest), "a stream is not sent at once");

        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 5);
        assertEquals(5, stored.size(), "a, b, c, d and e; nothing for partition 7");
        ConsumerRecord<byte[], byte[]> keyed = stored.stream().filter(r -> r.partition() == 1).findFirst().orElseThrow();
        assertArrayEquals("k".getBytes(StandardCharsets.UTF_8), keyed.key());
        assertArrayEquals("b".getBytes(StandardCharsets.UTF_8), keyed.value());
        assertArrayEquals("v".getBytes(StandardCharsets.UTF_8), keyed.headers().lastHeader("h").value());
        assertEquals(List.of("c", "d", "e"), stored.stream().filter(r -> r.partition() == 0 && r.offset() > 0)
                .map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList());
    }

    /** The delivery reports of a v3 produce answer, one JSON object per line. */
    private static List<JsonNode> reports(Rest.Response r) throws Exception {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : r.body().split("\r?\n")) {
            if (!line.isBlank()) {
                out.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line));
            }
        }
        return out;
    }

    private static String b64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Requests produced at once so far (Portico's meter). */
    private static long atOnce(Rest rest) {
        Rest.Response r = rest.get("/metrics");
        assertEquals(200, r.status(), r.body());
        JsonNode meter = r.json().get("meters").get("portico.produce.at.once");
        return meter == null ? 0 : meter.get("count").asLong();
    }
}
