package io.portico.sessions;

import io.portico.protocol.RestException;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Calls with one key in progress at once are one call; nothing of it is kept once it completes. */
class SharedCallsTest {
    private final SharedCalls<String, String> shared = new SharedCalls<>();
    private final List<CompletableFuture<String>> made = new CopyOnWriteArrayList<>();

    private CompletableFuture<String> call(String key) {
        return shared.call(key, () -> {
            CompletableFuture<String> call = new CompletableFuture<>();
            made.add(call);
            return call;
        });
    }

    @Test
    void callersWhileACallIsInProgressShareItsAnswer() throws Exception {
        CompletableFuture<String> first = call("topics");
        CompletableFuture<String> second = call("topics");
        CompletableFuture<String> other = call("groups");
        assertEquals(2, made.size(), "one call per key");
        assertFalse(first.isDone());

        made.get(0).complete("a,b");
        assertEquals("a,b", first.get(5, TimeUnit.SECONDS));
        assertEquals("a,b", second.get(5, TimeUnit.SECONDS));
        assertFalse(other.isDone(), "another key's call is its own");
        assertEquals(1, shared.inProgress());
    }

    @Test
    void anAnswerIsNotKept() throws Exception {
        CompletableFuture<String> first = call("topics");
        made.get(0).complete("a");
        assertEquals("a", first.get(5, TimeUnit.SECONDS));
        assertEquals(0, shared.inProgress());

        CompletableFuture<String> later = call("topics");
        assertEquals(2, made.size(), "a caller after the answer makes a new call");
        made.get(1).complete("a,b");
        assertEquals("a,b", later.get(5, TimeUnit.SECONDS));
    }

    @Test
    void aFailureReachesEveryCallerAndIsNotKept() throws Exception {
        IllegalStateException failure = new IllegalStateException("the cluster did not answer");
        CompletableFuture<String> first = call("topics");
        CompletableFuture<String> second = call("topics");
        made.get(0).completeExceptionally(failure);
        for (CompletableFuture<String> f : List.of(first, second)) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
            assertSame(failure, RestException.unwrap(e));
        }
        assertEquals(0, shared.inProgress());

        CompletableFuture<String> again = call("topics");
        assertEquals(2, made.size(), "the next caller asks again");
        made.get(1).complete("a");
        assertEquals("a", again.get(5, TimeUnit.SECONDS));
    }

    @Test
    void aCallThatThrowsFailsItsCallersAndIsNotKept() throws Exception {
        CompletableFuture<String> thrown = shared.call("topics", () -> {
            throw new IllegalStateException("the admin client is closed");
        });
        assertTrue(thrown.isCompletedExceptionally());
        assertEquals(0, shared.inProgress());
        CompletableFuture<String> again = call("topics");
        made.get(0).complete("a");
        assertEquals("a", again.get(5, TimeUnit.SECONDS));
    }

    @Test
    void aCallerThatCancelsItsFutureLeavesTheOthersTheirs() throws Exception {
        CompletableFuture<String> first = call("topics");
        CompletableFuture<String> second = call("topics");
        first.cancel(true);
        made.get(0).complete("a");
        assertEquals("a", second.get(5, TimeUnit.SECONDS));
        assertTrue(first.isCancelled());
    }
}
