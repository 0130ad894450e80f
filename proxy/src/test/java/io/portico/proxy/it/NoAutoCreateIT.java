package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.TestPortico;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Against a cluster that does not create topics on demand, producing to a missing topic answers
 * 404/40401 after the bounded metadata wait, never a minute-long hang or a 200 with errors.
 */
class NoAutoCreateIT {
    private static KafkaCluster kafka;
    private static TestPortico portico;

    @BeforeAll
    static void start() throws Exception {
        kafka = KafkaCluster.embedded(Map.of("auto.create.topics.enable", "false"));
        // A short delivery timeout: a record sent to a topic deleted under the producer fails in seconds.
        portico = TestPortico.start(kafka, Map.of("metadata.timeout.ms", "5000", "produce.timeout.ms", "3000"));
    }

    @AfterAll
    static void stop() {
        portico.close();
        kafka.close();
    }

    @Test
    void produceToAMissingTopicIs40401() {
        String topic = KafkaCluster.uniqueTopic("absent");
        var r = portico.rest().post("/topics/" + topic, "application/vnd.kafka.binary.v1+json",
                "{\"records\":[{\"value\":\"AA==\"}]}");
        assertEquals(404, r.status(), r.body());
        assertEquals("{\"error_code\":40401,\"message\":\"Topic not found.\"}", r.body());
    }

    @Test
    void produceToAPartitionOfAMissingTopicIs40401() {
        var r = portico.rest().post("/topics/" + KafkaCluster.uniqueTopic("absent") + "/partitions/0",
                "application/vnd.kafka.json.v1+json", "{\"records\":[{\"value\":1}]}");
        assertEquals(404, r.status(), r.body());
        assertEquals(40401, r.json().get("error_code").asInt());
    }

    @Test
    void aTopicCreatedLaterIsProducedToNormally() throws Exception {
        String topic = KafkaCluster.uniqueTopic("later");
        assertEquals(404, portico.rest().post("/topics/" + topic, "application/vnd.kafka.binary.v1+json",
                "{\"records\":[{\"value\":\"AA==\"}]}").status());
        kafka.createTopic(topic, 1);
        var r = portico.rest().post("/topics/" + topic, "application/vnd.kafka.binary.v1+json",
                "{\"records\":[{\"value\":\"AA==\"}]}");
        assertEquals(200, r.status(), r.body());
        assertEquals(1, kafka.read(topic, 1).size());
    }
    /**
     * A v3 stream learns its topic's partitions once. When the topic is deleted under it, the
     * shared producer's look-up of each record would block a produce thread for the whole
     * metadata timeout (the pool that every client's produce shares): after the first such wait
     * the stream asks the cluster again, and its next records fail at once with 40401.
     */
    @Test
    void aStreamWhoseTopicIsDeletedFailsItsNextRecordsAtOnce() throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("deleted"), 1);
        String clusterId = kafka.admin().describeCluster().clusterId().get(30, java.util.concurrent.TimeUnit.SECONDS);
        String path = "/v3/clusters/" + clusterId + "/topics/" + topic + "/records";
        try (V3RecordsIT.RawStream stream = V3RecordsIT.RawStream.open(portico.rest(), path)) {
            stream.sendChunk("{\"value\":{\"type\":\"STRING\",\"data\":\"before\"}}");
            assertEquals(200, stream.awaitReports(1).get(0).get("error_code").asInt());

            kafka.admin().deleteTopics(java.util.List.of(topic)).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
            // The shared producer learns that the topic is gone once a send to it fails: v1 produce until 404.
            int status = 0;
            for (int i = 0; i < 20 && status != 404; i++) {
                status = portico.rest().post("/topics/" + topic, "application/vnd.kafka.binary.v1+json",
                        "{\"records\":[{\"value\":\"AA==\"}]}").status();
            }
            assertEquals(404, status, "v1 produce to the deleted topic");

            StringBuilder ten = new StringBuilder();
            for (int i = 0; i < 10; i++) {
                ten.append("{\"value\":{\"type\":\"STRING\",\"data\":\"after-").append(i).append("\"}}");
            }
            stream.sendChunk(ten.toString());
            java.util.List<com.fasterxml.jackson.databind.JsonNode> reports = stream.awaitReports(11);
            assertEquals(11, reports.size(), reports.toString());
            // The first record after may wait out the producer's look-up; none after it does.
            for (com.fasterxml.jackson.databind.JsonNode report : reports.subList(2, 11)) {
                assertEquals(40401, report.get("error_code").asInt(), reports.toString());
            }
        }
    }
}
