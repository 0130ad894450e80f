package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.v3.AlterConfigsRequest;
import io.portico.protocol.v3.AlterTopicsConfigsRequest;
import io.portico.protocol.v3.ConfigData;
import io.portico.protocol.v3.UpdateConfigRequest;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.undertow.server.HttpServerExchange;
import java.util.List;

/**
 * {@code …/topics/{topic}/configs}: every setting of the topic, one setting, one setting set
 * ({@code PUT}) or reset to its default ({@code DELETE}), and {@code configs:alter} to set or
 * reset several at once (204; Kafka only checks them with {@code validate_only}).
 */
public final class TopicConfigsHandlers {
    private static final Json.BodyReader<AlterConfigsRequest> ALTER_BODY = new Json.BodyReader<>(AlterConfigsRequest.class);
    private static final Json.BodyReader<AlterTopicsConfigsRequest> ALTER_MANY_BODY =
            new Json.BodyReader<>(AlterTopicsConfigsRequest.class);
    private static final Json.BodyReader<UpdateConfigRequest> UPDATE_BODY = new Json.BodyReader<>(UpdateConfigRequest.class);

    private final ClusterAdmin admin;
    private final BaseUrl base;
    private final long maxBodyBytes;

    public TopicConfigsHandlers(ClusterAdmin admin, BaseUrl base, long maxBodyBytes) {
        this.admin = admin;
        this.base = base;
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * The path's topic; {@code -} is Confluent's "every topic" (served by {@link #listAll} for a
     * {@code GET}): 404 for a change, not the settings of a topic named {@code -}.
     */
    private static String topic(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        if ("-".equals(topic)) {
            throw io.portico.protocol.ErrorCode.NOT_FOUND.exception();
        }
        return topic;
    }

    /** {@code GET …/configs}: sorted by name. */
    public void list(HttpServerExchange exchange) {
        String topic = topic(exchange);
        V3.answer(exchange, admin, base, id -> admin.topicConfigs(topic), (r, configs) -> r.list(ConfigData.TOPIC_LIST_KIND,
                configs.stream().map(c -> r.config(topic, c)).toList(), "topics", topic, "configs"));
    }

    /**
     * {@code GET …/topics/-/configs}: the settings of every topic the API key may see, by topic
     * name, then by name (internal topics only with {@code topics.show.internal}, as the topic
     * list shows them).
     */
    public void listAll(HttpServerExchange exchange) {
        Principal caller = Access.caller(exchange);
        V3.Room room = new V3.Room(exchange, "ask each topic's settings");
        V3.answer(exchange, admin, base, id -> admin.allTopicConfigs(caller::canSee, topics -> room.take(
                (long) topics * TOPIC_CONFIGS_BYTES, "the settings of " + topics + " topics (" + TOPIC_CONFIGS_BYTES / 1024
                        + " KiB a topic)")), (r, configs) -> r.list(ConfigData.TOPIC_LIST_KIND,
                configs.stream().map(c -> r.config(c.topic(), c.config())).toList(), "topics", "-", "configs"), room);
    }

    /**
     * Room taken for each topic of {@link #listAll} before its settings are asked: about 40
     * settings of 600 to 700 bytes of JSON each, with their synonyms.
     */
    static final int TOPIC_CONFIGS_BYTES = 32 * 1024;

    /** {@code GET …/configs/{name}}: 404 when the topic has no such setting. */
    public void get(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        String name = Http.param(exchange, "name");
        V3.answer(exchange, admin, base, id -> admin.topicConfig(topic, name), (r, c) -> r.config(topic, c));
    }

    /** {@code POST …/configs:alter}: {@code {"data":[{"name","value","operation"}],"validate_only"}}. */
    public void alter(HttpServerExchange exchange) {
        String topic = topic(exchange);
        V3.readBody(exchange, maxBodyBytes, ALTER_BODY, "Null input provided. Data is required.", request -> {
            List<ClusterAdmin.ConfigChange> changes = request.data().stream()
                    .map(e -> new ClusterAdmin.ConfigChange(e.name(), e.value(), e.delete())).toList();
            V3.answer(exchange, admin, base, id -> admin.alterTopicConfigs(id, topic, changes, request.dryRun()),
                    (r, v) -> Http.NO_CONTENT);
        });
    }
    /**
     * {@code POST …/topics/-/configs:alter} (kafka-rest 8): several topics' settings at once,
     * {@code {"data":[{"topic_name","configs":[{"name","value","operation"}]}],"validate_only"}}.
     * The key needs the manager role on every topic named (403 naming the first it lacks, nothing
     * changed); an unknown topic or setting is a 404 with nothing changed; 204 when Kafka made (or,
     * with {@code validate_only}, would make) every topic's changes, else 207 with
     * {@code {"failures":[{"topic_name","error_code","message"}]}} for the topics it refused (the
     * others' changes were made), as Confluent's answers.
     */
    public void alterMany(HttpServerExchange exchange) {
        Principal caller = Access.caller(exchange);
        V3.readBody(exchange, maxBodyBytes, ALTER_MANY_BODY, "Null input provided. Data is required.", request -> {
            java.util.Map<String, List<ClusterAdmin.ConfigChange>> changes = new java.util.LinkedHashMap<>();
            for (AlterTopicsConfigsRequest.Topic t : request.data()) {
                String topic = t.topicName();
                io.portico.sessions.KafkaNames.topic(topic);
                if (!caller.allows(io.portico.proxy.auth.Role.MANAGER, topic)) {
                    throw ErrorCode.FORBIDDEN.exception("This API key does not have the " + io.portico.proxy.auth.Role.MANAGER
                            + " role on topic '"
                            + io.portico.sessions.KafkaNames.excerpt(topic) + "'");
                }
                io.portico.sessions.KafkaNames.notReserved(topic);
                changes.put(topic, t.configs().stream()
                        .map(e -> new ClusterAdmin.ConfigChange(e.name(), e.value(), e.delete())).toList());
            }
            V3.answer(exchange, admin, base, id -> admin.alterTopicsConfigs(id, changes, request.dryRun()),
                    (r, refused) -> refused.isEmpty() ? Http.NO_CONTENT : new Http.Reply(207,
                            new AlterTopicsConfigsRequest.Failures(refused.entrySet().stream()
                                    .map(e -> new AlterTopicsConfigsRequest.Failure(e.getKey(),
                                            e.getValue().body().errorCode(), e.getValue().body().message()))
                                    .toList())));
        });
    }

    /** {@code PUT …/configs/{name}}: {@code {"value"}}; 204, as Confluent's quick start sets one. */
    public void update(HttpServerExchange exchange) {
        String topic = topic(exchange);
        String name = Http.param(exchange, "name");
        V3.readBody(exchange, maxBodyBytes, UPDATE_BODY, "Null input provided. Data is required.", request ->
                change(exchange, topic, new ClusterAdmin.ConfigChange(name, request.value(), false)));
    }

    /** {@code DELETE …/configs/{name}}: the setting back to its default; 204. */
    public void reset(HttpServerExchange exchange) {
        String topic = topic(exchange);
        change(exchange, topic, new ClusterAdmin.ConfigChange(Http.param(exchange, "name"), null, true));
    }

    private void change(HttpServerExchange exchange, String topic, ClusterAdmin.ConfigChange change) {
        V3.answer(exchange, admin, base, id -> admin.alterTopicConfigs(id, topic, List.of(change), false),
                (r, v) -> Http.NO_CONTENT);
    }
}
