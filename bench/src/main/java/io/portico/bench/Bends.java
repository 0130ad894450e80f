package io.portico.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a cost curve bends, found from its numbers: the first point at which records/s stops
 * growing by at least 10% over the point before, and the first at which p99 at least doubles;
 * then why, from the CPU measured there (is the machine's CPU used up?) and Little's law (past
 * the bend, do added connections only wait?). The sentences of the results file come from here,
 * never from hand-written text.
 */
final class Bends {
    /** Growth of records/s from one point to the next below which the curve has bent. */
    static final double GROWTH = 0.10;
    /** Growth of p99 from one point to the next at which latency has bent. */
    static final double P99_FACTOR = 2.0;
    /** Share of the machine's cores in use at which its CPU counts as used up. */
    static final double SATURATED = 0.85;

    private Bends() {
    }

    /**
     * One point of a throughput curve.
     *
     * @param x connections or instances
     * @param rate records/s
     * @param requestRate requests/s (reads for instances)
     * @param p50 ms
     * @param p99 ms
     * @param porticoCpu % of one core; NaN when unknown
     * @param brokerCpu % of one core; NaN when unknown
     * @param generatorCpu the load generator's, % of one core; NaN when unknown
     * @param machineCpu the whole machine's busy time, other processes' included, % of one core; NaN when unknown
     * @param failure why the point has no numbers, or null
     */
    record Point(int x, double rate, double requestRate, double p50, double p99, double porticoCpu, double brokerCpu,
                 double generatorCpu, double machineCpu, long errors, String failure) {
        boolean valid() {
            return failure == null && rate > 0;
        }

        double totalCpu() {
            return nz(porticoCpu) + nz(brokerCpu) + nz(generatorCpu);
        }
    }

    /** The index of the first point whose records/s grew less than {@link #GROWTH} over the valid point before; -1. */
    static int flattens(List<Point> points) {
        int prev = -1;
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            if (!p.valid()) {
                continue;
            }
            if (prev >= 0 && p.rate() < points.get(prev).rate() * (1 + GROWTH)) {
                return i;
            }
            prev = i;
        }
        return -1;
    }

    /** The index of the first point whose p99 is at least {@link #P99_FACTOR} × the valid point before's; -1. */
    static int p99Jumps(List<Point> points) {
        int prev = -1;
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            if (!p.valid() || Double.isNaN(p.p99())) {
                continue;
            }
            if (prev >= 0 && points.get(prev).p99() > 0 && p.p99() >= points.get(prev).p99() * P99_FACTOR) {
                return i;
            }
            prev = i;
        }
        return -1;
    }

    private static int validBefore(List<Point> points, int i) {
        for (int k = i - 1; k >= 0; k--) {
            if (points.get(k).valid()) {
                return k;
            }
        }
        return -1;
    }

    /**
     * The paragraph for one curve: where records/s stops growing, where p99 doubles, why (CPU, or
     * waiting), and the points that failed or had errors.
     *
     * @param unit what x counts, plural ("connections", "instances")
     * @param rateName what the rate counts ("records/s", "answers/s")
     * @param cores the machine's cores (100% each)
     */
    static String describe(List<Point> points, String unit, String rateName, int cores) {
        List<String> s = new ArrayList<>();
        List<Point> valid = points.stream().filter(Point::valid).toList();
        if (valid.size() < 2) {
            s.add("Too few points with numbers to see a bend (" + valid.size() + ").");
        } else {
            int flat = flattens(points);
            if (flat < 0) {
                Point last = valid.get(valid.size() - 1);
                s.add(String.format(Locale.ROOT, "%s grows by %.0f%% or more at every step up to the last point, "
                        + "%s (%s/s): no bend within the points measured.", rateName, GROWTH * 100, at(last.x(), unit),
                        n(last.rate())));
            } else {
                Point p = points.get(flat);
                Point b = points.get(validBefore(points, flat));
                double change = p.rate() / b.rate() - 1;
                String upTo = b == valid.get(0)
                        ? String.format(Locale.ROOT, "%s is %s/s at %s", rateName, n(b.rate()), at(b.x(), unit))
                        : String.format(Locale.ROOT, "%s grows by %s or more at each step up to %s (%s/s)",
                                rateName, pct(GROWTH), at(b.x(), unit), n(b.rate()));
                s.add(String.format(Locale.ROOT, "%s; from %s to %s %s it %s by %.0f%% (%s → %s/s): the curve "
                                + "bends at %s.", upTo, n(b.x()), n(p.x()), unit,
                        change >= 0 ? "grows only" : "falls", Math.abs(change) * 100, n(b.rate()), n(p.rate()),
                        at(b.x(), unit)));
                s.add(why(b, unit, cores));
                Point last = valid.get(valid.size() - 1);
                if (last.x() > b.x() && last.requestRate() > 0 && !Double.isNaN(last.p50())) {
                    double little = last.x() / last.requestRate() * 1000;
                    s.add(String.format(Locale.ROOT, "Past the bend, added %s wait: at %s, p50 is %s ms and "
                                    + "Little's law (%s ÷ %s requests/s) gives a mean of %s ms%s.", unit,
                            at(last.x(), unit), ms(last.p50()), unit, n(last.requestRate()), ms(little),
                            little > 0 && last.p50() / little > 0.5 && last.p50() / little < 2
                                    ? ": the time goes to queueing" : ""));
                }
            }
            int jump = p99Jumps(points);
            if (jump < 0) {
                s.add(String.format(Locale.ROOT, "p99 never doubles from one point to the next (%s ms at %s, %s ms "
                                + "at %s).", ms(valid.get(0).p99()), at(valid.get(0).x(), unit),
                        ms(valid.get(valid.size() - 1).p99()), n(valid.get(valid.size() - 1).x())));
            } else {
                Point p = points.get(jump);
                Point b = points.get(validBefore(points, jump));
                s.add(String.format(Locale.ROOT, "p99 first at least doubles from %s to %s %s (%s → %s ms).",
                        n(b.x()), n(p.x()), unit, ms(b.p99()), ms(p.p99())));
            }
        }
        for (Point p : points) {
            if (p.failure() != null) {
                s.add("At " + at(p.x(), unit) + " the point failed: " + p.failure() + ".");
            } else if (p.errors() > 0) {
                s.add("At " + at(p.x(), unit) + " there were " + n(p.errors()) + " errors.");
            }
        }
        return String.join(" ", s);
    }

    /** Why throughput stops growing at {@code p}: the CPU used up (by this run or by others), or not. */
    static String why(Point p, String unit, int cores) {
        double machine = cores * 100.0;
        double total = p.totalCpu();
        String split = String.format(Locale.ROOT, "Portico %s, broker %s, load generator %s: %s of %s",
                pctOrDash(p.porticoCpu()), pctOrDash(p.brokerCpu()), pctOrDash(p.generatorCpu()), pct0(total),
                pct0(machine));
        if (total >= SATURATED * machine) {
            return String.format(Locale.ROOT, "At %s the machine's CPU is used up (%s), so more %s cannot add "
                    + "throughput.", at(p.x(), unit), split, unit);
        }
        if (!Double.isNaN(p.machineCpu()) && p.machineCpu() >= SATURATED * machine) {
            return String.format(Locale.ROOT, "At %s the machine's CPU is used up, though not by this run alone (%s; "
                            + "the machine was %s busy, other processes took the other %s), so more %s cannot add "
                            + "throughput.", at(p.x(), unit), split, pct0(p.machineCpu()),
                    pct0(Math.max(0, p.machineCpu() - total)), unit);
        }
        return String.format(Locale.ROOT, "At %s the CPU is not used up (%s%s): what holds the rate there is "
                        + "waiting (for Kafka, a pool or a lock), not computing.", at(p.x(), unit), split,
                Double.isNaN(p.machineCpu()) ? "" : "; the machine was " + pct0(p.machineCpu()) + " busy");
    }

    /**
     * One point of the idle curve.
     *
     * @param connections asked for; {@code opened} of them were answered and kept
     * @param heapAfterGc bytes of heap in use after a full collection; -1 unknown
     * @param rss resident bytes; -1 unknown
     * @param freshP50 ms a fresh client took for {@code GET /} (connect included); NaN if none answered
     * @param freshOk fresh clients answered 2xx, of {@code freshTried}
     */
    record Idle(int connections, int opened, long heapAfterGc, long rss, long threads, long fds, double freshP50,
                int freshOk, int freshTried) {
    }

    /**
     * The paragraph for the idle curve: cost per connection, whether it is linear, threads, fresh clients.
     *
     * @param connectionCap the connections Portico holds at most; -1 unknown
     */
    static String describeIdle(List<Idle> points, long connectionCap) {
        List<String> s = new ArrayList<>();
        Idle base = points.stream().filter(p -> p.connections() == 0).findFirst().orElse(null);
        if (base == null) {
            return "No baseline (0 connections) was measured.";
        }
        List<Idle> loaded = points.stream().filter(p -> p.opened() > 0).toList();
        if (loaded.isEmpty()) {
            return "No idle connection could be opened.";
        }
        List<Double> heapPer = new ArrayList<>();
        for (Idle p : loaded) {
            double heapAdded = base.heapAfterGc() >= 0 && p.heapAfterGc() >= 0
                    ? p.heapAfterGc() - base.heapAfterGc() : Double.NaN;
            double rssAdded = base.rss() >= 0 && p.rss() >= 0 ? p.rss() - base.rss() : Double.NaN;
            heapPer.add(heapAdded / p.opened());
            s.add(String.format(Locale.ROOT, "%s idle connections add %s of heap after a full GC (%s each) and %s "
                            + "of RSS (%s each) to Portico at rest; threads %s → %s, open files %s → %s.",
                    n(p.opened()), bytes(heapAdded), bytes(heapAdded / p.opened()), bytes(rssAdded),
                    bytes(rssAdded / p.opened()), n(base.threads()), n(p.threads()), n(base.fds()), n(p.fds())));
        }
        if (loaded.size() >= 2) {
            int last = loaded.size() - 1;
            double ratio = heapPer.get(last) / heapPer.get(0);
            String shape = Double.isNaN(ratio) || heapPer.get(0) <= 0 ? "cannot be compared"
                    : ratio < 0.5 ? "falls as connections are added (fixed costs spread over more)"
                    : ratio <= 2 ? "stays within a factor of 2: the heap cost grows linearly, no bend"
                    : "grows faster than the connections: the curve bends up";
            s.add(String.format(Locale.ROOT, "Heap per connection from %s to %s connections %s (%s → %s).",
                    n(loaded.get(0).opened()), n(loaded.get(last).opened()), shape, bytes(heapPer.get(0)),
                    bytes(heapPer.get(last))));
        }
        long threadGrowth = loaded.get(loaded.size() - 1).threads() - base.threads();
        if (base.threads() > 0) {
            s.add(threadGrowth <= Math.max(8, base.threads() / 10)
                    ? "Threads do not grow with connections (no thread per connection)."
                    : "Threads grow by " + n(threadGrowth) + " with the connections.");
        }
        for (Idle p : points) {
            if (p.freshTried() > 0 && p.freshOk() < p.freshTried()) {
                s.add(String.format(Locale.ROOT, "With %s connections open, %d of %d fresh clients were answered%s.",
                        n(p.opened()), p.freshOk(), p.freshTried(), connectionCap > 0 && p.opened() >= connectionCap
                                ? ": Portico holds at most " + n(connectionCap) + " connections (connections.max, and "
                                + "never more than half its open-files limit) and turns one more away with 503 at once"
                                : ""));
            }
        }
        Idle top = loaded.get(loaded.size() - 1);
        if (top.freshOk() > 0 && base.freshOk() > 0) {
            s.add(String.format(Locale.ROOT, "A fresh client's GET / took %s ms (p50) with %s connections open, %s ms "
                    + "with none.", ms(top.freshP50()), n(top.opened()), ms(base.freshP50())));
        }
        return String.join(" ", s);
    }

    /** "1 connection", "16 connections". */
    static String at(double x, String unit) {
        return n(x) + " " + (x == 1 && unit.endsWith("s") ? unit.substring(0, unit.length() - 1) : unit);
    }

    static String n(double v) {
        return String.format(Locale.ROOT, "%,.0f", v);
    }

    /** Milliseconds: 2 decimals below 10, 1 below 1,000, none above; "—" for NaN. */
    static String ms(double v) {
        if (Double.isNaN(v)) {
            return "—";
        }
        return v < 10 ? String.format(Locale.ROOT, "%.2f", v) : v < 1000 ? String.format(Locale.ROOT, "%.1f", v)
                : String.format(Locale.ROOT, "%,.0f", v);
    }

    private static String pct(double share) {
        return String.format(Locale.ROOT, "%.0f%%", share * 100);
    }

    private static String pct0(double v) {
        return String.format(Locale.ROOT, "%.0f%%", v);
    }

    private static String pctOrDash(double v) {
        return Double.isNaN(v) ? "—" : pct0(v);
    }

    /** Bytes as B, KiB or MiB, one decimal where it helps; "—" for unknown. */
    static String bytes(double b) {
        if (Double.isNaN(b)) {
            return "—";
        }
        double a = Math.abs(b);
        if (a < 1024) {
            return String.format(Locale.ROOT, "%.0f B", b);
        }
        if (a < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", b / 1024);
        }
        return String.format(Locale.ROOT, "%.1f MiB", b / 1024 / 1024);
    }

    private static double nz(double v) {
        return Double.isNaN(v) ? 0 : v;
    }
}
