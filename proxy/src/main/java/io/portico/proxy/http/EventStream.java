package io.portico.proxy.http;

import io.portico.protocol.ByteChunks;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import io.portico.protocol.ServerSentEvents;
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.MemoryBudget;
import io.portico.sessions.RateLimitedLog;
import io.portico.sessions.ResponseRoom;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http2.Http2ServerConnection;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.SameThreadExecutor;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.XnioExecutor;

/**
 * A read answered as Server-Sent Events ({@code text/event-stream}): records are fetched from a
 * {@link Source} on the streams' pool and written as they come, for as long as the client reads.
 *
 * <p>Backpressure: a batch is fetched while the one before is written, no further, and written
 * only as fast as the client's connection takes it ({@link ResponseChannel}), so a slow client
 * slows the fetching and never grows what is held: at most two batches per stream, each counted
 * against the responses budget until written, besides what the source's consumer holds against
 * the consumers budget. While the responses budget is full (over its capacity, or without room
 * for the next record), fetching pauses and the stream looks again a little later: a full budget
 * never ends a stream. While a client reads nothing, the source is asked every heartbeat to
 * {@linkplain Source#idle keep its place} (a consumer instance stays in its group); a client that
 * reads nothing of a pending write for {@code request.body.timeout.ms} is disconnected.
 *
 * <p>Errors before the stream starts (the source could not be opened) are the usual JSON error
 * responses; after it started, an {@code event: error} with the JSON error ends it. A comment
 * is written whenever nothing was for a heartbeat interval. The stream ends cleanly when the
 * source says so (its instance was deleted, a resuming stream took over) and when Portico shuts
 * down ({@link EventStreams#close}).
 *
 * <p>Everything but the source's calls runs on the exchange's IO thread.
 */
