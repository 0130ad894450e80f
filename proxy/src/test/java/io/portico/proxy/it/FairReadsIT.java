package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Long polls share the consumer pool fairly: with fewer pool threads than instances waiting for
 * records, a read whose records are there is still answered at once, as each waiting read holds
 * a thread for one poll slice at a time.
 */
@ExtendWith(PorticoExtension.class)
class FairReadsIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";
    private static final String V1 = "application/vnd.kafka.v1+json";
    private static final String V2 = "application/vnd.kafka.v2+json";
    private static final String BINARY_V2 = "application/vnd.kafka.binary.v2+json";

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(JsonNode record) {
        return new String(Base64.getDecoder().decode(record.get("value").asText()), StandardCharsets.UTF_8);
    }

    private static void produce(Rest rest, String topic, String value) {
        Rest.Response r = rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"value\":\"" + b64(value) + "\"}]}");
        assertEquals(200, r.status(), r.body());
    }

    private static String v1Instance(Rest rest, String group) {
        Rest.Response r = rest.post("/consumers/" + group, V1, "{\"auto.offset.reset\":\"smallest\"}");
        assertEquals(200, r.status(), r.body());
        return "/consumers/" + group + "/instances/" + r.json().get("instance_id").asText();
    }

    private static String v2Instance(Rest rest, String group, String topic) {
        Rest.Response r = rest.post("/consumers/" + group, V2, "{\"auto.offset.reset\":\"earliest\"}", "Accept", V2);
        assertEquals(200, r.status(), r.body());
        String instance = URI.create(r.json().get("base_uri").asText()).getRawPath();
        Rest.Response subscribed = rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}");
        assertEquals(204, subscribed.status(), subscribed.body());
        return instance;
    }

    private static List<String> values(Rest.Response r) {
        assertEquals(200, r.status(), r.body());
        List<String> out = new ArrayList<>();
        r.json().forEach(record -> out.add(text(record)));
        return out;
    }

    private static Rest.Response readV1(Rest rest, String instance, String topic) {
        return rest.get(instance + "/topics/" + topic, "Accept", BINARY);
    }

    private static Rest.Response readV2(Rest rest, String instance) {
        return rest.get(instance + "/records", "Accept", BINARY_V2);
    }

    @Test
    void aReadWithRecordsIsAnsweredWhileLongPollsHoldEveryThread(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of(
                "consumer.threads", "2", "consumer.request.timeout.ms", "20000"))) {
            Rest rest = p.rest();
            String idle = KafkaCluster.uniqueTopic("fair-idle");
            String busy = KafkaCluster.uniqueTopic("fair-busy");
            produce(rest, idle, "idle-1");
            produce(rest, busy, "busy-1");
            // Each instance in its own group, caught up (its first read joined the group).
            String waitingV1 = v1Instance(rest, KafkaCluster.uniqueTopic("g"));
            assertEquals(List.of("idle-1"), values(readV1(rest, waitingV1, idle)));
            String waitingV2 = v2Instance(rest, KafkaCluster.uniqueTopic("g"), idle);
            assertEquals(List.of("idle-1"), values(readV2(rest, waitingV2)));
            String ready = v1Instance(rest, KafkaCluster.uniqueTopic("g"));
            assertEquals(List.of("busy-1"), values(readV1(rest, ready, busy)));

            // Two long polls, as many as the pool has threads, wait for records that do not come.
            CompletableFuture<Rest.Response> poll1 = CompletableFuture.supplyAsync(() -> readV1(rest, waitingV1, idle));
            CompletableFuture<Rest.Response> poll2 = CompletableFuture.supplyAsync(() -> readV2(rest, waitingV2));
            Thread.sleep(1000); // both reads reach the pool and wait there
            assertFalse(poll1.isDone() || poll2.isDone(), "the long polls wait for records");

            produce(rest, busy, "busy-2");
            assertEquals(List.of("busy-2"), values(readV1(rest, ready, busy)));
            // Answered within the long polls' wait, not after it.
            assertFalse(poll1.isDone(), "the first long poll still waits");
            assertFalse(poll2.isDone(), "the second long poll still waits");

            // The long polls go on and get what arrives for them.
            produce(rest, idle, "idle-2");
            assertEquals(List.of("idle-2"), values(poll1.get(60, TimeUnit.SECONDS)));
            assertEquals(List.of("idle-2"), values(poll2.get(60, TimeUnit.SECONDS)));
        }
    }
}
