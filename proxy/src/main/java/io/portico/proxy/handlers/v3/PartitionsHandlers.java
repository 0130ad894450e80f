package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.v3.PartitionData;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.portico.sessions.KafkaNames;
import io.undertow.server.HttpServerExchange;

/**
 * {@code …/topics/{topic}/partitions}: the partitions of a topic, one partition (its leader and
 * replicas as links), and its earliest and latest offsets.
 */
public final class PartitionsHandlers {
    private static final String EARLIEST_AND_LATEST = "earliest_and_latest";

    private final ClusterAdmin admin;
    private final BaseUrl base;

    public PartitionsHandlers(ClusterAdmin admin, BaseUrl base) {
        this.admin = admin;
        this.base = base;
    }

    /** {@code GET …/partitions}: sorted by id. */
    public void list(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        V3.answer(exchange, admin, base, id -> admin.topic(topic), (r, t) -> r.list(PartitionData.LIST_KIND,
                t.partitions().stream().map(p -> r.partition(topic, p)).toList(), "topics", topic, "partitions"));
    }

    /** {@code GET …/partitions/{partition}/replicas}: by broker id; 404 when the topic has no such partition. */
    public void replicas(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.NOT_FOUND);
        V3.answer(exchange, admin, base, id -> admin.partition(topic, partition), (r, p) -> r.list(
                io.portico.protocol.v3.ReplicaData.LIST_KIND, p.replicas().stream().sorted().map(b -> r.replica(topic, p, b))
                        .toList(), "topics", topic, "partitions", String.valueOf(partition), "replicas"));
    }

    /** {@code GET …/partitions/{partition}/replicas/{broker_id}}: 404 when that broker holds no replica of it. */
    public void replica(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.NOT_FOUND);
        int broker = Http.intParam(exchange, "broker_id", ErrorCode.NOT_FOUND);
        V3.answer(exchange, admin, base, id -> admin.partition(topic, partition).thenApply(p -> {
            if (!p.replicas().contains(broker)) {
                throw ErrorCode.NOT_FOUND.exception();
            }
            return p;
        }), (r, p) -> r.replica(topic, p, broker));
    }

    /** {@code GET …/partitions/{partition}}: 404 when the topic has no such partition. */
    public void get(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.NOT_FOUND);
        V3.answer(exchange, admin, base, id -> admin.partition(topic, partition), (r, p) -> r.partition(topic, p));
    }

    /**
     * {@code GET …/partitions/{partition}/offset[?offset_type=earliest_and_latest]}: the only
     * offset type Confluent's proxy knows; 400 for another, 40402 for a partition the topic lacks.
     */
    public void offsets(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.PARTITION_NOT_FOUND);
        String type = Http.query(exchange, "offset_type");
        if (type != null && !type.equals(EARLIEST_AND_LATEST)) {
            throw ErrorCode.BAD_REQUEST.exception("offset_type:" + KafkaNames.excerpt(type) + " is invalid");
        }
        V3.answer(exchange, admin, base, id -> admin.partitionOffsets(topic, partition),
                (r, o) -> r.offsets(topic, partition, o));
    }
}
