package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.sessions.OnPool;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One API key has at most its share of a pool's tasks queued or running: one more is refused (a
 * {@link io.portico.sessions.OnPool.ShareFull}, which requests answer 429), another key's are run, and a place comes
 * back when its task ends, however it ends.
 */
class PoolSharesTest {
    private final ThreadPoolExecutor pool = new ThreadPoolExecutor(4, 4, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>());
    private final CountDownLatch letGo = new CountDownLatch(1);

    @AfterEach
    void stop() {
        letGo.countDown();
        pool.shutdownNow();
    }

    private Runnable held(CountDownLatch started) {
        return () -> {
            started.countDown();
            try {
                letGo.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    @Test
    void aKeyPastItsShareIsRefusedWhileAnotherKeysTasksRun() throws Exception {
        PoolShares shares = new PoolShares(pool, 2, 100, "consumer.threads, consumer.queue.size");
        CountDownLatch started = new CountDownLatch(2);
        shares.of("a").execute(held(started));
        shares.of("a").execute(held(started));
        assertTrue(started.await(30, TimeUnit.SECONDS));
        io.portico.sessions.OnPool.ShareFull refused = assertThrows(io.portico.sessions.OnPool.ShareFull.class, () -> shares.of("a").execute(() -> { }));
        assertTrue(refused.getMessage().contains("consumer.threads"), refused.getMessage());

        CountDownLatch other = new CountDownLatch(1);
        shares.of("b").execute(other::countDown);
        assertTrue(other.await(30, TimeUnit.SECONDS), "another key's task runs");
        assertSame(pool, shares.of(null), "without a caller, the whole pool");
        assertSame(pool, ((OnPool) shares.of("a")).pool(), "its queue is the pool's");

        letGo.countDown(); // a's tasks end: its places come back
        CountDownLatch again = new CountDownLatch(2);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (again.getCount() > 0 && System.nanoTime() < deadline) {
            try {
                shares.of("a").execute(again::countDown);
            } catch (io.portico.sessions.OnPool.ShareFull e) {
                Thread.onSpinWait(); // its held tasks have not ended yet
            }
        }
        assertTrue(again.await(30, TimeUnit.SECONDS));
    }

    @Test
    void busyKeysLeaveTheLastEighthOfThePoolToKeysWithNothingOnIt() throws Exception {
        // 16 places, at most 8 per key: crowded past 12, full for keys holding tasks past 14.
        PoolShares shares = new PoolShares(pool, 8, 16, "consumer.threads, consumer.queue.size");
        CountDownLatch started = new CountDownLatch(4);
        for (int i = 0; i < 8; i++) {
            shares.of("a").execute(held(started));
        }
        assertThrows(OnPool.ShareFull.class, () -> shares.of("a").execute(() -> { }), "a's cap");
        for (int i = 0; i < 6; i++) {
            shares.of("b").execute(held(started)); // up to its half of the crowded three quarters
        }
        OnPool.ShareFull refused = assertThrows(OnPool.ShareFull.class, () -> shares.of("b").execute(() -> { }),
                "within b's cap, but the keys hold seven eighths of the pool");
        assertTrue(refused.getMessage().contains("6 tasks"), refused.getMessage());
        shares.of("c").execute(held(started)); // a key with nothing on the pool: its first task
        assertThrows(OnPool.ShareFull.class, () -> shares.of("c").execute(() -> { }));
        assertEquals(8, shares.heldBy("a"));
        assertEquals(6, shares.heldBy("b"));
        assertEquals(1, shares.heldBy("c"));
        assertTrue(started.await(30, TimeUnit.SECONDS));

        letGo.countDown(); // every task ends: every place comes back
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (shares.heldBy("a") + shares.heldBy("b") + shares.heldBy("c") > 0 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(0, shares.heldBy("a") + shares.heldBy("b") + shares.heldBy("c"));
        CountDownLatch release = new CountDownLatch(1);
        for (int i = 0; i < 8; i++) {
            shares.of("b").execute(() -> { // alone again, b may hold up to its cap
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        assertEquals(8, shares.heldBy("b"));
        release.countDown();
    }

    @Test
    void aSmallPoolsShareIsHalfOfItForALoneKey() throws Exception {
        PoolShares shares = new PoolShares(pool, 2, 4, "consumer.threads"); // 4 threads: 2 per key
        CountDownLatch started = new CountDownLatch(2);
        shares.of("a").execute(held(started));
        shares.of("a").execute(held(started));
        assertTrue(started.await(30, TimeUnit.SECONDS));
        assertEquals(2, shares.heldBy("a"));
        assertThrows(OnPool.ShareFull.class, () -> shares.of("a").execute(() -> { }));
        shares.of("b").execute(() -> { }); // crowded past 3 of 4: b, with none, still takes one
    }

    @Test
    void aTaskThatThrowsOrThatThePoolRefusesGivesItsPlaceBack() throws Exception {
        PoolShares shares = new PoolShares(pool, 1, 100, "x");
        for (int i = 0; i < 5; i++) {
            CountDownLatch ran = new CountDownLatch(1);
            shares.of("a").execute(() -> {
                ran.countDown();
                throw new IllegalStateException("the task fails");
            });
            assertTrue(ran.await(30, TimeUnit.SECONDS));
            waitUntilIdle();
        }
        pool.shutdown();
        for (int i = 0; i < 3; i++) {
            // Refused by the pool itself (shut down): not the share's refusal, and no place kept.
            java.util.concurrent.RejectedExecutionException e = assertThrows(
                    java.util.concurrent.RejectedExecutionException.class, () -> shares.of("a").execute(() -> { }));
            assertEquals(java.util.concurrent.RejectedExecutionException.class, e.getClass());
        }
    }

    private void waitUntilIdle() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (pool.getActiveCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
    }
}
