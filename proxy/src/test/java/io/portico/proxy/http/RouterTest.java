package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.undertow.server.HttpHandler;
import org.junit.jupiter.api.Test;

/** Which route template a path matches. */
class RouterTest {
    private static final HttpHandler NOTHING = exchange -> { };

    /**
     * Confluent's v3 says "every topic" or "every partition" with a {@code -} segment
     * ({@code …/topics/-/configs}): Undertow's matcher tries a literal segment before a parameter,
     * so those routes are not taken for a topic named {@code -}, whatever the order they are added in.
     */
    @Test
    void aDashSegmentIsConfluentsEveryAndMatchesBeforeAParameterWhateverTheOrderAdded() {
        Router router = new Router()
                .get("/v3/clusters/{cluster_id}/topics/{topic}/configs", NOTHING)
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/reassignment", NOTHING)
                .get("/v3/clusters/{cluster_id}/topics/{topic}/partitions/-/reassignment", NOTHING)
                .get("/v3/clusters/{cluster_id}/topics/-/partitions/-/reassignment", NOTHING)
                .get("/v3/clusters/{cluster_id}/topics/-/configs", NOTHING)
                .get("/v3/clusters/{cluster_id}/brokers/{broker_id}/configs", NOTHING)
                .get("/v3/clusters/{cluster_id}/brokers/-/configs", NOTHING);
        assertEquals("/v3/clusters/{cluster_id}/topics/-/configs", router.template("/v3/clusters/c/topics/-/configs"));
        assertEquals("/v3/clusters/{cluster_id}/topics/{topic}/configs", router.template("/v3/clusters/c/topics/t/configs"));
        assertEquals("/v3/clusters/{cluster_id}/topics/{topic}/configs", router.template("/v3/clusters/c/topics/-x/configs"));
        assertEquals("/v3/clusters/{cluster_id}/topics/-/partitions/-/reassignment",
                router.template("/v3/clusters/c/topics/-/partitions/-/reassignment"));
        assertEquals("/v3/clusters/{cluster_id}/topics/{topic}/partitions/-/reassignment",
                router.template("/v3/clusters/c/topics/t/partitions/-/reassignment"));
        assertEquals("/v3/clusters/{cluster_id}/topics/{topic}/partitions/{partition}/reassignment",
                router.template("/v3/clusters/c/topics/t/partitions/0/reassignment"));
        assertEquals("/v3/clusters/{cluster_id}/brokers/-/configs", router.template("/v3/clusters/c/brokers/-/configs"));
        assertEquals("/v3/clusters/{cluster_id}/brokers/{broker_id}/configs", router.template("/v3/clusters/c/brokers/1/configs"));
        assertNull(router.template("/v3/clusters/c/brokers/-"));
    }
}
