package io.portico.proxy.http;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;
import org.xnio.channels.StreamSinkChannel;

/**
 * A response of any length written piece by piece on the exchange's IO thread, each piece only
 * as fast as the client's connection takes it: one piece at a time is pending, and its writer
 * hears when it is written (handed to the socket and flushed) before it writes the next. A client
 * that reads nothing of a pending piece for {@code stallTimeout} is disconnected. The response
 * starts (status 200, the content type and the headers set so far) with the first piece and ends
 * with {@link #end}; it is chunked over HTTP/1.1 (unless sent {@linkplain #whole whole}, with its
 * length), a stream of DATA frames over HTTP/2.
 *
 * <p>IO thread only ({@link #isClosed} excepted). The streaming responses ({@link ReplyStream}, {@link EventStream}) are built
 * on it.
 */
final class ResponseChannel {
    private final HttpServerExchange exchange;
    private final String contentType;
    private final Duration stallTimeout;
    private StreamSinkChannel channel;
    private ByteBuffer[] writing; // being written, or null
    private int first; // of writing, the first buffer with bytes left (only to know when all are written)
    private Runnable whenWritten;
    private long blockedSince; // when the pending write last made no progress; 0 when it does
    private XnioExecutor.Key stallTimer;
    private volatile boolean closed; // read by any thread

    ResponseChannel(HttpServerExchange exchange, String contentType, Duration stallTimeout) {
        this.exchange = exchange;
        this.contentType = contentType;
        this.stallTimeout = stallTimeout;
    }

    /** Whether a piece is pending (written only in part so far). */
    boolean busy() {
        return writing != null;
    }

    /** Whether the response ended or the client is gone: nothing more is written. */
    boolean isClosed() {
        return closed;
    }

    /**
     * The channel under the response was closed (HTTP/2: the client reset the stream, or its
     * connection closed): writes nothing more, and flushes once, which is when Undertow ends the
     * exchange of a channel closed under it (without it, the exchange would stay in flight).
     */
    void closedUnder() {
        if (stop()) {
            try {
                channel.flush();
            } catch (java.io.IOException e) {
                // expected: the channel is closed; the flush has ended the exchange
            }
        }
    }

    /** Whether the channel under the response is closed (HTTP/2: the client reset the stream). */
    boolean channelClosed() {
        return channel != null && !channel.isOpen();
    }

    /** Whether the response has started (its status and headers are on their way). */
    boolean started() {
        return channel != null;
    }

    /**
     * Writes {@code piece} (not busy); {@code then} runs on the IO thread once it is all written,
     * unless the client is gone by then.
     */
    void write(ByteBuffer piece, Runnable then) {
        write(new ByteBuffer[] {piece}, then);
    }

    /** As {@link #write(ByteBuffer, Runnable)}, the buffers one after the other (a gathering write). */
    void write(ByteBuffer[] piece, Runnable then) {
        if (closed) {
            return;
        }
        if (writing != null) {
            throw new IllegalStateException("a piece is still being written");
        }
        if (channel == null) {
            exchange.setStatusCode(200);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
            channel = exchange.getResponseChannel();
            channel.getWriteSetter().set(c -> onWritable());
        }
        writing = piece;
        first = 0;
        whenWritten = then;
        onWritable();
    }

    private void onWritable() {
        if (closed || writing == null) {
            return;
        }
        try {
            boolean progress = false;
            while (skipWritten()) {
                // Always from the first buffer: Undertow's chunked conduit (2.3.27) mishandles an
                // offset past 0 (it limits the wrong buffer); written buffers have nothing left to write.
                if (channel.write(writing, 0, writing.length) == 0) {
                    blocked(progress);
                    channel.resumeWrites();
                    return;
                }
                progress = true;
            }
            if (!channel.flush()) {
                blocked(true);
                channel.resumeWrites();
                return;
            }
            channel.suspendWrites();
            writing = null;
            blockedSince = 0;
            cancelStallTimer();
        } catch (IOException | RuntimeException e) {
            abort(); // a channel that fails is done with; the stream must not stay busy for good
            return;
        }
        Runnable then = whenWritten;
        whenWritten = null;
        try {
            then.run();
        } catch (RuntimeException | Error e) {
            // A continuation that fails (it writes the next piece, or ends the answer) would leave
            // a started answer with nothing pending and no timer: the client would wait for good.
            LIMITED.error("continuation:" + e.getClass().getName(),
                    "Writing an answer failed after a piece was written; its connection is closed", e);
            abort();
        }
    }

    private static final io.portico.sessions.RateLimitedLog LIMITED = new io.portico.sessions.RateLimitedLog(
            org.slf4j.LoggerFactory.getLogger(ResponseChannel.class), java.time.Duration.ofSeconds(10));

