package io.portico.proxy.handlers;

import io.portico.protocol.AdminTopics;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.MediaType;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.auth.Role;
import io.portico.proxy.http.Http;
import io.portico.sessions.KafkaNames;
import io.portico.sessions.MetadataService;
import io.undertow.server.HttpServerExchange;
import java.util.function.Function;

/**
 * IBM Event Streams' topic admin API, as far as IBM's Node client and samples use it:
 * {@code POST /admin/topics} (202, or 422/42201 when the topic exists), {@code GET /admin/topics},
 * {@code GET /admin/topics/{topic}}, {@code DELETE /admin/topics/{topic}} (202). JSON in and out;
 * everything asks the admin client without blocking.
 */
public final class AdminTopicsHandlers {
    private static final Json.BodyReader<AdminTopics.CreateRequest> CREATE_BODY =
            new Json.BodyReader<>(AdminTopics.CreateRequest.class);

    private final MetadataService metadata;
    private final long maxBodyBytes;

    public AdminTopicsHandlers(MetadataService metadata, long maxBodyBytes) {
        this.metadata = metadata;
        this.maxBodyBytes = maxBodyBytes;
    }

    public void create(HttpServerExchange exchange) {
        String contentType = Http.contentType(exchange);
        MediaType type = contentType == null ? Http.JSON : MediaType.parse(contentType);
        if (type == null || !type.essence().equals("application/json")) {
            throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
        }
        Http.readBody(exchange, Math.min(maxBodyBytes, Http.ADMIN_BODY_MAX_BYTES), body -> {
            AdminTopics.CreateRequest request = CREATE_BODY.read(body, EmbeddedFormat.JSON);
            // A name Kafka cannot have is refused as such (422) before the key's globs see it.
            KafkaNames.topic(request.name(), ErrorCode.UNPROCESSABLE_ENTITY);
            if (!Access.caller(exchange).allows(Role.MANAGER, request.name())) {
                throw ErrorCode.FORBIDDEN.exception("This API key does not have the manager role on topic '"
                        + KafkaNames.excerpt(request.name()) + "'");
            }
            Http.complete(exchange, metadata.createTopic(request.name(), request.partitionsOrDefault(),
                    request.replicationFactor(), request.kafkaConfigs()), v -> Http.ACCEPTED);
        });
    }

    public void list(HttpServerExchange exchange) {
        Principal caller = Access.caller(exchange);
        Http.completeWritten(exchange, metadata.adminTopics(caller::canSee), Function.identity());
    }

    public void get(HttpServerExchange exchange) {
        Http.completeWritten(exchange, metadata.adminTopic(Http.param(exchange, "topic")), Function.identity());
    }

    public void delete(HttpServerExchange exchange) {
        Http.complete(exchange, metadata.deleteTopic(Http.param(exchange, "topic")), v -> Http.ACCEPTED);
    }
}
