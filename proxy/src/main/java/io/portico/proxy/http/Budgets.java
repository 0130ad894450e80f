package io.portico.proxy.http;

import io.portico.sessions.MemoryBudget;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import java.time.Duration;

/**
 * Gives each request its accounts with the memory budgets — one for what its body takes as it
 * arrives (and until its records are acknowledged), one for the response it builds — and gives
 * everything back when the exchange completes, whatever way it ends. Accounts are made on first
 * use, so a request that needs none costs nothing.
 */
public final class Budgets implements HttpHandler {
    private static final AttachmentKey<Accounts> ACCOUNTS = AttachmentKey.create(Accounts.class);

    /** The budgets, and the request timeouts that go with reading bodies. */
    public record Settings(MemoryBudget requests, MemoryBudget responses, Duration bodyTimeout, Duration memoryWait) {
        /** Unbounded budgets and long timeouts, for listeners that take no client bodies. */
        public static final Settings UNBOUNDED = new Settings(MemoryBudget.unbounded("memory.requests.max.bytes"),
                MemoryBudget.unbounded("memory.responses.max.bytes"), Duration.ofMinutes(5), Duration.ZERO);
    }

    private final HttpHandler next;
    private final Settings settings;

    public Budgets(HttpHandler next, Settings settings) {
        this.next = next;
        this.settings = settings;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        Accounts accounts = new Accounts(settings);
        exchange.putAttachment(ACCOUNTS, accounts);
        exchange.addExchangeCompleteListener(accounts); // here, on the IO thread: leases may be made on workers
        next.handleRequest(exchange);
    }

    /** The settings this exchange runs under (unbounded when it did not pass through a {@link Budgets}). */
    public static Settings settings(HttpServerExchange exchange) {
        Accounts accounts = exchange.getAttachment(ACCOUNTS);
        return accounts == null ? Settings.UNBOUNDED : accounts.settings;
    }

    /**
     * Keeps this request's accounts open until the returned release runs, even when the exchange
     * ends first — a client that disconnects while its work still holds its body or builds its
     * response must not free the budget for others while that memory is in use. Run the release
     * exactly once, when the work is done.
     */
    public static Runnable hold(HttpServerExchange exchange) {
        Accounts accounts = exchange.getAttachment(ACCOUNTS);
        if (accounts == null) {
            return () -> { };
        }
        accounts.retain();
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true)) {
                accounts.release();
            }
        };
    }

    /** This request's account with the requests budget, in its caller's share of it. */
    public static MemoryBudget.Lease requestLease(HttpServerExchange exchange) {
        return accounts(exchange).request(io.portico.proxy.auth.Access.caller(exchange).owner());
    }

    /** This request's account with the responses budget. */
    public static MemoryBudget.Lease responseLease(HttpServerExchange exchange) {
        return accounts(exchange).response(io.portico.proxy.auth.Access.caller(exchange).owner());
    }

    private static Accounts accounts(HttpServerExchange exchange) {
        Accounts accounts = exchange.getAttachment(ACCOUNTS);
        if (accounts == null) {
            accounts = new Accounts(Settings.UNBOUNDED); // nothing to give back to an unbounded budget
            exchange.putAttachment(ACCOUNTS, accounts);
        }
        return accounts;
    }

    private static final class Accounts implements ExchangeCompletionListener {
        final Settings settings;
        private MemoryBudget.Lease request;
        private MemoryBudget.Lease response;
        private int holders = 1; // the exchange, and each piece of work in flight

        Accounts(Settings settings) {
            this.settings = settings;
        }

        /** The body's lease, counted in {@code owner}'s share of the requests budget (the first call's owner). */
        synchronized MemoryBudget.Lease request(String owner) {
            if (request == null) {
                request = settings.requests().lease(owner);
                if (holders == 0) {
                    request.close(); // made after everything ended: takes nothing
                }
            }
            return request;
        }

        /** The answer's lease, counted in {@code owner}'s share of the responses budget (the first call's owner). */
        synchronized MemoryBudget.Lease response(String owner) {
            if (response == null) {
                response = settings.responses().lease(owner);
                if (holders == 0) {
                    response.close();
                }
            }
            return response;
        }

        synchronized void retain() {
            if (holders > 0) {
                holders++;
            }
        }

        synchronized void release() {
            if (holders > 0 && --holders == 0) {
                if (request != null) {
                    request.close();
                }
                if (response != null) {
                    response.close();
                }
            }
        }

        @Override
        public void exchangeEvent(HttpServerExchange exchange, NextListener nextListener) {
            try {
                release();
            } finally {
                nextListener.proceed();
            }
        }
    }
}
