package io.portico.proxy.http;

import io.portico.protocol.ByteChunks;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.MediaType;
import io.portico.protocol.Negotiation;
import io.portico.protocol.RestException;
import io.portico.sessions.MemoryBudget;
import io.undertow.io.Receiver;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import io.undertow.util.AttachmentKey;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.PathTemplateMatch;
import io.undertow.util.SameThreadExecutor;
import java.nio.ByteBuffer;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;

/**
 * The few ways a handler talks HTTP, so that every handler does it the same way and none blocks
 * an IO thread: negotiate, read the body without blocking, hand work to a bounded pool, and finish
 * the exchange from a future on its IO thread.
 */
public final class Http {
    /** The response type negotiated for this exchange; error bodies use it too. */
    public static final AttachmentKey<MediaType> RESPONSE_TYPE = AttachmentKey.create(MediaType.class);

    /**
     * The id of the node that relayed this request, set once the request proved it came from a
     * node of this cluster (the node secret); absent on a client's own request.
     */
    public static final AttachmentKey<String> RELAYED_BY = AttachmentKey.create(String.class);

    /**
     * On a request another node relayed: the most its waits (for a group's assignment, then for
     * records) may take together, so that its answer comes before the relaying node stops waiting
     * ({@code nodes.forward.timeout.ms}) and no record read for it is lost with an answer nobody
     * gets. Absent on a client's own request. A {@link System#nanoTime()} deadline, set as the
     * request arrives: its wait for a pool thread here counts too (see {@link #readWithin}).
     */
    public static final AttachmentKey<Long> READ_WITHIN = AttachmentKey.create(Long.class);

    /**
     * What a relayed request's waits may still take now ({@link #READ_WITHIN}), or null on a
     * client's own request: call it where the read starts.
     */
    public static java.time.Duration readWithin(HttpServerExchange exchange) {
        Long by = exchange.getAttachment(READ_WITHIN);
        return by == null ? null : java.time.Duration.ofNanos(Math.max(0, by - System.nanoTime()));
    }

    /**
     * The name of the API key entry the relaying node authenticated the caller as; believed only
     * on a request with {@link #RELAYED_BY} (a client certificate does not travel with a relay).
     */
    public static final HttpString FORWARDED_FOR = new HttpString("Portico-Forwarded-For");

    /** {@code application/json}: the type of routes that answer plain JSON whatever the client accepts. */
    public static final MediaType JSON = MediaType.parse("application/json");

    /**
     * The largest body of an admin request (a topic's creation, its settings' change): ample for
     * 1,000 settings or 10,000 partitions' replicas, and bound in what binding it builds (a
     * 16 MiB body of empty objects in a topic's settings was hundreds of MB of maps, on an IO thread).
     */
    public static final long ADMIN_BODY_MAX_BYTES = 1 << 20;

    private Http() {
    }

    /** A path parameter of the matched route template, or null. */
    public static String param(HttpServerExchange exchange, String name) {
        PathTemplateMatch match = exchange.getAttachment(PathTemplateMatch.ATTACHMENT_KEY);
        return match == null ? null : match.getParameters().get(name);
    }

