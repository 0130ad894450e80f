package io.portico.proxy.http;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.MediaType;
import io.portico.protocol.Negotiation;
import io.portico.protocol.RestException;
import io.undertow.io.Receiver;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import io.undertow.util.Headers;
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
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.xnio.IoUtils;

/**
 * The few ways a handler talks HTTP, so that every handler does it the same way and none blocks
 * an IO thread: negotiate, read the body without blocking, hand work to a bounded pool, and finish
 * the exchange from a future on its IO thread.
 */
public final class Http {
    /** The response type negotiated for this exchange; error bodies use it too. */
    public static final AttachmentKey<MediaType> RESPONSE_TYPE = AttachmentKey.create(MediaType.class);

    /** {@code application/json}: the type of routes that answer plain JSON whatever the client accepts. */
    public static final MediaType JSON = MediaType.parse("application/json");

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

    /** The first value of a query parameter, or null. */
    public static String query(HttpServerExchange exchange, String name) {
        Deque<String> values = exchange.getQueryParameters().get(name);
        return values == null || values.isEmpty() ? null : values.getFirst();
    }

    /**
     * A whole-number query parameter, or {@code absent} when the request has none.
     *
     * @throws RestException 400 when it is not a whole number
     */
    public static long longQuery(HttpServerExchange exchange, String name, long absent) {
        String value = query(exchange, name);
        if (value == null) {
            return absent;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter " + name + " must be an integer");
        }
    }

    /** The request's {@code Content-Type}, or null. */
    public static String contentType(HttpServerExchange exchange) {
        return exchange.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
    }

    /**
     * Chooses the response type from {@code Accept} and remembers it for this exchange.
     *
     * @throws RestException 406 when the client accepts none of {@code offers}
     */
    public static MediaType negotiate(HttpServerExchange exchange, List<Negotiation.Offer> offers) {
        String accept = exchange.getRequestHeaders().getFirst(Headers.ACCEPT);
        MediaType chosen = negotiated(accept == null ? "" : accept, offers);
        if (chosen == null) {
            throw ErrorCode.NOT_ACCEPTABLE.exception();
        }
        exchange.putAttachment(RESPONSE_TYPE, chosen);
        return chosen;
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
        if (byHeader.size() < NEGOTIATION_CACHE_LIMIT) {
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

    /** A handler result that is JSON already serialized (e.g. records written by a streaming writer). */
    public record RawJson(byte[] bytes) {
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
            } else {
                send(exchange, reply.status(), Json.write(reply.body()));
            }
        } else if (body instanceof RawJson raw) {
            send(exchange, 200, raw.bytes());
        } else {
            send(exchange, 200, Json.write(body));
        }
    }

