package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class WarmupTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void atLeastOnePassAndTheMinimumEvenWhenTheCompilersAreQuiet() {
        Warmup w = new Warmup(20, 90);
        assertTrue(w.more());
        w.add(15, 15 * SECOND, 0);
        assertTrue(w.more(), "15 of 20 s");
        w.add(6, 6 * SECOND, 0);
        assertFalse(w.more(), "21 s, compilers idle");

        Warmup produce = new Warmup(0, 90);
        assertTrue(produce.more());
        produce.add(3, 3 * SECOND, SECOND / 100);
        assertFalse(produce.more(), "one run, compilers at 0.3% of a core");
    }

    @Test
    void goesOnWhileTheCompilersAreBusyUntilTheMaximum() {
        Warmup w = new Warmup(20, 90);
        w.add(21, 21 * SECOND, 8 * SECOND);
        assertTrue(w.more(), "compilers at 38% of a core");
        for (int i = 0; i < 40; i++) {
            w.add(2, 2 * SECOND, SECOND / 2); // 25%: never quiet
        }
        assertFalse(w.more(), "101 s is past the 90 s maximum");
        assertTrue(w.cutShort());
        assertTrue(w.summary().contains("stopped at the maximum of 90 s"), w.summary());
    }

    @Test
    void theShareIsTakenOverTheNewestTwoSecondsOfPassesNotTheWholeWarmup() {
        Warmup w = new Warmup(0, 90);
        w.add(10, 10 * SECOND, 5 * SECOND); // the first run: half a core compiling
        assertTrue(w.more());
        // Short passes: the newest 2 s count, so one busy pass among them keeps it going.
        w.add(0.5, SECOND / 2, 0);
        w.add(0.5, SECOND / 2, 0);
        assertTrue(w.more(), "the last 2 s still hold part of the busy run: " + w.compilerShare());
        w.add(0.5, SECOND / 2, SECOND / 5);
        w.add(0.5, SECOND / 2, 0);
        assertEquals(0.1, w.compilerShare(), 1e-9);
        assertTrue(w.more(), "10% of a core over the last 2 s");
        w.add(0.5, SECOND / 2, 0);
        w.add(0.5, SECOND / 2, 0);
        w.add(0.5, SECOND / 2, 0);
        assertEquals(0, w.compilerShare(), 1e-9);
        assertFalse(w.more());
        assertTrue(w.summary().startsWith("8 passes, 13.5 s; JIT compilers at 0% of a core over the last 2.0 s"),
                w.summary());
    }

    @Test
    void aCompilerThreadThatEndedDoesNotMakeTheShareNegative() {
        Warmup w = new Warmup(0, 90);
        w.add(3, 3 * SECOND, -SECOND);
        assertEquals(0, w.compilerShare(), 1e-9);
        assertFalse(w.more());
    }

    @Test
    void thisJvmsCompilersAreFoundInProc() {
        // Any JVM that ran these tests has compiled something by now.
        assertTrue(ProcStats.compilerNanos(List.of(ProcessHandle.current().pid())) > 0);
        assertTrue(ProcStats.isCompiler(ProcStats.threadGroup("C2 CompilerThre")));
        assertTrue(ProcStats.isCompiler(ProcStats.threadGroup("C1 CompilerThre")));
        assertFalse(ProcStats.isCompiler(ProcStats.threadGroup("GC Thread#0")));
    }
}
