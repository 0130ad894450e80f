package io.portico.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The cost curves' runs of <a href="https://github.com/wg/wrk">wrk</a> (found by {@link Wrk#find}), when
 * it is on the {@code PATH}. A generated Lua script sets the request and, in wrk's {@code done()},
 * prints one line the bench parses ({@link #parse}):
 * {@code PORTICO_WRK requests=… duration_us=… connect=… read=… write=… status=… timeout=…
 * record_errors=… p50_us=… p99_us=… p999_us=… max_us=…}. For produce, a {@code response()}
 * function also counts 2xx answers whose records carry an {@code error_code}, as the bench's own
 * generator does.
 */
final class CurvesWrk {
    static final String MARK = "PORTICO_WRK ";

    private CurvesWrk() {
    }

    /** What one run of wrk gave. Latencies in milliseconds. */
    record Result(long requests, double seconds, Map<String, Long> errorKinds, double p50, double p99, double p999,
                  double max, double cpuSeconds, String output) {
        long errors() {
            return errorKinds.values().stream().mapToLong(Long::longValue).sum();
        }

        /** Requests answered 2xx with no record error. */
        long ok() {
            return requests - errorKinds.getOrDefault("HTTP non-2xx", 0L) - errorKinds.getOrDefault("record error", 0L);
        }
    }

    /**
     * The Lua script of a run.
     *
     * @param method {@code GET} or {@code POST}
     * @param body the request body, or null
     * @param headers request headers besides wrk's own
     * @param checkRecords count 2xx answers that report a record {@code error_code} as errors
     */
    static String script(String method, String body, Map<String, String> headers, boolean checkRecords) {
        StringBuilder s = new StringBuilder("-- written by the benchmark (bench/curves.sh)\n");
        s.append("wrk.method = ").append(lua(method)).append('\n');
        if (body != null) {
            s.append("wrk.body = ").append(lua(body)).append('\n');
        }
        headers.forEach((k, v) -> s.append("wrk.headers[").append(lua(k)).append("] = ").append(lua(v)).append('\n'));
        s.append("""
                local threads = {}
                function setup(thread)
                  table.insert(threads, thread)
                end
                function init(args)
                  record_errors = 0
                end
                """);
        if (checkRecords) {
            s.append("""
                    function response(status, headers, body)
                      if status >= 200 and status < 300 and body and string.find(body, '"error_code":%s*%d') then
                        record_errors = record_errors + 1
                      end
                    end
                    """);
        }
        s.append("""
                function done(summary, latency, requests)
                  local re = 0
                  for _, t in ipairs(threads) do
                    re = re + (t:get("record_errors") or 0)
                  end
                  local e = summary.errors
                  io.write(string.format("%srequests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d record_errors=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d\\n",
                    "PORTICO_WRK ", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, re,
                    math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
                    math.floor(latency:percentile(99.9)), math.floor(latency.max)))
                end
                """);
        return s.toString();
    }

    private static String lua(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                default -> out.append(c);
            }
        }
        return out.append('"').toString();
    }

    /**
     * Runs wrk for {@code seconds} against {@code url} with {@code connections} over
     * {@code threads} threads (at most one per connection); keeps its output in {@code outFile}.
     */
    static Result run(Path wrk, String url, String script, int threads, int connections, int seconds,
                      int timeoutSeconds, Path scriptFile, Path outFile) throws IOException, InterruptedException {
        Files.writeString(scriptFile, script);
        List<String> cmd = List.of(wrk.toString(), "-t" + Math.max(1, Math.min(threads, connections)),
                "-c" + connections, "-d" + seconds + "s", "--timeout", timeoutSeconds + "s", "--latency", "-s",
                scriptFile.toString(), url);
        long cpuBefore = childrenCpuNanos();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(outFile.toFile()).start();
        if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS)) {
            p.destroy();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            throw new IOException("wrk did not end within " + (seconds + 60) + " s: " + String.join(" ", cmd));
        }
        long cpuAfter = childrenCpuNanos();
        String output = Files.readString(outFile, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("wrk exited with " + p.exitValue() + ": " + output.trim());
        }
        Result r = parse(output);
        double cpu = cpuBefore >= 0 && cpuAfter >= 0 ? (cpuAfter - cpuBefore) / 1e9 : Double.NaN;
        return new Result(r.requests(), r.seconds(), r.errorKinds(), r.p50(), r.p99(), r.p999(), r.max(), cpu, output);
    }

    /** Parses the line the script's {@code done()} prints; throws when wrk printed none. */
    static Result parse(String output) {
        String line = output.lines().filter(l -> l.startsWith(MARK)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no " + MARK.trim() + " line in wrk's output: "
                        + HttpLoad.abbreviate(output.trim())));
        Map<String, Long> v = new LinkedHashMap<>();
        for (String pair : line.substring(MARK.length()).trim().split("\\s+")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("not key=value: " + pair + " in " + line);
            }
            v.put(pair.substring(0, eq), Long.parseLong(pair.substring(eq + 1)));
        }
        for (String k : List.of("requests", "duration_us", "connect", "read", "write", "status", "timeout",
                "record_errors", "p50_us", "p99_us", "p999_us", "max_us")) {
            if (!v.containsKey(k)) {
                throw new IllegalArgumentException("no " + k + " in " + line);
            }
        }
        Map<String, Long> kinds = new TreeMap<>();
        put(kinds, "connect error", v.get("connect"));
        put(kinds, "read error", v.get("read"));
        put(kinds, "write error", v.get("write"));
        put(kinds, "timeout", v.get("timeout"));
        put(kinds, "HTTP non-2xx", v.get("status"));
        put(kinds, "record error", v.get("record_errors"));
        long requests = v.get("requests");
        boolean any = requests > 0;
        return new Result(requests, v.get("duration_us") / 1e6, kinds, any ? v.get("p50_us") / 1e3 : Double.NaN,
                any ? v.get("p99_us") / 1e3 : Double.NaN, any ? v.get("p999_us") / 1e3 : Double.NaN,
                any ? v.get("max_us") / 1e3 : Double.NaN, Double.NaN, output);
    }

    private static void put(Map<String, Long> kinds, String kind, long n) {
        if (n > 0) {
            kinds.put(kind, n);
        }
    }

    /**
     * CPU time of this JVM's children that have ended and been waited for ({@code cutime + cstime}
     * of {@code /proc/self/stat}), in nanoseconds; -1 if unknown. The difference over a wrk run is
     * wrk's CPU.
     */
    static long childrenCpuNanos() {
        try {
            String s = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.ISO_8859_1);
            String[] f = s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
            // f[0] is field 3 (state); cutime is field 16, cstime field 17.
            long ticks = Long.parseLong(f[13]) + Long.parseLong(f[14]);
            return ticks * 1_000_000_000L / ProcStats.clockTicks();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
