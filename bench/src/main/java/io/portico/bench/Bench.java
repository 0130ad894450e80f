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
 * The benchmark of issue 6, in one run on one machine: starts a Kafka broker (its own JVM) and
 * Portico ({@code java -jar portico.jar bench.properties}, another JVM) against it, measures the
 * native Kafka producer and consumer with Portico's own client settings, then Portico over
 * keep-alive HTTP/1.1 with {@link HttpLoad}, row by row:
 *
 * <ol>
 *   <li>native-produce: a {@code KafkaProducer} sends N records of 100 B;</li>
 *   <li>native-consume: a {@code KafkaConsumer} (assign, seek to beginning) reads them;</li>
 *   <li>a: v1 binary produce, 100 records per POST;</li>
 *   <li>b: v1 binary produce, 1 record per POST, 64 connections;</li>
 *   <li>c: the records endpoint, 1 record per POST (text/plain), 64 connections;</li>
 *   <li>d: read by offset, count=1000, walking the native topic's partitions;</li>
 *   <li>e: consumer instances (auto.offset.reset=smallest) reading the native topic, timed once
 *       their group has joined;</li>
 *   <li>f, g, h: v2 consumer instances, v3 streaming produce, v3 read by offset;</li>
 *   <li>i: Server-Sent Events, each partition of the native topic streamed to its end;</li>
 *   <li>j: Server-Sent Events tailing a partition live, with native-tail (a native consumer tailing
 *       the same records) as its baseline: latency from a produce's acknowledgement to the record's
 *       arrival.</li>
 * </ol>
 *
 * <p>Produce rows warm up on half their size against topics of their own; the read rows
 * (native-consume, d, e) warm up by time on the topic they measure and are each the median of
 * three passes, so both sides of a read ratio are measured alike.
 *
 * <p>Prints one table and writes it, with the machine's details, to
 * {@code bench/results/<yyyy-MM-dd-HHmm>.md}. Stops what it started, by PID.
 */
public final class Bench {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd-HHmm");
    private static final String NATIVE_PRODUCE = "native-produce";
    private static final String NATIVE_CONSUME = "native-consume";
    /** Row l's baseline: a native consumer tailing the same records at the same time. */
    static final String NATIVE_TAIL = "native-tail";

    private final Options o;
    private final LocalDateTime startedAt = LocalDateTime.now();
    private final Path work;
    private final byte[][] values;
    private final List<RowResult> rows = new ArrayList<>();
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

    /** What a run gives: its rows, the results file, and the PIDs of the processes it started. */
    public record Outcome(List<RowResult> rows, Path resultsFile, String table, long brokerPid, long porticoPid) {
    }

