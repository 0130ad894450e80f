package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Processes;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestCerts;
import io.portico.proxy.testing.TestPortico;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The samples, run as their READMEs say, against a real Portico: the npm clients' interop tests
 * (kafka-rest 0.0.5, message-hub-rest 1.2.0 and 2.0.0), our Node.js console app, the
 * EventSource sample, and the curl quickstart. The npm packages are installed with
 * {@code npm ci} when they are not yet.
 */
@ExtendWith(PorticoExtension.class)
class SamplesIT {
    private static final Path SAMPLES = Path.of("..", "samples").toAbsolutePath().normalize();
    private static final String API_KEY = "node-interop-key-0123456789";
    private static KafkaCluster strictKafka;
    private static TestPortico strict;
    private static TestPortico secure;
    private static Path certificate;

    @TempDir
    static Path dir;

    /** A Portico whose broker does not create topics, and one on https that requires an API key. */
    @BeforeAll
    static void startTheOtherPorticos(KafkaCluster kafka) throws Exception {
        strictKafka = KafkaCluster.embedded(Map.of("auto.create.topics.enable", "false"));
        strict = TestPortico.start(strictKafka, Map.of("metadata.timeout.ms", "5000"));
        TestCerts.Identity server = TestCerts.selfSigned(dir, "portico", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1");
        certificate = TestCerts.exportPem(server, dir.resolve("portico.pem"));
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":[{\"name\":\"node\",\"key\":\"" + API_KEY
                + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}");
        secure = TestPortico.start(kafka, Map.of("listeners", "https://localhost:0",
                "ssl.keystore.location", server.pkcs12().toString(), "ssl.keystore.password", TestCerts.PASSWORD,
                "authentication.method", "API_KEY", "api.keys.file", keys.toString()));
    }

    @AfterAll
    static void stop() {
        secure.close();
        strict.close();
        strictKafka.close();
    }

    /**
     * Node.js and npm are needed to check the Node samples and the npm clients (the README's test
     * command runs them all): without them these tests fail, unless {@code SKIP_NODE_SAMPLES=1}
     * says to skip them.
     */
    private static void assumeNode() {
        boolean present = Processes.onPath("node") && Processes.onPath("npm");
        if (!present && "1".equals(System.getenv("SKIP_NODE_SAMPLES"))) {
            assumeTrue(false, "Node.js and npm are not on the PATH (SKIP_NODE_SAMPLES=1)");
        }
        assertTrue(present, "Node.js and npm are needed on the PATH (or SKIP_NODE_SAMPLES=1 to skip the Node samples)");
    }

    @Test
    void npmClientsWorkUnchanged(Rest rest) throws Exception {
        assumeNode();
        Path dir = SAMPLES.resolve("node-interop");
        if (!Files.isDirectory(dir.resolve("node_modules"))) {
            Processes.Result install = Processes.run(dir, Map.of(), Duration.ofMinutes(5),
                    List.of("npm", "ci", "--no-audit", "--no-fund"));
            assertEquals(0, install.exitCode(), install.output());
        }
        Map<String, String> env = new HashMap<>();
        env.put("PORTICO_URL", rest.base().toString());
        env.put("PORTICO_URL_NO_AUTOCREATE", strict.rest().base().toString());
        env.put("PORTICO_ADMIN_TOPICS", "1");
        env.put("PORTICO_HTTPS_URL", "https://localhost:" + secure.portico().listenerUrls().get(0).getPort());
        env.put("NODE_EXTRA_CA_CERTS", certificate.toString());
        env.put("PORTICO_API_KEY", API_KEY);
        Processes.Result test = Processes.run(dir, env, Duration.ofMinutes(5), List.of("npm", "test"));
        assertEquals(0, test.exitCode(), test.output());
        assertTrue(test.output().contains("# pass"), test.output()); // TAP, as the npm script asks, on every Node
        assertFalse(test.output().contains("# SKIP"), "every interop test ran: " + test.output());
    }

    @Test
    void theNodeConsoleSampleRuns(Rest rest) throws Exception {
        assumeNode();
        Processes.Result run = Processes.run(SAMPLES.resolve("node-console"),
                Map.of("PORTICO_URL", rest.base().toString()), Duration.ofMinutes(2), List.of("node", "console.js"));
        assertEquals(0, run.exitCode(), run.output());
    }

    @Test
    void theNodeConsoleV2SampleRuns(Rest rest) throws Exception {
        assumeNode();
        Processes.Result run = Processes.run(SAMPLES.resolve("node-console"),
                Map.of("PORTICO_URL", rest.base().toString()), Duration.ofMinutes(2), List.of("node", "console-v2.js"));
        assertEquals(0, run.exitCode(), run.output());
        assertTrue(run.output().contains("read offsets 0, 1, 2 again"), run.output());
    }

    /** The EventSource sample, plain and with an API key over https (a stream token in its URLs, never the key). */
    @Test
    void theNodeServerSentEventsSampleRuns(Rest rest) throws Exception {
        assumeNode();
        Path dir = SAMPLES.resolve("node-sse");
        if (!Files.isDirectory(dir.resolve("node_modules"))) {
            Processes.Result install = Processes.run(dir, Map.of(), Duration.ofMinutes(5),
                    List.of("npm", "ci", "--no-audit", "--no-fund"));
            assertEquals(0, install.exitCode(), install.output());
        }
        Processes.Result plain = Processes.run(dir, Map.of("PORTICO_URL", rest.base().toString()), Duration.ofMinutes(2),
                List.of("node", "sse.js"));
        assertEquals(0, plain.exitCode(), plain.output());
        assertTrue(plain.output().contains("Done."), plain.output());
        Processes.Result secured = Processes.run(dir, Map.of(
                "PORTICO_URL", "https://localhost:" + secure.portico().listenerUrls().get(0).getPort(),
                "PORTICO_API_KEY", API_KEY, "NODE_EXTRA_CA_CERTS", certificate.toString()), Duration.ofMinutes(2),
                List.of("node", "sse.js"));
        assertEquals(0, secured.exitCode(), secured.output());
        assertTrue(secured.output().contains("(with an API key)") && secured.output().contains("Done."), secured.output());
    }

    @Test
    void theCurlQuickstartRuns(Rest rest) throws Exception {
        assumeTrue(Processes.onPath("bash") && Processes.onPath("curl"), "bash and curl are not on the PATH");
        Processes.Result run = Processes.run(SAMPLES.resolve("curl"),
                Map.of("PORTICO_URL", rest.base().toString()), Duration.ofMinutes(2), List.of("bash", "quickstart.sh"));
        assertEquals(0, run.exitCode(), run.output());
        // What the script's comments say comes back: the binary record read by a consumer and by
        // offset, the JSON record, and each instance deleted.
        assertTrue(run.output().contains("\"value\":\"S2Fma2E=\""), run.output());
        int byOffset = run.output().indexOf("Read the message at offset 0");
        assertTrue(byOffset >= 0 && run.output().indexOf("[{\"key\":null,\"value\":\"S2Fma2E=\",\"partition\":0,\"offset\":0}]",
                byOffset) > byOffset, "the read by offset: " + run.output());
        assertTrue(run.output().contains("\"value\":{\"foo\":\"bar\"}"), run.output());
        assertTrue(run.output().split("HTTP 204", -1).length - 1 >= 2, run.output());
    }
}
