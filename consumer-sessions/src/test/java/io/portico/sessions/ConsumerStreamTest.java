package io.portico.sessions;

import static io.portico.sessions.SessionTestConsumer.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.CommittedOffset;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An instance streaming its records: one stream at a time (a resuming one takes over), plain
 * reads refused meanwhile, commits and seeks going on, resuming after the last record a client
 * received on every partition, and no expiry while it streams.
 */
class ConsumerStreamTest {
    private static final TopicPartition A0 = new TopicPartition("a", 0);
    private static final TopicPartition A1 = new TopicPartition("a", 1);
    private static final Duration IDLE = Duration.ofMinutes(5);

    private final SessionTestConsumer.Factory factory = new SessionTestConsumer.Factory();
    private final AtomicLong nanos = new AtomicLong();
    private final List<ConsumerRegistry> registries = new ArrayList<>();

    @AfterEach
    void close() {
        registries.forEach(ConsumerRegistry::close);
    }

    private ConsumerRegistry registry() {
        Ticker ticker = nanos::get;
        ConsumerRegistry registry = new ConsumerRegistry(new ConsumerRegistry.Settings(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"), IDLE, Duration.ofMillis(20),
                Duration.ofSeconds(2), 1 << 20, 100, ""), factory, topic -> true, ticker);
        registries.add(registry);
        return registry;
    }

    /** As {@link #registry()}, its reads' clock {@code clock} (a read that finds no records would wait on it for ever). */
    private ConsumerRegistry registryOn(AtomicLong clock) {
        return registry().readClock(clock::get);
    }

    private ConsumerInstance assigned(ConsumerRegistry registry, TopicPartition... partitions) {
        ConsumerInstance instance = registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        instance.assign(List.of(partitions));
        Map<TopicPartition, Long> zero = new HashMap<>();
        for (TopicPartition tp : partitions) {
            zero.put(tp, 0L);
        }
        factory.last().updateBeginningOffsets(zero);
        return instance;
    }

    private static List<String> positions(List<ConsumedRecord> records) {
        return records.stream().map(r -> r.partition() + "/" + r.offset()).toList();
    }

    private static void assertCode(ErrorCode expected, Runnable call) {
        RestException e = assertThrows(RestException.class, call::run);
        assertEquals(expected, e.errorCode(), e.getMessage());
    }

