package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.v3.AlterConfigsRequest;
import io.portico.protocol.v3.ConfigData;
import io.portico.protocol.v3.UpdateConfigRequest;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.undertow.server.HttpServerExchange;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Broker settings: {@code …/brokers/{broker_id}/configs} (every setting of one broker, one
 * setting, {@code PUT} and {@code DELETE} of one, {@code configs:alter}), {@code …/brokers/-/configs}
 * (every broker's), and the cluster-wide ones every broker takes unless it has its own,
 * {@code …/broker-configs} (those set, one, {@code PUT}, {@code DELETE}, {@code broker-configs:alter}).
 * Changes answer 204, as the topic settings' do.
 */
public final class BrokerConfigsHandlers {
    private static final Json.BodyReader<AlterConfigsRequest> ALTER_BODY = new Json.BodyReader<>(AlterConfigsRequest.class);
    private static final Json.BodyReader<UpdateConfigRequest> UPDATE_BODY = new Json.BodyReader<>(UpdateConfigRequest.class);
    private static final String NO_DATA = "Null input provided. Data is required.";

    private final ClusterAdmin admin;
    private final BaseUrl base;
    private final long maxBodyBytes;

    public BrokerConfigsHandlers(ClusterAdmin admin, BaseUrl base, long maxBodyBytes) {
        this.admin = admin;
        this.base = base;
        this.maxBodyBytes = maxBodyBytes;
    }

    private static int broker(HttpServerExchange exchange) {
        return Http.intParam(exchange, "broker_id", ErrorCode.NOT_FOUND);
    }

    /** {@code GET …/brokers/{broker_id}/configs}: sorted by name; 404 for a broker the cluster lacks. */
    public void list(HttpServerExchange exchange) {
        int broker = broker(exchange);
        V3.answer(exchange, admin, base, id -> admin.brokerConfigs(broker), (r, configs) -> r.list(ConfigData.BROKER_LIST_KIND,
                configs.stream().map(c -> r.brokerConfig(broker, c)).toList(), "brokers", String.valueOf(broker), "configs"));
    }

    /** {@code GET …/brokers/-/configs}: every broker's settings, by broker id, then by name. */
    public void listAll(HttpServerExchange exchange) {
        V3.answer(exchange, admin, base, id -> admin.allBrokerConfigs(), (r, byBroker) -> {
            List<ConfigData> data = new ArrayList<>();
            for (Map.Entry<Integer, List<ClusterAdmin.Config>> e : byBroker.entrySet()) {
                for (ClusterAdmin.Config c : e.getValue()) {
                    data.add(r.brokerConfig(e.getKey(), c));
                }
            }
            return r.list(ConfigData.BROKER_LIST_KIND, data, "brokers", "-", "configs");
        });
    }

    /** {@code GET …/brokers/{broker_id}/configs/{name}}: 404 when the broker has no such setting. */
    public void get(HttpServerExchange exchange) {
        int broker = broker(exchange);
        String name = Http.param(exchange, "name");
        V3.answer(exchange, admin, base, id -> admin.brokerConfig(broker, name), (r, c) -> r.brokerConfig(broker, c));
    }

    /** {@code PUT …/brokers/{broker_id}/configs/{name}}: {@code {"value"}}; a name the broker lacks is 404. */
    public void update(HttpServerExchange exchange) {
        int broker = broker(exchange);
        String name = Http.param(exchange, "name");
        V3.readBody(exchange, maxBodyBytes, UPDATE_BODY, NO_DATA, request -> V3.answer(exchange, admin, base,
                id -> admin.alterBrokerConfigs(id, broker, List.of(new ClusterAdmin.ConfigChange(name, request.value(), false)),
                        false), (r, v) -> Http.NO_CONTENT));
    }

    /** {@code DELETE …/brokers/{broker_id}/configs/{name}}: the broker's own value removed. */
    public void reset(HttpServerExchange exchange) {
        int broker = broker(exchange);
        String name = Http.param(exchange, "name");
        V3.answer(exchange, admin, base, id -> admin.alterBrokerConfigs(id, broker,
                List.of(new ClusterAdmin.ConfigChange(name, null, true)), false), (r, v) -> Http.NO_CONTENT);
    }

    /** {@code POST …/brokers/{broker_id}/configs:alter}: as a topic's {@code configs:alter}. */
    public void alter(HttpServerExchange exchange) {
        int broker = broker(exchange);
        V3.readBody(exchange, maxBodyBytes, ALTER_BODY, NO_DATA, request -> V3.answer(exchange, admin, base,
                id -> admin.alterBrokerConfigs(id, broker, changes(request), request.dryRun()), (r, v) -> Http.NO_CONTENT));
    }

    /** {@code GET …/broker-configs}: the cluster-wide settings set, sorted by name (none set: an empty list). */
    public void listCluster(HttpServerExchange exchange) {
        V3.answer(exchange, admin, base, id -> admin.clusterConfigs(), (r, configs) -> r.list(ConfigData.CLUSTER_LIST_KIND,
                configs.stream().map(r::clusterConfig).toList(), "broker-configs"));
    }

    /** {@code GET …/broker-configs/{name}}: 404 when that setting is not set cluster-wide. */
    public void getCluster(HttpServerExchange exchange) {
        String name = Http.param(exchange, "name");
        V3.answer(exchange, admin, base, id -> admin.clusterConfig(name), Resources::clusterConfig);
    }

    /** {@code PUT …/broker-configs/{name}}: {@code {"value"}}, set for every broker; Kafka keeps a name it does not know (to no effect). */
    public void updateCluster(HttpServerExchange exchange) {
        String name = Http.param(exchange, "name");
        V3.readBody(exchange, maxBodyBytes, UPDATE_BODY, NO_DATA, request -> V3.answer(exchange, admin, base,
                id -> admin.alterClusterConfigs(id, List.of(new ClusterAdmin.ConfigChange(name, request.value(), false)),
                        false, false), (r, v) -> Http.NO_CONTENT));
    }

    /** {@code DELETE …/broker-configs/{name}}: 404 when it is not set cluster-wide. */
    public void resetCluster(HttpServerExchange exchange) {
        String name = Http.param(exchange, "name");
        V3.answer(exchange, admin, base, id -> admin.alterClusterConfigs(id,
                List.of(new ClusterAdmin.ConfigChange(name, null, true)), false, true), (r, v) -> Http.NO_CONTENT);
    }

    /** {@code POST …/broker-configs:alter}: set or reset several cluster-wide settings together. */
    public void alterCluster(HttpServerExchange exchange) {
        V3.readBody(exchange, maxBodyBytes, ALTER_BODY, NO_DATA, request -> V3.answer(exchange, admin, base,
                id -> admin.alterClusterConfigs(id, changes(request), request.dryRun(), false), (r, v) -> Http.NO_CONTENT));
    }

    private static List<ClusterAdmin.ConfigChange> changes(AlterConfigsRequest request) {
        return request.data().stream().map(e -> new ClusterAdmin.ConfigChange(e.name(), e.value(), e.delete())).toList();
    }
}