public final class EventStream {
    private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);
    private static final RateLimitedLog LIMITED = new RateLimitedLog(LOG, Duration.ofSeconds(10));
    private static final HttpString ACCEL_BUFFERING = new HttpString("X-Accel-Buffering");
    private static final byte[] OPENED = ServerSentEvents.comment("stream opened");
    /** Bytes of keys and values one batch holds at most (fewer when the responses budget is short). */
    public static final long BATCH_MAX_BYTES = 512 * 1024;
    /** How soon a stream looks again when the responses budget had no room for its next batch (or record). */
    private static final long BUDGET_RETRY_MILLIS = 20;
    /** How often an HTTP/2 stream looks whether the client reset it. */
    private static final long RESET_CHECK_MILLIS = 1000;

    /** Where a stream's events come from. Its calls run on the streams' pool, one at a time. */
    public interface Source {
        /**
         * The next events: as soon as records are there, else none after a read's wait (the
         * stream then fetches again). Each record takes its room from {@code room} first; one
         * that finds none stays first in line for a later call (the events are then none).
         *
         * @throws RestException when the stream must end with an error event
         */
        Events next(ResponseRoom room);

        /** Called every heartbeat while the client has not read the last batch yet. */
        default void idle() {
        }

        /**
         * The client went away while {@link #next} runs: let go at once of what others wait for
         * (a consumer instance a reconnecting client streams again), without blocking (the IO
         * thread calls it). {@link #close} still follows once {@code next} returned.
         */
        default void cancel() {
        }

        /** Lets go of what the source holds; called once, after its last {@link #next}. */
        void close();
    }

    /**
     * What a fetch yielded: events to write (possibly none), then, when not null, an error that
     * ends the stream, or the end of the stream when {@code last}. {@code written}, when not
     * null, runs on the IO thread once the events are written to the connection (not when an
     * error follows them, nor when the client left first): it must not block.
     */
    public record Events(ByteChunks bytes, RestException error, boolean last, Runnable written) {
        /** Nothing more: the stream ends cleanly. */
        public static final Events END = new Events(ByteChunks.EMPTY, null, true);

        public Events(ByteChunks bytes, RestException error, boolean last) {
            this(bytes, error, last, null);
        }

        public static Events of(byte[] bytes) {
            return new Events(ByteChunks.of(bytes), null, false);
        }
    }

    private final HttpServerExchange exchange;
    private final EventStreams streams;
    private final String owner; // whose place it holds (null: authentication off)
    private final String relayedBy; // the node relaying this stream to its client, or null
    private final Duration heartbeat;
    private final MemoryBudget.Lease batch; // the stream's account of the responses budget (batches take leases of it)
    private final ResponseChannel out;
    private final ArrayDeque<Runnable> writes = new ArrayDeque<>(); // waiting for the pending one
    private Source source; // set once opened
    private boolean fetching; // a call of the source is running on the pool
    private int unwritten; // batches fetched and not yet written (at most two)
    /** The leases of batches not yet written: given back when the stream ends, whatever became of them. */
    private final java.util.List<MemoryBudget.Lease> rooms = new java.util.ArrayList<>();
    private boolean ending; // the stream ends once what is fetched is written
    private boolean retrying; // a fetch is due in BUDGET_RETRY_MILLIS (one at a time)
    private boolean done; // the response ended or the client is gone
    private boolean sourceClosed;
    private long lastWrite = System.nanoTime();
    private boolean claiming; // this stream holds its owner's claim (see fetched)...
    private long claimedSince; // ... since then (System.nanoTime)
    private XnioExecutor.Key heartbeatTimer;

    private EventStream(HttpServerExchange exchange, EventStreams streams, String owner) {
        this.exchange = exchange;
        this.streams = streams;
        this.owner = owner;
        this.relayedBy = exchange.getAttachment(Http.RELAYED_BY);
        this.heartbeat = streams.heartbeat();
        Budgets.Settings budgets = Budgets.settings(exchange);
        this.batch = budgets.responses().lease(owner);
        this.out = new ResponseChannel(exchange, ServerSentEvents.MEDIA_TYPE, budgets.bodyTimeout());
    }

    /**
     * Answers the exchange with an event stream: {@code open} runs on the streams' pool and
     * returns the source (its errors are the JSON answer: nothing was written yet); then the
     * stream starts. A server at {@code sse.streams.max} answers 503 at once. Call while
     * handling the exchange.
     */
    public static void start(HttpServerExchange exchange, EventStreams streams, Supplier<Source> open) {
        start(exchange, streams, null, open);
    }

    /**
     * As above, for the caller {@code owner} (an API key's or user's name; null when
     * authentication is off), who may hold at most {@code sse.streams.per.key.max} streams: one
     * more is 429.
     */
    public static void start(HttpServerExchange exchange, EventStreams streams, String owner, Supplier<Source> open) {
        EventStreams.Admission admitted = streams.admit(owner);
        if (admitted == EventStreams.Admission.FULL) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("this server already serves " + streams.max()
                    + " event streams (sse.streams.max); retry later");
        }
        if (admitted == EventStreams.Admission.OWNER_FULL) {
            throw ErrorCode.TOO_MANY_REQUESTS.exception("this API key already holds " + streams.perOwnerMax()
                    + " event streams on this server (sse.streams.per.key.max); close one or retry later");
        }
        EventStream stream = new EventStream(exchange, streams, owner);
        exchange.addExchangeCompleteListener((ex, next) -> {
            try {
                stream.gone();
            } finally {
                next.proceed();
            }
        });
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> {
            try {
                streams.pool().execute(() -> stream.open(open));
            } catch (RejectedExecutionException e) {
                stream.refuse(ErrorCode.SERVICE_UNAVAILABLE.exception("the server is shutting down"));
            }
        });
    }

    /** On the pool: opens the source, then starts the stream on the IO thread. */
    private void open(Supplier<Source> open) {
        Source opened;
        try {
            opened = open.get();
        } catch (Throwable e) {
            exchange.getIoThread().execute(() -> refuse(e));
            return;
        }
        exchange.getIoThread().execute(() -> begin(opened));
    }

    /** The source could not be opened: a JSON error, nothing streamed. */
    private void refuse(Throwable error) {
        done = true;
        release();
        ErrorWriter.write(exchange, error);
    }

    private void begin(Source opened) {
        source = opened;
        if (done) { // the client went away while the source opened
            closeSource();
            return;
        }
        streams.opened(this);
        exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-cache");
        exchange.getResponseHeaders().put(ACCEL_BUFFERING, "no"); // proxies such as nginx: pass each event on
        send(new ByteBuffer[] {ByteBuffer.wrap(OPENED)}, this::fetch);
        scheduleHeartbeat(heartbeat.toNanos());
        watchForClose();
    }

    /**
     * HTTP/2: Undertow closes a stream's channel when the client resets the stream or closes the
     * connection, and says nothing to the exchange until its next write; so a stream looks at its
     * channel every second while it is open.
     */
    private void watchForReset() {
        if (done) {
            return;
        }
        if (out.channelClosed()) {
            gone();
            out.closedUnder();
            return;
        }
        exchange.getIoThread().executeAfter(this::watchForReset, RESET_CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * HTTP/1.1: the request had no body, so all the connection can bring next is its end.
     * Reading for it tells at once that the client went away, where a write would tell only at the
     * next batch or heartbeat, and until then a quiet stream would keep its place, its consumer
     * and its instance (a reconnecting client would get 409). So a client that half-closes its
     * connection after its request ends its stream, and a request pipelined behind the stream's is
     * never answered (the connection closes when the stream ends). A client that sends bytes on its
     * stream is left to the writes to find gone. HTTP/2 streams are watched otherwise
     * ({@link #watchForReset}).
     */
    private void watchForClose() {
        if (exchange.getConnection() instanceof Http2ServerConnection) {
            watchForReset();
            return;
        }
        if (done) {
            return;
        }
        Http.onConnectionEnd(exchange, () -> {
            gone();
            out.abort(); // closes the connection
        });
    }

    /**
     * Fetches the next batch, unless one is being fetched, two are not written yet, or the stream
     * ends. One batch is fetched while the one before is written (the socket and the source both
     * busy), never more: a slow client holds at most two batches of its stream.
     */
    private void fetch() {
        if (done || fetching || source == null || unwritten >= 2) {
            return;
        }
        if (ending) {
            finish();
            return;
        }
        boolean over = batch.over();
        if (over || streams.yields(owner, this)) {
            if (over) {
                unclaim(); // not looking meanwhile: a claim's clock starts again once it can
            }
            fetchLater();
            return;
        }
        fetching = true;
        Source s = source;
        // Each batch takes its room from a lease of its own, given back once that batch is written.
        MemoryBudget.Lease room = batch.budget().lease(owner);
        rooms.add(room);
        try {
            streams.pool().execute(() -> {
                // No wait for room on the pool, and no 503: a record without room stays first in
                // line, and the stream looks again once the budget has room (see fetched).
                ResponseRoom roomFor = ResponseRoom.forStream(room);
                Events events;
                try {
                    events = s.next(roomFor);
                    // The room a record takes is reckoned for a plain answer; its event may be
                    // more (the id line and the data repeat its topic, each header is a JSON
                    // object, a JSON value's line breaks become data lines): until written, the
                    // batch holds at least what was rendered.
                    long more = events.bytes().length() - room.held();
                    if (more > 0) {
                        room.takeAnyway(more);
                    }
                } catch (Throwable e) {
                    events = new Events(ByteChunks.EMPTY, asRestException(e), true);
                }
                Events fetched = events;
                boolean full = roomFor.wasFull();
                long ownerWanted = roomFor.ownerWanted();
                exchange.getIoThread().execute(() -> fetched(fetched, room, full, ownerWanted));
            });
        } catch (RejectedExecutionException e) {
            room.close();
            fetching = false; // the pool is shut down: so is the server
            ending = true;
            finish();
        }
    }

    /** Fetches again a little later, once: the budget had no room. */
    private void fetchLater() {
        if (retrying) {
            return;
        }
        retrying = true;
        exchange.getIoThread().executeAfter(() -> {
            retrying = false;
            fetch();
        }, BUDGET_RETRY_MILLIS, TimeUnit.MILLISECONDS);
    }

    private static RestException asRestException(Throwable e) {
        Throwable t = RestException.unwrap(e);
        if (t instanceof RestException rest) {
            return rest;
        }
        LIMITED.error("unexpected:" + t.getClass().getName(), "An event stream failed unexpectedly", t);
        return ErrorCode.INTERNAL_SERVER_ERROR.exception();
    }

    /**
     * A fetch came back: its events are written, then the next batch is fetched (at once, or a
     * little later when the budget had no room for a record: {@code full}). A record that finds
     * no room because its caller holds its share of the budget with other things ({@code
     * ownerWanted} bytes wanted: its other streams' batches, its reads being sent; not this
     * stream's own batch, which its client's reading frees) claims the share: the caller's other
     * streams fetch nothing until it went out, so that their batches, written, leave it room.
     * Else they take the room back as soon as it frees (they fetch the moment a batch is
     * written, this one looks every 20 ms) and a stream of larger records could wait for good.
     * A claim lasts a heartbeat interval at most: a record still without room then ends its
     * stream with a 429 error event (a resume by {@code Last-Event-ID} starts at it), and the
     * caller's other streams go on.
     */
    private void fetched(Events fetched, MemoryBudget.Lease room, boolean full, long ownerWanted) {
        fetching = false;
        if (done) {
            room.close();
            closeSource();
            return;
        }
        Events events = claimExpired(fetched, ownerWanted)
                ? new Events(ByteChunks.EMPTY, batch.budget().ownerShareFull(), false)
                : fetched;
        boolean more = events.error() == null && !events.last();
        if (!more) {
            // Known now, not once this batch is written: the batch before it, still being
            // written, must not fetch past the error (a partition stream has moved on past it).
            ending = true;
        }
        Runnable after = () -> {
            room.close(); // written: the batch's room is free again
            rooms.remove(room);
            if (events.error() != null) {
                ending = true;
                send(new ByteBuffer[] {ByteBuffer.wrap(ServerSentEvents.error(events.error().body()))}, this::finish);
            } else if (events.last()) {
                ending = true;
                finish();
            } else if (full) {
                fetchLater();
            } else {
                fetch();
            }
        };
        if (events.bytes().isEmpty()) {
            after.run();
            return;
        }
        unwritten++;
        send(events.bytes().buffers(), () -> {
            unwritten--;
            if (events.written() != null && events.error() == null) {
                events.written().run();
            }
            after.run();
        });
        if (more && !full) {
            fetch(); // the next batch, while this one is written
        }
    }

    /**
     * Claims the owner's share for the record {@code fetched} left out ({@code ownerWanted} > 0:
     * for want of the share), or lets go of the claim; whether the claim lasted a heartbeat
     * interval in vain (it is let go of then).
     */
    private boolean claimExpired(Events fetched, long ownerWanted) {
        if (ownerWanted <= 0 || !fetched.bytes().isEmpty() || fetched.error() != null || fetched.last() || ending
                || !othersHold(ownerWanted)) {
            unclaim();
            return false;
        }
        long now = System.nanoTime();
        if (!claiming) {
            claiming = streams.claim(owner, this);
            claimedSince = now;
            return false;
        }
        if (now - claimedSince < heartbeat.toNanos()) {
            return false;
        }
        // The key's other things kept its share a whole heartbeat interval with its other
        // streams waiting: its reads, or a stream of its whose client takes a trickle.
        unclaim();
        return true;
    }

    /** Whether, without this stream's own batches, its owner would still hold too much for {@code wanted} more. */
    private boolean othersHold(long wanted) {
        long own = 0;
        for (MemoryBudget.Lease r : rooms) {
            own += r.held();
        }
        return batch.budget().ownerFullWithout(owner, wanted, own);
    }

    /** Lets go of this stream's claim of its owner's share, if it holds one. */
    private void unclaim() {
        if (claiming) {
            claiming = false;
            streams.unclaim(owner, this);
        }
    }

    /** Writes {@code bytes} once what is pending is written, then runs {@code then}. */
    private void send(ByteBuffer[] bytes, Runnable then) {
        if (done) {
            return;
        }
        if (out.busy() || !writes.isEmpty()) {
            writes.add(() -> send(bytes, then));
            return;
        }
        out.write(bytes, () -> {
            lastWrite = System.nanoTime();
            then.run();
            Runnable next = writes.poll();
            if (next != null) {
                next.run();
            } else if (ending) {
                finish();
            }
        });
        if (out.isClosed()) {
            gone();
        }
    }

    private void scheduleHeartbeat(long inNanos) {
        heartbeatTimer = exchange.getIoThread().executeAfter(this::heartbeat,
                Math.max(1, TimeUnit.NANOSECONDS.toMillis(inNanos)), TimeUnit.MILLISECONDS);
    }

    private void heartbeat() {
        heartbeatTimer = null;
        if (done) {
            return;
        }
        if (relayedBy != null && streams.relayerGone(relayedBy)) {
            // The node relaying it is no longer heard from (its host vanished, or its process
            // froze): nothing written reaches the client, whose connection to that node is gone
            // or stuck. Closed, so that the stream's place, its instance (which does not expire
            // while it streams) and its memory are free for a client that reconnects elsewhere.
            LOG.warn("Ending an event stream relayed by node '{}': not heard from for nodes.expiry.ms", relayedBy);
            out.abort();
            gone();
            return;
        }
        long quiet = System.nanoTime() - lastWrite;
        // The client has not taken the last batch yet, or the responses budget has no room for the
        // next: nothing is fetched meanwhile, and the source keeps its place (a consumer instance
        // its group membership, and its notice of a delete).
        if (out.busy() || batch.over() || streams.yields(owner, this)) {
            keepSourceInPlace();
        }
        if (out.busy()) {
            scheduleHeartbeat(heartbeat.toNanos());
            return;
        }
        if (quiet >= heartbeat.toNanos()) {
            send(new ByteBuffer[] {ByteBuffer.wrap(ServerSentEvents.HEARTBEAT)}, () -> { });
            scheduleHeartbeat(heartbeat.toNanos());
        } else {
            scheduleHeartbeat(heartbeat.toNanos() - quiet);
        }
    }

    /** Lets the source poll without fetching (see {@link Source#idle}), on the pool, unless a call of it runs. */
    private void keepSourceInPlace() {
        if (!fetching && source != null) {
            fetching = true;
            Source s = source;
            try {
                streams.pool().execute(() -> {
                    boolean gone = false;
                    try {
                        s.idle();
                    } catch (RestException e) {
                        // The instance was deleted (or expired) meanwhile: the stream ends, as a
                        // fetch would end it, not once the budget has room to fetch again.
                        gone = e.httpStatus() == 404;
                        LOG.debug("Keeping an event stream's source in place failed: {}", e.toString());
                    } catch (RuntimeException e) {
                        LOG.debug("Keeping an event stream's source in place failed: {}", e.toString());
                    }
                    boolean ended = gone;
                    exchange.getIoThread().execute(() -> {
                        fetching = false;
                        if (done) {
                            closeSource();
                        } else if (ended) {
                            ending = true;
                            finish(); // once what is being written is written
                        } else if (unwritten == 0) {
                            // No batch of its own is left to write (what is pending, if
                            // anything, is a heartbeat, whose write fetches nothing after
                            // it): fetch now, or the stream would wait for good — a retry
                            // for budget room that came while this ran found the source busy.
                            fetch();
                        }
                    });
                });
            } catch (RejectedExecutionException e) {
                fetching = false;
            }
        }
    }

    /** The node that relays this stream to its client, or null when the client asked this node. */
    String relayer() {
        return relayedBy;
    }

    /** The caller whose place the stream holds; null with authentication off. */
    String owner() {
        return owner;
    }

    /**
     * Ends the stream cleanly once what was fetched is written (Portico shuts down, the node
     * relaying it leaves, or the source ended). Any thread.
     */
    void end() {
        exchange.getIoThread().execute(() -> {
            ending = true;
            unclaim();
            if (!fetching) {
                finish();
            } else if (!done) {
                // A fetch waiting for records (up to consumer.request.timeout.ms) returns now, so
                // that the stream ends within a shutdown's grace, not cut off after it; what it
                // fetched is written first, and what it holds is kept as a departing client's is.
                source.cancel();
            }
        });
    }

    /** Ends the response if nothing is being fetched or written. */
    private void finish() {
        if (done || fetching || out.busy() || !writes.isEmpty()) {
            return;
        }
        done = true;
        cancelHeartbeat();
        out.end(false);
        closeSource();
        release();
    }

    /** The exchange ended (the response is complete, or the client went away). */
    private void gone() {
        if (done && sourceClosed) {
            return;
        }
        Runnable cleanUp = () -> {
            done = true;
            cancelHeartbeat();
            writes.clear();
            if (!fetching) {
                closeSource();
            } else if (source != null && !sourceClosed) {
                try {
                    source.cancel(); // closed once its fetch returns; what others wait for, now
                } catch (RuntimeException e) {
                    LOG.debug("Cancelling an event stream's source failed: {}", e.toString());
                }
            }
            release();
        };
        if (exchange.getIoThread() == Thread.currentThread()) {
            cleanUp.run();
        } else {
            exchange.getIoThread().execute(cleanUp);
        }
    }

    private void cancelHeartbeat() {
        if (heartbeatTimer != null) {
            heartbeatTimer.remove();
            heartbeatTimer = null;
        }
    }

    /** Closes the source on the pool (closing a consumer may block), once. */
    private void closeSource() {
        if (sourceClosed || source == null) {
            return;
        }
        sourceClosed = true;
        Source s = source;
        Runnable close = () -> {
            try {
                s.close();
            } catch (RuntimeException e) {
                LOG.warn("Closing an event stream's source failed: {}", e.toString());
            }
        };
        try {
            streams.pool().execute(close);
        } catch (RejectedExecutionException e) {
            // The pool is shut down (Portico stops): on a thread of its own, never this IO thread,
            // which a consumer's close (up to 5 s) would hold from every other connection on it.
            Thread closing = new Thread(close, "portico-stream-close");
            closing.setDaemon(true);
            closing.start();
        }
    }

    private boolean released;

    /** Gives back the stream's place and its batch's room (once). */
    private void release() {
        if (released) {
            return;
        }
        released = true;
        rooms.forEach(MemoryBudget.Lease::close);
        rooms.clear();
        batch.close();
        streams.closed(this);
    }
}
