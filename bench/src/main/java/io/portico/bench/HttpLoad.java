package io.portico.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * A closed-loop HTTP/1.1 load generator over keep-alive connections, in the spirit of wrk: a few
 * NIO selector threads each drive their share of the connections; a connection writes its
 * (usually pre-built) request bytes, reads the response, and sends its next request at once. No
 * pipelining. The latency of a request is from its first byte written to its last byte read.
 *
 * <p>What a connection sends is up to its {@link Script}: the same bytes again and again for
 * produce rows, the next offset for reads by offset, the same read for consumer instances.
 */
public final class HttpLoad {
    private static final int MAX_CONSECUTIVE_FAILURES = 50;

    private HttpLoad() {
    }

    /** What one connection does. Called from its selector thread only. */
    public interface Script {
        /** The next request, or null when this connection has nothing more to send. */
        ByteBuffer next();

        /**
         * A complete response, or a failed request ({@code status} 0: connection error, timeout,
         * bytes that are not HTTP). Returns false when a 2xx response reports a failure inside
         * (e.g. a v1 produce whose records carry error codes): it counts as an error.
         */
        boolean onResponse(int status, byte[] body, int offset, int length);
    }

    /** What a run did. Latencies are of completed HTTP exchanges, whatever their status. */
    public record Result(long requests, long errors, Map<String, Long> errorKinds, List<String> errorSamples,
                         Latencies latencies, long startNanos, long endNanos, long bytesSent, long bytesReceived) {
        public double seconds() {
            return (endNanos - startNanos) / 1e9;
        }
    }

