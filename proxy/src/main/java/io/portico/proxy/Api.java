package io.portico.proxy;

import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Role;
import io.portico.proxy.handlers.AdminTopicsHandlers;
import io.portico.proxy.handlers.ConsumerHandlers;
import io.portico.proxy.handlers.ConsumerV2Handlers;
import io.portico.proxy.handlers.EventStreamHandlers;
import io.portico.proxy.handlers.MessagesHandler;
import io.portico.proxy.handlers.MetadataHandlers;
import io.portico.proxy.handlers.OpenApiHandler;
import io.portico.proxy.handlers.ProduceHandler;
import io.portico.proxy.handlers.RecordsHandler;
import io.portico.proxy.handlers.RootHandler;
import io.portico.proxy.handlers.StreamTokensHandler;
import io.portico.proxy.handlers.v3.ProduceV3Handler;
import io.portico.proxy.handlers.v3.ReadV3Handler;
import io.portico.proxy.handlers.v3.V3AdminHandlers;
import io.portico.proxy.nodes.Forwarding;
import io.portico.proxy.http.AdminCalls;
import io.portico.proxy.http.ErrorWriter;
import io.portico.proxy.http.Http;
import io.portico.proxy.http.Router;
import io.portico.proxy.ops.OpsHandlers;
import io.undertow.server.HttpHandler;

/**
 * The route table: every path Portico serves, the role an API key needs for it (on the route's
 * {@code {topic}} when it has one), and the handler. Reading it tells the whole API.
 *
 * <p>{@code proxy/src/main/resources/openapi.json} describes every route of this table, one
 * operation per path and method: a route added here needs its operation there
 * ({@code OpenApiDocumentTest} fails until the two agree).
 */
final class Api {
    private Api() {
    }

    /** The handlers of every route. */
    record Handlers(RootHandler root, MetadataHandlers metadata, ProduceHandler produce, MessagesHandler messages,
                    ConsumerHandlers consumers, ConsumerV2Handlers consumersV2, RecordsHandler records,
                    AdminTopicsHandlers admin, V3AdminHandlers v3Admin, ProduceV3Handler produceV3,
                    ReadV3Handler readV3, Forwarding nodes, EventStreamHandlers streams,
                    StreamTokensHandler streamTokens) {
    }

    /**
     * The operator's endpoints, without authentication (probes and scrapers send none; serve
     * them on {@code admin.listeners} to keep them off the public interface).
     */
    static Router operations(Router routes, OpsHandlers ops) {
        return routes
                .get("/health", json(ops::health))
                .get("/ready", json(ops::ready))
                .get("/metrics", json(ops::metrics))
                .get("/metrics/prometheus", json(ops::prometheus)); // errors in JSON; the body is text
    }

