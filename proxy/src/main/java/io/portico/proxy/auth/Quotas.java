package io.portico.proxy.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.ErrorCode;
import io.portico.proxy.http.Http;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Per-caller request quotas, so that one application's burst cannot take the server from the
 * others: each caller (an API key, or a client address with authentication off) has a token
 * bucket of its rate, holding at most its burst (an IPv6 client counted by its /64 network); a request takes a token or is refused 429
 * with {@code Retry-After} (the whole seconds until a token). A key's own
 * {@code requests_per_second} overrides the default rate (0: none for it), with one second's worth
 * at once. A request another node relayed was counted there. Buckets of callers quiet for ten
 * minutes are forgotten, and there are at most {@value #MAX_CALLERS} (Caffeine's size eviction
 * chooses which go; a forgotten caller starts afresh, never refused for it). Thread-safe.
 */
public final class Quotas {
    static final int MAX_CALLERS = 10_000;
    private static final long FORGET_NANOS = TimeUnit.MINUTES.toNanos(10);

    private final int defaultRate;
    private final int burst;
    private final int failureRate;
    private final Ticker ticker;
    private final Cache<String, Bucket> buckets;
    private final Runnable onRefused;

    /**
     * @param requestsPerSecond the default rate of every caller; 0: none (keys may still have their own)
     * @param burst how many requests a rested caller may make at once; 0: one second's worth
     * @param onRefused told of each refusal (a meter)
     */
    public Quotas(int requestsPerSecond, int burst, Ticker ticker, Runnable onRefused) {
        this(requestsPerSecond, burst, 0, ticker, onRefused);
    }

    /**
     * As above; {@code failuresPerSecond}: the rate of requests refused for their credentials one
     * client address may have (ten seconds' worth at once); 0: none.
     */
    public Quotas(int requestsPerSecond, int burst, int failuresPerSecond, Ticker ticker, Runnable onRefused) {
        this.defaultRate = requestsPerSecond;
        this.burst = burst;
        this.failureRate = failuresPerSecond;
        this.ticker = ticker;
        this.onRefused = onRefused;
        this.buckets = Caffeine.newBuilder().maximumSize(MAX_CALLERS).ticker(ticker)
                .expireAfterAccess(Duration.ofNanos(FORGET_NANOS)).executor(Runnable::run).build();
    }

    /** No quotas at all. */
    public static Quotas none() {
        return new Quotas(0, 0, 0, Ticker.systemTicker(), () -> { });
    }

    /**
     * Takes a token of the caller of {@code exchange}, whose principal is {@code caller} (null
     * with authentication off).
     *
     * @throws io.portico.protocol.RestException 429 with {@code Retry-After} when it has none
     */
    public void admit(HttpServerExchange exchange, Principal caller) {
        ApiKey own = caller instanceof ApiKey key && key.requestsPerSecond() != null ? key : null;
        int rate = own != null ? own.requestsPerSecond() : defaultRate;
        if (rate <= 0 || exchange.getAttachment(Http.RELAYED_BY) != null) {
            return;
        }
        // A key's own rate comes with its own burst (else one second's worth); the default with quota.requests.burst.
        long capacity = own != null ? (own.burst() != null ? own.burst() : rate) : burst > 0 ? burst : rate;
        if (caller != null && caller.name() != null) {
            limit(exchange, "key:" + caller.name(), rate, capacity,
                    (caller instanceof ApiKey ? "API key '" : "user '") + caller.name() + "'", "");
        } else {
            String address = address(exchange);
            limit(exchange, "address:" + address, rate, capacity, "client address " + address, "");
        }
    }

    /**
     * A request whose credentials were refused (401, or a wrong node secret) counts against its
     * client address at the failures' rate, ten seconds' worth at once, so that guessing keys,
     * passwords or the secret is held to it: past it, 429.
     */
    public void admitFailure(HttpServerExchange exchange) {
        if (failureRate <= 0 || exchange.getAttachment(Http.RELAYED_BY) != null) {
            return;
        }
        String address = address(exchange);
        try {
            limit(exchange, "refused:" + address, failureRate, Math.min(Integer.MAX_VALUE, failureRate * 10L),
                    "client address " + address, " without valid credentials");
        } catch (io.portico.protocol.RestException e) {
            exchange.getResponseHeaders().remove(Headers.WWW_AUTHENTICATE);
            throw e;
        }
    }

