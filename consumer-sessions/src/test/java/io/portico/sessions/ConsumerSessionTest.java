package io.portico.sessions;

import static io.portico.sessions.SessionTestConsumer.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The consumer core as v2 drives it: subscriptions and assignments, positions, explicit commits,
 * committed offsets, pattern subscriptions limited to what the caller may read, and a long poll
 * that lets a waiting commit go first.
 */
class ConsumerSessionTest {
    private static final TopicPartition A0 = new TopicPartition("a", 0);
    private static final TopicPartition A1 = new TopicPartition("a", 1);
    private static final Ticker TICKER = () -> 0L;

    private final SessionTestConsumer.Factory factory = new SessionTestConsumer.Factory();
    private final List<ConsumerRegistry> registries = new ArrayList<>();

    @AfterEach
    void close() {
        registries.forEach(ConsumerRegistry::close);
    }

    private ConsumerRegistry registry(Duration requestTimeout) {
        ConsumerRegistry registry = new ConsumerRegistry(new ConsumerRegistry.Settings(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"), Duration.ofMinutes(5), requestTimeout,
                Duration.ofSeconds(2), 1 << 20, 100, ""), factory, topic -> true, TICKER);
        registries.add(registry);
        return registry;
    }

    private ConsumerInstance create(ConsumerRegistry registry) {
        return registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", false, ConsumerInstance.Options.DEFAULTS,
                null);
    }

    /** An instance of {@code registry} (group g, name i) assigned partition a-0, which begins at offset 0. */
    private ConsumerInstance assignedAtA0(ConsumerRegistry registry, ConsumerInstance.Options options) {
        ConsumerInstance instance = registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", false, options, null);
        instance.assign(List.of(A0));
        beginAt(factory.last(), A0);
        return instance;
    }

    private static List<Long> offsets(List<ConsumedRecord> records) {
        return records.stream().map(ConsumedRecord::offset).toList();
    }

    private static void assertCode(ErrorCode expected, Runnable call) {
        RestException e = assertThrows(RestException.class, call::run);
        assertEquals(expected, e.errorCode(), e.getMessage());
    }

    private static void beginAt(SessionTestConsumer consumer, TopicPartition... partitions) {
        Map<TopicPartition, Long> zero = new HashMap<>();
        for (TopicPartition tp : partitions) {
            zero.put(tp, 0L);
        }
        consumer.updateBeginningOffsets(zero);
        consumer.updateEndOffsets(zero);
    }

    @Test
    void subscriptionAndAssignmentAreMutuallyExclusive() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = create(registry);
        instance.assign(List.of(A0));
        assertEquals(List.of(A0), instance.assignment());
        assertCode(ErrorCode.ILLEGAL_STATE, () -> instance.subscribe(List.of("a")));
        instance.assign(List.of()); // unassigned: free to subscribe
        instance.subscribe(List.of("a", "b"));
        assertEquals(List.of("a", "b"), instance.subscription());
        assertCode(ErrorCode.ILLEGAL_STATE, () -> instance.assign(List.of(A0)));
        instance.unsubscribe();
        assertEquals(List.of(), instance.subscription());
    }

    @Test
    void aReadWithNothingToReadIs40903() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = create(registry);
        assertCode(ErrorCode.ILLEGAL_STATE, () -> registry.poll(instance, null, 0, ResponseRoom.unbounded()));
    }

    @Test
    void aSeekLetsGoOfWhatWasHeldAndTheNextReadStartsThere() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = assignedAtA0(registry, ConsumerInstance.Options.DEFAULTS);
        SessionTestConsumer consumer = factory.last();
        for (int i = 0; i < 10; i++) {
            consumer.addRecord(record("a", 0, i, null, "v" + i));
        }
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 2, ResponseRoom.unbounded())),
                "one 2-byte record a read; the others held");
        instance.seek(Map.of(A0, 6L));
        for (int i = 0; i < 10; i++) { // the broker still has them; the mock hands out each record once
            consumer.addRecord(record("a", 0, i, null, "v" + i));
        }
        assertEquals(List.of(6L, 7L, 8L, 9L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
        instance.seekToBeginning(List.of(A0));
        consumer.addRecord(record("a", 0, 0, null, "v0"));
        assertEquals(0L, offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())).get(0));
        assertCode(ErrorCode.ILLEGAL_STATE, () -> instance.seek(Map.of(A1, 0L)));
    }

    @Test
    void aCommitWithoutOffsetsAfterASeekCommitsWhereTheSeekWent() {
        // As Confluent's proxy commits a consumer's position: a client resets its group by
        // seeking (to the end, the beginning, an offset, a time) and committing.
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = assignedAtA0(registry, ConsumerInstance.Options.DEFAULTS);
        SessionTestConsumer consumer = factory.last();
        for (int i = 0; i < 10; i++) {
            consumer.addRecord(record("a", 0, i, null, "v" + i));
        }
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L),
                offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
        instance.commitReturned();
        assertEquals(10L, consumer.lastCommitted(A0));

        instance.seek(Map.of(A0, 4L));
        instance.commitReturned();
        assertEquals(4L, consumer.lastCommitted(A0), "back to the offset sought");
        instance.seekToBeginning(List.of(A0));
        instance.commitReturned();
        assertEquals(0L, consumer.lastCommitted(A0), "back to the beginning");
        consumer.updateEndOffsets(Map.of(A0, 10L));
        instance.seekToEnd(List.of(A0));
        instance.commitReturned();
        assertEquals(10L, consumer.lastCommitted(A0), "on to the end");
    }

    @Test
    void aSeekToTheBeginningOfNoPartitionNamedMovesEveryAssignedOneAndLetsGoOfWhatWasHeld() {
        // Kafka's seekToBeginning of an empty list moves every assigned partition (as Confluent's
        // proxy passes it on): what was held of them must go too, or it would come first.
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = assignedAtA0(registry, ConsumerInstance.Options.DEFAULTS);
        SessionTestConsumer consumer = factory.last();
        for (int i = 0; i < 10; i++) {
            consumer.addRecord(record("a", 0, i, null, "v" + i));
        }
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 2, ResponseRoom.unbounded())),
                "one 2-byte record a read; the others held");
        instance.seekToBeginning(List.of());
        consumer.addRecord(record("a", 0, 0, null, "v0")); // the broker still has it
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())),
                "from the beginning again, not the records held before the seek");
    }

    @Test
    void aPartitionItsTopicDoesNotHaveIs404AtOnceNotAWaitForKafka() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        SessionTestConsumer consumer = factory.last();
        consumer.partitions("a", 1);
        consumer.partitions("gone", 0);
        TopicPartition a5 = new TopicPartition("a", 5);
        TopicPartition gone = new TopicPartition("gone", 0);
        instance.assign(List.of(A0, a5, gone)); // taken as Confluent's proxy takes it
        beginAt(consumer, A0);

        // Each of these would wait default.api.timeout.ms for the partition, holding the instance.
        assertCode(ErrorCode.PARTITION_NOT_FOUND, () -> instance.seekToBeginning(List.of(a5)));
        assertCode(ErrorCode.PARTITION_NOT_FOUND, () -> instance.seekToEnd(List.of(A0, a5)));
        assertCode(ErrorCode.PARTITION_NOT_FOUND, () -> instance.seek(Map.of(), Map.of(a5, 0L)));
        assertCode(ErrorCode.TOPIC_NOT_FOUND, () -> instance.seekToEnd(List.of(gone)));
        instance.seek(Map.of(gone, 0L)); // a seek to an offset asks Kafka nothing: taken, as Confluent's proxy takes it
        assertCode(ErrorCode.PARTITION_NOT_FOUND, () -> instance.commit(
                Map.of(a5, new org.apache.kafka.clients.consumer.OffsetAndMetadata(0L))));
        assertTrue(consumer.commits.isEmpty(), "nothing committed");

        instance.seekToBeginning(List.of(A0)); // the partitions it has are served as before
        instance.commit(Map.of(A0, new org.apache.kafka.clients.consumer.OffsetAndMetadata(3L)));
        assertEquals(4L, consumer.lastCommitted(A0));
    }

    @Test
    void aPartitionTheConsumersMetadataDoesNotKnowIsAskedOfKafkaAfresh() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        registry.partitionCounts(topic -> topic.equals("a") ? 8 : 0); // the topic grew to 8 partitions
        ConsumerInstance instance = registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        SessionTestConsumer consumer = factory.last();
        consumer.partitions("a", 1); // what the consumer's metadata still says
        TopicPartition a5 = new TopicPartition("a", 5);
        TopicPartition a9 = new TopicPartition("a", 9);
        instance.assign(List.of(A0, a5, a9));
        beginAt(consumer, a5);

        instance.seekToBeginning(List.of(a5)); // there now: served
        assertCode(ErrorCode.PARTITION_NOT_FOUND, () -> instance.seekToBeginning(List.of(a9)));
    }

    @Test
    void anInstanceWhoseReadsWaitNotAtAllStillPollsOncePerRead() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = assignedAtA0(registry, new ConsumerInstance.Options(-1, Duration.ZERO));
        SessionTestConsumer consumer = factory.last();
        consumer.addRecord(record("a", 0, 0, null, "v0"));
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
        // consumer.request.timeout.ms 0: later reads have no time to wait, but each polls once.
        for (long offset = 1; offset <= 3; offset++) {
            consumer.addRecord(record("a", 0, offset, null, "v" + offset));
            assertEquals(List.of(offset), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
        }
    }

    @Test
    void aReadThatMayNotWaitPollsOnceAlsoWhileTheConsumersBudgetIsFull() {
        ConsumerRegistry.Settings settings = new ConsumerRegistry.Settings(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"), Duration.ofMinutes(5),
                Duration.ofSeconds(30), Duration.ofSeconds(2), 1 << 20, 100, "");
        MemoryBudget budget = new MemoryBudget("memory.consumers.max.bytes", HeldRecords.consumerCost(settings.kafka()) + 300);
        ConsumerRegistry registry = new ConsumerRegistry(settings, factory, topic -> true, TICKER,
                SessionMetrics.unreported(), budget, Duration.ZERO);
        registries.add(registry);
        ConsumerInstance instance = assignedAtA0(registry, new ConsumerInstance.Options(-1, Duration.ZERO));
        budget.lease().takeAnyway(1 << 20); // another client's records fill the budget: reads pause
        SessionTestConsumer consumer = factory.last();
        java.util.concurrent.atomic.AtomicInteger polls = new java.util.concurrent.atomic.AtomicInteger();
        for (int read = 1; read <= 3; read++) {
            consumer.schedulePollTask(polls::incrementAndGet);
            assertEquals(List.of(), registry.poll(instance, null, 0, ResponseRoom.unbounded()));
            assertEquals(read, polls.get(), "each read polled (the member stays in its group)");
        }
    }

    @Test
    void aRecordItsFormatCannotRenderEndsTheReadBeforeItThenIs50002NamingIt() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = assignedAtA0(registry, ConsumerInstance.Options.DEFAULTS);
        instance.decoder(c -> {
            if (c.offset() == 2) {
                throw new IllegalArgumentException("Timestamp is not valid"); // as protobuf's JSON mapping throws
            }
            return c;
        });
        SessionTestConsumer consumer = factory.last();
        for (int i = 0; i < 4; i++) {
            consumer.addRecord(record("a", 0, i, null, "v" + i));
        }
        assertEquals(List.of(0L, 1L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())),
                "the records before it");
        RestException e = assertThrows(RestException.class,
                () -> registry.poll(instance, null, 0, ResponseRoom.unbounded()));
        assertEquals(ErrorCode.KAFKA_ERROR, e.errorCode(), e.getMessage());
        assertTrue(e.getMessage().contains("offset 2 of partition 0"), e.getMessage());
    }

    @Test
    void anExplicitCommitStoresTheOffsetAfterTheLastProcessedWithItsMetadata() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = create(registry);
        SessionTestConsumer consumer = factory.last();
        instance.assign(List.of(A0, A1));
        instance.commit(Map.of(A0, new OffsetAndMetadata(4, "checkpoint")));
        Map<TopicPartition, OffsetAndMetadata> committed = instance.committed(Set.of(A0, A1));
        assertEquals(Map.of(A0, new OffsetAndMetadata(5, "checkpoint")), committed, "A1 has none: not listed");
        assertEquals(5L, consumer.committed(Set.of(A0)).get(A0).offset());
    }

    @Test
    void aPatternSubscribesToTheMatchingTopicsTheCallerMayReadNeverInternalOnes() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        registry.topicNames(() -> List.of("orders.eu", "orders.us", "orders.secret", "payments", "__orders.x"));
        ConsumerInstance instance = create(registry);
        instance.subscribe("_*orders\\..*", t -> !t.endsWith("secret"));
        assertEquals(List.of("orders.eu", "orders.us"), instance.subscription());
        assertCode(ErrorCode.UNPROCESSABLE_ENTITY, () -> instance.subscribe("orders.(", t -> true));
        // 2^40 paths that read nothing: no count of characters read would stop it.
        assertCode(ErrorCode.UNPROCESSABLE_ENTITY, () -> instance.subscribe("(?:|)".repeat(40) + "(?!)", t -> true));
        assertEquals(List.of("orders.eu", "orders.us"), instance.subscription(), "the subscription it had stays");
    }

    @Test
    void aPatternThatBacktracksWithoutEndMatchesNothingAndTheOthersStillMatch() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        // A back reference defeats Java's memory of failed loops: 2^40 steps on the first name.
        registry.topicNames(() -> List.of("a".repeat(40) + "!", "aaaa"));
        ConsumerInstance instance = create(registry);
        instance.subscribe("^(a+)+\\1$", t -> true);
        assertEquals(List.of("aaaa"), instance.subscription());
    }

    @Test
    void aPatternMatchesEachTopicNameOnceAndAPassOverTooMuchWorkIsRefused() {
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        ConsumerRegistry registry = registry(Duration.ofMillis(20))
                .readClock(() -> now.addAndGet(TimeUnit.SECONDS.toNanos(2))); // a refresh due at every read
        // Each such name costs the pattern its whole share of work: 100,000 characters read.
        List<String> names = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < 60; i++) {
            names.add("a".repeat(40) + "!" + i);
        }
        names.add("aaaa");
        registry.topicNames(() -> names);
        ConsumerInstance instance = create(registry);
        instance.subscribe("^(a+)+\\1$", t -> true);
        assertEquals(List.of("aaaa"), instance.subscription());
        // Sixty more: matching all 120 again would read more than a pass may (10,000,000), the new
        // ones alone do not.
        for (int i = 60; i < 120; i++) {
            names.add("a".repeat(40) + "!" + i);
        }
        names.add("aaaaaa");
        registry.poll(instance, null, 0, ResponseRoom.unbounded());
        assertEquals(List.of("aaaa", "aaaaaa"), instance.subscription(), "the new names matched, the others remembered");
        // A new subscription has to match all 120 at once: refused, rather than done again and again.
        ConsumerInstance other = registry.create("g2", "j", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        RestException e = assertThrows(RestException.class, () -> other.subscribe("^(a+)+\\1$", t -> true));
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode());
        assertTrue(e.getMessage().contains("takes too long"), e.getMessage());
        assertEquals(List.of(), other.subscription());
    }

    @Test
    void requestsPilingUpOnOneInstanceAre429BeyondAFewWaiting() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = create(registry);
        SessionTestConsumer consumer = factory.last();
        instance.assign(List.of(A0));
        java.util.concurrent.CountDownLatch inCommit = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        consumer.duringCommitSync = () -> {
            inCommit.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        ConsumerInstance.Stream stream = registry.openStream(instance, null, null);
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newCachedThreadPool();
        try {
            List<java.util.concurrent.Future<?>> calls = new ArrayList<>();
            calls.add(callers.submit(() -> instance.commit(Map.of(A0, new OffsetAndMetadata(1)))));
            assertTrue(inCommit.await(60, TimeUnit.SECONDS), "the first commit holds the instance");
            for (int i = 0; i < ConsumerInstance.MAX_WAITING_OPERATIONS; i++) {
                calls.add(callers.submit(() -> instance.commit(Map.of(A0, new OffsetAndMetadata(2)))));
            }
            for (int i = 0; i < 6000 && instance.waitingOperations() < ConsumerInstance.MAX_WAITING_OPERATIONS; i++) {
                Thread.sleep(10);
            }
            assertEquals(ConsumerInstance.MAX_WAITING_OPERATIONS, instance.waitingOperations());
            assertCode(ErrorCode.TOO_MANY_REQUESTS, () -> instance.commit(Map.of(A0, new OffsetAndMetadata(3))));
            // The instance's event stream waits whatever else does: not ended by the client's burst.
            calls.add(callers.submit(stream::keepInGroup));
            for (int i = 0; i < 6000 && instance.waitingOperations() <= ConsumerInstance.MAX_WAITING_OPERATIONS; i++) {
                Thread.sleep(10); // waiting beside the eight, not refused
            }
            assertEquals(ConsumerInstance.MAX_WAITING_OPERATIONS + 1, instance.waitingOperations());
            release.countDown();
            for (java.util.concurrent.Future<?> call : calls) {
                call.get(60, TimeUnit.SECONDS); // the waiting ones are all served
            }
            instance.commit(Map.of(A0, new OffsetAndMetadata(4)));
        } finally {
            release.countDown();
            callers.shutdownNow();
        }
    }

    @Test
    void aCommitWaitingForALongPollGoesFirst() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofMinutes(5));
        ConsumerInstance instance = create(registry);
        SessionTestConsumer consumer = factory.last();
        consumer.updatePartitions("a", List.of(new PartitionInfo("a", 0, null, null, null)));
        instance.assign(List.of(A0));
        beginAt(consumer, A0);
        java.util.concurrent.CountDownLatch polling = new java.util.concurrent.CountDownLatch(1);
        consumer.schedulePollTask(polling::countDown);
        CompletableFuture<List<ConsumedRecord>> longPoll = CompletableFuture.supplyAsync(
                () -> registry.poll(instance, Duration.ofMinutes(5), 0, ResponseRoom.unbounded()));
        assertTrue(polling.await(60, TimeUnit.SECONDS), "the long poll is under way");
        CompletableFuture<Void> commit = CompletableFuture.runAsync(
                () -> instance.commit(Map.of(A0, new OffsetAndMetadata(0))));
        commit.get(60, TimeUnit.SECONDS);
        assertFalse(longPoll.isDone(), "the commit ran while the poll still waited for records");
        registry.delete("g", "i"); // ends the long poll
        assertThrows(Exception.class, () -> longPoll.get(60, TimeUnit.SECONDS));
    }

    @Test
    void subscribingAgainWhileRecordsAreHeldLosesNone() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = create(registry);
        SessionTestConsumer consumer = factory.last();
        instance.subscribe(List.of("a"));
        List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            records.add(record("a", 0, i, null, "v" + i));
        }
        consumer.assignOnNextPoll(List.of(A0), records);
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 2, ResponseRoom.unbounded())));
        instance.subscribe(List.of("a")); // as a client does on reconnect: the group keeps its partition
        records.forEach(consumer::addRecord); // still in the broker; the mock hands each out once
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L),
                offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())), "what was held comes again");
    }

    @Test
    void aPatternThatMatchesNothingYetAnswersEmptyAndSubscribesOnceATopicMatches() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofMillis(300));
        List<String> topics = new java.util.concurrent.CopyOnWriteArrayList<>(List.of("other"));
        registry.topicNames(() -> topics);
        ConsumerInstance instance = create(registry);
        instance.subscribe("later.*", t -> true);
        assertEquals(List.of(), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())), "not 40903");
        topics.add("later-1");
        for (int i = 0; i < 100 && instance.subscription().isEmpty(); i++) {
            registry.poll(instance, null, 0, ResponseRoom.unbounded()); // looks again about once a second
        }
        assertEquals(List.of("later-1"), instance.subscription());
    }

    @Test
    void aReadWhosePatternStopsAndStartsMatchingAgainKeepsToItsOwnTimeout() {
        // A clock that moves 10 ms each time it is read: the wait is measured without sleeping.
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        ConsumerRegistry registry = registry(Duration.ofSeconds(5))
                .readClock(() -> now.addAndGet(TimeUnit.MILLISECONDS.toNanos(10)));
        java.util.concurrent.atomic.AtomicLong gone = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
        // The pattern's one topic is deleted at `gone` and created again 1.5 s later.
        registry.topicNames(() -> now.get() >= gone.get() && now.get() < gone.get() + TimeUnit.MILLISECONDS.toNanos(1_500)
                ? List.of() : List.of("p1"));
        ConsumerInstance instance = create(registry);
        instance.subscribe("p.*", t -> true);
        registry.poll(instance, null, 0, ResponseRoom.unbounded()); // the first read waits for an assignment
        gone.set(now.get() + TimeUnit.MILLISECONDS.toNanos(1_500));
        // The read waits 5 s from its start: its wait for matches again does not start a new 5 s.
        assertWaited(5_000, now, () -> registry.poll(instance, null, 0, ResponseRoom.unbounded()));
        assertEquals(List.of("p1"), instance.subscription(), "subscribed to the topic again");
    }

    @Test
    void aPatternMatchingNothingReplacesATopicSubscription() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        registry.topicNames(() -> List.of("a"));
        ConsumerInstance instance = create(registry);
        SessionTestConsumer consumer = factory.last();
        instance.subscribe(List.of("a"));
        instance.subscribe("nothing.*", t -> true);
        assertEquals(List.of(), instance.subscription());
        assertEquals(Set.of(), consumer.subscription(), "the consumer no longer reads topic a");
    }

    @Test
    void unsubscribingAlsoEndsAnAssignment() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = create(registry);
        instance.assign(List.of(A0));
        instance.unsubscribe();
        assertEquals(List.of(), instance.assignment());
        instance.subscribe(List.of("a")); // no 40903
        assertEquals(List.of("a"), instance.subscription());
    }

    @Test
    void theClientsMaxBytesStaysStrictAboveTheServersCap() {
        ConsumerRegistry registry = new ConsumerRegistry(new ConsumerRegistry.Settings(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"), Duration.ofMinutes(5),
                Duration.ofMillis(20), Duration.ofSeconds(2), 50, 100, ""), factory, topic -> true, TICKER);
        registries.add(registry);
        ConsumerInstance instance = assignedAtA0(registry, ConsumerInstance.Options.DEFAULTS);
        SessionTestConsumer consumer = factory.last();
        consumer.addRecord(new org.apache.kafka.clients.consumer.ConsumerRecord<>("a", 0, 0, null, new byte[100]));
        assertEquals(List.of(), offsets(registry.poll(instance, null, 80, ResponseRoom.unbounded())),
                "100 bytes is more than the client's 80, whatever the server's cap");
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 200, ResponseRoom.unbounded())),
                "within the client's cap it comes alone, though over the server's 50");
    }

    @Test
    void aReadWaitsForTheInstancesFetchMinBytesBeforeAnswering() {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30));
        ConsumerInstance instance = assignedAtA0(registry, new ConsumerInstance.Options(250, null));
        SessionTestConsumer consumer = factory.last();
        // One 100-byte record arrives per poll: 250 bytes take three polls of one read.
        for (int i = 0; i < 3; i++) {
            long offset = i;
            consumer.schedulePollTask(() -> consumer.addRecord(
                    new org.apache.kafka.clients.consumer.ConsumerRecord<>("a", 0, offset, null, new byte[100])));
        }
        assertEquals(List.of(0L, 1L, 2L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())),
                "without fetch.min.bytes the read would answer with the first record alone");
    }

    @Test
    void aCommitKafkaRefusesReportsWhyAsEveryOtherCallDoes() {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30));
        ConsumerInstance instance = assignedAtA0(registry, ConsumerInstance.Options.DEFAULTS);
        SessionTestConsumer consumer = factory.last();
        consumer.addRecord(new org.apache.kafka.clients.consumer.ConsumerRecord<>("a", 0, 0L, null, new byte[1]));
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
        Map<TopicPartition, OffsetAndMetadata> offsets = Map.of(A0, new OffsetAndMetadata(4));
        consumer.commitSyncFailure = new org.apache.kafka.common.errors.GroupAuthorizationException("not in group g");
        assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR,
                assertThrows(RestException.class, () -> instance.commit(offsets)).errorCode());
        assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR,
                assertThrows(RestException.class, instance::commitReturned).errorCode(), "v1's commit too");
        consumer.commitSyncFailure = new org.apache.kafka.common.errors.TimeoutException("no coordinator");
        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE,
                assertThrows(RestException.class, () -> instance.commit(offsets)).errorCode());
        // A group rebalancing is routine: retriable, or the client's conflict when its partitions moved.
        consumer.commitSyncFailure = new org.apache.kafka.common.errors.RebalanceInProgressException("rebalancing");
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR,
                assertThrows(RestException.class, () -> instance.commit(offsets)).errorCode());
        consumer.commitSyncFailure = new org.apache.kafka.common.errors.CoordinatorLoadInProgressException("loading");
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR,
                assertThrows(RestException.class, instance::commitReturned).errorCode());
        consumer.commitSyncFailure = new org.apache.kafka.clients.consumer.CommitFailedException("rebalanced");
        RestException moved = assertThrows(RestException.class, () -> instance.commit(offsets));
        assertEquals(ErrorCode.ILLEGAL_STATE, moved.errorCode());
        assertEquals(409, moved.httpStatus());
        consumer.commitSyncFailure = new org.apache.kafka.common.errors.InvalidCommitOffsetSizeException("too large");
        assertEquals(ErrorCode.KAFKA_ERROR,
                assertThrows(RestException.class, () -> instance.commit(offsets)).errorCode(), "the rest stay 50002");
    }

    @Test
    void fetchMinBytesAboveTheAnswersCapAnswersAsSoonAsTheCapIsHeld() {
        // A clock that moves 10 ms each time it is read: the wait is measured without sleeping.
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        ConsumerRegistry registry = registry(Duration.ofSeconds(30))
                .readClock(() -> now.addAndGet(TimeUnit.MILLISECONDS.toNanos(10)));
        ConsumerInstance instance = assignedAtA0(registry, new ConsumerInstance.Options(10_000_000, null));
        SessionTestConsumer consumer = factory.last();
        scheduleOneRecordPerPoll(consumer, 3, 100);
        long before = now.get();
        // max_bytes 250: the third record makes the held bytes pass the cap; the answer is the two that fit.
        assertEquals(List.of(0L, 1L), offsets(registry.poll(instance, null, 250, ResponseRoom.unbounded())));
        assertTrue(TimeUnit.NANOSECONDS.toMillis(now.get() - before) < 1_000,
                "answered once the cap was held, not after the 30 s request timeout: "
                        + TimeUnit.NANOSECONDS.toMillis(now.get() - before) + " ms");
    }

    @Test
    void fetchMinBytesAboveWhatTheConsumersBudgetHoldsAnswersWithWhatIsHeld() {
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        ConsumerRegistry.Settings settings = new ConsumerRegistry.Settings(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"), Duration.ofMinutes(5),
                Duration.ofSeconds(30), Duration.ofSeconds(2), 1 << 20, 100, "");
        // Room for the instance's consumer and one held record of 100 bytes (each costs 260), not two.
        MemoryBudget budget = new MemoryBudget("memory.consumers.max.bytes",
                HeldRecords.consumerCost(settings.kafka()) + 300);
        ConsumerRegistry registry = new ConsumerRegistry(settings, factory, topic -> true, TICKER,
                SessionMetrics.unreported(), budget, Duration.ZERO)
                .readClock(() -> now.addAndGet(TimeUnit.MILLISECONDS.toNanos(10)));
        registries.add(registry);
        ConsumerInstance instance = assignedAtA0(registry, new ConsumerInstance.Options(10_000_000, null));
        SessionTestConsumer consumer = factory.last();
        scheduleOneRecordPerPoll(consumer, 3, 100);
        long before = now.get();
        assertEquals(List.of(0L, 1L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())),
                "the read stops fetching once what it holds is over the budget");
        assertTrue(TimeUnit.NANOSECONDS.toMillis(now.get() - before) < 1_000,
                "answered at once, not after the request timeout: " + TimeUnit.NANOSECONDS.toMillis(now.get() - before) + " ms");
        assertEquals(0, budget.used() - HeldRecords.consumerCost(settings.kafka()),
                "nothing held after the answer but the consumer itself");
    }

    /** Record {@code i} of {@code count} ({@code valueBytes} each) arrives in the {@code i}-th poll of partition a-0. */
    private static void scheduleOneRecordPerPoll(SessionTestConsumer consumer, int count, int valueBytes) {
        for (int i = 0; i < count; i++) {
            long offset = i;
            consumer.schedulePollTask(() -> consumer.addRecord(
                    new org.apache.kafka.clients.consumer.ConsumerRecord<>("a", 0, offset, null, new byte[valueBytes])));
        }
    }

    @Test
    void anInstancesOwnRequestTimeoutBoundsItsReadsAndATimeoutQueryShortensThem() {
        // A clock that moves 10 ms each time it is read: waits are measured without sleeping.
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        ConsumerRegistry registry = registry(Duration.ofSeconds(30))
                .readClock(() -> now.addAndGet(TimeUnit.MILLISECONDS.toNanos(10)));
        ConsumerInstance own = registry.create("g", "own", EmbeddedFormat.BINARY, "earliest", false,
                new ConsumerInstance.Options(-1, Duration.ofSeconds(1)), null);
        beginAt(factory.last(), A0);
        own.assign(List.of(A0));
        ConsumerInstance server = registry.create("g", "server", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        beginAt(factory.last(), A0);
        server.assign(List.of(A0));
        registry.poll(own, null, 0, ResponseRoom.unbounded()); // first reads may wait for an assignment
        registry.poll(server, null, 0, ResponseRoom.unbounded());

        assertWaited(1_000, now, () -> registry.poll(own, null, 0, ResponseRoom.unbounded()));
        assertWaited(30_000, now, () -> registry.poll(server, null, 0, ResponseRoom.unbounded()));
        assertWaited(300, now, () -> registry.poll(own, Duration.ofMillis(300), 0, ResponseRoom.unbounded()));
        assertWaited(1_000, now, () -> registry.poll(own, Duration.ofSeconds(20), 0, ResponseRoom.unbounded()));
    }

    @Test
    void aFirstReadNamingItsTimeoutKeepsToItWhileTheGroupHasNotAssignedAnything() {
        // Confluent's read answers [] after its timeout while the group join goes on; without a
        // timeout of its own, the first read waits for the assignment (2 s here), so records come
        // back at once. The group assigns nothing in this test.
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        ConsumerRegistry registry = registry(Duration.ofSeconds(1))
                .readClock(() -> now.addAndGet(TimeUnit.MILLISECONDS.toNanos(10)));
        ConsumerInstance named = registry.create("g", "named", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        named.subscribe(List.of("a"));
        ConsumerInstance unnamed = registry.create("g", "unnamed", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        unnamed.subscribe(List.of("a"));

        assertWaited(300, now, () -> registry.poll(named, Duration.ofMillis(300), 0, ResponseRoom.unbounded()));
        assertWaited(2_000, now, () -> registry.poll(unnamed, null, 0, ResponseRoom.unbounded()));
        // Once a read has waited for the assignment, the next ones keep to the request timeout.
        assertWaited(1_000, now, () -> registry.poll(unnamed, null, 0, ResponseRoom.unbounded()));
        // A read that named its timeout did not use up the wait: the next one without waits for it.
        assertWaited(2_000, now, () -> registry.poll(named, null, 0, ResponseRoom.unbounded()));
    }

    @Test
    void closingTheRegistryBoundsEveryInstancesFinalCommitByOneDeadline() {
        // Kafka answers no commit: each final commit waits all it is given. Closed one after
        // another, each with a timeout of its own, twenty instances waited twenty timeouts.
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        List<Duration> commitTimeouts = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < 20; i++) {
            ConsumerInstance instance = registry.create("g", "i" + i, EmbeddedFormat.BINARY, "earliest", true,
                    ConsumerInstance.Options.DEFAULTS, null);
            instance.assign(List.of(A0));
            SessionTestConsumer consumer = factory.last();
            beginAt(consumer, A0);
            consumer.addRecord(record("a", 0, 0, null, "v0"));
            assertEquals(List.of(0L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
            assertEquals(List.of(), registry.poll(instance, null, 0, ResponseRoom.unbounded()),
                    "the client asks again: record 0 is confirmed, and committed with auto-commit");
            consumer.commitSyncTimeouts = timeout -> {
                commitTimeouts.add(timeout);
                try {
                    Thread.sleep(timeout.toMillis()); // the coordinator does not answer
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
        }
        Duration within = Duration.ofMillis(400);
        registry.close(within);

        assertEquals(20, commitTimeouts.size(), "each instance's returned record is committed on close");
        for (Duration timeout : commitTimeouts) {
            assertTrue(timeout.compareTo(within) <= 0, "a commit given " + timeout.toMillis() + " ms, more than the close's bound");
        }
        // What is handed out, not when it ends (a stall only makes later timeouts smaller): one
        // deadline shared by the closing threads gives at most a bound per thread (8 here), each
        // commit waiting out what it is given; a bound per instance would hand out 20 of them.
        long handedOut = commitTimeouts.stream().mapToLong(Duration::toMillis).sum();
        assertTrue(handedOut <= within.toMillis() * 10,
                "the final commits were given " + handedOut + " ms in all for a close within " + within.toMillis() + " ms");
    }

    @Test
    void aClosingSubscribedInstanceCommitsOnceNotAgainWhenItsLeaveRevokesItsPartitions() {
        // KafkaConsumer's close revokes a subscription's partitions as it leaves the group; the
        // commit on revocation would repeat the close's own, waiting default.api.timeout.ms past
        // the close's deadline when Kafka does not answer.
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", true,
                ConsumerInstance.Options.DEFAULTS, null);
        instance.subscribe(List.of("a"));
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(A0), List.of(record("a", 0, 0, null, "v0")));
        List<Long> read = new ArrayList<>();
        for (int i = 0; i < 10 && read.isEmpty(); i++) {
            read.addAll(offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
        }
        assertEquals(List.of(0L), read);
        assertEquals(List.of(), registry.poll(instance, null, 0, ResponseRoom.unbounded()), "the client asks again");
        consumer.revokeOnClose = true;
        int before = consumer.commits.size();
        registry.close(Duration.ofSeconds(5));
        assertEquals(List.of(Map.of(A0, 1L)), consumer.commits.subList(before, consumer.commits.size()),
                "the close's commit alone");
    }

    @Test
    void aSeekToATimeKafkaCannotAnswerLetsGoOfNoHeldRecord() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = assignedAtA0(registry, ConsumerInstance.Options.DEFAULTS);
        SessionTestConsumer consumer = factory.last();
        for (int i = 0; i < 10; i++) {
            consumer.addRecord(record("a", 0, i, null, "v" + i));
        }
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 2, ResponseRoom.unbounded())));
        // Kafka does not answer the look-up (a real consumer's TimeoutException; MockConsumer has none).
        assertThrows(RestException.class, () -> instance.seek(Map.of(), Map.of(A0, 0L)));
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L),
                offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())), "nothing skipped");
    }

    @Test
    void anAssignmentThatLetsGoOfAPartitionCommitsWhatWasReturnedOfItWithAutoCommit() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", true,
                ConsumerInstance.Options.DEFAULTS, null);
        SessionTestConsumer consumer = factory.last();
        TopicPartition a1 = new TopicPartition("a", 1);
        instance.assign(List.of(A0, a1));
        beginAt(consumer, A0, a1);
        consumer.failAsyncCommits = true; // the commit after the read fails (the coordinator moved)
        consumer.addRecord(record("a", 0, 0, null, "x"));
        consumer.addRecord(record("a", 0, 1, null, "y"));
        assertEquals(List.of(0L, 1L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
        consumer.failAsyncCommits = false; // the coordinator answers again
        instance.assign(List.of(a1));
        assertEquals(2L, consumer.lastCommitted(A0), "committed as it was let go of");
    }

    @Test
    void anUnsubscribeCommitsWhatWasReturnedThoughAWakeupMeantForAPollIsPending() {
        // A close waiting for the instance wakes its consumer; an unsubscribe holding the
        // instance then finds its commit woken instead of a poll.
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        ConsumerInstance instance = registry.create("g", "i", EmbeddedFormat.BINARY, "earliest", true,
                ConsumerInstance.Options.DEFAULTS, null);
        SessionTestConsumer consumer = factory.last();
        instance.assign(List.of(A0));
        beginAt(consumer, A0);
        consumer.failAsyncCommits = true; // the commit after the read fails
        consumer.addRecord(record("a", 0, 0, null, "x"));
        assertEquals(List.of(0L), offsets(registry.poll(instance, null, 0, ResponseRoom.unbounded())));
        consumer.honourPendingWakeup = true;
        consumer.wakeup();
        instance.unsubscribe();
        assertEquals(1L, consumer.lastCommitted(A0), "what was returned is committed");
    }

    @Test
    void anInstancesClientIdNeverNamesOneOfPorticosOwnClients() {
        ConsumerRegistry registry = registry(Duration.ofMillis(20));
        registry.create("offset", "reader", EmbeddedFormat.BINARY, "earliest", false, ConsumerInstance.Options.DEFAULTS,
                null);
        // "portico-offset-reader" is every pooled reader's id: broker quotas by client id would be shared.
        assertEquals("portico-instance-offset-reader",
                factory.configs.get(factory.configs.size() - 1).get(ConsumerConfig.CLIENT_ID_CONFIG));
    }

    /** The read answered nothing after waiting {@code millis} (give or take a few clock readings). */
    private static void assertWaited(long millis, java.util.concurrent.atomic.AtomicLong now,
                                     java.util.function.Supplier<List<ConsumedRecord>> read) {
        long before = now.get();
        assertEquals(List.of(), read.get());
        long waited = TimeUnit.NANOSECONDS.toMillis(now.get() - before);
        assertTrue(waited >= millis && waited <= millis + 100, "waited " + waited + " ms, expected " + millis);
    }
}
