package io.portico.proxy.handlers;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RecordsResponse;
import io.portico.proxy.http.Http;
import io.portico.proxy.http.Idempotent;
import io.portico.sessions.Idempotency;
import io.portico.sessions.IdempotencyKey;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.ProduceService;
import io.undertow.server.HttpServerExchange;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@code POST /topics/{topic}/records}, IBM Event Streams' REST producer: the body, byte for byte,
 * is the value of one record; the key and headers come from the query string ({@code key},
 * {@code keyType=text|binary} with binary as hex, {@code headers=name:hexvalue,…}). Answers
 * {@code {"metadata":{"topic","timestamp","partition","offset"}}} once Kafka acknowledged it.
 * Errors use IBM's body (see {@link io.portico.protocol.EventStreamsError}); the route table
 * marks the route for it.
 */
public final class RecordsHandler {
    private final ProduceService produce;
    private final Executor pool;
    private final Limits limits;

    /** Size limits: key and value bytes (IBM's defaults are 4096 and 65536) and the request URI. */
    public record Limits(int keyMaxBytes, int valueMaxBytes, int uriMaxBytes) {
    }

    private final Idempotent idempotent;

    public RecordsHandler(ProduceService produce, Executor pool, Limits limits, Idempotent idempotent) {
        this.produce = produce;
        this.pool = pool;
        this.limits = limits;
        this.idempotent = idempotent;
    }

    private enum BodyType { BYTES, JSON }

    public void produce(HttpServerExchange exchange) {
        int uriLength = exchange.getRequestURI().length() + 1 + exchange.getQueryString().length();
        if (uriLength > limits.uriMaxBytes()) {
            throw ErrorCode.URI_TOO_LONG.exception("The request URI is longer than " + limits.uriMaxBytes() + " bytes");
        }
        BodyType type = bodyType(Http.contentType(exchange));
        byte[] key = key(exchange);
        List<Map.Entry<String, byte[]>> headers = headers(Http.strictQuery(exchange, "headers"));
        String topic = KafkaNames.topic(Http.param(exchange, "topic"));
        IdempotencyKey idempotencyKey = idempotent.key(exchange);
        Http.readBody(exchange, limits.valueMaxBytes(),
                () -> ErrorCode.BAD_REQUEST.exception("The message is larger than " + limits.valueMaxBytes() + " bytes"),
                value -> {
                    if (value.length == 0) {
                        throw ErrorCode.LENGTH_REQUIRED.exception("The request has no data: the body is the message");
                    }
                    if (type == BodyType.JSON && !Json.isWellFormed(value)) {
                        throw ErrorCode.BAD_REQUEST.exception("The body is not valid JSON, as its Content-Type says it is");
                    }
                    long deadline = produce.deadlineFromNow();
                    if (idempotencyKey != null) {
                        // One record: written or not, and a failure is answered as without a key.
                        idempotent.run(exchange, pool, idempotencyKey, value, topic, () -> tx -> Idempotency.Outcome.produced(
                                new Idempotency.Response(200, "application/json", Json.write(new RecordsResponse(
                                        produce.produceOne(topic, key, value, headers, deadline, tx).join())))));
                        return;
                    }
                    // A small record the producer takes at once is produced here, on the IO thread:
                    // handing it to the pool and back would cost more than sending it.
                    CompletableFuture<RecordsResponse.Metadata> now = value.length <= ProduceService.AT_ONCE_MAX_BYTES
                            ? produce.produceOneAtOnce(topic, key, value, headers) : null;
                    Http.offload(exchange, now != null ? Runnable::run : pool,
                            () -> now != null ? now : produce.produceOne(topic, key, value, headers, deadline),
                            RecordsResponse::new);
                });
    }

    /** How to treat the body for a Content-Type; 415 for types the endpoint does not take. */
    private static BodyType bodyType(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            return BodyType.BYTES;
        }
        int semicolon = contentType.indexOf(';');
        String essence = (semicolon < 0 ? contentType : contentType.substring(0, semicolon))
                .trim().toLowerCase(Locale.ROOT);
        if (essence.startsWith("application/vnd.ibm-event-streams.")) {
            essence = essence.substring("application/".length());
        }
        return switch (essence) {
            case "text/plain", "application/octet-stream", "text/xml", "application/xml",
                 "vnd.ibm-event-streams.text.v1", "vnd.ibm-event-streams.binary.v1" -> BodyType.BYTES;
            case "application/json", "vnd.ibm-event-streams.json.v1" -> BodyType.JSON;
            default -> throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception("Unsupported media type '" + essence
                    + "': send text/plain, application/octet-stream, application/json, text/xml or application/xml");
        };
    }

    private byte[] key(HttpServerExchange exchange) {
        String key = Http.strictQuery(exchange, "key");
        String keyType = Http.strictQuery(exchange, "keyType");
        boolean binary;
        if (keyType == null || keyType.equalsIgnoreCase("text")) {
            binary = false;
        } else if (keyType.equalsIgnoreCase("binary")) {
            binary = true;
        } else {
            throw ErrorCode.BAD_REQUEST.exception("keyType must be text or binary, not '" + keyType + "'");
        }
        if (key == null) {
            return null;
        }
        byte[] bytes = binary ? hex(key, "key") : key.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > limits.keyMaxBytes()) {
            throw ErrorCode.BAD_REQUEST.exception("The key is larger than " + limits.keyMaxBytes() + " bytes");
        }
        return bytes;
    }

    /** {@code name:hexvalue,name:hexvalue} as Kafka record headers, in order (names may repeat). */
    private static List<Map.Entry<String, byte[]>> headers(String query) {
        if (query == null || query.isEmpty()) {
            return List.of();
        }
        List<Map.Entry<String, byte[]>> out = new ArrayList<>();
        for (String pair : query.split(",")) {
            int colon = pair.indexOf(':');
            if (colon <= 0) {
                throw ErrorCode.BAD_REQUEST.exception("headers must be name:hexvalue pairs separated by commas, not '"
                        + pair + "'");
            }
            String name = pair.substring(0, colon).trim();
            out.add(Map.entry(name, hex(pair.substring(colon + 1).trim(), "header " + name)));
        }
        return out;
    }

    private static byte[] hex(String value, String what) {
        try {
            return HexFormat.of().parseHex(value);
        } catch (IllegalArgumentException e) {
            throw ErrorCode.BAD_REQUEST.exception("The " + what + " must be hexadecimal (base16): '" + value + "'");
        }
    }
}
