package io.portico.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarizes a JFR recording of Portico during one row: where the CPU samples land (the method
 * on top of the stack, the library it belongs to, the thread), which Portico methods are on the
 * stacks, and what allocates. Markdown, for the results file.
 */
public final class Profile {
    private Profile() {
    }

    /** The summary as Markdown, {@code top} lines per list. */
    public static String summarize(Path jfr, int top) throws IOException {
        Map<String, Long> selfMethods = new HashMap<>();
        Map<String, Long> libraries = new HashMap<>();
        Map<String, Long> threads = new HashMap<>();
        Map<String, Long> porticoInclusive = new HashMap<>();
        Map<String, Long> allocSites = new HashMap<>();
        Map<String, Long> allocClasses = new HashMap<>();
        Map<String, Long> nativeTop = new HashMap<>();
        long samples = 0;
        long nativeSamples = 0;
        long allocTotal = 0;
        for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
            String type = e.getEventType().getName();
            switch (type) {
                case "jdk.ExecutionSample" -> {
                    RecordedStackTrace st = e.getStackTrace();
                    if (st == null || st.getFrames().isEmpty()) {
                        continue;
                    }
                    samples++;
                    List<RecordedFrame> frames = st.getFrames();
                    selfMethods.merge(method(frames.get(0)), 1L, Long::sum);
                    libraries.merge(library(frames.get(0)), 1L, Long::sum);
                    RecordedThread t = e.getThread("sampledThread");
                    threads.merge(ProcStats.threadGroup(threadName(t)), 1L, Long::sum);
                    java.util.Set<String> seen = new java.util.HashSet<>();
                    for (RecordedFrame f : frames) {
                        String m = method(f);
                        if (m.startsWith("io.portico.") && seen.add(m)) {
                            porticoInclusive.merge(m, 1L, Long::sum);
                        }
                    }
                }
                case "jdk.NativeMethodSample" -> {
                    RecordedStackTrace st = e.getStackTrace();
                    if (st == null || st.getFrames().isEmpty()) {
                        continue;
                    }
                    nativeSamples++;
                    nativeTop.merge(method(st.getFrames().get(0)), 1L, Long::sum);
                }
                case "jdk.ObjectAllocationSample" -> {
                    long weight = e.getLong("weight");
                    allocTotal += weight;
                    String cls = e.getClass("objectClass") == null ? "?" : e.getClass("objectClass").getName();
                    allocClasses.merge(cls, weight, Long::sum);
                    RecordedStackTrace st = e.getStackTrace();
                    if (st != null && !st.getFrames().isEmpty()) {
                        allocSites.merge(allocationSite(st.getFrames()), weight, Long::sum);
                    }
                }
                default -> {
                    // not summarized
                }
            }
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%,d CPU samples (jdk.ExecutionSample; Java code only), %,d native-method"
                + " samples, %,.0f MiB allocation sampled.%n%n", samples, nativeSamples, allocTotal / 1048576.0));
        table(out, "Hottest methods (self, top of stack)", selfMethods, samples, top, false);
        table(out, "CPU samples by library (top frame)", libraries, samples, top, false);
        table(out, "CPU samples by thread", threads, samples, top, false);
        table(out, "Portico methods on the stack (inclusive)", porticoInclusive, samples, top, false);
        table(out, "Allocation by first non-JDK frame", allocSites, allocTotal, top, true);
        table(out, "Allocation by class", allocClasses, allocTotal, top, true);
        table(out, "Threads in native code (top frame)", nativeTop, nativeSamples, Math.min(top, 8), false);
        return out.toString();
    }

    private static void table(StringBuilder out, String title, Map<String, Long> counts, long total, int top,
                              boolean bytes) {
        if (counts.isEmpty() || total == 0) {
            return;
        }
        out.append("*").append(title).append("*\n\n| share | ").append(bytes ? "MiB" : "samples")
                .append(" | what |\n| ---: | ---: | --- |\n");
        List<Map.Entry<String, Long>> sorted = new ArrayList<>(counts.entrySet());
        sorted.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        for (Map.Entry<String, Long> e : sorted.subList(0, Math.min(top, sorted.size()))) {
            out.append(String.format(Locale.ROOT, "| %.1f%% | %s | `%s` |%n", 100.0 * e.getValue() / total,
                    bytes ? String.format(Locale.ROOT, "%,.0f", e.getValue() / 1048576.0)
                            : String.format(Locale.ROOT, "%,d", e.getValue()),
                    e.getKey().replace("|", "\\|")));
        }
        out.append('\n');
    }

    private static String method(RecordedFrame f) {
        if (f.getMethod() == null) {
            return "?";
        }
        return f.getMethod().getType().getName() + "." + f.getMethod().getName();
    }

    /** The library a frame's class belongs to, by package. */
    static String library(RecordedFrame f) {
        String cls = f.getMethod() == null ? "?" : f.getMethod().getType().getName();
        String[][] known = {
            {"io.portico.", "Portico"},
            {"io.undertow.", "Undertow"},
            {"org.xnio.", "XNIO"},
            {"org.apache.kafka.", "Kafka clients"},
            {"com.fasterxml.jackson.", "Jackson"},
            {"com.github.benmanes.caffeine.", "Caffeine"},
            {"org.slf4j.", "SLF4J"},
            {"sun.nio.", "JDK NIO"},
            {"java.nio.", "JDK NIO"},
            {"java.util.concurrent.", "JDK java.util.concurrent"},
            {"java.util.", "JDK java.util"},
            {"java.lang.", "JDK java.lang"},
            {"jdk.internal.", "JDK internal"},
            {"sun.", "JDK sun.*"},
            {"java.", "JDK other"},
        };
        for (String[] k : known) {
            if (cls.startsWith(k[0])) {
                return k[1];
            }
        }
        return cls.contains(".") ? cls.substring(0, cls.lastIndexOf('.')) : cls;
    }

    private static String allocationSite(List<RecordedFrame> frames) {
        for (RecordedFrame f : frames) {
            String m = method(f);
            if (!m.startsWith("java.") && !m.startsWith("jdk.") && !m.startsWith("sun.")) {
                return m;
            }
        }
        return method(frames.get(0));
    }

    private static String threadName(RecordedThread t) {
        if (t == null) {
            return "?";
        }
        String name = t.getJavaName() != null ? t.getJavaName() : t.getOSName();
        if (name == null) {
            return "?";
        }
        // The same grouping as /proc shows (15 characters), so both tables agree.
        return name.length() > 15 ? name.substring(0, 15) : name;
    }
}
