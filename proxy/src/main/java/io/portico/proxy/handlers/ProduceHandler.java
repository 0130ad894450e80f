package io.portico.proxy.handlers;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.protocol.PartitionProduceRequest;
import io.portico.protocol.ProduceRecord;
import io.portico.protocol.ProduceRequest;
import io.portico.protocol.ProduceResponse;
import io.portico.proxy.http.Http;
import io.portico.proxy.http.Idempotent;
import io.portico.sessions.Idempotency;
import io.portico.sessions.IdempotencyKey;
import io.portico.protocol.PartitionOffset;
import io.portico.schemas.SchemaService;
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.ProduceService;
import io.undertow.server.HttpServerExchange;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apache.kafka.clients.producer.Producer;

/**
 * {@code POST /topics/{topic}} and {@code POST /topics/{topic}/partitions/{partition}} in the
 * binary and json embedded formats, and in avro, jsonschema and protobuf when a schema registry
 * is configured ({@link SchemaProduce}). The IO thread checks headers and collects the body;
 * parsing and the hand-over to the producer run on the bounded produce pool (a send may block
 * while the producer learns of a new topic, or while its buffer is full), except for a small
 * request in the binary or json format: the IO thread parses it, and produces it too when the
 * producer takes it at once ({@link ProduceService#produceAtOnce}); the response is written when
 * the last record's acknowledgement (or failure) arrives.
 */
public final class ProduceHandler {
    private static final Json.BodyReader<ProduceRequest> TOPIC_BODY = new Json.BodyReader<>(ProduceRequest.class);
    private static final Json.BodyReader<PartitionProduceRequest> PARTITION_BODY =
            new Json.BodyReader<>(PartitionProduceRequest.class);

    private final ProduceService produce;
    private final Executor pool;
    private final io.portico.proxy.http.PoolShares schemaPool;
    private final long maxBodyBytes;

    private final int maxRecords;
    private final SchemaService schemas;
    private final Idempotent idempotent;

    /**
     * @param schemas the schema formats' service, or null when no schema registry is configured
     * @param idempotent {@code Idempotency-Key} handling
     * @param schemaPool where requests of the schema formats run (they may wait on the schema
     *        registry): a pool of their own, so that a slow registry never holds up the others, and
     *        each API key's share of it
     */
    public ProduceHandler(ProduceService produce, Executor pool, io.portico.proxy.http.PoolShares schemaPool,
                          long maxBodyBytes, int maxRecords,
                          SchemaService schemas, Idempotent idempotent) {
        this.produce = produce;
        this.pool = pool;
        this.schemaPool = schemaPool;
        this.maxBodyBytes = maxBodyBytes;
        this.maxRecords = maxRecords;
        this.schemas = schemas;
        this.idempotent = idempotent;
    }

    /**
     * v2's answer: 200 with the offsets, except that a record refused for authentication or
     * authorization (40101 / 40301) makes the status 401 / 403, the body still listing every record.
     */
    private static Object v2Answer(List<PartitionOffset> offsets, Integer keySchemaId, Integer valueSchemaId) {
        ProduceResponse body = new ProduceResponse(offsets, keySchemaId, valueSchemaId);
        for (PartitionOffset o : offsets) {
            if (o.errorCode() != null && o.errorCode() == ErrorCode.KAFKA_AUTHENTICATION_ERROR.code()) {
                return new Http.Reply(401, body);
            }
        }
        for (PartitionOffset o : offsets) {
            if (o.errorCode() != null && o.errorCode() == ErrorCode.KAFKA_AUTHORIZATION_ERROR.code()) {
                return new Http.Reply(403, body);
            }
        }
        return body;
    }

    /** A request's records, serialized in their schemas when the format has them, with the schema ids used. */
    private record Encoded(List<ProduceRecord> records, Integer keySchemaId, Integer valueSchemaId) {
    }

    /** A request's records as parsed, and its schema fields (for the schema formats). */
    private record Parsed(List<ProduceRecord> records, SchemaProduce.Fields fields) {
    }

    /** Parses a produce body (no Kafka, no registry): a bad body fails here, before anything else is asked. */
    private Parsed parse(byte[] body, EmbeddedFormat format, Integer partition) {
        // Schema formats arrive as JSON: read as the json format reads them, then serialized in their schemas.
        EmbeddedFormat bodyFormat = format.needsSchemaRegistry() ? EmbeddedFormat.JSON : format;
        List<ProduceRecord> records;
        SchemaProduce.Fields fields;
        if (partition == null) {
            ProduceRequest request = TOPIC_BODY.read(body, bodyFormat, maxRecords);
            records = request.records();
            fields = new SchemaProduce.Fields(request.keySchema(), request.keySchemaId(),
                    request.valueSchema(), request.valueSchemaId());
        } else {
            PartitionProduceRequest request = PARTITION_BODY.read(body, bodyFormat, maxRecords);
            records = request.toPartition(partition);
            fields = new SchemaProduce.Fields(request.keySchema(), request.keySchemaId(),
                    request.valueSchema(), request.valueSchemaId());
        }
        if (records.size() > maxRecords) {
            throw ErrorCode.PAYLOAD_TOO_LARGE.exception(records.size() + " records in one request; at most "
                    + maxRecords + " (produce.records.max)");
        }
        return new Parsed(records, fields);
    }

