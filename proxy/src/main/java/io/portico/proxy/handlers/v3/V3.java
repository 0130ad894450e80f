package io.portico.proxy.handlers.v3;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.MediaType;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Budgets;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.portico.sessions.MemoryBudget;
import io.undertow.server.HttpServerExchange;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/** What every v3 admin handler does the same way: check the route's cluster id, read a JSON body, answer. */
final class V3 {
    /** The path parameter of the cluster id. */
    static final String CLUSTER = "cluster_id";

    private V3() {
    }

    /**
     * Once the route's cluster id is known to be this cluster's (else 404 {@code Cluster <id>
     * cannot be found.}), runs {@code work} and makes the answer of its result with
     * {@code render}. Never blocks; call while handling the exchange.
     */
    static <T, R> CompletableFuture<R> resolve(HttpServerExchange exchange, ClusterAdmin admin, BaseUrl base,
                                               Function<String, CompletionStage<T>> work,
                                               BiFunction<Resources, T, R> render) {
        String baseUrl = base.of(exchange);
        return admin.requireCluster(Http.param(exchange, CLUSTER))
                .thenCompose(id -> work.apply(id).thenApply(value -> render.apply(new Resources(baseUrl, id), value)));
    }

    /**
     * As {@link #resolve}, finishing the exchange with the answer: 200 with its JSON, or what a
     * {@link Http.Reply} says. The JSON is written where the answer was made (the admin pool),
     * not on the IO thread: a list of thousands of partitions or groups is megabytes of it. Its
     * bytes count against the responses budget until sent, so that other requests wait for
     * room while such answers are out.
     */
    static <T, R> void answer(HttpServerExchange exchange, ClusterAdmin admin, BaseUrl base,
                              Function<String, CompletionStage<T>> work, BiFunction<Resources, T, R> render) {
        Http.completeWritten(exchange, resolve(exchange, admin, base, work, render), Function.identity());
    }

    /**
     * Room in the responses budget taken for an answer before Kafka is asked for what it holds
     * ({@link #take}, called once its size can be estimated): for answers too large to build
     * first and count after. More than one answer may hold (one key's share, half the budget when
     * it is none's) is 422, since it would never fit; the key's share full now is 429; no room
     * now is {@code false} (the caller answers 503). {@link #answer(HttpServerExchange, ClusterAdmin,
     * BaseUrl, Function, BiFunction, Room) answer} gives it back once the answer's JSON is made and
     * counted in its place; whatever is still taken when the exchange ends goes back with the
     * exchange's lease.
     */
    static final class Room {
        private final MemoryBudget.Lease lease;
        private final String instead;
        private final java.util.concurrent.atomic.AtomicLong taken = new java.util.concurrent.atomic.AtomicLong();

        /** @param instead what to ask instead, for the 422's message */
        Room(HttpServerExchange exchange, String instead) {
            this.lease = Budgets.responseLease(exchange);
            this.instead = instead;
        }

        /**
         * Takes {@code bytes} for an answer of {@code what} ({@code "the lags of 40 partitions"});
         * false when there is no room now.
         */
        boolean take(long bytes, String what) {
            long most = Math.min(lease.budget().capacity() / 2, lease.budget().ownerShare());
            if (bytes > most) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception(what + " need about " + bytes + " bytes of JSON, more than "
                        + "one answer may hold (" + most + " bytes of memory.responses.max.bytes); " + instead);
            }
            if (!lease.tryTake(bytes)) {
                if (lease.ownerFull(bytes)) {
                    throw lease.budget().ownerShareFull();
                }
                return false;
            }
            taken.addAndGet(bytes);
            return true;
        }

        private void release() {
            lease.give(taken.getAndSet(0));
        }
    }

    /**
     * As {@link #answer(HttpServerExchange, ClusterAdmin, BaseUrl, Function, BiFunction)}, giving
     * back what {@code room} took once the answer's JSON is made and counted in its place.
     */
    static <T, R> void answer(HttpServerExchange exchange, ClusterAdmin admin, BaseUrl base,
                              Function<String, CompletionStage<T>> work, BiFunction<Resources, T, R> render, Room room) {
        MemoryBudget.Lease lease = Budgets.responseLease(exchange);
        Http.complete(exchange, resolve(exchange, admin, base, work, render).thenApply(answer -> {
            try {
                return Http.written(answer, lease);
            } finally {
                room.release();
            }
        }), Function.identity());
    }

    /**
     * Reads a JSON body of {@code reader}'s type without blocking and calls {@code then} with it on
     * the IO thread. A {@code Content-Type} other than {@code application/json} is a 415 (none
     * means JSON); an empty body or a JSON {@code null} is 422/42206
     * {@code Payload error. <empty>}, as Confluent's proxy answers it.
     */
    static <T> void readBody(HttpServerExchange exchange, long maxBodyBytes, Json.BodyReader<T> reader, String empty,
                             Consumer<T> then) {
        Http.requireJsonBody(exchange);
        Http.readBody(exchange, Math.min(maxBodyBytes, Http.ADMIN_BODY_MAX_BYTES), body -> {
            if (Json.isEmptyOrNull(body)) {
                throw ErrorCode.PAYLOAD_ERROR.exception(empty);
            }
            then.accept(reader.read(body, EmbeddedFormat.JSON));
        });
    }
}
