package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

class RateLimitedLogTest {

    /** A logger that keeps its warnings and errors (formats only; the test checks the count and suffix). */
    private static Logger recording(List<String> lines) {
        return (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(), new Class<?>[] {Logger.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "isWarnEnabled", "isErrorEnabled" -> {
                            return true;
                        }
                        case "warn", "error" -> {
                            lines.add((String) args[0]);
                            return null;
                        }
                        default -> {
                            return method.getReturnType() == boolean.class ? Boolean.FALSE : null;
                        }
                    }
                });
    }

    @Test
    void aRepeatedEventIsLoggedOncePerIntervalAndOtherEventsStillAre() {
        List<String> lines = new ArrayList<>();
        RateLimitedLog log = new RateLimitedLog(recording(lines), Duration.ofHours(1));
        for (int i = 0; i < 10_000; i++) {
            log.warn("503:TimeoutException", "request failed: {}", i);
        }
        log.error("500:NullPointerException", "unexpected: {}", "x");
        assertEquals(2, lines.size(), lines.toString());
        assertEquals("request failed: {}", lines.get(0));
        assertEquals("unexpected: {}", lines.get(1));
    }

    @Test
    void afterTheIntervalTheNextOneSaysHowManyWereLeftOut() {
        List<String> lines = new ArrayList<>();
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        RateLimitedLog log = new RateLimitedLog(recording(lines), Duration.ofSeconds(10), now::get);
        log.warn("k", "failed");
        for (int i = 0; i < 5; i++) {
            now.addAndGet(Duration.ofSeconds(1).toNanos());
            log.warn("k", "failed");
        }
        assertEquals(List.of("failed"), lines);
        now.addAndGet(Duration.ofSeconds(6).toNanos());
        log.warn("k", "failed");
        assertEquals(List.of("failed", "failed (and 5 more like it in the last 10 s)"), lines);
    }
}
