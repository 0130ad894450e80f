package io.portico.sessions;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.CommittedOffset;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.CreateConsumerRequest;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * The consumer-group instances of this Portico process, by group and name.
 *
 * <p>Design: instances live in a Caffeine cache that expires them after
 * {@code consumer.instance.timeout.ms} without access; every operation on an instance is an
 * access, so an instance expires only when idle, and never while it streams. A {@link Scheduler} makes expiry happen without traffic, and
 * time comes from an injected {@link Ticker}, so tests advance time instead of sleeping. When an
 * instance expires or the registry closes, the removal listener closes its consumer (leaving the
 * group) on a dedicated thread, never on the caller's. An explicit delete removes the instance
 * and closes it on the deleting thread, so a {@code DELETE} answers after the instance has left
 * its group. Each {@link ConsumerInstance} serializes its own operations.
 *
 * <p>All methods may block (consumer creation, polls, commits, closes): call them from a worker
 * pool. Errors are {@link RestException}s: 40403 unknown or expired instance, 40902 duplicate
 * name, 429 when {@code consumer.instances.max} instances exist, and those of
 * {@link ConsumerInstance}.
 */
public final class ConsumerRegistry implements AutoCloseable {
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);
    /** How many instances are closed at once on shutdown. */
    private static final int CLOSING_THREADS = 8;

    private final Settings settings;
    private volatile Ticker readClock = Ticker.systemTicker();
    private final Function<Map<String, Object>, Consumer<byte[], byte[]>> factory;
    private final Predicate<String> topicExists;
    private final ExecutorService closer;
    private final ExecutorService maintenance;
    /** Where a read's wait without polling (a pattern that matches nothing yet) passes. */
    private final ScheduledExecutorService timer;
    private final Cache<Key, ConsumerInstance> instances;
    private final Semaphore slots;
    /** Instances each API key holds (only keys: with authentication off there is one caller, anonymous). */
    private final PerOwner owned = new PerOwner();

    /**
     * At most {@code max} instances per API key on this server ({@code consumer.instances.per.key.max}),
     * so that one key cannot take every slot of {@code consumer.instances.max} from the others.
     */
    public ConsumerRegistry instancesPerOwner(int max) {
        owned.max(max);
        return this;
    }

    /** Expired instances let go of first (their keys' counts with them), then another try. */
    private boolean cleanedUpThenTaken(String owner) {
        instances.cleanUp();
        return owned.take(owner);
    }

    /** An instance's slot, and its key's count, given back. */
    private void release(String owner) {
        owned.give(owner);
        slots.release();
    }
    private final SessionMetrics metrics;
    private final MemoryBudget memory;
    private final Duration memoryWait;
    private final long consumerCost;
    private volatile java.util.function.Supplier<java.util.Collection<String>> topicNames = List::of;

    /**
     * How instances are made and bounded.
     *
     * @param kafka consumer settings shared by all instances (bootstrap servers, the
     *        {@code consumer.*} pass-through); group, deserializers and commit mode are set per instance
     */
    public record Settings(Map<String, Object> kafka, Duration instanceTimeout, Duration requestTimeout,
                           Duration assignmentTimeout, long requestMaxBytes, int maxInstances, String serverId) {
        public Settings {
            kafka = Map.copyOf(kafka);
        }
    }

    private record Key(String group, String name) {
    }

    /**
     * Where other nodes learn which node holds an instance ({@link NodeDirectory}); a single
     * node has none.
     */
    public interface Ownership {
        /**
         * Records that this node holds the instance before its create answers (blocking).
         *
         * @throws RestException 40902 when another node holds the name, 503 when it cannot be recorded
         */
        void claim(String group, String name);

        /**
         * The instance left this node (deleted or expired), told before its name can be claimed
         * again; must not block for long. Not when the registry closes: the node's departure says it.
         */
        void release(String group, String name);

        Ownership NONE = new Ownership() {
            @Override
            public void claim(String group, String name) {
            }

            @Override
            public void release(String group, String name) {
            }
        };
    }

    private volatile Ownership ownership = Ownership.NONE;
    private volatile Function<EmbeddedFormat, Function<ConsumedRecord, ConsumedRecord>> decoders = format -> null;

    /**
     * Sets how instances of the schema formats render what they read (once, at start-up): for
     * each format, a function from a stored record to the record as the format shows it (its key
     * and value as JSON text), which throws a {@link RestException} for a record it cannot
     * render; null for a format that cannot be read (its instances are not created: 415).
     */
    public void decoders(Function<EmbeddedFormat, Function<ConsumedRecord, ConsumedRecord>> decoders) {
        this.decoders = decoders;
    }

    /**
     * @param factory creates a consumer from its full configuration (a {@code MockConsumer} in unit tests)
     * @param topicExists blocking check used on an instance's first read
     * @param ticker the time source of idle expiry
     */
    public ConsumerRegistry(Settings settings, Function<Map<String, Object>, Consumer<byte[], byte[]>> factory,
                            Predicate<String> topicExists, Ticker ticker) {
        this(settings, factory, topicExists, ticker, SessionMetrics.unreported());
    }

    /** As above, counting instances and consumed records in {@code metrics}. */
    public ConsumerRegistry(Settings settings, Function<Map<String, Object>, Consumer<byte[], byte[]>> factory,
                            Predicate<String> topicExists, Ticker ticker, SessionMetrics metrics) {
        this(settings, factory, topicExists, ticker, metrics, MemoryBudget.unbounded("memory.consumers.max.bytes"),
                Duration.ZERO);
    }

    /**
     * As above, each instance counting its consumer ({@link HeldRecords#CONSUMER_COST}) and the
     * records it holds against {@code memory}; a create that finds no room within
     * {@code memoryWait} is a 503.
     */
    public ConsumerRegistry(Settings settings, Function<Map<String, Object>, Consumer<byte[], byte[]>> factory,
                            Predicate<String> topicExists, Ticker ticker, SessionMetrics metrics,
                            MemoryBudget memory, Duration memoryWait) {
        this.settings = settings;
        this.memory = memory;
        this.memoryWait = memoryWait;
        this.consumerCost = HeldRecords.consumerCost(settings.kafka());
        memory.addReclaimer(new MemoryBudget.Reclaimer() {
            @Override
            public void reclaim(long needed) {
                relieve(needed);
            }

            @Override
            public void reclaimOwn(String owner, long needed) {
                relieve(owner, needed);
            }
        });
        this.metrics = metrics;
        this.factory = factory;
        this.topicExists = topicExists;
        // Closes of expired instances, several at a time: each may wait for Kafka (a final commit,
        // the group's leave) up to CLOSE_TIMEOUT, and many expire together when a fleet of clients
        // goes away; one at a time, with Kafka down, 300 took some 50 minutes, their consumers and
        // their memory held all along.
        java.util.concurrent.ThreadPoolExecutor closing = new java.util.concurrent.ThreadPoolExecutor(CLOSING_THREADS,
                CLOSING_THREADS, 30, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "portico-consumer-closer");
                    t.setDaemon(true);
                    return t;
                });
        closing.allowCoreThreadTimeOut(true);
        this.closer = closing;
        this.maintenance = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "portico-consumer-expiry");
            t.setDaemon(true);
            return t;
        });
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "portico-consumer-read-timer");
            t.setDaemon(true);
            return t;
        });
        this.slots = new Semaphore(settings.maxInstances());
        long idleNanos = settings.instanceTimeout().toNanos();
        this.instances = Caffeine.newBuilder()
                // Idle expiry, as expireAfterAccess, except that an instance streaming its records
                // or being read never expires: each access while it streams (or a read waits) sets
                // its expiry beyond reach, and the access that ends its stream (or read) starts the
                // idle clock again.
                .expireAfter(new Expiry<Key, ConsumerInstance>() {
                    @Override
                    public long expireAfterCreate(Key key, ConsumerInstance instance, long now) {
                        return idleNanos;
                    }

                    @Override
                    public long expireAfterUpdate(Key key, ConsumerInstance instance, long now, long current) {
                        return idleNanos;
                    }

                    @Override
                    public long expireAfterRead(Key key, ConsumerInstance instance, long now, long current) {
                        return instance.isStreaming() || instance.isReading() ? Long.MAX_VALUE : idleNanos;
                    }
                })
                // Runs on the evicting thread, so an expired instance's slot is free at once, and
                // other nodes are told it left before a create can claim its name again (a create
                // that finds it expired evicts it within its own put): told later, from the closer
                // thread, the release would erase the new instance's claim.
                .evictionListener((Key key, ConsumerInstance instance, RemovalCause cause) -> {
                    release(instance.owner());
                    ownership.release(key.group(), key.name());
                })
                .ticker(ticker)
                .scheduler(Scheduler.systemScheduler())
                // The cache's own work (expiry, and the eviction listener's release of a name to the
                // other nodes, which may wait for Kafka) on a thread of its own, never behind a close
                // (the removal listener hands those to the closers) nor on the JVM's shared timer.
                .executor(maintenance)
                .removalListener((Key key, ConsumerInstance instance, RemovalCause cause) -> {
                    if (cause == RemovalCause.EXPIRED) {
                        metrics.instanceExpired();
                    }
                    if (instance != null && cause != RemovalCause.EXPLICIT) {
                        try {
                            closer.execute(() -> instance.close(CLOSE_TIMEOUT));
                        } catch (java.util.concurrent.RejectedExecutionException e) {
                            instance.close(CLOSE_TIMEOUT); // the registry closes
                        }
                    }
                })
                .build();
        metrics.registry().gauge("portico.consumer.instances.live", () -> instances::estimatedSize);
    }

    /** Real {@link KafkaConsumer}s. */
    public static ConsumerRegistry kafka(Settings settings, Predicate<String> topicExists, Ticker ticker,
                                         SessionMetrics metrics, MemoryBudget memory, Duration memoryWait) {
        return new ConsumerRegistry(settings,
                PollBound::consumer,
                topicExists, ticker, metrics, memory, memoryWait);
    }

    /**
     * Creates an instance in {@code group}.
     *
     * @param owner the API key's name that creates it, or null when authentication is off
     * @throws RestException 40902 duplicate name, 42204 invalid consumer settings, 415 avro,
     *         422 unknown format, 429 too many instances
     */
    public ConsumerInstance create(String group, CreateConsumerRequest request, String owner) {
        return create(group, request.instanceName(), request.embeddedFormat(), request.kafkaOffsetReset(),
                request.autoCommit(), ConsumerInstance.Options.DEFAULTS, owner);
    }

    /**
     * Creates an instance in {@code group}: {@code name} null for a generated one, Kafka's
     * {@code auto.offset.reset} (or null for the consumer's default), whether returned records are
     * committed without a commit, per-instance read settings.
     *
     * @throws RestException as {@link #create(String, CreateConsumerRequest, String)}
     */
    public ConsumerInstance create(String group, String requestedName, EmbeddedFormat format, String reset,
                                   boolean autoCommit, ConsumerInstance.Options options, String owner) {
        KafkaNames.group(group);
        Function<ConsumedRecord, ConsumedRecord> decoder = format.needsSchemaRegistry() ? decoders.apply(format) : null;
        if (format.needsSchemaRegistry() && decoder == null) {
            throw ErrorCode.SCHEMA_REGISTRY_REQUIRED.exception();
        }
        String name = requestedName;
        if (name == null) {
            name = "rest-consumer-" + (settings.serverId().isEmpty() ? "" : settings.serverId() + "-")
                    + UUID.randomUUID();
        }
        Key key = new Key(group, name);
        if (instances.asMap().containsKey(key)) { // not an access: a taken name keeps no one alive
            throw ErrorCode.CONSUMER_ALREADY_EXISTS.exception();
        }
        // A slot is held from here until the instance leaves the registry (or creation fails),
        // so concurrent creates cannot exceed the limit.
        if (!slots.tryAcquire()) {
            instances.cleanUp();
            if (!slots.tryAcquire()) {
                throw ErrorCode.TOO_MANY_REQUESTS.exception("this server already holds "
                        + settings.maxInstances() + " consumer instances (consumer.instances.max); "
                        + "delete unused ones or retry later");
            }
        }
        if (!owned.take(owner) && !cleanedUpThenTaken(owner)) {
            slots.release();
            throw ErrorCode.TOO_MANY_REQUESTS.exception("this API key already holds " + owned.max()
                    + " consumer instances on this server (consumer.instances.per.key.max); delete unused ones "
                    + "or retry later");
        }
        boolean kept = false;
        MemoryBudget.Lease lease = memory.lease(owner);
        try {
            if (!lease.take(consumerCost, memoryWait)) {
                if (lease.ownerFull(consumerCost)) {
                    throw memory.ownerShareFull();
                }
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("Kafka consumers fill the memory set aside for them ("
                        + memory.name() + "); delete unused instances or retry later");
            }
            ConsumerInstance instance = newInstance(group, name, format, reset, autoCommit, options, owner, lease);
            instance.decoder(decoder);
            if (instances.asMap().putIfAbsent(key, instance) != null) {
                instance.close(CLOSE_TIMEOUT);
                throw ErrorCode.CONSUMER_ALREADY_EXISTS.exception();
            }
            try {
                ownership.claim(group, name);
            } catch (RuntimeException e) {
                // Deleted meanwhile (its creator gave up waiting, say): the delete gave its slot back.
                kept = !instances.asMap().remove(key, instance);
                // A claim written but not read back in time may show this node as holder once it
                // is: released afterwards, from the closer thread (nothing when another node holds it).
                try {
                    String claimed = name;
                    closer.execute(() -> releaseUnlessMadeAgain(key, group, claimed));
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    // the registry closes: this node's departure says it
                }
                instance.close(CLOSE_TIMEOUT);
                throw e;
            }
            kept = true;
            instance.claimed();
            if (instances.policy().getIfPresentQuietly(key) != instance) {
                // Deleted while its claim was read back: that delete found no claim of this node's
                // to release, so it is released now (other nodes would refuse the name for good).
                releaseUnlessMadeAgain(key, group, name);
                throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
            }
            metrics.instanceCreated();
            return instance;
        } finally {
            if (!kept) {
                lease.close();
                release(owner);
            }
        }
    }

    /**
     * Releases this node's claim of a name whose instance is gone, unless the name was made again
     * here meanwhile (its new instance's claim is the same record: releasing would erase it).
     */
    private void releaseUnlessMadeAgain(Key key, String group, String name) {
        if (instances.policy().getIfPresentQuietly(key) == null) {
            ownership.release(group, name);
        }
    }

    /**
     * Lets idle instances go of the records they hold (they fetch them again when read), the
     * largest holders first, until {@code needed} more bytes fit the consumers budget. Never
     * blocks on an instance in use.
     */
    private void relieve(long needed) {
        relieve(null, () -> memory.hasRoomFor(needed));
    }

    /**
     * Before a read of {@code instance}: idle instances let go of what they hold while the budget,
     * or the instance's key, is over (a key's instance left holding records would otherwise keep
     * its other instances from fetching).
     */
    private void relieveFor(ConsumerInstance instance) {
        relieve(0);
        if (instance.owner() != null) {
            relieve(instance.owner(), 0);
        }
    }

    /** As above, among {@code owner}'s instances, until {@code needed} more fit its share of the budget. */
    private void relieve(String owner, long needed) {
        relieve(owner, () -> memory.heldBy(owner) + needed <= memory.ownerShare());
    }

    /** Sheds instances (of {@code owner}, or all when null), the largest holders first, until {@code enough}. */
    private void relieve(String owner, java.util.function.BooleanSupplier enough) {
        if (enough.getAsBoolean()) {
            return;
        }
        // Sorted by what each held when looked at: the amounts change while instances are read.
        List<Map.Entry<ConsumerInstance, Long>> all = new ArrayList<>();
        for (ConsumerInstance instance : instances.asMap().values()) {
            if (owner == null || owner.equals(instance.owner())) {
                all.add(Map.entry(instance, instance.memoryHeld()));
            }
        }
        all.sort(Map.Entry.<ConsumerInstance, Long>comparingByValue().reversed());
        for (Map.Entry<ConsumerInstance, Long> e : all) {
            if (enough.getAsBoolean()) {
                return;
            }
            e.getKey().shed();
        }
    }

    private ConsumerInstance newInstance(String group, String name, EmbeddedFormat format, String reset,
                                         boolean autoCommit, ConsumerInstance.Options options, String owner,
                                         MemoryBudget.Lease lease) {
        Map<String, Object> config = new HashMap<>(settings.kafka());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // Under a prefix of their own: a group and name chosen by a client never make the id of
        // Portico's own clients (portico-offset-reader, portico-idempotency-reader, ...), whose
        // broker quotas and metrics a client id shares.
        config.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "portico-instance-" + group + "-" + name);
        // An instance keeps what it fetched beyond a response for the next read, so a poll may
        // hand over all that the fetches brought: fewer polls per read (Kafka's default is 500).
        config.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        // Subscribing or assigning never creates a topic: that takes the manager role.
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        if (reset != null) {
            config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, reset);
        }
        Consumer<byte[], byte[]> consumer;
        try {
            consumer = factory.apply(config);
        } catch (org.apache.kafka.common.KafkaException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw ErrorCode.INVALID_CONSUMER_CONFIG.exception(KafkaErrors.describe(cause));
        }
        ConsumerInstance instance = new ConsumerInstance(group, name, format, autoCommit, owner, options, consumer,
                metrics, lease, readClock);
        instance.topicLister(() -> topicNames.get());
        java.util.function.ToIntFunction<String> counts = partitionCounts;
        if (counts != null) {
            instance.partitionCounter(counts);
        }
        return instance;
    }

    /** Sets where other nodes learn which node holds each instance (once, at start-up). */
    public void ownership(Ownership ownership) {
        this.ownership = ownership;
    }

    /** Whether an instance of that name is in this registry now, being made included (its claim not done yet). */
    public boolean has(String group, String name) {
        return instances.policy().getIfPresentQuietly(new Key(group, name)) != null;
    }

    /** Whether this registry holds the instance (not an access: its idle clock runs on). */
    public boolean holds(String group, String name) {
        ConsumerInstance instance = instances.policy().getIfPresentQuietly(new Key(group, name));
        return instance != null && !instance.isClosed() && instance.isClaimed();
    }

    /**
     * The live instance, if {@code caller} created it (an API key's or user's name; with
     * authentication off, null, and every caller may use it). Only an allowed access resets its
     * idle clock: another key's refused requests never keep an abandoned instance, its memory and
     * its creator's place from expiring.
     *
     * @throws RestException 40403 when unknown or expired; 403 when another caller created it
     */
    public ConsumerInstance owned(String group, String name, String caller) {
        ConsumerInstance instance = instances.policy().getIfPresentQuietly(new Key(group, name));
        if (instance == null || instance.isClosed()) {
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        }
        if (instance.owner() != null && !instance.owner().equals(caller)) {
            throw ErrorCode.FORBIDDEN.exception("This consumer instance belongs to another API key");
        }
        ConsumerInstance live = get(group, name);
        if (live != instance) { // deleted and made again meanwhile: not the one whose owner was checked
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        }
        return live;
    }

    /**
     * The live instance (this access resets its idle clock).
     *
     * @throws RestException 40403 when unknown or expired
     */
    public ConsumerInstance get(String group, String name) {
        ConsumerInstance instance = access(new Key(group, name));
        if (instance == null || instance.isClosed()) {
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        }
        return instance;
    }

    /** Reads from the instance, see {@link ConsumerInstance#read}; {@code maxBytes} ≤ 0 means the server cap. */
    public List<ConsumedRecord> read(ConsumerInstance instance, String topic, long maxBytes) {
        return read(instance, topic, maxBytes, ResponseRoom.unbounded());
    }

    /** As {@link #read(ConsumerInstance, String, long)}, records taking their room in the response from {@code room}. */
    public List<ConsumedRecord> read(ConsumerInstance instance, String topic, long maxBytes, ResponseRoom room) {
        relieveFor(instance);
        List<ConsumedRecord> records = instance.read(topic, limits(settings.requestTimeout(), settings.assignmentTimeout(), maxBytes, -1),
                topicExists, room);
        touch(instance);
        return records;
    }

    /**
     * As {@link #read(ConsumerInstance, String, long, ResponseRoom)} without holding a thread for
     * the wait, see {@link ConsumerInstance#readAsync}: call it from a thread of {@code pool},
     * which runs the read's later slices. The instance does not expire while the read is in
     * progress.
     */
    public CompletableFuture<List<ConsumedRecord>> readAsync(ConsumerInstance instance, String topic, long maxBytes,
                                                             ResponseRoom room, Executor pool) {
        return readAsync(instance, topic, maxBytes, room, pool, null);
    }

    /**
     * As {@link #readAsync(ConsumerInstance, String, long, ResponseRoom, Executor)}, its waits
     * (for the group's assignment, then for records) together at most {@code within} (null: no
     * such bound): a read relayed by another node must answer before that node stops waiting.
     */
    public CompletableFuture<List<ConsumedRecord>> readAsync(ConsumerInstance instance, String topic, long maxBytes,
                                                             ResponseRoom room, Executor pool, Duration within) {
        relieveFor(instance);
        return whileReading(instance, instance.readAsync(topic, within(limits(settings.requestTimeout(),
                settings.assignmentTimeout(), maxBytes, -1), within), topicExists, room, pool, timer));
    }

    /** {@code limits} with its waits together at most {@code within} (the wait for records first); as is when null. */
    static ConsumerInstance.ReadLimits within(ConsumerInstance.ReadLimits limits, Duration within) {
        if (within == null) {
            return limits;
        }
        Duration wait = min(limits.requestTimeout(), within);
        Duration assignment = min(limits.assignmentTimeout(), within.minus(wait));
        return new ConsumerInstance.ReadLimits(wait, assignment, limits.maxBytes(), limits.clientMaxBytes(),
                limits.fetchMinBytes());
    }

    /**
     * v2's read of an instance: up to {@code maxBytes} (≤ 0: the server's cap), waiting at most
     * {@code timeout} (null: the instance's {@code consumer.request.timeout.ms}, else the server's).
     */
    public List<ConsumedRecord> poll(ConsumerInstance instance, Duration timeout, long maxBytes, ResponseRoom room) {
        relieveFor(instance);
        List<ConsumedRecord> records = instance.poll(pollLimits(instance, timeout, maxBytes), room);
        touch(instance);
        return records;
    }

    /**
     * As {@link #poll} without holding a thread for the wait, as
     * {@link #readAsync(ConsumerInstance, String, long, ResponseRoom, Executor)}.
     */
    public CompletableFuture<List<ConsumedRecord>> pollAsync(ConsumerInstance instance, Duration timeout,
                                                             long maxBytes, ResponseRoom room, Executor pool) {
        return pollAsync(instance, timeout, maxBytes, room, pool, null);
    }

    /** As {@link #pollAsync(ConsumerInstance, Duration, long, ResponseRoom, Executor)}, its waits together at most {@code within}. */
    public CompletableFuture<List<ConsumedRecord>> pollAsync(ConsumerInstance instance, Duration timeout,
                                                             long maxBytes, ResponseRoom room, Executor pool,
                                                             Duration within) {
        relieveFor(instance);
        return whileReading(instance, instance.pollAsync(within(pollLimits(instance, timeout, maxBytes), within), room,
                pool, timer));
    }

    /** Marks the instance as read (its expiry waits while a read is in progress) now and when the read ends. */
    private CompletableFuture<List<ConsumedRecord>> whileReading(ConsumerInstance instance,
                                                                 CompletableFuture<List<ConsumedRecord>> read) {
        touch(instance);
        return read.whenComplete((records, error) -> touch(instance));
    }

    private ConsumerInstance.ReadLimits pollLimits(ConsumerInstance instance, Duration timeout, long maxBytes) {
        Duration own = instance.options().requestTimeout();
        // An instance's own wait is bounded: it must end well within the instance's idle timeout.
        Duration wait = own == null ? settings.requestTimeout()
                : min(own, min(MAX_INSTANCE_REQUEST_TIMEOUT, settings.instanceTimeout().dividedBy(2)));
        if (timeout != null && timeout.compareTo(wait) < 0) {
            wait = timeout;
        }
        // A read that names its timeout answers within it even before the group has assigned the
        // instance partitions (Confluent's answers [] then): a client priming its subscription
        // with a short read it throws away must not be handed the topic's first records by it.
        // Without one, the first read waits for the assignment, so records come back at once.
        Duration assignmentWait = timeout == null ? settings.assignmentTimeout() : Duration.ZERO;
        return limits(wait, assignmentWait, maxBytes, instance.options().fetchMinBytes());
    }

    private ConsumerInstance.ReadLimits limits(Duration wait, Duration assignmentWait, long clientMaxBytes,
                                               int fetchMinBytes) {
        long server = settings.requestMaxBytes();
        long client = Math.max(0, clientMaxBytes);
        return new ConsumerInstance.ReadLimits(wait, assignmentWait,
                client > 0 ? Math.min(client, server) : server, client, fetchMinBytes);
    }

    /**
     * Sets the clock of read deadlines (the instances created from now on use it); tests give a
     * clock that moves as the code reads it, so waits are checked without sleeping.
     */
    ConsumerRegistry readClock(Ticker clock) {
        this.readClock = clock;
        return this;
    }

    /** The longest a v2 instance's own {@code consumer.request.timeout.ms} may make a read wait. */
    public static final Duration MAX_INSTANCE_REQUEST_TIMEOUT = Duration.ofSeconds(30);

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /**
     * Opens the instance's stream (see {@link ConsumerInstance#openStream}); the instance does not
     * expire until the stream is {@linkplain #closeStream closed}.
     */
    public ConsumerInstance.Stream openStream(ConsumerInstance instance, String v1Topic,
                                              ConsumerInstance.ResumeAfter resume) {
        relieveFor(instance);
        ConsumerInstance.Stream stream = instance.openStream(v1Topic, topicExists, resume);
        touch(instance); // streaming now: beyond expiry
        return stream;
    }

    /**
     * The next records of a stream: as soon as there are any, else none after
     * {@code consumer.request.timeout.ms} (the stream then asks again; a short wait lets it end
     * soon when asked to); at most {@code maxBytes} of keys and values (a larger first record
     * comes alone).
     */
    public List<ConsumedRecord> next(ConsumerInstance.Stream stream, long maxBytes, ResponseRoom room) {
        relieveFor(stream.instance());
        return stream.next(new ConsumerInstance.ReadLimits(settings.requestTimeout(), settings.assignmentTimeout(),
                Math.min(maxBytes, settings.requestMaxBytes())), room);
    }

    /** Ends the stream's hold on its instance, whose idle clock starts again. */
    public void closeStream(ConsumerInstance.Stream stream) {
        stream.close();
        stream.instance().settleEndedStream();
        touch(stream.instance());
    }

    /** Runs {@code operation} on the instance and counts it as activity when it ends. */
    public <T> T run(ConsumerInstance instance, java.util.function.Function<ConsumerInstance, T> operation) {
        T result = operation.apply(instance);
        touch(instance);
        return result;
    }

    /** Commits what the instance returned, see {@link ConsumerInstance#commit}. */
    public List<CommittedOffset> commit(ConsumerInstance instance) {
        List<CommittedOffset> committed = instance.commit();
        touch(instance);
        return committed;
    }

    /** A long operation counts as activity when it ends, not only when it starts. */
    private void touch(ConsumerInstance instance) {
        access(new Key(instance.group(), instance.name()));
    }

    /**
     * An access of the instance at {@code key} (null when there is none), which sets its expiry
     * from what it does now (never while it reads or streams). Accesses of one instance take
     * turns: two at once (the ends of two overlapping reads) could each work out its expiry and
     * the one that saw the other's read still going set "never" last, after that read ended, so
     * that an instance its client left would never expire.
     */
    private ConsumerInstance access(Key key) {
        ConsumerInstance instance = instances.policy().getIfPresentQuietly(key);
        if (instance == null) {
            return null;
        }
        synchronized (instance) {
            return instances.getIfPresent(key);
        }
    }

    /**
     * Removes the instance and closes it (it leaves its group) before returning.
     *
     * @throws RestException 40403 when unknown or expired
     */
    public ConsumerInstance delete(String group, String name) {
        return delete(get(group, name));
    }

    /**
     * Removes this instance, if it is still the one under its name (an owner check and the delete
     * that follows it must not remove an instance made again meanwhile by another key), and
     * closes it.
     *
     * @throws RestException 40403 when it is no longer in the registry
     */
    public ConsumerInstance delete(ConsumerInstance instance) {
        String group = instance.group();
        String name = instance.name();
        if (!instances.asMap().remove(new Key(group, name), instance)) {
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        }
        release(instance.owner());
        ownership.release(group, name); // before a create of the name can claim it again
        instance.close(CLOSE_TIMEOUT, true);
        return instance;
    }

    /**
     * Where pattern subscriptions learn of the cluster's topics (a shared, briefly cached list);
     * set once at start-up.
     */
    public void topicNames(java.util.function.Supplier<java.util.Collection<String>> lister) {
        this.topicNames = lister;
    }

    /**
     * Where instances ask Kafka afresh how many partitions a topic has, for a partition their
     * consumer's metadata does not know of (0: no such topic; -1: Kafka cannot say now); set once
     * at start-up.
     */
    public void partitionCounts(java.util.function.ToIntFunction<String> counter) {
        this.partitionCounts = counter;
    }

    private volatile java.util.function.ToIntFunction<String> partitionCounts;

    /** Live instances (approximate). */
    public long size() {
        return instances.estimatedSize();
    }

    /** Runs pending expiry now (tests call it after advancing their ticker). */
    public void cleanUp() {
        instances.cleanUp();
    }

    /** Closes every instance (each leaves its group), then the closer thread, within {@code CLOSE_TIMEOUT} in all. */
    @Override
    public void close() {
        close(CLOSE_TIMEOUT);
    }

    /**
     * As {@link #close()}, every instance closed within {@code within} of now: several at a time
     * (a final commit and a leave each wait for Kafka), each given what is left of that bound, so
     * that a shutdown with Kafka unreachable does not wait a commit's timeout per instance.
     */
    void close(Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        List<ConsumerInstance> all = new ArrayList<>(instances.asMap().values());
        instances.asMap().clear();
        if (!all.isEmpty()) {
            java.util.concurrent.ExecutorService closing = java.util.concurrent.Executors.newFixedThreadPool(
                    Math.min(CLOSING_THREADS, all.size()), r -> {
                        Thread t = new Thread(r, "portico-consumer-close");
                        t.setDaemon(true);
                        return t;
                    });
            for (ConsumerInstance instance : all) {
                closing.execute(() -> instance.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))));
            }
            closing.shutdown();
            try {
                // Each close keeps to the deadline; a little more for the last ones' own work.
                closing.awaitTermination(within.toMillis() + 5_000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closer.shutdown();
        maintenance.shutdown();
        timer.shutdown();
        try {
            closer.awaitTermination(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
