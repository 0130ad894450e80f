package io.portico.bench;

import io.portico.bench.Bench.RowResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The results: the table on standard output, and the Markdown file in bench/results. */
final class Report {
    private static final double MIB = 1024.0 * 1024.0;

    private Report() {
    }

    /** The one table: a row per measurement. */
    static String table(List<RowResult> rows) {
        StringBuilder t = new StringBuilder();
        t.append("| row | records | records/s | MB/s | p50 ms | p99 ms | errors | Portico CPU | Portico peak RSS "
                + "| Portico heap peak / after GC | vs native |\n");
        t.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (RowResult r : rows) {
            Monitor.Usage u = r.usage();
            t.append("| ").append(r.id())
                    .append(" | ").append(Bench.fmt(r.records()))
                    .append(" | ").append(Bench.fmt(r.recordsPerSecond()))
                    .append(" | ").append(String.format(Locale.ROOT, "%.1f", r.megabytesPerSecond()))
                    .append(" | ").append(ms(r.latency().p50()))
                    .append(" | ").append(ms(r.latency().p99()))
                    .append(" | ").append(r.errors())
                    .append(" | ").append(u == null ? "—" : pct(u.porticoCpu()))
                    .append(" | ").append(u == null || u.porticoRss() <= 0 ? "—" : mib(u.porticoRss()))
                    .append(" | ").append(u == null || u.heap() == null ? "—"
                            : mib(u.heap().used()) + " / " + (u.heap().afterGc() > 0 ? mib(u.heap().afterGc())
                                    : "no GC"))
                    .append(" | ").append(ratio(r, rows))
                    .append(" |\n");
        }
        return t.toString();
    }

    private static String ratio(RowResult r, List<RowResult> rows) {
        if (r.baseline() == null) {
            return "1.00";
        }
        if (r.baseline().equals(Bench.NATIVE_TAIL)) { // a latency row: its p99 against the native consumer's
            RowResult b = find(Bench.NATIVE_TAIL, rows);
            return b == null || !(b.latency().p99() > 0) ? "—"
                    : String.format(Locale.ROOT, "p99 %.2f × tail", r.latency().p99() / b.latency().p99());
        }
        for (RowResult b : rows) {
            if (b.id().equals(r.baseline()) && b.recordsPerSecond() > 0) {
                return String.format(Locale.ROOT, "%.2f × %s", r.recordsPerSecond() / b.recordsPerSecond(),
                        b.id().startsWith("native-") ? b.id().substring("native-".length()) : "row " + b.id());
            }
        }
        return "—";
    }

    private static double ratioValue(String id, String baseline, List<RowResult> rows) {
        RowResult r = find(id, rows);
        RowResult b = find(baseline, rows);
        return r == null || b == null || b.recordsPerSecond() == 0 ? Double.NaN
                : r.recordsPerSecond() / b.recordsPerSecond();
    }

    private static RowResult find(String id, List<RowResult> rows) {
        return rows.stream().filter(r -> r.id().equals(id)).findFirst().orElse(null);
    }

