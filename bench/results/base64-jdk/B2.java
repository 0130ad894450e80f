// Run: javac -cp protocol/target/classes -d /tmp/b64 this file; java -cp protocol/target/classes:/tmp/b64 io.portico.protocol.B2 10 100 1000
// (in package io.portico.protocol to call Base64Text's two ways; not built by Maven)
package io.portico.protocol;
public class B2 {
    public static void main(String[] a) throws Exception {
        for (String arg : a) {
            int n = Integer.parseInt(arg);
            int values = Math.max(16, (1 << 20) / n);
            byte[][] src = new byte[values][];
            java.util.Random r = new java.util.Random(1);
            for (int i = 0; i < src.length; i++) { src[i] = new byte[n]; r.nextBytes(src[i]); }
            byte[] out = new byte[4 << 20];
            double bestT = 1e9, bestJ = 1e9;
            int reps = Math.max(1, 100_000_000 / (n * values));
            for (int round = 0; round < 10; round++) {
                long t0 = System.nanoTime(); long sink = 0;
                for (int k = 0; k < reps; k++) { int p = 1; for (byte[] s : src) { p = Base64Text.encodeByTable(s, 0, n, out, p) + 1; if (p > out.length - 2 * n - 100) p = 1; } sink += p; }
                long t1 = System.nanoTime();
                for (int k = 0; k < reps; k++) { int p = 1; for (byte[] s : src) { p = Base64Text.encodeByJdk(s, 0, n, out, p) + 1; if (p > out.length - 2 * n - 100) p = 1; } sink += p; }
                long t2 = System.nanoTime();
                if (round >= 3) { bestT = Math.min(bestT, (t1 - t0) / (double) (reps * values)); bestJ = Math.min(bestJ, (t2 - t1) / (double) (reps * values)); }
                if (sink == 42) System.out.print("");
            }
            System.out.printf("| %,d | %.1f | %.1f | %.2f |%n", n, bestT, bestJ, bestJ / bestT);
        }
    }
}
