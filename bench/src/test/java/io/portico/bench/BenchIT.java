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
 * every row, the produce rows at 1 and at 3 partitions, the wrk rows when wrk is installed) on a
 * tiny N. It checks that every row ran, produced numbers and had no errors, and that the
 * processes it started are gone afterwards. It asserts nothing about speed: numbers from a
 * shared CI machine mean nothing. (The timeout only guards against a hang.)
 */
class BenchIT {
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void everyRowRunsEndToEndOnATinyN(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("bench.root", "..")).toAbsolutePath().normalize();
        // The read rows' topic topped up past what the native producer wrote (the top-up runs).
        Options options = Options.defaults(root).quickSizes().withPartitions(List.of(1, 3)).withReadRecords(3000)
                .withPaths(Path.of(System.getProperty("portico.jar", root + "/proxy/target/portico.jar")),
                        Path.of(System.getProperty("bench.classes", root + "/bench/target/classes")))
                .withOut(dir.resolve("results"))
                .withWork(dir.resolve("work"));
        assertTrue(Files.isRegularFile(options.jar()), "run after package: " + options.jar());

        Bench.Outcome outcome = Bench.run(options);

        boolean wrk = Wrk.find() != null;
        assertEquals(wrk, outcome.wrk(), "the wrk rows run when wrk is on the PATH");
        List<String> wrkProduce = wrk ? List.of("wrk-root", "wrk-b", "wrk-c", "wrk-o", "wrk-a") : List.of();
        List<String> onePartition = new java.util.ArrayList<>(List.of("native-produce", "native-produce-tuned", "root",
                "a", "b", "c", "o"));
        onePartition.addAll(wrkProduce);
        List<String> threePartitions = new java.util.ArrayList<>(List.of("native-produce", "native-produce-tuned",
                "root", "a", "j", "b", "c", "o", "g"));
        threePartitions.addAll(wrkProduce);
        threePartitions.addAll(List.of("native-consume", "d", "m", "h", "e", "f", "i", "n", "k", "native-tail", "l"));
        threePartitions.addAll(wrk ? List.of("wrk-d", "wrk-m") : List.of());
        assertEquals(List.of(1, 3), outcome.sections().stream().map(Bench.Section::partitions).toList());
        assertEquals(onePartition, outcome.sections().get(0).rows().stream().map(Bench.RowResult::id).toList());
        assertEquals(threePartitions, outcome.sections().get(1).rows().stream().map(Bench.RowResult::id).toList());
        assertEquals(outcome.rows().size(), Bench.expectedRows(options, wrk));
        for (Bench.RowResult row : outcome.rows()) {
            String what = row.id() + ": " + row;
            assertEquals(0, row.errors(), "errors in " + what);
            if (row.id().startsWith("wrk-")) {
                assertTrue(row.records() > 0, what); // wrk runs for a time, not a count
            } else {
                boolean reads = List.of("native-consume", "d", "m", "h", "e", "f", "i", "n", "k").contains(row.id());
                assertEquals(reads ? 3000 : 2000, row.records() + untimedRecords(row), what);
            }
            assertTrue(row.seconds() > 0, what);
            assertTrue(row.recordsPerSecond() > 0, what);
            if (row.id().endsWith("root")) {
                assertEquals(0, row.valueBytes(), "GET / carries no records: " + what);
            } else {
                assertTrue(row.megabytesPerSecond() > 0, what);
            }
            assertNotNull(row.usage(), what);
            assertFalse(Double.isNaN(row.usage().porticoCpu()), what);
            assertTrue(row.usage().porticoRss() > 0, what);
            if (!row.id().equals("native-consume")) {
                assertTrue(row.latency().count() > 0, what);
                assertFalse(Double.isNaN(row.latency().p99()), what);
            }
        }
        String results = Files.readString(outcome.resultsFile());
        assertTrue(results.contains("| d | 3,000 |"), results);
        assertTrue(results.contains("## Targets of issue 18"), results);
        assertTrue(results.contains("## 1 partition (produce rows)") && results.contains("## 3 partitions"), results);
        assertTrue(results.contains("× tuned produce |") && results.contains("× GET / |")
                && results.contains("× consume |"), "the vs column names each baseline: " + results);
        assertTrue(results.contains("not judged: run with --portico-heap 256m"), results);
        if (!wrk) {
            assertTrue(results.contains("apt-get install wrk"), "a run without wrk says how to install it");
        }

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
