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
 * @param records records of the native produce rows and of rows a, j and g
 * @param readRecords records of the topic the read rows read: the native producer's first pass
 *        writes {@code records} of them, the rest are added untimed before the read rows (at
 *        least {@code records}: the read rows never read fewer than were produced)
 * @param requests requests of rows b and c (one record each) and of row root ({@code GET /})
 * @param batch records per POST in row a
 * @param valueBytes size of every record value
 * @param batchConnections connections of row a (and wrk-a)
 * @param connections connections of rows root, b and c (and their wrk twins)
 * @param readConnections connections of rows d and h, spread over the partitions
 * @param randomConnections connections of row m and of the wrk reads (wrk-d, wrk-m)
 * @param readCount {@code count} of each read by offset (rows d, m and their wrk twins)
 * @param instances consumer instances of rows e, f and i
 * @param partitions the partition counts the produce rows run with, in order; the last one is the
 *        partitions of every other topic (the read rows')
 * @param wrk run the wrk rows when wrk is on the PATH
 * @param wrkSeconds duration of each timed wrk run
 * @param warmup share of each produce row first run untimed, against a topic of its own (JIT, connections)
 * @param warmupSeconds how long the untimed passes of each read row (d, e) run at least
 * @param warmupMaxSeconds how long a row's warm-up runs at most while the JIT compilers are still busy ({@link Warmup})
 * @param loadThreads selector threads of the HTTP load generator
 * @param rows the HTTP rows to run ({@link #ALL_ROWS} by default)
 * @param porticoHeap Portico's {@code -Xmx}, or null: none, as shipped
 * @param profile record Portico with JFR during each HTTP row and summarize it in the results
 * @param root the repository (portico.jar, bench classes, git)
 * @param out directory of the results file
 * @param work directory for the run's logs, configuration and broker data; null: under bench/target
 */
public record Options(
        boolean quick,
        long records,
        long readRecords,
        long requests,
        int batch,
        int valueBytes,
        int batchConnections,
        int connections,
        int readConnections,
        int randomConnections,
        int readCount,
        int instances,
        List<Integer> partitions,
        boolean wrk,
        int wrkSeconds,
        double warmup,
        double warmupSeconds,
        double warmupMaxSeconds,
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
              --quick                 tiny sizes (2,000 records per row, 4 connections, no warm-up, one partition
                                      count, wrk rows of 2 s; the native producer sends to each partition
                                      in turn, so that no partition the read rows read is empty)
              --records N             records of the native produce rows and of rows a, j and g (default 2,000,000)
              --read-records N        records of the topic native-consume and the read rows read (default
                                      10,000,000; at least --records): what the native producer's first pass
                                      wrote, topped up untimed before the read rows
              --requests N            requests of rows root, b and c, one record each (default 500,000)
              --batch N               records per POST in row a (default 100)
              --value-bytes N         bytes per record value (default 100)
              --batch-connections N   connections of row a and wrk-a (default 16)
              --connections N         connections of rows root, b, c and their wrk twins (default 64)
              --read-connections N    connections of rows d and h, spread over the partitions (default 6)
              --random-connections N  connections of row m and of the wrk reads wrk-d, wrk-m (default 4)
              --read-count N          count per read by offset, rows d, m and their wrk twins (default 1000)
              --instances N           consumer instances of rows e, f and i (default 3)
              --partitions LIST       partition counts of the produce rows, each in a table of its own; the last
                                      is every other topic's (default 1,3; --quick: 3)
              --wrk-seconds N         seconds of each wrk row, after an untimed wrk run of a third of that
                                      (1 to 5 s) (default 15; --quick: 2)
              --no-wrk                no wrk rows, even when wrk is installed
              --warmup F              share of each produce row run first, untimed (default 0.5; --quick: 0)
              --warmup-seconds S      read rows (native-consume, d, m, e, n, …): untimed passes first, for S
                                      seconds of reading (default 20; --quick: 0)
              --warmup-max-seconds S  every warm-up goes on past the above while the JIT compilers of the run's
                                      JVMs use over 5% of a core, for at most S seconds (default 90)
              --load-threads N        threads of the HTTP load generator (default 1)
              --rows LIST             the HTTP rows to run, e.g. d,e (default root,a,j,b,c,o,g,d,m,h,e,f,i,n,k,l;
                                      b, c or o bring root, their baseline; the native rows always run)
              --profile               record Portico with JFR during each HTTP row; summarize in the results
              --portico-heap SIZE     Portico's -Xmx (default none: java -jar portico.jar, as shipped), with
                                      the launcher's -XX:+UseParallelGC unless --portico-jvm-opt names a collector
              --portico-jvm-opt OPT   an extra JVM option for Portico (repeatable)
              --portico-prop K=V      an extra line of Portico's bench.properties (repeatable)
              --out DIR               where the results file goes (default bench/results)
              --work DIR              logs, configuration, broker data (default bench/target/bench-run-<time>)
            """;

    /** The HTTP rows, in the order they run. */
    public static final java.util.Set<String> ALL_ROWS = java.util.Collections.unmodifiableSet(
            new java.util.LinkedHashSet<>(List.of("root", "a", "j", "b", "c", "o", "g", "d", "m", "h", "e", "f", "i", "n", "k",
                    "l")));

    /** The default partition counts of the produce rows. */
    public static final List<Integer> PARTITIONS = List.of(1, 3);

    private static java.util.Set<String> rows(String list) {
        java.util.Set<String> rows = new java.util.LinkedHashSet<>();
        for (String r : list.split(",")) {
            String row = r.trim().toLowerCase(java.util.Locale.ROOT);
            if (!ALL_ROWS.contains(row)) {
                throw new IllegalArgumentException("--rows takes rows among " + ALL_ROWS + ", not " + r);
            }
            if (row.equals("b") || row.equals("c") || row.equals("o")) {
                rows.add("root"); // their baseline
            }
            rows.add(row);
        }
        return java.util.Collections.unmodifiableSet(rows);
    }

    /** Whether the HTTP row {@code row} runs. */
    public boolean runs(String row) {
        return rows.contains(row);
    }

    /** Partitions of the topics of the read rows and of the rows run once: the last count. */
    public int readPartitions() {
        return partitions.get(partitions.size() - 1);
    }

    private static List<Integer> partitions(String list) {
        List<Integer> out = new ArrayList<>();
        for (String p : list.split(",")) {
            int n = Integer.parseInt(p.trim());
            if (n < 1 || out.contains(n)) {
                throw new IllegalArgumentException("--partitions takes distinct counts of 1 or more, not " + list);
            }
            out.add(n);
        }
        return List.copyOf(out);
    }

    /** Defaults for a full run from the repository at {@code root}. */
    public static Options defaults(Path root) {
        return new Options(false, 2_000_000, 10_000_000, 500_000, 100, 100, 16, 64, 6, 4, 1000, 3, PARTITIONS, true, 15, 0.5, 20,
                90, 1, false, ALL_ROWS, null, List.of(), Map.of(), root, root.resolve("proxy/target/portico.jar"),
                root.resolve("bench/target/classes"), root.resolve("bench/results"), null);
    }

    /** The tiny run of the smoke test and of {@code --quick}: one partition count (the last). */
    public Options quickSizes() {
        return new Options(true, 2000, 2000, 2000, batch, valueBytes, 4, 4, readPartitions(), randomConnections, readCount,
                instances, List.of(readPartitions()), wrk, 2, 0, 0, warmupMaxSeconds, loadThreads, profile, rows, porticoHeap, porticoJvmOptions, porticoProperties, root, jar, classes,
                out, work);
    }

    /** The same with the read rows' topic topped up to {@code n} records (at least {@link #records}). */
    public Options withReadRecords(long n) {
        return new Options(quick, records, Math.max(records, n), requests, batch, valueBytes, batchConnections, connections,
                readConnections, randomConnections, readCount, instances, partitions, wrk, wrkSeconds, warmup,
                warmupSeconds, warmupMaxSeconds, loadThreads, profile, rows,
                porticoHeap, porticoJvmOptions, porticoProperties, root, jar, classes, out, work);
    }

    public Options withOut(Path dir) {
        return new Options(quick, records, readRecords, requests, batch, valueBytes, batchConnections, connections,
                readConnections, randomConnections, readCount, instances, partitions, wrk, wrkSeconds, warmup,
                warmupSeconds, warmupMaxSeconds, loadThreads, profile, rows,
                porticoHeap, porticoJvmOptions, porticoProperties, root, jar, classes, dir, work);
    }

    public Options withWork(Path dir) {
        return new Options(quick, records, readRecords, requests, batch, valueBytes, batchConnections, connections,
                readConnections, randomConnections, readCount, instances, partitions, wrk, wrkSeconds, warmup,
                warmupSeconds, warmupMaxSeconds, loadThreads, profile, rows,
                porticoHeap, porticoJvmOptions, porticoProperties, root, jar, classes, out, dir);
    }

    /** The same with the produce rows run at each of {@code counts} partitions. */
    public Options withPartitions(List<Integer> counts) {
        return new Options(quick, records, readRecords, requests, batch, valueBytes, batchConnections, connections,
                readConnections, randomConnections, readCount, instances, List.copyOf(counts), wrk, wrkSeconds, warmup,
                warmupSeconds, warmupMaxSeconds, loadThreads, profile, rows, porticoHeap, porticoJvmOptions, porticoProperties, root, jar,
                classes, out, work);
    }

    public Options withPaths(Path jarPath, Path classesPath) {
        return new Options(quick, records, readRecords, requests, batch, valueBytes, batchConnections, connections,
                readConnections, randomConnections, readCount, instances, partitions, wrk, wrkSeconds, warmup,
                warmupSeconds, warmupMaxSeconds, loadThreads, profile, rows,
                porticoHeap, porticoJvmOptions, porticoProperties, root, jarPath, classesPath, out, work);
    }

    /** Reads the command line; the root is the working directory unless {@code -Dbench.root} says otherwise. */
    public static Options parse(String[] args, Path root) {
        Options d = defaults(root);
        boolean quick = false;
        Long records = null;
        Long readRecords = null;
        Long requests = null;
        int batch = d.batch;
        int valueBytes = d.valueBytes;
        Integer batchConnections = null;
        Integer connections = null;
        Integer readConnections = null;
        int randomConnections = d.randomConnections;
        int readCount = d.readCount;
        int instances = d.instances;
        List<Integer> partitions = null;
        boolean wrk = true;
        Integer wrkSeconds = null;
        Double warmup = null;
        Double warmupSeconds = null;
        double warmupMaxSeconds = d.warmupMaxSeconds;
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
                case "--no-wrk" -> wrk = false;
                case "-h", "--help" -> throw new IllegalArgumentException("");
                default -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("unknown option or missing value: " + a);
                    }
                    String v = args[++i];
                    switch (a) {
                        case "--records" -> records = Long.parseLong(v.replace(",", "").replace("_", ""));
                        case "--read-records" -> readRecords = Long.parseLong(v.replace(",", "").replace("_", ""));
                        case "--requests" -> requests = Long.parseLong(v.replace(",", "").replace("_", ""));
                        case "--batch" -> batch = Integer.parseInt(v);
                        case "--value-bytes" -> valueBytes = Integer.parseInt(v);
                        case "--batch-connections" -> batchConnections = Integer.parseInt(v);
                        case "--connections" -> connections = Integer.parseInt(v);
                        case "--read-connections" -> readConnections = Integer.parseInt(v);
                        case "--random-connections" -> randomConnections = Integer.parseInt(v);
                        case "--wrk-seconds" -> wrkSeconds = Integer.parseInt(v);
                        case "--read-count" -> readCount = Integer.parseInt(v);
                        case "--instances" -> instances = Integer.parseInt(v);
                        case "--partitions" -> partitions = partitions(v);
                        case "--warmup" -> warmup = Double.parseDouble(v);
                        case "--warmup-seconds" -> warmupSeconds = Double.parseDouble(v);
                        case "--warmup-max-seconds" -> warmupMaxSeconds = Double.parseDouble(v);
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
        List<Integer> counts = partitions != null ? partitions : base.partitions;
        int readPartitions = counts.get(counts.size() - 1);
        long produced = records != null ? records : base.records;
        return new Options(quick,
                produced,
                Math.max(produced, readRecords != null ? readRecords : base.readRecords),
                requests != null ? requests : base.requests,
                batch, valueBytes,
                batchConnections != null ? batchConnections : base.batchConnections,
                connections != null ? connections : base.connections,
                readConnections != null ? readConnections : Math.max(base.readConnections, readPartitions),
                randomConnections, readCount, instances, counts, wrk,
                wrkSeconds != null ? wrkSeconds : base.wrkSeconds,
                warmup != null ? warmup : base.warmup,
                warmupSeconds != null ? warmupSeconds : base.warmupSeconds,
                warmupMaxSeconds, loadThreads, profile, rows, heap, List.copyOf(jvm), Map.copyOf(props), root, d.jar, d.classes, out, work);
    }

    /** The command line that reproduces these options (for the results file). */
    public String describe() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(java.util.Locale.ROOT,
                "records=%,d (native produce, a, j, g), read records=%,d (native-consume and the read rows: the "
                        + "native topic, topped up to this untimed when a read row runs), requests=%,d (root, b, c), batch=%d "
                        + "records/POST, value=%d B, connections: a=%d, root/b/c=%d, d/h=%d, m=%d (count=%d), "
                        + "e/f/i=%d instances; partitions=%s (reads: %d), wrk rows %s, warm-up=%.0f%% (read rows: "
                        + "%.0f s; each row's until the JIT compilers are quiet, at most %.0f s), load threads=%d, "
                        + "Portico %s",
                records, readRecords, requests, batch, valueBytes, batchConnections, connections, readConnections,
                randomConnections, readCount, instances,
                String.join(",", partitions.stream().map(String::valueOf).toList()), readPartitions(),
                wrk ? wrkSeconds + " s each (connections as their twins; wrk-d and wrk-m " + randomConnections + ")"
                        : "off (--no-wrk)",
                warmup * 100, warmupSeconds, warmupMaxSeconds, loadThreads,
                porticoHeap == null ? "as shipped (no -Xmx)" : "-Xmx" + porticoHeap));
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
