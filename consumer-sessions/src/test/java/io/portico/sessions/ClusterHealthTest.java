package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.junit.jupiter.api.Test;

/**
 * Readiness probes asked at once share one question to the cluster; the checks ask through an
 * admin client of their own, so a busy shared client neither makes the cluster look unreachable
 * nor gets replaced, and a shared client that is what fails is.
 */
class ClusterHealthTest {
    private final List<KafkaFutureImpl<Collection<Node>>> asked = new CopyOnWriteArrayList<>();

    private DescribeClusterResult describe() {
        KafkaFutureImpl<Collection<Node>> nodes = new KafkaFutureImpl<>();
        asked.add(nodes);
        return FakeAdmin.describeCluster(nodes);
    }

    @Test
    void probesAskedWhileTheClusterIsAskedShareOneQuestion() throws Exception {
        FakeAdmin admin = new FakeAdmin().on("describeCluster", args -> describe());
        try (ClusterHealth health = new ClusterHealth(SharedAdmin.of(admin.admin()), Duration.ofSeconds(5),
                Duration.ofHours(1))) {
            for (int i = 0; i < 500 && asked.isEmpty(); i++) {
                Thread.sleep(10); // the background check at start
            }
            List<CompletableFuture<Integer>> probes = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                probes.add(health.check());
            }
            assertEquals(1, asked.size(), "one describeCluster for the background check and 100 probes");
            assertFalse(probes.get(0).isDone());
            asked.get(0).complete(List.of(new Node(1, "localhost", 9092)));
            for (CompletableFuture<Integer> p : probes) {
                assertEquals(1, p.get(5, TimeUnit.SECONDS));
            }
            health.check();
            assertEquals(2, asked.size(), "answered: the next probe asks again");
        }
    }

    @Test
    void aCheckTheAdminClientNeverAnswersEndsAtItsBoundAndTheNextAsksAgain() throws Exception {
        FakeAdmin admin = new FakeAdmin().on("describeCluster", args -> describe()); // never completed
        try (ClusterHealth health = new ClusterHealth(SharedAdmin.of(admin.admin()), Duration.ofMillis(100),
                Duration.ofHours(1))) {
            CompletableFuture<Integer> probe = health.check();
            java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.ExecutionException.class, () -> probe.get(30, TimeUnit.SECONDS));
            assertEquals(503, ((io.portico.protocol.RestException) e.getCause()).httpStatus());
            assertFalse(health.reachable());
            int before = asked.size();
            health.check();
            assertEquals(before + 1, asked.size(), "the hung check is not shared by the next probe");
        }
    }

    /** A shared client whose calls never end, which has {@code answers} answers (to others' calls). */
    private static FakeAdmin stuck(java.util.concurrent.atomic.AtomicLong answers) {
        return new FakeAdmin()
                .on("metrics", args -> java.util.Map.of(new org.apache.kafka.common.MetricName("response-total",
                        "admin-client-metrics", "", java.util.Map.of()), new org.apache.kafka.common.Metric() {
                            @Override
                            public org.apache.kafka.common.MetricName metricName() {
                                return null;
                            }

                            @Override
                            public Object metricValue() {
                                return (double) answers.get();
                            }
                        }))
                .on("describeCluster", args -> {
                    answers.incrementAndGet(); // others' calls are answered meanwhile, when busy
                    return new ClusterHealthTest().describe(); // never completed
                })
                .on("close", args -> null);
    }

    private FakeAdmin answering() {
        return new FakeAdmin().on("describeCluster", args -> {
            DescribeClusterResult r = describe();
            asked.get(asked.size() - 1).complete(List.of(new Node(1, "localhost", 9092)));
            return r;
        });
    }

    @Test
    void aBusySharedClientLeavesTheClusterReachableAndIsKept() {
        FakeAdmin checks = answering();
        java.util.concurrent.atomic.AtomicLong answers = new java.util.concurrent.atomic.AtomicLong();
        List<FakeAdmin> made = new CopyOnWriteArrayList<>();
        SharedAdmin shared = new SharedAdmin(() -> {
            FakeAdmin f = stuck(answers);
            made.add(f);
            return f.admin();
        }, Duration.ZERO);
        try (ClusterHealth health = new ClusterHealth(SharedAdmin.of(checks.admin()), shared, Duration.ofMillis(100),
                Duration.ofHours(1), false)) {
            health.background();
            org.junit.jupiter.api.Assertions.assertTrue(checks.calls.contains("describeCluster"),
                    "the check asked through its own client");
            org.junit.jupiter.api.Assertions.assertTrue(health.reachable());
            org.junit.jupiter.api.Assertions.assertTrue(made.get(0).calls.contains("describeCluster"),
                    "the shared client was asked too");
            assertEquals(1, made.size(), "busy, not broken: no new client made to check it");
        }
    }

    @Test
    void aSharedClientWithNoAnswersWhileTheClusterAnswersIsReplaced() {
        FakeAdmin checks = answering();
        List<FakeAdmin> made = new CopyOnWriteArrayList<>();
        SharedAdmin shared = new SharedAdmin(() -> {
            // The first never answers anything (its thread died); the next answers.
            FakeAdmin f = made.isEmpty() ? new FakeAdmin().on("metrics", args -> java.util.Map.of())
                    .on("describeCluster", args -> describe()).on("close", args -> null) : answering();
            made.add(f);
            return f.admin();
        }, Duration.ZERO);
        Object first = shared.get();
        try (ClusterHealth health = new ClusterHealth(SharedAdmin.of(checks.admin()), shared, Duration.ofMillis(100),
                Duration.ofHours(1), false)) {
            health.background();
            org.junit.jupiter.api.Assertions.assertTrue(health.reachable());
            assertEquals(2, made.size());
            org.junit.jupiter.api.Assertions.assertNotSame(first, shared.get(), "replaced by the one that answered");
        }
    }
}
