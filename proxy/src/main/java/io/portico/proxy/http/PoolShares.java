package io.portico.proxy.http;

import io.portico.sessions.OnPool;
import io.portico.sessions.PerOwner;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Each caller's share of a bounded pool: the tasks one API key (or user) has queued or running on
 * it at once, at most {@code max}. A consumer read holds the pool's threads a poll slice at a time
 * for as long as it waits, and every slice queues again: without a share, one key's many long
 * polls (many instances, several reads each) took every thread and queued place, and every other
 * caller's consumer request got 503. A task past its caller's share is refused as a full pool
 * refuses one ({@link OnPool.ShareFull}, a {@link RejectedExecutionException}): the request answers 429, a
 * waiting read's next slice ends the read with 503. A null caller (authentication off) has the
 * whole pool. Thread-safe.
 */
public final class PoolShares {
    private final Executor pool;
    private final PerOwner running = new PerOwner();
    private final String setting;

    /**
     * @param max the most tasks one caller may have queued or running at once
     * @param setting what the refusal's message names (the pool's settings)
     */
    public PoolShares(Executor pool, int max, String setting) {
        this.pool = pool;
        this.running.max(Math.max(1, max));
        this.setting = setting;
    }

    /** The pool as {@code owner} may use it (the pool itself for a null owner). */
    public Executor of(String owner) {
        if (owner == null) {
            return pool;
        }
        return new Share(owner);
    }

    /** One caller's share: its tasks run on the pool's threads. */
    private final class Share implements OnPool {
        private final String owner;

        Share(String owner) {
            this.owner = owner;
        }

        @Override
        public Executor pool() {
            return pool;
        }

        @Override
        public void execute(Runnable task) {
            if (!running.take(owner)) {
                throw new OnPool.ShareFull("this API key already has " + running.max() + " tasks queued or running on the "
                        + "server's threads for this work, half of them (" + setting + "); retry when one is answered");
            }
            try {
                pool.execute(() -> {
                    try {
                        task.run();
                    } finally {
                        running.give(owner);
                    }
                });
            } catch (RuntimeException | Error e) {
                running.give(owner);
                throw e;
            }
        }
    }
}
