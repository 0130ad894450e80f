package io.portico.proxy.http;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.ErrorMessage;
import io.portico.protocol.EventStreamsError;
import io.portico.protocol.Json;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.protocol.MediaType;
import io.portico.protocol.Negotiation;
import io.portico.protocol.RestException;
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.RateLimitedLog;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import io.undertow.util.Headers;
import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;

/**
 * The one place errors become responses. A {@link RestException} is written as it says; anything
 * else is logged with its stack trace and answered with a plain 500, never echoing internals.
 *
 * <p>Two body styles, chosen per route: Confluent's {@code {"error_code":40401,"message":…}}
 * (the default), and IBM Event Streams' for the records endpoint, whose {@code error_code} is the
 * HTTP status and which nests the error again with the Kafka error code and topic. The body's
 * media type is the one negotiated for the route when there is one, else {@code application/json}
 * under {@code /v3}, else the best of the v1 metadata types for the request's {@code Accept}, else
 * {@code application/vnd.kafka.v1+json}.
 */
public final class ErrorWriter {
    /** The schema a records-endpoint request names ({@code schemaname}), for its errors about that schema. */
    public static final AttachmentKey<String> SCHEMA = AttachmentKey.create(String.class);

    private static final Logger LOG = LoggerFactory.getLogger(ErrorWriter.class);
    /** Failures repeat when a client repeats a request: each kind is logged once per ten seconds. */
    private static final RateLimitedLog LIMITED = new RateLimitedLog(LOG, java.time.Duration.ofSeconds(10));

    /** How a route words its errors. */
    public enum Style { CONFLUENT, EVENT_STREAMS }

    /** The error style of the matched route (Confluent's when absent). */
    public static final AttachmentKey<Style> STYLE = AttachmentKey.create(Style.class);

    private ErrorWriter() {
    }

    /**
     * Writes the error for {@code failure}; must run on the exchange's IO thread or while handling
     * it. Never throws: if even the error cannot be written, the exchange ends with a bare 500
     * (which {@link #JSON_BACKSTOP} still gives a JSON body) or, once a response has started, the
     * connection is closed.
     */
    public static void write(HttpServerExchange exchange, Throwable failure) {
        try {
            writeError(exchange, failure);
        } catch (Throwable t) {
            LIMITED.error("write:" + t.getClass().getName(), "{}: writing the error failed", where(exchange), t);
            try {
                if (!exchange.isResponseStarted()) {
                    exchange.setStatusCode(500);
                    exchange.endExchange();
                } else {
                    IoUtils.safeClose(exchange.getConnection());
                }
            } catch (Throwable ignored) {
                IoUtils.safeClose(exchange.getConnection());
            }
        }
    }

