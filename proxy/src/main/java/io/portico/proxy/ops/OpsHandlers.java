package io.portico.proxy.ops;

import com.codahale.metrics.MetricFilter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.json.MetricsModule;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.portico.protocol.Json;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterHealth;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.dropwizard.DropwizardExports;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The operator's endpoints: {@code GET /health} (the process is up), {@code GET /ready} (Kafka
 * answers within the bound, else 503), {@code GET /metrics} (every metric as Dropwizard's JSON)
 * and {@code GET /metrics/prometheus} (the same in Prometheus' text format, through Prometheus'
 * Dropwizard bridge: dots become underscores).
 */
public final class OpsHandlers {

    private final ClusterHealth health;
    private final java.util.function.BooleanSupplier stopping;
    private final ObjectWriter metricsJson;
    private final MetricRegistry registry;
    private final PrometheusRegistry prometheus = new PrometheusRegistry();
    private final PrometheusTextFormatWriter prometheusText = PrometheusTextFormatWriter.create();

    public OpsHandlers(MetricRegistry registry, ClusterHealth health) {
        this(registry, health, () -> false);
    }

    /**
     * As {@link #OpsHandlers(MetricRegistry, ClusterHealth)}, {@code /ready} answering 503 once
     * {@code stopping} says the server is shutting down (the admin listeners serve on until the
     * end, while the main ones turn every request away: a load balancer must stop sending).
     */
    public OpsHandlers(MetricRegistry registry, ClusterHealth health, java.util.function.BooleanSupplier stopping) {
        this.registry = registry;
        this.health = health;
        this.stopping = stopping;
        this.metricsJson = Json.mapper().copy()
                .registerModule(new MetricsModule(TimeUnit.SECONDS, TimeUnit.MILLISECONDS, false, MetricFilter.ALL))
                .writer();
        prometheus.register(new DropwizardExports(registry));
    }

    /** The body of a 200 from {@code /ready}. */
    record Ready(@com.fasterxml.jackson.annotation.JsonProperty("status") String status,
                 @com.fasterxml.jackson.annotation.JsonProperty("brokers") int brokers) {
    }

    public void health(HttpServerExchange exchange) {
        Http.ok(exchange, Map.of("status", "UP"));
    }

    public void ready(HttpServerExchange exchange) {
        if (stopping.getAsBoolean()) {
            exchange.setPersistent(false);
            throw io.portico.protocol.ErrorCode.SERVICE_UNAVAILABLE.exception("the server is shutting down");
        }
        Http.complete(exchange, health.check(), brokers -> new Ready("READY", brokers));
    }

    public void metrics(HttpServerExchange exchange) {
        try {
            Http.send(exchange, 200, metricsJson.writeValueAsBytes(registry));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void prometheus(HttpServerExchange exchange) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
        try {
            prometheusText.write(out, prometheus.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, prometheusText.getContentType());
        exchange.getResponseSender().send(ByteBuffer.wrap(out.toByteArray()));
    }
}
