package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.v3.BrokerData;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.undertow.server.HttpServerExchange;

/** {@code GET /v3/clusters/{cluster_id}/brokers} and {@code …/brokers/{broker_id}} (404 for a broker not in the cluster). */
public final class BrokersHandlers {
    private final ClusterAdmin admin;
    private final BaseUrl base;

    public BrokersHandlers(ClusterAdmin admin, BaseUrl base) {
        this.admin = admin;
        this.base = base;
    }

    /** {@code GET …/brokers}: sorted by id. */
    public void list(HttpServerExchange exchange) {
        V3.answer(exchange, admin, base, id -> admin.cluster(),
                (r, cluster) -> r.list(BrokerData.LIST_KIND, cluster.brokers().stream().map(r::broker).toList(), "brokers"));
    }

    /** {@code GET …/brokers/{broker_id}}. */
    public void get(HttpServerExchange exchange) {
        int brokerId = Http.intParam(exchange, "broker_id", ErrorCode.NOT_FOUND);
        V3.answer(exchange, admin, base, id -> admin.cluster().thenApply(cluster -> cluster.brokers().stream()
                .filter(b -> b.id() == brokerId).findFirst().orElseThrow(ErrorCode.NOT_FOUND::exception)), Resources::broker);
    }
}
