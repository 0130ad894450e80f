package io.portico.sessions;

import com.codahale.metrics.Meter;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link Meter} for events counted once per record on the hot path: a mark is one add to a
 * {@link LongAdder}, not a clock read and four adds; the marks reach the meter's count and rates
 * when it is read, and at least once a second while marks keep coming (the clock is read once
 * every 64 marks), so the rates move as the events come at any rate above about 64 a second.
 * The count is always exact when read. Thread-safe.
 */
final class DeferredMeter extends Meter {
    private static final long FLUSH_EVERY_NANOS = 1_000_000_000L;
    private final LongAdder pending = new LongAdder();
    /** Marks since the clock was last read (racy: only decides when to look at the clock). */
    private int marks;
    private volatile long flushedAt = System.nanoTime();

    @Override
    public void mark() {
        mark(1);
    }

    @Override
    public void mark(long n) {
        pending.add(n);
        if ((++marks & 63) == 0 && System.nanoTime() - flushedAt >= FLUSH_EVERY_NANOS) {
            flush();
        }
    }

    /** Passes the marks so far on to the meter. */
    void flush() {
        flushedAt = System.nanoTime();
        long n = pending.sumThenReset();
        if (n != 0) {
            super.mark(n);
        }
    }

    @Override
    public long getCount() {
        flush();
        return super.getCount();
    }

    @Override
    public double getMeanRate() {
        flush();
        return super.getMeanRate();
    }

    @Override
    public double getOneMinuteRate() {
        flush();
        return super.getOneMinuteRate();
    }

    @Override
    public double getFiveMinuteRate() {
        flush();
        return super.getFiveMinuteRate();
    }

    @Override
    public double getFifteenMinuteRate() {
        flush();
        return super.getFifteenMinuteRate();
    }
}
