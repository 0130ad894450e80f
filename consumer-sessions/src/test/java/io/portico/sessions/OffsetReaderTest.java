package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Reads by offset from a pool of assign-only consumers. Each {@code MockConsumer} the factory
 * makes sees the same small cluster: {@code orders} partition 0 holds offsets 5..14 (the log
 * starts at 5), partition 1 is empty, partition 2 claims an end offset of 10 but only 0..4 can be
 * fetched; {@code big} partition 0 holds a 50-byte record then a 1-byte one.
 */
class OffsetReaderTest {

    private static final String TOPIC = "orders";
    private static final Node NODE = new Node(0, "localhost", 9092);
    private static final Duration FETCH_TIMEOUT = Duration.ofSeconds(5);

    /**
     * A {@code MockConsumer} whose polls fetch from a fixed log at the consumer's position and,
     * like a broker answering a consumer with {@code auto.offset.reset=none}, fail with
     * {@code OffsetOutOfRangeException} at a position outside the log.
     */
    static final class LogConsumer extends SessionTestConsumer {
        private final Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> log;
        /** Reports no lag, as a fetch response that predates the last appends would. */
        volatile boolean staleLag;
        /** Its fetches never come back in time, as on a busy broker: polls return nothing. */
        volatile boolean slowFetches;
        /** Its look-ups of the log's end time out, as while the broker is unreachable. */
        volatile boolean endUnknown;
        /**
         * With {@link #slowFetches}: where each poll moves the position to without returning a
         * record, as fetches of an aborted transaction's batches do under read_committed (-1: none).
         */
        volatile long skipTo = -1;

        LogConsumer(Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> log) {
            this.log = log;
        }

        /** Counted down at its first poll. */
        final java.util.concurrent.CountDownLatch polled = new java.util.concurrent.CountDownLatch(1);

        @Override
        public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            polled.countDown();
            if (slowFetches) {
                if (skipTo >= 0) {
                    for (TopicPartition tp : assignment()) {
                        seek(tp, skipTo);
                    }
                }
                return ConsumerRecords.empty();
            }
            for (TopicPartition tp : assignment()) {
                long position = position(tp);
                long start = beginningOffsets(List.of(tp)).get(tp);
                long end = endOffsets(List.of(tp)).get(tp);
                if (position < start || position > end) {
                    throw new OffsetOutOfRangeException(Map.of(tp, position));
                }
                for (ConsumerRecord<byte[], byte[]> r : log.getOrDefault(tp, List.of())) {
                    if (r.offset() >= position) {
                        addRecord(r);
                    }
                }
            }
            return super.poll(timeout);
        }

        @Override
        public synchronized Map<TopicPartition, Long> endOffsets(java.util.Collection<TopicPartition> partitions,
                                                                Duration timeout) {
            if (endUnknown) {
                throw new org.apache.kafka.common.errors.TimeoutException("no answer");
            }
            return super.endOffsets(partitions, timeout);
        }

