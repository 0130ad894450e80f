package io.portico.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What wrk printed for one run with {@code --latency}: requests and duration, the latency
 * percentiles, socket errors and non-2xx answers, and the lines {@code BENCH <name> <number>} that
 * the benchmark's Lua scripts print from {@code done()}.
 *
 * @param requests completed requests (whatever their status)
 * @param seconds the run's duration as wrk measured it
 * @param requestsPerSecond wrk's own {@code Requests/sec}
 * @param p50 latency percentiles in milliseconds (NaN when wrk printed none)
 * @param max the largest latency, milliseconds
 * @param socketErrors connect, read and write errors and timeouts, summed
 * @param timeouts the timeouts among them
 * @param non2xx answers of another status than 2xx or 3xx
 * @param counters the {@code BENCH} lines of the script
 */
public record WrkOutput(long requests, double seconds, double requestsPerSecond, double p50, double p75, double p90,
                        double p99, double max, long socketErrors, long timeouts, long non2xx,
                        Map<String, Long> counters) {

    private static final Pattern TOTAL = Pattern.compile("^\\s*(\\d+) requests in ([0-9.]+)(us|ms|s|m|h),");
    private static final Pattern THREAD_LATENCY = Pattern.compile(
            "^\\s*Latency\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+\\S+%\\s*$");
    private static final Pattern PERCENTILE = Pattern.compile("^\\s*(50|75|90|99)%\\s+(\\S+)\\s*$");
    private static final Pattern SOCKET = Pattern.compile(
            "^\\s*Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)\\s*$");
    private static final Pattern NON_2XX = Pattern.compile("^\\s*Non-2xx or 3xx responses: (\\d+)\\s*$");
    private static final Pattern RATE = Pattern.compile("^\\s*Requests/sec:\\s+([0-9.]+)\\s*$");
    private static final Pattern COUNTER = Pattern.compile("^BENCH (\\S+) (-?\\d+)\\s*$");

    /** Answers counted as errors: non-2xx (or 3xx) answers and socket errors. */
    public long errors() {
        return non2xx + socketErrors;
    }

    /** Requests answered 2xx (or 3xx, which Portico does not send). */
    public long okRequests() {
        return Math.max(0, requests - non2xx);
    }

    /** A script's counter, 0 when it printed none. */
    public long counter(String name) {
        return counters.getOrDefault(name, 0L);
    }

    /** The latencies as the rows of the table have them (wrk prints no p99.9). */
    public Latencies.Summary summary() {
        return new Latencies.Summary((int) Math.min(Integer.MAX_VALUE, requests), p50, p99, Double.NaN, max);
    }

    /**
     * Parses the output of {@code wrk --latency}.
     *
     * @throws IllegalArgumentException when it holds no {@code N requests in T} line (wrk failed)
     */
    public static WrkOutput parse(String text) {
        long requests = -1;
        double seconds = Double.NaN;
        double rate = Double.NaN;
        double max = Double.NaN;
        double[] percentiles = {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
        long socket = 0;
        long timeouts = 0;
        long non2xx = 0;
        Map<String, Long> counters = new LinkedHashMap<>();
        boolean distribution = false;
        for (String line : text.split("\r?\n")) {
            Matcher m;
            if (line.trim().equals("Latency Distribution")) {
                distribution = true;
            } else if ((m = TOTAL.matcher(line)).find()) {
                requests = Long.parseLong(m.group(1));
                seconds = millis(m.group(2) + m.group(3)) / 1000.0;
                distribution = false;
            } else if (distribution && (m = PERCENTILE.matcher(line)).matches()) {
                int i = switch (m.group(1)) {
                    case "50" -> 0;
                    case "75" -> 1;
                    case "90" -> 2;
                    default -> 3;
                };
                percentiles[i] = millis(m.group(2));
            } else if (!distribution && (m = THREAD_LATENCY.matcher(line)).matches()) {
                max = millis(m.group(3));
            } else if ((m = SOCKET.matcher(line)).matches()) {
                for (int g = 1; g <= 4; g++) {
                    socket += Long.parseLong(m.group(g));
                }
                timeouts = Long.parseLong(m.group(4));
            } else if ((m = NON_2XX.matcher(line)).matches()) {
                non2xx = Long.parseLong(m.group(1));
            } else if ((m = RATE.matcher(line)).matches()) {
                rate = Double.parseDouble(m.group(1));
            } else if ((m = COUNTER.matcher(line)).matches()) {
                counters.put(m.group(1), Long.parseLong(m.group(2)));
            }
        }
        if (requests < 0) {
            throw new IllegalArgumentException("not the output of a wrk run: "
                    + (text.length() > 300 ? text.substring(0, 300) + "…" : text));
        }
        return new WrkOutput(requests, seconds, rate, percentiles[0], percentiles[1], percentiles[2], percentiles[3],
                max, socket, timeouts, non2xx, Map.copyOf(counters));
    }

    /** A duration as wrk prints it ({@code 812.00us}, {@code 1.23ms}, {@code 2.05s}, {@code 1.10m}) in ms. */
    static double millis(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        int unit = 0;
        while (unit < t.length() && (Character.isDigit(t.charAt(unit)) || t.charAt(unit) == '.')) {
            unit++;
        }
        if (unit == 0) {
            return Double.NaN; // e.g. "-nan" when nothing completed
        }
        double v = Double.parseDouble(t.substring(0, unit));
        return switch (t.substring(unit)) {
            case "us" -> v / 1000.0;
            case "ms" -> v;
            case "s" -> v * 1000.0;
            case "m" -> v * 60_000.0;
            case "h" -> v * 3_600_000.0;
            default -> throw new IllegalArgumentException("not a wrk duration: " + text);
        };
    }
}
