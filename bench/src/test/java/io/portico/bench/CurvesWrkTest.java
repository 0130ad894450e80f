package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CurvesWrkTest {
    /** What wrk 4.1.0 printed in a run of the curves, with the line of the generated script's done(). */
    private static final String OUTPUT = """
            Running 2s test @ http://127.0.0.1:36673/topics/curves-p1
              1 threads and 16 connections
              Thread Stats   Avg      Stdev     Max   +/- Stdev
                Latency    29.95ms   21.24ms 122.19ms   79.08%
                Req/Sec   580.30    325.29     1.48k    85.00%
              Latency Distribution
                 50%   24.20ms
                 75%   36.10ms
                 90%   60.21ms
                 99%  107.68ms
              1162 requests in 2.02s, 272.34KB read
            Requests/sec:    576.15
            Transfer/sec:    135.04KB
            PORTICO_WRK requests=1162 duration_us=2016838 connect=0 read=0 write=0 status=0 timeout=0 record_errors=0 p50_us=24202 p99_us=107675 p999_us=121431 max_us=122194
            """;

    @Test
    void parsesTheLineOfTheScript() {
        CurvesWrk.Result r = CurvesWrk.parse(OUTPUT);
        assertEquals(1162, r.requests());
        assertEquals(2.016838, r.seconds(), 1e-9);
        assertEquals(24.202, r.p50(), 1e-9);
        assertEquals(107.675, r.p99(), 1e-9);
        assertEquals(121.431, r.p999(), 1e-9);
        assertEquals(122.194, r.max(), 1e-9);
        assertEquals(0, r.errors());
        assertEquals(1162, r.ok());
    }

    @Test
    void errorsByKind() {
        CurvesWrk.Result r = CurvesWrk.parse("PORTICO_WRK requests=100 duration_us=1000000 connect=1 read=2 write=0 status=5 "
                + "timeout=3 record_errors=7 p50_us=1000 p99_us=2000 p999_us=3000 max_us=4000\n");
        assertEquals(Map.of("connect error", 1L, "read error", 2L, "timeout", 3L, "HTTP non-2xx", 5L,
                "record error", 7L), r.errorKinds());
        assertEquals(18, r.errors());
        assertEquals(88, r.ok(), "answered 2xx without a record error");
    }

    @Test
    void refusesOutputWithoutTheLine() {
        assertThrows(IllegalArgumentException.class, () -> CurvesWrk.parse("unable to connect to 127.0.0.1:1 Connection "
                + "refused\n"));
        assertThrows(IllegalArgumentException.class, () -> CurvesWrk.parse("PORTICO_WRK requests=1 duration_us=1\n"));
        assertTrue(Double.isNaN(CurvesWrk.parse("PORTICO_WRK requests=0 duration_us=1000000 connect=0 read=0 write=0 "
                + "status=0 timeout=0 record_errors=0 p50_us=0 p99_us=0 p999_us=0 max_us=0").p99()));
    }

    @Test
    void theScriptQuotesTheBodyAndChecksRecordsOnlyForProduce() {
        String post = CurvesWrk.script("POST", "{\"records\":[{\"value\":\"a\\b\"}]}", Map.of("Content-Type", "x/y"), true);
        assertTrue(post.contains("wrk.method = \"POST\""), post);
        assertTrue(post.contains("wrk.body = \"{\\\"records\\\":[{\\\"value\\\":\\\"a\\\\b\\\"}]}\""), post);
        assertTrue(post.contains("wrk.headers[\"Content-Type\"] = \"x/y\""), post);
        assertTrue(post.contains("function response("), post);
        String get = CurvesWrk.script("GET", null, Map.of(), false);
        assertFalse(get.contains("wrk.body"), get);
        assertFalse(get.contains("function response("), get);
        assertTrue(get.contains("function done("), get);
    }

    /** Against a server whose every other answer reports a record error: wrk counts them (when wrk is installed). */
    @Test
    void countsRecordErrorsAgainstARealServer(@TempDir Path dir) throws Exception {
        Path wrk = Wrk.find();
        Assumptions.assumeTrue(wrk != null, "wrk is not on the PATH");
        AtomicLong answered = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            boolean bad = answered.incrementAndGet() % 2 == 0;
            if (bad) {
                failed.incrementAndGet();
            }
            byte[] body = ("{\"offsets\":[{\"partition\":0,\"offset\":1,\"error_code\":" + (bad ? "50002" : "null")
                    + ",\"error\":null}]}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/topics/t";
            CurvesWrk.Result r = CurvesWrk.run(wrk, url, CurvesWrk.script("POST", "{}", Map.of(), true), 1, 2, 1, 10,
                    dir.resolve("s.lua"), dir.resolve("out.txt"));
            assertTrue(r.requests() > 10, r.output());
            long recordErrors = r.errorKinds().getOrDefault("record error", 0L);
            // wrk counts the answers it read whole; the server may have sent one or two more at the end.
            assertTrue(recordErrors > 0 && recordErrors <= failed.get(), r.output());
            assertTrue(Math.abs(r.requests() - 2 * recordErrors) <= 2, r.output());
            assertEquals(r.requests() - recordErrors, r.ok());
            assertFalse(Double.isNaN(r.p99()));
        } finally {
            server.stop(0);
        }
    }
}