    /**
     * Runs {@code scripts} (one connection each) on {@code threads} selector threads until every
     * script is done or {@code stop} says so (requests in flight then are abandoned, not counted).
     */
    public static Result run(InetSocketAddress server, List<? extends Script> scripts, int threads,
                             Duration requestTimeout, BooleanSupplier stop) throws InterruptedException {
        int n = Math.max(1, Math.min(threads, scripts.size()));
        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            workers.add(new Worker(server, requestTimeout.toNanos(), stop));
        }
        for (int i = 0; i < scripts.size(); i++) {
            workers.get(i % n).scripts.add(scripts.get(i));
        }
        List<Thread> running = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(workers.get(i), "http-load-" + i);
            t.setDaemon(true);
            t.start();
            running.add(t);
        }
        for (Thread t : running) {
            t.join();
        }
        long end = System.nanoTime();
        long requests = 0;
        long errors = 0;
        long sent = 0;
        long received = 0;
        Map<String, Long> kinds = new TreeMap<>();
        List<String> samples = new ArrayList<>();
        List<Latencies> latencies = new ArrayList<>();
        for (Worker w : workers) {
            if (w.failure != null) {
                throw new IllegalStateException("load generator thread failed", w.failure);
            }
            requests += w.requests;
            errors += w.errors;
            sent += w.bytesSent;
            received += w.bytesReceived;
            w.errorKinds.forEach((k, v) -> kinds.merge(k, v, Long::sum));
            for (String s : w.errorSamples) {
                if (samples.size() < 5) {
                    samples.add(s);
                }
            }
            latencies.add(w.latencies);
        }
        return new Result(requests, errors, kinds, Collections.unmodifiableList(samples), Latencies.merge(latencies),
                start, end, sent, received);
    }

    /** The shared budget of the static rows: {@code take()} is true while requests remain. */
    public static final class Budget {
        private final AtomicLong remaining;

        public Budget(long requests) {
            remaining = new AtomicLong(requests);
        }

        public boolean take() {
            return remaining.getAndDecrement() > 0;
        }
    }

    private static final class Worker implements Runnable {
        final InetSocketAddress server;
        final long timeoutNanos;
        final BooleanSupplier stop;
        final List<Script> scripts = new ArrayList<>();
        final Latencies latencies = new Latencies();
        final Map<String, Long> errorKinds = new TreeMap<>();
        final List<String> errorSamples = new ArrayList<>();
        long requests;
        long errors;
        long bytesSent;
        long bytesReceived;
        Throwable failure;
        Selector selector;
        int active;

        Worker(InetSocketAddress server, long timeoutNanos, BooleanSupplier stop) {
            this.server = server;
            this.timeoutNanos = timeoutNanos;
            this.stop = stop;
        }

        @Override
        public void run() {
            List<Conn> conns = new ArrayList<>();
            try (Selector sel = Selector.open()) {
                selector = sel;
                for (Script s : scripts) {
                    Conn c = new Conn(s);
                    conns.add(c);
                    active++;
                    c.connect();
                }
                long lastCheck = System.nanoTime();
                while (active > 0 && !stop.getAsBoolean()) {
                    sel.select(50);
                    Iterator<SelectionKey> it = sel.selectedKeys().iterator();
                    while (it.hasNext()) {
                        SelectionKey key = it.next();
                        it.remove();
                        Conn c = (Conn) key.attachment();
                        if (!key.isValid() || c.key != key) {
                            continue;
                        }
                        try {
                            if (key.isConnectable()) {
                                c.finishConnect();
                            } else if (key.isWritable()) {
                                c.write();
                            } else if (key.isReadable()) {
                                c.read();
                            }
                        } catch (IOException | ResponseParser.MalformedResponse | NumberFormatException e) {
                            c.fail(e.getClass().getSimpleName() + ": " + e.getMessage());
                        }
                    }
                    long now = System.nanoTime();
                    if (now - lastCheck > 100_000_000L) {
                        lastCheck = now;
                        for (Conn c : conns) {
                            if (c.inFlight && now - c.sentAt > timeoutNanos) {
                                c.fail("timeout after " + timeoutNanos / 1_000_000 + " ms");
                            }
                        }
                    }
                }
            } catch (Throwable t) {
                failure = t;
            } finally {
                for (Conn c : conns) {
                    c.closeChannel();
                }
            }
        }

        void error(String kind, String sample) {
            errors++;
            errorKinds.merge(kind, 1L, Long::sum);
            if (errorSamples.size() < 5 && sample != null) {
                errorSamples.add(sample);
            }
        }

        /** One keep-alive connection running one script. */
        final class Conn {
            final Script script;
            SocketChannel channel;
            SelectionKey key;
            ByteBuffer out;
            ByteBuffer in = ByteBuffer.allocate(16 * 1024);
            boolean inFlight;
            boolean done;
            long sentAt;
            int consecutiveFailures;

            Conn(Script script) {
                this.script = script;
            }

            void connect() throws IOException {
                channel = SocketChannel.open();
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                in.clear();
                if (channel.connect(server)) {
                    key = channel.register(selector, 0, this);
                    sendNext();
                } else {
                    key = channel.register(selector, SelectionKey.OP_CONNECT, this);
                }
            }

            void finishConnect() throws IOException {
                channel.finishConnect();
                sendNext();
            }

            void sendNext() throws IOException {
                ByteBuffer request = script.next();
                if (request == null) {
                    finish();
                    return;
                }
                out = request;
                inFlight = true;
                sentAt = System.nanoTime();
                write();
            }

            void write() throws IOException {
                bytesSent += channel.write(out);
                key.interestOps(out.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
            }

            void read() throws IOException {
                if (!in.hasRemaining()) {
                    ByteBuffer bigger = ByteBuffer.allocate(in.capacity() * 2);
                    in.flip();
                    bigger.put(in);
                    in = bigger;
                }
                int n = channel.read(in);
                boolean eof = n < 0;
                if (n > 0) {
                    bytesReceived += n;
                }
                if (!inFlight) {
                    if (eof) {
                        reconnect(); // the server closed an idle connection
                    }
                    return;
                }
                ResponseParser.Response r = ResponseParser.parse(in.array(), 0, in.position(), eof);
                if (r == null) {
                    if (eof) {
                        fail("connection closed before the response ended");
                    }
                    return;
                }
                long latency = System.nanoTime() - sentAt;
                inFlight = false;
                latencies.record(latency);
                requests++;
                boolean ok = script.onResponse(r.status(), r.body(), r.bodyOffset(), r.bodyLength());
                boolean failed = true;
                if (r.status() / 100 != 2) {
                    error("HTTP " + r.status(), "HTTP " + r.status() + ": " + abbreviate(r.bodyText()));
                } else if (!ok) {
                    error("HTTP " + r.status() + " reporting a failure", abbreviate(r.bodyText()));
                } else {
                    failed = false;
                    consecutiveFailures = 0;
                }
                if (failed && ++consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
                    error("connection given up", "connection given up after " + consecutiveFailures
                            + " failures in a row");
                    finish();
                    return;
                }
                // Keep any bytes past this response (there should be none: no pipelining).
                int rest = in.position() - r.consumed();
                if (rest > 0) {
                    System.arraycopy(in.array(), r.consumed(), in.array(), 0, rest);
                }
                in.position(Math.max(rest, 0));
                if (in.capacity() > 1024 * 1024 && rest == 0) {
                    in = ByteBuffer.allocate(16 * 1024);
                }
                if (r.close() || eof) {
                    reconnect();
                } else {
                    sendNext();
                }
            }

            void fail(String why) {
                requests++;
                error(why.startsWith("timeout") ? "timeout" : "transport", why);
                inFlight = false;
                script.onResponse(0, new byte[0], 0, 0);
                if (++consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
                    error("connection given up", "connection given up after " + consecutiveFailures
                            + " failures in a row");
                    finish();
                    return;
                }
                try {
                    reconnect();
                } catch (IOException e) {
                    fail("reconnect: " + e);
                }
            }

            void reconnect() throws IOException {
                closeChannel();
                connect();
            }

            void finish() {
                if (!done) {
                    done = true;
                    active--;
                }
                closeChannel();
            }

            void closeChannel() {
                if (key != null) {
                    key.cancel();
                    key = null;
                }
                if (channel != null) {
                    try {
                        channel.close();
                    } catch (IOException ignored) {
                        // closing anyway
                    }
                    channel = null;
                }
            }
        }
    }

    static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "…";
    }
}
