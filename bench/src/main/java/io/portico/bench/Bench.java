package io.portico.bench;

import io.portico.proxy.PorticoConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The benchmark of issues 6 and 18, in one run on one machine: starts a Kafka broker (its own
 * JVM) and Portico ({@code java -jar portico.jar bench.properties}, as shipped, another JVM)
 * against it, measures the native Kafka producer and consumer with Portico's own client settings,
 * then Portico over keep-alive HTTP/1.1 with {@link HttpLoad} and, when it is installed, with wrk
 * ({@link Wrk}), row by row:
 *
 * <ol>
 *   <li>native-produce: a {@code KafkaProducer} sends N records of 100 B; native-produce-tuned:
 *       the same with {@code linger.ms=5} and {@code batch.size=65536};</li>
 *   <li>root: {@code GET /} over the connections of rows b and c, their ceiling;</li>
 *   <li>a: v1 binary produce, 100 records per POST;</li>
 *   <li>b: v1 binary produce, 1 record per POST, 64 connections;</li>
 *   <li>c: the records endpoint, 1 record per POST (text/plain), 64 connections;</li>
 *   <li>native-consume: a {@code KafkaConsumer} (assign, seek to beginning) reads the native topic;</li>
 *   <li>d: read by offset, count=1000, walking the native topic's partitions; m: the same at
 *       random offsets (a fixed seed);</li>
 *   <li>e: consumer instances (auto.offset.reset=smallest) reading the native topic, timed once
 *       their group has joined; n: one instance over one connection;</li>
 *   <li>f, g, h: v2 consumer instances, v3 streaming produce, v3 read by offset;</li>
 *   <li>i: row f's reads relayed through a second node; k: Server-Sent Events, each partition of
 *       the native topic streamed to its end;</li>
 *   <li>l: Server-Sent Events tailing a partition live, with native-tail (a native consumer tailing
 *       the same records) as its baseline: latency from a produce's acknowledgement to the record's
 *       arrival;</li>
 *   <li>wrk-root, wrk-a, wrk-b, wrk-c, wrk-d, wrk-m: rows root, a, b, c, d and m measured with wrk
 *       for a duration.</li>
 * </ol>
 *
 * <p>The produce rows and their baselines run once per partition count ({@code --partitions},
 * each a {@link Section}); the other rows once, in the last section. Produce rows warm up on half
 * their size against topics of their own; the read rows warm up by time on the topic they
 * measure; every measured row, produce and read alike (the wrk rows aside), is the median of
 * three passes, so both sides of a ratio are measured alike.
 *
 * <p>Prints a table per section and writes them, with the targets and the machine's details, to
 * {@code bench/results/<yyyy-MM-dd-HHmm>.md}. Stops what it started, by PID.
 */
public final class Bench {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd-HHmm");
    static final String NATIVE_PRODUCE = "native-produce";
    /** The batched and streaming produce rows' baseline: Portico's settings with linger.ms=5, batch.size=64 KiB. */
    static final String NATIVE_TUNED = "native-produce-tuned";
    static final String NATIVE_CONSUME = "native-consume";
    /** The single-record produce rows' baseline: {@code GET /} over the same connections. */
    static final String ROOT = "root";
    /** The seed of the random reads (rows m and wrk-m): every run draws the same offsets. */
    static final long RANDOM_SEED = 18;
    /** Row l's baseline: a native consumer tailing the same records at the same time. */
    static final String NATIVE_TAIL = "native-tail";

    private final Options o;
    private final LocalDateTime startedAt = LocalDateTime.now();
    /** Portico's commit and whether its sources differed from it, as the run started (it may change during a run). */
    private final String source;
    private final Path work;
    private final byte[][] values;
    private final List<Section> sections = new ArrayList<>();
    /** The rows of the section running. */
    private List<RowResult> rows = new ArrayList<>();
    /** Partitions of each topic created. */
    private final Map<String, Integer> topicPartitions = new HashMap<>();
    /** The wrk executable, or null: no wrk rows. */
    private Path wrk;
    /** The partitions of the section running. */
    private int partitions;
    private final List<String> runNotes = new ArrayList<>();
    private final Map<String, String> profiles = new LinkedHashMap<>();
    private Child broker;
    private Child portico;
    private JvmProbe probe;
    private Monitor monitor;
    private Admin admin;
    private String bootstrap;
    private InetSocketAddress http;
    private String host;
    /** Row i: a second Portico node that relays reads to the first, which holds the instances. */
    private Child relay;
    private RegistryStub registryStub;
    private InetSocketAddress relayHttp;
    private String relayHost;
    private PorticoConfig porticoConfig;
    private List<String> brokerCommand;
    private List<String> porticoCommand;
    private Map<String, String> porticoProperties;
    private Thread hook;

    /** One row of the table. */
    public record RowResult(String id, String what, String baseline, long records, double seconds, long valueBytes,
                            Latencies.Summary latency, long requests, long errors, Map<String, Long> errorKinds,
                            List<String> errorSamples, Monitor.Usage usage, List<String> notes) {
        public double recordsPerSecond() {
            return seconds > 0 ? records / seconds : 0;
        }

        public double megabytesPerSecond() {
            return seconds > 0 ? valueBytes / seconds / 1e6 : 0;
        }
    }

    /**
     * The rows run with one partition count: the produce rows and their baselines; the last
     * section also holds every other row (its topics have that count).
     */
    public record Section(int partitions, boolean last, List<RowResult> rows) {
        /** The section's heading in the results. */
        public String title() {
            return partitions + (partitions == 1 ? " partition" : " partitions")
                    + (last ? "" : " (produce rows)");
        }
    }

    /** What a run gives: its rows, the results file, and the PIDs of the processes it started. */
    public record Outcome(List<Section> sections, Path resultsFile, String table, long brokerPid, long porticoPid,
                          boolean wrk) {
        /** Every row, section after section. */
        public List<RowResult> rows() {
            return sections.stream().flatMap(s -> s.rows().stream()).toList();
        }
    }

    private Bench(Options o) {
        this.o = o;
        this.source = Report.git(o.root());
        this.work = o.work() != null ? o.work()
                : o.root().resolve("bench/target/bench-run-" + STAMP.format(startedAt));
        Random random = new Random(42);
        values = new byte[1024][];
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for (int i = 0; i < values.length; i++) {
            values[i] = new byte[o.valueBytes()];
            for (int k = 0; k < o.valueBytes(); k++) {
                values[i][k] = (byte) alphabet.charAt(random.nextInt(alphabet.length()));
            }
        }
    }

    public static void main(String[] args) {
        Path root = Path.of(System.getProperty("bench.root", ".")).toAbsolutePath().normalize();
        Options options;
        try {
            options = Options.parse(args, root);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) {
                System.err.println(e.getMessage());
            }
            System.err.print(Options.USAGE);
            System.exit(2);
            return;
        }
        try {
            Outcome outcome = run(options);
            long errors = outcome.rows().stream().mapToLong(RowResult::errors).sum();
            System.exit(errors == 0 && outcome.rows().size() == expectedRows(options, outcome.wrk()) ? 0 : 1);
        } catch (Exception e) {
            System.err.println("bench: failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /**
     * The rows a run of {@code o} gives: per partition count the two native produce rows, the
     * produce rows and their wrk twins (with {@code wrk}); once, native-consume, every other HTTP
     * row, row l's baseline and the wrk reads.
     */
    static int expectedRows(Options o, boolean wrk) {
        List<String> produce = List.of(ROOT, "a", "b", "c", "o");
        long perCount = 2 + produce.stream().filter(o::runs).count() * (wrk ? 2 : 1);
        long once = 1 + o.rows().stream().filter(r -> !produce.contains(r)).count() + (o.runs("l") ? 1 : 0)
                + (wrk ? List.of("d", "m").stream().filter(o::runs).count() : 0);
        return (int) (perCount * o.partitions().size() + once);
    }

    /** Runs the whole benchmark; the processes it starts are stopped before it returns. */
    public static Outcome run(Options o) throws Exception {
        Bench b = new Bench(o);
        Exception failure = null;
        try {
            b.start();
            b.runRows();
        } catch (Exception e) {
            failure = e;
            b.runNotes.add("The run failed: " + e + " (logs in " + b.work + ")");
        } finally {
            b.stop();
        }
        b.summarizeProfiles();
        StringBuilder table = new StringBuilder();
        for (Section s : b.sections) {
            table.append("\n").append(s.title()).append("\n\n").append(Report.table(s.rows()));
        }
        System.out.println(table);
        Path file = Report.write(o, b.startedAt, b.source, b.sections, b.wrk != null, b.runNotes, b.profiles, b.brokerCommand,
                b.porticoCommand, b.porticoProperties, b.work);
        System.out.println("Results: " + file);
        if (failure != null) {
            throw failure;
        }
        List<Section> sections = b.sections.stream()
                .map(s -> new Section(s.partitions(), s.last(), List.copyOf(s.rows()))).toList();
        return new Outcome(sections, file, table.toString(), b.broker == null ? -1 : b.broker.pid(),
                b.portico == null ? -1 : b.portico.pid(), b.wrk != null);
    }

    // ---------------------------------------------------------------- processes

    private void start() throws Exception {
        if (!Files.isRegularFile(o.jar())) {
            throw new IOException("no " + o.jar() + ": build it with mvn -q -DskipTests package");
        }
        Files.createDirectories(work);
        hook = new Thread(this::stopChildren, "bench-stop-children");
        Runtime.getRuntime().addShutdownHook(hook);
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classPath = o.jar().toAbsolutePath() + java.io.File.pathSeparator + o.classes().toAbsolutePath();

        log("starting the Kafka broker (its own JVM)");
        brokerCommand = List.of(javaBin, "-Xmx1g", "-cp", classPath, BrokerMain.class.getName(),
                work.resolve("kafka").toString());
        broker = Child.start("broker", brokerCommand, work.resolve("broker.log"), "BOOTSTRAP ");
        String line = broker.awaitLine(120);
        bootstrap = line.substring(line.indexOf("BOOTSTRAP ") + "BOOTSTRAP ".length()).trim();
        log("broker " + bootstrap + " (pid " + broker.pid() + ")");

        int port = freePort();
        porticoProperties = new LinkedHashMap<>();
        porticoProperties.put("listeners", "http://127.0.0.1:" + port);
        porticoProperties.put("bootstrap.servers", bootstrap);
        // Not measured: lets the run end quickly while a consumer read is still waiting.
        porticoProperties.put("shutdown.graceful.ms", "3000");
        if (o.runs("j")) {
            // Row j: avro produce needs a schema registry; the bench serves the one schema it uses.
            registryStub = new RegistryStub();
            porticoProperties.put("schema.registry.url", registryStub.url());
        }
        if (o.runs("i")) {
            // Row i: two nodes; the one measured holds the instances, the other relays to it.
            porticoProperties.put("nodes.secret", "bench-" + java.util.UUID.randomUUID());
        }
        porticoProperties.putAll(o.porticoProperties());
        StringBuilder props = new StringBuilder("# written by the benchmark (bench/run.sh)\n");
        porticoProperties.forEach((k, v) -> props.append(k).append('=').append(v).append('\n'));
        Path propsFile = work.resolve("bench.properties");
        Files.writeString(propsFile, props);
        // The native baselines use Portico's settings as its own heap sizes them (the producer's
        // buffer and batches): from -Xmx or the JVM's default until Portico's own ceiling is read.
        porticoConfig = PorticoConfig.from(porticoProperties, porticoMaxHeap(o.porticoHeap()));

        List<String> cmd = new ArrayList<>(List.of(javaBin));
        cmd.addAll(Stack.porticoJvmOptions(o.porticoHeap(), o.porticoJvmOptions()));
        cmd.addAll(List.of("-jar", o.jar().toAbsolutePath().toString(), propsFile.toString()));
        porticoCommand = List.copyOf(cmd);
        log("starting Portico: " + String.join(" ", porticoCommand));
        portico = Child.start("portico", porticoCommand, work.resolve("portico.log"), "Portico serves on");
        portico.awaitLine(120);
        http = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        host = "127.0.0.1:" + port;
        long server = portico.servingPids().get(0);
        log("Portico http://" + host + " (pid " + portico.pid() + ", serving JVM " + server + ")");
        try {
            probe = JvmProbe.attach(server);
            log("attached to Portico's JVM: heap max " + probe.heapMax() / 1048576 + " MiB");
            // The native baselines: Portico's settings as its real heap ceiling sizes them.
            porticoConfig = PorticoConfig.from(porticoProperties, probe.heapMax());
        } catch (IOException | RuntimeException e) {
            runNotes.add("Could not attach to Portico's JVM (no heap figures): " + e);
            log("cannot attach to Portico's JVM: " + e);
        }
        if (o.runs("i")) {
            int relayPort = freePort();
            Map<String, String> relayProperties = new LinkedHashMap<>(porticoProperties);
            relayProperties.put("listeners", "http://127.0.0.1:" + relayPort);
            StringBuilder relayProps = new StringBuilder("# written by the benchmark (bench/run.sh): row i's relay node\n");
            relayProperties.forEach((k, v) -> relayProps.append(k).append('=').append(v).append('\n'));
            Path relayFile = work.resolve("relay.properties");
            Files.writeString(relayFile, relayProps);
            List<String> relayCmd = new ArrayList<>(porticoCommand);
            relayCmd.set(relayCmd.size() - 1, relayFile.toString());
            log("starting the relay node for row i: " + String.join(" ", relayCmd));
            relay = Child.start("relay", relayCmd, work.resolve("relay.log"), "Portico serves on");
            relay.awaitLine(120);
            relayHttp = new InetSocketAddress(InetAddress.getLoopbackAddress(), relayPort);
            relayHost = "127.0.0.1:" + relayPort;
        }
        monitor = new Monitor(portico.servingPids(), broker.pid(), probe);
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.CLIENT_ID_CONFIG, "bench-admin"));
    }

