package io.portico.proxy.ops;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.util.Arrays;
import java.util.List;

/**
 * Cross-origin requests, configured as Confluent's proxy names it: {@code access.control.allow.origin}
 * (comma-separated origins, or {@code *}), {@code access.control.allow.methods} and
 * {@code access.control.allow.headers}. A preflight ({@code OPTIONS} with
 * {@code Access-Control-Request-Method}) from an allowed origin is answered here with 204; other
 * requests from it get {@code Access-Control-Allow-Origin}. Requests from other origins pass
 * through without CORS headers (the browser then refuses them).
 */
public final class Cors implements HttpHandler {
    private static final HttpString ORIGIN = new HttpString("Origin");
    private static final HttpString REQUEST_METHOD = new HttpString("Access-Control-Request-Method");
    private static final HttpString ALLOW_ORIGIN = new HttpString("Access-Control-Allow-Origin");
    private static final HttpString ALLOW_METHODS = new HttpString("Access-Control-Allow-Methods");
    private static final HttpString ALLOW_HEADERS = new HttpString("Access-Control-Allow-Headers");
    private static final HttpString MAX_AGE = new HttpString("Access-Control-Max-Age");
    private static final HttpString VARY = new HttpString("Vary");

    private final HttpHandler next;
    private final List<String> origins;
    private final String methods;
    private final String headers;

    public Cors(HttpHandler next, String origins, String methods, String headers) {
        this.next = next;
        this.origins = Arrays.stream(origins.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        this.methods = methods.isBlank() ? "GET,POST,PUT,DELETE,HEAD" : methods;
        this.headers = headers.isBlank()
                ? "Origin,Accept,Content-Type,Authorization,X-Auth-Token,X-Requested-With,Last-Event-ID" : headers;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        String origin = exchange.getRequestHeaders().getFirst(ORIGIN);
        if (origin == null || !allowed(origin)) {
            next.handleRequest(exchange);
            return;
        }
        exchange.getResponseHeaders().put(ALLOW_ORIGIN, origins.contains("*") ? "*" : origin);
        exchange.getResponseHeaders().add(VARY, "Origin");
        if (exchange.getRequestMethod().equals(Methods.OPTIONS)
                && exchange.getRequestHeaders().contains(REQUEST_METHOD)) {
            exchange.getResponseHeaders().put(ALLOW_METHODS, methods);
            exchange.getResponseHeaders().put(ALLOW_HEADERS, headers);
            exchange.getResponseHeaders().put(MAX_AGE, "600");
            exchange.setStatusCode(204);
            exchange.endExchange();
            return;
        }
        next.handleRequest(exchange);
    }

    private boolean allowed(String origin) {
        return origins.contains("*") || origins.contains(origin);
    }
}