    /** Whether bytes of the pending piece are left, {@link #first} at the first buffer that has some. */
    private boolean skipWritten() {
        while (first < writing.length && !writing[first].hasRemaining()) {
            first++;
        }
        return first < writing.length;
    }

    /** A write is waiting for the client: starts (or, after progress, restarts) the stall clock. */
    private void blocked(boolean madeProgress) {
        if (blockedSince == 0 || madeProgress) {
            blockedSince = System.nanoTime();
        }
        if (stallTimer == null) {
            stallTimer = exchange.getIoThread().executeAfter(this::checkStall,
                    Math.max(1, stallTimeout.toMillis()), TimeUnit.MILLISECONDS);
        }
    }

    private void checkStall() {
        stallTimer = null;
        if (closed || writing == null || blockedSince == 0) {
            return;
        }
        long waited = System.nanoTime() - blockedSince;
        if (waited >= stallTimeout.toNanos()) {
            abort(); // the client reads nothing of its answer
            return;
        }
        stallTimer = exchange.getIoThread().executeAfter(this::checkStall,
                Math.max(1, TimeUnit.NANOSECONDS.toMillis(stallTimeout.toNanos() - waited)), TimeUnit.MILLISECONDS);
    }

    private void cancelStallTimer() {
        if (stallTimer != null) {
            stallTimer.remove();
            stallTimer = null;
        }
    }

    /** The client is gone: stops writing and closes the connection. */
    void abort() {
        if (stop()) {
            IoUtils.safeClose(exchange.getConnection());
        }
    }

    /** Writes nothing more from now on; false if that was so already. */
    private boolean stop() {
        if (closed) {
            return false;
        }
        closed = true;
        cancelStallTimer();
        writing = null;
        whenWritten = null;
        return true;
    }

    /**
     * The whole response, when nothing was written before: sent with its length (not chunked) by
     * the same write as a piece (so the stall timeout bounds it), then ended; {@code written} runs
     * once it is all written, unless the client is gone by then.
     *
     * @param closeConnection close the connection after the response (its request was not read to its end)
     */
    void whole(ByteBuffer body, boolean closeConnection, Runnable written) {
        if (closed) {
            return;
        }
        if (channel != null) {
            throw new IllegalStateException("the response has started");
        }
        exchange.setResponseContentLength(body.remaining());
        write(body, () -> {
            written.run();
            end(closeConnection);
        });
    }

    /**
     * Ends the response (not busy): its last chunk goes out, then the exchange ends. A response
     * with no piece still answers 200.
     *
     * @param closeConnection close the connection after the response (its request was not read to its end)
     */
    void end(boolean closeConnection) {
        if (closed) {
            return;
        }
        if (channel == null) { // nothing was written: an empty stream still answers 200
            exchange.setStatusCode(200);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
        }
        if (closeConnection) {
            if (exchange.getConnection() instanceof io.undertow.server.protocol.http.HttpServerConnection
                    && !exchange.isRequestComplete()) {
                // A client still sending: closed with its bytes unread, the connection would reach
                // it as a reset that can wipe out the last reports (the one saying why included).
                // Kept while Undertow reads and drops the rest, at most the linger every unread
                // body gets (Http.lingerAfterAnswer), then closed.
                exchange.setPersistent(true);
                lingering = true;
                exchange.addExchangeCompleteListener((ex, next) -> {
                    next.proceed();
                    IoUtils.safeClose(ex.getConnection());
                });
            } else {
                exchange.setPersistent(false);
            }
        }
        closed = true;
        cancelStallTimer();
        if (channel == null) {
            finish();
            return;
        }
        // The response's last chunk goes out before the exchange ends: ending an exchange whose
        // request was not read to its end closes the connection at once.
        try {
            channel.shutdownWrites();
            if (!channel.flush()) {
                channel.getWriteSetter().set(c -> {
                    try {
                        if (c.flush()) {
                            c.suspendWrites();
                            finish();
                        }
                    } catch (IOException e) {
                        IoUtils.safeClose(exchange.getConnection());
                    }
                });
                channel.resumeWrites();
                return;
            }
        } catch (IOException e) {
            IoUtils.safeClose(exchange.getConnection());
            return;
        }
        finish();
    }

    /** Whether the connection is kept, after the response, while the rest of the body is dropped. */
    private boolean lingering;

    /** Ends the exchange; one still dropping the rest of its body is closed after the linger. */
    private void finish() {
        exchange.endExchange();
        if (lingering && !exchange.isComplete()) {
            exchange.getIoThread().executeAfter(() -> IoUtils.safeClose(exchange.getConnection()),
                    Http.LINGER_MILLIS, TimeUnit.MILLISECONDS);
        }
    }
}
