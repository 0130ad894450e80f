package io.portico.proxy.http;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.ErrorMessage;
import io.portico.protocol.Json;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.protocol.MediaType;
import io.portico.protocol.Negotiation;
import io.portico.protocol.RestException;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import org.xnio.IoUtils;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place errors become responses: {@code {"error_code":…,"message":…}} with the error's
 * HTTP status. A {@link RestException} is written as it says; anything else is logged with its
 * stack trace and answered with a plain 500, never echoing internals to the client.
 *
 * <p>The body's media type is the one negotiated for the route when there is one, else the best
 * of the v1 metadata types for the request's {@code Accept}, else {@code application/vnd.kafka.v1+json}.
 */
public final class ErrorWriter {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorWriter.class);

    private ErrorWriter() {
    }

    /** Writes the error for {@code failure}; must run on the exchange's IO thread or while handling it. */
    public static void write(HttpServerExchange exchange, Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        RestException error;
        if (t instanceof RestException rest) {
            error = rest;
            if (rest.httpStatus() >= 500 && rest.getCause() != null) {
                LOG.warn("{} {} failed: {}", exchange.getRequestMethod(), exchange.getRequestPath(), rest.getCause().toString());
            }
        } else {
            LOG.error("{} {} failed unexpectedly", exchange.getRequestMethod(), exchange.getRequestPath(), t);
            error = ErrorCode.INTERNAL_SERVER_ERROR.exception();
        }
        write(exchange, error.httpStatus(), error.body());
    }

    /** Writes an error body with the given status. */
    public static void write(HttpServerExchange exchange, int status, ErrorMessage body) {
        if (exchange.isResponseStarted()) {
            // Too late for a status line: end the connection so the client sees a failure, not a truncated 200.
            LOG.warn("{} {}: error after the response started: {}", exchange.getRequestMethod(),
                    exchange.getRequestPath(), body.message());
            IoUtils.safeClose(exchange.getConnection());
            return;
        }
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, errorType(exchange).essence());
        exchange.getResponseSender().send(ByteBuffer.wrap(Json.write(body)));
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
