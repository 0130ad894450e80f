package io.portico.proxy.handlers;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.protocol.RecordsWriter;
import io.portico.protocol.v2.CommitOffsets;
import io.portico.protocol.v2.Partitions;
import io.portico.protocol.v2.Positions;
import io.portico.protocol.v2.Subscription;
import io.portico.protocol.v2.TopicPartitionRef;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.http.Budgets;
import io.portico.proxy.http.Http;
import io.portico.proxy.http.PoolShares;
import io.portico.sessions.ClusterHealth;
import io.portico.sessions.ConsumerInstance;
import io.portico.sessions.ConsumerRegistry;
import io.portico.sessions.ResponseRoom;
import io.undertow.server.HttpServerExchange;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Confluent v2's consumer-instance endpoints beyond create, commit and delete (which v1 and v2
 * share, see {@link ConsumerHandlers}): subscription, assignments, positions, committed offsets
 * and records. Each is a thin translation of its wire records into calls on the instance, run on
 * the bounded consumer pool; instances are owned by the API key that created them, and topics
 * (subscribed, matched by a pattern, assigned, sought, committed) are limited to the key's scope.
 */
public final class ConsumerV2Handlers {
    private static final Json.BodyReader<Subscription> SUBSCRIPTION = new Json.BodyReader<>(Subscription.class);
    private static final Json.BodyReader<Partitions> PARTITIONS = new Json.BodyReader<>(Partitions.class);
    private static final Json.BodyReader<Positions> POSITIONS = new Json.BodyReader<>(Positions.class);

    private final ConsumerRegistry registry;
    private final ClusterHealth cluster;
    private final PoolShares readShares;
    private final PoolShares operationShares;
    private final PoolShares schemaReadShares;
    private final long maxBodyBytes;

    /** @param schemaPool where reads of instances of the schema formats run (decoding may wait on the registry) */
    public ConsumerV2Handlers(ConsumerRegistry registry, ClusterHealth cluster, Executor pool, Executor schemaPool,
                              long maxBodyBytes) {
        this(registry, cluster, maxBodyBytes, new PoolShares(pool, Integer.MAX_VALUE, Integer.MAX_VALUE, ""),
                new PoolShares(schemaPool, Integer.MAX_VALUE, Integer.MAX_VALUE, ""),
                new PoolShares(pool, Integer.MAX_VALUE, Integer.MAX_VALUE, ""));
    }

