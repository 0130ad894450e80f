package io.portico.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The settings of the cost curves ({@code bench/curves.sh}). {@link #parse} reads its command line.
 *
 * @param seconds how long each measured point runs
 * @param warmupSeconds untimed load before the produce curve (JIT) and a fifth of it before each of its points;
 *        half of it, one instance reading, before the consume curve
 * @param points connections of the produce curve
 * @param instances consumer instances of the consume curve
 * @param idle idle keep-alive connections of the idle curve (0 is always measured first, as the baseline)
 * @param partitions partitions of the produce curve's topics, one topic each
 * @param readRecords records in the consume curve's topic
 * @param curves which curves run: {@code produce}, {@code consume}, {@code idle}
 * @param wrk also measure with wrk when it is on the PATH
 * @param porticoHeap Portico's {@code -Xmx}, or null: none (Portico as shipped)
 */
public record CurvesOptions(
        boolean quick,
        int seconds,
        int warmupSeconds,
        List<Integer> points,
        List<Integer> instances,
        List<Integer> idle,
        List<Integer> partitions,
        long readRecords,
        int valueBytes,
        int loadThreads,
        Set<String> curves,
        boolean wrk,
        String porticoHeap,
        List<String> porticoJvmOptions,
        Map<String, String> porticoProperties,
        Path root,
        Path jar,
        Path classes,
        Path out,
        Path work) {

    public static final List<String> ALL_CURVES = List.of("produce", "consume", "idle");

    public static final String USAGE = """
            usage: bench/curves.sh [options]
              --quick                 tiny: connections 1,16; instances 1,10; 1,000 idle; 2 s per point, no warm-up
              --seconds N             how long each point is measured (default 10)
              --warmup N              untimed load before the produce and consume curves, seconds (default 10;
                                      --quick: 0); each produce point also warms up for a fifth of it (at least 1 s)
              --points LIST           connections of the produce curve (default 1,4,16,64,256,1024)
              --instances LIST        consumer instances reading at once (default 1,10,100,1000)
              --idle LIST             idle keep-alive connections (default 1000,10000; 0 is always measured)
              --partitions LIST       partitions of the produce curve's topics, a topic each (default 1,3)
              --read-records N        records in the consume curve's topic (default 2,000,000; --quick: 20,000)
              --value-bytes N         bytes per record value (default 100)
              --load-threads N        threads of the bench's generator, and of wrk (default 1)
              --curves LIST           which curves: produce,consume,idle (default all)
              --no-wrk                the bench's own generator only, even when wrk is on the PATH
              --portico-heap SIZE     Portico's -Xmx (default: none, as shipped: the launcher's 256 MiB), with
                                      the launcher's -XX:+UseParallelGC unless --portico-jvm-opt names a collector
              --portico-jvm-opt OPT   an extra JVM option for Portico (repeatable)
              --portico-prop K=V      an extra line of Portico's properties (repeatable)
              --out DIR               where the results file goes (default bench/results)
              --work DIR              logs, configuration, broker data (default bench/target/curves-run-<time>)
            """;

    /** Defaults of a full run from the repository at {@code root}. */
    public static CurvesOptions defaults(Path root) {
        return new CurvesOptions(false, 10, 10, List.of(1, 4, 16, 64, 256, 1024), List.of(1, 10, 100, 1000),
                List.of(1000, 10_000), List.of(1, 3), 2_000_000, 100, 1, Collections.unmodifiableSet(new LinkedHashSet<>(ALL_CURVES)), true,
                null, List.of(), Map.of(), root, root.resolve("proxy/target/portico.jar"),
                root.resolve("bench/target/classes"), root.resolve("bench/results"), null);
    }

    /** The tiny run of {@code --quick} and of the smoke test. */
    public static CurvesOptions quick(Path root) {
        CurvesOptions d = defaults(root);
        return new CurvesOptions(true, 2, 0, List.of(1, 16), List.of(1, 10), List.of(1000), List.of(1), 20_000,
                d.valueBytes, d.loadThreads, d.curves, d.wrk, d.porticoHeap, d.porticoJvmOptions, d.porticoProperties,
                root, d.jar, d.classes, d.out, d.work);
    }

    /** Reads the command line; throws IllegalArgumentException (message: what is wrong; empty for --help). */
    public static CurvesOptions parse(String[] args, Path root) {
        boolean quick = List.of(args).contains("--quick");
        CurvesOptions o = quick ? quick(root) : defaults(root);
        int seconds = o.seconds;
        int warmup = o.warmupSeconds;
        List<Integer> points = o.points;
        List<Integer> instances = o.instances;
        List<Integer> idle = o.idle;
        List<Integer> partitions = o.partitions;
        long readRecords = o.readRecords;
        int valueBytes = o.valueBytes;
        int loadThreads = o.loadThreads;
        Set<String> curves = o.curves;
        boolean wrk = o.wrk;
        String heap = o.porticoHeap;
        List<String> jvm = new ArrayList<>();
        Map<String, String> props = new LinkedHashMap<>();
        Path out = o.out;
        Path work = o.work;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--quick" -> { }
                case "--help", "-h" -> throw new IllegalArgumentException("");
                case "--no-wrk" -> wrk = false;
                case "--seconds" -> seconds = positive(a, value(args, ++i, a));
                case "--warmup" -> warmup = nonNegative(a, value(args, ++i, a));
                case "--points" -> points = list(a, value(args, ++i, a), 1);
                case "--instances" -> instances = list(a, value(args, ++i, a), 1);
                case "--idle" -> idle = list(a, value(args, ++i, a), 1);
                case "--partitions" -> partitions = list(a, value(args, ++i, a), 1);
                case "--read-records" -> readRecords = positive(a, value(args, ++i, a));
                case "--value-bytes" -> valueBytes = positive(a, value(args, ++i, a));
                case "--load-threads" -> loadThreads = positive(a, value(args, ++i, a));
                case "--curves" -> curves = curves(value(args, ++i, a));
                case "--portico-heap" -> heap = value(args, ++i, a);
                case "--portico-jvm-opt" -> jvm.add(value(args, ++i, a));
                case "--portico-prop" -> {
                    String kv = value(args, ++i, a);
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("--portico-prop takes K=V, not " + kv);
                    }
                    props.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
                }
                case "--out" -> out = Path.of(value(args, ++i, a)).toAbsolutePath();
                case "--work" -> work = Path.of(value(args, ++i, a)).toAbsolutePath();
                default -> throw new IllegalArgumentException("unknown option: " + a);
            }
        }
        return new CurvesOptions(quick, seconds, warmup, points, instances, idle, partitions, readRecords, valueBytes,
                loadThreads, curves, wrk, heap, List.copyOf(jvm), Collections.unmodifiableMap(props), root, o.jar,
                o.classes, out, work);
    }

    public boolean runs(String curve) {
        return curves.contains(curve);
    }

    /** Untimed load before each point of the produce curve: a fifth of the warm-up, at least 1 s (none without warm-up). */
    public int pointWarmupSeconds() {
        return warmupSeconds == 0 ? 0 : Math.max(1, warmupSeconds / 5);
    }

    public CurvesOptions withOut(Path dir) {
        return new CurvesOptions(quick, seconds, warmupSeconds, points, instances, idle, partitions, readRecords,
                valueBytes, loadThreads, curves, wrk, porticoHeap, porticoJvmOptions, porticoProperties, root, jar,
                classes, dir, work);
    }

    public CurvesOptions withWork(Path dir) {
        return new CurvesOptions(quick, seconds, warmupSeconds, points, instances, idle, partitions, readRecords,
                valueBytes, loadThreads, curves, wrk, porticoHeap, porticoJvmOptions, porticoProperties, root, jar,
                classes, out, dir);
    }

    public CurvesOptions withPaths(Path jarPath, Path classesPath) {
        return new CurvesOptions(quick, seconds, warmupSeconds, points, instances, idle, partitions, readRecords,
                valueBytes, loadThreads, curves, wrk, porticoHeap, porticoJvmOptions, porticoProperties, root,
                jarPath, classesPath, out, work);
    }

    /** The settings, one line, for the results file. */
    public String describe() {
        return String.format(Locale.ROOT, "%s%d s per point, warm-up %d s (and %d s per produce point), connections "
                        + "%s, instances %s, idle %s, partitions %s, %,d records to read, %d B values, %d load "
                        + "thread(s), curves %s%s, Portico heap %s",
                quick ? "--quick: " : "", seconds, warmupSeconds, pointWarmupSeconds(), points, instances, idle,
                partitions, readRecords, valueBytes, loadThreads, String.join(",", curves), wrk ? "" : ", --no-wrk",
                porticoHeap == null ? "the JVM's default (no -Xmx)" : "-Xmx" + porticoHeap);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int positive(String option, String v) {
        int n = integer(option, v);
        if (n < 1) {
            throw new IllegalArgumentException(option + " must be at least 1, not " + v);
        }
        return n;
    }

    private static int nonNegative(String option, String v) {
        int n = integer(option, v);
        if (n < 0) {
            throw new IllegalArgumentException(option + " must not be negative, not " + v);
        }
        return n;
    }

    private static int integer(String option, String v) {
        try {
            return Integer.parseInt(v.replace(",", "").replace("_", "").trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " takes a whole number, not " + v);
        }
    }

    /** A comma-separated list of whole numbers (each at least {@code min}), e.g. {@code 1,4,16}. */
    static List<Integer> list(String option, String v, int min) {
        List<Integer> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (s.isBlank()) {
                continue;
            }
            int n = integer(option, s);
            if (n < min) {
                throw new IllegalArgumentException(option + " takes numbers of at least " + min + ", not " + s);
            }
            out.add(n);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(option + " needs at least one number");
        }
        return List.copyOf(out);
    }

    private static Set<String> curves(String v) {
        Set<String> out = new LinkedHashSet<>();
        for (String s : v.split(",")) {
            String c = s.trim().toLowerCase(Locale.ROOT);
            if (!ALL_CURVES.contains(c)) {
                throw new IllegalArgumentException("--curves takes curves among " + ALL_CURVES + ", not " + s);
            }
            out.add(c);
        }
        // In the order they run.
        Set<String> ordered = new LinkedHashSet<>();
        for (String c : ALL_CURVES) {
            if (out.contains(c)) {
                ordered.add(c);
            }
        }
        return Collections.unmodifiableSet(ordered);
    }
}
