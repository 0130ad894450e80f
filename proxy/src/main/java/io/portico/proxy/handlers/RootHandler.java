package io.portico.proxy.handlers;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.proxy.http.Http;
import io.undertow.server.HttpServerExchange;
import java.util.Map;

/** {@code GET /} and {@code POST /}: liveness no-ops answering {@code {}}, as Confluent's proxy does. */
public final class RootHandler {
    private static final Map<String, Object> EMPTY = Map.of();

    public void get(HttpServerExchange exchange) {
        Http.negotiate(exchange, KafkaMediaTypes.V1_METADATA);
        Http.ok(exchange, EMPTY);
    }

    public void post(HttpServerExchange exchange) {
        if (!KafkaMediaTypes.isV1GenericBody(Http.contentType(exchange))) {
            throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
        }
        Http.negotiate(exchange, KafkaMediaTypes.V1_METADATA);
        Http.ok(exchange, EMPTY);
    }
}
