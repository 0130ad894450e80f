package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At most one produce per {@code Idempotency-Key}, across nodes and restarts, with Kafka as the
 * only shared state.
 *
 * <p><b>Design.</b> The result of each keyed request that produced — fingerprint, status, content
 * type and response body — is a record of a compacted topic ({@code idempotency.topic}), keyed by
 * the key's identity, written in the same Kafka transaction as the request's records: both are
 * committed, or neither. Every node reads the topic ({@code read_committed}) into an
 * {@link IdempotencyView}. A keyed request:
 * <ol>
 * <li>finds a result in the view: answers it again (or 422 for another request);</li>
 * <li>finds another request with the key (or one whose key shares its transactional id) in
 *     progress on this node: waits for it, then looks again;</li>
 * <li>otherwise creates a producer whose {@code transactional.id} is the key's (one of
 *     {@code idempotency.transactional.ids}, always the same for a key) and calls
 *     {@code initTransactions()}: Kafka fences every other producer of that id — another node
 *     executing the key, or one killed while it did — and completes its transaction (commits a
 *     commit in progress, aborts anything else) before it returns. Then the view catches up with
 *     the key's partition of the topic up to its end, so it holds any result committed before, and
 *     is asked again;</li>
 * <li>otherwise begins a transaction, runs the request's {@link Work} (which sends its records
 *     with that producer and renders the response), sends the result record, commits, answers.</li>
 * </ol>
 * A producer fenced in step 4 means another node took the key over: this request waits for that
 * node's result and answers it (when the other node executes another key of the same
 * transactional id, none comes: 503 after {@code idempotency.wait.ms}, nothing written, or the
 * outcome not known when it was fenced during its commit). A failure before the commit aborts:
 * nothing was written and nothing recorded, so a retry executes again. A commit that fails leaves the outcome unknown to
 * this node: 503, and the retry (whose {@code initTransactions()} waits for that transaction to
 * complete) finds the result if it was committed.
 *
 * <p><b>Threading.</b> {@link #execute} blocks (Kafka round trips, waits bounded by
 * {@code idempotency.wait.ms}, the request's own sends): call it from a worker pool, never an IO
 * thread. The view is filled by one background thread, started by {@link #start()}.
 */
public final class Idempotency implements AutoCloseable {
    /** What a kept result of a response of {@code bodyBytes} takes of the results' memory. */
    public static long resultBytes(int bodyBytes) {
        return IdempotencyView.ENTRY_OVERHEAD + (long) bodyBytes;
    }

    private static final Logger LOG = LoggerFactory.getLogger(Idempotency.class);
    private static final RateLimitedLog LIMITED = new RateLimitedLog(LOG, Duration.ofSeconds(10));
    /** How often results past the retention are dropped from the view. */
    private static final long SWEEP_EVERY_MS = 60_000;
    /** Set (to anything) by a test only: a keyed request stops for good just before it commits. */
    static final String PAUSE_BEFORE_COMMIT_PROPERTY = "portico.test.idempotency.pause-before-commit";

    /**
     * @param topic the compacted topic of results
     * @param partitions its partitions when Portico creates it
     * @param retention how long a result counts (the topic's {@code retention.ms} when Portico
     *        creates it; raised to it at start when shorter)
     * @param waitFor the bound of each wait: for another request with the key, for the view to catch up
     * @param responseMaxBytes the largest response a keyed request may have (it is kept)
     * @param memoryMaxBytes what the results kept may take in memory; past it new keyed requests are refused (503);
     *        the results read from the topic (other nodes' too) are kept up to a quarter more, past which
     *        they are not (keys without a result here are then 503 too)
     * @param transactionalIds how many transactional ids keyed requests share: each key always
     *        takes the same one ({@link #transactionalId}), so the coordinator keeps at most that many
     * @param perOwnerMaxBytes what the results of one API key may take of {@code memoryMaxBytes};
     *        past it that key's new keyed requests are refused (429), so that one key cannot fill
     *        the results' memory and turn every other key's keyed requests away
     */
    public record Settings(String topic, int partitions, Duration retention, Duration waitFor, int responseMaxBytes,
                           long memoryMaxBytes, int transactionalIds, long perOwnerMaxBytes) {
        /** With one API key's results at most half of {@code memoryMaxBytes}. */
        public Settings(String topic, int partitions, Duration retention, Duration waitFor, int responseMaxBytes,
                        long memoryMaxBytes, int transactionalIds) {
            this(topic, partitions, retention, waitFor, responseMaxBytes, memoryMaxBytes, transactionalIds,
                    memoryMaxBytes / 2);
        }
    }

    /** {@code bytes} and a quarter more, at most {@link Long#MAX_VALUE}. */
    private static long plusAQuarter(long bytes) {
        return bytes > Long.MAX_VALUE / 5 * 4 ? Long.MAX_VALUE : bytes + bytes / 4;
    }

    /** Header of a result record naming its owner ({@link IdempotencyKey#owner(String)}, eight bytes). */
    static final String OWNER_HEADER = "portico-owner";

    /** The owner a result record names, or 0 (none, or not eight bytes). */
    private static long owner(ConsumerRecord<byte[], byte[]> r) {
        org.apache.kafka.common.header.Header h = r.headers().lastHeader(OWNER_HEADER);
        return h == null || h.value() == null || h.value().length != Long.BYTES ? 0
                : java.nio.ByteBuffer.wrap(h.value()).getLong();
    }

    /** A response as a keyed request answered it: what a retry is answered with again. */
    public record Response(int status, String contentType, byte[] body) {
    }

    /** What to answer a keyed request with: the response, and whether it is a replay of an earlier one. */
    public record Answer(Response response, boolean replayed) {
    }

    /**
     * What a keyed request's {@link Work} came to: records written (the transaction is committed
     * with the response as the key's result), or nothing written (it is aborted, the response
     * answered and nothing recorded: a retry with the key runs again).
     *
     * @param failure when nothing was written because Kafka refused a record, that failure (null otherwise)
     */
    public record Outcome(Response response, boolean produced, Throwable failure) {
        /** Records were sent and acknowledged: commit, and keep {@code response} for retries. */
        public static Outcome produced(Response response) {
            return new Outcome(response, true, null);
        }

        /** Nothing is to be written (no valid record, or Kafka refused one: {@code failure}): abort, answer {@code response}. */
        public static Outcome notProduced(Response response, Throwable failure) {
            return new Outcome(response, false, failure);
        }
    }

    /**
     * A keyed request's own work: send its records with {@code producer} (inside the open
     * transaction), wait for Kafka's acknowledgements and render the response. All or nothing: if
     * Kafka refuses any record, the outcome is {@link Outcome#notProduced} (the records that were
     * acknowledged are aborted with the rest, and the response must say they were not written);
     * a whole-request error may be thrown instead (also aborted, and answered). Runs on the
     * caller's thread of {@link #execute}.
     */
    @FunctionalInterface
    public interface Work {
        Outcome run(Producer<byte[], byte[]> producer);

        /**
         * Work certain to fail with {@code failure} before it sends anything (its schema could not
         * be looked up, say): a result of its key is answered if there is one, else the failure,
         * and no producer of the key's transactional id is started for it (which would fence, and
         * abort, another node's request with the key in progress).
         */
        static Work failing(RestException failure) {
            return new Failing(failure);
        }

        /**
         * Work certain to write nothing, whose answer is {@code response} (a request whose every
         * record is invalid, or one a retry may find otherwise): as {@link #failing}, no
         * transaction for it, and the key's committed result answered if there is one.
         */
        static Work unproduced(Response response) {
            return new Unproduced(response);
        }
    }

    /** Work that writes nothing (see {@link Work#failing} and {@link Work#unproduced}). */
    private sealed interface WritesNothing extends Work permits Failing, Unproduced {
    }

    /** See {@link Work#failing}. */
    private record Failing(RestException failure) implements WritesNothing {
        @Override
        public Outcome run(Producer<byte[], byte[]> producer) {
            throw failure;
        }
    }

    /** See {@link Work#unproduced}. */
    private record Unproduced(Response response) implements WritesNothing {
        @Override
        public Outcome run(Producer<byte[], byte[]> producer) {
            return Outcome.notProduced(response, null);
        }
    }

    /** The Kafka side: real clients in production, Kafka's mocks in unit tests. */
    public interface Kafka {
        /** A new transactional producer with {@code transactionalId}. */
        Producer<byte[], byte[]> producer(String transactionalId);

        /** A new {@code read_committed} consumer for the topic, without a group. */
        Consumer<byte[], byte[]> consumer();

        /**
         * Creates the topic if it does not exist, and makes it keep results for the retention at
         * least; returns its partition count. Blocks, bounded.
         *
         * @throws RetentionTooShort when the topic would delete results sooner and may not be changed
         */
        int ensureTopic(Settings settings);

        /** The partition's high watermark (committed and not yet committed records). Blocks up to {@code timeout}. */
        long endOffset(TopicPartition partition, Duration timeout);

        /**
         * The topic's partition count as the cluster describes it now; -1 when it cannot tell
         * within {@code timeout} (the count is then not checked). Blocks up to {@code timeout}.
         */
        default int partitionCount(String topic, Duration timeout) {
            return -1;
        }
    }

    /**
     * The state topic deletes results before {@code idempotency.retention.ms} and Portico may not
     * change it: a retry after its retention would be written again. Fails start-up.
     */
    public static final class RetentionTooShort extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        RetentionTooShort(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Settings settings;
    private final Kafka kafka;
    private final IdempotencyView view;
    /** Bytes of results being committed and not yet put in the view: counted with it against its bound. */
    private final java.util.concurrent.atomic.AtomicLong committingBytes = new java.util.concurrent.atomic.AtomicLong();
    /** The same, per owner, against each owner's share. */
    private final java.util.concurrent.ConcurrentHashMap<Long, Long> committingByOwner = new java.util.concurrent.ConcurrentHashMap<>();

    /** Adds {@code delta} to {@code owner}'s bytes being committed; what they are now. */
    private long committingOf(long owner, long delta) {
        Long now = committingByOwner.compute(owner, (o, n) -> {
            long v = (n == null ? 0 : n) + delta;
            return v == 0 ? null : v;
        });
        return now == null ? 0 : now;
    }
    private final LongSupplier clock;
    private final Runnable beforeCommit;
    /** Requests executing at this node, by their transactional id's number: one at a time each. */
    private final ConcurrentHashMap<Integer, CompletableFuture<Void>> inProgress = new ConcurrentHashMap<>();
    private final com.codahale.metrics.Meter executed; // at 0 from the start, as the other meters
    private final com.codahale.metrics.Meter replayed;
    private volatile boolean closed;
    private volatile Consumer<byte[], byte[]> consumer;
    private Thread reader;
    /** The topic's partition count as {@link #start} found it, for the reader to take once; 0 when not. */
    private volatile int ensured;

    /**
     * @param clock wall-clock milliseconds (result times and the retention)
     * @param beforeCommit runs just before each commit (a test's pause; a no-op otherwise)
     */
    public Idempotency(Settings settings, Kafka kafka, SessionMetrics metrics, LongSupplier clock, Runnable beforeCommit) {
        this.settings = settings;
        this.kafka = kafka;
        this.executed = metrics.registry().meter("portico.idempotency.executed");
        this.replayed = metrics.registry().meter("portico.idempotency.replayed");
        this.clock = clock;
        this.beforeCommit = beforeCommit;
        // The view keeps a quarter more than a new key is admitted under: the results of the other
        // nodes, admitted under their own views and committed meanwhile, still fit. So for one
        // API key's share: past it, that key's results are not kept, and only its keys wait.
        this.view = new IdempotencyView(settings.retention(), plusAQuarter(settings.memoryMaxBytes()),
                plusAQuarter(settings.perOwnerMaxBytes()), clock);
        KafkaNames.reserve(settings.topic());
        metrics.registry().gauge("portico.idempotency.keys", () -> view::size);
        metrics.registry().gauge("portico.idempotency.bytes", () -> view::bytes);
    }

    /**
     * The service over a real cluster: transactional producers made from {@code producerConfig},
     * the view's consumer from {@code consumerConfig}, the topic created and offsets asked for
     * with {@code admin}. Just before a commit it pauses for good when the system property
     * {@value #PAUSE_BEFORE_COMMIT_PROPERTY} is set (a test's way to stop a node there).
     */
    public static Idempotency kafka(Settings settings, Map<String, Object> producerConfig,
                                    Map<String, Object> consumerConfig, SharedAdmin admin, Duration adminTimeout,
                                    SessionMetrics metrics) {
        Runnable beforeCommit = System.getProperty(PAUSE_BEFORE_COMMIT_PROPERTY) == null ? () -> { } : () -> {
            LOG.warn("Paused before committing a keyed produce ({} is set)", PAUSE_BEFORE_COMMIT_PROPERTY);
            try {
                new CompletableFuture<Void>().get();
            } catch (InterruptedException | ExecutionException e) {
                Thread.currentThread().interrupt();
            }
        };
        return new Idempotency(settings, new RealKafka(settings.topic(), producerConfig, consumerConfig, admin,
                adminTimeout), metrics, System::currentTimeMillis, beforeCommit);
    }

    /**
     * The settings of a transactional producer over {@code base} (Portico's producer settings):
     * idempotence on, {@code acks=all}, the transactional id, and a client id of its own.
     */
    public static Map<String, Object> transactionalConfig(Map<String, Object> base, String transactionalId) {
        Map<String, Object> config = new HashMap<>(base);
        config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId);
        config.put(ProducerConfig.METRIC_REPORTER_CLASSES_CONFIG, ""); // no JMX beans per request
        // A new producer's first transactional request waits one backoff after finding its
        // coordinator: Kafka's 100 ms would be most of a keyed request's time.
        config.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "10");
        // A transaction lasts as long as its records may take (the metadata wait, then their
        // delivery timeout, produce.timeout.ms): with Kafka's 60 s the coordinator would abort a
        // slower one, which the request then took for another node's fencing. At most the
        // broker's default transaction.max.timeout.ms, 15 minutes.
        long lasts = millis(base.get(ProducerConfig.MAX_BLOCK_MS_CONFIG), 60_000)
                + millis(base.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG), 120_000) + 10_000;
        config.putIfAbsent(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                Long.toString(Math.max(60_000, Math.min(lasts, TRANSACTION_TIMEOUT_MAX_MS))));
        return config;
    }

    /** The broker's default {@code transaction.max.timeout.ms}: a producer asking more is refused. */
    static final long TRANSACTION_TIMEOUT_MAX_MS = 900_000;

    private static long millis(Object value, long absent) {
        if (value == null) {
            return absent;
        }
        try {
            return Long.parseLong(value.toString().trim());
        } catch (NumberFormatException e) {
            return absent; // the producer refuses it itself
        }
    }

    /**
     * Makes sure of the topic (created when absent, its retention raised to the results' when
     * shorter), then starts reading it in the background; keyed requests wait for it. Kafka not
     * answering now is the reader's to retry; a retention that may not be raised fails.
     *
     * @throws RetentionTooShort the topic deletes results before the retention, and may not be changed
     */
    public void start() {
        try {
            ensured = kafka.ensureTopic(settings);
        } catch (RetentionTooShort e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.warn("Cannot make sure of {} (idempotency.topic) now, trying again in the background: {}",
                    settings.topic(), KafkaErrors.describe(e));
        }
        reader = new Thread(this::read, "portico-idempotency-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Executes a keyed request at most once per key: see the class comment.
     *
     * @param fingerprint the request's {@link IdempotencyKey#fingerprint}
     * @return the answer: {@code work}'s response, or the response recorded for the key before
     * @throws RestException 422 when the key's result is of another request; 413 when the response
     *         is over {@code idempotency.response.max.bytes} (nothing is produced); 429 when the
     *         caller's results hold more than its share of that memory; 503 when a wait runs out,
     *         Kafka's transactions are not available or the results kept fill their memory; what
     *         {@code work} throws
     */
    public Answer execute(IdempotencyKey key, byte[] fingerprint, Work work) {
        return execute(key, fingerprint, null, work);
    }

    /**
     * Whether this node knows the answer of a request with {@code key} (a retry is then answered
     * with it, and its work never runs). A false answer may turn true at once, as another node
     * executes the key.
     */
    public boolean answered(IdempotencyKey key) {
        return view.get(key) != null;
    }

    /**
     * As {@link #execute(IdempotencyKey, byte[], Work)}, for work that produces to {@code topic}:
     * a new producer learns of it (and of the idempotency topic) while it initializes, not at
     * its first send.
     */
    public Answer execute(IdempotencyKey key, byte[] fingerprint, String topic, Work work) {
        if (closed) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the server is shutting down");
        }
        // One bound for the wait for the key's slot and the catch-up below (a fenced request's wait for
        // the result that fenced it has its own, from the fence).
        long deadline = System.nanoTime() + settings.waitFor().toNanos();
        if (work instanceof WritesNothing nothing) {
            return withoutWriting(key, fingerprint, nothing, deadline);
        }
        while (true) {
            IdempotencyView.Result known = view.get(key);
            if (known != null) {
                return replay(known, fingerprint);
            }
            requireComplete(key);
            int opened = view.partitions();
            if (opened > 0) {
                requireSamePartitions(opened, deadline); // before a producer of the key's id fences anything
            }
            if (view.bytes() >= settings.memoryMaxBytes()) {
                // Every node keeps every result within the retention: refusing new ones bounds them all.
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("the results of Idempotency-Key requests kept for "
                        + settings.retention().toMillis() + " ms (idempotency.retention.ms) fill the "
                        + settings.memoryMaxBytes() + " bytes set aside for them (idempotency.memory.max.bytes); "
                        + "nothing was produced, retry later");
            }
            if (view.bytesOf(key.owner()) >= settings.perOwnerMaxBytes()) {
                throw ErrorCode.TOO_MANY_REQUESTS.exception("the results of this API key's Idempotency-Key requests "
                        + "kept for " + settings.retention().toMillis() + " ms (idempotency.retention.ms) fill its share, "
                        + settings.perOwnerMaxBytes() + " bytes (idempotency.memory.per.key.max.bytes); nothing was "
                        + "produced, retry later");
            }
            if (view.crowded(key.owner(), settings.memoryMaxBytes())) {
                throw ErrorCode.TOO_MANY_REQUESTS.exception("the results of Idempotency-Key requests kept for "
                        + settings.retention().toMillis() + " ms (idempotency.retention.ms) nearly fill the "
                        + settings.memoryMaxBytes() + " bytes set aside for them (idempotency.memory.max.bytes), and this "
                        + "API key's hold an equal part of them or more (the rest is kept for other keys); nothing was "
                        + "produced, retry later");
            }
            // One request at a time per transactional id at this node: the one with this key, or
            // another whose key shares its id, would fence this one.
            CompletableFuture<Void> mine = new CompletableFuture<>();
            Integer slot = slot(key);
            CompletableFuture<Void> running = inProgress.putIfAbsent(slot, mine);
            if (running != null) {
                if (!ended(running, deadline)) {
                    IdempotencyView.Result late = view.get(key); // the one with this key may have just answered
                    if (late != null) {
                        return replay(late, fingerprint);
                    }
                    throw stillInProgress();
                }
                continue; // it answered, or failed (nothing recorded: this one may execute)
            }
            Fenced fenced;
            try {
                return executeOnce(key, fingerprint, topic, work, deadline);
            } catch (Fenced e) {
                fenced = e;
            } finally {
                inProgress.remove(slot, mine);
                mine.complete(null);
            }
            // Waited for with the id given back: a request of another key that fenced this one
            // never brings this key's result, and the id's other keys need not wait meanwhile.
            return awaitTakeOver(key, fingerprint, fenced.committing);
        }
    }

    /**
     * Work that writes nothing: the key's result if one is committed (read up to the end of the
     * key's partition of the state topic: another node's request with the key that sent its
     * result is waited for, within the deadline), else the work's own answer. No producer of the
     * key's transactional id is started (it would fence, and abort, a request with the key in
     * progress elsewhere), no slot is taken (none of the id's other keys waits for this, though
     * it waits for the one in progress at this node), and the results' memory is not asked (none
     * is kept).
     */
    private Answer withoutWriting(IdempotencyKey key, byte[] fingerprint, WritesNothing work, long deadline) {
        IdempotencyView.Result known = view.get(key);
        CompletableFuture<Void> running = known == null ? inProgress.get(slot(key)) : null;
        if (running != null) {
            // A request of this node with the key (or one sharing its id) is in progress: its
            // result, if it commits one, is this key's answer. Waited for, not taken over.
            if (!ended(running, deadline)) {
                throw stillInProgress();
            }
            known = view.get(key);
        }
        if (known == null) {
            requireComplete(key);
            awaitCaughtUp(key, deadline);
            known = view.get(key);
        }
        if (known != null) {
            return replay(known, fingerprint);
        }
        requireComplete(key); // the key's result may be one that the catch-up did not keep
        if (work instanceof Failing failing) {
            throw failing.failure();
        }
        return new Answer(((Unproduced) work).response(), false);
    }

    /**
     * Waits until the request in progress ({@code running}) ends, answered or failed: false when
     * it has not by {@code deadline}.
     *
     * @throws RestException 503 when interrupted
     */
    private static boolean ended(CompletableFuture<Void> running, long deadline) {
        try {
            running.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
        } catch (ExecutionException e) {
            // it failed: it recorded nothing
        }
        return true;
    }

    /** The 503 of a key whose request in progress (or one sharing its id) did not end within idempotency.wait.ms. */
    private RestException stillInProgress() {
        return ErrorCode.SERVICE_UNAVAILABLE.exception("a request with this Idempotency-Key (or another that "
                + "shares its transactional id) is still in progress after " + settings.waitFor().toMillis()
                + " ms (idempotency.wait.ms); retry later");
    }

    private Answer executeOnce(IdempotencyKey key, byte[] fingerprint, String topic, Work work, long deadline) {
        // The waits before took (nearly) all of idempotency.wait.ms: no producer starts (which fences
        // the id's transactions at other nodes) to then answer 503 from a catch-up without time.
        if (deadline - System.nanoTime() < least()) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the waits for a request with this Idempotency-Key (or "
                    + "another that shares its transactional id) to end took most of idempotency.wait.ms ("
                    + settings.waitFor().toMillis() + " ms); nothing was produced, retry later");
        }
        Producer<byte[], byte[]> producer;
        try {
            producer = kafka.producer(transactionalId(key));
        } catch (RuntimeException e) {
            throw new RestException(ErrorCode.KAFKA_ERROR, "cannot make a transactional producer: "
                    + KafkaErrors.describe(e), e);
        }
        if (view.partitions() > 0) {
            // Not before the reader has made sure of it: a producer's look-up of a topic that is
            // not there yet has the broker create it with its defaults (auto.create.topics.enable),
            // uncompacted, which the reader would then take as it is.
            warmUp(producer, settings.topic());
        }
        if (topic != null) {
            warmUp(producer, topic);
        }
        boolean inTransaction = false;
        boolean committing = false;
        long reserved = 0; // bytes of committingBytes this request's result holds
        long ownerReserved = 0; // the owner those bytes are counted for too, or 0
        try {
            try {
                producer.initTransactions();
            } catch (AuthorizationException e) {
                // Portico's own principal, not the caller, lacks a permission transactions need.
                throw new RestException(ErrorCode.INTERNAL_SERVER_ERROR, "Idempotency-Key needs Kafka transactions, "
                        + "and Kafka refuses this server's principal the transactional id " + transactionalId(key)
                        + " (an administrator must allow it Write on the transactional ids prefixed "
                        + settings.topic() + "-): "
                        + KafkaErrors.describe(e) + "; nothing was produced, or send without the key", e);
            } catch (org.apache.kafka.common.errors.UnsupportedVersionException e) {
                throw new RestException(ErrorCode.NOT_IMPLEMENTED, "Idempotency-Key needs Kafka transactions, which "
                        + "this cluster does not support: " + KafkaErrors.describe(e) + "; nothing was produced, "
                        + "send without the key", e);
            } catch (TimeoutException e) {
                throw new RestException(ErrorCode.SERVICE_UNAVAILABLE, "Idempotency-Key needs Kafka transactions, and "
                        + "the cluster's transaction coordinator did not answer in time (a single broker needs "
                        + "transaction.state.log.replication.factor=1 and transaction.state.log.min.isr=1): "
                        + KafkaErrors.describe(e), e);
            }
            int partitions = awaitCaughtUp(key, deadline);
            IdempotencyView.Result known = view.get(key);
            if (known != null) {
                return replay(known, fingerprint);
            }
            requireComplete(key); // the key's result may be one that the catch-up did not keep
            producer.beginTransaction();
            inTransaction = true;
            Outcome outcome = work.run(producer);
            Response response = outcome.response();
            if (!outcome.produced()) {
                if (outcome.failure() != null && fenced(outcome.failure())) {
                    throw new Fenced(false);
                }
                abortQuietly(producer);
                inTransaction = false;
                return new Answer(response, false);
            }
            if (response.body().length > settings.responseMaxBytes()) {
                throw ErrorCode.PAYLOAD_TOO_LARGE.exception("the response of this request would be " + response.body().length
                        + " bytes, over the " + settings.responseMaxBytes() + " kept for an Idempotency-Key "
                        + "(idempotency.response.max.bytes); nothing was produced: send fewer records per request");
            }
            IdempotencyView.Result result = new IdempotencyView.Result(fingerprint.clone(), response, clock.getAsLong(),
                    key.owner());
            ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(settings.topic(),
                    key.partition(partitions), result.time(), key.id(), IdempotencyView.encode(result));
            if (key.owner() != 0) {
                record.headers().add(OWNER_HEADER, java.nio.ByteBuffer.allocate(Long.BYTES).putLong(key.owner()).array());
            }
            // The result must fit what the view keeps, with the results being committed beside
            // it: past that, the view would refuse it when it reads it back (and be incomplete).
            if (view.bytes() + committingBytes.addAndGet(result.bytes()) > settings.memoryMaxBytes()) {
                committingBytes.addAndGet(-result.bytes());
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("the results of Idempotency-Key requests kept for "
                        + settings.retention().toMillis() + " ms (idempotency.retention.ms) fill the "
                        + settings.memoryMaxBytes() + " bytes set aside for them (idempotency.memory.max.bytes); "
                        + "nothing was produced, retry later");
            }
            reserved = result.bytes();
            // Likewise the key's share: the checks before the request ran did not know its result's size.
            if (key.owner() != 0 && view.bytesOf(key.owner()) + committingOf(key.owner(), result.bytes())
                    > settings.perOwnerMaxBytes()) {
                committingOf(key.owner(), -result.bytes());
                throw ErrorCode.TOO_MANY_REQUESTS.exception("the results of this API key's Idempotency-Key requests "
                        + "kept for " + settings.retention().toMillis() + " ms (idempotency.retention.ms) would pass "
                        + "its share, " + settings.perOwnerMaxBytes() + " bytes (idempotency.memory.per.key.max.bytes), "
                        + "with this one's; nothing was produced, retry later");
            }
            ownerReserved = key.owner();
            java.util.concurrent.Future<?> sent = producer.send(record);
            producer.flush();
            try {
                sent.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof AuthorizationException) {
                    // Portico's own principal, not the caller, may not write the results.
                    throw new RestException(ErrorCode.INTERNAL_SERVER_ERROR, "Idempotency-Key keeps each result in "
                            + settings.topic() + " (idempotency.topic), and Kafka refuses this server's principal "
                            + "Write there (an administrator must allow it): " + KafkaErrors.describe(e.getCause())
                            + "; nothing was produced, or send without the key", e.getCause());
                }
                throw KafkaErrors.toRestException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
            }
            beforeCommit.run();
            committing = true;
            producer.commitTransaction();
            inTransaction = false;
            view.put(key, result);
            executed.mark();
            return new Answer(response, false);
        } catch (RuntimeException e) {
            if (e instanceof Fenced) {
                throw e;
            }
            if (fenced(e)) {
                // Another node's initTransactions() for this id: when it executes this key, this
                // request answers its result. Fenced while committing, the commit may have gone
                // through (its answer lost, then the retry fenced): the outcome is not known.
                throw new Fenced(committing);
            }
            if (inTransaction && !committing) {
                abortQuietly(producer);
            }
            if (committing) {
                throw outcomeUnknown(KafkaErrors.describe(e), e);
            }
            throw KafkaErrors.toRestException(e);
        } finally {
            committingBytes.addAndGet(-reserved); // put in the view by now, or not to be
            if (ownerReserved != 0) {
                committingOf(ownerReserved, -reserved);
            }
            closeQuietly(producer);
        }
    }

    /**
     * A key this node has no result for may have one when the view could not keep every result
     * of its API key (other nodes' results over {@code idempotency.memory.max.bytes}): 503 then,
     * as executing it could write it twice.
     */
    private void requireComplete(IdempotencyKey key) {
        if (!view.complete(key.owner())) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the results of Idempotency-Key requests kept for "
                    + settings.retention().toMillis() + " ms (idempotency.retention.ms) by all nodes are more than the "
                    + settings.memoryMaxBytes() + " bytes this node sets aside for them (idempotency.memory.max.bytes), "
                    + "or this API key's are more than its share of them here, "
                    + "and this key's may be among those it could not keep; nothing was produced, retry later (or "
                    + "at a node with more room)");
        }
    }

    /** The 503 of a commit whose outcome this node does not know ({@code why}), to be retried with the key. */
    private static RestException outcomeUnknown(String why, Throwable cause) {
        return new RestException(ErrorCode.SERVICE_UNAVAILABLE, "the request's records were sent, and whether Kafka "
                + "committed them is not known (" + why + "); retry with the same Idempotency-Key: it answers this "
                + "request's result if they were, and produces them if not", cause);
    }

    /** Another node's producer of the request's transactional id fenced this request's: see {@link #awaitTakeOver}. */
    private static final class Fenced extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final boolean committing;

        Fenced(boolean committing) {
            super(null, null, false, false);
            this.committing = committing;
        }
    }

    /**
     * A request another node's producer fenced: the result of its key once the view has it (that
     * node executed the key), else 503: nothing written when it was fenced before it committed,
     * not known when it was fenced while committing.
     */
    private Answer awaitTakeOver(IdempotencyKey key, byte[] fingerprint, boolean committing) {
        try {
            IdempotencyView.Result theirs = view.awaitResult(key, System.nanoTime() + settings.waitFor().toNanos());
            if (theirs != null && committing && theirs.sameRequest(fingerprint)) {
                // Fenced while committing, and the commit went through (the fencing producer's
                // start completed it): this request's own answer, not a replay of another's.
                return new Answer(theirs.response(), false);
            }
            if (theirs != null) {
                return replay(theirs, fingerprint);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (committing) {
            throw outcomeUnknown("another node's request with this Idempotency-Key, or one that shares its "
                    + "transactional id, fenced its commit", null);
        }
        throw ErrorCode.SERVICE_UNAVAILABLE.exception("another node's request with this Idempotency-Key, or one that "
                + "shares its transactional id, fenced this one before it committed, and no result of this key is "
                + "known yet; nothing of this request was written: retry with the same key");
    }

    /**
     * Waits until the view has read the key's partition up to its end (every result committed
     * before this point, a transaction completed by {@code initTransactions()} included); returns
     * the topic's partition count.
     */
    private int awaitCaughtUp(IdempotencyKey key, long deadline) {
        try {
            int partitions = view.awaitPartitions(deadline);
            if (partitions < 0) {
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("this server has not read " + settings.topic()
                        + " (idempotency.topic) yet; retry later");
            }
            requireSamePartitions(partitions, deadline);
            int partition = key.partition(partitions);
            long end;
            try {
                end = kafka.endOffset(new TopicPartition(settings.topic(), partition),
                        Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            } catch (RuntimeException e) {
                throw new RestException(ErrorCode.SERVICE_UNAVAILABLE, "cannot learn the end of " + settings.topic()
                        + ": " + KafkaErrors.describe(e), e);
            }
            if (!view.awaitPosition(partition, end, deadline, this::wakeReader)) {
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("this server's view of " + settings.topic() + " did not catch "
                        + "up within " + settings.waitFor().toMillis() + " ms (idempotency.wait.ms); retry later");
            }
            return partitions;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
        }
    }

    /**
     * What a keyed request must have left of {@code idempotency.wait.ms} to start its producer, and
     * the longest the partition count's look-up takes of it: a quarter, at most 1 s.
     */
    private long least() {
        return Math.min(settings.waitFor().toNanos() / 4, TimeUnit.SECONDS.toNanos(1));
    }

    /** How often, at most, keyed requests have the state topic's partition count looked up. */
    private static final long COUNT_CHECK_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private final java.util.concurrent.atomic.AtomicBoolean countChecking = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile long countCheckedAt; // when liveCount was looked up, once it is known
    private volatile int liveCount = -1;

    /**
     * Refuses (503) a keyed request while the state topic's partition count differs from the one
     * this node reads: a key's result is written to, and looked up in, its partition of that
     * count, so after partitions were added a node still on the old count would miss results
     * other nodes wrote, and write the records again. The count is looked up at most once a
     * second, by one request while the others go on with the last one known.
     */
    private void requireSamePartitions(int partitions, long deadline) {
        long now = System.nanoTime();
        long most = least();
        if ((liveCount <= 0 || now - countCheckedAt >= COUNT_CHECK_EVERY_NANOS) && deadline - now >= most
                && countChecking.compareAndSet(false, true)) {
            try {
                long left = Math.max(TimeUnit.MILLISECONDS.toNanos(1), most);
                int live = kafka.partitionCount(settings.topic(), Duration.ofNanos(left));
                if (live > 0) {
                    countCheckedAt = now;
                    liveCount = live;
                } else { // looked up again by the next keyed request
                    LIMITED.warn("partitions:unknown", "Could not look up the partition count of {} (idempotency.topic); "
                            + "keyed requests go on with the last one known", settings.topic());
                }
            } finally {
                countChecking.set(false);
            }
        }
        int live = liveCount;
        if (live > 0 && live != partitions) {
            LIMITED.error("partitions", "{} (idempotency.topic) has {} partitions and this node reads {}: its partition "
                    + "count changed while this node ran. Keyed requests answer 503 until every node is restarted",
                    settings.topic(), live, partitions);
            throw ErrorCode.SERVICE_UNAVAILABLE.exception(settings.topic() + " (idempotency.topic) has " + live
                    + " partitions where this server reads " + partitions + ": keyed requests wait for its restart; "
                    + "nothing was produced");
        }
    }

    /**
     * Has a new producer learn of {@code topic} in the background, while it initializes its
     * transactions: one metadata round trip less on the request's path. Best effort: skipped when
     * the warm-up threads are busy; a failure is the send's to see.
     */
    private void warmUp(Producer<byte[], byte[]> producer, String topic) {
        try {
            warmers.execute(() -> {
                try {
                    producer.partitionsFor(topic);
                } catch (RuntimeException e) {
                    LOG.debug("Warming up a transactional producer for {} failed: {}", topic, e.toString());
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // busy: the first send learns of the topic
        }
    }

    /** Threads that warm up new producers; when all are busy, no warm-up. */
    private final java.util.concurrent.ThreadPoolExecutor warmers = new java.util.concurrent.ThreadPoolExecutor(0, 16,
            30, TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "portico-idempotency-warm-up");
                t.setDaemon(true);
                return t;
            }, new java.util.concurrent.ThreadPoolExecutor.AbortPolicy());

    /** Cuts the reader's long poll short: a request now waits for it. */
    private void wakeReader() {
        Consumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    private Answer replay(IdempotencyView.Result known, byte[] fingerprint) {
        if (!known.sameRequest(fingerprint)) {
            throw ErrorCode.IDEMPOTENCY_KEY_REUSED.exception();
        }
        replayed.mark();
        return new Answer(known.response(), true);
    }

    /**
     * The transactional id of a key: always the same for a key, so that nodes executing it fence
     * each other, and one of {@code transactionalIds} per idempotency topic (deployment): the
     * coordinator keeps every id it saw until the broker's {@code transactional.id.expiration.ms}
     * (7 days by default), so ids made per key would pile up with the keys. Keys that share an id
     * are executed one at a time at a node; at two nodes at once, the later one fences the other,
     * whose request then answers 503 after {@code idempotency.wait.ms} (nothing written, or its
     * outcome not known when fenced during its commit; a retry with its key is safe).
     */
    String transactionalId(IdempotencyKey key) {
        return settings.topic() + "-" + slot(key);
    }

    /** The number of a key's transactional id: from the key's identity (a SHA-256), even over the ids. */
    private int slot(IdempotencyKey key) {
        return key.number(settings.transactionalIds());
    }

    /**
     * Whether {@code e} says another producer with this transactional id fenced this one: Kafka
     * answers a fenced producer's sends and commit with one of these, depending on how far the
     * other's {@code initTransactions()} got (an invalid transaction state: the coordinator was
     * aborting this producer's transaction for it).
     */
    private static boolean fenced(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException
                    || t instanceof org.apache.kafka.common.errors.InvalidTxnStateException) {
                return true;
            }
        }
        return false;
    }

    private static void abortQuietly(Producer<byte[], byte[]> producer) {
        try {
            producer.abortTransaction();
        } catch (RuntimeException e) {
            LOG.debug("Aborting a keyed produce's transaction failed: {}", e.toString());
        }
    }

    private static void closeQuietly(Producer<byte[], byte[]> producer) {
        try {
            producer.close(Duration.ofSeconds(1));
        } catch (RuntimeException e) {
            LOG.debug("Closing a transactional producer failed: {}", e.toString());
        }
    }

    // ---- the background reader

    private void read() {
        long lastSweep = clock.getAsLong();
        List<TopicPartition> partitions = null;
        Map<TopicPartition, Long> rereadTo = null; // a read of the whole topic again: where it is complete
        // Where each partition's records have been applied to (its next offset). A failure on the
        // way (an OutOfMemoryError in poll or in an apply) leaves the consumer's position past
        // records never applied; published, it would tell a retry of their keys that no result
        // exists, and the retry would write its records again: the reader goes back to here.
        Map<TopicPartition, Long> applied = new HashMap<>();
        long refusedBefore = 0;
        while (!closed) {
            try {
                if (partitions == null) {
                    applied.clear();
                    partitions = open();
                }
                // Short polls while a request waits for this reader: a poll that fetches only a
                // transaction marker moves the position but returns no record, so it would
                // otherwise wait its whole timeout before the position is published.
                Duration timeout = view.waiters() > 0 ? Duration.ofMillis(5) : Duration.ofSeconds(1);
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
                    view.apply(r.key(), r.value(), owner(r));
                    applied.put(new TopicPartition(r.topic(), r.partition()), r.offset() + 1);
                }
                for (TopicPartition tp : partitions) {
                    long position = consumer.position(tp);
                    view.advanced(tp.partition(), position);
                    applied.put(tp, position);
                }
                if (rereadTo != null && reached(rereadTo)) {
                    view.completeAsOf(refusedBefore);
                    rereadTo = null;
                    if (view.complete()) {
                        LOG.info("Read {} (idempotency.topic) again: this node holds every result now", settings.topic());
                    }
                }
                if (!view.complete()) {
                    LIMITED.warn("incomplete", "The results of {} (idempotency.topic) are over idempotency.memory.max.bytes "
                            + "({} bytes) at this node, or one API key's past its share: it does not keep them all, and "
                            + "keyed requests whose result it does not hold, of the API keys whose results it did not "
                            + "keep, answer 503 until those results expire", settings.topic(),
                            settings.memoryMaxBytes());
                }
                long now = clock.getAsLong();
                if (now - lastSweep >= SWEEP_EVERY_MS) {
                    view.sweep();
                    lastSweep = now;
                    if (!view.complete() && rereadTo == null && view.roomAgain(settings.memoryMaxBytes() / 2)) {
                        // Results expired and made room: read everything again to keep what was refused.
                        rereadTo = new HashMap<>();
                        for (TopicPartition tp : partitions) {
                            rereadTo.put(tp, consumer.position(tp));
                        }
                        refusedBefore = view.refused();
                        applied.clear(); // read again from the beginning, failure or not
                        consumer.seekToBeginning(partitions);
                    }
                }
            } catch (WakeupException e) {
                // close() or a stop: the loop condition decides
            } catch (RetentionTooShort e) {
                LIMITED.error("read:retention", "Keyed requests are not served: {}", e.getMessage());
                sleepQuietly(1000);
            } catch (RuntimeException | Error e) {
                // An Error too (an OutOfMemoryError under heap pressure): a reader thread that died
                // would leave every new key waiting its whole wait for a result, then 503, until a restart.
                if (closed) {
                    break;
                }
                LIMITED.warn("read:" + e.getClass().getName(), "Reading {} (idempotency.topic) failed, retrying: {}",
                        settings.topic(), e.toString());
                if (partitions != null && !rewound(partitions, applied)) {
                    if (rereadTo != null && rereadFromStart(partitions)) {
                        // A read of the whole topic again failed before it applied anything: it
                        // starts over, the positions published before it still true.
                    } else {
                        partitions = null; // opened again: read from the beginning
                    }
                }
                sleepQuietly(1000);
            }
        }
        Consumer<byte[], byte[]> c = consumer;
        if (c != null) {
            Thread.interrupted(); // close() interrupted a wait: the consumer's own close must not fail for it
            try {
                c.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(1)));
            } catch (RuntimeException e) {
                LOG.debug("Closing the idempotency reader failed: {}", e.toString());
            }
        }
    }

    /**
     * Puts the reader back where the records it has applied end on each partition, so that what
     * it polled and did not apply is read again; false when it cannot tell or cannot seek.
     */
    private boolean rewound(List<TopicPartition> partitions, Map<TopicPartition, Long> applied) {
        if (!applied.keySet().containsAll(partitions)) {
            return false;
        }
        try {
            for (TopicPartition tp : partitions) {
                consumer.seek(tp, applied.get(tp));
            }
            return true;
        } catch (RuntimeException | Error e) {
            LOG.debug("Seeking the idempotency reader back failed: {}", e.toString());
            return false;
        }
    }

    /** Seeks the reader to the topic's beginning again; false when it cannot. */
    private boolean rereadFromStart(List<TopicPartition> partitions) {
        try {
            consumer.seekToBeginning(partitions);
            return true;
        } catch (RuntimeException | Error e) {
            LOG.debug("Seeking the idempotency reader to the beginning failed: {}", e.toString());
            return false;
        }
    }

    /** Whether the reader's consumer is at or past {@code positions} on every partition. */
    private boolean reached(Map<TopicPartition, Long> positions) {
        for (Map.Entry<TopicPartition, Long> e : positions.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** Creates the topic when absent, and assigns the consumer every partition from the beginning. */
    private List<TopicPartition> open() {
        int count = ensured;
        ensured = 0;
        if (count <= 0) {
            count = kafka.ensureTopic(settings);
        }
        if (consumer == null) {
            consumer = kafka.consumer();
            if (closed) {
                throw new WakeupException();
            }
        }
        List<TopicPartition> partitions = new java.util.ArrayList<>(count);
        for (int p = 0; p < count; p++) {
            partitions.add(new TopicPartition(settings.topic(), p));
        }
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        view.assigned(count);
        LOG.debug("Reading {} (idempotency.topic, {} partitions) for Idempotency-Key requests", settings.topic(), count);
        return partitions;
    }

    private void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Results this node holds. */
    public int size() {
        return view.size();
    }

    /** What they take in memory, roughly. */
    public long bytes() {
        return view.bytes();
    }

    @Override
    public void close() {
        closed = true;
        warmers.shutdownNow();
        Consumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        if (reader != null) {
            reader.interrupt();
            try {
                reader.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Real Kafka clients. */
    record RealKafka(String topic, Map<String, Object> producerConfig, Map<String, Object> consumerConfig,
                             SharedAdmin admin, Duration timeout) implements Kafka {
        @Override
        public Producer<byte[], byte[]> producer(String transactionalId) {
            return new KafkaProducer<>(transactionalConfig(producerConfig, transactionalId),
                    new ByteArraySerializer(), new ByteArraySerializer());
        }

        @Override
        public Consumer<byte[], byte[]> consumer() {
            Map<String, Object> config = new HashMap<>(consumerConfig);
            config.remove(ConsumerConfig.GROUP_ID_CONFIG);
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            config.put(ConsumerConfig.CLIENT_ID_CONFIG, "portico-idempotency-reader");
            return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        }

        /**
         * A segment of the state topic is deleted once its newest result is past the retention,
         * and the segment being written never is: rolled only at Kafka's 7 days (or 1 GiB), it
         * kept expired results on disk, each read again by a node's every start before it serves
         * keys. Rolled at a quarter of the retention (1 minute to 1 hour), results go at most
         * that much after they expire.
         */
        static long segmentMs(Duration retention) {
            return Math.max(60_000L, Math.min(3_600_000L, retention.toMillis() / 4));
        }

        @Override
        public int ensureTopic(Settings settings) {
            long ms = timeout.toMillis();
            NewTopic topic = new NewTopic(settings.topic(), Optional.of(settings.partitions()), Optional.empty())
                    .configs(Map.of("cleanup.policy", "compact,delete",
                            "retention.ms", String.valueOf(settings.retention().toMillis()),
                            "segment.ms", String.valueOf(segmentMs(settings.retention()))));
            try {
                try {
                    admin.get().createTopics(List.of(topic)).all().get(ms, TimeUnit.MILLISECONDS);
                    LOG.debug("Created {} (idempotency.topic)", settings.topic());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw KafkaErrors.toRestException(e);
                    }
                }
                keepResults(settings.topic(), settings.retention().toMillis());
                return admin.get().describeTopics(List.of(settings.topic())).allTopicNames()
                        .get(ms, TimeUnit.MILLISECONDS).get(settings.topic()).partitions().size();
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                throw KafkaErrors.toRestException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WakeupException();
            }
        }

        /**
         * Makes the topic keep results for {@code retention} ms at least. A topic created by
         * Portico does; one created beforehand, or before {@code idempotency.retention.ms} was
         * raised, may not, and a node that starts would then not find results Kafka deleted
         * within the retention: their retries would be written again. When the topic deletes
         * ({@code cleanup.policy} with {@code delete}) after less ({@code retention.ms}), its
         * {@code retention.ms} is raised (logged). Its {@code retention.bytes} is left as it is,
         * with a warning: that bound is an operator's choice of disk over the guarantee.
         *
         * @throws RetentionTooShort when Kafka refuses the change (ACLs, a policy)
         */
        private void keepResults(String name, long retention)
                throws ExecutionException, java.util.concurrent.TimeoutException, InterruptedException {
            long ms = timeout.toMillis();
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, name);
            Config config;
            try {
                config = admin.get().describeConfigs(List.of(resource)).all().get(ms, TimeUnit.MILLISECONDS).get(resource);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof AuthorizationException)) {
                    throw e;
                }
                LOG.warn("Cannot check how long {} (idempotency.topic) keeps results ({}): make sure that its "
                        + "retention.ms is at least idempotency.retention.ms ({} ms), or a retry after it is written again",
                        name, KafkaErrors.describe(e), retention);
                return;
            }
            ConfigEntry policy = config == null ? null : config.get(TopicConfig.CLEANUP_POLICY_CONFIG);
            if (policy == null || policy.value() == null || !policy.value().contains(TopicConfig.CLEANUP_POLICY_DELETE)) {
                return; // compacted only: results stay until replaced
            }
            long bytes = number(config.get(TopicConfig.RETENTION_BYTES_CONFIG));
            if (bytes >= 0) {
                LOG.warn("{} (idempotency.topic) has retention.bytes={}: a partition past that size loses its oldest "
                        + "results, before idempotency.retention.ms ({} ms), and their retries are written again",
                        name, bytes, retention);
            }
            long kept = number(config.get(TopicConfig.RETENTION_MS_CONFIG));
            if (kept < 0 || kept >= retention) {
                return;
            }
            AlterConfigOp raise = new AlterConfigOp(new ConfigEntry(TopicConfig.RETENTION_MS_CONFIG,
                    String.valueOf(retention)), AlterConfigOp.OpType.SET);
            try {
                admin.get().incrementalAlterConfigs(Map.of(resource, List.of(raise))).all().get(ms, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                Throwable cause = RestException.unwrap(e);
                if (cause instanceof RetriableException) {
                    throw e;
                }
                throw new RetentionTooShort(name + " (idempotency.topic) deletes results after " + kept
                        + " ms (its retention.ms), before idempotency.retention.ms (" + retention + " ms), and Kafka "
                        + "refused to raise it (" + KafkaErrors.describe(cause) + "): a retry after " + kept
                        + " ms would be written again. Set the topic's retention.ms to at least " + retention
                        + ", allow Portico AlterConfigs on it, or lower idempotency.retention.ms", cause);
            }
            LOG.warn("{} (idempotency.topic) deleted results after {} ms (retention.ms), before idempotency.retention.ms: "
                    + "its retention.ms is now {}", name, kept, retention);
        }

        /** A numeric setting's value, or -1 when absent or not a number (no bound). */
        private static long number(ConfigEntry entry) {
            try {
                return entry == null || entry.value() == null ? -1 : Long.parseLong(entry.value().trim());
            } catch (NumberFormatException e) {
                return -1;
            }
        }

        @Override
        public int partitionCount(String topic, Duration wait) {
            try {
                // The call's own timeout too: one that timed out here leaves nothing queued in the shared admin client.
                return admin.get().describeTopics(List.of(topic),
                                new org.apache.kafka.clients.admin.DescribeTopicsOptions().timeoutMs((int) Math.max(1, wait.toMillis())))
                        .allTopicNames().get(wait.toMillis(), TimeUnit.MILLISECONDS).get(topic).partitions().size();
            } catch (ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
                LOG.debug("Describing {} (idempotency.topic) failed: {}", topic, e.toString());
                return -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }

        @Override
        public long endOffset(TopicPartition partition, Duration wait) {
            try {
                return admin.get().listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition)
                        .get(wait.toMillis(), TimeUnit.MILLISECONDS).offset();
            } catch (ExecutionException e) {
                throw KafkaErrors.toRestException(e);
            } catch (java.util.concurrent.TimeoutException e) {
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("no answer from Kafka within " + wait.toMillis() + " ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
            }
        }
    }
}