    /** Serializes the records of a schema format (on the pool: it may ask the registry); others as they are. */
    private Encoded encode(Parsed parsed, EmbeddedFormat format, String topic) {
        if (!format.needsSchemaRegistry()) {
            return new Encoded(parsed.records(), null, null);
        }
        SchemaProduce.Encoded encoded = SchemaProduce.encode(schemas, format, topic, parsed.records(), parsed.fields());
        return new Encoded(encoded.records(), encoded.keySchemaId(), encoded.valueSchemaId());
    }

    private static Object answer(List<PartitionOffset> offsets, boolean v2, Encoded request) {
        return v2 ? v2Answer(offsets, request.keySchemaId(), request.valueSchemaId())
                : new ProduceResponse(offsets, request.keySchemaId(), request.valueSchemaId());
    }

    /**
     * A keyed produce in its transaction: every record written, or none. When Kafka refuses one,
     * the answer is as without a key except that records acknowledged inside the aborted
     * transaction are reported as not written (50003, retriable).
     */
    private Idempotency.Outcome allOrNothing(String topic, Encoded request, long deadline,
                                             Function<Throwable, ErrorCode> codes, boolean v2, String type,
                                             Producer<byte[], byte[]> tx) {
        AtomicReference<Throwable> first = new AtomicReference<>();
        List<PartitionOffset> offsets = produce.produce(topic, request.records(), deadline, e -> {
            first.compareAndSet(null, e);
            return codes.apply(e);
        }, tx).join();
        if (first.get() == null) {
            return Idempotency.Outcome.produced(new Idempotency.Response(200, type,
                    Json.write(new ProduceResponse(offsets, request.keySchemaId(), request.valueSchemaId()))));
        }
        // Refused for a reason a retry meets again (a timestamp or a keyless record Portico
        // refuses, a record Kafka cannot take): the others are not called retriable.
        ErrorCode code = KafkaErrors.perRecordCode(first.get());
        PartitionOffset notWritten = PartitionOffset.failure(code,
                code == ErrorCode.KAFKA_RETRIABLE_ERROR ? NOT_WRITTEN : NOT_WRITTEN_UNTIL_CORRECTED);
        List<PartitionOffset> reported = new ArrayList<>(offsets.size());
        for (PartitionOffset o : offsets) {
            reported.add(o.errorCode() != null ? o : notWritten);
        }
        Object answer = answer(reported, v2, request);
        int status = answer instanceof Http.Reply reply ? reply.status() : 200;
        Object body = answer instanceof Http.Reply reply ? reply.body() : answer;
        return Idempotency.Outcome.notProduced(new Idempotency.Response(status, type, Json.write(body)), first.get());
    }

    /** Why a record Kafka acknowledged in a keyed request's aborted transaction is reported failed. */
    static final String NOT_WRITTEN = "Not written: another record of this request failed, and a request with an "
            + "Idempotency-Key is written whole or not at all; retry with the same key";

    /** As {@link #NOT_WRITTEN}, when the record that failed would fail again as it is. */
    static final String NOT_WRITTEN_UNTIL_CORRECTED = "Not written: another record of this request was refused, and "
            + "a request with an Idempotency-Key is written whole or not at all; correct that record and send the "
            + "request again (nothing was kept for the key)";

    /** {@code POST /topics/{topic}}. */
    public void toTopic(HttpServerExchange exchange) {
        handle(exchange, null);
    }

    /** {@code POST /topics/{topic}/partitions/{partition}}. */
    public void toPartition(HttpServerExchange exchange) {
        handle(exchange, Http.intParam(exchange, "partition", ErrorCode.PARTITION_NOT_FOUND));
    }

