package io.portico.sessions;

import static io.portico.sessions.SessionTestConsumer.record;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.CommittedOffset;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.CreateConsumerRequest;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Reading and committing through the registry, with a {@code MockConsumer} standing in for the
 * group: poll tasks assign partitions and deliver records as the group and the brokers would.
 */
class ConsumerInstanceTest {

    private static final String TOPIC = "orders";
    private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
    private static final TopicPartition P1 = new TopicPartition(TOPIC, 1);
    private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(50);
    private static final Duration ASSIGNMENT_TIMEOUT = Duration.ofSeconds(2);
    private static final Ticker TICKER = () -> 0L;

    private final SessionTestConsumer.Factory factory = new SessionTestConsumer.Factory();
    private final List<String> topicChecks = new CopyOnWriteArrayList<>();
    private final Set<String> missingTopics = Collections.synchronizedSet(new HashSet<>());
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<ConsumerRegistry> registries = new ArrayList<>();

    @AfterEach
    void closeEverything() {
        registries.forEach(ConsumerRegistry::close);
        threads.shutdownNow();
    }

    private ConsumerRegistry registry(Duration requestTimeout, Duration assignmentTimeout, long requestMaxBytes) {
        ConsumerRegistry registry = new ConsumerRegistry(
                new ConsumerRegistry.Settings(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"),
                        Duration.ofMinutes(5), requestTimeout, assignmentTimeout, requestMaxBytes, 100, ""),
                factory, topic -> {
                    topicChecks.add(topic);
                    return !missingTopics.contains(topic);
                }, TICKER);
        registries.add(registry);
        return registry;
    }

    private ConsumerRegistry registry() {
        return registry(REQUEST_TIMEOUT, ASSIGNMENT_TIMEOUT, 1 << 20);
    }

