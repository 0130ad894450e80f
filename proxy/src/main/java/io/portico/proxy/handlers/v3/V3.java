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
