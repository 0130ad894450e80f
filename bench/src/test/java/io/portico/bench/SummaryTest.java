package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SummaryTest {
    private static final String FULL = "- Settings: records=2,000,000 (native, a; …), requests=500,000 (root, b, c), "
            + "partitions=1,3 (reads: 3), wrk rows 15 s each, warm-up=50% (read rows: 20 s; each row's until the JIT "
            + "compilers are quiet, at most 90 s)\n";

    private static String results(String commit, String settings, String b1, String b1Met, String k, String kMet,
                                  String l) {
        return "# Portico benchmark\n\n## 1 partition (produce rows)\n\n| row | records | vs |\n| --- | --- | --- |\n"
                + "| b | 500,000 | 0.71 × GET / |\n\n"
                + "## Targets of issue 18\n\nRatios in this run.\n\n"
                + "| target | generator | partitions | this run | met |\n| --- | --- | ---: | --- | --- |\n"
                + "| single-record v1 produce (b) ≥ 70% of GET / (root), p99 ≤ 10 ms at 64 connections | bench | 1 | "
                + b1 + " | " + b1Met + " |\n"
                + "| with -Xmx256m no row fails | both | all | not judged: run with --portico-heap 256m | — |\n\n"
                + "## Other targets (issues 6 and 17)\n\n| target | this run | met |\n| --- | --- | --- |\n"
                + "| k (Server-Sent Events drain) ≥ 80% of native-consume records/s | " + k + " | " + kMet + " |\n"
                + "| l (Server-Sent Events live tail) p99 ≤ 2 × native-tail's | " + l + " | yes |\n"
                + "| no errors in any row | 0 errors, 39 of 39 rows | yes |\n\n"
                + "## Setup\n\n- Portico: commit " + commit + " (main)\n" + settings;
    }

    @Test
    void readsEachTargetAsTheRunJudgedIt() {
        Summary.Run run = Summary.parse("2026-12-05-0321", results("63bf5c57fdd0", FULL,
                "71% (33,138 / 46,505 records/s), p99 5.40 ms, 64 connections", "yes", "46%", "**no**",
                "8.95 ms vs 6.34 ms: 1.41 ×"));
        assertTrue(run.full());
        assertEquals("63bf5c57fdd0", run.commit());
        assertEquals(5, run.judged().size());
        Summary.Judged b = run.judged().get(0);
        assertEquals("bench", b.generator());
        assertEquals("1", b.partitions());
        assertEquals(0.71, b.ratio(), 1e-9);
        assertEquals(Boolean.TRUE, b.met());
        Summary.Judged heap = run.judged().get(1);
        assertNull(heap.ratio());
        assertNull(heap.met(), "not judged in that run");
        assertEquals(0.46, run.judged().get(2).ratio(), 1e-9);
        assertEquals(Boolean.FALSE, run.judged().get(2).met());
        assertEquals(1.41, run.judged().get(3).ratio(), 1e-9, "the last ratio of the cell");
        assertNull(run.judged().get(4).ratio(), "an error count is no ratio");
    }

    @Test
    void aRunAtOtherSizesIsNotFullAndAFileWithoutTargetsIsNoRun() {
        String quick = FULL.replace("records=2,000,000", "records=2,000");
        assertFalse(Summary.parse("x", results("c", quick, "50%", "**no**", "46%", "**no**", "1.0 ×")).full());
        String reads = FULL.replace("(native, a; …), ", "(native produce, a, j, g), read records=10,000,000 (…), ");
        assertTrue(Summary.parse("x", results("c", reads, "50%", "**no**", "46%", "**no**", "1.0 ×")).full());
        String fewerReads = reads.replace("read records=10,000,000", "read records=3,000,000");
        assertFalse(Summary.parse("x", results("c", fewerReads, "50%", "**no**", "46%", "**no**", "1.0 ×")).full());
        String fewerProduced = reads.replace("records=2,000,000 (native", "records=1,000,000 (native")
                .replace("read records=10,000,000", "read records=2,000,000");
        assertFalse(Summary.parse("x", results("c", fewerProduced, "50%", "**no**", "46%", "**no**", "1.0 ×")).full(),
                "2,000,000 read records are not 2,000,000 produced");
        assertFalse(Summary.parse("x", results("c", FULL, "not run", "—", "46%", "**no**", "1.0 ×")).full(),
                "some rows were not run");
        assertNull(Summary.parse("x", "# Portico benchmark\n\n## 3 partitions\n\n| row | vs |\n"));
    }

    @Test
    void sumsUpTheRunsPerTarget(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("2026-12-01-0100.md"), results("aaa", FULL, "60% (…)", "**no**", "70%", "**no**",
                "1.5 ×"));
        Files.writeString(dir.resolve("2026-12-02-0100.md"), results("bbb", FULL, "72% (…)", "yes", "50%", "**no**",
                "1.2 ×"));
        Files.writeString(dir.resolve("2026-12-03-0100.md"), results("ccc", FULL, "71% (…)", "yes", "81%", "yes",
                "1.1 ×"));
        Files.writeString(dir.resolve("2026-12-03-0200.md"), results("ddd", FULL.replace("partitions=1,3", "partitions=3"),
                "99% (…)", "yes", "99%", "yes", "1.0 ×")); // not a full run
        Files.writeString(dir.resolve("curves-2026-12-03-0300.md"), "# curves\n"); // not a run of bench/run.sh

        List<Summary.Run> runs = Summary.read(dir, false, null);
        assertEquals(List.of("2026-12-01-0100", "2026-12-02-0100", "2026-12-03-0100"),
                runs.stream().map(Summary.Run::name).toList());
        String md = Summary.markdown(runs);
        assertTrue(md.contains("| single-record v1 produce (b) ≥ 70% of GET / (root), p99 ≤ 10 ms at 64 connections | bench "
                + "| 1 | 2 of 3 | 0.60 | 0.71 | 0.72 | 0.71 (met) |"), md);
        assertTrue(md.contains("| k (Server-Sent Events drain) ≥ 80% of native-consume records/s | bench | 3 | 1 of 3 "
                + "| 0.50 | 0.70 | 0.81 | 0.81 (met) |"), md);
        assertTrue(md.contains("| with -Xmx256m no row fails | both | all | — | — | — | — | — |"), md);
        assertTrue(md.contains("Runs in which every judged target was met: 1 of 3."), md);

        assertEquals(2, Summary.read(dir, false, "2026-12-02-0000").size());
        assertEquals(4, Summary.read(dir, true, null).size());
    }
}
