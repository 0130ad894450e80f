package io.portico.proxy.http;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

/**
 * Turns whatever a handler throws while it runs on the IO thread into a JSON error, so that no
 * request ever gets Undertow's bare 500. Work a handler hands to another thread reports its own
 * failures through {@link Http#complete} and {@link Http#offload}.
 */
public final class ErrorBoundary implements HttpHandler {
    private final HttpHandler next;

    public ErrorBoundary(HttpHandler next) {
        this.next = next;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        try {
            next.handleRequest(exchange);
        } catch (Throwable t) {
            ErrorWriter.write(exchange, t);
        }
    }
}
