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
 * its exchange completes, whatever way it ends. With authentication off there is one caller, and
 * nothing is counted per key.
 *
 * <p>All callers together, authentication on or off, have at most {@code admin.requests.max} in
 * progress of those without a body (reads, deletes; a create or change is counted per key only, as
 * its place would be taken before its body arrives): one more answers 503 with {@code Retry-After}. Kafka's admin client sends one call at a
 * time to each broker and queues the rest, so without a bound many keys (or one caller, with
 * authentication off) could queue enough slow calls (lags of wide groups, long lists) that every
 * other caller's look-up waited behind them past its timeout. Thread-safe.
 */
public final class AdminCalls {
    private final PerOwner running = new PerOwner();
    private final java.util.concurrent.atomic.AtomicInteger inProgress = new java.util.concurrent.atomic.AtomicInteger();
    private final int max;
    private final Function<HttpServerExchange, String> caller;

    /**
     * At most {@code max} admin requests in progress on this server, and {@code perKeyMax} per API
     * key or user.
     */
    public AdminCalls(int max, int perKeyMax) {
        this(max, perKeyMax, exchange -> io.portico.proxy.auth.Access.caller(exchange).owner());
    }

    /** As above, the caller of a request told by {@code caller} (null: not counted per key). */
    AdminCalls(int max, int perKeyMax, Function<HttpServerExchange, String> caller) {
        this.max = max;
        this.running.max(perKeyMax);
        this.caller = caller;
    }

    /** Whether the request is one that carries a body (POST, PUT, PATCH). */
    private static boolean hasBody(HttpServerExchange exchange) {
        io.undertow.util.HttpString method = exchange.getRequestMethod();
        return method.equals(io.undertow.util.Methods.POST) || method.equals(io.undertow.util.Methods.PUT)
                || method.equals(io.undertow.util.Methods.PATCH);
    }

    /** Admin requests in progress on this server now (those without a body). */
    public int inProgress() {
        return inProgress.get();
    }

    /**
     * {@code next}, answered only while the server has fewer than its most admin requests in
     * progress, and its caller fewer than its own most.
     */
    public HttpHandler wrap(HttpHandler next) {
        return exchange -> {
            String owner = caller.apply(exchange);
            // The caller's share first: a key at its own bound takes no place of the server's.
            if (owner != null && !running.take(owner)) {
                throw ErrorCode.TOO_MANY_REQUESTS.exception("this API key has " + running.max()
                        + " admin requests in progress on this server (admin.requests.per.key.max); "
                        + "retry when one is answered");
            }
            // Requests with a body (creates, changes) are not counted for the whole server: their
            // place would be taken before their body arrives, and bodies that never come (each held
            // until request.body.timeout.ms) would shut every caller out of the admin routes.
            boolean counted = !hasBody(exchange);
            if (counted && inProgress.incrementAndGet() > max) {
                inProgress.decrementAndGet();
                if (owner != null) {
                    running.give(owner);
                }
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("this server has " + max
                        + " admin requests in progress (admin.requests.max); retry later");
            }
            // Given back once: as the answer starts (the client may send its next request as soon as
            // it has it, before this exchange completes: a body it still drains, say), or when the
            // exchange completes without one.
            java.util.concurrent.atomic.AtomicBoolean given = new java.util.concurrent.atomic.AtomicBoolean();
            Runnable giveBack = () -> {
                if (given.compareAndSet(false, true)) {
                    if (counted) {
                        inProgress.decrementAndGet();
                    }
                    if (owner != null) {
                        running.give(owner);
                    }
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