    /**
     * As above, each API key's reads held to its share of the read pools ({@code readShares},
     * {@code schemaReadShares}), and its other instance requests (subscribe, assign, seek,
     * positions, committed offsets), which may each hold a thread while Kafka answers, to its
     * share of the consumer threads ({@code operationShares}).
     */
    public ConsumerV2Handlers(ConsumerRegistry registry, ClusterHealth cluster,
                              long maxBodyBytes, PoolShares readShares, PoolShares schemaReadShares,
                              PoolShares operationShares) {
        this.operationShares = operationShares;
        this.readShares = readShares;
        this.schemaReadShares = schemaReadShares;
        this.registry = registry;
        this.cluster = cluster;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** {@code GET …/subscription}: {@code {"topics":[…]}} (a pattern's current matches). */
    public void subscription(HttpServerExchange exchange) {
        onInstance(exchange, (instance, caller) -> Subscription.of(instance.subscription()));
    }

    /** {@code POST …/subscription}: topics or {@code topic_pattern}; 204. */
    public void subscribe(HttpServerExchange exchange) {
        withBody(exchange, SUBSCRIPTION, (instance, caller, body) -> {
            if (body.topics() != null && body.topics().isEmpty()
                    && (body.topicPattern() == null || body.topicPattern().isEmpty())) {
                instance.unsubscribe(); // {"topics":[]}: subscribing to nothing, as Kafka's consumer takes it
                return Http.NO_CONTENT;
            }
            Subscription s = body.requireOne();
            if (s.topics() != null && !s.topics().isEmpty()) {
                for (String topic : s.topics()) {
                    InstanceAccess.readable(caller, topic);
                }
                instance.subscribe(s.topics());
            } else {
                // Asked of the keys file as it reads at each match (a later narrowing drops topics).
                instance.subscribe(s.topicPattern(), Access.live(exchange)::canSee);
            }
            return Http.NO_CONTENT;
        });
    }

    /** {@code DELETE …/subscription}: 204. */
    public void unsubscribe(HttpServerExchange exchange) {
        onInstance(exchange, (instance, caller) -> {
            instance.unsubscribe();
            return Http.NO_CONTENT;
        });
    }

    /** {@code GET …/assignments}: {@code {"partitions":[{"topic","partition"}]}}. */
    public void assignments(HttpServerExchange exchange) {
        onInstance(exchange, (instance, caller) -> {
            List<TopicPartitionRef> out = new ArrayList<>();
            for (TopicPartition tp : instance.assignment()) {
                out.add(new TopicPartitionRef(tp.topic(), tp.partition()));
            }
            return new Partitions(out);
        });
    }

    /** {@code POST …/assignments}: read these partitions without a group; 204. */
    public void assign(HttpServerExchange exchange) {
        withBody(exchange, PARTITIONS, (instance, caller, body) -> {
            instance.assign(partitions(caller, body));
            return Http.NO_CONTENT;
        });
    }

    /** {@code POST …/positions}: seek to offsets and/or timestamps; 204. */
    public void seek(HttpServerExchange exchange) {
        withBody(exchange, POSITIONS, (instance, caller, body) -> {
            Map<TopicPartition, Long> offsets = new HashMap<>();
            for (Positions.Offset o : body.offsets()) {
                offsets.put(new TopicPartition(InstanceAccess.readable(caller, o.topic()), o.partition()), o.offset());
            }
            Map<TopicPartition, Long> times = new HashMap<>();
            for (Positions.Timestamp t : body.timestamps()) {
                times.put(new TopicPartition(InstanceAccess.readable(caller, t.topic()), t.partition()), t.epochMillis());
            }
            instance.seek(offsets, times);
            return Http.NO_CONTENT;
        });
    }

    /** {@code POST …/positions/beginning}: 204. */
    public void seekToBeginning(HttpServerExchange exchange) {
        withBody(exchange, PARTITIONS, (instance, caller, body) -> {
            instance.seekToBeginning(partitions(caller, body));
            return Http.NO_CONTENT;
        });
    }

    /** {@code POST …/positions/end}: 204. */
    public void seekToEnd(HttpServerExchange exchange) {
        withBody(exchange, PARTITIONS, (instance, caller, body) -> {
            instance.seekToEnd(partitions(caller, body));
            return Http.NO_CONTENT;
        });
    }

    /**
     * {@code GET …/offsets} with a body {@code {"partitions":[…]}} (a GET with a body, as
     * Confluent's clients send it): {@code {"offsets":[{"topic","partition","offset","metadata"}]}},
     * each offset the committed one (the next to read), for the partitions that have one.
     */
    public void committed(HttpServerExchange exchange) {
        Http.preferType(exchange, KafkaMediaTypes.V2_CONSUMERS); // the 40402 below is a v2 answer
        if (exchange.getRequestContentLength() == 0) {
            throw ErrorCode.PARTITION_NOT_FOUND.exception(); // no partitions asked for: Confluent's 404/40402
        }
        withBody(exchange, PARTITIONS, true, (instance, caller, body) -> {
            Set<TopicPartition> asked = new LinkedHashSet<>(partitions(caller, body));
            Map<TopicPartition, OffsetAndMetadata> committed = instance.committed(new HashSet<>(asked));
            List<CommitOffsets.Entry> out = new ArrayList<>();
            for (TopicPartition tp : asked) {
                OffsetAndMetadata om = committed.get(tp);
                if (om != null) {
                    out.add(new CommitOffsets.Entry(tp.topic(), tp.partition(), om.offset(), om.metadata()));
                }
            }
            return new CommitOffsets(out);
        });
    }

    /**
     * {@code GET …/records?timeout=&max_bytes=}: the next records, in the instance's format (the
     * {@code Accept} type must name it: 40601 otherwise).
     */
    public void records(HttpServerExchange exchange) {
        EmbeddedFormat format = KafkaMediaTypes.v2ReadFormat(Http.negotiate(exchange, KafkaMediaTypes.V2_RECORDS));
        String group = Http.param(exchange, "group");
        String name = Http.param(exchange, "instance");
        long cap = Http.longQuery(exchange, "max_bytes", 0); // 0 or less: the server's cap
        long timeoutMs = Http.longQuery(exchange, "timeout", -1);
        Duration timeout = timeoutMs <= 0 ? null : Duration.ofMillis(timeoutMs); // as Confluent: 0 or less, the default
        Principal principal = Access.caller(exchange);
        String caller = principal.owner();
        ResponseRoom room = new ResponseRoom(Budgets.responseLease(exchange), Budgets.settings(exchange).memoryWait());
        // One poll slice at a time on the pool, as v1's read.
        // Each API key's slices held to its share of the pool, so that its many long polls leave the others room.
        Executor on = (format.needsSchemaRegistry() ? schemaReadShares : readShares).of(caller);
        Http.offload(exchange, on, () -> {
            java.time.Duration within = Http.readWithin(exchange); // relayed: answer before the relay stops waiting
            ConsumerInstance instance = registry.owned(group, name, caller);
            InstanceAccess.stillReadable(principal, instance);
            if (instance.format() != format) {
                throw ErrorCode.CONSUMER_FORMAT_MISMATCH.exception();
            }
            return registry.pollAsync(instance, timeout, cap, room, on, within).thenApply(records -> {
                if (records.isEmpty() && !cluster.reachable()) {
                    throw ErrorCode.BROKER_NOT_AVAILABLE.exception("Kafka is not reachable; retry later");
                }
                // Schema formats come decoded (their keys and values as JSON text) from the instance.
                return new Http.RawJson(RecordsWriter.writeV2(records,
                        format.needsSchemaRegistry() ? EmbeddedFormat.JSON : format));
            });
        }, java.util.function.Function.identity());
    }

    // ---- helpers

    private static List<TopicPartition> partitions(Principal caller, Partitions body) {
        List<TopicPartition> out = new ArrayList<>(body.partitions().size());
        for (TopicPartitionRef p : body.partitions()) {
            out.add(new TopicPartition(InstanceAccess.readable(caller, p.topic()), p.partition()));
        }
        return out;
    }

    /** Runs {@code operation} on the caller's instance on the pool; a v2 JSON answer. */
    private void onInstance(HttpServerExchange exchange, BiFunction<ConsumerInstance, Principal, Object> operation) {
        Http.negotiate(exchange, KafkaMediaTypes.V2_CONSUMERS);
        String group = Http.param(exchange, "group");
        String name = Http.param(exchange, "instance");
        Principal caller = Access.caller(exchange);
        Http.run(exchange, operationShares.of(caller.owner()), () -> registry.run(registry.owned(group, name, caller.owner()),
                instance -> operation.apply(instance, caller)));
    }

    /** An operation that takes a request body. */
    @FunctionalInterface
    private interface WithBody<B> {
        Object apply(ConsumerInstance instance, Principal caller, B body);
    }

    /** Reads the body as {@code reader}'s type, then as {@link #onInstance}. */
    private <B> void withBody(HttpServerExchange exchange, Json.BodyReader<B> reader, WithBody<B> operation) {
        withBody(exchange, reader, false, operation);
    }

    /**
     * As above; with {@code partitionsAsked}, a body that is empty (a GET sent without one, with
     * no {@code Content-Length}) asks for no partitions: Confluent's 404/40402.
     */
    private <B> void withBody(HttpServerExchange exchange, Json.BodyReader<B> reader, boolean partitionsAsked,
                              WithBody<B> operation) {
        Http.preferType(exchange, KafkaMediaTypes.V2_CONSUMERS); // the 415 below is a v2 answer
        if (!KafkaMediaTypes.isV1GenericBody(Http.contentType(exchange))) {
            throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
        }
        Http.negotiate(exchange, KafkaMediaTypes.V2_CONSUMERS);
        String group = Http.param(exchange, "group");
        String name = Http.param(exchange, "instance");
        Principal caller = Access.caller(exchange);
        Http.readBody(exchange, maxBodyBytes, bytes -> Http.run(exchange, operationShares.of(caller.owner()), () -> {
            ConsumerInstance instance = registry.owned(group, name, caller.owner());
            if (partitionsAsked && new String(bytes, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
                throw ErrorCode.PARTITION_NOT_FOUND.exception(); // no partitions asked for: Confluent's 404/40402
            }
            B body = reader.read(bytes, EmbeddedFormat.BINARY);
            return registry.run(instance, i -> operation.apply(i, caller, body));
        }));
    }
}
