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
 * request within the timeout is unreachable. It is asked through an admin client of its own, so
 * that calls queued in the shared one (one at a time per broker) cannot make a reachable cluster
 * look unreachable; the shared client is asked too, in the background, and replaced when it is
 * what fails (see {@link SharedAdmin#replaceIfBroken}).
 *
 * <p>{@link #reachable()} is a field read, for hot paths; {@link #check()} asks now and completes
 * within the timeout, on an admin-client thread. Thread-safe.
 */
public final class ClusterHealth implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterHealth.class);

    private final SharedAdmin admin; // the health checks' own
    private final SharedAdmin shared; // every other caller's (the same one in tests)
    private final Duration timeout;
    private final int timeoutMs;
    private final ScheduledExecutorService scheduler;
    private volatile boolean reachable = true;

    public ClusterHealth(Admin admin, Duration timeout, Duration interval) {
        this(SharedAdmin.of(admin), timeout, interval);
    }

    /** Over one admin client, the checks' and everybody's. */
    public ClusterHealth(SharedAdmin admin, Duration timeout, Duration interval) {
        this(admin, admin, timeout, interval);
    }

    /**
     * Checks over {@code admin}, an admin client of their own; a failed check also checks whether
     * that client is what failed. Each background check then asks {@code shared}, the client
     * every other caller uses, and, when the cluster answered the check but {@code shared} did not
     * within the timeout, whether it is what failed (both from the background thread; see
     * {@link SharedAdmin#replaceIfBroken}).
     */
    public ClusterHealth(SharedAdmin admin, SharedAdmin shared, Duration timeout, Duration interval) {
        this(admin, shared, timeout, interval, true);
    }

    /** As above; {@code start}: whether the background checks start (else a test runs {@link #background}). */
    ClusterHealth(SharedAdmin admin, SharedAdmin shared, Duration timeout, Duration interval, boolean start) {
        this.admin = admin;
        this.shared = shared;
        this.timeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "portico-cluster-health");
            t.setDaemon(true);
            return t;
        });
        this.timeout = timeout;
        if (start) {
            scheduler.scheduleWithFixedDelay(this::background, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** One background check: the cluster through the checks' client, then the shared client. */
    void background() {
        long progress = admin.progress();
        try {
            check().get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (Exception e) {
            // recorded by check(); a client that is itself broken is replaced, and the next check tells
            if (admin.replaceIfBroken(timeout, progress)) {
                check();
            }
        }
        if (shared != admin && reachable) {
            checkShared();
        }
    }

    /** Asks the cluster through the shared client; one that does not answer in time may be broken. */
    private void checkShared() {
        long progress = shared.progress();
        try {
            shared.get().describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs)).nodes()
                    .get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            if (reachable) { // the cluster answers the checks' client: is the shared one what fails?
                shared.replaceIfBroken(timeout, progress);
            }
        }
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
