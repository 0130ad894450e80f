package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ProcStatsTest {
    private static final long SELF = ProcessHandle.current().pid();
    /** Above Linux's pid_max: never a process. */
    private static final long NOBODY = 1L << 23;

    @Test
    void aServerAndItsLauncherCountTogetherAndAnUnknownOneMakesTheSumUnknown() {
        long before = ProcStats.statusBytes(SELF, "VmHWM"); // a peak only grows
        long both = ProcStats.statusBytes(List.of(SELF, SELF), "VmHWM");
        long after = ProcStats.statusBytes(SELF, "VmHWM");
        assertTrue(before > 0, "this JVM's peak RSS: " + before);
        assertTrue(2 * before <= both && both <= 2 * after, before + " " + both + " " + after);
        assertEquals(-1, ProcStats.statusBytes(List.of(SELF, NOBODY), "VmHWM"));
        assertEquals(-1, ProcStats.cpuNanos(List.of(NOBODY, SELF)));
        assertTrue(ProcStats.cpuNanos(List.of(SELF)) > 0);
    }
}
