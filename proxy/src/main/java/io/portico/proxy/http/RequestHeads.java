package io.portico.proxy.http;

import io.portico.sessions.MemoryBudget;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.StreamSourceConduit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An HTTP/1.x connection's request line and headers still arriving, counted against a memory
 * budget shared by every connection ({@code memory.heads.max.bytes}). A head is held by the
 * parser (its text, its header objects) from its first byte until its last: each one is bounded
 * by {@code request.headers.max.bytes} and {@code request.header.timeout.ms}, but without this
 * thousands of connections sending large heads slowly would together hold more than the heap.
 *
 * <p>The bytes the socket gives while a head is in progress are scanned for its end (an empty
 * line after a non-empty one, {@code \r\n} or a bare {@code \n}): what comes after it (the body,
 * a pipelined request) is not the head's. A head's cost is its bytes twice (the parser's builder,
 * then the header strings) and {@link #PART_COST} for each line and each parameter of its request
 * line ({@code &}, {@code ;}: the objects the parser makes for a header or a parameter). Its
 * first {@link #FREE_COST} are never refused; beyond that a head still incomplete after a read
 * takes its cost from the budget, and without room its connection is answered 503 (plain HTTP)
 * and closed. A head that ends within the read
 * that brought it is never refused, whatever its cost: only heads left incomplete hold memory
 * (a head longer than one read, 16 KiB, always is for a while). What a head took is given back
 * when it ends (or its connection closes). The next head starts when the request's exchange
 * completes, with whatever of it the parser already holds (a pipelined request).
 *
 * <p>A connection that turns to HTTP/2 (an h2c upgrade; the preface as its first bytes, by prior
 * knowledge or after ALPN) has its header blocks counted instead: a block is in progress from
 * its HEADERS (or PUSH_PROMISE) frame to the end of the frame flagged END_HEADERS, and Undertow
 * holds what it decoded of it meanwhile, up to {@code request.headers.max.bytes}. A block still
 * in progress after a read costs twice what its bytes so far can decode to (HPACK lets one byte
 * name a {@value #HPACK_ENTRY_MAX}-byte entry of the connection's table), at most twice
 * {@code request.headers.max.bytes}; without room its connection is closed (an HTTP/2
 * connection cannot be answered from here). A block that ends within the read that brought it
 * costs nothing, and frames' payloads are skipped, not scanned.
 *
 * <p>Reads run on the connection's IO thread; the exchange's end may come on another thread.
 */
final class RequestHeads extends AbstractStreamSourceConduit<StreamSourceConduit> implements ExchangeCompletionListener {
    private static final Logger LOG = LoggerFactory.getLogger(RequestHeads.class);
    /** What a head may cost before it takes room from the budget: the common heads never do. */
    static final long FREE_COST = 2048;
    /**
     * What a line of a head, or a parameter of its request line, costs besides its bytes: a
     * header's name, value and list objects; a parameter's name, value and deque.
     */
    static final long PART_COST = 160;
    /** The most one byte of a header block can decode to: an entry of HPACK's 4,096-byte table. */
    static final long HPACK_ENTRY_MAX = 4096;
    /** An HTTP/2 connection's first bytes (RFC 9113, section 3.4). */
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final MemoryBudget budget;
    private final StreamConnection connection;
    private final byte[] refusal;
    private final Scan scan = new Scan();
    private volatile boolean inHead = true; // set by the IO thread (the head ended) and by the exchange's end
    private boolean refused; // answered 503: what comes is dropped until the connection closes (IO thread)
    private long lastHead = -1; // the bytes of the last head the scan saw end, until its request starts
    private boolean off; // HTTP/2: no heads counted any more (IO thread)
    private Frames frames; // HTTP/2: its header blocks are counted (IO thread)
    private int prefaceAt; // the connection's first bytes matched the preface this far; past its length: not the preface
    private final long blockMax; // request.headers.max.bytes: the most an HTTP/2 header block decodes to
    private long taken; // room taken from the budget for the head in progress (guarded by this)

    /**
     * @param refusal the bytes written before closing a connection refused for want of room, or
     *                null to close it unanswered (TLS, where a write here is not safe)
     */
    RequestHeads(StreamSourceConduit next, MemoryBudget budget, StreamConnection connection, byte[] refusal,
                 long blockMax) {
        super(next);
        this.budget = budget;
        this.connection = connection;
        this.refusal = refusal;
        this.blockMax = blockMax;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        int start = dst.position();
        int n = next.read(dst);
        if (n > 0 && !taken(dst, start, start + n)) {
            dst.position(start); // refused: what the client still sends is dropped
            return 0;
        }
        return n;
    }

    @Override
    public long read(ByteBuffer[] dsts, int offs, int len) throws IOException {
        if (frames == null && !refused && prefaceAt > PREFACE.length && (off || !inHead)) {
            return next.read(dsts, offs, len); // a body: nothing to count
        }
        int[] starts = new int[len];
        for (int i = 0; i < len; i++) {
            starts[i] = dsts[offs + i].position();
        }
        long n = next.read(dsts, offs, len);
        if (n > 0) {
            for (int i = 0; i < len && !refused; i++) {
                ByteBuffer b = dsts[offs + i];
                if (b.position() > starts[i]) {
                    taken(b, starts[i], b.position());
                }
            }
            if (refused) {
                for (int j = 0; j < len; j++) {
                    dsts[offs + j].position(starts[j]);
                }
                return 0;
            }
        }
        return n;
    }

    /**
     * Takes bytes {@code from} to {@code to} of {@code b} (read just now): the HTTP/2 preface at
     * the connection's start, an HTTP/2 header block, or an HTTP/1.x head. False when the
     * connection was refused (now or before): the bytes are dropped.
     */
    private boolean taken(ByteBuffer b, int from, int to) {
        if (refused) {
            return false;
        }
        if (frames != null) {
            return blocks(b, from, to);
        }
        if (prefaceAt < PREFACE.length) {
            int earlier = prefaceAt; // matched by earlier reads, not scanned yet
            int i = from;
            while (i < to && prefaceAt < PREFACE.length && b.get(i) == PREFACE[prefaceAt]) {
                i++;
                prefaceAt++;
            }
            if (prefaceAt == PREFACE.length) { // HTTP/2 by prior knowledge, or after ALPN
                prefaceAt++;
                frames = new Frames(false);
                off = true;
                inHead = false;
                scan.reset();
                giveBack();
                return blocks(b, i, to);
            }
            if (i == to) {
                return true; // the preface so far: the head scan sees it only if it turns out to be no preface
            }
            prefaceAt = PREFACE.length + 1; // an HTTP/1.x head, with what seemed the preface's start
            if (earlier > 0 && inHead && !off && !counted(ByteBuffer.wrap(PREFACE), 0, earlier)) {
                return false;
            }
        }
        return !inHead || off || counted(b, from, to);
    }

    /**
     * Walks HTTP/2 frames in bytes {@code from} to {@code to} of {@code b}; a header block still in
     * progress after them takes room for what it can decode to. False when it found none: the
     * connection is closed.
     */
    private boolean blocks(ByteBuffer b, int from, int to) {
        if (!frames.feed(b, from, to)) {
            giveBack();
            return true;
        }
        long cost = 2 * Math.min(blockMax, HPACK_ENTRY_MAX * frames.blockBytes());
        synchronized (this) {
            if (cost <= taken) {
                return true;
            }
            if (budget.tryTake(cost - taken)) {
                taken = cost;
                return true;
            }
        }
        LOG.debug("Closing an HTTP/2 connection from {}: its header block ({} bytes so far) found no room in {}",
                connection.getPeerAddress(), frames.blockBytes(), budget.name());
        refused = true;
        IoUtils.safeClose(connection);
        return false;
    }

    /**
     * Counts bytes {@code from} to {@code to} of {@code b} (read just now) into the head; false
     * when the head, still incomplete, found no room (the connection is then closed).
     */
    private boolean counted(ByteBuffer b, int from, int to) {
        if (scan.feed(b, from, to)) {
            inHead = false;
            lastHead = scan.bytes();
            scan.reset();
            giveBack();
            return true;
        }
        if (roomFor()) {
            return true;
        }
        LOG.debug("Closing a connection from {}: its request head ({} bytes so far) found no room in {}",
                connection.getPeerAddress(), scan.bytes(), budget.name());
        refuse();
        return false;
    }

    /** Takes room for what the head read so far costs past its free part; false when there is none. */
    private boolean roomFor() {
        long over = scan.cost() - FREE_COST;
        if (over <= 0) {
            return true;
        }
        synchronized (this) {
            if (over <= taken) {
                return true;
            }
            if (budget.tryTake(over - taken)) {
                taken = over;
                return true;
            }
        }
        return false;
    }

    /**
     * Answers 503 and closes: on plain HTTP the answer is written (it says {@code Connection:
     * close}), and what the client still sends is read and dropped until it closes, or for at
     * most {@link Http#LINGER_MILLIS}, as an answered body's rest is (closing with its bytes
     * unread would reset the connection, and a client still sending would see the reset rather
     * than the answer). The sending side is not
     * shut meanwhile: Undertow closes a connection at once when it finds it so. Its head's room
     * stays taken until the connection closes. On TLS, closed at once.
     */
    private void refuse() {
        refused = true;
        if (refusal == null) {
            IoUtils.safeClose(connection);
            return;
        }
        try {
            ByteBuffer answer = ByteBuffer.wrap(refusal);
            connection.getSinkChannel().write(answer);
            if (answer.hasRemaining()) { // a socket buffer this full: no answer, as on TLS
                IoUtils.safeClose(connection);
                return;
            }
            connection.getIoThread().executeAfter(() -> IoUtils.safeClose(connection), Http.LINGER_MILLIS,
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (IOException e) {
            LOG.debug("Answering a refused request head failed: {}", e.toString());
            IoUtils.safeClose(connection);
        }
    }


    private synchronized void giveBack() {
        if (taken > 0) {
            budget.give(taken);
            taken = 0;
        }
    }

    /** The conduit it reads from. */
    StreamSourceConduit socket() {
        return next;
    }

    /** The connection closed: what its head held is free. */
    void closed() {
        giveBack();
    }

    /**
     * The head of {@code exchange} was read whole: its request runs, and the next head begins at
     * its end. Returns the head's bytes as the scan counted them (request line, headers, line
     * ends), or -1 when the scan did not see it end (the caller then measures it otherwise).
     */
    long started(HttpServerExchange exchange) {
        if (off) {
            return -1;
        }
        long head = lastHead;
        lastHead = -1;
        if (inHead) { // not found by the scan (a head Undertow read from what it had buffered)
            inHead = false;
            scan.reset();
            giveBack();
            head = -1;
        }
        exchange.addExchangeCompleteListener(this);
        return head;
    }

    /** The connection turns to HTTP/2 (an h2c upgrade): its frames are no head; its header blocks are counted. */
    void stop() {
        off = true;
        inHead = false;
        prefaceAt = PREFACE.length + 1;
        frames = new Frames(true);
        giveBack();
    }

    @Override
    public void exchangeEvent(HttpServerExchange exchange, NextListener nextListener) {
        try {
            // The next head begins: with the bytes of it Undertow already holds, when the client
            // sent it early (pipelined, or in one write with the end of a body).
            if (!off && exchange.isPersistent() && exchange.getConnection() instanceof HttpServerConnection c) {
                io.undertow.connector.PooledByteBuffer extra = c.getExtraBytes();
                ByteBuffer held = extra == null ? null : extra.getBuffer();
                if (held == null || !held.hasRemaining() || !scan.feed(held, held.position(), held.limit())) {
                    // Room for what is held if there is some now; if not, the next read of this
                    // head refuses it (503, on the IO thread), as it would a head read then.
                    roomFor();
                    inHead = true; // after the scan's state is set: the IO thread reads this first
                } else {
                    lastHead = scan.bytes();
                    scan.reset(); // a whole head is held: its request runs next, and this comes again at its end
                }
            }
        } finally {
            nextListener.proceed();
        }
    }

    /** This connection's counter, when it has one: HTTP/1.x connections of a server with the budget. */
    static RequestHeads of(HttpServerExchange exchange) {
        return exchange.getConnection() instanceof HttpServerConnection c
                && c.getOriginalSourceConduit() instanceof RequestHeads heads ? heads : null;
    }

    /**
     * Walks HTTP/2 frames as they come, a read at a time, to tell whether a header block is in
     * progress: from a HEADERS or PUSH_PROMISE frame's header to the end of the payload of the
     * frame (it, or a CONTINUATION) flagged END_HEADERS. Counts the block's payload bytes. Frame
     * payloads are skipped by their length, not scanned. Undertow checks the frames themselves (a
     * frame out of place ends the connection there).
     */
    static final class Frames {
        private static final int HEADERS = 0x1;
        private static final int PUSH_PROMISE = 0x5;
        private static final int CONTINUATION = 0x9;
        private static final int END_HEADERS = 0x4;
        private int prefaceAt; // bytes of the client preface seen; PREFACE.length once past it
        private final byte[] header = new byte[9];
        private int headerRead;
        private long payloadLeft;
        private boolean endsBlock; // the current frame's payload ends the block in progress
        private boolean inBlock;
        private long blockBytes;

        /** @param preface whether the client's preface comes first (after an h2c upgrade's 101) */
        Frames(boolean preface) {
            prefaceAt = preface ? 0 : PREFACE.length;
        }

        /** Takes bytes {@code from} to {@code to}; true when a header block is in progress after them. */
        boolean feed(ByteBuffer b, int from, int to) {
            int i = from;
            while (i < to) {
                if (prefaceAt < PREFACE.length) {
                    if (b.get(i) == PREFACE[prefaceAt]) {
                        prefaceAt++;
                        i++;
                        continue;
                    }
                    prefaceAt = PREFACE.length; // sent before the switch, or none: frames from here
                }
                if (payloadLeft > 0) {
                    int k = (int) Math.min(payloadLeft, to - i);
                    payloadLeft -= k;
                    i += k;
                    if (inBlock) {
                        blockBytes += k;
                        if (payloadLeft == 0 && endsBlock) {
                            endBlock();
                        }
                    }
                    continue;
                }
                header[headerRead++] = b.get(i++);
                if (headerRead == header.length) {
                    headerRead = 0;
                    frame();
                }
            }
            return inBlock;
        }

        /** A frame's 9-byte header was read. */
        private void frame() {
            payloadLeft = (header[0] & 0xffL) << 16 | (header[1] & 0xffL) << 8 | header[2] & 0xffL;
            int type = header[3] & 0xff;
            boolean end = (header[4] & END_HEADERS) != 0;
            if (type == HEADERS || type == PUSH_PROMISE || type == CONTINUATION && inBlock) {
                inBlock = true;
                endsBlock = end;
                if (end && payloadLeft == 0) {
                    endBlock();
                }
            } else {
                endsBlock = false;
            }
        }

        private void endBlock() {
            inBlock = false;
            endsBlock = false;
            blockBytes = 0;
        }

        /** The payload bytes of the block in progress read so far. */
        long blockBytes() {
            return blockBytes;
        }
    }

    /**
     * Finds a head's end in the bytes as they come, a read at a time: the first empty line after a
     * line with something in it (empty lines before the request line are no end), lines ended by
     * {@code \r\n} or a bare {@code \n}. Counts the head's bytes and parts (lines, and the
     * {@code &} and {@code ;} that part parameters; in header values too, which only counts more)
     * meanwhile.
     */
    static final class Scan {
        private boolean content; // a byte other than CR or LF was seen
        private boolean lineEmpty = true; // the current line holds nothing but CRs so far
        private long bytes;
        private long parts;

        /** Takes bytes {@code from} to {@code to}; true when the head ended among them. */
        boolean feed(ByteBuffer b, int from, int to) {
            for (int i = from; i < to; i++) {
                byte c = b.get(i);
                if (c == '\n') {
                    if (lineEmpty && content) {
                        bytes += i + 1 - from;
                        return true;
                    }
                    lineEmpty = true;
                    parts++;
                } else if (c != '\r') {
                    lineEmpty = false;
                    content = true;
                    if (c == '&' || c == ';') {
                        parts++;
                    }
                }
            }
            bytes += to - from;
            return false;
        }

        /** What the head read so far costs in memory. */
        long cost() {
            return 2 * bytes + PART_COST * (parts + 1);
        }

        long bytes() {
            return bytes;
        }

        void reset() {
            content = false;
            lineEmpty = true;
            bytes = 0;
            parts = 0;
        }
    }
}
