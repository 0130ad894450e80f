package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.TestPortico;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memory budgets hold where they matter: Portico as shipped ({@code java -jar}: the launcher
 * serves from a JVM of its own with a 256 MiB heap and ParallelGC), in front of an external broker, under everything its documented limits allow at once —
 * eight request bodies of the maximum size, concurrent reads by offset of the maximum count of
 * large records, and as many consumer instances as it takes, each holding records. Every request
 * is answered (200, or 503 / 429 when a budget or limit is full), no OutOfMemoryError happens,
 * and a normal produce succeeds right after.
 */
@ExtendWith(PorticoExtension.class)
class MemoryLimitsIT {
    private static final Path JAR = Path.of("target", "portico.jar");
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";
    private static final int LARGE_RECORD = 700 * 1024;

    @Test
    void aSmallHeapSurvivesEveryLimitAtOnceAndKeepsServing(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        String big = kafka.createTopic(KafkaCluster.uniqueTopic("large-records"), 1);
        String small = kafka.createTopic(KafkaCluster.uniqueTopic("small-records"), 2);
        fill(kafka, big, small);

        int port = freePort();
        Path config = dir.resolve("portico.properties");
        Files.writeString(config, "listeners=http://127.0.0.1:" + port + "\nbootstrap.servers=" + kafka.bootstrapServers()
                + "\naccess.log.enabled=false\n");
        Process process = start(config);
        List<String> output = new CopyOnWriteArrayList<>();
        drain(process, output);
        ExecutorService clients = Executors.newFixedThreadPool(24);
        try {
            Rest rest = new Rest(URI.create("http://127.0.0.1:" + port));
            awaitServing(rest, process, output);
            Rest.Response metrics = rest.get("/metrics"); // as shipped: the launcher's heap and collector
            assertTrue(metrics.body().contains("\"jvm.gc.PS-Scavenge.count\""), "ParallelGC: " + metrics.body());
            assertEquals(64L << 20, metrics.json().get("gauges").get("portico.memory.consumers.capacity").get("value")
                    .asLong(), "memory.consumers.max.bytes: 25% of 256 MiB");

            ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
            Map<String, AtomicInteger> served = new java.util.concurrent.ConcurrentHashMap<>();
            AtomicInteger instances = new AtomicInteger();
            List<Map.Entry<String, Future<?>>> work = new ArrayList<>();
            String body = maximumBody();
            for (int i = 0; i < 8; i++) {
                work.add(Map.entry("max-size produce", clients.submit(() -> count(served, expect(rest.post("/topics/"
                        + KafkaCluster.uniqueTopic("sink"), BINARY, body), unexpected, "max-size produce", 200, 503)))));
            }
            for (int i = 0; i < 4; i++) {
                work.add(Map.entry("max-count read", clients.submit(() -> count(served, expect(rest.get("/topics/" + big
                        + "/partitions/0/messages?offset=0&count=10000"), unexpected, "max-count read", 200, 503)))));
            }
            AtomicInteger full = new AtomicInteger();
            for (int t = 0; t < 8; t++) {
                int worker = t;
                work.add(Map.entry("instances", clients.submit(() -> {
                    for (int i = 0; full.get() == 0 && i < 200; i++) {
                        String group = "mem-" + worker + "-" + i;
                        Rest.Response created = rest.post("/consumers/" + group, BINARY,
                                "{\"name\":\"i\",\"auto.offset.reset\":\"smallest\"}");
                        if (created.status() == 429) {
                            full.incrementAndGet(); // consumer.instances.max, derived from the heap
                            expect(created, unexpected, "create past the limit", 429);
                            return;
                        }
                        expect(created, unexpected, "create", 200);
                        instances.incrementAndGet();
                        // max_bytes=1: one record back, the rest of what was fetched held by the instance;
                        // every fourth instance reads without a cap, as much as it fetched
                        count(served, expect(rest.get("/consumers/" + group + "/instances/i/topics/" + small
                                + (i % 4 == 3 ? "" : "?max_bytes=1")), unexpected, "instance read", 200, 503));
                    }
                })));
            }
            long started = System.nanoTime();
            for (Map.Entry<String, Future<?>> f : work) {
                try {
                    f.getValue().get(10, TimeUnit.MINUTES); // every request answered
                } catch (java.util.concurrent.ExecutionException e) {
                    unexpected.add(f.getKey() + " after " + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started)
                            + " s: " + e.getCause());
                }
            }
            assertTrue(unexpected.isEmpty(), "unexpected answers: " + unexpected + "\nPortico's log ends: "
                    + output.subList(Math.max(0, output.size() - 40), output.size()));
            for (String what : List.of("max-size produce", "max-count read", "instance read")) {
                assertTrue(served.getOrDefault(what, new AtomicInteger()).get() > 0, "at least one " + what + " served: " + served);
            }
            assertTrue(full.get() > 0, "instances were created until consumer.instances.max answered 429 ("
                    + instances + " created)");

            Rest.Response normal = rest.post("/topics/" + KafkaCluster.uniqueTopic("after"), BINARY,
                    "{\"records\":[{\"value\":\"S2Fma2E=\"}]}");
            assertEquals(200, normal.status(), normal.body());
            assertTrue(normal.json().get("offsets").get(0).get("error_code").isNull(), normal.body());
            assertEquals(200, rest.get("/ready").status());
            assertTrue(process.isAlive());
            for (String line : output) {
                assertFalse(line.contains("OutOfMemoryError"), line);
            }
        } finally {
            clients.shutdownNow();
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            Files.write(Path.of("target", "MemoryLimitsIT-portico.log"), output); // for a failure's story
        }
    }

    /** Checks the answer is one of {@code statuses}; returns {@code what} when it was a 200. */
    private static String expect(Rest.Response r, ConcurrentLinkedQueue<String> unexpected, String what, int... statuses) {
        for (int s : statuses) {
            if (r.status() == s) {
                if (s >= 400 && !r.body().contains("\"error_code\"")) {
                    unexpected.add(what + ": " + s + " without a JSON error");
                }
                return s == 200 ? what : null;
            }
        }
        unexpected.add(what + ": " + r.status() + " " + r.body().substring(0, Math.min(300, r.body().length())));
        return null;
    }

    private static void count(Map<String, AtomicInteger> served, String what) {
        if (what != null) {
            served.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
        }
    }

    /** A produce body just under request.body.max.bytes (16 MiB): records of 700 KiB. */
    private static String maximumBody() {
        Random random = new Random(1);
        byte[] value = new byte[LARGE_RECORD];
        random.nextBytes(value);
        String encoded = Base64.getEncoder().encodeToString(value);
        StringBuilder body = new StringBuilder("{\"records\":[");
        int records = (16 * 1024 * 1024 - 100) / (encoded.length() + 16);
        for (int i = 0; i < records; i++) {
            body.append(i == 0 ? "" : ",").append("{\"value\":\"").append(encoded).append("\"}");
        }
        return body.append("]}").toString();
    }

    /** 60 records of 700 KiB in one topic, 20,000 of 100 B in another. */
    private static void fill(KafkaCluster kafka, String big, String small) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers",
                kafka.bootstrapServers(), "linger.ms", "20"), new ByteArraySerializer(), new ByteArraySerializer())) {
            byte[] large = new byte[LARGE_RECORD];
            new Random(2).nextBytes(large);
            for (int i = 0; i < 60; i++) {
                producer.send(new ProducerRecord<>(big, large));
            }
            byte[] little = new byte[100];
            for (int i = 0; i < 20_000; i++) {
                producer.send(new ProducerRecord<>(small, little));
            }
            producer.flush();
        }
    }

    private static Process start(Path config) throws IOException {
        assertTrue(Files.exists(JAR), "run after package: " + JAR.toAbsolutePath());
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString(), config.toString()).redirectErrorStream(true); // as shipped: the launcher's heap and collector
        pb.environment().keySet().removeIf(k -> k.startsWith("PORTICO_"));
        return pb.start();
    }

    private static void drain(Process process, List<String> lines) {
        Thread t = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        t.setDaemon(true);
        t.start();
    }

    private static void awaitServing(Rest rest, Process process, List<String> output) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            assertTrue(process.isAlive(), "Portico ended: " + output);
            try {
                if (rest.get("/health").status() == 200) {
                    return;
                }
            } catch (java.io.UncheckedIOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        assertNotNull(null, "Portico did not serve within 2 minutes: " + output);
    }

    private static int freePort() throws IOException {
        return TestPortico.freePort();
    }
}
