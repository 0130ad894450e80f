import java.lang.reflect.*;
import java.net.*;
import java.util.*;

/**
 * Parses the same v1 produce body (100 records, binary: 100-byte values in base64) with two builds
 * of Portico's protocol classes, each in its own class loader, alternating rounds in one JVM: the
 * time per record of each, round by round (Json.BodyReader of ProduceRequest, as the v1 produce
 * handler reads a body).
 * Usage: java ParseBench.java A.jar B.jar [rounds]
 */
public class ParseBench {
    record Build(String name, Object reader, Method read, Object binary) {
        Object parse(byte[] body) throws Exception {
            return read.invoke(reader, body, binary);
        }
    }

    static Build load(String name, String jar) throws Exception {
        URLClassLoader cl = new URLClassLoader(new URL[] {new java.io.File(jar).toURI().toURL()}, null);
        Class<?> fmt = cl.loadClass("io.portico.protocol.EmbeddedFormat");
        Class<?> req = cl.loadClass("io.portico.protocol.ProduceRequest");
        Class<?> readerClass = cl.loadClass("io.portico.protocol.Json$BodyReader");
        Object reader = readerClass.getConstructor(Class.class).newInstance(req);
        Method read = readerClass.getMethod("read", byte[].class, fmt);
        return new Build(name, reader, read, fmt.getField("BINARY").get(null));
    }

    public static void main(String[] args) throws Exception {
        Build[] builds = {load("A", args[0]), load("B", args[1])};
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 14;
        Random random = new Random(1);
        StringBuilder json = new StringBuilder("{\"records\":[");
        for (int i = 0; i < 100; i++) {
            byte[] value = new byte[100];
            random.nextBytes(value);
            json.append(i == 0 ? "" : ",").append("{\"value\":\"").append(Base64.getEncoder().encodeToString(value)).append("\"}");
        }
        byte[] body = json.append("]}").toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        long sink = 0;
        int reps = 4000;
        for (int r = 0; r < rounds; r++) {
            StringBuilder line = new StringBuilder("round " + r);
            for (int k = 0; k < 2; k++) {
                int which = (r % 2 == 0) ? k : 1 - k; // alternate which goes first
                Build b = builds[which];
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    sink += b.parse(body).hashCode();
                }
                long ns = System.nanoTime() - t0;
                line.append(String.format("  %s %.1f ns/record", b.name(), (double) ns / reps / 100));
            }
            System.out.println(line);
        }
        System.out.println("sink " + sink);
    }
}