    /**
     * The API's routes. Those answered from the shared Kafka admin client go through {@code c},
     * which holds each API key to its share of admin requests in progress.
     */
    static Router routes(Access a, AdminCalls c, Handlers h) {
        Forwarding f = h.nodes();
        return new Router()
                // The OpenAPI document of this table. No API key: it grants nothing, and clients and
                // gateways read it before they have one. It describes the API, so it is served with it
                // (not with the operator's endpoints, which admin.listeners may move elsewhere).
                .get("/openapi.json", json(new OpenApiHandler()))
                // Confluent v1: liveness, metadata, produce, read by offset
                .get("/", a.reader(h.root()::get))
                .post("/", a.reader(h.root()::post))
                .get("/topics", a.reader(c.wrap(h.metadata()::topics)))
                .get("/topics/{topic}", a.reader(c.wrap(h.metadata()::topic)))
                .post("/topics/{topic}", a.writer(h.produce()::toTopic))
                .get("/topics/{topic}/partitions", a.reader(c.wrap(h.metadata()::partitions)))
                .get("/topics/{topic}/partitions/{partition}", a.reader(c.wrap(h.metadata()::partition)))
                .post("/topics/{topic}/partitions/{partition}", a.writer(h.produce()::toPartition))
                .get("/topics/{topic}/partitions/{partition}/messages",
                        a.reader(orPlain(h.streams()::v1Partition, h.messages()::read)))
                .get("/topics/{topic}/partitions/{partition}/offsets", a.reader(c.wrap(h.metadata()::partitionOffsets)))
                .get("/brokers", a.reader(c.wrap(h.metadata()::brokers)))
                // Confluent v1: consumer-group instances (each belongs to the key that created it, and is
                // reached through any node: a request for another node's instance is relayed to it)
                .post("/consumers/{group}", a.reader(h.consumers()::create))
                .get("/consumers/{group}/instances/{instance}/topics/{topic}",
                        a.reader(f.instance(orPlain(h.streams()::v1Instance, h.consumers()::read))))
                .post("/consumers/{group}/instances/{instance}/offsets", a.reader(f.instance(h.consumers()::commit)))
                .delete("/consumers/{group}/instances/{instance}", a.reader(f.instance(h.consumers()::delete)))
                // Confluent v2: consumers driven by explicit calls (create, commit and delete are shared with v1;
                // the Content-Type says which dialect a create or commit speaks)
                .get("/consumers/{group}/instances/{instance}/subscription", a.reader(f.instance(h.consumersV2()::subscription)))
                .post("/consumers/{group}/instances/{instance}/subscription", a.reader(f.instance(h.consumersV2()::subscribe)))
                .delete("/consumers/{group}/instances/{instance}/subscription", a.reader(f.instance(h.consumersV2()::unsubscribe)))
                .get("/consumers/{group}/instances/{instance}/assignments", a.reader(f.instance(h.consumersV2()::assignments)))
                .post("/consumers/{group}/instances/{instance}/assignments", a.reader(f.instance(h.consumersV2()::assign)))
                .post("/consumers/{group}/instances/{instance}/positions", a.reader(f.instance(h.consumersV2()::seek)))
                .post("/consumers/{group}/instances/{instance}/positions/beginning", a.reader(f.instance(h.consumersV2()::seekToBeginning)))
                .post("/consumers/{group}/instances/{instance}/positions/end", a.reader(f.instance(h.consumersV2()::seekToEnd)))
                .get("/consumers/{group}/instances/{instance}/offsets", a.reader(f.instance(h.consumersV2()::committed)))
                .get("/consumers/{group}/instances/{instance}/records",
                        a.reader(f.instance(orPlain(h.streams()::v2Instance, h.consumersV2()::records))))
                // IBM Event Streams REST producer: one record per request, IBM's error bodies
                .post("/topics/{topic}/records", eventStreams(a.writer(h.records()::produce)))
                // IBM Event Streams admin API: topics (the body names the topic a create needs manager on)
                .post("/admin/topics", json(a.manager(c.wrap(h.admin()::create))))
                .get("/admin/topics", json(a.reader(c.wrap(h.admin()::list))))
                .get("/admin/topics/{topic}", json(a.reader(c.wrap(h.admin()::get))))
                .delete("/admin/topics/{topic}", json(a.manager(c.wrap(h.admin()::delete))))
                // Confluent v3: cluster admin. Plain JSON; a {cluster_id} other than this cluster's is a 404.
                // Reading needs reader (on the route's {topic}), changing a topic manager on it (a create's
                // topic is in its body); lists and lags show only the topics the API key may see.
                .get("/v3/clusters", json(a.reader(c.wrap(h.v3Admin().clusters()::list))))
                .get("/v3/clusters/{cluster_id}", json(a.reader(c.wrap(h.v3Admin().clusters()::get))))
                .get("/v3/clusters/{cluster_id}/brokers", json(a.reader(c.wrap(h.v3Admin().brokers()::list))))
                .get("/v3/clusters/{cluster_id}/brokers/{broker_id}", json(a.reader(c.wrap(h.v3Admin().brokers()::get))))
                .get("/v3/clusters/{cluster_id}/brokers/{broker_id}/partition-replicas",
                        json(a.reader(c.wrap(h.v3Admin().brokers()::replicas))))
                // Broker settings, and the cluster-wide ones (listeners, security set-up: what Kafka keeps to
                // DescribeConfigs on the cluster): the role on every topic and group, manager to change them
                .get("/v3/clusters/{cluster_id}/brokers/-/configs", json(a.cluster(Role.READER, c.wrap(h.v3Admin().brokerConfigs()::listAll))))
                .get("/v3/clusters/{cluster_id}/brokers/{broker_id}/configs",
                        json(a.cluster(Role.READER, c.wrap(h.v3Admin().brokerConfigs()::list))))
                .get("/v3/clusters/{cluster_id}/brokers/{broker_id}/configs/{name}",
                        json(a.cluster(Role.READER, c.wrap(h.v3Admin().brokerConfigs()::get))))
                .put("/v3/clusters/{cluster_id}/brokers/{broker_id}/configs/{name}",
                        json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().brokerConfigs()::update))))
                .delete("/v3/clusters/{cluster_id}/brokers/{broker_id}/configs/{name}",
                        json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().brokerConfigs()::reset))))
                .post("/v3/clusters/{cluster_id}/brokers/{broker_id}/configs:alter",
                        json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().brokerConfigs()::alter))))
                .get("/v3/clusters/{cluster_id}/broker-configs", json(a.cluster(Role.READER, c.wrap(h.v3Admin().brokerConfigs()::listCluster))))
                .get("/v3/clusters/{cluster_id}/broker-configs/{name}",
                        json(a.cluster(Role.READER, c.wrap(h.v3Admin().brokerConfigs()::getCluster))))
                .put("/v3/clusters/{cluster_id}/broker-configs/{name}",
                        json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().brokerConfigs()::updateCluster))))
                .delete("/v3/clusters/{cluster_id}/broker-configs/{name}",
                        json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().brokerConfigs()::resetCluster))))
                .post("/v3/clusters/{cluster_id}/broker-configs:alter",
                        json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().brokerConfigs()::alterCluster))))
                // Kafka's ACLs: they bear on every application of the cluster, so even reading them needs
                // the role on every topic and group
                .get("/v3/clusters/{cluster_id}/acls", json(a.cluster(Role.READER, c.wrap(h.v3Admin().acls()::search))))
                .post("/v3/clusters/{cluster_id}/acls", json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().acls()::create))))
                .delete("/v3/clusters/{cluster_id}/acls", json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().acls()::delete))))
                .post("/v3/clusters/{cluster_id}/acls:batch",
                        json(a.cluster(Role.MANAGER, c.wrap(h.v3Admin().acls()::createBatch))))
                .get("/v3/clusters/{cluster_id}/topics", json(a.reader(c.wrap(h.v3Admin().topics()::list))))
                .post("/v3/clusters/{cluster_id}/topics", json(a.manager(c.wrap(h.v3Admin().topics()::create))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}", json(a.reader(c.wrap(h.v3Admin().topics()::get))))
                .patch("/v3/clusters/{cluster_id}/topics/{topic}",
                        json(a.manager(c.wrap(h.v3Admin().topics()::updatePartitions))))
                .delete("/v3/clusters/{cluster_id}/topics/{topic}", json(a.manager(c.wrap(h.v3Admin().topics()::delete))))
                .get("/v3/clusters/{cluster_id}/topics/-/configs", json(a.reader(c.wrap(h.v3Admin().configs()::listAll))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/configs", json(a.reader(c.wrap(h.v3Admin().configs()::list))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/configs/{name}",
                        json(a.reader(c.wrap(h.v3Admin().configs()::get))))
                .put("/v3/clusters/{cluster_id}/topics/{topic}/configs/{name}",
                        json(a.manager(c.wrap(h.v3Admin().configs()::update))))
                .delete("/v3/clusters/{cluster_id}/topics/{topic}/configs/{name}",
                        json(a.manager(c.wrap(h.v3Admin().configs()::reset))))
                .post("/v3/clusters/{cluster_id}/topics/-/configs:alter",
                        json(a.manager(c.wrap(h.v3Admin().configs()::alterMany))))
                .post("/v3/clusters/{cluster_id}/topics/{topic}/configs:alter",
                        json(a.manager(c.wrap(h.v3Admin().configs()::alter))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions",
                        json(a.reader(c.wrap(h.v3Admin().partitions()::list))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}",
                        json(a.reader(c.wrap(h.v3Admin().partitions()::get))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/replicas",
                        json(a.reader(c.wrap(h.v3Admin().partitions()::replicas))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/replicas/{broker_id}",
                        json(a.reader(c.wrap(h.v3Admin().partitions()::replica))))
                .get("/v3/clusters/{cluster_id}/topics/-/partitions/-/reassignment",
                        json(a.reader(c.wrap(h.v3Admin().reassignments()::listAll))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/-/reassignment",
                        json(a.reader(c.wrap(h.v3Admin().reassignments()::list))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/reassignment",
                        json(a.reader(c.wrap(h.v3Admin().reassignments()::get))))
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/offset",
                        json(a.reader(c.wrap(h.v3Admin().partitions()::offsets))))
                .get("/v3/clusters/{cluster_id}/consumer-groups", json(a.reader(c.wrap(h.v3Admin().groups()::list))))
                .get("/v3/clusters/{cluster_id}/consumer-groups/{group}", json(a.reader(c.wrap(h.v3Admin().groups()::get))))
                .get("/v3/clusters/{cluster_id}/consumer-groups/{group}/consumers",
                        json(a.reader(c.wrap(h.v3Admin().groups()::consumers))))
                .get("/v3/clusters/{cluster_id}/consumer-groups/{group}/consumers/{consumer}",
                        json(a.reader(c.wrap(h.v3Admin().groups()::consumer))))
                .get("/v3/clusters/{cluster_id}/consumer-groups/{group}/consumers/{consumer}/assignments",
                        json(a.reader(c.wrap(h.v3Admin().groups()::assignments))))
                .get("/v3/clusters/{cluster_id}/consumer-groups/{group}/consumers/{consumer}/assignments/{topic}/partitions/{partition}",
                        json(a.reader(c.wrap(h.v3Admin().groups()::assignment))))
                .get("/v3/clusters/{cluster_id}/consumer-groups/{group}/lags",
                        json(a.reader(c.wrap(h.v3Admin().groups()::lags))))
                .get("/v3/clusters/{cluster_id}/consumer-groups/{group}/lags/{topic}/partitions/{partition}",
                        json(a.reader(c.wrap(h.v3Admin().groups()::lag))))
                .get("/v3/clusters/{cluster_id}/consumer-groups/{group}/lag-summary",
                        json(a.reader(c.wrap(h.v3Admin().groups()::lagSummary))))
                // Confluent v3: records, one report per record in order — single, streamed (chunked,
                // full duplex) or batched (207)
                .post("/v3/clusters/{cluster_id}/topics/{topic}/records", json(a.writer(h.produceV3()::records)))
                .post("/v3/clusters/{cluster_id}/topics/{topic}/records:batch", json(a.writer(h.produceV3()::batch)))
                // Beyond Confluent's v3: a stateless read by offset, records in the shape a produce takes
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/records",
                        json(a.reader(orPlain(h.streams()::v3Partition, h.readV3()::read))))
                // Server-Sent Events: the four reads above answer Accept: text/event-stream with a stream
                // of their records (then live). A browser's EventSource, which cannot send an API key,
                // opens one with a short-lived token for its path, asked for here with a key.
                .post("/sse/tokens", json(a.reader(h.streamTokens()::mint)));
    }

    /** A read that streams Server-Sent Events when asked for with {@code Accept: text/event-stream}. */
    private static HttpHandler orPlain(HttpHandler stream, HttpHandler plain) {
        return EventStreamHandlers.orPlain(stream, plain);
    }

    /** Marks a route whose errors take IBM Event Streams' body (plain JSON, as its answers). */
    private static HttpHandler eventStreams(HttpHandler next) {
        HttpHandler json = json(next);
        return exchange -> {
            exchange.putAttachment(ErrorWriter.STYLE, ErrorWriter.Style.EVENT_STREAMS);
            json.handleRequest(exchange);
        };
    }

    /** Marks a route that answers {@code application/json} (errors too), not a Kafka media type. */
    private static HttpHandler json(HttpHandler next) {
        return exchange -> {
            exchange.putAttachment(Http.RESPONSE_TYPE, Http.JSON);
            next.handleRequest(exchange);
        };
    }
}
