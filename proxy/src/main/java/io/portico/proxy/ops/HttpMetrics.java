package io.portico.proxy.ops;

import com.codahale.metrics.LockFreeExponentiallyDecayingReservoir;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.PathTemplateMatch;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Times every request by its route template and counts its status class, so metric names stay
 * bounded: {@code portico.http.requests.<route>} (a timer) and
 * {@code portico.http.responses.<route>.<2xx|4xx|…>} (meters), where {@code <route>} is the
 * method and template in dotted form ({@code POST /topics/{topic}} is {@code post.topics.topic});
 * requests matching no route count as {@code <method>.unmatched}; one turned away before it was
 * routed (overload, shutdown, a share's 429, a CORS preflight) counts under the route its path
 * matches. A method outside HTTP's own (a client may send any word) counts as {@code other}:
 * names never grow with what clients send.
 */
public final class HttpMetrics implements HttpHandler {
    private static final String[] CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    private static final HttpString OTHER = new HttpString("OTHER");
    private static final java.util.Set<HttpString> METHODS = java.util.Set.of(Methods.GET, Methods.HEAD, Methods.POST,
            Methods.PUT, Methods.PATCH, Methods.DELETE, Methods.OPTIONS, Methods.TRACE, Methods.CONNECT);

    private final HttpHandler next;
    private final MetricRegistry registry;
    /** By template (the matcher's own strings), then method: no key is built per request. */
    private final ConcurrentHashMap<String, ConcurrentHashMap<HttpString, Route>> routes = new ConcurrentHashMap<>();
    private final ExchangeCompletionListener onDone = this::done;

    private record Route(Timer timer, Meter[] statuses) {
    }

    private final java.util.function.Function<String, String> templateOf;

    /** {@code templateOf}: the route template a path matches, or null (for requests refused before routing). */
    public HttpMetrics(MetricRegistry registry, HttpHandler next, java.util.function.Function<String, String> templateOf) {
        this.next = next;
        this.registry = registry;
        this.templateOf = templateOf;
    }

    /** Needs Undertow's {@code RECORD_REQUEST_START_TIME} option: requests are timed from their start. */
    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        exchange.addExchangeCompleteListener(onDone);
        next.handleRequest(exchange);
    }

    private void done(HttpServerExchange exchange, ExchangeCompletionListener.NextListener nextListener) {
        try {
            PathTemplateMatch match = exchange.getAttachment(PathTemplateMatch.ATTACHMENT_KEY);
            String matched = match != null ? match.getMatchedTemplate() : templateOf.apply(exchange.getRelativePath());
            String template = matched == null ? "unmatched" : matched;
            HttpString method = exchange.getRequestMethod();
            if (!METHODS.contains(method)) {
                method = OTHER;
            }
            ConcurrentHashMap<HttpString, Route> byMethod = routes.computeIfAbsent(template, t -> new ConcurrentHashMap<>());
            Route route = byMethod.get(method);
            if (route == null) {
                route = byMethod.computeIfAbsent(method, m -> route(m + " " + template));
            }
            long start = exchange.getRequestStartTime();
            if (start > 0) {
                route.timer().update(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            }
            int cls = exchange.getStatusCode() / 100;
            if (cls >= 1 && cls <= 5) {
                route.statuses()[cls - 1].mark();
            }
        } finally {
            nextListener.proceed();
        }
    }

    private Route route(String key) {
        String name = dotted(key);
        Meter[] statuses = new Meter[CLASSES.length];
        for (int i = 0; i < CLASSES.length; i++) {
            statuses[i] = registry.meter("portico.http.responses." + name + "." + CLASSES[i]);
        }
        // A lock-free reservoir: the default one takes a lock on every update.
        Timer timer = registry.timer("portico.http.requests." + name,
                () -> new Timer(LockFreeExponentiallyDecayingReservoir.builder().build()));
        return new Route(timer, statuses);
    }

    /** {@code "POST /topics/{topic}"} → {@code "post.topics.topic"}; {@code "GET /"} → {@code "get.root"}. */
    static String dotted(String methodAndTemplate) {
        StringBuilder out = new StringBuilder();
        for (String part : methodAndTemplate.toLowerCase(java.util.Locale.ROOT).split("[ /{}]+")) {
            if (!part.isEmpty()) {
                out.append(out.length() == 0 ? "" : ".").append(part.replace(':', '_'));
            }
        }
        return out.indexOf(".") < 0 ? out + ".root" : out.toString();
    }
}
