package io.portico.sessions;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Calls (to the shared admin client, say) that are in progress at once with the same key share one: the
 * first caller makes the call, and those that come while it runs get its answer, or its failure.
 * Nothing is kept once the call completes: a caller after that makes a new one, so a failure is
 * never answered again and an answer is never older than the request. Each caller gets a future of
 * its own, so that what one does with it (cancels it, say) does not reach the others; what a
 * caller may see of the answer is its own to filter. Thread-safe.
 */
public final class SharedCalls<K, V> {
    private final ConcurrentHashMap<K, CompletableFuture<V>> running = new ConcurrentHashMap<>();

    /**
     * The answer of the call of {@code key} in progress, else of the one {@code call} makes now.
     * The future returned completes on the thread that completes the call.
     */
    public CompletableFuture<V> call(K key, Supplier<CompletableFuture<V>> call) {
        CompletableFuture<V> mine = new CompletableFuture<>();
        CompletableFuture<V> theirs = running.putIfAbsent(key, mine);
        if (theirs != null) {
            return theirs.copy();
        }
        CompletableFuture<V> made;
        try {
            made = call.get();
        } catch (Throwable e) {
            made = CompletableFuture.failedFuture(e);
        }
        made.whenComplete((value, error) -> {
            running.remove(key, mine); // before the answer: whoever comes after it asks again
            if (error != null) {
                mine.completeExceptionally(error);
            } else {
                mine.complete(value);
            }
        });
        return mine.copy();
    }

    /** Calls in progress now. */
    public int inProgress() {
        return running.size();
    }
}
