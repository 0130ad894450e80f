package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.v3.ReassignmentData;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.undertow.server.HttpServerExchange;

/**
 * Partitions being moved between brokers (Kafka's partition reassignments), read only:
 * {@code …/topics/-/partitions/-/reassignment} (every one of the topics the API key may see),
 * {@code …/topics/{topic}/partitions/-/reassignment} (one topic's: an empty list when none moves)
 * and {@code …/topics/{topic}/partitions/{partition}/reassignment} (404 when it is not moving).
 */
public final class ReassignmentsHandlers {
    private final ClusterAdmin admin;
    private final BaseUrl base;

    public ReassignmentsHandlers(ClusterAdmin admin, BaseUrl base) {
        this.admin = admin;
        this.base = base;
    }

    /** {@code GET …/topics/-/partitions/-/reassignment}: by topic and partition. */
    public void listAll(HttpServerExchange exchange) {
        Principal caller = Access.caller(exchange);
        V3.answer(exchange, admin, base, id -> admin.reassignments(caller::canSee), (r, all) -> r.list(
                ReassignmentData.LIST_KIND, all.stream().map(a -> r.reassignment(a, false)).toList(),
                "topics", "-", "partitions", "-", "reassignment"));
    }

    /** {@code GET …/topics/{topic}/partitions/-/reassignment}: by partition. */
    public void list(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        V3.answer(exchange, admin, base, id -> admin.reassignments(topic::equals), (r, all) -> r.list(
                ReassignmentData.LIST_KIND, all.stream().map(a -> r.reassignment(a, false)).toList(),
                "topics", topic, "partitions", "-", "reassignment"));
    }

    /** {@code GET …/topics/{topic}/partitions/{partition}/reassignment}: 404 when that partition is not moving. */
    public void get(HttpServerExchange exchange) {
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.NOT_FOUND);
        V3.answer(exchange, admin, base, id -> admin.reassignments(topic::equals).thenApply(all -> all.stream()
                .filter(a -> a.partition() == partition).findFirst().orElseThrow(ErrorCode.NOT_FOUND::exception)),
                (r, a) -> r.reassignment(a, true));
    }
}
