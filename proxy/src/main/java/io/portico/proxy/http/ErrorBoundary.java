package io.portico.proxy.http;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

/**
 * The outermost handler: turns whatever a handler throws while it runs on the IO thread into a
 * JSON error, and gives any error response that would end without a body (Undertow's own) a JSON
 * one, so that no request ever gets a bare status. Work a handler hands to another thread
 * reports its own failures through {@link Http#complete} and {@link Http#offload}.
 */
public final class ErrorBoundary implements HttpHandler {
    private final HttpHandler next;

    public ErrorBoundary(HttpHandler next) {
        this.next = next;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        exchange.addDefaultResponseListener(ErrorWriter.JSON_BACKSTOP);
        try {
            next.handleRequest(exchange);
        } catch (Throwable t) {
            ErrorWriter.write(exchange, t);
        }
    }
}
