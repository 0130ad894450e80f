package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.MediaType;
import io.portico.protocol.RestException;
import io.portico.protocol.v3.BatchRequest;
import io.portico.protocol.v3.DeliveryReports;
import io.portico.protocol.v3.ProduceRecord;
import io.portico.protocol.v3.RecordError;
import io.portico.protocol.v3.RecordStreamParser;
import io.portico.proxy.http.Budgets;
import io.portico.proxy.http.ErrorWriter;
import io.portico.proxy.http.Http;
import io.portico.proxy.http.Idempotent;
import io.portico.sessions.Idempotency;
import io.portico.sessions.IdempotencyKey;
import io.portico.proxy.http.ReplyStream;
import io.portico.proxy.http.StreamingBody;
import io.portico.schemas.SchemaService;
import io.portico.sessions.ClusterAdmin;
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.MemoryBudget;
import io.portico.sessions.ProduceService;
import io.portico.sessions.ProducerShares;
import io.portico.sessions.RateLimitedLog;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.SameThreadExecutor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.LoggerFactory;

/**
 * Confluent v3 produce: {@code POST /v3/clusters/{cluster_id}/topics/{topic}/records}, one JSON
 * object per record and one delivery report per record, in order — for a single record, and for a
 * stream of any length in one chunked request, each report written as soon as its record and every
 * earlier one are acknowledged, while the rest of the request still arrives (full duplex) — and
 * {@code POST …/records:batch} (207 with successes and failures).
 *
 * <p>A stream is read on the IO thread and parsed as it arrives ({@link RecordStreamParser});
 * its records go to the shared producer from the produce pool, one task per stream at a time, in
 * order — except in a small body of a declared length (a single record, typically): the IO thread
 * sends its records itself when the producer takes them at once ({@link ProduceService#sendAtOnce})
 * and they need no schema. It is bounded both ways: at most {@code streaming.unacknowledged.max.records} records
 * read and not yet reported, their bytes counted against the requests budget (reading stops
 * while either is full, so a client that sends faster than Kafka acknowledges waits on TCP; the
 * rest of a chunk waits unparsed), at most the last chunk and one record's bytes held by the
 * parser (counted too), a pause of {@code request.body.timeout.ms} while no report is owed ends
 * it, and so does {@code streaming.connection.max.duration.ms}.
 */
public final class ProduceV3Handler {
    private static final byte[] SEPARATOR = "\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final RateLimitedLog LIMITED =
            new RateLimitedLog(LoggerFactory.getLogger(ProduceV3Handler.class), Duration.ofSeconds(10));
    /**
     * Bytes a record in flight is counted for beyond its own bytes, from when it is parsed until its
     * report is written: its parsed form, Kafka's callbacks and future for it, its report's slot.
     * A heap histogram during the benchmark's streaming row showed about 400 bytes of such objects
     * per record in flight; 512 keeps the count above that.
     */
    private static final int IN_FLIGHT_COST = 512;
    /** Records one task of a stream sends before it lets other work of the pool go first. */
    private static final int SEND_BATCH = 512;
    /**
     * How long one task of a stream sends on the schema pool before it lets other streams' work
     * go first: a record there may wait on the registry, so a count alone would let one stream
     * hold a thread for hundreds of registry waits.
     */
    private static final long SCHEMA_SEND_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long RETRY_MILLIS = 10;
    /** One API key's streams' reports waiting to be written hold at most this fraction (1/8) of the responses budget. */
    private static final int REPORTS_SHARE = 8;

    /**
     * Streams open now per API key (or user): a key's streams share its one share of the
     * responses budget (each holds {@code 1 / (REPORTS_SHARE × its key's streams)}), so that a
     * key that opens many streams and reads none of their reports holds no more than one stream
     * would. With authentication off there is one caller, and each stream has its own share.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, Integer> streamsOf =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Limits of v3 produce. */
    public record Limits(int maxRecordBytes, int unacknowledgedMax, int batchMaxEntries, Duration idleTimeout,
                         Duration maxDuration, Duration gracePeriod) {
    }

    private final ProduceService produce;
    private final ClusterAdmin cluster;
    private final Executor pool;
    /** The schema pool itself, where streams' records that need the registry go (the produce pool without one). */
    private final Executor schemaPool;
    /** Each API key's share of the schema pool. */
    private final io.portico.proxy.http.PoolShares schemaShares;
    private final Limits limits;
    private final SchemaService schemas;
    private final Idempotent idempotent;

    /**
     * @param schemas the schema formats' service, or null when no schema registry is configured
     *        (keys and values of the schema types are then each record's 422)
     * @param idempotent {@code Idempotency-Key} handling
     * @param schemaPool where records that need a schema are serialized and sent (they may wait on
     *        the schema registry): a pool of their own, so that a slow registry never holds up
     *        the records of other requests; every request takes its caller's share of it (a
     *        batch, cached schemas or not; a stream, one task there at a time)
     */
    public ProduceV3Handler(ProduceService produce, ClusterAdmin cluster, Executor pool,
                            io.portico.proxy.http.PoolShares schemaPool,
                            Limits limits, SchemaService schemas, Idempotent idempotent) {
        this.produce = produce;
        this.cluster = cluster;
        this.pool = pool;
        this.schemaShares = schemaPool;
        this.schemaPool = schemas == null || schemaPool == null ? pool : schemaPool.pool();
        this.limits = limits;
        this.schemas = schemas;
        this.idempotent = idempotent;
    }

    /**
     * {@code POST /v3/clusters/{cluster_id}/topics/{topic}/records}: single or streaming. With an
     * {@code Idempotency-Key} the body must be one record (a stream is answered as it goes and may
     * never end, so there is no one answer to keep and give again; several records under one key
     * go to {@code records:batch}).
     */
    public void records(HttpServerExchange exchange) {
        String topic = checked(exchange);
        IdempotencyKey key = keyChecked(exchange);
        if (key != null) {
            onCluster(exchange, clusterId -> Http.readBody(exchange, limits.maxRecordBytes(),
                    body -> single(exchange, clusterId, topic, key, body)));
            return;
        }
        if (exchange.getRequestContentLength() > Integer.MAX_VALUE) {
            // Undertow's receiver cannot take such a length: it would end the connection unanswered.
            exchange.setPersistent(false);
            throw ErrorCode.PAYLOAD_TOO_LARGE.exception("a stream declaring more than 2 GiB in its Content-Length is "
                    + "not read: send it chunked (Transfer-Encoding: chunked), which has no such bound");
        }
        refuseIfShareFull(exchange);
        onCluster(exchange, clusterId -> new Stream(exchange, clusterId, topic).start());
    }

