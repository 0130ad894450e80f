package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.PartitionOffset;
import io.portico.protocol.ProduceRecord;
import io.portico.protocol.RecordsResponse;
import io.portico.protocol.RestException;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Produces records with the shared producer and reports, per record and in request order, where
 * each landed or why it failed.
 *
 * <p>Blocking: {@link #produce} may block its caller while the producer fetches metadata for a
 * topic it has not seen (bounded by the producer's {@code max.block.ms}) or waits for buffer
 * space; call it from a bounded worker pool, never from an HTTP IO thread ({@link #produceAtOnce}
 * never waits: it sends only what the producer takes at once). The returned future
 * completes on a Kafka producer thread once every record is acknowledged or failed (per
 * {@code acks}); keep what runs on it short.
 *
 * <p>Whole-request errors (thrown, nothing produced): 404/40401 when the topic does not exist
 * and is not auto-created within the wait; 404/40402 when a record names a partition the topic
 * does not have; 503 when the cluster does not answer.
 */
public final class ProduceService {
    /** ISO-8601 in UTC with milliseconds, as the records endpoint reports timestamps. */
    private static final DateTimeFormatter TIMESTAMP =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final ProducerPool producers;
    private final TopicExistence topics;
    private final SessionMetrics metrics;
    private final Options options;
    /** What each API key's records take of the shared producer's buffer until acknowledged. */
    private final ProducerShares shares;
    /** Whether the shared producer puts a keyed record where Kafka's own partitioner does (by the key's hash). */
    private final boolean keyedPlaces;
    /**
     * The producer's {@code delivery.timeout.ms} ({@code produce.timeout.ms}): how long after its
     * send a record may still be appended (retries included), its timestamp checked by the broker
     * only then.
     */
    private final long deliveryTimeoutMs;
    /** The wall clock timestamps are checked against (a test's, to check them at a given instant). */
    private java.util.function.LongSupplier wallClock = System::currentTimeMillis;
    /** Topics a producer has metadata for (the value is that producer): asked directly, without a bounded hop. */
    private final Cache<String, Producer<byte[], byte[]>> known = Caffeine.newBuilder()
            .maximumSize(10_000)
            .expireAfterAccess(Duration.ofMinutes(1)) // well within the producer's metadata.max.idle.ms
            // Read on every produce, on IO threads too: the cache's upkeep (a few entries' bookkeeping,
            // no listener) runs on the reading thread when it is due, rather than as a task of the
            // common pool, whose thread each read that filled a buffer had to wake.
            .executor(Runnable::run)
            .build();
    /** Look-ups in progress, one per topic however many requests wait for it. */
    private final java.util.concurrent.ConcurrentHashMap<String, CompletableFuture<List<PartitionInfo>>> lookups =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Decides, after a metadata wait timed out, whether the topic is missing or the cluster unreachable. */
    @FunctionalInterface
    public interface TopicExistence {
        /** True if the topic exists, false if the cluster says it does not; throws if the cluster does not answer. */
        boolean exists(String topic);

        /** As {@link #exists(String)}, waiting at most {@code timeout} for the cluster. */
        default boolean exists(String topic, Duration timeout) {
            return exists(topic);
        }

        /**
         * Whether the cluster creates a topic a producer asks about (Kafka's
         * {@code auto.create.topics.enable}); when it does not, a topic the producer does not
         * know is first asked about here, so a name that does not exist never reaches the shared
         * producer. True when not known.
         */
        default boolean createsTopicsOnFirstUse() {
            return true;
        }

        /**
         * How far a record's timestamp may be ahead of now for the cluster to take it (Kafka's
         * {@code log.message.timestamp.after.max.ms}); no bound when not known.
         */
        default long timestampAfterMaxMs() {
            return Long.MAX_VALUE;
        }

        /** How far a record's timestamp may be behind now (Kafka's {@code log.message.timestamp.before.max.ms}: no bound unless set). */
        default long timestampBeforeMaxMs() {
            return Long.MAX_VALUE;
        }

        /**
         * As {@link #timestampAfterMaxMs()} for {@code topic}: its own
         * {@code message.timestamp.after.max.ms} when known (a topic may override the brokers'),
         * else the brokers'.
         */
        default long timestampAfterMaxMs(String topic) {
            return timestampAfterMaxMs();
        }

        /** As {@link #timestampBeforeMaxMs()} for {@code topic}, as {@link #timestampAfterMaxMs(String)}. */
        default long timestampBeforeMaxMs(String topic) {
            return timestampBeforeMaxMs();
        }

        /**
         * The topic's partition count as the cluster gave it at most a second ago (0 when it has
         * no such topic), or -1 when it cannot say: asked when a record names a partition past
         * what the producer knows, which the topic may have gained since.
         */
        default int recentPartitionCount(String topic) {
            return -1;
        }

        /**
         * Whether the topic is compacted ({@code cleanup.policy} has {@code compact}), if known
         * now without waiting; null while it is being asked. A broker refuses the whole batch
         * a record without a key for such a topic is in.
         */
        default Boolean compactedIfKnown(String topic) {
            return Boolean.FALSE;
        }

        /** As {@link #compactedIfKnown}, waiting (at most the metadata timeout) for the answer; false when the cluster cannot say. */
        default boolean compacted(String topic) {
            return false;
        }
    }


    /**
     * How produce requests are bounded.
     *
     * @param metadataTimeout the bound on a request's metadata waits ({@code metadata.timeout.ms})
     * @param internalTopicsAllowed whether records may be written to internal topics
     * @param metadataPool runs the producer's blocking metadata look-ups of topics it does not know
     *        yet, so that a request can stop waiting at its deadline (bounded; full means 503)
     */
    public record Options(Duration metadataTimeout, boolean internalTopicsAllowed, Executor metadataPool) {
        /** Defaults for unit tests: a minute, internal topics refused, look-ups on the caller's thread. */
        public static final Options DEFAULTS = new Options(Duration.ofMinutes(1), false, Runnable::run);
    }

    public ProduceService(ProducerPool producers, TopicExistence topics) {
        this(producers, topics, SessionMetrics.unreported(), Options.DEFAULTS);
    }

    public ProduceService(ProducerPool producers, TopicExistence topics, SessionMetrics metrics, Options options) {
        this.producers = producers;
        this.topics = topics;
        this.metrics = metrics;
        this.options = options;
        metrics.registry().gauge("portico.producers", () -> producers::size);
        Map<String, Object> config = producers.sharedConfig();
        this.shares = new ProducerShares(setting(config, org.apache.kafka.clients.producer.ProducerConfig.BUFFER_MEMORY_CONFIG,
                32L << 20), setting(config, org.apache.kafka.clients.producer.ProducerConfig.BATCH_SIZE_CONFIG, 16384));
        Object partitioner = config.get(org.apache.kafka.clients.producer.ProducerConfig.PARTITIONER_CLASS_CONFIG);
        this.keyedPlaces = (partitioner == null || partitioner.toString().isBlank())
                && !"true".equalsIgnoreCase(String.valueOf(
                        config.get(org.apache.kafka.clients.producer.ProducerConfig.PARTITIONER_IGNORE_KEYS_CONFIG)).trim());
        // An int to Kafka's producer: kept so, a margin from it never overflows.
        this.deliveryTimeoutMs = Math.max(0, Math.min(Integer.MAX_VALUE, setting(config,
                org.apache.kafka.clients.producer.ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000)));
    }

    /** The wall clock record timestamps are checked against (a test's, to check them at a given instant). */
    ProduceService wallClock(java.util.function.LongSupplier clock) {
        this.wallClock = clock;
        return this;
    }

    /** A setting of the producer's as a number, Kafka's default when not set. */
    private static long setting(Map<String, Object> config, String name, long otherwise) {
        Object value = config.get(name);
        return value == null || value.toString().isBlank() ? otherwise : Long.parseLong(value.toString().trim());
    }

    /**
     * The account of {@code owner} (an API key or user, or with authentication off a client address; null: nobody counted) with the
     * shared producer's buffer: the calls that take one count its records there until Kafka
     * acknowledges them, and refuse what is past its share (see {@link ProducerShares}) with 429.
     */
    public ProducerShares.Account share(String owner) {
        return shares.account(owner);
    }

    /** Every caller's account with the shared producer's buffer. */
    public ProducerShares shares() {
        return shares;
    }

    /**
     * The partition the shared producer will put a record in, as far as can be said before it is
     * sent: the one it names, else its key's (Kafka's partitioner, {@code partitions} known), else
     * {@link ProducerShares#UNKNOWN_PARTITION}.
     */
    public int placeOf(Integer partition, byte[] key, int partitions) {
        if (partition != null) {
            return partition;
        }
        if (key != null && keyedPlaces && partitions > 0) {
            return org.apache.kafka.common.utils.Utils.toPositive(org.apache.kafka.common.utils.Utils.murmur2(key)) % partitions;
        }
        return ProducerShares.UNKNOWN_PARTITION;
    }

    /**
     * Whether a record going to {@code place} may follow a refused record of one of the
     * {@code refused} places into the same partition (either place unknown: the producer chooses).
     */
    public static boolean mayFollow(java.util.Set<Integer> refused, int place) {
        return place == ProducerShares.UNKNOWN_PARTITION || refused.contains(place)
                || refused.contains(ProducerShares.UNKNOWN_PARTITION);
    }

    /**
     * {@code callback}, counted in {@code account} first: null (and {@code callback} told of the
     * refusal) when the record does not fit the caller's share and must not be sent.
     */
    private Callback counted(ProducerShares.Account account, String topic, Integer partition, byte[] key, byte[] value,
                             long headerBytes, int partitions, Callback callback) {
        if (account == ProducerShares.NONE) {
            return callback;
        }
        int place = placeOf(partition, key, partitions);
        long size = bytes(key, value) + headerBytes;
        ProducerShares.Account counted = account.take(topic, place, size);
        if (counted == null) {
            metrics.shareRefused();
            callback.onCompletion(null, account.shareFull());
            return null;
        }
        return (metadata, e) -> {
            counted.release(topic, place, size); // before the answer: the caller's next request finds its room
            callback.onCompletion(metadata, e);
        };
    }

    /** What a record's headers take of its batch, about: their names' characters and their values' bytes. */
    private static long headerBytes(List<Header> headers) {
        long bytes = 0;
        for (Header h : headers) {
            bytes += h.key().length() + (h.value() == null ? 0 : h.value().length);
        }
        return bytes;
    }


    /**
     * The largest request body a handler should parse where it arrived to try
     * {@link #produceAtOnce}: a few records, whose parsing costs less than handing them to another
     * thread and back.
     */
    public static final int AT_ONCE_MAX_BYTES = 4096;

    /** The shared producer's check, made again when the shared producer changes. */
    private volatile SendsAtOnce atOnce = SendsAtOnce.NEVER;

    /**
     * Produces {@code records} as {@link #produce} does, but only if the shared producer takes
     * them at once: the topic was looked up here before, the producer's metadata has it, and its
     * buffer keeps half its room after their batches (see {@link SendsAtOnce}). Otherwise null, and
     * nothing was sent: produce them with {@link #produce} on a worker. Never waits for Kafka, so
     * a thread that must never wait (an HTTP IO thread) may call it; counted in
     * {@code portico.produce.at.once}.
     *
     * @throws RestException as {@link #produce}: a topic name refused, 40402 for a partition the
     *         producer's metadata says the topic does not have
     */
    public CompletableFuture<List<PartitionOffset>> produceAtOnce(String topic, List<ProduceRecord> records,
                                                                  java.util.function.Function<Throwable, ErrorCode> codes) {
        return produceAtOnce(topic, records, codes, ProducerShares.NONE);
    }

    /** As {@link #produceAtOnce(String, List, java.util.function.Function)}, counted in {@code account} (429 past its share). */
    public CompletableFuture<List<PartitionOffset>> produceAtOnce(String topic, List<ProduceRecord> records,
                                                                  java.util.function.Function<Throwable, ErrorCode> codes,
                                                                  ProducerShares.Account account) {
        checkTopic(topic);
        if (records.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        account.refuseIfFull();
        AtOnce at = atOnce(topic);
        if (at == null || highestPartition(records) >= at.partitions()) {
            return null; // a partition past what the producer knows: the worker's path asks the cluster
        }
        if (anyKeyless(records) && !Boolean.FALSE.equals(topics.compactedIfKnown(topic))) {
            return null; // keyless records for a compacted topic (or one not known yet): the worker's path
        }
        long bytes = 0;
        for (ProduceRecord r : records) {
            bytes += bytes(r.key(), r.value());
        }
        return withRoom(at, Math.min(records.size(), at.partitions()), bytes, () -> sendAll(at.check().producer,
                null, topic, records, Long.MAX_VALUE, codes, false, account, at.partitions()));
    }

    /**
     * As {@link #produceAtOnce} for the one record of {@link #produceOne}: its result, or null
     * when the shared producer might make the caller wait (nothing sent).
     */
    public CompletableFuture<RecordsResponse.Metadata> produceOneAtOnce(String topic, byte[] key, byte[] value,
                                                                        List<Map.Entry<String, byte[]>> headers) {
        return produceOneAtOnce(topic, key, value, headers, ProducerShares.NONE);
    }

    /** As {@link #produceOneAtOnce(String, byte[], byte[], List)}, counted in {@code account} (429 past its share). */
    public CompletableFuture<RecordsResponse.Metadata> produceOneAtOnce(String topic, byte[] key, byte[] value,
                                                                        List<Map.Entry<String, byte[]>> headers,
                                                                        ProducerShares.Account account) {
        checkTopic(topic);
        account.refuseIfFull();
        AtOnce at = atOnce(topic);
        if (at == null || key == null && !Boolean.FALSE.equals(topics.compactedIfKnown(topic))) {
            return null; // not looked up here, or keyless for a compacted topic (or one not known yet): the worker's path
        }
        return withRoom(at, 1, bytes(key, value),
                () -> sendOne(at.check().producer, null, topic, key, value, headers, account, at.partitions()));
    }

    /**
     * As {@link #send} with the shared producer, but only if it takes the record at once (as
     * {@link #produceAtOnce} decides): true when sent, {@code delivery} then told of it as
     * {@link #send} tells; false when nothing was sent — also for a topic this server refuses and
     * a partition the producer's metadata does not have — and the caller sends it from a worker,
     * whose usual path reports what is wrong. Never waits for Kafka, never throws (but a
     * {@link VirtualMachineError} the producer threw, once {@code delivery} was told of it).
     */
    public boolean sendAtOnce(String topic, Integer partition, Long timestamp, byte[] key, byte[] value,
                              List<io.portico.protocol.RecordHeader> headers, Delivery delivery) {
        return sendAtOnce(topic, partition, timestamp, key, value, headers, delivery, ProducerShares.NONE);
    }

    /**
     * As {@link #sendAtOnce(String, Integer, Long, byte[], byte[], List, Delivery)}, counted in
     * {@code account}; false (nothing sent) while the caller holds its share already.
     */
    public boolean sendAtOnce(String topic, Integer partition, Long timestamp, byte[] key, byte[] value,
                              List<io.portico.protocol.RecordHeader> headers, Delivery delivery,
                              ProducerShares.Account account) {
        if (account.full() != null) {
            return false; // the worker's path reports it
        }
        try {
            checkTopic(topic);
        } catch (RestException e) {
            return false;
        }
        AtOnce at = atOnce(topic);
        if (at == null || partition != null && (partition < 0 || partition >= at.partitions())
                || key == null && !Boolean.FALSE.equals(topics.compactedIfKnown(topic))) {
            return false; // a keyless record for a compacted topic (or one not known yet) goes the usual way
        }
        return withRoom(at, 1, bytes(key, value), () -> {
            send(at.check().producer, null, topic, partition, timestamp, key, value, headers, delivery, account,
                    at.partitions());
            return Boolean.TRUE;
        }) != null;
    }

    /** The shared producer's check and the topic's partition count in its metadata, when it may take records at once. */
    private record AtOnce(SendsAtOnce check, int partitions) {
    }

    /**
     * {@code send}'s answer when the producer's buffer has room for {@code batches} new batches of
     * {@code bytes} (claimed while it sends, counted in the meter as sent at once), else null
     * (nothing sent).
     */
    private <T> T withRoom(AtOnce at, int batches, long bytes, java.util.function.Supplier<T> send) {
        long claim = at.check().claim(batches, bytes);
        if (claim < 0) {
            return null;
        }
        metrics.producedAtOnce();
        try {
            return send.get();
        } finally {
            at.check().release(claim);
        }
    }

    /**
     * The shared producer's check and the topic's partition count, when the topic was looked up
     * with that producer and its metadata has the topic; else null.
     */
    private AtOnce atOnce(String topic) {
        SendsAtOnce check = checkFor(topic);
        Integer count = check == null ? null : check.partitionCount(topic);
        return count == null || count == 0 ? null : new AtOnce(check, count);
    }

    private static long bytes(byte[] key, byte[] value) {
        return (key == null ? 0 : key.length) + (long) (value == null ? 0 : value.length);
    }

    /**
     * The check of the shared producer when {@code topic} was looked up with it, else null. A
     * replaced shared producer's check is let go of at once.
     */
    private SendsAtOnce checkFor(String topic) {
        Producer<byte[], byte[]> shared = producers.currentShared();
        SendsAtOnce check = atOnce;
        if (shared == null) {
            atOnce = SendsAtOnce.NEVER;
            return null;
        }
        if (check.producer != shared) {
            check = SendsAtOnce.of(shared, producers.sharedConfig());
            atOnce = check;
        }
        return known.getIfPresent(topic) == shared ? check : null;
    }

    /** A deadline {@code metadata.timeout.ms} from now, for callers that start timing here. */
    public long deadlineFromNow() {
        return System.nanoTime() + options.metadataTimeout().toNanos();
    }

    /** As {@link #produce(String, List, long)} with a deadline from now. */
    public CompletableFuture<List<PartitionOffset>> produce(String topic, List<ProduceRecord> records) {
        return produce(topic, records, deadlineFromNow());
    }

    /**
     * Produces {@code records} to {@code topic}; see the class comment for blocking and errors.
     *
     * @param deadline {@link System#nanoTime()} by which the request must know where its records
     *        go (usually its arrival plus {@code metadata.timeout.ms}); past it, 503
     */
    public CompletableFuture<List<PartitionOffset>> produce(String topic, List<ProduceRecord> records, long deadline) {
        return produce(topic, records, deadline, KafkaErrors::perRecordCode);
    }

    /**
     * As {@link #produce(String, List, long)}, a failed record's {@code error_code} chosen by
     * {@code codes} (v1 and v2 word per-record failures differently).
     */
    public CompletableFuture<List<PartitionOffset>> produce(String topic, List<ProduceRecord> records, long deadline,
                                                            java.util.function.Function<Throwable, ErrorCode> codes) {
        return produce(topic, records, deadline, codes, null);
    }

    /**
     * As {@link #produce(String, List, long, java.util.function.Function)}, the records sent with
     * {@code via} (a keyed request's transactional producer, in its open transaction) instead of
     * the shared producer when it is not null.
     */
    public CompletableFuture<List<PartitionOffset>> produce(String topic, List<ProduceRecord> records, long deadline,
                                                            java.util.function.Function<Throwable, ErrorCode> codes,
                                                            Producer<byte[], byte[]> via) {
        return produce(topic, records, deadline, codes, via, ProducerShares.NONE);
    }

    /**
     * As {@link #produce(String, List, long, java.util.function.Function, Producer)}; records sent
     * with the shared producer are counted in {@code account}: 429 when the caller holds its share
     * of the buffer already, and a record past it fails alone (50003, retriable).
     */
    public CompletableFuture<List<PartitionOffset>> produce(String topic, List<ProduceRecord> records, long deadline,
                                                            java.util.function.Function<Throwable, ErrorCode> codes,
                                                            Producer<byte[], byte[]> via, ProducerShares.Account account) {
        checkTopic(topic);
        if (records.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        ProducerShares.Account counting = via == null ? account : ProducerShares.NONE; // a keyed request's own producer
        counting.refuseIfFull();
        Producer<byte[], byte[]> shared = producers.shared();
        int partitionCount = partitionCount(shared, topic, deadline); // the shared producer knows the topic
        Producer<byte[], byte[]> producer = via == null ? shared : via;
        checkPartitions(records, countFor(topic, partitionCount, highestPartition(records)));
        return sendAll(producer, via, topic, records, deadline, codes, anyKeyless(records) && topics.compacted(topic),
                counting, partitionCount);
    }

    private static int highestPartition(List<ProduceRecord> records) {
        int highest = -1;
        for (ProduceRecord r : records) {
            if (r.partition() != null) {
                highest = Math.max(highest, r.partition());
            }
        }
        return highest;
    }

    /**
     * The partition count to check {@code partition} against: the producer's {@code known} one,
     * or when that does not cover it the cluster's, asked again (a partition added since the
     * producer learned of the topic: Kafka's producer refreshes its metadata for it on send).
     */
    private int countFor(String topic, int known, int partition) {
        if (partition < known) {
            return known;
        }
        int now = topics.recentPartitionCount(topic);
        if (now < 0) {
            // Not "no such partition" (a 4xx a client takes as final) for one the topic may have
            // gained since the producer learned of it: the cluster did not say, so retry.
            throw ErrorCode.BROKER_NOT_AVAILABLE.exception("the cluster did not say within the metadata timeout "
                    + "whether topic '" + KafkaNames.excerpt(topic) + "' has partition " + partition + "; retry later");
        }
        return Math.max(known, now);
    }

    /** 40402 when a record names a partition the topic (of {@code count} partitions) does not have. */
    private static void checkPartitions(List<ProduceRecord> records, int count) {
        for (ProduceRecord r : records) {
            if (r.partition() != null && r.partition() >= count) {
                throw ErrorCode.PARTITION_NOT_FOUND.exception();
            }
        }
    }

    /** A record {@code send} refused before sending it, as a producer closed meanwhile does: retrying may succeed. */
    static final class NotSent extends org.apache.kafka.common.errors.RetriableException {
        private static final long serialVersionUID = 1L;

        NotSent(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Tells {@code callback} (the record's delivery, behind its share's release) of a send that
     * threw, as {@link #notSent} words it. An {@link Error} too: Kafka's producer lets one through
     * without calling the callback (an {@code OutOfMemoryError} allocating a batch's buffer, whose
     * own counters it restores: nothing was appended), and the record's share of the buffer and
     * its place in its caller's answer would then be held for good. A {@link VirtualMachineError}
     * is thrown again once that is done, as it would have been; another error is only the
     * record's failure.
     */
    private static void sendThrew(Callback callback, Throwable thrown) {
        try {
            Exception failure;
            if (thrown instanceof RuntimeException e) {
                failure = notSent(e);
            } else if (thrown instanceof VirtualMachineError) {
                // The JVM ran short (of memory, most likely): nothing was sent, and a retry may find room.
                failure = new NotSent("not sent: the producer failed (" + thrown + "); retry", thrown);
            } else {
                failure = new org.apache.kafka.common.KafkaException("the producer failed: " + thrown, thrown);
            }
            callback.onCompletion(null, failure);
        } finally {
            if (thrown instanceof VirtualMachineError e) {
                throw e;
            }
        }
    }

    /**
     * What a send that threw reports: a producer closed under the request (the shared one was
     * replaced while it was sending) sent nothing, so the record may be sent again (50003, 503),
     * not a lasting Kafka error.
     */
    private static RuntimeException notSent(RuntimeException e) {
        if (closedUnderSend(e)) {
            return new NotSent("not sent: the shared producer was replaced while the request was sending; "
                    + "retry", e);
        }
        return e;
    }

    /**
     * Whether a send or a topic look-up threw because its producer closed: Kafka's producer throws
     * {@code IllegalStateException} ("Cannot perform operation after producer has been closed") for
     * a send after the close, and {@code KafkaException} ("Producer closed while send in progress",
     * "... while allocating memory") for one the close cut short, the record appended nowhere; a
     * wait for a topic's metadata (a look-up's, or a send's of a topic it does not know) ends with
     * {@code KafkaException} ("Requested metadata update after close").
     */
    private static boolean closedUnderSend(Throwable e) {
        String message = String.valueOf(e.getMessage());
        return e instanceof IllegalStateException && message.contains("closed")
                || e.getClass() == org.apache.kafka.common.KafkaException.class
                && (message.startsWith("Producer closed while ") || message.equals("Requested metadata update after close"));
    }

    /**
     * The error of a look-up of {@code topic} that failed, as {@link KafkaErrors#toRestException};
     * but when its producer closed under the request (the shared one was replaced after a fatal
     * error, or the server is closing), 503 (50302) to retry, as a send it cut short is
     * ({@link #notSent}): nothing was sent, and the next request gets an open producer. Not
     * Kafka's 500, which a client takes as final.
     */
    private static RestException lookupFailed(String topic, Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        if (closedUnderSend(t)) {
            return new RestException(ErrorCode.BROKER_NOT_AVAILABLE, "the shared producer closed (it was replaced, or "
                    + "the server is shutting down) while the request looked up topic '" + KafkaNames.excerpt(topic)
                    + "'; retry", t);
        }
        return KafkaErrors.toRestException(failure);
    }

    /** A producer's {@code bufferpool-wait-time-ns-total} metric (null: it has none). */
    private record WaitMetric(Producer<byte[], byte[]> producer, org.apache.kafka.common.Metric metric) {
    }

    private volatile WaitMetric waitMetric;

    /**
     * The nanoseconds {@code producer}'s sends have waited for room in its buffer in all, or NaN
     * when it cannot tell: a slow send that made it grow waited for room; one that did not was
     * slow for another reason (a collection's pause), which says nothing of the buffer.
     */
    private double bufferWaitNanos(Producer<byte[], byte[]> producer) {
        WaitMetric w = waitMetric;
        if (w == null || w.producer() != producer) {
            org.apache.kafka.common.Metric found = null;
            try {
                for (Map.Entry<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric> m
                        : producer.metrics().entrySet()) {
                    if ("producer-metrics".equals(m.getKey().group())
                            && "bufferpool-wait-time-ns-total".equals(m.getKey().name())) {
                        found = m.getValue();
                    }
                }
            } catch (RuntimeException e) {
                // cannot tell
            }
            w = new WaitMetric(producer, found);
            waitMetric = w;
        }
        try {
            return w.metric() == null ? Double.NaN : ((Number) w.metric().metricValue()).doubleValue();
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    /** A send that took longer waited for room in the producer's buffer (or for its metadata). */
    private static final long BLOCKED_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(1);

    /**
     * Locks under which a request's records are handed to the shared producer one request at a
     * time, by topic (striped): appending record by record from many threads at once, to the same
     * partitions, the threads and the producer's own sender fought for each partition's lock (twice
     * the requests a second with it, 100 records each, 16 connections, side by side).
     */
    private final java.util.concurrent.locks.ReentrantLock[] sendLocks = new java.util.concurrent.locks.ReentrantLock[64];

    {
        for (int i = 0; i < sendLocks.length; i++) {
            sendLocks[i] = new java.util.concurrent.locks.ReentrantLock();
        }
    }

    /** The longest a request waits for its topic's send lock before it sends without it. */
    static final long SEND_LOCK_WAIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

    /**
     * Sends the records (their partitions checked) and collects their results in request order.
     * Several records for the shared producer are sent under their topic's send lock: a caller on
     * an IO thread ({@code deadline} {@link Long#MAX_VALUE}, {@link #produceAtOnce}) takes it only
     * when it is free; others wait for it until their deadline (at most
     * {@link #SEND_LOCK_WAIT_NANOS}) and then send without it, so that a request whose sends block
     * (a full buffer) holds the others up no longer than they would wait anyway.
     */
    private CompletableFuture<List<PartitionOffset>> sendAll(Producer<byte[], byte[]> producer,
                                                            Producer<byte[], byte[]> via, String topic,
                                                            List<ProduceRecord> records, long deadline,
                                                            java.util.function.Function<Throwable, ErrorCode> codes,
                                                            boolean compacted, ProducerShares.Account account,
                                                            int partitions) {
        java.util.concurrent.locks.ReentrantLock held = records.size() < 2 || via != null ? null : sendLock(topic, deadline);
        try {
            return sendEach(producer, via, topic, records, deadline, codes, compacted, account, partitions);
        } finally {
            if (held != null) {
                held.unlock();
            }
        }
    }

    /** {@code topic}'s send lock, taken (see {@link #sendAll}), or null when it was not. */
    private java.util.concurrent.locks.ReentrantLock sendLock(String topic, long deadline) {
        java.util.concurrent.locks.ReentrantLock lock = sendLocks[Math.floorMod(topic.hashCode(), sendLocks.length)];
        if (deadline == Long.MAX_VALUE) {
            return lock.tryLock() ? lock : null;
        }
        try {
            return lock.tryLock(Math.max(0, Math.min(SEND_LOCK_WAIT_NANOS, deadline - System.nanoTime())),
                    java.util.concurrent.TimeUnit.NANOSECONDS) ? lock : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private CompletableFuture<List<PartitionOffset>> sendEach(Producer<byte[], byte[]> producer,
                                                             Producer<byte[], byte[]> via, String topic,
                                                             List<ProduceRecord> records, long deadline,
                                                             java.util.function.Function<Throwable, ErrorCode> codes,
                                                             boolean compacted, ProducerShares.Account account,
                                                             int partitions) {
        Batch batch = new Batch(records.size(), codes);
        boolean late = false;
        boolean blocked = false; // the last send waited (the producer's buffer was full)
        java.util.Set<Integer> refused = null; // the places of records past the caller's share
        for (int i = 0; i < records.size(); i++) {
            ProduceRecord r = records.get(i);
            Callback callback = watched(producer, via, batch.callback(i));
            // Sends block while the producer's buffer is full (each up to max.block.ms): once one
            // did past the request's bound, none of the rest is sent. A send that does not wait
            // goes on whatever the time (a request that waited for a thread is still sent).
            late = late || blocked && deadline != Long.MAX_VALUE && System.nanoTime() - deadline > 0;
            if (late) {
                callback.onCompletion(null, new TimeoutException("not sent: the producer's buffer stayed full "
                        + "past the request's metadata bound (metadata.timeout.ms)"));
                continue;
            }
            int place = refused == null ? 0 : placeOf(r.partition(), r.key(), partitions);
            if (refused != null && mayFollow(refused, place)) {
                // Sent, it would land before a refused record of its partition, which its client
                // retries; and the records after it must not overtake it in turn.
                refused.add(place);
                metrics.shareRefused();
                callback.onCompletion(null, account.shareFull());
                continue;
            }
            if (compacted && r.key() == null) {
                callback.onCompletion(null, keylessToCompacted(topic)); // never in a batch shared with others
                continue;
            }
            callback = counted(account, topic, r.partition(), r.key(), r.value(), 0, partitions, callback);
            if (callback == null) {
                if (refused == null) {
                    refused = new java.util.HashSet<>();
                }
                refused.add(placeOf(r.partition(), r.key(), partitions));
                continue; // past the caller's share: told so
            }
            long before = System.nanoTime();
            // Past the bound, whether a slow send waited for room is asked of the producer itself
            // (when it can tell): a collection's pause must not stop the rest of the request.
            boolean past = deadline != Long.MAX_VALUE && before - deadline > 0;
            double waitedBefore = past ? bufferWaitNanos(producer) : Double.NaN;
            try {
                producer.send(new ProducerRecord<>(topic, r.partition(), r.key(), r.value()), callback);
            } catch (Throwable e) {
                sendThrew(callback, e);
            }
            blocked = System.nanoTime() - before > BLOCKED_NANOS
                    && (Double.isNaN(waitedBefore) || bufferWaitNanos(producer) > waitedBefore);
        }
        return batch.result.whenComplete((offsets, e) -> {
            if (offsets != null) {
                metrics.produced(records, offsets);
            }
        });
    }

    /**
     * Refuses a topic no client may produce to through this server: Portico's own, and Kafka's
     * internal ones unless allowed. Asks Kafka nothing (a topic a producer looked up may be
     * created by the cluster).
     *
     * @throws RestException 400 for a name Kafka cannot have, 403 for a topic refused
     */
    public void checkTopic(String topic) {
        KafkaNames.topic(topic);
        KafkaNames.notReserved(topic);
        if (!options.internalTopicsAllowed()) {
            KafkaNames.notInternal(topic, "produced to");
        }
    }

    /** As {@link #produceOne(String, byte[], byte[], List, long)} with a deadline from now. */
    public CompletableFuture<RecordsResponse.Metadata> produceOne(String topic, byte[] key, byte[] value,
                                                                  List<Map.Entry<String, byte[]>> headers) {
        return produceOne(topic, key, value, headers, deadlineFromNow());
    }

    /**
     * Produces one record with headers and reports where it landed; the records endpoint's path.
     * Blocking and whole-request errors as {@link #produce}; a failed send completes the future
     * with the error {@link KafkaErrors#forSingleRecord} maps it to (408 timeout, 503 cluster
     * unavailable, 400 too large, 403, 500).
     */
    public CompletableFuture<RecordsResponse.Metadata> produceOne(String topic, byte[] key, byte[] value,
                                                                  List<Map.Entry<String, byte[]>> headers,
                                                                  long deadline) {
        return produceOne(topic, key, value, headers, deadline, null);
    }

    /** As {@link #produceOne(String, byte[], byte[], List, long)}, sent with {@code via} unless it is null. */
    public CompletableFuture<RecordsResponse.Metadata> produceOne(String topic, byte[] key, byte[] value,
                                                                  List<Map.Entry<String, byte[]>> headers,
                                                                  long deadline, Producer<byte[], byte[]> via) {
        return produceOne(topic, key, value, headers, deadline, via, ProducerShares.NONE);
    }

    /**
     * As {@link #produceOne(String, byte[], byte[], List, long, Producer)}, sent with the shared
     * producer counted in {@code account} (429 past the caller's share).
     */
    public CompletableFuture<RecordsResponse.Metadata> produceOne(String topic, byte[] key, byte[] value,
                                                                  List<Map.Entry<String, byte[]>> headers,
                                                                  long deadline, Producer<byte[], byte[]> via,
                                                                  ProducerShares.Account account) {
        checkTopic(topic);
        ProducerShares.Account counting = via == null ? account : ProducerShares.NONE;
        counting.refuseIfFull();
        Producer<byte[], byte[]> shared = producers.shared();
        int partitions = partitionCount(shared, topic, deadline);
        if (key == null && topics.compacted(topic)) {
            return CompletableFuture.failedFuture(KafkaErrors.forSingleRecord(keylessToCompacted(topic)));
        }
        return sendOne(via == null ? shared : via, via, topic, key, value, headers, counting, partitions);
    }

    private CompletableFuture<RecordsResponse.Metadata> sendOne(Producer<byte[], byte[]> producer,
                                                                Producer<byte[], byte[]> via, String topic,
                                                                byte[] key, byte[] value,
                                                                List<Map.Entry<String, byte[]>> headers,
                                                                ProducerShares.Account account, int partitions) {
        List<Header> kafkaHeaders = new ArrayList<>(headers.size());
        for (Map.Entry<String, byte[]> h : headers) {
            if (!io.portico.protocol.RecordHeader.isValidName(h.getKey())) {
                return CompletableFuture.failedFuture(badHeaderName());
            }
            kafkaHeaders.add(new RecordHeader(h.getKey(), h.getValue()));
        }
        CompletableFuture<RecordsResponse.Metadata> result = new CompletableFuture<>();
        Callback callback = watched(producer, via, (metadata, e) -> {
            if (e != null) {
                RestException error = KafkaErrors.forSingleRecord(e);
                if (!(e instanceof ProducerShares.ShareFull)) { // refused here: not Kafka's error
                    metrics.produceError(error.errorCode());
                }
                result.completeExceptionally(error);
            } else {
                metrics.producedOne(bytes(key, value));
                result.complete(new RecordsResponse.Metadata(topic, TIMESTAMP.format(Instant.ofEpochMilli(metadata.timestamp())),
                        metadata.partition(), metadata.offset()));
            }
        });
        callback = counted(account, topic, null, key, value, headerBytes(kafkaHeaders), partitions, callback);
        if (callback == null) {
            return result; // past the caller's share: failed with 429
        }
        try {
            producer.send(new ProducerRecord<>(topic, null, null, key, value, kafkaHeaders), callback);
        } catch (Throwable e) {
            sendThrew(callback, e);
        }
        return result;
    }

    /**
     * Gets {@code topic} ready for records sent one at a time with {@link #send}: checks its name
     * and learns its partition count, which it returns. Blocking and whole-request errors as
     * {@link #produce}; a topic the producer knows answers at once.
     */
    public int prepare(String topic, long deadline) {
        checkTopic(topic);
        return partitionCount(producers.shared(), topic, deadline);
    }

    /**
     * Forgets that the shared producer knows {@code topic}: the next {@link #prepare} asks the
     * cluster whether it exists (40401 at once when it does not) before the producer's look-up,
     * which for a topic deleted since blocks for the whole metadata timeout. For a caller whose
     * send just failed for want of the topic's metadata.
     */
    public void forget(String topic) {
        known.invalidate(topic);
    }

    /**
     * Whether {@code failure}, told to a record's delivery by {@link #send} before it returned
     * (on the sending thread), says the producer has no metadata for the topic: its look-up ran
     * out of time, or the topic is unknown. Each later send to it would block as long again.
     */
    public static boolean topicMissing(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        // A full buffer is a TimeoutException too, but says nothing of the topic: forgetting it
        // would send every client's requests for it to the look-ups.
        return t instanceof org.apache.kafka.common.errors.TimeoutException
                && !(t instanceof org.apache.kafka.clients.producer.BufferExhaustedException)
                || t instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
    }

    /**
     * As {@link #prepare(String, long)} for a record naming {@code partition}: when the producer's
     * count does not cover it, the count the cluster gives now (the topic may have grown).
     */
    public int prepare(String topic, long deadline, int partition) {
        return countFor(topic, prepare(topic, deadline), partition);
    }

    /**
     * What a record sent with {@link #send} came to: where it landed (partition, offset and the
     * timestamp Kafka stored) or why it failed. Runs on a Kafka producer thread: keep it short.
     */
    @FunctionalInterface
    public interface Delivery {
        void onCompletion(RecordMetadata landed, Throwable failure);
    }

    /**
     * Sends one record to a topic made ready with {@link #prepare} ({@code partition} checked
     * against its partition count by the caller). May block while the producer's buffer is full
     * (up to its {@code max.block.ms}): call from a worker, never an IO thread.
     *
     * @param timestamp milliseconds since the epoch, or null for now
     */
    public void send(String topic, Integer partition, Long timestamp, byte[] key, byte[] value,
                     List<io.portico.protocol.RecordHeader> headers, Delivery delivery) {
        send(topic, partition, timestamp, key, value, headers, delivery, null);
    }

    /**
     * As {@link #send(String, Integer, Long, byte[], byte[], List, Delivery)}, sent with {@code via}
     * unless it is null. Never throws (but a {@link VirtualMachineError} the producer threw, once
     * {@code delivery} was told of it): a shared producer that cannot be had (Portico shuts down, a
     * replacement cannot be built) is told to {@code delivery} as the record's failure.
     */
    public void send(String topic, Integer partition, Long timestamp, byte[] key, byte[] value,
                     List<io.portico.protocol.RecordHeader> headers, Delivery delivery, Producer<byte[], byte[]> via) {
        send(topic, partition, timestamp, key, value, headers, delivery, via, ProducerShares.NONE, 0);
    }

    /**
     * As {@link #send(String, Integer, Long, byte[], byte[], List, Delivery, Producer)}; sent with
     * the shared producer, counted in {@code account} ({@code partitions}: the topic's count that
     * {@link #prepare} gave), and refused (429) past the caller's share.
     */
    public void send(String topic, Integer partition, Long timestamp, byte[] key, byte[] value,
                     List<io.portico.protocol.RecordHeader> headers, Delivery delivery, Producer<byte[], byte[]> via,
                     ProducerShares.Account account, int partitions) {
        Producer<byte[], byte[]> producer;
        try {
            producer = via == null ? producers.shared() : via;
        } catch (RuntimeException e) {
            metrics.produceError(KafkaErrors.perRecordCodeV2(e));
            delivery.onCompletion(null, e);
            return;
        }
        if (key == null && topics.compacted(topic)) {
            delivery.onCompletion(null, keylessToCompacted(topic)); // never in a batch shared with others
            return;
        }
        send(producer, via, topic, partition, timestamp, key, value, headers, delivery,
                via == null ? account : ProducerShares.NONE, partitions);
    }

    private void send(Producer<byte[], byte[]> producer, Producer<byte[], byte[]> via, String topic, Integer partition,
                      Long timestamp, byte[] key, byte[] value, List<io.portico.protocol.RecordHeader> headers,
                      Delivery delivery, ProducerShares.Account account, int partitions) {
        List<Header> kafkaHeaders = headers.isEmpty() ? List.of() : new ArrayList<>(headers.size());
        for (io.portico.protocol.RecordHeader h : headers) {
            if (!io.portico.protocol.RecordHeader.isValidName(h.key())) {
                delivery.onCompletion(null, badHeaderName()); // never to the shared producer
                return;
            }
            kafkaHeaders.add(new RecordHeader(h.key(), h.value()));
        }
        if (timestamp != null) {
            RestException refused = refusedTimestamp(topic, timestamp);
            if (refused != null) {
                delivery.onCompletion(null, refused);
                return;
            }
        }
        long bytes = bytes(key, value);
        Callback callback = watched(producer, via, (metadata, e) -> {
            if (e == null) {
                metrics.producedOne(bytes);
            } else if (!(e instanceof ProducerShares.ShareFull)) { // refused here: not Kafka's error
                metrics.produceError(KafkaErrors.perRecordCodeV2(e));
            }
            delivery.onCompletion(metadata, e);
        });
        callback = counted(account, topic, partition, key, value, headerBytes(kafkaHeaders), partitions, callback);
        if (callback == null) {
            return; // past the caller's share: told so
        }
        try {
            producer.send(new ProducerRecord<>(topic, partition, timestamp, key, value, kafkaHeaders), callback);
        } catch (Throwable e) {
            sendThrew(callback, e);
        }
    }

    /**
     * How far clocks may differ between this server and the brokers, allowed for on both sides of
     * a topic's timestamp bounds (see {@link #refusedTimestamp}).
     */
    static final long CLOCK_SKEW_MS = 5_000;

    /**
     * The error for a timestamp the brokers would refuse (further ahead of now than
     * {@code log.message.timestamp.after.max.ms}, or behind by more than {@code …before.max.ms}),
     * or may refuse by the time they append it, else null. A broker refuses the whole batch such a
     * record is in, and the producer then fails every other record of that batch too: other
     * clients' records to the same partition.
     *
     * <p>The broker checks a timestamp against its own clock when it appends the record, which may
     * be up to the producer's delivery timeout after the send (behind other batches of the
     * partition, or retried after a leader moved), and its clock may differ from this server's. So
     * a timestamp is refused already within a margin of its bound: the delivery timeout and
     * {@link #CLOCK_SKEW_MS} on the "before" side (a record gets older while it waits), the skew
     * alone on the "after" side; at most half the bound (a bound of 10 s keeps the 5 s next to now). Kafka folds the older {@code message.timestamp.difference.max.ms} into both
     * bounds where it applies ({@link MetadataService}); a bound of {@link Long#MAX_VALUE} is none.
     */
    private RestException refusedTimestamp(String topic, long timestamp) {
        long now = wallClock.getAsLong();
        // One bound looked up: the one on the timestamp's side of now.
        if (timestamp > now) {
            long after = topics.timestampAfterMaxMs(topic);
            if (after == Long.MAX_VALUE) {
                return null;
            }
            long ahead = timestamp - now;
            if (ahead > after) {
                return ErrorCode.BAD_REQUEST.exception("timestamp " + java.time.Instant.ofEpochMilli(timestamp)
                        + " is more than " + after + " ms ahead of now; the cluster refuses it (the topic's "
                        + "message.timestamp.after.max.ms, log.message.timestamp.after.max.ms unless the topic sets it)");
            }
            long aheadMost = after - Math.min(CLOCK_SKEW_MS, after / 2);
            if (ahead > aheadMost) {
                return ErrorCode.BAD_REQUEST.exception("timestamp " + java.time.Instant.ofEpochMilli(timestamp)
                        + " is " + ahead + " ms ahead of now: too close to the topic's bound of " + after + " ms (the "
                        + "topic's message.timestamp.after.max.ms, log.message.timestamp.after.max.ms unless the topic "
                        + "sets it), " + (after - ahead) + " ms from it where " + (after - aheadMost) + " ms are needed "
                        + "for clock skew between this server and the brokers, which may then refuse it when they append "
                        + "it; send a timestamp at most " + aheadMost + " ms ahead");
            }
            return null;
        }
        if (timestamp < now) {
            long before = topics.timestampBeforeMaxMs(topic);
            if (before == Long.MAX_VALUE) {
                return null;
            }
            long behind = minusAtMostMax(now, timestamp);
            if (behind > before) {
                return ErrorCode.BAD_REQUEST.exception("timestamp " + java.time.Instant.ofEpochMilli(timestamp)
                        + " is more than " + before + " ms before now; the cluster refuses it (the topic's "
                        + "message.timestamp.before.max.ms, log.message.timestamp.before.max.ms unless the topic sets it)");
            }
            // At most an int's range and 5 s: no overflow. Half the bound at most, so that a small
            // bound (seconds) still takes the records of its first half, not none from the past.
            long margin = Math.min(deliveryTimeoutMs + CLOCK_SKEW_MS, before / 2);
            long limit = before - margin;
            if (behind > limit) {
                return ErrorCode.BAD_REQUEST.exception("timestamp " + java.time.Instant.ofEpochMilli(timestamp)
                        + " is " + behind + " ms before now: too close to the topic's bound of " + before + " ms (the "
                        + "topic's message.timestamp.before.max.ms, log.message.timestamp.before.max.ms unless the "
                        + "topic sets it), " + (before - behind) + " ms from it where " + margin + " ms are needed: "
                        + "the brokers check it when they append the record, up to the producer's delivery timeout ("
                        + deliveryTimeoutMs + " ms) after it is sent, give or take " + CLOCK_SKEW_MS + " ms of clock "
                        + "skew, and may refuse it then; send a timestamp at most " + limit + " ms before now");
            }
        }
        return null;
    }

    /** {@code a - b} for {@code a >= b}, {@link Long#MAX_VALUE} where that does not fit (a timestamp far before 1970). */
    private static long minusAtMostMax(long a, long b) {
        long difference = a - b;
        return difference < 0 ? Long.MAX_VALUE : difference;
    }

    private static boolean anyKeyless(List<ProduceRecord> records) {
        for (ProduceRecord r : records) {
            if (r.key() == null) {
                return true;
            }
        }
        return false;
    }

    /**
     * What Kafka answers a record without a key for a compacted topic, said before it is sent: the
     * broker refuses the whole batch such a record is in, and the producer then fails every other
     * record of that batch too (other clients' records to the same partition).
     */
    private static org.apache.kafka.common.InvalidRecordException keylessToCompacted(String topic) {
        return new org.apache.kafka.common.InvalidRecordException("Compacted topic cannot accept message without key"
                + " (topic '" + KafkaNames.excerpt(topic) + "' has cleanup.policy compact)");
    }

    /** A header name whose UTF-16 is not well formed (see {@link io.portico.protocol.RecordHeader#isValidName}). */
    private static RestException badHeaderName() {
        return ErrorCode.BAD_REQUEST.exception("a header's name must be well-formed Unicode: it has a lone surrogate");
    }

    /**
     * The topic's partition count. A topic the producer knows answers at once. For another, when
     * the cluster does not create topics on first use, the cluster is asked first whether it
     * exists (so a name that does not exist never reaches the shared producer); the producer's
     * look-up (which blocks while it learns of the topic) then gets the time left before
     * {@code deadline} — most of it, when the cluster has yet to be asked, in the rest, whether the
     * topic exists: 404 if not; if it does, the producer gets what is left, then 503.
     */
    /** How long topics are asked about before the producer's look-up once the cluster did not create one. */
    static final long ASK_FIRST_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(1);

    /** Until when ({@link System#nanoTime}) a topic the producer does not know is asked about first. */
    private volatile long askFirstUntil = System.nanoTime();

    private int partitionCount(Producer<byte[], byte[]> producer, String topic, long deadline) {
        if (known.getIfPresent(topic) == producer) {
            try {
                return partitions(producer.partitionsFor(topic), topic);
            } catch (RestException e) {
                throw e;
            } catch (RuntimeException e) {
                known.invalidate(topic);
                throw lookupFailed(topic, e);
            }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the request waited longer than the metadata timeout ("
                    + options.metadataTimeout().toMillis() + " ms) before it could be handled; retry later");
        }
        boolean exists = false;
        if (!topics.createsTopicsOnFirstUse() || System.nanoTime() - askFirstUntil < 0) {
            if (!topics.exists(topic, Duration.ofNanos(Math.max(1, left * 2 / 5)))) {
                throw ErrorCode.TOPIC_NOT_FOUND.exception();
            }
            exists = true;
        }
        Lookup lookup = lookup(producer, topic, exists ? deadline : System.nanoTime() + left * 3 / 5);
        if (lookup.partitions != null) {
            return lookup.partitions;
        }
        if (!exists) {
            // The producer cannot tell "no such topic" from "no cluster": ask the cluster.
            if (!topics.exists(topic, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) {
                // The cluster did not create it on the producer's look-up, though it was thought to
                // (Portico may not create topics, or the brokers' setting could not be read): for a
                // while, a topic the producer does not know is asked about first, so that names
                // that do not exist stay away from the shared producer and its look-up threads.
                askFirstUntil = System.nanoTime() + ASK_FIRST_NANOS;
                throw ErrorCode.TOPIC_NOT_FOUND.exception();
            }
            lookup = lookup(producer, topic, deadline); // it exists: the producer may have the rest
            if (lookup.partitions != null) {
                return lookup.partitions;
            }
        }
        String message = lookup.producerTimeout != null ? KafkaErrors.describe(lookup.producerTimeout)
                : "Topic " + topic + " not present in metadata within " + options.metadataTimeout().toMillis() + " ms.";
        if (lookup.producerTimeout != null && strikes.incrementAndGet() >= STRIKES_TO_REPLACE) {
            // The producer itself gave up, again and again, on topics the cluster has: if the
            // producer is what is broken, the next request gets a new one. (A request that merely
            // ran out of time proves nothing about the producer.)
            strikes.set(0);
            producers.replaceShared(producer, "it could not get the metadata of existing topics: " + message);
        }
        throw new RestException(ErrorCode.BROKER_NOT_AVAILABLE, message, lookup.producerTimeout);
    }

    /**
     * {@code callback}, which for the shared producer ({@code via} null) first replaces that
     * producer when the failure left it in a fatal state: Kafka's producer never sends again
     * after one (every later record fails with the same error), so it must never be reused.
     */
    private Callback watched(Producer<byte[], byte[]> producer, Producer<byte[], byte[]> via, Callback callback) {
        if (via != null) {
            return callback; // a keyed request's own producer, closed after it
        }
        return (metadata, e) -> {
            if (e != null && leavesProducerFatal(e)) {
                producers.replaceFatal(producer, "it is in a fatal state: " + KafkaErrors.describe(e));
            }
            callback.onCompletion(metadata, e);
        };
    }

    /**
     * Whether a send failure means the producer is in a fatal state: the errors Kafka's producer
     * treats so (cluster or transactional-id authorization refused, fenced, an unsupported
     * protocol version).
     */
    static boolean leavesProducerFatal(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        return t instanceof org.apache.kafka.common.errors.ClusterAuthorizationException
                || t instanceof org.apache.kafka.common.errors.TransactionalIdAuthorizationException
                || t instanceof org.apache.kafka.common.errors.ProducerFencedException
                || t instanceof org.apache.kafka.common.errors.UnsupportedVersionException;
    }

    /** How many look-ups of existing topics must fail in a row before the shared producer is replaced. */
    private static final int STRIKES_TO_REPLACE = 3;
    private final java.util.concurrent.atomic.AtomicInteger strikes = new java.util.concurrent.atomic.AtomicInteger();

    /** A look-up's outcome: the partition count, or why there is none yet (null: the wait ran out). */
    private record Lookup(Integer partitions, Throwable producerTimeout) {
    }

    /**
     * The producer's look-up of {@code topic}, waited for until {@code until}: the one in progress
     * for the topic if another request started it, else a new one on the metadata pool. A joined
     * look-up that failed is followed by one of this request's own while time is left.
     */
    private Lookup lookup(Producer<byte[], byte[]> producer, String topic, long until) {
        for (int attempt = 0; ; attempt++) {
            CompletableFuture<List<PartitionInfo>> mine = new CompletableFuture<>();
            CompletableFuture<List<PartitionInfo>> future = lookups.putIfAbsent(topic, mine);
            boolean joined = future != null;
            if (!joined) {
                future = mine;
                try {
                    options.metadataPool().execute(() -> {
                        try {
                            mine.complete(producer.partitionsFor(topic));
                        } catch (Throwable e) {
                            mine.completeExceptionally(e);
                        }
                    });
                } catch (RejectedExecutionException e) {
                    lookups.remove(topic, mine);
                    throw ErrorCode.SERVICE_UNAVAILABLE.exception("too many topic look-ups in progress; retry later");
                }
                mine.whenComplete((v, e) -> lookups.remove(topic, mine));
            }
            try {
                int count = partitions(future.get(Math.max(1, until - System.nanoTime()), TimeUnit.NANOSECONDS), topic);
                known.put(topic, producer);
                strikes.set(0);
                return new Lookup(count, null);
            } catch (java.util.concurrent.TimeoutException e) {
                return new Lookup(null, null);
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (!(cause instanceof TimeoutException)) {
                    throw lookupFailed(topic, cause);
                }
                if (!joined || attempt > 0 || until - System.nanoTime() <= 0) {
                    return new Lookup(null, cause);
                }
                // another request's look-up, started earlier, gave up: look again with this request's time
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
            }
        }
    }

    private static int partitions(List<PartitionInfo> partitions, String topic) {
        if (partitions == null || partitions.isEmpty()) {
            throw ErrorCode.TOPIC_NOT_FOUND.exception();
        }
        return partitions.size();
    }

    /** Collects per-record results; completes when the last callback arrives. */
    private static final class Batch {
        final PartitionOffset[] offsets;
        final AtomicInteger remaining;
        final CompletableFuture<List<PartitionOffset>> result = new CompletableFuture<>();

        final java.util.function.Function<Throwable, ErrorCode> codes;

        Batch(int size, java.util.function.Function<Throwable, ErrorCode> codes) {
            offsets = new PartitionOffset[size];
            remaining = new AtomicInteger(size);
            this.codes = codes;
        }

        Callback callback(int index) {
            return (RecordMetadata metadata, Exception e) -> {
                offsets[index] = e == null
                        ? PartitionOffset.success(metadata.partition(), metadata.offset())
                        : PartitionOffset.failure(codes.apply(e), KafkaErrors.describe(e));
                if (remaining.decrementAndGet() == 0) {
                    // The decrement orders every slot write before this read.
                    result.complete(Arrays.asList(offsets));
                }
            };
        }
    }
}