    private void stop() {
        if (monitor != null) {
            monitor.close();
        }
        if (probe != null) {
            probe.close();
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(10));
        }
        stopChildren();
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // shutting down already
            }
        }
        deleteTree(work.resolve("kafka"));
    }

    private synchronized void stopChildren() {
        if (relay != null && relay.isAlive()) {
            log("stopping the relay node (pid " + relay.pid() + ")");
            relay.stop(30);
        }
        if (portico != null && portico.isAlive()) {
            log("stopping Portico (pid " + portico.pid() + ")");
            portico.stop(30);
        }
        if (registryStub != null) {
            registryStub.close();
            registryStub = null;
        }
        if (broker != null && broker.isAlive()) {
            log("stopping the broker (pid " + broker.pid() + ")");
            broker.closeInput();
            try {
                if (!broker.awaitExit(30)) {
                    broker.stop(10);
                }
            } catch (InterruptedException e) {
                broker.stop(0);
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------- rows

    private void runRows() throws Exception {
        wrk = o.wrk() ? Wrk.find() : null;
        if (wrk == null) {
            runNotes.add(o.wrk() ? "wrk is not installed, so the wrk rows did not run: install it (apt-get install "
                    + "wrk) and run again to measure with both generators"
                    : "The wrk rows did not run (--no-wrk).");
            log(o.wrk() ? "wrk is not on the PATH: no wrk rows (apt-get install wrk)" : "no wrk rows (--no-wrk)");
        } else {
            log("wrk: " + wrk + " (the wrk rows run " + o.wrkSeconds() + " s each)");
        }
        List<Integer> counts = o.partitions();
        for (int i = 0; i < counts.size(); i++) {
            Section section = new Section(counts.get(i), i == counts.size() - 1, new ArrayList<>());
            sections.add(section);
            rows = section.rows();
            partitions = section.partitions();
            log("---- " + section.title());
            produceRows(section.last());
            if (section.last()) {
                readRows("bench-native-p" + partitions);
            }
        }
    }

    /**
     * The produce rows at {@link #partitions} partitions: both native producers, {@code GET /},
     * rows a, b, c and o (with j and g in the last section), then the wrk twins of root, a, b, c and o.
     */
    private void produceRows(boolean last) throws Exception {
        boolean warm = o.warmup() > 0;
        String p = "-p" + partitions;
        long warmRecords = Math.max(partitions * 10L, (long) (o.records() * o.warmup()));
        long warmRequests = Math.max(o.connections(), (long) (o.requests() * o.warmup()));
        List<String> produced = new ArrayList<>(List.of("native", "native-tuned", "a", "b", "c", "o"));
        if (last) {
            produced.addAll(List.of("j", "g"));
        }
        List<String> topics = new ArrayList<>();
        for (String t : produced) {
            topics.add("bench-" + t + p); // each warm-up pass creates a topic of its own (warmTopic)
        }
        if (wrk != null) {
            topics.addAll(List.of("wrk-a" + p, "wrk-b" + p, "wrk-c" + p, "wrk-o" + p));
        }
        createTopics(topics, partitions);

        // The native baselines: Portico's producer settings, and tuned for throughput.
        for (boolean tuned : List.of(false, true)) {
            String t = tuned ? "native-tuned" : "native";
            if (warm) {
                log("warm-up: " + (tuned ? NATIVE_TUNED : NATIVE_PRODUCE));
                warmProduce(tuned ? NATIVE_TUNED : NATIVE_PRODUCE,
                        pass -> nativeProduce(warmTopic(t + p, pass), warmRecords, false, tuned));
            }
            rows.add(measured(pass -> nativeProduce(passTopic("bench-" + t + p, pass), o.records(), true, tuned)));
        }
        // root: GET /, the single-record rows' ceiling, over their connections.
        if (o.runs(ROOT)) {
            if (warm) {
                warmProduce(ROOT, pass -> rootRow(warmRequests, false));
            }
            rows.add(measured(pass -> rootRow(o.requests(), true)));
        }
        // a: v1 binary, batch records per POST.
        if (o.runs("a")) {
            long aRequests = Math.max(1, o.records() / o.batch());
            if (warm) {
                warmProduce("a", pass -> {
                    String t = warmTopic("a" + p, pass);
                    return httpProduce("a", t, v1Variants(t, o.batch()), Math.max(1, warmRecords / o.batch()),
                            o.batch(), o.batchConnections(), Scripts.Answer.V1, false);
                });
            }
            rows.add(measured(pass -> {
                String t = passTopic("bench-a" + p, pass);
                return httpProduce("a", t, v1Variants(t, o.batch()), aRequests, o.batch(), o.batchConnections(),
                        Scripts.Answer.V1, true);
            }));
        }
        // j: v2 avro, batch records per POST, as row a (its ratio is to row a).
        if (last && o.runs("j")) {
            long jRequests = Math.max(1, o.records() / o.batch());
            if (warm) {
                warmProduce("j", pass -> {
                    String t = warmTopic("j" + p, pass);
                    return httpProduce("j", t, avroVariants(t, o.batch()), Math.max(1, warmRecords / o.batch()),
                            o.batch(), o.batchConnections(), Scripts.Answer.V1, false);
                });
            }
            RowResult j = measured(pass -> {
                String t = passTopic("bench-j" + p, pass);
                return httpProduce("j", t, avroVariants(t, o.batch()), jRequests, o.batch(), o.batchConnections(),
                        Scripts.Answer.V1, true);
            });
            rows.add(new RowResult(j.id(), "POST /topics/{t}, v2 avro (value_schema_id, a record of one string field "
                    + "of " + (o.valueBytes() - 2) + " characters, " + (o.valueBytes() + 5) + " B in Kafka), " + o.batch()
                    + " records per request, " + o.batchConnections() + " connections", o.runs("a") ? "a" : NATIVE_TUNED,
                    j.records(), j.seconds(), j.valueBytes(), j.latency(), j.requests(), j.errors(), j.errorKinds(),
                    j.errorSamples(), j.usage(), j.notes()));
        }
        // b: v1 binary, 1 record per POST.
        if (o.runs("b")) {
            if (warm) {
                warmProduce("b", pass -> {
                    String t = warmTopic("b" + p, pass);
                    return httpProduce("b", t, v1Variants(t, 1), warmRequests, 1, o.connections(), Scripts.Answer.V1,
                            false);
                });
            }
            rows.add(measured(pass -> {
                String t = passTopic("bench-b" + p, pass);
                return httpProduce("b", t, v1Variants(t, 1), o.requests(), 1, o.connections(), Scripts.Answer.V1,
                        true);
            }));
        }
        // c: records endpoint, 1 record per POST.
        if (o.runs("c")) {
            if (warm) {
                warmProduce("c", pass -> {
                    String t = warmTopic("c" + p, pass);
                    return httpProduce("c", t, recordsVariants(t), warmRequests, 1, o.connections(),
                            Scripts.Answer.ANY, false);
                });
            }
            rows.add(measured(pass -> {
                String t = passTopic("bench-c" + p, pass);
                return httpProduce("c", t, recordsVariants(t), o.requests(), 1, o.connections(), Scripts.Answer.ANY,
                        true);
            }));
        }
        // o: v3 produce, 1 record per POST (not streamed).
        if (o.runs("o")) {
            if (warm) {
                warmProduce("o", pass -> {
                    String t = warmTopic("o" + p, pass);
                    return httpProduce("o", t, v3Variants(t), warmRequests, 1, o.connections(), Scripts.Answer.V3,
                            false);
                });
            }
            rows.add(measured(pass -> {
                String t = passTopic("bench-o" + p, pass);
                return httpProduce("o", t, v3Variants(t), o.requests(), 1, o.connections(), Scripts.Answer.V3, true);
            }));
        }
        // g: v3 streaming produce, one chunked request per connection.
        if (last && o.runs("g")) {
            if (warm) {
                warmProduce("g", pass -> v3Stream(warmTopic("g" + p, pass), warmRecords, false));
            }
            rows.add(measured(pass -> v3Stream(passTopic("bench-g" + p, pass), o.records(), true)));
        }
        if (wrk != null) {
            wrkProduceRows(p);
        }
    }

    /** The read rows and the others that run once, on {@code topic} (the native producer's). */
    private void readRows(String topic) throws Exception {
        boolean warm = o.warmup() > 0;
        boolean warmReads = o.warmupSeconds() > 0;
        long held = readsAny() ? topUp(topic) : sum(endOffsets(topic));
        if (warmReads) {
            // Read rows warm up on the topic they measure (a first read of a topic sets up the
            // client's per-topic metrics and deoptimizes code compiled before), for a time.
            log("warm-up: native consume");
            warmUp(NATIVE_CONSUME, pass -> nativeConsume(topic, held, false));
        }
        rows.add(median(NATIVE_CONSUME, pass -> {
            log("native-consume: pass " + pass + " of " + passes() + ", " + fmt(held) + " records of " + topic);
            return nativeConsume(topic, held, true);
        }));
        // d: read by offset.
        if (o.runs("d")) {
            if (warmReads) {
                warmUp("d", pass -> readByOffset(topic, false));
            }
            rows.add(median("d", pass -> readByOffset(topic, true)));
        }
        // m: read by offset at random offsets.
        if (o.runs("m")) {
            if (warmReads) {
                warmUp("m", pass -> readRandom(topic, false));
            }
            rows.add(median("m", pass -> readRandom(topic, true)));
        }
        // h: v3 read by offset, as d.
        if (o.runs("h")) {
            if (warmReads) {
                warmUp("h", pass -> readByOffset(topic, false, true));
            }
            rows.add(median("h", pass -> readByOffset(topic, true, true)));
        }
        // e and f: consumer instances read over v1 and over v2 (subscribe, then GET …/records).
        // f's target is a ratio to e, so when both run their measured passes alternate (e, f, e,
        // f, …): drift of a busy machine during the run falls on both sides alike.
        List<Pass> instancePasses = new ArrayList<>();
        if (o.runs("e")) {
            if (warmReads) {
                warmUp("e", pass -> consumerInstances(topic, "bench-warm-" + pass, false, false));
            }
            instancePasses.add(pass -> consumerInstances(topic, "bench-e-" + pass, true, false));
        }
        if (o.runs("f")) {
            if (warmReads) {
                warmUp("f", pass -> consumerInstances(topic, "bench-warm-f-" + pass, false, true));
            }
            instancePasses.add(pass -> consumerInstances(topic, "bench-f-" + pass, true, true));
        }
        // i: f's reads through another node (relayed to the one holding the instances), alternating with f.
        if (o.runs("i")) {
            if (warmReads) {
                warmUp("i", pass -> consumerInstances(topic, "bench-warm-i-" + pass, false, true, true));
            }
            instancePasses.add(pass -> consumerInstances(topic, "bench-i-" + pass, true, true, true));
        }
        if (!instancePasses.isEmpty()) {
            rows.addAll(alternating(instancePasses));
        }
        // n: one consumer instance draining the topic over one connection.
        if (o.runs("n")) {
            if (warmReads) {
                warmUp("n", pass -> consumerInstances(topic, "bench-warm-n-" + pass, false, false, false, "n", 1));
            }
            rows.add(median("n", pass -> consumerInstances(topic, "bench-n-" + pass, true, false, false, "n", 1)));
        }
        // k: Server-Sent Events, each partition of the native topic streamed from offset 0 to its end.
        if (o.runs("k")) {
            if (warmReads) {
                warmUp("k", pass -> sseDrain(topic, false));
            }
            rows.add(median("k", pass -> sseDrain(topic, true)));
        }
        // l: Server-Sent Events tailing a partition live, beside a native consumer tailing it too.
        if (o.runs("l")) {
            Topics.createReady(admin, List.of(new NewTopic("bench-tail", 1, (short) 1)));
            topicPartitions.put("bench-tail", 1);
            long n = tailRecords();
            if (warm || warmReads) {
                liveTail("bench-tail", Math.max(100, n / 10), false);
            }
            rows.addAll(liveTail("bench-tail", n, true));
        }
        if (wrk != null) {
            wrkReadRows(topic);
        }
    }

    /**
     * Brings the read rows' topic (the native producer's first pass wrote {@code --records} to
     * it) to {@code --read-records}, untimed, with the tuned native producer: a drain of two
     * million records lasts half a second to a second and a half, and passes that short measured
     * when a collection fell more than the reading (native-consume's fastest pass 2.07 times its
     * slowest in one run). Returns how many records the topic holds.
     */
    private long topUp(String topic) throws Exception {
        long have = sum(endOffsets(topic));
        long more = o.readRecords() - have;
        if (more > 0) {
            // A broker that stops taking them: the first failure ends the top-up, and so does a
            // deadline (each send may block for max.block.ms).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(120, more / 50_000));
            log("the read rows' topic " + topic + ": " + fmt(more) + " more records (untimed), " + fmt(o.readRecords())
                    + " in all");
            Map<String, Object> config = tunedProducerConfig();
            config.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-native-top-up");
            AtomicLong failed = new AtomicLong();
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                for (long i = 0; i < more && failed.get() == 0 && System.nanoTime() < deadline; i++) {
                    producer.send(new ProducerRecord<>(topic, null, null, values[(int) (i % values.length)]),
                            (md, e) -> {
                                if (e != null) {
                                    failed.incrementAndGet();
                                }
                            });
                }
                producer.flush();
            }
            have = sum(endOffsets(topic));
            if (failed.get() > 0 || have != o.readRecords()) {
                runNotes.add(topic + " holds " + fmt(have) + " records, " + fmt(o.readRecords()) + " were asked for the"
                        + " read rows (" + fmt(failed.get()) + " sends failed): the read rows read " + fmt(have));
            }
        }
        return have;
    }

    /** Whether a row other than native-consume reads the native topic (else it is not topped up). */
    private boolean readsAny() {
        return java.util.stream.Stream.of("d", "m", "h", "e", "f", "i", "n", "k").anyMatch(o::runs); // wrk-d, wrk-m: d, m
    }

    /** Records of row l (one produced at a time, each awaited): at most 5,000. */
    private long tailRecords() {
        return Math.min(o.records(), 5_000);
    }

    /** Row k: one SSE stream per partition of {@code topic}, from offset 0 until its end. */
    private RowResult sseDrain(String topic, boolean measured) throws Exception {
        long[] end = endOffsets(topic);
        String what = "GET /topics/{t}/partitions/{p}/messages?offset=0 with Accept: text/event-stream (binary "
                + "events), one stream per partition, " + end.length + " at once, each read to its end";
        log((measured ? "" : "warm-up ") + "row k: " + what + ", " + fmt(sum(end)) + " records of " + topic);
        Monitor.Window w = monitor.begin("k", measured && o.profile() ? jfrFile("k") : null);
        // At least 100,000 records a second (each stream ends by then), as native-consume.
        SseLoad.Result r = SseLoad.drain(host, topic, end, 1000 * Math.max(120, sum(end) / 100_000));
        Monitor.Usage usage = monitor.end(w);
        List<String> notes = new ArrayList<>();
        notes.add(String.format(Locale.ROOT, "HTTP traffic %.1f MB/s in; latency: a stream's request to its first "
                + "event", r.bytesReceived() / r.seconds() / 1e6));
        if (r.records() != sum(end)) {
            notes.add("read " + fmt(r.records()) + " of " + fmt(sum(end)) + " records");
        }
        checkAlive(notes);
        if (!measured && r.errors() > 0) {
            runNotes.add("warm-up of row k had " + r.errors() + " errors: " + r.errorKinds());
        }
        long errors = r.errors() + (r.records() == sum(end) ? 0 : 1);
        return new RowResult("k", what, NATIVE_CONSUME, r.records(), r.seconds(), r.records() * o.valueBytes(),
                r.latencies().summary(), end.length, errors, r.errorKinds(), r.errorSamples(), usage, notes);
    }

    /**
     * Row l and its baseline: an SSE stream of {@code topic}'s partition from its end on, and a
     * native {@code KafkaConsumer} (Portico's consumer settings, assigned, at the end too) tail the
     * same partition while a producer (Portico's producer settings) sends {@code n} records one at
     * a time, each after the one before was acknowledged. A record's latency, on each side, is from
     * its acknowledgement to its arrival (0 when it arrived first).
     */
    private List<RowResult> liveTail(String topic, long n, boolean measured) throws Exception {
        long from = endOffsets(topic, 1)[0];
        String what = "GET /topics/{t}/partitions/0/messages?offset=<end> with Accept: text/event-stream, tailing "
                + "while " + fmt(n) + " records are produced one at a time (each after the last was acknowledged)";
        log((measured ? "" : "warm-up ") + "row l: " + what);
        long[] ackAt = new long[(int) n];
        long[] sseAt = new long[(int) n];
        long[] nativeAt = new long[(int) n];
        AtomicLong sseCount = new AtomicLong();
        AtomicLong nativeCount = new AtomicLong();
        Map<String, Long> kinds = new java.util.concurrent.ConcurrentHashMap<>();
        List<String> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        Map<String, Object> consumerConfig = new HashMap<>(porticoConfig.consumerConfig(bootstrap));
        consumerConfig.put(ConsumerConfig.CLIENT_ID_CONFIG, "bench-native-tail");
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        Map<String, Object> producerConfig = new HashMap<>(porticoConfig.producerConfig(bootstrap));
        producerConfig.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-tail-producer");
        TopicPartition tp = new TopicPartition(topic, 0);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Monitor.Usage usage;
        long start;
        long end;
        try (SseLoad.Stream stream = SseLoad.Stream.open(host, "/topics/" + topic + "/partitions/0/messages?offset=" + from);
             KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
                     new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
                     new ByteArraySerializer())) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, from);
            consumer.poll(Duration.ZERO); // connected and fetching before the first record
            Thread sse = new Thread(() -> {
                try {
                    stream.read(offset -> {
                        long i = offset - from;
                        if (i >= 0 && i < n) {
                            sseAt[(int) i] = System.nanoTime();
                            sseCount.incrementAndGet();
                        }
                    }, offset -> offset - from >= n - 1 || stop.get(), 120_000);
                } catch (IOException e) {
                    if (!stop.get()) {
                        kinds.merge("sse: " + e.getClass().getSimpleName(), 1L, Long::sum);
                        samples.add("sse: " + e);
                    }
                }
            }, "sse-tail");
            sse.start();
            Thread nat = new Thread(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (nativeCount.get() < n && !stop.get() && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                        long i = r.offset() - from;
                        if (i >= 0 && i < n) {
                            nativeAt[(int) i] = System.nanoTime();
                            nativeCount.incrementAndGet();
                        }
                    }
                }
            }, "native-tail");
            if (!stream.awaitOpen(30_000)) {
                throw new IOException("the SSE stream did not open within 30 s");
            }
            nat.start();
            producer.partitionsFor(topic);
            Thread.sleep(200); // both tails wait at the log end (their fetches in the broker)
            Monitor.Window w = monitor.begin("l", measured && o.profile() ? jfrFile("l") : null);
            start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                var md = producer.send(new ProducerRecord<>(topic, 0, null, values[i % values.length])).get();
                long at = System.nanoTime();
                long k = md.offset() - from;
                if (k >= 0 && k < n) {
                    ackAt[(int) k] = at;
                }
            }
            long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while ((sseCount.get() < n || nativeCount.get() < n) && System.nanoTime() < waitUntil) {
                Thread.sleep(5);
            }
            end = System.nanoTime();
            usage = monitor.end(w);
            stop.set(true);
            stream.disconnect();
            sse.join(10_000);
            nat.join(10_000);
        }
        Latencies sseLatencies = new Latencies();
        Latencies nativeLatencies = new Latencies();
        for (int i = 0; i < n; i++) {
            if (ackAt[i] == 0) {
                continue;
            }
            if (sseAt[i] != 0) {
                sseLatencies.record(Math.max(0, sseAt[i] - ackAt[i]));
            }
            if (nativeAt[i] != 0) {
                nativeLatencies.record(Math.max(0, nativeAt[i] - ackAt[i]));
            }
        }
        if (sseCount.get() < n) {
            kinds.merge("sse: incomplete", 1L, Long::sum);
            samples.add("the SSE stream got " + sseCount.get() + " of " + n + " records");
        }
        List<String> notes = new ArrayList<>();
        notes.add("latency: a record's produce acknowledged → its event read (0 when it came first); the native "
                + "consumer tailed the same records at the same time (row native-tail)");
        checkAlive(notes);
        long errors = kinds.values().stream().mapToLong(Long::longValue).sum();
        if (!measured) {
            if (errors > 0) {
                runNotes.add("warm-up of row l had " + errors + " errors: " + kinds);
            }
            return List.of();
        }
        double seconds = (end - start) / 1e9;
        long nativeErrors = nativeCount.get() < n ? 1 : 0;
        RowResult baseline = new RowResult(NATIVE_TAIL, "KafkaConsumer (Portico's consumer settings) assigned to the "
                + "partition at its end, tailing the records of row l as they are produced", null, nativeCount.get(),
                seconds, nativeCount.get() * o.valueBytes(), nativeLatencies.summary(), 0, nativeErrors,
                nativeErrors == 0 ? Map.of() : Map.of("incomplete", 1L), List.of(), usage,
                List.of("latency: a record's produce acknowledged → the record returned by poll() (0 when it came first)"));
        RowResult row = new RowResult("l", what, NATIVE_TAIL, sseCount.get(), seconds, sseCount.get() * o.valueBytes(),
                sseLatencies.summary(), 1, errors, Map.copyOf(kinds), List.copyOf(samples), usage, notes);
        return List.of(baseline, row);
    }

    /**
     * Row native-produce, or with {@code tuned} native-produce-tuned: Portico's producer settings
     * with {@code linger.ms=5} and {@code batch.size=65536}, as a producer tuned for throughput has.
     */
    private RowResult nativeProduce(String topic, long n, boolean measured, boolean tuned) throws Exception {
        String id = tuned ? NATIVE_TUNED : NATIVE_PRODUCE;
        if (measured) {
            log(id + ": " + fmt(n) + " records to " + topic);
        }
        Map<String, Object> config = tuned ? tunedProducerConfig() : new HashMap<>(porticoConfig.producerConfig(bootstrap));
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-native-producer");
        Latencies latencies = new Latencies();
        AtomicLong completed = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        Map<String, Long> errorKinds = new java.util.concurrent.ConcurrentHashMap<>();
        Monitor.Usage usage;
        long start;
        long end;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            int partitions = producer.partitionsFor(topic).size(); // metadata first, outside the timing, as Portico has it warm
            Monitor.Window w = monitor.begin(id, null);
            start = System.nanoTime();
            for (long i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                // --quick: a record to each partition in turn, so that every partition of the
                // topic the read rows read has records (the sticky partitioner may leave one empty
                // at a tiny size); else as a producer without keys sends them.
                Integer partition = o.quick() ? (int) (i % partitions) : null;
                producer.send(new ProducerRecord<>(topic, partition, null, values[(int) (i % values.length)]), (md, e) -> {
                    latencies.record(System.nanoTime() - t0); // callbacks run on the one producer I/O thread
                    if (e != null) {
                        errors.incrementAndGet();
                        errorKinds.merge(e.getClass().getSimpleName(), 1L, Long::sum);
                    }
                    completed.incrementAndGet();
                });
            }
            producer.flush();
            while (completed.get() < n) {
                Thread.onSpinWait();
            }
            end = System.nanoTime();
            usage = monitor.end(w);
        }
        List<String> notes = new ArrayList<>();
        notes.add("latency: send() to acknowledgement callback, per record");
        checkLanded(topic, n, notes);
        String what = tuned
                ? "KafkaProducer with Portico's producer settings but linger.ms=5 and batch.size=65536, tuned for "
                        + "throughput (delivery.timeout.ms at least linger.ms + request.timeout.ms, as the producer "
                        + "requires: " + settingsText(config) + ": acks=all, no compression)"
                : "KafkaProducer with Portico's producer settings (" + settingsText(config)
                        + ": acks=all, no compression)";
        return new RowResult(id, what, null, n, (end - start) / 1e9, n * o.valueBytes(), latencies.summary(), n,
                errors.get(), Map.copyOf(errorKinds), List.of(), usage, notes);
    }

    /** Portico's producer settings but {@code linger.ms=5} and 64 KiB batches: native-produce-tuned's. */
    private Map<String, Object> tunedProducerConfig() {
        Map<String, Object> config = new HashMap<>(porticoConfig.producerConfig(bootstrap));
        config.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        config.put(ProducerConfig.BATCH_SIZE_CONFIG, 65536);
        // The producer wants delivery.timeout.ms ≥ linger.ms + request.timeout.ms.
        long request = Long.parseLong(String.valueOf(config.getOrDefault(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30000)));
        long delivery = Long.parseLong(String.valueOf(config.getOrDefault(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                120000)));
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Math.max(delivery, request + 5));
        return config;
    }

    /** One pass of a row; {@code pass} counts from 1. */
    private interface Pass {
        RowResult run(int pass) throws Exception;
    }

    /**
     * A produce row (or its baseline) measured {@link #passes()} times, the pass of median
     * records/s being the row, as the read rows are: one pass of a few seconds on two busy cores
     * moved the native producer twofold between two rows run back to back (native-produce and
     * native-produce-tuned differ by {@code linger.ms} alone, and the tuned one did 0.54 of the
     * untuned one's records a second in {@code 2026-12-06-0301}).
     */
    private RowResult measured(Pass pass) throws Exception {
        return median(null, pass);
    }

    /**
     * The topic of pass {@code pass} of a measured produce row: the row's own topic for the first
     * (the native producer's is the one the read rows read), a new one for each other, so that
     * every pass writes to a topic of the same size and each checks its own records landed.
     */
    private String passTopic(String topic, int pass) throws Exception {
        if (pass == 1) {
            return topic;
        }
        String t = topic + "-" + pass;
        createTopics(List.of(t), partitions);
        return t;
    }

    /** Measured passes of each read row (native-consume, d, e) and produce row: the median pass is the row. */
    private int passes() {
        return o.quick() ? 1 : 3;
    }

    /**
     * Runs a read row {@link #passes()} times and keeps the pass of median records/s, noting the
     * others: one pass may land on a collection or a compilation (a read row's pass takes a few
     * seconds at --read-records' 10,000,000), so each side of a read ratio is a median of the same
     * count.
     */
    private RowResult median(String id, Pass pass) throws Exception {
        return alternating(List.of(pass)).get(0);
    }

    /**
     * Runs the measured passes of several rows in turn (pass 1 of each, then pass 2 of each, …)
     * and gives each row its median pass.
     */
    private List<RowResult> alternating(List<Pass> rowPasses) throws Exception {
        // Rows compared with each other get more passes: their ratio has a 10% target.
        int passes = rowPasses.size() > 1 && !o.quick() ? 5 : passes();
        List<List<RowResult>> results = new ArrayList<>();
        rowPasses.forEach(p -> results.add(new ArrayList<>()));
        for (int i = 1; i <= passes; i++) {
            for (int r = 0; r < rowPasses.size(); r++) {
                results.get(r).add(rowPasses.get(r).run(i));
            }
        }
        List<RowResult> medians = new ArrayList<>();
        for (List<RowResult> row : results) {
            medians.add(medianOf(row, passes));
        }
        return medians;
    }

    private static RowResult medianOf(List<RowResult> results, int passes) {
        List<RowResult> sorted = new ArrayList<>(results);
        sorted.sort(Comparator.comparingDouble(RowResult::recordsPerSecond));
        RowResult median = sorted.get(sorted.size() / 2);
        if (passes == 1) {
            return median;
        }
        List<String> notes = new ArrayList<>(median.notes());
        notes.add("median of " + passes + " passes; records/s of the passes: " + results.stream()
                .map(r -> fmt(r.recordsPerSecond())).reduce((a, b) -> a + ", " + b).orElse(""));
        return new RowResult(median.id(), median.what(), median.baseline(), median.records(), median.seconds(),
                median.valueBytes(), median.latency(), median.requests(),
                results.stream().mapToLong(RowResult::errors).sum(), median.errorKinds(), median.errorSamples(),
                median.usage(), notes);
    }

    /**
     * Warms a read row (native-consume, d, e, …) up: untimed passes over the topic it measures
     * until they have read for {@code --warmup-seconds} (the group joins of row e do not count)
     * and the JIT compilers of the run's JVMs have gone quiet ({@link Warmup}), or for
     * {@code --warmup-max-seconds}, on both sides of the ratio alike.
     */
    private void warmUp(String row, Pass pass) throws Exception {
        warmUntilQuiet(row, pass, o.warmupSeconds());
    }

    /**
     * Warms a produce row up: untimed runs of {@code --warmup} of its size, each against a new
     * topic ({@link #warmTopic}), one and then more while the JIT compilers are busy, up to
     * {@code --warmup-max-seconds}.
     */
    private void warmProduce(String row, Pass run) throws Exception {
        warmUntilQuiet(row, run, 0);
    }

    private void warmUntilQuiet(String row, Pass pass, double minSeconds) throws Exception {
        Warmup warmup = new Warmup(minSeconds, o.warmupMaxSeconds());
        int i = 0;
        while (warmup.more()) {
            List<Long> jvms = jvms();
            long compiler = ProcStats.compilerNanos(jvms);
            long start = System.nanoTime();
            RowResult r = pass.run(++i); // null from an untimed produce run: its wall time counts
            long wall = System.nanoTime() - start;
            warmup.add(r != null ? r.seconds() : wall / 1e9, wall, ProcStats.compilerNanos(jvms) - compiler);
        }
        String which = row + " (" + partitions + (partitions == 1 ? " partition)" : " partitions)");
        log("warm-up of row " + which + ": " + warmup.summary());
        runNotes.add("Warm-up of row " + which + ": " + warmup.summary() + ".");
    }

    /**
     * A new topic for pass {@code pass} of a produce row's warm-up, {@code warm-<row>-<pass>}, at
     * the section's partition count. The measured run then writes to a topic its path has not
     * written to yet, as every warm-up pass did before it: the first records to a topic take the
     * producer's path for a topic it has no metadata of, and on a warm-up of one topic that path
     * ran only before the JIT compiled the rest, so the measured run's first records threw the
     * compiled produce path back to the interpreter for seconds of recompiling.
     */
    private String warmTopic(String row, int pass) throws Exception {
        String topic = "warm-" + row + "-" + pass;
        createTopics(List.of(topic), partitions);
        return topic;
    }

    /** The JVMs of the run, whose JIT compilers a warm-up waits out: the broker, Portico (each node), the bench. */
    private List<Long> jvms() {
        List<Long> pids = new ArrayList<>();
        pids.add(ProcessHandle.current().pid());
        pids.add(broker.pid());
        pids.addAll(portico.servingPids());
        if (relay != null) {
            pids.addAll(relay.servingPids());
        }
        return pids;
    }

    private RowResult nativeConsume(String topic, long n, boolean measured) {
        Map<String, Object> config = new HashMap<>(porticoConfig.consumerConfig(bootstrap));
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "bench-native-consumer");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        long count = 0;
        long bytes = 0;
        long start;
        long end;
        long seconds = Math.max(120, n / 100_000); // at least 100,000 records a second, or an error
        Monitor.Usage usage;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic)) {
                tps.add(new TopicPartition(topic, p.partition()));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Monitor.Window w = monitor.begin(NATIVE_CONSUME, null);
            start = System.nanoTime();
            long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
            while (count < n && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    count++;
                    bytes += r.value() == null ? 0 : r.value().length;
                }
            }
            end = System.nanoTime();
            usage = monitor.end(w);
        }
        long errors = count < n ? 1 : 0;
        List<String> notes = new ArrayList<>();
        if (count < n) {
            notes.add("read " + fmt(count) + " of " + fmt(n) + " records within " + seconds + " s");
        }
        return new RowResult(NATIVE_CONSUME, "KafkaConsumer, assign + seekToBeginning, poll until all read "
                + "(Portico's consumer settings: " + settingsText(config) + ")", null, count, (end - start) / 1e9,
                bytes, new Latencies().summary(), 0, errors,
                errors == 0 ? Map.of() : Map.of("incomplete", 1L), List.of(), usage, notes);
    }

    private ByteBuffer[] v1Variants(String topic, int records) {
        ByteBuffer[] out = new ByteBuffer[16];
        for (int v = 0; v < out.length; v++) {
            out[v] = Scripts.request("POST", "/topics/" + topic, host, "application/vnd.kafka.binary.v1+json",
                    "application/vnd.kafka.v1+json", v1Body(v * records, records));
        }
        return out;
    }

    /**
     * Row j's bodies: v2 avro with {@code value_schema_id}, each value a record whose string field
     * holds base64 text of the row's random values, cut to {@code valueBytes - 2} characters (the
     * avro string's length takes the other 2 bytes).
     */
    private ByteBuffer[] avroVariants(String topic, int records) {
        ByteBuffer[] out = new ByteBuffer[16];
        Base64.Encoder b64 = Base64.getEncoder();
        int chars = Math.max(1, o.valueBytes() - 2);
        for (int v = 0; v < out.length; v++) {
            StringBuilder body = new StringBuilder(records * (chars + 32) + 32);
            body.append("{\"value_schema_id\":").append(RegistryStub.ID).append(",\"records\":[");
            for (int r = 0; r < records; r++) {
                if (r > 0) {
                    body.append(',');
                }
                String text = b64.encodeToString(values[(v * records + r) % values.length]);
                while (text.length() < chars) {
                    text = text + text;
                }
                body.append("{\"value\":{\"payload\":\"").append(text, 0, chars).append("\"}}");
            }
            body.append("]}");
            out[v] = Scripts.request("POST", "/topics/" + topic, host, "application/vnd.kafka.avro.v2+json",
                    "application/vnd.kafka.v2+json", body.toString().getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    private ByteBuffer[] recordsVariants(String topic) {
        ByteBuffer[] out = new ByteBuffer[16];
        for (int v = 0; v < out.length; v++) {
            out[v] = Scripts.request("POST", "/topics/" + topic + "/records", host, "text/plain", "application/json",
                    values[v]);
        }
        return out;
    }

    /** Row o's bodies: one v3 record, its value BINARY. */
    private ByteBuffer[] v3Variants(String topic) throws Exception {
        ByteBuffer[] out = new ByteBuffer[16];
        for (int v = 0; v < out.length; v++) {
            out[v] = Scripts.request("POST", v3RecordsPath(topic), host, "application/json", "application/json",
                    v3Body(v));
        }
        return out;
    }

    private String v3RecordsPath(String topic) throws Exception {
        return "/v3/clusters/" + admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS) + "/topics/" + topic
                + "/records";
    }

    private byte[] v3Body(int value) {
        return ("{\"value\":{\"type\":\"BINARY\",\"data\":\""
                + Base64.getEncoder().encodeToString(values[value % values.length]) + "\"}}")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private RowResult httpProduce(String id, String topic, ByteBuffer[] variants, long requests, int perRequest,
                                  int connections, Scripts.Answer answer, boolean measured) throws Exception {
        String what = switch (answer) {
            case V1 -> "POST /topics/{t}, v1 binary, " + perRequest + " record" + (perRequest == 1 ? "" : "s")
                    + " of " + o.valueBytes() + " B per request, " + connections + " connections";
            case V3 -> "POST /v3/clusters/{c}/topics/{t}/records, one record of " + o.valueBytes()
                    + " B (BINARY) per request, not streamed, " + connections + " connections";
            case ANY -> "POST /topics/{t}/records, text/plain, 1 record of " + o.valueBytes() + " B per request, "
                    + connections + " connections";
        };
        log((measured ? "" : "warm-up ") + "row " + id + ": " + fmt(requests) + " requests to " + topic + " — "
                + what);
        HttpLoad.Budget budget = new HttpLoad.Budget(requests);
        List<HttpLoad.Script> scripts = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            scripts.add(new Scripts.Fixed(variants, budget, answer, i));
        }
        Monitor.Window w = monitor.begin(id, measured && o.profile() ? jfrFile(id) : null);
        HttpLoad.Result r = HttpLoad.run(http, scripts, o.loadThreads(), Duration.ofSeconds(60), () -> false);
        Monitor.Usage usage = monitor.end(w);
        long records = r.requests() * perRequest;
        List<String> notes = new ArrayList<>();
        notes.add(String.format(Locale.ROOT, "HTTP traffic %.1f MB/s out, %.1f MB/s in",
                r.bytesSent() / r.seconds() / 1e6, r.bytesReceived() / r.seconds() / 1e6));
        checkLanded(topic, requests * perRequest, notes);
        checkAlive(notes);
        if (!measured) {
            if (r.errors() > 0) {
                runNotes.add("warm-up of row " + id + " had " + r.errors() + " errors: " + r.errorKinds());
            }
            return null;
        }
        return new RowResult(id, what, perRequest == 1 ? ROOT : NATIVE_TUNED, records, r.seconds(),
                records * o.valueBytes(), r.latencies().summary(), r.requests(), r.errors(), r.errorKinds(),
                r.errorSamples(), usage, notes);
    }

    /**
     * Row root: {@code GET /} (Portico's liveness answer, {@code {}}) over the connections of rows
     * b, c and o: what the HTTP server and the load generator can do with no Kafka behind, the
     * ceiling of the single-record rows. Its records/s are requests/s.
     */
    private RowResult rootRow(long requests, boolean measured) throws Exception {
        String what = "GET / (liveness, answers {}), " + o.connections() + " connections; the ceiling of rows b, c and o, "
                + "records/s here are requests/s";
        log((measured ? "" : "warm-up ") + "row root: " + fmt(requests) + " requests — " + what);
        HttpLoad.Budget budget = new HttpLoad.Budget(requests);
        ByteBuffer[] variants = {Scripts.request("GET", "/", host, null, "application/json", null)};
        List<HttpLoad.Script> scripts = new ArrayList<>();
        for (int i = 0; i < o.connections(); i++) {
            scripts.add(new Scripts.Fixed(variants, budget, Scripts.Answer.ANY, i));
        }
        Monitor.Window w = monitor.begin(ROOT, measured && o.profile() ? jfrFile(ROOT) : null);
        HttpLoad.Result r = HttpLoad.run(http, scripts, o.loadThreads(), Duration.ofSeconds(60), () -> false);
        Monitor.Usage usage = monitor.end(w);
        List<String> notes = new ArrayList<>();
        notes.add(String.format(Locale.ROOT, "HTTP traffic %.1f MB/s out, %.1f MB/s in",
                r.bytesSent() / r.seconds() / 1e6, r.bytesReceived() / r.seconds() / 1e6));
        checkAlive(notes);
        if (!measured) {
            if (r.errors() > 0) {
                runNotes.add("warm-up of row root had " + r.errors() + " errors: " + r.errorKinds());
            }
            return null;
        }
        return new RowResult(ROOT, what, null, r.requests(), r.seconds(), 0, r.latencies().summary(), r.requests(),
                r.errors(), r.errorKinds(), r.errorSamples(), usage, notes);
    }

    /** Connections of row g: a few long streams, as a streaming client opens. */
    private int streamConnections() {
        return o.quick() ? 2 : 4;
    }

    private static final int STREAM_CHUNK_RECORDS = 500;

    private RowResult v3Stream(String topic, long records, boolean measured) throws Exception {
        int connections = streamConnections();
        String what = "POST /v3/clusters/{c}/topics/{t}/records, one chunked stream per connection ("
                + STREAM_CHUNK_RECORDS + " records of " + o.valueBytes() + " B, BINARY, per chunk), " + connections
                + " connections, reports read as they come";
        log((measured ? "" : "warm-up ") + "row g: " + fmt(records) + " records to " + topic + " — " + what);
        String clusterId = admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        Monitor.Window w = monitor.begin("g", measured && o.profile() ? jfrFile("g") : null);
        StreamLoad.Result r = StreamLoad.run(host, "/v3/clusters/" + clusterId + "/topics/" + topic + "/records",
                records, connections, STREAM_CHUNK_RECORDS, o.valueBytes());
        Monitor.Usage usage = monitor.end(w);
        List<String> notes = new ArrayList<>();
        notes.add(String.format(Locale.ROOT, "HTTP traffic %.1f MB/s out, %.1f MB/s in; latency: a chunk's last "
                        + "record, from the chunk written to its report read",
                r.bytesSent() / r.seconds() / 1e6, r.bytesReceived() / r.seconds() / 1e6));
        checkLanded(topic, records, notes);
        checkAlive(notes);
        if (!measured) {
            if (r.errors() > 0) {
                runNotes.add("warm-up of row g had " + r.errors() + " errors: " + r.errorKinds());
            }
            return null;
        }
        return new RowResult("g", what, NATIVE_TUNED, r.reported(), r.seconds(), r.reported() * o.valueBytes(),
                r.latencies().summary(), connections, r.errors(), r.errorKinds(), r.errorSamples(), usage, notes);
    }

    private RowResult readByOffset(String topic, boolean measured) throws Exception {
        return readByOffset(topic, measured, false);
    }

    /** Row d (v1's read by offset) or, with {@code v3}, row h (v3's, BINARY records). */
    private RowResult readByOffset(String topic, boolean measured, boolean v3) throws Exception {
        long[] end = endOffsets(topic);
        int connections = Math.max(o.readConnections(), end.length);
        String id = v3 ? "h" : "d";
        String cluster = v3 ? admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS) : null;
        String what = (v3 ? "GET /v3/clusters/{c}/topics/{t}/partitions/{p}/records?offset=&max_records="
                : "GET /topics/{t}/partitions/{p}/messages?offset=&count=") + o.readCount() + ", " + connections
                + " connections walking " + end.length + " partitions";
        log((measured ? "" : "warm-up ") + "row " + id + ": " + what + ", " + fmt(sum(end)) + " records of " + topic);
        AtomicLong read = new AtomicLong();
        List<HttpLoad.Script> scripts = new ArrayList<>();
        for (int p = 0; p < end.length; p++) {
            int segments = connections / end.length + (p < connections % end.length ? 1 : 0);
            long size = (end[p] + segments - 1) / segments;
            for (int s = 0; s < segments; s++) {
                long from = s * size;
                long to = Math.min(end[p], from + size);
                if (from < to) {
                    scripts.add(new Scripts.ByOffset(topic, p, from, to, o.readCount(), host, read, cluster));
                }
            }
        }
        Monitor.Window w = monitor.begin(id, measured && o.profile() ? jfrFile(id) : null);
        HttpLoad.Result r = HttpLoad.run(http, scripts, o.loadThreads(), Duration.ofSeconds(60), () -> false);
        Monitor.Usage usage = monitor.end(w);
        List<String> notes = new ArrayList<>();
        if (read.get() != sum(end)) {
            notes.add("read " + fmt(read.get()) + " of " + fmt(sum(end)) + " records");
        }
        notes.add(String.format(Locale.ROOT, "HTTP traffic %.1f MB/s in", r.bytesReceived() / r.seconds() / 1e6));
        checkAlive(notes);
        if (!measured && r.errors() > 0) {
            runNotes.add("warm-up of row " + id + " had " + r.errors() + " errors: " + r.errorKinds());
        }
        long errors = r.errors() + (read.get() == sum(end) ? 0 : 1);
        return new RowResult(id, what, NATIVE_CONSUME, read.get(), r.seconds(), read.get() * o.valueBytes(),
                r.latencies().summary(), r.requests(), errors, r.errorKinds(), r.errorSamples(), usage, notes);
    }

    /**
     * Row m: reads by offset at random offsets ({@code count} records each, fewer in a partition
     * that holds fewer), drawn with a fixed seed, over {@code --random-connections} connections,
     * until they have read as many records as the topic holds.
     */
    private RowResult readRandom(String topic, boolean measured) throws Exception {
        long[] end = endOffsets(topic);
        int connections = o.randomConnections();
        String what = "GET /topics/{t}/partitions/{p}/messages?offset=<random>&count=" + o.readCount() + ", "
                + connections + " connections, each read at a partition and offset drawn at random (seed "
                + RANDOM_SEED + ") among " + end.length + " partitions, as many records as the topic holds";
        log((measured ? "" : "warm-up ") + "row m: " + what + ", " + fmt(sum(end)) + " records of " + topic);
        AtomicLong budget = new AtomicLong(sum(end));
        AtomicLong read = new AtomicLong();
        List<HttpLoad.Script> scripts = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            scripts.add(new Scripts.RandomOffsets(topic, end, o.readCount(), host, budget, read, RANDOM_SEED + i));
        }
        Monitor.Window w = monitor.begin("m", measured && o.profile() ? jfrFile("m") : null);
        HttpLoad.Result r = HttpLoad.run(http, scripts, o.loadThreads(), Duration.ofSeconds(60), () -> false);
        Monitor.Usage usage = monitor.end(w);
        List<String> notes = new ArrayList<>();
        if (read.get() != sum(end)) {
            notes.add("read " + fmt(read.get()) + " of " + fmt(sum(end)) + " records");
        }
        notes.add(String.format(Locale.ROOT, "HTTP traffic %.1f MB/s in", r.bytesReceived() / r.seconds() / 1e6));
        checkAlive(notes);
        if (!measured && r.errors() > 0) {
            runNotes.add("warm-up of row m had " + r.errors() + " errors: " + r.errorKinds());
        }
        long errors = r.errors() + (read.get() == sum(end) ? 0 : 1);
        return new RowResult("m", what, NATIVE_CONSUME, read.get(), r.seconds(), read.get() * o.valueBytes(),
                r.latencies().summary(), r.requests(), errors, r.errorKinds(), r.errorSamples(), usage, notes);
    }

    private RowResult consumerInstances(String topic, String group, boolean measured, boolean v2) throws Exception {
        return consumerInstances(topic, group, measured, v2, false);
    }

    private RowResult consumerInstances(String topic, String group, boolean measured, boolean v2, boolean relayed)
            throws Exception {
        return consumerInstances(topic, group, measured, v2, relayed, relayed ? "i" : v2 ? "f" : "e", o.instances());
    }

    /**
     * Rows e, f, n and, {@code relayed}, i: f's reads sent to the relay node, which passes them
     * to the holder. Row n is e with one instance: one connection draining every partition.
     */
    private RowResult consumerInstances(String topic, String group, boolean measured, boolean v2, boolean relayed,
                                        String id, int instanceCount) throws Exception {
        long[] end = endOffsets(topic);
        String readHost = relayed ? relayHost : host;
        InetSocketAddress readAddress = relayed ? relayHttp : http;
        String what = v2
                ? "v2: POST /consumers/{g} (auto.offset.reset=earliest, auto.commit.enable=false), POST …/subscription, "
                        + "then GET /consumers/{g}/instances/{i}/records in a loop; " + instanceCount
                        + " instances in parallel over " + end.length + " partitions"
                        + (relayed ? "; created on the measured node, every read sent to a second node, which "
                                + "relays it to the first (the relay's CPU is not in Portico's column)" : "")
                : instanceCount == 1
                ? "POST /consumers/{g} (auto.offset.reset=smallest), then GET /consumers/{g}/instances/{i}"
                        + "/topics/{t} in a loop: one instance draining " + end.length + " partitions over 1 connection"
                : "POST /consumers/{g} (auto.offset.reset=smallest), then GET /consumers/{g}/instances/{i}"
                        + "/topics/{t} in a loop; " + instanceCount + " instances in parallel over " + end.length
                        + " partitions";
        String media = v2 ? "application/vnd.kafka.v2+json" : "application/vnd.kafka.v1+json";
        String records = v2 ? "application/vnd.kafka.binary.v2+json" : "application/vnd.kafka.binary.v1+json";
        log((measured ? "" : "warm-up ") + "row " + id + ": " + what + ", " + fmt(sum(end)) + " records of " + topic);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        List<String> instances = new ArrayList<>();
        long setupErrors = 0;
        List<String> setupSamples = new ArrayList<>();
        for (int i = 0; i < instanceCount; i++) {
            String name = "bench-" + i;
            HttpResponse<String> resp = client.send(HttpRequest.newBuilder(URI.create("http://" + host + "/consumers/"
                            + group))
                    .header("Content-Type", media)
                    .header("Accept", media)
                    .timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\",\"format\":\"binary\","
                            + (v2 ? "\"auto.offset.reset\":\"earliest\",\"auto.commit.enable\":\"false\"}"
                                    : "\"auto.offset.reset\":\"smallest\"}")))
                    .build(), HttpResponse.BodyHandlers.ofString());
            if (resp.statusCode() / 100 == 2 && v2) {
                HttpResponse<String> sub = client.send(HttpRequest.newBuilder(URI.create("http://" + host
                                + "/consumers/" + group + "/instances/" + name + "/subscription"))
                        .header("Content-Type", media).timeout(Duration.ofSeconds(30))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"topics\":[\"" + topic + "\"]}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                if (sub.statusCode() / 100 != 2) {
                    setupErrors++;
                    setupSamples.add("subscribe: HTTP " + sub.statusCode() + ": " + sub.body());
                    continue;
                }
            }
            if (resp.statusCode() / 100 == 2) {
                instances.add(name);
            } else {
                setupErrors++;
                setupSamples.add("create instance: HTTP " + resp.statusCode() + ": " + resp.body());
            }
        }
        Scripts.InstanceProgress progress = new Scripts.InstanceProgress(end);
        List<Scripts.Instance> scripts = new ArrayList<>();
        for (String name : instances) {
            scripts.add(new Scripts.Instance(Scripts.request("GET", "/consumers/" + group + "/instances/" + name
                    + (v2 ? "/records" : "/topics/" + topic), readHost, null, records, null), progress,
                    4 * ((o.valueBytes() + 2) / 3)));
        }
        // Untimed: the group join. Each instance subscribes on its first read; these are sent all
        // at once, with max_bytes=1 (one record each), and the broker holds a new group's first
        // assignment for group.initial.rebalance.delay.ms so that all join in one rebalance. The
        // native consumer that e is compared with assigns its partitions without a group.
        long joinStart = System.nanoTime();
        List<java.util.concurrent.CompletableFuture<HttpResponse<byte[]>>> joins = new ArrayList<>();
        for (String name : instances) {
            joins.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://" + readHost + "/consumers/" + group
                            + "/instances/" + name + (v2 ? "/records" : "/topics/" + topic) + "?max_bytes=1"))
                    .header("Accept", records)
                    .timeout(Duration.ofSeconds(60)).GET().build(), HttpResponse.BodyHandlers.ofByteArray()));
        }
        for (int i = 0; i < joins.size(); i++) {
            HttpResponse<byte[]> resp;
            try {
                resp = joins.get(i).get(70, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                setupErrors++;
                setupSamples.add("first read: " + e);
                continue;
            }
            if (resp.statusCode() / 100 == 2) {
                scripts.get(i).onResponse(resp.statusCode(), resp.body(), 0, resp.body().length);
            } else {
                setupErrors++;
                setupSamples.add("first read: HTTP " + resp.statusCode() + ": " + new String(resp.body(),
                        java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        double joinSeconds = (System.nanoTime() - joinStart) / 1e9;
        long joined = progress.distinct();
        Monitor.Window w = monitor.begin(id, measured && o.profile() ? jfrFile(id) : null);
        HttpLoad.Result r = HttpLoad.run(readAddress, scripts, o.loadThreads(), Duration.ofSeconds(60),
                () -> progress.done);
        Monitor.Usage usage = monitor.end(w);
        double seconds = progress.done ? (progress.doneAt - r.startNanos()) / 1e9 : r.seconds();
        long distinct = progress.distinct() - joined;
        List<String> notes = new ArrayList<>();
        notes.add(String.format(Locale.ROOT, "untimed before: the group join, %.2f s (each instance's first read, "
                + "max_bytes=1, all at once: %,d records)", joinSeconds, joined));
        long duplicates = progress.delivered.get() - progress.distinct();
        if (duplicates > 0) {
            notes.add(String.format(Locale.ROOT, "%,d records delivered twice (a partition moved to another "
                    + "instance on a rebalance before anything was committed; v1 default auto.commit.enable=false)",
                    duplicates));
        }
        if (!progress.done) {
            notes.add("read " + fmt(distinct) + " of " + fmt(sum(end)) + " records");
        }
        notes.add("latency includes the long poll");
        checkAlive(notes);
        if (!measured && r.errors() + setupErrors > 0) {
            runNotes.add("warm-up of row " + id + " had " + (r.errors() + setupErrors) + " errors: " + r.errorKinds()
                    + " " + setupSamples);
        }
        deleteInstances(client, group, instances);
        Map<String, Long> kinds = new java.util.TreeMap<>(r.errorKinds());
        if (setupErrors > 0) {
            kinds.merge("set-up (create instance, first read)", setupErrors, Long::sum);
        }
        List<String> samples = new ArrayList<>(setupSamples);
        samples.addAll(r.errorSamples());
        long errors = r.errors() + setupErrors + (progress.done ? 0 : 1);
        return new RowResult(id, what, NATIVE_CONSUME, distinct, seconds, distinct * o.valueBytes(),
                r.latencies().summary(), r.requests(), errors, kinds, samples, usage, notes);
    }

    private void deleteInstances(HttpClient client, String group, List<String> instances) {
        List<java.util.concurrent.CompletableFuture<HttpResponse<Void>>> pending = new ArrayList<>();
        for (String name : instances) {
            pending.add(client.sendAsync(HttpRequest.newBuilder(URI.create("http://" + host + "/consumers/" + group
                    + "/instances/" + name)).timeout(Duration.ofSeconds(20)).DELETE().build(),
                    HttpResponse.BodyHandlers.discarding()));
        }
        for (var f : pending) {
            try {
                f.get(25, TimeUnit.SECONDS);
            } catch (Exception e) {
                runNotes.add("deleting a consumer instance failed: " + e);
            }
        }
    }

    // ---------------------------------------------------------------- wrk rows

    /** Seconds of the untimed wrk run before each timed one: a third of it, 1 to 5 s. */
    private int wrkWarmSeconds() {
        return Math.max(1, Math.min(5, o.wrkSeconds() / 3));
    }

    /** The wrk twins of rows root, b, c, o and a, on topics of their own ({@code suffix}: the partitions). */
    private void wrkProduceRows(String suffix) throws Exception {
        if (o.runs(ROOT)) {
            rows.add(wrkRow(ROOT, null, "/", null, o.connections(), 1, null,
                    "GET / (liveness, answers {}), " + o.connections() + " connections; records/s here are requests/s"));
        }
        if (o.runs("b")) {
            String t = "wrk-b" + suffix;
            byte[] body = v1Body(0, 1);
            rows.add(wrkRow("b", t, "/topics/" + t, Wrk.postScript("wrk-b", "application/vnd.kafka.binary.v1+json",
                    "application/vnd.kafka.v1+json", body), o.connections(), 1, "wrk-" + ROOT,
                    "POST /topics/{t}, v1 binary, 1 record of " + o.valueBytes() + " B per request (the same body "
                            + "every time), " + o.connections() + " connections"));
        }
        if (o.runs("c")) {
            String t = "wrk-c" + suffix;
            rows.add(wrkRow("c", t, "/topics/" + t + "/records", Wrk.postScript("wrk-c", "text/plain",
                    "application/json", values[0]), o.connections(), 1, "wrk-" + ROOT,
                    "POST /topics/{t}/records, text/plain, 1 record of " + o.valueBytes() + " B per request (the "
                            + "same body every time), " + o.connections() + " connections"));
        }
        if (o.runs("o")) {
            String t = "wrk-o" + suffix;
            rows.add(wrkRow("o", t, v3RecordsPath(t), Wrk.postScript("wrk-o", "application/json", "application/json",
                    v3Body(0)), o.connections(), 1, "wrk-" + ROOT,
                    "POST /v3/clusters/{c}/topics/{t}/records, one record of " + o.valueBytes() + " B (BINARY) per "
                            + "request, not streamed (the same body every time), " + o.connections() + " connections"));
        }
        if (o.runs("a")) {
            String t = "wrk-a" + suffix;
            byte[] body = v1Body(0, o.batch());
            rows.add(wrkRow("a", t, "/topics/" + t, Wrk.postScript("wrk-a", "application/vnd.kafka.binary.v1+json",
                    "application/vnd.kafka.v1+json", body), o.batchConnections(), o.batch(), NATIVE_TUNED,
                    "POST /topics/{t}, v1 binary, " + o.batch() + " records of " + o.valueBytes() + " B per request "
                            + "(the same body every time), " + o.batchConnections() + " connections"));
        }
    }

    /** The wrk twins of rows d (walking) and m (random offsets), reading {@code topic}. */
    private void wrkReadRows(String topic) throws Exception {
        long[] end = endOffsets(topic);
        int connections = o.randomConnections();
        int threads = Wrk.threads(connections);
        // wrk opens connections / threads on each thread: one walk (segment) per connection.
        int walks = Math.max(1, connections / threads) * threads;
        if (o.runs("d")) {
            List<long[]> segments = stretches(end, walks);
            // Timed unchecked, on one thread per connection: each thread walks one stretch.
            List<long[]> timed = stretches(end, connections);
            long shortest = java.util.stream.Stream.concat(segments.stream(), timed.stream())
                    .mapToLong(sg -> sg[2] - sg[1]).min().orElse(0);
            int count = (int) Math.min(o.readCount(), shortest);
            if (count < 1) {
                runNotes.add("wrk-d did not run: a walk would have no record to read");
            } else {
                rows.add(wrkRow("d", null, "/", Wrk.walkScript("wrk-d", topic, segments, count, threads),
                        Wrk.walkScriptUnchecked("wrk-d", topic, timed, count, connections), connections,
                        connections, count, NATIVE_CONSUME, "GET /topics/{t}/partitions/{p}/messages?offset=&count="
                                + count + ", " + connections + " connections walking " + timed.size()
                                + " stretches of " + end.length + " partitions from their start, again from the "
                                + "start at the end; " + CHECKED_IN_WARM_UP));
            }
        }
        if (o.runs("m")) {
            long smallest = java.util.Arrays.stream(end).min().orElse(0);
            int count = (int) Math.min(o.readCount(), smallest);
            if (count < 1) {
                runNotes.add("wrk-m did not run: a partition of " + topic + " is empty");
            } else {
                rows.add(wrkRow("m", null, "/", Wrk.randomScript("wrk-m", topic, end, count, RANDOM_SEED, threads),
                        Wrk.randomScriptUnchecked("wrk-m", topic, end, count, RANDOM_SEED), connections,
                        connections, count, NATIVE_CONSUME, "GET /topics/{t}/partitions/{p}/messages?offset=<random>"
                                + "&count=" + count + ", " + connections + " connections, partition and offset drawn "
                                + "at random (LuaJIT's generator, seed " + RANDOM_SEED + " plus the thread's number); "
                                + CHECKED_IN_WARM_UP));
            }
        }
    }

    /** {@code n} stretches {@code {partition, from, to}} over the partitions ending at {@code end}, spread evenly. */
    private static List<long[]> stretches(long[] end, int n) {
        List<long[]> out = new ArrayList<>();
        for (int p = 0; p < end.length; p++) {
            int k = n / end.length + (p < n % end.length ? 1 : 0);
            long size = k == 0 ? 0 : end[p] / k;
            for (int i = 0; i < k; i++) {
                out.add(new long[] {p, i * size, i == k - 1 ? end[p] : (i + 1) * size});
            }
        }
        return out;
    }

    private static final String CHECKED_IN_WARM_UP = "each answer of the untimed run checked in Lua (the records "
            + "asked for, from the offset asked for; a wrong one is an error of the row), the timed run the same "
            + "kind of reads unchecked (a Lua response() would make wrk, not Portico, set the pace)";

    private RowResult wrkRow(String twin, String topic, String path, String script, int connections, int perRequest,
                             String baseline, String what) throws Exception {
        return wrkRow(twin, topic, path, script, script, Wrk.threads(connections), connections, perRequest, baseline, what);
    }

    /**
     * One wrk row, the twin of row {@code twin}: an untimed wrk run of {@code script}, then the
     * timed one of {@code timedScript} on {@code timedThreads} threads. Records are the 2xx
     * answers times {@code perRequest}; a read row's untimed run checks its answers, and each
     * wrong one is an error of the row. A produce row's topic must have grown by at least the
     * records of its 2xx answers (answers still in flight at the end may add more).
     *
     * @param topic the topic a produce row writes to, or null
     * @param script the Lua script's text, or null for a plain GET of {@code path}
     */
    private RowResult wrkRow(String twin, String topic, String path, String script, String timedScript, int timedThreads,
                             int connections, int perRequest, String baseline, String what) throws Exception {
        String id = "wrk-" + twin;
        Path dir = work.resolve("wrk");
        Files.createDirectories(dir);
        String name = id + "-p" + partitions;
        Path scriptFile = null;
        Path timedFile = null;
        if (script != null) {
            scriptFile = dir.resolve(name + (script.equals(timedScript) ? "" : "-checked") + ".lua");
            Files.writeString(scriptFile, script, StandardCharsets.UTF_8);
            timedFile = dir.resolve(name + ".lua");
            Files.writeString(timedFile, timedScript, StandardCharsets.UTF_8);
        }
        String url = "http://" + host + path;
        log("warm-up row " + id + ": wrk for " + wrkWarmSeconds() + " s — " + what);
        Wrk.Run warm = Wrk.run(wrk, connections, wrkWarmSeconds(), scriptFile, url, dir.resolve(name + "-warmup.out"));
        if (warm.output().errors() + warm.output().counter("bad") > 0) {
            runNotes.add("warm-up of row " + id + " had errors: " + warm.output().non2xx() + " non-2xx, "
                    + warm.output().socketErrors() + " socket errors, " + warm.output().counter("bad")
                    + " answers not as asked");
        }
        long before = topic == null ? 0 : sum(endOffsets(topic));
        log("row " + id + ": wrk for " + o.wrkSeconds() + " s");
        Monitor.Window w = monitor.begin(id, o.profile() ? jfrFile(id) : null);
        Wrk.Run run = Wrk.run(wrk, timedThreads, connections, o.wrkSeconds(), timedFile, url, dir.resolve(name + ".out"));
        Monitor.Usage usage = monitor.end(w);
        WrkOutput out = run.output();
        boolean read = script != null && topic == null;
        long records = out.okRequests() * perRequest;
        Map<String, Long> kinds = new java.util.TreeMap<>();
        List<String> samples = new ArrayList<>();
        if (out.non2xx() > 0) {
            kinds.put("non-2xx answers", out.non2xx());
        }
        if (out.socketErrors() > 0) {
            kinds.put("socket errors (" + out.timeouts() + " timeouts over " + Wrk.TIMEOUT_SECONDS + " s)",
                    out.socketErrors());
        }
        boolean checkedRun = read && !script.equals(timedScript);
        if (checkedRun && warm.output().errors() > 0) {
            kinds.put("non-2xx answers and socket errors (untimed run)", warm.output().errors());
        }
        if (read && warm.output().counter("good") == 0) {
            kinds.put("no answer of the untimed run was checked right", 1L);
        }
        if (warm.output().counter("bad") > 0) {
            kinds.put("200 answers without the records asked for (untimed run)", warm.output().counter("bad"));
        }
        List<String> notes = new ArrayList<>();
        notes.add(String.format(Locale.ROOT, "`%s` (output in %s); wrk took %s of a core", shortCommand(run.command()),
                o.root().relativize(run.log().toAbsolutePath()), Double.isNaN(run.cpu()) ? "?"
                        : String.format(Locale.ROOT, "%.0f%%", run.cpu())));
        if (topic != null) {
            long landed = sum(endOffsets(topic)) - before;
            if (landed < records) {
                kinds.put("records missing from the topic", records - landed);
                samples.add(topic + " grew by " + fmt(landed) + " records; the 2xx answers were for " + fmt(records));
                notes.add("the topic grew by " + fmt(landed) + " records, fewer than the 2xx answers' " + fmt(records));
            } else {
                notes.add("the topic grew by " + fmt(landed) + " records (answers still in flight at the end add to "
                        + "the 2xx answers' " + fmt(records) + ")");
            }
        }
        if (read && out.counter("wraps") > 0) {
            notes.add(out.counter("wraps") + " walks started again from their start");
        }
        checkAlive(notes);
        long errors = out.errors() + warm.output().counter("bad") + (checkedRun ? warm.output().errors() : 0)
                + (kinds.containsKey("records missing from the topic") ? 1 : 0)
                + (kinds.containsKey("no answer of the untimed run was checked right") ? 1 : 0);
        return new RowResult(id, what, baseline, records, out.seconds(), records * (ROOT.equals(twin) ? 0 : o.valueBytes()),
                out.summary(), out.requests(), errors, kinds, samples, usage, notes);
    }

    /** wrk's command line as the results show it: the script's and the log's directory left out. */
    private static String shortCommand(List<String> command) {
        List<String> out = new ArrayList<>();
        for (String c : command) {
            out.add(c.contains("/") && !c.startsWith("http") ? Path.of(c).getFileName().toString() : c);
        }
        return String.join(" ", out);
    }

    /** A v1 binary produce body of {@code records} records, the values from {@code first} on. */
    private byte[] v1Body(int first, int records) {
        Base64.Encoder b64 = Base64.getEncoder();
        StringBuilder body = new StringBuilder(records * (o.valueBytes() * 4 / 3 + 20) + 16);
        body.append("{\"records\":[");
        for (int r = 0; r < records; r++) {
            if (r > 0) {
                body.append(',');
            }
            body.append("{\"value\":\"").append(b64.encodeToString(values[(first + r) % values.length])).append("\"}");
        }
        body.append("]}");
        return body.toString().getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- helpers

    private void createTopics(List<String> names, int count) throws Exception {
        List<NewTopic> topics = new ArrayList<>();
        for (String n : names) {
            topics.add(new NewTopic(n, count, (short) 1));
            topicPartitions.put(n, count);
        }
        Topics.createReady(admin, topics);
    }

    private long[] endOffsets(String topic) throws Exception {
        return endOffsets(topic, topicPartitions.getOrDefault(topic, o.readPartitions()));
    }

    private long[] endOffsets(String topic, int partitions) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            request.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        var result = admin.listOffsets(request).all().get(60, TimeUnit.SECONDS);
        long[] out = new long[partitions];
        for (int p = 0; p < partitions; p++) {
            out[p] = result.get(new TopicPartition(topic, p)).offset();
        }
        return out;
    }

    /** Whether the topic holds what was produced: a note (and a run note) when it does not. */
    private void checkLanded(String topic, long expected, List<String> notes) throws Exception {
        long landed = sum(endOffsets(topic));
        if (landed != expected) {
            notes.add("the topic holds " + fmt(landed) + " records, " + fmt(expected) + " were sent");
            runNotes.add(topic + " holds " + fmt(landed) + " records, " + fmt(expected) + " were sent");
        }
    }

    private void checkAlive(List<String> notes) throws IOException {
        if (!portico.isAlive()) {
            notes.add("Portico died during the row; see " + portico.log());
            throw new IOException("Portico (pid " + portico.pid() + ") died; see " + portico.log());
        }
    }

    private Path jfrFile(String row) throws IOException {
        Path dir = work.resolve("jfr");
        Files.createDirectories(dir);
        Path file = dir.resolve("row-" + row + ".jfr");
        for (int pass = 2; Files.exists(file); pass++) {
            file = dir.resolve("row-" + row + "-" + pass + ".jfr");
        }
        return file;
    }

    private void summarizeProfiles() {
        for (Section s : sections) {
            for (RowResult r : s.rows()) {
                if (r.usage() != null && r.usage().jfr() != null && Files.exists(r.usage().jfr())) {
                    String id = sections.size() > 1 ? r.id() + ", " + s.title() : r.id();
                    try {
                        profiles.put(id, Profile.summarize(r.usage().jfr(), 12));
                    } catch (IOException | RuntimeException e) {
                        profiles.put(id, "could not read " + r.usage().jfr() + ": " + e);
                    }
                }
            }
        }
    }

    /**
     * Portico's heap ceiling: {@code -Xmx} when the bench gives one, else the JVM's default (a
     * quarter of the machine's memory).
     */
    static long porticoMaxHeap(String xmx) {
        if (xmx != null) {
            String v = xmx.trim().toLowerCase(Locale.ROOT);
            long unit = switch (v.charAt(v.length() - 1)) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                case 'g' -> 1L << 30;
                default -> 1;
            };
            return Long.parseLong(unit == 1 ? v : v.substring(0, v.length() - 1)) * unit;
        }
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getTotalMemorySize() / 4;
    }

    /** The client settings that differ from Kafka's defaults (what Portico sets), for the table. */
    private static String settingsText(Map<String, Object> config) {
        StringBuilder s = new StringBuilder();
        new java.util.TreeMap<>(config).forEach((k, v) -> {
            if (!k.equals(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG) && !k.equals(ProducerConfig.CLIENT_ID_CONFIG)
                    && !k.endsWith(".serializer") && !k.endsWith(".deserializer")) {
                s.append(s.length() == 0 ? "" : ", ").append(k).append('=').append(v);
            }
        });
        return (s.length() == 0 ? "" : s + "; ") + "Kafka's defaults otherwise";
    }

    private static long sum(long[] a) {
        long s = 0;
        for (long v : a) {
            s += v;
        }
        return s;
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%,.0f", v);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    static void log(String message) {
        System.out.println("[bench " + java.time.LocalTime.now().withNano(0) + "] " + message);
    }
}
