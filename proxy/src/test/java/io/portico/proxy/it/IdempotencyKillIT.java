package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node killed with {@code kill -9} in the middle of a keyed produce — its records sent to
 * Kafka, its transaction not committed — and the client's retry at another node: no duplicate,
 * and the retry succeeds. The killed node is the shipped jar in a process of its own, stopped
 * just before its commit by a test-only system property and killed once it says so.
 */
@ExtendWith(PorticoExtension.class)
class IdempotencyKillIT {
    private static final Path JAR = Path.of("target", "portico.jar");
    private static final String V1 = "application/vnd.kafka.binary.v1+json";
    private static final String EOF = "\u0000EOF";

    @Test
    void aNodeKilledBeforeItsCommitLeavesNoDuplicateAndTheRetryAtAnotherNodeSucceeds(Rest other, KafkaCluster kafka,
                                                                                      @TempDir Path dir) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("idem-kill"), 1);
        int port = freePort();
        Path config = dir.resolve("portico.properties");
        Files.writeString(config, "listeners=http://127.0.0.1:" + port + "\nbootstrap.servers=" + kafka.bootstrapServers()
                + "\n");
        assertTrue(Files.exists(JAR), "run after package: " + JAR.toAbsolutePath());
        Process node = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-Dportico.test.idempotency.pause-before-commit=true", "-jar", JAR.toString(),
                config.toString()).redirectErrorStream(true).start();
        BlockingQueue<String> output = drain(node);
        List<String> seen = new ArrayList<>();
        String key = "kill-" + UUID.randomUUID();
        String body = "{\"records\":[{\"value\":\"YQ==\"},{\"value\":\"Yg==\"}]}";
        try {
            waitFor(output, seen, "Portico serves on");
            Rest doomed = new Rest(URI.create("http://127.0.0.1:" + port));
            CompletableFuture<Rest.Response> lost = CompletableFuture.supplyAsync(
                    () -> doomed.post("/topics/" + topic, V1, body, "Idempotency-Key", key));
            waitFor(output, seen, "Paused before committing a keyed produce");
            node.destroyForcibly(); // SIGKILL: nothing of the node runs after this
            assertTrue(node.waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, node.exitValue(), "killed by SIGKILL");
            assertTrue(lost.handle((r, e) -> r == null).get(30, TimeUnit.SECONDS), "the first answer is lost");
        } finally {
            node.destroyForcibly();
        }
        assertEquals(List.of("a", "b"), values(read(kafka, topic, "read_uncommitted")),
                "the killed node had sent its records (and its result)");
        assertEquals(List.of(), values(read(kafka, topic, "read_committed")), "none of them committed");

        Rest.Response retry = other.post("/topics/" + topic, V1, body, "Idempotency-Key", key);
        assertEquals(200, retry.status(), retry.body());
        assertNull(retry.header("Idempotent-Replayed"), "nothing was recorded: the retry produced");
        assertFalse(retry.body().contains("\"error_code\":5"), retry.body());
        assertEquals(List.of("a", "b"), values(read(kafka, topic, "read_committed")), "each record once");

        Rest.Response again = other.post("/topics/" + topic, V1, body, "Idempotency-Key", key);
        assertEquals(retry.body(), again.body());
        assertEquals("true", again.header("Idempotent-Replayed"));
        assertEquals(List.of("a", "b"), values(read(kafka, topic, "read_committed")));
    }

    /** Every record of the topic's partitions, read to their end with {@code isolation}. */
    private static List<ConsumerRecord<byte[], byte[]>> read(KafkaCluster kafka, String topic, String isolation) {
        return kafka.readToEnd(topic, isolation);
    }

    private static List<String> values(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList();
    }

    private static BlockingQueue<String> drain(Process process) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread t = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
            lines.add(EOF);
        });
        t.setDaemon(true);
        t.start();
        return lines;
    }

    private static void waitFor(BlockingQueue<String> output, List<String> seen, String text) throws InterruptedException {
        while (true) {
            String line = output.poll(90, TimeUnit.SECONDS);
            assertNotNull(line, "no '" + text + "' within 90 s; output so far: " + seen);
            assertFalse(line.equals(EOF), "the process ended before '" + text + "': " + seen);
            seen.add(line);
            if (line.contains(text)) {
                return;
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
