package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Marks are all in the count when it is read, from any number of threads; the mean rate sees them too. */
class DeferredMeterTest {
    @Test
    void everyMarkIsCountedWhenRead() throws Exception {
        DeferredMeter meter = new DeferredMeter();
        assertEquals(0, meter.getCount());
        meter.mark();
        meter.mark(41);
        assertEquals(42, meter.getCount());
        assertTrue(meter.getMeanRate() > 0);

        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 100_000; i++) {
                    meter.mark(2);
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (int i = 0; i < 100; i++) {
            meter.getCount(); // reads (and passes marks on) while the threads mark
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(42 + 4 * 100_000 * 2, meter.getCount());
    }
}
