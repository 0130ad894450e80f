package io.portico.proxy.handlers;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.KafkaMediaTypes;
import io.portico.protocol.MediaType;
import io.portico.protocol.RestException;
import io.portico.protocol.ServerSentEvents;
import io.portico.protocol.ServerSentEvents.EventId;
import io.portico.protocol.v3.ProduceRecord;
import io.portico.protocol.v3.RecordListWriter;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.http.EventStream;
import io.portico.proxy.http.EventStreams;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.portico.sessions.ConsumerInstance;
import io.portico.sessions.ConsumerRegistry;
import io.portico.sessions.KafkaErrors;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.OffsetReader;
import io.portico.sessions.PartitionStream;
import io.portico.sessions.ResponseRoom;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.apache.kafka.common.TopicPartition;

/**
 * The reads that answer {@code Accept: text/event-stream} with Server-Sent Events, one event per
 * record (see {@link ServerSentEvents}), on the same routes as the plain reads:
 * <ul>
 * <li>consumer instances, v1 ({@code …/topics/{topic}}, subscribing as a first read does) and v2
 *     ({@code …/records}): the instance's records in its format, as they come, for as long as the
 *     client reads; {@code Last-Event-ID} resumes after the last record received;</li>
 * <li>reads by offset, v1 ({@code …/partitions/{p}/messages}) and v3 ({@code …/partitions/{p}/records}):
 *     the partition from {@code offset} on (or right after {@code Last-Event-ID}), then live.</li>
 * </ul>
 * A browser's {@code EventSource} cannot set headers: {@code last_event_id} in the query does
 * what {@code Last-Event-ID} does (the header wins), and {@code format} ({@code binary},
 * {@code json}) chooses v1's embedded format of a read by offset.
 */
public final class EventStreamHandlers {
    private static final HttpString LAST_EVENT_ID = new HttpString("Last-Event-ID");
    private static final MediaType V2 = MediaType.parse(KafkaMediaTypes.V2_JSON);

    private final ConsumerRegistry registry;
    private final OffsetReader reader;
    private final ClusterAdmin cluster;
    private final EventStreams streams;
    private final Duration readWait;

    /** A record a partition stream could not render, in one rendering (a route and its format). */
    private record Unshown(String topic, int partition, long offset, String rendering) {
    }

    /**
     * Records partition streams could not render lately (a json read's record that is not JSON),
     * with why: a stream asked to start at one (an EventSource reconnecting with the id of the
     * record before it, after the error event that ended its stream) is answered that error as
     * JSON before it starts, which ends the EventSource's reconnecting; as a new stream's error
     * event, it reconnected every few seconds to meet the same record, for as long as its page
     * stayed open. A record does not change: a minute keeps well past an EventSource's retry.
     */
    private final com.github.benmanes.caffeine.cache.Cache<Unshown, RestException> unshown =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(10_000)
                    .expireAfterWrite(Duration.ofMinutes(1)).executor(Runnable::run).build();

    /**
     * @param readWait how long a partition stream's fetch waits for records before it asks again
     *        ({@code consumer.request.timeout.ms})
     */
    public EventStreamHandlers(ConsumerRegistry registry, OffsetReader reader, ClusterAdmin cluster,
                               EventStreams streams, Duration readWait) {
        this.registry = registry;
        this.reader = reader;
        this.cluster = cluster;
        this.streams = streams;
        this.readWait = readWait;
    }

    /**
     * A route whose {@code GET} streams events when the client asks for them, and answers
     * {@code plain} otherwise.
     */
    public static HttpHandler orPlain(HttpHandler stream, HttpHandler plain) {
        return exchange -> {
            if (ServerSentEvents.accepted(Http.accept(exchange))) {
                stream.handleRequest(exchange);
            } else {
                plain.handleRequest(exchange);
            }
        };
    }

    /** {@code GET /consumers/{group}/instances/{instance}/topics/{topic}} as events. */
    public void v1Instance(HttpServerExchange exchange) {
        exchange.putAttachment(Http.RESPONSE_TYPE, MediaType.parse(KafkaMediaTypes.V1_JSON));
        EmbeddedFormat asked = askedFormat(exchange, 1);
        String topic = KafkaNames.topic(Http.param(exchange, "topic"));
        instance(exchange, topic, asked, ServerSentEvents::v1);
    }

    /** {@code GET /consumers/{group}/instances/{instance}/records} as events. */
    public void v2Instance(HttpServerExchange exchange) {
        exchange.putAttachment(Http.RESPONSE_TYPE, V2);
        EmbeddedFormat asked = askedFormat(exchange, 2);
        instance(exchange, null, asked, ServerSentEvents::v2);
    }

