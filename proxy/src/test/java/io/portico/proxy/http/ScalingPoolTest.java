package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ScalingPoolTest {

    /** Waits (without a time limit on the outcome) until an idle thread of the pool waits for work. */
    private static void awaitIdleThread(ThreadPoolExecutor pool) throws InterruptedException {
        ScalingPool.HandOff queue = (ScalingPool.HandOff) pool.getQueue();
        while (!queue.hasWaitingConsumer()) {
            Thread.sleep(1);
        }
    }

    @Test
    void tasksOneAfterAnotherRunOnTheOneThreadTheyStarted() throws Exception {
        ThreadPoolExecutor pool = ScalingPool.create("test", 64, 16);
        try {
            Set<String> threads = ConcurrentHashMap.newKeySet();
            for (int i = 0; i < 100; i++) {
                pool.submit(() -> threads.add(Thread.currentThread().getName())).get();
                awaitIdleThread(pool);
            }
            assertEquals(Set.of("test-1"), threads);
            assertEquals(1, pool.getLargestPoolSize());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void threadsStartWhileAllAreBusyUpToTheMaximumThenTasksQueueUpToTheBoundThenAreRefused() throws Exception {
        ThreadPoolExecutor pool = ScalingPool.create("test", 3, 2);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(3);
        Set<String> threads = ConcurrentHashMap.newKeySet();
        Runnable blocking = () -> {
            threads.add(Thread.currentThread().getName());
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                running.add(pool.submit(blocking));
            }
            started.await();
            assertEquals(3, pool.getPoolSize());
            Future<?> queued1 = pool.submit(() -> { });
            Future<?> queued2 = pool.submit(() -> { });
            assertEquals(2, pool.getQueue().size());
            assertThrows(RejectedExecutionException.class, () -> pool.submit(() -> { }));
            release.countDown();
            for (Future<?> f : running) {
                f.get();
            }
            queued1.get();
            queued2.get();
            assertEquals(Set.of("test-1", "test-2", "test-3"), threads);
            assertEquals(3, pool.getLargestPoolSize());
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }

    @Test
    void aShutDownPoolRefusesTasks() throws Exception {
        ThreadPoolExecutor pool = ScalingPool.create("test", 2, 2);
        pool.submit(() -> { }).get();
        pool.shutdown();
        assertThrows(RejectedExecutionException.class, () -> pool.execute(() -> { }));
        assertTrue(pool.awaitTermination(1, TimeUnit.MINUTES));
    }
}
