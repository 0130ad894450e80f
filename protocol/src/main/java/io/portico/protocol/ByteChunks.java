package io.portico.protocol;

import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A response body held as a few arrays of at most {@link #MAX_CHUNK} bytes each, written out
 * together (a gathering write), never as one large array.
 *
 * <p>Why: the G1 collector allocates an array of half a heap region or more (512 KiB with its
 * smallest, 1 MiB regions, which every heap under 2 GiB has) as a "humongous" object, straight
 * into the old generation, zeroed in one piece; and once the old generation is past the
 * collector's threshold, every such allocation starts a collection of its own. A read of a
 * thousand records, or a batch of Server-Sent Events, renders to a megabyte: as one array, every
 * reader's response would stop every client's requests for a pause, more often the fuller the
 * heap. In chunks of 128 KiB, responses are ordinary young objects. (A single record rendered
 * larger than a chunk still takes an array of its own size.)
 *
 * <p>Immutable once built; {@link #buffers} gives fresh buffers over the same arrays each call.
 */
public final class ByteChunks {
    /** The most bytes an array of a body holds (a single record larger than this is one array). */
    public static final int MAX_CHUNK = 128 * 1024;
    /** The first array of a {@link Builder} that is not told how much to expect. */
    private static final int FIRST_CHUNK = 4 * 1024;

    public static final ByteChunks EMPTY = new ByteChunks(new byte[0][], new int[0], 0);

    private final byte[][] arrays;
    private final int[] lengths; // of each array, the bytes that belong to the body
    private final long length;

    private ByteChunks(byte[][] arrays, int[] lengths, long length) {
        this.arrays = arrays;
        this.lengths = lengths;
        this.length = length;
    }

    /** The bytes of one array (not copied: the array must not change afterwards). */
    public static ByteChunks of(byte[] bytes) {
        return bytes.length == 0 ? EMPTY : new ByteChunks(new byte[][] {bytes}, new int[] {bytes.length}, bytes.length);
    }

    /** Whole arrays, in order (not copied). */
    static ByteChunks ofArrays(List<byte[]> arrays) {
        byte[][] a = arrays.toArray(new byte[0][]);
        int[] lengths = new int[a.length];
        long length = 0;
        for (int i = 0; i < a.length; i++) {
            lengths[i] = a[i].length;
            length += a[i].length;
        }
        return new ByteChunks(a, lengths, length);
    }

    /** How many bytes the body holds. */
    public long length() {
        return length;
    }

    public boolean isEmpty() {
        return length == 0;
    }

    /** How many arrays hold the body. */
    public int count() {
        return arrays.length;
    }

    /** The body as buffers to write in order, fresh each call (positions at 0). */
    public ByteBuffer[] buffers() {
        ByteBuffer[] out = new ByteBuffer[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] = ByteBuffer.wrap(arrays[i], 0, lengths[i]);
        }
        return out;
    }

    /** The body as one array (a copy, unless it is one whole array already): for small bodies and tests. */
    public byte[] toByteArray() {
        if (arrays.length == 1 && lengths[0] == arrays[0].length) {
            return arrays[0];
        }
        if (length > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("a body of " + length + " bytes does not fit one array");
        }
        byte[] out = new byte[(int) length];
        int p = 0;
        for (int i = 0; i < arrays.length; i++) {
            System.arraycopy(arrays[i], 0, out, p, lengths[i]);
            p += lengths[i];
        }
        return out;
    }

    /**
     * The ends of runs of consecutive pieces (records, events) that fill arrays of at most
     * {@link #MAX_CHUNK} bytes: run {@code r} is pieces {@code [ends[r-1], ends[r])} (from 0 for
     * the first). A piece larger than a chunk is a run of its own. No pieces, no runs.
     */
    static int[] runs(int[] sizes) {
        int count = sizes.length;
        int[] ends = new int[Math.max(1, count)];
        int runs = 0;
        long run = 0;
        for (int i = 0; i < count; i++) {
            if (run > 0 && run + sizes[i] > MAX_CHUNK) {
                ends[runs++] = i;
                run = 0;
            }
            run += sizes[i];
        }
        if (count > 0) {
            ends[runs++] = count;
        }
        return Arrays.copyOf(ends, runs);
    }

    /**
     * An output stream that fills arrays of growing size up to {@link #MAX_CHUNK} (no copying as
     * it grows, no array past a chunk), for writers that cannot know the size in advance
     * (Jackson's generator). Not thread-safe; {@link #build} once.
     */
    public static final class Builder extends OutputStream {
        private final List<byte[]> full = new ArrayList<>(); // each filled to its end
        private byte[] current;
        private int position;
        private long length;

        public Builder() {
            this(FIRST_CHUNK);
        }

        /** @param expected about how many bytes will be written: the first array's size (up to a chunk) */
        public Builder(long expected) {
            current = new byte[(int) Math.max(64, Math.min(MAX_CHUNK, expected))];
        }

        @Override
        public void write(int b) {
            if (position == current.length) {
                next();
            }
            current[position++] = (byte) b;
            length++;
        }

        @Override
        public void write(byte[] b) {
            write(b, 0, b.length);
        }

        /** As {@link #write(byte[])}. */
        public void writeBytes(byte[] b) {
            write(b, 0, b.length);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            length += len;
            while (len > 0) {
                if (position == current.length) {
                    next();
                }
                int n = Math.min(len, current.length - position);
                System.arraycopy(b, off, current, position, n);
                position += n;
                off += n;
                len -= n;
            }
        }

        /** How many bytes were written so far. */
        public long length() {
            return length;
        }

        private void next() {
            full.add(current);
            current = new byte[Math.min(MAX_CHUNK, current.length * 2)];
            position = 0;
        }

        /** What was written. */
        public ByteChunks build() {
            int n = full.size() + (position > 0 ? 1 : 0);
            if (n == 0) {
                return EMPTY;
            }
            byte[][] arrays = full.toArray(new byte[n][]);
            int[] lengths = new int[n];
            for (int i = 0; i < full.size(); i++) {
                lengths[i] = arrays[i].length;
            }
            if (position > 0) {
                arrays[n - 1] = current;
                lengths[n - 1] = position;
            }
            return new ByteChunks(arrays, lengths, length);
        }
    }
}
