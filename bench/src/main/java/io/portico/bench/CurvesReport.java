package io.portico.bench;

import io.portico.bench.Curves.ConsumePoint;
import io.portico.bench.Curves.IdlePoint;
import io.portico.bench.Curves.ProducePoint;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The results file of the cost curves: a table and a computed "where it bends" paragraph per curve. */
final class CurvesReport {
    private static final int PLOT_WIDTH = 40;

    private CurvesReport() {
    }

    /** Everything the file shows. */
    record Input(CurvesOptions options, LocalDateTime startedAt, String source, Path work, List<ProducePoint> produce,
                 List<ConsumePoint> consume, List<IdlePoint> idle, List<String> runNotes, Map<String, String> limits,
                 List<String> brokerCommand, List<String> porticoCommand, Map<String, String> porticoProperties,
                 String wrkVersion, List<String> stackNotes, long connectionCap) {
    }

    static String markdown(Input in) {
        CurvesOptions o = in.options();
        int cores = Report.nproc();
        StringBuilder md = new StringBuilder();
        md.append("# Portico cost curves, ").append(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")
                .format(in.startedAt())).append(' ').append(ZoneId.systemDefault().getId()).append("\n\n");
        if (o.quick()) {
            md.append("A `--quick` run (a few points, ").append(o.seconds())
                    .append(" s each): it checks the harness; its numbers mean little.\n\n");
        }
        md.append("All processes share one machine of ").append(cores).append(" cores (").append(cores * 100)
                .append("% of CPU in all): Portico, the broker and the load generator compete for it, so absolute "
                        + "figures are noisy; compare points of one run. CPU is % of one core over the point's wall "
                        + "time; machine CPU is the whole machine's busy time, other processes' included. Latency is per HTTP request, from its first byte written to its last byte read, "
                        + "closed loop (each connection sends its next request when the answer has come).\n\n");
        for (String n : in.runNotes()) {
            md.append("**Note:** ").append(n).append("\n\n");
        }
        if (o.runs("produce")) {
            produce(md, in, cores);
        }
        if (o.runs("consume")) {
            consume(md, in, cores);
        }
        if (o.runs("idle")) {
            idle(md, in);
        }
        setup(md, in, cores);
        return md.toString();
    }

    // ---------------------------------------------------------------- produce

