package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.v3.CreateTopicRequest;
import io.portico.protocol.v3.PartitionsCountRequest;
import io.portico.protocol.v3.TopicData;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.auth.Role;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.portico.sessions.KafkaNames;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/**
 * {@code …/topics}: list (the topics the API key may see), get, create (201 with
 * {@code Location}; 200 and nothing created with {@code validate_only}), delete (204), and
 * {@code PATCH} to raise the partition count.
 */
public final class TopicsHandlers {
    private static final Json.BodyReader<CreateTopicRequest> CREATE_BODY = new Json.BodyReader<>(CreateTopicRequest.class);
    private static final Json.BodyReader<PartitionsCountRequest> PARTITIONS_BODY =
            new Json.BodyReader<>(PartitionsCountRequest.class);

    private final ClusterAdmin admin;
    private final BaseUrl base;
    private final long maxBodyBytes;

    public TopicsHandlers(ClusterAdmin admin, BaseUrl base, long maxBodyBytes) {
        this.admin = admin;
        this.base = base;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** {@code GET …/topics}: sorted by name. */
    public void list(HttpServerExchange exchange) {
        Principal caller = Access.caller(exchange);
        V3.answer(exchange, admin, base, id -> admin.topics(caller::canSee),
                (r, topics) -> r.list(TopicData.LIST_KIND, topics.stream().map(r::topic).toList(), "topics"));
    }

    /** {@code GET …/topics/{topic}}: 404 {@code HTTP 404 Not Found} when it does not exist, as Confluent's. */
    public void get(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        V3.answer(exchange, admin, base, id -> admin.topic(topic).exceptionally(e -> {
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof io.portico.protocol.RestException rest
                    && rest.errorCode() == io.portico.protocol.ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
                throw io.portico.protocol.ErrorCode.NOT_FOUND.exception();
            }
            throw e instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(e);
        }), Resources::topic);
    }

    /**
     * {@code POST …/topics}: the API key needs the manager role on the topic the body names.
     * Kafka's answer gives the partition count and replication factor it chose.
     */
    public void create(HttpServerExchange exchange) {
        V3.readBody(exchange, maxBodyBytes, CREATE_BODY, "Request body is empty. Data is required.", request -> {
            String name = KafkaNames.topic(request.topicName(), ErrorCode.PAYLOAD_ERROR);
            if (!Access.caller(exchange).allows(Role.MANAGER, name)) {
                throw ErrorCode.FORBIDDEN.exception("This API key does not have the manager role on topic '" + name + "'");
            }
            int status = request.dryRun() ? 200 : 201;
            Http.complete(exchange, V3.resolve(exchange, admin, base,
                    id -> admin.createTopic(name, request.partitionsCount(), request.replicationFactor(),
                            request.assignments(), request.configMap(), request.dryRun()),
                    (r, created) -> r.topic(created.name(), false, created.replicationFactor(), created.partitionsCount())),
                    topic -> {
                        if (status == 201) { // a dry run creates nothing to point at
                            exchange.getResponseHeaders().put(Headers.LOCATION, topic.metadata().self());
                        }
                        return new Http.Reply(status, topic);
                    });
        });
    }

    /** {@code DELETE …/topics/{topic}}: 204. */
    public void delete(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        V3.answer(exchange, admin, base, id -> admin.deleteTopic(topic), (r, v) -> Http.NO_CONTENT);
    }

    /**
     * {@code PATCH …/topics/{topic}} {@code {"partitions_count":n}}: the topic with its new count
     * (400/40002 when it has that many or more already).
     */
    public void updatePartitions(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        V3.readBody(exchange, maxBodyBytes, PARTITIONS_BODY, "Request body is empty. Partitions_count is required.",
                request -> {
                    int count = request.partitionsCount();
                    // The topic is described before the change and shown with the count Kafka
                    // accepted: once it has, the answer asks nothing more of the cluster (a failed
                    // look-up after would answer 503, and the client's retry 400, no increase).
                    V3.answer(exchange, admin, base, id -> admin.increasePartitions(topic, count),
                            (r, t) -> r.topic(t.name(), t.internal(), t.replicationFactor(), count));
                });
    }
}
