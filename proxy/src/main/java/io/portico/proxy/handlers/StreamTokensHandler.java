package io.portico.proxy.handlers;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.StreamToken;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.StreamTokens;
import io.portico.proxy.http.Http;
import io.undertow.server.HttpServerExchange;

/**
 * {@code POST /sse/tokens} with {@code {"path": …}}: a token that opens event streams on that path
 * for the API key that asks ({@link StreamTokens}), answered as
 * {@code {"token","path","expires_in_ms"}}. Plain JSON in and out.
 */
public final class StreamTokensHandler {
    private static final Json.BodyReader<StreamToken.Request> BODY = new Json.BodyReader<>(StreamToken.Request.class);
    private static final long MAX_BODY = 64 * 1024;

    private final StreamTokens tokens;

    public StreamTokensHandler(StreamTokens tokens) {
        this.tokens = tokens;
    }

    public void mint(HttpServerExchange exchange) {
        Http.requireJsonBody(exchange);
        var caller = Access.caller(exchange);
        Http.readBody(exchange, MAX_BODY, body -> {
            StreamToken.Request request = BODY.read(body, EmbeddedFormat.BINARY);
            StreamTokens.Token token;
            try {
                token = tokens.mint(caller, request.path());
            } catch (io.portico.protocol.RestException e) {
                if (e.errorCode() == ErrorCode.UNAUTHORIZED) {
                    tokens.challenge(exchange); // the key was rotated while the body was read
                }
                throw e;
            }
            Http.ok(exchange, new StreamToken.Response(token.token(), token.path(), token.expiresInMs()));
        });
    }
}
