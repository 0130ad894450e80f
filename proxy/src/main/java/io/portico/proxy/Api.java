package io.portico.proxy;

import io.portico.proxy.handlers.ConsumerHandlers;
import io.portico.proxy.handlers.MessagesHandler;
import io.portico.proxy.handlers.MetadataHandlers;
import io.portico.proxy.handlers.ProduceHandler;
import io.portico.proxy.handlers.RootHandler;
import io.portico.proxy.http.Router;

/** The route table: every path Portico serves, and the handler of each. Reading it tells the whole API. */
final class Api {
    private Api() {
    }

    static Router routes(RootHandler root, MetadataHandlers metadata, ProduceHandler produce,
                         MessagesHandler messages, ConsumerHandlers consumers) {
        return new Router()
                // Confluent v1: liveness, metadata, produce, read by offset
                .get("/", root::get)
                .post("/", root::post)
                .get("/topics", metadata::topics)
                .get("/topics/{topic}", metadata::topic)
                .post("/topics/{topic}", produce::toTopic)
                .get("/topics/{topic}/partitions", metadata::partitions)
                .get("/topics/{topic}/partitions/{partition}", metadata::partition)
                .post("/topics/{topic}/partitions/{partition}", produce::toPartition)
                .get("/topics/{topic}/partitions/{partition}/messages", messages::read)
                .get("/brokers", metadata::brokers)
                // Confluent v1: consumer-group instances
                .post("/consumers/{group}", consumers::create)
                .get("/consumers/{group}/instances/{instance}/topics/{topic}", consumers::read)
                .post("/consumers/{group}/instances/{instance}/offsets", consumers::commit)
                .delete("/consumers/{group}/instances/{instance}", consumers::delete);
    }
}
