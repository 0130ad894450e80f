package io.portico.bench;

import java.util.Arrays;

/**
 * Every latency of a row, in nanoseconds, kept exactly (a row has at most a few million
 * requests, so the samples fit easily); percentiles come from sorting them. One recorder per
 * thread, merged at the end: recording is a store into an array, no synchronization.
 */
public final class Latencies {
    private long[] values = new long[1024];
    private int size;

    /** Records one latency in nanoseconds. */
    public void record(long nanos) {
        if (size == values.length) {
            values = Arrays.copyOf(values, values.length * 2);
        }
        values[size++] = nanos;
    }

    /** How many latencies were recorded. */
    public int count() {
        return size;
    }

    /** A recorder holding the samples of all of {@code parts}. */
    public static Latencies merge(Iterable<Latencies> parts) {
        Latencies out = new Latencies();
        int total = 0;
        for (Latencies p : parts) {
            total += p.size;
        }
        out.values = new long[Math.max(total, 1)];
        for (Latencies p : parts) {
            System.arraycopy(p.values, 0, out.values, out.size, p.size);
            out.size += p.size;
        }
        return out;
    }

    /** The summary: percentiles in milliseconds (NaN when nothing was recorded). */
    public Summary summary() {
        if (size == 0) {
            return new Summary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        long[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        return new Summary(size, millis(percentile(sorted, 50)), millis(percentile(sorted, 99)),
                millis(percentile(sorted, 99.9)), millis(sorted[sorted.length - 1]));
    }

    /** Nearest-rank percentile of sorted values. */
    static long percentile(long[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.min(Math.max(rank - 1, 0), sorted.length - 1)];
    }

    private static double millis(long nanos) {
        return nanos / 1_000_000.0;
    }

    /** Latency percentiles in milliseconds. */
    public record Summary(int count, double p50, double p99, double p999, double max) {
    }
}
