package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CurvesOptionsTest {
    private static final Path ROOT = Path.of("/repo");

    private static CurvesOptions parse(String... args) {
        return CurvesOptions.parse(args, ROOT);
    }

    @Test
    void theDefaultsAreTheIssuesPoints() {
        CurvesOptions o = parse();
        assertFalse(o.quick());
        assertEquals(List.of(1, 4, 16, 64, 256, 1024), o.points());
        assertEquals(List.of(1, 10, 100, 1000), o.instances());
        assertEquals(List.of(1000, 10_000), o.idle());
        assertEquals(List.of(1, 3), o.partitions());
        assertEquals(List.of("produce", "consume", "idle"), List.copyOf(o.curves()));
        assertNull(o.porticoHeap(), "Portico as shipped: no -Xmx");
        assertTrue(o.wrk());
        assertEquals(ROOT.resolve("bench/results"), o.out());
        assertEquals(2, o.pointWarmupSeconds());
    }

    @Test
    void quickIsTinyAndOtherOptionsStillApply() {
        CurvesOptions q = parse("--seconds", "3", "--quick");
        assertTrue(q.quick());
        assertEquals(3, q.seconds());
        assertEquals(List.of(1, 16), q.points());
        assertEquals(List.of(1000), q.idle());
        assertEquals(0, q.pointWarmupSeconds());
    }

    @Test
    void listsAndValues() {
        CurvesOptions o = parse("--points", "2,8", "--instances", "5", "--idle", "100,200", "--partitions", "6",
                "--portico-heap", "512m", "--portico-prop", "consumer.threads = 128", "--portico-jvm-opt",
                "-XX:+UseZGC", "--curves", "idle,produce", "--no-wrk", "--warmup", "5", "--read-records", "1_000",
                "--out", "/tmp/x");
        assertEquals(List.of(2, 8), o.points());
        assertEquals(List.of(5), o.instances());
        assertEquals(List.of(100, 200), o.idle());
        assertEquals(List.of(6), o.partitions());
        assertEquals("512m", o.porticoHeap());
        assertEquals(Map.of("consumer.threads", "128"), o.porticoProperties());
        assertEquals(List.of("-XX:+UseZGC"), o.porticoJvmOptions());
        assertEquals(List.of("produce", "idle"), List.copyOf(o.curves()), "in the order they run");
        assertFalse(o.wrk());
        assertEquals(1, o.pointWarmupSeconds());
        assertEquals(1000, o.readRecords());
        assertEquals(Path.of("/tmp/x"), o.out());
        assertTrue(o.describe().contains("Portico heap -Xmx512m"), o.describe());
    }

    @Test
    void mistakesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> parse("--points", "0,4"));
        assertThrows(IllegalArgumentException.class, () -> parse("--points", ","));
        assertThrows(IllegalArgumentException.class, () -> parse("--points", "a"));
        assertThrows(IllegalArgumentException.class, () -> parse("--seconds"));
        assertThrows(IllegalArgumentException.class, () -> parse("--curves", "everything"));
        assertThrows(IllegalArgumentException.class, () -> parse("--portico-prop", "novalue"));
        assertThrows(IllegalArgumentException.class, () -> parse("--frobnicate"));
        assertEquals("", assertThrows(IllegalArgumentException.class, () -> parse("--help")).getMessage());
    }
}
