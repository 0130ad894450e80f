package io.portico.proxy;

import io.portico.proxy.handlers.MetadataHandlers;
import io.portico.proxy.handlers.ProduceHandler;
import io.portico.proxy.handlers.RootHandler;
import io.portico.proxy.http.Router;

/** The route table: every path Portico serves, and the handler of each. Reading it tells the whole API. */
final class Api {
    private Api() {
    }

    static Router routes(RootHandler root, MetadataHandlers metadata, ProduceHandler produce) {
        return new Router()
                // Confluent v1: liveness, metadata, produce
                .get("/", root::get)
                .post("/", root::post)
                .get("/topics", metadata::topics)
                .get("/topics/{topic}", metadata::topic)
                .post("/topics/{topic}", produce::toTopic)
                .get("/topics/{topic}/partitions", metadata::partitions)
                .get("/topics/{topic}/partitions/{partition}", metadata::partition)
                .post("/topics/{topic}/partitions/{partition}", produce::toPartition)
                .get("/brokers", metadata::brokers);
    }
}