        @Override
        public java.util.OptionalLong currentLag(TopicPartition tp) {
            return staleLag ? java.util.OptionalLong.of(0) : super.currentLag(tp);
        }
    }

    private final List<Map<String, Object>> configs = new CopyOnWriteArrayList<>();
    private final List<LogConsumer> made = new CopyOnWriteArrayList<>();
    private volatile java.util.function.Consumer<LogConsumer> onCreate = c -> { };
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<OffsetReader> readers = new ArrayList<>();

    @AfterEach
    void closeEverything() {
        readers.forEach(OffsetReader::close);
        threads.shutdownNow();
    }

    private Consumer<byte[], byte[]> make(Map<String, Object> config) {
        configs.add(Map.copyOf(config));
        TopicPartition p0 = new TopicPartition(TOPIC, 0);
        TopicPartition p1 = new TopicPartition(TOPIC, 1);
        TopicPartition p2 = new TopicPartition(TOPIC, 2);
        TopicPartition big = new TopicPartition("big", 0);
        Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> log = new HashMap<>();
        log.put(p0, records(TOPIC, 0, 5, 14));
        log.put(p2, records(TOPIC, 2, 0, 4));
        log.put(big, List.of(new ConsumerRecord<>("big", 0, 0, null, new byte[50]),
                new ConsumerRecord<>("big", 0, 1, null, new byte[1])));
        LogConsumer consumer = new LogConsumer(log);
        consumer.updatePartitions(TOPIC, List.of(partition(TOPIC, 0), partition(TOPIC, 1), partition(TOPIC, 2)));
        consumer.updatePartitions("big", List.of(partition("big", 0)));
        consumer.updateBeginningOffsets(Map.of(p0, 5L, p1, 0L, p2, 0L, big, 0L));
        consumer.updateEndOffsets(Map.of(p0, 15L, p1, 0L, p2, 10L, big, 2L));
        onCreate.accept(consumer);
        made.add(consumer);
        return consumer;
    }

    private static PartitionInfo partition(String topic, int partition) {
        return new PartitionInfo(topic, partition, NODE, new Node[] {NODE}, new Node[] {NODE});
    }

    /** Offsets {@code from}..{@code to}, key {@code k<offset>}, value {@code v<offset>}. */
    private static List<ConsumerRecord<byte[], byte[]>> records(String topic, int partition, long from, long to) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (long o = from; o <= to; o++) {
            out.add(new ConsumerRecord<>(topic, partition, o, bytes("k" + o), bytes("v" + o)));
        }
        return out;
    }

    private OffsetReader reader(int poolSize, Duration poolTimeout, Duration fetchTimeout, long maxBytes) {
        OffsetReader reader = new OffsetReader(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092", ConsumerConfig.GROUP_ID_CONFIG, "ignored"),
                this::make, poolSize, poolTimeout, fetchTimeout, maxBytes);
        readers.add(reader);
        return reader;
    }

    /** What a seeker counts against the consumers budget. */
    private static final long SEEKER_COST = HeldRecords.consumerCost(
            Map.of(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(OffsetReader.SEEK_FETCH_BYTES)));

    /**
     * The configuration table's figure for a seeker under {@code memory.consumers.max.bytes}:
     * 640 KiB (PorticoConfigTest checks the 1 MiB of the others against the shipped settings).
     */
    @Test
    void aSeekerCostsAsDocumented() {
        assertEquals(640 * 1024, SEEKER_COST);
    }

    /** A pool of {@code poolSize} readers with a consumers budget of {@code budgetBytes}. */
    private OffsetReader budgeted(long budgetBytes, int poolSize, Duration poolTimeout) {
        OffsetReader reader = new OffsetReader(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"),
                this::make, poolSize, poolTimeout, FETCH_TIMEOUT, 1 << 20, SessionMetrics.unreported(),
                new MemoryBudget("memory.consumers.max.bytes", budgetBytes));
        readers.add(reader);
        return reader;
    }

    private OffsetReader reader() {
        return reader(2, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20);
    }

    private static RestException assertRestError(ErrorCode expected, Executable call) {
        RestException e = assertThrows(RestException.class, call);
        assertEquals(expected, e.errorCode(), e.getMessage());
        return e;
    }

    private static List<Long> offsets(List<ConsumedRecord> records) {
        return records.stream().map(ConsumedRecord::offset).toList();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---- reading -----------------------------------------------------------------------------

    @Test
    void readReturnsCountRecordsFromTheOffsetOn() {
        List<ConsumedRecord> records = reader().read(TOPIC, 0, 7, 3);

        assertEquals(List.of(7L, 8L, 9L), offsets(records));
        for (ConsumedRecord r : records) {
            assertEquals(TOPIC, r.topic());
            assertEquals(0, r.partition());
            assertArrayEquals(bytes("k" + r.offset()), r.key());
            assertArrayEquals(bytes("v" + r.offset()), r.value());
        }
    }

    @Test
    void aCountPastTheLogEndReturnsWhatExistsWithoutWaitingForTheFetchTimeout() {
        long start = System.nanoTime();
        List<ConsumedRecord> records = reader().read(TOPIC, 0, 12, 100);
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertEquals(List.of(12L, 13L, 14L), offsets(records));
        assertTrue(took.compareTo(FETCH_TIMEOUT) < 0, took.toString());
    }

    @Test
    void anOffsetPastTheEndIsAnErrorEvenWhenNoFetchAnswersBeforeTheDeadline() {
        onCreate = c -> c.slowFetches = true;
        OffsetReader slow = reader(2, Duration.ofSeconds(1), Duration.ofMillis(50), 1 << 20);

        RestException past = assertRestError(ErrorCode.OFFSET_OUT_OF_RANGE, () -> slow.read(TOPIC, 0, 16, 1));
        assertTrue(past.getMessage().contains("past the log end offset 15"), past.getMessage());
        assertEquals(List.of(), slow.read(TOPIC, 0, 15, 1), "at the end: an empty page");
    }

    @Test
    void aReadWithinTheLogThatFetchesNothingInTimeIs503NotAnEmptyPage() {
        onCreate = c -> c.slowFetches = true; // a busy broker: the records at 7 do not come in time
        OffsetReader slow = reader(2, Duration.ofSeconds(1), Duration.ofMillis(50), 1 << 20);

        RestException e = assertRestError(ErrorCode.BROKER_NOT_AVAILABLE, () -> slow.read(TOPIC, 0, 7, 1));
        assertTrue(e.getMessage().contains("offset 7"), e.getMessage());
        assertEquals(List.of(), slow.read(TOPIC, 0, 15, 1), "at the end it is an empty page");
    }

    @Test
    void aTopicDeletedUnderAReaderThatWasReadingItIs40401NotA503ToRetry() {
        // 50 ms to fetch, so that the reads of the deleted topic below end soon. The fetch
        // timeout is the reader's, so the first read (which must succeed) has it too: a stall of
        // the machine before its first poll runs it out (a 503 to retry), and it is retried.
        OffsetReader reader = reader(1, Duration.ofSeconds(1), Duration.ofMillis(50), 1 << 20);
        assertEquals(List.of(7L), offsets(retryingUnavailable(() -> reader.read(TOPIC, 0, 7, 1))));
        LogConsumer consumer = made.get(0);
        // Deleted: the reader's consumer, still assigned, fetches nothing and hears of no error.
        consumer.slowFetches = true;
        consumer.partitions(TOPIC, 0);

        assertRestError(ErrorCode.TOPIC_NOT_FOUND, () -> reader.read(TOPIC, 0, 3, 1)); // not what it fetched ahead
        assertRestError(ErrorCode.TOPIC_NOT_FOUND, () -> reader.read(TOPIC, 0, 3, 1));
        assertEquals(1, made.size(), "the same reader, looking the partition up again");
    }

    /** {@code read}'s answer, retried (at most 20 times in all) while it is a 503 to retry. */
    private static List<ConsumedRecord> retryingUnavailable(java.util.function.Supplier<List<ConsumedRecord>> read) {
        for (int attempt = 1; ; attempt++) {
            try {
                return read.get();
            } catch (RestException e) {
                if (e.errorCode() != ErrorCode.BROKER_NOT_AVAILABLE || attempt == 20) {
                    throw e;
                }
            }
        }
    }

    @Test
    void aReadThatRunsOutOfTimeWithRecordsStillBeforeTheEndIs50302NotAnEmptyPage() {
        onCreate = c -> {
            c.slowFetches = true;
            c.skipTo = 12; // its polls skip aborted data and bring nothing within the time
        };
        OffsetReader reader = reader(1, Duration.ofSeconds(1), Duration.ofMillis(50), 1 << 20);
        RestException e = assertRestError(ErrorCode.BROKER_NOT_AVAILABLE, () -> reader.read(TOPIC, 0, 3, 1));
        assertTrue(e.getMessage().contains("retry"), "not [], which would tell the client it is at the end: "
                + e.getMessage());
    }

    @Test
    void aCancelledPartitionStreamHandsOutNothingMoreAndItsCloseClosesTheConsumer() {
        OffsetReader reader = reader(1, Duration.ofSeconds(1), Duration.ofMillis(50), 1 << 20);
        PartitionStream stream = reader.stream(TOPIC, 0, 5, null);
        LogConsumer consumer = made.get(made.size() - 1);
        stream.cancel(); // the client left: from the IO thread, without blocking
        assertEquals(List.of(), stream.next(Duration.ofMillis(10), 1 << 20, ResponseRoom.unbounded()),
                "records are there, but nobody to hand them to");
        assertFalse(consumer.closed(), "closed by close, off the IO thread");
        stream.close();
        assertTrue(consumer.closed());
    }

    @Test
    void aPartitionStreamWhoseTopicIsDeletedEndsWith40401() {
        long[] now = {0};
        OffsetReader reader = reader(1, Duration.ofSeconds(1), Duration.ofMillis(50), 1 << 20).nanoClock(() -> now[0]);
        try (PartitionStream stream = reader.stream(TOPIC, 0, 5, null)) {
            LogConsumer consumer = made.get(made.size() - 1);
            for (int i = 0; i < 100 && !stream.next(Duration.ofMillis(10), 1 << 20, ResponseRoom.unbounded()).isEmpty(); i++) {
                // read to the log's end
            }
            // Deleted: the stream's consumer, still assigned, fetches nothing and hears of no error.
            consumer.slowFetches = true;
            consumer.partitions(TOPIC, 0);
            assertEquals(List.of(), stream.next(Duration.ofMillis(10), 1 << 20, ResponseRoom.unbounded()),
                    "looked up at most every few seconds");
            now[0] += PartitionStream.LOOK_UP_EVERY_NANOS;
            assertRestError(ErrorCode.TOPIC_NOT_FOUND,
                    () -> stream.next(Duration.ofMillis(10), 1 << 20, ResponseRoom.unbounded()));
        }
    }

    @Test
    void oneKeysSlowReadsHoldAtMostHalfThePooledReaders() throws Exception {
        onCreate = c -> c.slowFetches = true; // a busy broker: a read within the log waits its whole fetch timeout
        OffsetReader slow = reader(2, Duration.ofSeconds(1), Duration.ofSeconds(5), 1 << 20);
        java.util.concurrent.ExecutorService thread = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<?> waiting = thread.submit(() -> slow.read("key-a", TOPIC, 0, 7, 1,
                    ResponseRoom.unbounded(), 1 << 20));
            for (int i = 0; i < 500 && made.isEmpty(); i++) {
                Thread.sleep(10); // until the first read has made its reader
            }
            assertTrue(made.get(0).polled.await(10, java.util.concurrent.TimeUnit.SECONDS), "the first read is fetching");

            RestException refused = assertRestError(ErrorCode.TOO_MANY_REQUESTS, () -> slow.read("key-a", TOPIC, 0, 15, 1,
                    ResponseRoom.unbounded(), 1 << 20));
            assertTrue(refused.getMessage().contains("simpleconsumer.pool.size.max"), refused.getMessage());
            assertEquals(List.of(), slow.read("key-b", TOPIC, 0, 15, 1, ResponseRoom.unbounded(), 1 << 20),
                    "another key has the other reader (at the end: an empty page)");
            assertEquals(List.of(), slow.read(null, TOPIC, 0, 15, 1, ResponseRoom.unbounded(), 1 << 20),
                    "with authentication off, one caller: never counted");
            waiting.cancel(true);
        } finally {
            thread.shutdownNow();
        }
    }

    @Test
    void aReadThatFetchesNothingWhileKafkaCannotSayWhereTheLogEndsIs503NotAnEmptyPage() {
        onCreate = c -> {
            c.slowFetches = true;
            c.endUnknown = true;
        };
        OffsetReader unreachable = reader(2, Duration.ofSeconds(1), Duration.ofMillis(50), 1 << 20);

        assertRestError(ErrorCode.BROKER_NOT_AVAILABLE, () -> unreachable.read(TOPIC, 0, 7, 1));
    }

    @Test
    void anOffsetPastTheLastStableOffsetButInTheLogWaitsForTheOpenTransaction() {
        // The consumer's end (15) is the last stable offset; the log ends at 20: a transaction is open.
        onCreate = c -> c.slowFetches = true; // fetches past the last stable offset return nothing
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        OffsetReader reader = reader(2, Duration.ofSeconds(1), Duration.ofMillis(50), 1 << 20)
                .logEnds((tp, timeout) -> {
                    asked.incrementAndGet();
                    return 20L;
                });

        assertEquals(List.of(), reader.read(TOPIC, 0, 17, 1), "not visible yet: an empty page");
        asked.set(0);
        RestException past = assertRestError(ErrorCode.OFFSET_OUT_OF_RANGE, () -> reader.read(TOPIC, 0, 21, 1));
        assertTrue(past.getMessage().contains("past the log end offset 20"), past.getMessage());
        assertEquals(1, asked.get(), "the log's end is asked once for a read past it");
        try (PartitionStream stream = reader.stream(TOPIC, 0, 20, null)) {
            assertEquals(20, stream.position(), "a stream opens there and waits");
        }
        asked.set(0);
        past = assertRestError(ErrorCode.OFFSET_OUT_OF_RANGE, () -> reader.stream(TOPIC, 0, 21, null));
        assertTrue(past.getMessage().contains("past the log end offset 20"), past.getMessage());
        assertEquals(1, asked.get(), "and once for a stream opened past it");
    }

    @Test
    void aRecordsHeadersTakeRoomInTheResponse() {
        TopicPartition tp = new TopicPartition("headed", 0);
        org.apache.kafka.common.header.internals.RecordHeaders headers =
                new org.apache.kafka.common.header.internals.RecordHeaders();
        headers.add("h", new byte[10_000]);
        List<ConsumerRecord<byte[], byte[]>> log = new ArrayList<>();
        for (int o = 0; o < 10; o++) {
            log.add(new ConsumerRecord<>("headed", 0, o, 0L, org.apache.kafka.common.record.TimestampType.CREATE_TIME,
                    0, 1, null, new byte[1], headers, java.util.Optional.empty()));
        }
        OffsetReader reader = new OffsetReader(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"),
                config -> {
                    LogConsumer c = new LogConsumer(Map.of(tp, log));
                    c.updatePartitions("headed", List.of(partition("headed", 0)));
                    c.updateBeginningOffsets(Map.of(tp, 0L));
                    c.updateEndOffsets(Map.of(tp, 10L));
                    return c;
                }, 1, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20);
        readers.add(reader);
        MemoryBudget responses = new MemoryBudget("memory.responses.max.bytes", 100_000);

        try (MemoryBudget.Lease lease = responses.lease()) {
            List<ConsumedRecord> read = reader.read("headed", 0, 0, 10, new ResponseRoom(lease, Duration.ZERO));
            assertEquals(3, read.size(), "10 bytes of keys and values, but 10,000 of headers a record");
        }
    }

    @Test
    void aStreamWhoseConsumerCannotBeMadeGivesItsRoomBack() {
        MemoryBudget budget = new MemoryBudget("memory.consumers.max.bytes", 1L << 30);
        java.util.concurrent.atomic.AtomicInteger tried = new java.util.concurrent.atomic.AtomicInteger();
        OffsetReader reader = new OffsetReader(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"),
                config -> {
                    tried.incrementAndGet();
                    throw new org.apache.kafka.common.KafkaException("the keystore cannot be read");
                }, 2, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20, SessionMetrics.unreported(), budget);
        readers.add(reader);

        for (int i = 0; i < 3; i++) {
            assertThrows(RestException.class, () -> reader.stream(TOPIC, 0, 5, null));
        }
        assertEquals(3, tried.get());
        assertEquals(0, budget.used());
    }

    @Test
    void recordsHeldAheadTooLongAreFetchedAgainNotServedFromMemory() {
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        OffsetReader reader = reader(1, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20).nanoClock(now::get); // one reader
        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)), "6..14 are held for the walk's next read");
        TopicPartition p0 = new TopicPartition(TOPIC, 0);
        made.get(0).updateBeginningOffsets(Map.of(p0, 10L)); // records below 10 deleted meanwhile

        now.addAndGet(OffsetReader.HELD_MAX_AGE_NANOS - 1);
        assertEquals(List.of(6L), offsets(reader.read(TOPIC, 0, 6, 1)), "a walk going on is served from what is held");
        now.addAndGet(OffsetReader.HELD_MAX_AGE_NANOS + 1);
        assertRestError(ErrorCode.OFFSET_OUT_OF_RANGE, () -> reader.read(TOPIC, 0, 7, 1));
    }

    @Test
    void aReadGathersRecordsOverSeveralPolls() {
        onCreate = c -> c.setMaxPollRecords(2);

        assertEquals(List.of(5L, 6L, 7L, 8L, 9L, 10L, 11L), offsets(reader().read(TOPIC, 0, 5, 7)));
    }

    @Test
    void aLagOfZeroFromAStaleFetchDoesNotEndAReadThatHasMoreToRead() {
        onCreate = c -> {
            c.setMaxPollRecords(1);
            c.staleLag = true;
        };

        assertEquals(List.of(5L, 6L, 7L, 8L), offsets(reader().read(TOPIC, 0, 5, 4)));
        assertEquals(List.of(13L, 14L), offsets(reader().read(TOPIC, 0, 13, 10)), "and the log's end still ends it");
    }

    @Test
    void aReadStopsAtTheFetchTimeoutWithWhatItGot() {
        Duration fetchTimeout = Duration.ofMillis(200);
        OffsetReader reader = reader(1, Duration.ofSeconds(1), fetchTimeout, 1 << 20);

        long start = System.nanoTime();
        List<ConsumedRecord> records = reader.read(TOPIC, 2, 0, 10); // the log claims 10, only 5 come
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), offsets(records));
        assertTrue(took.compareTo(fetchTimeout) >= 0, took.toString());
    }

    @Test
    void anOffsetAtTheLogEndReturnsNothingAsSoonAsAFetchSaysSo() {
        OffsetReader reader = reader();

        assertEquals(List.of(), reader.read(TOPIC, 0, 15, 5));
        assertEquals(List.of(), reader.read(TOPIC, 1, 0, 1), "an empty partition");

        assertEquals(1, made.size());
        assertTrue(made.get(0).lastPollTimeout().compareTo(Duration.ofMillis(100)) <= 0,
                "short polls, not the whole fetch timeout: " + made.get(0).lastPollTimeout());
    }

    @Test
    void aReaderWalkingAPartitionContinuesWhereItStoppedWithoutSeeking() {
        OffsetReader reader = reader(1, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20);

        assertEquals(List.of(5L, 6L, 7L), offsets(reader.read(TOPIC, 0, 5, 3)));
        assertEquals(List.of(8L, 9L, 10L), offsets(reader.read(TOPIC, 0, 8, 3)));
        assertEquals(List.of(11L, 12L, 13L, 14L), offsets(reader.read(TOPIC, 0, 11, 10)));
        assertEquals(List.of(), reader.read(TOPIC, 0, 15, 10), "at the log end");
        assertEquals(List.of(6L), offsets(reader.read(TOPIC, 0, 6, 1)), "back to an earlier offset: a seek");
        assertEquals(1, made.size(), "in a pool of one, the seeker goes on with the walk: no reader is closed for another");
    }

    @Test
    void theByteCapKeepsTheFirstRecordEvenWhenItIsBigger() {
        OffsetReader reader = reader(1, Duration.ofSeconds(1), FETCH_TIMEOUT, 10);

        List<ConsumedRecord> records = reader.read("big", 0, 0, 5);

        assertEquals(List.of(0L), offsets(records));
        assertEquals(50, records.get(0).value().length);
    }

    @Test
    void theByteCapStopsBeforeTheRecordThatWouldPassIt() {
        OffsetReader reader = reader(1, Duration.ofSeconds(1), FETCH_TIMEOUT, 20);

        // k5/v5 .. k9/v9 are 4 bytes each: 5 records make 20 bytes; k10/v10 (6 bytes) would pass 20
        assertEquals(List.of(5L, 6L, 7L, 8L, 9L), offsets(reader.read(TOPIC, 0, 5, 10)));
        assertEquals(List.of(10L, 11L, 12L), offsets(reader.read(TOPIC, 0, 10, 10)), "18 bytes; a fourth makes 24");
    }

    // ---- errors ------------------------------------------------------------------------------

    @Test
    void anUnknownTopicAnswers40401() {
        RestException e = assertRestError(ErrorCode.TOPIC_NOT_FOUND, () -> reader().read("nope", 0, 0, 1));

        assertEquals(404, e.httpStatus());
    }

    @Test
    void anUnknownPartitionAnswers40402() {
        RestException e = assertRestError(ErrorCode.PARTITION_NOT_FOUND, () -> reader().read(TOPIC, 3, 0, 1));

        assertEquals(404, e.httpStatus());
    }

    @Test
    void anOffsetBelowTheLogStartAnswers40406() {
        RestException e = assertRestError(ErrorCode.OFFSET_OUT_OF_RANGE, () -> reader().read(TOPIC, 0, 4, 1));

        assertEquals(404, e.httpStatus());
        assertTrue(e.getMessage().contains("below the log start"), e.getMessage());
        assertTrue(e.getMessage().contains("5"), e.getMessage());
    }

    @Test
    void anOffsetPastTheLogEndAnswers40406() {
        RestException e = assertRestError(ErrorCode.OFFSET_OUT_OF_RANGE, () -> reader().read(TOPIC, 0, 16, 1));

        assertEquals(404, e.httpStatus());
        assertTrue(e.getMessage().contains("past the log end"), e.getMessage());
        assertTrue(e.getMessage().contains("15"), e.getMessage());
    }

    // ---- the pool ----------------------------------------------------------------------------

    @Test
    void consumersAreMadeWithoutAGroupAndReusedAcrossReads() {
        OffsetReader reader = reader();

        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)));
        assertRestError(ErrorCode.PARTITION_NOT_FOUND, () -> reader.read(TOPIC, 9, 0, 1));
        assertEquals(List.of(14L), offsets(reader.read(TOPIC, 0, 14, 1)));
        assertEquals(List.of(0L, 1L), offsets(reader.read(TOPIC, 2, 0, 2)));

        assertEquals(1, made.size(), "one consumer served the sequential reads, errors included");
        assertFalse(made.get(0).closed());
        assertEquals(1, reader.idleCount());
        Map<String, Object> config = configs.get(0);
        assertFalse(config.containsKey(ConsumerConfig.GROUP_ID_CONFIG));
        assertEquals("false", config.get(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG));
        assertEquals("false", config.get(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG));
        assertEquals("portico-offset-reader", config.get(ConsumerConfig.CLIENT_ID_CONFIG));
        assertEquals("broker:9092", config.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG));
        assertEquals("", config.get(ConsumerConfig.METRIC_REPORTER_CLASSES_CONFIG));
    }

    @Test
    void pooledReadersRegisterNoJmxBeansUnlessAReporterIsConfigured() throws Exception {
        reader().read(TOPIC, 0, 5, 1);
        javax.management.MBeanServer jmx = java.lang.management.ManagementFactory.getPlatformMBeanServer();
        javax.management.ObjectName beans =
                new javax.management.ObjectName("kafka.consumer:client-id=portico-offset-reader,*");
        // A real consumer made with the reader's settings (it connects to nothing until it polls).
        Map<String, Object> settings = new HashMap<>(configs.get(0));
        settings.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9092");
        try (KafkaConsumer<byte[], byte[]> real = new KafkaConsumer<>(settings,
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            assertEquals(Set.of(), jmx.queryNames(beans, null), "beans of a consumer with " + real.metrics().size() + " metrics");
        }
        try (KafkaConsumer<byte[], byte[]> withJmx = new KafkaConsumer<>(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9092",
                        ConsumerConfig.CLIENT_ID_CONFIG, "portico-offset-reader"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            assertFalse(jmx.queryNames(beans, null).isEmpty(), "Kafka's default reporter registers beans: "
                    + withJmx.metrics().size());
        }

        OffsetReader chosen = new OffsetReader(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092",
                ConsumerConfig.METRIC_REPORTER_CLASSES_CONFIG, "org.apache.kafka.common.metrics.JmxReporter"),
                this::make, 2, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20);
        readers.add(chosen);
        configs.clear();
        chosen.read(TOPIC, 0, 5, 1);
        assertEquals("org.apache.kafka.common.metrics.JmxReporter",
                configs.get(0).get(ConsumerConfig.METRIC_REPORTER_CLASSES_CONFIG));
    }

    @Test
    void aReadAtAnOffsetNoReaderStoppedAtGetsASeekerWhoseFetchesAreSmall() {
        OffsetReader reader = reader();

        assertEquals(List.of(9L), offsets(reader.read(TOPIC, 0, 9, 1)));

        assertEquals("196608", configs.get(0).get(ConsumerConfig.FETCH_MAX_BYTES_CONFIG));
        assertEquals("196608", configs.get(0).get(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG));
    }

    @Test
    void aWalkMovesToAWalkerThatKeepsItWhileSeeksGoOnWithTheSeeker() {
        OffsetReader reader = reader(2, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20);

        assertEquals(List.of(5L, 6L), offsets(reader.read(TOPIC, 0, 5, 2)));
        assertEquals(List.of(7L, 8L), offsets(reader.read(TOPIC, 0, 7, 2)), "on where the seeker stopped");
        assertEquals(2, made.size());
        assertFalse(configs.get(1).containsKey(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG),
                "the walker fetches as configured (Kafka's default here)");
        assertEquals(List.of(12L), offsets(reader.read(TOPIC, 0, 12, 1)), "a seek elsewhere: the seeker");
        assertEquals(List.of(9L, 10L), offsets(reader.read(TOPIC, 0, 9, 2)), "the walk goes on with the walker");
        assertEquals(List.of(11L), offsets(reader.read(TOPIC, 0, 11, 1)));
        assertEquals(2, made.size(), "no reader made since");
        assertEquals(List.of(), made.get(0).violations);
        assertFalse(made.get(0).closed());
        assertFalse(made.get(1).closed());
    }

    @Test
    void aWalkStartingWhileThePoolHasRoomTakesNoWalkerFromAnotherWalk() {
        OffsetReader reader = reader(4, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20);
        // Client A walks partition 0 from 5: a seeker, then a walker of its own.
        assertEquals(List.of(5L, 6L), offsets(reader.read(TOPIC, 0, 5, 2)));
        assertEquals(List.of(7L, 8L), offsets(reader.read(TOPIC, 0, 7, 2)));
        assertEquals(2, made.size());

        // Client B starts a walk of the same partition while A's walker is idle between A's reads.
        assertEquals(List.of(10L, 11L), offsets(reader.read(TOPIC, 0, 10, 2)));
        assertEquals(List.of(12L, 13L), offsets(reader.read(TOPIC, 0, 12, 2)));
        assertEquals(3, made.size(), "B's walk got a walker of its own; A's was left to A");

        assertEquals(List.of(9L), offsets(reader.read(TOPIC, 0, 9, 1)), "A goes on");
        assertEquals(List.of(14L), offsets(reader.read(TOPIC, 0, 14, 1)), "B goes on");
        assertEquals(3, made.size());
    }

    @Test
    void aWalkStaysWithItsSeekerWhenTheConsumersBudgetHasNoRoomForAWalker() {
        // A pool timeout far longer than the test's own: a read waiting for a walker's room would hang it.
        OffsetReader reader = budgeted(SEEKER_COST + SEEKER_COST / 2, 4, Duration.ofMinutes(10));

        assertEquals(List.of(5L, 6L), offsets(reader.read(TOPIC, 0, 5, 2)));
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            assertEquals(List.of(7L, 8L), offsets(reader.read(TOPIC, 0, 7, 2)), "served, not 503");
            assertEquals(List.of(9L, 10L), offsets(reader.read(TOPIC, 0, 9, 2)));
        }, "a read waited for room a walker would need");

        assertEquals(1, made.size(), "no walker fits: the seeker went on");
        assertEquals(1, reader.idleCount());
    }

    @Test
    void aReadAnIdleReaderCanServeAsksNoHolderOfTheBudgetToLetGo() {
        // The budget has no room for a walker; its other holders (consumer instances' records
        // read ahead, say) could let go of some. The idle seeker serves the walk instead.
        long walkerCost = HeldRecords.consumerCost(Map.of()); // Kafka's default fetch size
        MemoryBudget budget = new MemoryBudget("memory.consumers.max.bytes", SEEKER_COST + walkerCost - 1);
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        budget.addReclaimer(needed -> asked.incrementAndGet());
        OffsetReader reader = new OffsetReader(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092"),
                this::make, 4, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20, SessionMetrics.unreported(), budget);
        readers.add(reader);

        assertEquals(List.of(5L, 6L), offsets(reader.read(TOPIC, 0, 5, 2)));
        assertEquals(List.of(7L, 8L), offsets(reader.read(TOPIC, 0, 7, 2)));
        assertEquals(List.of(12L), offsets(reader.read(TOPIC, 0, 12, 1)));
        assertEquals(1, made.size(), "the seeker served every read");
        assertEquals(0, asked.get(), "nobody was asked to let go of memory for a reader not needed");
    }

    @Test
    void aSeekersFetchesAreNeverLargerThanConfigured() {
        OffsetReader reader = new OffsetReader(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092",
                ConsumerConfig.FETCH_MAX_BYTES_CONFIG, "4096", ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "2048"),
                this::make, 2, Duration.ofSeconds(1), FETCH_TIMEOUT, 1 << 20);
        readers.add(reader);

        assertEquals(List.of(9L), offsets(reader.read(TOPIC, 0, 9, 1)));

        assertEquals("4096", configs.get(0).get(ConsumerConfig.FETCH_MAX_BYTES_CONFIG));
        assertEquals("2048", configs.get(0).get(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG));
    }

    @Test
    void anIdleReaderIsClosedWhenAStreamNeedsItsMemory() {
        long streamCost = HeldRecords.consumerCost(Map.of()); // Kafka's default fetch size
        OffsetReader reader = budgeted(streamCost + SEEKER_COST / 2, 2, Duration.ofMillis(200));
        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)));
        assertEquals(1, reader.idleCount(), "the reader stays pooled, its cost counted");

        try (PartitionStream stream = reader.stream(TOPIC, 0, 5, null)) {
            assertEquals(5, stream.position());
            assertTrue(made.get(0).closed(), "the idle reader was closed to make room");
            assertEquals(0, reader.idleCount());
        }
        assertEquals(List.of(6L), offsets(reader.read(TOPIC, 0, 6, 1)), "a later read makes a reader again");
    }

    @Test
    void aReadThatFindsThePoolBusyWaitsThePoolTimeoutThenAnswers50301() throws Exception {
        Duration poolTimeout = Duration.ofMillis(200);
        OffsetReader reader = reader(1, poolTimeout, FETCH_TIMEOUT, 1 << 20);
        CountDownLatch blocked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        onCreate = c -> c.schedulePollTask(() -> {
            blocked.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Future<List<ConsumedRecord>> first = threads.submit(() -> reader.read(TOPIC, 0, 5, 2));
        assertTrue(blocked.await(5, TimeUnit.SECONDS), "the first read holds the only consumer");

        long start = System.nanoTime();
        RestException e = assertRestError(ErrorCode.NO_SIMPLE_CONSUMER_AVAILABLE, () -> reader.read(TOPIC, 0, 5, 1));
        Duration waited = Duration.ofNanos(System.nanoTime() - start);

        assertEquals(503, e.httpStatus());
        assertEquals(50301, e.body().errorCode());
        assertTrue(waited.compareTo(poolTimeout) >= 0, "waited the pool timeout: " + waited);
        release.countDown();
        assertEquals(List.of(5L, 6L), offsets(first.get(5, TimeUnit.SECONDS)));
        assertEquals(List.of(7L), offsets(reader.read(TOPIC, 0, 7, 1)), "the consumer is free again");
        assertEquals(1, made.size());
    }

    @Test
    void aKafkaFailureDiscardsTheConsumerAndTheNextReadMakesANewOne() {
        OffsetReader reader = reader();
        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)));
        LogConsumer broken = made.get(0);
        broken.setPollException(new KafkaException("boom"));

        RestException e = assertRestError(ErrorCode.KAFKA_ERROR, () -> reader.read(TOPIC, 0, 5, 1));

        assertEquals("Kafka error: boom", e.getMessage());
        awaitClosed(broken); // on the reader's closer, after the answer
        assertEquals(0, reader.idleCount());
        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)));
        assertEquals(2, made.size());
        assertFalse(made.get(1).closed());
    }

    @Test
    void aMetadataTimeoutAnswers50302AndDiscardsTheConsumer() {
        OffsetReader reader = reader();
        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)));
        made.get(0).setOffsetsException(new TimeoutException("no answer in time"));

        RestException e = assertRestError(ErrorCode.BROKER_NOT_AVAILABLE, () -> reader.read(TOPIC, 0, 5, 1));

        assertEquals(503, e.httpStatus());
        awaitClosed(made.get(0));
        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)));
        assertEquals(2, made.size());
    }

    @Test
    void concurrentReadsShareAtMostPoolSizeConsumersOneThreadAtATime() throws Exception {
        OffsetReader reader = reader(2, Duration.ofSeconds(10), FETCH_TIMEOUT, 1 << 20);
        List<Future<List<ConsumedRecord>>> reads = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            long offset = 5 + i % 10;
            reads.add(threads.submit(() -> reader.read(TOPIC, 0, offset, 3)));
        }

        for (int i = 0; i < reads.size(); i++) {
            long offset = 5 + i % 10;
            List<Long> expected = new ArrayList<>();
            for (long o = offset; o < Math.min(15, offset + 3); o++) {
                expected.add(o);
            }
            assertEquals(expected, offsets(reads.get(i).get(10, TimeUnit.SECONDS)));
        }
        assertTrue(made.size() <= 2, "made " + made.size());
        for (LogConsumer c : made) {
            assertEquals(List.of(), c.violations);
        }
    }

    @Test
    void aReadFindingThePoolFullWhileAWalkerIsMadeWaitsForTheSeekerInsteadOfMakingAThirdReader() throws Exception {
        OffsetReader reader = reader(2, Duration.ofMinutes(10), FETCH_TIMEOUT, 1 << 20);
        assertEquals(List.of(5L, 6L, 7L), offsets(reader.read(TOPIC, 0, 5, 3))); // a seeker, stopped at 8
        CountDownLatch making = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        onCreate = c -> {
            making.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        // A goes on with the walk: while its walker is made, A holds the seeker too.
        Future<List<ConsumedRecord>> a = threads.submit(() -> reader.read(TOPIC, 0, 8, 2));
        making.await();
        onCreate = c -> { };
        // B seeks elsewhere: the pool is full (the seeker and the walker being made), no reader is idle.
        java.util.concurrent.atomic.AtomicReference<Thread> bThread = new java.util.concurrent.atomic.AtomicReference<>();
        Future<List<ConsumedRecord>> b = threads.submit(() -> {
            bThread.set(Thread.currentThread());
            return reader.read(TOPIC, 0, 12, 1);
        });
        while (!b.isDone() && (bThread.get() == null || bThread.get().getState() != Thread.State.TIMED_WAITING)) {
            Thread.sleep(1);
        }
        release.countDown();

        assertEquals(List.of(8L, 9L), offsets(a.get(1, TimeUnit.MINUTES)));
        assertEquals(List.of(12L), offsets(b.get(1, TimeUnit.MINUTES)), "B was served by the seeker A gave back");
        assertEquals(2, made.size(), "a pool of two made no third reader");
    }

    @Test
    void aFailedReadAnswersWithoutWaitingForItsConsumersClose() throws Exception {
        OffsetReader reader = reader();
        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)));
        LogConsumer broken = made.get(0);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        broken.duringClose = () -> {
            try {
                release.await(1, TimeUnit.MINUTES); // a close that waits for Kafka
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        broken.setPollException(new KafkaException("boom"));
        assertRestError(ErrorCode.KAFKA_ERROR, () -> reader.read(TOPIC, 0, 5, 1)); // answered, the close held
        assertFalse(broken.closed());
        assertEquals(List.of(5L), offsets(reader.read(TOPIC, 0, 5, 1)), "the next read has a reader meanwhile");
        release.countDown();
        awaitClosed(broken);
        assertEquals("portico-reader-closer", broken.closedBy);
    }

    /** Until {@code consumer} is closed (it is closed off the read's thread), at most a minute. */
    private static void awaitClosed(LogConsumer consumer) {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (!consumer.closed() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(consumer.closed(), "the failed consumer is closed");
    }

    @Test
    void closeClosesTheIdleConsumersAndLaterReadsAnswer50301() {
        OffsetReader reader = reader();
        reader.read(TOPIC, 0, 5, 1);

        reader.close();

        assertTrue(made.get(0).closed());
        assertEquals(0, reader.idleCount());
        assertRestError(ErrorCode.NO_SIMPLE_CONSUMER_AVAILABLE, () -> reader.read(TOPIC, 0, 5, 1));
        assertEquals(1, made.size());
    }
}