    /**
     * 429 before anything is read when the caller's records waiting for Kafka hold its share of
     * the shared producer's buffer already, as v1 and v2 answer then (a record past it in a request
     * that started fails alone, in its report).
     */
    private void refuseIfShareFull(HttpServerExchange exchange) {
        produce.share(io.portico.proxy.auth.Access.producerOwner(exchange)).refuseIfFull();
    }

    /** Values in a row of a stream that may be other than records (each its own report) before the stream ends. */
    static final int INVALID_IN_A_ROW_MAX = 100;

    /** Streams whose body is still being read: shutdown ends them ({@link #endStreams}). */
    private final java.util.Set<Stream> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean ending;

    /**
     * Portico shuts down: every open stream stops reading its body and ends its response once
     * the reports of the records it read are written (as when a stream reaches its longest
     * duration), and a stream opened from now on ends as soon as it starts. Any thread.
     */
    public void endStreams() {
        ending = true;
        for (Stream s : open) {
            s.endOnShutdown();
        }
    }

    /** Whether {@code record} is serialized in a schema from the registry (which may make its sender wait). */
    private boolean needsRegistry(ProduceRecord record) {
        return schemas != null && (needsSchema(record.key()) || needsSchema(record.value()));
    }

    private static boolean needsSchema(ProduceRecord.Data data) {
        return data != null && data.needsSchema();
    }

    private boolean needsRegistry(BatchRequest batch) {
        for (RecordStreamParser.Item item : batch.items()) {
            if (item instanceof RecordStreamParser.Parsed parsed && needsRegistry(parsed.record())) {
                return true;
            }
        }
        return false;
    }

    /** {@code POST /v3/clusters/{cluster_id}/topics/{topic}/records:batch}: 207. */
    public void batch(HttpServerExchange exchange) {
        String topic = checked(exchange);
        IdempotencyKey key = keyChecked(exchange);
        java.util.function.Predicate<String> subjects = subjectsOf(exchange);
        if (key == null) {
            refuseIfShareFull(exchange);
        }
        onCluster(exchange, clusterId -> Http.readBody(exchange, limits.maxRecordBytes(), body -> {
            // Parsed on the pool, as every produce body is: never on the IO thread.
            if (key != null) {
                idempotent.run(exchange, pool, key, body, topic, () -> {
                    BatchRequest batch = BatchRequest.parse(body, limits.batchMaxEntries(), schemas != null);
                    if (!needsRegistry(batch)) {
                        return batchWork(clusterId, topic, batch);
                    }
                    // Serialized and written from the schema pool (the registry may make it wait),
                    // before the key's transactional id is taken.
                    return new Idempotent.Elsewhere(schemaOn(exchange), () -> idempotent.prepared(key,
                            () -> SchemaService.patternsWithin(body.length, () -> serialized(topic, batch, subjects)),
                            serialized -> batchWork(clusterId, topic, serialized)));
                });
                return;
            }
            ProducerShares.Account share = produce.share(io.portico.proxy.auth.Access.producerOwner(exchange));
            // The caller's share of the schema pool, as a keyed batch and v2 take it: one key's
            // batches waiting on the registry do not take every thread and queued place there.
            Executor schemaShare = schemas == null ? null : schemaOn(exchange);
            Http.offload(exchange, pool, () -> {
                BatchRequest batch = BatchRequest.parse(body, limits.batchMaxEntries(), schemas != null);
                // Its values' JSON Schema patterns share one budget, as those of a v2 request do.
                CompletableFuture<List<Object>> sent = needsRegistry(batch)
                        ? Http.on(schemaShare, () -> SchemaService.patternsWithin(body.length,
                                () -> sendBatch(topic, batch, subjects, share)))
                        : sendBatch(topic, batch, subjects, share);
                return sent.thenApply(outcomes -> new Http.Reply(207,
                        new Http.RawJson(DeliveryReports.batch(clusterId, topic, batch.ids(), outcomes))));
            }, reply -> reply);
        }));
    }

    /** The request's Idempotency-Key, checked before its body is read (its connection closed after a refusal). */
    private IdempotencyKey keyChecked(HttpServerExchange exchange) {
        try {
            return idempotent.key(exchange);
        } catch (RuntimeException e) {
            exchange.setPersistent(false);
            throw e;
        }
    }

    /**
     * A keyed v3 produce of one record: its report is the answer (200, followed by {@code \r\n}
     * as in a stream), kept for retries when the record was written. A record the parser refuses
     * is answered at once: nothing is produced, nothing kept.
     */
    private void single(HttpServerExchange exchange, String clusterId, String topic, IdempotencyKey key, byte[] body) {
        // Two values are enough to refuse the body: the rest is not parsed.
        RecordStreamParser parser = new RecordStreamParser(limits.maxRecordBytes(), schemas != null).stopAfter(2);
        parser.feed(body);
        parser.end();
        List<RecordStreamParser.Item> items = new ArrayList<>(1);
        for (RecordStreamParser.Item item; (item = parser.next()) != null && items.size() < 2; ) {
            items.add(item);
        }
        if (items.isEmpty()) {
            throw ErrorCode.PAYLOAD_ERROR.exception("Request body is empty. Data is required.");
        }
        if (items.size() > 1) {
            throw ErrorCode.BAD_REQUEST.exception("A request with an Idempotency-Key produces one record on this "
                    + "route (a stream has no one answer to give again); send several with records:batch");
        }
        if (!(items.get(0) instanceof RecordStreamParser.Parsed parsed)) {
            Http.ok(exchange, new Http.RawJson(withSeparator(DeliveryReports.error(errorOf(items.get(0))))));
            return;
        }
        idempotent.run(exchange, needsRegistry(parsed.record()) ? schemaOn(exchange) : pool, key, body, topic, () -> {
            // Serialized before the key's transactional id is taken (see records:batch).
            BatchRequest one = new BatchRequest(List.of("0"), List.of(parsed));
            return idempotent.prepared(key, () -> serialized(topic, one, subjectsOf(exchange)), request -> {
                if (!(request.items().get(0) instanceof RecordStreamParser.Parsed)) {
                    // Its schema could not be looked up: nothing to write, no transaction for it.
                    return Idempotency.Work.unproduced(new Idempotency.Response(200, "application/json",
                            withSeparator(DeliveryReports.error(errorOf(request.items().get(0))))));
                }
                return tx -> {
                    java.util.concurrent.atomic.AtomicReference<Throwable> refused = new java.util.concurrent.atomic.AtomicReference<>();
                    Object outcome = sendBatch(topic, request, tx, refused).join().get(0);
                    if (outcome instanceof DeliveryReports.Landed landed) {
                        return Idempotency.Outcome.produced(new Idempotency.Response(200, "application/json", withSeparator(
                                DeliveryReports.success(clusterId, topic, landed.partition(), landed.offset(),
                                        landed.timestamp(), landed.record()))));
                    }
                    return Idempotency.Outcome.notProduced(new Idempotency.Response(200, "application/json",
                            withSeparator(DeliveryReports.error((RecordError) outcome))), refused.get());
                };
            });
        });
    }