    private Bench(Options o) {
        this.o = o;
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
            System.exit(errors == 0 && outcome.rows().size() == expectedRows(options) ? 0 : 1);
        } catch (Exception e) {
            System.err.println("bench: failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /** The rows a run of {@code o} gives: the native rows, each HTTP row, and row l's baseline. */
    static int expectedRows(Options o) {
        return 2 + o.rows().size() + (o.runs("l") ? 1 : 0);
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
        String table = Report.table(b.rows);
        System.out.println();
        System.out.println(table);
        Path file = Report.write(o, b.startedAt, b.rows, b.runNotes, b.profiles, b.brokerCommand, b.porticoCommand,
                b.porticoProperties, b.work);
        System.out.println("Results: " + file);
        if (failure != null) {
            throw failure;
        }
        return new Outcome(List.copyOf(b.rows), file, table, b.broker == null ? -1 : b.broker.pid(),
                b.portico == null ? -1 : b.portico.pid());
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
        porticoConfig = PorticoConfig.from(porticoProperties);

        List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx" + o.porticoHeap()));
        cmd.addAll(o.porticoJvmOptions());
        cmd.addAll(List.of("-jar", o.jar().toAbsolutePath().toString(), propsFile.toString()));
        porticoCommand = List.copyOf(cmd);
        log("starting Portico: " + String.join(" ", porticoCommand));
        portico = Child.start("portico", porticoCommand, work.resolve("portico.log"), "Portico serves on");
        portico.awaitLine(120);
        http = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        host = "127.0.0.1:" + port;
        log("Portico http://" + host + " (pid " + portico.pid() + ")");
        try {
            probe = JvmProbe.attach(portico.pid());
            log("attached to Portico's JVM: heap max " + probe.heapMax() / 1048576 + " MiB");
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
        monitor = new Monitor(portico.pid(), broker.pid(), probe);
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
        boolean warm = o.warmup() > 0;
        boolean warmReads = o.warmupSeconds() > 0;
        long warmRecords = Math.max(o.partitions() * 10L, (long) (o.records() * o.warmup()));
        long warmRequests = Math.max(o.connections(), (long) (o.requests() * o.warmup()));
        List<String> topics = new ArrayList<>(List.of("bench-native", "bench-a", "bench-j", "bench-b", "bench-c", "bench-g"));
        if (warm) {
            topics.addAll(List.of("warm-native", "warm-a", "warm-j", "warm-b", "warm-c", "warm-g"));
        }
        createTopics(topics);

        // Native baseline.
        if (warm) {
            log("warm-up: native produce");
            nativeProduce("warm-native", warmRecords, false);
        }
        rows.add(nativeProduce("bench-native", o.records(), true));
        if (warmReads) {
            // Read rows warm up on the topic they measure (a first read of a topic sets up the
            // client's per-topic metrics and deoptimizes code compiled before), for a time.
            log("warm-up: native consume");
            warmUp(pass -> nativeConsume("bench-native", o.records(), false));
        }
        rows.add(median(NATIVE_CONSUME, pass -> {
            log("native-consume: pass " + pass + " of " + passes() + ", " + fmt(o.records()) + " records of "
                    + "bench-native");
            return nativeConsume("bench-native", o.records(), true);
        }));

        // a: v1 binary, batch records per POST.
        if (o.runs("a")) {
            long aRequests = Math.max(1, o.records() / o.batch());
            if (warm) {
                httpProduce("a", "warm-a", v1Variants("warm-a", o.batch()), Math.max(1, warmRecords / o.batch()),
                        o.batch(), o.batchConnections(), true, false);
            }
            rows.add(httpProduce("a", "bench-a", v1Variants("bench-a", o.batch()), aRequests, o.batch(),
                    o.batchConnections(), true, true));
        }
        // j: v2 avro, batch records per POST, as row a (its ratio is to row a).
        if (o.runs("j")) {
            long jRequests = Math.max(1, o.records() / o.batch());
            if (warm) {
                httpProduce("j", "warm-j", avroVariants("warm-j", o.batch()), Math.max(1, warmRecords / o.batch()),
                        o.batch(), o.batchConnections(), true, false);
            }
            RowResult j = httpProduce("j", "bench-j", avroVariants("bench-j", o.batch()), jRequests, o.batch(),
                    o.batchConnections(), true, true);
            rows.add(new RowResult(j.id(), "POST /topics/{t}, v2 avro (value_schema_id, a record of one string field "
                    + "of " + (o.valueBytes() - 2) + " characters, " + (o.valueBytes() + 5) + " B in Kafka), " + o.batch()
                    + " records per request, " + o.batchConnections() + " connections", o.runs("a") ? "a" : NATIVE_PRODUCE,
                    j.records(), j.seconds(), j.valueBytes(), j.latency(), j.requests(), j.errors(), j.errorKinds(),
                    j.errorSamples(), j.usage(), j.notes()));
        }
        // b: v1 binary, 1 record per POST.
        if (o.runs("b")) {
            if (warm) {
                httpProduce("b", "warm-b", v1Variants("warm-b", 1), warmRequests, 1, o.connections(), true, false);
            }
            rows.add(httpProduce("b", "bench-b", v1Variants("bench-b", 1), o.requests(), 1, o.connections(), true,
                    true));
        }
        // c: records endpoint, 1 record per POST.
        if (o.runs("c")) {
            if (warm) {
                httpProduce("c", "warm-c", recordsVariants("warm-c"), warmRequests, 1, o.connections(), false, false);
            }
            rows.add(httpProduce("c", "bench-c", recordsVariants("bench-c"), o.requests(), 1, o.connections(), false,
                    true));
        }
        // g: v3 streaming produce, one chunked request per connection.
        if (o.runs("g")) {
            if (warm) {
                v3Stream("warm-g", warmRecords, false);
            }
            rows.add(v3Stream("bench-g", o.records(), true));
        }
        // d: read by offset.
        if (o.runs("d")) {
            if (warmReads) {
                warmUp(pass -> readByOffset("bench-native", false));
            }
            rows.add(median("d", pass -> readByOffset("bench-native", true)));
        }
        // h: v3 read by offset, as d.
        if (o.runs("h")) {
            if (warmReads) {
                warmUp(pass -> readByOffset("bench-native", false, true));
            }
            rows.add(median("h", pass -> readByOffset("bench-native", true, true)));
        }
        // e and f: consumer instances read over v1 and over v2 (subscribe, then GET …/records).
        // f's target is a ratio to e, so when both run their measured passes alternate (e, f, e,
        // f, …): drift of a busy machine during the run falls on both sides alike.
        List<String> instanceRows = new ArrayList<>();
        List<Pass> instancePasses = new ArrayList<>();
        if (o.runs("e")) {
            if (warmReads) {
                warmUp(pass -> consumerInstances("bench-native", "bench-warm-" + pass, false, false));
            }
            instanceRows.add("e");
            instancePasses.add(pass -> consumerInstances("bench-native", "bench-e-" + pass, true, false));
        }
        if (o.runs("f")) {
            if (warmReads) {
                warmUp(pass -> consumerInstances("bench-native", "bench-warm-f-" + pass, false, true));
            }
            instanceRows.add("f");
            instancePasses.add(pass -> consumerInstances("bench-native", "bench-f-" + pass, true, true));
        }
        // i: f's reads through another node (relayed to the one holding the instances), alternating with f.
        if (o.runs("i")) {
            if (warmReads) {
                warmUp(pass -> consumerInstances("bench-native", "bench-warm-i-" + pass, false, true, true));
            }
            instanceRows.add("i");
            instancePasses.add(pass -> consumerInstances("bench-native", "bench-i-" + pass, true, true, true));
        }
        if (!instancePasses.isEmpty()) {
            rows.addAll(alternating(instancePasses));
        }
        // k: Server-Sent Events, each partition of the native topic streamed from offset 0 to its end.
        if (o.runs("k")) {
            if (warmReads) {
                warmUp(pass -> sseDrain("bench-native", false));
            }
            rows.add(median("k", pass -> sseDrain("bench-native", true)));
        }
        // l: Server-Sent Events tailing a partition live, beside a native consumer tailing it too.
        if (o.runs("l")) {
            admin.createTopics(List.of(new NewTopic("bench-tail", 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
            long n = tailRecords();
            if (warm || warmReads) {
                liveTail("bench-tail", Math.max(100, n / 10), false);
            }
            rows.addAll(liveTail("bench-tail", n, true));
        }
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
        SseLoad.Result r = SseLoad.drain(host, topic, end, 120_000);
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

    private RowResult nativeProduce(String topic, long n, boolean measured) throws Exception {
        if (measured) {
            log("native-produce: " + fmt(n) + " records to " + topic);
        }
        Map<String, Object> config = new HashMap<>(porticoConfig.producerConfig(bootstrap));
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
            producer.partitionsFor(topic); // metadata first, outside the timing, as Portico has it warm
            Monitor.Window w = monitor.begin(NATIVE_PRODUCE, null);
            start = System.nanoTime();
            for (long i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                producer.send(new ProducerRecord<>(topic, values[(int) (i % values.length)]), (md, e) -> {
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
        return new RowResult(NATIVE_PRODUCE, "KafkaProducer with Portico's producer settings ("
                + settingsText(config) + ": acks=all, batch.size=16384, no compression)", null, n, (end - start) / 1e9,
                n * o.valueBytes(), latencies.summary(), n, errors.get(), Map.copyOf(errorKinds), List.of(), usage,
                notes);
    }

    /** One pass of a row; {@code pass} counts from 1. */
    private interface Pass {
        RowResult run(int pass) throws Exception;
    }

    /** Measured passes of each read row (native-consume, d, e): the median pass is the row. */
    private int passes() {
        return o.quick() ? 1 : 3;
    }

    /**
     * Runs a read row {@link #passes()} times and keeps the pass of median records/s, noting the
     * others: a read row takes a second or two, short enough for one pass to land on a
     * collection or a compilation, so each side of a read ratio is a median of the same count.
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
     * Warms a read row (native-consume, d, e) up by time, not by size: untimed passes over the
     * topic it measures until they have read for {@code --warmup-seconds} (at least one pass; the
     * group joins of row e do not count), so that the JIT has compiled the read path before the
     * measured passes, on both sides of the ratio alike.
     */
    private void warmUp(Pass pass) throws Exception {
        double seconds = 0;
        int i = 0;
        do {
            seconds += pass.run(++i).seconds();
        } while (seconds < o.warmupSeconds() && i < 50);
    }

    private RowResult nativeConsume(String topic, long n, boolean measured) {
        Map<String, Object> config = new HashMap<>(porticoConfig.consumerConfig(bootstrap));
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "bench-native-consumer");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        long count = 0;
        long bytes = 0;
        long start;
        long end;
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
            long deadline = start + TimeUnit.SECONDS.toNanos(120);
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
            notes.add("read " + fmt(count) + " of " + fmt(n) + " records within 120 s");
        }
        return new RowResult(NATIVE_CONSUME, "KafkaConsumer, assign + seekToBeginning, poll until all read "
                + "(Portico's consumer settings: " + settingsText(config) + ")", null, count, (end - start) / 1e9,
                bytes, new Latencies().summary(), 0, errors,
                errors == 0 ? Map.of() : Map.of("incomplete", 1L), List.of(), usage, notes);
    }

    private ByteBuffer[] v1Variants(String topic, int records) {
        ByteBuffer[] out = new ByteBuffer[16];
        Base64.Encoder b64 = Base64.getEncoder();
        for (int v = 0; v < out.length; v++) {
            StringBuilder body = new StringBuilder(records * (o.valueBytes() * 4 / 3 + 20) + 16);
            body.append("{\"records\":[");
            for (int r = 0; r < records; r++) {
                if (r > 0) {
                    body.append(',');
                }
                body.append("{\"value\":\"").append(b64.encodeToString(values[(v * records + r) % values.length]))
                        .append("\"}");
            }
            body.append("]}");
            out[v] = Scripts.request("POST", "/topics/" + topic, host, "application/vnd.kafka.binary.v1+json",
                    "application/vnd.kafka.v1+json", body.toString().getBytes(StandardCharsets.UTF_8));
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

    private RowResult httpProduce(String id, String topic, ByteBuffer[] variants, long requests, int perRequest,
                                  int connections, boolean v1, boolean measured) throws Exception {
        String what = v1
                ? "POST /topics/{t}, v1 binary, " + perRequest + " record" + (perRequest == 1 ? "" : "s")
                        + " of " + o.valueBytes() + " B per request, " + connections + " connections"
                : "POST /topics/{t}/records, text/plain, 1 record of " + o.valueBytes() + " B per request, "
                        + connections + " connections";
        log((measured ? "" : "warm-up ") + "row " + id + ": " + fmt(requests) + " requests to " + topic + " — "
                + what);
        HttpLoad.Budget budget = new HttpLoad.Budget(requests);
        List<HttpLoad.Script> scripts = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            scripts.add(new Scripts.Fixed(variants, budget, v1, i));
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
        return new RowResult(id, what, NATIVE_PRODUCE, records, r.seconds(), records * o.valueBytes(),
                r.latencies().summary(), r.requests(), r.errors(), r.errorKinds(), r.errorSamples(), usage, notes);
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
        return new RowResult("g", what, NATIVE_PRODUCE, r.reported(), r.seconds(), r.reported() * o.valueBytes(),
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

    private RowResult consumerInstances(String topic, String group, boolean measured, boolean v2) throws Exception {
        return consumerInstances(topic, group, measured, v2, false);
    }

    /** Rows e, f and, {@code relayed}, i: f's reads sent to the relay node, which passes them to the holder. */
    private RowResult consumerInstances(String topic, String group, boolean measured, boolean v2, boolean relayed)
            throws Exception {
        long[] end = endOffsets(topic);
        String id = relayed ? "i" : v2 ? "f" : "e";
        String readHost = relayed ? relayHost : host;
        InetSocketAddress readAddress = relayed ? relayHttp : http;
        String what = v2
                ? "v2: POST /consumers/{g} (auto.offset.reset=earliest, auto.commit.enable=false), POST …/subscription, "
                        + "then GET /consumers/{g}/instances/{i}/records in a loop; " + o.instances()
                        + " instances in parallel over " + end.length + " partitions"
                        + (relayed ? "; created on the measured node, every read sent to a second node, which "
                                + "relays it to the first (the relay's CPU is not in Portico's column)" : "")
                : "POST /consumers/{g} (auto.offset.reset=smallest), then GET /consumers/{g}/instances/{i}"
                        + "/topics/{t} in a loop; " + o.instances() + " instances in parallel over " + end.length
                        + " partitions";
        String media = v2 ? "application/vnd.kafka.v2+json" : "application/vnd.kafka.v1+json";
        String records = v2 ? "application/vnd.kafka.binary.v2+json" : "application/vnd.kafka.binary.v1+json";
        log((measured ? "" : "warm-up ") + "row " + id + ": " + what + ", " + fmt(sum(end)) + " records of " + topic);
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        List<String> instances = new ArrayList<>();
        long setupErrors = 0;
        List<String> setupSamples = new ArrayList<>();
        for (int i = 0; i < o.instances(); i++) {
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

    // ---------------------------------------------------------------- helpers

    private void createTopics(List<String> names) throws Exception {
        List<NewTopic> topics = new ArrayList<>();
        for (String n : names) {
            topics.add(new NewTopic(n, o.partitions(), (short) 1));
        }
        admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
    }

    private long[] endOffsets(String topic) throws Exception {
        return endOffsets(topic, o.partitions());
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
        for (RowResult r : rows) {
            if (r.usage() != null && r.usage().jfr() != null && Files.exists(r.usage().jfr())) {
                try {
                    profiles.put(r.id(), Profile.summarize(r.usage().jfr(), 12));
                } catch (IOException | RuntimeException e) {
                    profiles.put(r.id(), "could not read " + r.usage().jfr() + ": " + e);
                }
            }
        }
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
