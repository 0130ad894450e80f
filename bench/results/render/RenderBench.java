import java.lang.reflect.*;
import java.net.*;
import java.util.*;

/**
 * Renders the same batch of records as SSE events (ServerSentEvents.v1, binary) with two builds of
 * Portico's protocol classes, each in its own class loader, alternating rounds in one JVM: the time
 * per record of each, round by round.
 * Usage: java RenderBench.java A.jar B.jar [rounds]
 */
public class RenderBench {
    record Build(String name, Method v1, Object binary, Constructor<?> record) {}

    static Build load(String name, String jar) throws Exception {
        URLClassLoader cl = new URLClassLoader(new URL[] {new java.io.File(jar).toURI().toURL()}, null);
        Class<?> sse = cl.loadClass("io.portico.protocol.ServerSentEvents");
        Class<?> fmt = cl.loadClass("io.portico.protocol.EmbeddedFormat");
        Class<?> rec = cl.loadClass("io.portico.protocol.ConsumedRecord");
        Object binary = fmt.getField("BINARY").get(null);
        Constructor<?> c = rec.getConstructor(String.class, byte[].class, byte[].class, int.class, long.class, long.class, List.class);
        return new Build(name, sse.getMethod("v1", List.class, fmt), binary, c);
    }

    public static void main(String[] args) throws Exception {
        Build[] builds = {load("A", args[0]), load("B", args[1])};
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int n = 3900; // about one 384 KiB fetch of 100-byte values
        Random random = new Random(1);
        List<List<Object>> batches = new ArrayList<>();
        for (Build b : builds) {
            List<Object> records = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                byte[] value = new byte[100];
                random.nextBytes(value);
                records.add(b.record().newInstance("bench-native-p3", null, value, 1, 600_000L + i, 1_733_000_000_000L, List.of()));
            }
            batches.add(records);
        }
        long sink = 0;
        int reps = 400;
        for (int r = 0; r < rounds; r++) {
            StringBuilder line = new StringBuilder("round " + r);
            for (int k = 0; k < 2; k++) {
                int which = (r % 2 == 0) ? k : 1 - k; // alternate which goes first
                Build b = builds[which];
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    Object rendered = b.v1().invoke(null, batches.get(which), b.binary());
                    sink += rendered.hashCode();
                }
                long ns = System.nanoTime() - t0;
                line.append(String.format("  %s %.1f ns/record", b.name(), (double) ns / reps / n));
            }
            System.out.println(line);
        }
        System.out.println("sink " + sink);
    }
}