    /** A path parameter that must be a non-negative int, else the {@code notFound} error. */
    public static int intParam(HttpServerExchange exchange, String name, ErrorCode notFound) {
        String value = param(exchange, name);
        try {
            int parsed = Integer.parseInt(value);
            if (parsed >= 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw notFound.exception();
    }

    /**
     * Refuses a request body that is not JSON: a {@code Content-Type} whose essence is not
     * {@code application/json} (a malformed one included) is a 415; none means JSON.
     */
    public static void requireJsonBody(HttpServerExchange exchange) {
        String contentType = contentType(exchange);
        if (contentType == null || contentType.isBlank()) {
            return;
        }
        MediaType type = MediaType.parse(contentType);
        if (type == null || !type.essence().equals("application/json")) {
            throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
        }
    }

    /** The first value of a query parameter, or null. */
    public static String query(HttpServerExchange exchange, String name) {
        Deque<String> values = exchange.getQueryParameters().get(name);
        return values == null || values.isEmpty() ? null : values.getFirst();
    }

    /** Whether the request gives the query parameter a value that is not blank ({@link #longQuery} reads a blank one as absent). */
    public static boolean hasQuery(HttpServerExchange exchange, String name) {
        String value = query(exchange, name);
        return value != null && !value.isBlank();
    }

    /**
     * A whole-number query parameter, or {@code absent} when the request has none or leaves it blank.
     *
     * @throws RestException 400 when it is not a whole number
     */
    public static long longQuery(HttpServerExchange exchange, String name, long absent) {
        String value = query(exchange, name);
        if (value == null || value.isBlank()) { // ?timeout= as a client filling a URL template sends it: the default, as Jersey gives
            return absent;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter " + name + " must be an integer");
        }
    }

    /**
     * The first value of a query parameter decoded strictly from the raw query string: a
     * percent-escape that does not decode to valid UTF-8 is a 400 (the decoded query Undertow
     * offers replaces such bytes with U+FFFD silently). Null when absent.
     */
    public static String strictQuery(HttpServerExchange exchange, String name) {
        String raw = exchange.getQueryString();
        if (raw == null || raw.isEmpty()) {
            return null;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String key = decodeStrict(eq < 0 ? pair : pair.substring(0, eq), "a query parameter name");
            if (key.equals(name)) {
                return eq < 0 ? "" : decodeStrict(pair.substring(eq + 1), "query parameter " + name);
            }
        }
        return null;
    }

    private static String decodeStrict(String encoded, String what) {
        if (encoded.indexOf('%') < 0 && encoded.indexOf('+') < 0) {
            return encoded;
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(encoded.length());
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '%') {
                int hi = i + 2 < encoded.length() ? Character.digit(encoded.charAt(i + 1), 16) : -1;
                int lo = i + 2 < encoded.length() ? Character.digit(encoded.charAt(i + 2), 16) : -1;
                if (hi < 0 || lo < 0) {
                    throw ErrorCode.BAD_REQUEST.exception("The value of " + what + " has a malformed percent-escape");
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else if (c == '+') {
                bytes.write(' ');
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                bytes.write(utf8, 0, utf8.length);
            }
        }
        try {
            return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw ErrorCode.BAD_REQUEST.exception("The value of " + what + " is not valid UTF-8 once percent-decoded");
        }
    }

    /** {@code value} as one path segment of a URL: every byte but {@code A-Za-z0-9-._~} percent-encoded. */
    public static String pathSegment(String value) {
        StringBuilder out = new StringBuilder(value.length());
        for (byte b : value.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
                    || c == '~') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    /**
     * The exchange's client address as {@link #addressKey} keys it (an IPv6 client by its /64),
     * {@code "?"} when unknown: what the quotas of failed credentials count per address.
     */
    public static String sourceAddressKey(HttpServerExchange exchange) {
        java.net.InetSocketAddress from = exchange.getSourceAddress();
        return from == null || from.getAddress() == null ? "?" : addressKey(from.getAddress());
    }

    /**
     * What a client address is counted as, for quotas and the per-address connection cap: an
     * IPv4 address itself, an IPv6 address by its /64 network (one site or host usually has a
     * whole /64 to choose addresses from).
     */
    public static String addressKey(java.net.InetAddress address) {
        if (address instanceof java.net.Inet6Address) {
            byte[] b = address.getAddress();
            return String.format("%x:%x:%x:%x::/64", (b[0] & 0xff) << 8 | b[1] & 0xff, (b[2] & 0xff) << 8 | b[3] & 0xff,
                    (b[4] & 0xff) << 8 | b[5] & 0xff, (b[6] & 0xff) << 8 | b[7] & 0xff);
        }
        return address.getHostAddress();
    }

    /** The request's {@code Content-Type}, or null. */
    public static String contentType(HttpServerExchange exchange) {
        return exchange.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
    }

    /**
     * The request's {@code Accept}, or null: a client that sent several {@code Accept} lines (Go's
     * {@code Header.Add}, Java's {@code HttpRequest.Builder.header} called twice) accepts what they
     * all list, as one list joined in their order (RFC 9110, 5.3; as Jersey reads them).
     */
    public static String accept(HttpServerExchange exchange) {
        io.undertow.util.HeaderValues values = exchange.getRequestHeaders().get(Headers.ACCEPT);
        if (values == null || values.isEmpty()) {
            return null;
        }
        return values.size() == 1 ? values.getFirst() : String.join(", ", values);
    }

    /**
     * Chooses the response type from {@code Accept} and remembers it for this exchange.
     *
     * @throws RestException 406 when the client accepts none of {@code offers}
     */
    public static MediaType negotiate(HttpServerExchange exchange, List<Negotiation.Offer> offers) {
        String accept = accept(exchange);
        MediaType chosen = negotiated(accept == null ? "" : accept, offers);
        if (chosen == null) {
            throw ErrorCode.NOT_ACCEPTABLE.exception();
        }
        exchange.putAttachment(RESPONSE_TYPE, chosen);
        return chosen;
    }

    /**
     * Chooses the type of an error answered before {@link #negotiate} runs (a 415 checked first,
     * as Jersey does), from {@code offers}: without it an error is typed as v1 metadata. Leaves
     * it unchosen when the client accepts none of them; never throws.
     */
    public static void preferType(HttpServerExchange exchange, List<Negotiation.Offer> offers) {
        String accept = accept(exchange);
        MediaType chosen = negotiated(accept == null ? "" : accept, offers);
        if (chosen != null) {
            exchange.putAttachment(RESPONSE_TYPE, chosen);
        }
    }

    /** An offer list compared by identity: the lists are the protocol's constants. */
    private record OfferList(List<Negotiation.Offer> offers) {
        @Override
        public boolean equals(Object o) {
            return o instanceof OfferList other && other.offers == offers;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(offers);
        }
    }

    private static final int NEGOTIATION_CACHE_LIMIT = 1024;
    private static final ConcurrentHashMap<OfferList, ConcurrentHashMap<String, Optional<MediaType>>> NEGOTIATED =
            new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<MediaType, String> ESSENCES = new ConcurrentHashMap<>();

    /** Negotiation's answer, remembered per Accept header text (clients send a handful, over and over). */
    private static MediaType negotiated(String accept, List<Negotiation.Offer> offers) {
        ConcurrentHashMap<String, Optional<MediaType>> byHeader =
                NEGOTIATED.computeIfAbsent(new OfferList(offers), k -> new ConcurrentHashMap<>());
        Optional<MediaType> known = byHeader.get(accept);
        if (known != null) {
            return known.orElse(null);
        }
        MediaType chosen = Negotiation.select(accept.isEmpty() ? null : accept, offers);
        if (byHeader.size() < NEGOTIATION_CACHE_LIMIT && accept.length() <= 256) { // long ones are a client's own
            byHeader.put(accept, Optional.ofNullable(chosen));
        }
        return chosen;
    }

    /** A handler result with a status of its own and a body to serialize (none when null). */
    public record Reply(int status, Object body) {
    }

    /** 204 with no body. */
    public static final Reply NO_CONTENT = new Reply(204, null);

    /** 202 Accepted with {@code {}}. */
    public static final Reply ACCEPTED = new Reply(202, java.util.Map.of());

    /** A handler result of another type than JSON, already serialized ({@code 200}). */
    public record Text(String contentType, byte[] body) {
    }

    /** A handler result that is JSON already serialized (e.g. records written by a streaming writer). */
    public record RawJson(ByteChunks body) {
        public RawJson(byte[] bytes) {
            this(ByteChunks.of(bytes));
        }
    }

    /**
     * Writes a 200 JSON body of the negotiated type ({@code body} serialized, or sent as is when
     * it is {@link RawJson}), or the status and body of a {@link Reply}; on the IO thread or while
     * handling.
     */
    public static void ok(HttpServerExchange exchange, Object body) {
        if (body instanceof Reply reply) {
            if (reply.body() == null) {
                exchange.setStatusCode(reply.status());
                exchange.endExchange();
            } else if (reply.body() instanceof RawJson raw) {
                send(exchange, reply.status(), raw.body());
            } else {
                send(exchange, reply.status(), Json.write(reply.body()));
            }
        } else if (body instanceof RawJson raw) {
            send(exchange, 200, raw.body());
        } else if (body instanceof Text text) {
            exchange.setStatusCode(200);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, text.contentType());
            exchange.getResponseSender().send(ByteBuffer.wrap(text.body()));
        } else {
            send(exchange, 200, Json.write(body));
        }
    }

    /** Writes a JSON body of the negotiated type with the given status. */
    public static void send(HttpServerExchange exchange, int status, byte[] json) {
        send(exchange, status, ByteBuffer.wrap(json));
    }

    private static void send(HttpServerExchange exchange, int status, ByteBuffer json) {
        head(exchange, status);
        exchange.getResponseSender().send(json);
    }

    /** As {@link #send(HttpServerExchange, int, byte[])}, the body's arrays in one gathering write. */
    public static void send(HttpServerExchange exchange, int status, ByteChunks json) {
        if (json.count() == 1) {
            send(exchange, status, json.buffers()[0]);
            return;
        }
        head(exchange, status);
        exchange.setResponseContentLength(json.length());
        exchange.getResponseSender().send(json.buffers());
    }

    /** The status and the negotiated JSON type. */
    private static void head(HttpServerExchange exchange, int status) {
        MediaType type = exchange.getAttachment(RESPONSE_TYPE);
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE,
                type == null ? "application/json" : ESSENCES.computeIfAbsent(type, MediaType::essence));
    }

    /**
     * Reads the whole body without blocking, then calls {@code then} with it on the IO thread.
     * A body over {@code maxBytes} gets 413 (also a chunked body, counted as it arrives), and the
     * rest of it is read and dropped for up to {@link #LINGER_MILLIS} before the connection is
     * closed; a broken connection is closed.
     */
    public static void readBody(HttpServerExchange exchange, long maxBytes, Consumer<byte[]> then) {
        readBody(exchange, maxBytes, () -> ErrorCode.PAYLOAD_TOO_LARGE.exception(maxBytes + " bytes"), then);
    }

    /** What a body byte counts against the requests budget: the raw byte and what it decodes to. */
    static final int BODY_BYTE_COST = 2;

    /**
     * As {@link #readBody(HttpServerExchange, long, Consumer)}, answering {@code tooLarge} past the
     * limit. The body counts against the request's memory budget as it arrives (never reserved
     * from {@code Content-Length}, which a client may state and not send): when there is no room
     * the connection is not read for up to {@code memory.wait.ms}, then the rest of the body is
     * read and dropped and the answer is 503 with {@code Retry-After}; a body that could never fit
     * is a 413 at once. A body that pauses longer than {@code request.body.timeout.ms}, or arrives
     * slower than {@link #BODY_MIN_RATE} once it took that long, gets 408 and the connection is closed.
     */
    public static void readBody(HttpServerExchange exchange, long maxBytes, Supplier<RestException> tooLarge,
                                Consumer<byte[]> then) {
        long declared = exchange.getRequestContentLength();
        if (declared > maxBytes) {
            refuse(exchange, tooLarge.get(), true);
            return;
        }
        MemoryBudget.Lease lease = Budgets.requestLease(exchange);
        if (declared > 0 && !lease.budget().fits(BODY_BYTE_COST * declared)) {
            refuse(exchange, neverFits(lease, declared), true);
            return;
        }
        BodyCollector collector = new BodyCollector(exchange, maxBytes, tooLarge, then, lease, Budgets.settings(exchange));
        exchange.getRequestReceiver().receivePartialBytes(collector, (ex, error) -> {
            collector.finish();
            IoUtils.safeClose(ex.getConnection());
        });
    }

    /** A body up to this size may use the requests budget's reserve. */
    static final long SMALL_BODY = 64 * 1024;

    /** Bytes per second a body must average once it has taken {@code request.body.timeout.ms}. */
    public static final long BODY_MIN_RATE = 16 * 1024;

    /**
     * Whether {@code bytes} that took {@code nanos} to arrive are a body too slow to keep: it has
     * taken {@code bound} ({@code request.body.timeout.ms}) and averaged under {@link #BODY_MIN_RATE}.
     */
    static boolean belowLeastRate(long bytes, long nanos, long bound) {
        return nanos >= bound && bytes < nanos / 1e9 * BODY_MIN_RATE;
    }

    private static RestException neverFits(MemoryBudget.Lease lease, long bytes) {
        return ErrorCode.PAYLOAD_TOO_LARGE.exception("a body of " + bytes + " bytes can never fit the memory set aside "
                + "for request bodies (" + lease.budget().name() + ")");
    }

    /**
     * Collects a body from its chunks up to a limit, counting each against the request's memory
     * budget; past the limit answers 413 and ignores the rest. Runs on the exchange's IO thread
     * (chunks, retries and the timer alike), so it needs no locking. Once finished it lets go of
     * everything it held and cancels its timer, so nothing keeps the exchange alive.
     */
    private static final class BodyCollector implements Receiver.PartialBytesCallback {
        private static final long RETRY_MILLIS = 10;
        private final HttpServerExchange exchange;
        private final long maxBytes;
        private final Supplier<RestException> tooLarge;
        private final Consumer<byte[]> then;
        private final MemoryBudget.Lease lease;
        private final Budgets.Settings settings;
        private java.util.ArrayList<byte[]> chunks = new java.util.ArrayList<>();
        private long length;
        private final long started = System.nanoTime();
        private long lastProgress = started;
        private boolean finished;
        private org.xnio.XnioExecutor.Key timer;
        // Waiting for room: the chunk that did not fit (counted, as memory it is) and since when.
        private byte[] pending;
        private boolean pendingLast;
        private long waitingSince;
        /** Nanoseconds the body waited for room, which the pace it arrives at does not count. */
        private long waited;
        private RestException refusal; // set when the body no longer counts: it is dropped, then this answered

        BodyCollector(HttpServerExchange exchange, long maxBytes, Supplier<RestException> tooLarge,
                      Consumer<byte[]> then, MemoryBudget.Lease lease, Budgets.Settings settings) {
            this.exchange = exchange;
            this.maxBytes = maxBytes;
            this.tooLarge = tooLarge;
            this.then = then;
            this.lease = lease;
            this.settings = settings;
            scheduleCheck(settings.bodyTimeout().toNanos());
        }

        @Override
        public void handle(HttpServerExchange ex, byte[] chunk, boolean last) {
            if (finished) {
                return;
            }
            lastProgress = System.nanoTime();
            if (length + (long) chunk.length > maxBytes) {
                fail(tooLarge.get(), true);
                return;
            }
            length += chunk.length;
            if (refusal != null) { // refused for memory: drop the rest, answer once it is all in
                if (last) {
                    refuseAfterBody();
                }
                return;
            }
            long cost = (long) BODY_BYTE_COST * chunk.length;
            if (!lease.budget().fits(BODY_BYTE_COST * length)) {
                fail(neverFits(lease, length), true); // a chunked body outgrowing what could ever fit
                return;
            }
            // A small body may use the budget's reserve: large uploads filling it never starve small requests.
            if (length <= SMALL_BODY ? lease.tryTakeSmall(cost) : lease.tryTake(cost)) {
                add(chunk, last);
                return;
            }
            // No room now: the chunk is memory already, so it is counted; reading stops until the
            // budget has room again. Chunks are handed over inside Undertow's handler call, and an
            // exchange that returns from it neither reading nor dispatched is ended: dispatched.
            lease.takeAnyway(cost);
            if (!lease.ownerOver() && budgetHasRoom()) {
                // Past its caller's share, but its caller holds nothing else: within the budget,
                // one body larger than a share goes on alone.
                add(chunk, last);
                return;
            }
            pending = chunk;
            pendingLast = last;
            waitingSince = System.nanoTime();
            if (length > SMALL_BODY && !lease.ownerOver()) {
                lease.waitInOrder(); // waiting for the budget (a caller past its share waits for its own bodies)
            }
            exchange.getRequestReceiver().pause();
            exchange.dispatch(SameThreadExecutor.INSTANCE, () -> { });
            exchange.getIoThread().executeAfter(this::retry, RETRY_MILLIS, TimeUnit.MILLISECONDS);
        }

        private void retry() {
            if (finished) {
                return;
            }
            if (!exchange.getConnection().isOpen()) {
                abandon(); // closed while it waited: no callback will come
                return;
            }
            // A small body goes on while the reserve holds what is counted (its own waiting chunk
            // included); past that it waits as a large one does, then gets 503: many bodies held
            // half sent must not count beyond the budget without end.
            boolean ownerOver = lease.ownerOver();
            if (ownerOver) {
                // Waiting for its own key's other bodies, not for the budget: out of the budget's
                // line (it keeps its place for when it waits for the budget again), so that other
                // keys' bodies waiting for the budget are not turned away behind it.
                lease.doneWaiting();
            }
            if (!ownerOver && budgetHasRoom()) {
                lease.doneWaiting();
                byte[] chunk = pending;
                pending = null;
                lastProgress = System.nanoTime();
                waited += lastProgress - waitingSince;
                add(chunk, pendingLast);
                if (!finished) {
                    exchange.getRequestReceiver().resume();
                }
            } else if (System.nanoTime() - waitingSince >= settings.memoryWait().toNanos()
                    || !ownerOver && length > SMALL_BODY && !firstInLine()) {
                // Out of time, or another body has waited longer: bodies that each hold part of
                // what they need would otherwise all wait until all give up, none served; the one
                // that waited longest goes on, with the room the others give back. The client is
                // within its limits and should read this answer, which a close in the middle of
                // its upload would turn into a reset: the rest of the body is read and dropped
                // (holding nothing), then the 503 is sent.
                lease.doneWaiting();
                // A caller past its share (half the budget) waited for its own other bodies: 429.
                refusal = ownerOver ? lease.budget().ownerShareFull()
                        : ErrorCode.SERVICE_UNAVAILABLE.exception("request bodies fill the memory set aside for them ("
                        + lease.budget().name() + "); retry later");
                pending = null;
                chunks.clear();
                lease.give(lease.held());
                lastProgress = System.nanoTime();
                if (pendingLast) {
                    refuseAfterBody();
                } else {
                    exchange.getRequestReceiver().resume();
                }
            } else {
                exchange.getIoThread().executeAfter(this::retry, RETRY_MILLIS, TimeUnit.MILLISECONDS);
            }
        }

        /** Whether the budget holds what is counted (a small body may use its reserve). */
        private boolean budgetHasRoom() {
            return length <= SMALL_BODY ? !lease.budget().overReserve() : !lease.budget().over();
        }

        /** Whether this body, waiting for the budget, has waited longest (it joins the line once it waits for the budget). */
        private boolean firstInLine() {
            lease.waitInOrder(); // keeps its place when it already has one
            return lease.firstInQueue();
        }

        private void refuseAfterBody() {
            finish();
            ErrorWriter.write(exchange, refusal);
        }

        private void add(byte[] chunk, boolean last) {
            if (chunk.length > 0) {
                chunks.add(chunk);
            }
            if (last) {
                byte[] body = body();
                finish();
                accept(exchange, body, then);
            }
        }

        private byte[] body() {
            if (chunks.size() == 1) {
                return chunks.get(0); // the whole body in one chunk: no copy
            }
            byte[] body = new byte[(int) length];
            int at = 0;
            for (byte[] c : chunks) {
                System.arraycopy(c, 0, body, at, c.length);
                at += c.length;
            }
            return body;
        }

        /** Done with the body, and nothing of it is kept from here on: its memory given back. */
        private void abandon() {
            finish();
            lease.give(lease.held());
        }

        /** Done with the body, whatever the outcome: nothing is held, no timer keeps this alive. */
        void finish() {
            lease.doneWaiting();
            finished = true;
            chunks = new java.util.ArrayList<>(0);
            pending = null;
            if (timer != null) {
                timer.remove();
                timer = null;
            }
        }

        private void scheduleCheck(long inNanos) {
            timer = exchange.getIoThread().executeAfter(this::check,
                    Math.max(1, TimeUnit.NANOSECONDS.toMillis(inNanos + 999_999)), TimeUnit.MILLISECONDS);
        }

        /**
         * Ends a body that stopped arriving or trickles: 408. (A wait for memory has its own
         * bound, and the time it takes does not count.)
         */
        private void check() {
            timer = null;
            if (finished) {
                return;
            }
            if (!exchange.getConnection().isOpen()) {
                abandon(); // closed under it
                return;
            }
            long now = System.nanoTime();
            long limit = settings.bodyTimeout().toNanos();
            long idle = now - lastProgress;
            if (pending == null && idle >= limit) {
                fail(ErrorCode.REQUEST_TIMEOUT.exception("the request body stopped arriving for "
                        + settings.bodyTimeout().toMillis() + " ms (request.body.timeout.ms)"), false);
                return;
            }
            long arriving = now - started - waited; // the time the server made it wait is not the client's
            if (pending == null && belowLeastRate(length, arriving, limit)) {
                if (limit - idle <= limit / 10) {
                    // Nothing came for nearly the whole time (its last bytes came just after it
                    // started): the check at its bound says it stopped arriving, which it did.
                    scheduleCheck(limit - idle);
                    return;
                }
                fail(ErrorCode.REQUEST_TIMEOUT.exception("the request body arrives slower than "
                        + BODY_MIN_RATE / 1024 + " KiB/s"), false);
                return;
            }
            scheduleCheck(pending != null ? limit : Math.min(limit - idle, limit));
        }

        /** {@code forSize}: the body is refused for its size (see {@link #refuse}); else for its pace. */
        private void fail(RestException error, boolean forSize) {
            abandon();
            exchange.getRequestReceiver().pause();
            refuse(exchange, error, forSize);
        }
    }

    /**
     * How long the rest of a body refused for its size is read and dropped, at most, before its
     * connection is closed.
     */
    static final long LINGER_MILLIS = 2000;

    private static final AttachmentKey<io.undertow.util.AttachmentList<Runnable>> ON_RESET =
            AttachmentKey.createList(Runnable.class);

    /**
     * Runs {@code before} when the server resets the HTTP/2 stream of {@code exchange} and ends
     * the exchange (its client took none of its answer in time, or left its body unread), before
     * the exchange's completion listeners: what the exchange holds that they would hand on while
     * still busy (a relay's connection to another node, its answer unread) is let go of first.
     * Runs on the exchange's IO thread; must not block.
     */
    public static void onReset(HttpServerExchange exchange, Runnable before) {
        exchange.addToAttachmentList(ON_RESET, before);
    }

    /** Runs what {@link #onReset} registered for {@code exchange}, each once. */
    static void beforeReset(HttpServerExchange exchange) {
        List<Runnable> hooks = exchange.removeAttachment(ON_RESET);
        if (hooks != null) {
            for (Runnable hook : hooks) {
                try {
                    hook.run();
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(Http.class).debug("A reset's hook failed: {}", e.toString());
                }
            }
        }
    }

    /**
     * HTTP/1.1, for a request without a body whose answer may last (an event stream, here or
     * relayed): runs {@code ended} on the IO thread once the client closes its connection, which
     * is all the connection can bring next. Read for at once, where a write would tell only at the
     * next one. The connection is then not read for another request (it closes after the answer);
     * a client that sends bytes instead is left to the writes to find gone. Does nothing on
     * HTTP/2 or for a request with a body (read to its end, it would read as the connection's end).
     */
    public static void onConnectionEnd(HttpServerExchange exchange, Runnable ended) {
        if (!(exchange.getConnection() instanceof io.undertow.server.protocol.http.HttpServerConnection connection)
                || !exchange.isRequestComplete() || exchange.getRequestContentLength() > 0
                || exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING)) {
            return;
        }
        exchange.setPersistent(false);
        org.xnio.channels.StreamSourceChannel in = connection.getChannel().getSourceChannel();
        in.getReadSetter().set(channel -> {
            int read;
            try {
                read = channel.read(java.nio.ByteBuffer.allocate(64));
            } catch (java.io.IOException e) {
                read = -1;
            }
            if (read == 0) {
                return;
            }
            channel.suspendReads();
            if (read < 0) {
                ended.run();
            }
        });
        in.resumeReads();
    }

    /**
     * For a request whose body has not all arrived when its handling starts: once its answer is
     * written, what is left of the body gets {@link #LINGER_MILLIS} to arrive (Undertow reads and
     * drops it, for a connection to be kept), then the connection is closed. Without it a client
     * that declares a body and never sends it (answered 401, 404, 405 without being read) held
     * the request in progress, its budgets and a place among {@code max.concurrent.requests},
     * for good. On HTTP/2 {@code close} resets the stream, most often alone (its connection's other
     * streams may be other clients', behind a proxy that multiplexes them). Make the handler once
     * ({@code close} ends an exchange, closing its connection or resetting its stream); it costs a request
     * whose body is in, or that has none, one look.
     */
    public static Consumer<HttpServerExchange> lingerAfterAnswer(Consumer<HttpServerExchange> close) {
        io.undertow.server.ConduitWrapper<org.xnio.conduits.StreamSinkConduit> wrapper = (factory, ex) ->
                new org.xnio.conduits.AbstractStreamSinkConduit<>(factory.create()) {
                private boolean ended;

                @Override
                public void terminateWrites() throws java.io.IOException {
                    super.terminateWrites();
                    if (!ended) {
                        ended = true;
                        closeIfStillUnread(ex, close);
                    }
                }
            };
        return exchange -> {
            if (!exchange.isRequestComplete()) {
                exchange.addResponseWrapper(wrapper);
            }
        };
    }

    private static void closeIfStillUnread(HttpServerExchange exchange, Consumer<HttpServerExchange> close) {
        if (exchange.isRequestComplete() || exchange.isComplete()) {
            return;
        }
        XnioExecutor.Key linger = exchange.getIoThread().executeAfter(() -> {
            if (!exchange.isComplete()) {
                close.accept(exchange);
            }
        }, LINGER_MILLIS, TimeUnit.MILLISECONDS);
        exchange.addExchangeCompleteListener((ex, next) -> {
            linger.remove();
            next.proceed();
        });
    }

    /**
     * Answers a request whose body will not be kept. On HTTP/1.1, a body refused for its size
     * ({@code forSize}: over a limit, or more than the memory budget could ever hold) goes on
     * being read and dropped once the answer is written (Undertow drains it), for up to
     * {@link #LINGER_MILLIS}: a client still sending it, as most do, then reads the answer, where
     * a close with its bytes unread would reach it as a reset that can wipe out the answer (and a
     * client that sends its whole body before it reads, as many blocking ones do, would see only
     * that reset). A body whose client finishes sending in time leaves the connection usable
     * (closed after the answer when the request asked for that: {@code Connection: close}, or
     * HTTP/1.0); one still arriving then has its connection closed. A body that arrived whole is
     * just answered. Any other refusal (a body that stopped arriving or trickles), and a refused
     * HTTP/2 stream, closes the connection after the answer.
     */
    private static void refuse(HttpServerExchange exchange, RestException error, boolean forSize) {
        if (forSize && exchange.getConnection() instanceof HttpServerConnection) {
            if (!exchange.isRequestComplete()) {
                boolean closeAfter = !exchange.isPersistent(); // the client asked to close
                exchange.setPersistent(true); // else Undertow shuts reads and closes with the body unread
                if (exchange.isRequestChannelAvailable()) {
                    exchange.setMaxEntitySize(0); // a declared length over the limit is drained too, for the linger
                }
                // The linger's bound is every unread body's (lingerAfterAnswer, set where the request began).
                if (closeAfter) {
                    exchange.addExchangeCompleteListener((ex, next) -> {
                        next.proceed();
                        IoUtils.safeClose(ex.getConnection()); // the body was all read: a clean close
                    });
                }
            }
        } else {
            exchange.setPersistent(false);
        }
        ErrorWriter.write(exchange, error);
    }

    private static void accept(HttpServerExchange exchange, byte[] body, Consumer<byte[]> then) {
        try {
            then.accept(body);
        } catch (Throwable e) {
            ErrorWriter.write(exchange, e);
        }
    }


    /**
     * Finishes the exchange when {@code result} completes: 200 with {@code toBody} of the value, or
     * the error. Call while handling the exchange; the response is written on its IO thread.
     */
    public static <T> void complete(HttpServerExchange exchange, CompletionStage<T> result,
                                    Function<? super T, ?> toBody) {
        Runnable done = Budgets.hold(exchange);
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> finishWhenDone(exchange, result, toBody, done));
    }

