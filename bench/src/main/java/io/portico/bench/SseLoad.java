package io.portico.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.Socket;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Server-Sent Events read as a client reads them: one keep-alive HTTP/1.1 {@code GET} with
 * {@code Accept: text/event-stream} per partition, its events counted as they arrive by their
 * {@code id: <topic>/<partition>/<offset>} lines (a scanner over what the socket gives that finds
 * line ends eight bytes at a time, no parsing of the records themselves, as a client that
 * forwards them would do).
 */
final class SseLoad {

    /** What a drain read: records, when, and what went wrong. */
    record Result(long records, double seconds, Latencies latencies, long errors, Map<String, Long> errorKinds,
                  List<String> errorSamples, long bytesReceived) {
    }

    private SseLoad() {
    }

    /**
     * Streams each partition of {@code topic} from offset 0 until its end offset ({@code end[p]}),
     * one connection per partition, all at once. A connection's latency is from its request
     * written to its first event read.
     */
    static Result drain(String host, String topic, long[] end, long timeoutMillis) throws InterruptedException {
        AtomicLong records = new AtomicLong();
        AtomicLong received = new AtomicLong();
        Map<String, Long> kinds = new ConcurrentHashMap<>();
        List<String> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Latencies> perConnection = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int p = 0; p < end.length; p++) {
            if (end[p] == 0) {
                continue;
            }
            int partition = p;
            long last = end[p] - 1;
            Latencies latencies = new Latencies();
            perConnection.add(latencies);
            Thread t = new Thread(() -> {
                long sentAt = System.nanoTime();
                long[] counted = {0}; // this connection's events: added to the shared count once, at its end
                try (Stream s = Stream.open(host, "/topics/" + topic + "/partitions/" + partition + "/messages?offset=0")) {
                    s.read(offset -> {
                        if (counted[0]++ == 0) {
                            latencies.record(System.nanoTime() - sentAt);
                        }
                    }, offset -> offset >= last, timeoutMillis);
                    received.addAndGet(s.bytes);
                    if (s.lastOffset < last) {
                        kinds.merge("incomplete", 1L, Long::sum);
                        samples.add("partition " + partition + ": read to offset " + s.lastOffset + " of " + last);
                    }
                } catch (IOException | RuntimeException e) {
                    kinds.merge(e.getClass().getSimpleName(), 1L, Long::sum);
                    samples.add("partition " + partition + ": " + e);
                } finally {
                    records.addAndGet(counted[0]);
                }
            }, "sse-drain-" + p);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long errors = kinds.values().stream().mapToLong(Long::longValue).sum();
        return new Result(records.get(), seconds, Latencies.merge(perConnection), errors, Map.copyOf(kinds),
                List.copyOf(samples), received.get());
    }

    /** One event stream over a plain socket. */
    static final class Stream implements AutoCloseable {
        private static final byte[] ID = "id: ".getBytes(StandardCharsets.US_ASCII);
        private final Socket socket;
        private final InputStream in;
        long lastOffset = -1;
        long bytes;
        private final CountDownLatch opened = new CountDownLatch(1);

        private Stream(Socket socket) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
        }

        /** Opens {@code path}; its answer is read by {@link #read}. */
        static Stream open(String host, String path) throws IOException {
            String[] hostPort = host.split(":");
            Socket socket = new Socket(hostPort[0], Integer.parseInt(hostPort[1]));
            socket.setTcpNoDelay(true);
            socket.setReceiveBufferSize(256 * 1024);
            socket.setSoTimeout(120_000);
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host
                    + "\r\nAccept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new Stream(socket);
        }

        /** Waits until the stream's first bytes (its status line and opening comment) arrived. */
        boolean awaitOpen(long millis) throws InterruptedException {
            return opened.await(millis, TimeUnit.MILLISECONDS);
        }

