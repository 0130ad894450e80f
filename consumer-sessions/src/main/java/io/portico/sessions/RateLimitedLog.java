package io.portico.sessions;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * Logs a repeated event once per interval, with how many times it happened meanwhile, so that a
 * client repeating a failing request cannot fill the log. Events are told apart by a key (an
 * error code and an exception class, never client data); at most a thousand keys are tracked.
 * Thread-safe.
 */
public final class RateLimitedLog {
    private final Logger log;
    private final long intervalNanos;
    private final Cache<String, Window> windows = Caffeine.newBuilder().maximumSize(1000).build();

    private static final class Window {
        volatile long start;
        final AtomicLong suppressed = new AtomicLong();

        Window(long start) {
            this.start = start;
        }
    }

    private final java.util.function.LongSupplier nanoClock;

    public RateLimitedLog(Logger log, Duration interval) {
        this(log, interval, System::nanoTime);
    }

    /** As above, with time from {@code nanoClock} (tests advance it). */
    public RateLimitedLog(Logger log, Duration interval, java.util.function.LongSupplier nanoClock) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
        this.nanoClock = nanoClock;
    }

    /** Logs a warning for {@code key}, unless one was logged within the interval (then it is counted). */
    public void warn(String key, String format, Object... args) {
        String suffix = admit(key);
        if (suffix != null && log.isWarnEnabled()) {
            log.warn(format + suffix, args);
        }
    }

    /** Logs an error for {@code key}, unless one was logged within the interval (then it is counted). */
    public void error(String key, String format, Object... args) {
        String suffix = admit(key);
        if (suffix != null) {
            log.error(format + suffix, args);
        }
    }

    /** Null when the event is suppressed, else what to append to the message (the count suppressed). */
    private String admit(String key) {
        long now = nanoClock.getAsLong();
        Window w = windows.get(key, k -> new Window(now - intervalNanos));
        synchronized (w) {
            if (now - w.start < intervalNanos) {
                w.suppressed.incrementAndGet();
                return null;
            }
            w.start = now;
            long missed = w.suppressed.getAndSet(0);
            return missed == 0 ? "" : " (and " + missed + " more like it in the last "
                    + Duration.ofNanos(intervalNanos).toSeconds() + " s)";
        }
    }
}
