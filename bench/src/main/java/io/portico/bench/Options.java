package io.portico.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark's settings: sizes, connections, where things are. {@link #parse} reads the
 * command line of {@code bench/run.sh}.
 *
 * @param records records of the native rows and of row a; rows d and e read the native topic
 * @param requests requests (one record each) of rows b and c
 * @param batch records per POST in row a
 * @param valueBytes size of every record value
 * @param batchConnections connections of row a
 * @param connections connections of rows b and c
 * @param readConnections connections of row d, spread over the partitions
 * @param readCount {@code count} of each read by offset (row d)
 * @param instances consumer instances of row e
 * @param partitions partitions of every benchmark topic
 * @param warmup share of each produce row first run untimed, against a topic of its own (JIT, connections)
 * @param warmupSeconds how long the untimed passes of each read row (d, e) run at least
 * @param loadThreads selector threads of the HTTP load generator
 * @param rows the HTTP rows to run ({@link #ALL_ROWS} by default)
 * @param profile record Portico with JFR during each HTTP row and summarize it in the results
 * @param root the repository (portico.jar, bench classes, git)
 * @param out directory of the results file
 * @param work directory for the run's logs, configuration and broker data; null: under bench/target
 */
public record Options(
        boolean quick,
        long records,
        long requests,
        int batch,
        int valueBytes,
        int batchConnections,
        int connections,
        int readConnections,
        int readCount,
        int instances,
        int partitions,
        double warmup,
        double warmupSeconds,
        int loadThreads,
        boolean profile,
        java.util.Set<String> rows,
        String porticoHeap,
        List<String> porticoJvmOptions,
        Map<String, String> porticoProperties,
        Path root,
        Path jar,
        Path classes,
        Path out,
        Path work) {

    public static final String USAGE = """
            usage: bench/run.sh [options]
              --quick                 tiny sizes (2,000 records per row, 4 connections, no warm-up)
              --records N             records of native produce/consume and of row a (default 2,000,000)
              --requests N            requests of rows b and c, one record each (default 500,000)
              --batch N               records per POST in row a (default 100)
              --value-bytes N         bytes per record value (default 100)
              --batch-connections N   connections of row a (default 16)
              --connections N         connections of rows b and c (default 64)
              --read-connections N    connections of row d, spread over the partitions (default 6)
              --read-count N          count per read by offset, row d (default 1000)
              --instances N           consumer instances of row e (default 3)
              --partitions N          partitions per topic (default 3)
              --warmup F              share of each produce row run first, untimed (default 0.5; --quick: 0)
              --warmup-seconds S      read rows (native-consume, d, e): untimed passes first, for S seconds of
                                      reading (default 20; --quick: 0)
              --load-threads N        threads of the HTTP load generator (default 1)
              --rows LIST             the HTTP rows to run, e.g. d,e (default a,j,b,c,g,d,h,e,f,i,k,l; the native rows always run)
              --profile               record Portico with JFR during each HTTP row; summarize in the results
              --portico-heap SIZE     Portico's -Xmx (default 256m)
              --portico-jvm-opt OPT   an extra JVM option for Portico (repeatable)
              --portico-prop K=V      an extra line of Portico's bench.properties (repeatable)
              --out DIR               where the results file goes (default bench/results)
              --work DIR              logs, configuration, broker data (default bench/target/bench-run-<time>)
            """;

    /** The HTTP rows, in the order they run. */
    public static final java.util.Set<String> ALL_ROWS = java.util.Collections.unmodifiableSet(
            new java.util.LinkedHashSet<>(List.of("a", "j", "b", "c", "g", "d", "h", "e", "f", "i", "k", "l")));

    private static java.util.Set<String> rows(String list) {
        java.util.Set<String> rows = new java.util.LinkedHashSet<>();
        for (String r : list.split(",")) {
            String row = r.trim().toLowerCase(java.util.Locale.ROOT);
            if (!ALL_ROWS.contains(row)) {
                throw new IllegalArgumentException("--rows takes rows among " + ALL_ROWS + ", not " + r);
            }
            rows.add(row);
        }
        return java.util.Collections.unmodifiableSet(rows);
    }

    /** Whether the HTTP row {@code row} runs. */
    public boolean runs(String row) {
        return rows.contains(row);
    }

    /** Defaults for a full run from the repository at {@code root}. */
    public static Options defaults(Path root) {
        return new Options(false, 2_000_000, 500_000, 100, 100, 16, 64, 6, 1000, 3, 3, 0.5, 20, 1, false, ALL_ROWS, "256m",
                List.of(), Map.of(), root, root.resolve("proxy/target/portico.jar"),
                root.resolve("bench/target/classes"), root.resolve("bench/results"), null);
    }

    /** The tiny run of the smoke test and of {@code --quick}. */
    public Options quickSizes() {
        return new Options(true, 2000, 2000, batch, valueBytes, 4, 4, partitions, readCount, instances, partitions,
                0, 0, loadThreads, profile, rows, porticoHeap, porticoJvmOptions, porticoProperties, root, jar, classes,
                out, work);
    }

    public Options withOut(Path dir) {
        return new Options(quick, records, requests, batch, valueBytes, batchConnections, connections,
                readConnections, readCount, instances, partitions, warmup, warmupSeconds, loadThreads, profile, rows,
                porticoHeap, porticoJvmOptions, porticoProperties, root, jar, classes, dir, work);
    }

    public Options withWork(Path dir) {
        return new Options(quick, records, requests, batch, valueBytes, batchConnections, connections,
                readConnections, readCount, instances, partitions, warmup, warmupSeconds, loadThreads, profile, rows,
                porticoHeap, porticoJvmOptions, porticoProperties, root, jar, classes, out, dir);
    }

    public Options withPaths(Path jarPath, Path classesPath) {
        return new Options(quick, records, requests, batch, valueBytes, batchConnections, connections,
                readConnections, readCount, instances, partitions, warmup, warmupSeconds, loadThreads, profile, rows,
                porticoHeap, porticoJvmOptions, porticoProperties, root, jarPath, classesPath, out, work);
    }

    /** Reads the command line; the root is the working directory unless {@code -Dbench.root} says otherwise. */
    public static Options parse(String[] args, Path root) {
        Options d = defaults(root);
        boolean quick = false;
        Long records = null;
        Long requests = null;
        int batch = d.batch;
        int valueBytes = d.valueBytes;
        Integer batchConnections = null;
        Integer connections = null;
        Integer readConnections = null;
        int readCount = d.readCount;
        int instances = d.instances;
        int partitions = d.partitions;
        Double warmup = null;
        Double warmupSeconds = null;
        int loadThreads = d.loadThreads;
        boolean profile = false;
        java.util.Set<String> rows = ALL_ROWS;
        String heap = d.porticoHeap;
        List<String> jvm = new ArrayList<>();
        Map<String, String> props = new LinkedHashMap<>();
        Path out = d.out;
        Path work = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--quick" -> quick = true;
                case "--profile" -> profile = true;
                case "-h", "--help" -> throw new IllegalArgumentException("");
                default -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("unknown option or missing value: " + a);
                    }
                    String v = args[++i];
                    switch (a) {
                        case "--records" -> records = Long.parseLong(v.replace(",", "").replace("_", ""));
                        case "--requests" -> requests = Long.parseLong(v.replace(",", "").replace("_", ""));
                        case "--batch" -> batch = Integer.parseInt(v);
                        case "--value-bytes" -> valueBytes = Integer.parseInt(v);
                        case "--batch-connections" -> batchConnections = Integer.parseInt(v);
                        case "--connections" -> connections = Integer.parseInt(v);
                        case "--read-connections" -> readConnections = Integer.parseInt(v);
                        case "--read-count" -> readCount = Integer.parseInt(v);
                        case "--instances" -> instances = Integer.parseInt(v);
                        case "--partitions" -> partitions = Integer.parseInt(v);
                        case "--warmup" -> warmup = Double.parseDouble(v);
                        case "--warmup-seconds" -> warmupSeconds = Double.parseDouble(v);
                        case "--load-threads" -> loadThreads = Integer.parseInt(v);
                        case "--portico-heap" -> heap = v;
                        case "--portico-jvm-opt" -> jvm.add(v);
                        case "--portico-prop" -> {
                            int eq = v.indexOf('=');
                            if (eq <= 0) {
                                throw new IllegalArgumentException("--portico-prop wants key=value, not " + v);
                            }
                            props.put(v.substring(0, eq).trim(), v.substring(eq + 1).trim());
                        }
                        case "--rows" -> rows = rows(v);
                        case "--out" -> out = Path.of(v);
                        case "--work" -> work = Path.of(v);
                        default -> throw new IllegalArgumentException("unknown option: " + a);
                    }
                }
            }
        }
        Options base = quick ? d.quickSizes() : d;
        return new Options(quick,
                records != null ? records : base.records,
                requests != null ? requests : base.requests,
                batch, valueBytes,
                batchConnections != null ? batchConnections : base.batchConnections,
                connections != null ? connections : base.connections,
                readConnections != null ? readConnections : Math.max(base.readConnections, partitions),
                readCount, instances, partitions,
                warmup != null ? warmup : base.warmup,
                warmupSeconds != null ? warmupSeconds : base.warmupSeconds,
                loadThreads, profile, rows, heap, List.copyOf(jvm), Map.copyOf(props), root, d.jar, d.classes, out, work);
    }

    /** The command line that reproduces these options (for the results file). */
    public String describe() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(java.util.Locale.ROOT,
                "records=%,d (native, a; d and e read the native topic), requests=%,d (b, c), batch=%d records/POST, "
                        + "value=%d B, connections: a=%d, b/c=%d, d=%d (count=%d), e=%d instances; partitions=%d, "
                        + "warm-up=%.0f%% (read rows: %.0f s), load threads=%d, Portico -Xmx%s",
                records, requests, batch, valueBytes, batchConnections, connections, readConnections, readCount,
                instances, partitions, warmup * 100, warmupSeconds, loadThreads, porticoHeap));
        if (!porticoJvmOptions.isEmpty()) {
            s.append(", Portico JVM options ").append(porticoJvmOptions);
        }
        if (!porticoProperties.isEmpty()) {
            s.append(", Portico properties ").append(porticoProperties);
        }
        if (!rows.equals(ALL_ROWS)) {
            s.append(", rows ").append(String.join(",", rows));
        }
        if (profile) {
            s.append(", JFR profiling on");
        }
        return s.toString();
    }
}
