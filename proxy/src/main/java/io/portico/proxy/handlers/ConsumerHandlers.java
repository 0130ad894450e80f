package io.portico.proxy.handlers;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.portico.protocol.CreateConsumerRequest;
import io.portico.protocol.CreateConsumerResponse;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.protocol.RecordsWriter;
import io.portico.proxy.auth.Access;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Budgets;
import io.portico.proxy.http.Http;
import io.portico.proxy.http.PoolShares;
import io.portico.sessions.ClusterHealth;
import io.portico.sessions.ConsumerInstance;
import io.portico.sessions.ConsumerRegistry;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.ResponseRoom;
import io.portico.protocol.v2.CommitOffsets;
import io.portico.protocol.v2.CreateConsumerV2;
import io.portico.proxy.auth.Principal;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import io.undertow.server.HttpServerExchange;
import java.net.URI;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * The v1 consumer-group instance endpoints: create, read (the first read subscribes), commit,
 * delete. The IO thread checks headers and collects bodies; every operation on an instance
 * (which may block on Kafka) runs on the bounded consumer pool.
 */
public final class ConsumerHandlers {
    private static final Json.BodyReader<CreateConsumerRequest> CREATE_BODY =
            new Json.BodyReader<>(CreateConsumerRequest.class);
    private static final Json.BodyReader<CreateConsumerV2> CREATE_V2_BODY = new Json.BodyReader<>(CreateConsumerV2.class);
    private static final Json.BodyReader<CommitOffsets> COMMIT_V2_BODY = new Json.BodyReader<>(CommitOffsets.class);

    private final ConsumerRegistry registry;
    private final ClusterHealth cluster;
    private final BaseUrl baseUrl;
    private final PoolShares readShares;
    private final PoolShares operationShares;
    private final PoolShares schemaReadShares;
    private final long maxBodyBytes;

    /**
     * @param advertised URLs clients reach this server at ({@code advertised.listeners}); may be empty
     * @param hostName host for {@code base_uri} ({@code host.name}) when nothing is advertised, or
     *        null to use the request's {@code Host}
     * @param schemaPool where reads of instances of the schema formats run (decoding may wait on the registry)
     */
    public ConsumerHandlers(ConsumerRegistry registry, ClusterHealth cluster, Executor pool, Executor schemaPool,
                            List<URI> advertised, String hostName, long maxBodyBytes) {
        this(registry, cluster, advertised, hostName, maxBodyBytes,
                new PoolShares(pool, Integer.MAX_VALUE, Integer.MAX_VALUE, ""), new PoolShares(schemaPool, Integer.MAX_VALUE, Integer.MAX_VALUE, ""),
                new PoolShares(pool, Integer.MAX_VALUE, Integer.MAX_VALUE, ""));
    }

