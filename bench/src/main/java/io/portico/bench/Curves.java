package io.portico.bench;

import io.portico.proxy.PorticoConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The cost curves of issue 18 ({@code bench/curves.sh}): how Portico's throughput, latency and
 * memory change with load, on one machine, against a broker in its own JVM ({@link Stack}).
 *
 * <ol>
 *   <li>produce: single-record v1 binary produce ({@code POST /topics/{t}}) against connections,
 *       for each topic (1 and 3 partitions by default), and {@code GET /} at the same connections as
 *       the ceiling of an HTTP exchange; with the bench's own generator ({@link HttpLoad}) and with
 *       wrk when it is on the PATH;</li>
 *   <li>consume: v1 consumer instances reading at once, each in a group of its own (every instance
 *       reads the whole topic, as independent clients do), each in a loop of reads;</li>
 *   <li>idle: keep-alive connections that sent one {@code GET /} and stay open: Portico's heap
 *       after a full collection, RSS, threads and open files, against none open; and whether a
 *       fresh client is still answered.</li>
 * </ol>
 *
 * <p>Portico is restarted before each curve, so that no curve starts from another's leftovers.
 * Writes {@code bench/results/curves-<yyyy-MM-dd-HHmm>.md}; stops what it started, by PID.
 */
public final class Curves {
    static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd-HHmm");
    static final String BENCH = "bench";
    static final String WRK = "wrk";
    static final String GET_ROOT = "GET /";
    /** Fresh clients sent while idle connections are open, one after another. */
    static final int FRESH_CLIENTS = 10;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    private static final String V1_JSON = "application/vnd.kafka.v1+json";
    private static final String V1_BINARY = "application/vnd.kafka.binary.v1+json";

    private final CurvesOptions o;
    private final LocalDateTime startedAt = LocalDateTime.now();
    /** Portico's commit and whether its sources differed from it, as the run started. */
    private final String source;
    private final Path work;
    private final Path wrk;
    private final List<ProducePoint> produce = new ArrayList<>();
    private final List<ConsumePoint> consume = new ArrayList<>();
    private final List<IdlePoint> idle = new ArrayList<>();
    private final List<String> runNotes = new ArrayList<>();
    private final Map<String, String> limits = new LinkedHashMap<>();
    private final List<Long> porticoPids = new ArrayList<>();
    private final byte[] value;
    private final int cores = Report.nproc();
    private Stack stack;
    private int consumeRun;
    /** The connections Portico holds at most in this run; -1 unknown. */
    private long connectionCap = -1;

    /**
     * One measured run of the produce curve.
     *
     * @param target {@link #GET_ROOT} or {@code produce}
     * @param partitions of the topic produced to; 0 for {@code GET /}
     * @param records requests answered 2xx without a record error (for {@code GET /}: answered 2xx)
     * @param generatorCpu the load generator's CPU, % of one core
     * @param machineCpu the whole machine's busy time, % of one core
     * @param failure why the run has no numbers, or null
     */
    public record ProducePoint(String generator, String target, int partitions, int connections, long records,
                               long requests, double seconds, double p50, double p99, double p999, double max,
                               long errors, Map<String, Long> errorKinds, List<String> errorSamples,
                               Monitor.Usage usage, double generatorCpu, double machineCpu, String failure) {
        public double rate() {
            return seconds > 0 ? records / seconds : 0;
        }

        public double requestRate() {
            return seconds > 0 ? requests / seconds : 0;
        }

        /** The series the point belongs to, e.g. "bench, 1 partition" or "wrk, GET /". */
        public String series() {
            return generator + ", " + (partitions == 0 ? GET_ROOT : partitions + " partition" + (partitions == 1 ? ""
                    : "s"));
        }
    }

    /**
     * One point of the consume curve.
     *
     * @param created instances created of {@code instances}; {@code createSeconds} for all
     * @param joinSeconds each instance's first read (the group join), all at once, untimed
     * @param records read by all instances in {@code seconds}; {@code reads} requests
     * @param done instances that read the whole topic within the point
     * @param held Portico while creating and joining; {@code reading} while reading
     * @param machineCpu the whole machine's busy time while reading, % of one core
     */
    public record ConsumePoint(int instances, int created, double createSeconds, Latencies.Summary createLatency,
                               double joinSeconds, long records, long reads, double seconds,
                               Latencies.Summary readLatency, int done, long errors, Map<String, Long> errorKinds,
                               List<String> errorSamples, Monitor.Usage held, Monitor.Usage reading,
                               double machineCpu, double deleteSeconds, String failure) {
        public double rate() {
            return seconds > 0 ? records / seconds : 0;
        }

        public double readRate() {
            return seconds > 0 ? reads / seconds : 0;
        }
    }

