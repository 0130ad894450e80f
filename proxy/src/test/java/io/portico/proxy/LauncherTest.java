package io.portico.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LauncherTest {
    private static final long GIB = 1L << 30;
    private static final String HOME = "/opt/jdk";
    private static final String JAR = "proxy/target/portico.jar";

    private static Optional<List<String>> command(List<String> jvmOptions, boolean off, long maxHeap) {
        return Launcher.serverCommand(jvmOptions, off, HOME, JAR, List.of("portico.properties"), 4242,
                maxHeap, false, false);
    }

    @Test
    void withNoHeapOptionTheServerRunsInAJvmOfItsOwnWithA256MiBHeap() {
        List<String> command = command(List.of("-Dfoo=bar", "-XX:+UseG1GC"), false, 6 * GIB).orElseThrow();
        assertEquals(List.of(Path.of(HOME, "bin", "java").toString(), "-Dfoo=bar", "-XX:+UseG1GC",
                "-Xmx256m", "-Dportico.launcher.parent=4242", "-cp", JAR, "io.portico.proxy.Main",
                "portico.properties"), command);
    }

    @Test
    void withTheEmbeddedBrokerTheHeapIs512MiB() {
        List<String> command = Launcher.serverCommand(List.of(), false, HOME, JAR, List.of(), 1, 6 * GIB, true, false)
                .orElseThrow();
        assertTrue(command.contains("-Xmx512m"), command.toString());
        assertEquals(Optional.empty(),
                Launcher.serverCommand(List.of(), false, HOME, JAR, List.of(), 1, 512L << 20, true, false),
                "a JVM whose own ceiling is no larger serves in place");
    }

    @Test
    void anOptionThatSizesTheHeapOrItsYoungGenerationIsTheUsersChoice() {
        for (String option : List.of("-Xmx2g", "-Xms512m", "-Xmn64m", "-XX:MaxHeapSize=1073741824",
                "-XX:MaxRAMPercentage=50", "-XX:InitialRAMPercentage=10", "-XX:MaxRAM=4g", "-XX:MaxNewSize=256m",
                "-XX:NewSize=32m", "-XX:MaxRAMFraction=2")) {
            assertEquals(Optional.empty(), command(List.of("-Dfoo=bar", option), false, 6 * GIB), option);
        }
    }

    @Test
    void anOptionThatAttachesAToolServesInPlaceWhereTheToolIsMeantToBe() {
        // A second JVM given these would find the agent's, debugger's or JMX port taken by the
        // launcher and not start, or write over the launcher's recording or log file.
        for (String option : List.of("-javaagent:/opt/jmx_prometheus_javaagent.jar=9404:config.yaml",
                "-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=*:5005", "-agentpath:/opt/yjp.so",
                "-Xrunjdwp:transport=dt_socket,server=y", "-Dcom.sun.management.jmxremote.port=9010",
                "-Dcom.sun.management.jmxremote", "-XX:StartFlightRecording=filename=rec.jfr",
                "-Xloggc:gc.log", "-Xlog:gc*:file=gc.log", "-Xlog:gc*:gc.log:time")) {
            assertEquals(Optional.empty(), command(List.of("-Dfoo=bar", option), false, 6 * GIB), option);
        }
        for (String console : List.of("-Xlog:gc", "-Xlog:gc*:stdout", "-Xlog:gc:stderr:uptime", "-Xlog:disable")) {
            assertTrue(command(List.of(console), false, 6 * GIB).isPresent(), "a log to the console is no tool: " + console);
        }
    }

    @Test
    void aJvmThatCanTrimItsNativeHeapHasTheServerDoItUnlessTheUserChoseAnInterval() {
        List<String> command = Launcher.serverCommand(List.of("-Dfoo=bar"), false, HOME, JAR, List.of(), 1, 6 * GIB,
                false, true).orElseThrow();
        assertEquals(List.of(Path.of(HOME, "bin", "java").toString(), "-Dfoo=bar", "-Xmx256m",
                "-XX:+UseParallelGC", "-XX:TrimNativeHeapInterval=5000", "-Dportico.launcher.parent=1", "-cp", JAR, "io.portico.proxy.Main"),
                command);
        List<String> chosen = Launcher.serverCommand(List.of("-XX:TrimNativeHeapInterval=0"), false, HOME, JAR,
                List.of(), 1, 6 * GIB, false, true).orElseThrow();
        assertEquals(1, chosen.stream().filter(o -> o.startsWith("-XX:TrimNativeHeapInterval=")).count(), chosen.toString());
        assertTrue(chosen.contains("-XX:TrimNativeHeapInterval=0"), chosen.toString());
        assertTrue(command(List.of(), false, 6 * GIB).orElseThrow().stream()
                .noneMatch(o -> o.startsWith("-XX:TrimNativeHeapInterval")), "a JVM without the option is not given it");
        Runtime.Version jdk = Runtime.version();
        if (jdk.feature() == 17 && jdk.update() >= 9) { // where the option arrived in 17
            assertTrue(Launcher.canTrim(), jdk.toString());
        }
    }

    @Test
    void theServerRunsParallelGcUnlessTheCommandLineChoseACollector() {
        List<String> command = command(List.of("-Dfoo=bar"), false, 6 * GIB).orElseThrow();
        assertEquals(1, command.stream().filter(o -> o.equals("-XX:+UseParallelGC")).count(), command.toString());
        for (String chosen : List.of("-XX:+UseG1GC", "-XX:+UseSerialGC", "-XX:+UseZGC", "-XX:+UseShenandoahGC",
                "-XX:-UseParallelGC", "-XX:+UseParallelGC", "-XX:+UseEpsilonGC")) {
            List<String> theirs = command(List.of(chosen), false, 6 * GIB).orElseThrow();
            assertEquals(List.of(chosen), theirs.stream().filter(o -> o.startsWith("-XX:+Use") || o.startsWith("-XX:-Use"))
                    .toList(), "only the user's choice: " + theirs);
        }
        for (String other : List.of("-XX:+UseLargePages", "-XX:+UseAdaptiveSizePolicyWithSystemGC", "-XX:+UseNUMA")) {
            List<String> notAChoice = command(List.of(other), false, 6 * GIB).orElseThrow();
            assertTrue(notAChoice.contains("-XX:+UseParallelGC"), "not a collector: " + notAChoice);
        }
    }

    @Test
    void anExplicitOffOrASmallHeapServesInPlace() {
        assertEquals(Optional.empty(), command(List.of(), true, 6 * GIB));
        assertEquals(Optional.empty(), command(List.of(), false, 256L << 20), "the JVM's own ceiling is no larger");
        assertTrue(command(List.of(), false, 257L << 20).isPresent());
    }
}
