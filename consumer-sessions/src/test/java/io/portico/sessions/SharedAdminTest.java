package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.junit.jupiter.api.Test;

/**
 * The shared admin client is replaced only when it is what fails: one that had answers from the
 * cluster since its call failed is busy (its calls queue, one at a time per broker) and is kept,
 * with every call queued in it; one that had none is checked against a new client.
 */
class SharedAdminTest {
    private final List<FakeAdmin> made = new ArrayList<>();

    /** An admin client whose count of answers is {@code answers}; it answers describeCluster with one broker. */
    private Admin client(AtomicLong answers, boolean withMetric) {
        FakeAdmin fake = new FakeAdmin()
                .on("metrics", args -> withMetric ? Map.of(
                        new MetricName("response-total", "admin-client-metrics", "", Map.of("client-id", "c")),
                        metric(answers),
                        // A per-broker count beside it: not the client's own.
                        new MetricName("response-total", "admin-client-node-metrics", "",
                                Map.of("client-id", "c", "node-id", "node-1")), metric(new AtomicLong(1_000))) : Map.of())
                .on("describeCluster", args -> oneBroker())
                .on("close", args -> null);
        made.add(fake);
        return fake.admin();
    }

    private static Metric metric(AtomicLong value) {
        return new Metric() {
            @Override
            public MetricName metricName() {
                return new MetricName("response-total", "g", "", Map.of());
            }

            @Override
            public Object metricValue() {
                return (double) value.get();
            }
        };
    }

    private static DescribeClusterResult oneBroker() {
        KafkaFutureImpl<java.util.Collection<Node>> nodes = new KafkaFutureImpl<>();
        nodes.complete(List.of(new Node(1, "localhost", 9092)));
        return FakeAdmin.describeCluster(nodes);
    }

    @Test
    void aClientWithAnswersSinceItsCallFailedIsKeptAndNoNewOneIsMade() {
        AtomicLong answers = new AtomicLong(7);
        SharedAdmin shared = new SharedAdmin(() -> client(answers, true), Duration.ZERO);
        Admin first = shared.get();
        long before = shared.progress();
        assertEquals(7, before, "the client's own count, not its per-broker one");
        answers.addAndGet(3); // answers to calls queued ahead of the one that timed out
        assertFalse(shared.replaceIfBroken(Duration.ofSeconds(1), before));
        assertSame(first, shared.get());
        assertEquals(1, made.size(), "no new client was made to check it");
    }

    @Test
    void aClientWithNoAnswersSinceIsReplacedByANewOneThatAnswers() {
        AtomicLong answers = new AtomicLong(7);
        SharedAdmin shared = new SharedAdmin(() -> client(answers, true), Duration.ZERO);
        Admin first = shared.get();
        long before = shared.progress();
        assertTrue(shared.replaceIfBroken(Duration.ofSeconds(1), before));
        assertEquals(2, made.size());
        assertTrue(shared.get() != first, "the new client is the shared one now");
    }

    @Test
    void aClientThatCountsNoAnswersIsCheckedAgainstANewOne() {
        SharedAdmin shared = new SharedAdmin(() -> client(new AtomicLong(), false), Duration.ZERO);
        Admin first = shared.get();
        assertEquals(-1, shared.progress());
        assertTrue(shared.replaceIfBroken(Duration.ofSeconds(1), shared.progress()));
        assertTrue(shared.get() != first);
    }
}
