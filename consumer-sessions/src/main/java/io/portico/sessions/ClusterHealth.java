package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the Kafka cluster answers: asked every few seconds in the background (so callers never
 * wait for it) and on demand for readiness probes. A cluster that does not answer a metadata
 * request within the timeout is unreachable.
 *
 * <p>{@link #reachable()} is a field read, for hot paths; {@link #check()} asks now and completes
 * within the timeout, on an admin-client thread. Thread-safe.
 */
public final class ClusterHealth implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterHealth.class);

    private final SharedAdmin admin;
    private final int timeoutMs;
    private final ScheduledExecutorService scheduler;
    private volatile boolean reachable = true;

    public ClusterHealth(Admin admin, Duration timeout, Duration interval) {
        this(SharedAdmin.of(admin), timeout, interval);
    }

    /**
     * Over the shared admin client; a failed check also checks whether the client is what failed
     * (see {@link SharedAdmin#replaceIfBroken}), from the background thread.
     */
    public ClusterHealth(SharedAdmin admin, Duration timeout, Duration interval) {
        this.admin = admin;
        this.timeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "portico-cluster-health");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                check().get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                // recorded by check(); a client that is itself broken is replaced, and the next check tells
                if (admin.replaceIfBroken(timeout)) {
                    check();
                }
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** What the last check found (true until a check fails). */
    public boolean reachable() {
        return reachable;
    }

    /**
     * Asks the cluster now. Completes with the number of brokers, or with a 503 RestException when
     * the cluster does not answer within the timeout.
     */
    public CompletableFuture<Integer> check() {
        // Probes asked at once share one call: a flood of /ready must not queue ahead of every
        // other caller of the shared admin client.
        return checks.call("check", this::checkNow);
    }

    private final SharedCalls<String, Integer> checks = new SharedCalls<>();

    private CompletableFuture<Integer> checkNow() {
        CompletableFuture<Integer> out = new CompletableFuture<>();
        admin.get().describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs)).nodes().whenComplete((nodes, e) -> {
            boolean up = e == null && !nodes.isEmpty();
            if (up != reachable) {
                if (up) {
                    LOG.info("Kafka is reachable again ({} brokers)", nodes.size());
                } else {
                    LOG.warn("Kafka is not reachable: {}", e == null ? "no brokers" : KafkaErrors.describe(e));
                }
            }
            reachable = up;
            if (up) {
                out.complete(nodes.size());
            } else {
                out.completeExceptionally(ErrorCode.BROKER_NOT_AVAILABLE.exception(e == null ? "Kafka has no brokers"
                        : e instanceof org.apache.kafka.common.errors.TimeoutException
                        ? "Kafka did not answer within " + timeoutMs + " ms" : "Kafka refused: " + KafkaErrors.describe(e)));
            }
        });
        // The admin client's own bound, should its thread hang: a check that never ends would be
        // shared by every probe after it, and the cluster never asked again.
        scheduler.schedule(() -> {
            if (!out.isDone()) {
                if (reachable) {
                    LOG.warn("Kafka is not reachable: the admin client did not answer within {} ms", timeoutMs + 1000);
                }
                reachable = false; // before the probes waiting on it hear
                out.completeExceptionally(ErrorCode.BROKER_NOT_AVAILABLE.exception(
                        "Kafka did not answer within " + timeoutMs + " ms"));
            }
        }, timeoutMs + 1000L, TimeUnit.MILLISECONDS);
        return out;
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