    private void handle(HttpServerExchange exchange, Integer partition) {
        String contentType = Http.contentType(exchange);
        boolean v2 = KafkaMediaTypes.apiVersion(contentType, Http.accept(exchange)) == 2;
        // The body's format as its type names it (a type naming no version is binary in both); the
        // Accept only makes the answer v2.
        EmbeddedFormat format = KafkaMediaTypes.apiVersion(contentType) == 2 ? KafkaMediaTypes.v2ProduceFormat(contentType)
                : KafkaMediaTypes.v1ProduceFormat(contentType);
        if (format.needsSchemaRegistry() && schemas == null) {
            throw ErrorCode.SCHEMA_REGISTRY_REQUIRED.exception();
        }
        // v1's produce to a partition also answers an embedded-format Accept (binary.v1, as the
        // body's type), as Confluent's partition resource does; its topic resource does not.
        Http.negotiate(exchange, v2 ? KafkaMediaTypes.V2_METADATA
                : partition != null ? KafkaMediaTypes.V1_PARTITION_METADATA : KafkaMediaTypes.V1_METADATA);
        String topic = Http.param(exchange, "topic");
        KafkaNames.topic(topic);
        IdempotencyKey key = idempotent.key(exchange);
        Function<Throwable, ErrorCode> codes = v2 ? KafkaErrors::perRecordCodeV2 : KafkaErrors::perRecordCode;
        Executor schemaOn = format.needsSchemaRegistry() ? schemaPool.of(io.portico.proxy.auth.Access.caller(exchange).owner())
                : null; // the caller's share of the schema pool
        Executor runOn = format.needsSchemaRegistry() ? schemaOn : pool;
        Http.readBody(exchange, maxBodyBytes, body -> {
            long deadline = produce.deadlineFromNow(); // the metadata bound runs once the body is in
            if (key != null) {
                String type = Idempotent.responseType(exchange);
                idempotent.run(exchange, runOn, key, body, topic, () -> {
                    Parsed parsed = parse(body, format, partition);
                    // Serialized before the key's transactional id is taken; a retry answered
                    // without the registry.
                    // The metadata bound starts with the transaction: waits for the key before it
                    // (another request with it, the state topic) are bounded by idempotency.wait.ms.
                    return idempotent.prepared(key, () -> encode(parsed, format, topic),
                            encoded -> tx -> allOrNothing(topic, encoded, produce.deadlineFromNow(), codes, v2,
                                    type, tx));
                });
                return;
            }
            io.portico.sessions.ProducerShares.Account share = produce.share(io.portico.proxy.auth.Access.producerOwner(exchange));
            if (!format.needsSchemaRegistry() && body.length <= ProduceService.AT_ONCE_MAX_BYTES) {
                // A small request is parsed here, on the IO thread, and produced here too when the
                // producer takes it at once: handing it to the pool and back costs more.
                Encoded request = new Encoded(parse(body, format, partition).records(), null, null);
                CompletableFuture<List<PartitionOffset>> now = produce.produceAtOnce(topic, request.records(), codes, share);
                Http.offload(exchange, now != null ? Runnable::run : pool,
                        () -> (now != null ? now : produce.produce(topic, request.records(), deadline, codes, null, share))
                                .thenApply(offsets -> answer(offsets, v2, request)), answer -> answer);
                return;
            }
            // A larger request's answer (some 60 bytes a record, a few hundred with an error) is
            // counted in the responses budget until sent, as admin answers are: a client that
            // reads none of many answers holds no memory the budgets do not see. Its JSON is
            // written on the IO thread, or for many records on the produce pool (never on the
            // shared producer's one network thread, whose callbacks complete the records and
            // which every client's sends wait for).
            io.portico.sessions.MemoryBudget.Lease room = io.portico.proxy.http.Budgets.responseLease(exchange);
            if (format.needsSchemaRegistry()) {
                // On the produce pool while its schemas are cached, where no request waiting for a
                // slow registry holds it up; one that must ask the registry goes on on the schema pool.
                Http.offload(exchange, pool, () -> {
                    Parsed parsed = parse(body, format, partition);
                    return SchemaProduce.cachedHereElseOn(schemaOn, () -> encode(parsed, format, topic)).thenCompose(request -> produce.produce(topic, request.records(), deadline, codes, null,
                            share).thenApply(offsets -> answer(offsets, v2, request))
                            .thenCompose(answer -> writtenOffIo(answer, request.records().size(), room)));
                }, answer -> Http.written(answer, room));
                return;
            }
            Http.offload(exchange, pool, () -> {
                Encoded request = encode(parse(body, format, partition), format, topic);
                return produce.produce(topic, request.records(), deadline, codes, null, share)
                        .thenApply(offsets -> answer(offsets, v2, request)) // 200, errors per record
                        .thenCompose(answer -> writtenOffIo(answer, request.records().size(), room));
            }, answer -> Http.written(answer, room));
        });
    }

    /** Records of one answer from which its JSON is written on the produce pool, not on an IO thread: some 60 KB and more. */
    static final int RENDERED_OFF_IO_RECORDS = 1_000;

    /**
     * The answer of {@code records} records, as JSON counted in {@code room} when written here on
     * the produce pool (from {@link #RENDERED_OFF_IO_RECORDS} on), else as it is, for the IO
     * thread to write ({@link Http#written} passes JSON already written through). A pool that
     * turns the task away leaves it to the IO thread: the records are in Kafka, and their answer
     * must not become an error.
     */
    private CompletableFuture<Object> writtenOffIo(Object answer, int records, io.portico.sessions.MemoryBudget.Lease room) {
        if (records < RENDERED_OFF_IO_RECORDS) {
            return CompletableFuture.completedFuture(answer);
        }
        try {
            return CompletableFuture.supplyAsync(() -> Http.written(answer, room), pool);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return CompletableFuture.completedFuture(answer);
        }
    }
}
