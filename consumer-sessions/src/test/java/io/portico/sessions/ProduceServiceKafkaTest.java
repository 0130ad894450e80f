package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.ProduceRecord;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Producing with Kafka's own producer against a real broker ({@link TestKafka}): how a closed
 * producer fails a look-up, and the paths that send at once, which only Kafka's producer takes.
 */
class ProduceServiceKafkaTest {
    private static TestKafka kafka;

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = TestKafka.shared();
    }

    private static String unique(String prefix) {
        return TestKafka.unique(prefix);
    }

    private static Map<String, Object> config() {
        return Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
    }

    @Test
    void aLookUpOnTheSharedProducerClosedUnderTheRequestIsA503ToRetry() throws Exception {
        String topic = unique("closed-under-look-up");
        kafka.createTopic(topic, 1);
        ProducerPool pool = ProducerPool.kafka(config(), Duration.ofSeconds(5));
        // The request took the shared producer; the pool closes (shutdown) before its look-up runs.
        ProduceService service = new ProduceService(pool, t -> true, SessionMetrics.unreported(),
                new ProduceService.Options(Duration.ofSeconds(30), false, task -> {
                    pool.close();
                    task.run();
                }));

        RestException e = assertThrows(RestException.class, () -> service.produce(topic,
                List.of(new ProduceRecord(null, "v".getBytes(StandardCharsets.UTF_8), null))));

        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, e.errorCode(), e.getMessage());
        assertEquals(503, e.httpStatus());
        assertTrue(e.getMessage().contains("retry"), e.getMessage());
    }

    /** Kafka's producer, whose send throws {@code error} once armed (as it lets an OutOfMemoryError allocating a batch through). */
    private static final class ArmedProducer extends KafkaProducer<byte[], byte[]> {
        volatile Error error;

        ArmedProducer(Map<String, Object> config) {
            super(config);
        }

        @Override
        public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
            Error e = error;
            if (e != null) {
                throw e;
            }
            return super.send(record, callback);
        }
    }

    @Test
    void anOutOfMemoryErrorOfASendAtOnceCompletesItsRecordAndGivesItsShareBack() throws Exception {
        String topic = unique("error-at-once");
        kafka.createTopic(topic, 1);
        AtomicInteger made = new AtomicInteger();
        ArmedProducer[] producer = new ArmedProducer[1];
        try (ProducerPool pool = new ProducerPool(config(), c -> {
            made.incrementAndGet();
            producer[0] = new ArmedProducer(c);
            return producer[0];
        }, Duration.ofSeconds(5))) {
            ProduceService service = new ProduceService(pool, t -> true);
            ProducerShares.Account a = service.share("a");
            assertEquals(1, service.prepare(topic, service.deadlineFromNow()), "the topic looked up: sent at once");
            byte[] v = "v".getBytes(StandardCharsets.UTF_8);
            producer[0].error = new OutOfMemoryError("test");

            CompletableFuture<Throwable> slot = new CompletableFuture<>();
            assertThrows(OutOfMemoryError.class, () -> service.sendAtOnce(topic, 0, null, null, v, List.of(),
                    (m, e) -> slot.complete(e), a), "sent at once, thrown on once its record was told");
            assertTrue(slot.isDone(), "the record was told before the error was thrown on");
            Throwable failure = slot.join();
            assertNotNull(failure, "the record's slot completes, as a failure");
            assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR.code(), KafkaErrors.v3RecordError(failure).errorCode());
            assertEquals(0, service.shares().heldBy("a"));

            assertThrows(OutOfMemoryError.class, () -> service.produceOneAtOnce(topic, null, v, List.of(), a));
            assertEquals(0, service.shares().heldBy("a"));
            assertEquals(0, service.shares().total());

            producer[0].error = null;
            CompletableFuture<Throwable> sent = new CompletableFuture<>();
            assertTrue(service.sendAtOnce(topic, 0, null, null, v, List.of(), (m, e) -> sent.complete(e), a));
            assertNull(sent.get(30, TimeUnit.SECONDS), "the key sends again");
            assertEquals(0, service.shares().heldBy("a"));
            assertEquals(1, made.get(), "the same producer throughout");
        }
    }
}
