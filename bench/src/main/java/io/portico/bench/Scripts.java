package io.portico.bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/** The connections' scripts of the HTTP rows. */
final class Scripts {
    private Scripts() {
    }

    /** A request as bytes, in a direct buffer that connections share through {@code duplicate()}. */
    static ByteBuffer request(String method, String target, String host, String contentType, String accept,
                              byte[] body) {
        StringBuilder head = new StringBuilder(256);
        head.append(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                .append("Host: ").append(host).append("\r\n");
        if (accept != null) {
            head.append("Accept: ").append(accept).append("\r\n");
        }
        if (body != null) {
            head.append("Content-Type: ").append(contentType).append("\r\n")
                    .append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        byte[] h = head.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer buf = ByteBuffer.allocateDirect(h.length + (body == null ? 0 : body.length));
        buf.put(h);
        if (body != null) {
            buf.put(body);
        }
        buf.flip();
        return buf.asReadOnlyBuffer();
    }

    /** What a 2xx answer of a {@link Fixed} script is checked for, besides its status. */
    enum Answer {
        /** Nothing more. */
        ANY,
        /** A v1 produce answer: no record Kafka rejected ({@code "error_code":5…}). */
        V1,
        /** A v3 produce answer: one delivery report, a success ({@code "error_code":200}). */
        V3
    }

    /** Sends pre-built requests (rotating over a few variants) while the shared budget lasts. */
    static final class Fixed implements HttpLoad.Script {
        private final ByteBuffer[] variants;
        private final HttpLoad.Budget budget;
        private final Answer answer;
        private int next;

        Fixed(ByteBuffer[] variants, HttpLoad.Budget budget, Answer answer, int first) {
            this.variants = variants;
            this.budget = budget;
            this.answer = answer;
            this.next = first;
        }

        @Override
        public ByteBuffer next() {
            if (!budget.take()) {
                return null;
            }
            ByteBuffer b = variants[next++ % variants.length].duplicate();
            return b;
        }

        @Override
        public boolean onResponse(int status, byte[] body, int offset, int length) {
            if (status / 100 != 2) {
                return true;
            }
            return switch (answer) {
                case ANY -> true;
                case V1 -> !hasRecordError(body, offset, length);
                case V3 -> indexOf(body, V3_SUCCESS, offset, offset + length) >= 0;
            };
        }
    }

    private static final byte[] V3_SUCCESS = "\"error_code\":200,".getBytes(StandardCharsets.US_ASCII);

    private static final byte[] ERROR_CODE = "\"error_code\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PARTITION = "\"partition\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OFFSET = "\"offset\":".getBytes(StandardCharsets.US_ASCII);

    /** Whether a v1 produce answer has an {@code error_code} that is not null. */
    static boolean hasRecordError(byte[] body, int offset, int length) {
        int end = offset + length;
        int i = offset;
        while ((i = indexOf(body, ERROR_CODE, i, end)) >= 0) {
            i += ERROR_CODE.length;
            while (i < end && body[i] == ' ') {
                i++;
            }
            if (i < end && body[i] != 'n') {
                return true;
            }
        }
        return false;
    }

    /** Walks {@code [from, to)} of one partition with reads by offset, {@code count} at a time. */
    static final class ByOffset implements HttpLoad.Script {
        private final String topic;
        private final int partition;
        private final long to;
        private final int count;
        private final String host;
        private final AtomicLong recordsRead;
        private final String v3Cluster;
        private long position;

        ByOffset(String topic, int partition, long from, long to, int count, String host, AtomicLong recordsRead) {
            this(topic, partition, from, to, count, host, recordsRead, null);
        }

        /** @param v3Cluster the cluster id for v3's read ({@code GET /v3/…/records}), or null for v1's */
        ByOffset(String topic, int partition, long from, long to, int count, String host, AtomicLong recordsRead,
                 String v3Cluster) {
            this.v3Cluster = v3Cluster;
            this.topic = topic;
            this.partition = partition;
            this.position = from;
            this.to = to;
            this.count = count;
            this.host = host;
            this.recordsRead = recordsRead;
        }

        @Override
        public ByteBuffer next() {
            if (position >= to) {
                return null;
            }
            long c = Math.min(count, to - position);
            if (v3Cluster != null) {
                return request("GET", "/v3/clusters/" + v3Cluster + "/topics/" + topic + "/partitions/" + partition
                        + "/records?offset=" + position + "&max_records=" + c, host, null, "application/json", null);
            }
            String target = "/topics/" + topic + "/partitions/" + partition + "/messages?offset=" + position
                    + "&count=" + c;
            return request("GET", target, host, null, "application/vnd.kafka.binary.v1+json", null);
        }

        @Override
        public boolean onResponse(int status, byte[] body, int offset, int length) {
            if (status / 100 != 2) {
                return true; // counted by the load generator; the same read is sent again
            }
            // The first record must be the one asked for; then only the last record's offset
            // matters (offsets of the topic are contiguous), so the body is searched from its end
            // rather than read whole: the load generator stays cheap next to Portico.
            int end = offset + length;
            int first = indexOf(body, OFFSET, offset, end);
            if (first < 0 || number(body, first + OFFSET.length, end)[0] != position) {
                return false; // nothing, or not from the offset asked for: an error, and the same read again
            }
            int at = lastIndexOf(body, OFFSET, offset, end);
            long last = number(body, at + OFFSET.length, end)[0];
            if (last + 1 <= position) {
                return false; // no progress: an error, and the same read again
            }
            long taken = Math.min(last + 1, to) - position;
            recordsRead.addAndGet(taken);
            position = last + 1;
            return true;
        }
    }

    /**
     * Row m: reads by offset at random places, {@code count} records each (fewer when the
     * partition holds fewer), while the shared budget of records lasts. Each answer must hold
     * exactly the records asked for, from the offset asked for on.
     */
    static final class RandomOffsets implements HttpLoad.Script {
        private final String topic;
        private final long[] end;
        private final int count;
        private final String host;
        private final AtomicLong budget;
        private final AtomicLong recordsRead;
        private final java.util.Random random;
        private int partition;
        private long asked;
        private long wanted;
        private long taken;

        /**
         * @param end the partitions' end offsets
         * @param budget records still to read, shared by the connections
         * @param seed the seed of this connection's draws: the same reads every run
         */
        RandomOffsets(String topic, long[] end, int count, String host, AtomicLong budget, AtomicLong recordsRead,
                      long seed) {
            this.topic = topic;
            this.end = end.clone();
            this.count = count;
            this.host = host;
            this.budget = budget;
            this.recordsRead = recordsRead;
            this.random = new java.util.Random(seed);
        }

        @Override
        public ByteBuffer next() {
            if (wanted == 0) { // the last read was answered: draw the next one
                int p = random.nextInt(end.length);
                long c = Math.min(count, end[p]);
                long n = budget.getAndAdd(-c);
                if (n <= 0 || c == 0) {
                    return null;
                }
                taken = Math.min(c, n);
                wanted = taken;
                asked = random.nextLong(end[p] - taken + 1);
                partition = p;
            }
            return request("GET", "/topics/" + topic + "/partitions/" + partition + "/messages?offset=" + asked
                    + "&count=" + wanted, host, null, "application/vnd.kafka.binary.v1+json", null);
        }

        @Override
        public boolean onResponse(int status, byte[] body, int offset, int length) {
            if (status / 100 != 2) {
                return true; // counted by the load generator; the same read is sent again
            }
            int stop = offset + length;
            int first = indexOf(body, OFFSET, offset, stop);
            if (first < 0 || number(body, first + OFFSET.length, stop)[0] != asked) {
                return false;
            }
            int at = lastIndexOf(body, OFFSET, offset, stop);
            if (number(body, at + OFFSET.length, stop)[0] != asked + wanted - 1) {
                return false; // not every record asked for: an error, and the same read again
            }
            recordsRead.addAndGet(taken);
            wanted = 0;
            return true;
        }
    }

    /** What the consumer instances of row e have read, shared by their connections. */
    static final class InstanceProgress {
        private final long[] end;
        private final AtomicLongArray highest;
        final AtomicLong delivered = new AtomicLong();
        volatile boolean done;
        volatile long doneAt;

        InstanceProgress(long[] endOffsets) {
            this.end = endOffsets.clone();
            this.highest = new AtomicLongArray(end.length);
            for (int p = 0; p < end.length; p++) {
                highest.set(p, -1);
            }
            check();
        }

        void seen(int partition, long offset) {
            highest.accumulateAndGet(partition, offset, Math::max);
        }

        /** Records distinct offsets seen: the sum over partitions of highest offset + 1. */
        long distinct() {
            long n = 0;
            for (int p = 0; p < end.length; p++) {
                n += Math.min(highest.get(p) + 1, end[p]);
            }
            return n;
        }

        void check() {
            for (int p = 0; p < end.length; p++) {
                if (highest.get(p) + 1 < end[p]) {
                    return;
                }
            }
            if (!done) {
                doneAt = System.nanoTime();
                done = true;
            }
        }
    }

    /** Reads through one consumer instance until every partition has been read to its end. */
    static final class Instance implements HttpLoad.Script {
        private final ByteBuffer request;
        private final InstanceProgress progress;
        private final int skip;

        /**
         * @param skip bytes that may be skipped after a record's offset before the search for the
         *        next record's partition: at most the base64 length of the shortest value (the
         *        load generator then reads a fraction of each body, not every byte)
         */
        Instance(ByteBuffer request, InstanceProgress progress, int skip) {
            this.request = request;
            this.progress = progress;
            this.skip = skip;
        }

        @Override
        public ByteBuffer next() {
            return progress.done ? null : request.duplicate();
        }

        @Override
        public boolean onResponse(int status, byte[] body, int offset, int length) {
            if (status / 100 != 2) {
                return true;
            }
            int end = offset + length;
            int i = offset;
            long n = 0;
            while ((i = indexOf(body, PARTITION, i, end)) >= 0) {
                i += PARTITION.length;
                long[] partition = number(body, i, end);
                int j = indexOf(body, OFFSET, (int) partition[1], end);
                if (j < 0) {
                    return false;
                }
                long[] off = number(body, j + OFFSET.length, end);
                progress.seen((int) partition[0], off[0]);
                i = (int) off[1] + skip;
                n++;
            }
            if (n > 0) {
                progress.delivered.addAndGet(n);
                progress.check();
            }
            return true;
        }
    }

    /** The whole number at {@code i} (after optional spaces) and the index after it. */
    static long[] number(byte[] b, int i, int end) {
        while (i < end && b[i] == ' ') {
            i++;
        }
        long v = 0;
        boolean any = false;
        while (i < end && b[i] >= '0' && b[i] <= '9') {
            v = v * 10 + (b[i] - '0');
            i++;
            any = true;
        }
        if (!any) {
            throw new NumberFormatException("no number at " + i);
        }
        return new long[] {v, i};
    }

    static int lastIndexOf(byte[] b, byte[] what, int from, int end) {
        outer:
        for (int i = end - what.length; i >= from; i--) {
            for (int k = 0; k < what.length; k++) {
                if (b[i + k] != what[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static int indexOf(byte[] b, byte[] what, int from, int end) {
        outer:
        for (int i = from; i <= end - what.length; i++) {
            for (int k = 0; k < what.length; k++) {
                if (b[i + k] != what[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
