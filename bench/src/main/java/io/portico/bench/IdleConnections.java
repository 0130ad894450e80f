package io.portico.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Keep-alive connections that sit idle: each is opened, sends one {@code GET /}, reads the answer
 * and then stays open, sending nothing, until {@link #close()}. Opened from one selector thread, a
 * bounded number at a time (so that Portico's accept backlog is never the limit).
 */
final class IdleConnections implements AutoCloseable {
    private final List<SocketChannel> open = new ArrayList<>();
    private final Map<String, Long> failures = new TreeMap<>();
    private final List<String> samples = new ArrayList<>();
    private double seconds;

    private IdleConnections() {
    }

    /**
     * Opens {@code n} connections, at most {@code concurrency} being set up at once, each answered
     * {@code GET /} within {@code timeoutMillis} or counted as a failure (and closed).
     */
    static IdleConnections open(InetSocketAddress server, String host, int n, int concurrency, long timeoutMillis)
            throws IOException {
        IdleConnections c = new IdleConnections();
        long start = System.nanoTime();
        if (n > 0) {
            c.openAll(server, host, n, Math.max(1, concurrency), timeoutMillis * 1_000_000L);
        }
        c.seconds = (System.nanoTime() - start) / 1e9;
        return c;
    }

    private final class Pending {
        final SocketChannel channel;
        final ByteBuffer out;
        ByteBuffer in = ByteBuffer.allocate(1024);
        final long startedAt = System.nanoTime();

        Pending(SocketChannel channel, ByteBuffer out) {
            this.channel = channel;
            this.out = out;
        }
    }

    private void openAll(InetSocketAddress server, String host, int n, int concurrency, long timeoutNanos)
            throws IOException {
        ByteBuffer request = Scripts.request("GET", "/", host, null, "application/vnd.kafka.v1+json", null);
        int started = 0;
        int finished = 0;
        Deque<Pending> inProgress = new ArrayDeque<>();
        try (Selector selector = Selector.open()) {
            while (finished < n) {
                while (started < n && inProgress.size() < concurrency) {
                    started++;
                    SocketChannel ch = SocketChannel.open();
                    try {
                        ch.configureBlocking(false);
                        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                        Pending p = new Pending(ch, request.duplicate());
                        if (ch.connect(server)) {
                            ch.register(selector, SelectionKey.OP_WRITE, p);
                        } else {
                            ch.register(selector, SelectionKey.OP_CONNECT, p);
                        }
                        inProgress.add(p);
                    } catch (IOException e) {
                        close(ch);
                        fail("connect: " + e.getClass().getSimpleName(), "connect: " + e);
                        finished++;
                    }
                }
                selector.select(50);
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey key = it.next();
                    it.remove();
                    Pending p = (Pending) key.attachment();
                    if (!key.isValid()) {
                        continue;
                    }
                    try {
                        if (key.isConnectable()) {
                            p.channel.finishConnect();
                            key.interestOps(SelectionKey.OP_WRITE);
                        } else if (key.isWritable()) {
                            p.channel.write(p.out);
                            if (!p.out.hasRemaining()) {
                                key.interestOps(SelectionKey.OP_READ);
                            }
                        } else if (key.isReadable()) {
                            if (!p.in.hasRemaining()) {
                                ByteBuffer bigger = ByteBuffer.allocate(p.in.capacity() * 2);
                                p.in.flip();
                                bigger.put(p.in);
                                p.in = bigger;
                            }
                            boolean eof = p.channel.read(p.in) < 0;
                            ResponseParser.Response r = ResponseParser.parse(p.in.array(), 0, p.in.position(), eof);
                            if (r == null && !eof) {
                                continue;
                            }
                            key.cancel();
                            inProgress.remove(p);
                            finished++;
                            if (r == null) {
                                close(p.channel);
                                fail("closed before an answer", "the connection was closed before an answer");
                            } else if (r.status() / 100 != 2 || r.close() || eof) {
                                close(p.channel);
                                fail("HTTP " + r.status() + (r.close() || eof ? ", closed" : ""), "HTTP " + r.status()
                                        + ": " + HttpLoad.abbreviate(r.bodyText()));
                            } else {
                                open.add(p.channel);
                            }
                        }
                    } catch (IOException | ResponseParser.MalformedResponse | NumberFormatException e) {
                        key.cancel();
                        inProgress.remove(p);
                        finished++;
                        close(p.channel);
                        fail(e.getClass().getSimpleName(), e.toString());
                    }
                }
                long now = System.nanoTime();
                for (Iterator<Pending> i = inProgress.iterator(); i.hasNext(); ) {
                    Pending p = i.next();
                    if (now - p.startedAt > timeoutNanos) {
                        i.remove();
                        finished++;
                        SelectionKey key = p.channel.keyFor(selector);
                        if (key != null) {
                            key.cancel();
                        }
                        close(p.channel);
                        fail("timeout", "no answer within " + timeoutNanos / 1_000_000 + " ms");
                    }
                }
            }
            selector.selectNow(); // deregisters the cancelled keys
        }
    }

    private void fail(String kind, String sample) {
        failures.merge(kind, 1L, Long::sum);
        if (samples.size() < 3) {
            samples.add(sample);
        }
    }

    /** Connections open (answered and kept). */
    int count() {
        return open.size();
    }

    /** How long opening took, seconds. */
    double seconds() {
        return seconds;
    }

    Map<String, Long> failures() {
        return failures;
    }

    List<String> samples() {
        return samples;
    }

    /**
     * How many are still open: not closed by the server (a non-blocking read of each finds
     * nothing, rather than the end of the stream or an error).
     */
    int stillOpen() {
        int n = 0;
        ByteBuffer one = ByteBuffer.allocate(1);
        for (SocketChannel ch : open) {
            if (!ch.isOpen()) {
                continue;
            }
            try {
                one.clear();
                if (ch.read(one) == 0) {
                    n++;
                }
            } catch (IOException e) {
                // reset by the server: closed
            }
        }
        return n;
    }

    /** Closes one of the open connections (when any). */
    void closeOne() {
        if (!open.isEmpty()) {
            close(open.remove(open.size() - 1));
        }
    }

    @Override
    public void close() {
        for (SocketChannel ch : open) {
            close(ch);
        }
        open.clear();
    }

    private static void close(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
