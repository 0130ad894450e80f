package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.portico.protocol.RestException;
import java.lang.reflect.Constructor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.junit.jupiter.api.Test;

/** The v3 routes' cluster id: asked of the cluster once however many requests need it at once. */
class ClusterIdTest {
    private final List<KafkaFutureImpl<String>> asked = new ArrayList<>();

    private DescribeClusterResult describe() {
        KafkaFutureImpl<String> id = new KafkaFutureImpl<>();
        synchronized (asked) {
            asked.add(id);
        }
        try {
            Constructor<DescribeClusterResult> c = DescribeClusterResult.class.getDeclaredConstructor(KafkaFuture.class,
                    KafkaFuture.class, KafkaFuture.class, KafkaFuture.class);
            c.setAccessible(true);
            return c.newInstance(new KafkaFutureImpl<>(), new KafkaFutureImpl<>(), id, new KafkaFutureImpl<>());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void requestsArrivingWhileTheIdIsAskedShareOneQuestion() throws Exception {
        FakeAdmin admin = new FakeAdmin().on("describeCluster", args -> describe());
        ClusterAdmin cluster = new ClusterAdmin(SharedAdmin.of(admin.admin()), Duration.ofSeconds(5), false);
        List<CompletableFuture<String>> waiting = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            waiting.add(cluster.requireCluster("c-1"));
        }
        CompletableFuture<String> other = cluster.requireCluster("c-2");
        assertEquals(1, asked.size(), "one describeCluster for 51 requests");
        assertFalse(waiting.get(0).isDone());
        asked.get(0).complete("c-1");
        for (CompletableFuture<String> w : waiting) {
            assertEquals("c-1", w.get(5, TimeUnit.SECONDS));
        }
        ExecutionException e = assertThrows(ExecutionException.class, () -> other.get(5, TimeUnit.SECONDS));
        assertInstanceOf(RestException.class, e.getCause() instanceof java.util.concurrent.CompletionException
                ? e.getCause().getCause() : e.getCause());
        assertEquals("c-1", cluster.requireCluster("c-1").get(5, TimeUnit.SECONDS), "known now: no question");
        assertEquals(1, asked.size());
        // A failed question is not kept: the next request asks again.
        ClusterAdmin failing = new ClusterAdmin(SharedAdmin.of(admin.admin()), Duration.ofSeconds(5), false);
        CompletableFuture<String> first = failing.requireCluster("c-1");
        asked.get(1).completeExceptionally(new org.apache.kafka.common.errors.TimeoutException("no answer"));
        assertThrows(ExecutionException.class, () -> first.get(5, TimeUnit.SECONDS));
        failing.requireCluster("c-1");
        assertEquals(3, asked.size());
    }
}