    /**
     * Gives a JSON body to an error response that ends without one (Undertow's own 500 after a
     * handler threw past every boundary, a 503 when its worker pool refused work, a 413 of its
     * entity limit). Install once per exchange, first thing.
     */
    public static final io.undertow.server.DefaultResponseListener JSON_BACKSTOP = exchange -> {
        if (exchange.isResponseStarted() || exchange.getStatusCode() < 400 || !exchange.getConnection().isOpen()) {
            return false;
        }
        int status = exchange.getStatusCode();
        ErrorCode code = switch (status) {
            case 400 -> ErrorCode.BAD_REQUEST;
            case 404 -> ErrorCode.NOT_FOUND;
            case 405 -> ErrorCode.METHOD_NOT_ALLOWED;
            case 408 -> ErrorCode.REQUEST_TIMEOUT;
            case 413 -> ErrorCode.PAYLOAD_TOO_LARGE;
            case 503 -> ErrorCode.SERVICE_UNAVAILABLE;
            default -> null;
        };
        ErrorMessage body = code != null ? code.body(null) : new ErrorMessage(status, status >= 500
                ? ErrorCode.INTERNAL_SERVER_ERROR.message() : "HTTP " + status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        exchange.getResponseSender().send(ByteBuffer.wrap(Json.write(body)));
        return true;
    };

    private static void writeError(HttpServerExchange exchange, Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        RestException error;
        if (t instanceof RestException rest) {
            error = rest;
            if (rest.httpStatus() >= 500 && rest.getCause() != null) {
                LIMITED.warn(rest.errorCode() + ":" + rest.getCause().getClass().getName(), "{} failed: {}",
                        where(exchange), rest.getCause().toString());
            }
        } else {
            LIMITED.error("unexpected:" + t.getClass().getName(), "{} failed unexpectedly", where(exchange), t);
            error = ErrorCode.INTERNAL_SERVER_ERROR.exception();
        }
        if ((error.httpStatus() == 503 || error.httpStatus() == 429) && !exchange.isResponseStarted()
                && !exchange.getResponseHeaders().contains(Headers.RETRY_AFTER)) {
            exchange.getResponseHeaders().put(Headers.RETRY_AFTER, retryAfter(error));
        }
        if (style(exchange) == Style.EVENT_STREAMS) {
            writeEventStreams(exchange, error);
        } else {
            write(exchange, error.httpStatus(), error.body());
        }
    }

    /**
     * Seconds a client should wait before it retries: as long as Kafka said it throttles (its
     * controller mutation quota, say), else 1.
     */
    static String retryAfter(RestException error) {
        Throwable cause = error.getCause() == null ? null : RestException.unwrap(error.getCause());
        if (cause instanceof org.apache.kafka.common.errors.ThrottlingQuotaExceededException throttled
                && throttled.throttleTimeMs() > 1000) {
            return String.valueOf((throttled.throttleTimeMs() + 999) / 1000);
        }
        return "1";
    }

    /**
     * The body style of an exchange's errors: its route's, and before a route took it (a full or
     * stopping server's 503, a 405 for another method) what its path says, so that an Event
     * Streams client gets the body it reads however its request was turned away.
     */
    static Style style(HttpServerExchange exchange) {
        Style style = exchange.getAttachment(STYLE);
        if (style != null) {
            return style;
        }
        return isEventStreamsRecords(exchange.getRelativePath()) ? Style.EVENT_STREAMS : Style.CONFLUENT;
    }

    /** {@code /topics/{topic}/records}, with or without a trailing slash. */
    static boolean isEventStreamsRecords(String path) {
        if (path == null || !path.startsWith("/topics/")) {
            return false;
        }
        int slash = path.indexOf('/', "/topics/".length());
        if (slash <= "/topics/".length()) {
            return false;
        }
        String rest = path.substring(slash);
        return rest.equals("/records") || rest.equals("/records/");
    }

    /** Writes an error body with the given status. */
    public static void write(HttpServerExchange exchange, int status, ErrorMessage body) {
        send(exchange, status, errorType(exchange).essence(), Json.write(body), body.message());
    }

    private static void writeEventStreams(HttpServerExchange exchange, RestException error) {
        String topic = Http.param(exchange, "topic");
        boolean aboutSchema = error.errorCode() == ErrorCode.SCHEMA_NOT_FOUND || error.errorCode() == ErrorCode.SCHEMA_MISMATCH;
        EventStreamsError body = EventStreamsError.of(error.httpStatus(), error.getMessage(),
                kafkaErrorCode(error), topic != null && topic.length() > KafkaNames.TOPIC_MAX_LENGTH ? null : topic,
                aboutSchema ? exchange.getAttachment(SCHEMA) : null);
        send(exchange, error.httpStatus(), "application/json", Json.write(body), body.message());
    }

    /** The Kafka protocol error code behind an error, when there is one. */
    private static Integer kafkaErrorCode(RestException error) {
        if (error.errorCode() == ErrorCode.TOPIC_NOT_FOUND || error.errorCode() == ErrorCode.PARTITION_NOT_FOUND) {
            return (int) Errors.UNKNOWN_TOPIC_OR_PARTITION.code();
        }
        Throwable cause = error.getCause();
        if (cause instanceof ApiException) {
            Errors kafka = Errors.forException(cause);
            return kafka == Errors.UNKNOWN_SERVER_ERROR ? null : (int) kafka.code();
        }
        return null;
    }

    private static void send(HttpServerExchange exchange, int status, String contentType, byte[] body, String message) {
        if (exchange.isResponseStarted()) {
            // Too late for a status line: end the connection so the client sees a failure, not a truncated 200.
            LIMITED.warn("started:" + status, "{}: error after the response started: {}", where(exchange), message);
            IoUtils.safeClose(exchange.getConnection());
            return;
        }
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
        exchange.getResponseSender().send(ByteBuffer.wrap(body));
    }

    /** The request for a log line: its method and route template (never a client's 40,000-character path). */
    static String where(HttpServerExchange exchange) {
        io.undertow.util.PathTemplateMatch match = exchange.getAttachment(io.undertow.util.PathTemplateMatch.ATTACHMENT_KEY);
        String path = match != null ? match.getMatchedTemplate() : exchange.getRequestPath();
        if (path.length() > 200) {
            path = path.substring(0, 200) + "…";
        }
        return exchange.getRequestMethod() + " " + path;
    }

    private static final MediaType V1_JSON = MediaType.parse(KafkaMediaTypes.V1_JSON);
    private static final MediaType JSON = MediaType.parse("application/json");

    private static MediaType errorType(HttpServerExchange exchange) {
        MediaType negotiated = exchange.getAttachment(Http.RESPONSE_TYPE);
        if (negotiated != null) {
            return negotiated;
        }
        String path = exchange.getRelativePath();
        if (path != null && (path.equals("/v3") || path.startsWith("/v3/"))) {
            return JSON; // v3 speaks application/json alone, its errors too (an unknown path, method or type)
        }
        MediaType best;
        try {
            best = Negotiation.select(exchange.getRequestHeaders().getFirst(Headers.ACCEPT), KafkaMediaTypes.V1_METADATA);
        } catch (RuntimeException e) {
            best = null; // a malformed Accept header must not stop the error itself from being written
        }
        return best != null ? best : V1_JSON;
    }
}
