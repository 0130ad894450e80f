package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The smoke test of the benchmark harness: the whole run (broker and Portico in their own JVMs,
 * every row) on a tiny N. It checks that every row ran, produced numbers and had no errors, and
 * that the processes it started are gone afterwards. It asserts nothing about speed: numbers
 * from a shared CI machine mean nothing. (The timeout only guards against a hang.)
 */
class BenchIT {
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void everyRowRunsEndToEndOnATinyN(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("bench.root", "..")).toAbsolutePath().normalize();
        Options options = Options.defaults(root).quickSizes()
                .withPaths(Path.of(System.getProperty("portico.jar", root + "/proxy/target/portico.jar")),
                        Path.of(System.getProperty("bench.classes", root + "/bench/target/classes")))
                .withOut(dir.resolve("results"))
                .withWork(dir.resolve("work"));
        assertTrue(Files.isRegularFile(options.jar()), "run after package: " + options.jar());

        Bench.Outcome outcome = Bench.run(options);

        assertEquals(List.of("native-produce", "native-consume", "a", "j", "b", "c", "g", "d", "h", "e", "f", "i",
                        "k", "native-tail", "l"),
                outcome.rows().stream().map(Bench.RowResult::id).toList());
        for (Bench.RowResult row : outcome.rows()) {
            String what = row.id() + ": " + row;
            assertEquals(0, row.errors(), "errors in " + what);
            assertEquals(2000, row.records() + untimedRecords(row), what);
            assertTrue(row.seconds() > 0, what);
            assertTrue(row.recordsPerSecond() > 0, what);
            assertTrue(row.megabytesPerSecond() > 0, what);
            assertNotNull(row.usage(), what);
            assertFalse(Double.isNaN(row.usage().porticoCpu()), what);
            assertTrue(row.usage().porticoRss() > 0, what);
            if (!row.id().equals("native-consume")) {
                assertTrue(row.latency().count() > 0, what);
                assertFalse(Double.isNaN(row.latency().p99()), what);
            }
        }
        String results = Files.readString(outcome.resultsFile());
        assertTrue(results.contains("| d | 2,000 |"), results);
        assertTrue(results.contains("## Targets of issue 6"), results);

        for (long pid : List.of(outcome.brokerPid(), outcome.porticoPid())) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "process " + pid
                    + " is still running");
        }
        assertFalse(Files.exists(dir.resolve("work/kafka")), "the broker's data is deleted");
    }

    /** Records rows e and f read while their groups joined (untimed, so not in its count): from its note. */
    private static long untimedRecords(Bench.RowResult row) {
        long n = 0;
        for (String note : row.notes()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("untimed before: .*: ([0-9,]+) records\\)")
                    .matcher(note);
            if (m.find()) {
                n += Long.parseLong(m.group(1).replace(",", ""));
            }
        }
        return n;
    }
}
