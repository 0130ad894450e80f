import java.lang.reflect.*;
import java.net.*;
import java.util.*;

/**
 * Renders the same batch of records with two builds of Portico's protocol classes, each in its own
 * class loader, alternating rounds in one JVM: the time per record of each, round by round. As
 * SSE events (ServerSentEvents.v1, binary), or with "records" as a read by offset's array
 * (RecordsWriter.write, binary).
 * Usage: java RenderBench.java A.jar B.jar [rounds] [events|records]
 */
public class RenderBench {
    record Build(String name, Method render, Object binary, Constructor<?> record, boolean records) {
        Object invoke(Object list) throws Exception {
            return records ? render.invoke(null, list, binary, false) : render.invoke(null, list, binary);
        }
    }

    static Build load(String name, String jar, boolean records) throws Exception {
        URLClassLoader cl = new URLClassLoader(new URL[] {new java.io.File(jar).toURI().toURL()}, null);
        Class<?> fmt = cl.loadClass("io.portico.protocol.EmbeddedFormat");
        Class<?> rec = cl.loadClass("io.portico.protocol.ConsumedRecord");
        Object binary = fmt.getField("BINARY").get(null);
        Constructor<?> c = rec.getConstructor(String.class, byte[].class, byte[].class, int.class, long.class, long.class, List.class);
        Method render = records
                ? cl.loadClass("io.portico.protocol.RecordsWriter").getMethod("write", List.class, fmt, boolean.class)
                : cl.loadClass("io.portico.protocol.ServerSentEvents").getMethod("v1", List.class, fmt);
        return new Build(name, render, binary, c, records);
    }

    public static void main(String[] args) throws Exception {
        boolean arrays = args.length > 3 && args[3].equals("records");
        Build[] builds = {load("A", args[0], arrays), load("B", args[1], arrays)};
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
                    Object rendered = b.invoke(batches.get(which));
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
