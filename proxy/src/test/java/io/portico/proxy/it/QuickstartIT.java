package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The produce and metadata curls of Confluent's REST Proxy quickstart, with the exact bodies they show. */
@ExtendWith(PorticoExtension.class)
class QuickstartIT {
    private static final String FIRST_OFFSET =
            "{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}],"
                    + "\"key_schema_id\":null,\"value_schema_id\":null}";

    @Test
    void binaryProduceToNewTopicAnswersAsTheQuickstartShows(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("binarytest");
        // curl -X POST -H "Content-Type: application/vnd.kafka.binary.v1+json" \
        //      --data '{"records":[{"value":"S2Fma2E="}]}' "http://localhost:8082/topics/binarytest"
        Rest.Response r = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v1+json",
                "{\"records\":[{\"value\":\"S2Fma2E=\"}]}", "Accept", "*/*");
        assertEquals(200, r.status(), r.body());
        assertEquals(FIRST_OFFSET, r.body());
        assertEquals("application/vnd.kafka.v1+json", r.contentType());

        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 1);
        assertEquals(1, stored.size());
        assertEquals("Kafka", new String(stored.get(0).value(), StandardCharsets.UTF_8));
    }

    @Test
    void jsonProduceToNewTopicAnswersAsTheQuickstartShows(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("jsontest");
        Rest.Response r = rest.post("/topics/" + topic, "application/vnd.kafka.json.v1+json",
                "{\"records\":[{\"value\":{\"foo\":\"bar\"}}]}");
        assertEquals(200, r.status(), r.body());
        assertEquals(FIRST_OFFSET, r.body());
        assertEquals("{\"foo\":\"bar\"}", new String(kafka.read(topic, 1).get(0).value(), StandardCharsets.UTF_8));
    }

    @Test
    void metadataEndpointsAnswerInTheReferenceShapes(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("meta"), 3);

        Rest.Response topics = rest.get("/topics");
        assertEquals(200, topics.status());
        assertEquals("application/vnd.kafka.v1+json", topics.contentType());
        JsonNode names = topics.json();
        assertTrue(names.isArray());
        List<String> listed = new java.util.ArrayList<>();
        names.forEach(n -> listed.add(n.asText()));
        assertTrue(listed.contains(topic), listed.toString());
        assertEquals(listed.stream().sorted().toList(), listed, "topics are sorted");
        // Kafka's internal topics (a "__" name another test made is an ordinary topic)
        assertTrue(listed.stream().noneMatch(n -> n.equals("__consumer_offsets") || n.equals("__transaction_state")),
                "internal topics hidden: " + listed);

        String partition = "{\"partition\":%d,\"leader\":1,\"replicas\":[{\"broker\":1,\"leader\":true,\"in_sync\":true}]}";
        String partitions = "[" + String.format(partition, 0) + "," + String.format(partition, 1) + ","
                + String.format(partition, 2) + "]";
        Rest.Response one = rest.get("/topics/" + topic);
        assertEquals(200, one.status(), one.body());
        assertEquals("{\"name\":\"" + topic + "\",\"configs\":{},\"partitions\":" + partitions + "}", one.body());

        Rest.Response all = rest.get("/topics/" + topic + "/partitions");
        assertEquals(partitions, all.body());

        Rest.Response p1 = rest.get("/topics/" + topic + "/partitions/1");
        assertEquals(String.format(partition, 1), p1.body());

        Rest.Response brokers = rest.get("/brokers");
        assertEquals("{\"brokers\":[1]}", brokers.body());
    }

    @Test
    void topicConfigsShowPerTopicOverridesOnlyInV1AndEverySettingInV2(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = KafkaCluster.uniqueTopic("configs");
        kafka.admin().createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1)
                .configs(java.util.Map.of("retention.ms", "3600000", "cleanup.policy", "compact")))).all().get();
        JsonNode configs = rest.get("/topics/" + topic).json().get("configs");
        assertEquals("3600000", configs.get("retention.ms").asText());
        assertEquals("compact", configs.get("cleanup.policy").asText());
        assertEquals(2, configs.size(), configs.toString());

        // v2, as Confluent's v2 answers: every setting, the defaults too.
        Rest.Response v2 = rest.get("/topics/" + topic, "Accept", "application/vnd.kafka.v2+json");
        assertEquals("application/vnd.kafka.v2+json", v2.contentType());
        JsonNode all = v2.json().get("configs");
        assertEquals("3600000", all.get("retention.ms").asText());
        assertEquals("compact", all.get("cleanup.policy").asText());
        assertTrue(all.has("max.message.bytes") && all.has("segment.bytes"), all.toString());
        assertTrue(all.size() > 20, all.toString());
    }

    @Test
    void livenessAnswersEmptyObject(Rest rest) {
        assertEquals("{}", rest.get("/").body());
        Rest.Response post = rest.post("/", "application/vnd.kafka.v1+json", "");
        assertEquals(200, post.status());
        assertEquals("{}", post.body());
    }
}
