package io.portico.proxy.http;

import io.undertow.io.Receiver;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.SameThreadExecutor;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.xnio.XnioExecutor;

/**
 * Reads a request body of any length as it arrives, handing each chunk over on the IO thread,
 * for requests that are streams (a v3 produce stream) rather than one document. The reader can be
 * paused and resumed by the consumer of the chunks (backpressure: while paused, TCP's window
 * makes the client wait). A body that sends nothing for {@code idleTimeout} while not paused,
 * and while the sink owes it no answers ({@link Sink#owesAnswers}, {@link #answered}), is
 * ended with {@link Sink#idle}, and every stream ends at {@code maxDuration} with
 * {@link Sink#expired}; the body's length is not limited here (the consumer bounds what it keeps).
 */
public final class StreamingBody implements Receiver.PartialBytesCallback {

    /** Where the body goes; every call is on the exchange's IO thread. */
    public interface Sink {
        /** The next chunk ({@code last}: the body ends with it). */
        void chunk(byte[] chunk, boolean last);

        /** The body stopped arriving for longer than the idle timeout. */
        void idle(Duration idleTimeout);

        /** The stream is older than its maximum duration. */
        void expired(Duration maxDuration);

        /** The connection broke. */
        void failed(Throwable cause);

        /**
         * Whether the client is owed answers for what it sent (records waiting for Kafka): a
         * client that waits for them before it sends more is not idle meanwhile.
         */
        default boolean owesAnswers() {
            return false;
        }

        /**
         * The bytes the sink holds of an item still arriving (a record that spans chunks): while
         * there are any, that item must arrive at {@link Http#BODY_MIN_RATE} on average once it
         * has taken longer than the idle timeout, as a request body must (a byte now and then
         * would keep a partial record, and its part of the requests budget, for the stream's life).
         */
        default long heldBytes() {
            return 0;
        }

        /**
         * How many items have ended so far (any count that changes when one ends): an item still
         * arriving after a chunk that ended another began in that chunk, and its rate is
         * measured from there, not from the first item's.
         */
        default long itemsEnded() {
            return 0;
        }

        /**
         * An item still arriving arrives slower than the least rate: it is ended. Called only for
         * a sink whose {@link #heldBytes} can be more than 0.
         */
        default void tooSlow(Duration took, long bytes) {
        }
    }


    private final HttpServerExchange exchange;
    private final Sink sink;
    private final Duration idleTimeout;
    private final Duration maxDuration;
    private long lastProgress = System.nanoTime();
    /** When the sink began holding part of one item (0: it holds none), and the bytes since. */
    private long heldSince;
    private long bytesSinceHeld;
    private long endedWhenHeld; // the sink's items ended when the one held now began
    private long pausedAt;
    private boolean paused;
    private boolean done;
    private XnioExecutor.Key idleTimer;
    private XnioExecutor.Key durationTimer;

    public StreamingBody(HttpServerExchange exchange, Sink sink, Duration idleTimeout, Duration maxDuration) {
        this.exchange = exchange;
        this.sink = sink;
        this.idleTimeout = idleTimeout;
        this.maxDuration = maxDuration;
    }

    /** Starts reading; call while handling the exchange, before anything else reads the body. */
    public void start() {
        exchange.setMaxEntitySize(0); // none: a stream's length is bounded by what it keeps, not here
        scheduleIdleCheck(idleTimeout.toNanos());
        durationTimer = exchange.getIoThread().executeAfter(() -> {
            durationTimer = null;
            if (!done) {
                sink.expired(maxDuration);
            }
        }, Math.max(1, maxDuration.toMillis()), TimeUnit.MILLISECONDS);
        exchange.getRequestReceiver().receivePartialBytes(this, (ex, error) -> {
            stop();
            sink.failed(error);
        });
    }

    /**
     * Hands a chunk to the sink. The sink must not write to the response here (write from a task
     * of the IO thread instead): Undertow forbids resuming writes in a call that also dispatches,
     * and a call that ends with the body neither read further nor dispatched ends the exchange —
     * so when reading stops here, the exchange is dispatched to keep it.
     */
    @Override
    public void handle(HttpServerExchange ex, byte[] chunk, boolean last) {
        if (done) {
            return;
        }
        lastProgress = System.nanoTime();
        if (last) {
            stop();
        }
        sink.chunk(chunk, last);
        long ended = sink.itemsEnded();
        if (sink.heldBytes() > 0) {
            if (heldSince == 0 || ended != endedWhenHeld) {
                // An item begins in this chunk (the one before it ended here): its own rate counts,
                // from now; a stream of small items in writes that straddle them is not one slow item.
                heldSince = lastProgress;
                bytesSinceHeld = 0;
                endedWhenHeld = ended;
            } else {
                bytesSinceHeld += chunk.length;
            }
        } else {
            heldSince = 0;
        }
        if (done || paused) {
            exchange.dispatch(SameThreadExecutor.INSTANCE, () -> { });
        }
    }

    /** Stops reading until {@link #resume} (IO thread). */
    public void pause() {
        if (!paused && !done) {
            paused = true;
            pausedAt = System.nanoTime();
            exchange.getRequestReceiver().pause();
        }
    }

    /** Reads again after {@link #pause} (IO thread). */
    public void resume() {
        if (paused && !done) {
            paused = false;
            lastProgress = System.nanoTime(); // time spent paused is the server's, not the client's
            if (heldSince != 0) {
                heldSince += lastProgress - pausedAt;
            }
            exchange.getRequestReceiver().resume();
        }
    }

    /**
     * The server has just answered all it owed (IO thread): the client's idle time counts from
     * now, not from its last bytes, which came before the wait for those answers.
     */
    public void answered() {
        lastProgress = System.nanoTime();
    }

    /** Whether reading is paused. */
    public boolean isPaused() {
        return paused;
    }

    /** Reads no more: the body ended, broke, or the stream is being ended (IO thread). */
    public void stop() {
        if (done) {
            return;
        }
        done = true;
        if (!paused) {
            exchange.getRequestReceiver().pause();
        }
        if (idleTimer != null) {
            idleTimer.remove();
            idleTimer = null;
        }
        if (durationTimer != null) {
            durationTimer.remove();
            durationTimer = null;
        }
    }

    private void scheduleIdleCheck(long inNanos) {
        idleTimer = exchange.getIoThread().executeAfter(this::checkIdle,
                Math.max(1, TimeUnit.NANOSECONDS.toMillis(inNanos)), TimeUnit.MILLISECONDS);
    }

    private void checkIdle() {
        idleTimer = null;
        if (done) {
            return;
        }
        if (sink.owesAnswers()) {
            lastProgress = System.nanoTime(); // and again from its answers (answered)
        }
        long now = System.nanoTime();
        long idle = now - lastProgress;
        if (!paused && heldSince != 0 && sink.heldBytes() > 0) {
            // An item trickling in (a byte now and then) would hold its part for hours.
            long took = now - heldSince;
            if (Http.belowLeastRate(bytesSinceHeld, took, idleTimeout.toNanos())) {
                sink.tooSlow(Duration.ofNanos(took), bytesSinceHeld);
                return;
            }
        }
        if (!paused && idle >= idleTimeout.toNanos()) {
            sink.idle(idleTimeout);
            return;
        }
        scheduleIdleCheck(paused ? idleTimeout.toNanos() : idleTimeout.toNanos() - idle);
    }
}
