package io.portico.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The whole machine's CPU from the first line of {@code /proc/stat}: busy time (all but idle and
 * iowait) against all time, over a window. On a shared machine it tells how much of the CPU other
 * processes took while a point was measured.
 */
final class MachineCpu {
    private MachineCpu() {
    }

    /** Jiffies so far: busy and total; null where {@code /proc/stat} cannot be read. */
    record Sample(long busy, long total) {
    }

    static Sample sample() {
        try {
            return parse(Files.readString(Path.of("/proc/stat"), StandardCharsets.ISO_8859_1));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The {@code cpu} line of {@code /proc/stat}: user nice system idle iowait irq softirq steal …. */
    static Sample parse(String procStat) {
        String line = procStat.lines().filter(l -> l.startsWith("cpu ")).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no cpu line"));
        String[] f = line.substring(4).trim().split("\\s+");
        long total = 0;
        // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
        for (int i = 0; i < Math.min(f.length, 8); i++) {
            total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[3]) + (f.length > 4 ? Long.parseLong(f[4]) : 0);
        return new Sample(total - idle, total);
    }

    /** Busy share of the machine between two samples, in % of one core ({@code cores} × 100 when all busy); NaN if unknown. */
    static double percent(Sample from, Sample to, int cores) {
        if (from == null || to == null || to.total() <= from.total()) {
            return Double.NaN;
        }
        return 100.0 * cores * (to.busy() - from.busy()) / (to.total() - from.total());
    }
}