    /** Takes a token of {@code who}, or refuses the request (429) naming the caller (text built only then). */
    private void limit(HttpServerExchange exchange, String who, int rate, long capacity, String caller, String how) {
        long wait = take(who, rate, capacity);
        if (wait > 0) {
            onRefused.run();
            long seconds = Math.max(1, (wait + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
            exchange.getResponseHeaders().put(Headers.RETRY_AFTER, Long.toString(seconds));
            throw ErrorCode.TOO_MANY_REQUESTS.exception("the " + caller + " may make " + rate + " requests a second"
                    + how + (capacity != rate ? " (" + capacity + " at once)" : "") + "; retry after " + seconds + " s");
        }
    }

    /**
     * Refuses (429) a request whose client address has used up its refused credentials' rate,
     * before its credentials are looked at: past the bound, a right guess is not tried either (else
     * the bound would only turn a wrong guess's 401 into a 429). Takes nothing.
     */
    public void refuseIfGuessing(HttpServerExchange exchange) {
        if (failureRate <= 0 || exchange.getAttachment(Http.RELAYED_BY) != null) {
            return;
        }
        String address = address(exchange);
        Bucket bucket = buckets.getIfPresent("refused:" + address);
        if (bucket == null) {
            return;
        }
        long wait;
        synchronized (bucket) {
            wait = bucket.waitFor(ticker.read());
        }
        if (wait > 0) {
            onRefused.run();
            long seconds = Math.max(1, (wait + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
            exchange.getResponseHeaders().put(Headers.RETRY_AFTER, Long.toString(seconds));
            throw ErrorCode.TOO_MANY_REQUESTS.exception("the client address " + address + " may make " + failureRate
                    + " requests a second without valid credentials (" + Math.min(Integer.MAX_VALUE, failureRate * 10L)
                    + " at once); retry after " + seconds + " s");
        }
    }

    private static String address(HttpServerExchange exchange) {
        return Http.sourceAddressKey(exchange);
    }

    /**
     * Takes a token of {@code who} at {@code rate} a second, holding at most {@code capacity}: 0
     * when taken, else the nanoseconds until one is there.
     */
    long take(String who, int rate, long capacity) {
        Bucket bucket = buckets.get(who, k -> new Bucket(rate, capacity, ticker.read()));
        synchronized (bucket) {
            if (bucket.rate != rate || bucket.capacity != capacity) {
                bucket.reset(rate, capacity, ticker.read()); // the keys file gave it another rate
            }
            return bucket.take(ticker.read());
        }
    }

    /**
     * Tokens kept in nanoseconds of credit: a token is {@code 1e9 / rate} of them, and credit
     * grows with time up to the capacity's worth (integers only: no drift).
     */
    private static final class Bucket {
        int rate;
        long capacity;
        private long credit;
        private long last;

        Bucket(int rate, long capacity, long now) {
            reset(rate, capacity, now);
        }

        void reset(int rate, long capacity, long now) {
            this.rate = rate;
            this.capacity = capacity;
            this.credit = full();
            this.last = now;
        }

        private long cost() {
            return TimeUnit.SECONDS.toNanos(1) / rate;
        }

        private long full() {
            return Math.multiplyHigh(capacity, cost()) != 0 ? Long.MAX_VALUE : capacity * cost();
        }

        /** The nanoseconds until a token is there (0: one is), taking none. */
        long waitFor(long now) {
            long elapsed = Math.max(0, now - last);
            long c = credit > full() - elapsed ? full() : credit + elapsed;
            return c >= cost() ? 0 : cost() - c;
        }

        long take(long now) {
            long elapsed = Math.max(0, now - last);
            last = now;
            credit = credit > full() - elapsed ? full() : credit + elapsed;
            if (credit >= cost()) {
                credit -= cost();
                return 0;
            }
            return cost() - credit;
        }
    }
}