        /**
         * Reads events, handing each one's offset to {@code onEvent}, until {@code done} says so
         * (or the stream ends, or {@code timeoutMillis} passed). Whole lines are taken from what
         * the socket gave, their ends found eight bytes at a time; a line starting {@code "id: "}
         * is an event's id, its offset the digits at its end. A line cut by the end of what was
         * read waits (moved to the buffer's start) for the rest.
         *
         * @throws IOException when the answer is not 200 or the connection breaks
         */
        void read(LongConsumer onEvent, java.util.function.LongPredicate done, long timeoutMillis) throws IOException {
            byte[] buf = new byte[256 * 1024];
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            boolean headers = true;
            boolean skipping = false; // in a line longer than the buffer: dropped up to its end
            int from = 0; // the start of the first line not yet taken
            int to = 0; // the end of what was read
            StringBuilder statusLine = new StringBuilder();
            while (System.nanoTime() < deadline) {
                if (to == buf.length) {
                    if (from == 0) { // one line fills the buffer: no id, whatever it is
                        skipping = true;
                        to = 0;
                    } else {
                        System.arraycopy(buf, from, buf, 0, to - from);
                        to -= from;
                        from = 0;
                    }
                }
                int n = in.read(buf, to, buf.length - to);
                if (n < 0) {
                    return;
                }
                bytes += n;
                int i = to;
                to += n;
                if (headers) {
                    // The status line, then headers up to the blank line.
                    for (; i < to; i++) {
                        statusLine.append((char) buf[i]);
                        int len = statusLine.length();
                        if (len >= 4 && statusLine.charAt(len - 4) == '\r' && statusLine.charAt(len - 1) == '\n'
                                && statusLine.charAt(len - 2) == '\r' && statusLine.charAt(len - 3) == '\n') {
                            if (!statusLine.toString().startsWith("HTTP/1.1 200")) {
                                throw new IOException("not a stream: " + statusLine.toString().lines().findFirst().orElse(""));
                            }
                            headers = false;
                            opened.countDown();
                            i++;
                            break;
                        }
                    }
                    if (headers) {
                        from = to = 0;
                        continue;
                    }
                    from = i;
                }
                int nl;
                while ((nl = indexOfNewline(buf, from, to)) >= 0) {
                    int line = from;
                    from = nl + 1;
                    if (skipping) {
                        skipping = false;
                        continue;
                    }
                    if (nl - line > ID.length && java.util.Arrays.equals(buf, line, line + ID.length, ID, 0, ID.length)) {
                        long number = offsetAtEnd(buf, line + ID.length, nl);
                        lastOffset = number;
                        onEvent.accept(number);
                        if (done.test(number)) {
                            return;
                        }
                    }
                }
                if (from == to) {
                    from = to = 0;
                }
            }
        }

        /** The number of the digits that end {@code buf[from, end)} (a '\r' before the end aside). */
        private static long offsetAtEnd(byte[] buf, int from, int end) {
            int i = end;
            if (i > from && buf[i - 1] == '\r') {
                i--;
            }
            int digits = i;
            while (digits > from && buf[digits - 1] >= '0' && buf[digits - 1] <= '9') {
                digits--;
            }
            long number = 0;
            for (int d = digits; d < i; d++) {
                number = number * 10 + (buf[d] - '0');
            }
            return number;
        }

        private static final VarHandle WORDS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
        private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
        private static final long ONES = 0x0101010101010101L;
        private static final long HIGHS = 0x8080808080808080L;

        /**
         * The index of the first {@code '\n'} in {@code buf[from, to)}, or -1: eight bytes at a
         * time (a word's bytes equal to a newline become zero bytes, found by the borrow trick;
         * the lowest one found is exact), as fast line splitters do.
         */
        static int indexOfNewline(byte[] buf, int from, int to) {
            int i = from;
            for (; i + Long.BYTES <= to; i += Long.BYTES) {
                long x = (long) WORDS.get(buf, i) ^ NEWLINES;
                long zero = (x - ONES) & ~x & HIGHS;
                if (zero != 0) {
                    return i + (Long.numberOfTrailingZeros(zero) >>> 3);
                }
            }
            for (; i < to; i++) {
                if (buf[i] == '\n') {
                    return i;
                }
            }
            return -1;
        }

        /** Drops the connection (a reader in {@link #read} then ends). */
        void disconnect() {
            close();
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
