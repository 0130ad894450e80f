package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.TestPortico;
import io.portico.proxy.testing.Rest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's run command, for real: {@code java -jar proxy/target/portico.jar} with no
 * {@code bootstrap.servers} starts the embedded broker, serves the quickstart, and on SIGTERM
 * shuts down and deletes the broker's temporary data. Given no heap option, the jar serves from a
 * JVM it starts, which stops with its launcher even when that is killed.
 */
class JarIT {
    private static final Path JAR = Path.of("target", "portico.jar");

    @Test
    void theShadedJarServesWithAnEmbeddedBrokerAndShutsDownCleanly(@TempDir Path dir) throws Exception {
        int port = freePort();
        Path config = dir.resolve("portico.properties");
        Files.writeString(config, "listeners=http://127.0.0.1:" + port + "\n");
        Process process = start(List.of(config.toString()), Map.of());
        List<String> lines = new ArrayList<>();
        BlockingQueue<String> output = drain(process);
        try {
            String dataLine = waitFor(output, lines, "started an embedded single-node Kafka");
            waitFor(output, lines, "Portico serves on");
            Matcher m = Pattern.compile("data in (\\S+?),").matcher(dataLine);
            assertTrue(m.find(), dataLine);
            Path dataDir = Path.of(m.group(1));
            assertTrue(Files.isDirectory(dataDir), dataDir.toString());
            ProcessHandle server = server(process);

            Rest rest = new Rest(URI.create("http://127.0.0.1:" + port));
            Rest.Response r = rest.post("/topics/jartest", "application/vnd.kafka.binary.v1+json",
                    "{\"records\":[{\"value\":\"S2Fma2E=\"}]}");
            assertEquals("{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}],"
                    + "\"key_schema_id\":null,\"value_schema_id\":null}", r.body());

            Rest.Response metrics = rest.get("/metrics");
            assertTrue(metrics.body().contains("\"jvm.gc.PS-Scavenge.count\""), "the server collects with ParallelGC");
            // Budgets are shares of -Xmx, not of what ParallelGC reports as the heap's maximum
            // (a survivor space less): 25% of 512 MiB.
            assertEquals(128L << 20, metrics.json().get("gauges").get("portico.memory.consumers.capacity").get("value")
                    .asLong(), "memory.consumers.max.bytes as shipped");

            String access = waitFor(output, lines, "\"POST /topics/jartest HTTP/1.1\" 200");
            assertTrue(access.contains(" INFO access - 127.0.0.1 "), "an access log line: " + access);

            process.destroy(); // SIGTERM
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "exits after SIGTERM");
            assertFalse(server.isAlive(), "the launcher exits after the server");
            String line;
            while ((line = output.poll(5, TimeUnit.SECONDS)) != null && !line.equals(EOF)) {
                lines.add(line);
            }
            assertFalse(Files.exists(dataDir), "the temporary data directory is deleted on exit");
            for (String l : lines) {
                assertFalse(l.contains(" INFO ") && !l.contains(" INFO Portico ") && !l.contains(" INFO access "),
                        "Kafka's INFO chatter is off by default: " + l);
            }

        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void aServerWhoseLauncherIsKilledStopsByItself(@TempDir Path dir) throws Exception {
        int port = freePort();
        Path config = dir.resolve("portico.properties");
        Files.writeString(config, "listeners=http://127.0.0.1:" + port + "\n");
        // To a file: the JDK closes a process's output pipe when the process ends, and the server
        // writes on after its launcher is killed.
        Path log = dir.resolve("portico.log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString(), config.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PORTICO_"));
        Process process = pb.start();
        ProcessHandle server = null;
        try {
            String dataLine = awaitInFile(log, "started an embedded single-node Kafka");
            awaitInFile(log, "Portico serves on");
            Matcher m = Pattern.compile("data in (\\S+?),").matcher(dataLine);
            assertTrue(m.find(), dataLine);
            Path dataDir = Path.of(m.group(1));
            server = server(process);

            process.destroyForcibly(); // SIGKILL: the launcher passes nothing on
            server.onExit().get(60, TimeUnit.SECONDS);
            awaitInFile(log, "is gone; Portico stops");
            assertFalse(Files.exists(dataDir), "the server shut down gracefully: its broker's data is deleted");
        } finally {
            process.destroyForcibly();
            if (server != null) {
                server.destroyForcibly();
            }
        }
    }

    private static String awaitInFile(Path log, String text) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (String line : lines) {
                if (line.contains(text)) {
                    return line;
                }
            }
            assertTrue(System.nanoTime() < deadline, "no '" + text + "' within 90 s: " + lines);
            Thread.sleep(100);
        }
    }

    /** The JVM that serves: the launcher's one child, with a 512 MiB heap (the embedded broker runs in it), trimming its native heap. */
    private static ProcessHandle server(Process launcher) {
        List<ProcessHandle> children = launcher.children().toList();
        assertEquals(1, children.size(), "the launcher serves from one JVM of its own: " + children);
        List<String> arguments = List.of(children.get(0).info().arguments().orElseThrow());
        assertTrue(arguments.contains("-Xmx512m"), arguments.toString());
        assertTrue(arguments.contains("-XX:+UseParallelGC"), arguments.toString());
        Runtime.Version jdk = Runtime.version();
        if (jdk.feature() == 17 && jdk.update() >= 9) { // a JDK that can, trims the server's native heap
            assertTrue(arguments.contains("-XX:TrimNativeHeapInterval=5000"), arguments.toString());
        }
        return children.get(0);
    }

    @Test
    void aBadSettingFailsStartUpNamingTheKey(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("bad.properties");
        Files.writeString(config, "listeners=ftp://0.0.0.0:21\n");
        assertStartFails(List.of(config.toString()), Map.of(), "listeners");
        assertStartFails(List.of(), Map.of("PORTICO_METADATA_TIMEOUT_MS", "soon"), "metadata.timeout.ms");
        Files.writeString(config, "no.such.key=1\n");
        assertStartFails(List.of(config.toString()), Map.of(), "no.such.key");
    }

    private static void assertStartFails(List<String> args, Map<String, String> env, String key) throws Exception {
        Process process = start(args, env);
        BlockingQueue<String> output = drain(process);
        try {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "a bad configuration ends the process");
            assertEquals(2, process.exitValue());
            StringBuilder all = new StringBuilder();
            String line;
            while ((line = output.poll(5, TimeUnit.SECONDS)) != null && !line.equals(EOF)) {
                all.append(line).append('\n');
            }
            assertTrue(all.toString().contains(key), all.toString());
        } finally {
            process.destroyForcibly();
        }
    }

    private static final String EOF = "\u0000EOF";

    private static Process start(List<String> args, Map<String, String> env) throws IOException {
        assertTrue(Files.exists(JAR), "run after package: " + JAR.toAbsolutePath());
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString()));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PORTICO_"));
        pb.environment().putAll(env);
        return pb.start();
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

    private static String waitFor(BlockingQueue<String> output, List<String> seen, String text)
            throws InterruptedException {
        while (true) {
            String line = output.poll(90, TimeUnit.SECONDS);
            assertNotNull(line, "no '" + text + "' within 90 s; output so far: " + seen);
            assertFalse(line.equals(EOF), "the process ended before '" + text + "': " + seen);
            seen.add(line);
            if (line.contains(text)) {
                return line;
            }
        }
    }

    private static int freePort() throws IOException {
        return TestPortico.freePort();
    }
}
