package io.portico.proxy;

import java.util.List;
import java.util.regex.Pattern;

/**
 * The garbage collector Portico's server runs as shipped, and whether a JVM command line already
 * chose one. Shared by the launcher and the benchmark, which starts Portico as shipped.
 */
public final class Collector {
    /**
     * The server's collector unless the command line chooses one. On Portico's small heap, G1's
     * write barriers and concurrent work cost the read paths more than Parallel's pauses do (side
     * by side on 2 cores: see the README's benchmark section).
     */
    public static final String SHIPPED = "-XX:+UseParallelGC";

    /** The options that choose a collector, on or off; Parallel's own tuning flags are not among them. */
    private static final Pattern CHOICE = Pattern.compile("-XX:[+-]Use(G1|Parallel|Serial|Z|Shenandoah|Epsilon|ConcMarkSweep)GC");

    private Collector() {
    }

    /** Whether {@code jvmOptions} name a collector ({@code -XX:+UseG1GC}, {@code -XX:-UseParallelGC}, …). */
    public static boolean chosen(List<String> jvmOptions) {
        return jvmOptions.stream().anyMatch(o -> CHOICE.matcher(o).matches());
    }
}
