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
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The operator's endpoints: {@code GET /health} (the process is up), {@code GET /ready} (Kafka
 * answers within the bound, else 503), {@code GET /metrics} (every metric as Dropwizard's JSON)
 * and {@code GET /metrics/prometheus} (the same in Prometheus' text format, through Prometheus'
 * Dropwizard bridge: dots become underscores). The metrics are rendered on a thread of their own,
 * not an IO thread, and scrapes that come while one is rendered share its answer (the same bytes):
 * a flood of scrapes, which need no credentials, costs one rendering at a time and one copy of it.
 */
public final class OpsHandlers {

    private final ClusterHealth health;
    private final java.util.function.BooleanSupplier stopping;
    private final ObjectWriter metricsJson;
    private final MetricRegistry registry;
    private final PrometheusRegistry prometheus = new PrometheusRegistry();
    private final PrometheusTextFormatWriter prometheusText = PrometheusTextFormatWriter.create();
    private final io.portico.sessions.SharedCalls<String, byte[]> renders = new io.portico.sessions.SharedCalls<>();
    /** One thread, gone when idle; its queue holds at most one rendering per format (shared). */
    private final java.util.concurrent.ThreadPoolExecutor renderer = new java.util.concurrent.ThreadPoolExecutor(
            0, 1, 10, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "portico-metrics");
                t.setDaemon(true);
                return t;
            });

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
        Http.complete(exchange, rendered("json", () -> {
            try {
                return metricsJson.writeValueAsBytes(registry);
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException(e);
            }
        }), body -> new Http.RawJson(held(exchange, body)));
    }

    public void prometheus(HttpServerExchange exchange) {
        Http.complete(exchange, rendered("prometheus", () -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
            try {
                prometheusText.write(out, prometheus.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out.toByteArray();
        }), body -> new Http.Text(prometheusText.getContentType(), held(exchange, body)));
    }

    /**
     * The most bytes of metrics answers being sent at once (a scrape is some hundreds of KiB): past
     * it, clients that scrape and do not read get 503, and nothing of the API's memory budgets is
     * theirs to take (scrapes need no credentials).
     */
    static final long SENDING_MAX_BYTES = 16L << 20;
    private final io.portico.sessions.MemoryBudget sending =
            new io.portico.sessions.MemoryBudget("metrics answers", SENDING_MAX_BYTES);

    /** {@code body}, counted as being sent until the exchange completes; 503 when there is no room. */
    private byte[] held(HttpServerExchange exchange, byte[] body) {
        if (!admit(sending, body.length)) {
            throw io.portico.protocol.ErrorCode.SERVICE_UNAVAILABLE.exception(
                    "too many metrics answers are being sent at once; retry later");
        }
        try {
            exchange.addExchangeCompleteListener((done, next) -> {
                sending.give(body.length);
                next.proceed();
            });
        } catch (RuntimeException e) { // the exchange ended meanwhile (its connection closed)
            sending.give(body.length);
            throw e;
        }
        return body;
    }

    /** Takes {@code length} of {@code sending} if it fits; one answer larger than all of it goes alone. */
    static boolean admit(io.portico.sessions.MemoryBudget sending, long length) {
        if (sending.tryTake(length)) {
            return true;
        }
        if (length > sending.capacity() && sending.used() == 0) {
            sending.takeAnyway(length);
            return true;
        }
        return false;
    }

    /** The rendering of {@code format} in progress, else one started now on the renderer's thread. */
    private CompletableFuture<byte[]> rendered(String format, java.util.function.Supplier<byte[]> render) {
        return renders.call(format, () -> CompletableFuture.supplyAsync(render, renderer));
    }
}