    /**
     * One point of the idle curve.
     *
     * @param opened connections answered and kept, of {@code connections}
     * @param heapAfterGc Portico's heap in use just after a full collection, bytes; -1 unknown
     * @param fresh statuses of the fresh clients' {@code GET /} (0: no answer), in order
     * @param freshLatency connect + {@code GET /} of the fresh clients answered 2xx
     * @param stillOpen of the opened connections, still open when the point ended
     */
    public record IdlePoint(int connections, int opened, double openSeconds, Map<String, Long> openFailures,
                            List<String> openSamples, long heapAfterGc, long rss, long threads, long fds,
                            List<Integer> fresh, Latencies.Summary freshLatency, int stillOpen, List<String> notes) {
        public int freshOk() {
            return (int) fresh.stream().filter(s -> s / 100 == 2).count();
        }
    }

    /** What a run gives. */
    public record Outcome(List<ProducePoint> produce, List<ConsumePoint> consume, List<IdlePoint> idle,
                          Path resultsFile, String markdown, long brokerPid, List<Long> porticoPids) {
    }

    private Curves(CurvesOptions o) {
        this.o = o;
        this.source = Report.git(o.root());
        this.work = o.work() != null ? o.work()
                : o.root().resolve("bench/target/curves-run-" + STAMP.format(startedAt));
        this.wrk = o.wrk() ? Wrk.find() : null;
        Random random = new Random(42);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        value = new byte[o.valueBytes()];
        for (int k = 0; k < value.length; k++) {
            value[k] = (byte) alphabet.charAt(random.nextInt(alphabet.length()));
        }
    }

