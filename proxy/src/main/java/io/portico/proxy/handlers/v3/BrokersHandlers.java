package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.v3.BrokerData;
import io.portico.protocol.v3.ReplicaData;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.undertow.server.HttpServerExchange;

/**
 * {@code GET /v3/clusters/{cluster_id}/brokers}, {@code …/brokers/{broker_id}} (404 for a broker
 * not in the cluster) and the replicas a broker holds.
 */
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

    /**
     * {@code GET …/brokers/{broker_id}/partition-replicas}: the replicas the broker holds of the
     * topics the API key may see, by topic and partition; 404 for a broker the cluster lacks.
     */
    public void replicas(HttpServerExchange exchange) {
        int brokerId = Http.intParam(exchange, "broker_id", ErrorCode.NOT_FOUND);
        Principal caller = Access.caller(exchange);
        V3.answer(exchange, admin, base, id -> admin.replicasOf(brokerId, caller::canSee), (r, replicas) -> r.list(
                ReplicaData.LIST_KIND, replicas.stream().map(x -> r.replica(x.topic(), x.partition(), x.broker())).toList(),
                "brokers", String.valueOf(brokerId), "partition-replicas"));
    }

    /** {@code GET …/brokers/{broker_id}}. */
    public void get(HttpServerExchange exchange) {
        int brokerId = Http.intParam(exchange, "broker_id", ErrorCode.NOT_FOUND);
        V3.answer(exchange, admin, base, id -> admin.cluster().thenApply(cluster -> cluster.brokers().stream()
                .filter(b -> b.id() == brokerId).findFirst().orElseThrow(ErrorCode.NOT_FOUND::exception)), Resources::broker);
    }
}
