package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@link WrkOutput} on output captured from wrk 4.1.0 ({@code --latency}), as the wrk rows read it. */
class WrkOutputTest {
    private static String captured(String name) throws IOException {
        try (InputStream in = WrkOutputTest.class.getResourceAsStream("/wrk/" + name)) {
            assertTrue(in != null, "no test resource wrk/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void readsRequestsDurationAndPercentiles() throws IOException {
        WrkOutput w = WrkOutput.parse(captured("get-8-connections.txt"));
        assertEquals(1023, w.requests());
        assertEquals(2.05, w.seconds(), 1e-9);
        assertEquals(498.14, w.requestsPerSecond(), 1e-9);
        assertEquals(7.71, w.p50(), 1e-9);
        assertEquals(18.93, w.p75(), 1e-9);
        assertEquals(51.27, w.p90(), 1e-9);
        assertEquals(155.29, w.p99(), 1e-9);
        assertEquals(171.46, w.max(), 1e-9, "the Max of the Latency line, not of Req/Sec");
        assertEquals(0, w.errors());
        assertEquals(1023, w.okRequests());
        assertEquals(155.29, w.summary().p99(), 1e-9);
        assertTrue(Double.isNaN(w.summary().p999()), "wrk prints no p99.9");
    }

    @Test
    void microsecondsAreMilliseconds() throws IOException {
        WrkOutput w = WrkOutput.parse(captured("get-root-microseconds.txt"));
        assertEquals(17407, w.requests());
        assertEquals(0.332, w.p50(), 1e-9);
        assertEquals(1.01, w.p75(), 1e-9);
        assertEquals(21.25, w.p99(), 1e-9);
        assertEquals(48.37, w.max(), 1e-9);
        assertEquals(8290.00, w.requestsPerSecond(), 1e-9);
    }

    @Test
    void socketErrorsAndNon2xxAnswersAreErrors() throws IOException {
        WrkOutput w = WrkOutput.parse(captured("non-2xx-and-timeouts.txt"));
        assertEquals(1045, w.requests());
        assertEquals(3.06, w.seconds(), 1e-9);
        assertEquals(1045, w.non2xx());
        assertEquals(2, w.socketErrors());
        assertEquals(2, w.timeouts());
        assertEquals(1047, w.errors());
        assertEquals(0, w.okRequests());
        assertEquals(337.79, w.p99(), 1e-9);
    }

    @Test
    void theScriptsCountersAreRead() throws IOException {
        WrkOutput w = WrkOutput.parse(captured("walk-script.txt"));
        assertEquals(2098, w.requests());
        assertEquals(2098, w.counter("good"));
        assertEquals(0, w.counter("bad"));
        assertEquals(464, w.counter("wraps"));
        assertEquals(0, w.counter("absent"));
    }

    @Test
    void wrkDurationsInEveryUnit() {
        assertEquals(0.812, WrkOutput.millis("812.00us"), 1e-9);
        assertEquals(1.5, WrkOutput.millis("1.50ms"), 1e-9);
        assertEquals(2050, WrkOutput.millis("2.05s"), 1e-9);
        assertEquals(66_000, WrkOutput.millis("1.10m"), 1e-6);
        assertTrue(Double.isNaN(WrkOutput.millis("-nan")));
        assertThrows(IllegalArgumentException.class, () -> WrkOutput.millis("3.00parsecs"));
    }

    @Test
    void outputWithoutAResultIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> WrkOutput.parse("unable to connect to 127.0.0.1:18081 Connection refused\n"));
    }
}