    /**
     * As {@link #complete}, the body written as JSON where the result is made (the admin pool, for
     * what Kafka answers) rather than on the IO thread: a list of thousands of topics, partitions
     * or groups is megabytes of it. Its bytes count against the responses budget until sent, so
     * that other requests wait for room while such answers are out.
     */
    public static <T> void completeWritten(HttpServerExchange exchange, CompletionStage<T> result,
                                           Function<? super T, ?> toBody) {
        MemoryBudget.Lease room = Budgets.responseLease(exchange);
        complete(exchange, result.thenApply(value -> written(toBody.apply(value), room)), Function.identity());
    }

    /** The answer as JSON bytes (a {@link Reply} keeps its status), counted in {@code room}. */
    public static Object written(Object answer, MemoryBudget.Lease room) {
        if (answer instanceof Reply reply) {
            return reply.body() == null || reply.body() instanceof RawJson ? reply
                    : new Reply(reply.status(), written(reply.body(), room));
        }
        if (answer instanceof RawJson) {
            return answer;
        }
        byte[] json = Json.write(answer);
        room.takeAnyway(json.length);
        return new RawJson(json);
    }

    /** Answers with the result once it completes; {@code done} releases the request's budgets then. */
    private static <T> void finishWhenDone(HttpServerExchange exchange, CompletionStage<T> result,
                                           Function<? super T, ?> toBody, Runnable done) {
        result.whenComplete((value, error) -> exchange.getIoThread().execute(() -> {
            try {
                if (error != null) {
                    ErrorWriter.write(exchange, error);
                    return;
                }
                ok(exchange, toBody.apply(value));
            } catch (Throwable e) {
                ErrorWriter.write(exchange, e);
            } finally {
                done.run();
            }
        }));
    }