    /**
     * A keyed {@code records:batch}'s work: in a transaction ({@link #batchInTransaction}), unless
     * nothing of it would be written anyway (no valid entry, or an entry failed for a reason a
     * retry may not meet: 5xx, the schema registry did not answer, say): then its answer without
     * a transaction, which would fence another node's request with the key for nothing and
     * write, then abort, the valid entries.
     */
    private Idempotency.Work batchWork(String clusterId, String topic, BatchRequest batch) {
        boolean valid = false;
        boolean transientFailure = false;
        for (RecordStreamParser.Item item : batch.items()) {
            if (item instanceof RecordStreamParser.Parsed) {
                valid = true;
            } else if (httpStatus(errorOf(item).errorCode()) >= 500) {
                transientFailure = true;
            }
        }
        if (valid && !transientFailure) {
            return tx -> batchInTransaction(clusterId, topic, batch, tx);
        }
        // As batchInTransaction answers these when no entry is refused by Kafka: the valid entries
        // not written (retriable), the others' errors. (In a transaction, Kafka could have refused
        // a valid entry too, which would then carry that refusal: none is asked here.)
        RecordError notWritten = new RecordError(ErrorCode.KAFKA_RETRIABLE_ERROR.code(), NOT_WRITTEN);
        List<Object> reported = new ArrayList<>(batch.items().size());
        for (RecordStreamParser.Item item : batch.items()) {
            reported.add(item instanceof RecordStreamParser.Parsed ? notWritten : errorOf(item));
        }
        return Idempotency.Work.unproduced(new Idempotency.Response(207, "application/json",
                DeliveryReports.batch(clusterId, topic, batch.ids(), reported)));
    }

    /**
     * The batch with each entry that needs the registry serialized (one it cannot serialize
     * becomes that entry's error, as when it is sent): a keyed request asks the registry before
     * it takes its transactional id. Blocks on the registry (bounded): call from the schema pool.
     */
    private BatchRequest serialized(String topic, BatchRequest batch, java.util.function.Predicate<String> subjects) {
        List<RecordStreamParser.Item> items = new ArrayList<>(batch.items().size());
        for (RecordStreamParser.Item item : batch.items()) {
            if (schemas != null && item instanceof RecordStreamParser.Parsed parsed && needsRegistry(parsed.record())) {
                try {
                    item = new RecordStreamParser.Parsed(SchemaProduceV3.serialize(schemas, topic, parsed.record(), subjects));
                } catch (RestException e) {
                    item = new RecordStreamParser.Invalid(SchemaProduceV3.recordError(e));
                }
            }
            items.add(item);
        }
        return new BatchRequest(batch.ids(), items);
    }

    /** The HTTP status of a record's error code: itself (503), or a Confluent code's first three digits (50302). */
    static int httpStatus(int errorCode) {
        return errorCode >= 10_000 ? errorCode / 100 : errorCode;
    }

    /**
     * A keyed {@code records:batch} in its transaction: every valid entry written, or none. When
     * Kafka refuses one, the answer is as without a key except that entries acknowledged inside
     * the aborted transaction are failures too (50003, retriable); when no entry is valid nothing
     * is written either. Either way nothing is kept, and a retry with the key runs again.
     */
    private Idempotency.Outcome batchInTransaction(String clusterId, String topic, BatchRequest batch,
                                                   Producer<byte[], byte[]> tx) {
        java.util.concurrent.atomic.AtomicReference<Throwable> refusal = new java.util.concurrent.atomic.AtomicReference<>();
        List<Object> outcomes = sendBatch(topic, batch, tx, refusal).join();
        Throwable refused = refusal.get();
        boolean landed = outcomes.stream().anyMatch(o -> o instanceof DeliveryReports.Landed);
        // An entry that failed for a reason a retry may not meet again (5xx: the schema registry does
        // not answer, say) must not be kept as the key's answer: nothing is written, the retry runs again.
        boolean transientFailure = outcomes.stream()
                .anyMatch(o -> o instanceof RecordError e && httpStatus(e.errorCode()) >= 500);
        if (refused == null && landed && !transientFailure) {
            return Idempotency.Outcome.produced(new Idempotency.Response(207, "application/json",
                    DeliveryReports.batch(clusterId, topic, batch.ids(), outcomes)));
        }
        // Refused for a reason a retry meets again (a timestamp or a keyless record Portico refuses,
        // a record Kafka cannot take): the others are not called retriable.
        ErrorCode code = refused == null ? ErrorCode.KAFKA_RETRIABLE_ERROR : KafkaErrors.perRecordCode(refused);
        RecordError notWritten = new RecordError(code.code(),
                code == ErrorCode.KAFKA_RETRIABLE_ERROR ? NOT_WRITTEN : NOT_WRITTEN_UNTIL_CORRECTED);
        List<Object> reported = new ArrayList<>(outcomes.size());
        for (Object o : outcomes) {
            reported.add(o instanceof DeliveryReports.Landed ? notWritten : o);
        }
        return Idempotency.Outcome.notProduced(new Idempotency.Response(207, "application/json",
                DeliveryReports.batch(clusterId, topic, batch.ids(), reported)), refused);
    }

    /** Why an entry Kafka acknowledged in a keyed request's aborted transaction is reported failed. */
    private static final String NOT_WRITTEN = "Retriable Kafka error: not written: another record of this request "
            + "failed, and a request with an Idempotency-Key is written whole or not at all; retry with the same key";

    /** As {@link #NOT_WRITTEN}, when the record that failed would fail again as it is. */
    private static final String NOT_WRITTEN_UNTIL_CORRECTED = "Kafka error: not written: another record of this "
            + "request was refused, and a request with an Idempotency-Key is written whole or not at all; correct "
            + "that record and send the request again (nothing was kept for the key)";

    private static byte[] withSeparator(byte[] report) {
        byte[] out = java.util.Arrays.copyOf(report, report.length + SEPARATOR.length);
        System.arraycopy(SEPARATOR, 0, out, report.length, SEPARATOR.length);
        return out;
    }

