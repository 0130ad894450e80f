package io.portico.proxy;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What {@code java -jar portico.jar} does before it serves. A JVM given no heap option takes a
 * quarter of the machine's memory as its heap ceiling, and G1 grows the heap toward it under load:
 * on a 24 GiB machine Portico's heap reached 900 MiB with under 80 MiB of it live, and its RSS 1.6
 * GiB. A heap ceiling can only be given on the command line, so when none was, the launcher starts
 * the server in a JVM of its own with one ({@link #HEAP_BYTES}, {@link #EMBEDDED_HEAP_BYTES} when
 * it also runs the embedded broker), passes its exit status on, and stops it on SIGTERM or Ctrl-C;
 * the server stops itself if the launcher dies. The server runs ParallelGC ({@link Collector#SHIPPED})
 * unless the command line chooses a collector; a JVM that serves in place keeps its own.
 *
 * <p>Nothing is relaunched when the command line (or {@code JAVA_TOOL_OPTIONS},
 * {@code JDK_JAVA_OPTIONS}) already sizes the heap or attaches a tool ({@link #TOOLS}), when the
 * JVM's own ceiling is no larger, when
 * {@code -Dportico.launcher=off} is given, or in the server itself ({@link Main} asks only outside it).
 */
final class Launcher {
    /** The system property naming the launcher's pid in the server it started. */
    static final String PARENT_PROPERTY = "portico.launcher.parent";
    /** {@code -Dportico.launcher=off}: serve in this JVM whatever its options. */
    static final String SWITCH_PROPERTY = "portico.launcher";

    /** The server's heap ceiling with an external cluster (what Confluent's REST Proxy starts with). */
    static final long HEAP_BYTES = 256L << 20;
    /** The server's heap ceiling when it runs the embedded broker too (whose heap the budgets do not count). */
    static final long EMBEDDED_HEAP_BYTES = 512L << 20;

    /**
     * How often the server hands memory that C code freed back to the system ({@code malloc_trim}),
     * in ms. HotSpot's compilers and direct buffers take native memory in bursts; glibc keeps what
     * they free, so the resident size stayed at its highest. Side by side (produce rows, then
     * consumer instances), the trim took 19–38 MiB off the peak RSS of every row.
     */
    static final String TRIM_OPTION = "-XX:TrimNativeHeapInterval=";
    static final int TRIM_MILLIS = 5000;

    /** Options that size the heap or its young generation: given any, the user chose. */
    private static final List<String> SIZING = List.of("-Xmx", "-Xms", "-Xmn", "-XX:MaxHeapSize=",
            "-XX:InitialHeapSize=", "-XX:MinHeapSize=", "-XX:MaxRAM=", "-XX:MaxRAMPercentage=",
            "-XX:MinRAMPercentage=", "-XX:InitialRAMPercentage=", "-XX:MaxRAMFraction=", "-XX:MinRAMFraction=",
            "-XX:InitialRAMFraction=", "-XX:MaxNewSize=", "-XX:NewSize=");

    /**
     * Options that attach a tool to the JVM (an agent, a debugger, JMX, a flight recording, a log
     * file): the launcher's JVM has it already, so a second JVM given it would find its port taken
     * (an exporter agent's, JDWP's, JMX's) and not start, or write over the same file. With any of
     * them the user's tool is meant for the server: it serves in place.
     */
    private static final List<String> TOOLS = List.of("-javaagent:", "-agentlib:", "-agentpath:", "-Xrunjdwp",
            "-Dcom.sun.management.jmxremote", "-XX:StartFlightRecording", "-XX:FlightRecorderOptions",
            "-Xloggc:", "-Xlog:");

    private Launcher() {
    }

    /**
     * The server's command line, or empty when this JVM should serve itself.
     *
     * @param jvmOptions this JVM's options ({@code RuntimeMXBean.getInputArguments()})
     * @param off whether {@code -Dportico.launcher=off} was given
     * @param javaHome this JVM's {@code java.home}
     * @param classPath this JVM's {@code java.class.path}
     * @param args the program's arguments
     * @param pid this process's id
     * @param maxHeap this JVM's heap ceiling (the JVM's default)
     * @param embedded whether the configuration runs the embedded broker
     * @param canTrim whether this JVM knows {@link #TRIM_OPTION} (JDK 17.0.9 and later)
     */
    static Optional<List<String>> serverCommand(List<String> jvmOptions, boolean off,
            String javaHome, String classPath, List<String> args, long pid, long maxHeap, boolean embedded,
            boolean canTrim) {
        long heap = embedded ? EMBEDDED_HEAP_BYTES : HEAP_BYTES;
        if (off || javaHome == null || classPath == null || classPath.isEmpty() || maxHeap <= heap) {
            return Optional.empty();
        }
        for (String option : jvmOptions) {
            if (sizes(option) || attaches(option)) {
                return Optional.empty();
            }
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(javaHome, "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-Xmx" + (heap >> 20) + "m");
        if (!Collector.chosen(jvmOptions)) {
            command.add(Collector.SHIPPED);
        }
        if (canTrim && jvmOptions.stream().noneMatch(o -> o.startsWith(TRIM_OPTION))) {
            command.add(TRIM_OPTION + TRIM_MILLIS);
        }
        command.add("-D" + PARENT_PROPERTY + "=" + pid);
        command.add("-cp");
        command.add(classPath);
        command.add(Main.class.getName());
        command.addAll(args);
        return Optional.of(command);
    }

    /**
     * Starts the server, waits for it and returns its exit status. SIGTERM or Ctrl-C here stop it
     * first (SIGTERM, then its graceful shutdown). The environment's JVM options are already among
     * {@code command}'s, so the server's environment goes without them.
     */
    static int run(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().remove("JAVA_TOOL_OPTIONS");
        builder.environment().remove("JDK_JAVA_OPTIONS");
        Process server = builder.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.destroy();
            try {
                server.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "portico-launcher-stop"));
        return server.waitFor();
    }

    /**
     * In the server: when the launcher {@code launcherPid} is gone (killed with SIGKILL, say), shut
     * down gracefully rather than serve on with nobody to stop it.
     */
    static void exitWithLauncher(long launcherPid) {
        Runnable stop = () -> {
            System.err.println("The launcher (pid " + launcherPid + ") is gone; Portico stops.");
            System.exit(1);
        };
        ProcessHandle.of(launcherPid).ifPresentOrElse(launcher -> launcher.onExit().thenRun(stop), stop);
    }

    /** Whether this JVM knows {@link #TRIM_OPTION}: a JVM given an option it does not know does not start. */
    static boolean canTrim() {
        HotSpotDiagnosticMXBean hotSpot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        if (hotSpot == null) {
            return false; // not HotSpot
        }
        try {
            hotSpot.getVMOption(TRIM_OPTION.substring(4, TRIM_OPTION.length() - 1));
            return true;
        } catch (IllegalArgumentException e) {
            return false; // an older HotSpot
        }
    }

    private static boolean attaches(String option) {
        for (String prefix : TOOLS) {
            if (option.startsWith(prefix) && (!prefix.equals("-Xlog:") || logsToFile(option))) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code -Xlog:what[:output[:…]]} writes to a file: an output named, not stdout or stderr. */
    private static boolean logsToFile(String option) {
        String[] parts = option.substring("-Xlog:".length()).split(":", -1);
        if (parts.length < 2 || parts[1].isEmpty()) {
            return false;
        }
        String output = parts[1].startsWith("file=") ? parts[1].substring(5) : parts[1];
        return !output.equals("stdout") && !output.equals("stderr");
    }

    private static boolean sizes(String option) {
        for (String prefix : SIZING) {
            if (option.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }
}
