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
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.ProduceService;
import io.undertow.server.HttpServerExchange;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apache.kafka.clients.producer.Producer;

/**
 * {@code POST /topics/{topic}} and {@code POST /topics/{topic}/partitions/{partition}} in the
 * binary and json embedded formats. The IO thread only checks headers and collects the body;
 * parsing and the hand-over to the producer run on the bounded produce pool (a send may block
 * while the producer learns of a new topic); the response is written when the last record's
 * acknowledgement (or failure) arrives.
 */
public final class ProduceHandler {
    private static final Json.BodyReader<ProduceRequest> TOPIC_BODY = new Json.BodyReader<>(ProduceRequest.class);
    private static final Json.BodyReader<PartitionProduceRequest> PARTITION_BODY =
            new Json.BodyReader<>(PartitionProduceRequest.class);

    private final ProduceService produce;
    private final Executor pool;
    private final long maxBodyBytes;

    private final int maxRecords;
    private final Idempotent idempotent;

    public ProduceHandler(ProduceService produce, Executor pool, long maxBodyBytes, int maxRecords,
                          Idempotent idempotent) {
        this.produce = produce;
        this.pool = pool;
        this.maxBodyBytes = maxBodyBytes;
        this.maxRecords = maxRecords;
        this.idempotent = idempotent;
    }

    /**
     * v2's answer: 200 with the offsets, except that a record refused for authentication or
     * authorization (40101 / 40301) makes the status 401 / 403, the body still listing every record.
     */
    private static Object v2Answer(List<PartitionOffset> offsets) {
        ProduceResponse body = new ProduceResponse(offsets, null, null);
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
        boolean v2 = KafkaMediaTypes.apiVersion(contentType) == 2;
        EmbeddedFormat format = v2 ? KafkaMediaTypes.v2ProduceFormat(contentType)
                : KafkaMediaTypes.v1ProduceFormat(contentType);
        if (format.needsSchemaRegistry()) {
            throw ErrorCode.SCHEMA_REGISTRY_REQUIRED.exception();
        }
        Http.negotiate(exchange, v2 ? KafkaMediaTypes.V2_METADATA : KafkaMediaTypes.V1_METADATA);
        String topic = Http.param(exchange, "topic");
        KafkaNames.topic(topic);
        IdempotencyKey key = idempotent.key(exchange);
        Function<Throwable, ErrorCode> codes = v2 ? KafkaErrors::perRecordCodeV2 : KafkaErrors::perRecordCode;
        Http.readBody(exchange, maxBodyBytes, body -> {
            long deadline = produce.deadlineFromNow(); // the metadata bound runs once the body is in
            if (key != null) {
                String type = Idempotent.responseType(exchange);
                idempotent.run(exchange, pool, key, body, topic, () -> {
                    List<ProduceRecord> records = records(body, format, partition);
                    return tx -> allOrNothing(topic, records, deadline, codes, v2, type, tx);
                });
                return;
            }
            Http.offload(exchange, pool, () -> produce.produce(topic, records(body, format, partition), deadline, codes),
                    offsets -> v2 ? v2Answer(offsets) : new ProduceResponse(offsets, null, null)); // 200, errors per record
        });
    }

    private List<ProduceRecord> records(byte[] body, EmbeddedFormat format, Integer partition) {
        List<ProduceRecord> records = partition == null
                ? TOPIC_BODY.read(body, format).records()
                : PARTITION_BODY.read(body, format).toPartition(partition);
        if (records.size() > maxRecords) {
            throw ErrorCode.PAYLOAD_TOO_LARGE.exception(records.size() + " records in one request; at most "
                    + maxRecords + " (produce.records.max)");
        }
        return records;
    }

    /**
     * A keyed produce in its transaction: every record written, or none. When Kafka refuses one,
     * the answer is as without a key except that records acknowledged inside the aborted
     * transaction are reported as not written (50003, retriable).
     */
    private Idempotency.Outcome allOrNothing(String topic, List<ProduceRecord> records, long deadline,
                                             Function<Throwable, ErrorCode> codes, boolean v2, String type,
                                             Producer<byte[], byte[]> tx) {
        AtomicReference<Throwable> first = new AtomicReference<>();
        List<PartitionOffset> offsets = produce.produce(topic, records, deadline, e -> {
            first.compareAndSet(null, e);
            return codes.apply(e);
        }, tx).join();
        if (first.get() == null) {
            return Idempotency.Outcome.produced(new Idempotency.Response(200, type,
                    Json.write(new ProduceResponse(offsets, null, null))));
        }
        List<PartitionOffset> reported = new ArrayList<>(offsets.size());
        for (PartitionOffset o : offsets) {
            reported.add(o.errorCode() != null ? o : PartitionOffset.failure(ErrorCode.KAFKA_RETRIABLE_ERROR, NOT_WRITTEN));
        }
        Object answer = v2 ? v2Answer(reported) : new ProduceResponse(reported, null, null);
        int status = answer instanceof Http.Reply reply ? reply.status() : 200;
        Object body = answer instanceof Http.Reply reply ? reply.body() : answer;
        return Idempotency.Outcome.notProduced(new Idempotency.Response(status, type, Json.write(body)), first.get());
    }

    /** Why a record Kafka acknowledged in a keyed request's aborted transaction is reported failed. */
    static final String NOT_WRITTEN = "Not written: another record of this request failed, and a request with an "
            + "Idempotency-Key is written whole or not at all; retry with the same key";
}
