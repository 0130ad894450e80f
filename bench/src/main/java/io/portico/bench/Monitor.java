package io.portico.bench;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Watches the three processes during a row: CPU of Portico, the broker and this JVM (the load
 * generator or native client) from {@code /proc}, Portico's CPU per thread group, its peak
 * resident memory (VmHWM reset at the row's start, and VmRSS sampled every 100 ms) and its heap
 * (through {@link JvmProbe}: every collection, and a sample every 300 ms); optionally a JFR recording of Portico per row.
 */
public final class Monitor implements AutoCloseable {
    private final long portico;
    private final List<Long> porticoPids;
    private final long broker;
    private final long self = ProcessHandle.current().pid();
    private final JvmProbe probe;
    private final AtomicLong sampledRss = new AtomicLong();
    private final Thread sampler;
    private volatile boolean running = true;

    /**
     * @param porticoPids the JVM that serves first, then the launcher that started it, if any:
     *     Portico's CPU and memory are theirs together, its threads and heap the server's
     */
    Monitor(List<Long> porticoPids, long brokerPid, JvmProbe probe) {
        this.portico = porticoPids.get(0);
        this.porticoPids = List.copyOf(porticoPids);
        this.broker = brokerPid;
        this.probe = probe;
        this.sampler = new Thread(this::sample, "bench-sampler");
        sampler.setDaemon(true);
        sampler.start();
    }

    private void sample() {
        for (long tick = 0; running; tick++) {
            long rss = ProcStats.statusBytes(porticoPids, "VmRSS");
            sampledRss.accumulateAndGet(rss, Math::max);
            if (probe != null && tick % 3 == 0) {
                probe.sample(); // every 300 ms over JMX; the peaks come from GC notifications
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The start of a row's window. */
    public record Window(long startNanos, long porticoCpu, long brokerCpu, long selfCpu, Map<String, Long> threads,
                  JvmProbe.GcTotals gc, boolean hwmReset, long jfrId, Path jfrFile) {
    }

    /**
     * What the processes did during a row.
     *
     * @param porticoCpu CPU of Portico in % of one core over the window; likewise broker and bench
     * @param porticoRss peak resident memory of Portico, bytes
     * @param threads Portico's CPU per thread group, % of one core, largest first
     */
    public record Usage(double seconds, double porticoCpu, double brokerCpu, double benchCpu, long porticoRss,
                 JvmProbe.HeapPeaks heap, long gcCount, long gcMillis, Map<String, Double> threads, Path jfr) {
    }

    Window begin(String row, Path jfrFile) {
        boolean reset = true;
        for (long pid : porticoPids) {
            reset &= ProcStats.resetPeakRss(pid);
        }
        sampledRss.set(ProcStats.statusBytes(porticoPids, "VmRSS"));
        JvmProbe.GcTotals gc = null;
        long jfrId = -1;
        if (probe != null) {
            probe.resetPeaks();
            probe.sample();
            gc = probe.gcTotals();
            if (jfrFile != null) {
                try {
                    jfrId = probe.startRecording("bench-" + row);
                } catch (java.io.IOException | RuntimeException e) {
                    System.err.println("bench: JFR did not start for row " + row + ": " + e);
                }
            }
        }
        return new Window(System.nanoTime(), ProcStats.cpuNanos(porticoPids), ProcStats.cpuNanos(broker),
                ProcStats.cpuNanos(self), ProcStats.threadCpuNanos(portico), gc, reset, jfrId, jfrFile);
    }

    Usage end(Window w) {
        long now = System.nanoTime();
        long porticoCpu = ProcStats.cpuNanos(porticoPids);
        long brokerCpu = ProcStats.cpuNanos(broker);
        long selfCpu = ProcStats.cpuNanos(self);
        Map<String, Long> threadsNow = ProcStats.threadCpuNanos(portico);
        double wall = now - w.startNanos();
        long rss = Math.max(sampledRss.get(), ProcStats.statusBytes(porticoPids, "VmRSS"));
        if (w.hwmReset()) {
            // the sum of the peaks: at least the peak of the sum
            rss = Math.max(rss, ProcStats.statusBytes(porticoPids, "VmHWM"));
        }
        JvmProbe.HeapPeaks heap = null;
        long gcCount = -1;
        long gcMillis = -1;
        Path jfr = null;
        if (probe != null) {
            try {
                probe.sample();
                heap = probe.peaks();
                JvmProbe.GcTotals gc = probe.gcTotals();
                gcCount = gc.count() - w.gc().count();
                gcMillis = gc.millis() - w.gc().millis();
                if (w.jfrId() >= 0) {
                    probe.stopRecording(w.jfrId(), w.jfrFile());
                    jfr = w.jfrFile();
                }
            } catch (java.io.IOException | RuntimeException e) {
                System.err.println("bench: reading Portico's JVM failed: " + e);
            }
        }
        Map<String, Double> threads = new LinkedHashMap<>();
        threadsNow.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), e.getValue() - w.threads().getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> threads.put(e.getKey(), 100.0 * e.getValue() / wall));
        return new Usage(wall / 1e9, pct(porticoCpu, w.porticoCpu(), wall), pct(brokerCpu, w.brokerCpu(), wall),
                pct(selfCpu, w.selfCpu(), wall), rss, heap, gcCount, gcMillis, threads, jfr);
    }

    private static double pct(long now, long then, double wallNanos) {
        if (now < 0 || then < 0) {
            return Double.NaN;
        }
        return 100.0 * (now - then) / wallNanos;
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
        try {
            sampler.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
