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
 * <p>A connection that turns to HTTP/2 (an h2c upgrade; a head whose request line is method
 * {@code PRI} and version {@code HTTP/2.0}, any case, as the preface by prior knowledge or after
 * ALPN begins, which Undertow takes for HTTP/2 on any request of a connection where HTTP/2 is
 * on, and answers 400 where it is off) has its header blocks counted instead: a
 * block is in progress from its HEADERS (or PUSH_PROMISE) frame to the end of the frame flagged
 * END_HEADERS, and Undertow holds what it decoded of it meanwhile, up to
 * {@code request.headers.max.bytes}. A block still in progress after a read costs what
 * {@link #blockCost} says, past the same free {@link #FREE_COST}; without room its connection is
 * closed (an HTTP/2 connection cannot be answered from here), as it is at once when a header
 * frame announces more than {@link #FRAME_MAX} bytes (Undertow would hold all of it before
 * refusing it). A block that ends within the read that brought it costs nothing, and frames'
 * payloads are skipped, not scanned. A block still in progress {@code request.header.timeout.ms}
 * after its HEADERS frame closes its connection, as a head that slow ends an HTTP/1.x one: until
 * it ends, nothing else may come on the connection (HTTP/2 allows no frame between a block's
 * frames), and Undertow's parse timeout does not time HTTP/2 frames. A block that has had its
 * time while Undertow does not read the connection gets it again, up to three times in all.
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
    /** Headers Undertow takes in one request at most (its default {@code MAX_HEADERS}). */
    static final long HEADERS_MAX = 200;
    /** Request-line parameters Undertow takes at most (its default {@code MAX_PARAMETERS}). */
    static final long PARAMETERS_MAX = 1000;
    /** The largest frame Undertow's HTTP/2 settings let a client send (its default SETTINGS_MAX_FRAME_SIZE). */
    static final long FRAME_MAX = 16_384;
    /** An HTTP/2 connection's first bytes (RFC 9113, section 3.4). */
    private static final byte[] PREFACE = ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    /** What follows a head Undertow takes for HTTP/2 by prior knowledge (see {@link Scan#http2()}). */
    private static final byte[] TAIL = ascii("SM\r\n\r\n");

    private final MemoryBudget budget;
    private final StreamConnection connection;
    private final byte[] refusal;
    private final Scan scan = new Scan();
    private volatile boolean inHead = true; // set by the IO thread (the head ended) and by the exchange's end
    private boolean refused; // answered 503: what comes is dropped until the connection closes (IO thread)
    private long lastHead = -1; // the bytes of the last head the scan saw end, until its request starts
    private Frames frames; // HTTP/2: its header blocks are counted, no heads any more (IO thread)
    private boolean closed; // the connection closed: no room is taken any more (guarded by this)
    private final long blockMax; // request.headers.max.bytes: the most an HTTP/2 header block decodes to
    private final boolean http2; // Undertow serves HTTP/2 here: a PRI head turns the connection to it
    private long taken; // room taken from the budget for the head in progress (guarded by this)
    private final long blockTimeoutMillis; // request.header.timeout.ms: an HTTP/2 header block's time (0: none)
    private long timedBlock; // the number of the header block the timer is for (IO thread)
    private org.xnio.XnioExecutor.Key blockTimer; // times the block in progress (IO thread)
    private int blockExtensions; // times the block in progress had its time again (IO thread)
    /** How many times its {@code request.header.timeout.ms} an HTTP/2 header block may take at most. */
    static final int BLOCK_TIMES_MAX = 3;

    /**
     * @param refusal the bytes written before closing a connection refused for want of room, or
     *                null to close it unanswered (TLS, where a write here is not safe)
     */
    RequestHeads(StreamSourceConduit next, MemoryBudget budget, StreamConnection connection, byte[] refusal,
                 long blockMax, boolean http2, java.time.Duration blockTimeout) {
        super(next);
        this.blockTimeoutMillis = blockTimeout.toMillis();
        this.http2 = http2;
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
        if (frames == null && !refused && !inHead) {
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
        return !inHead || counted(b, from, to);
    }

    /**
     * Walks HTTP/2 frames in bytes {@code from} to {@code to} of {@code b}; a header block still in
     * progress after them takes room for its {@link #blockCost}. False when it found none, or a
     * header frame was announced larger than {@link #FRAME_MAX}: the connection is closed.
     */
    private boolean blocks(ByteBuffer b, int from, int to) {
        boolean open = frames.feed(b, from, to);
        if (frames.oversized()) {
            LOG.debug("Closing an HTTP/2 connection from {}: a header frame of more than {} bytes",
                    connection.getPeerAddress(), FRAME_MAX);
            return closeRefused();
        }
        if (!open) {
            untimeBlock();
            giveBack();
            return true;
        }
        timeBlock();
        if (roomFor(blockCost(frames.blockBytes(), blockMax))) {
            return true;
        }
        LOG.debug("Closing an HTTP/2 connection from {}: its header block ({} bytes so far) found no room in {}",
                connection.getPeerAddress(), frames.blockBytes(), budget.name());
        return closeRefused();
    }

    /** Times the header block in progress, from when it began, unless it is timed already (IO thread). */
    private void timeBlock() {
        long block = frames.block();
        if (blockTimeoutMillis <= 0 || block == timedBlock && blockTimer != null) {
            return;
        }
        untimeBlock();
        blockExtensions = 0;
        armBlockTimer(block);
    }

    private void armBlockTimer(long block) {
        timedBlock = block;
        blockTimer = connection.getIoThread().executeAfter(() -> blockTimedOut(block), blockTimeoutMillis,
                java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /**
     * The block numbered {@code block} had its time: its connection is closed if it is still in
     * progress, unless Undertow stopped reading the connection (its read buffers all held by
     * streams it waits on, or its answers queued): the rest of the block may be there, unread,
     * and it has its time again, up to {@link #BLOCK_TIMES_MAX} times in all (a client that
     * stops reading its answers stops Undertow's reads too).
     */
    private void blockTimedOut(long block) {
        blockTimer = null;
        if (!frames.inBlock() || frames.block() != block || !connection.isOpen()) {
            return;
        }
        if (!isReadResumed() && ++blockExtensions < BLOCK_TIMES_MAX) {
            armBlockTimer(block);
            return;
        }
        LOG.debug("Closing an HTTP/2 connection from {}: a header block still in progress after {} ms",
                connection.getPeerAddress(), blockTimeoutMillis);
        closeRefused();
    }

    private void untimeBlock() {
        if (blockTimer != null) {
            blockTimer.remove();
            blockTimer = null;
        }
    }

    /** Refuses the connection unanswered (HTTP/2 cannot be answered from here): closed; false. */
    private boolean closeRefused() {
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
            int end = scan.end();
            boolean http2 = scan.http2();
            scan.reset();
            giveBack();
            if (http2 && this.http2) { // HTTP/2 by prior knowledge: the preface's tail, then frames
                toFrames();
                return blocks(b, end, to);
            }
            return true;
        }
        if (roomFor(scan.cost())) {
            return true;
        }
        LOG.debug("Closing a connection from {}: its request head ({} bytes so far) found no room in {}",
                connection.getPeerAddress(), scan.bytes(), budget.name());
        refuse();
        return false;
    }

    /**
     * What an HTTP/2 header block in progress, {@code bytes} of it read, costs: its bytes twice (the
     * decoder's strings), and {@link #PART_COST} for each header it can hold (an indexed field is
     * one byte; Undertow takes at most {@link #HEADERS_MAX}); at most what the largest block
     * Undertow decodes ({@code blockMax}) holds.
     */
    static long blockCost(long bytes, long blockMax) {
        return 2 * Math.min(bytes, blockMax) + PART_COST * Math.min(bytes, HEADERS_MAX);
    }

    /** Takes room for {@code cost} past the free part; false when there is none. */
    private boolean roomFor(long cost) {
        long over = cost - FREE_COST;
        if (over <= 0) {
            return true;
        }
        synchronized (this) {
            if (closed || over <= taken) { // closed: what it holds is free, nothing more is taken
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
        if (refusal == null) {
            closeRefused();
            return;
        }
        refused = true;
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
        synchronized (this) {
            closed = true;
        }
        giveBack();
    }

    /**
     * The head of {@code exchange} was read whole: its request runs, and the next head begins at
     * its end. Returns the head's bytes as the scan counted them (request line, headers, line
     * ends), or -1 when the scan did not see it end (the caller then measures it otherwise).
     */
    long started(HttpServerExchange exchange) {
        if (frames != null) {
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

    /**
     * The connection of {@code upgraded} turns to HTTP/2 (an h2c upgrade): its frames are no head;
     * its header blocks are counted, from what Undertow read past the upgrade's head on (the
     * client's preface, when sent early).
     */
    void stop(HttpServerExchange upgraded) {
        ByteBuffer held = held(upgraded);
        inHead = false;
        frames = new Frames(PREFACE);
        giveBack();
        if (held != null && held.hasRemaining()) {
            blocks(held, held.position(), held.limit());
        }
    }

    /** What Undertow read of {@code exchange}'s connection past its request, or null. */
    private static ByteBuffer held(HttpServerExchange exchange) {
        io.undertow.connector.PooledByteBuffer extra = exchange.getConnection() instanceof HttpServerConnection c
                ? c.getExtraBytes() : null;
        return extra == null ? null : extra.getBuffer();
    }

    /** The head just read was an HTTP/2 preface's: frames follow its tail. */
    private void toFrames() {
        inHead = false;
        frames = new Frames(TAIL);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    @Override
    public void exchangeEvent(HttpServerExchange exchange, NextListener nextListener) {
        try {
            // The next head begins: with the bytes of it Undertow already holds, when the client
            // sent it early (pipelined, or in one write with the end of a body).
            if (frames == null && exchange.isPersistent() && exchange.getConnection() instanceof HttpServerConnection) {
                ByteBuffer held = held(exchange);
                if (held == null || !held.hasRemaining() || !scan.feed(held, held.position(), held.limit())) {
                    // Room for what is held if there is some now; if not, the next read of this
                    // head refuses it (503, on the IO thread), as it would a head read then.
                    roomFor(scan.cost());
                    inHead = true; // after the scan's state is set: the IO thread reads this first
                } else if (http2 && scan.http2()) { // a held PRI head: HTTP/2 from its tail on, in what is held too
                    int end = scan.end();
                    scan.reset();
                    toFrames();
                    blocks(held, end, held.limit());
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
        private final byte[] expect; // what may come before the first frame: the client preface, or its tail
        private int expectAt; // bytes of it seen; its length once past it
        private boolean oversized; // a header frame longer than FRAME_MAX was announced
        private final byte[] header = new byte[9];
        private int headerRead;
        private long payloadLeft;
        private boolean endsBlock; // the current frame's payload ends the block in progress
        private boolean inBlock;
        private long blockBytes;
        private long blocks; // header blocks begun

        /**
         * @param expect what may come first (the preface after an h2c upgrade's 101; after a
         *               PRI head, its tail); when other bytes come, frames start there
         */
        Frames(byte[] expect) {
            this.expect = expect;
        }

        /** Takes bytes {@code from} to {@code to}; true when a header block is in progress after them. */
        boolean feed(ByteBuffer b, int from, int to) {
            int i = from;
            while (i < to) {
                if (expectAt < expect.length) {
                    if (b.get(i) == expect[expectAt]) {
                        expectAt++;
                        i++;
                        continue;
                    }
                    expectAt = expect.length; // not there (none sent, or walked before): frames from here
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
                // Undertow would refuse it only once all of it had come, holding it meanwhile.
                oversized |= payloadLeft > FRAME_MAX;
                if (!inBlock) {
                    blocks++;
                }
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

        /** Whether a header block is in progress. */
        boolean inBlock() {
            return inBlock;
        }

        /** The number of the last header block begun (1, 2, …). */
        long block() {
            return blocks;
        }

        /** The payload bytes of the block in progress read so far. */
        long blockBytes() {
            return blockBytes;
        }

        /** Whether a header frame longer than {@link #FRAME_MAX} was announced. */
        boolean oversized() {
            return oversized;
        }
    }

    /**
     * Finds a head's end in the bytes as they come, a read at a time: the first empty line after a
     * line with something in it (empty lines before the request line are no end), lines ended by
     * {@code \r\n} or a bare {@code \n}. Counts the head's bytes and parts (lines, up to the
     * headers Undertow takes, and the {@code &} and {@code ;} that part the request line's
     * parameters, up to the parameters it takes) meanwhile.
     */
    static final class Scan {
        private boolean content; // a byte other than CR or LF was seen
        private boolean lineEmpty = true; // the current line holds nothing but CRs so far
        private long bytes;
        private long parts;
        private int end; // where in the buffer of the last feed the head ended
        private boolean firstLine = true; // the request line is being read (after any empty lines)
        private int lineAt; // bytes of the request line so far, CRs not counted
        private boolean pri; // the request line began "PRI " (any case)
        private long lastEight; // the request line's last 8 bytes, lower-cased, the newest lowest
        private int ninth; // the byte before them
        private boolean http2; // the request line was PRI ... HTTP/2.0
        private long lines; // line ends read
        private long parameters; // '&' and ';' of the request line counted

        /** Takes bytes {@code from} to {@code to}; true when the head ended among them. */
        boolean feed(ByteBuffer b, int from, int to) {
            for (int i = from; i < to; i++) {
                byte c = b.get(i);
                if (c == '\n') {
                    if (lineEmpty && content) {
                        bytes += i + 1 - from;
                        end = i + 1;
                        return true;
                    }
                    if (firstLine && content) {
                        firstLine = false;
                        http2 = pri && ninth == ' ' && lastEight == HTTP_2_0;
                    }
                    lineEmpty = true;
                    if (lines++ <= HEADERS_MAX) { // Undertow refuses a head of more headers than that
                        parts++;
                    }
                } else if (c != '\r') {
                    lineEmpty = false;
                    content = true;
                    if (firstLine) {
                        int lower = c >= 'A' && c <= 'Z' ? c + 32 : c & 0xff;
                        if (lineAt < 4) {
                            pri = (lineAt == 0 || pri) && lower == "pri ".charAt(lineAt);
                        }
                        lineAt++;
                        ninth = (int) (lastEight >>> 56);
                        lastEight = lastEight << 8 | lower;
                    }
                    // Parameters of the request line only (Undertow makes objects for those, at
                    // most PARAMETERS_MAX; a header value full of ';' is one string, its bytes counted).
                    if ((c == '&' || c == ';') && firstLine && parameters < PARAMETERS_MAX) {
                        parameters++;
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

        /** "http/2.0" as {@link #lastEight} holds it. */
        private static final long HTTP_2_0 = eight("http/2.0");

        private static long eight(String s) {
            long v = 0;
            for (int i = 0; i < s.length(); i++) {
                v = v << 8 | s.charAt(i);
            }
            return v;
        }

        /**
         * Whether the head that ended is one Undertow takes for HTTP/2 by prior knowledge: its
         * request line is method {@code PRI} and version {@code HTTP/2.0} (any case).
         */
        boolean http2() {
            return http2;
        }

        /** Just past the head's end in the buffer the feed that found it took. */
        int end() {
            return end;
        }

        void reset() {
            content = false;
            lineEmpty = true;
            bytes = 0;
            parts = 0;
            firstLine = true;
            lineAt = 0;
            pri = false;
            lastEight = 0;
            ninth = 0;
            http2 = false;
            lines = 0;
            parameters = 0;
        }
    }
}
