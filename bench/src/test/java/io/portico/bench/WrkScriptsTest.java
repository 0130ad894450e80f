package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The wrk rows' Lua scripts, run by the real wrk (skipped where it is not installed) against a
 * stub of Portico's read by offset and produce: the reads must ask for what the rows say (walks
 * in steps of {@code count} within their stretch, random offsets within the partitions), and the
 * scripts' checks must count a wrong answer as bad.
 */
class WrkScriptsTest {
    private static final Pattern READ = Pattern.compile("/topics/t/partitions/(\\d+)/messages\\?offset=(\\d+)&count=(\\d+)");

    private HttpServer server;
    private Path wrk;
    /** The stub answers from the offset after the one asked for: every answer is wrong. */
    private volatile boolean shifted;
    /** The stub answers one record fewer than asked for: every answer is wrong. */
    private volatile boolean cut;
    private final Set<String> asked = ConcurrentHashMap.newKeySet();
    private final Map<String, String> posted = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws IOException {
        wrk = Wrk.find();
        assumeTrue(wrk != null, "wrk is not installed");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::answer);
        server.start();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    private void answer(HttpExchange ex) throws IOException {
        String uri = ex.getRequestURI().toString();
        byte[] body;
        Matcher m = READ.matcher(uri);
        if (ex.getRequestMethod().equals("POST")) {
            posted.put(ex.getRequestHeaders().getFirst("Content-Type"),
                    new String(ex.getRequestBody().readAllBytes(), StandardCharsets.ISO_8859_1));
            body = "{\"offsets\":[]}".getBytes(StandardCharsets.UTF_8);
        } else if (m.matches()) {
            asked.add(m.group(1) + ":" + m.group(2) + ":" + m.group(3));
            long from = Long.parseLong(m.group(2)) + (shifted ? 1 : 0);
            StringBuilder json = new StringBuilder("[");
            for (long o = from; o < from + Long.parseLong(m.group(3)) - (cut ? 1 : 0); o++) {
                json.append(o == from ? "" : ",").append("{\"key\":null,\"value\":\"QUJD\",\"partition\":")
                        .append(m.group(1)).append(",\"offset\":").append(o).append('}');
            }
            body = json.append(']').toString().getBytes(StandardCharsets.UTF_8);
        } else {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    private WrkOutput run(String script, Path dir, String path) throws Exception {
        return run(script, Wrk.threads(4), dir, path);
    }

    private WrkOutput run(String script, int threads, Path dir, String path) throws Exception {
        Path file = dir.resolve("script.lua");
        Files.writeString(file, script);
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + path;
        return Wrk.run(wrk, threads, 4, 1, file, url, dir.resolve("wrk.out")).output();
    }

    @Test
    void uncheckedWalksStepThroughTheirStretchesOneThreadEach(@TempDir Path dir) throws Exception {
        List<long[]> segments = List.of(new long[] {0, 0, 30}, new long[] {0, 30, 60}, new long[] {1, 0, 50},
                new long[] {2, 0, 50});
        WrkOutput w = run(Wrk.walkScriptUnchecked("wrk-d", "t", segments, 10, 4), 4, dir, "/");
        assertTrue(w.okRequests() > 0, w.toString());
        assertEquals(0, w.errors(), w.toString());
        assertTrue(w.counter("wraps") > 0, "walks start again at their stretch's start: " + w);
        assertEquals(0, w.counter("good") + w.counter("bad"), "nothing is checked: " + w);
        assertStepsOfWalks();
        assertTrue(asked.containsAll(List.of("0:0:10", "0:20:10", "0:30:10", "0:50:10", "1:40:10", "2:40:10")),
                "every stretch is walked to its end: " + asked);
    }

    @Test
    void uncheckedRandomReadsStayWithinThePartitions(@TempDir Path dir) throws Exception {
        WrkOutput w = run(Wrk.randomScriptUnchecked("wrk-m", "t", new long[] {100, 40, 25}, 20, 18), 4, dir, "/");
        assertTrue(w.okRequests() > 0, w.toString());
        assertEquals(0, w.errors(), w.toString());
        assertReadsWithinPartitions();
    }

    @Test
    void walksStepThroughTheirStretchesAndCountRightAnswersGood(@TempDir Path dir) throws Exception {
        List<long[]> segments = List.of(new long[] {0, 0, 30}, new long[] {0, 30, 60}, new long[] {1, 0, 50},
                new long[] {2, 0, 50});
        WrkOutput w = run(Wrk.walkScript("wrk-d", "t", segments, 10, 2), dir, "/");
        assertTrue(w.counter("good") > 0, "answers checked: " + w);
        assertEquals(0, w.counter("bad"), "every answer was right: " + w);
        assertTrue(w.counter("wraps") > 0, "walks start again at their stretch's start: " + w);
        assertStepsOfWalks();
        assertTrue(asked.contains("0:20:10") && asked.contains("0:50:10") && asked.contains("2:40:10"), asked.toString());
    }

    @Test
    void wrongAnswersAreCountedBad(@TempDir Path dir) throws Exception {
        shifted = true;
        WrkOutput walk = run(Wrk.walkScript("wrk-d", "t", List.of(new long[] {0, 0, 100}, new long[] {1, 0, 100}),
                10, 2), dir, "/");
        assertTrue(walk.counter("bad") > 0, walk.toString());
        assertEquals(0, walk.counter("good"), walk.toString());
        // Offsets drawn among 20 million: a shifted answer that starts where another pending read
        // does is all but impossible.
        WrkOutput random = run(Wrk.randomScript("wrk-m", "t", new long[] {10_000_000, 10_000_000}, 10, 18, 2), dir,
                "/");
        assertTrue(random.counter("bad") > 0, random.toString());
        assertEquals(0, random.counter("good"), random.toString());
    }

    @Test
    void answersWithFewerRecordsThanAskedAreCountedBad(@TempDir Path dir) throws Exception {
        cut = true;
        WrkOutput walk = run(Wrk.walkScript("wrk-d", "t", List.of(new long[] {0, 0, 100}, new long[] {0, 100, 200}),
                10, 2), dir, "/");
        assertTrue(walk.counter("bad") > 0, walk.toString());
        assertEquals(0, walk.counter("good"), walk.toString());
        WrkOutput random = run(Wrk.randomScript("wrk-m", "t", new long[] {100}, 10, 18, 2), dir, "/");
        assertTrue(random.counter("bad") > 0, random.toString());
        assertEquals(0, random.counter("good"), random.toString());
    }

    @Test
    void randomReadsStayWithinThePartitions(@TempDir Path dir) throws Exception {
        WrkOutput w = run(Wrk.randomScript("wrk-m", "t", new long[] {100, 40, 25}, 20, 18, 2), dir, "/");
        assertTrue(w.counter("good") > 0, w.toString());
        assertEquals(0, w.counter("bad"), w.toString());
        assertReadsWithinPartitions();
    }

    @Test
    void everyThreadNeedsAWalk() {
        assertThrows(IllegalArgumentException.class,
                () -> Wrk.walkScript("wrk-d", "t", List.of(new long[] {0, 0, 100}), 10, 2));
        assertThrows(IllegalArgumentException.class,
                () -> Wrk.walkScriptUnchecked("wrk-d", "t", List.of(new long[] {0, 0, 100}), 10, 2));
    }

    @Test
    void postsSendTheBodyAsItIs(@TempDir Path dir) throws Exception {
        String body = "{\"records\":[{\"value\":\"QUJD\"}]}";
        WrkOutput w = run(Wrk.postScript("wrk-b", "application/vnd.kafka.binary.v1+json",
                "application/vnd.kafka.v1+json", body.getBytes(StandardCharsets.UTF_8)), dir, "/topics/t");
        assertTrue(w.okRequests() > 0, w.toString());
        assertEquals(0, w.errors(), w.toString());
        assertEquals(body, posted.get("application/vnd.kafka.binary.v1+json"));
    }

    /** Every read asked of the stub is a step of one of the walks over {@code {0,0,30} {0,30,60} {1,0,50} {2,0,50}}, 10 a read. */
    private void assertStepsOfWalks() {
        for (String a : asked) {
            String[] f = a.split(":");
            long offset = Long.parseLong(f[1]);
            assertEquals("10", f[2], a);
            boolean inStretch = switch (f[0]) {
                case "0" -> offset % 10 == 0 && offset <= 50;
                case "1", "2" -> offset % 10 == 0 && offset <= 40;
                default -> false;
            };
            assertTrue(inStretch, "read " + a + " is not a step of a walk");
        }
    }

    /** Every read asked of the stub, 20 records of partitions ending at 100, 40 and 25, fits its partition; each is drawn. */
    private void assertReadsWithinPartitions() {
        long[] last = {80, 20, 5};
        Set<String> partitions = ConcurrentHashMap.newKeySet();
        for (String a : asked) {
            String[] f = a.split(":");
            int p = Integer.parseInt(f[0]);
            assertTrue(Long.parseLong(f[1]) <= last[p], "read " + a + " goes past the partition's end");
            assertEquals("20", f[2], a);
            partitions.add(f[0]);
        }
        assertEquals(Set.of("0", "1", "2"), partitions, "every partition is drawn");
    }
}
