package io.portico.proxy.handlers;

import io.portico.protocol.BrokerList;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.http.Http;
import io.portico.sessions.MetadataService;
import io.undertow.server.HttpServerExchange;
import java.util.function.Function;

/**
 * The v1 metadata endpoints: topics, one topic, its partitions, one partition, brokers. Each asks
 * the admin client without blocking and answers when it does.
 */
public final class MetadataHandlers {
    private final MetadataService metadata;

    public MetadataHandlers(MetadataService metadata) {
        this.metadata = metadata;
    }

    /** {@code GET /topics}: sorted topic names, those the caller's API key may see. */
    public void topics(HttpServerExchange exchange) {
        Http.negotiate(exchange, KafkaMediaTypes.V1_METADATA);
        Principal caller = Access.caller(exchange);
        Http.completeWritten(exchange, metadata.topicNames(caller::canSee), Function.identity());
    }

    /**
     * {@code GET /topics/{topic}}: its configs the per-topic overrides when answered as v1, every
     * setting when answered as v2 (as Confluent's v2 answers).
     */
    public void topic(HttpServerExchange exchange) {
        boolean v2 = Http.negotiate(exchange, KafkaMediaTypes.V1_METADATA).essence().equals(KafkaMediaTypes.V2_JSON);
        Http.completeWritten(exchange, metadata.topic(Http.param(exchange, "topic"), v2), Function.identity());
    }

    /** {@code GET /topics/{topic}/partitions}: sorted by partition id. */
    public void partitions(HttpServerExchange exchange) {
        Http.negotiate(exchange, KafkaMediaTypes.V1_PARTITION_METADATA);
        Http.completeWritten(exchange, metadata.partitions(Http.param(exchange, "topic")), Function.identity());
    }

    /** {@code GET /topics/{topic}/partitions/{partition}}. */
    public void partition(HttpServerExchange exchange) {
        Http.negotiate(exchange, KafkaMediaTypes.V1_PARTITION_METADATA);
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.PARTITION_NOT_FOUND);
        Http.completeWritten(exchange, metadata.partition(topic, partition), Function.identity());
    }

    /** {@code GET /topics/{topic}/partitions/{partition}/offsets}: {@code {"beginning_offset","end_offset"}}. */
    public void partitionOffsets(HttpServerExchange exchange) {
        Http.negotiate(exchange, KafkaMediaTypes.V2_METADATA); // a v2 endpoint: v2's type unless v1's is asked for
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.PARTITION_NOT_FOUND);
        Http.completeWritten(exchange, metadata.partitionOffsets(topic, partition), Function.identity());
    }

    /** {@code GET /brokers}. */
    public void brokers(HttpServerExchange exchange) {
        Http.negotiate(exchange, KafkaMediaTypes.V1_METADATA);
        Http.completeWritten(exchange, metadata.brokerIds(), BrokerList::new);
    }
}
