package io.portico.sessions;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared producers: one thread-safe producer per distinct configuration, created on first
 * use and shared by every request that needs that configuration. A producer is closed when it
 * leaves the cache (explicit invalidation or {@link #close()}); closing flushes what it holds.
 *
 * <p>Thread-safe. {@link #get} never blocks beyond producer construction.
 */
public final class ProducerPool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProducerPool.class);

    private final Map<String, Object> baseConfig;
    private final Function<Map<String, Object>, Producer<byte[], byte[]>> factory;
    private final Duration closeTimeout;
    private final Cache<Map<String, Object>, Producer<byte[], byte[]>> producers;
    private volatile boolean closed;
    private volatile Producer<byte[], byte[]> shared;
    private final Duration replaceInterval;
    /** Replaced producers, closed in the background rather than by the thread that replaced them. */
    private final java.util.Set<Producer<byte[], byte[]>> retired =
            java.util.Collections.synchronizedSet(java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
    private long lastReplaced = Long.MIN_VALUE / 2; // guarded by this

    /**
     * @param baseConfig producer settings shared by all producers (bootstrap servers, the
     *        {@code producer.*} pass-through); serializers are always byte arrays
     * @param factory creates a producer from a full configuration (a {@code MockProducer} in unit tests)
     * @param closeTimeout how long closing one producer may wait for its in-flight records
     */
    public ProducerPool(Map<String, Object> baseConfig,
                        Function<Map<String, Object>, Producer<byte[], byte[]>> factory,
                        Duration closeTimeout) {
        this(baseConfig, factory, closeTimeout, Duration.ofMinutes(1));
    }

    /** As above, replacing a broken shared producer at most once per {@code replaceInterval}. */
    public ProducerPool(Map<String, Object> baseConfig,
                        Function<Map<String, Object>, Producer<byte[], byte[]>> factory,
                        Duration closeTimeout, Duration replaceInterval) {
        this.baseConfig = Map.copyOf(baseConfig);
        this.factory = factory;
        this.closeTimeout = closeTimeout;
        this.replaceInterval = replaceInterval;
        // Unbounded on purpose: the configurations are the server's (the shared one and a few
        // per-feature variants), never the clients', and evicting a producer would close it
        // under the requests still sending with it.
        this.producers = Caffeine.newBuilder()
                .executor(Runnable::run) // close on the invalidating thread, so close() is complete when it returns
                .removalListener((Map<String, Object> key, Producer<byte[], byte[]> producer, RemovalCause cause) -> {
                    if (producer != null && !retired.remove(producer)) {
                        closeQuietly(producer);
                    }
                })
                .build();
    }

    /** A pool of real {@link KafkaProducer}s. */
    public static ProducerPool kafka(Map<String, Object> baseConfig, Duration closeTimeout) {
        return new ProducerPool(baseConfig,
                config -> new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer()),
                closeTimeout);
    }

    /**
     * The producer with the base configuration.
     *
     * @throws io.portico.protocol.RestException 503 once the pool is closed
     */
    public Producer<byte[], byte[]> shared() {
        Producer<byte[], byte[]> producer = shared;
        if (producer == null || closed) {
            synchronized (this) { // with replaceShared: a retired producer is never published again
                try {
                    producer = get(Map.of());
                } catch (RestException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // Kafka's producer could not be made (its bootstrap servers do not resolve
                    // now, say): the next request tries again, and this one may be retried.
                    throw new RestException(ErrorCode.SERVICE_UNAVAILABLE, "the shared Kafka producer cannot be made now ("
                            + e.getClass().getSimpleName() + "); retry", e);
                }
                shared = producer; // the hot path then skips building and hashing the config map
            }
        }
        return producer;
    }

    /** The shared producer as it is now, or null when there is none yet (never makes one). */
    Producer<byte[], byte[]> currentShared() {
        return closed ? null : shared;
    }

    /** The shared producer's settings. */
    Map<String, Object> sharedConfig() {
        return sharedKey();
    }

    /** The producer for the base configuration with {@code overrides} applied. */
    public Producer<byte[], byte[]> get(Map<String, Object> overrides) {
        if (closed) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the server is shutting down");
        }
        return producers.get(configWith(overrides), factory);
    }

    private Map<String, Object> configWith(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(baseConfig);
        config.putAll(overrides);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return Map.copyOf(config);
    }

    /**
     * Replaces the shared producer when {@code broken} is still it: the next request gets a new
     * one, and the old one is closed in the background once the records it holds are done
     * (bounded by the close timeout). A failure one request caused must not leave the producer
     * every other request shares unusable. At most once per replace interval, logged each time.
     *
     * @return whether {@code broken} was replaced now
     */
    public boolean replaceShared(Producer<byte[], byte[]> broken, String reason) {
        return replaceShared(broken, reason, false);
    }

    /**
     * As {@link #replaceShared(Producer, String)}, for a producer Kafka left in a fatal state (it
     * never sends again): replaced whenever it is still the shared one, whatever the interval.
     */
    public boolean replaceFatal(Producer<byte[], byte[]> broken, String reason) {
        return replaceShared(broken, reason, true);
    }

    private boolean replaceShared(Producer<byte[], byte[]> broken, String reason, boolean fatal) {
        Map<String, Object> key = sharedKey();
        synchronized (this) {
            long now = System.nanoTime();
            if (closed || shared != broken || !fatal && now - lastReplaced < replaceInterval.toNanos()
                    || producers.getIfPresent(key) != broken) {
                return false;
            }
            lastReplaced = now;
            retired.add(broken);
            producers.asMap().remove(key, broken); // the removal listener leaves retired ones open
            shared = null;
        }
        LOG.warn("Replacing the shared producer: {}", reason);
        // A producer that still sends has records in flight whose requests answer within their
        // delivery timeout: closed sooner, they would fail as "closed forcefully" while the broker
        // may still write them. One Kafka left in a fatal state never sends again.
        Duration wait = fatal ? closeTimeout : max(closeTimeout, deliveryTimeout().plusSeconds(5));
        Thread closer = new Thread(() -> closeQuietly(broken, wait), "portico-producer-replaced");
        closer.setDaemon(true);
        closer.start();
        return true;
    }

    /** The cache key of the shared producer: the base configuration with serializers. */
    private Map<String, Object> sharedKey() {
        return configWith(Map.of());
    }

    /** How many producers are open. */
    public long size() {
        return producers.estimatedSize();
    }

    /** The shared producers' delivery timeout (Kafka's 2 minutes unless set). */
    private Duration deliveryTimeout() {
        Object set = sharedKey().get("delivery.timeout.ms");
        try {
            return set == null ? Duration.ofMinutes(2) : Duration.ofMillis(Long.parseLong(set.toString().trim()));
        } catch (NumberFormatException e) {
            return Duration.ofMinutes(2);
        }
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private void closeQuietly(Producer<byte[], byte[]> producer) {
        closeQuietly(producer, closeTimeout);
    }

    private void closeQuietly(Producer<byte[], byte[]> producer, Duration wait) {
        try {
            producer.close(wait);
        } catch (RuntimeException e) {
            LOG.warn("Closing a producer failed: {}", e.toString());
        }
    }

    /** Flushes and closes every producer. */
    @Override
    public void close() {
        closed = true;
        producers.invalidateAll();
        producers.cleanUp();
    }
}
