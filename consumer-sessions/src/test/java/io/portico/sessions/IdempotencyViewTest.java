package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The in-memory view of the idempotency topic: results, retention, positions and waits. */
class IdempotencyViewTest {
    private final AtomicLong now = new AtomicLong(1_000_000);
    private final IdempotencyView view = new IdempotencyView(Duration.ofHours(24), now::get);

    private static IdempotencyView.Result result(String body, long time) {
        return new IdempotencyView.Result(fingerprint(body), new Idempotency.Response(200,
                "application/vnd.kafka.v1+json", body.getBytes(StandardCharsets.UTF_8)), time);
    }

    private static byte[] fingerprint(String body) {
        return IdempotencyKey.fingerprint("POST", "/topics/t?", "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    private static long far() {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    }

    @Test
    void aResultRecordReadsBackAsWritten() {
        IdempotencyView.Result r = new IdempotencyView.Result(fingerprint("b"),
                new Idempotency.Response(207, "application/json", "{\"successes\":[]}".getBytes(StandardCharsets.UTF_8)), 42);
        IdempotencyView.Result back = IdempotencyView.decode(IdempotencyView.encode(r));
        assertNotNull(back);
        assertArrayEquals(r.fingerprint(), back.fingerprint());
        assertEquals(207, back.response().status());
        assertEquals("application/json", back.response().contentType());
        assertArrayEquals(r.response().body(), back.response().body());
        assertEquals(42, back.time());
    }

    @Test
    void recordsThatAreNotResultsOfThisFormatAreIgnored() {
        byte[] good = IdempotencyView.encode(result("x", now.get()));
        byte[] otherVersion = good.clone();
        otherVersion[0] = 2;
        assertNull(IdempotencyView.decode(otherVersion));
        assertNull(IdempotencyView.decode(java.util.Arrays.copyOf(good, good.length - 1)), "cut short");
        assertNull(IdempotencyView.decode(java.util.Arrays.copyOf(good, good.length + 1)), "trailing bytes");
        assertNull(IdempotencyView.decode(new byte[0]));
        // A short record that claims a body of 2 GiB (or a type longer than it is): refused before
        // anything of that size is allocated (an OutOfMemoryError ended the reader thread).
        byte[] claimsMore = good.clone();
        int bodyLengthAt = good.length - 1 - 4; // the body "x", after its length
        java.nio.ByteBuffer.wrap(claimsMore).putInt(bodyLengthAt, Integer.MAX_VALUE);
        assertNull(IdempotencyView.decode(claimsMore));
        byte[] longType = good.clone();
        java.nio.ByteBuffer.wrap(longType).putShort(1 + 32 + 8 + 2, (short) 0xffff);
        assertNull(IdempotencyView.decode(longType));
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        view.apply(new byte[] {1, 2, 3}, good); // a record key that is no identity
        view.apply(key.id(), otherVersion);
        assertEquals(0, view.size());
        assertNull(view.get(key));
    }

    @Test
    void resultsAreFoundByKeyAndATombstoneRemovesOne() {
        IdempotencyKey key = IdempotencyKey.of("app", "k");
        view.apply(key.id(), IdempotencyView.encode(result("first", now.get())));
        assertEquals("first", new String(view.get(key).response().body(), StandardCharsets.UTF_8));
        assertNull(view.get(IdempotencyKey.of("other-app", "k")));
        assertTrue(view.bytes() > IdempotencyView.ENTRY_OVERHEAD, "counted: " + view.bytes());
        view.apply(key.id(), null);
        assertNull(view.get(key));
        assertEquals(0, view.bytes());
    }

    /** Puts a result of {@code size} body bytes for a new key of {@code scope}; what it counts. */
    private int keep(String scope, int size) {
        IdempotencyKey key = IdempotencyKey.of(scope, UUID.randomUUID().toString());
        IdempotencyView.Result r = new IdempotencyView.Result(fingerprint("b"), new Idempotency.Response(200,
                "application/json", new byte[size]), now.get(), key.owner());
        view.put(key, r);
        return r.bytes();
    }

    @Test
    void keysFillingTheResultsMemoryTogetherLeaveRoomForAnother() {
        long a = IdempotencyKey.owner("a");
        long b = IdempotencyKey.owner("b");
        long c = IdempotencyKey.owner("c");
        int e = keep("a", 1000); // what one result counts: the memory is 100 of them
        long max = 100L * e;
        for (int i = 1; i < 37; i++) {
            keep("a", 1000);
        }
        for (int i = 0; i < 30; i++) {
            keep("b", 1000);
        }
        assertFalse(view.crowded(a, max), "67 of 100 held: not crowded, a within its half");
        for (int i = 0; i < 10; i++) {
            keep("a", 1000);
        }
        assertTrue(view.crowded(a, max), "77 held, past three quarters: a's 47 are more than an equal part (37.5)");
        assertFalse(view.crowded(b, max), "b's 30 are less: it may keep more");
        assertFalse(view.crowded(c, max), "c holds nothing: it may always keep one");
        for (int i = 0; i < 11; i++) {
            keep("c", 1000);
        }
        assertTrue(view.crowded(c, max), "88 held, past seven eighths: no owner with results keeps more");
        assertFalse(view.crowded(IdempotencyKey.owner("d"), max), "the last eighth is for owners with none");
        assertFalse(view.crowded(0, max), "no owner (authentication off): not shared out");
    }

    @Test
    void eachOwnersResultsAreCountedAsTheyComeAndGo() {
        long app = IdempotencyKey.owner("app");
        long other = IdempotencyKey.owner("other-app");
        assertTrue(app != 0 && app != other && IdempotencyKey.owner(null) == 0);
        IdempotencyKey read = IdempotencyKey.of("app", "read");
        view.apply(read.id(), IdempotencyView.encode(result("from another node", now.get())), app); // its record's header
        IdempotencyKey mine = IdempotencyKey.of("app", "mine");
        IdempotencyView.Result own = new IdempotencyView.Result(fingerprint("b"), new Idempotency.Response(200,
                "application/json", new byte[1000]), now.get(), mine.owner());
        view.put(mine, own);
        view.apply(IdempotencyKey.of(null, "nobody's").id(), IdempotencyView.encode(result("x", now.get())));
        long both = view.get(read).bytes() + own.bytes();
        assertEquals(both, view.bytesOf(app));
        assertEquals(0, view.bytesOf(other));
        assertEquals(0, view.bytesOf(0), "results without an owner count for nobody");
        view.apply(read.id(), null);
        assertEquals(own.bytes(), view.bytesOf(app), "a tombstone gives its share back");
        now.addAndGet(Duration.ofHours(25).toMillis());
        view.sweep();
        assertEquals(0, view.bytesOf(app), "so does the retention");
    }

    @Test
    void resultsPastTheRetentionAreForgottenWhetherKafkaDeletedThemOrNot() {
        IdempotencyKey old = IdempotencyKey.of(null, "old");
        IdempotencyKey recent = IdempotencyKey.of(null, "recent");
        view.put(old, result("old", now.get()));
        now.addAndGet(Duration.ofHours(23).toMillis());
        view.put(recent, result("recent", now.get()));
        assertNotNull(view.get(old));
        now.addAndGet(Duration.ofHours(1).toMillis());
        assertNull(view.get(old), "24 h old");
        assertNotNull(view.get(recent));
        view.apply(IdempotencyKey.of(null, "read late").id(),
                IdempotencyView.encode(result("stale", now.get() - Duration.ofHours(25).toMillis())));
        assertEquals(1, view.size(), "a result read after its retention is not kept");
        now.addAndGet(Duration.ofHours(23).toMillis());
        assertEquals(1, view.sweep());
        assertEquals(0, view.size());
        assertEquals(0, view.bytes());
    }

    @Test
    void aWaitForAPositionEndsWhenTheReaderGetsThereOrAtItsDeadline() throws Exception {
        assertEquals(-1, view.awaitPartitions(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20)),
                "not assigned yet");
        view.assigned(3);
        assertEquals(3, view.awaitPartitions(far()));
        assertFalse(view.awaitPosition(1, 0, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20)),
                "a partition not read yet is not caught up, even when it is empty");
        view.advanced(1, 0);
        assertTrue(view.awaitPosition(1, 0, far()), "read: caught up at once");
        assertFalse(view.awaitPosition(1, 5, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20)));

        CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return view.awaitPosition(1, 5, far());
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        view.advanced(2, 10); // another partition
        view.advanced(1, 4);
        assertFalse(waiting.isDone());
        view.advanced(1, 5);
        assertTrue(waiting.get(30, TimeUnit.SECONDS));
        view.advanced(1, 3);
        assertTrue(view.awaitPosition(1, 5, far()), "positions never move back");
    }

    @Test
    void aWaitForAResultEndsWhenItArrives() throws Exception {
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        assertNull(view.awaitResult(key, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20)));
        CompletableFuture<IdempotencyView.Result> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return view.awaitResult(key, far());
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        view.put(IdempotencyKey.of(null, "another"), result("other", now.get()));
        view.apply(key.id(), IdempotencyView.encode(result("theirs", now.get())));
        assertEquals("theirs", new String(waiting.get(30, TimeUnit.SECONDS).response().body(), StandardCharsets.UTF_8));
    }

    @Test
    void theFingerprintTellsTheSameRequestFromAnother() {
        IdempotencyView.Result r = result("body", now.get());
        assertTrue(r.sameRequest(fingerprint("body")));
        assertFalse(r.sameRequest(fingerprint("other body")));
    }

    @Test
    void oneOwnersResultsPastItsShareAreNotKeptAndLeaveOnlyItsKeysIncomplete() {
        IdempotencyView shared = new IdempotencyView(Duration.ofHours(24), 100 * IdempotencyView.ENTRY_OVERHEAD,
                2 * IdempotencyView.ENTRY_OVERHEAD + 10, now::get);
        long x = 11;
        long y = 22;
        for (String k : List.of("x1", "x2", "x3")) {
            shared.apply(IdempotencyKey.of(null, k).id(), IdempotencyView.encode(result("a", now.get())), x);
        }
        assertEquals(2, shared.size(), "x's third result is past its share");
        assertFalse(shared.complete(x));
        assertTrue(shared.complete(y), "the view is far from full: y's keys are answered as before");
        shared.apply(IdempotencyKey.of(null, "y1").id(), IdempotencyView.encode(result("b", now.get())), y);
        assertEquals(3, shared.size());
        assertFalse(shared.complete(0), "no owner (authentication off): every result must be kept");
        now.addAndGet(Duration.ofHours(24).toMillis()); // x3, refused, has expired: no result of x's is missing
        assertTrue(shared.complete(x), "complete for x once what it refused expired, without a read again");
        assertTrue(shared.complete(0));
        now.addAndGet(-Duration.ofHours(24).toMillis());
        assertFalse(shared.roomAgain(Long.MAX_VALUE), "x still holds its share: a read again would refuse the same");
        shared.apply(IdempotencyKey.of(null, "x1").id(), null);
        shared.apply(IdempotencyKey.of(null, "x2").id(), null);
        assertTrue(shared.roomAgain(Long.MAX_VALUE), "x's results gone: room for what was refused");
        assertFalse(shared.roomAgain(shared.bytes()), "but not when the results in all are over the bound given");
    }

    @Test
    void anOwnerIsCompleteAgainOnceTheNewestOfItsResultsNotKeptHasExpiredAndTheViewOnceAllHave() {
        IdempotencyView shared = new IdempotencyView(Duration.ofHours(24), 100 * IdempotencyView.ENTRY_OVERHEAD,
                2 * IdempotencyView.ENTRY_OVERHEAD + 10, now::get);
        long x = 11;
        long t = now.get();
        shared.apply(IdempotencyKey.of(null, "x1").id(), IdempotencyView.encode(result("a", t)), x);
        shared.apply(IdempotencyKey.of(null, "x2").id(), IdempotencyView.encode(result("b", t)), x);
        shared.apply(IdempotencyKey.of(null, "x3").id(), IdempotencyView.encode(result("c", t)), x); // not kept
        now.set(t + Duration.ofHours(1).toMillis());
        shared.apply(IdempotencyKey.of(null, "x4").id(), IdempotencyView.encode(result("d", now.get())), x); // not kept
        assertFalse(shared.complete(x));
        now.set(t + Duration.ofHours(24).toMillis());
        assertFalse(shared.complete(x), "x3 has expired, x4 has not");
        shared.sweep();
        assertFalse(shared.complete(), "x4 is still missing here");
        now.set(t + Duration.ofHours(25).toMillis());
        assertTrue(shared.complete(x), "every result of x's not kept has expired");
        shared.sweep();
        assertTrue(shared.complete(), "nothing is missing here any more");
    }

    @Test
    void resultsOfOneOwnerNotKeptLeaveTheViewCompleteForOtherOwnersOnly() {
        IdempotencyView bounded = new IdempotencyView(Duration.ofHours(24), 2 * IdempotencyView.ENTRY_OVERHEAD + 10,
                now::get);
        long x = 11;
        long y = 22;
        bounded.apply(IdempotencyKey.of(null, "x1").id(), IdempotencyView.encode(result("a", now.get())), x);
        bounded.apply(IdempotencyKey.of(null, "x2").id(), IdempotencyView.encode(result("b", now.get())), x);
        bounded.apply(IdempotencyKey.of(null, "x3").id(), IdempotencyView.encode(result("c", now.get())), x);
        assertFalse(bounded.complete(), "x3's result was not kept");
        assertFalse(bounded.complete(x), "x's keys may have a result this view does not hold");
        assertTrue(bounded.complete(y), "y's results were all kept");

        // A result naming no owner not kept: any key's may be it.
        bounded.apply(IdempotencyKey.of(null, "n").id(), IdempotencyView.encode(result("d", now.get())), 0);
        assertFalse(bounded.complete(y));

        // A read of the whole topic that keeps everything again.
        long before = bounded.refused();
        bounded.completeAsOf(before);
        assertTrue(bounded.complete(x));
        assertTrue(bounded.complete(y));
    }

    @Test
    void resultsReadPastTheBoundAreNotKeptAndTheViewIsIncompleteUntilAWholeReadKeepsThemAll() {
        IdempotencyView bounded = new IdempotencyView(Duration.ofHours(24), 2 * IdempotencyView.ENTRY_OVERHEAD + 10,
                now::get);
        IdempotencyKey a = IdempotencyKey.of(null, "a");
        IdempotencyKey b = IdempotencyKey.of(null, "b");
        IdempotencyKey c = IdempotencyKey.of(null, "c");
        bounded.apply(a.id(), IdempotencyView.encode(result("a", now.get())));
        bounded.apply(b.id(), IdempotencyView.encode(result("b", now.get())));
        assertTrue(bounded.complete());
        bounded.apply(c.id(), IdempotencyView.encode(result("c", now.get())));
        assertFalse(bounded.complete(), "c's result was not kept");
        assertNull(bounded.get(c));
        assertEquals(2, bounded.size());
        assertTrue(bounded.bytes() <= 2 * IdempotencyView.ENTRY_OVERHEAD + 10);

        // a's result deleted, then the whole topic read again: everything kept.
        long before = bounded.refused();
        bounded.apply(a.id(), null);
        bounded.apply(b.id(), IdempotencyView.encode(result("b", now.get())));
        bounded.apply(c.id(), IdempotencyView.encode(result("c", now.get())));
        bounded.completeAsOf(before);
        assertTrue(bounded.complete());
        assertNotNull(bounded.get(c));

        // A read again that could not keep one stays incomplete.
        bounded.apply(a.id(), IdempotencyView.encode(result("a", now.get())));
        before = bounded.refused();
        bounded.apply(a.id(), IdempotencyView.encode(result("a", now.get())));
        bounded.completeAsOf(before - 1);
        assertFalse(bounded.complete());
    }

    @Test
    void thisNodesOwnResultReadBackPastTheBoundIsKeptAndTheViewStaysComplete() {
        // Results committed together may take the view past its bound: reading one back (the
        // same result, adding nothing) must neither drop it nor make the view incomplete, or
        // the retry of the request just answered, and every new key, would get 503 for hours.
        IdempotencyView bounded = new IdempotencyView(Duration.ofHours(24), 2 * IdempotencyView.ENTRY_OVERHEAD + 10,
                now::get);
        IdempotencyKey a = IdempotencyKey.of(null, "a");
        IdempotencyKey b = IdempotencyKey.of(null, "b");
        IdempotencyKey c = IdempotencyKey.of(null, "c");
        IdempotencyView.Result mine = result("c", now.get());
        bounded.put(a, result("a", now.get()));
        bounded.put(b, result("b", now.get()));
        bounded.put(c, mine); // this node's own commit, past the bound
        bounded.apply(c.id(), IdempotencyView.encode(mine)); // read back from the topic
        assertTrue(bounded.complete());
        assertNotNull(bounded.get(c));
    }

    @Test
    void resultsExpiredSinceTheLastSweepMakeRoomBeforeOneReadIsRefused() {
        IdempotencyView bounded = new IdempotencyView(Duration.ofHours(24), 2 * IdempotencyView.ENTRY_OVERHEAD + 10,
                now::get);
        bounded.apply(IdempotencyKey.of(null, "old").id(), IdempotencyView.encode(result("a", now.get())));
        now.addAndGet(Duration.ofHours(23).toMillis());
        bounded.apply(IdempotencyKey.of(null, "b").id(), IdempotencyView.encode(result("b", now.get())));
        now.addAndGet(Duration.ofHours(2).toMillis()); // "old" expired; no sweep since
        IdempotencyKey c = IdempotencyKey.of(null, "c");
        bounded.apply(c.id(), IdempotencyView.encode(result("c", now.get())));
        assertTrue(bounded.complete(), "the expired result made room: nothing refused");
        assertNotNull(bounded.get(c));
    }
}
