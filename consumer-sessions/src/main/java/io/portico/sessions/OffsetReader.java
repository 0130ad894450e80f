package io.portico.sessions;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stateless reads of a partition by offset ({@code GET /topics/{t}/partitions/{p}/messages}),
 * served by a bounded pool of assign-only consumers (no group) that are reused across requests.
 *
 * <p>Design: a pooled reader stays assigned to the partition it last read, with the records it
 * fetched but did not return, and remembers the offset that follows what it returned. A request
 * for that partition at that offset (a client walking a partition) takes that reader and is
 * answered from what is already fetched, with no seek and no offset lookups.
 *
 * <p>Readers come in two kinds, by what their fetches bring. A read at an offset no reader stopped
 * at (a read at a random offset, or the first of a walk) gets a <em>seeker</em>, whose fetches
 * are at most {@link #SEEK_FETCH_BYTES}: the part of the batch before the offset and a thousand
 * small records after it, and little more fetched, copied and dropped when the next read goes
 * elsewhere. A read that goes on where a seeker
 * stopped starts a walk, which a <em>walker</em> takes over: its fetches are the configured size
 * ({@code fetch.max.bytes}), fewer round trips for a client reading on and on. The pool's bound
 * counts both kinds, and no reader is closed to make another (see {@link #borrow}). Offsets outside the
 * log are found by the fetch itself ({@code auto.offset.reset=none}); only then are the log's
 * start and end looked up, to say which. The log end is known from the fetch (the consumer's lag),
 * confirmed once by a look-up before a read returns fewer records than asked, so a read stops as
 * soon as it has everything there is.
 *
 * <p>Blocking: {@link #read} waits for a pooled consumer (up to the pool timeout, then 503/50301)
 * and for the fetch; call it from a worker pool. Thread-safe.
 */
public final class OffsetReader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OffsetReader.class);
    /** Poll in slices, so that the log end is noticed soon after an empty fetch. */
    private static final Duration POLL_SLICE = Duration.ofMillis(20);
    /**
     * The most a seeker's fetch brings (its fetch.max.bytes and max.partition.fetch.bytes). A read
     * at a random offset starts inside a batch, which the broker returns whole from its start: with
     * batches of up to 64 KiB (Portico's producer writes such), 128 KiB held fewer than a thousand
     * small records past the offset for most reads, which then waited for a second fetch.
     */
    static final int SEEK_FETCH_BYTES = 192 * 1024;

    private final Map<String, Object> config; // walkers'
    private final Map<String, Object> seekerConfig;
    /** Consumers of partition streams: as the readers', with the broker's long poll kept. */
    private final Map<String, Object> streamConfig;
    private final Function<Map<String, Object>, Consumer<byte[], byte[]>> factory;
    private final Semaphore permits;
    /**
     * Reads each API key has in progress (waiting for a reader or holding one): at most half the
     * pool, so that one key whose reads are slow (a partition whose leader is away, a busy
     * broker) never holds every reader the others need.
     */
    private final PerOwner reading = new PerOwner();
    /**
     * Closes the readers a failed read let go of, off the request's thread: a consumer's close may
     * take its whole 5 s while Kafka does not answer, and the read's 503 must not wait for it.
     * Bounded: past its queue a close runs on the caller's thread, as before.
     */
    private final java.util.concurrent.ThreadPoolExecutor closer = new java.util.concurrent.ThreadPoolExecutor(1, 2,
            30, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.ArrayBlockingQueue<>(64), r -> {
                Thread t = new Thread(r, "portico-reader-closer");
                t.setDaemon(true);
                return t;
            });
    private final Duration poolTimeout;
    private final Duration fetchTimeout;
    private final long maxBytes;
    private final ArrayDeque<Reader> idle = new ArrayDeque<>(); // guarded by itself
    private final int poolSize;
    private int open; // readers made and not closed, idle or in use; guarded by idle
    private final SessionMetrics metrics;
    private final MemoryBudget memory;
    private volatile boolean closed;
    private volatile LogEnds logEnds;
    private volatile java.util.function.ToIntFunction<String> partitionCounts = topic -> -1;
    private java.util.function.LongSupplier nanoClock = System::nanoTime;

    /**
     * How long records a reader fetched ahead may wait for the read that continues there: past
     * it they are fetched again, since the log may have changed under them (records deleted,
     * the topic deleted and made again), and a read must not return what Kafka no longer holds.
     */
    static final long HELD_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(5);

    /** The clock idle readers are timed with (a test's, to age them without waiting). */
    OffsetReader nanoClock(java.util.function.LongSupplier clock) {
        this.nanoClock = clock;
        return this;
    }

    /**
     * Where a partition's log ends for every reader (its high watermark), when the consumers'
     * own look-up cannot tell: under {@code read_committed} (Portico's default) a consumer's end
     * offset is the last stable offset, before the records of a transaction still open, which a
     * read or stream at or past it must wait for, not call past the log's end.
     */
    @FunctionalInterface
    public interface LogEnds {
        /** The partition's high watermark, asked within {@code timeout}; throws Kafka's exceptions. */
        long end(TopicPartition tp, Duration timeout);
    }

    /**
     * Asks {@code counts} (the cluster's partition count of a topic, recent; -1 when it cannot
     * say) when a read names a partition past what a pooled consumer's metadata knows; without
     * it, that metadata decides.
     */
    public OffsetReader partitionCounts(java.util.function.ToIntFunction<String> counts) {
        this.partitionCounts = counts;
        return this;
    }

    /**
     * Asks {@code ends} where a log ends when an offset is past the end a reader's consumer
     * sees; without it (unit tests, {@code read_uncommitted}) that end is the log's end.
     */
    public OffsetReader logEnds(LogEnds ends) {
        this.logEnds = ends;
        return this;
    }

    /**
     * The log's end when {@code offset} is past it, else -1; {@code end} is where the consumer's
     * look-up said the log ends: when the offset is past that, the log's own end decides.
     */
    private long endIfPast(long offset, long end, TopicPartition tp, Duration timeout) {
        if (offset <= end) {
            return -1;
        }
        LogEnds ends = logEnds;
        long logEnd = ends == null ? end : ends.end(tp, timeout);
        return offset > logEnd ? logEnd : -1;
    }

    /**
     * A pooled consumer, the partition it is assigned to, and what it fetched beyond what it
     * returned; its account with the consumers budget holds its fixed cost and those records.
     */
    private static final class Reader {
        final Consumer<byte[], byte[]> consumer;
        final MemoryBudget.Lease lease;
        final HeldRecords held;
        final boolean walker;
        TopicPartition assigned;
        long next = -1; // the offset after the last record returned; -1 when unknown
        long idleSince; // the clock's time it was last given back

        Reader(Consumer<byte[], byte[]> consumer, MemoryBudget.Lease lease, boolean walker) {
            this.consumer = consumer;
            this.lease = lease;
            this.held = new HeldRecords(lease);
            this.walker = walker;
        }

        /** Lets go of the records fetched ahead; the next read seeks. */
        void dropFetched() {
            held.clear();
            next = -1;
        }
    }

    /**
     * @param kafka consumer settings (bootstrap servers, {@code consumer.*} pass-through)
     * @param poolSize consumers at most; a request that finds none free waits {@code poolTimeout}
     * @param fetchTimeout bound on metadata lookups and on fetching one request's records
     * @param maxBytes cap on key+value bytes per response (the first record always comes back)
     */
    public OffsetReader(Map<String, Object> kafka, Function<Map<String, Object>, Consumer<byte[], byte[]>> factory,
                        int poolSize, Duration poolTimeout, Duration fetchTimeout, long maxBytes) {
        this(kafka, factory, poolSize, poolTimeout, fetchTimeout, maxBytes, SessionMetrics.unreported(),
                MemoryBudget.unbounded("memory.consumers.max.bytes"));
    }

    /**
     * As above, counting records read and pooled consumers in {@code metrics}, and each pooled
     * consumer ({@link HeldRecords#CONSUMER_COST}) and the records it holds in {@code memory}.
     */
    public OffsetReader(Map<String, Object> kafka, Function<Map<String, Object>, Consumer<byte[], byte[]>> factory,
                        int poolSize, Duration poolTimeout, Duration fetchTimeout, long maxBytes,
                        SessionMetrics metrics, MemoryBudget memory) {
        this.metrics = metrics;
        this.memory = memory;
        memory.addReclaimer(this::reclaim);
        metrics.registry().gauge("portico.offset.readers.idle", () -> this::idleCount);
        Map<String, Object> c = new HashMap<>(kafka);
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none"); // an offset outside the log is an error
        c.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "portico-offset-reader");
        // No JMX beans (unless consumer.metric.reporters names a reporter): pooled readers share
        // one client id, so their beans would replace one another, and a reader moving to another
        // partition would unregister and register its per-partition beans on every such read.
        c.putIfAbsent(ConsumerConfig.METRIC_REPORTER_CLASSES_CONFIG, "");
        // Reads know the log end from the fetch, so there is nothing to long-poll for; a short
        // broker-side wait keeps an empty fetch from holding a read up.
        c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "10");
        // A poll hands over at most a typical read's records (Kafka's default is 500): the rest of
        // a fetch stays in the consumer unparsed, and a fetch ahead is sent only once that is all
        // taken. A client walking a partition is served from it; a read at a random offset then
        // drops neither records parsed for nothing nor a fetch sent ahead for nothing.
        c.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1000");
        this.config = Map.copyOf(c);
        Map<String, Object> seek = new HashMap<>(c);
        for (String key : List.of(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG)) {
            seek.put(key, String.valueOf(Math.min(SEEK_FETCH_BYTES, HeldRecords.fetchBytes(c.get(key)))));
        }
        this.seekerConfig = Map.copyOf(seek);
        Map<String, Object> sc = new HashMap<>(c);
        // A stream hands over all a fetch brought, a batch of events per poll.
        sc.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, kafka.getOrDefault(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000"));
        // A stream at the log end waits in the broker for the next record (Kafka's 500 ms unless
        // consumer.fetch.max.wait.ms says otherwise): an append is answered at once.
        sc.remove(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG);
        Object wait = kafka.get(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG);
        if (wait != null) {
            sc.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, wait);
        }
        sc.put(ConsumerConfig.CLIENT_ID_CONFIG, kafka.getOrDefault(ConsumerConfig.CLIENT_ID_CONFIG, "portico-partition-stream"));
        this.streamConfig = Map.copyOf(sc);
        this.factory = factory;
        this.permits = new Semaphore(poolSize);
        this.reading.max(Math.max(1, poolSize / 2));
        this.reading.shareOut(poolSize); // fewer while other keys' reads crowd the pool
        this.poolSize = poolSize;
        this.poolTimeout = poolTimeout;
        this.fetchTimeout = fetchTimeout;
        this.maxBytes = maxBytes;
    }

    /** A pool of real {@link KafkaConsumer}s. */
    public static OffsetReader kafka(Map<String, Object> kafka, int poolSize, Duration poolTimeout,
                                     Duration fetchTimeout, long maxBytes, SessionMetrics metrics, MemoryBudget memory) {
        return new OffsetReader(kafka,
                PollBound::consumer,
                poolSize, poolTimeout, fetchTimeout, maxBytes, metrics, memory);
    }

    /**
     * Up to {@code count} records of one partition from {@code offset} on: fewer when the log ends
     * (none at the log end), or when the byte cap or the fetch timeout is reached.
     *
     * @throws RestException 40401 unknown topic, 40402 unknown partition, 40406 offset below the
     *         log start or past the log end, 503/50301 no pooled consumer free in time
     */
    public List<ConsumedRecord> read(String topic, int partition, long offset, int count) {
        return read(topic, partition, offset, count, ResponseRoom.unbounded());
    }

    /**
     * As {@link #read(String, int, long, int)}, each record taking its room in the response from
     * {@code room} first: a read returns fewer records when the responses budget has no more room.
     *
     * @throws RestException also 503 when not even one record finds room in time
     */
    public List<ConsumedRecord> read(String topic, int partition, long offset, int count, ResponseRoom room) {
        return read(topic, partition, offset, count, room, maxBytes);
    }

    /**
     * As {@link #read(String, int, long, int, ResponseRoom)}, at most {@code bytesCap} bytes of keys
     * and values (the server's cap when smaller); a first record larger than the cap comes alone,
     * so that a reader moving by offset is never stuck behind it.
     */
    public List<ConsumedRecord> read(String topic, int partition, long offset, int count, ResponseRoom room,
                                     long bytesCap) {
        return read(null, topic, partition, offset, count, room, bytesCap);
    }

    /**
     * As {@link #read(String, int, long, int, ResponseRoom, long)}, for the caller {@code owner}
     * (an API key's or user's name; null when authentication is off), who may have at most half
     * the pool's reads in progress.
     *
     * @throws RestException also 429 when {@code owner} has its share of the pool in progress
     */
    public List<ConsumedRecord> read(String owner, String topic, int partition, long offset, int count,
                                     ResponseRoom room, long bytesCap) {
        KafkaNames.topic(topic);
        if (!reading.take(owner)) {
            throw ErrorCode.TOO_MANY_REQUESTS.exception("this API key already has " + reading.heldBy(owner) + " reads by "
                    + "offset in progress on this server, its share of the pooled readers (half of "
                    + "simpleconsumer.pool.size.max at most, less while other keys' reads fill it); retry once one "
                    + "has answered");
        }
        try {
            return readPooled(topic, partition, offset, count, room, bytesCap);
        } finally {
            reading.give(owner);
        }
    }

    private List<ConsumedRecord> readPooled(String topic, int partition, long offset, int count, ResponseRoom room,
                                            long bytesCap) {
        TopicPartition tp = new TopicPartition(topic, partition);
        Reader reader = borrow(tp, offset);
        boolean healthy = false;
        try {
            List<ConsumedRecord> out = read(reader, tp, offset, count, room, Math.min(bytesCap, maxBytes));
            healthy = true;
            return out;
        } catch (RestException e) {
            healthy = true;
            if (e.errorCode() == ErrorCode.BROKER_NOT_AVAILABLE) {
                // Nothing came in time, or Kafka could not say where the log ends: a slow broker, or
                // a topic deleted under the reader (its assignment says nothing of that).
                reader.assigned = null; // the next read looks the partition up again
                RestException gone = gone(reader.consumer, tp);
                throw gone != null ? gone : e;
            }
            throw e;
        } catch (RuntimeException e) {
            throw KafkaErrors.toRestException(e);
        } finally {
            giveBack(reader, healthy);
        }
    }

    private List<ConsumedRecord> read(Reader reader, TopicPartition tp, long offset, int count, ResponseRoom room,
                                      long maxBytes) {
        Consumer<byte[], byte[]> consumer = reader.consumer;
        // One bound for the whole read, whatever it asks Kafka: look-ups get what is left of it.
        long deadline = System.nanoTime() + fetchTimeout.toNanos();
        if (!tp.equals(reader.assigned)) {
            RestException missing = missing(consumer.partitionsFor(tp.topic(), left(deadline)), tp);
            if (missing != null && missing.errorCode() == ErrorCode.PARTITION_NOT_FOUND
                    && partitionCounts.applyAsInt(tp.topic()) > tp.partition()) {
                // The pooled consumer's metadata predates partitions the topic gained since:
                // assigned, it learns of them.
                missing = null;
            }
            if (missing != null) {
                throw missing;
            }
            reader.assigned = null;
            reader.dropFetched();
            consumer.assign(List.of(tp));
            reader.assigned = tp;
            reader.next = -1;
        }
        if (reader.next == offset && nanoClock.getAsLong() - reader.idleSince > HELD_MAX_AGE_NANOS) {
            reader.dropFetched(); // what it holds has waited too long to be trusted: fetched again
        }
        if (reader.next != offset) {
            reader.dropFetched();
            consumer.seek(tp, offset);
        }
        reader.next = -1; // unknown until this read ends well
        List<ConsumedRecord> out = new ArrayList<>(Math.min(count, 1024));
        long bytes = 0;
        boolean fetchedThisRead = false;
        long confirmedEnd = -1;
        while (out.size() < count) {
            ConsumerRecord<byte[], byte[]> r = reader.held.peek();
            if (r == null) {
                if (fetchedThisRead && atLogEnd(consumer, tp)) {
                    // The lag comes from the last fetch response, which may predate this read (a
                    // fetch sent at the end of the previous one, answered by the first of several
                    // appends): the log's end, asked once, says whether there is more.
                    if (confirmedEnd < 0) {
                        confirmedEnd = consumer.endOffsets(List.of(tp), left(deadline)).get(tp);
                    }
                    if (consumer.position(tp, left(deadline)) >= confirmedEnd) {
                        if (out.isEmpty()) {
                            pastTheEnd(consumer, tp, offset, confirmedEnd);
                        }
                        break;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (out.isEmpty()) {
                        long end = pastTheEnd(consumer, tp, offset, confirmedEnd);
                        if (offset < end && consumer.position(tp, END_GRACE) < end) {
                            // Records are there but none came in time (a slow or throttled broker,
                            // or fetches still skipping an aborted transaction's batches): not an
                            // empty page, which would tell the client it is at the end.
                            throw ErrorCode.BROKER_NOT_AVAILABLE.exception("Kafka did not return the records at offset "
                                    + offset + " of partition " + tp.partition() + " of '" + tp.topic() + "' within "
                                    + fetchTimeout.toMillis() + " ms; retry later");
                        }
                    }
                    break;
                }
                try {
                    reader.held.add(PollBound.poll(consumer, min(Duration.ofNanos(left), POLL_SLICE)));
                } catch (OffsetOutOfRangeException e) {
                    throw outOfRange(consumer, tp, offset, deadline);
                }
                fetchedThisRead = true;
                continue;
            }
            ConsumedRecord c = ConsumerInstance.toConsumed(r);
            long size = c.size();
            // max_bytes counts keys and values, as Confluent's does; memory holds the headers too.
            if (!out.isEmpty() && bytes + size > maxBytes
                    || !room.take(size + HeldRecords.headerBytes(r), out.isEmpty())) {
                break;
            }
            reader.held.poll();
            bytes += size;
            out.add(c);
        }
        reader.held.settle();
        reader.next = out.isEmpty() ? offset : out.get(out.size() - 1).offset() + 1;
        metrics.consumed(out.size(), bytes);
        return out;
    }

    /**
     * A read that found nothing before its deadline (a slow fetch, on a busy broker) may have
     * asked past the log end, which a fetch would have refused: the log's end says so (asked
     * within a short grace), so such a read is a 40406, not an empty page.
     *
     * @return where the consumer's look-up says the log ends (its last stable offset)
     */
    private long pastTheEnd(Consumer<byte[], byte[]> consumer, TopicPartition tp, long offset, long confirmedEnd) {
        try {
            long end = confirmedEnd >= 0 ? confirmedEnd : consumer.endOffsets(List.of(tp), END_GRACE).get(tp);
            long logEnd = endIfPast(offset, end, tp, END_GRACE);
            if (logEnd >= 0) {
                throw pastTheLogEnd(tp, offset, logEnd);
            }
            return end;
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            // Nothing fetched, and Kafka cannot say where the log ends: not an empty page, which
            // would tell the client it is at the end.
            throw ErrorCode.BROKER_NOT_AVAILABLE.exception("Kafka did not answer for partition " + tp.partition()
                    + " of '" + tp.topic() + "' within " + fetchTimeout.toMillis() + " ms; retry later");
        }
    }

    private static final Duration END_GRACE = Duration.ofSeconds(1);

    /**
     * 40401 or 40402 when the partition a read fetched nothing from is no longer in the cluster
     * (its topic deleted: fetches of an assigned partition then bring nothing and no error), as
     * the consumer's metadata says within a short grace; null when it is there or Kafka cannot say.
     */
    private static RestException gone(Consumer<byte[], byte[]> consumer, TopicPartition tp) {
        try {
            return missing(consumer.partitionsFor(tp.topic(), END_GRACE), tp);
        } catch (RuntimeException e) {
            return null; // Kafka cannot say now: the read's own answer stands
        }
    }

    /** 40401 when {@code partitions} (a topic's, as Kafka lists them) are none, 40402 when {@code tp} is not among them; else null. */
    static RestException missing(List<PartitionInfo> partitions, TopicPartition tp) {
        if (partitions == null || partitions.isEmpty()) {
            return ErrorCode.TOPIC_NOT_FOUND.exception();
        }
        if (partitions.stream().noneMatch(p -> p.partition() == tp.partition())) {
            return ErrorCode.PARTITION_NOT_FOUND.exception();
        }
        return null;
    }

    /**
     * A stream of one partition from {@code offset} on, then live as records are appended, read by
     * a consumer of its own (not one of the pool: a stream lasts), which counts against the
     * consumers budget like a pooled one. The partition and offset are checked here, so a stream
     * that opens can start.
     *
     * @param owner the API key it is for (null: none): counted in that key's share of the consumers budget
     * @param offset the first offset to read: within the log, or its end
     * @throws RestException 40401 unknown topic, 40402 unknown partition, 40406 offset outside the
     *         log, 503 when the consumers budget has no room within the pool timeout
     */
    public PartitionStream stream(String topic, int partition, long offset, String owner) {
        KafkaNames.topic(topic);
        TopicPartition tp = new TopicPartition(topic, partition);
        if (closed) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the server is shutting down");
        }
        MemoryBudget.Lease lease = memory.lease(owner);
        if (!lease.take(HeldRecords.consumerCost(streamConfig), poolTimeout)) {
            if (lease.ownerFull(HeldRecords.consumerCost(streamConfig))) {
                throw memory.ownerShareFull();
            }
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("Kafka consumers fill the memory set aside for them ("
                    + memory.name() + "); retry later");
        }
        Consumer<byte[], byte[]> consumer = null;
        boolean made = false;
        try {
            consumer = factory.apply(streamConfig);
            long deadline = System.nanoTime() + fetchTimeout.toNanos();
            RestException missing = missing(consumer.partitionsFor(topic, left(deadline)), tp);
            if (missing != null) {
                throw missing;
            }
            consumer.assign(List.of(tp));
            long start = consumer.beginningOffsets(List.of(tp), left(deadline)).get(tp);
            long end = consumer.endOffsets(List.of(tp), left(deadline)).get(tp);
            if (offset < start) {
                throw ErrorCode.OFFSET_OUT_OF_RANGE.exception("offset " + offset + " is below the log start offset "
                        + start + " of partition " + partition);
            }
            long logEnd = endIfPast(offset, end, tp, left(deadline));
            if (logEnd >= 0) {
                throw pastTheLogEnd(tp, offset, logEnd);
            }
            consumer.seek(tp, offset);
            PartitionStream stream = new PartitionStream(consumer, tp, offset, lease, metrics, nanoClock);
            made = true;
            return stream;
        } catch (RestException e) {
            throw e;
        } catch (RuntimeException e) {
            throw KafkaErrors.toRestException(e);
        } finally {
            if (!made) {
                // Also when the consumer could not be made: its room goes back.
                if (consumer != null) {
                    closeQuietly(consumer);
                }
                lease.close();
            }
        }
    }

    /** Whether the last fetch found the consumer at the log end (nothing more to read now). */
    private static boolean atLogEnd(Consumer<byte[], byte[]> consumer, TopicPartition tp) {
        OptionalLong lag = consumer.currentLag(tp);
        return lag.isPresent() && lag.getAsLong() <= 0;
    }

    /**
     * The error for an offset the log does not hold (a fetch was refused), saying which end it is
     * beyond: the log's start asked of the consumer, its end of {@link #logEnds} when set (the
     * high watermark, never below the consumer's end), else of the consumer.
     */
    private RestException outOfRange(Consumer<byte[], byte[]> consumer, TopicPartition tp, long offset, long deadline) {
        long start = consumer.beginningOffsets(List.of(tp), left(deadline)).get(tp);
        if (offset < start) {
            return ErrorCode.OFFSET_OUT_OF_RANGE.exception("offset " + offset + " is below the log start offset "
                    + start + " of partition " + tp.partition());
        }
        LogEnds ends = logEnds;
        long end = -1;
        if (ends != null) {
            try {
                end = ends.end(tp, left(deadline));
            } catch (RuntimeException e) {
                // the consumer's end, then
            }
        }
        return pastTheLogEnd(tp, offset, end >= 0 ? end : consumer.endOffsets(List.of(tp), left(deadline)).get(tp));
    }

    private static RestException pastTheLogEnd(TopicPartition tp, long offset, long end) {
        return ErrorCode.OFFSET_OUT_OF_RANGE.exception("offset " + offset + " is past the log end offset " + end
                + " of partition " + tp.partition());
    }

    /** What is left before {@code deadline} (at least a millisecond, so a late call fails fast, not never). */
    private static Duration left(long deadline) {
        return Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1), deadline - System.nanoTime()));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /**
     * A free reader for a read of {@code tp} at {@code offset}. The one that stopped there, if
     * any; a seeker that stopped there hands the walk to a new walker while the pool has room
     * (else to the least recently used idle walker, else it goes on itself). Otherwise an idle
     * seeker (one at {@code tp} first, else the most recently used), else a new seeker while the
     * pool has room, else the least recently used idle reader. An idle reader is taken over only
     * when the pool is full: one idle between two reads of its client's walk is not taken from it.
     * No pooled reader is closed to make another, and a reader is made only if the consumers
     * budget has room (at once, when an idle one can serve instead).
     */
    private Reader borrow(TopicPartition tp, long offset) {
        // One wait in all, for a permit, a reader and the budget's room: simpleconsumer.pool.timeout.ms.
        long deadline = System.nanoTime() + poolTimeout.toNanos();
        boolean got;
        try {
            got = !closed && permits.tryAcquire(poolTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            got = false;
        }
        if (!got) {
            throw ErrorCode.NO_SIMPLE_CONSUMER_AVAILABLE.exception();
        }
        boolean walker;
        boolean anyIdle;
        Reader fallback; // taken from the idle ones, to serve the read if no reader can be made
        synchronized (idle) {
            // A full pool with no idle reader although this read holds a permit: a read that is
            // making a walker holds its seeker too, and gives it back in a moment.
            while (open >= poolSize && idle.isEmpty() && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    permits.release();
                    throw ErrorCode.NO_SIMPLE_CONSUMER_AVAILABLE.exception();
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(idle, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    permits.release();
                    throw ErrorCode.NO_SIMPLE_CONSUMER_AVAILABLE.exception();
                }
            }
            if (closed) {
                permits.release();
                throw ErrorCode.NO_SIMPLE_CONSUMER_AVAILABLE.exception();
            }
            Reader continuing = null;
            Reader seeker = null;
            for (Reader r : idle) { // least recently used first
                if (tp.equals(r.assigned) && r.next == offset) {
                    continuing = r;
                    break;
                }
                if (!r.walker && (seeker == null || !tp.equals(seeker.assigned) || tp.equals(r.assigned))) {
                    seeker = r; // at tp first, else the most recently used
                }
            }
            boolean room = open < poolSize;
            Reader best = null;
            if (continuing != null && continuing.walker) {
                best = continuing;
            } else if (continuing != null && !room) {
                // A walk in a full pool: the least recently used idle walker takes it over, else the seeker goes on.
                for (Reader r : idle) {
                    if (r.walker) {
                        best = r;
                        break;
                    }
                }
                if (best != null) {
                    continuing.dropFetched(); // the walker fetches its records again
                } else {
                    best = continuing;
                }
            } else if (continuing == null && (seeker != null || !room)) {
                best = seeker != null ? seeker : idle.peekFirst();
            }
            if (best != null) {
                idle.remove(best);
                return best;
            }
            walker = continuing != null;
            fallback = continuing; // a walk: its seeker, which goes on if no walker can be made
            if (fallback != null) {
                idle.remove(fallback);
            }
            anyIdle = !idle.isEmpty();
            open++; // the reader made below
        }
        Map<String, Object> kind = walker ? config : seekerConfig;
        MemoryBudget.Lease lease = memory.lease();
        Reader made = null;
        RuntimeException failure = null;
        // Wait for the budget only when no pooled reader could serve the read instead; and then
        // take only what is free: asking the budget's holders to let go (consumer instances'
        // records read ahead, this pool's idle readers, other clients' both) would cost them
        // more than the idle reader serving this read costs it.
        Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
        long cost = HeldRecords.consumerCost(kind);
        boolean room = fallback != null || anyIdle ? lease.tryTake(cost) : lease.take(cost, left);
        if (!room && fallback == null && anyIdle) {
            // The idle reader that could serve this read went to another read meanwhile: take
            // another idle one, else wait for the budget as a read with none idle does, then look
            // for an idle one again (below), rather than 503 at once.
            synchronized (idle) {
                fallback = idle.pollFirst();
            }
            if (fallback == null) {
                room = lease.take(cost, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            }
        }
        if (room) {
            try {
                made = new Reader(factory.apply(kind), lease, walker);
            } catch (RuntimeException e) {
                lease.close();
                failure = e;
            }
        }
        if (made == null) {
            synchronized (idle) {
                open--;
                idle.notifyAll();
                if (fallback == null) {
                    fallback = idle.pollFirst(); // the least recently used serves the read
                }
            }
            if (fallback != null) {
                return fallback;
            }
            permits.release();
            throw failure != null ? KafkaErrors.toRestException(failure)
                    : ErrorCode.SERVICE_UNAVAILABLE.exception("Kafka consumers fill the memory set aside for them ("
                            + memory.name() + "); retry later");
        }
        if (fallback != null) {
            fallback.dropFetched(); // the walker goes on from where the seeker stopped
            boolean kept = false;
            synchronized (idle) {
                if (!closed) {
                    idle.addLast(fallback);
                    idle.notifyAll();
                    kept = true;
                }
            }
            if (!kept) {
                discard(fallback);
            }
        }
        return made;
    }

    /** Closes a reader that is no longer pooled. */
    private void discard(Reader reader) {
        synchronized (idle) {
            open--;
            idle.notifyAll();
        }
        close(reader);
    }

    private void giveBack(Reader reader, boolean healthy) {
        try {
            if (healthy && memory.over()) {
                reader.dropFetched(); // records fetched ahead are a cache: memory is needed elsewhere
            }
            boolean kept = false;
            reader.idleSince = nanoClock.getAsLong();
            synchronized (idle) {
                if (healthy && !closed) {
                    idle.addLast(reader);
                    kept = true;
                } else {
                    open--;
                }
                idle.notifyAll();
            }
            if (!kept) {
                closeSoon(reader);
            }
        } finally {
            permits.release();
        }
    }

    /** Closes {@code reader} on the closer (its memory is counted until it is closed). */
    private void closeSoon(Reader reader) {
        try {
            closer.execute(() -> close(reader));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            close(reader);
        }
    }

    private static void close(Reader reader) {
        reader.lease.close();
        closeQuietly(reader.consumer);
    }

    private static void closeQuietly(Consumer<byte[], byte[]> consumer) {
        try {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        } catch (RuntimeException e) {
            LOG.warn("Closing a reader consumer failed: {}", e.toString());
        }
    }

    /**
     * Idle readers let go of the records they fetched ahead, until {@code needed} more bytes fit;
     * if that is not enough, idle readers themselves are closed, least recently used first (a
     * pooled reader is a cache too: a stream or another read needs the memory more).
     */
    private void reclaim(long needed) {
        List<Reader> closing = new ArrayList<>();
        synchronized (idle) {
            for (Reader r : idle) {
                if (memory.hasRoomFor(needed)) {
                    return;
                }
                r.dropFetched();
            }
            while (!memory.hasRoomFor(needed) && !idle.isEmpty()) {
                Reader r = idle.pollFirst();
                open--;
                r.lease.close(); // its cost is free at once; the consumer is closed below, outside the lock
                closing.add(r);
            }
        }
        closing.forEach(r -> closeQuietly(r.consumer));
    }

    /** Pooled consumers not in use now. */
    public int idleCount() {
        synchronized (idle) {
            return idle.size();
        }
    }

    @Override
    public void close() {
        List<Reader> all;
        synchronized (idle) {
            closed = true;
            idle.notifyAll(); // reads waiting for a reader give up
            all = new ArrayList<>(idle);
            open -= idle.size();
            idle.clear();
        }
        all.forEach(OffsetReader::close);
        closer.shutdown(); // closes already handed to it still run
    }
}