    static Path write(Options o, LocalDateTime startedAt, List<RowResult> rows, List<String> runNotes,
                      Map<String, String> profiles, List<String> brokerCommand, List<String> porticoCommand,
                      Map<String, String> porticoProperties, Path work) throws IOException {
        Files.createDirectories(o.out());
        String stamp = DateTimeFormatter.ofPattern("yyyy-MM-dd-HHmm").format(startedAt);
        Path file = o.out().resolve(stamp + ".md");
        for (int i = 2; Files.exists(file); i++) {
            file = o.out().resolve(stamp + "-" + i + ".md");
        }
        StringBuilder md = new StringBuilder();
        md.append("# Portico benchmark, ").append(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm").format(startedAt))
                .append(' ').append(ZoneId.systemDefault().getId()).append("\n\n");
        md.append(o.quick() ? "A `--quick` run (tiny sizes: it checks the harness, its numbers mean little).\n\n" : "");
        md.append(o.profile() ? "A `--profile` run: JFR recorded Portico during each HTTP row, which slows some rows "
                + "noticeably; take ratios from a run without it. The profiles are at the end.\n\n" : "");
        md.append(table(rows)).append('\n');
        md.append("records/s and MB/s count record values only (").append(o.valueBytes())
                .append(" B each), not HTTP or JSON overhead. Latency is per HTTP request (per record for "
                        + "native-produce: send() to acknowledgement). CPU is % of one core over the row's wall "
                        + "time (this machine has ").append(nproc()).append(" cores). Heap peak is the most heap "
                        + "in use (just before a collection, or sampled every 300 ms); after GC, the most left "
                        + "after a collection. Produce rows are compared with native-produce, read rows with "
                        + "native-consume.\n\n");

        md.append("## Rows\n\n");
        for (RowResult r : rows) {
            md.append("- **").append(r.id()).append("**: ").append(r.what()).append(String.format(Locale.ROOT,
                    "; %,d records in %.2f s", r.records(), r.seconds()));
            if (r.requests() > 0 && !r.id().startsWith("native")) {
                md.append(String.format(Locale.ROOT, ", %,d requests (%,.0f/s)", r.requests(),
                        r.requests() / r.seconds()));
            }
            if (!Double.isNaN(r.latency().p50())) {
                md.append(String.format(Locale.ROOT, "; latency p99.9 %s ms, max %s ms", ms(r.latency().p999()),
                        ms(r.latency().max())));
            }
            for (String n : r.notes()) {
                md.append("; ").append(n);
            }
            md.append(".\n");
            if (r.errors() > 0) {
                md.append("  - errors: ").append(r.errorKinds()).append('\n');
                for (String s : r.errorSamples()) {
                    md.append("  - e.g. `").append(s.replace('`', '\'').replace('\n', ' ')).append("`\n");
                }
            }
        }
        md.append('\n');

        md.append("## Targets of issue 6\n\n| target | this run | met |\n| --- | --- | --- |\n");
        target(md, "a ≥ 50% of native-produce records/s", ratioValue("a", "native-produce", rows), 0.5);
        for (String id : List.of("b", "c")) {
            RowResult r = find(id, rows);
            if (r != null) {
                boolean met = r.recordsPerSecond() >= 20_000 && r.latency().p99() <= 20.0;
                md.append(String.format(Locale.ROOT, "| %s ≥ 20,000 records/s over 64 connections, p99 ≤ 20 ms | "
                                + "%s records/s, p99 %s ms (%s) | %s |%n", id, Bench.fmt(r.recordsPerSecond()),
                        ms(r.latency().p99()), r.what().replaceAll(".*, (\\d+ connections)$", "$1"),
                        met ? "yes" : "**no**"));
            }
        }
        target(md, "g (v3 streaming produce) ≥ 80% of native-produce records/s",
                ratioValue("g", "native-produce", rows), 0.8);
        target(md, "d ≥ 50% of native-consume records/s", ratioValue("d", "native-consume", rows), 0.5);
        target(md, "h (v3 read by offset) ≥ 50% of native-consume records/s",
                ratioValue("h", "native-consume", rows), 0.5);
        target(md, "e ≥ 50% of native-consume records/s", ratioValue("e", "native-consume", rows), 0.5);
        RowResult rowE = find("e", rows);
        RowResult rowF = find("f", rows);
        if (rowE != null && rowF != null) {
            double ratio = rowF.recordsPerSecond() / rowE.recordsPerSecond();
            md.append(String.format(Locale.ROOT, "| f (v2 consumer reads) within 10%% of e (v1 instance reads) | %.2f × e | %s |%n",
                    ratio, ratio >= 0.9 ? "yes" : "**no**"));
        }
        RowResult rowI = find("i", rows);
        if (rowF != null && rowI != null) {
            md.append(String.format(Locale.ROOT, "| i (f's reads relayed through another node): the cost of a relayed "
                    + "read, as a ratio to f | %.2f × f | (reported) |%n", rowI.recordsPerSecond() / rowF.recordsPerSecond()));
        }
        target(md, "k (Server-Sent Events drain) ≥ 80% of native-consume records/s",
                ratioValue("k", "native-consume", rows), 0.8);
        RowResult rowL = find("l", rows);
        RowResult tail = find(Bench.NATIVE_TAIL, rows);
        if (rowL != null && tail != null) {
            double ratio = rowL.latency().p99() / tail.latency().p99();
            md.append(String.format(Locale.ROOT, "| l (Server-Sent Events live tail) p99 ≤ 2 × native-tail's (produce "
                            + "acknowledged → record received) | %s ms vs %s ms: %.2f × | %s |%n", ms(rowL.latency().p99()),
                    ms(tail.latency().p99()), ratio, ratio <= 2.0 ? "yes" : "**no**"));
        }
        long heapPeak = rows.stream().filter(r -> r.usage() != null && r.usage().heap() != null)
                .mapToLong(r -> r.usage().heap().used()).max().orElse(-1);
        md.append(String.format(Locale.ROOT, "| Portico heap ≤ 256 MiB in every row | -Xmx%s; peak %s; Portico "
                        + "stayed up: %s | %s |%n", o.porticoHeap(), heapPeak < 0 ? "?" : mib(heapPeak),
                runNotes.stream().anyMatch(n -> n.contains("died")) ? "no" : "yes",
                heapPeak >= 0 && heapPeak <= 256L * 1024 * 1024 && runNotes.stream().noneMatch(n -> n.contains("died"))
                        ? "yes" : "**no**"));
        long errors = rows.stream().mapToLong(RowResult::errors).sum();
        md.append(String.format(Locale.ROOT, "| no errors in any row | %d errors | %s |%n%n", errors,
                errors == 0 && rows.size() == Bench.expectedRows(o) ? "yes" : "**no**"));

        md.append("## Where the CPU went\n\n% of one core during each row (").append(nproc())
                .append(" cores = ").append(nproc() * 100).append("%). The bench JVM is the load generator for "
                        + "HTTP rows and the native client for native rows.\n\n");
        md.append("| row | seconds | Portico | broker | bench JVM | total | Portico GCs (ms) |\n"
                + "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (RowResult r : rows) {
            Monitor.Usage u = r.usage();
            if (u == null) {
                continue;
            }
            md.append(String.format(Locale.ROOT, "| %s | %.2f | %s | %s | %s | %s | %s |%n", r.id(), u.seconds(),
                    pct(u.porticoCpu()), pct(u.brokerCpu()), pct(u.benchCpu()),
                    pct(u.porticoCpu() + u.brokerCpu() + u.benchCpu()),
                    u.gcCount() < 0 ? "—" : u.gcCount() + " (" + u.gcMillis() + ")"));
        }
        md.append("\nPortico's CPU by thread (from /proc; names cut to 15 characters by Linux, numbers dropped):\n\n");
        for (RowResult r : rows) {
            Monitor.Usage u = r.usage();
            if (u == null || r.id().startsWith("native")) {
                continue;
            }
            List<String> parts = new ArrayList<>();
            for (Map.Entry<String, Double> e : u.threads().entrySet()) {
                if (parts.size() == 8 || e.getValue() < 0.5) {
                    break;
                }
                parts.add(e.getKey() + " " + pct(e.getValue()));
            }
            md.append("- ").append(r.id()).append(": ").append(String.join(", ", parts)).append('\n');
        }
        md.append('\n');

        if (!runNotes.isEmpty()) {
            md.append("## Notes\n\n");
            for (String n : runNotes) {
                md.append("- ").append(n).append('\n');
            }
            md.append('\n');
        }

        if (!profiles.isEmpty()) {
            md.append("## Profiles (JFR, Portico's JVM, one recording per row)\n\n");
            profiles.forEach((id, text) -> md.append("### Row ").append(id).append("\n\n").append(text).append('\n'));
        }

        md.append("## Setup\n\n");
        md.append("- Machine: ").append(nproc()).append(" cores (").append(cpuModel()).append("), ")
                .append(memTotal()).append(" memory, Linux ").append(read("/proc/sys/kernel/osrelease"))
                .append('\n');
        md.append("- Java: ").append(javaVersion()).append('\n');
        md.append("- Portico: ").append(git(o.root())).append('\n');
        md.append("- Settings: ").append(o.describe()).append('\n');
        md.append("- Broker: `").append(brokerCommand == null ? "?" : shorten(brokerCommand, o.root()))
                .append("` (Portico's EmbeddedKafka: one KRaft node, 3 partitions per topic, on 127.0.0.1)\n");
        md.append("- Portico: `").append(porticoCommand == null ? "?" : shorten(porticoCommand, o.root()))
                .append("` with bench.properties:");
        if (porticoProperties != null) {
            porticoProperties.forEach((k, v) -> md.append(" `").append(k).append('=').append(v).append('`'));
        }
        md.append('\n');
        md.append("- Load generator: closed loop, keep-alive HTTP/1.1, no pipelining, ").append(o.loadThreads())
                .append(" NIO thread(s) in the bench JVM; all three JVMs share the machine\n");
        md.append("- Logs of this run: `").append(o.root().relativize(work.toAbsolutePath())).append("`\n");
        Files.writeString(file, md.toString(), StandardCharsets.UTF_8);
        return file;
    }

    private static void target(StringBuilder md, String what, double ratio, double min) {
        md.append(String.format(Locale.ROOT, "| %s | %s | %s |%n", what,
                Double.isNaN(ratio) ? "not run" : String.format(Locale.ROOT, "%.0f%%", ratio * 100),
                Double.isNaN(ratio) ? "—" : ratio >= min ? "yes" : "**no**"));
    }

    private static String shorten(List<String> command, Path root) {
        String s = String.join(" ", command);
        return s.replace(root.toAbsolutePath() + "/", "").replace(System.getProperty("java.home") + "/bin/", "");
    }

    static String ms(double v) {
        if (Double.isNaN(v)) {
            return "—";
        }
        return v < 10 ? String.format(Locale.ROOT, "%.2f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    static String pct(double v) {
        return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%.0f%%", v);
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / MIB);
    }

    static int nproc() {
        String n = run(List.of("nproc"));
        try {
            return Integer.parseInt(n.trim());
        } catch (NumberFormatException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    private static String cpuModel() {
        for (String line : read("/proc/cpuinfo").split("\n")) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "?";
    }

    private static String memTotal() {
        for (String line : read("/proc/meminfo").split("\n")) {
            if (line.startsWith("MemTotal:")) {
                long kb = Long.parseLong(line.replaceAll("\\D", ""));
                return String.format(Locale.ROOT, "%.1f GiB", kb / 1024.0 / 1024.0);
            }
        }
        return "?";
    }

    private static String javaVersion() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return run(List.of(java, "-version")).trim().replace("\n", "; ");
    }

    private static String git(Path root) {
        String commit = run(List.of("git", "-C", root.toString(), "rev-parse", "--short=12", "HEAD")).trim();
        String branch = run(List.of("git", "-C", root.toString(), "rev-parse", "--abbrev-ref", "HEAD")).trim();
        String dirty = run(List.of("git", "-C", root.toString(), "status", "--porcelain", "--untracked-files=no",
                "--", "protocol", "consumer-sessions", "proxy")).trim();
        return "commit " + (commit.isEmpty() ? "?" : commit) + " (" + branch + ")"
                + (dirty.isEmpty() ? "" : ", with uncommitted changes to Portico's sources");
    }

    private static String read(String path) {
        try {
            return Files.readString(Path.of(path), StandardCharsets.UTF_8).trim();
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    private static String run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return p.exitValue() == 0 ? out : "";
        } catch (IOException | RuntimeException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
