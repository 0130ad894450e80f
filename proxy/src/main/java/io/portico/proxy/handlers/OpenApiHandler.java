package io.portico.proxy.handlers;

import io.portico.proxy.http.Http;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * {@code GET /openapi.json}: the OpenAPI 3.1 document of every route, {@value #RESOURCE} on the
 * class path, read once when the handler is made and served as is. The document is written by
 * hand; its tests fail when it and the route table differ by a path or a method.
 */
public final class OpenApiHandler implements HttpHandler {
    /** Where the document is on the class path. */
    public static final String RESOURCE = "/openapi.json";

    private final byte[] document;

    /** @throws IllegalStateException when the document is not on the class path */
    public OpenApiHandler() {
        this.document = load();
    }

    /** The document's bytes, as served. */
    public static byte[] load() {
        try (InputStream in = OpenApiHandler.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        Http.send(exchange, 200, document);
    }
}
