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
import io.portico.protocol.PartitionOffset;
import io.portico.schemas.SchemaService;
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.ProduceService;
import io.undertow.server.HttpServerExchange;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * {@code POST /topics/{topic}} and {@code POST /topics/{topic}/partitions/{partition}} in the
 * binary and json embedded formats, and in avro, jsonschema and protobuf when a schema registry
 * is configured ({@link SchemaProduce}). The IO thread only checks headers and collects the body;
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
    private final SchemaService schemas;

    public ProduceHandler(ProduceService produce, Executor pool, long maxBodyBytes, int maxRecords) {
        this(produce, pool, maxBodyBytes, maxRecords, null);
    }

    /** @param schemas the schema formats' service, or null when no schema registry is configured */
    public ProduceHandler(ProduceService produce, Executor pool, long maxBodyBytes, int maxRecords,
                          SchemaService schemas) {
        this.produce = produce;
        this.pool = pool;
        this.maxBodyBytes = maxBodyBytes;
        this.maxRecords = maxRecords;
        this.schemas = schemas;
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
        if (format.needsSchemaRegistry() && schemas == null) {
            throw ErrorCode.SCHEMA_REGISTRY_REQUIRED.exception();
        }
        Http.negotiate(exchange, v2 ? KafkaMediaTypes.V2_METADATA : KafkaMediaTypes.V1_METADATA);
        String topic = Http.param(exchange, "topic");
        KafkaNames.topic(topic);
        // Schema formats arrive as JSON: read as the json format reads them, then serialized in their schemas.
        EmbeddedFormat bodyFormat = format.needsSchemaRegistry() ? EmbeddedFormat.JSON : format;
        Http.readBody(exchange, maxBodyBytes, body -> {
            long deadline = produce.deadlineFromNow(); // the metadata bound runs once the body is in
            Http.offload(exchange, pool, () -> {
                List<ProduceRecord> records;
                SchemaProduce.Fields fields;
                if (partition == null) {
                    ProduceRequest request = TOPIC_BODY.read(body, bodyFormat);
                    records = request.records();
                    fields = new SchemaProduce.Fields(request.keySchema(), request.keySchemaId(),
                            request.valueSchema(), request.valueSchemaId());
                } else {
                    PartitionProduceRequest request = PARTITION_BODY.read(body, bodyFormat);
                    records = request.toPartition(partition);
                    fields = new SchemaProduce.Fields(request.keySchema(), request.keySchemaId(),
                            request.valueSchema(), request.valueSchemaId());
                }
                if (records.size() > maxRecords) {
                    throw ErrorCode.PAYLOAD_TOO_LARGE.exception(records.size() + " records in one request; at most "
                            + maxRecords + " (produce.records.max)");
                }
                Integer keySchemaId = null;
                Integer valueSchemaId = null;
                if (format.needsSchemaRegistry()) {
                    SchemaProduce.Encoded encoded = SchemaProduce.encode(schemas, format, topic, records, fields);
                    records = encoded.records();
                    keySchemaId = encoded.keySchemaId();
                    valueSchemaId = encoded.valueSchemaId();
                }
                Integer keyId = keySchemaId;
                Integer valueId = valueSchemaId;
                return produce.produce(topic, records, deadline,
                        v2 ? KafkaErrors::perRecordCodeV2 : KafkaErrors::perRecordCode)
                        .thenApply(offsets -> v2 ? v2Answer(offsets, keyId, valueId)
                                : new ProduceResponse(offsets, keyId, valueId)); // 200, errors per record
            }, answer -> answer);
        });
    }
}
