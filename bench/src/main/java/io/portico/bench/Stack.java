package io.portico.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * What a benchmark runs against, on one machine: a Kafka broker in its own JVM ({@link BrokerMain})
 * and Portico in another ({@code java [-Xmx…] -jar portico.jar <properties>}), both stopped by PID
 * on {@link #close()} (and by a shutdown hook if the benchmark JVM ends first). Portico can be
 * restarted against the same broker ({@link #restartPortico()}), so that each measurement starts
 * from a fresh process.
 *
 * <p>While Portico runs, {@link #monitor()} watches its CPU, resident memory and heap (through
 * {@link JvmProbe}, when attaching works) and the broker's CPU.
 */
public final class Stack implements AutoCloseable {
    /**
     * How to start the two processes.
     *
     * @param porticoHeap Portico's {@code -Xmx}, or null for none (the JVM's default: Portico as shipped)
     * @param porticoProperties lines of Portico's properties file besides {@code listeners} and
     *        {@code bootstrap.servers} (which the stack sets)
     * @param label names the generated files: {@code <label>.properties}, {@code <label>-portico-<n>.log}
     */
    public record Settings(Path jar, Path classes, Path work, String porticoHeap, List<String> porticoJvmOptions,
                           Map<String, String> porticoProperties, String label) {
    }

    private final Settings settings;
    private final String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private final List<String> notes = new ArrayList<>();
    private Child broker;
    private Child portico;
    private JvmProbe probe;
    private Monitor monitor;
    private Admin admin;
    private String bootstrap;
    private InetSocketAddress http;
    private List<String> brokerCommand;
    private List<String> porticoCommand;
    private Map<String, String> porticoProperties;
    private int porticoStarts;
    private Thread hook;

    private Stack(Settings settings) {
        this.settings = settings;
    }

    /** Starts the broker, then Portico against it; on a failure, stops what had started. */
    public static Stack start(Settings settings) throws Exception {
        Stack s = new Stack(settings);
        try {
            s.startBroker();
            s.startPortico();
        } catch (Exception | Error e) {
            s.close();
            throw e;
        }
        return s;
    }

    private void startBroker() throws Exception {
        if (!Files.isRegularFile(settings.jar())) {
            throw new IOException("no " + settings.jar() + ": build it with mvn -q -DskipTests package");
        }
        Files.createDirectories(settings.work());
        hook = new Thread(this::stopChildren, "stack-stop-children");
        Runtime.getRuntime().addShutdownHook(hook);
        String classPath = settings.jar().toAbsolutePath() + java.io.File.pathSeparator
                + settings.classes().toAbsolutePath();
        brokerCommand = List.of(javaBin, "-Xmx1g", "-cp", classPath, BrokerMain.class.getName(),
                settings.work().resolve("kafka").toString());
        log("starting the Kafka broker (its own JVM)");
        broker = Child.start("broker", brokerCommand, settings.work().resolve("broker.log"), "BOOTSTRAP ");
        String line = broker.awaitLine(120);
        bootstrap = line.substring(line.indexOf("BOOTSTRAP ") + "BOOTSTRAP ".length()).trim();
        log("broker " + bootstrap + " (pid " + broker.pid() + ")");
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.CLIENT_ID_CONFIG, "stack-admin"));
    }

    /** Starts Portico (a new port, a new log file); it must not be running. */
    public void startPortico() throws Exception {
        if (portico != null && portico.isAlive()) {
            throw new IllegalStateException("Portico is running already");
        }
        int port = freePort();
        porticoProperties = new LinkedHashMap<>();
        porticoProperties.put("listeners", "http://127.0.0.1:" + port);
        porticoProperties.put("bootstrap.servers", bootstrap);
        porticoProperties.putAll(settings.porticoProperties());
        StringBuilder props = new StringBuilder("# written by the benchmark\n");
        porticoProperties.forEach((k, v) -> props.append(k).append('=').append(v).append('\n'));
        Path propsFile = settings.work().resolve(settings.label() + ".properties");
        Files.writeString(propsFile, props);

        List<String> cmd = new ArrayList<>(List.of(javaBin));
        cmd.addAll(porticoJvmOptions(settings.porticoHeap(), settings.porticoJvmOptions()));
        cmd.addAll(List.of("-jar", settings.jar().toAbsolutePath().toString(), propsFile.toString()));
        porticoCommand = List.copyOf(cmd);
        porticoStarts++;
        log("starting Portico: " + String.join(" ", porticoCommand));
        portico = Child.start("portico", porticoCommand,
                settings.work().resolve(settings.label() + "-portico-" + porticoStarts + ".log"), "Portico serves on");
        portico.awaitLine(120);
        http = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        log("Portico http://" + host() + " (pid " + portico.pid() + ", serving JVM " + serverPid() + ")");
        try {
            probe = JvmProbe.attach(serverPid());
        } catch (IOException | RuntimeException e) {
            probe = null;
            note("Could not attach to Portico's JVM (no heap figures): " + e);
        }
        monitor = new Monitor(portico.servingPids(), broker.pid(), probe);
    }

    /** Stops Portico and starts a fresh one against the same broker. */
    public void restartPortico() throws Exception {
        stopPortico();
        startPortico();
    }

    /** Stops Portico (SIGTERM, then SIGKILL after 30 s), by its PID. */
    public void stopPortico() {
        if (monitor != null) {
            monitor.close();
            monitor = null;
        }
        if (probe != null) {
            probe.close();
            probe = null;
        }
        if (portico != null && portico.isAlive()) {
            log("stopping Portico (pid " + portico.pid() + ")");
            portico.stop(30);
        }
    }

    public String bootstrap() {
        return bootstrap;
    }

    public Admin admin() {
        return admin;
    }

    /** Portico's listener. */
    public InetSocketAddress http() {
        return http;
    }

    /** {@code 127.0.0.1:<port>}, for Host headers and URLs. */
    public String host() {
        return "127.0.0.1:" + http.getPort();
    }

    public long porticoPid() {
        return portico == null ? -1 : portico.pid();
    }

    /** The JVM that serves: Portico's process, or the JVM its launcher started; -1 before it starts. */
    public long serverPid() {
        return portico == null ? -1 : portico.servingPids().get(0);
    }

    /** Resident memory of Portico: its serving JVM and its launcher, if any, together; -1 if unknown. */
    public long porticoRss() {
        return portico == null ? -1 : ProcStats.statusBytes(portico.servingPids(), "VmRSS");
    }

    public long brokerPid() {
        return broker == null ? -1 : broker.pid();
    }

    public boolean porticoAlive() {
        return portico != null && portico.isAlive();
    }

    public Path porticoLog() {
        return portico == null ? null : portico.log();
    }

    /** Attached to Portico's JVM, or null when attaching failed. */
    public JvmProbe probe() {
        return probe;
    }

    public Monitor monitor() {
        return monitor;
    }

    public List<String> brokerCommand() {
        return brokerCommand;
    }

    /**
     * Portico's JVM options: {@code -Xmx} when {@code heap} is given, then {@code extra}. A sized
     * heap makes Portico serve in place, without its launcher, which also picks the collector; so
     * it gets the launcher's ({@code -XX:+UseParallelGC}) unless {@code extra} names one, and only
     * the heap differs from Portico as shipped.
     */
    static List<String> porticoJvmOptions(String heap, List<String> extra) {
        List<String> options = new ArrayList<>();
        if (heap != null) {
            options.add("-Xmx" + heap);
            if (!io.portico.proxy.Collector.chosen(extra)) {
                options.add(io.portico.proxy.Collector.SHIPPED);
            }
        }
        options.addAll(extra);
        return options;
    }

    public List<String> porticoCommand() {
        return porticoCommand;
    }

    /** Every line of Portico's properties file (the last start's). */
    public Map<String, String> porticoProperties() {
        return porticoProperties;
    }

    /** What went wrong on the side (attach failures); for the results. */
    public List<String> notes() {
        return List.copyOf(notes);
    }

    void note(String note) {
        notes.add(note);
        log(note);
    }

    /** The soft limit on open files of a process ({@code Max open files} of {@code /proc/<pid>/limits}); -1 if unknown. */
    public static long maxOpenFiles(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "limits"),
                    StandardCharsets.ISO_8859_1)) {
                if (line.startsWith("Max open files")) {
                    String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                    return f[0].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(f[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    /** Open file descriptors of a process (entries of {@code /proc/<pid>/fd}); -1 if unknown. */
    public static long openFiles(long pid) {
        try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
            return fds.count();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Threads of a process ({@code Threads} of {@code /proc/<pid>/status}); -1 if unknown. */
    public static long threads(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"),
                    StandardCharsets.ISO_8859_1)) {
                if (line.startsWith("Threads:")) {
                    return Long.parseLong(line.substring("Threads:".length()).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    @Override
    public void close() {
        stopPortico();
        if (admin != null) {
            admin.close(Duration.ofSeconds(10));
            admin = null;
        }
        stopChildren();
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // shutting down already
            }
            hook = null;
        }
        deleteTree(settings.work().resolve("kafka"));
    }

    private synchronized void stopChildren() {
        if (portico != null && portico.isAlive()) {
            log("stopping Portico (pid " + portico.pid() + ")");
            portico.stop(30);
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

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void deleteTree(Path dir) {
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
        System.out.println("[bench " + java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss")
                .format(java.time.LocalTime.now()) + "] " + message);
    }
}
