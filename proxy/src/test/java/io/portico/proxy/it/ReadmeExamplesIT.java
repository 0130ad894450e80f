package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Processes;
import io.portico.proxy.testing.Rest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the README's shell examples marked {@code <!-- example: run by ReadmeExamplesIT -->}
 * with bash and curl against a running Portico, exactly as a reader would paste them.
 */
@ExtendWith(PorticoExtension.class)
class ReadmeExamplesIT {
    private static final Path README = Path.of("..", "README.md").toAbsolutePath().normalize();
    private static final Pattern EXAMPLE = Pattern.compile(
            "<!-- example: run by ReadmeExamplesIT -->\\s*```sh\\n(.*?)```", Pattern.DOTALL);

    static List<String> examples() throws Exception {
        List<String> out = new ArrayList<>();
        Matcher m = EXAMPLE.matcher(Files.readString(README));
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    private static String run(Rest rest, String marker) throws Exception {
        assumeTrue(Processes.onPath("bash") && Processes.onPath("curl"), "bash and curl are not on the PATH");
        List<String> examples = examples();
        assertFalse(examples.isEmpty(), "the README has marked examples");
        String example = examples.stream().filter(e -> e.contains(marker)).findFirst().orElseThrow();
        Path script = Files.createTempFile("readme-example", ".sh");
        try {
            Files.writeString(script, "set -euo pipefail\n" + example);
            Processes.Result run = Processes.run(README.getParent(), Map.of("PORTICO_URL", rest.base().toString()),
                    Duration.ofMinutes(1), List.of("bash", script.toString()));
            assertEquals(0, run.exitCode(), run.output());
            return run.output();
        } finally {
            Files.deleteIfExists(script);
        }
    }

    @Test
    void theV3RecordsExamplesRun(Rest rest) throws Exception {
        String out = run(rest, "/records:batch");
        assertEquals(4, out.split("\"error_code\":200", -1).length - 1, "one single record, three streamed: " + out);
        assertTrue(out.contains("\"successes\":[{\"id\":\"a\","), out);
        assertTrue(out.contains("\"failures\":[{\"id\":\"b\",\"error_code\":400,"), out);
        assertTrue(out.contains("\"key\":{\"type\":\"STRING\",\"size\":7}"), out);
    }

    @Test
    void theServerSentEventsExampleRuns(Rest rest) throws Exception {
        String out = run(rest, "text/event-stream");
        assertTrue(out.contains(": stream opened"), out);
        assertTrue(out.contains("id: ticks/0/0\ndata: {\"key\":null,\"value\":\"b25l\",\"partition\":0,\"offset\":0}\n"), out);
        assertTrue(out.contains("id: ticks/0/1\ndata: {\"key\":null,\"value\":\"dHdv\",\"partition\":0,\"offset\":1}\n"), out);
        assertTrue(out.contains("data: {\"topic\":\"ticks\",\"key\":null,\"value\":\"b25l\",\"partition\":0,\"offset\":0,"),
                "the instance's stream, v2's shape: " + out);
    }

    @Test
    void theV3AdminExampleRuns(Rest rest) throws Exception {
        String out = run(rest, "/configs:alter");
        assertTrue(out.startsWith("HTTP/1.1 201"), out);
        assertTrue(out.contains("\"topic_name\":\"orders\"") && out.contains("\"partitions_count\":3"), out);
        assertTrue(out.contains("\"name\":\"retention.ms\",\"value\":\"86400000\""), "the alter took: " + out);
    }

    @Test
    void theAclsAndBrokerSettingsExampleRuns(Rest rest) throws Exception {
        String out = run(rest, "/acls?principal=User:alice");
        assertTrue(out.contains("HTTP/1.1 201 Created"), out);
        assertTrue(out.contains("&principal=User%3Aalice&host=*&operation=READ&permission=ALLOW"), out);
        assertEquals(2, out.split("\"principal\":\"User:alice\"", -1).length - 1, "listed, then deleted: " + out);
        assertTrue(out.contains("\"name\":\"log.cleaner.backoff.ms\",\"value\":\"2000\""), out);
        assertTrue(out.contains("\"source\":\"DYNAMIC_DEFAULT_BROKER_CONFIG\""), out);
    }

    @Test
    void theIdempotencyKeyExampleRuns(Rest rest) throws Exception {
        String out = run(rest, "Idempotency-Key: $KEY");
        Matcher answers = Pattern.compile("HTTP/1.1 200 OK.*?\r\n\r\n(\\{[^\n]*\\})", Pattern.DOTALL).matcher(out);
        List<String> bodies = new ArrayList<>();
        while (answers.find()) {
            bodies.add(answers.group(1));
        }
        assertEquals(2, bodies.size(), out);
        assertEquals(bodies.get(0), bodies.get(1), "the retry answers the first response: " + out);
        assertTrue(bodies.get(0).contains("\"error_code\":null"), out);
        assertEquals(1, out.split("Idempotent-Replayed: true", -1).length - 1, out);
        assertTrue(out.contains("{\"error_code\":42209,"), out);
    }
}
