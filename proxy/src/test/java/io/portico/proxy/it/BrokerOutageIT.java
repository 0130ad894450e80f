package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.EmbeddedKafka;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With the broker stopped, every kind of request fails fast with a JSON error (no hang), and
 * /ready says so; when the broker comes back on the same port and data, everything works again
 * without restarting Portico.
 */
class BrokerOutageIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";

    @Test
    void requestsFailClearlyWhileKafkaIsDownAndRecoverWhenItReturns(@TempDir Path dir) throws Exception {
        EmbeddedKafka broker = EmbeddedKafka.start(dir, Map.of(), 0, 0);
        int brokerPort = broker.brokerPort();
        int controllerPort = broker.controllerPort();
        KafkaCluster cluster = KafkaCluster.external(broker.bootstrapServers());
        TestPortico p = TestPortico.start(cluster, Map.of("metadata.timeout.ms", "5000",
                "produce.timeout.ms", "3000", "cluster.check.interval.ms", "300"));
        try {
            Rest rest = p.rest();
            String topic = cluster.createTopic(KafkaCluster.uniqueTopic("outage"), 1);
            assertEquals(200, rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"value\":\"YmVmb3Jl\"}]}").status());
            String group = KafkaCluster.uniqueTopic("g");
            String consumer = "/consumers/" + group + "/instances/"
                    + rest.post("/consumers/" + group, "application/vnd.kafka.v1+json",
                            "{\"auto.offset.reset\":\"smallest\"}").json().get("instance_id").asText();
            assertEquals(1, rest.get(consumer + "/topics/" + topic, "Accept", BINARY).json().size());

            broker.close();

            waitFor(() -> rest.get("/ready"), r -> r.status() == 503, "/ready turns 503");
            Rest.Response ready = rest.get("/ready");
            assertEquals(50302, ready.json().get("error_code").asInt(), ready.body());

            // Either the producer cannot get the topic's metadata (503 for the request) or it takes
            // the record and the record times out: 200 with 50003 in its entry, as Confluent answers.
            Rest.Response produce = rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"value\":\"ZHVyaW5n\"}]}");
            if (produce.status() == 200) {
                assertEquals(50003, produce.json().get("offsets").get(0).get("error_code").asInt(), produce.body());
            } else {
                assertEquals(503, produce.status(), produce.body());
                assertEquals(50302, produce.json().get("error_code").asInt(), produce.body());
            }

            Rest.Response records = rest.post("/topics/" + topic + "/records", "text/plain", "during");
            assertTrue(records.status() == 408 || records.status() == 503, records.toString());
            assertEquals(records.status(), records.json().get("error_code").asInt());

            Rest.Response byOffset = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0");
            assertEquals(503, byOffset.status(), byOffset.body());

            Rest.Response read = rest.get(consumer + "/topics/" + topic, "Accept", BINARY);
            assertEquals(503, read.status(), read.body());

            broker = EmbeddedKafka.start(dir, Map.of(), brokerPort, controllerPort);

            waitFor(() -> rest.get("/ready"), r -> r.status() == 200, "/ready turns 200 again");
            Rest.Response after = waitFor(() -> rest.post("/topics/" + topic, BINARY,
                    "{\"records\":[{\"value\":\"YWZ0ZXI=\"}]}"), r -> r.status() == 200, "produce works again");
            assertEquals(0, after.json().get("offsets").get(0).get("partition").asInt());
            List<String> values = new java.util.ArrayList<>();
            rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&count=10").json()
                    .forEach(r -> values.add(r.get("value").asText()));
            assertTrue(values.contains("YmVmb3Jl") && values.contains("YWZ0ZXI="), values.toString());
            Rest.Response resumed = waitFor(() -> rest.get(consumer + "/topics/" + topic, "Accept", BINARY),
                    r -> r.status() == 200 && r.json().size() > 0, "the consumer instance reads again");
            assertEquals("YWZ0ZXI=", resumed.json().get(resumed.json().size() - 1).get("value").asText());
        } finally {
            p.close();
            cluster.close();
            broker.close();
        }
    }

    private static Rest.Response waitFor(java.util.function.Supplier<Rest.Response> call,
                                         Predicate<Rest.Response> done, String what) throws InterruptedException {
        Rest.Response last = null;
        for (int i = 0; i < 120; i++) {
            last = call.get();
            if (done.test(last)) {
                return last;
            }
            Thread.sleep(250);
        }
        throw new AssertionError(what + " within 30 s; last answer: " + last);
    }
}
