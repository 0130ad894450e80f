package io.portico.proxy.testing;

import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.proxy.Portico;
import io.portico.proxy.PorticoConfig;
import java.util.HashMap;
import java.util.Map;

/** A Portico started for tests on a free loopback port, in front of a test cluster. */
public record TestPortico(KafkaCluster cluster, Portico portico, Rest rest) implements AutoCloseable {

    /** Starts Portico with {@code overrides} on top of test defaults (a free port, the cluster's bootstrap). */
    public static TestPortico start(KafkaCluster cluster, Map<String, String> overrides) {
        return start(cluster, overrides, Ticker.systemTicker());
    }

    /** As {@link #start(KafkaCluster, Map)}, with {@code ticker} as the clock of consumer-instance expiry. */
    public static TestPortico start(KafkaCluster cluster, Map<String, String> overrides, Ticker ticker) {
        Map<String, String> config = new HashMap<>();
        config.put("listeners", "http://127.0.0.1:0");
        config.put("bootstrap.servers", cluster.bootstrapServers());
        config.putAll(overrides);
        try {
            Portico portico = Portico.start(PorticoConfig.from(config), ticker);
            return new TestPortico(cluster, portico, new Rest(portico.listenerUrls().get(0)));
        } catch (Exception e) {
            throw new IllegalStateException("cannot start Portico", e);
        }
    }

    /** A TCP port free on this machine a moment ago (for listeners a test must name before start). */
    public static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        portico.close();
    }
}