    @Test
    void anInstanceStreamsToOneConnectionAtATimeAndAResumingOneTakesOver() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0);
        ConsumerInstance.Stream first = registry.openStream(instance, null, null);
        factory.last().addRecord(record("a", 0, 0, null, "v0"));
        assertEquals(List.of("0/0"), positions(registry.next(first, 1 << 20, ResponseRoom.unbounded())));

        assertCode(ErrorCode.ILLEGAL_STATE, () -> registry.openStream(instance, null, null));
        assertCode(ErrorCode.ILLEGAL_STATE, () -> registry.poll(instance, null, 0, ResponseRoom.unbounded()));
        assertTrue(first.isOpen());

        ConsumerInstance.Stream second = registry.openStream(instance, null,
                new ConsumerInstance.ResumeAfter(A0, 0));
        assertFalse(first.isOpen());
        assertEquals(List.of(), registry.next(first, 1 << 20, ResponseRoom.unbounded()), "the old stream reads nothing");
        factory.last().addRecord(record("a", 0, 1, null, "v1"));
        assertEquals(List.of("0/1"), positions(registry.next(second, 1 << 20, ResponseRoom.unbounded())));

        registry.closeStream(second);
        registry.closeStream(first); // an old stream closing late frees nothing of the new one's
        assertFalse(instance.isStreaming());
        assertEquals(List.of(), registry.poll(instance, null, 0, ResponseRoom.unbounded()), "plain reads again");
    }

    @Test
    void aStreamTakenOverDuringItsLongPollHandsOutNothingAndTheNewOneGetsTheRecords() throws Exception {
        Ticker ticker = nanos::get;
        ConsumerRegistry registry = new ConsumerRegistry(new ConsumerRegistry.Settings(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"), IDLE, Duration.ofSeconds(5),
                Duration.ofSeconds(2), 1 << 20, 100, ""), factory, topic -> true, ticker)
                .readClock(Ticker.systemTicker());
        registries.add(registry);
        ConsumerInstance instance = assigned(registry, A0);
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream first = registry.openStream(instance, null, null);
        consumer.addRecord(record("a", 0, 0, null, "v0"));
        assertEquals(List.of("0/0"), positions(registry.next(first, 1 << 20, ResponseRoom.unbounded())));
        java.util.concurrent.CompletableFuture<List<ConsumedRecord>> polling =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> registry.next(first, 1 << 20, ResponseRoom.unbounded()));
        Thread.sleep(100); // the first stream long-polls (nothing to read)
        ConsumerInstance.Stream second = registry.openStream(instance, null, new ConsumerInstance.ResumeAfter(A0, 0));
        consumer.addRecord(record("a", 0, 1, null, "v1"));
        assertEquals(List.of(), polling.get(10, java.util.concurrent.TimeUnit.SECONDS), "the replaced stream hands out nothing");
        assertEquals(List.of("0/1"), positions(registry.next(second, 1 << 20, ResponseRoom.unbounded())));
    }

    @Test
    void resumingAfterALastEventIdReadsAgainWhatFollowedItOnEveryPartition() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0, A1);
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        for (int i = 0; i < 3; i++) {
            consumer.addRecord(record("a", 0, i, null, "x"));
        }
        assertEquals(List.of("0/0", "0/1", "0/2"), positions(registry.next(stream, 1 << 20, ResponseRoom.unbounded())));
        stream.written(stream.handedOut());
        for (int i = 0; i < 2; i++) {
            consumer.addRecord(record("a", 1, i, null, "y"));
        }
        assertEquals(List.of("1/0", "1/1"), positions(registry.next(stream, 1 << 20, ResponseRoom.unbounded())));
        stream.written(stream.handedOut());
        consumer.addRecord(record("a", 0, 3, null, "x"));
        assertEquals(List.of("0/3"), positions(registry.next(stream, 1 << 20, ResponseRoom.unbounded())));
        stream.written(stream.handedOut());

        // The client got up to a/0/1: 0/2, 1/0, 1/1 and 0/3, written, sat in buffers when its connection broke.
        ConsumerInstance.Stream resumed = registry.openStream(instance, null,
                new ConsumerInstance.ResumeAfter(A0, 1));
        assertEquals(2L, consumer.position(A0));
        assertEquals(0L, consumer.position(A1));
        List<CommittedOffset> committed = instance.commit();
        assertEquals(List.of(new CommittedOffset("a", 0, 1, 1)), committed,
                "a commit commits what the client received, nothing of partition 1");

        // An id the instance never handed out moves nothing.
        registry.closeStream(resumed);
        ConsumerInstance.Stream unknown = registry.openStream(instance, null,
                new ConsumerInstance.ResumeAfter(A1, 40));
        assertEquals(2L, consumer.position(A0));
        registry.closeStream(unknown);
    }

    @Test
    void aSeekWhileStreamingIsNeverUndoneByAResume() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0);
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        for (int i = 0; i < 5; i++) {
            consumer.addRecord(record("a", 0, i, null, "x"));
        }
        assertEquals(5, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
        instance.seek(Map.of(A0, 100L));
        registry.openStream(instance, null, new ConsumerInstance.ResumeAfter(A0, 2));
        assertEquals(100L, consumer.position(A0));
    }

    /** An instance with auto-commit (the default) subscribed to "a", given {@code partitions} at its next poll. */
    private ConsumerInstance subscribed(ConsumerRegistry registry, List<TopicPartition> partitions,
                                        List<ConsumerRecord<byte[], byte[]>> records) {
        ConsumerInstance instance = registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", true,
                ConsumerInstance.Options.DEFAULTS, null);
        instance.subscribe(List.of("a"));
        factory.last().assignOnNextPoll(partitions, records);
        return instance;
    }

    /** An instance of a registry, its consumer, and a stream of it. */
    private record Streaming(ConsumerRegistry registry, ConsumerInstance instance, SessionTestConsumer consumer,
                             ConsumerInstance.Stream stream) {
        /** What the stream handed out so far is written to its connection. */
        void writtenAll() {
            stream.written(stream.handedOut());
        }
    }

    /** A subscribed instance, its consumer given a/0 with records 0–4, and a stream whose first call handed them out. */
    private Streaming streamingA0() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = subscribed(registry, List.of(A0), a0(0, 4));
        SessionTestConsumer consumer = factory.last();
        return new Streaming(registry, instance, consumer, opened(registry, instance, 5));
    }

    /** An instance assigned a/0 and a stream that wrote its records 0–4 and handed out 5–9 without writing them. */
    private Streaming halfWrittenA0() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0);
        SessionTestConsumer consumer = factory.last();
        return new Streaming(registry, instance, consumer, streamed(registry, instance, a0(0, 4), a0(5, 9)));
    }

    /** A stream opened on {@code instance}, after its first call handed out {@code records} records. */
    private static ConsumerInstance.Stream opened(ConsumerRegistry registry, ConsumerInstance instance, int records) {
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        assertEquals(records, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
        return stream;
    }

    /**
     * Opens a stream on {@code instance} that hands out {@code written} and writes it, then hands
     * out {@code unwritten} and writes none of it (the client's connection is full, or broke).
     */
    private ConsumerInstance.Stream streamed(ConsumerRegistry registry, ConsumerInstance instance,
                                             List<ConsumerRecord<byte[], byte[]>> written,
                                             List<ConsumerRecord<byte[], byte[]>> unwritten) {
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        written.forEach(consumer::addRecord);
        assertEquals(written.size(), registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
        stream.written(stream.handedOut());
        unwritten.forEach(consumer::addRecord);
        assertEquals(unwritten.size(), registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size(),
                "fetched, never written");
        return stream;
    }

    private static List<ConsumerRecord<byte[], byte[]>> with(List<ConsumerRecord<byte[], byte[]>> records,
                                                             ConsumerRecord<byte[], byte[]> more) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>(records);
        out.add(more);
        return out;
    }

    private static List<ConsumerRecord<byte[], byte[]>> a0(long from, long to) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            out.add(record("a", 0, i, null, "x" + i));
        }
        return out;
    }

    @Test
    void aResumeAfterARebalanceThatGaveThePartitionStraightBackReadsAgainWhatTheClientMissed() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = subscribed(registry, List.of(A0), a0(0, 4));
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        assertEquals(List.of("0/0", "0/1", "0/2", "0/3", "0/4"),
                positions(registry.next(stream, 1 << 20, ResponseRoom.unbounded())));
        assertEquals(List.of(), consumer.commits, "auto-commit waits until the stream wrote them");
        stream.written(stream.handedOut());

        // Another member joins during the stream's next poll: the group revokes a/0 (the instance
        // commits 5, what it handed out and wrote) and gives it straight back, where that commit left off.
        consumer.schedulePollTask(() -> consumer.eagerRebalance(List.of(A0)));
        assertEquals(List.of(), registry.next(stream, 1 << 20, ResponseRoom.unbounded()));
        assertEquals(List.of(Map.of(A0, 5L), Map.of(A0, 5L)), consumer.commits,
                "the auto-commit of what the stream wrote, at its next call, and the commit on revocation");
        assertEquals(5L, consumer.position(A0));

        // The client's connection had broken after a/0/1: it resumes from there.
        ConsumerInstance.Stream resumed = registry.openStream(instance, null, new ConsumerInstance.ResumeAfter(A0, 1));
        assertEquals(2L, consumer.position(A0));
        assertEquals(List.of(new CommittedOffset("a", 0, 1, 1)), instance.commit(),
                "a commit commits what the client received, below what the revocation committed");
        assertEquals(2L, consumer.lastCommitted(A0));
        a0(0, 5).forEach(consumer::addRecord); // still in the broker (a rebalance empties the mock's)
        assertEquals(List.of("0/2", "0/3", "0/4", "0/5"),
                positions(registry.next(resumed, 1 << 20, ResponseRoom.unbounded())), "none lost, none repeated");
    }

    @Test
    void aResumeNeverSeeksAPartitionARebalanceGaveToAnotherMemberEvenOnceItComesBack() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = subscribed(registry, List.of(A0, A1), a0(0, 4));
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = opened(registry, instance, 5);

        consumer.schedulePollTask(() -> { // a/0 goes to another member
            consumer.eagerRebalance(List.of(A1));
            consumer.addRecord(record("a", 1, 0, null, "y0"));
        });
        assertEquals(List.of("1/0"), positions(registry.next(stream, 1 << 20, ResponseRoom.unbounded())));
        // which reads a/0 up to 7 and commits; then a/0 comes back
        consumer.commitSync(Map.of(A0, new OffsetAndMetadata(8)));
        consumer.schedulePollTask(() -> {
            consumer.eagerRebalance(List.of(A0, A1));
            consumer.addRecord(record("a", 0, 8, null, "x8"));
        });
        assertEquals(List.of("0/8"), positions(registry.next(stream, 1 << 20, ResponseRoom.unbounded())));

        registry.openStream(instance, null, new ConsumerInstance.ResumeAfter(A0, 1));
        assertEquals(8L, consumer.position(A0), "an id from before a/0 went away never moves it back past where it "
                + "came back (the other member read the rest), only to what was handed out after the id: 0/8");
        assertEquals(0L, consumer.position(A1), "1/0 was handed out after the id too: read again, not lost");
    }

    @Test
    void aStreamingInstanceDoesNotExpireAndItsIdleClockStartsWhenTheStreamEnds() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0);
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        nanos.addAndGet(IDLE.multipliedBy(3).toNanos());
        registry.cleanUp();
        assertSame(instance, registry.get("g", "i"));
        assertFalse(instance.isClosed());

        registry.closeStream(stream);
        nanos.addAndGet(IDLE.minusSeconds(1).toNanos());
        registry.cleanUp();
        assertFalse(instance.isClosed(), "idle for less than the timeout since the stream ended");
        nanos.addAndGet(Duration.ofSeconds(2).toNanos());
        registry.cleanUp();
        assertCode(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g", "i"));
    }

    @Test
    void aDeletedInstanceEndsItsStream() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0);
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        registry.delete("g", "i");
        assertFalse(stream.isOpen());
        assertCode(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.next(stream, 1 << 20, ResponseRoom.unbounded()));
    }

    /** A log of {@code MAX_RUNS + 10} runs of one record each: record i at offset i of partition i % 2 of "t". */
    private static DeliveryLog alternating() {
        DeliveryLog log = new DeliveryLog();
        List<ConsumedRecord> many = new ArrayList<>();
        for (int i = 0; i < DeliveryLog.MAX_RUNS + 10; i++) {
            many.add(new ConsumedRecord("t", null, null, i % 2, i, 0, List.of()));
        }
        log.add(many);
        return log;
    }

    @Test
    void theDeliveryLogKnowsExactlyWhatFollowedARecordOfTheRunsItKept() {
        DeliveryLog log = alternating();
        Map<TopicPartition, Long> rewind = log.resumeAfter(new TopicPartition("t", 1), DeliveryLog.MAX_RUNS + 7);
        assertEquals(Map.of(new TopicPartition("t", 0), (long) DeliveryLog.MAX_RUNS + 8,
                new TopicPartition("t", 1), (long) DeliveryLog.MAX_RUNS + 8), rewind);
        assertEquals(Map.of(), log.resumeAfter(new TopicPartition("t", 1), DeliveryLog.MAX_RUNS + 7),
                "what followed is forgotten once resumed");
    }

    @Test
    void resumingAfterARecordOfARunDroppedForRoomRepeatsRatherThanLoses() {
        TopicPartition t0 = new TopicPartition("t", 0);
        TopicPartition t1 = new TopicPartition("t", 1);
        // The 10 oldest runs were dropped: offsets 0-8 of t/0 and 1-9 of t/1. After t/0's offset 4
        // came 5, 7 and 9 of t/1, no longer known one by one: t/1 starts again where it started.
        DeliveryLog log = alternating();
        assertEquals(Map.of(t0, 5L, t1, 1L), log.resumeAfter(t0, 4));
        assertNull(log.resumeAfter(t0, 4), "the log starts anew once resumed");

        log = alternating();
        assertNull(log.resumeAfter(t1, 0), "never handed out");
        assertNull(log.resumeAfter(t0, DeliveryLog.MAX_RUNS + 100), "never handed out");
        log.forget(List.of(t0));
        assertNull(log.resumeAfter(t0, 4), "sought since: a resume never undoes a seek");
        assertEquals(Map.of(t1, 4L), log.resumeAfter(t1, 3), "what the other partitions handed out is all kept");
    }

    @Test
    void anInstanceResumingAfterAnIdOlderThanItsDeliveryLogMovesBackEveryPartitionFarEnough() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0, A1);
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        int rounds = DeliveryLog.MAX_RUNS / 2 + 20; // each round hands out a record of each partition: two runs
        for (int i = 0; i < rounds; i++) {
            consumer.addRecord(record("a", 0, i, null, "x"));
            consumer.addRecord(record("a", 1, i, null, "y"));
            assertEquals(2, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
        }
        // The client got up to a/0/10 only (its connection broke with the rest unread).
        registry.openStream(instance, null, new ConsumerInstance.ResumeAfter(A0, 10));
        assertEquals(11L, consumer.position(A0));
        assertEquals(0L, consumer.position(A1), "a/1 from what it first handed out: a/1/10 and later were "
                + "handed out after a/0/10, among runs no longer known one by one");
    }

    @Test
    void aCommitDuringAStreamCoversWhatItWroteNotWhatItFetchedAhead() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0);
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        a0(0, 4).forEach(consumer::addRecord);
        assertEquals(5, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
        long first = stream.handedOut();
        a0(5, 9).forEach(consumer::addRecord);
        assertEquals(5, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size(), "the next batch, fetched while the first is written");
        assertEquals(List.of(), instance.commit(), "nothing written yet: nothing committed");

        stream.written(first);
        assertEquals(List.of(new CommittedOffset("a", 0, 4, 4)), instance.commit(), "the batch written");
        assertEquals(5L, consumer.lastCommitted(A0));
        stream.written(stream.handedOut());
        assertEquals(List.of(new CommittedOffset("a", 0, 9, 9)), instance.commit());
        assertEquals(10L, consumer.lastCommitted(A0));
    }

    @Test
    void aStreamWhoseClientLeftHandsOutWhatItDidNotWriteAgain() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0, A1);
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = streamed(registry, instance, a0(0, 4), with(a0(5, 9), record("a", 1, 0, null, "y0")));

        registry.closeStream(stream); // its client left
        assertEquals(List.of(new CommittedOffset("a", 0, 4, 4)), instance.commit(), "what was written, no more");
        assertEquals(5L, consumer.position(A0), "a/0 starts again after the last record written");
        assertEquals(0L, consumer.position(A1), "a/1 at its first record handed out");
        a0(5, 9).forEach(consumer::addRecord); // still in the broker
        consumer.addRecord(record("a", 1, 0, null, "y0"));
        ConsumerInstance.Stream again = registry.openStream(instance, null, null);
        List<String> next = positions(registry.next(again, 1 << 20, ResponseRoom.unbounded()));
        assertEquals(List.of("0/5", "0/6", "0/7", "0/8", "0/9", "1/0"), next.stream().sorted().toList(),
                "none lost, none repeated");
    }

    @Test
    void aStreamTakenOverMovesBackToWhatTheResumingClientReceivedNotToWhatItWrote() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0, A1);
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream first = streamed(registry, instance, a0(0, 9), with(a0(10, 11), record("a", 1, 0, null, "y0")));

        // The client received up to a/0/3 (the rest sat in buffers when its connection broke).
        ConsumerInstance.Stream second = registry.openStream(instance, null, new ConsumerInstance.ResumeAfter(A0, 3));
        registry.closeStream(first); // Portico sees the old connection close only now
        assertEquals(4L, consumer.position(A0));
        assertEquals(0L, consumer.position(A1), "a/1's record came after a/0/3: read again");
        assertEquals(List.of(new CommittedOffset("a", 0, 3, 3)), instance.commit());
        assertTrue(second.isOpen());
    }

    @Test
    void deletingAnAutoCommitInstanceWhileItStreamsCommitsOnlyWhatTheStreamWrote() {
        Streaming s = streamingA0();
        s.writtenAll();
        a0(5, 9).forEach(s.consumer()::addRecord);
        assertEquals(5, s.registry().next(s.stream(), 1 << 20, ResponseRoom.unbounded()).size());

        s.registry().delete("g", "i");
        assertEquals(5L, s.consumer().lastCommitted(A0), "the second batch was not written when the instance closed");
    }

    @Test
    void aLongStreamKeepsOnlyTheBatchesItHasNotWritten() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = assigned(registry, A0);
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        for (int i = 0; i < 50; i++) {
            consumer.addRecord(record("a", 0, i, null, "v" + i));
            assertEquals(1, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
            stream.written(stream.handedOut() - 1); // the batch before is written as this one is fetched
        }
        assertTrue(instance.unwrittenBatches() <= 2, "what was written is let go of: " + instance.unwrittenBatches());
    }

    @Test
    void aStreamDrainingABacklogAutoCommitsAtMostOnceASecondAndWhatIsDueWhenItEnds() {
        AtomicLong clock = new AtomicLong(1_000_000_000L);
        ConsumerRegistry registry = registryOn(clock); // each call below finds records: no read waits on it
        ConsumerInstance instance = subscribed(registry, List.of(A0), a0(0, 0));
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream stream = opened(registry, instance, 1);
        stream.written(stream.handedOut());
        long offset = 1;
        // 100 batches written within the same second: the first is committed at once, the rest wait
        for (int i = 0; i < 100; i++, offset++) {
            consumer.addRecord(record("a", 0, offset, null, "v" + offset));
            assertEquals(1, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
            stream.written(stream.handedOut());
            clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(5));
        }
        assertEquals(List.of(Map.of(A0, 1L)), consumer.commits, "one commit in the first half second");
        // A second after the first commit, the next call commits all that was written since
        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(500));
        consumer.addRecord(record("a", 0, offset, null, "v" + offset));
        assertEquals(1, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
        assertEquals(2, consumer.commits.size(), consumer.commits.toString());
        assertEquals(101L, consumer.lastCommitted(A0), "everything written before that call");
        stream.written(stream.handedOut());
        offset++;
        // The stream ends with a batch written and not committed yet: it is committed as it ends
        consumer.addRecord(record("a", 0, offset, null, "v" + offset));
        assertEquals(1, registry.next(stream, 1 << 20, ResponseRoom.unbounded()).size());
        stream.written(stream.handedOut());
        assertEquals(2, consumer.commits.size(), "within the second: not yet");
        registry.closeStream(stream);
        assertEquals(103L, consumer.lastCommitted(A0), "what the stream wrote, committed as it ended, no request needed");
        assertEquals(3, consumer.commits.size(), consumer.commits.toString());
        offset++;
        consumer.addRecord(record("a", 0, offset, null, "v" + offset));
        assertEquals(1, registry.poll(instance, null, 0, ResponseRoom.unbounded()).size(), "the next operation on the instance");
        assertEquals(3, consumer.commits.size(), "nothing more to commit: " + consumer.commits);
    }

    @Test
    void aResumingStreamCommitsNothingPastWhatItsClientReceived() {
        AtomicLong clock = new AtomicLong(1_000_000_000L);
        ConsumerRegistry registry = registryOn(clock); // each call below finds records: no read waits on it
        ConsumerInstance instance = subscribed(registry, List.of(A0), a0(0, 4));
        SessionTestConsumer consumer = factory.last();
        ConsumerInstance.Stream first = opened(registry, instance, 5);
        first.written(first.handedOut());
        a0(5, 9).forEach(consumer::addRecord);
        assertEquals(5, registry.next(first, 1 << 20, ResponseRoom.unbounded()).size());
        assertEquals(5L, consumer.lastCommitted(A0), "the first batch, committed at once");
        first.written(first.handedOut()); // 5 to 9 written, within the second: not committed yet

        // The client received up to a/0/6 (the rest sat in buffers when its connection broke).
        ConsumerInstance.Stream second = registry.openStream(instance, null, new ConsumerInstance.ResumeAfter(A0, 6));
        registry.closeStream(first);
        assertEquals(5L, consumer.lastCommitted(A0), "nothing past what the client received: " + consumer.commits);
        assertEquals(7L, consumer.position(A0));
        clock.addAndGet(TimeUnit.SECONDS.toNanos(1));
        consumer.addRecord(record("a", 0, 10, null, "v10"));
        registry.next(second, 1 << 20, ResponseRoom.unbounded()); // (the test consumer does not fetch 7 to 9 again)
        assertEquals(7L, consumer.lastCommitted(A0), "what the client received, committed by the new stream's first call");
    }

    @Test
    void aQuietStreamAutoCommitsWhatItWroteWithoutWaitingForMoreRecords() {
        Streaming s = streamingA0();
        s.writtenAll();
        assertEquals(List.of(), s.registry().next(s.stream(), 1 << 20, ResponseRoom.unbounded()), "nothing more comes");
        assertEquals(5L, s.consumer().lastCommitted(A0), "the batch written is committed by the stream's next call");
    }

    @Test
    void aPartitionGivenStraightBackGoesOnAfterWhatTheStreamHandedOutWhileItsBatchIsWritten() {
        Streaming s = streamingA0();
        long inFlight = s.stream().handedOut();

        // The group revokes a/0 while the batch is still being written, and gives it straight back.
        s.consumer().schedulePollTask(() -> s.consumer().eagerRebalance(List.of(A0)));
        assertEquals(List.of(), s.registry().next(s.stream(), 1 << 20, ResponseRoom.unbounded()));
        assertEquals(List.of(), s.consumer().commits, "nothing written, nothing committed on revocation");
        assertEquals(5L, s.consumer().position(A0), "not the batch again, which is still written to the client");

        s.stream().written(inFlight);
        assertEquals(List.of(new CommittedOffset("a", 0, 4, 4)), s.instance().commit(), "once written, it counts");
    }

    @Test
    void aClientThatLeftAndResumesGetsWhatItMissedWhicheverPorticoHearsOfFirst() {
        Streaming s = halfWrittenA0();

        s.registry().closeStream(s.stream()); // the old connection's close is seen first
        ConsumerInstance.Stream second = s.registry().openStream(s.instance(), null, new ConsumerInstance.ResumeAfter(A0, 2));
        assertEquals(3L, s.consumer().position(A0), "right after what the client received");
        assertEquals(List.of(new CommittedOffset("a", 0, 2, 2)), s.instance().commit());
        assertTrue(second.isOpen());
    }

    @Test
    void aResumeWithAnIdTheInstanceDoesNotKnowStillGetsWhatTheOldStreamDidNotWrite() {
        Streaming s = halfWrittenA0();

        s.registry().openStream(s.instance(), null, new ConsumerInstance.ResumeAfter(A0, 99)); // takes over
        assertEquals(5L, s.consumer().position(A0), "the records the old stream never wrote come again");
    }

    @Test
    void aResumeThatComesWhileARebalanceHasRevokedThePartitionMovesItBackOnceGivenBack() {
        Streaming s = streamingA0();
        s.writtenAll();

        s.consumer().revokeForRebalance(); // another member joins: a/0 revoked, the join under way
        // The client's connection broke after a/0/1: it resumes before the rebalance assigns.
        s.registry().openStream(s.instance(), null, new ConsumerInstance.ResumeAfter(A0, 1));
        s.consumer().rebalance(List.of(A0)); // given straight back
        assertEquals(2L, s.consumer().position(A0), "right after what the client received");
        assertEquals(List.of(new CommittedOffset("a", 0, 1, 1)), s.instance().commit());
    }

    @Test
    void aClientThatGotPartOfABatchResumesRightAfterItsIdWhicheverPorticoHearsOfFirst() {
        Streaming s = halfWrittenA0();
        s.registry().closeStream(s.stream()); // the second batch was being written: the client got 5 and 6
        s.registry().openStream(s.instance(), null, new ConsumerInstance.ResumeAfter(A0, 6));
        assertEquals(7L, s.consumer().position(A0), "none of what it got again");
    }

    @Test
    void whatAStreamWritesDuringARebalanceNeverMovesTheGroupsOffsetBack() {
        Streaming s = streamingA0();
        s.consumer().revokeForRebalance(); // the join under way
        s.writtenAll(); // the batch in flight is written meanwhile
        assertEquals(List.of(), s.instance().commit(), "the instance has no partition to commit");
        s.consumer().rebalance(List.of()); // a/0 went to another member, which reads and commits it
        s.consumer().commitSync(Map.of(A0, new OffsetAndMetadata(8)));
        s.consumer().rebalance(List.of(A0)); // and it comes back
        assertEquals(List.of(), s.instance().commit(), "nothing of it returned since");
        assertEquals(8L, s.consumer().lastCommitted(A0), "not moved back to what the stream wrote before");
    }

    @Test
    void aStreamThatEndsDuringARebalanceGoesOnAfterWhatItWroteOnceThePartitionIsBack() {
        Streaming s = streamingA0();
        s.consumer().revokeForRebalance();
        s.writtenAll(); // written after the revocation's commit
        s.registry().closeStream(s.stream()); // and its client leaves during the join
        assertEquals(List.of(), s.instance().commit());
        s.consumer().rebalance(List.of(A0)); // given back
        assertEquals(5L, s.consumer().position(A0), "not the batch the client got again");
        assertEquals(List.of(new CommittedOffset("a", 0, 4, 4)), s.instance().commit());
    }

    @Test
    void whatAStreamWroteDuringARebalanceIsAutoCommittedByItsNextCallOnceThePartitionIsBack() {
        Streaming s = streamingA0();
        s.consumer().revokeForRebalance();
        s.writtenAll(); // written during the join
        s.consumer().schedulePollTask(() -> s.consumer().rebalance(List.of(A0))); // given back in the stream's next poll
        assertEquals(List.of(), s.registry().next(s.stream(), 1 << 20, ResponseRoom.unbounded()), "a quiet topic");
        assertEquals(List.of(), s.registry().next(s.stream(), 1 << 20, ResponseRoom.unbounded()));
        assertEquals(5L, s.consumer().lastCommitted(A0), "committed without waiting for another batch");
    }
}
