// Times the JDK encoder (into a scratch array, then copied, as BinaryRecords did) against a table of
// character pairs, six bytes a step, on 4,000 random values. Usage: java Base64Bench.java [value bytes]
import java.lang.invoke.*;
import java.nio.ByteOrder;
import java.util.*;

public class Base64Bench {
    static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final char[] PAIRS = new char[4096];
    static final byte[] ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".getBytes();
    static {
        for (int i = 0; i < 4096; i++) PAIRS[i] = (char) (ALPHA[i >>> 6] | ALPHA[i & 63] << 8);
    }
    static int encode(byte[] src, int off, int len, byte[] dst, int dp) {
        int i = off, end = off + len;
        for (; i + 8 <= end; i += 6, dp += 8) {
            long x = (long) LONG_BE.get(src, i);
            long w = PAIRS[(int) (x >>> 52)]
                    | (long) PAIRS[(int) (x >>> 40) & 0xfff] << 16
                    | (long) PAIRS[(int) (x >>> 28) & 0xfff] << 32
                    | (long) PAIRS[(int) (x >>> 16) & 0xfff] << 48;
            LONG_LE.set(dst, dp, w);
        }
        for (; i + 3 <= end; i += 3, dp += 4) {
            int bits = (src[i] & 0xff) << 16 | (src[i + 1] & 0xff) << 8 | (src[i + 2] & 0xff);
            INT_LE.set(dst, dp, PAIRS[bits >>> 12] | PAIRS[bits & 0xfff] << 16);
        }
        int rest = end - i;
        if (rest == 1) {
            int b = src[i] & 0xff;
            dst[dp++] = ALPHA[b >>> 2]; dst[dp++] = ALPHA[(b << 4) & 63]; dst[dp++] = '='; dst[dp++] = '=';
        } else if (rest == 2) {
            int b = (src[i] & 0xff) << 8 | (src[i + 1] & 0xff);
            dst[dp++] = ALPHA[b >>> 10]; dst[dp++] = ALPHA[(b >>> 4) & 63]; dst[dp++] = ALPHA[(b << 2) & 63]; dst[dp++] = '=';
        }
        return dp;
    }
    public static void main(String[] a) {
        Random r = new Random(1);
        int n = 4000, len = Integer.parseInt(a.length > 0 ? a[0] : "100");
        byte[][] vals = new byte[n][];
        for (int i = 0; i < n; i++) { vals[i] = new byte[len]; r.nextBytes(vals[i]); }
        byte[] out = new byte[n * (len * 4 / 3 + 8)];
        Base64.Encoder jdk = Base64.getEncoder();
        byte[] scratch = new byte[len * 2 + 8];
        // check
        for (int L = 0; L < 200; L++) { byte[] s = new byte[L]; r.nextBytes(s); byte[] d = new byte[L*2+8]; int e = encode(s,0,L,d,0);
            if (!Arrays.equals(Arrays.copyOf(d,e), jdk.encode(s))) throw new AssertionError("len " + L); }
        long sink = 0;
        for (int round = 0; round < 12; round++) {
            long t0 = System.nanoTime();
            for (int rep = 0; rep < 200; rep++) { int p = 0; for (byte[] v : vals) { int k = jdk.encode(v, scratch); System.arraycopy(scratch, 0, out, p, k); p += k; } sink += p; }
            long t1 = System.nanoTime();
            for (int rep = 0; rep < 200; rep++) { int p = 0; for (byte[] v : vals) { p = encode(v, 0, v.length, out, p); } sink += p; }
            long t2 = System.nanoTime();
            System.out.printf("jdk %.1f ns/value   pairs %.1f ns/value%n", (t1 - t0) / 800000.0, (t2 - t1) / 800000.0);
        }
        System.out.println(sink);
    }
}
