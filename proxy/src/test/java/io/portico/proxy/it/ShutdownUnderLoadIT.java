package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Shutting down while clients produce without pause: every request that got a 200 is in Kafka,
 * and every other one got a clear error (503 JSON) or a closed connection. Nothing acknowledged
 * is lost.
 */
@ExtendWith(PorticoExtension.class)
class ShutdownUnderLoadIT {

    @Test
    void everyAcknowledgedRecordSurvivesAGracefulShutdown(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("shutdown"), 3);
        TestPortico p = TestPortico.start(kafka, Map.of("access.log.enabled", "false"));
        Rest rest = p.rest();
        Map<String, Integer> outcome = new ConcurrentHashMap<>();
        Set<String> unexpected = ConcurrentHashMap.newKeySet();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> running = new java.util.ArrayList<>();
            for (int c = 0; c < 8; c++) {
                int client = c;
                running.add(clients.submit(() -> {
                    for (int i = 0; !stop.get(); i++) {
                        String value = client + "-" + i;
                        String b64 = Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
                        try {
                            Rest.Response r = rest.post("/topics/" + topic, "application/vnd.kafka.binary.v1+json",
                                    "{\"records\":[{\"value\":\"" + b64 + "\"}]}");
                            outcome.put(value, r.status());
                            if (r.status() != 200 && !(r.status() == 503 && r.body().contains("shutting down"))) {
                                unexpected.add(value + " -> " + r);
                            }
                        } catch (UncheckedIOException e) {
                            outcome.put(value, -1); // connection closed or refused: not acknowledged
                        }
                    }
                }));
            }
            while (outcome.values().stream().filter(s -> s == 200).count() < 200) {
                Thread.sleep(20);
            }
            p.close(); // what SIGTERM runs
            Thread.sleep(300);
            stop.set(true);
            for (Future<?> f : running) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            clients.shutdownNow();
            p.close();
        }

        Set<String> acknowledged = new HashSet<>();
        outcome.forEach((v, s) -> {
            if (s == 200) {
                acknowledged.add(v);
            }
        });
        assertTrue(unexpected.isEmpty(), "only 200, 503 'shutting down' or a closed connection: " + unexpected);
        assertTrue(outcome.values().stream().anyMatch(s -> s != 200), "some requests came after the shutdown");
        Set<String> stored = new HashSet<>();
        kafka.read(topic, acknowledged.size()).forEach(r -> stored.add(new String(r.value(), StandardCharsets.UTF_8)));
        Set<String> lost = new HashSet<>(acknowledged);
        lost.removeAll(stored);
        assertEquals(Set.of(), lost, "acknowledged records missing from Kafka");
    }
}
