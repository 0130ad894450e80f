package io.portico.proxy.handlers.v3;

import io.portico.protocol.v3.ClusterData;
import io.portico.protocol.v3.ResourceList;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.undertow.server.HttpServerExchange;
import java.util.List;

/** {@code GET /v3/clusters} (the one cluster behind {@code bootstrap.servers}) and {@code GET /v3/clusters/{cluster_id}}. */
public final class ClustersHandlers {
    private final ClusterAdmin admin;
    private final BaseUrl base;

    public ClustersHandlers(ClusterAdmin admin, BaseUrl base) {
        this.admin = admin;
        this.base = base;
    }

    /** {@code GET /v3/clusters}: a {@code KafkaClusterList} of exactly one cluster. */
    public void list(HttpServerExchange exchange) {
        String baseUrl = base.of(exchange);
        Http.complete(exchange, admin.cluster(), cluster -> ResourceList.of(ClusterData.LIST_KIND,
                Resources.clusters(baseUrl), List.of(new Resources(baseUrl, cluster.id()).cluster(cluster))));
    }

    /** {@code GET /v3/clusters/{cluster_id}}: 404 {@code Cluster <id> cannot be found.} for another id. */
    public void get(HttpServerExchange exchange) {
        V3.answer(exchange, admin, base, id -> admin.cluster(), Resources::cluster);
    }
}
