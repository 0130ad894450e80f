package io.portico.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load of a v3 produce stream: each connection sends one chunked POST of records (chunks of
 * {@code perChunk} records written back to back) while a reader of its own counts the delivery
 * reports as they come back (full duplex). A record's latency is from the moment its chunk was
 * written to the moment its report was read.
 */
final class StreamLoad {

    /** What the streams did: records reported, by outcome, and when. */
    record Result(long reported, long errors, Map<String, Long> errorKinds, List<String> errorSamples,
                  double seconds, Latencies latencies, long bytesSent, long bytesReceived) {
    }

    private StreamLoad() {
    }

    /**
     * Streams {@code records} records of {@code valueBytes} random bytes each (BINARY, base64)
     * over {@code connections} connections to {@code path} on {@code host}.
     */
    static Result run(String host, String path, long records, int connections, int perChunk, int valueBytes)
            throws Exception {
        byte[] value = new byte[valueBytes];
        new java.util.Random(42).nextBytes(value);
        String record = "{\"value\":{\"type\":\"BINARY\",\"data\":\"" + Base64.getEncoder().encodeToString(value)
                + "\"}}\n";
        byte[] chunkBody = record.repeat(perChunk).getBytes(StandardCharsets.US_ASCII);
        byte[] chunk = concat((Integer.toHexString(chunkBody.length) + "\r\n").getBytes(StandardCharsets.US_ASCII),
                chunkBody, "\r\n".getBytes(StandardCharsets.US_ASCII));
        List<Latencies> perReader = new ArrayList<>();
        AtomicLong reported = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicLong sent = new AtomicLong();
        AtomicLong received = new AtomicLong();
        Map<String, Long> kinds = new ConcurrentHashMap<>();
        List<String> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        String[] hostPort = host.split(":");
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < connections; c++) {
            long mine = records / connections + (c < records % connections ? 1 : 0);
            int chunks = (int) ((mine + perChunk - 1) / perChunk);
            Socket socket = new Socket(hostPort[0], Integer.parseInt(hostPort[1]));
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(120_000);
            long[] sentAt = new long[chunks];
            Latencies latencies = new Latencies();
            perReader.add(latencies);
            Thread writer = new Thread(() -> {
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write(("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    for (int k = 0; k < chunks; k++) {
                        long n = Math.min(perChunk, mine - (long) k * perChunk);
                        byte[] bytes = n == perChunk ? chunk : partial(record, (int) n);
                        sentAt[k] = System.nanoTime();
                        out.write(bytes);
                        sent.addAndGet(bytes.length);
                    }
                    out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException e) {
                    kinds.merge("write: " + e.getClass().getSimpleName(), 1L, Long::sum);
                    samples.add("write: " + e);
                }
            }, "bench-stream-writer-" + c);
            Thread reader = new Thread(() -> {
                try (socket) {
                    read(socket.getInputStream(), mine, perChunk, sentAt, latencies, reported, errors, received,
                            kinds, samples);
                } catch (IOException e) {
                    kinds.merge("read: " + e.getClass().getSimpleName(), 1L, Long::sum);
                    samples.add("read: " + e);
                }
            }, "bench-stream-reader-" + c);
            threads.add(writer);
            threads.add(reader);
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long missing = records - reported.get() - errors.get();
        long allErrors = errors.get() + kinds.entrySet().stream().filter(e -> !e.getKey().startsWith("report "))
                .mapToLong(Map.Entry::getValue).sum() + Math.max(0, missing);
        if (missing > 0) {
            kinds.merge("records without a report", missing, Long::sum);
        }
        return new Result(reported.get(), allErrors, Map.copyOf(kinds), List.copyOf(samples), seconds,
                Latencies.merge(perReader), sent.get(), received.get());
    }

    /**
     * Reads the chunked response, counting reports by their {@code error_code} (the pattern is
     * looked for in the raw bytes: chunk-size lines never hold it), until {@code expected}
     * reports came or the response ended.
     */
    private static void read(InputStream in, long expected, int perChunk, long[] sentAt, Latencies latencies,
                             AtomicLong reported, AtomicLong errors, AtomicLong received, Map<String, Long> kinds,
                             List<String> samples) throws IOException {
        byte[] pattern = "{\"error_code\":".getBytes(StandardCharsets.US_ASCII);
        byte[] buf = new byte[256 * 1024];
        byte[] carry = new byte[0];
        long seen = 0;
        while (seen < expected) {
            int n = in.read(buf);
            if (n < 0) {
                return;
            }
            received.addAndGet(n);
            long now = System.nanoTime();
            byte[] data = carry.length == 0 ? buf : concat(carry, java.util.Arrays.copyOf(buf, n));
            int len = carry.length == 0 ? n : data.length;
            int last = 0;
            for (int i = 0; i + pattern.length + 3 <= len; i++) {
                if (data[i] == '{' && matches(data, i, pattern)) {
                    int code = 0;
                    int j = i + pattern.length;
                    while (j < len && data[j] >= '0' && data[j] <= '9') {
                        code = code * 10 + (data[j++] - '0');
                    }
                    if (j >= len) {
                        break; // the code continues in the next read
                    }
                    if (code == 200) {
                        reported.incrementAndGet();
                    } else {
                        errors.incrementAndGet();
                        kinds.merge("report " + code, 1L, Long::sum);
                        if (samples.size() < 5) {
                            int end = Math.min(len, i + 200);
                            samples.add(new String(data, i, end - i, StandardCharsets.UTF_8));
                        }
                    }
                    if (seen % perChunk == perChunk - 1 || seen == expected - 1) {
                        latencies.record(now - sentAt[(int) (seen / perChunk)]);
                    }
                    seen++;
                    last = j;
                    i = j - 1;
                }
            }
            int keep = Math.min(len - last, pattern.length + 8);
            carry = java.util.Arrays.copyOfRange(data, len - keep, len);
        }
    }

    private static boolean matches(byte[] data, int at, byte[] pattern) {
        for (int k = 0; k < pattern.length; k++) {
            if (data[at + k] != pattern[k]) {
                return false;
            }
        }
        return true;
    }

    private static byte[] partial(String record, int n) {
        byte[] body = record.repeat(n).getBytes(StandardCharsets.US_ASCII);
        return concat((Integer.toHexString(body.length) + "\r\n").getBytes(StandardCharsets.US_ASCII), body,
                "\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
