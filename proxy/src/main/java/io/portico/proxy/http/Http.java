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
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Deque;
import java.util.List;
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
        MediaType chosen = Negotiation.select(exchange.getRequestHeaders().getFirst(Headers.ACCEPT), offers);
        if (chosen == null) {
            throw ErrorCode.NOT_ACCEPTABLE.exception();
        }
        exchange.putAttachment(RESPONSE_TYPE, chosen);
        return chosen;
    }

    /** A handler result meaning "answer 204 with no body". */
    public static final Object NO_CONTENT = new Object();

    /** A handler result with a status of its own and a body to serialize. */
    public record Reply(int status, Object body) {
    }

    /** 202 Accepted with {@code {}}. */
    public static final Reply ACCEPTED = new Reply(202, java.util.Map.of());

    /** A handler result that is JSON already serialized (e.g. records written by a streaming writer). */
    public record RawJson(byte[] bytes) {
    }

    /**
     * Writes a 200 JSON body of the negotiated type ({@code body} serialized, or sent as is when
     * it is {@link RawJson}), or a 204 for {@link #NO_CONTENT}; on the IO thread or while handling.
     */
    public static void ok(HttpServerExchange exchange, Object body) {
        if (body == NO_CONTENT) {
            noContent(exchange);
        } else if (body instanceof Reply reply) {
            send(exchange, reply.status(), Json.write(reply.body()));
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
                type == null ? "application/json" : type.essence());
        exchange.getResponseSender().send(ByteBuffer.wrap(json));
    }

    /** Ends the exchange with 204 and no body. */
    public static void noContent(HttpServerExchange exchange) {
        exchange.setStatusCode(204);
        exchange.endExchange();
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
        Receiver.ErrorCallback onError = (ex, error) -> IoUtils.safeClose(ex.getConnection());
        long declared = exchange.getRequestContentLength();
        if (declared > maxBytes) {
            tooLarge(exchange, tooLarge);
            return;
        }
        if (declared >= 0) {
            exchange.getRequestReceiver().receiveFullBytes((ex, body) -> accept(ex, body, then), onError);
            return;
        }
        // Chunked: collect the chunks, counting, so an endless body cannot exhaust memory.
        exchange.getRequestReceiver().receivePartialBytes(new ChunkCollector(maxBytes, tooLarge, then), onError);
    }

    /** Collects a chunked body up to a limit; past it, answers 413 and ignores the rest. */
    private static final class ChunkCollector implements Receiver.PartialBytesCallback {
        private final long maxBytes;
        private final Supplier<RestException> tooLarge;
        private final Consumer<byte[]> then;
        private final ByteArrayOutputStream collected = new ByteArrayOutputStream();
        private boolean rejected;

        ChunkCollector(long maxBytes, Supplier<RestException> tooLarge, Consumer<byte[]> then) {
            this.maxBytes = maxBytes;
            this.tooLarge = tooLarge;
            this.then = then;
        }

        @Override
        public void handle(HttpServerExchange exchange, byte[] chunk, boolean last) {
            if (rejected) {
                return;
            }
            if (collected.size() + (long) chunk.length > maxBytes) {
                rejected = true;
                exchange.getRequestReceiver().pause();
                tooLarge(exchange, tooLarge);
                return;
            }
            collected.writeBytes(chunk);
            if (last) {
                accept(exchange, collected.toByteArray(), then);
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