    /**
     * The embedded format a client names beside {@code text/event-stream} in {@code Accept}
     * ({@code application/vnd.kafka.json.v2+json}, say), or null: vague types and wildcards name
     * none, and an {@code EventSource} asks for the stream alone (the instance's format then).
     */
    private static EmbeddedFormat askedFormat(HttpServerExchange exchange, int version) {
        for (MediaType range : MediaType.parseAccept(exchange.getRequestHeaders().getFirst(Headers.ACCEPT))) {
            if (range.quality() <= 0 || !range.type().equals("application")) {
                continue;
            }
            for (EmbeddedFormat f : EmbeddedFormat.values()) {
                if (range.subtype().equals("vnd.kafka." + f.wireName() + ".v" + version + "+json")) {
                    return f;
                }
            }
        }
        return null;
    }

    private void instance(HttpServerExchange exchange, String v1Topic, EmbeddedFormat asked,
                          Renderer render) {
        String group = Http.param(exchange, "group");
        String name = Http.param(exchange, "instance");
        EventId last = lastEventId(exchange);
        String caller = Access.caller(exchange).owner();
        Principal live = Access.liveStream(exchange);
        EventStream.start(exchange, streams, caller, () -> {
            ConsumerInstance instance = registry.owned(group, name, caller);
            if (asked != null && instance.format() != asked) {
                throw ErrorCode.CONSUMER_FORMAT_MISMATCH.exception();
            }
            ConsumerInstance.ResumeAfter resume = last == null ? null
                    : new ConsumerInstance.ResumeAfter(new TopicPartition(last.topic(), last.partition()), last.offset());
            ConsumerInstance.Stream stream = registry.openStream(instance, v1Topic, resume);
            // A schema format's records come decoded to JSON text (the instance's decoder): written as json.
            EmbeddedFormat format = instance.format().needsSchemaRegistry() ? EmbeddedFormat.JSON : instance.format();
            return new EventStream.Source() {
                @Override
                public EventStream.Events next(ResponseRoom room) {
                    // The key as its file reads now: a key narrowed or removed meanwhile ends the
                    // stream (403). v1's topic is among the instance's named topics once subscribed.
                    InstanceAccess.stillReadable(live, instance);
                    List<ConsumedRecord> records;
                    try {
                        records = registry.next(stream, EventStream.BATCH_MAX_BYTES, room);
                    } catch (RestException e) {
                        if (e.errorCode() == ErrorCode.CONSUMER_INSTANCE_NOT_FOUND) {
                            return EventStream.Events.END; // deleted, or Portico shuts down: the stream ends
                        }
                        // A key removed while the poll ran (its pattern then matches nothing, and
                        // the instance is no longer subscribed): the key's end is the reason, 403.
                        InstanceAccess.stillReadable(live, instance);
                        throw e;
                    }
                    if (!stream.isOpen()) {
                        return EventStream.Events.END; // a resuming stream took over
                    }
                    ServerSentEvents.Rendered r = render.render(records, format);
                    // Once written, a commit covers these records, and a client that leaves is not given them again.
                    long batch = stream.handedOut();
                    return new EventStream.Events(r.bytes(), r.error(), false, () -> stream.written(batch));
                }

                @Override
                public void idle() {
                    stream.keepInGroup();
                }

                @Override
                public void cancel() {
                    // The instance is free for a reconnecting client at once: the running read
                    // ends at its next slice, what it holds kept for the next stream or read.
                    stream.close();
                }

                @Override
                public void close() {
                    registry.closeStream(stream);
                }
            };
        });
    }

    @FunctionalInterface
    private interface Renderer {
        ServerSentEvents.Rendered render(List<ConsumedRecord> records, EmbeddedFormat format);
    }

    /** {@code GET /topics/{topic}/partitions/{partition}/messages?offset=[&format=]} as events, then live. */
    public void v1Partition(HttpServerExchange exchange) {
        exchange.putAttachment(Http.RESPONSE_TYPE, MediaType.parse(KafkaMediaTypes.V1_JSON));
        EmbeddedFormat format = queryFormat(exchange);
        if (format == null) {
            EmbeddedFormat asked = askedFormat(exchange, 1);
            format = asked == null ? EmbeddedFormat.BINARY : asked;
        }
        if (format.needsSchemaRegistry()) {
            throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception("A partition's event stream is binary or json; "
                    + "read schema formats through a consumer instance's stream, or the plain read by offset");
        }
        EmbeddedFormat f = format;
        partition(exchange, records -> ServerSentEvents.v1(records, f), "v1 " + f, null);
    }

