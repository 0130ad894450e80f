package io.portico.proxy.handlers;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RecordsResponse;
import io.portico.protocol.RestException;
import io.portico.proxy.http.ErrorWriter;
import io.portico.proxy.http.Http;
import io.portico.proxy.http.Idempotent;
import io.portico.sessions.Idempotency;
import io.portico.sessions.IdempotencyKey;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.ProduceService;
import io.portico.schemas.ParsedSchema;
import io.portico.schemas.SchemaService;
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
 *
 * <p>With {@code schemaname} (and {@code schemaversion}, the latest when absent) the schema is
 * looked up in the schema registry and the record gets IBM's schema headers
 * ({@link #SCHEMA_ID_HEADER}, {@link #SCHEMA_VERSION_HEADER}, {@link #ENCODING_HEADER}); the body is
 * still the value, untouched (IBM's serdes read the schema from the headers, not from the bytes).
 * With {@code schemavalidation=true} the body must also be one datum of that schema.
 */
public final class RecordsHandler {
    private final ProduceService produce;
    private final Executor pool;
    private final io.portico.proxy.http.PoolShares schemaPool;
    private final Limits limits;

    /** Size limits: key and value bytes (IBM's defaults are 4096 and 65536) and the request URI. */
    /** The caller's share of the schema pool. */
    private Executor schemaOn(HttpServerExchange exchange) {
        return schemaPool.of(io.portico.proxy.auth.Access.caller(exchange).owner());
    }

    public record Limits(int keyMaxBytes, int valueMaxBytes, int uriMaxBytes) {
    }

    /** IBM's serdes headers: the schema's id, its version, and how the message is encoded. */
    public static final String SCHEMA_ID_HEADER = "com.ibm.eventstreams.schemaregistry.schema.id";
    public static final String SCHEMA_VERSION_HEADER = "com.ibm.eventstreams.schemaregistry.schema.version";
    public static final String ENCODING_HEADER = "com.ibm.eventstreams.schemaregistry.encoding";
    private static final java.util.Set<String> SCHEMA_HEADERS = java.util.Set.of(SCHEMA_ID_HEADER, SCHEMA_VERSION_HEADER,
            ENCODING_HEADER);

    private final Idempotent idempotent;
    private final SchemaService schemas;

    /**
     * @param schemas the schema registry's schemas, or null when none is configured (a request
     *        naming a schema is then 501)
     * @param schemaPool where a record naming a schema runs (it may wait on the schema registry),
     *        each API key's share of it
     */
    public RecordsHandler(ProduceService produce, Executor pool, io.portico.proxy.http.PoolShares schemaPool, Limits limits,
                          SchemaService schemas,
                          Idempotent idempotent) {
        this.produce = produce;
        this.pool = pool;
        this.schemaPool = schemaPool;
        this.limits = limits;
        this.schemas = schemas;
        this.idempotent = idempotent;
    }

    /** The schema a request names: {@code schemaname}, {@code schemaversion}, {@code schemavalidation}. */
    private record NamedSchema(String name, String version, boolean validate) {
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
        NamedSchema schema = namedSchema(exchange);
        if (schema != null && !schema.name().equals(SchemaService.topicSubject(topic, false))
                && !schema.name().equals(SchemaService.topicSubject(topic, true))
                && !io.portico.proxy.auth.Access.caller(exchange).allowsSubject(schema.name())) {
            throw ErrorCode.FORBIDDEN.exception("This API key may not use schema '" + KafkaNames.excerpt(schema.name())
                    + "' (its entry's \"subjects\")");
        }
        IdempotencyKey idempotencyKey = idempotent.key(exchange);
        Http.readBody(exchange, limits.valueMaxBytes(),
                () -> ErrorCode.BAD_REQUEST.exception("The message is larger than " + limits.valueMaxBytes() + " bytes"),
                value -> {
                    if (value.length == 0) {
                        throw ErrorCode.LENGTH_REQUIRED.exception("The request has no data: the body is the message");
                    }
                    if (type == BodyType.JSON && !Json.isWellFormedAsIs(value)) {
                        throw ErrorCode.BAD_REQUEST.exception("The body is not valid JSON, as its Content-Type says it is");
                    }
                    boolean json = type == BodyType.JSON;
                    if (idempotencyKey != null) {
                        // One record: written or not, and a failure is answered as without a key.
                        // The schema is looked up (and the body checked) before anything is asked of
                        // Kafka, and before the key's transactional id is taken.
                        idempotent.run(exchange, schema != null ? schemaOn(exchange) : pool, idempotencyKey, value, topic,
                                () -> idempotent.prepared(idempotencyKey, () -> withSchema(headers, schema, value, json),
                                        all -> tx -> Idempotency.Outcome.produced(new Idempotency.Response(200,
                                                "application/json", Json.write(new RecordsResponse(produce.produceOne(
                                                        // the metadata bound starts with the transaction,
                                                        // not with waits for the key before it
                                                        topic, key, value, all, produce.deadlineFromNow(), tx)
                                                        .join()))))));
                        return;
                    }
                    long deadline = produce.deadlineFromNow();
                    io.portico.sessions.ProducerShares.Account share = produce.share(io.portico.proxy.auth.Access.producerOwner(exchange));
                    // A small record the producer takes at once is produced here, on the IO thread:
                    // handing it to the pool and back would cost more than sending it. One that names
                    // a schema goes to the pool, which looks the schema up.
                    CompletableFuture<RecordsResponse.Metadata> now = schema == null
                            && value.length <= ProduceService.AT_ONCE_MAX_BYTES
                            ? produce.produceOneAtOnce(topic, key, value, headers, share) : null;
                    if (schema != null) {
                        // On the produce pool while the schema is cached, where no request waiting
                        // for a slow registry holds it up; one that must ask it goes on on the schema pool.
                        Executor schemaOn = schemaOn(exchange);
                        Http.offload(exchange, pool, () -> SchemaProduce.cachedHereElseOn(schemaOn,
                                        () -> withSchema(headers, schema, value, json))
                                .thenCompose(h -> produce.produceOne(topic, key, value, h, deadline, null, share)),
                                RecordsResponse::new);
                        return;
                    }
                    Http.offload(exchange, now != null ? Runnable::run : pool,
                            () -> now != null ? now : produce.produceOne(topic, key, value, headers, deadline, null, share),
                            RecordsResponse::new);
                });
    }

    /**
     * The schema the query names, or null; 400 for {@code schemaversion} or
     * {@code schemavalidation} without {@code schemaname}, an empty {@code schemaname}, or a
     * {@code schemavalidation} other than true or false; 501 when this server has no schema registry.
     */
    private NamedSchema namedSchema(HttpServerExchange exchange) {
        String name = Http.strictQuery(exchange, "schemaname");
        String version = Http.strictQuery(exchange, "schemaversion");
        boolean validate = either(exchange, "schemavalidation", "true", "false");
        if (name == null) {
            if (version != null || validate) {
                throw ErrorCode.BAD_REQUEST.exception((version != null ? "schemaversion" : "schemavalidation")
                        + " needs schemaname, the name of the schema");
            }
            return null;
        }
        if (name.isEmpty()) {
            throw ErrorCode.BAD_REQUEST.exception("schemaname must not be empty");
        }
        exchange.putAttachment(ErrorWriter.SCHEMA, name);
        if (schemas == null) {
            throw ErrorCode.NOT_IMPLEMENTED.exception("This server has no schema registry (schema.registry.url), so it "
                    + "cannot look up schemaname '" + name + "'");
        }
        return new NamedSchema(name, version == null || version.isEmpty() ? "latest" : version, validate);
    }

    /**
     * The record's headers with IBM's schema headers for {@code schema} (replacing any the query
     * gave under those names), after the schema is looked up and, when asked, the message checked
     * against it; {@code headers} as they are when no schema is named. Blocks on the registry
     * (cached): call it on the pool.
     *
     * @throws RestException 404 for a schema the registry does not have, 400 for a message that
     *         does not fit it, 503 when the registry does not answer
     */
    private List<Map.Entry<String, byte[]>> withSchema(List<Map.Entry<String, byte[]>> headers, NamedSchema schema,
                                                       byte[] value, boolean json) {
        if (schema == null) {
            return headers;
        }
        SchemaService.Resolved found = schemas.subjectVersion(schema.name(), schema.version());
        if (schema.validate()) {
            try {
                found.schema().check(value, json);
            } catch (ParsedSchema.InvalidDataException e) {
                throw ErrorCode.SCHEMA_MISMATCH.exception("version " + found.version() + " of schema '" + schema.name()
                        + "' (" + found.schema().type() + (json ? ", JSON encoding" : ", binary encoding") + "): "
                        + e.getMessage());
            }
        }
        List<Map.Entry<String, byte[]>> out = new ArrayList<>(headers.size() + 3);
        for (Map.Entry<String, byte[]> h : headers) {
            if (!SCHEMA_HEADERS.contains(h.getKey())) {
                out.add(h);
            }
        }
        // IBM's registry names a schema by its id, and its versions by number: here the subject and its version.
        out.add(Map.entry(SCHEMA_ID_HEADER, found.subject().getBytes(StandardCharsets.UTF_8)));
        out.add(Map.entry(SCHEMA_VERSION_HEADER, String.valueOf(found.version()).getBytes(StandardCharsets.UTF_8)));
        out.add(Map.entry(ENCODING_HEADER, (json ? "JSON" : "BINARY").getBytes(StandardCharsets.UTF_8)));
        return out;
    }

    /**
     * Whether the query parameter {@code name} is {@code yes} rather than {@code no} (either case;
     * {@code no} when absent); 400 for any other value.
     */
    private static boolean either(HttpServerExchange exchange, String name, String yes, String no) {
        String value = Http.strictQuery(exchange, name);
        if (value == null || value.equalsIgnoreCase(no)) {
            return false;
        }
        if (value.equalsIgnoreCase(yes)) {
            return true;
        }
        throw ErrorCode.BAD_REQUEST.exception(name + " must be " + no + " or " + yes + ", not '"
                + KafkaNames.excerpt(value) + "'");
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
        boolean binary = either(exchange, "keyType", "binary", "text");
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
            if (pair.isBlank()) {
                continue; // a,,b or a trailing comma: nothing there, as String.split drops a trailing one
            }
            int colon = pair.indexOf(':');
            if (colon <= 0) {
                throw ErrorCode.BAD_REQUEST.exception("headers must be name:hexvalue pairs separated by commas, not '"
                        + KafkaNames.excerpt(pair) + "'");
            }
            String name = pair.substring(0, colon).trim();
            if (name.isEmpty()) { // a name of spaces only: Kafka would take an empty one
                throw ErrorCode.BAD_REQUEST.exception("a header name must not be blank: '" + KafkaNames.excerpt(pair) + "'");
            }
            out.add(Map.entry(name, hex(pair.substring(colon + 1).trim(), "header " + KafkaNames.excerpt(name))));
        }
        return out;
    }

    private static byte[] hex(String value, String what) {
        try {
            return HexFormat.of().parseHex(value);
        } catch (IllegalArgumentException e) {
            throw ErrorCode.BAD_REQUEST.exception("The " + what + " must be hexadecimal (base16): '"
                    + KafkaNames.excerpt(value) + "'");
        }
    }
}
