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

    /** Waits until an idle thread of the pool waits for work (failing after a minute). */
    private static void awaitIdleThread(ThreadPoolExecutor pool) throws InterruptedException {
        ScalingPool.HandOff queue = (ScalingPool.HandOff) pool.getQueue();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (!queue.hasWaitingConsumer()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no thread of the pool came back to wait for work");
            }
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
    void oneThreadOutlivesTheKeepAliveSoThatATaskQueuedWhileAllWereBusyIsAlwaysTaken() throws Exception {
        ThreadPoolExecutor pool = ScalingPool.create("test", 3, 2, java.time.Duration.ofMillis(1));
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(3);
        try {
            for (int i = 0; i < 3; i++) {
                pool.execute(() -> {
                    started.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }
            started.await();
            release.countDown();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            while (pool.getPoolSize() > 1 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            Thread.sleep(100); // a hundred keep-alives
            assertEquals(1, pool.getPoolSize(), "the threads beyond one are gone, the last one stays");
            assertEquals("ran", pool.submit(() -> "ran").get(1, TimeUnit.MINUTES));
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
