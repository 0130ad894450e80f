package io.portico.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongUnaryOperator;
import java.util.stream.Stream;

/**
 * What Linux's {@code /proc} tells about a process: CPU time (utime+stime of {@code stat}), resident
 * memory ({@code VmRSS}, and the peak {@code VmHWM}, which writing 5 to {@code clear_refs} resets),
 * and CPU time per thread, grouped by thread name. Values are null/zero where {@code /proc} is
 * not there (not Linux).
 */
public final class ProcStats {
    private static final long CLOCK_TICKS = clockTicks();

    private ProcStats() {
    }

    /** Clock ticks per second ({@code getconf CLK_TCK}; 100 on every Linux we know). */
    public static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            p.waitFor();
            return Long.parseLong(out);
        } catch (IOException | NumberFormatException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }

    /** User plus system CPU time of the process so far, in nanoseconds; -1 if unknown. */
    public static long cpuNanos(long pid) {
        return cpuNanos(Path.of("/proc", String.valueOf(pid), "stat"));
    }

    private static long cpuNanos(Path stat) {
        String[] f = statFields(stat);
        if (f == null) {
            return -1;
        }
        // Fields after "(comm)": f[0] is field 3 (state); utime is field 14, stime field 15.
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        return ticks * 1_000_000_000L / CLOCK_TICKS;
    }

    private static String[] statFields(Path stat) {
        try {
            String s = Files.readString(stat, StandardCharsets.ISO_8859_1);
            return s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** A {@code kB} line of {@code /proc/<pid>/status} ({@code VmRSS}, {@code VmHWM}) in bytes; -1 if unknown. */
    public static long statusBytes(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"),
                    StandardCharsets.ISO_8859_1)) {
                if (line.startsWith(field + ":")) {
                    String v = line.substring(field.length() + 1).trim();
                    return Long.parseLong(v.substring(0, v.indexOf(' '))) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    /** {@link #statusBytes(long, String)} summed over processes (a server and its launcher); -1 if any is unknown. */
    public static long statusBytes(List<Long> pids, String field) {
        return sum(pids, pid -> statusBytes(pid, field));
    }

    /** {@link #cpuNanos(long)} summed over processes (a server and its launcher); -1 if any is unknown. */
    public static long cpuNanos(List<Long> pids) {
        return sum(pids, ProcStats::cpuNanos);
    }

    private static long sum(List<Long> pids, LongUnaryOperator each) {
        long sum = 0;
        for (long pid : pids) {
            long v = each.applyAsLong(pid);
            if (v < 0) {
                return -1;
            }
            sum += v;
        }
        return sum;
    }

    /** Resets the peak resident size (VmHWM) to the current one; false where that is not allowed. */
    public static boolean resetPeakRss(long pid) {
        try {
            Files.writeString(Path.of("/proc", String.valueOf(pid), "clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * CPU nanoseconds per thread group: the thread's name as Linux keeps it (the first 15
     * characters of the Java name) with a trailing number removed, so that the 16 produce
     * threads add up as one.
     */
    public static Map<String, Long> threadCpuNanos(long pid) {
        Map<String, Long> out = new HashMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
            tasks.forEach(task -> {
                try {
                    String s = Files.readString(task.resolve("stat"), StandardCharsets.ISO_8859_1);
                    String name = s.substring(s.indexOf('(') + 1, s.lastIndexOf(')'));
                    long nanos = cpuNanos(task.resolve("stat"));
                    if (nanos >= 0) {
                        out.merge(threadGroup(name), nanos, Long::sum);
                    }
                } catch (IOException | RuntimeException e) {
                    // the thread ended
                }
            });
        } catch (IOException | RuntimeException e) {
            // not Linux, or the process ended
        }
        return out;
    }

    /**
     * CPU nanoseconds so far of the JIT compiler threads (C1 and C2) of the given processes,
     * summed. HotSpot may end an idle compiler thread, taking its CPU out of the sum: a caller
     * comparing two readings clamps a fall to 0.
     */
    public static long compilerNanos(List<Long> pids) {
        long sum = 0;
        for (long pid : pids) {
            for (Map.Entry<String, Long> e : threadCpuNanos(pid).entrySet()) {
                if (isCompiler(e.getKey())) {
                    sum += e.getValue();
                }
            }
        }
        return sum;
    }

    /** A thread group of {@link #threadGroup} that is one of HotSpot's JIT compilers. */
    static boolean isCompiler(String group) {
        return group.equals("C2 CompilerThread") || group.equals("C1 CompilerThread");
    }

    /** "portico-produce-12" (cut to 15 characters by Linux) → "portico-produce"; "GC Thread#1" → "GC Thread". */
    static String threadGroup(String name) {
        String g = name.replaceAll("[-#]?\\d+$", "").trim();
        return switch (g) {
            case "kafka-producer-", "kafka-producer" -> "kafka-producer-network-thread";
            case "XNIO- I/O", "XNIO-1 I/O" -> "XNIO I/O (Undertow IO threads)";
            case "XNIO- Accept", "XNIO-1 Accept" -> "XNIO Accept";
            case "portico-consume" -> "portico-consumer (pool)";
            case "portico-produce" -> "portico-produce (pool)";
            case "kafka-coordinat" -> "kafka-coordinator-heartbeat-thread";
            case "C2 CompilerThre" -> "C2 CompilerThread";
            case "C1 CompilerThre" -> "C1 CompilerThread";
            default -> g.isEmpty() ? name : g;
        };
    }
}
