package io.portico.proxy.http;

import io.portico.sessions.MemoryBudget;
import io.undertow.server.HttpServerExchange;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A response made of items written as they complete, in the order their places were taken: any
 * thread completes an item at any time, and the items up to the first one still incomplete are
 * written together, each followed by a separator, and flushed, so a client reading the response
 * sees each as soon as it and every earlier one is done. The response is chunked (unless every
 * item was complete before any was written: then it goes out whole, with its length); it ends
 * once {@link #finish} was called and every item is written.
 *
 * <p>Completed items wait to be written counted against the responses budget (a client that
 * sends its whole request before reading the answer gets its answer, up to what the budget
 * holds); a client that reads nothing of a pending write for {@code stallTimeout} is
 * disconnected. Backpressure is the caller's: {@link #incomplete()} says how many items are not
 * done yet and {@link #over()} whether completed ones fill the budget; {@code progress} runs on the
 * IO thread whenever items completed or were written, so a caller that stopped reading its
 * request can look again.
 *
 * <p>Places are taken on the exchange's IO thread; everything is written from tasks of that
 * thread, never in the caller's call (which may be a request-body callback).
 */
public final class ReplyStream {
    private final HttpServerExchange exchange;
    private final byte[] separator;
    private final MemoryBudget.Lease memory;
    private final Runnable progress;
    private final ResponseChannel out;
    private final ArrayDeque<Slot> slots = new ArrayDeque<>(); // IO thread only
    private final AtomicInteger incomplete = new AtomicInteger();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private boolean finished;
    private volatile boolean closed;
    private boolean closeConnection;
    private long written;

    /**
     * @param separator written after each item (e.g. {@code \r\n})
     * @param memory the responses budget's account that completed items count against
     * @param stallTimeout how long a write may make no progress before the client is disconnected
     * @param progress runs on the IO thread after items completed or were written
     */
    public ReplyStream(HttpServerExchange exchange, String contentType, byte[] separator, MemoryBudget.Lease memory,
                       Duration stallTimeout, Runnable progress) {
        this.exchange = exchange;
        this.separator = separator;
        this.memory = memory;
        this.progress = progress;
        this.out = new ResponseChannel(exchange, contentType, stallTimeout);
    }

    /**
     * An item as it will be written: its size first, then its bytes into the response buffer, on
     * the IO thread. Completing a slot with one that renders itself there keeps the completing
     * thread (a Kafka producer's, say) to a few field stores.
     */
    public interface Item {
        /** The bytes {@link #writeTo} will write. */
        int size();

        /** Writes exactly {@link #size()} bytes. */
        void writeTo(ByteBuffer out);
    }

    /** An item that is JSON already serialized. */
    public record Bytes(byte[] json) implements Item {
        @Override
        public int size() {
            return json.length;
        }

        @Override
        public void writeTo(ByteBuffer out) {
            out.put(json);
        }
    }

    /** One item's place in the response. */
    public final class Slot {
        private static final java.lang.invoke.VarHandle ITEM;

        static {
            try {
                ITEM = java.lang.invoke.MethodHandles.lookup().findVarHandle(Slot.class, "item", Item.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private volatile Item item;
        private final Runnable onComplete;

        Slot(Runnable onComplete) {
            this.onComplete = onComplete;
        }

        /** Sets the item as JSON bytes; see {@link #complete(Item)}. */
        public boolean complete(byte[] json) {
            return complete(new Bytes(json));
        }

        /**
         * Sets the item; it is written as soon as every earlier item is. Any thread. The first
         * completion counts: a later one is ignored (returns false), so a path that reports a
         * failure after another already reported the record cannot report it twice.
         */
        public boolean complete(Item it) {
            // Counted before it is published: once it is, the IO thread may write it and give its count back.
            long cost = cost(it);
            memory.takeAnyway(cost);
            if (!ITEM.compareAndSet(this, null, it)) {
                memory.give(cost);
                return false;
            }
            incomplete.decrementAndGet();
            onComplete.run();
            scheduleDrain();
            return true;
        }
    }

    /**
     * What a completed item that renders itself as it is written is counted for until then (its
     * objects, about 200 bytes; its size is worked out only then).
     */
    private static final long ITEM_COST = 256;

    /**
     * What {@code item} holds until it is written: an item of bytes (an error report, whose
     * message may quote what the client sent) its bytes and their array, at least
     * {@link #ITEM_COST}; any other item {@link #ITEM_COST}.
     */
    static long cost(Item item) {
        return item instanceof Bytes b ? Math.max(ITEM_COST, 64L + b.json().length) : ITEM_COST;
    }

    /**
     * Takes the next place in the response (IO thread).
     *
     * @param onComplete runs once, when the item is completed (on the completing thread): gives
     *        back what the work behind it held
     */
    public Slot reserve(Runnable onComplete) {
        Slot slot = new Slot(onComplete);
        incomplete.incrementAndGet();
        if (!isClosed()) {
            slots.add(slot);
        }
        return slot;
    }

    /** Items whose place was taken and that are not completed yet. */
    public int incomplete() {
        return incomplete.get();
    }

    /** Whether completed items waiting to be written fill the responses budget. */
    public boolean over() {
        return memory.budget().over();
    }

    /**
     * Whether this response's completed items waiting to be written hold more than its share of
     * the responses budget ({@code 1 / shareDivisor} of it): a client that reads slowly gets no
     * more of the budget than that, however much it sends, so that it never fills what other
     * clients' answers need. {@code halfShare}: the half of that share, below which a caller that
     * paused may go on.
     */
    public boolean overShare(int shareDivisor, boolean halfShare) {
        long share = memory.budget().capacity() / shareDivisor;
        return memory.held() > (halfShare ? share / 2 : share);
    }

    /** Items taken and not written yet (IO thread). */
    public int pending() {
        return slots.size();
    }

    /** Items written so far (IO thread). */
    public long written() {
        return written;
    }

    /** Whether the client is gone (or the stream was aborted): nothing more is written. */
    public boolean isClosed() {
        return closed || out.isClosed();
    }

    /**
     * No more places will be taken: the response ends once every item is written (IO thread).
     *
     * @param closeConnection close the connection after the response (the request body was not
     *        read to its end)
     */
    public void finish(boolean closeConnection) {
        finished = true;
        this.closeConnection |= closeConnection;
        scheduleDrain(); // never written in the caller's call: it may be reading the request
    }

    /** The client is gone: stops writing and closes the connection (IO thread). */
    public void abort() {
        if (closed) {
            return;
        }
        closed = true;
        out.abort();
        // What completed items held is given back with the exchange's accounts.
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            exchange.getIoThread().execute(() -> {
                drainScheduled.set(false);
                drain();
                progress.run();
            });
        }
    }

    /** Writes every completed item at the head, then ends the response when finished (IO thread). */
    private void drain() {
        if (closed || out.busy()) {
            return;
        }
        if (out.isClosed()) { // the client went away during a write
            closed = true;
            return;
        }
        int bytes = 0;
        int count = 0;
        for (Slot s : slots) {
            Item item = s.item;
            if (item == null) {
                break;
            }
            bytes += item.size() + separator.length;
            count++;
            if (bytes >= REUSED_BUFFER - 1024) {
                break;
            }
        }
        if (count == 0) {
            if (finished && slots.isEmpty()) {
                closed = true;
                out.end(closeConnection);
            }
            return;
        }
        // Every item is in and none written yet (a single record's answer, typically): the whole
        // answer goes out at once, with its length, in a buffer of its size.
        boolean whole = finished && count == slots.size() && !out.started();
        // Else the kept buffer when it fits; a new one grows toward the kept size (twice the last),
        // so that a long stream soon has one to reuse while a short answer takes no more than it needs.
        ByteBuffer piece = whole ? ByteBuffer.allocate(bytes)
                : buffer != null && buffer.capacity() >= bytes ? buffer.clear()
                : ByteBuffer.allocate(bytes > REUSED_BUFFER ? bytes
                        : Math.min(REUSED_BUFFER, Math.max(bytes, buffer == null ? 0 : 2 * buffer.capacity())));
        long cost = 0;
        for (int i = 0; i < count; i++) {
            Item item = slots.poll().item;
            cost += cost(item);
            int at = piece.position();
            item.writeTo(piece);
            if (piece.position() - at != item.size()) {
                throw new IllegalStateException(item + " wrote " + (piece.position() - at) + " bytes, not " + item.size());
            }
            piece.put(separator);
        }
        piece.flip();
        written += count;
        long given = cost;
        if (whole) {
            closed = true; // nothing more to drain: the channel ends the response once this is written
            out.whole(piece, closeConnection, () -> memory.give(given));
            return;
        }
        if (piece.capacity() <= REUSED_BUFFER) {
            buffer = piece; // written before the next drain: reused then
        }
        out.write(piece, () -> {
            memory.give(given);
            progress.run();
            drain();
        });
        if (out.isClosed()) {
            closed = true;
        }
    }

    /** The largest write buffer kept for the next write. */
    private static final int REUSED_BUFFER = 64 * 1024;
    private ByteBuffer buffer;
}
