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
        portico = TestPortico.start(kafka, Map.of("metadata.timeout.ms", "5000"));
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
}
