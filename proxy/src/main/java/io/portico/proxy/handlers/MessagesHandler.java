package io.portico.proxy.handlers;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.protocol.RecordsWriter;
import io.portico.proxy.http.Budgets;
import io.portico.proxy.http.Http;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.OffsetReader;
import io.portico.sessions.ResponseRoom;
import io.undertow.server.HttpServerExchange;
import java.util.concurrent.Executor;

/**
 * {@code GET /topics/{topic}/partitions/{partition}/messages?offset=&count=}: a stateless read by
 * offset, rendered in the embedded format the {@code Accept} header selects (binary unless json
 * is asked for by name). Runs on the consumer pool; the reader itself is a bounded pool.
 */
public final class MessagesHandler {
    private final OffsetReader reader;
    private final Executor pool;
    private final int countMax;

    public MessagesHandler(OffsetReader reader, Executor pool, int countMax) {
        this.reader = reader;
        this.pool = pool;
        this.countMax = countMax;
    }

    public void read(HttpServerExchange exchange) {
        EmbeddedFormat format = KafkaMediaTypes.v1ReadFormat(Http.negotiate(exchange, KafkaMediaTypes.V1_RECORDS));
        if (format == EmbeddedFormat.AVRO) {
            throw ErrorCode.SCHEMA_REGISTRY_REQUIRED.exception();
        }
        String topic = KafkaNames.topic(Http.param(exchange, "topic"));
        int partition = Http.intParam(exchange, "partition", ErrorCode.PARTITION_NOT_FOUND);
        if (Http.query(exchange, "offset") == null) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter offset is required");
        }
        long offset = Http.longQuery(exchange, "offset", -1);
        if (offset < 0) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter offset must not be negative");
        }
        long count = Http.longQuery(exchange, "count", 1);
        if (count < 1 || count > countMax) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter count must be between 1 and " + countMax);
        }
        // Rendered on the pool thread too: JSON for a thousand records is work for no IO thread.
        ResponseRoom room = new ResponseRoom(Budgets.responseLease(exchange), Budgets.settings(exchange).memoryWait());
        Http.run(exchange, pool, () -> new Http.RawJson(RecordsWriter.write(
                reader.read(topic, partition, offset, (int) count, room), format, false)));
    }
}
