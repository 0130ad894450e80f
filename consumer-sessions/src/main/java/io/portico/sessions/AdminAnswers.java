package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.common.KafkaFuture;

/**
 * The answers of the shared admin client, taken off its thread: a Kafka future completes on the
 * admin client's one network thread, which every caller of the client waits on (produce's
 * look-ups of topics, health checks), so what is made of an answer (filtering and sorting a
 * topic list, describing each topic, what callers chain after it) runs on an executor instead,
 * and completes the future handed back there.
 *
 * <p>The executor is a bounded pool: when it refuses the work, the future fails with 503. Many
 * futures of one call (one per topic of a list) take one task of it together, not one each.
 */
final class AdminAnswers {
    private final Executor executor;
    private final Function<Throwable, RestException> translate;

    /**
     * @param executor runs what is made of the answers (a bounded pool; {@code Runnable::run}
     *        keeps the admin client's thread)
     * @param translate a Kafka failure in the words of the caller's API
     */
    AdminAnswers(Executor executor, Function<Throwable, RestException> translate) {
        this.executor = executor;
        this.translate = translate;
    }

    /**
     * Once {@code future} completes, {@code f} of its value on the executor, or its failure
     * translated.
     */
    <T, R> CompletableFuture<R> map(KafkaFuture<T> future, Function<T, R> f) {
        return settled(List.of(future), () -> f.apply(valueOf(future)));
    }

    /**
     * Once every one of {@code futures} has completed, failed or not, runs {@code then} on the
     * executor (where it may read their values with {@link #valueOf}) and completes the future
     * returned with what it yields, or its failure translated. The admin client's thread only
     * counts the completions.
     */
    <R> CompletableFuture<R> settled(Collection<? extends KafkaFuture<?>> futures,
                                     Supplier<R> then) {
        CompletableFuture<R> out = new CompletableFuture<>();
        if (futures.isEmpty()) {
            complete(out, then);
            return out;
        }
        AtomicInteger left = new AtomicInteger(futures.size());
        for (KafkaFuture<?> future : futures) {
            future.whenComplete((value, error) -> {
                if (left.decrementAndGet() == 0) {
                    complete(out, then);
                }
            });
        }
        return out;
    }

    /**
     * Once {@code stage} completes (on whatever thread), {@code f} of its value on the executor,
     * or its failure translated.
     */
    <T, R> CompletableFuture<R> handedOff(CompletionStage<T> stage, Function<T, R> f) {
        CompletableFuture<R> out = new CompletableFuture<>();
        stage.whenComplete((value, error) -> complete(out, () -> {
            if (error != null) {
                throw translate.apply(error);
            }
            return f.apply(value);
        }));
        return out;
    }

    /**
     * The value of a completed Kafka future.
     *
     * @throws RestException its failure, translated
     */
    <T> T valueOf(KafkaFuture<T> done) {
        try {
            return done.getNow(null);
        } catch (ExecutionException e) {
            throw translate.apply(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
        }
    }

    /** Completes {@code out} with what {@code then} yields, run on the executor; 503 when the executor refuses it. */
    private <R> void complete(CompletableFuture<R> out, Supplier<R> then) {
        try {
            executor.execute(() -> {
                try {
                    out.complete(then.get());
                } catch (RuntimeException e) {
                    out.completeExceptionally(translate.apply(e));
                } catch (Throwable e) {
                    // an Error too: the future completes, and the executor's thread lives on
                    out.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            out.completeExceptionally(ErrorCode.SERVICE_UNAVAILABLE.exception(
                    "too many cluster requests in progress; retry later"));
        }
    }
}
