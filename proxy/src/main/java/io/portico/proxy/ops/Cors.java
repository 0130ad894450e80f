package io.portico.proxy.ops;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.util.Arrays;
import java.util.List;

/**
 * Cross-origin requests, configured as Confluent's proxy names it: {@code access.control.allow.origin}
 * (comma-separated origins, or {@code *}; a {@code *} within an origin stands for any characters,
 * as in {@code https://*.example.com}), {@code access.control.allow.methods} and
 * {@code access.control.allow.headers}, {@code access.control.expose.headers}. A preflight
 * ({@code OPTIONS} with {@code Access-Control-Request-Method}) from an allowed origin is answered
 * here with 204; other requests from it get {@code Access-Control-Allow-Origin} and
 * {@code Access-Control-Expose-Headers}, whatever answers them (it sits outside the in-flight
 * cap, so a 503 reaches the page's script too). Requests from other origins pass through without
 * CORS headers (the browser then refuses them). Every answer says {@code Vary: Origin}, so a
 * shared cache does not hand one origin's answer (or one without its CORS headers) to another.
 */
public final class Cors implements HttpHandler {
    private static final HttpString ORIGIN = new HttpString("Origin");
    private static final HttpString REQUEST_METHOD = new HttpString("Access-Control-Request-Method");
    private static final HttpString ALLOW_ORIGIN = new HttpString("Access-Control-Allow-Origin");
    private static final HttpString ALLOW_METHODS = new HttpString("Access-Control-Allow-Methods");
    private static final HttpString ALLOW_HEADERS = new HttpString("Access-Control-Allow-Headers");
    private static final HttpString MAX_AGE = new HttpString("Access-Control-Max-Age");
    private static final HttpString EXPOSE_HEADERS = new HttpString("Access-Control-Expose-Headers");
    private static final HttpString VARY = new HttpString("Vary");

    private final HttpHandler next;
    private final List<String> origins;
    private final String methods;
    private final String headers;
    private final String exposed;
    private final boolean any;

    public Cors(HttpHandler next, String origins, String methods, String headers, String exposed) {
        this.next = next;
        this.origins = list(origins);
        this.methods = methods.isBlank() ? "GET,POST,PUT,PATCH,DELETE,HEAD" : methods;
        this.headers = headers.isBlank()
                ? "Origin,Accept,Content-Type,Authorization,X-Auth-Token,X-Requested-With,Last-Event-ID,Idempotency-Key"
                : headers;
        this.exposed = exposed.trim();
        this.any = this.origins.contains("*");
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        // The answer depends on it: its CORS headers come only with an allowed Origin (with * too).
        exchange.getResponseHeaders().add(VARY, "Origin");
        String origin = exchange.getRequestHeaders().getFirst(ORIGIN);
        if (origin == null || !allowed(origin)) {
            next.handleRequest(exchange);
            return;
        }
        exchange.getResponseHeaders().put(ALLOW_ORIGIN, any ? "*" : origin);
        if (!exposed.isEmpty()) {
            exchange.getResponseHeaders().put(EXPOSE_HEADERS, exposed);
        }
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
        return allowed(origins, origin);
    }

    /** Whether {@code origins} ({@code access.control.allow.origin}'s value) lets {@code origin} in. */
    public static java.util.function.Predicate<String> allowedOrigins(String origins) {
        List<String> list = list(origins);
        return origin -> allowed(list, origin);
    }

    /** The setting's entries, lower-cased: a browser's {@code Origin} has its scheme and host in lower case. */
    private static List<String> list(String origins) {
        return Arrays.stream(origins.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .map(s -> s.toLowerCase(java.util.Locale.ROOT)).toList();
    }

    private static boolean allowed(List<String> origins, String given) {
        String origin = given.toLowerCase(java.util.Locale.ROOT);
        for (String allowed : origins) {
            if (allowed.equals("*") || (allowed.indexOf('*') < 0 ? allowed.equals(origin) : matches(allowed, origin))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code origin} matches {@code pattern}, each {@code *} of which stands for any
     * characters, as Jetty's {@code CrossOriginFilter} (which Confluent's proxy configures with
     * this setting) takes {@code https://*.example.com}: matched as API keys' topic globs are,
     * without regular expressions, in time proportional to the lengths' product at worst.
     */
    static boolean matches(String pattern, String origin) {
        return io.portico.proxy.auth.ApiKey.globMatches(pattern, origin);
    }
}
