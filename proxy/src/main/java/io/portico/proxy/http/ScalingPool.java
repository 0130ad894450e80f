package io.portico.proxy.http;

import java.time.Duration;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounded pools that hand work to an idle thread before they start another, start threads up to
 * their maximum only when none is idle, and queue (up to a bound) only when all are busy.
 *
 * <p>A {@link ThreadPoolExecutor} whose core size is its maximum starts a new thread for every
 * task until it has them all, even while others sit idle: a stream's next fetch, or a consumer's
 * next read, then lands on a fresh thread each time. Every thread that reads a socket into a heap
 * buffer keeps a direct buffer of that read's size for itself (the JDK's temporary buffer cache),
 * so a pool of 257 threads taking turns at 384 KiB Kafka fetches held about 100 MiB of direct
 * memory, besides the threads' stacks and the cost of starting them. Here a pool has only as many
 * threads as tasks ran at once, and they keep their buffers warm.
 */
public final class ScalingPool {
    private ScalingPool() {
    }

    /**
     * A pool of at most {@code threads} daemon threads named {@code name-<n>}, each but the last
     * gone after a minute unused, and a queue of at most {@code queueSize} tasks while all of them
     * are busy; beyond that, and once shut down, {@code execute} throws
     * {@link RejectedExecutionException}.
     *
     * <p>One thread stays (the core of one, which never times out): a task queued by the
     * rejection handler, which the executor's own checks do not cover, always has a thread to
     * take it, even when every other thread timed out at that moment.
     */
    public static ThreadPoolExecutor create(String name, int threads, int queueSize) {
        return create(name, threads, queueSize, Duration.ofMinutes(1));
    }

    /** As {@link #create(String, int, int)}, threads beyond the first gone after {@code keepAlive} unused. */
    static ThreadPoolExecutor create(String name, int threads, int queueSize, Duration keepAlive) {
        HandOff queue = new HandOff(queueSize);
        AtomicInteger count = new AtomicInteger();
        return new ThreadPoolExecutor(1, threads, keepAlive.toNanos(), TimeUnit.NANOSECONDS, queue, r -> {
            Thread t = new Thread(r, name + "-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        }, (task, pool) -> {
            // Every thread is busy and no more may start: queue it, unless the queue is full.
            if (pool.isShutdown() || !queue.enqueue(task)) {
                throw new RejectedExecutionException(name + ": all " + threads + " threads busy and "
                        + queueSize + " tasks queued");
            }
        });
    }

    /**
     * A {@link ThreadPoolExecutor} offers a task to its queue before it starts a thread; this
     * queue takes it only when an idle thread is waiting for it, so the pool starts a thread
     * otherwise. Tasks are queued for real by the pool's rejection handler, once every thread is
     * busy. Its bound is checked before a task is added, so tasks added at the same moment may
     * pass it by a few.
     */
    static final class HandOff extends LinkedTransferQueue<Runnable> {
        private static final long serialVersionUID = 1L;
        private final int capacity;

        HandOff(int capacity) {
            this.capacity = capacity;
        }

        @Override
        public boolean offer(Runnable task) {
            return tryTransfer(task);
        }

        boolean enqueue(Runnable task) {
            if (size() >= capacity) {
                return false;
            }
            return super.offer(task);
        }
    }
}