    /**
     * {@code GET /v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/records?offset=[&type=]}
     * as events, each record a {@code KafkaRecord}, then live.
     */
    public void v3Partition(HttpServerExchange exchange) {
        exchange.putAttachment(Http.RESPONSE_TYPE, Http.JSON);
        String clusterId = Http.param(exchange, "cluster_id");
        ProduceRecord.Type both = type(exchange, "type", ProduceRecord.Type.BINARY);
        ProduceRecord.Type keyType = type(exchange, "key_type", both);
        ProduceRecord.Type valueType = type(exchange, "value_type", both);
        String topic = KafkaNames.topic(Http.param(exchange, "topic"));
        String[] id = new String[1];
        partition(exchange, records -> ServerSentEvents.each(records,
                r -> RecordListWriter.record(id[0], topic, r, keyType, valueType)), "v3 " + keyType + " " + valueType, () -> {
                    try {
                        id[0] = cluster.requireCluster(clusterId).join();
                    } catch (RuntimeException e) {
                        throw KafkaErrors.toRestException(e);
                    }
                });
    }

    /**
     * A partition from {@code offset} (or right after {@code Last-Event-ID}) on, then live;
     * {@code check} runs first on the pool (v3: the cluster id). {@code rendering} names the
     * route and format {@code render} renders in (see {@link #unshown}).
     */
    private void partition(HttpServerExchange exchange, Function<List<ConsumedRecord>, ServerSentEvents.Rendered> render,
                           String rendering, Runnable check) {
        String topic = KafkaNames.topic(Http.param(exchange, "topic"));
        int partition = Http.intParam(exchange, "partition", ErrorCode.PARTITION_NOT_FOUND);
        EventId last = lastEventId(exchange);
        long offset;
        if (last != null) {
            if (!last.topic().equals(topic) || last.partition() != partition) {
                throw ErrorCode.BAD_REQUEST.exception("Last-Event-ID " + last + " is not a record of this partition");
            }
            if (last.offset() == Long.MAX_VALUE) {
                throw ErrorCode.BAD_REQUEST.exception("Last-Event-ID " + last + " names no record a partition can hold");
            }
            offset = last.offset() + 1;
        } else {
            if (!Http.hasQuery(exchange, "offset")) {
                throw ErrorCode.BAD_REQUEST.exception("Query parameter offset is required");
            }
            offset = Http.longQuery(exchange, "offset", -1);
            if (offset < 0) {
                throw ErrorCode.BAD_REQUEST.exception("Query parameter offset must not be negative");
            }
        }
        long from = offset;
        Principal live = Access.liveStream(exchange);
        String owner = Access.caller(exchange).owner();
        EventStream.start(exchange, streams, owner, () -> {
            if (check != null) {
                check.run();
            }
            PartitionStream stream = reader.stream(topic, partition, from, owner);
            // Looked up once the partition is open: a topic deleted since is its own error, not this.
            RestException known = unshown.getIfPresent(new Unshown(topic, partition, from, rendering));
            if (known != null) {
                stream.close();
                throw known; // the JSON answer: nothing streamed
            }
            return new EventStream.Source() {
                private long afterShown = from; // where a resume after the last record shown starts

                @Override
                public EventStream.Events next(ResponseRoom room) {
                    // The key as its file reads now: a key narrowed or removed meanwhile ends the stream (403).
                    InstanceAccess.stillReadable(live, topic);
                    List<ConsumedRecord> records = stream.next(readWait, EventStream.BATCH_MAX_BYTES, room);
                    ServerSentEvents.Rendered r = render.apply(records);
                    if (r.count() > 0) {
                        afterShown = records.get(r.count() - 1).offset() + 1;
                    }
                    if (r.error() != null && r.count() < records.size()) {
                        // Under the record's offset, and under where a resume after the record shown
                        // before it asks to start: offsets between them (transaction markers, aborted
                        // or compacted records) are never shown.
                        unshown.put(new Unshown(topic, partition, records.get(r.count()).offset(), rendering), r.error());
                        unshown.put(new Unshown(topic, partition, afterShown, rendering), r.error());
                    }
                    return new EventStream.Events(r.bytes(), r.error(), false);
                }

                @Override
                public void cancel() {
                    stream.cancel(); // a poll waiting up to consumer.request.timeout.ms returns now
                }

                @Override
                public void close() {
                    stream.close();
                }
            };
        });
    }

    /** {@code Last-Event-ID}, else the {@code last_event_id} query parameter (for EventSource); null when neither. */
    private static EventId lastEventId(HttpServerExchange exchange) {
        String header = exchange.getRequestHeaders().getFirst(LAST_EVENT_ID);
        return EventId.parse(header != null && !header.isBlank() ? header : Http.query(exchange, "last_event_id"));
    }

    private static EmbeddedFormat queryFormat(HttpServerExchange exchange) {
        String value = Http.query(exchange, "format");
        if (value == null) {
            return null;
        }
        EmbeddedFormat f = EmbeddedFormat.fromWireName(value);
        if (f == null) {
            throw ErrorCode.BAD_REQUEST.exception("Query parameter format must be binary or json");
        }
        return f;
    }

    private static ProduceRecord.Type type(HttpServerExchange exchange, String name, ProduceRecord.Type absent) {
        return io.portico.proxy.handlers.v3.ReadV3Handler.type(exchange, name, absent);
    }
}
