package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The smoke test of the cost curves: {@code bench/curves.sh --quick} end to end (a broker and
 * Portico in their own JVMs, every curve at its tiny points, wrk too when it is installed). It
 * checks that every point is in the results with numbers, and that the processes it started are
 * gone afterwards; nothing about speed. (The timeout only guards against a hang.)
 */
class CurvesIT {
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void everyCurveRunsEndToEndAtItsQuickPoints(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("bench.root", "..")).toAbsolutePath().normalize();
        CurvesOptions options = CurvesOptions.quick(root)
                .withPaths(Path.of(System.getProperty("portico.jar", root + "/proxy/target/portico.jar")),
                        Path.of(System.getProperty("bench.classes", root + "/bench/target/classes")))
                .withOut(dir.resolve("results"))
                .withWork(dir.resolve("work"));
        assertTrue(Files.isRegularFile(options.jar()), "run after package: " + options.jar());

        Curves.Outcome outcome = Curves.run(options);

        // Curve 1: at each point, produce and GET / with each generator, all with numbers.
        List<String> generators = new ArrayList<>(List.of(Curves.BENCH));
        if (Wrk.find() != null) {
            generators.add(Curves.WRK);
        }
        List<String> expected = new ArrayList<>();
        for (int c : options.points()) {
            for (String g : generators) {
                expected.add(c + " " + g + " produce 1");
            }
            for (String g : generators) {
                expected.add(c + " " + g + " GET / 0");
            }
        }
        assertEquals(expected.stream().sorted().toList(), outcome.produce().stream()
                .map(p -> p.connections() + " " + p.generator() + " " + p.target() + " " + p.partitions())
                .sorted().toList());
        for (Curves.ProducePoint p : outcome.produce()) {
            String what = p.toString();
            assertNull(p.failure(), what);
            assertEquals(0, p.errors(), what);
            assertTrue(p.records() > 0 && p.rate() > 0, what);
            assertTrue(p.p99() > 0, what);
            assertTrue(p.usage().porticoRss() > 0, what);
        }

        // Curve 2: every instance created and read from.
        assertEquals(options.instances(), outcome.consume().stream().map(Curves.ConsumePoint::instances).toList());
        for (Curves.ConsumePoint p : outcome.consume()) {
            String what = p.toString();
            assertNull(p.failure(), what);
            assertEquals(p.instances(), p.created(), what);
            assertEquals(0, p.errors(), what);
            assertTrue(p.records() > 0 && p.reads() > 0, what);
            assertTrue(p.readLatency().count() > 0, what);
        }

        // Curve 3: the baseline, then 1,000 idle connections held, measured, and answered alongside.
        assertEquals(List.of(0, 1000), outcome.idle().stream().map(Curves.IdlePoint::connections).toList());
        for (Curves.IdlePoint p : outcome.idle()) {
            String what = p.toString();
            assertEquals(p.connections(), p.opened(), what);
            assertEquals(p.connections(), p.stillOpen(), what);
            assertTrue(p.heapAfterGc() > 0 && p.rss() > 0 && p.threads() > 0, what);
            assertTrue(p.fds() >= p.connections(), what);
            assertEquals(Curves.FRESH_CLIENTS, p.freshOk(), what);
        }

        String md = Files.readString(outcome.resultsFile());
        assertTrue(outcome.resultsFile().getFileName().toString().startsWith("curves-"), outcome.resultsFile()
                .toString());
        assertTrue(md.contains("## 1. Single-record produce against connections"), md);
        assertTrue(md.contains("## 2. Consumer instances reading at once"), md);
        assertTrue(md.contains("## 3. Idle keep-alive connections"), md);
        assertEquals(3, md.split("### Where it bends", -1).length - 1, md);
        assertTrue(md.contains("| 16 | bench | produce, 1 partition | "), md);
        assertTrue(md.contains("| 10 | 10 | "), md);
        assertTrue(md.contains("| 1,000 | 1,000 | "), md);
        assertTrue(md.contains("1,000 idle connections add "), md);

        List<Long> pids = new ArrayList<>(outcome.porticoPids());
        pids.add(outcome.brokerPid());
        assertEquals(4, pids.size(), "a Portico per curve, and the broker");
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "process " + pid
                    + " is still running");
        }
        assertFalse(Files.exists(dir.resolve("work/kafka")), "the broker's data is deleted");
    }
}
