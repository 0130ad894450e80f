package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The keyed-request protocol over Kafka's {@link MockProducer} (a new one per execution, as
 * transactional producers are) and {@link MockConsumer} (the view's reader): execution in a
 * transaction with the result, replay, 422, aborts, fencing, waits and their bounds.
 */
class IdempotencyTest {
    private static final String STATE = "_portico_idempotency";
    private static final String TOPIC = "orders";
    private static final int PARTITIONS = 4;
    private static final Node NODE = new Node(0, "localhost", 9092);
    private static final Cluster CLUSTER = cluster();

    private final FakeKafka kafka = new FakeKafka();
    private int transactionalIds = 16_384;
    private Idempotency service = service(Duration.ofSeconds(10), 1 << 20);

    private static Cluster cluster() {
        Node[] nodes = {NODE};
        List<PartitionInfo> infos = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            infos.add(new PartitionInfo(STATE, p, NODE, nodes, nodes));
        }
        infos.add(new PartitionInfo(TOPIC, 0, NODE, nodes, nodes));
        return new Cluster("test", List.of(NODE), infos, Set.of(), Set.of());
    }

    private Idempotency service(Duration wait, int responseMax) {
        return service(wait, responseMax, 1L << 30);
    }

    private Idempotency service(Duration wait, int responseMax, long memoryMax) {
        Idempotency s = new Idempotency(new Idempotency.Settings(STATE, PARTITIONS, Duration.ofHours(24), wait, responseMax,
                memoryMax, transactionalIds),
                kafka, SessionMetrics.unreported(), System::currentTimeMillis, () -> { });
        s.start();
        return s;
    }

    @AfterEach
    void close() {
        service.close();
    }

    /** Kafka as the service sees it: mock producers, one mock consumer, end offsets the test sets. */
    private static final class FakeKafka implements Idempotency.Kafka {
        final List<MockProducer<byte[], byte[]>> producers = new CopyOnWriteArrayList<>();
        final List<String> transactionalIds = new CopyOnWriteArrayList<>();
        volatile ReaderConsumer consumer;
        final Map<Integer, Long> ends = new ConcurrentHashMap<>();
        volatile java.util.function.Consumer<MockProducer<byte[], byte[]>> setUp = p -> { };

        /** Set: Kafka refuses this server's principal writes to the state topic. */
        volatile boolean failResults;

        @Override
        public Producer<byte[], byte[]> producer(String transactionalId) {
            MockProducer<byte[], byte[]> p = new MockProducer<>(CLUSTER, true, null, new ByteArraySerializer(),
                    new ByteArraySerializer()) {
                @Override
                public synchronized java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata> send(
                        ProducerRecord<byte[], byte[]> record) {
                    if (failResults && record.topic().equals(STATE)) {
                        return java.util.concurrent.CompletableFuture.failedFuture(
                                new org.apache.kafka.common.errors.TopicAuthorizationException("Not authorized to access topics: [" + STATE + "]"));
                    }
                    return super.send(record);
                }
            };
            setUp.accept(p);
            producers.add(p);
            transactionalIds.add(transactionalId);
            return p;
        }

        @Override
        public Consumer<byte[], byte[]> consumer() {
            consumer = new ReaderConsumer(); // a service's own, closed with it
            return consumer;
        }

        @Override
        public int ensureTopic(Idempotency.Settings settings) {
            return PARTITIONS;
        }

        @Override
        public long endOffset(TopicPartition partition, Duration timeout) {
            return ends.getOrDefault(partition.partition(), 0L);
        }

        volatile int partitionCount = -1;

        @Override
        public int partitionCount(String topic, Duration timeout) {
            return partitionCount;
        }

        MockProducer<byte[], byte[]> last() {
            return producers.get(producers.size() - 1);
        }
    }

    /** A {@link MockConsumer} whose empty polls take a moment, as a real one's do, instead of spinning. */
    private static final class ReaderConsumer extends MockConsumer<byte[], byte[]> {
        private final AtomicInteger offsets = new AtomicInteger();

        ReaderConsumer() {
            super("earliest");
            Map<TopicPartition, Long> beginnings = new HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                beginnings.put(new TopicPartition(STATE, p), 0L);
            }
            updateBeginningOffsets(beginnings);
        }

        /** Set: the next poll that takes records loses them and throws, as an Error inside a poll would. */
        volatile boolean failNextDelivery;
        /** Every record added, as the topic keeps them: a seek back reads them again. */
        private final List<ConsumerRecord<byte[], byte[]>> log = new CopyOnWriteArrayList<>();

        @Override
        public synchronized void addRecord(ConsumerRecord<byte[], byte[]> record) {
            log.add(record);
            super.addRecord(record);
        }

        @Override
        public synchronized void seek(TopicPartition partition, long offset) {
            super.seek(partition, offset);
            for (ConsumerRecord<byte[], byte[]> r : log) {
                if (r.partition() == partition.partition() && r.offset() >= offset) {
                    super.addRecord(r);
                }
            }
        }

        @Override
        public synchronized void seekToBeginning(java.util.Collection<TopicPartition> partitions) {
            super.seekToBeginning(partitions);
            for (ConsumerRecord<byte[], byte[]> r : log) {
                if (partitions.contains(new TopicPartition(r.topic(), r.partition()))) {
                    super.addRecord(r);
                }
            }
        }

        @Override
        public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            ConsumerRecords<byte[], byte[]> records = super.poll(timeout);
            if (!records.isEmpty() && failNextDelivery) {
                failNextDelivery = false;
                throw new OutOfMemoryError("a poll failed after it took records (a test's)");
            }
            if (records.isEmpty()) {
                try {
                    Thread.sleep(Math.min(2, timeout.toMillis()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return records;
        }

        /** Another node's committed result for {@code key}, as the topic would hold it. */
        void result(IdempotencyKey key, IdempotencyView.Result result) {
            int partition = key.partition(PARTITIONS);
            addRecord(new ConsumerRecord<>(STATE, partition, offsets.getAndIncrement(), key.id(),
                    IdempotencyView.encode(result)));
        }
    }

    /** Until the service has made its reader's consumer (the test then feeds it). */
    private void awaitReader() throws InterruptedException {
        for (int i = 0; i < 3000 && kafka.consumer == null; i++) {
            Thread.sleep(10);
        }
        assertTrue(kafka.consumer != null, "the reader started");
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] fingerprint(String body) {
        return IdempotencyKey.fingerprint("POST", "/topics/orders?", "application/vnd.kafka.binary.v1+json", utf8(body));
    }

    private static Idempotency.Response ok(String body) {
        return new Idempotency.Response(200, "application/vnd.kafka.v1+json", utf8(body));
    }

    /** Work that sends one record and answers {@code body}, counting its runs. */
    private static final class Producing implements Idempotency.Work {
        final AtomicInteger runs = new AtomicInteger();
        final String body;

        Producing(String body) {
            this.body = body;
        }

        @Override
        public Idempotency.Outcome run(Producer<byte[], byte[]> producer) {
            runs.incrementAndGet();
            producer.send(new ProducerRecord<>(TOPIC, utf8("record")));
            return Idempotency.Outcome.produced(ok(body));
        }
    }

    private static String body(Idempotency.Answer answer) {
        return new String(answer.response().body(), StandardCharsets.UTF_8);
    }

    // ---- tests

    @Test
    void theFirstRequestWritesItsRecordsAndItsResultInOneTransactionAndARetryIsAnsweredAgain() {
        IdempotencyKey key = IdempotencyKey.of("orders-app", "k1");
        Producing work = new Producing("{\"offsets\":[1]}");
        Idempotency.Answer first = service.execute(key, fingerprint("b"), TOPIC, work);
        assertFalse(first.replayed());
        assertEquals("{\"offsets\":[1]}", body(first));

        MockProducer<byte[], byte[]> producer = kafka.last();
        assertTrue(producer.transactionInitialized());
        assertTrue(producer.transactionCommitted());
        assertTrue(producer.closed(), "a keyed request's producer is closed after it");
        assertEquals(STATE + "-" + key.number(16_384), kafka.transactionalIds.get(0));
        List<ProducerRecord<byte[], byte[]>> sent = producer.history();
        assertEquals(2, sent.size(), "the request's record, then its result");
        ProducerRecord<byte[], byte[]> result = sent.get(1);
        assertEquals(STATE, result.topic());
        assertEquals(key.partition(PARTITIONS), result.partition());
        assertArrayEquals(key.id(), result.key());
        IdempotencyView.Result recorded = IdempotencyView.decode(result.value());
        assertArrayEquals(fingerprint("b"), recorded.fingerprint());
        assertEquals("{\"offsets\":[1]}", new String(recorded.response().body(), StandardCharsets.UTF_8));

        Idempotency.Answer again = service.execute(key, fingerprint("b"), TOPIC, work);
        assertTrue(again.replayed());
        assertEquals(200, again.response().status());
        assertEquals("application/vnd.kafka.v1+json", again.response().contentType());
        assertEquals(body(first), body(again));
        assertEquals(1, work.runs.get());
        assertEquals(1, kafka.producers.size(), "a replay asks nothing of Kafka");
    }

    @Test
    void aStateTopicWhosePartitionCountIsNotTheOneReadRefusesKeyedRequestsWithoutProducing() {
        // A first request, while the count cannot be looked up: served (the view is open after it).
        assertFalse(service.execute(IdempotencyKey.of("orders-app", "before"), fingerprint("b"), TOPIC,
                new Producing("{\"offsets\":[1]}")).replayed());
        int producers = kafka.producers.size();
        kafka.partitionCount = PARTITIONS + 4; // partitions added while this node reads PARTITIONS
        Producing work = new Producing("{\"offsets\":[1]}");
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of("orders-app", "grown"), fingerprint("b"), TOPIC, work));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("has 8 partitions where this server reads 4"), e.getMessage());
        assertEquals(0, work.runs.get(), "nothing produced");
        assertEquals(producers, kafka.producers.size(), "no producer made: none fenced the id's other transactions");
    }

    @Test
    void aStateTopicOfTheCountReadServesKeyedRequests() {
        kafka.partitionCount = PARTITIONS;
        assertFalse(service.execute(IdempotencyKey.of("orders-app", "same"), fingerprint("b"), TOPIC,
                new Producing("{\"offsets\":[1]}")).replayed());
    }

    @Test
    void aKeyIsAnsweredOnceItsResultIsRecordedNotWhileItsWorkFails() {
        IdempotencyKey key = IdempotencyKey.of("orders-app", "answered");
        assertFalse(service.answered(key));
        assertThrows(RestException.class, () -> service.execute(key, fingerprint("b"), TOPIC, producer -> {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the schema registry does not answer");
        }));
        assertFalse(service.answered(key), "a failure is not the key's answer");
        service.execute(key, fingerprint("b"), TOPIC, new Producing("{\"offsets\":[1]}"));
        assertTrue(service.answered(key));
        assertFalse(service.answered(IdempotencyKey.of("dashboard", "answered")), "another API key's key is its own");
    }

    @Test
    void anotherRequestWithTheKeyIs422AndKeysOfOtherApiKeysAreTheirOwn() {
        service.execute(IdempotencyKey.of("orders-app", "k"), fingerprint("a"), TOPIC, new Producing("A"));
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of("orders-app", "k"), fingerprint("b"), TOPIC, new Producing("B")));
        assertSame(ErrorCode.IDEMPOTENCY_KEY_REUSED, e.errorCode());
        assertEquals(422, e.httpStatus());
        Idempotency.Answer other = service.execute(IdempotencyKey.of("dashboard", "k"), fingerprint("b"), TOPIC,
                new Producing("B"));
        assertFalse(other.replayed());
        assertEquals("B", body(other));
    }

    @Test
    void workThatWroteNothingIsAbortedAnsweredAndNotRecorded() {
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        Idempotency.Answer refused = service.execute(key, fingerprint("b"), TOPIC, producer -> {
            producer.send(new ProducerRecord<>(TOPIC, utf8("acknowledged, then aborted")));
            return Idempotency.Outcome.notProduced(new Idempotency.Response(200, "application/json", utf8("failed")),
                    new org.apache.kafka.common.errors.RecordTooLargeException("too large"));
        });
        assertEquals("failed", body(refused));
        assertFalse(refused.replayed());
        assertTrue(kafka.last().transactionAborted());
        assertFalse(kafka.last().transactionCommitted());
        assertTrue(kafka.last().history().isEmpty(), "nothing written");

        Producing retry = new Producing("ok");
        assertEquals("ok", body(service.execute(key, fingerprint("b"), TOPIC, retry)));
        assertEquals(1, retry.runs.get(), "the retry runs again");
    }

    @Test
    void workThatThrowsIsAbortedAndItsErrorAnswered() {
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        RestException e = assertThrows(RestException.class, () -> service.execute(key, fingerprint("b"), TOPIC, p -> {
            throw ErrorCode.TOPIC_NOT_FOUND.exception();
        }));
        assertSame(ErrorCode.TOPIC_NOT_FOUND, e.errorCode());
        assertTrue(kafka.last().transactionAborted());
        assertTrue(kafka.last().closed());
        assertFalse(service.execute(key, fingerprint("b"), TOPIC, new Producing("ok")).replayed());
    }

    @Test
    void withoutKafkaTransactionsAKeyedRequestIs503AndNothingIsSent() {
        kafka.setUp = p -> p.initTransactionException = new TimeoutException("Timeout expired after 5000 ms while "
                + "awaiting InitProducerId");
        Producing work = new Producing("never");
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "k"), fingerprint("b"), TOPIC, work));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("transactions"), e.getMessage());
        assertEquals(0, work.runs.get());
        assertTrue(kafka.last().history().isEmpty());
        assertTrue(kafka.last().closed());
    }

    @Test
    void aResponseOverTheLimitIs413AndNothingIsCommitted() {
        service.close();
        service = service(Duration.ofSeconds(10), 1024);
        RestException e = assertThrows(RestException.class, () -> service.execute(IdempotencyKey.of(null, "k"),
                fingerprint("b"), TOPIC, new Producing("x".repeat(1025))));
        assertEquals(413, e.httpStatus());
        assertTrue(e.getMessage().contains("idempotency.response.max.bytes"), e.getMessage());
        assertTrue(kafka.last().transactionAborted());
        assertFalse(kafka.last().transactionCommitted());
    }

    @Test
    void aCommitWhoseOutcomeIsUnknownIs503ToBeRetriedWithTheKey() {
        kafka.setUp = p -> p.commitTransactionException = new TimeoutException("commit timed out");
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "k"), fingerprint("b"), TOPIC, new Producing("x")));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("same Idempotency-Key"), e.getMessage());
    }

    @Test
    void aRequestFencedByAnotherNodeAnswersThatNodesResult() throws Exception {
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        awaitReader();
        Idempotency.Answer answer = service.execute(key, fingerprint("b"), TOPIC, producer -> {
            // Meanwhile another node's initTransactions() took the key over; it commits its result.
            kafka.consumer.result(key, new IdempotencyView.Result(fingerprint("b"), ok("theirs"), System.currentTimeMillis()));
            throw new ProducerFencedException("There is a newer producer with the same transactionalId");
        });
        assertTrue(answer.replayed());
        assertEquals("theirs", body(answer));
    }

    @Test
    void workCertainToFailStartsNoProducerAndAnswersItsFailureOrTheKeysResult() throws Exception {
        awaitReader();
        RestException lookUp = ErrorCode.SCHEMA_REGISTRY_ERROR.exception("the registry did not answer");
        RestException e = assertThrows(RestException.class, () -> service.execute(IdempotencyKey.of(null, "new"),
                fingerprint("b"), TOPIC, Idempotency.Work.failing(lookUp)));
        assertSame(lookUp, e, "the work's own failure");
        assertEquals(0, kafka.producers.size(), "no producer of the key's transactional id: none fenced another node's");

        answersAnotherNodesResultWithoutAProducer("theirs", Idempotency.Work.failing(lookUp));
    }

    /** Another node answered the key: its result, read once the view is at the topic's end, and no producer made. */
    private void answersAnotherNodesResultWithoutAProducer(String keyName, Idempotency.Work work) {
        IdempotencyKey key = IdempotencyKey.of(null, keyName);
        kafka.consumer.result(key, new IdempotencyView.Result(fingerprint("b"), ok("theirs"), System.currentTimeMillis()));
        kafka.ends.put(key.partition(PARTITIONS), kafka.consumer.offsets.get() + 0L);
        int producers = kafka.producers.size();
        Idempotency.Answer answer = service.execute(key, fingerprint("b"), TOPIC, work);
        assertTrue(answer.replayed());
        assertEquals("theirs", body(answer));
        assertEquals(producers, kafka.producers.size());
    }

    @Test
    void workThatWritesNothingAnswersItsOwnResponseWithoutAProducerOrTheKeysResult() throws Exception {
        awaitReader();
        Idempotency.Response invalid = new Idempotency.Response(207, "application/json", utf8("{\"failures\":[]}"));
        Idempotency.Answer answer = service.execute(IdempotencyKey.of(null, "nothing"), fingerprint("b"), TOPIC,
                Idempotency.Work.unproduced(invalid));
        assertFalse(answer.replayed());
        assertEquals("{\"failures\":[]}", body(answer));
        assertEquals(0, kafka.producers.size(), "no transaction for a request that writes nothing");
        assertFalse(service.answered(IdempotencyKey.of(null, "nothing")), "nothing kept: a retry runs again");

        answersAnotherNodesResultWithoutAProducer("answered-elsewhere", Idempotency.Work.unproduced(invalid));
    }

    @Test
    void kafkaRefusingThisServerWritesToTheStateTopicIsAServerErrorAndNothingIsCommitted() {
        kafka.failResults = true;
        Producing work = new Producing("never kept");
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "k"), fingerprint("b"), TOPIC, work));
        assertEquals(500, e.httpStatus());
        assertTrue(e.getMessage().contains("Write there"), e.getMessage());
        assertTrue(kafka.last().transactionAborted());
        assertFalse(kafka.last().transactionCommitted());
    }

    @Test
    void kafkaRefusingThisServerTransactionsIsAServerErrorNotTheCallersForbidden() {
        kafka.setUp = p -> p.initTransactionException = new org.apache.kafka.common.errors.TransactionalIdAuthorizationException(
                "Transactional Id authorization failed.");
        Producing work = new Producing("never");
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "k"), fingerprint("b"), TOPIC, work));
        assertEquals(500, e.httpStatus());
        assertTrue(e.getMessage().contains("transactional id " + STATE + "-"), e.getMessage());
        assertTrue(e.getMessage().contains("nothing was produced"), e.getMessage());
        assertEquals(0, work.runs.get());

        kafka.setUp = p -> p.initTransactionException = new org.apache.kafka.common.errors.UnsupportedVersionException(
                "The broker does not support INIT_PRODUCER_ID");
        RestException old = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "k"), fingerprint("b"), TOPIC, work));
        assertEquals(501, old.httpStatus());
        assertTrue(old.getMessage().contains("does not support"), old.getMessage());
        assertEquals(0, work.runs.get());
    }

    @Test
    void aRequestFencedByANodeThatNeverAnswersIs503() {
        service.close();
        service = service(Duration.ofMillis(50), 1 << 20);
        RestException e = assertThrows(RestException.class, () -> service.execute(IdempotencyKey.of(null, "k"),
                fingerprint("b"), TOPIC, producer -> Idempotency.Outcome.notProduced(ok("mine"),
                        new ProducerFencedException("fenced"))));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("retry with the same key"), e.getMessage());
        assertTrue(e.getMessage().contains("nothing of this request was written"), e.getMessage());
    }

    @Test
    void aCommitFencedByAnotherNodeIs503WithItsOutcomeUnknownNotNothingWritten() {
        service.close();
        service = service(Duration.ofMillis(50), 1 << 20);
        // The commit's answer lost, its retry fenced: the commit may have gone through.
        kafka.setUp = p -> p.commitTransactionException = new ProducerFencedException("fenced during commit");
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "k"), fingerprint("b"), TOPIC, new Producing("x")));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("is not known"), e.getMessage());
        assertFalse(e.getMessage().contains("nothing of this request was written"), e.getMessage());
    }

    @Test
    void aCommitFencedAfterItWentThroughAnswersItsOwnResultNotAReplay() throws Exception {
        // The commit's answer lost, its retry fenced; the fencing producer's start completed the
        // commit, so the key's result is this request's own: answered, not marked replayed.
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        awaitReader();
        kafka.setUp = p -> p.commitTransactionException = new ProducerFencedException("fenced during commit");
        Idempotency.Answer answer = service.execute(key, fingerprint("b"), TOPIC, producer -> {
            Idempotency.Outcome outcome = new Producing("x").run(producer);
            // Read by the view once the commit is fenced (added now: never before the request started).
            kafka.consumer.result(key, new IdempotencyView.Result(fingerprint("b"), ok("x"), System.currentTimeMillis()));
            return outcome;
        });
        assertFalse(answer.replayed());
        assertEquals("x", body(answer));
    }

    @Test
    void aResultAnotherNodeCommittedIsFoundOnceTheViewHasReadTheKeysPartitionToItsEnd() throws Exception {
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        kafka.ends.put(key.partition(PARTITIONS), 1L);
        awaitReader();
        kafka.consumer.schedulePollTask(() -> kafka.consumer.result(key,
                new IdempotencyView.Result(fingerprint("b"), ok("theirs"), System.currentTimeMillis())));
        Producing work = new Producing("mine");
        Idempotency.Answer answer = service.execute(key, fingerprint("b"), TOPIC, work);
        assertTrue(answer.replayed());
        assertEquals("theirs", body(answer));
        assertEquals(0, work.runs.get());
    }

    @Test
    void aResultWhosePollFailedIsReadAgainNotSkipped() throws Exception {
        // The poll that took another node's result failed (an OutOfMemoryError, say): the reader
        // reads it again, rather than publishing a position past it and running the key again.
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        kafka.ends.put(key.partition(PARTITIONS), 1L);
        awaitReader();
        kafka.consumer.failNextDelivery = true;
        kafka.consumer.schedulePollTask(() -> kafka.consumer.result(key,
                new IdempotencyView.Result(fingerprint("b"), ok("theirs"), System.currentTimeMillis())));
        Producing work = new Producing("mine");
        Idempotency.Answer answer = service.execute(key, fingerprint("b"), TOPIC, work);
        assertFalse(kafka.consumer.failNextDelivery, "a poll failed");
        assertTrue(answer.replayed());
        assertEquals("theirs", body(answer));
        assertEquals(0, work.runs.get());
    }

    @Test
    void aViewThatCannotReachTheEndOfTheKeysPartitionIs503AndNothingIsSent() {
        service.close();
        service = service(Duration.ofMillis(50), 1 << 20);
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        kafka.ends.put(key.partition(PARTITIONS), 5L); // an open transaction of another key holds the reader back
        Producing work = new Producing("mine");
        RestException e = assertThrows(RestException.class, () -> service.execute(key, fingerprint("b"), TOPIC, work));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("idempotency.wait.ms"), e.getMessage());
        assertEquals(0, work.runs.get());
    }

    @Test
    void aConcurrentRequestWithTheKeyWaitsForTheFirstAndAnswersItsResult() throws Exception {
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        CountDownLatch inWork = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        Idempotency.Work work = producer -> {
            runs.incrementAndGet();
            inWork.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return Idempotency.Outcome.produced(ok("first"));
        };
        CompletableFuture<Idempotency.Answer> first = CompletableFuture.supplyAsync(
                () -> service.execute(key, fingerprint("b"), TOPIC, work));
        assertTrue(inWork.await(30, TimeUnit.SECONDS));
        CompletableFuture<Idempotency.Answer> second = CompletableFuture.supplyAsync(
                () -> service.execute(key, fingerprint("b"), TOPIC, work));
        assertFalse(second.isDone());
        release.countDown();
        assertFalse(first.get(30, TimeUnit.SECONDS).replayed());
        Idempotency.Answer answer = second.get(30, TimeUnit.SECONDS);
        assertTrue(answer.replayed());
        assertEquals("first", body(answer));
        assertEquals(1, runs.get());
        assertEquals(1, kafka.producers.size(), "the second never made a producer");
    }

    @Test
    void keysThatShareATransactionalIdRunOneAfterTheOtherAtANodeAndEachIsWritten() throws Exception {
        service.close();
        transactionalIds = 1;
        service = service(Duration.ofSeconds(10), 1 << 20);
        CountDownLatch inWork = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch secondEntered = new CountDownLatch(1);
        java.util.function.Function<String, Idempotency.Work> work = body -> producer -> {
            most.accumulateAndGet(running.incrementAndGet(), Math::max);
            (body.equals("A") ? inWork : secondEntered).countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            running.decrementAndGet();
            return Idempotency.Outcome.produced(ok(body));
        };
        CompletableFuture<Idempotency.Answer> a = CompletableFuture.supplyAsync(
                () -> service.execute(IdempotencyKey.of(null, "a"), fingerprint("a"), TOPIC, work.apply("A")));
        assertTrue(inWork.await(30, TimeUnit.SECONDS));
        CompletableFuture<Idempotency.Answer> b = CompletableFuture.supplyAsync(
                () -> service.execute(IdempotencyKey.of(null, "b"), fingerprint("b"), TOPIC, work.apply("B")));
        // Held back while the first runs (a wrong build would let it in at once; this one never does).
        assertFalse(secondEntered.await(300, TimeUnit.MILLISECONDS), "the second key ran beside the first");
        release.countDown();
        assertEquals("A", body(a.get(30, TimeUnit.SECONDS)));
        Idempotency.Answer second = b.get(30, TimeUnit.SECONDS);
        assertFalse(second.replayed(), "another key: executed, not answered with the first one's result");
        assertEquals("B", body(second));
        assertEquals(1, most.get(), "never two at once with one transactional id");
        assertEquals(List.of(STATE + "-0", STATE + "-0"), kafka.transactionalIds);
    }

    @Test
    void oneApiKeysResultsTakeAtMostItsShareOfTheMemorySoOtherKeysGoOn() {
        service.close();
        service = service(Duration.ofSeconds(10), 1 << 20, 1 << 20); // 1 MiB for results, half of it per API key
        String big = "x".repeat(200_000);
        int executed = 0;
        RestException refused = null;
        for (int i = 0; i < 10 && refused == null; i++) {
            try {
                service.execute(IdempotencyKey.of("greedy", "k" + i), fingerprint("k" + i), TOPIC, new Producing(big));
                executed++;
            } catch (RestException e) {
                refused = e;
            }
        }
        assertEquals(2, executed, "200,250 bytes a result: two fit within the key's 524,288, a third would not");
        assertNotNull(refused);
        assertSame(ErrorCode.TOO_MANY_REQUESTS, refused.errorCode(), refused.getMessage());
        assertTrue(refused.getMessage().contains("idempotency.memory.per.key.max.bytes"), refused.getMessage());

        Idempotency.Answer other = service.execute(IdempotencyKey.of("modest", "m"), fingerprint("m"), TOPIC,
                new Producing(big));
        assertFalse(other.replayed());
        assertEquals(big, body(other), "another API key still has room");
        Idempotency.Answer again = service.execute(IdempotencyKey.of("greedy", "k0"), fingerprint("k0"), TOPIC,
                new Producing("again"));
        assertTrue(again.replayed(), "the full key's results are still answered");

        Idempotency.Answer anonymous = service.execute(IdempotencyKey.of(null, "a"), fingerprint("a"), TOPIC,
                new Producing("a"));
        assertEquals("a", body(anonymous), "with authentication off there is one caller and no share");
    }

    @Test
    void aConcurrentRequestWaitingLongerThanTheBoundIs503() throws Exception {
        service.close();
        service = service(Duration.ofMillis(50), 1 << 20);
        IdempotencyKey key = IdempotencyKey.of(null, "k");
        CountDownLatch inWork = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Idempotency.Answer> first = CompletableFuture.supplyAsync(() -> service.execute(key,
                fingerprint("b"), TOPIC, producer -> {
                    inWork.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    return Idempotency.Outcome.produced(ok("first"));
                }));
        assertTrue(inWork.await(30, TimeUnit.SECONDS));
        RestException e = assertThrows(RestException.class,
                () -> service.execute(key, fingerprint("b"), TOPIC, new Producing("second")));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("still in progress"), e.getMessage());
        release.countDown();
        assertEquals("first", body(first.get(30, TimeUnit.SECONDS)));
    }

    @Test
    void whenTheResultsKeptFillTheirMemoryNewKeysAre503AndRetriesStillAnswered() {
        service.close();
        service = service(Duration.ofSeconds(10), 1 << 20, 2 * IdempotencyView.ENTRY_OVERHEAD);
        IdempotencyKey first = IdempotencyKey.of(null, "first");
        service.execute(first, fingerprint("b"), TOPIC, new Producing("x".repeat(IdempotencyView.ENTRY_OVERHEAD)));
        Producing work = new Producing("y");
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "second"), fingerprint("b"), TOPIC, work));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("idempotency.memory.max.bytes"), e.getMessage());
        assertEquals(0, work.runs.get());
        assertTrue(service.execute(first, fingerprint("b"), TOPIC, work).replayed());
    }

    @Test
    void aResultThatWouldTakeTheResultsPastTheirMemoryIsNotCommitted() {
        // Admitted while the results are under the bound, a request whose own result would take
        // them past it is not committed (its records are aborted): its result read back would not
        // be kept, and the view would be incomplete.
        service.close();
        long bound = 2 * IdempotencyView.ENTRY_OVERHEAD + 10;
        service = service(Duration.ofSeconds(10), 1 << 20, bound);
        service.execute(IdempotencyKey.of(null, "small"), fingerprint("b"), TOPIC, new Producing("x"));
        Producing large = new Producing("y".repeat(IdempotencyView.ENTRY_OVERHEAD));
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "large"), fingerprint("b"), TOPIC, large));
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("nothing was produced"), e.getMessage());
        assertTrue(service.bytes() <= bound, "bounded: " + service.bytes());
    }

    @Test
    void aResultThatWouldTakeItsKeysResultsPastTheirShareIsNotCommitted() {
        // The share is checked before the request runs, when its result's size is not known:
        // checked again with it before the commit, so that a key never holds more than its share.
        service.close();
        long share = 2 * IdempotencyView.ENTRY_OVERHEAD;
        service = new Idempotency(new Idempotency.Settings(STATE, PARTITIONS, Duration.ofHours(24), Duration.ofSeconds(10),
                1 << 20, 1L << 30, transactionalIds, share), kafka, SessionMetrics.unreported(), System::currentTimeMillis,
                () -> { });
        service.start();
        service.execute(IdempotencyKey.of("app", "small", "app"), fingerprint("b"), TOPIC, new Producing("x"));
        RestException e = assertThrows(RestException.class, () -> service.execute(IdempotencyKey.of("app", "large", "app"),
                fingerprint("b"), TOPIC, new Producing("y".repeat(IdempotencyView.ENTRY_OVERHEAD))));
        assertEquals(429, e.httpStatus(), e.getMessage());
        assertTrue(e.getMessage().contains("idempotency.memory.per.key.max.bytes"), e.getMessage());
        assertEquals(1, service.size(), "only the small one's result kept");
    }

    @Test
    void resultsOfOtherNodesCommittedPastTheAdmissionBoundAreStillKept() throws Exception {
        // Other nodes admit keys under their own views: what they commit meanwhile may take the
        // results past the bound a new key is admitted under. The view keeps a quarter more, so
        // it stays complete (new keys 503 while it is full, retries answered) rather than
        // refusing results and answering 503 to every key it holds none for.
        service.close();
        long bound = 4 * IdempotencyView.ENTRY_OVERHEAD + 10;
        kafka.consumer = null; // the closed service's
        service = service(Duration.ofSeconds(10), 1 << 20, bound);
        List<IdempotencyKey> keys = new ArrayList<>();
        int partition = IdempotencyKey.of(null, "k0").partition(PARTITIONS);
        for (int i = 0; keys.size() < 5; i++) {
            IdempotencyKey k = IdempotencyKey.of(null, "k" + i);
            if (k.partition(PARTITIONS) == partition) {
                keys.add(k);
            }
        }
        kafka.ends.put(partition, 5L);
        awaitReader();
        kafka.consumer.schedulePollTask(() -> keys.forEach(k -> kafka.consumer.result(k,
                new IdempotencyView.Result(fingerprint("b"), ok("x"), System.currentTimeMillis()))));
        assertTrue(service.execute(keys.get(4), fingerprint("b"), TOPIC, new Producing("mine")).replayed(),
                "the fifth result, past the admission bound, is kept and answered");
        assertEquals(5, service.size());
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "new"), fingerprint("b"), TOPIC, new Producing("y")));
        assertTrue(e.getMessage().contains("fill the"), "full, not incomplete: " + e.getMessage());
    }

    @Test
    void resultsReadPastTheMemoryBoundAreNotKeptAndAKeyWithoutAResultHereIs503() throws Exception {
        service.close();
        long bound = 2 * IdempotencyView.ENTRY_OVERHEAD + 10; // two one-byte results fit, not three
        kafka.consumer = null; // the closed service's
        service = service(Duration.ofSeconds(10), 1 << 20, bound);
        // Three keys of one partition, so that they are read in this order.
        List<IdempotencyKey> keys = new ArrayList<>();
        int partition = IdempotencyKey.of(null, "k0").partition(PARTITIONS);
        for (int i = 0; keys.size() < 3; i++) {
            IdempotencyKey k = IdempotencyKey.of(null, "k" + i);
            if (k.partition(PARTITIONS) == partition) {
                keys.add(k);
            }
        }
        kafka.ends.put(partition, 3L);
        awaitReader();
        kafka.consumer.schedulePollTask(() -> keys.forEach(k -> kafka.consumer.result(k,
                new IdempotencyView.Result(fingerprint("b"), ok("x"), System.currentTimeMillis()))));

        Producing work = new Producing("mine");
        RestException e = assertThrows(RestException.class,
                () -> service.execute(keys.get(2), fingerprint("b"), TOPIC, work), "another node's result, not kept here");
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("idempotency.memory.max.bytes"), e.getMessage());
        assertEquals(0, work.runs.get(), "never written twice");
        assertEquals(2, service.size());
        assertTrue(service.bytes() <= bound, "bounded: " + service.bytes());

        assertTrue(service.execute(keys.get(0), fingerprint("b"), TOPIC, work).replayed(), "a result held is answered");
        assertThrows(RestException.class, () -> service.execute(IdempotencyKey.of(null, "new"), fingerprint("b"), TOPIC,
                work), "any key without a result here may have one");
        assertEquals(0, work.runs.get());
    }

    @Test
    void afterCloseAKeyedRequestIs503() throws Exception {
        awaitReader();
        service.close();
        RestException e = assertThrows(RestException.class,
                () -> service.execute(IdempotencyKey.of(null, "k"), fingerprint("b"), TOPIC, new Producing("x")));
        assertEquals(503, e.httpStatus());
        assertTrue(kafka.consumer.closed(), "the reader's consumer is closed");
    }

    @Test
    void transactionalProducersAreIdempotentWithAllAcksAndTheirOwnIds() {
        Map<String, Object> config = Idempotency.transactionalConfig(Map.of("acks", "1", "enable.idempotence", "false",
                "client.id", "portico-producer", "linger.ms", "0"), "t-1");
        assertEquals("t-1", config.get("transactional.id"));
        assertEquals("all", config.get("acks"));
        assertEquals("true", config.get("enable.idempotence"));
        assertEquals("t-1", config.get("client.id"));
        assertEquals("0", config.get("linger.ms"));
        assertEquals("190000", config.get("transaction.timeout.ms"), "Kafka's max.block.ms and delivery.timeout.ms, and 10 s");
    }

    @Test
    void aTransactionMayLastAsLongAsItsRecordsMay() {
        // Portico's producer settings: metadata.timeout.ms 5 s as max.block.ms, produce.timeout.ms as the delivery timeout.
        assertEquals("60000", Idempotency.transactionalConfig(Map.of("max.block.ms", "5000", "delivery.timeout.ms", 30000),
                "t").get("transaction.timeout.ms"), "never below Kafka's 60 s");
        assertEquals("135000", Idempotency.transactionalConfig(Map.of("max.block.ms", "5000", "delivery.timeout.ms", "120000"),
                "t").get("transaction.timeout.ms"));
        assertEquals("900000", Idempotency.transactionalConfig(Map.of("max.block.ms", "5000",
                "delivery.timeout.ms", Integer.toString(Integer.MAX_VALUE)), "t").get("transaction.timeout.ms"),
                "at most the broker's default transaction.max.timeout.ms");
        assertEquals("30000", Idempotency.transactionalConfig(Map.of("delivery.timeout.ms", "120000",
                "transaction.timeout.ms", "30000"), "t").get("transaction.timeout.ms"), "one given is kept");
    }
}
