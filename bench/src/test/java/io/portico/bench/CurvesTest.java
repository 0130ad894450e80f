package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class CurvesTest {
    @Test
    void heapInUseFromJcmd() {
        String g1 = """
                12345:
                 garbage-first heap   total 262144K, used 21504K [0x00000000f0000000, 0x0000000100000000)
                  region size 1024K, 19 young (19456K), 2 survivors (2048K)
                 Metaspace       used 45678K, committed 46080K, reserved 1089536K
                  class space    used 5678K, committed 5888K, reserved 1048576K
                """;
        assertEquals(21504L * 1024, Curves.heapUsed(g1));
        assertEquals(-1, Curves.heapUsed("12345:\nGC.heap_info: unknown command\n"));
    }

    /** jcmd against this JVM gives a heap figure the parser finds. */
    @Test
    void heapInUseOfThisJvm() throws Exception {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        Process p = new ProcessBuilder(jcmd, String.valueOf(ProcessHandle.current().pid()), "GC.heap_info")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        long used = Curves.heapUsed(out);
        assertTrue(used > 0 && used <= Runtime.getRuntime().maxMemory(), out);
    }

    @Test
    void aTimedScriptEndsAtItsDeadlineAndCountsWhatWentWell() {
        ByteBuffer request = Scripts.request("GET", "/", "h", null, null, null);
        HttpLoad.Budget budget = new HttpLoad.Budget(Long.MAX_VALUE);
        Curves.Timed running = new Curves.Timed(new Scripts.Fixed(new ByteBuffer[] {request}, budget, Scripts.Answer.V1, 0),
                System.nanoTime() + 3_600_000_000_000L);
        assertEquals(request.remaining(), running.next().remaining());
        byte[] ok = "{\"offsets\":[{\"partition\":0,\"offset\":3,\"error_code\":null}]}".getBytes(
                StandardCharsets.UTF_8);
        byte[] bad = "{\"offsets\":[{\"partition\":0,\"offset\":null,\"error_code\":50002}]}".getBytes(
                StandardCharsets.UTF_8);
        assertTrue(running.onResponse(200, ok, 0, ok.length));
        assertEquals(false, running.onResponse(200, bad, 0, bad.length));
        running.onResponse(503, ok, 0, ok.length);
        assertEquals(1, running.ok);

        Curves.Timed over = new Curves.Timed(new Scripts.Fixed(new ByteBuffer[] {request}, budget, Scripts.Answer.ANY, 0),
                System.nanoTime() - 1);
        assertNull(over.next());
    }

    @Test
    void machineCpuFromProcStat() {
        String a = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\nintr 1\n";
        String b = "cpu  250 0 100 850 50 0 0 0 0 0\ncpu0 125 0 50 425 25 0 0 0 0 0\nintr 2\n";
        MachineCpu.Sample from = MachineCpu.parse(a);
        MachineCpu.Sample to = MachineCpu.parse(b);
        assertEquals(150, from.busy());
        assertEquals(1000, from.total());
        // 200 busy jiffies of 250: 80% of the machine, 160% of one core on 2 cores.
        assertEquals(160.0, MachineCpu.percent(from, to, 2), 1e-9);
        assertTrue(Double.isNaN(MachineCpu.percent(to, from, 2)));
        MachineCpu.Sample live = MachineCpu.sample();
        assertTrue(live == null || live.total() >= live.busy());
    }

    @Test
    void onceSendsOnce() {
        ByteBuffer request = Scripts.request("GET", "/", "h", null, null, null);
        Curves.Once once = new Curves.Once(new Scripts.Fixed(new ByteBuffer[] {request},
                new HttpLoad.Budget(Long.MAX_VALUE), Scripts.Answer.ANY, 0));
        assertEquals(request.remaining(), once.next().remaining());
        assertNull(once.next());
    }

    @Test
    void createAndDeleteTakeTheNextInstanceOfTheirShare() {
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        boolean[] created = new boolean[3];
        Curves.Create a = new Curves.Create("g-", 3, next, created, "h");
        Curves.Create b = new Curves.Create("g-", 3, next, created, "h");
        assertTrue(text(a.next()).startsWith("POST /consumers/g-0 HTTP/1.1"));
        a.onResponse(200, new byte[0], 0, 0);
        assertTrue(text(b.next()).startsWith("POST /consumers/g-1 HTTP/1.1"));
        b.onResponse(429, new byte[0], 0, 0);
        assertTrue(text(a.next()).contains("\"auto.offset.reset\":\"smallest\""));
        a.onResponse(200, new byte[0], 0, 0);
        assertNull(b.next());
        assertEquals(List.of(true, false, true), List.of(created[0], created[1], created[2]));

        java.util.concurrent.atomic.AtomicInteger d = new java.util.concurrent.atomic.AtomicInteger();
        Curves.Delete del = new Curves.Delete("g-", List.of(0, 2), d, "h");
        assertTrue(text(del.next()).startsWith("DELETE /consumers/g-0/instances/c HTTP/1.1"));
        assertTrue(text(del.next()).startsWith("DELETE /consumers/g-2/instances/c HTTP/1.1"));
        assertNull(del.next());
        assertSame(null, del.next());
    }

    private static String text(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] bytes = new byte[d.remaining()];
        d.get(bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
