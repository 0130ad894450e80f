package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.PartitionOffset;
import io.portico.protocol.ProduceRecord;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;

/** Producing with Kafka's {@link MockProducer}: per-record results in request order, whole-request errors. */
class ProduceServiceTest {

    private static final String TOPIC = "orders";
    private static final Node NODE = new Node(0, "localhost", 9092);

    // ---- fixtures -------------------------------------------------------------------------

    private static Cluster clusterWith(String topic, int partitions) {
        Node[] nodes = {NODE};
        List<PartitionInfo> infos = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            infos.add(new PartitionInfo(topic, p, NODE, nodes, nodes));
        }
        return new Cluster("portico-test", List.of(NODE), infos, Set.of(), Set.of());
    }

    /** Acknowledges nothing until the test calls {@code completeNext()} / {@code errorNext()} (in send order). */
    private static MockProducer<byte[], byte[]> manualProducer(int partitions) {
        return new MockProducer<>(clusterWith(TOPIC, partitions), false, null,
                new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Acknowledges every record inside {@code send()}. */
    private static MockProducer<byte[], byte[]> autoProducer(int partitions) {
        return new MockProducer<>(clusterWith(TOPIC, partitions), true, null,
                new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static ProduceService serviceOver(Producer<byte[], byte[]> producer, ProduceService.TopicExistence topics) {
        return new ProduceService(new ProducerPool(Map.of(), config -> producer, Duration.ofSeconds(1)), topics);
    }

    private static ProduceService serviceOver(Producer<byte[], byte[]> producer) {
        return serviceOver(producer, NEVER_ASKED);
    }

    /** For paths that must not need to ask the cluster whether the topic exists. */
    private static final ProduceService.TopicExistence NEVER_ASKED = topic -> {
        throw new AssertionError("TopicExistence was asked about " + topic);
    };

    /** Answers a fixed value and remembers what it was asked. */
    private static final class FixedTopics implements ProduceService.TopicExistence {
        final boolean answer;
        final List<String> asked = new CopyOnWriteArrayList<>();

        FixedTopics(boolean answer) {
            this.answer = answer;
        }

        @Override
        public boolean exists(String topic) {
            asked.add(topic);
            return answer;
        }
    }

    /**
     * A {@link MockProducer} whose acknowledgements the test delivers in any order.
     * ({@code completeNext()}/{@code errorNext()} always complete the earliest send first.)
     * The mock acknowledges each record inside {@code send()}; the service's callback is held
     * back until {@link #acknowledge} or {@link #fail}. Sends happen on the test thread before
     * any delivery, so the lists need no locking when deliveries run on other threads.
     */
    private static final class ReorderingProducer extends MockProducer<byte[], byte[]> {
        private final List<Callback> callbacks = new ArrayList<>();
        private final List<RecordMetadata> acks = new ArrayList<>();

        ReorderingProducer(int partitions) {
            super(clusterWith(TOPIC, partitions), true, null, new ByteArraySerializer(), new ByteArraySerializer());
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
            Future<RecordMetadata> future = super.send(record, (metadata, e) -> acks.add(metadata));
            callbacks.add(callback);
            return future;
        }

        void acknowledge(int index) {
            callbacks.get(index).onCompletion(acks.get(index), null);
        }

        void fail(int index, Exception e) {
            callbacks.get(index).onCompletion(null, e);
        }

        int held() {
            return callbacks.size();
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ProduceRecord value(String value, Integer partition) {
        return new ProduceRecord(null, utf8(value), partition);
    }

    private static ProduceRecord keyed(String key, String value, Integer partition) {
        return new ProduceRecord(utf8(key), utf8(value), partition);
    }

    private static PartitionOffset failed(ErrorCode code, String error) {
        return PartitionOffset.failure(code, error);
    }

    private static List<PartitionOffset> done(CompletableFuture<List<PartitionOffset>> future) {
        assertTrue(future.isDone(), "the response is complete");
        assertFalse(future.isCompletedExceptionally(), "per-record failures never fail the whole response");
        return future.join();
    }

    // ---- what is sent, and what comes back -----------------------------------------------

    @Test
    void recordsReachTheProducerWithTheirTopicKeyValueAndPartition() {
        MockProducer<byte[], byte[]> producer = autoProducer(3);

        serviceOver(producer).produce(TOPIC, List.of(keyed("k1", "v1", 2), value("v2", null)));

        List<ProducerRecord<byte[], byte[]>> sent = producer.history();
        assertEquals(2, sent.size());
        assertEquals(TOPIC, sent.get(0).topic());
        assertArrayEquals(utf8("k1"), sent.get(0).key());
        assertArrayEquals(utf8("v1"), sent.get(0).value());
        assertEquals(2, sent.get(0).partition());
        assertEquals(TOPIC, sent.get(1).topic());
        assertNull(sent.get(1).key());
        assertArrayEquals(utf8("v2"), sent.get(1).value());
        assertNull(sent.get(1).partition(), "no partition: the producer's partitioner chooses");
    }

    @Test
    void aHeaderNameWithALoneSurrogateNeverReachesTheSharedProducer() throws Exception {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService service = serviceOver(producer);
        CompletableFuture<Throwable> failed = new CompletableFuture<>();
        service.send(TOPIC, null, null, null, utf8("v"), List.of(new io.portico.protocol.RecordHeader("\ud800", null)),
                (metadata, e) -> failed.complete(e));
        RestException e = assertInstanceOf(RestException.class, failed.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(400, e.httpStatus());
        CompletionException one = assertThrows(CompletionException.class, () -> service.produceOne(TOPIC, null,
                utf8("v"), List.of(Map.entry("ok\udc00", new byte[0]))).join());
        assertInstanceOf(RestException.class, one.getCause());
        assertEquals(List.of(), producer.history(), "nothing was sent");
    }

    @Test
    void aTimestampTheClusterWouldRefuseNeverReachesTheSharedProducer() throws Exception {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService.TopicExistence bounds = new ProduceService.TopicExistence() {
            @Override
            public boolean exists(String topic) {
                return true;
            }

            @Override
            public long timestampAfterMaxMs() {
                return 3_600_000; // an hour, Kafka 4's default
            }

            @Override
            public long timestampBeforeMaxMs() {
                return 86_400_000; // a day
            }
        };
        ProduceService service = serviceOver(producer, bounds);
        long now = System.currentTimeMillis();
        for (long refused : new long[] {now + 2 * 3_600_000L, now - 2 * 86_400_000L}) {
            CompletableFuture<Throwable> failed = new CompletableFuture<>();
            service.send(TOPIC, null, refused, null, utf8("v"), List.of(), (metadata, e) -> failed.complete(e));
            RestException e = assertInstanceOf(RestException.class, failed.get(10, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(400, e.httpStatus());
            assertTrue(e.getMessage().contains("log.message.timestamp."), e.getMessage());
        }
        assertEquals(List.of(), producer.history(), "nothing was sent");
        CompletableFuture<Throwable> sent = new CompletableFuture<>();
        service.send(TOPIC, null, now + 60_000, null, utf8("v"), List.of(), (metadata, e) -> sent.complete(e));
        assertNull(sent.get(10, java.util.concurrent.TimeUnit.SECONDS), "a minute ahead is fine");
        assertEquals(1, producer.history().size());
        // Bounds not known (the default): a year ahead goes to Kafka as it is.
        CompletableFuture<Throwable> unbounded = new CompletableFuture<>();
        serviceOver(producer, topic -> true).send(TOPIC, null, now + 365 * 86_400_000L, null, utf8("v"), List.of(),
                (metadata, e) -> unbounded.complete(e));
        assertNull(unbounded.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(2, producer.history().size());
    }

    @Test
    void aTopicsOwnTimestampBoundsAreKeptAsTheBrokersAre() throws Exception {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService.TopicExistence bounds = new ProduceService.TopicExistence() {
            @Override
            public boolean exists(String topic) {
                return true;
            }

            @Override
            public long timestampBeforeMaxMs(String topic) {
                return topic.equals(TOPIC) ? 86_400_000 : Long.MAX_VALUE; // a day on this topic, no bound elsewhere
            }
        };
        ProduceService service = serviceOver(producer, bounds);
        long twoDaysAgo = System.currentTimeMillis() - 2 * 86_400_000L;
        CompletableFuture<Throwable> refused = new CompletableFuture<>();
        service.send(TOPIC, null, twoDaysAgo, null, utf8("v"), List.of(), (metadata, e) -> refused.complete(e));
        RestException e = (RestException) refused.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(400, e.httpStatus());
        assertTrue(e.getMessage().contains("message.timestamp.before.max.ms"), e.getMessage());
        assertEquals(List.of(), producer.history(), "never sent to share a batch with others' records");
        CompletableFuture<Throwable> elsewhere = new CompletableFuture<>();
        service.send("other", null, twoDaysAgo, null, utf8("v"), List.of(), (metadata, x) -> elsewhere.complete(x));
        assertNull(elsewhere.get(10, java.util.concurrent.TimeUnit.SECONDS), "another topic has no such bound");
    }

    @Test
    void onceASendWaitedPastTheRequestsBoundNoneOfTheRestIsSent() {
        // Sends that wait 5 ms each for room (a full buffer), the request's bound passed already:
        // the first is sent and waits, then none of the rest.
        java.util.concurrent.atomic.AtomicBoolean full = new java.util.concurrent.atomic.AtomicBoolean();
        MockProducer<byte[], byte[]> producer = waitingWhenFull(full, false);
        ProduceService service = serviceOver(producer);
        done(service.produce(TOPIC, List.of(value("first", null)))); // the topic known: no look-up next
        List<ProduceRecord> many = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            many.add(value("v" + i, null));
        }
        List<PartitionOffset> inTime = done(service.produce(TOPIC, many.subList(0, 3), System.nanoTime() - 1));
        assertEquals(4, producer.history().size(), "sends that do not wait go on past the bound (a request that "
                + "waited for a thread): " + inTime);

        full.set(true);
        List<PartitionOffset> results = done(service.produce(TOPIC, many, System.nanoTime() - 1));

        assertEquals(4 + 1, producer.history().size(), "after a send that waited past the bound, none");
        for (int i = 0; i < 200; i++) {
            assertEquals(i >= 1, results.get(i).errorCode() != null, "record " + i + ": " + results.get(i));
        }
    }

    @Test
    void aRequestWaitsForItsTopicsSendLockNoLongerThanItsDeadlineThenSendsWithoutIt() throws Exception {
        // One request's records are handed to the producer under its topic's lock; a send that
        // blocks (a full buffer) holds it, and another request waits only until its deadline.
        java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        MockProducer<byte[], byte[]> producer = new MockProducer<>(clusterWith(TOPIC, 1), true, null,
                new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                    ProducerRecord<byte[], byte[]> record, org.apache.kafka.clients.producer.Callback callback) {
                if ("hold".equals(new String(record.value(), StandardCharsets.UTF_8))) {
                    entered.countDown();
                    try {
                        release.await(60, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return super.send(record, callback);
            }
        };
        ProduceService service = serviceOver(producer);
        done(service.produce(TOPIC, List.of(value("first", null)))); // the topic known
        CompletableFuture<List<PartitionOffset>> holding = CompletableFuture.supplyAsync(
                () -> done(service.produce(TOPIC, List.of(value("hold", null), value("after", null)))));
        assertTrue(entered.await(60, java.util.concurrent.TimeUnit.SECONDS));

        List<PartitionOffset> other = CompletableFuture.supplyAsync(() -> done(service.produce(TOPIC,
                List.of(value("x", null), value("y", null)), System.nanoTime() + 50_000_000L)))
                .get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(other.stream().allMatch(o -> o.errorCode() == null), other.toString());
        assertEquals(List.of("first", "x", "y"), sentValues(producer), "sent while the lock is held elsewhere");
        assertFalse(holding.isDone());

        release.countDown();
        assertTrue(holding.get(60, java.util.concurrent.TimeUnit.SECONDS).stream().allMatch(o -> o.errorCode() == null));
        assertEquals(List.of("first", "x", "y", "hold", "after"), sentValues(producer));
    }

    private static List<String> sentValues(MockProducer<byte[], byte[]> producer) {
        return producer.history().stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList();
    }

    @Test
    void aSlowSendPastTheBoundStopsTheRestOnlyWhenTheProducerSaysItWaitedForRoom() {
        // Each send takes 5 ms (a collection's pause, say); the producer's own count of the time
        // its sends waited for room in its buffer grows only while the buffer is full.
        java.util.concurrent.atomic.AtomicBoolean full = new java.util.concurrent.atomic.AtomicBoolean();
        MockProducer<byte[], byte[]> producer = waitingWhenFull(full, true);
        ProduceService service = serviceOver(producer);
        done(service.produce(TOPIC, List.of(value("first", null))));
        List<ProduceRecord> some = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            some.add(value("v" + i, null));
        }
        List<PartitionOffset> slow = done(service.produce(TOPIC, some, System.nanoTime() - 1));
        assertEquals(1 + 5, producer.history().size(), "slow sends that did not wait for room all go: " + slow);
        full.set(true);
        List<PartitionOffset> waiting = done(service.produce(TOPIC, some, System.nanoTime() - 1));
        assertEquals(1 + 5 + 1, producer.history().size(), "after one that waited for room, none: " + waiting);
    }

    /**
     * A producer whose sends take 5 ms while {@code full} (or always when {@code alwaysSlow}) and
     * whose {@code bufferpool-wait-time-ns-total} grows only while {@code full}: what a send waited
     * for room is told by the producer, not guessed from a machine's timing.
     */
    private static MockProducer<byte[], byte[]> waitingWhenFull(java.util.concurrent.atomic.AtomicBoolean full,
                                                                boolean alwaysSlow) {
        java.util.concurrent.atomic.AtomicLong waited = new java.util.concurrent.atomic.AtomicLong();
        MockProducer<byte[], byte[]> producer = new MockProducer<>(clusterWith(TOPIC, 1), true, null,
                new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                    ProducerRecord<byte[], byte[]> record, org.apache.kafka.clients.producer.Callback callback) {
                if (alwaysSlow || full.get()) {
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (full.get()) {
                    waited.addAndGet(5_000_000);
                }
                return super.send(record, callback);
            }
        };
        org.apache.kafka.common.MetricName name = new org.apache.kafka.common.MetricName(
                "bufferpool-wait-time-ns-total", "producer-metrics", "", Map.of());
        producer.setMockMetrics(name, new org.apache.kafka.common.Metric() {
            @Override
            public org.apache.kafka.common.MetricName metricName() {
                return name;
            }

            @Override
            public Object metricValue() {
                return (double) waited.get();
            }
        });
        return producer;
    }

    @Test
    void recordsAProducerClosedUnderTheRequestDidNotSendMayBeRetried() throws Exception {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService service = serviceOver(producer);
        done(service.produce(TOPIC, List.of(value("first", null)))); // the topic known
        producer.close(); // the shared producer was replaced and closed while a request was sending

        List<PartitionOffset> results = done(service.produce(TOPIC, List.of(value("late", null))));
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR.code(), results.get(0).errorCode(), results.toString());
        CompletionException one = assertThrows(CompletionException.class,
                () -> service.produceOne(TOPIC, null, utf8("late"), List.of()).join());
        assertEquals(503, KafkaErrors.forSingleRecord(one.getCause()).httpStatus(), one.getCause().toString());
    }

    /** Kafka's producer, closed while a send waits for buffer room or appends, throws these: nothing was appended. */
    @Test
    void recordsAClosingProducerCutShortWereNotSentAndMayBeRetried() {
        for (String message : List.of("Producer closed while send in progress", "Producer closed while allocating memory",
                "Requested metadata update after close")) { // the last: a send that waited for the topic's metadata
            MockProducer<byte[], byte[]> producer = autoProducer(1);
            ProduceService service = serviceOver(producer);
            done(service.produce(TOPIC, List.of(value("first", null)))); // the topic known
            producer.sendException = new org.apache.kafka.common.KafkaException(message);

            List<PartitionOffset> results = done(service.produce(TOPIC, List.of(value("late", null))));
            assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR.code(), results.get(0).errorCode(), message + ": " + results);
            CompletionException one = assertThrows(CompletionException.class,
                    () -> service.produceOne(TOPIC, null, utf8("late"), List.of()).join());
            assertEquals(503, KafkaErrors.forSingleRecord(one.getCause()).httpStatus(), one.getCause().toString());
        }
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService service = serviceOver(producer);
        done(service.produce(TOPIC, List.of(value("first", null))));
        producer.sendException = new org.apache.kafka.common.KafkaException("Unexpected error in the producer");
        List<PartitionOffset> results = done(service.produce(TOPIC, List.of(value("late", null))));
        assertEquals(ErrorCode.KAFKA_ERROR.code(), results.get(0).errorCode(), "any other failure stays one: " + results);
    }

    @Test
    void eachRecordReportsThePartitionAndOffsetItLandedAt() {
        MockProducer<byte[], byte[]> producer = autoProducer(3);
        ProduceService service = serviceOver(producer);

        List<PartitionOffset> first = done(service.produce(TOPIC,
                List.of(value("a", 1), value("b", 1), value("c", 2))));
        List<PartitionOffset> second = done(service.produce(TOPIC, List.of(value("d", 1))));

        assertEquals(List.of(
                PartitionOffset.success(1, 0),
                PartitionOffset.success(1, 1),
                PartitionOffset.success(2, 0)), first);
        assertEquals(List.of(PartitionOffset.success(1, 2)), second);
    }

    @Test
    void responseCompletesOnlyWhenTheLastCallbackHasFired() {
        MockProducer<byte[], byte[]> producer = manualProducer(1);

        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC,
                List.of(value("a", 0), value("b", 0), value("c", 0)));

        assertEquals(3, producer.history().size(), "every record is sent before any acknowledgement");
        assertFalse(future.isDone());
        assertTrue(producer.completeNext());
        assertFalse(future.isDone());
        assertTrue(producer.completeNext());
        assertFalse(future.isDone(), "one record still unacknowledged");
        assertTrue(producer.completeNext());

        assertEquals(List.of(
                PartitionOffset.success(0, 0),
                PartitionOffset.success(0, 1),
                PartitionOffset.success(0, 2)), done(future));
    }

    @Test
    void responseKeepsRequestOrderWhenAcksArriveOutOfOrder() {
        ReorderingProducer producer = new ReorderingProducer(3);

        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC,
                List.of(value("a", 2), value("b", 0), value("c", 1), value("d", 2)));
        assertEquals(4, producer.held());

        producer.acknowledge(3);
        producer.acknowledge(1);
        assertFalse(future.isDone());
        producer.acknowledge(2);
        assertFalse(future.isDone());
        producer.acknowledge(0);

        assertEquals(List.of(
                PartitionOffset.success(2, 0),
                PartitionOffset.success(0, 0),
                PartitionOffset.success(1, 0),
                PartitionOffset.success(2, 1)), done(future));
    }

    @Test
    void failuresArrivingOutOfOrderStayInTheirRecordsSlot() {
        ReorderingProducer producer = new ReorderingProducer(2);

        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC,
                List.of(value("a", 0), value("b", 1), value("c", 0)));

        producer.fail(2, new RecordTooLargeException("too large"));
        producer.acknowledge(0);
        assertFalse(future.isDone());
        producer.fail(1, new NotLeaderOrFollowerException("leader moved"));

        assertEquals(List.of(
                PartitionOffset.success(0, 0),
                failed(ErrorCode.KAFKA_RETRIABLE_ERROR, "leader moved"),
                failed(ErrorCode.KAFKA_ERROR, "too large")), done(future));
    }

    @Test
    void callbacksFiringConcurrentlyOnManyThreadsFillEverySlotInRequestOrder() throws Exception {
        int count = 400;
        int threads = 8;
        ReorderingProducer producer = new ReorderingProducer(1);
        List<ProduceRecord> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(value("r" + i, 0));
        }
        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC, records);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(42));

        CountDownLatch start = new CountDownLatch(1);
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                executor.execute(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    for (int k = thread; k < count; k += threads) {
                        producer.acknowledge(order.get(k));
                    }
                });
            }
            start.countDown();
            List<PartitionOffset> offsets = future.get(10, TimeUnit.SECONDS);

            assertEquals(count, offsets.size());
            for (int i = 0; i < count; i++) {
                assertEquals(PartitionOffset.success(0, i), offsets.get(i), "slot " + i);
            }
        } finally {
            executor.shutdownNow();
        }
    }

    // ---- per-record failures -------------------------------------------------------------

    @Test
    void nonRetriableSendFailureIs50002WithoutPartitionOrOffset() {
        MockProducer<byte[], byte[]> producer = manualProducer(1);
        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC,
                List.of(value("a", 0), value("b", 0)));

        producer.errorNext(new RecordTooLargeException("The message is 2000000 bytes"));
        producer.completeNext();

        List<PartitionOffset> offsets = done(future);
        PartitionOffset failure = offsets.get(0);
        assertNull(failure.partition());
        assertNull(failure.offset());
        assertEquals(50002, failure.errorCode());
        assertEquals("The message is 2000000 bytes", failure.error());
        assertEquals(PartitionOffset.success(0, 1), offsets.get(1), "the other record still succeeds");
    }

    @Test
    void retriableSendFailuresAre50003WithoutPartitionOrOffset() {
        MockProducer<byte[], byte[]> producer = manualProducer(1);
        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC,
                List.of(value("a", 0), value("b", 0), value("c", 0)));

        producer.errorNext(new NotLeaderOrFollowerException("not the leader"));
        producer.completeNext();
        producer.errorNext(new TimeoutException("Expiring 1 record(s) for orders-0"));

        assertEquals(List.of(
                new PartitionOffset(null, null, 50003, "not the leader"),
                PartitionOffset.success(0, 1),
                new PartitionOffset(null, null, 50003, "Expiring 1 record(s) for orders-0")), done(future));
    }

    @Test
    void sendThrowingSynchronouslyFailsOnlyThatRecord() {
        byte[] poison = utf8("poison");
        Serializer<byte[]> poisonous = (topic, data) -> {
            if (Arrays.equals(data, poison)) {
                throw new SerializationException("cannot serialize the poison");
            }
            return data;
        };
        MockProducer<byte[], byte[]> producer = new MockProducer<>(clusterWith(TOPIC, 1), true, null,
                new ByteArraySerializer(), poisonous);

        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC,
                // MockProducer serializes only to choose a partition, so the poison names none
                List.of(value("a", 0), new ProduceRecord(null, poison, null), value("c", 0)));

        assertEquals(List.of(
                PartitionOffset.success(0, 0),
                failed(ErrorCode.KAFKA_ERROR, "cannot serialize the poison"),
                PartitionOffset.success(0, 1)), done(future));
        assertEquals(2, producer.history().size(), "the records after the failed one are still sent");
    }

    @Test
    void retriableSynchronousSendFailureIs50003ForEveryRecord() {
        MockProducer<byte[], byte[]> producer = manualProducer(2);
        producer.sendException = new TimeoutException("Topic orders not present in metadata after 60000 ms.");

        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC,
                List.of(value("a", 0), value("b", 1)));

        PartitionOffset expected = failed(ErrorCode.KAFKA_RETRIABLE_ERROR,
                "Topic orders not present in metadata after 60000 ms.");
        assertEquals(List.of(expected, expected), done(future), "complete without any acknowledgement");
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void aClosedProducerFailsEveryRecordAsNotSentWith50003() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        producer.close();

        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC,
                List.of(value("a", 0), value("b", null)));

        List<PartitionOffset> offsets = done(future);
        assertEquals(2, offsets.size());
        for (PartitionOffset o : offsets) {
            assertNull(o.partition());
            assertNull(o.offset());
            assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR.code(), o.errorCode(), "nothing was sent: retrying may succeed");
            assertTrue(o.error().startsWith("not sent"), o.error());
        }
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void aSendOnceThePoolIsClosedIsTheRecordsFailureNotAnException() {
        // A streamed record sent after shutdown closed the producers: its caller must hear of it
        // through the delivery (a thrown exception ended a v3 stream's sending for good).
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProducerPool pool = new ProducerPool(Map.of(), config -> producer, Duration.ofSeconds(1));
        ProduceService service = new ProduceService(pool, NEVER_ASKED);
        pool.close();
        List<Throwable> failures = new ArrayList<>();
        service.send(TOPIC, 0, null, null, new byte[] {1}, List.of(), (landed, failure) -> {
            assertNull(landed);
            failures.add(failure);
        });
        assertEquals(1, failures.size(), "told once, through the delivery");
        assertEquals(503, KafkaErrors.v3RecordError(failures.get(0)).errorCode());
        assertTrue(producer.history().isEmpty());
    }

    // ---- whole-request errors -------------------------------------------------------------

    @Test
    void partitionBeyondTheTopicIsPartitionNotFoundAndNothingIsSent() {
        MockProducer<byte[], byte[]> producer = autoProducer(3);
        ProduceService service = serviceOver(producer, new ProduceService.TopicExistence() {
            @Override
            public boolean exists(String topic) {
                return true;
            }

            @Override
            public int recentPartitionCount(String topic) {
                return 3; // the cluster says it has no more than the producer knows
            }
        });
        List<ProduceRecord> records = List.of(value("fine", 0), value("fine too", null), value("nowhere", 3));

        RestException e = assertThrows(RestException.class, () -> service.produce(TOPIC, records));

        assertEquals(ErrorCode.PARTITION_NOT_FOUND, e.errorCode());
        assertEquals(404, e.httpStatus());
        assertEquals(40402, e.body().errorCode());
        assertTrue(producer.history().isEmpty(), "not even the valid records before it are sent");
    }

    @Test
    void aPartitionPastWhatTheProducerKnowsWhenTheClusterCannotSayIs503NotPartitionNotFound() {
        MockProducer<byte[], byte[]> producer = autoProducer(3);
        ProduceService.TopicExistence silent = new ProduceService.TopicExistence() {
            @Override
            public boolean exists(String topic) {
                return true;
            }

            @Override
            public int recentPartitionCount(String topic) {
                return -1; // the cluster did not answer in time
            }
        };
        ProduceService service = serviceOver(producer, silent);

        // The topic may have gained partition 5 since the producer learned of it: not a 4xx a client takes as final.
        RestException e = assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("new", 5))));
        assertEquals(503, e.httpStatus());
        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, e.errorCode());
        assertEquals(503, assertThrows(RestException.class,
                () -> service.prepare(TOPIC, System.nanoTime() + 1_000_000_000L, 5)).httpStatus());
        assertEquals(3, service.prepare(TOPIC, System.nanoTime() + 1_000_000_000L, 2), "a partition it knows: no question");
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void highestExistingPartitionIsAccepted() {
        MockProducer<byte[], byte[]> producer = autoProducer(3);

        List<PartitionOffset> offsets = done(serviceOver(producer).produce(TOPIC, List.of(value("last", 2))));

        assertEquals(List.of(PartitionOffset.success(2, 0)), offsets);
    }

    @Test
    void metadataTimeoutForAMissingTopicIsTopicNotFound() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        producer.partitionsForException = new TimeoutException("Topic ghosts not present in metadata after 60000 ms.");
        FixedTopics topics = new FixedTopics(false);
        ProduceService service = serviceOver(producer, topics);

        RestException e = assertThrows(RestException.class, () -> service.produce("ghosts", List.of(value("a", null))));

        assertEquals(ErrorCode.TOPIC_NOT_FOUND, e.errorCode());
        assertEquals(40401, e.body().errorCode());
        assertEquals(List.of("ghosts"), topics.asked, "the cluster is asked about that topic, once");
        assertTrue(producer.history().isEmpty());

        // The cluster did not create it: the next unknown name is asked about before the producer
        // looks it up (a flood of names that do not exist would hold the look-up threads).
        producer.partitionsForException = new IllegalStateException("the producer looked up phantoms");
        assertEquals(ErrorCode.TOPIC_NOT_FOUND, assertThrows(RestException.class,
                () -> service.produce("phantoms", List.of(value("a", null)))).errorCode());
        assertEquals(List.of("ghosts", "phantoms"), topics.asked);
    }

    @Test
    void metadataTimeoutForAnExistingTopicIsBrokerNotAvailable503() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        TimeoutException timeout = new TimeoutException("Topic orders not present in metadata after 60000 ms.");
        producer.partitionsForException = timeout;
        FixedTopics topics = new FixedTopics(true);
        ProduceService service = serviceOver(producer, topics);

        RestException e = assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("a", null))));

        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, e.errorCode());
        assertEquals(503, e.httpStatus());
        assertEquals(50302, e.body().errorCode());
        assertEquals("Broker not available: Topic orders not present in metadata after 60000 ms.", e.getMessage());
        assertSame(timeout, e.getCause());
        assertEquals(List.of(TOPIC), topics.asked);
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void clusterNotAnsweringWhetherTheTopicExistsFailsWithItsError() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        producer.partitionsForException = new TimeoutException("no metadata");
        RestException unavailable = ErrorCode.BROKER_NOT_AVAILABLE.exception("the cluster did not answer within 5000 ms");
        ProduceService service = serviceOver(producer, topic -> {
            throw unavailable;
        });

        RestException e = assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("a", null))));

        assertSame(unavailable, e);
        assertEquals(503, e.httpStatus());
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void otherMetadataFailuresAreMappedByClassWithoutAskingWhetherTheTopicExists() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        producer.partitionsForException = new TopicAuthorizationException(Set.of(TOPIC));
        ProduceService service = serviceOver(producer); // NEVER_ASKED

        RestException e = assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("a", null))));

        assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR, e.errorCode());
        assertEquals(403, e.httpStatus());
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void topicWithoutPartitionsIsTopicNotFound() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(clusterWith("some-other-topic", 2), true, null,
                new ByteArraySerializer(), new ByteArraySerializer());
        ProduceService service = serviceOver(producer); // an empty answer needs no second opinion

        RestException e = assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("a", null))));

        assertEquals(ErrorCode.TOPIC_NOT_FOUND, e.errorCode());
        assertTrue(producer.history().isEmpty());
    }

    // ---- edge cases -------------------------------------------------------------------------

    @Test
    void anEmptyRecordListCompletesAtOnceWithNoOffsets() {
        MockProducer<byte[], byte[]> producer = manualProducer(1);

        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC, List.of());

        assertTrue(future.isDone());
        assertEquals(List.of(), future.join());
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void aFailureWithoutAMessageIsReportedByItsKind() {
        MockProducer<byte[], byte[]> producer = manualProducer(1);
        CompletableFuture<List<PartitionOffset>> future = serviceOver(producer).produce(TOPIC, List.of(value("a", 0)));

        producer.errorNext(new NotLeaderOrFollowerException());

        assertEquals(List.of(new PartitionOffset(null, null, 50003, "NotLeaderOrFollowerException")), done(future));
    }

    // ---- one bound per request, hostile names, internal topics, a broken producer ------------

    /** Never answers a look-up of a topic it does not know until the test lets it. */
    private static final class StuckProducer extends MockProducer<byte[], byte[]> {
        final CountDownLatch release = new CountDownLatch(1);

        StuckProducer() {
            super(clusterWith(TOPIC, 1), true, null, new ByteArraySerializer(), new ByteArraySerializer());
        }

        @Override
        public synchronized List<PartitionInfo> partitionsFor(String topic) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return super.partitionsFor(topic);
        }
    }

    @Test
    void aLookUpThatDoesNotAnswerEndsAtTheDeadlineAndTheClusterIsAskedOnlyForTheRest() {
        StuckProducer producer = new StuckProducer();
        List<Duration> asked = new CopyOnWriteArrayList<>();
        ProduceService.TopicExistence topics = new ProduceService.TopicExistence() {
            @Override
            public boolean exists(String topic) {
                throw new AssertionError("asked without a bound");
            }

            @Override
            public boolean exists(String topic, Duration timeout) {
                asked.add(timeout);
                return false;
            }
        };
        ExecutorService lookups = Executors.newSingleThreadExecutor();
        try {
            ProduceService service = new ProduceService(new ProducerPool(Map.of(), config -> producer, Duration.ofSeconds(1)),
                    topics, SessionMetrics.unreported(),
                    new ProduceService.Options(Duration.ofSeconds(5), false, lookups));
            long start = System.nanoTime();
            long deadline = start + Duration.ofSeconds(5).toNanos();

            RestException e = assertThrows(RestException.class,
                    () -> service.produce(TOPIC, List.of(value("a", null)), deadline));

            assertEquals(ErrorCode.TOPIC_NOT_FOUND, e.errorCode());
            assertEquals(1, asked.size());
            assertTrue(asked.get(0).toNanos() <= deadline - start, "only what is left of the bound: " + asked.get(0));
            producer.release.countDown(); // (the mock's methods share one lock with the stuck look-up)
            assertTrue(producer.history().isEmpty());
        } finally {
            producer.release.countDown();
            lookups.shutdownNow();
        }
    }

    @Test
    void aRequestPastItsDeadlineIsA503WithoutAskingAnything() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService service = serviceOver(producer); // NEVER_ASKED

        RestException e = assertThrows(RestException.class,
                () -> service.produce(TOPIC, List.of(value("a", null)), System.nanoTime() - 1));

        assertEquals(503, e.httpStatus());
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void topicNamesKafkaCannotTakeAreRefusedBeforeTheProducerSeesThem() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService service = serviceOver(producer);
        for (String bad : List.of("x".repeat(40_000), "", ".", "..", "a b", "caf\u00e9", "a/b")) {
            RestException e = assertThrows(RestException.class, () -> service.produce(bad, List.of(value("a", null))));
            assertEquals(400, e.httpStatus(), bad);
            assertTrue(e.getMessage().length() < 300, "the name is not echoed whole");
            assertThrows(RestException.class, () -> service.produceOne(bad, null, new byte[1], List.of()));
        }
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void internalTopicsAreRefusedUnlessAllowed() {
        MockProducer<byte[], byte[]> producer = new MockProducer<>(clusterWith("__consumer_offsets", 1), true, null,
                new ByteArraySerializer(), new ByteArraySerializer());
        ProducerPool pool = new ProducerPool(Map.of(), config -> producer, Duration.ofSeconds(1));
        ProduceService refusing = new ProduceService(pool, NEVER_ASKED);
        RestException e = assertThrows(RestException.class,
                () -> refusing.produce("__consumer_offsets", List.of(value("a", null))));
        assertEquals(403, e.httpStatus());
        assertThrows(RestException.class, () -> refusing.produce("__anything", List.of(value("a", null))));
        assertTrue(producer.history().isEmpty());

        ProduceService allowing = new ProduceService(pool, NEVER_ASKED, SessionMetrics.unreported(),
                new ProduceService.Options(Duration.ofMinutes(1), true, Runnable::run));
        assertEquals(List.of(PartitionOffset.success(0, 0)),
                done(allowing.produce("__consumer_offsets", List.of(value("a", null)))));
    }

    @Test
    void aProducerThatKeepsFailingToLearnOfExistingTopicsIsReplacedOnce() throws Exception {
        List<MockProducer<byte[], byte[]>> made = new CopyOnWriteArrayList<>();
        ProducerPool pool = new ProducerPool(Map.of(), config -> {
            MockProducer<byte[], byte[]> p = autoProducer(1);
            if (made.isEmpty()) {
                p.partitionsForException = new TimeoutException("Topic orders not present in metadata after 5000 ms.");
            }
            made.add(p);
            return p;
        }, Duration.ofSeconds(1), Duration.ofHours(1));
        ProduceService service = new ProduceService(pool, new FixedTopics(true));

        for (int i = 0; i < 3; i++) { // one failure proves nothing: a topic just created may take a moment
            RestException e = assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("a", null))));
            assertEquals(503, e.httpStatus());
            assertEquals(1, made.size(), "not replaced before the third failure in a row");
        }
        assertEquals(List.of(PartitionOffset.success(0, 0)), done(service.produce(TOPIC, List.of(value("b", null)))),
                "the next request gets a new producer");
        assertEquals(2, made.size());
        // Closed in the background, on a thread started for it: waited for up to 30 s.
        assertTrue(SessionTestConsumer.waitUntil(() -> made.get(0).closed(), Duration.ofSeconds(30)),
                "the broken producer is closed");
        assertFalse(pool.replaceShared(made.get(1), "again"), "at most once per interval");
    }

    @Test
    void aSharedProducerKafkaLeftInAFatalStateIsReplacedAtOnceAndNeverUsedAgain() throws Exception {
        List<MockProducer<byte[], byte[]>> made = new CopyOnWriteArrayList<>();
        ProducerPool pool = new ProducerPool(Map.of(), config -> {
            MockProducer<byte[], byte[]> p = manualProducer(1);
            made.add(p);
            return p;
        }, Duration.ofSeconds(1), Duration.ofHours(1));
        ProduceService service = new ProduceService(pool, NEVER_ASKED);
        assertTrue(pool.replaceShared(pool.shared(), "an earlier replacement, within the interval"));
        assertEquals(1, made.size());

        CompletableFuture<List<PartitionOffset>> refused = service.produce(TOPIC, List.of(value("a", null)));
        MockProducer<byte[], byte[]> fatal = made.get(1);
        fatal.errorNext(new org.apache.kafka.common.errors.ClusterAuthorizationException(
                "Cluster authorization failed (IDEMPOTENT_WRITE)"));
        assertEquals(ErrorCode.KAFKA_ERROR.code(), done(refused).get(0).errorCode());

        CompletableFuture<List<PartitionOffset>> next = service.produce(TOPIC, List.of(value("b", null)));
        assertEquals(3, made.size(), "replaced at once, though another replacement was within the interval");
        assertTrue(fatal.history().size() == 1, "the fatal producer got nothing more");
        made.get(2).completeNext();
        assertEquals(List.of(PartitionOffset.success(0, 0)), done(next));
        // Closed in the background, on a thread started for it: waited for up to 30 s.
        assertTrue(SessionTestConsumer.waitUntil(fatal::closed, Duration.ofSeconds(30)), "the fatal producer is closed");
    }

    @Test
    void failuresThatLeaveTheProducerWorkingDoNotReplaceIt() {
        List<MockProducer<byte[], byte[]>> made = new CopyOnWriteArrayList<>();
        ProducerPool pool = new ProducerPool(Map.of(), config -> {
            MockProducer<byte[], byte[]> p = manualProducer(1);
            made.add(p);
            return p;
        }, Duration.ofSeconds(1), Duration.ZERO);
        ProduceService service = new ProduceService(pool, NEVER_ASKED);
        for (RuntimeException e : List.of(new RecordTooLargeException("big"), new TopicAuthorizationException("no"),
                new NotLeaderOrFollowerException("moved"), new TimeoutException("expired"))) {
            CompletableFuture<List<PartitionOffset>> r = service.produce(TOPIC, List.of(value("a", null)));
            made.get(0).errorNext(e);
            done(r);
        }
        assertEquals(1, made.size());
        assertTrue(ProduceService.leavesProducerFatal(new org.apache.kafka.common.errors.ProducerFencedException("x")));
        assertTrue(ProduceService.leavesProducerFatal(new org.apache.kafka.common.errors.UnsupportedVersionException("x")));
        assertTrue(ProduceService.leavesProducerFatal(
                new org.apache.kafka.common.errors.TransactionalIdAuthorizationException("x")));
    }

    @Test
    void recordsGoThroughAGivenProducerWhileTheSharedOneStillKnowsTheTopic() {
        MockProducer<byte[], byte[]> shared = autoProducer(2);
        MockProducer<byte[], byte[]> keyed = autoProducer(2);
        ProduceService service = serviceOver(shared);
        assertEquals(List.of(PartitionOffset.success(1, 0)), done(service.produce(TOPIC, List.of(value("a", 1)),
                service.deadlineFromNow(), KafkaErrors::perRecordCode, keyed)));
        assertEquals(1, keyed.history().size());
        assertTrue(shared.history().isEmpty());
        assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("a", 2)),
                service.deadlineFromNow(), KafkaErrors::perRecordCode, keyed), "partitions checked as without it");
    }

    // ---- each API key's share of the shared producer's buffer ------------------------------

    /** A service whose shared producer has a 20,000-byte buffer and 1,000-byte batches: a key's share is 10,000. */
    private static ProduceService sharedOver(Producer<byte[], byte[]> producer) {
        return new ProduceService(new ProducerPool(Map.of("buffer.memory", "20000", "batch.size", "1000"),
                config -> producer, Duration.ofSeconds(1)), NEVER_ASKED);
    }

    @Test
    void aKeysRecordsWaitingInManyPartitionsHoldAtMostHalfTheBufferAndOthersStillProduce() {
        MockProducer<byte[], byte[]> producer = manualProducer(50);
        ProduceService service = sharedOver(producer);
        ProducerShares.Account a = service.share("a");
        List<ProduceRecord> sprayed = new ArrayList<>();
        for (int p = 0; p < 12; p++) {
            sprayed.add(value("v", p)); // one record per partition: a batch of the buffer each
        }
        CompletableFuture<List<PartitionOffset>> first = service.produce(TOPIC, sprayed, service.deadlineFromNow(),
                KafkaErrors::perRecordCode, null, a);
        assertEquals(9, producer.history().size(), "nine partitions' batches fit in the key's half; the rest are not sent");

        RestException refused = assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("w", 0)),
                service.deadlineFromNow(), KafkaErrors::perRecordCode, null, a), "while they wait, the key's next request");
        assertEquals(429, refused.httpStatus());
        assertTrue(refused.getMessage().contains("producer.buffer.memory"), refused.getMessage());
        assertEquals(429, assertThrows(RestException.class,
                () -> service.produceOneAtOnce(TOPIC, null, utf8("w"), List.of(), a)).httpStatus());
        assertEquals(9, producer.history().size());

        CompletableFuture<List<PartitionOffset>> other = service.produce(TOPIC, List.of(value("b", 20)),
                service.deadlineFromNow(), KafkaErrors::perRecordCode, null, service.share("b"));
        assertEquals(10, producer.history().size(), "another key's record is sent");

        while (producer.completeNext()) {
            // Kafka acknowledges them
        }
        List<PartitionOffset> offsets = first.join();
        for (int p = 0; p < 9; p++) {
            assertNull(offsets.get(p).errorCode(), "record " + p);
        }
        for (int p = 9; p < 12; p++) {
            assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR.code(), offsets.get(p).errorCode(), "record " + p);
            assertTrue(offsets.get(p).error().contains("share"), offsets.get(p).error());
        }
        assertNull(other.join().get(0).errorCode());
        assertEquals(0, service.shares().heldBy("a"), "acknowledged: given back");
        service.produce(TOPIC, List.of(value("again", 0)), service.deadlineFromNow(), KafkaErrors::perRecordCode, null, a);
        assertEquals(11, producer.history().size(), "the key produces again");
    }

    @Test
    void aRecordPastTheShareIsNotOvertakenInItsPartitionByTheRequestsLaterRecords() {
        MockProducer<byte[], byte[]> producer = manualProducer(50);
        ProduceService service = sharedOver(producer);
        List<ProduceRecord> records = List.of(
                value("a", 0),
                new ProduceRecord(null, new byte[9_500], 0), // past the key's 10,000 with partition 0's batch
                value("b", 0), // would fit, but would land before the refused record its client retries
                value("c", 1), // another partition: nothing to overtake
                value("d", null), // anywhere: it might land before the refused one
                value("e", 2)); // might overtake d, held back in its turn
        CompletableFuture<List<PartitionOffset>> result = service.produce(TOPIC, records, service.deadlineFromNow(),
                KafkaErrors::perRecordCode, null, service.share("a"));
        assertEquals(List.of("a", "c"), producer.history().stream().map(r -> new String(r.value(),
                java.nio.charset.StandardCharsets.UTF_8)).toList());
        while (producer.completeNext()) {
            // Kafka acknowledges them
        }
        List<PartitionOffset> offsets = result.join();
        for (int i = 0; i < offsets.size(); i++) {
            assertEquals(i == 0 || i == 3 ? null : ErrorCode.KAFKA_RETRIABLE_ERROR.code(), offsets.get(i).errorCode(),
                    "record " + i);
        }
    }

    @Test
    void keyedRecordsCountInThePartitionsTheirKeysGoTo() {
        MockProducer<byte[], byte[]> producer = manualProducer(50);
        ProduceService service = sharedOver(producer);
        List<ProduceRecord> records = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            records.add(keyed("key-" + i, "v", null));
        }
        service.produce(TOPIC, records, service.deadlineFromNow(), KafkaErrors::perRecordCode, null, service.share("a"));
        // Kafka's partitioner puts a key in murmur2(key) mod 50: the first nine partitions the keys
        // go to fit the share, and so does every later record going to one of them.
        Set<Integer> open = new java.util.HashSet<>();
        int expected = 0;
        for (int i = 0; i < 40; i++) {
            int partition = org.apache.kafka.common.utils.Utils.toPositive(
                    org.apache.kafka.common.utils.Utils.murmur2(utf8("key-" + i))) % 50;
            if (open.contains(partition) || open.size() < 9 && open.add(partition)) {
                expected++;
            }
        }
        assertTrue(expected < 40, "the keys go to more than nine partitions");
        assertEquals(expected, producer.history().size(), "keys spread over partitions count a batch each");

        MockProducer<byte[], byte[]> second = manualProducer(50);
        ProduceService one = sharedOver(second);
        List<ProduceRecord> sameKey = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            sameKey.add(keyed("same", "v", null));
        }
        one.produce(TOPIC, sameKey, one.deadlineFromNow(), KafkaErrors::perRecordCode, null, one.share("a"));
        assertEquals(40, second.history().size(), "one key's records go to one partition: one batch");
    }

    @Test
    void aSingleRecordPastTheShareIs429AndAV3RecordReports429() throws Exception {
        MockProducer<byte[], byte[]> producer = manualProducer(50);
        ProduceService service = sharedOver(producer);
        ProducerShares.Account a = service.share("a");
        for (int p = 0; p < 9; p++) {
            service.send(TOPIC, p, null, null, utf8("v"), List.of(), (m, e) -> { }, null, a, 50);
        }
        CompletableFuture<Throwable> v3 = new CompletableFuture<>();
        service.send(TOPIC, 9, null, null, utf8("v"), List.of(), (m, e) -> v3.complete(e), null, a, 50);
        Throwable failure = v3.get(10, TimeUnit.SECONDS);
        assertEquals(429, KafkaErrors.v3RecordError(failure).errorCode());
        assertFalse(service.sendAtOnce(TOPIC, 0, null, null, utf8("v"), List.of(), (m, e) -> { }, a),
                "not sent at once while the key holds its share");
        assertEquals(429, assertThrows(RestException.class, () -> service.produceOne(TOPIC, utf8("k"), utf8("v"),
                List.of(), service.deadlineFromNow(), null, a)).httpStatus(), "the whole request");
        assertEquals(9, producer.history().size());
    }

    @Test
    void aRecordsHeadersCountInItsShareAsItsValueDoes() throws Exception {
        MockProducer<byte[], byte[]> producer = manualProducer(50);
        ProduceService service = sharedOver(producer);
        ProducerShares.Account a = service.share("a");
        service.send(TOPIC, 0, null, null, utf8("v"), List.of(), (m, e) -> { }, null, a, 50);
        CompletableFuture<Throwable> refused = new CompletableFuture<>();
        service.send(TOPIC, 0, null, null, utf8("v"),
                List.of(new io.portico.protocol.RecordHeader("h", new byte[9500])), (m, e) -> refused.complete(e), null, a, 50);
        assertEquals(429, KafkaErrors.v3RecordError(refused.get(10, TimeUnit.SECONDS)).errorCode(),
                "an empty value with 9,500 bytes of headers does not fit what is left of the share");
        assertEquals(1, producer.history().size());
    }

    @Test
    void aRecordOfTheRecordsEndpointThatDoesNotFitTheShareFailsWith429() {
        MockProducer<byte[], byte[]> producer = manualProducer(50);
        ProduceService service = sharedOver(producer);
        ProducerShares.Account a = service.share("a");
        service.produceOne(TOPIC, null, utf8("v"), List.of(), service.deadlineFromNow(), null, a);
        java.util.concurrent.ExecutionException one = assertThrows(java.util.concurrent.ExecutionException.class,
                () -> service.produceOne(TOPIC, utf8("k"), new byte[9000], List.of(), service.deadlineFromNow(), null, a)
                        .get(10, TimeUnit.SECONDS));
        assertEquals(429, assertInstanceOf(RestException.class, one.getCause()).httpStatus());
        assertEquals(1, producer.history().size(), "not sent");
        producer.completeNext();
        assertEquals(0, service.shares().heldBy("a"));
    }

    @Test
    void aFullBufferSaysNothingOfTheTopic() {
        // BufferExhaustedException is a TimeoutException: taken as a missing topic, every client's
        // requests for the topic went to the look-ups.
        assertFalse(ProduceService.topicMissing(new org.apache.kafka.clients.producer.BufferExhaustedException("full")));
        assertFalse(ProduceService.topicMissing(new java.util.concurrent.CompletionException(
                new org.apache.kafka.clients.producer.BufferExhaustedException("full"))));
        assertTrue(ProduceService.topicMissing(new org.apache.kafka.common.errors.TimeoutException("no metadata")));
        assertTrue(ProduceService.topicMissing(new org.apache.kafka.common.errors.UnknownTopicOrPartitionException("x")));
        assertFalse(ProduceService.topicMissing(new org.apache.kafka.common.errors.RecordTooLargeException("big")));
    }

    // ---- timestamps near the topic's bounds ------------------------------------------------

    /** An instant of the injected wall clock. */
    private static final long NOW = 1_700_000_000_000L;

    /** Bounds of an hour ahead and a day behind, as {@code timestamp.*.max.ms} say; {@code delivery}: the producer's delivery.timeout.ms, or null. */
    private static ProduceService boundedAt(MockProducer<byte[], byte[]> producer, long after, long before, String delivery) {
        ProduceService.TopicExistence bounds = new ProduceService.TopicExistence() {
            @Override
            public boolean exists(String topic) {
                return true;
            }

            @Override
            public long timestampAfterMaxMs() {
                return after;
            }

            @Override
            public long timestampBeforeMaxMs() {
                return before;
            }
        };
        Map<String, Object> config = delivery == null ? Map.of() : Map.of("delivery.timeout.ms", delivery);
        return new ProduceService(new ProducerPool(config, c -> producer, Duration.ofSeconds(1)), bounds)
                .wallClock(() -> NOW);
    }

    /** What a record with {@code timestamp} sent with {@link ProduceService#send} was told: null when it was sent. */
    private static Throwable toldAt(ProduceService service, long timestamp) throws Exception {
        CompletableFuture<Throwable> told = new CompletableFuture<>();
        service.send(TOPIC, null, timestamp, null, utf8("v"), List.of(), (metadata, e) -> told.complete(e));
        return told.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aTimestampWithinTheDeliveryTimeoutAndClockSkewOfItsBoundIsRefused() throws Exception {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService service = boundedAt(producer, 3_600_000, 86_400_000, "30000");

        // Behind: the broker may append it up to the delivery timeout (30 s) later, clocks 5 s apart.
        long oldest = NOW - (86_400_000 - 35_000);
        RestException tooOld = assertInstanceOf(RestException.class, toldAt(service, oldest - 1));
        assertEquals(400, tooOld.httpStatus());
        assertEquals(ErrorCode.BAD_REQUEST, tooOld.errorCode());
        assertTrue(tooOld.getMessage().contains("too close to the topic's bound of 86400000 ms"), tooOld.getMessage());
        assertTrue(tooOld.getMessage().contains("34999 ms from it where 35000 ms are needed"), tooOld.getMessage());
        assertTrue(tooOld.getMessage().contains("message.timestamp.before.max.ms"), tooOld.getMessage());
        assertNull(toldAt(service, oldest), "just outside the margin");
        assertEquals(1, producer.history().size());

        // Ahead: only the clocks' difference.
        long latest = NOW + (3_600_000 - 5_000);
        RestException tooNew = assertInstanceOf(RestException.class, toldAt(service, latest + 1));
        assertEquals(400, tooNew.httpStatus());
        assertTrue(tooNew.getMessage().contains("too close to the topic's bound of 3600000 ms"), tooNew.getMessage());
        assertTrue(tooNew.getMessage().contains("4999 ms from it where 5000 ms are needed"), tooNew.getMessage());
        assertTrue(tooNew.getMessage().contains("message.timestamp.after.max.ms"), tooNew.getMessage());
        assertNull(toldAt(service, latest), "just outside the margin");
        assertEquals(2, producer.history().size());

        // Past the bounds themselves: refused as before.
        for (long beyond : new long[] {NOW - 86_400_001, NOW + 3_600_001}) {
            RestException e = assertInstanceOf(RestException.class, toldAt(service, beyond));
            assertTrue(e.getMessage().contains("the cluster refuses it"), e.getMessage());
        }
        assertEquals(2, producer.history().size(), "nothing refused was sent");
    }

    @Test
    void theBeforeMarginIsKafkasDefaultDeliveryTimeoutWhenNoneIsSet() throws Exception {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService service = boundedAt(producer, 3_600_000, 86_400_000, null);
        long oldest = NOW - (86_400_000 - 125_000); // 120 s and the skew
        assertInstanceOf(RestException.class, toldAt(service, oldest - 1));
        assertNull(toldAt(service, oldest));
    }

    @Test
    void boundsSmallerThanTwiceTheirMarginKeepTheirHalfNextToNowAndNoBoundRefusesNothing() throws Exception {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProduceService small = boundedAt(producer, 3_000, 10_000, "30000");
        assertNull(toldAt(small, NOW - 5_000), "half of a 10 s bound before now");
        assertInstanceOf(RestException.class, toldAt(small, NOW - 5_001));
        assertNull(toldAt(small, NOW + 1_500), "half of a 3 s bound ahead");
        assertInstanceOf(RestException.class, toldAt(small, NOW + 1_501));
        assertNull(toldAt(small, NOW), "now is on neither side");

        // Unset (Long.MAX_VALUE) or nearly: no bound, and no overflow at the far ends.
        for (long bound : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 1}) {
            ProduceService unbounded = boundedAt(producer, bound, bound, "30000");
            assertNull(toldAt(unbounded, 0), "1970, bound " + bound);
            assertNull(toldAt(unbounded, Long.MAX_VALUE), "the far future, bound " + bound);
        }
        assertEquals(7, producer.history().size());
    }

    // ---- an Error thrown by the producer's send --------------------------------------------

    /** Sends as its {@link MockProducer} does (acknowledging at once) until armed with an error its send then throws. */
    private static final class ThrowingProducer extends MockProducer<byte[], byte[]> {
        volatile Error error;

        ThrowingProducer() {
            super(clusterWith(TOPIC, 2), true, null, new ByteArraySerializer(), new ByteArraySerializer());
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
            Error e = error;
            if (e != null) {
                throw e; // as Kafka's lets an OutOfMemoryError allocating a batch's buffer through
            }
            return super.send(record, callback);
        }
    }

    @Test
    void anOutOfMemoryErrorThrownBySendFailsTheRecordAndGivesItsShareBackBeforeItIsThrownOn() throws Exception {
        // (The at-once paths need Kafka's own producer: ProduceServiceKafkaTest.)
        ThrowingProducer producer = new ThrowingProducer();
        ProduceService service = sharedOver(producer);
        ProducerShares.Account a = service.share("a");
        assertNull(service.produce(TOPIC, List.of(value("known", 0)), service.deadlineFromNow(),
                KafkaErrors::perRecordCode, null, a).join().get(0).errorCode(), "the topic known, at once too");
        producer.error = new OutOfMemoryError("test");

        CompletableFuture<Throwable> v3 = new CompletableFuture<>();
        assertThrows(OutOfMemoryError.class, () -> service.send(TOPIC, 0, null, null, utf8("v"), List.of(),
                (m, e) -> v3.complete(e), null, a, 2));
        assertTrue(v3.isDone(), "the record was told before the error was thrown on");
        Throwable failure = v3.join();
        assertNotNull(failure, "the record's outcome is a failure");
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR.code(), KafkaErrors.v3RecordError(failure).errorCode(),
                "not sent: retriable " + failure);
        assertEquals(0, service.shares().heldBy("a"));

        assertThrows(OutOfMemoryError.class, () -> service.produce(TOPIC, List.of(value("a", 0), value("b", 1)),
                service.deadlineFromNow(), KafkaErrors::perRecordCode, null, a));
        assertEquals(0, service.shares().heldBy("a"));
        assertThrows(OutOfMemoryError.class, () -> service.produceOne(TOPIC, null, utf8("v"), List.of(),
                service.deadlineFromNow(), null, a));
        assertEquals(0, service.shares().heldBy("a"), "every share given back");
        assertEquals(0, service.shares().total());
        assertEquals(0, service.shares().active());

        producer.error = null;
        assertNull(service.produce(TOPIC, List.of(value("again", 0)), service.deadlineFromNow(),
                KafkaErrors::perRecordCode, null, a).join().get(0).errorCode(), "the key is not refused 429 for good");
    }

    @Test
    void anotherErrorThrownBySendIsOnlyThatRecordsFailure() {
        ThrowingProducer producer = new ThrowingProducer();
        ProduceService service = sharedOver(producer);
        ProducerShares.Account a = service.share("a");
        producer.error = new NoClassDefFoundError("test");

        List<PartitionOffset> offsets = done(service.produce(TOPIC, List.of(value("a", 0), value("b", 1)),
                service.deadlineFromNow(), KafkaErrors::perRecordCode, null, a));
        for (PartitionOffset o : offsets) {
            assertEquals(ErrorCode.KAFKA_ERROR.code(), o.errorCode(), offsets.toString());
            assertTrue(o.error().contains("NoClassDefFoundError"), o.error());
        }
        CompletionException one = assertThrows(CompletionException.class, () -> service.produceOne(TOPIC, null,
                utf8("v"), List.of(), service.deadlineFromNow(), null, a).join());
        assertEquals(500, assertInstanceOf(RestException.class, one.getCause()).httpStatus());
        assertEquals(0, service.shares().heldBy("a"));
    }

    // ---- a look-up on a producer closed under the request ----------------------------------

    @Test
    void aLookUpOnASharedProducerClosedUnderTheRequestIsA503ToRetry() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProducerPool pool = new ProducerPool(Map.of(), config -> producer, Duration.ofSeconds(1));
        // The look-up starts once the pool closed (shutdown) under the request; Kafka's closed
        // producer then fails its wait for the topic's metadata so.
        ProduceService service = new ProduceService(pool, NEVER_ASKED, SessionMetrics.unreported(),
                new ProduceService.Options(Duration.ofMinutes(1), false, task -> {
                    pool.close();
                    task.run();
                }));
        producer.partitionsForException = new org.apache.kafka.common.KafkaException("Requested metadata update after close");

        RestException e = assertThrows(RestException.class, () -> service.produce(TOPIC, List.of(value("a", null))));
        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, e.errorCode());
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("retry"), e.getMessage());
        assertTrue(producer.history().isEmpty());
    }

    @Test
    void aKnownTopicsLookUpOnAProducerReplacedUnderTheRequestIsA503AndOtherFailuresStayKafkas() {
        MockProducer<byte[], byte[]> producer = autoProducer(1);
        ProducerPool pool = new ProducerPool(Map.of(), config -> producer, Duration.ofSeconds(1));
        ProduceService service = new ProduceService(pool, NEVER_ASKED);
        assertEquals(1, service.prepare(TOPIC, service.deadlineFromNow()), "the topic known");
        assertTrue(pool.replaceFatal(producer, "test"));
        producer.partitionsForException = new IllegalStateException("Cannot perform operation after producer has been closed");
        RestException closed = assertThrows(RestException.class, () -> service.produceOne(TOPIC, null, utf8("v"),
                List.of(), service.deadlineFromNow()));
        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, closed.errorCode());

        producer.partitionsForException = new org.apache.kafka.common.KafkaException("Unexpected error in the producer");
        RestException other = assertThrows(RestException.class, () -> service.prepare(TOPIC, service.deadlineFromNow()));
        assertEquals(ErrorCode.KAFKA_ERROR, other.errorCode(), "any other failure stays one");
    }
}
