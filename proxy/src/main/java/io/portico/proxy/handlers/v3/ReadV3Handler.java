package io.portico.proxy.handlers.v3;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.v3.ProduceRecord;
import io.portico.protocol.v3.RecordListWriter;
import io.portico.proxy.auth.Access;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Budgets;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.OffsetReader;
import io.portico.sessions.ResponseRoom;
import io.undertow.server.HttpServerExchange;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executor;

/**
 * {@code GET /v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/records?offset=&max_records=&max_bytes=&type=}:
 * a stateless read by offset (which Confluent's proxy never had in v3), the records in the shape a
 * v3 produce takes, {@code metadata.next} the URL of the next page. {@code type} (BINARY, JSON,
 * STRING; {@code key_type} and {@code value_type} for one side) says how keys and values are
 * written when their bytes allow it. Runs on the consumer pool, as reads by offset do.
 */
public final class ReadV3Handler {
    private static final int DEFAULT_RECORDS = 100;

    private final OffsetReader reader;
    private final ClusterAdmin cluster;
    private final BaseUrl baseUrl;
    private final io.portico.proxy.http.PoolShares pool;
    private final int maxRecords;

    /** @param pool the consumer pool, each API key's share of it */
    public ReadV3Handler(OffsetReader reader, ClusterAdmin cluster, BaseUrl baseUrl, io.portico.proxy.http.PoolShares pool,
                         int maxRecords) {
        this.reader = reader;
        this.cluster = cluster;
        this.baseUrl = baseUrl;
        this.pool = pool;
        this.maxRecords = maxRecords;
    }

    public void read(HttpServerExchange exchange) {
        String clusterId = Http.param(exchange, "cluster_id");
        String topic = KafkaNames.topic(Http.param(exchange, "topic"));
        int partition = Http.intParam(exchange, "partition", ErrorCode.PARTITION_NOT_FOUND);
        if (!Http.hasQuery(exchange, "offset")) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter offset is required");
        }
        long offset = Http.longQuery(exchange, "offset", -1);
        if (offset < 0) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter offset must not be negative");
        }
        long count = Http.longQuery(exchange, "max_records", Math.min(DEFAULT_RECORDS, maxRecords));
        if (count < 1 || count > maxRecords) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter max_records must be between 1 and " + maxRecords);
        }
        long maxBytes = Http.longQuery(exchange, "max_bytes", Long.MAX_VALUE);
        if (maxBytes < 1) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter max_bytes must be positive");
        }
        ProduceRecord.Type both = type(exchange, "type", ProduceRecord.Type.BINARY);
        ProduceRecord.Type keyType = type(exchange, "key_type", both);
        ProduceRecord.Type valueType = type(exchange, "value_type", both);
        // The request's path (its target may be absolute-form: the URI then holds scheme and host).
        String requested = exchange.isHostIncludedInRequestURI() ? exchange.getRequestPath() : exchange.getRequestURI();
        String self = baseUrl.of(exchange) + requested
                + (exchange.getQueryString().isEmpty() ? "" : "?" + exchange.getQueryString());
        String path = baseUrl.of(exchange) + requested;
        String owner = Access.caller(exchange).owner(); // at most half the pooled readers per API key
        ResponseRoom room = new ResponseRoom(Budgets.responseLease(exchange), Budgets.settings(exchange).memoryWait());
        Http.run(exchange, pool.of(owner), () -> {
            String id;
            try {
                id = cluster.requireCluster(clusterId).join();
            } catch (RuntimeException e) {
                throw KafkaErrors.toRestException(e);
            }
            List<ConsumedRecord> records = reader.read(owner, topic, partition, offset, (int) count, room, maxBytes);
            long nextOffset = records.isEmpty() ? offset : records.get(records.size() - 1).offset() + 1;
            String next = path + "?offset=" + nextOffset + "&max_records=" + count
                    + (maxBytes == Long.MAX_VALUE ? "" : "&max_bytes=" + maxBytes)
                    + "&key_type=" + keyType + "&value_type=" + valueType;
            return new Http.RawJson(RecordListWriter.write(id, topic, records, keyType, valueType, self, next));
        });
    }

    /**
     * A read's {@code type}, {@code key_type} or {@code value_type} query parameter, or
     * {@code absent}: BINARY, JSON or STRING (the schema types are not read by offset in v3).
     *
     * @throws io.portico.protocol.RestException 400 for any other value
     */
    public static ProduceRecord.Type type(HttpServerExchange exchange, String name, ProduceRecord.Type absent) {
        String value = Http.query(exchange, name);
        if (value == null) {
            return absent;
        }
        try {
            ProduceRecord.Type type = ProduceRecord.Type.valueOf(value.toUpperCase(Locale.ROOT));
            if (!type.schema()) {
                return type;
            }
        } catch (IllegalArgumentException e) {
            // below
        }
        throw ErrorCode.BAD_REQUEST.exception("Query parameter " + name + " must be BINARY, JSON or STRING");
    }
}