    /**
     * Runs blocking {@code work} on the bounded {@code pool} and answers with what it returns, as
     * {@link #ok} writes it; its exceptions become errors. A full pool answers 503 at once.
     */
    public static void run(HttpServerExchange exchange, Executor pool, Supplier<?> work) {
        offload(exchange, pool, () -> CompletableFuture.completedFuture(work.get()), Function.identity());
    }

    /**
     * Runs {@code work} on the bounded {@code pool} (it may block there) and finishes the exchange
     * with what it yields, as {@link #complete}. A full pool answers 503 at once.
     */
    public static <T> void offload(HttpServerExchange exchange, Executor pool,
                                   Supplier<? extends CompletionStage<T>> work, Function<? super T, ?> toBody) {
        Runnable done = Budgets.hold(exchange);
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> {
            try {
                pool.execute(() -> {
                    CompletionStage<T> result;
                    try {
                        result = work.get();
                    } catch (Throwable e) {
                        // Errors too (a StackOverflowError, an OutOfMemoryError): the request is
                        // answered and its in-flight slot released, and the pool thread lives on.
                        done.run();
                        exchange.getIoThread().execute(() -> ErrorWriter.write(exchange, e));
                        return;
                    }
                    finishWhenDone(exchange, result, toBody, done);
                });
            } catch (RejectedExecutionException e) {
                done.run();
                ErrorWriter.write(exchange, refused(e));
            }
        });
    }

    /** The 503 of a request a full pool turned away. */
    public static RestException overloaded() {
        return ErrorCode.SERVICE_UNAVAILABLE.exception("too many requests in progress; retry later");
    }

    /**
     * The answer to a request a pool turned away: 429 when the refusal was its caller's own share
     * of the pool ({@link io.portico.sessions.OnPool.ShareFull}), else {@link #overloaded()}.
     */
    public static RestException refused(RejectedExecutionException e) {
        return e instanceof io.portico.sessions.OnPool.ShareFull share
                ? ErrorCode.TOO_MANY_REQUESTS.exception(share.getMessage()) : overloaded();
    }

    /**
     * {@code work} run on {@code pool} (from a task of another pool, for work that belongs there);
     * a full pool (or the caller's full share of it) is {@link #refused}, thrown to the caller.
     */
    public static <T> CompletableFuture<T> on(Executor pool, Supplier<? extends CompletionStage<T>> work) {
        try {
            return CompletableFuture.supplyAsync(work, pool).thenCompose(Function.identity());
        } catch (RejectedExecutionException e) {
            throw refused(e);
        }
    }
}