    public static void main(String[] args) {
        Path root = Path.of(System.getProperty("bench.root", ".")).toAbsolutePath().normalize();
        CurvesOptions options;
        try {
            options = CurvesOptions.parse(args, root);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) {
                System.err.println(e.getMessage());
            }
            System.err.print(CurvesOptions.USAGE);
            System.exit(2);
            return;
        }
        try {
            run(options);
            System.exit(0);
        } catch (Exception e) {
            System.err.println("curves: failed: " + e);
            e.printStackTrace();
            System.exit(1);
        }
    }

    /** Runs the curves; the processes it starts are stopped before it returns. */
    public static Outcome run(CurvesOptions o) throws Exception {
        Curves c = new Curves(o);
        Exception failure = null;
        try {
            c.runCurves();
        } catch (Exception e) {
            failure = e;
            c.runNotes.add("The run failed: " + e + " (logs in " + c.work + ")");
            e.printStackTrace();
        } finally {
            if (c.stack != null) {
                c.stack.close();
            }
        }
        String markdown = CurvesReport.markdown(c.report());
        Files.createDirectories(o.out());
        String stamp = STAMP.format(c.startedAt);
        Path file = o.out().resolve("curves-" + stamp + ".md");
        for (int i = 2; Files.exists(file); i++) {
            file = o.out().resolve("curves-" + stamp + "-" + i + ".md");
        }
        Files.writeString(file, markdown, StandardCharsets.UTF_8);
        System.out.println();
        System.out.println(markdown);
        System.out.println("Results: " + file);
        if (failure != null) {
            throw failure;
        }
        return new Outcome(List.copyOf(c.produce), List.copyOf(c.consume), List.copyOf(c.idle), file, markdown,
                c.stack == null ? -1 : c.stack.brokerPid(), List.copyOf(c.porticoPids));
    }

    private CurvesReport.Input report() {
        return new CurvesReport.Input(o, startedAt, source, work, produce, consume, idle, runNotes, limits,
                stack == null ? null : stack.brokerCommand(), stack == null ? null : stack.porticoCommand(),
                stack == null ? null : stack.porticoProperties(), wrk == null ? null : Wrk.version(wrk),
                stack == null ? List.of() : stack.notes(), connectionCap);
    }

    // ---------------------------------------------------------------- set-up

    /** Portico's properties for the run: the limits the largest points need raised, then the user's. */
    private Map<String, String> porticoProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        // Not measured: lets Portico stop quickly while a consumer read is waiting.
        p.put("shutdown.graceful.ms", "3000");
        if (o.runs("idle")) {
            int most = o.idle().stream().mapToInt(Integer::intValue).max().orElse(0);
            // Held open for the whole point, however long opening them takes (default 60 s).
            p.put("connections.idle.timeout.ms", "600000");
            limits.put("connections.idle.timeout.ms", "600000 (default 60000): idle connections stay open for the "
                    + "whole point, however long opening them takes");
            int cap = Math.max(10_000, most + 100);
            if (cap > 10_000) {
                p.put("connections.max", String.valueOf(cap));
                limits.put("connections.max", cap + " (default 10000): room for " + most + " idle "
                        + "connections and fresh clients; Portico caps it at half its open-files limit");
            }
            if (most + 100 > cap / 2) {
                p.put("connections.per.address.max", String.valueOf(cap));
                limits.put("connections.per.address.max", cap + " (default half of connections.max): the idle "
                        + "connections all come from the bench's one address");
            }
        }
        if (o.runs("consume")) {
            int most = o.instances().stream().mapToInt(Integer::intValue).max().orElse(0);
            if (most > 1000) {
                p.put("consumer.instances.max", String.valueOf(most));
                limits.put("consumer.instances.max", most + " (default 1000, or fewer on a small heap)");
            }
        }
        p.putAll(o.porticoProperties());
        return p;
    }

    private void runCurves() throws Exception {
        Files.createDirectories(work);
        if (o.wrk() && wrk == null) {
            runNotes.add("wrk is not on the PATH: the bench's own generator only.");
        }
        stack = Stack.start(new Stack.Settings(o.jar(), o.classes(), work, o.porticoHeap(), o.porticoJvmOptions(),
                porticoProperties(), "curves"));
        porticoPids.add(stack.porticoPid());
        recordEffectiveLimits();
        boolean first = true;
        for (String curve : o.curves()) {
            if (!first) {
                restartPortico();
            }
            first = false;
            switch (curve) {
                case "produce" -> produceCurve();
                case "consume" -> consumeCurve();
                case "idle" -> idleCurve();
                default -> throw new IllegalStateException(curve);
            }
        }
    }

    private void restartPortico() throws Exception {
        stack.restartPortico();
        porticoPids.add(stack.porticoPid());
    }

    /** The caps Portico applies in this run, as it computes them (heap and open-files limit from the process). */
    private void recordEffectiveLimits() {
        long heapMax = stack.probe() != null ? stack.probe().heapMax() : -1;
        if (heapMax > 0) {
            limits.put("Portico's heap ceiling", Report.mib(heapMax) + (o.porticoHeap() == null
                    ? " (no -Xmx: as shipped, the launcher's)" : ""));
            try {
                PorticoConfig config = PorticoConfig.from(stack.porticoProperties(), heapMax);
                limits.put("consumer instances at most (effective)", Bends.n(config.reads().instancesMax()));
                long files = Stack.maxOpenFiles(stack.serverPid());
                int cap = config.connections().max();
                connectionCap = files > 0 ? Math.min(cap, files / 2) : cap;
                limits.put("connections at most (effective)", Bends.n(connectionCap)
                        + (files > 0 ? " (connections.max " + Bends.n(cap) + ", Portico's open-files limit "
                        + Bends.n(files) + ", of which it takes half at most)" : ""));
            } catch (RuntimeException e) {
                runNotes.add("Could not compute Portico's effective limits: " + e);
            }
        }
    }

    // ---------------------------------------------------------------- curve 1: produce

    private void produceCurve() throws Exception {
        List<String> topics = new ArrayList<>();
        List<NewTopic> create = new ArrayList<>();
        for (int p : o.partitions()) {
            String t = "curves-p" + p;
            topics.add(t);
            create.add(new NewTopic(t, p, (short) 1));
        }
        Topics.createReady(stack.admin(), create);
        if (o.warmupSeconds() > 0) {
            int c = Math.min(16, o.points().stream().mapToInt(Integer::intValue).max().orElse(16));
            log("produce curve: warm-up, " + o.warmupSeconds() + " s of produce and GET / at " + c + " connections");
            ownRun(produceRequest(topics.get(0)), true, c, o.warmupSeconds());
            ownRun(rootRequest(), false, c, Math.max(1, o.warmupSeconds() / 2));
        }
        for (int c : o.points()) {
            log("produce curve: " + c + " connections" + (o.pointWarmupSeconds() > 0 ? " (warm-up "
                    + o.pointWarmupSeconds() + " s)" : ""));
            if (o.pointWarmupSeconds() > 0) {
                ownRun(produceRequest(topics.get(0)), true, c, o.pointWarmupSeconds());
            }
            for (int i = 0; i < topics.size(); i++) {
                int partitions = o.partitions().get(i);
                produce.add(measureOwn("produce", partitions, produceRequest(topics.get(i)), true, c));
                if (wrk != null) {
                    produce.add(measureWrk("produce", partitions, "/topics/" + topics.get(i), c));
                }
            }
            produce.add(measureOwn(GET_ROOT, 0, rootRequest(), false, c));
            if (wrk != null) {
                produce.add(measureWrk(GET_ROOT, 0, "/", c));
            }
            ensurePorticoAlive("the produce curve at " + c + " connections");
        }
    }

    private String produceBody() {
        return "{\"records\":[{\"value\":\"" + Base64.getEncoder().encodeToString(value) + "\"}]}";
    }

    private ByteBuffer produceRequest(String topic) {
        return Scripts.request("POST", "/topics/" + topic, stack.host(), V1_BINARY, V1_JSON,
                produceBody().getBytes(StandardCharsets.UTF_8));
    }

    private ByteBuffer rootRequest() {
        return Scripts.request("GET", "/", stack.host(), null, V1_JSON, null);
    }

    private HttpLoad.Result ownRun(ByteBuffer request, boolean v1Produce, int connections, int seconds)
            throws InterruptedException {
        List<Timed> scripts = timed(request, v1Produce, connections, seconds);
        return HttpLoad.run(stack.http(), scripts, o.loadThreads(), REQUEST_TIMEOUT, () -> false);
    }

    private List<Timed> timed(ByteBuffer request, boolean v1Produce, int connections, int seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        HttpLoad.Budget unlimited = new HttpLoad.Budget(Long.MAX_VALUE);
        List<Timed> scripts = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            scripts.add(new Timed(new Scripts.Fixed(new ByteBuffer[] {request}, unlimited,
                    v1Produce ? Scripts.Answer.V1 : Scripts.Answer.ANY, 0), deadline));
        }
        return scripts;
    }

    private ProducePoint measureOwn(String target, int partitions, ByteBuffer request, boolean v1Produce,
                                    int connections) throws Exception {
        log("  " + BENCH + ": " + (partitions == 0 ? target : "produce to " + partitions + " partition(s)") + ", "
                + connections + " connections, " + o.seconds() + " s");
        List<Timed> scripts = timed(request, v1Produce, connections, o.seconds());
        Monitor.Window w = stack.monitor().begin("curve", null);
        MachineCpu.Sample m = MachineCpu.sample();
        HttpLoad.Result r = HttpLoad.run(stack.http(), scripts, o.loadThreads(), REQUEST_TIMEOUT, () -> false);
        double machine = MachineCpu.percent(m, MachineCpu.sample(), cores);
        Monitor.Usage u = stack.monitor().end(w);
        long ok = scripts.stream().mapToLong(t -> t.ok).sum();
        Latencies.Summary l = r.latencies().summary();
        return new ProducePoint(BENCH, target, partitions, connections, ok, r.requests(), r.seconds(), l.p50(),
                l.p99(), l.p999(), l.max(), r.errors(), r.errorKinds(), r.errorSamples(), u, u.benchCpu(), machine,
                null);
    }

    private ProducePoint measureWrk(String target, int partitions, String path, int connections) throws Exception {
        log("  " + WRK + ": " + (partitions == 0 ? target : "produce to " + partitions + " partition(s)") + ", "
                + connections + " connections, " + o.seconds() + " s");
        boolean post = partitions > 0;
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Accept", V1_JSON);
        if (post) {
            headers.put("Content-Type", V1_BINARY);
        }
        String script = CurvesWrk.script(post ? "POST" : "GET", post ? produceBody() : null, headers, post);
        String name = "wrk-" + (post ? "p" + partitions : "root") + "-c" + connections;
        Monitor.Window w = stack.monitor().begin("curve", null);
        MachineCpu.Sample m = MachineCpu.sample();
        CurvesWrk.Result r;
        try {
            r = CurvesWrk.run(wrk, "http://" + stack.host() + path, script, o.loadThreads(), connections, o.seconds(),
                    (int) REQUEST_TIMEOUT.toSeconds(), work.resolve(name + ".lua"), work.resolve(name + ".out"));
        } catch (IOException | IllegalArgumentException e) {
            Monitor.Usage u = stack.monitor().end(w);
            return new ProducePoint(WRK, target, partitions, connections, 0, 0, 0, Double.NaN, Double.NaN, Double.NaN,
                    Double.NaN, 0, Map.of(), List.of(), u, Double.NaN, Double.NaN, e.getMessage());
        }
        double machine = MachineCpu.percent(m, MachineCpu.sample(), cores);
        Monitor.Usage u = stack.monitor().end(w);
        double cpu = r.seconds() > 0 ? 100 * r.cpuSeconds() / r.seconds() : Double.NaN;
        return new ProducePoint(WRK, target, partitions, connections, r.ok(), r.requests(), r.seconds(), r.p50(),
                r.p99(), r.p999(), r.max(), r.errors(), r.errorKinds(), List.of(), u, cpu, machine, null);
    }

    /** Runs a script until a deadline; counts the answers that were 2xx and reported no failure. */
    static final class Timed implements HttpLoad.Script {
        private final HttpLoad.Script script;
        private final long deadline;
        long ok;

        Timed(HttpLoad.Script script, long deadlineNanos) {
            this.script = script;
            this.deadline = deadlineNanos;
        }

        @Override
        public ByteBuffer next() {
            return System.nanoTime() - deadline >= 0 ? null : script.next();
        }

        @Override
        public boolean onResponse(int status, byte[] body, int offset, int length) {
            boolean fine = script.onResponse(status, body, offset, length);
            if (fine && status / 100 == 2) {
                ok++;
            }
            return fine;
        }
    }

    /** Sends what another script sends, once. */
    static final class Once implements HttpLoad.Script {
        private final HttpLoad.Script script;
        private boolean sent;

        Once(HttpLoad.Script script) {
            this.script = script;
        }

        @Override
        public ByteBuffer next() {
            if (sent) {
                return null;
            }
            sent = true;
            return script.next();
        }

        @Override
        public boolean onResponse(int status, byte[] body, int offset, int length) {
            return script.onResponse(status, body, offset, length);
        }
    }

    // ---------------------------------------------------------------- curve 2: consume

    private void consumeCurve() throws Exception {
        String topic = "curves-read";
        Topics.createReady(stack.admin(), List.of(new NewTopic(topic, 3, (short) 1)));
        log("consume curve: filling " + topic + " with " + Bends.n(o.readRecords()) + " records of "
                + o.valueBytes() + " B");
        fill(topic, o.readRecords());
        long[] end = endOffsets(topic, 3);
        if (o.warmupSeconds() > 0) {
            log("consume curve: warm-up, one instance reading for " + Math.max(1, o.warmupSeconds() / 2) + " s");
            consumePoint(topic, end, 1, Math.max(1, o.warmupSeconds() / 2));
        }
        for (int n : o.instances()) {
            ConsumePoint p;
            try {
                p = consumePoint(topic, end, n, o.seconds());
            } catch (Exception e) {
                p = new ConsumePoint(n, 0, 0, new Latencies().summary(), 0, 0, 0, 0, new Latencies().summary(), 0, 0,
                        Map.of(), List.of(), null, null, Double.NaN, 0, e.toString());
            }
            if (!stack.porticoAlive()) {
                p = withFailure(p, "Portico died (see " + stack.porticoLog() + "): " + lastLines(stack.porticoLog(), 3));
                consume.add(p);
                restartPortico();
                continue;
            }
            consume.add(p);
        }
    }

    private static ConsumePoint withFailure(ConsumePoint p, String failure) {
        return new ConsumePoint(p.instances(), p.created(), p.createSeconds(), p.createLatency(), p.joinSeconds(),
                p.records(), p.reads(), p.seconds(), p.readLatency(), p.done(), p.errors(), p.errorKinds(),
                p.errorSamples(), p.held(), p.reading(), p.machineCpu(), p.deleteSeconds(),
                p.failure() == null ? failure : p.failure() + "; " + failure);
    }

    /** Fills {@code topic} with {@code n} records of the run's value (a native producer; not measured). */
    private void fill(String topic, long n) throws Exception {
        Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrap(),
                ProducerConfig.CLIENT_ID_CONFIG, "curves-fill", ProducerConfig.LINGER_MS_CONFIG, "5",
                ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024), ProducerConfig.ACKS_CONFIG, "1");
        AtomicLong failed = new AtomicLong();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (long i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, (int) (i % 3), null, value), (md, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                    }
                });
            }
            producer.flush();
        }
        if (failed.get() > 0) {
            throw new IOException(failed.get() + " records of " + n + " could not be written to " + topic);
        }
    }

    private long[] endOffsets(String topic, int partitions) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
        for (int p = 0; p < partitions; p++) {
            request.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        var result = stack.admin().listOffsets(request).all().get(60, TimeUnit.SECONDS);
        long[] out = new long[partitions];
        for (int p = 0; p < partitions; p++) {
            out[p] = result.get(new TopicPartition(topic, p)).offset();
        }
        return out;
    }

    /**
     * One point: {@code n} v1 instances created (16 at a time), each in a group of its own; their
     * first reads (the group joins) sent all at once, untimed; then each reads in a loop for
     * {@code seconds}, or until it has read the whole topic; then they are deleted.
     */
    private ConsumePoint consumePoint(String topic, long[] end, int n, int seconds) throws Exception {
        int run = ++consumeRun;
        String prefix = "curves-" + run + "-" + n + "-";
        log("consume curve: " + n + " instance(s), each in its own group, reading " + topic + " for " + seconds + " s");
        Map<String, Long> kinds = new TreeMap<>();
        List<String> samples = new ArrayList<>();

        Monitor.Window held = stack.monitor().begin("create", null);
        boolean[] created = new boolean[n];
        AtomicInteger nextIndex = new AtomicInteger();
        List<HttpLoad.Script> creators = new ArrayList<>();
        for (int k = 0; k < Math.min(n, 16); k++) {
            creators.add(new Create(prefix, n, nextIndex, created, stack.host()));
        }
        HttpLoad.Result c = HttpLoad.run(stack.http(), creators, o.loadThreads(), Duration.ofSeconds(120),
                () -> false);
        merge(kinds, samples, "create: ", c);
        List<Integer> instances = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (created[i]) {
                instances.add(i);
            }
        }
        log("  created " + instances.size() + " of " + n + " in " + String.format(Locale.ROOT, "%.2f s", c.seconds()));

        int skip = 4 * ((o.valueBytes() + 2) / 3);
        List<Scripts.InstanceProgress> progress = new ArrayList<>();
        List<HttpLoad.Script> joins = new ArrayList<>();
        for (int i : instances) {
            Scripts.InstanceProgress p = new Scripts.InstanceProgress(end);
            progress.add(p);
            joins.add(new Once(new Scripts.Instance(Scripts.request("GET", readTarget(prefix, i, topic)
                    + "?max_bytes=1", stack.host(), null, V1_BINARY, null), p, skip)));
        }
        HttpLoad.Result j = joins.isEmpty() ? null
                : HttpLoad.run(stack.http(), joins, o.loadThreads(), Duration.ofSeconds(120), () -> false);
        if (j != null) {
            merge(kinds, samples, "first read: ", j);
        }
        Monitor.Usage heldUsage = stack.monitor().end(held);

        long before = progress.stream().mapToLong(p -> p.delivered.get()).sum();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<HttpLoad.Script> readers = new ArrayList<>();
        for (int k = 0; k < instances.size(); k++) {
            readers.add(new Timed(new Scripts.Instance(Scripts.request("GET", readTarget(prefix, instances.get(k),
                    topic), stack.host(), null, V1_BINARY, null), progress.get(k), skip), deadline));
        }
        Monitor.Window reading = stack.monitor().begin("read", null);
        MachineCpu.Sample m = MachineCpu.sample();
        HttpLoad.Result r = readers.isEmpty() ? null
                : HttpLoad.run(stack.http(), readers, o.loadThreads(), REQUEST_TIMEOUT, () -> false);
        double machine = MachineCpu.percent(m, MachineCpu.sample(), cores);
        Monitor.Usage readingUsage = stack.monitor().end(reading);
        long records = progress.stream().mapToLong(p -> p.delivered.get()).sum() - before;
        int done = (int) progress.stream().filter(p -> p.done).count();
        if (r != null) {
            merge(kinds, samples, "read: ", r);
        }

        long deleteStart = System.nanoTime();
        AtomicInteger nextDelete = new AtomicInteger();
        List<HttpLoad.Script> deleters = new ArrayList<>();
        for (int k = 0; k < Math.min(instances.size(), 16); k++) {
            deleters.add(new Delete(prefix, instances, nextDelete, stack.host()));
        }
        if (!deleters.isEmpty()) {
            HttpLoad.Result d = HttpLoad.run(stack.http(), deleters, o.loadThreads(), Duration.ofSeconds(60),
                    () -> false);
            merge(kinds, samples, "delete: ", d);
        }
        double deleteSeconds = (System.nanoTime() - deleteStart) / 1e9;
        long errors = kinds.values().stream().mapToLong(Long::longValue).sum();
        String failure = instances.isEmpty() ? "no instance could be created" + (samples.isEmpty() ? ""
                : ": " + samples.get(0)) : null;
        return new ConsumePoint(n, instances.size(), c.seconds(), c.latencies().summary(),
                j == null ? 0 : j.seconds(), records, r == null ? 0 : r.requests(), r == null ? 0 : r.seconds(),
                r == null ? new Latencies().summary() : r.latencies().summary(), done, errors, kinds, samples,
                heldUsage, readingUsage, machine, deleteSeconds, failure);
    }

    private static String readTarget(String prefix, int i, String topic) {
        return "/consumers/" + prefix + i + "/instances/c/topics/" + topic;
    }

    private static void merge(Map<String, Long> kinds, List<String> samples, String phase, HttpLoad.Result r) {
        r.errorKinds().forEach((k, v) -> kinds.merge(phase + k, v, Long::sum));
        for (String s : r.errorSamples()) {
            if (samples.size() < 6) {
                samples.add(phase + s);
            }
        }
    }

    /** Creates instances {@code c} in groups {@code <prefix><i>}, taking the next i from a shared counter. */
    static final class Create implements HttpLoad.Script {
        private final String prefix;
        private final int n;
        private final AtomicInteger next;
        private final boolean[] created;
        private final String host;
        private int current = -1;

        Create(String prefix, int n, AtomicInteger next, boolean[] created, String host) {
            this.prefix = prefix;
            this.n = n;
            this.next = next;
            this.created = created;
            this.host = host;
        }

        @Override
        public ByteBuffer next() {
            current = next.getAndIncrement();
            if (current >= n) {
                return null;
            }
            return Scripts.request("POST", "/consumers/" + prefix + current, host, V1_JSON, V1_JSON,
                    "{\"name\":\"c\",\"format\":\"binary\",\"auto.offset.reset\":\"smallest\"}"
                            .getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public boolean onResponse(int status, byte[] body, int offset, int length) {
            if (status / 100 == 2 && current >= 0 && current < n) {
                created[current] = true;
            }
            return true;
        }
    }

    /** Deletes instances {@code c} of groups {@code <prefix><i>}, taking the next from a shared counter. */
    static final class Delete implements HttpLoad.Script {
        private final String prefix;
        private final List<Integer> instances;
        private final AtomicInteger next;
        private final String host;

        Delete(String prefix, List<Integer> instances, AtomicInteger next, String host) {
            this.prefix = prefix;
            this.instances = instances;
            this.next = next;
            this.host = host;
        }

        @Override
        public ByteBuffer next() {
            int k = next.getAndIncrement();
            if (k >= instances.size()) {
                return null;
            }
            return Scripts.request("DELETE", "/consumers/" + prefix + instances.get(k) + "/instances/c", host, null,
                    V1_JSON, null);
        }

        @Override
        public boolean onResponse(int status, byte[] body, int offset, int length) {
            return true;
        }
    }

    // ---------------------------------------------------------------- curve 3: idle connections

    private void idleCurve() throws Exception {
        List<Integer> counts = new ArrayList<>(List.of(0));
        for (int n : o.idle()) {
            if (n > 0 && !counts.contains(n)) {
                counts.add(n);
            }
        }
        for (int n : counts) {
            idle.add(idlePoint(n));
            ensurePorticoAlive("the idle curve at " + n + " connections");
        }
    }

    private IdlePoint idlePoint(int n) throws Exception {
        log("idle curve: " + n + " keep-alive connections, each after one GET /");
        long pid = stack.serverPid();
        List<String> notes = new ArrayList<>();
        try (IdleConnections conns = IdleConnections.open(stack.http(), stack.host(), n, 256, 30_000)) {
            log(String.format(Locale.ROOT, "  %,d open in %.2f s%s", conns.count(), conns.seconds(),
                    conns.failures().isEmpty() ? "" : ", failures " + conns.failures()));
            Thread.sleep(1000);
            long heap = heapAfterGc(pid, notes);
            long rss = stack.porticoRss();
            long threads = Stack.threads(pid);
            long fds = Stack.openFiles(pid);
            int opened = conns.count();
            List<Integer> statuses = new ArrayList<>();
            Latencies latencies = new Latencies();
            Map<String, Integer> refusals = new TreeMap<>();
            for (int i = 0; i < FRESH_CLIENTS; i++) {
                fresh(statuses, latencies, refusals);
            }
            refusals.forEach((what, times) -> notes.add(times + " of " + FRESH_CLIENTS + " fresh clients " + what));
            int stillOpen = conns.stillOpen();
            if (n > 0 && statuses.stream().anyMatch(s -> s / 100 != 2)) {
                conns.closeOne();
                Thread.sleep(200);
                List<Integer> again = new ArrayList<>();
                Latencies l = new Latencies();
                fresh(again, l, new TreeMap<>());
                notes.add("with one idle connection closed, a fresh client got " + (again.get(0) == 0 ? "no answer"
                        : "HTTP " + again.get(0)) + (again.get(0) / 100 == 2 ? " in " + Bends.ms(l.summary().p50())
                        + " ms" : ""));
            }
            return new IdlePoint(n, opened, conns.seconds(), Map.copyOf(conns.failures()),
                    List.copyOf(conns.samples()), heap, rss, threads, fds, statuses, latencies.summary(), stillOpen,
                    notes);
        } finally {
            Thread.sleep(1000); // Portico notices the closes before the next point
        }
    }

    /**
     * A fresh client: connect, {@code GET /}, read the answer; its status (0: none) and time, and
     * what went wrong (counted by kind) when it was not answered 2xx.
     */
    private void fresh(List<Integer> statuses, Latencies latencies, Map<String, Integer> failures) {
        long start = System.nanoTime();
        try (Socket s = new Socket()) {
            s.setSoTimeout(10_000);
            s.connect(new InetSocketAddress(stack.http().getAddress(), stack.http().getPort()), 10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET / HTTP/1.1\r\nHost: " + stack.host() + "\r\nAccept: " + V1_JSON + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            int len = 0;
            while (true) {
                int r = in.read(buf, len, buf.length - len);
                if (r > 0) {
                    len += r;
                }
                ResponseParser.Response resp = ResponseParser.parse(buf, 0, len, r < 0);
                if (resp != null) {
                    statuses.add(resp.status());
                    if (resp.status() / 100 == 2) {
                        latencies.record(System.nanoTime() - start);
                    } else {
                        failures.merge("got HTTP " + resp.status() + ": " + HttpLoad.abbreviate(resp.bodyText()), 1,
                                Integer::sum);
                    }
                    return;
                }
                if (r < 0 || len == buf.length) {
                    statuses.add(0);
                    failures.merge("got no complete answer", 1, Integer::sum);
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            statuses.add(0);
            failures.merge("failed: " + e, 1, Integer::sum);
        }
    }

    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

    /** Portico's heap in use just after a full collection ({@code jcmd GC.run}, then {@code GC.heap_info}). */
    private static long heapAfterGc(long pid, List<String> notes) {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        try {
            String gc = exec(List.of(jcmd, String.valueOf(pid), "GC.run"));
            String info = exec(List.of(jcmd, String.valueOf(pid), "GC.heap_info"));
            long used = heapUsed(info);
            if (used < 0) {
                notes.add("no heap figure in jcmd's output: " + HttpLoad.abbreviate(gc + " " + info));
            }
            return used;
        } catch (IOException e) {
            notes.add("jcmd failed: " + e.getMessage());
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** The heap in use in {@code jcmd GC.heap_info}'s output (its first {@code used NNNK}), bytes; -1 if none. */
    static long heapUsed(String heapInfo) {
        Matcher m = HEAP_USED.matcher(heapInfo);
        return m.find() ? Long.parseLong(m.group(1)) * 1024 : -1;
    }

    private static String exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not end within 60 s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + p.exitValue() + ": " + out.trim());
        }
        return out;
    }

    // ---------------------------------------------------------------- helpers

    private void ensurePorticoAlive(String where) throws Exception {
        if (!stack.porticoAlive()) {
            runNotes.add("Portico died during " + where + "; see " + stack.porticoLog() + ": "
                    + lastLines(stack.porticoLog(), 3) + ". It was started again.");
            restartPortico();
        }
    }

    private static String lastLines(Path log, int n) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join(" / ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException | RuntimeException e) {
            return "(no log)";
        }
    }

    static void log(String message) {
        Stack.log(message);
    }
}
