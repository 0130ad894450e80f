package io.portico.bench;

import io.portico.bench.Bench.RowResult;
import io.portico.bench.Bench.Section;
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
                + "| Portico heap peak / after GC | vs |\n");
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
                        baselineName(b.id()));
            }
        }
        return "—";
    }

    /** How the vs column names a baseline. */
    static String baselineName(String id) {
        return switch (id) {
            case Bench.NATIVE_PRODUCE -> "produce";
            case Bench.NATIVE_TUNED -> "tuned produce";
            case Bench.NATIVE_CONSUME -> "consume";
            case Bench.ROOT -> "GET /";
            case "wrk-" + Bench.ROOT -> "wrk GET /";
            default -> "row " + id;
        };
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

    static Path write(Options o, LocalDateTime startedAt, String source, List<Section> sections, boolean wrk, List<String> runNotes,
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
        for (Section section : sections) {
            md.append("## ").append(section.title()).append("\n\n").append(table(section.rows())).append('\n');
        }
        md.append("records/s and MB/s count record values only (").append(o.valueBytes())
                .append(" B each), not HTTP or JSON overhead; for GET / (root, wrk-root) records/s are requests/s. "
                        + "Latency is per HTTP request (per record for the native producers: send() to "
                        + "acknowledgement). CPU is % of one core over the row's wall time (this machine has ")
                .append(nproc()).append(" cores). Heap peak is the most heap in use (just before a collection, or "
                        + "sampled every 300 ms); after GC, the most left after a collection. The vs column is the "
                        + "row's records/s over its baseline's, in the same table: batched and streaming produce "
                        + "(a, wrk-a, g) over native-produce-tuned, single-record produce over GET / on the same "
                        + "generator (b, c, o over root; wrk-b, wrk-c, wrk-o over wrk-root), j over row a, and the read rows "
                        + "(both generators) over native-consume.")
                .append(wrk ? " Rows named wrk-… are measured with wrk (-t" + Wrk.THREADS + ", " + o.wrkSeconds()
                        + " s each after an untimed run), the others with the bench's own generator." : "")
                .append("\n\n");

        md.append("## Rows\n\n");
        for (Section section : sections) {
            for (RowResult r : section.rows()) {
                md.append("- **").append(label(r, section, sections)).append("**: ").append(r.what())
                        .append(String.format(Locale.ROOT, "; %,d records in %.2f s", r.records(), r.seconds()));
                if (r.requests() > 0 && !r.id().startsWith("native")) {
                    md.append(String.format(Locale.ROOT, ", %,d requests (%,.0f/s)", r.requests(),
                            r.requests() / r.seconds()));
                }
                if (!Double.isNaN(r.latency().p999())) {
                    md.append(String.format(Locale.ROOT, "; latency p99.9 %s ms, max %s ms", ms(r.latency().p999()),
                            ms(r.latency().max())));
                } else if (!Double.isNaN(r.latency().max())) {
                    md.append(String.format(Locale.ROOT, "; latency max %s ms", ms(r.latency().max())));
                }
                for (String n : r.notes()) {
                    md.append("; ").append(n);
                }
                md.append(".\n");
                if (r.errors() > 0) {
                    md.append("  - errors: ").append(r.errorKinds()).append('\n');
                    for (String e : r.errorSamples()) {
                        md.append("  - e.g. `").append(e.replace('`', '\'').replace('\n', ' ')).append("`\n");
                    }
                }
            }
        }
        md.append('\n');

        issue18(md, o, sections, wrk, runNotes);
        otherTargets(md, o, sections, wrk, runNotes);

        md.append("## Where the CPU went\n\n% of one core during each row (").append(nproc())
                .append(" cores = ").append(nproc() * 100).append("%). The bench JVM is the load generator for "
                        + "HTTP rows and the native client for native rows.\n\n");
        md.append("| row | seconds | Portico | broker | bench JVM | total | Portico GCs (ms) |\n"
                + "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Section section : sections) {
            for (RowResult r : section.rows()) {
                cpuLine(md, label(r, section, sections), r.usage());
            }
        }
        if (wrk) {
            md.append("\nThe wrk rows' load generator is wrk, not the bench JVM: its CPU is in each wrk row's notes.\n");
        }
        md.append("\nPortico's CPU by thread (from /proc; names cut to 15 characters by Linux, numbers dropped):\n\n");
        for (Section section : sections) {
            for (RowResult r : section.rows()) {
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
                md.append("- ").append(label(r, section, sections)).append(": ").append(String.join(", ", parts))
                        .append('\n');
            }
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
        md.append("- Portico: ").append(source).append(" when the run started\n");
        md.append("- Settings: ").append(o.describe()).append('\n');
        md.append("- wrk: ").append(wrk ? Wrk.version(Wrk.find()) : o.wrk() ? "not installed (apt-get install wrk)" : "not used (--no-wrk)").append('\n');
        md.append("- Broker: `").append(brokerCommand == null ? "?" : shorten(brokerCommand, o.root()))
                .append("` (Portico's EmbeddedKafka: one KRaft node, on 127.0.0.1; topics of ")
                .append(o.partitions().stream().map(String::valueOf).reduce((a, b) -> a + " and " + b).orElse("?"))
                .append(" partitions)\n");
        md.append("- Portico: `").append(porticoCommand == null ? "?" : shorten(porticoCommand, o.root()))
                .append("` with bench.properties:");
        if (porticoProperties != null) {
            porticoProperties.forEach((k, v) -> md.append(" `").append(k).append('=').append(v).append('`'));
        }
        md.append('\n');
        md.append("- Load generators: the bench's own (closed loop, keep-alive HTTP/1.1, no pipelining, ")
                .append(o.loadThreads()).append(" NIO thread(s) in the bench JVM)")
                .append(wrk ? " and wrk (keep-alive, -t" + Wrk.THREADS + ", --timeout " + Wrk.TIMEOUT_SECONDS + "s)" : "")
                .append("; all processes share the machine\n");
        md.append("- Logs of this run: `").append(o.root().relativize(work.toAbsolutePath())).append("`\n");
        Files.writeString(file, md.toString(), StandardCharsets.UTF_8);
        return file;
    }

    private static void cpuLine(StringBuilder md, String label, Monitor.Usage u) {
        if (u == null) {
            return;
        }
        md.append(String.format(Locale.ROOT, "| %s | %.2f | %s | %s | %s | %s | %s |%n", label, u.seconds(),
                pct(u.porticoCpu()), pct(u.brokerCpu()), pct(u.benchCpu()), pct(u.porticoCpu() + u.brokerCpu()
                        + u.benchCpu()), u.gcCount() < 0 ? "—" : u.gcCount() + " (" + u.gcMillis() + ")"));
    }

    /** A row's name outside its table: with its partitions when the run has several sections. */
    private static String label(RowResult r, Section section, List<Section> sections) {
        return sections.size() > 1 && !section.last() ? r.id() + " (" + section.title() + ")"
                : sections.size() > 1 ? r.id() + " (" + section.partitions() + " partitions)" : r.id();
    }

    /** Whether Portico ran as shipped: no -Xmx of the bench's nor among the extra JVM options. */
    static boolean asShipped(Options o) {
        return o.porticoHeap() == null && o.porticoJvmOptions().stream().noneMatch(j -> j.startsWith("-Xmx"));
    }

    /** The targets of issue 18: one line per target, generator and (for produce rows) partition count. */
    private static void issue18(StringBuilder md, Options o, List<Section> sections, boolean wrk,
                                List<String> runNotes) {
        if (sections.isEmpty()) {
            return; // no row ran (the run failed before them: its notes say why)
        }
        md.append("## Targets of issue 18\n\nRatios in this run, on both generators (bench: the bench's own; wrk: "
                + "wrk over the same connections).\n\n| target | generator | partitions | this run | met |\n"
                + "| --- | --- | ---: | --- | --- |\n");
        String noWrk = o.wrk() ? "not run: wrk is not installed (apt-get install wrk)" : "not run (--no-wrk)";
        for (String gen : List.of("bench", "wrk")) {
            String x = gen.equals("wrk") ? "wrk-" : "";
            for (Section s : sections) {
                String parts = String.valueOf(s.partitions());
                ratioTarget(md, "batched v1 produce (" + x + "a) ≥ 80% of native-produce-tuned", gen, parts,
                        find(x + "a", s.rows()), find(Bench.NATIVE_TUNED, s.rows()), 0.8, wrk || x.isEmpty(), noWrk);
                for (String id : List.of("b", "c")) {
                    String what = (id.equals("b") ? "single-record v1 produce (" : "records endpoint (") + x + id
                            + ") ≥ 70% of GET / (" + x + "root), p99 ≤ 10 ms at 64 connections";
                    RowResult r = find(x + id, s.rows());
                    RowResult b = find(x + Bench.ROOT, s.rows());
                    if (!x.isEmpty() && !wrk) {
                        line(md, what, gen, parts, noWrk, "—");
                    } else if (r == null || b == null || !(b.recordsPerSecond() > 0)) {
                        line(md, what, gen, parts, "not run", "—");
                    } else {
                        double ratio = r.recordsPerSecond() / b.recordsPerSecond();
                        boolean met = ratio >= 0.7 && r.latency().p99() <= 10.0 && o.connections() == 64;
                        line(md, what, gen, parts, String.format(Locale.ROOT, "%.0f%% (%s / %s records/s), p99 %s ms, "
                                        + "%d connections", ratio * 100, Bench.fmt(r.recordsPerSecond()),
                                Bench.fmt(b.recordsPerSecond()), ms(r.latency().p99()), o.connections()),
                                met ? "yes" : "**no**");
                    }
                }
            }
            Section last = sections.get(sections.size() - 1);
            String parts = String.valueOf(last.partitions());
            List<RowResult> rows = last.rows();
            RowResult consume = find(Bench.NATIVE_CONSUME, rows);
            if (x.isEmpty()) {
                ratioTarget(md, "v3 streaming produce (g) ≥ 90% of native-produce-tuned", gen, parts, find("g", rows),
                        find(Bench.NATIVE_TUNED, rows), 0.9, true, noWrk);
            } else {
                line(md, "v3 streaming produce ≥ 90% of native-produce-tuned", gen, parts,
                        "— (one streamed request per connection: the bench's generator only)", "—");
            }
            ratioTarget(md, "read by offset walking sequentially (" + x + "d) ≥ 80% of native-consume", gen, parts,
                    find(x + "d", rows), consume, 0.8, wrk || x.isEmpty(), noWrk);
            ratioTarget(md, "read by offset at random offsets (" + x + "m) ≥ 50% of native-consume", gen, parts,
                    find(x + "m", rows), consume, 0.5, wrk || x.isEmpty(), noWrk);
            if (x.isEmpty()) {
                ratioTarget(md, "one consumer instance draining (n) ≥ 60% of native-consume", gen, parts,
                        find("n", rows), consume, 0.6, true, noWrk);
                ratioTarget(md, "v2 consumer instances (f) ≥ 60% of native-consume", gen, parts, find("f", rows),
                        consume, 0.6, true, noWrk);
                ratioTarget(md, "Server-Sent Events drain (k) ≥ 60% of native-consume", gen, parts, find("k", rows),
                        consume, 0.6, true, noWrk);
            } else {
                line(md, "consumer instances (n), v2 (f) and Server-Sent Events (k) ≥ 60% of native-consume", gen,
                        parts, "— (long polls and streams: the bench's generator only)", "—");
            }
            List<RowResult> genRows = sections.stream().flatMap(s -> s.rows().stream())
                    .filter(r -> !r.id().startsWith("native") && r.id().startsWith("wrk-") == !x.isEmpty()).toList();
            long rss = genRows.stream().filter(r -> r.usage() != null).mapToLong(r -> r.usage().porticoRss()).max()
                    .orElse(-1);
            String all = sections.size() > 1 ? "all" : parts;
            if (!x.isEmpty() && !wrk) {
                line(md, "Portico's peak RSS ≤ 512 MiB in every row, as shipped", gen, all, noWrk, "—");
            } else if (!asShipped(o)) {
                line(md, "Portico's peak RSS ≤ 512 MiB in every row, as shipped", gen, all, "not judged: Portico ran "
                        + "with -Xmx" + (o.porticoHeap() == null ? "" : o.porticoHeap()) + " (run without "
                        + "--portico-heap)", "—");
            } else {
                line(md, "Portico's peak RSS ≤ 512 MiB in every row, as shipped", gen, all,
                        "peak " + (rss < 0 ? "?" : mib(rss)), rss > 0 && rss <= 512L * 1024 * 1024 ? "yes" : "**no**");
            }
        }
        List<RowResult> rows = sections.stream().flatMap(s -> s.rows().stream()).toList();
        boolean died = runNotes.stream().anyMatch(n -> n.contains("died") || n.startsWith("The run failed"));
        long errors = rows.stream().mapToLong(RowResult::errors).sum();
        boolean complete = rows.size() == Bench.expectedRows(o, wrk);
        if ("256m".equalsIgnoreCase(o.porticoHeap())) {
            line(md, "with -Xmx256m no row fails", "both", sections.size() > 1 ? "all" : String.valueOf(
                    sections.get(0).partitions()), String.format(Locale.ROOT, "%d errors, %d of %d rows; Portico "
                            + "stayed up: %s", errors, rows.size(), Bench.expectedRows(o, wrk), died ? "no" : "yes"),
                    errors == 0 && complete && !died ? "yes" : "**no**");
        } else {
            line(md, "with -Xmx256m no row fails", "both", "all", "not judged: run with --portico-heap 256m", "—");
        }
        md.append('\n');
    }

    private static void ratioTarget(StringBuilder md, String what, String gen, String parts, RowResult r,
                                    RowResult b, double min, boolean ran, String notRan) {
        if (!ran) {
            line(md, what, gen, parts, notRan, "—");
        } else if (r == null || b == null || !(b.recordsPerSecond() > 0)) {
            line(md, what, gen, parts, "not run", "—");
        } else {
            double ratio = r.recordsPerSecond() / b.recordsPerSecond();
            line(md, what, gen, parts, String.format(Locale.ROOT, "%.0f%% (%s / %s records/s)", ratio * 100,
                    Bench.fmt(r.recordsPerSecond()), Bench.fmt(b.recordsPerSecond())), ratio >= min ? "yes" : "**no**");
        }
    }

    private static void line(StringBuilder md, String what, String gen, String parts, String result, String met) {
        md.append("| ").append(what).append(" | ").append(gen).append(" | ").append(parts).append(" | ")
                .append(result).append(" | ").append(met).append(" |\n");
    }

    /** The targets of issues 6 and 17 that issue 18 did not restate, on the last section's rows. */
    private static void otherTargets(StringBuilder md, Options o, List<Section> sections, boolean wrk,
                                     List<String> runNotes) {
        List<RowResult> rows = sections.get(sections.size() - 1).rows();
        md.append("## Other targets (issues 6 and 17)\n\n| target | this run | met |\n| --- | --- | --- |\n");
        target(md, "h (v3 read by offset) ≥ 50% of native-consume records/s",
                ratioValue("h", Bench.NATIVE_CONSUME, rows), 0.5);
        RowResult rowE = find("e", rows);
        RowResult rowF = find("f", rows);
        if (rowE != null && rowF != null) {
            double ratio = rowF.recordsPerSecond() / rowE.recordsPerSecond();
            md.append(String.format(Locale.ROOT, "| f (v2 consumer reads) within 10%% of e (v1 instance reads) | %.2f × e | %s |%n",
                    ratio, ratio >= 0.9 ? "yes" : "**no**"));
        }
        target(md, "e (3 consumer instances) ≥ 50% of native-consume records/s",
                ratioValue("e", Bench.NATIVE_CONSUME, rows), 0.5);
        RowResult rowI = find("i", rows);
        if (rowF != null && rowI != null) {
            md.append(String.format(Locale.ROOT, "| i (f's reads relayed through another node): the cost of a relayed "
                    + "read, as a ratio to f | %.2f × f | (reported) |%n", rowI.recordsPerSecond() / rowF.recordsPerSecond()));
        }
        target(md, "k (Server-Sent Events drain) ≥ 80% of native-consume records/s",
                ratioValue("k", Bench.NATIVE_CONSUME, rows), 0.8);
        RowResult rowL = find("l", rows);
        RowResult tail = find(Bench.NATIVE_TAIL, rows);
        if (rowL != null && tail != null) {
            double ratio = rowL.latency().p99() / tail.latency().p99();
            md.append(String.format(Locale.ROOT, "| l (Server-Sent Events live tail) p99 ≤ 2 × native-tail's (produce "
                            + "acknowledged → record received) | %s ms vs %s ms: %.2f × | %s |%n", ms(rowL.latency().p99()),
                    ms(tail.latency().p99()), ratio, ratio <= 2.0 ? "yes" : "**no**"));
        }
        List<RowResult> all = sections.stream().flatMap(s -> s.rows().stream()).toList();
        long errors = all.stream().mapToLong(RowResult::errors).sum();
        md.append(String.format(Locale.ROOT, "| no errors in any row | %d errors, %d of %d rows | %s |%n%n", errors,
                all.size(), Bench.expectedRows(o, wrk),
                errors == 0 && all.size() == Bench.expectedRows(o, wrk) ? "yes" : "**no**"));
    }

    private static void target(StringBuilder md, String what, double ratio, double min) {
        md.append(String.format(Locale.ROOT, "| %s | %s | %s |%n", what,
                Double.isNaN(ratio) ? "not run" : String.format(Locale.ROOT, "%.0f%%", ratio * 100),
                Double.isNaN(ratio) ? "—" : ratio >= min ? "yes" : "**no**"));
    }

    static String shorten(List<String> command, Path root) {
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

    static String cpuModel() {
        for (String line : read("/proc/cpuinfo").split("\n")) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "?";
    }

    static String memTotal() {
        for (String line : read("/proc/meminfo").split("\n")) {
            if (line.startsWith("MemTotal:")) {
                long kb = Long.parseLong(line.replaceAll("\\D", ""));
                return String.format(Locale.ROOT, "%.1f GiB", kb / 1024.0 / 1024.0);
            }
        }
        return "?";
    }

    static String javaVersion() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return run(List.of(java, "-version")).trim().replace("\n", "; ");
    }

    static String git(Path root) {
        String commit = run(List.of("git", "-C", root.toString(), "rev-parse", "--short=12", "HEAD")).trim();
        String branch = run(List.of("git", "-C", root.toString(), "rev-parse", "--abbrev-ref", "HEAD")).trim();
        String dirty = run(List.of("git", "-C", root.toString(), "status", "--porcelain", "--untracked-files=no",
                "--", "protocol", "consumer-sessions", "proxy")).trim();
        return "commit " + (commit.isEmpty() ? "?" : commit) + " (" + branch + ")"
                + (dirty.isEmpty() ? "" : ", with uncommitted changes to Portico's sources");
    }

    static String read(String path) {
        try {
            return Files.readString(Path.of(path), StandardCharsets.UTF_8).trim();
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    static String run(List<String> command) {
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
