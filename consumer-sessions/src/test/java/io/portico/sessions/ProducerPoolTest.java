package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import io.portico.protocol.RestException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The shared producers: one per distinct configuration, closed when they leave the pool. */
class ProducerPoolTest {

    @Test
    void aSharedProducerThatCannotBeMadeIs503AndMadeAtTheNextAsk() {
        java.util.concurrent.atomic.AtomicBoolean resolvable = new java.util.concurrent.atomic.AtomicBoolean();
        ProducerPool pool = new ProducerPool(Map.of(), config -> {
            if (!resolvable.get()) {
                throw new org.apache.kafka.common.config.ConfigException("No resolvable bootstrap urls given in bootstrap.servers");
            }
            return new MockProducer<>();
        }, Duration.ofSeconds(1), Duration.ZERO);
        io.portico.protocol.RestException e = org.junit.jupiter.api.Assertions.assertThrows(
                io.portico.protocol.RestException.class, pool::shared);
        assertEquals(io.portico.protocol.ErrorCode.SERVICE_UNAVAILABLE, e.errorCode(), e.getMessage());
        resolvable.set(true);
        org.junit.jupiter.api.Assertions.assertNotNull(pool.shared());
        pool.close();
    }

    @Test
    void aReplacedProducerIsNeverHandedOutAgainWhileOthersAskForTheSharedOne() throws Exception {
        List<MockProducer<byte[], byte[]>> made = new java.util.concurrent.CopyOnWriteArrayList<>();
        ProducerPool pool = new ProducerPool(Map.of(), config -> {
            MockProducer<byte[], byte[]> p = new MockProducer<>();
            made.add(p);
            return p;
        }, Duration.ofSeconds(1), Duration.ZERO);
        Producer<byte[], byte[]> first = pool.shared();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ExecutorService askers = java.util.concurrent.Executors.newFixedThreadPool(4);
        java.util.Set<Producer<byte[], byte[]>> seenAfter = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicBoolean replaced = new java.util.concurrent.atomic.AtomicBoolean();
        for (int t = 0; t < 4; t++) {
            askers.submit(() -> {
                while (!stop.get()) {
                    boolean after = replaced.get(); // read first: a call that starts after the replacement
                    Producer<byte[], byte[]> p = pool.shared();
                    if (after) {
                        seenAfter.add(p);
                    }
                }
            });
        }
        Thread.sleep(20);
        assertTrue(pool.replaceShared(first, "test"));
        replaced.set(true);
        Thread.sleep(50);
        stop.set(true);
        askers.shutdown();
        assertTrue(askers.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES));
        Producer<byte[], byte[]> now = pool.shared();
        assertFalse(now == first, "a new producer is shared");
        assertFalse(seenAfter.contains(first), "the replaced one is not handed out after the replacement");
        assertFalse(((MockProducer<byte[], byte[]>) now).closed());
        assertEquals(now, pool.shared());
        pool.close();
    }


    private static final Map<String, Object> BASE = Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092",
            ProducerConfig.ACKS_CONFIG, "1");
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(7);

    /** A factory of {@link MockProducer}s that remembers every configuration and producer it made. */
    private static final class RecordingFactory implements Function<Map<String, Object>, Producer<byte[], byte[]>> {
        final List<Map<String, Object>> configs = new CopyOnWriteArrayList<>();
        final List<MockProducer<byte[], byte[]>> made = new CopyOnWriteArrayList<>();

        @Override
        public Producer<byte[], byte[]> apply(Map<String, Object> config) {
            MockProducer<byte[], byte[]> producer = new MockProducer<>();
            configs.add(config);
            made.add(producer);
            return producer;
        }
    }

    /** A {@link MockProducer} that remembers the timeout it was closed with. */
    private static final class TimedCloseProducer extends MockProducer<byte[], byte[]> {
        volatile Duration closedWith;

        @Override
        public void close(Duration timeout) {
            closedWith = timeout;
            super.close(timeout);
        }
    }

    @Test
    void aReplacedProducerThatStillSendsIsGivenItsDeliveryTimeoutToFinishAFatalOneIsNot() throws Exception {
        List<TimedCloseProducer> made = new CopyOnWriteArrayList<>();
        Map<String, Object> base = new java.util.HashMap<>(BASE);
        base.put("delivery.timeout.ms", "30000");
        ProducerPool pool = new ProducerPool(base, config -> {
            TimedCloseProducer p = new TimedCloseProducer();
            made.add(p);
            return p;
        }, CLOSE_TIMEOUT, Duration.ZERO);
        assertTrue(pool.replaceShared(pool.shared(), "metadata timed out three times"));
        assertTrue(pool.replaceFatal(pool.shared(), "fenced"));
        for (TimedCloseProducer p : made.subList(0, 2)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (p.closedWith == null && System.nanoTime() < deadline) {
                Thread.sleep(10); // closed on a thread of its own
            }
        }
        assertEquals(Duration.ofSeconds(35), made.get(0).closedWith, "its records' delivery timeout and a margin");
        assertEquals(CLOSE_TIMEOUT, made.get(1).closedWith);
        pool.close();
    }

    @Test
    void sharedReturnsTheSameProducerEveryTime() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);

        Producer<byte[], byte[]> first = pool.shared();
        Producer<byte[], byte[]> second = pool.shared();
        Producer<byte[], byte[]> third = pool.get(Map.of());

        assertSame(first, second);
        assertSame(first, third);
        assertEquals(1, factory.made.size(), "the factory is asked once");
        assertSame(factory.made.get(0), first);
        assertEquals(1, pool.size());
    }

    @Test
    void distinctOverridesGiveDistinctProducers() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);

        Producer<byte[], byte[]> shared = pool.shared();
        Producer<byte[], byte[]> acksAll = pool.get(Map.of(ProducerConfig.ACKS_CONFIG, "all"));
        Producer<byte[], byte[]> lingering = pool.get(Map.of(ProducerConfig.LINGER_MS_CONFIG, 50));

        assertNotSame(shared, acksAll);
        assertNotSame(shared, lingering);
        assertNotSame(acksAll, lingering);
        assertEquals(3, factory.made.size());
        assertEquals(3, pool.size());
    }

    @Test
    void equalOverridesGiveTheSameProducerWhateverMapHoldsThem() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);

        Map<String, Object> mutable = new HashMap<>();
        mutable.put(ProducerConfig.ACKS_CONFIG, "all");
        mutable.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        Producer<byte[], byte[]> first = pool.get(mutable);
        mutable.clear(); // the pool must not keep the caller's map as its key
        Producer<byte[], byte[]> second = pool.get(
                Map.of(ProducerConfig.LINGER_MS_CONFIG, 5, ProducerConfig.ACKS_CONFIG, "all"));

        assertSame(first, second);
        assertEquals(1, factory.made.size());
        assertEquals(1, pool.size());
    }

    @Test
    void overridesThatRepeatTheBaseConfigurationGiveTheSharedProducer() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);

        Producer<byte[], byte[]> shared = pool.shared();
        Producer<byte[], byte[]> sameAcks = pool.get(Map.of(ProducerConfig.ACKS_CONFIG, "1"));

        assertSame(shared, sameAcks);
        assertEquals(1, factory.made.size());
    }

    @Test
    void factoryReceivesTheBaseConfigurationWithByteArraySerializers() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);

        pool.shared();

        Map<String, Object> config = factory.configs.get(0);
        assertEquals(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092",
                ProducerConfig.ACKS_CONFIG, "1",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName()), config);
    }

    @Test
    void serializersAreForcedToByteArraysEvenWhenBaseOrOverridesNameOthers() {
        RecordingFactory factory = new RecordingFactory();
        Map<String, Object> base = new HashMap<>(BASE);
        base.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        ProducerPool pool = new ProducerPool(base, factory, CLOSE_TIMEOUT);

        pool.get(Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));

        Map<String, Object> config = factory.configs.get(0);
        assertAll(
                () -> assertEquals(ByteArraySerializer.class.getName(),
                        config.get(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG)),
                () -> assertEquals(ByteArraySerializer.class.getName(),
                        config.get(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG)),
                () -> assertEquals("all", config.get(ProducerConfig.ACKS_CONFIG), "the override wins over the base"),
                () -> assertEquals("broker:9092", config.get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG)));
    }

    @Test
    void baseConfigurationIsCopiedAtConstruction() {
        RecordingFactory factory = new RecordingFactory();
        Map<String, Object> base = new HashMap<>(BASE);
        ProducerPool pool = new ProducerPool(base, factory, CLOSE_TIMEOUT);
        base.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "elsewhere:9092");

        pool.shared();

        assertEquals("broker:9092", factory.configs.get(0).get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG));
    }

    @Test
    void closeClosesEveryProducerAndEmptiesThePool() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);
        pool.shared();
        pool.get(Map.of(ProducerConfig.ACKS_CONFIG, "all"));
        pool.get(Map.of(ProducerConfig.ACKS_CONFIG, "0"));
        assertEquals(3, pool.size());
        for (MockProducer<byte[], byte[]> p : factory.made) {
            assertFalse(p.closed(), "open while pooled");
        }

        pool.close();

        assertEquals(3, factory.made.size());
        for (MockProducer<byte[], byte[]> p : factory.made) {
            assertTrue(p.closed(), "closed by the time close() returns");
        }
        assertEquals(0, pool.size());
    }

    @Test
    void producersAreClosedWithTheConfiguredTimeout() {
        TimedCloseProducer producer = new TimedCloseProducer();
        ProducerPool pool = new ProducerPool(BASE, config -> producer, CLOSE_TIMEOUT);
        pool.shared();

        pool.close();

        assertEquals(CLOSE_TIMEOUT, producer.closedWith);
    }

    @Test
    void aProducerThatFailsToCloseDoesNotKeepTheOthersOpen() {
        List<MockProducer<byte[], byte[]>> made = new ArrayList<>();
        ProducerPool pool = new ProducerPool(BASE, config -> {
            MockProducer<byte[], byte[]> p = new MockProducer<>();
            if (made.isEmpty()) {
                p.closeException = new KafkaException("close failed");
            }
            made.add(p);
            return p;
        }, CLOSE_TIMEOUT);
        pool.shared();
        pool.get(Map.of(ProducerConfig.ACKS_CONFIG, "all"));
        pool.get(Map.of(ProducerConfig.ACKS_CONFIG, "0"));

        pool.close(); // must not throw

        assertFalse(made.get(0).closed(), "its close threw");
        assertTrue(made.get(1).closed());
        assertTrue(made.get(2).closed());
        assertEquals(0, pool.size());
    }

    @Test
    void closeOfAnEmptyPoolCreatesNothing() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);

        pool.close();

        assertEquals(0, pool.size());
        assertTrue(factory.made.isEmpty());
    }

    @Test
    void sizeCountsOpenProducers() {
        ProducerPool pool = new ProducerPool(BASE, new RecordingFactory(), CLOSE_TIMEOUT);
        assertEquals(0, pool.size());

        pool.shared();
        assertEquals(1, pool.size());
        pool.shared();
        assertEquals(1, pool.size());
        pool.get(Map.of(ProducerConfig.ACKS_CONFIG, "all"));
        assertEquals(2, pool.size());
    }

    @Test
    void concurrentFirstUseCreatesExactlyOneSharedProducer() throws Exception {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);
        int threads = 16;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try {
            List<Callable<Producer<byte[], byte[]>>> calls = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                calls.add(() -> {
                    start.await();
                    return pool.shared();
                });
            }
            List<Future<Producer<byte[], byte[]>>> results = new ArrayList<>();
            for (Callable<Producer<byte[], byte[]>> call : calls) {
                results.add(executor.submit(call));
            }
            start.countDown();
            Set<Producer<byte[], byte[]>> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Future<Producer<byte[], byte[]>> r : results) {
                distinct.add(r.get(10, TimeUnit.SECONDS));
            }
            assertEquals(1, distinct.size());
            assertEquals(1, factory.made.size());
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void aFactoryFailureReachesTheCallerAndIsNotCached() {
        List<MockProducer<byte[], byte[]>> made = new ArrayList<>();
        ProducerPool pool = new ProducerPool(BASE, config -> {
            if (made.isEmpty() && config.containsKey("fail.once")) {
                made.add(null);
                throw new KafkaException("Failed to construct kafka producer");
            }
            MockProducer<byte[], byte[]> p = new MockProducer<>();
            made.add(p);
            return p;
        }, CLOSE_TIMEOUT);

        KafkaException e = assertThrows(KafkaException.class, () -> pool.get(Map.of("fail.once", true)));
        assertEquals("Failed to construct kafka producer", e.getMessage());
        assertEquals(0, pool.size());

        Producer<byte[], byte[]> retried = pool.get(Map.of("fail.once", true));
        assertSame(made.get(1), retried, "the next request tries again");
    }

    @Test
    void producersHandedOutAreNeverEvictedUnderTheirHolders() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);

        for (int i = 0; i < 100; i++) {
            pool.get(Map.of(ProducerConfig.CLIENT_ID_CONFIG, "client-" + i));
        }
        pool.get(Map.of(ProducerConfig.CLIENT_ID_CONFIG, "client-0"));

        assertEquals(100, factory.made.size(), "the same configuration gets the same producer");
        assertEquals(0, factory.made.stream().filter(MockProducer::closed).count());
        assertEquals(100, pool.size());
    }

    @Test
    void afterCloseThePoolRefusesWith503AndOpensNothing() {
        RecordingFactory factory = new RecordingFactory();
        ProducerPool pool = new ProducerPool(BASE, factory, CLOSE_TIMEOUT);
        pool.shared();
        pool.close();

        RestException e = assertThrows(RestException.class, pool::shared);

        assertEquals(503, e.httpStatus());
        assertEquals(1, factory.made.size());
        assertTrue(factory.made.get(0).closed());
    }
}
