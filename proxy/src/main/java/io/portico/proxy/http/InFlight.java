package io.portico.proxy.http;

import io.portico.protocol.ErrorCode;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ExchangeCompletionListener;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the requests in progress, turns away those beyond {@code max.concurrent.requests} with
 * 503 and {@code Retry-After}, and, once {@link #shutdown()} is called, turns every new one away
 * with 503 and {@code Connection: close}, so that shutdown can wait for those already accepted
 * (every produce that will answer 200 has been acknowledged by Kafka) before closing the clients.
 */
public final class InFlight implements HttpHandler {
    private final HttpHandler next;
    private final AtomicInteger active = new AtomicInteger();
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

    public InFlight(HttpHandler next, int max) {
        this.next = next;
        this.max = max;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
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
        next.handleRequest(exchange);
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
