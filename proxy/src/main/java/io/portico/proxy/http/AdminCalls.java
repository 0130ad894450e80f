package io.portico.proxy.http;

import io.portico.protocol.ErrorCode;
import io.portico.sessions.PerOwner;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import java.util.function.Function;

/**
 * The requests each caller (an API key or user) has in progress on the shared Kafka admin client
 * — metadata, topic and group lists, lags, topic changes — at most
 * {@code admin.requests.per.key.max} at once: one more answers 429 with {@code Retry-After}, so
 * that one key running many at once cannot slow the admin client that every other key, topic
 * look-ups and {@code /ready} wait on. A request takes its place before its handler runs (after
 * its access check, which names the caller) and gives it back once, as its answer starts or when
 * its exchange completes, whatever way it ends. With authentication off there is one caller, and nothing is counted.
 * Thread-safe.
 */
public final class AdminCalls {
    private final PerOwner running = new PerOwner();
    private final Function<HttpServerExchange, String> caller;

    /** At most {@code perKeyMax} admin requests in progress per API key or user. */
    public AdminCalls(int perKeyMax) {
        this(perKeyMax, exchange -> io.portico.proxy.auth.Access.caller(exchange).owner());
    }

    /** As above, the caller of a request told by {@code caller} (null: not counted). */
    AdminCalls(int perKeyMax, Function<HttpServerExchange, String> caller) {
        this.running.max(perKeyMax);
        this.caller = caller;
    }

    /** {@code next}, answered only while its caller has fewer than its most admin requests in progress. */
    public HttpHandler wrap(HttpHandler next) {
        return exchange -> {
            String owner = caller.apply(exchange);
            if (owner == null) { // authentication off: one caller, nothing counted
                next.handleRequest(exchange);
                return;
            }
            if (!running.take(owner)) {
                throw ErrorCode.TOO_MANY_REQUESTS.exception("this API key has " + running.max()
                        + " admin requests in progress on this server (admin.requests.per.key.max); "
                        + "retry when one is answered");
            }
            // Given back once: as the answer starts (the client may send its next request as soon as
            // it has it, before this exchange completes: a body it still drains, say), or when the
            // exchange completes without one.
            java.util.concurrent.atomic.AtomicBoolean given = new java.util.concurrent.atomic.AtomicBoolean();
            Runnable giveBack = () -> {
                if (given.compareAndSet(false, true)) {
                    running.give(owner);
                }
            };
            exchange.addResponseCommitListener(ex -> giveBack.run());
            exchange.addExchangeCompleteListener((ex, nextListener) -> {
                try {
                    giveBack.run();
                } finally {
                    nextListener.proceed();
                }
            });
            next.handleRequest(exchange);
        };
    }
}
