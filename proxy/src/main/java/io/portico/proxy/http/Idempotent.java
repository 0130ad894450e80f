package io.portico.proxy.http;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.MediaType;
import io.portico.protocol.RestException;
import io.portico.proxy.auth.Access;
import io.portico.sessions.Idempotency;
import io.portico.sessions.IdempotencyKey;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderValues;
import io.undertow.util.HttpString;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The HTTP side of {@code Idempotency-Key} on the produce routes: reads and checks the header,
 * scopes the key to the caller's API key, fingerprints the request, runs it through
 * {@link Idempotency} and answers what that says — the request's own response, or the first one
 * again with {@code Idempotent-Replayed: true}.
 *
 * <p>A keyed request is parsed on its route's pool, and executed on a pool of keyed requests
 * alone: what {@link Idempotency#execute} waits for (another request with the key or one sharing
 * its transactional id, the state topic catching up, the transaction's start and commit) then
 * takes none of the threads that produces without a key need.
 */
public final class Idempotent {
    /** The request header. */
    public static final HttpString KEY = new HttpString("Idempotency-Key");
    /** The response header of an answer given again. */
    public static final HttpString REPLAYED = new HttpString("Idempotent-Replayed");

    private final Idempotency service;
    private final Executor keyed;
    private final java.util.function.Consumer<String> topicCheck;

    /**
     * Keyed requests each API key (or user) has waiting for or running on the keyed pool: at most
     * half the pool's threads, fewer while other keys' crowd them ({@link PoolShares}), so that
     * one key's requests (which wait on one another, and on any whose key shares their
     * transactional id: keys a client can choose to collide), or two keys', never hold every
     * thread other keys' keyed requests need.
     */
    private final PoolShares shares;

    /**
     * @param service the keys' service, or null when {@code idempotency.enabled=false}
     * @param keyed where keyed requests execute, and wait (a bounded pool of their own: a full
     *        one answers 503)
     * @param threads that pool's threads: one API key may have half of them at once (429 past it)
     * @param topicCheck refuses (throws) a topic no client may produce to, before a keyed
     *        request's producer looks it up (which may create it)
     */
    public Idempotent(Idempotency service, Executor keyed, int threads,
                      java.util.function.Consumer<String> topicCheck) {
        this.service = service;
        this.keyed = keyed;
        this.topicCheck = topicCheck;
        this.shares = new PoolShares(keyed, threads / 2, threads,
                "produce.threads, requests with an Idempotency-Key; nothing of this request was produced");
    }

    /**
     * The request's key in its caller's scope, or null when it has none. Call on the IO thread,
     * before the body is read, so a bad key costs nothing.
     *
     * @throws io.portico.protocol.RestException 400 for a key that is not 1 to 255 visible ASCII
     *         characters or a repeated header; 501 when this server has keys turned off
     */
    public IdempotencyKey key(HttpServerExchange exchange) {
        HeaderValues values = exchange.getRequestHeaders().get(KEY);
        if (values == null || values.isEmpty()) {
            return null;
        }
        if (values.size() > 1) {
            throw ErrorCode.BAD_REQUEST.exception("A request may carry one Idempotency-Key header");
        }
        String value = IdempotencyKey.check(values.getFirst());
        if (service == null) {
            throw ErrorCode.NOT_IMPLEMENTED.exception("Idempotency-Key is turned off on this server "
                    + "(idempotency.enabled=false); nothing was produced");
        }
        io.portico.proxy.auth.Principal caller = Access.caller(exchange);
        return IdempotencyKey.of(caller.name(), value, caller.owner());
    }

    /**
     * Runs a keyed request that produces to {@code topic}: {@code prepare} checks and parses it on
     * {@code pool} (throwing its whole-request errors, before anything is asked of Kafka) and
     * returns the work, which {@link Idempotency#execute} then runs at most once per key, on the
     * keyed requests' pool. Answers the outcome with the response's own status and type. Call on
     * the IO thread once the body is in; the response type must be negotiated already.
     */
    public void run(HttpServerExchange exchange, Executor pool, IdempotencyKey key, byte[] body, String topic,
                    Supplier<Idempotency.Work> prepare) {
        String method = exchange.getRequestMethod().toString();
        String path = exchange.getRequestPath() + "?" + exchange.getQueryString();
        String contentType = Http.contentType(exchange);
        String owner = Access.caller(exchange).owner();
        Http.offload(exchange, pool, () -> {
            if (topic != null) {
                topicCheck.accept(topic); // before anything asks Kafka of it
            }
            // Hashed on the pool: a body may be megabytes, and the IO thread serves other connections.
            byte[] fingerprint = IdempotencyKey.fingerprint(method, path, contentType, body);
            Idempotency.Work work = prepare.get();
            if (work instanceof Elsewhere moved) {
                return Http.on(moved.executor(), () -> execute(owner, key, fingerprint, topic, moved.prepare().get()));
            }
            return execute(owner, key, fingerprint, topic, work);
        }, answer -> {
            if (answer.replayed()) {
                exchange.getResponseHeaders().put(REPLAYED, "true");
            }
            Idempotency.Response response = answer.response();
            exchange.putAttachment(Http.RESPONSE_TYPE, MediaType.parse(response.contentType()));
            return new Http.Reply(response.status(), new Http.RawJson(response.body()));
        });
    }

    /**
     * {@link Idempotency#execute} of prepared work, on the keyed requests' pool (its waits hold
     * none of the route's threads).
     *
     * @throws RestException 503 when that pool is full; 429 when {@code owner} has its share of it
     */
    private CompletableFuture<Idempotency.Answer> execute(String owner, IdempotencyKey key, byte[] fingerprint,
                                                          String topic, Idempotency.Work work) {
        // A retry of a key already answered is answered again, whatever else the key has in progress.
        Executor on = service.answered(key) ? keyed : shares.of(owner);
        return Http.on(on, () -> CompletableFuture.completedFuture(service.execute(key, fingerprint, topic, work)));
    }

    /**
     * Work prepared on {@code executor} rather than where the request was parsed (a request whose
     * records need the schema registry, found out only once its body was parsed), then run on the
     * keyed requests' pool: {@code prepare} runs there before the key's transactional id is taken,
     * so what it waits for (the registry) holds up no other key that shares the id.
     */
    public record Elsewhere(Executor executor, Supplier<Idempotency.Work> prepare) implements Idempotency.Work {
        /** Prepares and runs here: only for a caller that ran it without moving (prepare then waits inside the transaction). */
        @Override
        public Idempotency.Outcome run(org.apache.kafka.clients.producer.Producer<byte[], byte[]> producer) {
            return prepare.get().run(producer);
        }
    }

    /**
     * Work whose preparation (asking the schema registry, say) runs now, before the key's
     * transactional id is taken, so that what it waits for holds up no other key sharing the id;
     * {@code then} makes the work of what it prepared. Not when this node has the key's answer
     * already: the work then seldom runs (only when that answer expired meanwhile) and prepares
     * in place. A {@link RestException} of the preparation is thrown from the work, so that a
     * result of the key found before it runs (the view catching up, a request with the key in
     * progress) is answered instead.
     */
    public <T> Idempotency.Work prepared(IdempotencyKey key, Supplier<T> prepare,
                                         Function<T, Idempotency.Work> then) {
        if (service.answered(key)) {
            return producer -> then.apply(prepare.get()).run(producer);
        }
        T ready;
        try {
            ready = prepare.get();
        } catch (RestException e) {
            return Idempotency.Work.failing(e); // no producer started for it (see Work.failing)
        }
        return then.apply(ready);
    }

    /** The response type negotiated for this exchange, as a keyed response records it. */
    public static String responseType(HttpServerExchange exchange) {
        MediaType type = exchange.getAttachment(Http.RESPONSE_TYPE);
        return type == null ? "application/json" : type.essence();
    }
}
