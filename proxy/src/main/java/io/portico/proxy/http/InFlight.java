package io.portico.proxy.http;

import io.portico.protocol.ErrorCode;
import io.portico.sessions.PerOwner;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ServerConnection;
import io.undertow.util.AttachmentKey;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the requests in progress, turns away those beyond {@code max.concurrent.requests} with
 * 503 and {@code Retry-After}, and those beyond {@code requests.per.address.max} from one client
 * address with 429 and {@code Retry-After} (before routing and authentication: a client with no
 * key, or with many, cannot take every place from the others), and, once {@link #shutdown()} is
 * called, turns every new one away with 503 and {@code Connection: close}, so that shutdown can
 * wait for those already accepted (every produce that will answer 200 has been acknowledged by
 * Kafka) before closing the clients.
 */
public final class InFlight implements HttpHandler {
    /** A connection's client address as {@link Http#addressKey} counts it, worked out once per connection. */
    private static final AttachmentKey<String> ADDRESS = AttachmentKey.create(String.class);

    private final HttpHandler next;
    private final AtomicInteger active = new AtomicInteger();
    private final PerOwner byAddress = new PerOwner();
    private final Object lock = new Object();
    private volatile boolean shuttingDown;

    private final ExchangeCompletionListener onDone = (exchange, nextListener) -> {
        try {
            if (active.decrementAndGet() == 0 && shuttingDown) {
                synchronized (lock) {
                    lock.notifyAll();
                }
            }
        } finally {
            nextListener.proceed();
        }
    };

    private final int max;

    private final java.util.function.Predicate<HttpServerExchange> exempt;
    private final java.util.function.Predicate<HttpServerExchange> probe;

    /** Every request counted, no share per address. */
    public InFlight(HttpHandler next, int max) {
        this(next, max, max, exchange -> false, exchange -> false);
    }

    /**
     * @param perAddress requests from one client address in progress at most (no share when not below {@code max})
     * @param exempt requests no address share holds (those another node relayed: their callers were counted there)
     * @param probe requests neither counted nor turned away, during shutdown either (the operator's
     *        {@code /health} and {@code /ready}: a liveness probe must not fail because the server is busy)
     */
    public InFlight(HttpHandler next, int max, int perAddress, java.util.function.Predicate<HttpServerExchange> exempt,
                    java.util.function.Predicate<HttpServerExchange> probe) {
        this.next = next;
        this.max = max;
        this.exempt = exempt;
        this.probe = probe;
        byAddress.max(perAddress);
    }

    /** The client address of the exchange's connection as counted, or null when unknown. */
    private static String addressOf(HttpServerExchange exchange) {
        ServerConnection connection = exchange.getConnection();
        String key = connection.getAttachment(ADDRESS); // HTTP/1.x: one per connection; HTTP/2: per stream
        if (key == null) {
            InetSocketAddress peer = connection.getPeerAddress(InetSocketAddress.class);
            if (peer == null || peer.getAddress() == null) {
                return null;
            }
            key = Http.addressKey(peer.getAddress());
            connection.putAttachment(ADDRESS, key);
        }
        return key;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        if (probe.test(exchange)) {
            next.handleRequest(exchange);
            return;
        }
        int now = active.incrementAndGet();
        exchange.addExchangeCompleteListener(onDone);
        if (now > max) {
            ErrorWriter.write(exchange, ErrorCode.SERVICE_UNAVAILABLE.exception(
                    "more than " + max + " requests in progress (max.concurrent.requests); retry later"));
            return;
        }
        if (shuttingDown) {
            exchange.setPersistent(false);
            ErrorWriter.write(exchange, ErrorCode.SERVICE_UNAVAILABLE.exception("the server is shutting down"));
            return;
        }
        if (byAddress.max() < max && !exempt.test(exchange)) {
            String address = addressOf(exchange);
            if (!byAddress.take(address)) {
                // Named: behind a load balancer or proxy the address counted is the balancer's, not the client's.
                ErrorWriter.write(exchange, ErrorCode.TOO_MANY_REQUESTS.exception("the client address " + address
                        + " has " + byAddress.max() + " requests in progress on this server (requests.per.address.max; "
                        + "behind a load balancer all its clients share its address); retry when one is answered"));
                return;
            }
            if (address != null) {
                exchange.putAttachment(COUNTED_ADDRESS, address);
                exchange.addExchangeCompleteListener((ex, nextListener) -> {
                    try {
                        byAddress.give(address);
                    } finally {
                        nextListener.proceed();
                    }
                });
            }
        }
        next.handleRequest(exchange);
    }

    private static final AttachmentKey<String> COUNTED_ADDRESS = AttachmentKey.create(String.class);

    /**
     * The request's client address as its share of the requests in progress counted it, or null
     * when addresses are not counted: a request other nodes relay, an address unknown, or every
     * address allowed all of them ({@code requests.per.address.max} at {@code max.concurrent.requests},
     * as behind a load balancer whose one address all clients share).
     */
    public static String countedAddress(HttpServerExchange exchange) {
        return exchange.getAttachment(COUNTED_ADDRESS);
    }

    /** Requests in progress now. */
    public int active() {
        return active.get();
    }

    /** Whether {@link #shutdown} was called. */
    public boolean isShuttingDown() {
        return shuttingDown;
    }

    /** Stops accepting requests (new ones get 503). */
    public void shutdown() {
        shuttingDown = true;
    }

    /** Blocks until no request is in progress or the timeout passes; true if none is left. */
    public boolean awaitIdle(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        synchronized (lock) {
            while (active.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
        }
        return true;
    }
}