    /**
     * As above, each API key's reads held to its share of the read pools ({@code readShares},
     * {@code schemaReadShares}), and its other instance requests (create, commit, delete), which
     * may each hold a thread while Kafka answers, to its share of the consumer threads
     * ({@code operationShares}).
     */
    public ConsumerHandlers(ConsumerRegistry registry, ClusterHealth cluster,
                            List<URI> advertised, String hostName, long maxBodyBytes, PoolShares readShares,
                            PoolShares schemaReadShares, PoolShares operationShares) {
        this.operationShares = operationShares;
        this.readShares = readShares;
        this.schemaReadShares = schemaReadShares;
        this.registry = registry;
        this.cluster = cluster;
        this.baseUrl = new BaseUrl(advertised, hostName);
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * {@code POST /consumers/{group}}: an empty body means all defaults. A v2 {@code Content-Type}
     * makes a v2 instance: {@code auto.commit.enable} defaults to Kafka's (on), and
     * {@code fetch.min.bytes} and {@code consumer.request.timeout.ms} may be given.
     */
    public void create(HttpServerExchange exchange) {
        String contentType = Http.contentType(exchange);
        if (!KafkaMediaTypes.isV1GenericBody(contentType)) {
            throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
        }
        boolean v2 = KafkaMediaTypes.apiVersion(contentType, Http.accept(exchange)) == 2;
        Http.negotiate(exchange, v2 ? KafkaMediaTypes.V2_CONSUMERS : KafkaMediaTypes.V1_CONSUMERS);
        String group = KafkaNames.group(Http.param(exchange, "group"));
        String base = baseUri(exchange, group);
        String owner = Access.caller(exchange).owner();
        Http.readBody(exchange, maxBodyBytes, body -> Http.run(exchange, operationShares.of(owner), () -> {
            ConsumerInstance instance;
            if (v2) {
                CreateConsumerV2 request = Json.isEmptyOrNull(body) ? CreateConsumerV2.DEFAULTS : CREATE_V2_BODY.read(body, EmbeddedFormat.BINARY);
                CreateConsumerRequest common = request.common();
                int timeoutMs = request.requestTimeoutMs();
                instance = registry.create(group, common.instanceName(), common.anyEmbeddedFormat(),
                        common.kafkaOffsetReset(), request.autoCommit(), new ConsumerInstance.Options(
                                request.fetchMinBytes(), timeoutMs < 0 ? null : java.time.Duration.ofMillis(timeoutMs)),
                        owner);
            } else {
                CreateConsumerRequest request = Json.isEmptyOrNull(body)
                        ? CreateConsumerRequest.DEFAULTS
                        : CREATE_BODY.read(body, EmbeddedFormat.BINARY);
                instance = registry.create(group, request, owner);
            }
            return new CreateConsumerResponse(instance.name(), base + Http.pathSegment(instance.name()));
        }));
    }

    /** {@code GET /consumers/{group}/instances/{instance}/topics/{topic}[?max_bytes=]}. */
    public void read(HttpServerExchange exchange) {
        EmbeddedFormat format = KafkaMediaTypes.v1ReadFormat(Http.negotiate(exchange, KafkaMediaTypes.V1_RECORDS));
        String group = Http.param(exchange, "group");
        String name = Http.param(exchange, "instance");
        String topic = KafkaNames.topic(Http.param(exchange, "topic"));
        long cap = Http.longQuery(exchange, "max_bytes", 0); // 0 or less: the server's cap
        String caller = Access.caller(exchange).owner();
        ResponseRoom room = new ResponseRoom(Budgets.responseLease(exchange), Budgets.settings(exchange).memoryWait());
        // The read holds a pool thread for one poll slice at a time: between slices it waits in
        // the pool's queue again, behind reads whose records are there.
        // Each API key's slices held to its share of the pool, so that its many long polls leave the others room.
        Executor on = (format.needsSchemaRegistry() ? schemaReadShares : readShares).of(caller);
        Http.offload(exchange, on, () -> {
            java.time.Duration within = Http.readWithin(exchange); // relayed: answer before the relay stops waiting
            ConsumerInstance instance = registry.owned(group, name, caller);
            if (instance.format() != format) {
                throw ErrorCode.CONSUMER_FORMAT_MISMATCH.exception();
            }
            return registry.readAsync(instance, topic, cap, room, on, within).thenApply(records -> {
                if (records.isEmpty() && !cluster.reachable()) {
                    // Nothing came because Kafka does not answer: say so rather than "no new records".
                    throw ErrorCode.BROKER_NOT_AVAILABLE.exception("Kafka is not reachable; retry later");
                }
                // Schema formats come decoded (their keys and values as JSON text) from the instance.
                return new Http.RawJson(RecordsWriter.write(records,
                        format.needsSchemaRegistry() ? EmbeddedFormat.JSON : format, false));
            });
        }, java.util.function.Function.identity());
    }

    /**
     * {@code POST /consumers/{group}/instances/{instance}/offsets}: commits what was returned (v1,
     * and v2 without a body: {@code []}), or in v2 the offsets of the body, each the last one the
     * client processed (what is committed is the next, {@code offset + 1}): {@code []}.
     */
    public void commit(HttpServerExchange exchange) {
        String contentType = Http.contentType(exchange);
        if (!KafkaMediaTypes.isV1GenericBody(contentType)) {
            throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
        }
        boolean v2 = KafkaMediaTypes.apiVersion(contentType, Http.accept(exchange)) == 2;
        Http.negotiate(exchange, v2 ? KafkaMediaTypes.V2_CONSUMERS : KafkaMediaTypes.V1_CONSUMERS);
        String group = Http.param(exchange, "group");
        String name = Http.param(exchange, "instance");
        Principal caller = Access.caller(exchange);
        boolean v1 = !v2 && KafkaMediaTypes.namesV1(contentType, Http.accept(exchange));
        Http.readBody(exchange, maxBodyBytes, body -> {
            // A v1 commit has no body (Confluent's v1 proxy ignores one): a body that names
            // offsets sent with generic headers (a JSON library's application/json, or none,
            // nothing naming v1) is a v2 commit of those offsets. Committing all that was returned
            // instead would commit records the client had not processed yet. One that names none
            // ({}, what a client library sends when it always sends an object) is no body, unless
            // the headers name v2 (a v2 client that left its offsets out gets 422, not a commit of
            // all that was returned).
            boolean empty = Json.isEmptyOrNull(body) || !v2 && namesNoOffsets(body);
            boolean asV2 = v2 || !v1 && !empty;
            if (asV2 && !v2) {
                Http.negotiate(exchange, KafkaMediaTypes.V2_CONSUMERS);
            }
            commit(exchange, group, name, caller, asV2, asV2 && !empty ? body : null);
        });
    }

    /**
     * Whether {@code body} is a JSON object naming no offsets, {@code {}} or {@code {"offsets":null}}
     * (nothing after it): at most five tokens read, whatever the body's size.
     */
    private static boolean namesNoOffsets(byte[] body) {
        try (JsonParser p = Json.mapper().getFactory().createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            JsonToken t = p.nextToken();
            if (t == JsonToken.FIELD_NAME && "offsets".equals(p.currentName())) {
                t = p.nextToken() == JsonToken.VALUE_NULL ? p.nextToken() : null;
            }
            return t == JsonToken.END_OBJECT && p.nextToken() == null;
        } catch (java.io.IOException e) {
            return false; // the v2 reader answers what is wrong with it
        }
    }

    /** Commits the returned records (no body: v1's answer, or v2's {@code []}), or the body's offsets. */
    private void commit(HttpServerExchange exchange, String group, String name, Principal caller, boolean v2,
                        byte[] body) {
        Http.run(exchange, operationShares.of(caller.owner()), () -> {
            ConsumerInstance instance = registry.owned(group, name, caller.owner());
            if (body == null) {
                List<?> committed = registry.commit(instance);
                return v2 ? List.of() : committed;
            }
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            for (CommitOffsets.Entry e : COMMIT_V2_BODY.read(body, EmbeddedFormat.BINARY).offsets()) {
                InstanceAccess.readable(caller, e.topic());
                offsets.put(new TopicPartition(e.topic(), e.partition()),
                        new OffsetAndMetadata(e.offset(), e.metadata() == null ? "" : e.metadata()));
            }
            registry.run(instance, i -> {
                i.commit(offsets);
                return null;
            });
            return List.of();
        });
    }

    /** {@code DELETE /consumers/{group}/instances/{instance}}: 204 whatever the Accept header. */
    public void delete(HttpServerExchange exchange) {
        // A v2 request's errors (40403) typed v2; never a 406 (v1 clients send a binary.v1 Accept).
        if (KafkaMediaTypes.apiVersion(Http.contentType(exchange), Http.accept(exchange)) == 2) {
            Http.preferType(exchange, KafkaMediaTypes.V2_CONSUMERS);
        }
        String group = Http.param(exchange, "group");
        String name = Http.param(exchange, "instance");
        String caller = Access.caller(exchange).owner();
        Http.run(exchange, operationShares.of(caller), () -> {
            registry.delete(registry.owned(group, name, caller));
            return Http.NO_CONTENT;
        });
    }

    /** {@code <base URL>/consumers/<group>/instances/}, the base URL as {@link BaseUrl} finds it. */
    private String baseUri(HttpServerExchange exchange, String group) {
        return baseUrl.of(exchange) + "/consumers/" + Http.pathSegment(group) + "/instances/";
    }
}