    /** Writes a JSON body of the negotiated type with the given status. */
    public static void send(HttpServerExchange exchange, int status, byte[] json) {
        MediaType type = exchange.getAttachment(RESPONSE_TYPE);
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE,
                type == null ? "application/json" : ESSENCES.computeIfAbsent(type, MediaType::essence));
        exchange.getResponseSender().send(ByteBuffer.wrap(json));
    }

    /**
     * Reads the whole body without blocking, then calls {@code then} with it on the IO thread.
     * A body over {@code maxBytes} gets 413 and the connection is closed after it (also for a
     * chunked body, counted as it arrives); a broken connection is closed.
     */
    public static void readBody(HttpServerExchange exchange, long maxBytes, Consumer<byte[]> then) {
        readBody(exchange, maxBytes, () -> ErrorCode.PAYLOAD_TOO_LARGE.exception(maxBytes + " bytes"), then);
    }

    /** As {@link #readBody(HttpServerExchange, long, Consumer)}, answering {@code tooLarge} past the limit. */
    public static void readBody(HttpServerExchange exchange, long maxBytes, Supplier<RestException> tooLarge,
                                Consumer<byte[]> then) {
        long declared = exchange.getRequestContentLength();
        if (declared > maxBytes) {
            tooLarge(exchange, tooLarge);
            return;
        }
        // Undertow's receiveFullBytes copies byte by byte; chunks are copied in bulk here, into an
        // array of the declared length (or, chunked, a growing one counted against the limit).
        exchange.getRequestReceiver().receivePartialBytes(new BodyCollector(declared, maxBytes, tooLarge, then),
                (ex, error) -> IoUtils.safeClose(ex.getConnection()));
    }

    /** Collects a body from its chunks up to a limit; past it, answers 413 and ignores the rest. */
    private static final class BodyCollector implements Receiver.PartialBytesCallback {
        private final long maxBytes;
        private final Supplier<RestException> tooLarge;
        private final Consumer<byte[]> then;
        private byte[] body;
        private int length;
        private boolean rejected;

        BodyCollector(long declared, long maxBytes, Supplier<RestException> tooLarge, Consumer<byte[]> then) {
            this.maxBytes = maxBytes;
            this.tooLarge = tooLarge;
            this.then = then;
            this.body = declared >= 0 ? new byte[(int) declared] : null;
        }

        @Override
        public void handle(HttpServerExchange exchange, byte[] chunk, boolean last) {
            if (rejected) {
                return;
            }
            if (length + (long) chunk.length > maxBytes) {
                rejected = true;
                exchange.getRequestReceiver().pause();
                tooLarge(exchange, tooLarge);
                return;
            }
            if (length == 0 && last && (body == null || body.length == chunk.length)) {
                accept(exchange, chunk, then); // the whole body in one chunk: no copy
                return;
            }
            if (body == null || length + chunk.length > body.length) {
                body = java.util.Arrays.copyOf(body == null ? new byte[0] : body,
                        (int) Math.min(maxBytes, Math.max(1024, 2L * (length + chunk.length))));
            }
            System.arraycopy(chunk, 0, body, length, chunk.length);
            length += chunk.length;
            if (last) {
                accept(exchange, length == body.length ? body : java.util.Arrays.copyOf(body, length), then);
            }
        }
    }

    private static void accept(HttpServerExchange exchange, byte[] body, Consumer<byte[]> then) {
        try {
            then.accept(body);
        } catch (RuntimeException e) {
            ErrorWriter.write(exchange, e);
        }
    }

    private static void tooLarge(HttpServerExchange exchange, Supplier<RestException> error) {
        exchange.setPersistent(false);
        ErrorWriter.write(exchange, error.get());
    }

    /**
     * Finishes the exchange when {@code result} completes: 200 with {@code toBody} of the value, or
     * the error. Call while handling the exchange; the response is written on its IO thread.
     */
    public static <T> void complete(HttpServerExchange exchange, CompletionStage<T> result,
                                    Function<? super T, ?> toBody) {
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> finishWhenDone(exchange, result, toBody));
    }

    private static <T> void finishWhenDone(HttpServerExchange exchange, CompletionStage<T> result,
                                           Function<? super T, ?> toBody) {
        result.whenComplete((value, error) -> exchange.getIoThread().execute(() -> {
            if (error != null) {
                ErrorWriter.write(exchange, error);
                return;
            }
            try {
                ok(exchange, toBody.apply(value));
            } catch (RuntimeException e) {
                ErrorWriter.write(exchange, e);
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
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> {
            try {
                pool.execute(() -> {
                    CompletionStage<T> result;
                    try {
                        result = work.get();
                    } catch (RuntimeException e) {
                        exchange.getIoThread().execute(() -> ErrorWriter.write(exchange, e));
                        return;
                    }
                    finishWhenDone(exchange, result, toBody);
                });
            } catch (RejectedExecutionException e) {
                exchange.getResponseHeaders().put(Headers.RETRY_AFTER, "1");
                ErrorWriter.write(exchange, ErrorCode.SERVICE_UNAVAILABLE.exception(
                        "too many requests in progress; retry later"));
            }
        });
    }
}
