package io.portico.protocol;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Standard base64 (RFC 4648, with padding: what {@code Base64.getEncoder()} writes), written
 * straight into a caller's array at any position. Every key and value a read returns in the
 * binary format goes through here, and every base64 key and value of a produce request is
 * decoded here ({@link #decode}: by a table when its text is plain, else by the JDK's decoder).
 *
 * <p>Six bytes a step: read as one big-endian {@code long}, cut into four 12-bit groups, each
 * looked up in a table of the 4,096 pairs of base64 characters, the eight characters stored as one
 * {@code long}. The JDK's encoder takes three bytes a step and a lookup and a store per character,
 * unless HotSpot replaces it with vector instructions ({@code UseBASE64Intrinsics}, which Java 17
 * turns on for x86 CPUs with AVX-512 and for AArch64): where that flag was off (an AVX2 machine)
 * this took about 0.4 of the JDK's time for 100-byte values, and it needs no scratch
 * array to write in the middle of a response.
 *
 * <p>Where that flag is on, values of {@link #VECTOR_FROM} bytes or more go through the JDK's
 * encoder instead, into a scratch array of the thread's ({@value #CHUNK} bytes at a time, so
 * 7 KiB a thread whatever the value's size) copied into place ({@link #encode(byte[])}: straight
 * into an array of the value's own): on an AVX-512 machine this took
 * 0.8 of this table's time at 128 bytes, 0.7 at 200, 0.2 at 1,000 and 0.15 at 100,000, and more
 * below 100 (where the copy and the look-up of the scratch cost more than they save):
 * {@code bench/results/2026-12-07-base64-jdk.md}.
 */
public final class Base64Text {
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final byte[] ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    /** For each 12 bits, their two characters: the first in the low byte (stored little-endian, it comes first). */
    private static final char[] PAIRS = new char[4096];

    static {
        for (int i = 0; i < PAIRS.length; i++) {
            PAIRS[i] = (char) (ALPHABET[i >>> 6] | ALPHABET[i & 63] << 8);
        }
    }

    /** Values of at least this many bytes are encoded by the JDK's encoder where HotSpot vectorizes it. */
    static final int VECTOR_FROM = 128;
    /** Bytes given to the JDK's encoder at a time: a multiple of 3, so no padding falls inside a value. */
    static final int CHUNK = 3 * 1024;
    /**
     * Whole groups left after the last whole chunk from which they are encoded as the end of a
     * chunk that starts back (a whole chunk's work): fewer go through the table, which takes
     * about as long as a chunk for this many.
     */
    static final int BACK_CHUNK_FROM = 480;
    private static final boolean VECTORIZED = vectorized();
    private static final java.util.Base64.Encoder JDK = java.util.Base64.getEncoder();
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** A thread's arrays for the JDK's encoder, which encodes a whole array into another from its start. */
    private static final class Scratch {
        final byte[] in = new byte[CHUNK];
        final byte[] out = new byte[CHUNK / 3 * 4];
    }

    private Base64Text() {
    }

    /**
     * Whether HotSpot replaces the JDK's base64 encoder with vector instructions on this machine:
     * the flag on, and C2 compiling (the intrinsic is C2's; without it, with {@code -Xint},
     * {@code -XX:TieredStopAtLevel} below 4 or Graal as the compiler, the JDK's encoder is a
     * scalar loop, slower than the table). Any doubt (another JVM) is the table.
     */
    private static boolean vectorized() {
        try {
            com.sun.management.HotSpotDiagnosticMXBean vm = java.lang.management.ManagementFactory
                    .getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return "true".equals(vm.getVMOption("UseBASE64Intrinsics").getValue())
                    && "true".equals(vm.getVMOption("UseCompiler").getValue())
                    && ("false".equals(vm.getVMOption("TieredCompilation").getValue())
                        || "4".equals(vm.getVMOption("TieredStopAtLevel").getValue()))
                    && !"true".equals(option(vm, "UseJVMCICompiler"));
        } catch (RuntimeException | LinkageError notHotSpot) {
            return false;
        }
    }

    /** A VM option's value, null when this VM has no such option. */
    private static String option(com.sun.management.HotSpotDiagnosticMXBean vm, String name) {
        try {
            return vm.getVMOption(name).getValue();
        } catch (IllegalArgumentException none) {
            return null;
        }
    }

    /** Whether values of {@link #VECTOR_FROM} bytes or more go through the JDK's vectorized encoder here. */
    public static boolean vectorizedForLargeValues() {
        return VECTORIZED;
    }

    /** The characters base64 writes for {@code n} bytes, padding included. */
    public static long length(int n) {
        return 4L * ((n + 2L) / 3);
    }

    /** {@code data} in base64, as {@code Base64.getEncoder().encode(data)}. */
    public static byte[] encode(byte[] data) {
        long size = length(data.length);
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(data.length + " bytes are too many to write in base64 in one array");
        }
        if (VECTORIZED && data.length >= VECTOR_FROM) {
            return JDK.encode(data); // one array of its own anyway: no scratch, no copy
        }
        byte[] out = new byte[(int) size];
        encodeByTable(data, 0, data.length, out, 0);
        return out;
    }

    /**
     * Writes {@code src[from, from + n)} in base64 into {@code out} from {@code at}, exactly
     * {@link #length length(n)} bytes (nothing past them is touched).
     *
     * @return the position after what was written
     */
    public static int encode(byte[] src, int from, int n, byte[] out, int at) {
        return VECTORIZED && n >= VECTOR_FROM ? encodeByJdk(src, from, n, out, at) : encodeByTable(src, from, n, out, at);
    }

    /** As {@link #encode(byte[], int, int, byte[], int)}, by the JDK's encoder through the thread's scratch arrays. */
    static int encodeByJdk(byte[] src, int from, int n, byte[] out, int at) {
        Scratch scratch = SCRATCH.get();
        if (from == 0 && n == src.length && n <= CHUNK) {
            int m = JDK.encode(src, scratch.out);
            System.arraycopy(scratch.out, 0, out, at, m);
            return at + m;
        }
        int i = from;
        int end = from + n;
        int p = at;
        for (; end - i >= CHUNK; i += CHUNK) {
            System.arraycopy(src, i, scratch.in, 0, CHUNK);
            int m = JDK.encode(scratch.in, scratch.out);
            System.arraycopy(scratch.out, 0, out, p, m);
            p += m;
        }
        // The whole groups left, fewer than a chunk: encoded as the end of a chunk that starts
        // that many bytes back (whole groups from where this started, so the same characters),
        // of which only the new ones are copied.
        int left = (end - i) / 3 * 3;
        if (left >= BACK_CHUNK_FROM && i - from >= CHUNK - left) {
            int back = CHUNK - left;
            System.arraycopy(src, i - back, scratch.in, 0, CHUNK);
            JDK.encode(scratch.in, scratch.out);
            int m = left / 3 * 4;
            System.arraycopy(scratch.out, back / 3 * 4, out, p, m);
            i += left;
            p += m;
        }
        return encodeByTable(src, i, end - i, out, p);
    }

    /** As {@link #encode(byte[], int, int, byte[], int)}, six bytes a step through the table of pairs. */
    static int encodeByTable(byte[] src, int from, int n, byte[] out, int at) {
        int i = from;
        int end = from + n;
        int p = at;
        // Eight bytes read, six used: the loop stops while eight are left to read.
        for (; i + Long.BYTES <= end; i += 6, p += 8) {
            long x = (long) LONG_BE.get(src, i);
            long chars = PAIRS[(int) (x >>> 52)]
                    | (long) PAIRS[(int) (x >>> 40) & 0xfff] << 16
                    | (long) PAIRS[(int) (x >>> 28) & 0xfff] << 32
                    | (long) PAIRS[(int) (x >>> 16) & 0xfff] << 48;
            LONG_LE.set(out, p, chars);
        }
        for (; i + 3 <= end; i += 3, p += 4) {
            int bits = (src[i] & 0xff) << 16 | (src[i + 1] & 0xff) << 8 | src[i + 2] & 0xff;
            INT_LE.set(out, p, PAIRS[bits >>> 12] | PAIRS[bits & 0xfff] << 16);
        }
        int left = end - i;
        if (left == 1) {
            int b = src[i] & 0xff;
            out[p++] = ALPHABET[b >>> 2];
            out[p++] = ALPHABET[b << 4 & 63];
            out[p++] = '=';
            out[p++] = '=';
        } else if (left == 2) {
            int b = (src[i] & 0xff) << 8 | src[i + 1] & 0xff;
            out[p++] = ALPHABET[b >>> 10];
            out[p++] = ALPHABET[b >>> 4 & 63];
            out[p++] = ALPHABET[b << 2 & 63];
            out[p++] = '=';
        }
        return p;
    }

    /**
     * Writes {@code data} in base64 as a JSON string value: base64 needs no escaping, so its bytes
     * go into the string as they are (no String is made of them).
     */
    public static void writeString(com.fasterxml.jackson.core.JsonGenerator g, byte[] data) throws java.io.IOException {
        byte[] encoded = encode(data);
        g.writeRawUTF8String(encoded, 0, encoded.length);
    }

    private static final int[] VALUES = new int[256];
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    static {
        java.util.Arrays.fill(VALUES, -1);
        for (int i = 0; i < ALPHABET.length; i++) {
            VALUES[ALPHABET[i]] = i;
        }
    }

    /**
     * The position in {@code b[from, to)} of the first byte that is a double quote, a backslash,
     * a control character below {@code 0x20}, or {@code 0x80} or more (a byte of a non-ASCII
     * character); {@code to} when there is none. What ends a JSON string's plain text, as the
     * produce parsers take it: eight bytes a step.
     */
    public static int plainTextEnd(byte[] b, int from, int to) {
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long x = (long) LONG_LE.get(b, i);
            long quote = x ^ 0x2222222222222222L;
            long backslash = x ^ 0x5c5c5c5c5c5c5c5cL;
            long found = (quote - ONES) & ~quote & HIGHS
                    | (backslash - ONES) & ~backslash & HIGHS
                    | (x - 0x2020202020202020L) & ~x & HIGHS
                    | x & HIGHS;
            if (found != 0) {
                // The lowest byte found is exact (a borrow only reaches bytes above a found one).
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            byte c = b[i];
            if (c == '"' || c == '\\' || c < 0x20) {
                return i;
            }
        }
        return to;
    }

    /**
     * {@code src[from, from + n)} decoded as {@code Base64.getDecoder()} decodes it (standard
     * alphabet, padding optional): by the table when the text is plain base64, else by the JDK's
     * decoder, which then gives the answer or the error.
     *
     * @throws IllegalArgumentException when the text is not base64, as the JDK's decoder throws it
     */
    public static byte[] decode(byte[] src, int from, int n) {
        byte[] decoded = decodePlain(src, from, n);
        if (decoded != null) {
            return decoded;
        }
        java.nio.ByteBuffer bytes = JDK_DECODER.decode(java.nio.ByteBuffer.wrap(src, from, n));
        return bytes.remaining() == bytes.array().length ? bytes.array()
                : java.util.Arrays.copyOfRange(bytes.array(), bytes.arrayOffset() + bytes.position(),
                        bytes.arrayOffset() + bytes.limit());
    }

    private static final java.util.Base64.Decoder JDK_DECODER = java.util.Base64.getDecoder();

    /** {@code text} decoded as {@code Base64.getDecoder().decode(text)} decodes it (see {@link #decode(byte[], int, int)}). */
    public static byte[] decode(String text) {
        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1); // as the JDK's decoder takes a String
        return decode(bytes, 0, bytes.length);
    }

    /**
     * {@code src[from, from + n)} decoded by the table, when it is base64 of the standard alphabet either
     * without padding (its length not 1 more than a multiple of 4) or padded to a multiple of 4
     * with one or two {@code =} at its end; null for any other text (a line break, a character
     * outside the alphabet, padding elsewhere), which the caller then gives to the JDK's decoder
     * for its answer or its error. What is decoded is what the JDK's basic decoder returns.
     */
    static byte[] decodePlain(byte[] src, int from, int n) {
        int pad = 0;
        if (n >= 4 && (n & 3) == 0 && src[from + n - 1] == '=') {
            pad = src[from + n - 2] == '=' ? 2 : 1;
        }
        int chars = n - pad;
        int tail = chars & 3;
        if (tail == 1) {
            return null; // one character cannot end a unit: the JDK's error
        }
        byte[] out = new byte[chars / 4 * 3 + (tail == 0 ? 0 : tail - 1)];
        int i = from;
        int whole = from + (chars & ~3);
        int p = 0;
        for (; i < whole; i += 4, p += 3) {
            int bits = VALUES[src[i] & 0xff] << 18 | VALUES[src[i + 1] & 0xff] << 12
                    | VALUES[src[i + 2] & 0xff] << 6 | VALUES[src[i + 3] & 0xff];
            if (bits < 0) {
                return null;
            }
            out[p] = (byte) (bits >> 16);
            out[p + 1] = (byte) (bits >> 8);
            out[p + 2] = (byte) bits;
        }
        if (tail == 2) {
            int bits = VALUES[src[i] & 0xff] << 6 | VALUES[src[i + 1] & 0xff];
            if (bits < 0) {
                return null;
            }
            out[p] = (byte) (bits >> 4);
        } else if (tail == 3) {
            int bits = VALUES[src[i] & 0xff] << 12 | VALUES[src[i + 1] & 0xff] << 6 | VALUES[src[i + 2] & 0xff];
            if (bits < 0) {
                return null;
            }
            out[p] = (byte) (bits >> 10);
            out[p + 1] = (byte) (bits >> 2);
        }
        return out;
    }
}
