package io.portico.sessions;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin client every metadata request shares, replaced when it is what fails. An admin
 * client whose thread died answers every later call with a timeout, exactly as when the cluster
 * is down; the two are told apart by asking the cluster once with a new client: if that one gets
 * an answer, it becomes the shared client and the old one is closed. A client that got answers
 * from the cluster meanwhile is busy, not broken (its calls wait in its queue, one at a time per
 * broker), and is kept: replacing it would fail every call queued in it.
 *
 * <p>Thread-safe; {@link #get()} is a field read.
 */
public final class SharedAdmin implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SharedAdmin.class);

    private final Supplier<Admin> factory;
    private final Duration probeInterval;
    private volatile Admin current;
    private long lastProbe = Long.MIN_VALUE / 2; // guarded by this
    private volatile boolean closed;

    /**
     * @param factory makes a new admin client (the first one now)
     * @param probeInterval how often at most a failing client is checked against a new one
     */
    public SharedAdmin(Supplier<Admin> factory, Duration probeInterval) {
        this.factory = factory;
        this.probeInterval = probeInterval;
        this.current = factory.get();
    }

    /** A holder of a client that is never replaced (unit tests). */
    public static SharedAdmin of(Admin admin) {
        return new SharedAdmin(() -> admin, Duration.ofDays(365 * 100L));
    }

    /** The admin client to use now. */
    public Admin get() {
        return current;
    }

    /**
     * How many answers the current client has had from the cluster, as its own metrics count them
     * ({@code response-total}); -1 when it does not say. A client whose thread died has no more.
     */
    public long progress() {
        try {
            long total = -1;
            for (Map.Entry<MetricName, ? extends Metric> e : current.metrics().entrySet()) {
                MetricName name = e.getKey();
                // The client's own count, not one of its per-broker ones (which carry a node-id).
                if (name.name().equals("response-total") && !name.tags().containsKey("node-id")
                        && e.getValue().metricValue() instanceof Number n) {
                    total = Math.max(total, 0) + n.longValue();
                }
            }
            return total;
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /**
     * Called when the shared client failed to reach the cluster within {@code timeout}, its
     * {@link #progress} at the start of the failed call being {@code progressBefore}: unless it had
     * answers since (busy, not broken), asks the cluster with a new client (blocking, up to the
     * timeout) and, when that one answers, makes it the shared client. At most once per probe
     * interval.
     *
     * @return whether the shared client was replaced
     */
    public boolean replaceIfBroken(Duration timeout, long progressBefore) {
        Admin suspect = current;
        if (progressBefore >= 0 && progress() > progressBefore) {
            LOG.debug("The shared admin client is slow to answer but has answers: kept");
            return false;
        }
        synchronized (this) {
            long now = System.nanoTime();
            if (closed || now - lastProbe < probeInterval.toNanos()) {
                return false;
            }
            lastProbe = now;
        }
        Admin probe;
        try {
            probe = factory.get();
        } catch (RuntimeException e) {
            LOG.debug("A new admin client could not be made: {}", e.toString());
            return false;
        }
        int timeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        boolean answers;
        try {
            answers = !probe.describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs)).nodes()
                    .get(timeoutMs + 1000L, TimeUnit.MILLISECONDS).isEmpty();
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            answers = false;
        }
        synchronized (this) {
            if (answers && !closed && current == suspect) {
                current = probe;
                LOG.warn("The shared admin client stopped answering while a new one reaches the cluster: replaced it");
                closeInBackground(suspect);
                return true;
            }
        }
        closeInBackground(probe);
        return false;
    }

    private static void closeInBackground(Admin admin) {
        Thread t = new Thread(() -> {
            try {
                admin.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.debug("Closing an admin client failed: {}", e.toString());
            }
        }, "portico-admin-closer");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        Admin last;
        synchronized (this) {
            closed = true;
            last = current;
        }
        last.close(Duration.ofSeconds(5));
    }
}