    /** The caller's share of the schema pool. */
    private Executor schemaOn(HttpServerExchange exchange) {
        return schemaShares.of(io.portico.proxy.auth.Access.caller(exchange).owner());
    }

    /**
     * The checks every v3 produce starts with: a JSON body and a valid topic name. A request
     * refused before its body is read closes its connection after the answer: the body may be a
     * stream that never ends.
     */
    private static String checked(HttpServerExchange exchange) {
        try {
            return checks(exchange);
        } catch (RuntimeException e) {
            exchange.setPersistent(false);
            throw e;
        }
    }

    private static String checks(HttpServerExchange exchange) {
        String contentType = Http.contentType(exchange);
        MediaType type = contentType == null ? null : MediaType.parse(contentType);
        if (type == null || !type.essence().equals("application/json")) {
            throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
        }
        return KafkaNames.topic(Http.param(exchange, "topic"));
    }

    /**
     * Runs {@code then} on the IO thread once the path's cluster id is known to be this cluster's
     * (404 otherwise), without blocking: the id is remembered after the first ask. A request
     * refused here closes its connection after the answer (its body, unread, may never end).
     */
    private void onCluster(HttpServerExchange exchange, Consumer<String> then) {
        CompletableFuture<String> id = cluster.requireCluster(Http.param(exchange, "cluster_id"));
        if (id.isDone() && !id.isCompletedExceptionally()) {
            then.accept(id.join());
            return;
        }
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> id.whenComplete((v, e) -> exchange.getIoThread().execute(() -> {
            try {
                if (e != null) {
                    throw KafkaErrors.toRestException(e);
                }
                then.accept(v);
            } catch (Throwable t) {
                exchange.setPersistent(false);
                ErrorWriter.write(exchange, t);
            }
        })));
    }

    /**
     * Sends a batch's valid entries with the shared producer, counted in the caller's
     * {@code share} of its buffer, those that need the registry under the subjects the caller may use.
     */
    private CompletableFuture<List<Object>> sendBatch(String topic, BatchRequest batch,
                                                      java.util.function.Predicate<String> subjects,
                                                      ProducerShares.Account share) {
        return sendBatch(topic, batch, null, new java.util.concurrent.atomic.AtomicReference<>(), subjects, share);
    }

    /** Sends a batch serialized already ({@code via} a keyed request's producer): none asks the registry again. */
    private CompletableFuture<List<Object>> sendBatch(String topic, BatchRequest batch, Producer<byte[], byte[]> via,
                                                      java.util.concurrent.atomic.AtomicReference<Throwable> refused) {
        return sendBatch(topic, batch, via, refused, SERIALIZED, ProducerShares.NONE);
    }

    /** For a batch whose records were serialized (and their subjects checked) before: none asks the registry again. */
    private static final java.util.function.Predicate<String> SERIALIZED = subject -> true;

    /** The schema registry subjects the caller may use beyond its topic's own ({@link io.portico.proxy.auth.Principal#allowsSubject}). */
    private static java.util.function.Predicate<String> subjectsOf(HttpServerExchange exchange) {
        return io.portico.proxy.auth.Access.live(exchange)::allowsSubject;
    }

    /** The first record Kafka refused ends in {@code refused}. */
    private CompletableFuture<List<Object>> sendBatch(String topic, BatchRequest batch, Producer<byte[], byte[]> via,
                                                      java.util.concurrent.atomic.AtomicReference<Throwable> refused,
                                                      java.util.function.Predicate<String> subjects,
                                                      ProducerShares.Account share) {
        List<CompletableFuture<Object>> results = new ArrayList<>();
        Sender sender = new Sender(topic, via, subjects, share, true);
        for (RecordStreamParser.Item item : batch.items()) {
            CompletableFuture<Object> result = new CompletableFuture<>();
            results.add(result);
            if (item instanceof RecordStreamParser.Parsed parsed) {
                sender.sendNow(parsed.record(), new Outcome() {
                    @Override
                    public void landed(DeliveryReports.Landed landed) {
                        result.complete(landed);
                    }

                    @Override
                    public void failed(RecordError error) {
                        result.complete(error);
                    }

                    @Override
                    public void refused(RecordError error, Throwable cause) {
                        refused.compareAndSet(null, cause);
                        result.complete(error);
                    }
                });
            } else {
                result.complete(errorOf(item));
            }
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new))
                .thenApply(v -> results.stream().map(CompletableFuture::join).toList());
    }

    private static RecordError errorOf(RecordStreamParser.Item item) {
        return item instanceof RecordStreamParser.Invalid i ? i.error() : ((RecordStreamParser.Broken) item).error();
    }

    /** What a sent record came to; called on a Kafka producer thread (or the sender's). */
    private interface Outcome {
        void landed(DeliveryReports.Landed landed);

        void failed(RecordError error);

        /** Kafka refused the record it was sent ({@code cause}); else as {@link #failed}. */
        default void refused(RecordError error, Throwable cause) {
            failed(error);
        }
    }

    /**
     * Sends the records of one request, in order, learning the topic's partition count first
     * (again when a record names a partition past it, as partitions may be added). Used by one
     * thread at a time.
     */
    private final class Sender {
        private final String topic;
        private final Producer<byte[], byte[]> via;
        private final java.util.function.Predicate<String> subjects;
        /** The caller's share of the shared producer's buffer ({@link ProducerShares#NONE} with {@code via}). */
        private final ProducerShares.Account share;
        private int partitions = -1;
        private RestException topicError;
        private long topicErrorAt;
        /**
         * The places (partitions) of a batch's records refused for the caller's share, or null for
         * a stream, whose records are each its own: a batch's later record that could land in one
         * is refused too, so that retrying the refused ones keeps their order.
         */
        private final java.util.Set<Integer> refusedPlaces;

        Sender(String topic, Producer<byte[], byte[]> via, java.util.function.Predicate<String> subjects,
               ProducerShares.Account share, boolean keepsOrder) {
            this.topic = topic;
            this.via = via;
            this.subjects = subjects;
            this.share = via == null ? share : ProducerShares.NONE;
            this.refusedPlaces = keepsOrder ? java.util.concurrent.ConcurrentHashMap.newKeySet() : null;
        }

        /**
         * Sends {@code record} from the calling thread (an IO thread) if the shared producer takes
         * it at once and it needs no schema (the registry may make a caller wait): true when sent,
         * {@code outcome} then told as by {@link #sendNow}; false when nothing was sent.
         */
        boolean sendAtOnce(ProduceRecord record, Outcome outcome) {
            if (via != null || needsRegistry(record)) {
                return false;
            }
            // A topic this server refuses is not sent here either: the pool reports it in the record's report.
            return produce.sendAtOnce(topic, record.partitionId(), record.timestamp(), record.keyBytes(),
                    record.valueBytes(), record.headers(), (landed, error) -> delivered(record, landed, error, outcome),
                    share);
        }

        /**
         * Sends {@code record}, telling {@code outcome} where it landed; may block while the
         * producer's buffer is full, and on the schema registry (bounded) for a schema format.
         */
        void sendNow(ProduceRecord parsed, Outcome outcome) {
            ProduceRecord record;
            try {
                record = schemas == null ? parsed : SchemaProduceV3.serialize(schemas, topic, parsed, subjects);
            } catch (RestException e) {
                outcome.failed(SchemaProduceV3.recordError(e));
                return;
            }
            Integer partition = record.partitionId();
            if (partitions < 0 || partition != null && partition >= partitions) {
                if (topicError != null && System.nanoTime() - topicErrorAt < TimeUnit.SECONDS.toNanos(1)) {
                    outcome.failed(new RecordError(topicError.errorCode().code(), topicError.getMessage()));
                    return;
                }
                try {
                    partitions = partition == null ? produce.prepare(topic, produce.deadlineFromNow())
                            : produce.prepare(topic, produce.deadlineFromNow(), partition);
                    topicError = null;
                } catch (RuntimeException e) {
                    topicError = KafkaErrors.toRestException(e);
                    topicErrorAt = System.nanoTime();
                    outcome.failed(new RecordError(topicError.errorCode().code(), topicError.getMessage()));
                    return;
                }
                if (partition != null && partition >= partitions) {
                    outcome.failed(new RecordError(ErrorCode.PARTITION_NOT_FOUND.code(),
                            ErrorCode.PARTITION_NOT_FOUND.message()));
                    return;
                }
            }
            Thread sending = Thread.currentThread();
            if (refusedPlaces == null) {
                produce.send(topic, partition, record.timestamp(), record.keyBytes(), record.valueBytes(),
                        record.headers(), (landed, error) -> {
                            topicMissing(error, sending);
                            delivered(record, landed, error, outcome);
                        }, via, share, partitions);
                return;
            }
            if (!refusedPlaces.isEmpty()) { // where a record goes (its key's hash) matters only once one was refused
                int place = produce.placeOf(partition, record.keyBytes(), partitions);
                if (ProduceService.mayFollow(refusedPlaces, place)) {
                    refusedPlaces.add(place); // and those after it do not overtake it in turn
                    Throwable full = share.shareFull();
                    outcome.refused(KafkaErrors.v3RecordError(full), full);
                    return;
                }
            }
            produce.send(topic, partition, record.timestamp(), record.keyBytes(), record.valueBytes(),
                    record.headers(), (landed, error) -> {
                        if (error instanceof ProducerShares.ShareFull) {
                            // told at once, before the next record is sent
                            refusedPlaces.add(produce.placeOf(partition, record.keyBytes(), partitions));
                        }
                        topicMissing(error, sending);
                        delivered(record, landed, error, outcome);
                    }, via, share, partitions);
        }

        /**
         * A send that failed before it returned (its callback on the {@code sending} thread, not
         * Kafka's) because the producer has no metadata for the topic (deleted since this
         * request learned its partitions, on a cluster that does not create topics): it blocked
         * for the whole metadata timeout, and each later record would block a produce thread as
         * long. The next record learns about the topic again, from the cluster first (40401 at
         * once for a topic that is gone, kept for a second as any topic error).
         */
        private void topicMissing(Throwable error, Thread sending) {
            if (error != null && Thread.currentThread() == sending && ProduceService.topicMissing(error)) {
                partitions = -1;
                produce.forget(topic);
            }
        }

        private static void delivered(ProduceRecord record, org.apache.kafka.clients.producer.RecordMetadata landed,
                                      Throwable error, Outcome outcome) {
            if (error != null) {
                outcome.refused(KafkaErrors.v3RecordError(error), error);
            } else {
                // The report keeps no record data: its room was given back with the acknowledgement.
                outcome.landed(new DeliveryReports.Landed(record.withoutBytes(), landed.partition(),
                        landed.offset(), landed.timestamp()));
            }
        }
    }

    /** One v3 produce request, from its first byte to its last report. */
    private final class Stream implements StreamingBody.Sink {
        private final HttpServerExchange exchange;
        private final String clusterId;
        private final RecordStreamParser parser;
        private final ReplyStream replies;
        private final StreamingBody body;
        private final MemoryBudget.Lease lease;
        // Keeps the request's accounts open past the exchange until every record taken is
        // reported: a client that leaves mid-stream must not free the budget for others while its
        // records still wait in the producer for Kafka's answer.
        private final Runnable held;
        private volatile boolean inputDone; // no more records will be taken
        private final Sender sender;
        private final DeliveryReports.Writer reports;
        // Records waiting for the produce pool, and whether a task of this stream is queued or running.
        private final ArrayDeque<Pending> toSend = new ArrayDeque<>();
        private boolean sending; // guarded by toSend
        private long bufferedCounted; // the parser's buffer as counted on the lease (IO thread)
        private long waitingMidRecordSince; // when reading paused mid-record for the requests budget, or 0 (IO thread)
        private final Duration memoryWait;
        private final String owner; // the caller's API key or user, or null (authentication off)
        // A place of the caller's share of the schema pool, held while this stream's sending runs
        // there (its tasks, each submitting the next): one key's streams of records waiting on the
        // registry (a key may open many) do not take every thread and queued place from other
        // keys' schema work. Guarded by toSend.
        private boolean placed;
        private final String topic;
        // The caller as the keys file reads now, with the credentials the stream was opened with:
        // a key removed, narrowed or rotated out stops writing on the streams it opened.
        private final io.portico.proxy.auth.Principal writer;
        // IO thread only.
        private boolean expired;
        private boolean ended;
        /** Values in a row that were not records (IO thread): past {@link #INVALID_IN_A_ROW_MAX} the stream ends. */
        private int invalidInARow;
        private boolean retryScheduled;
        /** The body's last chunk was read (IO thread); its records may still wait in the parser. */
        private boolean bodyEnded;
        // A small body of a declared length (one record, typically): its records may be sent from
        // the IO thread, with no hop to the pool and back.
        private final boolean atOnce;

        Stream(HttpServerExchange exchange, String clusterId, String topic) {
            this.exchange = exchange;
            this.clusterId = clusterId;
            this.parser = new RecordStreamParser(limits.maxRecordBytes(), schemas != null);
            this.replies = new ReplyStream(exchange, "application/json", SEPARATOR, Budgets.responseLease(exchange),
                    limits.idleTimeout(), this::readMoreIfRoom);
            this.body = new StreamingBody(exchange, this, limits.idleTimeout(), limits.maxDuration());
            this.lease = Budgets.requestLease(exchange);
            this.held = Budgets.hold(exchange);
            this.memoryWait = Budgets.settings(exchange).memoryWait();
            this.owner = io.portico.proxy.auth.Access.caller(exchange).owner();
            this.topic = topic;
            this.writer = io.portico.proxy.auth.Access.liveStream(exchange);
            this.sender = new Sender(topic, null, subjectsOf(exchange),
                    produce.share(io.portico.proxy.auth.Access.producerOwner(exchange)), false);
            this.reports = new DeliveryReports.Writer(clusterId, topic);
            long length = exchange.getRequestContentLength();
            this.atOnce = length >= 0 && length <= ProduceService.AT_ONCE_MAX_BYTES;
        }

        void start() {
            // The listener first: it throws when the exchange already ended (the cluster's id came
            // late), and then nothing below is counted.
            exchange.addExchangeCompleteListener((ex, next) -> {
                open.remove(this);
                if (owner != null) {
                    streamsOf.computeIfPresent(owner, (k, n) -> n <= 1 ? null : n - 1);
                }
                ended = true; // however the exchange ended (a stalled write closed it, say): nothing more is taken from it
                inputDone();
                // Its body's timers too: a connection closed while reading was paused (a stalled
                // write aborted it) ended the exchange without the body's end, and the idle check,
                // rescheduling itself while paused, kept the stream and its reports alive for up
                // to the longest duration, no longer counted in the budgets.
                try {
                    body.stop();
                } catch (RuntimeException e) {
                    // the connection is gone: its reads are over anyway
                }
                next.proceed();
            });
            open.add(this);
            if (owner != null) {
                streamsOf.merge(owner, 1, Integer::sum);
            }
            body.start();
            if (ending) {
                endOnShutdown();
            }
        }

        /**
         * Ends the stream as Portico shuts down: no more of the body is read, the reports of what
         * was are written; a stream that has no report yet (nothing sent, or only part of its
         * first record) is answered 503, and a record it was still receiving gets a 503 report.
         * Any thread.
         */
        void endOnShutdown() {
            exchange.getIoThread().execute(() -> {
                if (ended) {
                    return;
                }
                if (replies.pending() == 0 && replies.written() == 0) {
                    ended = true;
                    inputDone();
                    body.stop();
                    exchange.setPersistent(false);
                    ErrorWriter.write(exchange, ErrorCode.SERVICE_UNAVAILABLE.exception("the server is shutting down"));
                    return;
                }
                RecordError down = new RecordError(ErrorCode.SERVICE_UNAVAILABLE.httpStatus(), "Service Unavailable: "
                        + "the server is shutting down; this record is not produced");
                reportWaiting(down); // records read whole first, then the one cut short
                if (parser.inRecord()) {
                    reportNow(new RecordError(ErrorCode.SERVICE_UNAVAILABLE.httpStatus(), "Service Unavailable: the "
                            + "server is shutting down; this record was not received whole and is not produced"));
                }
                endInput(true, down);
            });
        }

        @Override
        public void chunk(byte[] chunk, boolean last) {
            parser.feed(chunk);
            if (last) {
                parser.end();
                bodyEnded = true;
            }
            takeWhileRoom();
        }

        /**
         * Takes the records of what was read while fewer than {@code streaming.unacknowledged.max.records}
         * are in flight (a chunk may hold thousands of small ones; the rest wait in the parser's
         * chunk, counted, until reports make room), then ends the input once the body's end or
         * break is taken, or reads on (IO thread).
         */
        private void takeWhileRoom() {
            while (!ended && replies.incomplete() < limits.unacknowledgedMax() && parser.hasNext()) {
                take(parser.next());
            }
            countBuffered();
            if (ended) {
                return;
            }
            if (parser.hasNext()) {
                body.pause(); // readMoreIfRoom takes the rest once reports make room
                return;
            }
            if (bodyEnded || parser.isBroken()) {
                endInput(!bodyEnded);
                return;
            }
            readMoreIfRoom();
        }

        /**
         * Counts what the parser holds of a record not ended yet against the requests budget, as
         * it grows and shrinks: a client sending a record of up to the size limit a little at a
         * time holds that much between its chunks, which the budget sees (reading pauses while
         * it is over; see {@link #giveUpOnPartialRecord}).
         */
        private void countBuffered() {
            // And the records parsed but not taken yet: a record that spanned chunks leaves the
            // parser's buffer as it ends, and waits parsed (up to the record size limit) until
            // reports make room for it.
            long now = parser.bufferedBytes() + parser.parsedBytes();
            if (now > bufferedCounted) {
                lease.takeAnyway(now - bufferedCounted);
            } else if (now < bufferedCounted) {
                lease.give(bufferedCounted - now);
            }
            bufferedCounted = now;
        }

        /**
         * The stream waited {@code memory.wait.ms} in the middle of a record for the requests
         * budget, with none of its own records in flight to free it: that record gets a 503 report
         * and the stream ends (as a body that finds no room gets 503), so that streams each
         * holding part of a record never wait on one another for good.
         */
        private void giveUpOnPartialRecord() {
            boolean ownShare = lease.ownerOver();
            parser.discard();
            lease.give(bufferedCounted);
            bufferedCounted = 0;
            io.portico.protocol.RestException share = ownShare ? lease.budget().ownerShareFull() : null;
            reportNow(share != null
                    ? new RecordError(share.errorCode().code(), share.getMessage())
                    : new RecordError(ErrorCode.SERVICE_UNAVAILABLE.httpStatus(), "Service Unavailable: the "
                            + "record being received does not fit the memory set aside for request bodies "
                            + "(memory.requests.max.bytes); retry it later"));
            endInput(true);
        }

        private void take(RecordStreamParser.Item item) {
            if (ended) {
                return;
            }
            if (item instanceof RecordStreamParser.Parsed parsed) {
                if (expired) {
                    reportNow(EXPIRED);
                    return;
                }
                if (!writer.allows(io.portico.proxy.auth.Role.WRITER, topic)) {
                    // A record's authorization failure in a report is Confluent's 40301 (its HTTP status stays 200).
                    RecordError revoked = new RecordError(ErrorCode.KAFKA_AUTHORIZATION_ERROR.code(), "This API key no "
                            + "longer has the writer role on topic '" + io.portico.sessions.KafkaNames.excerpt(topic)
                            + "' (the keys file changed): nothing more of this stream is produced");
                    reportNow(revoked);
                    endInput(true, revoked);
                    return;
                }
                invalidInARow = 0;
                ProduceRecord record = parsed.record();
                long cost = record.payloadBytes() + IN_FLIGHT_COST;
                lease.takeAnyway(cost);
                ReplyStream.Slot slot = replies.reserve(() -> {
                    lease.give(cost);
                    releaseIfDone();
                });
                enqueue(new Pending(record, slot));
            } else {
                reportNow(errorOf(item));
                if (++invalidInARow >= INVALID_IN_A_ROW_MAX && !ended) {
                    // A body of junk (a chunk of commas is thousands of one-byte values) would make
                    // a report of each, many to a chunk, before any limit of the stream is looked at.
                    RecordError junk = RecordError.badRequest(INVALID_IN_A_ROW_MAX + " values in a row were not "
                            + "records: the stream ends");
                    reportNow(junk);
                    endInput(true, null); // what follows is likely more of the same: not a report each
                }
            }
        }

        private void reportNow(RecordError error) {
            replies.reserve(() -> { }).complete(DeliveryReports.error(error));
        }

        /** Reports what the parser still holds, a record with {@code unsent} (it is not produced); null: drops it. */
        private void reportWaiting(RecordError unsent) {
            for (RecordStreamParser.Item item; (item = parser.next()) != null; ) {
                if (unsent != null) {
                    reportNow(item instanceof RecordStreamParser.Parsed ? unsent : errorOf(item));
                }
            }
            countBuffered();
        }

        /** The body ended (or is no longer read): the response ends once every report is written. */
        private void endInput(boolean closeConnection) {
            endInput(closeConnection, NOT_TAKEN);
        }

        /**
         * As {@link #endInput(boolean)}; records read but not taken yet (waiting in the parser
         * for room in flight) are each reported with {@code unsent} (they are not produced), or
         * dropped unreported when it is null, as what was not read.
         */
        private void endInput(boolean closeConnection, RecordError unsent) {
            if (ended) {
                return;
            }
            reportWaiting(unsent);
            ended = true;
            inputDone();
            body.stop();
            if (!parser.sawAnything() && replies.pending() == 0 && replies.written() == 0) {
                exchange.setPersistent(!closeConnection && exchange.isPersistent());
                // Written from a task: this may be a request-body callback, where no write may start.
                exchange.getIoThread().execute(() -> ErrorWriter.write(exchange,
                        ErrorCode.PAYLOAD_ERROR.exception("Request body is empty. Data is required.")));
                return;
            }
            replies.finish(closeConnection);
        }

        /**
         * Stops reading while the stream has too much in flight or the requests budget is full,
         * and reads again once it has room (IO thread).
         */
        private void readMoreIfRoom() {
            if (ended) {
                return;
            }
            if (replies.incomplete() == 0) {
                body.answered(); // a client waiting for its reports was not idle meanwhile
            }
            if (parser.hasNext()) {
                // Records read already (counted in the budget as their chunk came) are taken
                // before anything more is read, once reports make room; it reads on after them.
                if (replies.incomplete() <= limits.unacknowledgedMax() / 2 && !replies.overShare(shareDivisor(), true)) {
                    takeWhileRoom();
                }
                return;
            }
            // The requests budget, or the caller's share of it while its other requests hold part.
            boolean budgetsFull = lease.over() || replies.over();
            // A client that reads its reports slowly holds at most its share of the responses
            // budget: its stream is not read further until they are written.
            boolean ownShareFull = replies.overShare(shareDivisor(), false);
            if (replies.incomplete() >= limits.unacknowledgedMax() || budgetsFull || ownShareFull) {
                body.pause();
                if (lease.over() && parser.inRecord() && replies.incomplete() == 0) {
                    // Waiting mid-record, with nothing of its own in flight to free the requests
                    // budget its part of the record holds (a full responses budget, which it holds
                    // none of, only pauses it).
                    long now = System.nanoTime();
                    if (waitingMidRecordSince == 0) {
                        waitingMidRecordSince = now;
                    } else if (now - waitingMidRecordSince > memoryWait.toNanos()) {
                        giveUpOnPartialRecord();
                        return;
                    }
                } else {
                    waitingMidRecordSince = 0;
                }
                if (budgetsFull && !retryScheduled) {
                    // Others' memory may be what fills the budget: look again shortly.
                    retryScheduled = true;
                    exchange.getIoThread().executeAfter(() -> {
                        retryScheduled = false;
                        readMoreIfRoom();
                    }, RETRY_MILLIS, TimeUnit.MILLISECONDS);
                }
            } else if (body.isPaused() && replies.incomplete() <= limits.unacknowledgedMax() / 2
                    && !replies.overShare(shareDivisor(), true)) {
                waitingMidRecordSince = 0;
                body.resume();
            }
        }

        /** This stream's share of the responses budget, as a divisor: its key's share split between the key's streams. */
        private int shareDivisor() {
            Integer streams = owner == null ? null : streamsOf.get(owner);
            return REPORTS_SHARE * (streams == null ? 1 : Math.max(1, streams));
        }

        @Override
        public boolean owesAnswers() {
            return replies.incomplete() > 0;
        }

        @Override
        public long heldBytes() {
            return parser.inRecord() ? parser.bufferedBytes() : 0;
        }

        @Override
        public long itemsEnded() {
            return parser.valuesEnded();
        }

        @Override
        public void tooSlow(Duration took, long bytes) {
            reportNow(new RecordError(ErrorCode.REQUEST_TIMEOUT.httpStatus(), "Request timed out: a record arrived at "
                    + bytes / Math.max(1, took.toSeconds())
                    + " bytes/s for " + took.toSeconds() + " s, under the least rate of " + Http.BODY_MIN_RATE / 1024
                    + " KiB/s (request.body.timeout.ms)"));
            endInput(true);
        }

        @Override
        public void idle(Duration idleTimeout) {
            reportNow(new RecordError(ErrorCode.REQUEST_TIMEOUT.httpStatus(), "Request timed out: the stream sent "
                    + "nothing for " + idleTimeout.toMillis() + " ms (request.body.timeout.ms)"));
            endInput(true);
        }

        @Override
        public void expired(Duration maxDuration) {
            expired = true;
            exchange.getIoThread().executeAfter(() -> endInput(true, EXPIRED),
                    Math.max(1, limits.gracePeriod().toMillis()), TimeUnit.MILLISECONDS);
        }

        @Override
        public void failed(Throwable cause) {
            ended = true;
            replies.abort();
            List<Pending> unsent;
            synchronized (toSend) {
                unsent = new ArrayList<>(toSend);
                toSend.clear();
            }
            for (Pending p : unsent) {
                p.slot.complete(DeliveryReports.error(CLIENT_GONE));
            }
            inputDone();
        }

        /** No record will be taken any more: the hold ends once those taken are reported. */
        private void inputDone() {
            inputDone = true;
            releaseIfDone();
        }

        /** Any thread: the hold on the request's accounts ends once input is done and every record reported. */
        private void releaseIfDone() {
            if (inputDone && replies.incomplete() == 0) {
                held.run(); // runs once, however many threads get here
            }
        }

        private void enqueue(Pending p) {
            synchronized (toSend) {
                // Sent here only when nothing of this stream waits for the pool, so records stay in order.
                if (atOnce && !sending && toSend.isEmpty() && !replies.isClosed()
                        && sender.sendAtOnce(p.record, outcomeFor(p.slot))) {
                    return;
                }
                toSend.add(p);
                if (sending) {
                    return;
                }
                sending = true;
            }
            submit();
        }

        /**
         * Runs {@link #sendSome} on the pool of the first record queued: the schema pool for one
         * that needs the registry, the produce pool otherwise.
         */
        private void submit() {
            Executor on;
            RejectedExecutionException shareFull = null;
            synchronized (toSend) {
                Pending head = toSend.peek();
                on = head != null && needsRegistry(head.record) ? schemaPool : pool;
                boolean onSchemaPool = on == schemaPool && schemaPool != pool;
                if (onSchemaPool && !placed) {
                    try {
                        schemaShares.take(owner);
                        placed = true;
                    } catch (RejectedExecutionException full) {
                        shareFull = full;
                    }
                } else if (!onSchemaPool) {
                    letGoOfPlace();
                }
            }
            try {
                if (shareFull != null) {
                    throw shareFull;
                }
                on.execute(() -> sendSome(on));
            } catch (RejectedExecutionException e) {
                List<Pending> refused;
                synchronized (toSend) {
                    refused = new ArrayList<>(toSend);
                    toSend.clear();
                    sending = false;
                    letGoOfPlace();
                }
                RestException why = Http.refused(e); // 429 for the caller's full share, else 503
                for (Pending p : refused) {
                    p.slot.complete(DeliveryReports.error(new RecordError(why.httpStatus(), why.getMessage())));
                }
            }
        }

        /**
         * On {@code on}: sends what is queued, a batch at a time, in order, up to a record that
         * belongs on the other pool (one that needs the registry, or the first after those); on
         * the schema pool for at most {@link #SCHEMA_SEND_NANOS} (at least one record).
         */
        private void sendSome(Executor on) {
            boolean timed = on == schemaPool && schemaPool != pool;
            long start = timed ? System.nanoTime() : 0;
            for (int n = 0; n < SEND_BATCH; n++) {
                if (timed && n > 0 && System.nanoTime() - start >= SCHEMA_SEND_NANOS) {
                    break; // the rest after other streams' work
                }
                Pending p;
                synchronized (toSend) {
                    p = toSend.peek();
                    if (p == null) {
                        sending = false;
                        letGoOfPlace();
                        return;
                    }
                    if (schemaPool != pool && (needsRegistry(p.record) ? schemaPool : pool) != on) {
                        break;
                    }
                    toSend.poll();
                }
                if (replies.isClosed()) {
                    p.slot.complete(DeliveryReports.error(CLIENT_GONE)); // not sent: nobody hears of it
                    continue;
                }
                Outcome outcome = outcomeFor(p.slot);
                try {
                    sender.sendNow(p.record, outcome);
                } catch (Throwable e) {
                    // Reported as the record's failure (unless it was reported already), and the
                    // stream goes on (also past a schema too deep for the stack, or an Error a
                    // schema library threw): an escaped throwable would leave this stream's next
                    // records unsent and its response never ended.
                    LIMITED.error("unexpected:" + e.getClass().getName(), "Sending a streamed record failed unexpectedly", e);
                    outcome.failed(KafkaErrors.v3RecordError(e instanceof org.apache.kafka.common.KafkaException
                            || e instanceof io.portico.protocol.RestException || e instanceof StackOverflowError
                            ? e : ErrorCode.INTERNAL_SERVER_ERROR.exception())); // no internal message to the client
                }
            }
            submit(); // more queued: after other work of the pool
        }

        /** Gives back the stream's place of its caller's share of the schema pool, if it holds one (holding toSend). */
        private void letGoOfPlace() {
            if (placed) {
                placed = false;
                schemaShares.give(owner);
            }
        }

        /** Completes {@code slot} with the record's report. */
        private Outcome outcomeFor(ReplyStream.Slot slot) {
            return new Outcome() {
                @Override
                public void landed(DeliveryReports.Landed landed) {
                    slot.complete(new Report(reports, landed)); // rendered on the IO thread as it is written
                }

                @Override
                public void failed(RecordError error) {
                    slot.complete(DeliveryReports.error(error));
                }
            };
        }
    }

    /** The report of a record after a stream's longest duration (Confluent's words). */
    private static final RecordError EXPIRED = new RecordError(408,
            "Streaming connection open for longer than allowed: Connection will be closed.");

    /** The report of a record read but not sent when its stream ended for a reason reported before it. */
    private static final RecordError NOT_TAKEN = new RecordError(ErrorCode.SERVICE_UNAVAILABLE.httpStatus(),
            "Service Unavailable: the stream ended (see the report before) before this record was sent; it is not produced");

    /** The report of a record not sent because its client left first (never written: the client is gone). */
    private static final RecordError CLIENT_GONE = new RecordError(ErrorCode.SERVICE_UNAVAILABLE.httpStatus(),
            "Service Unavailable: the client left before the record was sent");

    private record Pending(ProduceRecord record, ReplyStream.Slot slot) {
    }

    /** A record's success report, written by the stream's writer straight into the response. */
    private record Report(DeliveryReports.Writer writer, DeliveryReports.Landed landed) implements ReplyStream.Item {
        @Override
        public int size() {
            return writer.size(landed.record(), landed.partition(), landed.offset(), landed.timestamp());
        }

        @Override
        public void writeTo(java.nio.ByteBuffer out) {
            writer.write(out, landed.record(), landed.partition(), landed.offset(), landed.timestamp());
        }
    }
}