    /** Consumers of 1,000-byte fetches: a consumer's cost in the budget is small enough to count records against. */
    private static final Map<String, Object> SMALL_FETCHES = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            "broker:9092", ConsumerConfig.FETCH_MAX_BYTES_CONFIG, "1000");

    /** A registry of {@link #SMALL_FETCHES} consumers counted in {@code memory}, never waiting for room. */
    private ConsumerRegistry registry(MemoryBudget memory) {
        ConsumerRegistry registry = new ConsumerRegistry(
                new ConsumerRegistry.Settings(SMALL_FETCHES, Duration.ofMinutes(5), REQUEST_TIMEOUT, ASSIGNMENT_TIMEOUT,
                        1 << 20, 100, ""),
                factory, topic -> true, TICKER, SessionMetrics.unreported(), memory, Duration.ZERO);
        registries.add(registry);
        return registry;
    }

    private static ConsumerInstance create(ConsumerRegistry registry, String autoCommit) {
        return registry.create("g1", new CreateConsumerRequest("alice", null, null, null, autoCommit), null);
    }

    private static RestException assertRestError(ErrorCode expected, Executable call) {
        RestException e = assertThrows(RestException.class, call);
        assertEquals(expected, e.errorCode(), e.getMessage());
        return e;
    }

    /** Records of {@code partition} at {@code from}..{@code to} (inclusive), each value {@code size} bytes. */
    private static List<ConsumerRecord<byte[], byte[]>> sized(int partition, int from, int to, int size) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (int o = from; o <= to; o++) {
            out.add(new ConsumerRecord<>(TOPIC, partition, o, null, new byte[size]));
        }
        return out;
    }

    private static List<Long> offsets(List<ConsumedRecord> records) {
        return records.stream().map(ConsumedRecord::offset).toList();
    }

    private static Map<TopicPartition, Long> committedOffsets(SessionTestConsumer consumer, TopicPartition... tps) {
        Map<TopicPartition, Long> out = new HashMap<>();
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : consumer.committed(Set.of(tps)).entrySet()) {
            out.put(e.getKey(), e.getValue().offset());
        }
        return out;
    }

    // ---- subscription ------------------------------------------------------------------------

    @Test
    void theFirstReadSubscribesToTheTopicAndAsksOnceWhetherItExists() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), List.of(record(TOPIC, 0, 0, null, "a")));

        assertEquals(1, registry.read(instance, TOPIC, 0).size());
        consumer.deliverOnNextPoll(List.of(record(TOPIC, 0, 1, null, "b")));
        assertEquals(1, registry.read(instance, TOPIC, 0).size());

        assertEquals(Set.of(TOPIC), consumer.subscription());
        assertEquals(List.of(TOPIC), topicChecks, "asked once, on the first read");
    }

    @Test
    void aReadOfAMissingTopicAnswers40401AndDoesNotSubscribe() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        missingTopics.add("missing");

        RestException e = assertRestError(ErrorCode.TOPIC_NOT_FOUND, () -> registry.read(instance, "missing", 0));

        assertEquals(404, e.httpStatus());
        assertTrue(consumer.subscription().isEmpty());
        consumer.assignOnNextPoll(List.of(P0), List.of(record(TOPIC, 0, 0, null, "a")));
        assertEquals(1, registry.read(instance, TOPIC, 0).size(), "the instance may still pick a topic");
        assertEquals(Set.of(TOPIC), consumer.subscription());
    }

    @Test
    void aReadOfAnotherTopicLaterAnswers40901() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), List.of(record(TOPIC, 0, 0, null, "a")));
        registry.read(instance, TOPIC, 0);

        RestException e = assertRestError(ErrorCode.CONSUMER_ALREADY_SUBSCRIBED,
                () -> registry.read(instance, "payments", 0));

        assertEquals(409, e.httpStatus());
        assertEquals(Set.of(TOPIC), consumer.subscription());
        assertEquals(List.of(TOPIC, "payments"), topicChecks, "the other topic is looked up first");

        // One that does not exist is told as such first, as Confluent's proxy tells it: the fault
        // is in the name, not in the instance.
        missingTopics.add("paymnets");
        assertRestError(ErrorCode.TOPIC_NOT_FOUND, () -> registry.read(instance, "paymnets", 0));
        assertEquals(Set.of(TOPIC), consumer.subscription());
    }

    // ---- reading -----------------------------------------------------------------------------

    @Test
    void recordsComeBackInOffsetOrderWithTheirBytesIntact() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        byte[] binary = {0, (byte) 0xff, 0x7f, (byte) 0x80, '\n'};
        consumer.assignOnNextPoll(List.of(P0, P1), List.of(
                record(TOPIC, 0, 0, "k0", "v0"),
                new ConsumerRecord<>(TOPIC, 0, 1, null, binary),
                record(TOPIC, 0, 2, "k2", null),
                record(TOPIC, 1, 0, "k10", "v10"),
                new ConsumerRecord<>(TOPIC, 1, 1, binary, new byte[0])));

        List<ConsumedRecord> records = registry.read(instance, TOPIC, 0);

        assertEquals(5, records.size());
        Map<Integer, List<ConsumedRecord>> byPartition = new HashMap<>();
        for (ConsumedRecord r : records) {
            assertEquals(TOPIC, r.topic());
            byPartition.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r);
        }
        List<ConsumedRecord> p0 = byPartition.get(0);
        List<ConsumedRecord> p1 = byPartition.get(1);
        assertEquals(List.of(0L, 1L, 2L), offsets(p0));
        assertEquals(List.of(0L, 1L), offsets(p1));
        assertArrayEquals(bytes("k0"), p0.get(0).key());
        assertArrayEquals(bytes("v0"), p0.get(0).value());
        assertNull(p0.get(1).key());
        assertArrayEquals(binary, p0.get(1).value());
        assertArrayEquals(bytes("k2"), p0.get(2).key());
        assertNull(p0.get(2).value());
        assertArrayEquals(bytes("k10"), p1.get(0).key());
        assertArrayEquals(bytes("v10"), p1.get(0).value());
        assertArrayEquals(binary, p1.get(1).key());
        assertArrayEquals(new byte[0], p1.get(1).value());
    }

    @Test
    void maxBytesSplitsReadsWithoutLosingOrDuplicatingARecord() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), sized(0, 0, 6, 10));

        List<List<Long>> reads = new ArrayList<>();
        for (List<ConsumedRecord> read = registry.read(instance, TOPIC, 25); !read.isEmpty();
                read = registry.read(instance, TOPIC, 25)) {
            assertTrue(read.stream().mapToLong(ConsumedRecord::size).sum() <= 25, "within max_bytes");
            reads.add(offsets(read));
        }

        assertEquals(List.of(List.of(0L, 1L), List.of(2L, 3L), List.of(4L, 5L), List.of(6L)), reads);
    }

    @Test
    void aV1ReadHandsOutNoRecordOfAnotherTopicStillAssignedAfterASubscriptionChange() {
        // Back on its topic through v2, the instance still has a partition of the topic it left
        // for a moment (Kafka revokes it at the group's next rebalance): its records must not
        // come under the v1 topic's URL (a v1 answer names no topic).
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        TopicPartition left = new TopicPartition("payments", 0);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        records.add(new ConsumerRecord<>("payments", 0, 0, null, new byte[10]));
        records.add(new ConsumerRecord<>("payments", 0, 1, null, new byte[10]));
        records.addAll(sized(0, 0, 2, 10));
        consumer.assignOnNextPoll(List.of(left, P0), records);
        List<ConsumedRecord> got = registry.read(instance, TOPIC, 0);
        assertEquals(List.of(0L, 1L, 2L), offsets(got));
        assertTrue(got.stream().allMatch(r -> r.topic().equals(TOPIC)), "only " + TOPIC + "'s records: " + got);
        assertEquals(0L, consumer.position(left), "the other topic's partition is fetched again from its first record let go of");
    }

    @Test
    void aReadFromHeldRecordsStillTakesPartInARebalance() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(sized(0, 0, 3, 10));
        records.addAll(sized(1, 0, 3, 10));
        consumer.assignOnNextPoll(List.of(P0, P1), records);
        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 10)), "one record a read, seven held");

        // The group takes partition 0 away; the instance learns it on its next read although it
        // answers from what it holds, drops what it held of partition 0, and pauses nothing for good.
        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P1)));
        List<ConsumedRecord> next = registry.read(instance, TOPIC, 10);

        assertEquals(1, next.size());
        assertEquals(1, next.get(0).partition(), "nothing of the revoked partition comes back");
        assertEquals(0L, next.get(0).offset());
        assertEquals(Set.of(P1), consumer.assignment());
        assertTrue(java.util.Collections.disjoint(consumer.paused(), consumer.assignment()), "nothing assigned "
                + "stays paused (MockConsumer keeps revoked partitions in its paused set; Kafka's consumers do not)");
        assertEquals(List.of(1L, 2L, 3L), offsets(registry.read(instance, TOPIC, 100)));
    }

    @Test
    void aRecordBiggerThanTheClientsMaxBytesStaysUntilAReadAllowsIt() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(sized(0, 0, 0, 5));
        records.addAll(sized(0, 1, 1, 100));
        records.addAll(sized(0, 2, 3, 5));
        consumer.assignOnNextPoll(List.of(P0), records);

        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 20)));
        assertEquals(List.of(), offsets(registry.read(instance, TOPIC, 20)), "max_bytes is a strict cap");
        assertEquals(List.of(), offsets(registry.read(instance, TOPIC, 1)), "a heartbeat read sees nothing");
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 0, 0)), registry.commit(instance),
                "a commit after those reads commits only what was returned");
        List<ConsumedRecord> big = registry.read(instance, TOPIC, 200);
        assertEquals(List.of(1L, 2L, 3L), offsets(big));
        assertEquals(100, big.get(0).value().length);
    }

    @Test
    void withoutMaxBytesARecordBiggerThanTheServersCapComesAlone() {
        ConsumerRegistry registry = registry(REQUEST_TIMEOUT, ASSIGNMENT_TIMEOUT, 50); // consumer.request.max.bytes
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(sized(0, 0, 0, 100));
        records.addAll(sized(0, 1, 2, 5));
        consumer.assignOnNextPoll(List.of(P0), records);

        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 0)), "never stuck behind it");
        assertEquals(List.of(1L, 2L), offsets(registry.read(instance, TOPIC, 0)));
    }

    @Test
    void theServersMaxBytesCapsEveryRead() {
        ConsumerRegistry registry = registry(REQUEST_TIMEOUT, ASSIGNMENT_TIMEOUT, 20);
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), sized(0, 0, 5, 10));

        assertEquals(List.of(0L, 1L), offsets(registry.read(instance, TOPIC, 0)), "no max_bytes: the server's cap");
        assertEquals(List.of(2L, 3L), offsets(registry.read(instance, TOPIC, 1000)), "above the server's cap");
        assertEquals(List.of(4L), offsets(registry.read(instance, TOPIC, 10)), "below the server's cap");
        assertEquals(List.of(5L), offsets(registry.read(instance, TOPIC, -1)));
    }

    @Test
    void anEmptyReadReturnsNothingAfterTheRequestTimeout() {
        // The reads' clock moves 10 ms each time they read it: what they waited is their own
        // deadlines, which a stall of the machine does not lengthen.
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        ConsumerRegistry registry = registry().readClock(() -> now.addAndGet(TimeUnit.MILLISECONDS.toNanos(10)));
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), List.of());

        long start = now.get();
        List<ConsumedRecord> first = registry.read(instance, TOPIC, 0);
        Duration firstTook = Duration.ofNanos(now.get() - start);
        start = now.get();
        List<ConsumedRecord> second = registry.read(instance, TOPIC, 0);
        Duration secondTook = Duration.ofNanos(now.get() - start);

        assertEquals(List.of(), first);
        assertEquals(List.of(), second);
        assertTrue(firstTook.compareTo(REQUEST_TIMEOUT) >= 0, "waited the request timeout: " + firstTook);
        assertTrue(firstTook.compareTo(ASSIGNMENT_TIMEOUT) < 0,
                "once assigned, the first read waits the request timeout, not the assignment timeout: " + firstTook);
        assertTrue(secondTook.compareTo(REQUEST_TIMEOUT) >= 0, "waited the request timeout: " + secondTook);
        assertTrue(secondTook.compareTo(ASSIGNMENT_TIMEOUT) < 0, secondTook.toString());
    }

    @Test
    void theFirstReadWaitsUpToTheAssignmentTimeoutWhenTheGroupAssignsNothing() {
        Duration assignmentTimeout = Duration.ofMillis(300);
        ConsumerRegistry registry = registry(REQUEST_TIMEOUT, assignmentTimeout, 1 << 20);
        ConsumerInstance instance = create(registry, null);

        long start = System.nanoTime();
        List<ConsumedRecord> records = registry.read(instance, TOPIC, 0);
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertEquals(List.of(), records);
        assertTrue(took.compareTo(assignmentTimeout) >= 0, "waited for an assignment: " + took);
    }

    @Test
    void aPollFailureAnswers50002AndTheInstanceStaysUsable() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.setPollException(new KafkaException("boom"));

        RestException e = assertRestError(ErrorCode.KAFKA_ERROR, () -> registry.read(instance, TOPIC, 0));

        assertEquals(500, e.httpStatus());
        assertEquals("Kafka error: boom", e.getMessage());
        assertFalse(instance.isClosed());
        consumer.assignOnNextPoll(List.of(P0), List.of(record(TOPIC, 0, 0, null, "a")));
        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 0)));
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 0, 0)), registry.commit(instance));
    }

    // ---- committing --------------------------------------------------------------------------

    @Test
    void aKeysCreatePastItsShareLetsGoOfThatKeysHeldRecordsFirst() {
        long cost = HeldRecords.consumerCost(SMALL_FETCHES);
        // A key's share: two consumers and 500 bytes of records.
        MemoryBudget memory = new MemoryBudget("memory.consumers.max.bytes", 2 * (2 * cost + 500));
        memory.ownerShare(2 * cost + 500);
        ConsumerRegistry registry = registry(memory);
        ConsumerInstance first = registry.create("g1", new CreateConsumerRequest("first", null, null, null, null), "key-a");
        factory.last().assignOnNextPoll(List.of(P0), sized(0, 0, 4, 200));
        assertEquals(List.of(0L), offsets(registry.read(first, TOPIC, 250))); // 1..4 held back
        assertTrue(memory.heldBy("key-a") > cost + 500, "held: " + memory.heldBy("key-a"));

        registry.create("g1", new CreateConsumerRequest("second", null, null, null, null), "key-a");

        assertEquals(2 * cost, memory.heldBy("key-a"), "the first instance let go of what it held");
    }

    @Test
    void aReadOfAKeyPastItsShareLetsGoOfWhatItsOtherIdleInstancesHold() {
        long cost = HeldRecords.consumerCost(SMALL_FETCHES);
        MemoryBudget memory = new MemoryBudget("memory.consumers.max.bytes", 4 * cost);
        memory.ownerShare(2 * cost + 2000);
        ConsumerRegistry registry = registry(memory);
        ConsumerInstance first = registry.create("g1", new CreateConsumerRequest("first", null, null, null, null), "key-a");
        SessionTestConsumer firsts = factory.last();
        ConsumerInstance second = registry.create("g2", new CreateConsumerRequest("second", null, null, null, null), "key-a");
        firsts.assignOnNextPoll(List.of(P0), sized(0, 0, 4, 200));
        assertEquals(List.of(0L), offsets(registry.read(first, TOPIC, 250))); // 1..4 held back, within the share
        assertTrue(first.memoryHeld() > cost, "held: " + first.memoryHeld());
        memory.ownerShare(2 * cost + 500); // the key is past its share now, the first instance idle

        registry.read(second, TOPIC, 0);

        assertEquals(cost, first.memoryHeld(), "the idle instance let go of what it held");
    }

    @Test
    void commitCommitsTheOffsetAfterTheLastReturnedRecordNotAfterHeldBackOnes() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), sized(0, 0, 4, 10));

        assertEquals(List.of(0L, 1L), offsets(registry.read(instance, TOPIC, 25))); // 2..4 fetched, held back
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 1, 1)), registry.commit(instance));
        assertEquals(Map.of(P0, 2L), committedOffsets(consumer, P0));

        assertEquals(List.of(2L, 3L), offsets(registry.read(instance, TOPIC, 25)));
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 3, 3)), registry.commit(instance));
        assertEquals(Map.of(P0, 4L), committedOffsets(consumer, P0));
    }

    @Test
    void commitReportsEveryReturnedPartitionSortedByTopicAndPartition() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        List<TopicPartition> partitions = new ArrayList<>();
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int p : new int[] {7, 3, 11, 0, 5}) {
            partitions.add(new TopicPartition(TOPIC, p));
            records.addAll(sized(p, 0, p, 1)); // partition p ends at offset p
        }
        consumer.assignOnNextPoll(partitions, records);
        assertEquals(records.size(), registry.read(instance, TOPIC, 0).size());

        List<CommittedOffset> committed = registry.commit(instance);

        assertEquals(List.of(
                new CommittedOffset(TOPIC, 0, 0, 0),
                new CommittedOffset(TOPIC, 3, 3, 3),
                new CommittedOffset(TOPIC, 5, 5, 5),
                new CommittedOffset(TOPIC, 7, 7, 7),
                new CommittedOffset(TOPIC, 11, 11, 11)), committed);
        for (TopicPartition tp : partitions) {
            assertEquals(Map.of(tp, tp.partition() + 1L), committedOffsets(consumer, tp));
        }
    }

    @Test
    void commitWithNothingReturnedAnswersAnEmptyListAndCommitsNothing() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();

        assertEquals(List.of(), registry.commit(instance));
        consumer.assignOnNextPoll(List.of(P0), List.of());
        assertEquals(List.of(), registry.read(instance, TOPIC, 0));
        assertEquals(List.of(), registry.commit(instance));

        assertTrue(consumer.commits.isEmpty());
    }

    @Test
    void aPartitionRevokedByARebalanceIsNotCommitted() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0, P1), List.of(
                record(TOPIC, 0, 0, null, "a"), record(TOPIC, 0, 1, null, "b"),
                record(TOPIC, 1, 0, null, "c"), record(TOPIC, 1, 1, null, "d")));
        assertEquals(4, registry.read(instance, TOPIC, 0).size());
        consumer.schedulePollTask(() -> { // the group moves partition 1 to another member
            consumer.rebalance(List.of(P0));
            consumer.addRecord(record(TOPIC, 0, 2, null, "e"));
        });
        assertEquals(List.of(2L), offsets(registry.read(instance, TOPIC, 0)));

        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 2, 2)), registry.commit(instance));

        assertEquals(Map.of(P0, 3L), committedOffsets(consumer, P0, P1));
        assertNull(consumer.lastCommitted(P1), "partition 1 belongs to another member now");
    }

    @Test
    void aCommitWhileAnEagerRebalanceHasRevokedWhatWasReturnedAnswers50003RatherThanCommitNothing() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, "false");
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), List.of(record(TOPIC, 0, 0, null, "a"), record(TOPIC, 0, 1, null, "b")));
        assertEquals(List.of(0L, 1L), offsets(registry.read(instance, TOPIC, 0)));

        // Another member joins: every partition is revoked, and none assigned until the join ends.
        consumer.revokeForRebalance();
        RestException e = assertRestError(ErrorCode.KAFKA_RETRIABLE_ERROR, () -> registry.commit(instance));
        assertTrue(e.getMessage().contains("rebalancing"), e.getMessage());
        assertNull(consumer.lastCommitted(P0), "nothing committed, and the client is told so");

        // The join ends (P0 back, from the group's commit): a commit answers as usual again.
        consumer.rebalance(List.of(P0));
        assertEquals(List.of(), registry.commit(instance));
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void aCommitWhileARebalanceRevokedNothingReturnedAnswersAsUsual() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, "false");
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), List.of());
        assertEquals(List.of(), offsets(registry.read(instance, TOPIC, 0)));
        consumer.revokeForRebalance();
        assertEquals(List.of(), registry.commit(instance), "nothing was returned: nothing to commit, nothing lost");
    }

    @Test
    void heldBackRecordsOfARevokedPartitionAreDroppedAndItIsNotCommitted() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0, P1), sized(1, 0, 2, 10));
        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 10))); // 1:1 and 1:2 held back

        // The group takes partition 1 away. The listener runs as it would inside the next poll
        // or close; the instance is idle, so nothing else touches it meanwhile.
        consumer.rebalance(List.of(P0));
        consumer.deliverOnNextPoll(List.of(record(TOPIC, 0, 0, null, "p0")));
        List<ConsumedRecord> next = registry.read(instance, TOPIC, 0);

        assertEquals(1, next.size());
        assertEquals(0, next.get(0).partition(), "no held-back record of partition 1 comes back");
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 0, 0)), registry.commit(instance));
        assertNull(consumer.lastCommitted(P1));
    }

    // ---- auto-commit -------------------------------------------------------------------------

    @Test
    void autoCommitCommitsWhatAReadReturnedOnceTheClientAsksAgainButNotWhatItHeldBack() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = autoCommitOverRecords0To4(registry);
        SessionTestConsumer consumer = factory.last();

        assertEquals(List.of(0L, 1L), offsets(registry.read(instance, TOPIC, 2)));
        assertEquals(Map.of(), committedOffsets(consumer, P0), "the answer may not have reached the client yet");
        assertEquals(List.of(2L, 3L), offsets(registry.read(instance, TOPIC, 2)));
        assertEquals(Map.of(P0, 2L), committedOffsets(consumer, P0), "the client asked again: it has records 0 and 1");

        registry.close(); // as an expiry: whether the last answer reached the client is not known
        assertTrue(consumer.closed());
        assertEquals(2L, consumer.lastCommitted(P0), "records 2 and 3 are read again by the group: " + consumer.events);
    }

    @Test
    void aSeekBackSendsNoAutoCommitPastWhereItGoes() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = autoCommitOverRecords0To4(registry);
        SessionTestConsumer consumer = factory.last();
        assertEquals(List.of(0L, 1L), offsets(registry.read(instance, TOPIC, 2)));
        assertEquals(List.of(2L, 3L), offsets(registry.read(instance, TOPIC, 2)));
        assertEquals(2L, consumer.lastCommitted(P0));

        // The seek says the client has records 2 and 3, but it goes back to read them again.
        instance.seek(Map.of(P0, 0L));
        assertEquals(2L, consumer.lastCommitted(P0), "no commit past where the seek goes: " + consumer.commits);
        registry.delete("g1", "alice");
        assertEquals(0L, consumer.lastCommitted(P0), "the seek's position, committed with the next: " + consumer.commits);
    }

    /** An auto-commit instance whose group gives it partition 0, records 0 to 4 there, at its first poll. */
    private ConsumerInstance autoCommitOverRecords0To4(ConsumerRegistry registry) {
        ConsumerInstance instance = create(registry, "true");
        factory.last().assignOnNextPoll(List.of(P0), sized(0, 0, 4, 1));
        return instance;
    }

    /** An auto-commit instance given partitions 0 and 1 that has read record 0 of partition 1 (not confirmed yet). */
    private ConsumerInstance autoCommitAfterRecord0OfP1(ConsumerRegistry registry) {
        ConsumerInstance instance = create(registry, "true");
        factory.last().assignOnNextPoll(List.of(P0, P1), List.of(record(TOPIC, 1, 0, null, "a")));
        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 0)));
        return instance;
    }

    @Test
    void aPartitionAnEagerRebalanceGivesStraightBackGoesOnAfterWhatTheClientWasHanded() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = autoCommitAfterRecord0OfP1(registry);
        SessionTestConsumer consumer = factory.last();

        // A member joins (during a fetch ahead, say): every partition is revoked and given back.
        consumer.eagerRebalance(List.of(P0, P1));
        assertNull(consumer.lastCommitted(P1), "record 0 is not confirmed yet: not committed");
        consumer.addRecord(record(TOPIC, 1, 0, null, "a")); // Kafka would fetch it again from the commit before it
        consumer.addRecord(record(TOPIC, 1, 1, null, "b"));
        assertEquals(List.of(1L), offsets(registry.read(instance, TOPIC, 0)), "record 0 is not handed out again");
        assertEquals(1L, consumer.lastCommitted(P1), "this read confirmed record 0");
    }

    /** As {@link #autoCommitAfterRecord0OfP1}, then a join under way: every partition revoked, none assigned yet. */
    private ConsumerInstance duringAJoinAfterRecord0OfP1(ConsumerRegistry registry) {
        ConsumerInstance instance = autoCommitAfterRecord0OfP1(registry);
        factory.last().revokeForRebalance();
        return instance;
    }

    @Test
    void aPartitionGivenBackAfterAnUnsubscribeStartsFromTheGroupsCommit() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = duringAJoinAfterRecord0OfP1(registry);
        SessionTestConsumer consumer = factory.last();
        instance.unsubscribe();
        instance.subscribe(List.of(TOPIC));
        consumer.rebalance(List.of(P0, P1)); // assigned again, after another member may have had them
        assertEquals(0L, consumer.position(P1), "from the group's commit, not after what the client was handed");
    }

    @Test
    void aPartitionGivenBackToAMemberDroppedFromTheGroupMeanwhileStartsFromTheGroupsCommit() {
        ConsumerRegistry registry = registry();
        duringAJoinAfterRecord0OfP1(registry);
        SessionTestConsumer consumer = factory.last();
        consumer.memberId = "member-2"; // dropped during the join (no callback while it owns nothing), joined again
        consumer.rebalance(List.of(P0, P1));
        assertEquals(0L, consumer.position(P1), "from the group's commit: another member may have read it");
    }

    @Test
    void whatTheClientConfirmsWhileARebalanceIsUnderWayCountsOnceItsPartitionIsBack() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = duringAJoinAfterRecord0OfP1(registry);
        SessionTestConsumer consumer = factory.last();
        // Nothing is the instance's during the join: nothing is committed, and the client is told
        // to commit again; its commit still says it has record 0.
        assertRestError(ErrorCode.KAFKA_RETRIABLE_ERROR, () -> registry.commit(instance));
        consumer.rebalance(List.of(P0, P1)); // given straight back
        assertEquals(1L, consumer.position(P1));
        registry.close(); // as an expiry: commits what the client confirmed, record 0 among it
        assertEquals(1L, consumer.lastCommitted(P1), consumer.commits.toString());
    }

    @Test
    void autoCommitOnARevocationCommitsWhatTheClientConfirmedNeverBelowItsOwnCommit() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = autoCommitAfterRecord0OfP1(registry);
        SessionTestConsumer consumer = factory.last();

        // The group takes partition 1 away before the client asks again (during a fetch ahead, say).
        consumer.rebalance(List.of(P0));
        assertNull(consumer.lastCommitted(P1), "record 0 was never confirmed: the partition's next owner reads it again");

        consumer.rebalance(List.of(P0, P1)); // given back: read from the start again
        consumer.addRecord(record(TOPIC, 1, 0, null, "a"));
        consumer.addRecord(record(TOPIC, 1, 1, null, "b"));
        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 1)));
        assertEquals(List.of(1L), offsets(registry.read(instance, TOPIC, 1)));
        assertEquals(1L, consumer.lastCommitted(P1), "the second read confirmed record 0");
        assertEquals(List.of(new CommittedOffset(TOPIC, 1, 1, 1)), registry.commit(instance));
        consumer.rebalance(List.of(P0));
        assertEquals(2L, consumer.lastCommitted(P1), "no auto-commit goes back below the client's own commit: " + consumer.commits);
    }

    @Test
    void autoCommitCommitsOnDeleteBeforeTheConsumerCloses() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = autoCommitOverRecords0To4(registry);
        SessionTestConsumer consumer = factory.last();
        assertEquals(List.of(0L, 1L, 2L), offsets(registry.read(instance, TOPIC, 3)));

        registry.delete("g1", "alice");

        List<String> events = consumer.events;
        assertEquals("close", events.get(events.size() - 1));
        assertEquals("commit " + Map.of(P0, 3L), events.get(events.size() - 2), events.toString());
        assertEquals(3L, consumer.lastCommitted(P0));
    }

    @Test
    void withoutAutoCommitDeleteCommitsNothing() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), sized(0, 0, 2, 1));
        assertEquals(3, registry.read(instance, TOPIC, 0).size());

        registry.delete("g1", "alice");

        assertTrue(consumer.closed());
        assertTrue(consumer.commits.isEmpty(), consumer.events.toString());
    }

    @Test
    void autoCommitCommitsARevokedPartitionOnRevocationWhenTheAsyncCommitFailed() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, "true");
        SessionTestConsumer consumer = factory.last();
        consumer.failAsyncCommits = true; // the commit after each read fails: the coordinator moved
        consumer.assignOnNextPoll(List.of(P0, P1), List.of(record(TOPIC, 1, 0, null, "a"), record(TOPIC, 1, 1, null, "b")));
        assertEquals(2, registry.read(instance, TOPIC, 0).size());
        assertNull(consumer.lastCommitted(P1));

        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P0)));
        assertEquals(List.of(), registry.read(instance, TOPIC, 0));

        assertEquals(2L, consumer.lastCommitted(P1), "committed in onPartitionsRevoked");
        assertEquals(List.of(), registry.commit(instance), "partition 1 is no longer this instance's");
    }

    /**
     * Deleting an idle auto-commit instance commits what it returned: close wakes the consumer
     * only when an operation holds it, since a wakeup nobody uses up would make the final
     * {@code commitSync} throw (as kafka-clients' {@code KafkaConsumer} does). This test's consumer
     * honours a pending wakeup in {@code commitSync}, as the real client does.
     */
    @Test
    void deletingAnIdleAutoCommitInstanceCommitsEvenThoughCloseWokeTheConsumer() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = create(registry, "true");
        SessionTestConsumer consumer = factory.last();
        consumer.honourPendingWakeup = true;
        consumer.failAsyncCommits = true;
        consumer.assignOnNextPoll(List.of(P0), sized(0, 0, 2, 1));
        assertEquals(List.of(0L, 1L, 2L), offsets(registry.read(instance, TOPIC, 0)));
        assertNull(consumer.lastCommitted(P0), "the async commit after the read failed");

        registry.delete("g1", "alice");

        assertTrue(consumer.closed());
        assertEquals(3L, consumer.lastCommitted(P0), "the final commit on close should have committed offset 3");
    }

    // ---- concurrency and closing -------------------------------------------------------------

    @Test
    void concurrentReadsAndCommitsNeverShareTheConsumerAndReturnEachRecordOnce() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofMillis(20), ASSIGNMENT_TIMEOUT, 1 << 20);
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        int perPartition = 60;
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        for (int o = 0; o < perPartition; o++) {
            all.add(record(TOPIC, 0, o, "k", "p0-" + o));
            all.add(record(TOPIC, 1, o, "k", "p1-" + o));
        }
        int batch = 12;
        consumer.assignOnNextPoll(List.of(P0, P1), all.subList(0, batch));
        for (int from = batch; from < all.size(); from += batch) {
            consumer.deliverOnNextPoll(List.copyOf(all.subList(from, from + batch)));
        }

        ConcurrentLinkedQueue<ConsumedRecord> returned = new ConcurrentLinkedQueue<>();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        AtomicInteger commits = new AtomicInteger();
        AtomicBoolean readersDone = new AtomicBoolean();
        CountDownLatch start = new CountDownLatch(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        List<Future<?>> readers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            readers.add(threads.submit(() -> {
                start.await();
                // Until every record came back and a commit ran among the reads (both sides race).
                while ((returned.size() < all.size() || commits.get() == 0) && System.nanoTime() < deadline) {
                    try {
                        returned.addAll(registry.read(instance, TOPIC, 20)); // about two records a read
                    } catch (RuntimeException e) {
                        failures.add(e);
                    }
                }
                return null;
            }));
        }
        List<Future<?>> committers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            committers.add(threads.submit(() -> {
                start.await();
                while (!readersDone.get()) {
                    try {
                        registry.commit(instance);
                        commits.incrementAndGet();
                    } catch (RuntimeException e) {
                        failures.add(e);
                    }
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : readers) {
            f.get(30, TimeUnit.SECONDS);
        }
        readersDone.set(true);
        for (Future<?> f : committers) {
            f.get(30, TimeUnit.SECONDS);
        }

        assertEquals(List.of(), failures);
        assertEquals(List.of(), consumer.violations, "the consumer was never used by two threads at once");
        assertTrue(commits.get() > 0);
        List<String> seen = new ArrayList<>();
        for (ConsumedRecord r : returned) {
            seen.add(r.partition() + ":" + r.offset());
            assertEquals("p" + r.partition() + "-" + r.offset(), new String(r.value(), StandardCharsets.UTF_8));
        }
        assertEquals(all.size(), seen.size(), "every record exactly once");
        assertEquals(all.size(), new HashSet<>(seen).size(), "no record twice");
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, perPartition - 1, perPartition - 1),
                new CommittedOffset(TOPIC, 1, perPartition - 1, perPartition - 1)), registry.commit(instance));
        assertEquals(Map.of(P0, (long) perPartition, P1, (long) perPartition), committedOffsets(consumer, P0, P1));
    }

    @Test
    void deletingDuringABlockedReadEndsTheReadWith40403AndClosesTheConsumer() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        CountDownLatch polling = new CountDownLatch(1);
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(P0));
            consumer.updateBeginningOffsets(Map.of(P0, 0L));
            polling.countDown();
        });
        Future<List<ConsumedRecord>> read = threads.submit(() -> registry.read(instance, TOPIC, 0));
        assertTrue(polling.await(5, TimeUnit.SECONDS), "the read is polling");

        registry.delete("g1", "alice");

        assertTrue(consumer.closed(), "closed before delete returned");
        ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
        RestException rest = assertInstanceOf(RestException.class, e.getCause());
        assertEquals(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, rest.errorCode());
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void closingTheRegistryDuringABlockedReadEndsTheReadWith40403() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        CountDownLatch polling = new CountDownLatch(1);
        consumer.schedulePollTask(polling::countDown);
        Future<List<ConsumedRecord>> read = threads.submit(() -> registry.read(instance, TOPIC, 0));
        assertTrue(polling.await(5, TimeUnit.SECONDS), "the read is polling");

        registry.close();

        assertTrue(consumer.closed());
        ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
        assertEquals(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND,
                assertInstanceOf(RestException.class, e.getCause()).errorCode());
    }

    // ---- reads that give their thread back between slices ------------------------------------------

    @Test
    void anAsyncReadWaitsInSlicesOnThePoolAndAnswersWithTheRecordsThatArrive() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        AtomicInteger slices = new AtomicInteger();
        java.util.concurrent.Executor pool = task -> threads.execute(() -> {
            slices.incrementAndGet();
            task.run();
        });
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(P0));
            consumer.updateBeginningOffsets(Map.of(P0, 0L));
        });
        consumer.schedulePollTask(() -> { });
        consumer.schedulePollTask(() -> consumer.addRecord(record(TOPIC, 0, 0, null, "late")));

        java.util.concurrent.CompletableFuture<List<ConsumedRecord>> read =
                registry.readAsync(instance, TOPIC, 0, ResponseRoom.unbounded(), pool);

        assertEquals(List.of(0L), offsets(read.get(10, TimeUnit.SECONDS)));
        assertTrue(slices.get() >= 2, "later slices ran as tasks of the pool: " + slices.get());
        assertFalse(instance.isReading());
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void aSliceThePoolRefusesEndsTheReadWith503() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(P0));
            consumer.updateBeginningOffsets(Map.of(P0, 0L));
        });
        java.util.concurrent.Executor full = task -> {
            throw new java.util.concurrent.RejectedExecutionException("full");
        };

        java.util.concurrent.CompletableFuture<List<ConsumedRecord>> read =
                registry.readAsync(instance, TOPIC, 0, ResponseRoom.unbounded(), full);

        // Not an empty answer, which tells a client there is nothing and has it ask again at once.
        java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
        assertEquals(503, ((io.portico.protocol.RestException) e.getCause()).httpStatus());
        assertFalse(instance.isReading());
        // The instance is still good: the next read gets what came meanwhile.
        consumer.addRecord(record(TOPIC, 0, 0, null, "a"));
        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 0)));
    }

    @Test
    void aCloseThatCannotHaveTheConsumerLeavesItToItsHolderRatherThanUseItAlongside() throws Exception {
        // Kafka refuses a second thread: a close that used the consumer anyway failed, and left it
        // open for good (its sockets, threads and group membership). An operation holding the
        // instance past the close's wait (schema decoding, a wait for memory) stands for any.
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, "true"); // auto-commit
        SessionTestConsumer consumer = factory.last();
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(P0));
            consumer.updateBeginningOffsets(Map.of(P0, 0L));
            consumer.addRecord(record(TOPIC, 0, 0, null, "a"));
            consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
        });
        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 1)));
        assertEquals(List.of(1L), offsets(registry.read(instance, TOPIC, 1)), "and the client confirms record 0");
        int commits = consumer.commits.size();
        java.lang.reflect.Field field = ConsumerInstance.class.getDeclaredField("lock");
        field.setAccessible(true);
        java.util.concurrent.locks.ReentrantLock lock = (java.util.concurrent.locks.ReentrantLock) field.get(instance);
        java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch letGo = new java.util.concurrent.CountDownLatch(1);
        Thread holder = new Thread(() -> {
            lock.lock();
            try {
                holding.countDown();
                letGo.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                lock.unlock();
            }
        });
        holder.start();
        assertTrue(holding.await(30, TimeUnit.SECONDS));

        instance.close(Duration.ofMillis(100));
        assertFalse(consumer.closed(), "not closed while another holds it");
        letGo.countDown();
        holder.join(30_000);
        // The next to have it (here an operation, which finds the instance closed) closes it.
        assertEquals(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND,
                org.junit.jupiter.api.Assertions.assertThrows(io.portico.protocol.RestException.class,
                        instance::commitReturned).errorCode());
        assertTrue(consumer.closed(), "closed once let go");
        assertEquals(commits + 1, consumer.commits.size(), consumer.commits.toString());
        assertEquals(Map.of(P0, 1L), consumer.commits.get(commits), "the final commit, of what the client confirmed "
                + "alone: record 1's answer (as what the holder marked returned after the close) may not have reached it");
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void deletingDuringAnAsyncReadEndsItWith40403() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        CountDownLatch polling = new CountDownLatch(1);
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(P0));
            consumer.updateBeginningOffsets(Map.of(P0, 0L));
            polling.countDown();
        });
        java.util.concurrent.Executor pool = threads::execute;
        java.util.concurrent.CompletableFuture<List<ConsumedRecord>> read =
                registry.readAsync(instance, TOPIC, 0, ResponseRoom.unbounded(), pool);
        assertTrue(polling.await(5, TimeUnit.SECONDS), "the read is polling");
        assertTrue(instance.isReading());

        registry.delete("g1", "alice");

        assertTrue(consumer.closed(), "closed before delete returned");
        ExecutionException e = assertThrows(ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
        assertEquals(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND,
                assertInstanceOf(RestException.class, e.getCause()).errorCode());
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void aCommitBetweenTheSlicesOfAnAsyncReadCommitsWhatWasReturned() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, null);
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), List.of(record(TOPIC, 0, 0, null, "a")));
        assertEquals(List.of(0L), offsets(registry.read(instance, TOPIC, 0)));

        java.util.concurrent.Executor pool = threads::execute;
        java.util.concurrent.CompletableFuture<List<ConsumedRecord>> read =
                registry.readAsync(instance, TOPIC, 0, ResponseRoom.unbounded(), pool);
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 0, 0)), registry.commit(instance));
        assertFalse(read.isDone(), "the read still waits");
        assertEquals(Map.of(P0, 1L), committedOffsets(consumer, P0));

        consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
        assertEquals(List.of(1L), offsets(read.get(10, TimeUnit.SECONDS)));
        assertEquals(List.of(), consumer.violations);
    }

    // ---- fetching ahead of the next read -------------------------------------------------------

    /** An executor that keeps its tasks until the test runs them. */
    private static final class HeldTasks implements java.util.concurrent.Executor {
        private final List<Runnable> tasks = new CopyOnWriteArrayList<>();

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }

        int runAll() {
            List<Runnable> now = List.copyOf(tasks);
            tasks.clear();
            now.forEach(Runnable::run);
            return now.size();
        }
    }

    /**
     * An instance of a registry of its own, assigned partition 0 holding record 0, its log ending
     * at {@code endOffset} as Kafka last saw it.
     */
    private ConsumerInstance assignedWithOneRecord(long endOffset) {
        ConsumerInstance instance = create(registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20), "false");
        factory.last().assignOnNextPoll(List.of(P0), List.of(record(TOPIC, 0, 0, null, "a")));
        factory.last().updateEndOffsets(Map.of(P0, endOffset));
        return instance;
    }

    /** The offsets an asynchronous read hands out, its slices and later tasks going to {@code pool}. */
    private List<Long> readAsync(ConsumerInstance instance, java.util.concurrent.Executor pool) throws Exception {
        return offsets(registries.get(registries.size() - 1).readAsync(instance, TOPIC, 0, ResponseRoom.unbounded(), pool)
                .get(5, TimeUnit.SECONDS));
    }

    @Test
    void aReadWaitingWhenAStreamOpensAnswersNothingAndLeavesTheRecordsToTheStream() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, "true");
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), List.of());
        HeldTasks pool = new HeldTasks();
        java.util.concurrent.CompletableFuture<List<ConsumedRecord>> waiting =
                registry.readAsync(instance, TOPIC, 0, ResponseRoom.unbounded(), pool);
        ConsumerInstance.Stream stream = instance.openStream(TOPIC, t -> true, null);
        consumer.addRecord(record(TOPIC, 0, 0, null, "a"));
        assertTrue(SessionTestConsumer.waitUntil(() -> {
            pool.runAll(); // the read's next slice, once its wait is over
            return waiting.isDone();
        }, Duration.ofSeconds(30)), "the read ended");
        assertEquals(List.of(), waiting.get(), "nothing for the read that waited");
        assertEquals(List.of(0L), offsets(stream.next(new ConsumerInstance.ReadLimits(Duration.ofSeconds(5),
                Duration.ofSeconds(5), 1 << 20), ResponseRoom.unbounded())), "the record is the stream's");
        stream.close();
    }

    @Test
    void aReadThatHandsOutRecordsFetchesTheNextOnesWhileItsAnswerIsRead() throws Exception {
        ConsumerInstance instance = assignedWithOneRecord(1);
        SessionTestConsumer consumer = factory.last();
        HeldTasks pool = new HeldTasks();

        assertEquals(List.of(0L), readAsync(instance, pool));
        // Kafka's last fetch said the partition holds two more; they are at the broker.
        consumer.updateEndOffsets(Map.of(P0, 3L));
        consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
        consumer.addRecord(record(TOPIC, 0, 2, null, "c"));
        assertEquals(1, pool.runAll(), "the read left one task: the fetch ahead");

        assertEquals(3L, consumer.position(P0), "fetched ahead, before the next read");
        // Nothing fetched ahead is committed: only what a read handed out.
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 0, 0)), registries.get(0).commit(instance));
        assertEquals(Map.of(P0, 1L), committedOffsets(consumer, P0));
        // The next read hands them out from what the instance holds.
        assertEquals(List.of(1L, 2L), readAsync(instance, pool));
        assertEquals(List.of(), consumer.violations);
    }

    /** A pool of one thread, busy until {@code release}, with a request waiting in its queue. */
    private static java.util.concurrent.ThreadPoolExecutor busyPoolWithARequestWaiting(CountDownLatch release) {
        java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(1, 1, 1,
                TimeUnit.MINUTES, new java.util.concurrent.ArrayBlockingQueue<>(4));
        pool.execute(() -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        pool.execute(() -> { });
        return pool;
    }

    @Test
    void noFetchAheadTakesAPlaceInThePoolsQueueFromWorkWaitingThere() throws Exception {
        ConsumerInstance instance = assignedWithOneRecord(3); // two more after record 0
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.ThreadPoolExecutor pool = busyPoolWithARequestWaiting(release);
        try {
            assertEquals(List.of(0L), readAsync(instance, pool));
            assertEquals(1, pool.getQueue().size(), "only the waiting request: no fetch ahead was queued");
        } finally {
            release.countDown();
            pool.shutdown();
        }
    }

    @Test
    void noFetchAheadAtTheLogsEnd() throws Exception {
        ConsumerInstance instance = assignedWithOneRecord(1);
        SessionTestConsumer consumer = factory.last();
        HeldTasks pool = new HeldTasks();

        assertEquals(List.of(0L), readAsync(instance, pool));
        consumer.addRecord(record(TOPIC, 0, 1, null, "b")); // came after the last fetch: Kafka's lag says 0
        assertEquals(1, pool.runAll());

        assertEquals(1L, consumer.position(P0), "at the log's end as the last fetch saw it: no poll ahead");
        assertEquals(List.of(1L), readAsync(instance, pool), "the next read fetches it itself");
        assertEquals(List.of(), consumer.violations);
    }

    /**
     * Fetches ahead on a thread of its own ({@code pool}'s task): its first poll brings the records
     * already at the broker; a second poll, if it comes to one, signals {@code inSecondPoll}, waits
     * for {@code release} and brings {@code later}. Returns the fetch ahead's end.
     */
    private Future<Integer> fetchAheadWithASecondPollHeldUp(HeldTasks pool, CountDownLatch inSecondPoll,
                                                           CountDownLatch release,
                                                           List<ConsumerRecord<byte[], byte[]>> later) {
        SessionTestConsumer consumer = factory.last();
        consumer.schedulePollTask(() -> { });
        consumer.schedulePollTask(() -> {
            inSecondPoll.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            later.forEach(consumer::addRecord);
        });
        return threads.submit(pool::runAll);
    }

    @Test
    void aReadTakesWhatTheFetchAheadHoldsAndTheConsumerFetchesTheNextMeanwhile() throws Exception {
        ConsumerInstance instance = assignedWithOneRecord(1);
        instance.takeWait(Duration.ofSeconds(30)); // the fetch ahead waits for this test's reads however slow the machine
        SessionTestConsumer consumer = factory.last();
        HeldTasks pool = new HeldTasks();
        assertEquals(List.of(0L), readAsync(instance, pool));
        consumer.updateEndOffsets(Map.of(P0, 100L)); // far behind: the fetch ahead goes on
        consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
        consumer.addRecord(record(TOPIC, 0, 2, null, "c"));
        CountDownLatch inSecondPoll = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try {
            fetchAheadWithASecondPollHeldUp(pool, inSecondPoll, release,
                    List.of(record(TOPIC, 0, 3, null, "d"), record(TOPIC, 0, 4, null, "e")));
            assertTrue(SessionTestConsumer.waitUntil(() -> consumer.position(P0) == 3L, Duration.ofSeconds(10)),
                    "the first poll ahead brought 1 and 2");

            // The fetch ahead holds the instance, waiting for a read to take 1 and 2: this one
            // takes them without the instance's lock, and the consumer polls for the next meanwhile.
            assertEquals(List.of(1L, 2L), threads.submit(() -> readAsync(instance, pool)).get(10, TimeUnit.SECONDS));
            assertTrue(inSecondPoll.await(10, TimeUnit.SECONDS), "the fetch ahead went on after the read took 1 and 2");
            // A read while that poll runs waits for it and takes what it brings.
            Future<List<Long>> next = threads.submit(() -> readAsync(instance, pool));
            release.countDown();
            assertEquals(List.of(3L, 4L), next.get(10, TimeUnit.SECONDS));
        } finally {
            release.countDown();
        }
        // Only what reads handed out is committed.
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 4, 4)), registries.get(0).commit(instance));
        assertEquals(Map.of(P0, 5L), committedOffsets(consumer, P0));
        assertEquals(List.of(), consumer.violations, "the consumer was never used by two threads at once");
    }

    @Test
    void aFetchAheadNoReadTakesFromEndsAndHoldsItsRecordsForTheNextRead() throws Exception {
        ConsumerInstance instance = assignedWithOneRecord(1);
        SessionTestConsumer consumer = factory.last();
        HeldTasks pool = new HeldTasks();
        assertEquals(List.of(0L), readAsync(instance, pool));
        consumer.updateEndOffsets(Map.of(P0, 100L));
        consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
        CountDownLatch inSecondPoll = new CountDownLatch(1);
        Future<Integer> ahead = fetchAheadWithASecondPollHeldUp(pool, inSecondPoll, new CountDownLatch(0), List.of());
        assertEquals(1, ahead.get(10, TimeUnit.SECONDS), "the fetch ahead ended with nobody reading");
        assertEquals(1L, inSecondPoll.getCount(), "one fetch held at most: no second poll");
        assertEquals(2L, consumer.position(P0));
        assertEquals(List.of(1L), readAsync(instance, pool));
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void withAutoCommitTheFetchAheadCommitsWhatAReadTakingFromItConfirmed() throws Exception {
        ConsumerRegistry registry = registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20);
        ConsumerInstance instance = create(registry, "true");
        instance.takeWait(Duration.ofSeconds(30));
        SessionTestConsumer consumer = factory.last();
        consumer.assignOnNextPoll(List.of(P0), List.of(record(TOPIC, 0, 0, null, "a")));
        consumer.updateEndOffsets(Map.of(P0, 100L));
        HeldTasks pool = new HeldTasks();
        assertEquals(List.of(0L), readAsync(instance, pool));
        assertNull(consumer.lastCommitted(P0), "record 0 is committed once the client asks again");
        consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
        CountDownLatch inSecondPoll = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try {
            fetchAheadWithASecondPollHeldUp(pool, inSecondPoll, release, List.of());
            assertTrue(SessionTestConsumer.waitUntil(() -> consumer.position(P0) == 2L, Duration.ofSeconds(10)));
            assertEquals(List.of(1L), threads.submit(() -> readAsync(instance, pool)).get(10, TimeUnit.SECONDS));
            assertTrue(inSecondPoll.await(10, TimeUnit.SECONDS));
            assertNull(consumer.lastCommitted(P0), "the consumer is in a poll: committed once it is back");
        } finally {
            release.countDown();
        }
        assertTrue(SessionTestConsumer.waitUntil(() -> Long.valueOf(1L).equals(consumer.lastCommitted(P0)),
                Duration.ofSeconds(10)), "committed after record 0, which the second read confirmed: " + consumer.commits);
        registry.delete("g1", "alice"); // the client is done: everything returned is committed
        assertEquals(2L, consumer.lastCommitted(P0), consumer.events.toString());
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void aCommitOrADeleteIsNotHeldUpByAFetchAheadWaitingForARead() throws Exception {
        ConsumerInstance instance = assignedWithOneRecord(1);
        instance.takeWait(Duration.ofMinutes(5)); // waiting for a read that never comes
        SessionTestConsumer consumer = factory.last();
        HeldTasks pool = new HeldTasks();
        assertEquals(List.of(0L), readAsync(instance, pool));
        consumer.updateEndOffsets(Map.of(P0, 100L));
        consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
        Future<Integer> ahead = threads.submit(pool::runAll);
        assertTrue(SessionTestConsumer.waitUntil(() -> consumer.position(P0) == 2L, Duration.ofSeconds(10)));

        assertEquals(List.of(new CommittedOffset(TOPIC, 0, 0, 0)),
                threads.submit(() -> registries.get(0).commit(instance)).get(10, TimeUnit.SECONDS));
        assertEquals(1, ahead.get(10, TimeUnit.SECONDS), "the fetch ahead let go of the instance");

        assertEquals(List.of(1L), readAsync(instance, pool));
        consumer.addRecord(record(TOPIC, 0, 2, null, "c"));
        ahead = threads.submit(pool::runAll);
        assertTrue(SessionTestConsumer.waitUntil(() -> consumer.position(P0) == 3L, Duration.ofSeconds(10)));
        threads.submit(() -> registries.get(0).delete("g1", instance.name())).get(10, TimeUnit.SECONDS);
        assertEquals(1, ahead.get(10, TimeUnit.SECONDS));
        assertEquals("close", consumer.events.get(consumer.events.size() - 1));
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void aFetchAheadGivesWayToWorkWaitingInThePoolRatherThanWaitForARead() throws Exception {
        ConsumerInstance instance = assignedWithOneRecord(1);
        instance.takeWait(Duration.ofSeconds(30)); // without the pool's queue to look at, it would wait that long
        SessionTestConsumer consumer = factory.last();
        assertEquals(List.of(0L), readAsync(instance, new HeldTasks()));
        consumer.updateEndOffsets(Map.of(P0, 100L));
        consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
        consumer.addRecord(record(TOPIC, 0, 2, null, "c"));
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.ThreadPoolExecutor pool = busyPoolWithARequestWaiting(release);
        try {
            threads.submit(() -> instance.fetchAhead(pool)).get(10, TimeUnit.SECONDS);
            assertEquals(3L, consumer.position(P0), "it fetched 1 and 2, then let go of the instance");
        } finally {
            release.countDown();
            pool.shutdown();
        }
        assertEquals(List.of(1L, 2L), readAsync(instance, new HeldTasks()));
        assertEquals(List.of(), consumer.violations);
    }

    @Test
    void aV1ReadLeavesRecordsOfAnotherTopicAFetchAheadHoldsToTheUsualWayNeverUsingTheConsumerAlongsideIt()
            throws Exception {
        // A v2 subscription changed back from {orders, payments} to {orders}: payments-0 stays
        // assigned a moment, and a fetch ahead brings records of both topics. A v1 read must not
        // hand out payments' records, and letting go of them seeks the consumer: never while the
        // fetch ahead uses it on its own thread (Kafka's consumer throws
        // ConcurrentModificationException to one of them, answered 500).
        ConsumerInstance instance = create(registry(Duration.ofSeconds(30), Duration.ofSeconds(30), 1 << 20), "false");
        instance.takeWait(Duration.ofSeconds(30));
        SessionTestConsumer consumer = factory.last();
        TopicPartition left = new TopicPartition("payments", 0);
        consumer.assignOnNextPoll(List.of(P0, left), List.of(record(TOPIC, 0, 0, null, "a")));
        consumer.updateEndOffsets(Map.of(P0, 100L, left, 100L)); // both behind: the instance fetches ahead
        HeldTasks pool = new HeldTasks();
        assertEquals(List.of(0L), readAsync(instance, pool));

        // The fetch ahead's poll brings records of both topics; right after it, the fetch ahead
        // asks the consumer for the partitions' lag (holding it), and stays there until the next
        // read has either used the consumer alongside it or gone the usual way.
        AtomicBoolean polledAhead = new AtomicBoolean();
        CountDownLatch inLag = new CountDownLatch(1);
        consumer.schedulePollTask(() -> {
            consumer.addRecord(record("payments", 0, 0, null, "p0"));
            consumer.addRecord(record("payments", 0, 1, null, "p1"));
            consumer.addRecord(record(TOPIC, 0, 1, null, "b"));
            consumer.addRecord(record(TOPIC, 0, 2, null, "c"));
            polledAhead.set(true);
        });
        consumer.duringCurrentLag = () -> {
            if (polledAhead.getAndSet(false)) {
                inLag.countDown();
                try {
                    SessionTestConsumer.waitUntil(() -> !consumer.violations.isEmpty() || instance.isReading(),
                            Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        Future<Integer> ahead = threads.submit(pool::runAll);
        assertTrue(inLag.await(10, TimeUnit.SECONDS), "the fetch ahead polled and asks for the lag");

        List<ConsumedRecord> got = threads.submit(() -> registries.get(0).readAsync(instance, TOPIC, 0,
                ResponseRoom.unbounded(), pool).get(10, TimeUnit.SECONDS)).get(20, TimeUnit.SECONDS);
        assertEquals(List.of(1L, 2L), offsets(got));
        assertTrue(got.stream().allMatch(r -> r.topic().equals(TOPIC)), "only " + TOPIC + "'s records: " + got);
        assertEquals(1, ahead.get(10, TimeUnit.SECONDS), "the fetch ahead let go of the instance");
        assertEquals(List.of(), consumer.violations, "the consumer was never used by two threads at once");
        assertEquals(0L, consumer.position(left), "payments' records are fetched again from the first let go of");
    }

    @Test
    void readsAndCommitsWhileFetchingAheadReturnEachRecordOnceInOrder() throws Exception {
        com.codahale.metrics.MetricRegistry metrics = new com.codahale.metrics.MetricRegistry();
        ConsumerRegistry registry = new ConsumerRegistry(
                new ConsumerRegistry.Settings(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"),
                        Duration.ofMinutes(5), Duration.ofMillis(20), ASSIGNMENT_TIMEOUT, 1 << 20, 100, ""),
                factory, topic -> true, TICKER, new SessionMetrics(metrics));
        registries.add(registry);
        ConsumerInstance instance = create(registry, null);
        instance.takeWait(Duration.ofSeconds(30)); // ended by the commits, not by the reader's pace
        SessionTestConsumer consumer = factory.last();
        int total = 600;
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        for (int o = 0; o < total; o++) {
            all.add(record(TOPIC, 0, o, null, "v" + o));
        }
        int batch = 10;
        consumer.assignOnNextPoll(List.of(P0), all.subList(0, batch));
        consumer.updateEndOffsets(Map.of(P0, (long) total)); // behind until the end: reads fetch ahead
        for (int from = batch; from < total; from += batch) {
            consumer.deliverOnNextPoll(List.copyOf(all.subList(from, from + batch)));
        }
        java.util.concurrent.ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Long> returned = new CopyOnWriteArrayList<>();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        AtomicBoolean done = new AtomicBoolean();
        try {
            Future<?> committer = threads.submit(() -> {
                while (!done.get()) {
                    try {
                        registry.commit(instance);
                    } catch (RuntimeException e) {
                        failures.add(e);
                    }
                    Thread.sleep(2); // reads go on between commits: fetches ahead and reads taking from them
                }
                return null;
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (returned.size() < total && System.nanoTime() < deadline) {
                // One client reading in a loop, as a drain does, while another commits.
                returned.addAll(offsets(registry.readAsync(instance, TOPIC, 0, ResponseRoom.unbounded(), pool)
                        .get(10, TimeUnit.SECONDS)));
                Thread.sleep(1); // the client reads its answer: the instance fetches ahead meanwhile
            }
            done.set(true);
            committer.get(10, TimeUnit.SECONDS);
        } finally {
            pool.shutdown();
        }
        assertEquals(List.of(), failures);
        assertEquals(List.of(), consumer.violations, "the consumer was never used by two threads at once");
        List<Long> expected = new ArrayList<>();
        for (long o = 0; o < total; o++) {
            expected.add(o);
        }
        assertEquals(expected, returned, "every record once, in order");
        assertTrue(metrics.meter("portico.consume.taken.ahead").getCount() > 0, "reads took from fetches ahead");
        assertEquals(List.of(new CommittedOffset(TOPIC, 0, total - 1, total - 1)), registry.commit(instance));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
