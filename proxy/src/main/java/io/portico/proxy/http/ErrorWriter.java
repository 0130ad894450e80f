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
 * media type is the one negotiated for the route when there is one, else the best of the v1
 * metadata types for the request's {@code Accept}, else {@code application/vnd.kafka.v1+json}.
 */
public final class ErrorWriter {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorWriter.class);

    /** How a route words its errors. */
    public enum Style { CONFLUENT, EVENT_STREAMS }

    /** The error style of the matched route (Confluent's when absent). */
    public static final AttachmentKey<Style> STYLE = AttachmentKey.create(Style.class);

    private ErrorWriter() {
    }

    /** Writes the error for {@code failure}; must run on the exchange's IO thread or while handling it. */
    public static void write(HttpServerExchange exchange, Throwable failure) {
        Throwable t = KafkaErrors.unwrap(failure);
        RestException error;
        if (t instanceof RestException rest) {
            error = rest;
            if (rest.httpStatus() >= 500 && rest.getCause() != null) {
                LOG.warn("{} {} failed: {}", exchange.getRequestMethod(), exchange.getRequestPath(),
                        rest.getCause().toString());
            }
        } else {
            LOG.error("{} {} failed unexpectedly", exchange.getRequestMethod(), exchange.getRequestPath(), t);
            error = ErrorCode.INTERNAL_SERVER_ERROR.exception();
        }
        if (exchange.getAttachment(STYLE) == Style.EVENT_STREAMS) {
            writeEventStreams(exchange, error);
        } else {
            write(exchange, error.httpStatus(), error.body());
        }
    }

    /** Writes an error body with the given status. */
    public static void write(HttpServerExchange exchange, int status, ErrorMessage body) {
        send(exchange, status, errorType(exchange).essence(), Json.write(body), body.message());
    }

    private static void writeEventStreams(HttpServerExchange exchange, RestException error) {
        EventStreamsError body = EventStreamsError.of(error.httpStatus(), error.getMessage(),
                kafkaErrorCode(error), Http.param(exchange, "topic"));
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
            LOG.warn("{} {}: error after the response started: {}", exchange.getRequestMethod(),
                    exchange.getRequestPath(), message);
            IoUtils.safeClose(exchange.getConnection());
            return;
        }
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
        exchange.getResponseSender().send(ByteBuffer.wrap(body));
    }

    private static MediaType errorType(HttpServerExchange exchange) {
        MediaType negotiated = exchange.getAttachment(Http.RESPONSE_TYPE);
        if (negotiated != null) {
            return negotiated;
        }
        MediaType best = Negotiation.select(exchange.getRequestHeaders().getFirst(Headers.ACCEPT),
                KafkaMediaTypes.V1_METADATA);
        return best != null ? best : MediaType.parse(KafkaMediaTypes.V1_JSON);
    }
}