    private static void produce(StringBuilder md, Input in, int cores) {
        CurvesOptions o = in.options();
        md.append("## 1. Single-record produce against connections\n\n");
        md.append("`POST /topics/{t}` (v1 binary, one record of ").append(o.valueBytes())
                .append(" B per request) over keep-alive connections, for ").append(o.seconds())
                .append(" s per point, to a topic of each partition count; and `GET /` (Portico's cheapest answer, "
                        + "`{}`) at the same connections, as the ceiling of an HTTP exchange on this machine: "
                        + "\"vs GET /\" is produce records/s ÷ `GET /` answers/s, same generator, same "
                        + "connections. Generators: `bench` is the bench's own (`HttpLoad`, NIO, ")
                .append(o.loadThreads()).append(" thread(s), every latency kept)");
        md.append(in.wrkVersion() != null ? "; `wrk` is " + in.wrkVersion() + " (-t" + o.loadThreads()
                + ", its latency percentiles; a 2xx answer whose record has an `error_code` counts as an error in "
                + "both)" : "; wrk was not run").append(o.warmupSeconds() == 0 ? ". No warm-up."
                        : ". Before the curve " + o.warmupSeconds() + " s of untimed load, and "
                        + o.pointWarmupSeconds() + " s before each point.").append("\n\n");
        md.append("| connections | generator | request | records/s | p50 ms | p99 ms | errors | vs GET / "
                + "| Portico CPU | broker CPU | generator CPU | machine CPU | Portico peak RSS | Portico heap peak / after GC |\n");
        md.append("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (ProducePoint p : in.produce()) {
            Monitor.Usage u = p.usage();
            md.append("| ").append(Bends.n(p.connections()))
                    .append(" | ").append(p.generator())
                    .append(" | ").append(p.partitions() == 0 ? "GET / (answers/s)"
                            : "produce, " + p.partitions() + " partition" + (p.partitions() == 1 ? "" : "s"));
            if (p.failure() != null) {
                md.append(" | failed: ").append(cell(p.failure())).append(" | | | | | | | | | | |\n");
                continue;
            }
            md.append(" | ").append(Bends.n(p.rate()))
                    .append(" | ").append(Bends.ms(p.p50()))
                    .append(" | ").append(Bends.ms(p.p99()))
                    .append(" | ").append(Bends.n(p.errors()))
                    .append(" | ").append(p.partitions() == 0 ? "1.00" : ratioToRoot(p, in.produce()))
                    .append(" | ").append(u == null ? "—" : Report.pct(u.porticoCpu()))
                    .append(" | ").append(u == null ? "—" : Report.pct(u.brokerCpu()))
                    .append(" | ").append(Report.pct(p.generatorCpu()))
                    .append(" | ").append(Report.pct(p.machineCpu()))
                    .append(" | ").append(u == null || u.porticoRss() <= 0 ? "—" : Report.mib(u.porticoRss()))
                    .append(" | ").append(heap(u))
                    .append(" |\n");
        }
        md.append('\n');
        md.append("### Where it bends\n\n");
        md.append("Computed from the table: the bend is the first point whose records/s grew by less than ")
                .append(pct(Bends.GROWTH)).append(" over the point before; p99's, the first where it at least "
                        + "doubled; the machine's CPU counts as used up from ")
                .append(pct(Bends.SATURATED)).append(" of its ").append(cores * 100).append("%.\n\n");
        for (Map.Entry<String, List<ProducePoint>> e : series(in.produce()).entrySet()) {
            List<Bends.Point> pts = e.getValue().stream().map(CurvesReport::point).toList();
            md.append("- **").append(e.getKey()).append("**: ").append(Bends.describe(pts, "connections",
                    e.getValue().get(0).partitions() == 0 ? "answers/s" : "records/s", cores))
                    .append('\n');
        }
        md.append('\n');
        for (Map.Entry<String, List<ProducePoint>> e : series(in.produce()).entrySet()) {
            if (e.getValue().get(0).partitions() == 0) {
                continue;
            }
            List<Bends.Point> pts = e.getValue().stream().map(CurvesReport::point).toList();
            md.append("```\n").append(plot(e.getKey() + ": records/s by connections", "connections", pts))
                    .append("```\n\n");
        }
        errors(md, in.produce().stream().filter(p -> p.errors() > 0).map(p -> new ErrorLine(p.connections()
                + " connections, " + p.series(), p.errorKinds(), p.errorSamples())).toList());
    }

    private static String ratioToRoot(ProducePoint p, List<ProducePoint> all) {
        for (ProducePoint r : all) {
            if (r.partitions() == 0 && r.generator().equals(p.generator()) && r.connections() == p.connections()
                    && r.failure() == null && r.rate() > 0) {
                return String.format(Locale.ROOT, "%.2f", p.rate() / r.rate());
            }
        }
        return "—";
    }

    private static Map<String, List<ProducePoint>> series(List<ProducePoint> points) {
        Map<String, List<ProducePoint>> out = new LinkedHashMap<>();
        for (ProducePoint p : points) {
            out.computeIfAbsent(p.series(), k -> new ArrayList<>()).add(p);
        }
        return out;
    }

    static Bends.Point point(ProducePoint p) {
        Monitor.Usage u = p.usage();
        return new Bends.Point(p.connections(), p.rate(), p.requestRate(), p.p50(), p.p99(),
                u == null ? Double.NaN : u.porticoCpu(), u == null ? Double.NaN : u.brokerCpu(), p.generatorCpu(),
                p.machineCpu(), p.errors(), p.failure());
    }

    // ---------------------------------------------------------------- consume

