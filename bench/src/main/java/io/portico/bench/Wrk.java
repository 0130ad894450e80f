package io.portico.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The wrk rows' generator: finds {@code wrk} on the PATH, writes the Lua scripts of the rows, runs
 * {@code wrk --latency} for a duration (its output kept in a file of the run's work directory)
 * and reads the result with {@link WrkOutput}.
 *
 * <p>The read rows have two scripts each. The checked ones check each answer in
 * {@code response()}: a read by offset must start at the offset asked for and end
 * {@code count - 1} records later; other 200 answers are counted as {@code BENCH bad} and printed
 * from {@code done()}, with the threads' other counters. Defining {@code response()} makes wrk
 * hand every body to Lua, which cost wrk about 7 times the CPU per 190 KB answer of the same reads
 * without (wrk 4.1, 2 cores): wrk, not Portico, would set the pace. So a read row checks its
 * answers in the untimed run and is timed with the unchecked twin, which asks for the same reads
 * and leaves the bodies to wrk's parser ({@link #walkScriptUnchecked}, {@link #randomScriptUnchecked}).
 */
final class Wrk {
    /** wrk's threads: the machine the figures are judged on has 2 cores. */
    static final int THREADS = 2;
    /** Requests slower than this are wrk timeouts (errors); the bench's own generator waits 60 s. */
    static final int TIMEOUT_SECONDS = 10;

    private Wrk() {
    }

    /** The {@code wrk} executable on the PATH, or null. */
    static Path find() {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, "wrk");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** The first line of {@code wrk -v} (which exits with 1), e.g. {@code wrk debian/4.1.0-3+b2 [epoll] …}. */
    static String version(Path wrk) {
        try {
            Process p = new ProcessBuilder(wrk.toString(), "-v").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out.lines().findFirst().orElse("?").replaceAll("\\s+Copyright.*", "").trim();
        } catch (IOException e) {
            return "? (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    /** wrk's threads for {@code connections}: {@link #THREADS}, fewer when there are fewer connections. */
    static int threads(int connections) {
        return Math.max(1, Math.min(THREADS, connections));
    }

    /**
     * One run of wrk and what it cost.
     *
     * @param cpu wrk's CPU in % of one core over the run (sampled from /proc until it exits; NaN if unknown)
     */
    record Run(WrkOutput output, double cpu, List<String> command, Path log) {
    }

    /**
     * Runs {@code wrk -t<threads> -c<connections> -d<seconds>s --timeout 10s --latency [-s script] url},
     * its output to {@code log}; waits for it to end (by itself, after the duration).
     *
     * @throws IOException when wrk fails or prints no result
     */
    static Run run(Path wrk, int connections, int seconds, Path script, String url, Path log)
            throws IOException, InterruptedException {
        return run(wrk, threads(connections), connections, seconds, script, url, log);
    }

    /** As above, on {@code threads} threads (at most {@code connections}). */
    static Run run(Path wrk, int threads, int connections, int seconds, Path script, String url, Path log)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(wrk.toString(), "-t" + threads, "-c" + connections,
                "-d" + seconds + "s", "--timeout", TIMEOUT_SECONDS + "s", "--latency"));
        if (script != null) {
            cmd.addAll(List.of("-s", script.toString()));
        }
        cmd.add(url);
        Files.createDirectories(log.toAbsolutePath().getParent());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long start = System.nanoTime();
        long cpu = -1;
        try {
            while (!p.waitFor(100, TimeUnit.MILLISECONDS)) {
                long c = ProcStats.cpuNanos(p.pid());
                cpu = c >= 0 ? c : cpu;
                if (System.nanoTime() - start > TimeUnit.SECONDS.toNanos(seconds + 120L)) {
                    p.destroyForcibly();
                    throw new IOException("wrk did not end within " + (seconds + 120) + " s: " + String.join(" ", cmd));
                }
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            throw e;
        }
        double wall = System.nanoTime() - start;
        String out = Files.readString(log, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException("wrk exited with " + p.exitValue() + ": " + String.join(" ", cmd) + ": "
                    + HttpLoad.abbreviate(out));
        }
        WrkOutput output;
        try {
            output = WrkOutput.parse(out);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage() + " (" + log + ")", e);
        }
        return new Run(output, cpu < 0 ? Double.NaN : 100.0 * cpu / wall, List.copyOf(cmd), log);
    }

    // ---------------------------------------------------------------- Lua scripts

    /** A script sending the same POST on every connection: wrk builds the request once. */
    static String postScript(String row, String contentType, String accept, byte[] body) {
        return header(row)
                + "wrk.method = \"POST\"\n"
                + "wrk.headers[\"Content-Type\"] = " + quote(contentType) + "\n"
                + "wrk.headers[\"Accept\"] = " + quote(accept) + "\n"
                + "wrk.body = " + longString(new String(body, StandardCharsets.ISO_8859_1)) + "\n";
    }

    /**
     * A script walking partitions by offset, {@code count} records a read, as row d does: each
     * segment {@code {partition, from, to}} is walked by one connection's worth of requests from
     * {@code from} while a whole read fits before {@code to}, then again from {@code from}. Thread
     * {@code t} (of {@code threads}) walks segments {@code t, t + threads, …}; a segment's next
     * read is sent once its last has been answered (answers are matched to their segment by the
     * partition and first offset in them), so that each walk is sequential as a client's is.
     */
    static String walkScript(String row, String topic, List<long[]> segments, int count, int threads) {
        if (segments.size() < threads) {
            throw new IllegalArgumentException(segments.size() + " walks for " + threads + " threads: each needs one");
        }
        String segs = segmentsTable(segments);
        return header(row) + readCommon(topic, count, threads)
                + "local segments = {\n" + segs + "}\n"
                + """
                function init(args)
                  walkers = {}
                  for i = id, #segments, threads do
                    local s = segments[i]
                    table.insert(walkers, {p = s[1], from = s[2], last = s[3] - count, pos = s[2], busy = false, sent = 0})
                  end
                  pending = {}
                  turn = 0
                  sent = 0
                end

                function request()
                  local w = nil
                  for k = 1, #walkers do
                    local c = walkers[(turn + k - 1) % #walkers + 1]
                    if not c.busy then w = c; turn = turn + k; break end
                  end
                  if w == nil then
                    -- an answer that matched no walker (an error): send the longest-waiting read again
                    for k = 1, #walkers do
                      if w == nil or walkers[k].sent < w.sent then w = walkers[k] end
                    end
                  end
                  sent = sent + 1
                  w.busy = true
                  w.sent = sent
                  pending[key(w.p, w.pos)] = w
                  return read(w.p, w.pos)
                end

                function response(status, headers, body)
                  if status ~= 200 then return end
                  local p, first = check(body)
                  if p == nil then return end
                  local w = pending[key(p, first)]
                  if w == nil then bad = bad + 1; return end
                  good = good + 1
                  pending[key(p, first)] = nil
                  w.busy = false
                  w.pos = w.pos + count
                  if w.pos > w.last then w.pos = w.from; wraps = wraps + 1 end
                end
                """;
    }

    /**
     * A script reading at random offsets, {@code count} records a read: a partition and an offset
     * in {@code [0, end - count]} drawn by LuaJIT's generator seeded with {@code seed} plus the
     * thread's number, so that every run draws the same reads. An answer is good when it starts
     * at one of the thread's last 16 reads not yet answered (a read whose answer was wrong is
     * forgotten after 16 more), so a wrong answer passes only if it happens to start where
     * another such read does.
     */
    static String randomScript(String row, String topic, long[] ends, int count, long seed, int threads) {
        String last = lastReads(ends, count);
        return header(row) + readCommon(topic, count, threads)
                + "local last = {" + last + "}\n"
                + "local seed = " + seed + "\n"
                + """
                function init(args)
                  math.randomseed(seed + id)
                  recent = {}
                end

                function request()
                  local p = math.random(0, #last - 1)
                  local offset = math.random(0, last[p + 1])
                  table.insert(recent, key(p, offset))
                  if #recent > 16 then table.remove(recent, 1) end
                  return read(p, offset)
                end

                function response(status, headers, body)
                  if status ~= 200 then return end
                  local p, first = check(body)
                  if p == nil then return end
                  local k = key(p, first)
                  for i = 1, #recent do
                    if recent[i] == k then
                      table.remove(recent, i)
                      good = good + 1
                      return
                    end
                  end
                  bad = bad + 1
                end
                """;
    }

    /**
     * The unchecked twin of {@link #walkScript}, to run on one thread per segment with one
     * connection each ({@code -t<segments> -c<segments>}): a thread's connection sends its next
     * read only once the last was answered, so the thread walks its segment by stepping at each
     * request, and no {@code response()} is needed. Counts {@code BENCH wraps}.
     */
    static String walkScriptUnchecked(String row, String topic, List<long[]> segments, int count, int threads) {
        if (segments.size() != threads) {
            throw new IllegalArgumentException(segments.size() + " walks for " + threads + " threads: one each");
        }
        String segs = segmentsTable(segments);
        return header(row) + readRequests(topic, count)
                + "local segments = {\n" + segs + "}\n"
                + """
                function init(args)
                  local s = segments[id]
                  p = s[1]
                  from = s[2]
                  last = s[3] - count
                  pos = from
                end

                function request()
                  local r = read(p, pos)
                  pos = pos + count
                  if pos > last then pos = from; wraps = wraps + 1 end
                  return r
                end
                """;
    }

    /** The unchecked twin of {@link #randomScript}: reads drawn the same way, no {@code response()}. */
    static String randomScriptUnchecked(String row, String topic, long[] ends, int count, long seed) {
        String last = lastReads(ends, count);
        return header(row) + readRequests(topic, count)
                + "local last = {" + last + "}\n"
                + "local seed = " + seed + "\n"
                + """
                function init(args)
                  math.randomseed(seed + id)
                end

                function request()
                  local p = math.random(0, #last - 1)
                  return read(p, math.random(0, last[p + 1]))
                end
                """;
    }

    /** What both read scripts share: the threads' numbers, the request, the check, the counters. */
    private static String readCommon(String topic, int count, int threads) {
        return readRequests(topic, count)
                + "threads = " + threads + "\n"
                + """
                function key(p, offset)
                  return string.format("%d:%d", p, offset)
                end

                -- The partition and first offset of a 200 answer holding exactly count records from
                -- there on; nil (and one more bad answer) otherwise. The caller counts it good once
                -- it is the answer to a read it sent.
                function check(body)
                  local p, first = string.match(body, '"partition":(%d+),"offset":(%d+)')
                  if p == nil then bad = bad + 1; return nil end
                  p = tonumber(p)
                  first = tonumber(first)
                  local tail = string.format('"offset":%d}', first + count - 1)
                  if string.find(body, tail, math.max(1, #body - 2 * #tail), true) == nil then
                    bad = bad + 1
                    return nil
                  end
                  return p, first
                end
                """;
    }

    /**
     * What every read script shares: the request, the threads' numbers ({@code id}, from 1) and
     * the counters, printed by {@code done()} as {@code BENCH <name> <sum over threads>}.
     */
    private static String readRequests(String topic, int count) {
        return "local path = " + quote("/topics/" + topic + "/partitions/") + "\n"
                + "count = " + count + "\n"
                + """
                wrk.headers["Accept"] = "application/vnd.kafka.binary.v1+json"
                local all = {}
                bad = 0
                good = 0
                wraps = 0

                function setup(thread)
                  table.insert(all, thread)
                  thread:set("id", #all)
                end

                function read(p, offset)
                  return wrk.format(nil, string.format("%s%d/messages?offset=%d&count=%d", path, p, offset, count))
                end

                function done(summary, latency, requests)
                  local totals = {bad = 0, good = 0, wraps = 0}
                  for _, t in ipairs(all) do
                    for name, _ in pairs(totals) do
                      totals[name] = totals[name] + (t:get(name) or 0)
                    end
                  end
                  for name, n in pairs(totals) do
                    io.write(string.format("BENCH %s %d\\n", name, n))
                  end
                end
                """;
    }

    /** The Lua table rows of {@code {partition, from, to}} segments. */
    private static String segmentsTable(List<long[]> segments) {
        StringBuilder segs = new StringBuilder();
        for (long[] s : segments) {
            segs.append(String.format(Locale.ROOT, "  {%d, %d, %d},%n", s[0], s[1], s[2]));
        }
        return segs.toString();
    }

    /** The Lua list of each partition's last offset a read of {@code count} may start at. */
    private static String lastReads(long[] ends, int count) {
        StringBuilder last = new StringBuilder();
        for (long e : ends) {
            last.append(e - count).append(", ");
        }
        return last.toString();
    }

    private static String header(String row) {
        return "-- written by the benchmark (bench/run.sh): row " + row + "\n";
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** A Lua long string holding {@code s} as it is (a leading newline would be dropped: none here). */
    private static String longString(String s) {
        String eq = "=";
        while (s.contains("]" + eq + "]")) {
            eq += "=";
        }
        return "[" + eq + "[" + s + "]" + eq + "]";
    }
}
