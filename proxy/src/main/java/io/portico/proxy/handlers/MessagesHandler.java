package io.portico.proxy.handlers;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.protocol.RecordsWriter;
import io.portico.proxy.auth.Access;
import io.portico.proxy.http.Budgets;
import io.portico.proxy.http.Http;
import io.portico.schemas.SchemaService;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.OffsetReader;
import io.portico.sessions.ResponseRoom;
import io.undertow.server.HttpServerExchange;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * {@code GET /topics/{topic}/partitions/{partition}/messages?offset=&count=}: a stateless read by
 * offset, rendered in the embedded format the {@code Accept} header selects (binary unless json
 * or avro is asked for by name; avro needs a schema registry, and each record is decoded by the
 * schema id it carries). Runs on the consumer pool; the reader itself is a bounded pool.
 */
public final class MessagesHandler {
    private final OffsetReader reader;
    private final io.portico.proxy.http.PoolShares pool;
    private final io.portico.proxy.http.PoolShares schemaPool;
    private final int countMax;
    private final SchemaService schemas;

    /**
     * @param schemas the schema formats' service, or null when no schema registry is configured
     * @param schemaPool where reads of the schema formats run (decoding may wait on the schema
     *        registry), each API key's share of it
     */
    public MessagesHandler(OffsetReader reader, io.portico.proxy.http.PoolShares pool, io.portico.proxy.http.PoolShares schemaPool,
                           int countMax,
                           SchemaService schemas) {
        this.reader = reader;
        this.pool = pool;
        this.schemaPool = schemaPool;
        this.countMax = countMax;
        this.schemas = schemas;
    }

    public void read(HttpServerExchange exchange) {
        EmbeddedFormat format = KafkaMediaTypes.v1ReadFormat(Http.negotiate(exchange, KafkaMediaTypes.V1_RECORDS));
        if (format == EmbeddedFormat.AVRO && schemas == null) {
            throw ErrorCode.SCHEMA_REGISTRY_REQUIRED.exception();
        }
        String topic = KafkaNames.topic(Http.param(exchange, "topic"));
        int partition = Http.intParam(exchange, "partition", ErrorCode.PARTITION_NOT_FOUND);
        // No offset reads from 0, as Confluent's (a Java long left unset) does.
        long offset = Http.longQuery(exchange, "offset", 0);
        if (offset < 0) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter offset must not be negative");
        }
        long asked = Http.longQuery(exchange, "count", 1);
        if (asked < 1) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter count must be at least 1");
        }
        // More than read.count.max reads that many, as a read past the log end reads what there is:
        // the client reads on from the last offset it got (Confluent sets no cap).
        int count = (int) Math.min(asked, countMax);
        // Rendered on the pool thread too: JSON for a thousand records is work for no IO thread.
        String owner = Access.caller(exchange).owner(); // at most half the pooled readers per API key
        ResponseRoom room = new ResponseRoom(Budgets.responseLease(exchange), Budgets.settings(exchange).memoryWait());
        // On the caller's share of the pool: a read holds its thread while Kafka answers.
        Http.run(exchange, (format.needsSchemaRegistry() ? schemaPool : pool).of(owner), () -> {
            List<ConsumedRecord> records = reader.read(owner, topic, partition, offset, count, room, Long.MAX_VALUE);
            if (format.needsSchemaRegistry()) {
                List<ConsumedRecord> decoded = new ArrayList<>(records.size());
                int end = records.size(); // records from here on gave their room back
                for (int i = 0; i < end; i++) {
                    ConsumedRecord r = records.get(i);
                    ConsumedRecord d;
                    try {
                        d = schemas.decode(format, r);
                    } catch (RuntimeException e) {
                        if (decoded.isEmpty()) {
                            throw e; // the first record does not decode: the read fails, naming it
                        }
                        break; // the records before it are answered; a read from its offset names it
                    }
                    // Its JSON may be many times its avro bytes: room for that too, or the response
                    // ends before it. The first record must go out: the last records give their
                    // room back until its JSON fits, and then it waits for what is still missing.
                    if (i > 0) {
                        if (!room.grow(r.size(), d.size())) {
                            break;
                        }
                    } else {
                        while (end > 1 && !room.grow(r.size(), d.size())) {
                            room.drop(records.get(--end).size());
                        }
                        if (end == 1) {
                            room.growFirst(r.size(), d.size());
                        }
                    }
                    decoded.add(d);
                }
                return new Http.RawJson(RecordsWriter.write(decoded, EmbeddedFormat.JSON, false));
            }
            return new Http.RawJson(RecordsWriter.write(records, format, false));
        });
    }
}