    private static void consume(StringBuilder md, Input in, int cores) {
        CurvesOptions o = in.options();
        md.append("## 2. Consumer instances reading at once\n\n");
        md.append("v1 instances (`POST /consumers/{g}` with `format` binary and `auto.offset.reset` smallest, "
                        + "created 16 at a time), each in a group of its own, so that every instance reads the whole "
                        + "topic: as independent clients (services, dashboards, one per user) do. In one group, "
                        + "instances beyond the topic's 3 partitions would be given nothing and the curve would "
                        + "measure empty long polls, not reading. The topic holds ").append(Bends.n(o.readRecords()))
                .append(" records of ").append(o.valueBytes()).append(" B in 3 partitions. Each instance's first "
                        + "read (`max_bytes=1`, which joins its group; the broker holds a new group's first "
                        + "assignment for `group.initial.rebalance.delay.ms`, 1 s) is sent for all at once and "
                        + "untimed (\"join\"); then each instance loops on `GET …/topics/{t}` over its own keep-alive "
                        + "connection for ").append(o.seconds()).append(" s, or until it has read the whole topic "
                        + "(\"read all\"); reads in flight then are awaited, so \"read for\" can be longer (a client gives up on a read after "
                        + "30 s: a timeout error, and the read is sent again). A read's latency includes Portico's wait for records. Peak RSS is "
                        + "while creating and joining / while reading; heap is while reading.")
                .append(o.warmupSeconds() > 0 ? " Before the points, one instance read for "
                        + Math.max(1, o.warmupSeconds() / 2) + " s, untimed." : "").append("\n\n");
        md.append("| instances | created | created in | creation p99 ms | join | read for | records/s | reads/s | p50 ms "
                + "| p99 ms per read | read all | errors | Portico CPU | broker CPU | generator CPU | machine CPU "
                + "| Portico peak RSS | Portico heap peak / after GC |\n");
        md.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                + "| ---: | ---: | ---: | ---: | ---: |\n");
        for (ConsumePoint p : in.consume()) {
            Monitor.Usage u = p.reading();
            Monitor.Usage h = p.held();
            md.append("| ").append(Bends.n(p.instances()))
                    .append(" | ").append(Bends.n(p.created()))
                    .append(" | ").append(seconds(p.createSeconds()))
                    .append(" | ").append(Bends.ms(p.createLatency().p99()))
                    .append(" | ").append(seconds(p.joinSeconds()));
            if (p.failure() != null && p.records() == 0) {
                md.append(" | failed: ").append(cell(p.failure())).append(" | | | | | | | | | | | | |\n");
                continue;
            }
            md.append(" | ").append(seconds(p.seconds()))
                    .append(" | ").append(Bends.n(p.rate()))
                    .append(" | ").append(Bends.n(p.readRate()))
                    .append(" | ").append(Bends.ms(p.readLatency().p50()))
                    .append(" | ").append(Bends.ms(p.readLatency().p99()))
                    .append(" | ").append(p.done()).append(" of ").append(p.created())
                    .append(" | ").append(Bends.n(p.errors()))
                    .append(" | ").append(u == null ? "—" : Report.pct(u.porticoCpu()))
                    .append(" | ").append(u == null ? "—" : Report.pct(u.brokerCpu()))
                    .append(" | ").append(u == null ? "—" : Report.pct(u.benchCpu()))
                    .append(" | ").append(Report.pct(p.machineCpu()))
                    .append(" | ").append(h == null || h.porticoRss() <= 0 ? "—" : Report.mib(h.porticoRss()))
                    .append(" / ").append(u == null || u.porticoRss() <= 0 ? "—" : Report.mib(u.porticoRss()))
                    .append(" | ").append(heap(u))
                    .append(" |\n");
        }
        md.append('\n');
        md.append("### Where it bends\n\n");
        List<Bends.Point> pts = in.consume().stream().map(CurvesReport::point).toList();
        md.append(Bends.describe(pts, "instances", "records/s", cores));
        List<ConsumePoint> created = in.consume().stream().filter(p -> p.created() > 0).toList();
        if (created.size() >= 2) {
            ConsumePoint a = created.get(0);
            ConsumePoint b = created.get(created.size() - 1);
            md.append(String.format(Locale.ROOT, " Creating an instance took %s ms (p50; p99 %s ms) at %s and %s "
                            + "ms (p99 %s ms) at %s, 16 at a time.", Bends.ms(a.createLatency().p50()),
                    Bends.ms(a.createLatency().p99()), Bends.at(a.instances(), "instances"),
                    Bends.ms(b.createLatency().p50()), Bends.ms(b.createLatency().p99()),
                    Bends.at(b.instances(), "instances")));
        }
        md.append("\n\n");
        if (!pts.isEmpty()) {
            md.append("```\n").append(plot("records/s by instances", "instances", pts)).append("```\n\n");
        }
        errors(md, in.consume().stream().filter(p -> p.errors() > 0 || p.failure() != null).map(p -> new ErrorLine(
                p.instances() + " instances" + (p.failure() == null ? "" : " (" + p.failure() + ")"), p.errorKinds(),
                p.errorSamples())).toList());
    }

    static Bends.Point point(ConsumePoint p) {
        Monitor.Usage u = p.reading();
        return new Bends.Point(p.instances(), p.rate(), p.readRate(), p.readLatency().p50(), p.readLatency().p99(),
                u == null ? Double.NaN : u.porticoCpu(), u == null ? Double.NaN : u.brokerCpu(),
                u == null ? Double.NaN : u.benchCpu(), p.machineCpu(), p.errors(), p.records() == 0 ? (p.failure() == null
                        ? "nothing read" : p.failure()) : null);
    }

    // ---------------------------------------------------------------- idle

    private static void idle(StringBuilder md, Input in) {
        md.append("## 3. Idle keep-alive connections\n\n");
        md.append("Each connection sends one `GET /`, reads the answer and stays open, sending nothing (opened 256 "
                + "at a time). Then, with all of them open: a full collection in Portico (`jcmd <pid> GC.run`) and "
                + "its heap in use right after (`GC.heap_info`), its resident memory (`VmRSS`), threads and open "
                + "files (`/proc`); then ").append(Curves.FRESH_CLIENTS).append(" fresh clients one after another, "
                + "each a new connection sending `GET /` (time: connect to answer). 0 connections is the baseline, "
                + "measured first on the same Portico.\n\n");
        md.append("| connections | opened | opened in | heap after full GC | RSS | threads | open files "
                + "| fresh GET / answered | fresh p50 / max ms | still open at the end |\n");
        md.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (IdlePoint p : in.idle()) {
            md.append("| ").append(Bends.n(p.connections()))
                    .append(" | ").append(Bends.n(p.opened()))
                    .append(" | ").append(seconds(p.openSeconds()))
                    .append(" | ").append(p.heapAfterGc() < 0 ? "—" : Bends.bytes(p.heapAfterGc()))
                    .append(" | ").append(p.rss() < 0 ? "—" : Bends.bytes(p.rss()))
                    .append(" | ").append(Bends.n(p.threads()))
                    .append(" | ").append(Bends.n(p.fds()))
                    .append(" | ").append(p.freshOk()).append(" of ").append(p.fresh().size())
                    .append(" | ").append(Bends.ms(p.freshLatency().p50())).append(" / ")
                    .append(Bends.ms(p.freshLatency().max()))
                    .append(" | ").append(Bends.n(p.stillOpen()))
                    .append(" |\n");
        }
        md.append('\n');
        md.append("### Where it bends\n\n");
        md.append(Bends.describeIdle(in.idle().stream().map(CurvesReport::point).toList(), in.connectionCap()))
                .append("\n\n");
        for (IdlePoint p : in.idle()) {
            List<String> notes = new ArrayList<>(p.notes());
            if (!p.openFailures().isEmpty()) {
                notes.add(0, "opening failed for " + p.openFailures() + (p.openSamples().isEmpty() ? ""
                        : ", e.g. " + String.join("; ", p.openSamples())));
            }
            if (!notes.isEmpty()) {
                md.append("- ").append(Bends.n(p.connections())).append(" connections: ")
                        .append(String.join("; ", notes)).append('\n');
            }
        }
        md.append('\n');
    }

    static Bends.Idle point(IdlePoint p) {
        return new Bends.Idle(p.connections(), p.opened(), p.heapAfterGc(), p.rss(), p.threads(), p.fds(),
                p.freshLatency().p50(), p.freshOk(), p.fresh().size());
    }

    // ---------------------------------------------------------------- common

    private record ErrorLine(String where, Map<String, Long> kinds, List<String> samples) {
    }

    private static void errors(StringBuilder md, List<ErrorLine> lines) {
        if (lines.isEmpty()) {
            return;
        }
        md.append("Errors:\n\n");
        for (ErrorLine l : lines) {
            md.append("- ").append(l.where()).append(": ").append(l.kinds());
            if (!l.samples().isEmpty()) {
                md.append("; e.g. ").append(cell(String.join(" / ", l.samples())));
            }
            md.append('\n');
        }
        md.append('\n');
    }

    /**
     * A bar per point: records/s as a bar of {@code #} scaled to the largest, with records/s and p99
     * written after it.
     */
    static String plot(String title, String unit, List<Bends.Point> points) {
        double top = points.stream().filter(Bends.Point::valid).mapToDouble(Bends.Point::rate).max().orElse(0);
        int width = Math.max(unit.length(), points.stream().mapToInt(p -> Bends.n(p.x()).length()).max().orElse(1));
        StringBuilder s = new StringBuilder(title).append('\n');
        for (Bends.Point p : points) {
            s.append(String.format(Locale.ROOT, "%" + width + "s |", Bends.n(p.x())));
            if (!p.valid() || top <= 0) {
                s.append(" ".repeat(PLOT_WIDTH)).append("| failed\n");
                continue;
            }
            int bar = (int) Math.round(PLOT_WIDTH * p.rate() / top);
            s.append("#".repeat(bar)).append(" ".repeat(PLOT_WIDTH - bar)).append(String.format(Locale.ROOT,
                    "| %s/s, p99 %s ms%n", Bends.n(p.rate()), Bends.ms(p.p99())));
        }
        s.append(String.format(Locale.ROOT, "%" + width + "s%n", unit));
        return s.toString();
    }

    private static String heap(Monitor.Usage u) {
        return u == null || u.heap() == null ? "—" : Report.mib(u.heap().used()) + " / "
                + (u.heap().afterGc() > 0 ? Report.mib(u.heap().afterGc()) : "no GC");
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.2f s", s);
    }

    private static String pct(double share) {
        return String.format(Locale.ROOT, "%.0f%%", share * 100);
    }

    private static String cell(String s) {
        return HttpLoad.abbreviate(s.replace("|", "\\|").replace("\n", " "));
    }

    private static void setup(StringBuilder md, Input in, int cores) {
        CurvesOptions o = in.options();
        md.append("## Setup\n\n");
        md.append("- Machine: ").append(cores).append(" cores (").append(Report.cpuModel()).append("), ")
                .append(Report.memTotal()).append(" memory, Linux ").append(Report.read("/proc/sys/kernel/osrelease"))
                .append("; open-files limit of this process ").append(Bends.n(Stack.maxOpenFiles(
                        ProcessHandle.current().pid()))).append('\n');
        md.append("- Java: ").append(Report.javaVersion()).append('\n');
        md.append("- Portico: ").append(in.source()).append(" when the run started\n");
        md.append("- Settings: ").append(o.describe()).append('\n');
        md.append("- wrk: ").append(in.wrkVersion() == null ? "not run" : in.wrkVersion()).append('\n');
        md.append("- Broker: `").append(in.brokerCommand() == null ? "?" : Report.shorten(in.brokerCommand(), o.root()))
                .append("` (Portico's EmbeddedKafka: one KRaft node on 127.0.0.1)\n");
        md.append("- Portico: `").append(in.porticoCommand() == null ? "?" : Report.shorten(in.porticoCommand(), o.root()))
                .append("`, started afresh before each curve, with:");
        if (in.porticoProperties() != null) {
            in.porticoProperties().forEach((k, v) -> md.append(" `").append(k).append('=').append(v).append('`'));
        }
        md.append('\n');
        if (!in.limits().isEmpty()) {
            md.append("- Limits of this run:\n");
            in.limits().forEach((k, v) -> md.append("  - ").append(k).append(": ").append(v).append('\n'));
        }
        for (String n : in.stackNotes()) {
            md.append("- ").append(n).append('\n');
        }
        md.append("- Logs, generated properties and wrk scripts: `")
                .append(in.work().toAbsolutePath().startsWith(o.root().toAbsolutePath())
                        ? o.root().toAbsolutePath().relativize(in.work().toAbsolutePath()) : in.work())
                .append("`\n");
    }
}
