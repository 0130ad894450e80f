package io.portico.proxy.http;

import io.portico.sessions.Crowding;
import io.portico.sessions.OnPool;
import io.portico.sessions.PerOwner;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Each caller's share of a bounded pool: the tasks one API key (or user) has queued or running on
 * it at once. A consumer read holds the pool's threads a poll slice at a time for as long as it
 * waits, and every slice queues again: without a share, one key's many long polls (many
 * instances, several reads each) took every thread and queued place, and every other caller's
 * consumer request got 503. A key may hold at most {@code max} places (half the pool), and beyond
 * that the pool's places are shared out as {@link Crowding} shares memories: once the keys' tasks
 * fill three quarters of the pool's threads and queue, a key holding more than an equal part of
 * those three quarters (among the keys with tasks) takes no more, and past seven eighths no key
 * holding any does, so that two or three busy keys never fill the pool between them; a key with
 * nothing on the pool may always queue one task (the pool itself may still be full). A task past
 * its caller's share is refused as a full pool refuses one ({@link OnPool.ShareFull}, a
 * {@link RejectedExecutionException}): the request answers 429, a waiting read's next slice ends
 * the read with 429. A null caller (authentication off) has the whole pool and is not counted.
 * Thread-safe.
 */
public final class PoolShares {
    private final Executor pool;
    private final String setting;
    /** Places each key holds, shared out. */
    private final PerOwner held = new PerOwner();

    /**
     * @param max the most tasks one caller may have queued or running at once
     * @param capacity the pool's threads and queued places together, which the callers share
     * @param setting what the refusal's message names (the pool's settings)
     */
    public PoolShares(Executor pool, int max, int capacity, String setting) {
        this.pool = pool;
        this.setting = setting;
        held.max(Math.max(1, max));
        held.shareOut(capacity);
    }

    /** The pool as {@code owner} may use it (the pool itself for a null owner). */
    public Executor of(String owner) {
        if (owner == null) {
            return pool;
        }
        return new Share(owner);
    }

    /** The pool the callers share. */
    public Executor pool() {
        return pool;
    }

    /**
     * Takes a place of {@code owner}'s share for work that runs on {@link #pool} itself over
     * several tasks (each submitting the next), given back with {@link #give} once it ends; a
     * null owner (authentication off) has no share.
     *
     * @throws OnPool.ShareFull when the share is full, as {@link #of}'s executor refuses a task
     */
    public void take(String owner) {
        if (owner != null && !held.take(owner)) {
            throw full(owner);
        }
    }

    /** Gives back a place {@link #take} took. */
    public void give(String owner) {
        if (owner != null) {
            held.give(owner);
        }
    }

    private OnPool.ShareFull full(String owner) {
        return new OnPool.ShareFull("this API key already has " + heldBy(owner) + " tasks queued or running on the "
                + "server's threads for this work, its share of them (" + setting
                + "; half at most, less while other keys' work fills them); retry when one is answered");
    }

    /** Places {@code owner} holds now. */
    int heldBy(String owner) {
        return held.heldBy(owner);
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
            if (!held.take(owner)) {
                throw full(owner);
            }
            try {
                pool.execute(() -> {
                    try {
                        task.run();
                    } finally {
                        held.give(owner);
                    }
                });
            } catch (RuntimeException | Error e) {
                held.give(owner);
                throw e;
            }
        }
    }
}
