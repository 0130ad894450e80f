package io.portico.bench;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Locale;

/**
 * When a row's untimed warm-up may end: after at least its minimum, once the JIT compilers of
 * every JVM in the run (broker, Portico, the bench) have gone quiet, or at its maximum.
 *
 * <p>"Quiet" is under {@link #QUIET_SHARE} of one core over the newest warm-up passes that add up
 * to {@link #WINDOW_NANOS} of wall time or more. On 2 busy cores HotSpot's C2 compiler can still be
 * compiling a path 20 s into its load (it competes with the load for the CPU): a row timed then
 * measures the compiler as much as the code, on whichever side of its ratio it falls.
 */
final class Warmup {
    /** Compiler CPU, as a share of one core, under which a warm-up counts as settled. */
    static final double QUIET_SHARE = 0.05;
    /** The wall time over which the compilers' share is taken: at least the newest pass, and passes before it up to this. */
    static final long WINDOW_NANOS = 2_000_000_000L;
    /** At most this many passes, however short. */
    static final int MAX_PASSES = 100;

    private final double minSeconds;
    private final double maxSeconds;
    /** Newest first: {wall nanoseconds, compiler nanoseconds} of the passes in the window (see {@link #add}). */
    private final Deque<long[]> passes = new ArrayDeque<>();
    private double seconds;
    private int count;

    /**
     * @param minSeconds seconds the passes must add up to at least (0: one pass at least)
     * @param maxSeconds seconds after which the warm-up ends, quiet or not
     */
    Warmup(double minSeconds, double maxSeconds) {
        this.minSeconds = minSeconds;
        this.maxSeconds = Math.max(minSeconds, maxSeconds);
    }

    /**
     * One pass done.
     *
     * @param countedSeconds what the pass adds to the warm-up's length (a read row counts its reading, not its group joins)
     * @param wallNanos the pass's wall time
     * @param compilerNanos the compilers' CPU during the pass (a fall, when HotSpot ended a compiler thread, counts 0)
     */
    void add(double countedSeconds, long wallNanos, long compilerNanos) {
        seconds += countedSeconds;
        count++;
        passes.addFirst(new long[] {Math.max(1, wallNanos), Math.max(0, compilerNanos)});
        // Keep the newest passes until they add up to the window: older ones no longer matter.
        long wall = 0;
        Iterator<long[]> it = passes.iterator();
        while (it.hasNext()) {
            long[] p = it.next();
            if (wall >= WINDOW_NANOS) {
                it.remove();
            } else {
                wall += p[0];
            }
        }
    }

    /** Whether another pass should run. */
    boolean more() {
        if (count == 0) {
            return true;
        }
        if (count >= MAX_PASSES || seconds >= maxSeconds) {
            return false;
        }
        return seconds < minSeconds || compilerShare() > QUIET_SHARE;
    }

    /** The compilers' CPU over the passes in the window, as a share of one core. */
    double compilerShare() {
        long jit = 0;
        for (long[] p : passes) {
            jit += p[1];
        }
        long wall = windowNanos();
        return wall == 0 ? 0 : (double) jit / wall;
    }

    private long windowNanos() {
        long wall = 0;
        for (long[] p : passes) {
            wall += p[0];
        }
        return wall;
    }

    /** Whether it ended at its maximum with the compilers still busy. */
    boolean cutShort() {
        return count > 0 && compilerShare() > QUIET_SHARE;
    }

    /** E.g. "14 passes, 23.1 s; JIT compilers at 2% of a core over the last 2.3 s". */
    String summary() {
        return String.format(Locale.ROOT, "%d pass%s, %.1f s; JIT compilers at %.0f%% of a core over the last %.1f s%s",
                count, count == 1 ? "" : "es", seconds, compilerShare() * 100, windowNanos() / 1e9,
                cutShort() ? " (stopped at the maximum of " + Math.round(maxSeconds) + " s, not yet quiet)" : "");
    }
}
