package io.portico.sessions;

import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.BoundedMatch;
import io.portico.protocol.CommittedOffset;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RecordHeader;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer-group instance: a session that every dialect drives. It owns a {@link Consumer},
 * what it is subscribed or assigned to, the records it fetched and has not returned yet
 * ({@link HeldRecords}), and the last offset returned per partition (what a commit of
 * "everything returned" commits).
 *
 * <ul>
 * <li>v2 drives it directly: {@link #subscribe} to topics or a pattern, {@link #assign}
 *     partitions, seek ({@link #seek}, {@link #seekToBeginning}, {@link #seekToEnd},
 *     {@link #seekToTimestamps}), {@link #poll}, {@link #commitReturned} or {@link #commit}
 *     explicit offsets, {@link #committed}.</li>
 * <li>v1's subscribe-on-first-read is a thin adapter: {@link #read} subscribes to the topic it is
 *     first asked for, then polls.</li>
 * </ul>
 *
 * <p>Threading: every operation takes the instance's fair lock, so concurrent requests on one
 * instance run one after the other and the consumer is never touched by two threads. A long poll
 * waits in slices and, between slices, lets an operation that is waiting (a commit, a seek) go
 * first, so a long poll never starves a commit. Operations block (poll, commit): call them from a
 * worker pool. {@link #readAsync} and {@link #pollAsync} hold a pool thread for one slice at a
 * time only, so that idle long polls do not keep reads with records waiting. One exception to
 * the lock: while a fetch ahead holds it (after a read, see {@link #fetchAhead}), a read takes
 * what it fetched under a second lock of the held records only, and the consumer fetches the next
 * meanwhile. {@link #close} may be called from any thread: it wakes a blocked poll, waits for the
 * lock and closes the consumer (leaving the group); later operations answer 40403.
 *
 * <p>Errors are {@link RestException}s: 40903 when subscription and assignment are mixed (and
 * for a seek of a partition not assigned), 40901 when a v1 read names another topic than the
 * instance reads, 40401 for a topic that does not exist, 40403 once closed.
 */
public final class ConsumerInstance {
    private static final Logger LOG = LoggerFactory.getLogger(ConsumerInstance.class);
    private static final Duration POLL_SLICE = Duration.ofMillis(100);
    private static final int MAX_DRAIN_POLLS = 8;
    /**
     * The longest a fetch ahead of the next read waits for the records Kafka says are there
     * (it returns as soon as they came): a commit arriving meanwhile waits as long. Also how long
     * it waits for a read to take what it fetched before it lets go of the instance.
     */
    private static final Duration READ_AHEAD_WAIT = Duration.ofMillis(20);
    /**
     * How often a fetch ahead waiting for a read looks at its pool's queue (an operation waiting
     * for the instance, or its close, wakes it at once).
     */
    private static final long POOL_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    /** How often a pattern subscription looks for new topics that match. */
    private static final long PATTERN_REFRESH_NANOS = TimeUnit.SECONDS.toNanos(1);

    private enum Mode { NONE, TOPICS, PATTERN, ASSIGNED }

    private final String group;
    private final String name;
    private final EmbeddedFormat format;
    private final boolean autoCommit;
    private final String owner;
    private final Options options;
    private final Consumer<byte[], byte[]> consumer;
    private final SessionMetrics metrics;
    /** The consumer's fixed cost and the records it holds, against the consumers budget. */
    private final MemoryBudget.Lease memory;
    /** The clock of read deadlines and pattern refreshes (nanoseconds). */
    private final Ticker clock;
    private final ReentrantLock lock = new ReentrantLock(true);

    // Guarded by lock.
    private Mode mode = Mode.NONE;
    /** The topics the client named: a subscription's, an assignment's (none for a pattern); read without the lock. */
    private volatile Set<String> namedTopics = Set.of();
    private Set<String> topics = Set.of(); // subscribed topics (a pattern's current matches too)
    private Pattern pattern;
    private Map<String, Boolean> patternResults = new HashMap<>(); // topic name → whether the pattern matches it
    private Predicate<String> patternAllowed = t -> true;
    private long patternCheckedAt;
    private boolean assigned; // partitions arrived since the last subscription
    private boolean awaitedAssignment; // a read waited for the first assignment
    private final HeldRecords held;
    private final Map<TopicPartition, Long> returned = new HashMap<>();
    /**
     * With auto-commit, of each partition the reads since the client last asked again returned
     * records of, what had been returned before them (null: nothing); the client has a read's
     * records only once the answer reached it, which the instance learns by its next request
     * ({@link #confirmed}). Kafka's own
     * auto-commit commits what a poll returned at the next poll, once the application has had
     * it; so auto-commit commits what the client {@linkplain #confirmedOf confirmed}, and an
     * explicit commit or a delete everything returned. Guarded as {@link #returned}.
     */
    private final Map<TopicPartition, Long> unconfirmed = new HashMap<>();
    /**
     * What reads returned of the partitions the rebalance under way revoked, and the client has
     * not confirmed ({@link #unconfirmed}), kept until the rebalance assigns: a partition given
     * straight back (the eager protocol revokes them all) goes on after what the client was
     * handed, not from the commit before it, which would hand it the same records again; one
     * that went to another member is forgotten. Guarded by {@link #heldLock}.
     */
    private final Map<TopicPartition, Handed> handedOnRevocation = new HashMap<>();

    /**
     * Set when the rebalance under way revoked partitions records had been returned of (or a
     * position sought), cleared when it assigns again (or they are lost, or the instance leaves
     * the group): meanwhile a commit of what was returned finds nothing of them (the eager
     * protocol revokes every partition, and the join ends only once every member polls again),
     * so one that would commit nothing answers 50003, as Kafka answers an explicit commit in that
     * window, rather than a success that committed nothing (see {@link #commitReturned}).
     * Set and read by the consumer's owner, under the lock (the callbacks also under {@link #heldLock}).
     */
    private boolean revokedReturned;

    /** Of one partition: what was returned before the reads not confirmed yet ({@code before}, null: nothing), and the last they returned. */
    private record Handed(Long before, long last) {
    }

    /**
     * The group member this instance was when {@link #handedOnRevocation} was noted: a partition
     * comes back straight only to the same member (a member dropped from the group meanwhile
     * joins again under a new id, after another may have read it). Guarded as the map.
     */
    private String handedBy;

    /** This consumer's member id in its group now (null when it cannot say). */
    private String memberId() {
        try {
            return consumer.groupMetadata().memberId();
        } catch (RuntimeException e) {
            return null;
        }
    }
    private final DeliveryLog delivered = new DeliveryLog();
    /** What the stream that handed it out has not written yet (a commit stops before it). */
    private final Unwritten unwritten = new Unwritten();
    /**
     * Where a resume (or a stream's end) moves partitions a rebalance under way has revoked: set
     * when the rebalance gives them back (the eager protocol revokes every partition, and a
     * client may reconnect before it assigns them again).
     */
    private final Map<TopicPartition, Long> rewindOnReturn = new HashMap<>();
    /** The stream {@link #unwritten} is of, or null. */
    private Stream unwrittenOf;
    /**
     * Set when a stream ended (its client left; a takeover moves back at once): the next operation on
     * the instance, under its lock, moves each partition back to the first record the stream
     * did not write (the stream's close may run on an IO thread, which must not wait for the
     * lock). Only a hint: which stream ended is read from the state under the lock, so a stale
     * close that sets it late moves nothing back that should stay.
     */
    private volatile boolean streamEnded;
    private volatile boolean closed;
    private volatile boolean leaving; // the close has committed and is closing the consumer
    /** Renders records of a schema format (decoded by their schema ids); null for binary and json. */
    private volatile java.util.function.Function<ConsumedRecord, ConsumedRecord> decoder;
    /**
     * Guards {@link #held}, {@link #returned} and {@link #delivered} while a {@linkplain #fetchAhead
     * fetch ahead} holds the instance, so that a read can take what that fetch brought without the
     * instance's lock (see {@link #takeFetchedAhead}). Taken after {@link #lock}, never before it;
     * an operation holding {@link #lock} while no fetch ahead runs needs it only in the rebalance
     * callbacks.
     */
    private final ReentrantLock heldLock = new ReentrantLock();
    /** Signalled (under {@link #heldLock}) when a fetch ahead holds more records, or ends. */
    private final Condition fetchedAhead = heldLock.newCondition();
    /** Signalled (under {@link #heldLock}) when a read took what a fetch ahead held. */
    private final Condition takenAhead = heldLock.newCondition();
    /** Whether a fetch ahead holds the instance (guarded by {@link #heldLock}). */
    private boolean fetchingAhead;
    /** Operations about to wait for {@link #lock} (a fetch ahead that sees one lets go of the instance). */
    private final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
    /** Counts fetches ahead, so that a read that waited knows it is still the one it looked at (guarded by {@link #heldLock}). */
    private long aheadRuns;
    /**
     * How long a fetch ahead waits for a read to take what it fetched ({@link #READ_AHEAD_WAIT};
     * tests lengthen it so that their reads come in time however slow the machine).
     */
    private volatile long takeWaitNanos = READ_AHEAD_WAIT.toNanos();
    /** A read while fetching ahead confirmed records and auto-commit is on: the fetch ahead commits them (guarded by {@link #heldLock}). */
    private boolean commitDue;
    /** The stream this instance serves its records to, or null (set under the lock, cleared by any thread). */
    private final java.util.concurrent.atomic.AtomicReference<Stream> stream =
            new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * What an instance was created with beyond its format: per-instance read settings (v2).
     *
     * @param fetchMinBytes a read returns once this many key and value bytes are there; -1 or less:
     *        as soon as any record is
     * @param requestTimeout how long a read waits for records, or null for the server's default
     */
    public record Options(int fetchMinBytes, Duration requestTimeout) {
        public static final Options DEFAULTS = new Options(-1, null);
    }

    ConsumerInstance(String group, String name, EmbeddedFormat format, boolean autoCommit, String owner,
                     Consumer<byte[], byte[]> consumer, SessionMetrics metrics) {
        this(group, name, format, autoCommit, owner, Options.DEFAULTS, consumer, metrics,
                MemoryBudget.unbounded("memory.consumers.max.bytes").lease(), Ticker.systemTicker());
    }

    ConsumerInstance(String group, String name, EmbeddedFormat format, boolean autoCommit, String owner,
                     Options options, Consumer<byte[], byte[]> consumer, SessionMetrics metrics,
                     MemoryBudget.Lease memory, Ticker clock) {
        this.clock = clock;
        this.group = group;
        this.name = name;
        this.format = format;
        this.autoCommit = autoCommit;
        this.owner = owner;
        this.options = options;
        this.consumer = consumer;
        this.metrics = metrics;
        this.memory = memory;
        this.held = new HeldRecords(memory);
    }

    public String group() {
        return group;
    }

    /**
     * Sets how a schema format's records are rendered before they are returned (set once, before
     * the first read): a record it cannot render stops a read as a record that is not JSON stops a
     * json-format read (see {@link #take}).
     */
    void decoder(java.util.function.Function<ConsumedRecord, ConsumedRecord> decoder) {
        this.decoder = decoder;
    }

    public String name() {
        return name;
    }

    public EmbeddedFormat format() {
        return format;
    }

    /** Who created the instance (an API key's name), or null when authentication is off. */
    public String owner() {
        return owner;
    }

    /** The per-instance read settings it was created with. */
    public Options options() {
        return options;
    }

    /**
     * What a read needs: its time bounds, the byte cap (the smaller of the client's and the
     * server's), the client's own {@code max_bytes} (0 when none; strict: a record larger than it
     * is not returned) — a record larger than the server's cap alone comes by itself, so a consumer
     * is never stuck behind it — and {@code fetch.min.bytes}.
     */
    public record ReadLimits(Duration requestTimeout, Duration assignmentTimeout, long maxBytes, long clientMaxBytes,
                             int fetchMinBytes) {
        /** The server's cap only, answering as soon as records are there. */
        public ReadLimits(Duration requestTimeout, Duration assignmentTimeout, long maxBytes) {
            this(requestTimeout, assignmentTimeout, maxBytes, 0, -1);
        }
    }

    // ---- v1: subscribe on the first read -------------------------------------------------------

    /** As {@link #read(String, ReadLimits, Predicate, ResponseRoom)} without a responses budget. */
    public List<ConsumedRecord> read(String topic, ReadLimits limits, Predicate<String> topicExists) {
        return read(topic, limits, topicExists, ResponseRoom.unbounded());
    }

    /**
     * v1's read of {@code topic}: the first read subscribes the instance to it (if it exists),
     * later ones must name the same topic; then as {@link #poll}.
     *
     * @throws RestException 40901 when the instance reads another topic, 40401 when the topic does
     *         not exist, 40403 when the instance was closed meanwhile
     */
    public List<ConsumedRecord> read(String topic, ReadLimits limits, Predicate<String> topicExists, ResponseRoom room) {
        return locked(KafkaErrors::toRestException, () -> {
            notStreaming();
            subscribeOnFirstRead(topic, topicExists);
            delivered.clear();
            askedAgain();
            return pollLocked(new Read(limits, room, null, topic));
        });
    }

    /** v1: the first read subscribes to its topic (if it exists); later ones must name the same. */
    private void subscribeOnFirstRead(String topic, Predicate<String> topicExists) {
        if (mode != Mode.NONE && readsOnly(topic)) {
            return;
        }
        // Also before a 409 for another topic, as Confluent's proxy checks it before the
        // subscription: a 409 would have its client look for the fault in the instance, not in
        // the topic's name.
        KafkaNames.topic(topic);
        if (!topicExists.test(topic)) {
            throw ErrorCode.TOPIC_NOT_FOUND.exception();
        }
        if (mode != Mode.NONE) {
            throw ErrorCode.CONSUMER_ALREADY_SUBSCRIBED.exception();
        }
        subscribeTopics(List.of(topic));
    }

    /** v1: whether the instance is subscribed to {@code topic} alone (what its later reads must name). */
    private boolean readsOnly(String topic) {
        return mode == Mode.TOPICS && topics.size() == 1 && topics.contains(topic);
    }

    // ---- v2: subscription and assignment -------------------------------------------------------

    /**
     * Subscribes to {@code topics}, replacing the subscription (a group rebalance follows).
     *
     * @throws RestException 40903 when the instance has partitions assigned
     */
    public void subscribe(List<String> topicNames) {
        locked(KafkaErrors::toRestException, () -> {
            askedAgain();
            for (String t : topicNames) {
                KafkaNames.topic(t);
            }
            if (mode == Mode.ASSIGNED) {
                throw mixed();
            }
            subscribeTopics(topicNames);
            return null;
        });
    }

    /**
     * Subscribes to the topics matching {@code regex} that {@code allowed} lets through (internal
     * topics never match), now and as topics are created: the matches are looked up again about
     * once a second while the instance reads.
     *
     * @throws RestException 422 for a pattern that does not compile, 40903 when partitions are assigned
     */
    public void subscribe(String regex, Predicate<String> allowed) {
        Pattern compiled;
        try {
            compiled = Pattern.compile(regex);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("topic_pattern is not a valid regular expression: "
                    + KafkaNames.excerpt(e.getDescription()));
        }
        if (!io.portico.protocol.RegexChoices.bounded(regex)) {
            // Choices that read nothing are not bounded by the characters a match may read.
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("topic_pattern has too many choices that match empty "
                    + "(empty alternatives, optional parts that may be empty) to be matched in bounded time; simplify it");
        }
        locked(KafkaErrors::toRestException, () -> {
            askedAgain();
            if (mode == Mode.ASSIGNED) {
                throw mixed();
            }
            Map<String, Boolean> results = new HashMap<>();
            Set<String> matches = matching(compiled, allowed, topicLister == null ? List.of() : topicLister.get(), results);
            if (matches == null) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("topic_pattern takes too long to match the cluster's "
                        + "topic names (more than " + PATTERN_PASS_STEPS + " characters read); simplify it");
            }
            pattern = compiled;
            patternAllowed = allowed;
            patternResults = results;
            mode = Mode.PATTERN;
            namedTopics = Set.of();
            beforeSubscriptionChange();
            subscribeMatches(matches, true);
            afterSubscriptionChange();
            return null;
        });
    }

    /** Re-resolves a pattern subscription against the cluster's topics, at most once a second. */
    private Supplier<Collection<String>> topicLister;

    /** Sets where a pattern subscription learns of the cluster's topics (the registry's shared, cached list). */
    void topicLister(Supplier<Collection<String>> lister) {
        this.topicLister = lister;
    }

    /** Asks Kafka afresh how many partitions a topic has (0: no such topic; -1: it cannot say now); null: not asked. */
    private volatile java.util.function.ToIntFunction<String> partitionCounter;

    /** Sets where {@link #checkExists} asks afresh when the consumer's metadata says a partition is missing. */
    void partitionCounter(java.util.function.ToIntFunction<String> counter) {
        this.partitionCounter = counter;
    }

    /**
     * Subscribes the consumer to the topics matching the pattern, when they changed; a pass that
     * runs out of its work leaves the subscription as it is (the next goes on from what it matched).
     */
    private void matchPattern(Collection<String> all) {
        patternCheckedAt = clock.read();
        Set<String> matches = matching(pattern, patternAllowed, all, patternResults);
        if (matches != null) {
            subscribeMatches(matches, false);
        }
    }

    /**
     * The topics of {@code all} that {@code pattern} matches and {@code allowed} lets through,
     * never internal ones; or null when matching the names not in {@code results} yet would read
     * more than {@link #PATTERN_PASS_STEPS} characters. A name's result never changes, so each is
     * kept in {@code results} and matched once (a name that ran out of its own share of work does
     * not match); only the caller's permission is asked again.
     */
    private static Set<String> matching(Pattern pattern, Predicate<String> allowed, Collection<String> all,
                                        Map<String, Boolean> results) {
        if (results.size() > 2 * all.size() + 1024) {
            results.keySet().retainAll(new HashSet<>(all)); // deleted topics
        }
        Set<String> matches = new TreeSet<>();
        long passLeft = PATTERN_PASS_STEPS;
        for (String t : all) {
            if (KafkaNames.isInternal(t)) {
                continue;
            }
            Boolean matched = results.get(t);
            if (matched == null) {
                if (passLeft <= 0) {
                    return null;
                }
                long share = Math.min(PATTERN_STEPS, passLeft);
                BoundedMatch.Budget budget = new BoundedMatch.Budget(share);
                try {
                    matched = BoundedMatch.matches(pattern, t, budget);
                } catch (BoundedMatch.TooMuchWork e) {
                    matched = false;
                }
                long used = share - Math.max(0, budget.left());
                passLeft -= used;
                if (budget.left() < 0 && share < PATTERN_STEPS) {
                    return null; // stopped by what was left of the pass, not by its own share
                }
                if (used > PATTERN_CHEAP_STEPS) {
                    results.put(t, matched); // kept: matching it again would cost as much
                }
            }
            if (matched && allowed.test(t)) {
                matches.add(t);
            }
        }
        return matches;
    }

    /** Subscribes the consumer to {@code matches}; {@code force}: even when they did not change. */
    private void subscribeMatches(Set<String> matches, boolean force) {
        patternCheckedAt = clock.read();
        if (force || !matches.equals(topics)) {
            topics = Set.copyOf(matches);
            if (matches.isEmpty()) {
                consumer.unsubscribe();
                handedOnRevocation.clear(); // left the group: what it gives later is not given straight back
                revokedReturned = false;
            } else {
                consumer.subscribe(matches, new Rebalance());
            }
        }
    }

    /** Client regular expressions get a bounded amount of work per topic name: no catastrophic backtracking. */
    private static final int PATTERN_STEPS = 100_000;
    /** And per pass over the cluster's topic names (only names not matched before are matched). */
    static final long PATTERN_PASS_STEPS = 10_000_000;
    /**
     * A name whose match read no more than this is matched again at each pass rather than kept:
     * the results kept are those of costly names only, so that an instance on a cluster of many
     * topics does not keep an entry for each.
     */
    private static final long PATTERN_CHEAP_STEPS = 1_000;

    private void refreshPattern() {
        if (mode == Mode.PATTERN && topicLister != null && clock.read() - patternCheckedAt > PATTERN_REFRESH_NANOS) {
            try {
                matchPattern(topicLister.get());
            } catch (RuntimeException e) {
                LOG.debug("Looking up the topics matching {}/{}'s pattern failed: {}", group, name, e.toString());
            }
        }
    }

    private void subscribeTopics(List<String> topicNames) {
        mode = Mode.TOPICS;
        namedTopics = Set.copyOf(topicNames);
        pattern = null;
        patternResults = new HashMap<>();
        topics = Set.copyOf(new LinkedHashSet<>(topicNames));
        beforeSubscriptionChange();
        consumer.subscribe(topics, new Rebalance());
        afterSubscriptionChange();
    }

    /**
     * A subscription changes: what is held goes back to Kafka (each partition seeks back to its
     * first held record), as a partition may stay this instance's without a rebalance; what was
     * returned stays, for partitions still owned (the rebalance listener drops the others).
     */
    private void beforeSubscriptionChange() {
        letGoOfHeld();
        delivered.forgetAll();
    }

    /** The next read waits for an assignment only when the instance has no partitions yet. */
    private void afterSubscriptionChange() {
        awaitedAssignment = false;
        assigned = !consumer.assignment().isEmpty();
    }

    /**
     * The topics the client named for this instance to read, by subscription or assignment (a
     * pattern's matches aside: its own check decides those): a read checks its caller may still
     * read them all. Does not wait for the instance.
     */
    public Set<String> namedTopics() {
        return namedTopics;
    }

    /** The topics subscribed to (a pattern's current matches), sorted; empty when assigned or unsubscribed. */
    public List<String> subscription() {
        return locked(KafkaErrors::toRestException, () -> mode == Mode.TOPICS || mode == Mode.PATTERN
                ? List.copyOf(new TreeSet<>(topics)) : List.of());
    }

    /** Drops the subscription or assignment (the instance leaves its partitions; nothing held is kept). */
    public void unsubscribe() {
        locked(KafkaErrors::toRestException, () -> {
            confirmed(); // committed just below, with what it keeps of nothing
            if (mode != Mode.NONE) {
                commitOnRevocation(consumer.assignment());
                consumer.unsubscribe(); // an assignment too, as KafkaConsumer.unsubscribe does
                mode = Mode.NONE;
                namedTopics = Set.of();
                topics = Set.of();
                pattern = null;
                patternResults = new HashMap<>();
                resetPositions();
            }
            return null;
        });
    }

    /**
     * Reads {@code partitions} without a group assignment, replacing earlier ones (an empty list
     * unassigns).
     *
     * @throws RestException 40903 when the instance is subscribed
     */
    public void assign(Collection<TopicPartition> partitions) {
        locked(KafkaErrors::toRestException, () -> {
            askedAgain();
            for (TopicPartition tp : partitions) {
                KafkaNames.topic(tp.topic());
            }
            if (mode == Mode.TOPICS || mode == Mode.PATTERN) {
                throw mixed();
            }
            Set<TopicPartition> dropped = new HashSet<>(consumer.assignment());
            dropped.removeAll(partitions);
            // With auto-commit, what was returned of the partitions let go of is committed first,
            // without waiting for it, as Kafka's consumer does before it changes an assignment.
            commitReturnedAsync(dropped);
            held.drop(dropped);
            delivered.forgetAll();
            notReturned(dropped);
            if (partitions.isEmpty()) {
                consumer.unsubscribe(); // as KafkaConsumer.assign does with no partitions
            } else {
                consumer.assign(List.copyOf(new LinkedHashSet<>(partitions)));
            }
            mode = partitions.isEmpty() ? Mode.NONE : Mode.ASSIGNED;
            Set<String> topics = new HashSet<>();
            partitions.forEach(tp -> topics.add(tp.topic()));
            namedTopics = Set.copyOf(topics);
            assigned = !partitions.isEmpty();
            awaitedAssignment = true;
            return null;
        });
    }

    /** The partitions the instance reads now (assigned, or given it by its group), sorted. */
    public List<TopicPartition> assignment() {
        return locked(KafkaErrors::toRestException, () -> sorted(consumer.assignment()));
    }

    private static RestException mixed() {
        return ErrorCode.ILLEGAL_STATE.exception(
                "Subscription to topics, partitions and pattern are mutually exclusive");
    }

    private void resetPositions() {
        held.clear();
        delivered.forgetAll();
        returned.clear();
        unconfirmed.clear();
        handedOnRevocation.clear();
        revokedReturned = false;
        unwritten.clear();
        rewindOnReturn.clear();
        assigned = false;
        awaitedAssignment = false;
    }

    // ---- v2: positions -----------------------------------------------------------------------

    /**
     * Makes the next read of each partition start at its offset. What was held of it is let go.
     *
     * @throws RestException 40903 when a partition is not the instance's now
     */
    public void seek(Map<TopicPartition, Long> offsets) {
        locked(KafkaErrors::toRestException, () -> {
            checkAssigned(offsets.keySet()); // asks Kafka nothing: taken as Confluent's proxy takes it
            askedAgainMoving(offsets.keySet());
            held.drop(offsets.keySet());
            delivered.forget(offsets.keySet());
            offsets.forEach(consumer::seek);
            offsets.forEach(this::soughtTo);
            return null;
        });
    }

    /** Makes the next read of each partition start at its first offset. */
    public void seekToBeginning(Collection<TopicPartition> asked) {
        locked(KafkaErrors::toRestException, () -> {
            Collection<TopicPartition> partitions = everyAssignedIfNone(asked);
            checkOwned(partitions);
            askedAgainMoving(partitions);
            held.drop(partitions);
            delivered.forget(partitions);
            consumer.seekToBeginning(partitions);
            // resolved now, not at the next fetch
            partitions.forEach(tp -> soughtTo(tp, consumer.position(tp)));
            return null;
        });
    }

    /**
     * The partitions a seek to the beginning or end moves: those named, or, for none, every
     * partition assigned now (Kafka's {@code seekToBeginning}/{@code seekToEnd} of an empty list,
     * which Confluent's proxy passes on as it is).
     */
    private Collection<TopicPartition> everyAssignedIfNone(Collection<TopicPartition> asked) {
        return asked.isEmpty() ? Set.copyOf(consumer.assignment()) : asked;
    }

    /** Makes the next read of each partition start at its end (records written from now on). */
    public void seekToEnd(Collection<TopicPartition> asked) {
        locked(KafkaErrors::toRestException, () -> {
            Collection<TopicPartition> partitions = everyAssignedIfNone(asked);
            checkOwned(partitions);
            askedAgainMoving(partitions);
            held.drop(partitions);
            delivered.forget(partitions);
            consumer.seekToEnd(partitions);
            // Resolved now: "the end" is where the log ends at this call, not at the next fetch
            // (records written in between are read).
            partitions.forEach(tp -> soughtTo(tp, consumer.position(tp)));
            return null;
        });
    }

    /**
     * Makes the next read of each partition start at its first record with a timestamp at or after
     * the given one (milliseconds since the epoch), or at its end when there is none.
     */
    public void seekToTimestamps(Map<TopicPartition, Long> timestamps) {
        seek(Map.of(), timestamps);
    }

    /**
     * Seeks to offsets and to timestamps in one operation: every partition is checked first, so a
     * request either moves them all or none.
     */
    public void seek(Map<TopicPartition, Long> offsets, Map<TopicPartition, Long> timestamps) {
        locked(KafkaErrors::toRestException, () -> {
            checkAssigned(offsets.keySet()); // a seek to an offset asks Kafka nothing: taken as Confluent's proxy takes it
            checkOwned(timestamps.keySet());
            // Kafka is asked first: a look-up that fails (a timeout) moves nothing and lets go of
            // nothing held, so no record is skipped.
            Map<TopicPartition, OffsetAndTimestamp> found = timestamps.isEmpty() ? Map.of()
                    : consumer.offsetsForTimes(timestamps);
            Set<TopicPartition> moving = new HashSet<>(offsets.keySet());
            moving.addAll(timestamps.keySet());
            askedAgainMoving(moving); // once the seek is sure to move them
            delivered.forget(offsets.keySet());
            delivered.forget(timestamps.keySet());
            held.drop(offsets.keySet());
            offsets.forEach(consumer::seek);
            offsets.forEach(this::soughtTo);
            if (timestamps.isEmpty()) {
                return null;
            }
            held.drop(timestamps.keySet());
            List<TopicPartition> toEnd = new ArrayList<>();
            for (TopicPartition tp : timestamps.keySet()) {
                OffsetAndTimestamp at = found.get(tp);
                if (at == null) {
                    toEnd.add(tp);
                } else {
                    consumer.seek(tp, at.offset());
                    soughtTo(tp, at.offset());
                }
            }
            if (!toEnd.isEmpty()) {
                consumer.seekToEnd(toEnd);
                toEnd.forEach(tp -> soughtTo(tp, consumer.position(tp)));
            }
            return null;
        });
    }

    private void checkOwned(Collection<TopicPartition> partitions) {
        checkAssigned(partitions);
        checkExists(partitions);
    }

    /** 40903 for a partition the instance does not have now. */
    private void checkAssigned(Collection<TopicPartition> partitions) {
        Set<TopicPartition> owned = consumer.assignment();
        for (TopicPartition tp : partitions) {
            if (!owned.contains(tp)) {
                throw ErrorCode.ILLEGAL_STATE.exception("No current assignment for partition " + tp.partition()
                        + " of topic " + KafkaNames.excerpt(tp.topic()));
            }
        }
    }

    /**
     * 404 for a partition its topic does not have (40402) or a topic Kafka does not know (40401),
     * before a call that would wait {@code default.api.timeout.ms} for such a partition: a
     * position, a look-up by time, a commit. An assignment takes any partition, as Confluent's
     * proxy does; without this each such call held the instance and a consumer thread for those
     * seconds, and then answered a 503 that clients retry. The consumer's metadata (kept for what
     * it is assigned) answers first; a partition it does not know of (the topic may have grown
     * since) is asked of Kafka afresh, and one Kafka cannot say of is left to the call.
     */
    private void checkExists(Collection<TopicPartition> partitions) {
        Map<String, Integer> counts = new HashMap<>();
        for (TopicPartition tp : partitions) {
            RestException missing = missing(tp, counts);
            if (missing != null) {
                throw missing;
            }
        }
    }

    /**
     * As {@link #checkExists}, for one partition: the 404 it answers, or null when the partition
     * exists or Kafka cannot say now. {@code counts} keeps the partition counts of the topics
     * looked at (one look-up per topic however many of its partitions are checked).
     */
    private RestException missing(TopicPartition tp, Map<String, Integer> counts) {
        int count = counts.computeIfAbsent(tp.topic(), topic -> {
            List<org.apache.kafka.common.PartitionInfo> known = consumer.partitionsFor(topic);
            return known == null ? 0 : known.size();
        });
        java.util.function.ToIntFunction<String> fresh = partitionCounter;
        if ((tp.partition() >= count) && fresh != null) {
            count = fresh.applyAsInt(tp.topic());
            counts.put(tp.topic(), count);
            if (count < 0) {
                return null; // Kafka cannot say now: the call will
            }
        }
        if (count == 0) {
            return ErrorCode.TOPIC_NOT_FOUND.exception("Topic '" + KafkaNames.excerpt(tp.topic()) + "' not found");
        }
        if (tp.partition() < 0 || tp.partition() >= count) {
            return ErrorCode.PARTITION_NOT_FOUND.exception("Topic '" + KafkaNames.excerpt(tp.topic())
                    + "' has no partition " + tp.partition());
        }
        return null;
    }

    /**
     * Leaves out of {@code offsets} (a commit of what was returned: a commit without offsets, an
     * auto-commit, the commit of a close or a revocation) the partitions that do not exist, as
     * {@link #checkExists} finds them. An assignment takes any partition and a seek to an offset
     * asks Kafka nothing, so a position sought of a partition that does not exist counts as
     * returned; committed, it made Kafka wait {@code default.api.timeout.ms} and fail the whole
     * commit with a timeout (503), every time, though it had committed the other partitions, and
     * a close wait that long too. An explicit commit of such a partition is 404; one of what was
     * returned commits the partitions that exist. Cheap: the consumer's own metadata answers for
     * the topics it reads; only a partition it does not know of is asked of Kafka. A partition
     * Kafka cannot say of now (a timeout, an authorization failure) is left to the commit, which
     * reports it.
     */
    private Map<TopicPartition, OffsetAndMetadata> existingOf(Map<TopicPartition, OffsetAndMetadata> offsets) {
        if (offsets.isEmpty()) {
            return offsets;
        }
        Map<String, Integer> counts = new HashMap<>();
        offsets.keySet().removeIf(tp -> knownMissing(tp, counts));
        return offsets;
    }

    /** Whether {@code tp} surely does not exist ({@link #missing}); false when Kafka cannot say now. */
    private boolean knownMissing(TopicPartition tp, Map<String, Integer> counts) {
        for (int attempt = 0; ; attempt++) {
            try {
                return missing(tp, counts) != null;
            } catch (WakeupException e) {
                // A wakeup meant for a poll (a close waiting for the instance) met the look-up
                // instead: used up now, as the commits after it retry theirs; asked once more.
                if (attempt > 0) {
                    return false;
                }
            } catch (InterruptException e) {
                throw e;
            } catch (RuntimeException e) {
                return false;
            }
        }
    }

    // ---- reads --------------------------------------------------------------------------------

    /**
     * The next records of what the instance is subscribed or assigned to (v2's read). Returns as
     * soon as records are there (or, with {@code fetchMinBytes}, that many bytes), else after the
     * request timeout with none. The first read after a subscription also waits (up to the
     * assignment timeout) for the group to assign partitions, so that records already in the
     * topics come back at once. Records past the byte cap stay for the next read (see
     * {@link ReadLimits} for a record larger than the cap); records past what the responses
     * budget allows stay too.
     *
     * @throws RestException 40903 when the instance is neither subscribed nor assigned, 40403 when closed
     */
    public List<ConsumedRecord> poll(ReadLimits limits, ResponseRoom room) {
        return locked(KafkaErrors::toRestException, () -> {
            notStreaming();
            requireSubscribedOrAssigned();
            delivered.clear();
            askedAgain();
            return pollLocked(limits, room);
        });
    }

    private void requireSubscribedOrAssigned() {
        if (mode == Mode.NONE) {
            throw ErrorCode.ILLEGAL_STATE.exception("The consumer is neither subscribed to topics nor assigned partitions");
        }
    }

    /** A read while the instance streams would take records from its stream: 40903. */
    private void notStreaming() {
        if (stream.get() != null) {
            throw ErrorCode.ILLEGAL_STATE.exception("This consumer instance streams its records to a connection "
                    + "(Server-Sent Events); read them there, or end that stream first");
        }
    }

    // ---- streams (Server-Sent Events) ------------------------------------------------------------

    /**
     * Where a stream resumes: right after the record at {@code offset} of {@code partition}, the
     * last one its client received.
     */
    public record ResumeAfter(TopicPartition partition, long offset) {
    }

    /**
     * Starts serving this instance's records to one stream: the instance then belongs to it
     * (plain reads are 40903) until it is {@linkplain Stream#close closed}, and does not expire
     * meanwhile; commits and seeks go on as usual. A v1 stream ({@code v1Topic} not null)
     * subscribes as a first read does.
     *
     * <p>An instance streams to one connection at a time: while another stream is open, a new one
     * is 40903 — unless it resumes ({@code resume} not null, a client reconnecting with its
     * {@code Last-Event-ID} before Portico saw its old connection close), in which case the old
     * stream is {@linkplain Stream#isOpen ended} (its read in progress hands out nothing) and the
     * new one takes over. Resuming moves every partition back to right after what the client
     * received ({@link DeliveryLog}): records handed to a connection that broke are read again
     * (and, after an id older than the runs the log keeps one by one, some before them too: none
     * is skipped).
     *
     * @throws RestException 40903 another stream is open, or (v2) the instance is neither
     *         subscribed nor assigned; 40901 / 40401 as a v1 read; 40403 closed
     */
    public Stream openStream(String v1Topic, Predicate<String> topicExists, ResumeAfter resume) {
        return locked(KafkaErrors::toRestException, () -> {
            if (v1Topic != null) {
                subscribeOnFirstRead(v1Topic, topicExists);
            } else {
                requireSubscribedOrAssigned();
            }
            Stream current = stream.get();
            if (current != null) {
                if (resume == null) {
                    throw ErrorCode.ILLEGAL_STATE.exception("This consumer instance already streams to another "
                            + "connection (one at a time; a client resuming with Last-Event-ID takes it over)");
                }
                current.open = false;
            }
            // The last stream's records it did not write go back in line (its close may have come
            // just after the look at streamEnded in lock()); a resume below may go further back.
            moveBackFromLeftStream(resume == null);
            askedAgain(); // what reads returned before the stream, the client has
            Stream opened = new Stream(v1Topic);
            stream.set(opened);
            unwritten.clear();
            unwrittenOf = opened;
            if (resume != null) {
                Map<TopicPartition, Long> rewind = delivered.resumeAfter(resume.partition(), resume.offset());
                if (rewind != null) {
                    rewind(rewind);
                }
            }
            return opened;
        });
    }


    /**
     * Whether its name is this node's in the cluster's directory (at once when this node works
     * alone): until then this node does not hold it for the requests that reach it, which are
     * relayed to the node the directory names (a create another node's claim refuses must not
     * answer, meanwhile, the requests for that node's instance of the name).
     */
    private volatile boolean claimed;

    void claimed() {
        claimed = true;
    }

    boolean isClaimed() {
        return claimed;
    }

    /** Whether a stream is open on this instance (it does not expire then). */
    public boolean isStreaming() {
        return stream.get() != null;
    }

    /**
     * Starts each partition (of those the instance still has) at the given offset again; a commit
     * of what was returned then commits that offset, what the client received (below what an
     * earlier commit, or one on a revocation that gave the partition straight back, committed).
     */
    private void rewind(Map<TopicPartition, Long> next) {
        Set<TopicPartition> owned = consumer.assignment();
        Map<TopicPartition, Long> mine = new HashMap<>();
        next.forEach((tp, offset) -> {
            if (owned.contains(tp)) {
                mine.put(tp, offset);
            } else if (delivered.isRevoked(tp)) {
                rewindOnReturn.merge(tp, offset, Math::min); // applied if the rebalance gives it back
            }
        });
        held.drop(mine.keySet());
        unwritten.forget(mine.keySet());
        mine.forEach(this::startAt);
    }

    /**
     * One stream's hold on its instance: its reads (each handing out records, noted for a later
     * resume, which count as returned once the stream says they are {@linkplain #written written}),
     * and keeping the instance in its group while the connection is too slow to read more. Used by
     * one thread at a time (the stream's); {@link #written} and {@link #close} from any.
     */
    public final class Stream implements AutoCloseable {
        private volatile boolean open = true;
        /** The number of the last batch handed out (1, 2, …; 0: none); read by the stream's thread. */
        private long handedOut;
        /** The number of the last batch written to the connection (set by any thread). */
        private final java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        /** v1: the topic its URL names, which must stay the instance's only topic; null for v2. */
        private final String v1Topic;

        private Stream(String v1Topic) {
            this.v1Topic = v1Topic;
        }

        /** Whether it closed or another stream took over (a stream that ended is not open again). */
        private boolean ended() {
            return !open || stream.get() != this;
        }


        /** The instance it streams. */
        public ConsumerInstance instance() {
            return ConsumerInstance.this;
        }

        /** False once closed, or taken over by a stream that resumed. */
        public boolean isOpen() {
            return open && !closed;
        }

        /**
         * The next records, as {@link ConsumerInstance#poll} (v1's topic was subscribed when the
         * stream opened). Nothing once the stream is no longer open.
         *
         * @throws RestException as {@link ConsumerInstance#poll}; 40403 once the instance closed
         */
        public List<ConsumedRecord> next(ReadLimits limits, ResponseRoom room) {
            return locked(KafkaErrors::toRestException, () -> {
                if (ended()) {
                    return List.of();
                }
                settledByStream(); // what it wrote since its last call: returned, and auto-committed
                List<ConsumedRecord> out = pollLocked(limits, room, this);
                delivered.add(out);
                return out;
            }, true);
        }

        /** Notes a batch this stream hands out as not written yet (under the lock). */
        private void handOut(List<ConsumedRecord> out) {
            if (!out.isEmpty() && unwrittenOf == this) {
                unwritten.add(++handedOut, out);
            }
        }

        /**
         * The number of the batch the last {@link #next} handed out, to pass to {@link #written}
         * once it is written. Call from the thread that called {@code next}.
         */
        public long handedOut() {
            return handedOut;
        }

        /**
         * The batches up to number {@code batch} were written to the connection: a commit of what
         * was returned covers them now, and a client that leaves after them is not given them
         * again. Never blocks (an IO thread calls it).
         */
        public void written(long batch) {
            written.accumulateAndGet(batch, Math::max);
        }

        /**
         * Takes part in the group without fetching (partitions paused), so that an instance whose
         * stream waits for a slow client is not dropped from its group; never blocks for long.
         */
        public void keepInGroup() {
            locked(KafkaErrors::toRestException, () -> {
                if (!ended()) {
                    settledByStream();
                    answerGroup();
                }
                return null;
            }, true);
        }

        /**
         * Ends the stream's hold on the instance (idempotent, never blocks). What it handed out and
         * did not write goes back in line: the next operation on the instance moves each
         * partition back to the first such record (a resuming stream's takeover did so already).
         */
        @Override
        public void close() {
            open = false;
            if (stream.get() == this) {
                // Noted before the instance is free: an open that finds no stream finds this.
                streamEnded = true;
                stream.compareAndSet(this, null);
            }
        }
    }

    /**
     * {@code tp} reads on from {@code offset}, everything before it returned: a commit commits
     * what the client received (below what an earlier commit may have).
     */
    private void startAt(TopicPartition tp, long offset) {
        consumer.seek(tp, offset);
        if (offset > 0) {
            returned.put(tp, offset - 1);
        } else {
            returned.remove(tp);
        }
        unconfirmed.remove(tp);
    }

    /**
     * {@code tp} was sought to {@code offset}: a commit without offsets commits there, as
     * Confluent's proxy commits a consumer's position (a client resets its group by seeking to the
     * end, then committing); what a stream handed out of it and writes later does not count.
     */
    private void soughtTo(TopicPartition tp, long offset) {
        unwritten.forget(List.of(tp));
        returned.put(tp, offset - 1); // -1 for the first offset: a commit commits 0
        unconfirmed.remove(tp); // the client put it there
    }

    /** Nothing of {@code partitions} counts as returned, nor will what a stream handed out of them and writes later. */
    private void notReturned(Collection<TopicPartition> partitions) {
        partitions.forEach(returned::remove);
        partitions.forEach(unconfirmed::remove);
        unwritten.forget(partitions);
    }

    /** Notes {@code last} as returned of {@code tp} (records of a partition are handed out in order). */
    private void returnedUpTo(TopicPartition tp, long last) {
        returned.merge(tp, last, Math::max);
        unconfirmed.remove(tp); // written to a stream's connection: as a read's the client asked again after
    }

    /**
     * A stream's own call (under the lock): the batches it wrote since count as returned, and
     * with auto-commit are committed by this call, not only with its next batch (a stream that
     * goes quiet would leave its last one uncommitted), but at most once in
     * {@link #STREAM_COMMIT_NANOS}: a stream draining a backlog writes hundreds of batches a
     * second, and a commit of each was as many writes to the group's coordinator, a broker the
     * whole cluster shares (Kafka's own auto-commit commits every {@code auto.commit.interval.ms},
     * 5 s by default). What is due then goes with a later call, and when the stream ends.
     */
    private void settledByStream() {
        boolean moved = settleWritten() | returnedSinceCommit;
        returnedSinceCommit = false;
        if (moved && autoCommit) {
            streamCommitDue = true;
        }
        if (streamCommitDue) {
            long now = clock.read();
            // Due until a commit goes out: a partition revoked meanwhile has none to send yet.
            if ((!streamCommitted || now - streamCommittedAt >= STREAM_COMMIT_NANOS) && autoCommitReturned()) {
                streamCommitDue = false;
                streamCommitted = true;
                streamCommittedAt = now;
            }
        }
    }

    /** The least time between a stream's auto-commits ({@link #settledByStream}). */
    static final long STREAM_COMMIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Under the lock: a stream wrote what auto-commit has not committed yet. */
    private boolean streamCommitDue;
    /** Under the lock: when a stream's auto-commit was last sent ({@link #clock}), if {@link #streamCommitted}. */
    private long streamCommittedAt;
    private boolean streamCommitted;

    /**
     * What a stream wrote during a rebalance became returned as the rebalance gave its partition
     * back: the stream's next call auto-commits it, as it does newly written batches (a quiet
     * topic brings none). Guarded by the lock.
     */
    private boolean returnedSinceCommit;

    /**
     * The batches the stream of {@link #unwritten} has written by now count as returned: a commit
     * of what was returned covers them (under the lock).
     */
    private boolean settleWritten() {
        Stream s = unwrittenOf;
        return s != null && !unwritten.isEmpty()
                && unwritten.written(s.written.get(), this::returnedUpTo);
    }

    /**
     * After a stream ended (its client left, or a resuming stream takes over; under the lock):
     * each partition starts again at the first record the stream handed out and did not write
     * (the delivery log keeps them, so that a client that got part of a batch can resume right
     * after its id); what was returned, and is committed, ends before them. Never throws: the
     * instance stays usable (a partition it could not move is read on from where it is).
     */
    private void moveBackFromLeftStream() {
        moveBackFromLeftStream(true);
    }

    /**
     * As above; {@code commitDue}: with auto-commit, what the stream wrote and has not committed
     * yet is committed once it is moved back (not by a resume, which first moves the partitions to
     * what its client received: the new stream commits then).
     */
    private void moveBackFromLeftStream(boolean commitDue) {
        streamEnded = false; // before the look: a close that comes after it sets it again
        Stream left = unwrittenOf;
        if (left == null || !left.ended()) {
            return;
        }
        try {
            if (settleWritten() && autoCommit) {
                streamCommitDue = true;
            }
            unwrittenOf = null;
            Map<TopicPartition, Long> back = unwritten.firsts();
            // A rebalance under way: what the stream wrote of a partition it revoked goes on after
            // that once it is given back (the commit on revocation came before it was written).
            unwritten.writtenWhileRevoked().forEach((tp, last) -> back.merge(tp, last + 1, Math::min));
            unwritten.clear();
            // The delivery log keeps what was not written: a client that got part of a batch
            // resumes with its id right after it (cut, the whole batch came again).
            if (!back.isEmpty()) {
                rewind(back);
            }
        } catch (RuntimeException e) {
            LOG.debug("Moving {}/{} back to what its stream did not write failed: {}", group, name, e.toString());
        }
        if (commitDue && streamCommitDue) {
            try {
                if (autoCommitReturned()) {
                    streamCommitDue = false;
                }
            } catch (RuntimeException e) {
                LOG.debug("The auto-commit of what {}/{} streamed failed: {}", group, name, e.toString());
            }
        }
    }

    /**
     * After its stream ended: moves the instance back to what the stream did not write and sends
     * the auto-commit of what it wrote now, if nothing else holds the instance (whatever does
     * settles it as it takes the instance). Without this, an instance no request comes to again
     * would commit it only as it closes, by when its group, not polled meanwhile, may have dropped
     * it. Never blocks: when another holds the lock, it settles the stream as it lets go
     * ({@link #unlockAndSettle}).
     */
    void settleEndedStream() {
        if (closed || !lock.tryLock()) {
            return;
        }
        try {
            if (streamEnded && !closed) {
                moveBackFromLeftStream(true);
            }
        } finally {
            unlockAndSettle(); // a newer stream that ended meanwhile (its close found the lock taken)
        }
    }

    /** A read that blocks its thread (a stream's): its slices one after the other, under the lock. */
    private List<ConsumedRecord> pollLocked(ReadLimits limits, ResponseRoom room) {
        return pollLocked(limits, room, null);
    }

    /** As {@link #pollLocked(ReadLimits, ResponseRoom)}, for {@code owner}'s read (a stream's), or null. */
    private List<ConsumedRecord> pollLocked(ReadLimits limits, ResponseRoom room, Stream owner) {
        return pollLocked(new Read(limits, room, owner));
    }

    /** Runs {@code read} to its end, slice by slice, letting go of the lock between slices. */
    private List<ConsumedRecord> pollLocked(Read read) {
        while (true) {
            long next = read.slice();
            if (next == Read.DONE) {
                return read.records;
            }
            if (next > 0) {
                if (!sleepUnlocked(next)) {
                    return List.of();
                }
            } else {
                yieldToWaiting();
            }
        }
    }

    /** Waits {@code nanos} without the lock (other operations go on meanwhile); false if interrupted. */
    private boolean sleepUnlocked(long nanos) {
        lock.unlock();
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.lock();
            if (closed) {
                throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
            }
        }
    }

    private enum Phase { START, MATCHES, FETCH, PAUSED }

    /**
     * One read, as slices that each hold the lock for one short step (a poll of at most
     * {@link #POLL_SLICE}): between two slices other operations on the instance go on, and an
     * asynchronous read gives its thread back. Fetches until records are there (or
     * {@code fetchMinBytes} of them), or the request timeout passes; the first read after a
     * subscription also waits for the group's first assignment. A pattern that matches nothing
     * yet waits (without polling) for a matching topic. While the consumers budget is full, the
     * consumer polls with its partitions paused (taking part in its group, fetching nothing)
     * until the request timeout, so the read answers {@code []} unless a rebalance handed it
     * records already fetched.
     */
    private final class Read {
        /** What {@link #slice} returns when the read is done ({@link #records} holds its answer). */
        static final long DONE = -1;

        private final ReadLimits limits;
        private final ResponseRoom room;
        private final Stream owner; // the stream whose read this is, or null
        private final String v1Topic; // v1: the topic the read names (the instance's only one), else null
        private Phase phase = Phase.START;
        private long deadline;
        /** Whether {@link #deadline} is set: a read's wait runs from its start, however it waits (matches, then records). */
        private boolean timed;
        private boolean firstAssignment;
        private boolean polled; // whether this read's fetch polled Kafka yet
        private List<ConsumedRecord> records;

        Read(ReadLimits limits, ResponseRoom room) {
            this(limits, room, null);
        }

        Read(ReadLimits limits, ResponseRoom room, Stream owner) {
            this(limits, room, owner, owner == null ? null : owner.v1Topic);
        }

        Read(ReadLimits limits, ResponseRoom room, Stream owner, String v1Topic) {
            this.limits = limits;
            this.room = room;
            this.owner = owner;
            this.v1Topic = v1Topic;
        }

        /**
         * Whether this is a stream's read and another stream took over (or it closed) meanwhile:
         * asked of the read itself, since its waits let go of the lock and other reads run then.
         */
        private boolean superseded() {
            return owner != null && owner.ended();
        }

        /**
         * Runs the next step, holding the lock.
         *
         * @return {@link #DONE}, or how long to wait (nanoseconds, without the lock) before the
         *         next slice: 0 for at once
         */
        long slice() {
            if (owner == null && stream.get() != null) {
                // A stream opened on the instance while this read waited between two slices: what
                // is fetched now is the stream's (a read takes nothing from a stream, as a new one
                // is refused 40903), and nothing this read would return is mixed with its batches.
                return done(List.of());
            }
            if (v1Topic != null && mode != Mode.NONE && !readsOnly(v1Topic)) {
                // Subscribed to other topics (through v2) between two steps of a v1 read: 40901,
                // as the next v1 read of its topic would be, before anything of those topics goes
                // out under its topic's URL.
                throw ErrorCode.CONSUMER_ALREADY_SUBSCRIBED.exception("the instance's subscription changed to other "
                        + "topics than " + v1Topic + " while it read that topic: read them through v2");
            }
            switch (phase) {
                case START -> {
                    refreshPattern();
                    if (mode == Mode.PATTERN && topics.isEmpty()) {
                        phase = Phase.MATCHES;
                        deadline = clock.read() + limits.requestTimeout().toNanos();
                        timed = true;
                        return awaitMatches();
                    }
                    return prepare();
                }
                case MATCHES -> {
                    refreshPattern();
                    if (mode == Mode.PATTERN && topics.isEmpty()) {
                        return awaitMatches();
                    }
                    return topics.isEmpty() ? done(List.of()) : prepare();
                }
                case FETCH -> {
                    if (mode == Mode.NONE || superseded()) {
                        return finish(); // unsubscribed or unassigned, or taken over, between two slices
                    }
                    if (matchesNothingNow()) {
                        return awaitMatchesAgain();
                    }
                    return fetch();
                }
                case PAUSED -> {
                    if (matchesNothingNow()) {
                        return awaitMatchesAgain();
                    }
                    return waitPaused();
                }
                default -> throw new IllegalStateException(phase.name());
            }
        }

        /**
         * Whether the pattern subscribed matches no topic now (the last one it matched was deleted,
         * or the caller's access narrowed, while the read waited): the consumer is then subscribed
         * to nothing, and a poll would fail.
         */
        private boolean matchesNothingNow() {
            return mode == Mode.PATTERN && topics.isEmpty();
        }

        /** The pattern stopped matching mid-read: what is held is answered, else the read waits for matches as a new one does. */
        private long awaitMatchesAgain() {
            if (!held.isEmpty()) {
                return finish();
            }
            phase = Phase.MATCHES;
            return awaitMatches();
        }

        /** A pattern that matches nothing yet: waits (a slice at a time) until the request timeout. */
        private long awaitMatches() {
            long left = deadline - clock.read();
            if (left <= 0) {
                return done(List.of());
            }
            return Math.min(POLL_SLICE.toNanos(), Math.max(TimeUnit.MILLISECONDS.toNanos(1), left));
        }

        private long prepare() {
            if (!held.isEmpty()) {
                answerGroup();
            }
            if (held.isEmpty() || limits.fetchMinBytes() > 0 && held.bytes() < limits.fetchMinBytes()) {
                long now = clock.read();
                if (!timed) {
                    deadline = now + limits.requestTimeout().toNanos();
                    timed = true;
                }
                if (memory.over()) {
                    phase = Phase.PAUSED;
                    polled = false;
                    return waitPaused();
                }
                resumePaused();
                // Only the first read waits for an assignment (partitions arrive in a poll, so none
                // came before it): a member with no partitions long-polls as any other afterwards.
                // A read given no assignment wait (a client's own timeout) keeps to its timeout, as
                // Confluent's does; the join goes on in the next reads' polls.
                firstAssignment = !awaitedAssignment && !limits.assignmentTimeout().isZero() && !limits.assignmentTimeout().isNegative();
                if (firstAssignment) {
                    awaitedAssignment = true;
                    deadline = Math.max(deadline, now + limits.assignmentTimeout().toNanos());
                }
                phase = Phase.FETCH;
                polled = false;
                return fetch();
            }
            return finish();
        }

        /** One poll slice of a fetch. */
        private long fetch() {
            long left = deadline - clock.read();
            if (left <= 0 && polled) {
                return finish();
            }
            // A read polls at least once, without waiting when it has no time left: a request
            // timeout of 0 still fetches (and keeps the member in its group).
            polled = true;
            held.add(PollBound.poll(consumer, min(Duration.ofNanos(Math.max(0, left)), POLL_SLICE)));
            refreshPattern();
            // fetch.min.bytes waits for more only while the answer has room for it and the
            // consumers budget for what is held: a minimum above the answer's cap, or above what
            // the budget holds, answers with what is there rather than holding more.
            if (!held.isEmpty() && (limits.fetchMinBytes() <= 0 || held.bytes() >= limits.fetchMinBytes()
                    || held.bytes() >= limits.maxBytes() || memory.over())) {
                drainFetched(limits.maxBytes());
                return finish();
            }
            if (firstAssignment && assigned) {
                firstAssignment = false;
                // Assigned now: the request timeout runs from here, so the first fetch of what is
                // already in the topic has its full time.
                deadline = clock.read() + limits.requestTimeout().toNanos();
            }
            return 0;
        }

        /** One poll slice with the partitions paused (the consumers budget is full). */
        private long waitPaused() {
            if (!held.isEmpty() || mode == Mode.NONE) {
                return finish();
            }
            long left = deadline - clock.read();
            if (left <= 0 && polled) {
                return finish();
            }
            polled = true; // at least once, as a fetch does: the member stays in its group
            try {
                consumer.pause(consumer.assignment());
                held.add(PollBound.poll(consumer, min(Duration.ofNanos(Math.max(0, left)), POLL_SLICE)));
            } finally {
                resumePaused();
            }
            return 0;
        }

        private long finish() {
            if (superseded()) {
                return done(List.of()); // a resuming stream took over during the wait: what is held stays for it
            }
            if (v1Topic != null) {
                dropOtherTopics(v1Topic);
            }
            // A stream's records count as returned (and committed) once written, not now.
            List<ConsumedRecord> out = take(limits, room, owner == null);
            if (owner != null) {
                owner.handOut(out);
            }
            if (memory.over()) {
                letGoOfHeld();
            }
            // With auto-commit, a read's records are committed once the client asks again (a
            // stream's once written: settledByStream).
            return done(out);
        }

        private long done(List<ConsumedRecord> out) {
            records = out;
            return DONE;
        }
    }

    // ---- reads that give their thread back between slices -----------------------------------------

    /** The asynchronous reads in progress (the instance does not expire meanwhile). */
    private final Set<AsyncRead> reading = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Whether an asynchronous read of this instance is in progress. */
    public boolean isReading() {
        return !reading.isEmpty();
    }

    /**
     * As {@link #read(String, ReadLimits, Predicate, ResponseRoom)}, without holding a thread for
     * the wait: the first slice runs on the calling thread, each later one is a task on
     * {@code pool} (a wait without polling is scheduled on {@code timer} first, which then
     * submits to the pool). A slice takes at most about {@link #POLL_SLICE}; in between, the read
     * holds neither a thread nor the instance's lock, so other reads waiting in the pool's queue
     * go first. A slice the pool refuses (its queue full, or shut down) ends the wait: the read
     * answers {@code []}, and what the instance holds stays for the next read. The future fails
     * with the {@link RestException}s of the blocking read, and 40403 when the instance closes.
     */
    public java.util.concurrent.CompletableFuture<List<ConsumedRecord>> readAsync(
            String topic, ReadLimits limits, Predicate<String> topicExists, ResponseRoom room,
            java.util.concurrent.Executor pool, java.util.concurrent.ScheduledExecutorService timer) {
        java.util.concurrent.CompletableFuture<List<ConsumedRecord>> quick = takeFetchedAhead(topic, limits, room);
        return quick != null ? quick : start(() -> {
            notStreaming();
            subscribeOnFirstRead(topic, topicExists);
            delivered.clear();
            askedAgain();
        }, new Read(limits, room, null, topic), pool, timer);
    }

    /** As {@link #poll}, asynchronously as {@link #readAsync}. */
    public java.util.concurrent.CompletableFuture<List<ConsumedRecord>> pollAsync(
            ReadLimits limits, ResponseRoom room,
            java.util.concurrent.Executor pool, java.util.concurrent.ScheduledExecutorService timer) {
        java.util.concurrent.CompletableFuture<List<ConsumedRecord>> quick = takeFetchedAhead(null, limits, room);
        return quick != null ? quick : start(() -> {
            notStreaming();
            requireSubscribedOrAssigned();
            delivered.clear();
            askedAgain();
        }, new Read(limits, room), pool, timer);
    }

    private java.util.concurrent.CompletableFuture<List<ConsumedRecord>> start(
            Runnable begin, Read slices,
            java.util.concurrent.Executor pool, java.util.concurrent.ScheduledExecutorService timer) {
        AsyncRead read = new AsyncRead(begin, slices, pool, timer);
        reading.add(read);
        read.run();
        return read.result;
    }

    /** One asynchronous read: each {@link #run} is a slice. */
    private final class AsyncRead implements Runnable {
        private final java.util.concurrent.CompletableFuture<List<ConsumedRecord>> result =
                new java.util.concurrent.CompletableFuture<>();
        private final Read read;
        private final java.util.concurrent.Executor pool;
        private final java.util.concurrent.ScheduledExecutorService timer;
        private Runnable begin; // the read's checks, run under the lock by its first slice

        AsyncRead(Runnable begin, Read read, java.util.concurrent.Executor pool,
                  java.util.concurrent.ScheduledExecutorService timer) {
            this.begin = begin;
            this.read = read;
            this.pool = pool;
            this.timer = timer;
        }

        @Override
        public void run() {
            long next;
            try {
                next = locked(KafkaErrors::toRestException, () -> {
                    if (begin != null) {
                        Runnable first = begin;
                        begin = null;
                        first.run();
                    }
                    long n = read.slice();
                    if (n == Read.DONE) {
                        reading.remove(this); // under the lock: a close from now on leaves this answer alone
                    }
                    return n;
                });
            } catch (Throwable e) {
                reading.remove(this);
                result.completeExceptionally(e);
                return;
            }
            if (next == Read.DONE) {
                if (!read.records.isEmpty()) {
                    readAhead(pool); // while this answer is rendered, written and read
                }
                result.complete(read.records);
                return;
            }
            try {
                if (next > 0) {
                    timer.schedule(this::submit, next, TimeUnit.NANOSECONDS);
                } else {
                    submit();
                }
            } catch (java.util.concurrent.RejectedExecutionException e) {
                endWait(e);
            }
        }

        private void submit() {
            try {
                pool.execute(this);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                endWait(e);
            }
        }

        /**
         * The next slice found no room: the read ends with 503 (what is held stays), not with an
         * empty answer, which tells a client there is nothing to read and has it ask again at once;
         * with 429 when the room refused was the caller's own share of the pool ({@link OnPool.ShareFull}).
         */
        private void endWait(java.util.concurrent.RejectedExecutionException refused) {
            reading.remove(this);
            result.completeExceptionally(refused instanceof OnPool.ShareFull share
                    ? ErrorCode.TOO_MANY_REQUESTS.exception(share.getMessage())
                    : ErrorCode.SERVICE_UNAVAILABLE.exception(
                            "the server's consumer threads are all busy (consumer.threads, consumer.queue.size); retry"));
        }
    }

    /**
     * Asks {@code pool} to {@linkplain #fetchAhead fetch ahead} of the next read; nothing when the
     * pool has work waiting (requests and read slices go first: a fetch ahead never takes a place
     * in its queue from them) or refuses it. The next read then fetches itself.
     */
    private void readAhead(java.util.concurrent.Executor pool) {
        if (othersWaitIn(pool)) {
            return;
        }
        try {
            pool.execute(() -> fetchAhead(pool));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // busy or shutting down: the next read fetches, as without reading ahead
        }
    }

    /**
     * Fetches the records that follow what a read just handed out, so that the next read (the
     * client's, once it has read this answer) finds them parsed and held: a client draining its
     * partitions over one connection no longer waits for Kafka's fetch and parse between two reads.
     * Only when nothing else uses or waits for the instance, nothing is held yet, the consumers
     * budget has room, and the last fetch said a partition has more records than were fetched (a
     * poll at the log's end would only wait). It then holds the instance while a read takes
     * what it fetched without the instance's lock ({@link #takeFetchedAhead}), and fetches again
     * as soon as one did: the consumer fetches the next records while the last are rendered and
     * sent, one fetch ahead at most. It ends when no read took its records within
     * {@link #READ_AHEAD_WAIT}, as soon as another operation waits for the instance or work
     * waits in {@code pool}'s queue, and at the log's end. What it fetches counts against the
     * consumers budget as any held records; commits cover only what reads handed out, so nothing
     * fetched ahead is committed.
     */
    void fetchAhead(java.util.concurrent.Executor pool) {
        if (!lock.tryLock()) {
            return; // a read, a commit or a close has the instance: the next read fetches itself
        }
        try {
            if (busy() || !held.isEmpty() || !behind()) {
                return;
            }
            heldLock.lock();
            try {
                fetchingAhead = true;
                aheadRuns++;
            } finally {
                heldLock.unlock();
            }
            try {
                while (true) {
                    org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]> polled = PollBound.poll(consumer, READ_AHEAD_WAIT);
                    heldLock.lock();
                    try {
                        held.add(polled);
                        fetchedAhead.signalAll();
                        commitIfDue();
                    } finally {
                        heldLock.unlock();
                    }
                    metrics.readAhead(polled.count());
                    // Instances whose reads go the usual way anyway (a schema format, a minimum of
                    // bytes to wait for) fetch once; a pattern due for a refresh lets a read do it.
                    if (polled.isEmpty() || decoder != null || options.fetchMinBytes() > 0 || patternDue()
                            || !behind() || !awaitTaken(pool)) {
                        return;
                    }
                }
            } finally {
                heldLock.lock();
                try {
                    fetchingAhead = false;
                    fetchedAhead.signalAll();
                    if (!closed) {
                        commitIfDue();
                    }
                } finally {
                    heldLock.unlock();
                }
            }
        } catch (WakeupException | InterruptException e) {
            // closing: the close goes on once the lock is free
        } catch (RuntimeException e) {
            // A Kafka error (the next read's own poll meets it again and reports it), or a
            // partition revoked meanwhile (group protocol "consumer" applies that in the background).
            LOG.debug("Fetching ahead for {}/{} failed: {}", group, name, e.toString());
        } finally {
            unlockAndSettle();
        }
    }

    /**
     * Waits (holding the instance's lock) until a read took what a fetch ahead holds, so that the
     * consumer fetches the next records while that read's answer is rendered; false, and the
     * fetch ahead ends, when no read took it within {@link #READ_AHEAD_WAIT}, or another operation
     * waits for the instance (which wakes it), or work waits in {@code pool}'s queue (looked at
     * every {@link #POOL_CHECK_NANOS}). One fetch ahead is held at most.
     */
    private boolean awaitTaken(java.util.concurrent.Executor pool) {
        long left = takeWaitNanos;
        heldLock.lock();
        try {
            while (!held.isEmpty()) {
                if (left <= 0 || busy() || othersWaitIn(pool)) {
                    return false;
                }
                long slice = Math.min(left, POOL_CHECK_NANOS);
                left -= slice - takenAhead.awaitNanos(slice);
            }
            return !busy() && !othersWaitIn(pool);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            heldLock.unlock();
        }
    }

    /**
     * Wakes a fetch ahead waiting for a read to take its records, so that it sees why it was woken
     * (an operation waiting for the instance, counted in {@link #waiting} first; the instance
     * closed) and lets go of the instance at once.
     */
    private void nudgeFetchAhead() {
        heldLock.lock();
        try {
            takenAhead.signalAll();
        } finally {
            heldLock.unlock();
        }
    }

    /** Whether a pattern subscription should look for new topics now (a read does that). */
    private boolean patternDue() {
        return mode == Mode.PATTERN && clock.read() - patternCheckedAt > PATTERN_REFRESH_NANOS;
    }

    /** As {@link #READ_AHEAD_WAIT}, for tests. */
    void takeWait(Duration wait) {
        takeWaitNanos = wait.toNanos();
    }

    /** Whether work waits in {@code pool}'s queue (requests, read slices): a fetch ahead gives way to it. */
    private static boolean othersWaitIn(java.util.concurrent.Executor pool) {
        java.util.concurrent.Executor threads = pool instanceof OnPool share ? share.pool() : pool;
        return threads instanceof java.util.concurrent.ThreadPoolExecutor bounded && !bounded.getQueue().isEmpty();
    }

    /** Whether something else uses or waits for the instance, or it should not fetch ahead now (under the lock). */
    private boolean busy() {
        return waiting.get() > 0 || lock.hasQueuedThreads() || !reading.isEmpty() || stream.get() != null || closed || mode == Mode.NONE
                || memory.over();
    }

    /** Sends the auto-commit of what reads took while fetching ahead (under both locks). */
    private void commitIfDue() {
        if (!commitDue) {
            return;
        }
        commitDue = false;
        autoCommitReturned();
    }

    /** Auto-commit: sends the commit of what the client confirmed of {@code partitions}, without waiting for it (under the lock). */
    private void commitReturnedAsync(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = autoCommit ? confirmedOf(partitions) : Map.of();
        if (!offsets.isEmpty()) {
            commitAsync(offsets);
        }
    }

    /**
     * Auto-commit: sends the commit of what the client confirmed, without waiting for it (under
     * the lock); whether there was any to send.
     */
    private boolean autoCommitReturned() {
        Map<TopicPartition, OffsetAndMetadata> offsets = confirmedOf(consumer.assignment());
        if (offsets.isEmpty()) { // a stream's first batch, say, which counts once written
            return false;
        }
        commitAsync(offsets);
        return true;
    }

    private void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets) {
        consumer.commitAsync(offsets, (done, e) -> {
            if (e != null) {
                LOG.debug("Auto-commit of {}/{} failed: {}", group, name, e.toString());
            }
        });
    }

    /**
     * A read's way while a {@linkplain #fetchAhead fetch ahead} holds the instance: it takes what
     * that fetch brought (waiting for its poll in progress when nothing is held yet) without the
     * instance's lock, so the consumer goes on fetching while this answer is rendered and sent.
     * The consumer polls meanwhile, so the instance takes part in its group as a read's own poll
     * would. Null when it cannot (no fetch ahead, a stream, a schema format, a minimum of bytes
     * to wait for, v1's first read or another topic, records held of a topic a v1 read must not
     * hand out, the consumers budget full, nothing fetched after all): the read then goes the
     * usual way, which answers those cases. It never touches the consumer, which the fetch ahead
     * uses meanwhile on its own thread. With auto-commit,
     * the fetch ahead sends the commit of what was taken once its poll in progress is back (the
     * usual way sends it with the answer). When the budget is over after the take, the fetch
     * ahead ends and the next read, the usual way, lets go of what is left.
     */
    private java.util.concurrent.CompletableFuture<List<ConsumedRecord>> takeFetchedAhead(
            String v1Topic, ReadLimits limits, ResponseRoom room) {
        if (closed || decoder != null || limits.fetchMinBytes() > 0) {
            return null;
        }
        heldLock.lock();
        try {
            // While fetchingAhead, the fetch ahead holds the lock: mode and topics stay as they are.
            if (!fetchingAhead || stream.get() != null
                    || (v1Topic == null ? mode == Mode.NONE : !readsOnly(v1Topic))) {
                return null;
            }
            // The poll in progress takes at most READ_AHEAD_WAIT; a read waits no longer than it would.
            long run = aheadRuns;
            long waitNanos = Math.min(READ_AHEAD_WAIT.toNanos() * 2, limits.requestTimeout().toNanos());
            while (held.isEmpty() && fetchingAhead && waitNanos > 0) {
                waitNanos = fetchedAhead.awaitNanos(waitNanos);
            }
            if (!fetchingAhead || aheadRuns != run || held.isEmpty() || closed || memory.over()) {
                return null; // the one looked at ended meanwhile: the state checked above may have changed
            }
            if (v1Topic != null && holdsOtherTopicsThan(v1Topic)) {
                // Letting go of them seeks the consumer, which the fetch ahead is using on its own
                // thread (Kafka's consumer then throws ConcurrentModificationException to one of
                // them): the usual way does it under the instance's lock.
                return null;
            }
            delivered.clear();
            if (confirmed()) {
                commitDue = true; // what earlier reads returned, sent with the fetch ahead's next poll
            }
            List<ConsumedRecord> out = take(limits, room, true);
            takenAhead.signalAll();
            metrics.takenAhead();
            return java.util.concurrent.CompletableFuture.completedFuture(out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (RuntimeException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e); // as a read's slice fails its future
        } finally {
            heldLock.unlock();
        }
    }

    /**
     * v1: whether records of another topic than {@code topic} are held (a partition of a topic the
     * instance left through v2, still assigned a moment): {@link #dropOtherTopics} must let go of
     * them before a read. Touches only {@link #held}, never the consumer.
     */
    private boolean holdsOtherTopicsThan(String topic) {
        for (TopicPartition tp : held.firstOffsets().keySet()) {
            if (!tp.topic().equals(topic)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the last fetch of an assigned partition found records past the consumer's position. */
    private boolean behind() {
        for (TopicPartition tp : consumer.assignment()) {
            java.util.OptionalLong lag = consumer.currentLag(tp);
            if (lag.isPresent() && lag.getAsLong() > 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code operation} holding the lock: a wakeup (the instance closed meanwhile) is 40403,
     * any other Kafka failure what {@code onKafkaError} makes of it.
     */
    private <T> T locked(Function<RuntimeException, RestException> onKafkaError, Supplier<T> operation) {
        return locked(onKafkaError, operation, false);
    }

    /**
     * As above; {@code streams}: the instance's event stream's own operation, which waits
     * whatever else waits (a burst of the client's commits must not end its stream with 429).
     */
    private <T> T locked(Function<RuntimeException, RestException> onKafkaError, Supplier<T> operation, boolean streams) {
        lock(streams);
        try {
            return operation.get();
        } catch (WakeupException e) {
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        } catch (RestException e) {
            throw e;
        } catch (IllegalStateException e) {
            if (closed) {
                throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
            }
            // The consumer's own state rule (e.g. a partition that is not assigned to it)
            throw ErrorCode.ILLEGAL_STATE.exception(KafkaErrors.describe(e));
        } catch (RuntimeException e) {
            throw onKafkaError.apply(e);
        } finally {
            unlockAndSettle();
        }
    }

    /**
     * Lets go of the lock; then settles a stream that ended while it was held (its close found
     * the lock taken: see {@link #settleEndedStream}), and runs a close waiting for the consumer.
     */
    private void unlockAndSettle() {
        lock.unlock();
        if (streamEnded && !closed) {
            settleEndedStream();
        }
        closeIfFree(); // a close waiting for the consumer runs now
    }

    /**
     * Lets an operation waiting for this instance (a commit, a seek) run now, between two slices
     * of a long poll: the lock is fair, so the waiting thread gets it first.
     */
    private void yieldToWaiting() {
        if (lock.hasQueuedThreads()) {
            lock.unlock();
            lock.lock();
            if (closed) {
                throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
            }
        }
    }

    /**
     * Polls with every partition paused, so that a read answered from records held back (a small
     * {@code max_bytes}) still takes part in the group: a rebalance another member started
     * proceeds (revoked partitions drop their held records, see {@link Rebalance}), and the
     * consumer does not exceed {@code max.poll.interval.ms} and leave the group. Paused
     * partitions return nothing and keep their position; a partition newly assigned during the
     * poll is not paused, and what it returns is kept with the rest.
     */
    private void answerGroup() {
        try {
            consumer.pause(consumer.assignment());
            held.add(PollBound.poll(consumer, Duration.ZERO));
        } catch (WakeupException | InterruptException e) {
            throw e;
        } catch (KafkaException e) {
            // The held records are still good: answer with them; the next poll that fetches
            // meets the error again and reports it.
            LOG.debug("Poll of {}/{} while answering from held records failed: {}", group, name, e.toString());
        } finally {
            resumePaused();
        }
    }

    /**
     * Resumes the paused partitions still assigned. Nothing stays paused between operations; a
     * resume that fails (a partition revoked meanwhile, which the group protocol "consumer"
     * applies in the background) is retried by the next poll.
     */
    private void resumePaused() {
        Set<TopicPartition> paused = consumer.paused();
        if (paused.isEmpty()) {
            return;
        }
        Set<TopicPartition> still = new HashSet<>(paused);
        still.retainAll(consumer.assignment());
        try {
            consumer.resume(still);
        } catch (IllegalStateException e) {
            LOG.debug("Resuming the partitions of {}/{} failed: {}", group, name, e.toString());
        }
    }

    /**
     * Takes what the consumer has already fetched, without waiting, up to the byte cap: a
     * response then carries what is there rather than one poll's worth. Stops when the consumers
     * budget is over its capacity.
     */
    private void drainFetched(long maxBytes) {
        for (int i = 0; i < MAX_DRAIN_POLLS && held.bytes() < maxBytes && !memory.over(); i++) {
            if (held.add(PollBound.poll(consumer, Duration.ZERO)) == 0) {
                return;
            }
        }
    }

    /**
     * Lets go of the records held beyond this read: each partition goes back to its first held
     * record, so nothing is lost and the next read fetches them again.
     */
    /**
     * v1: lets go of the records held of other topics than {@code topic}, which a v1 read must
     * not hand out under its topic's URL (its answer names no topic): partitions of a topic the
     * instance left through v2 stay assigned, and fetched, a moment after the subscription
     * changed back. Those still assigned are fetched again from their first record let go of.
     */
    private void dropOtherTopics(String topic) {
        if (held.isEmpty()) {
            return;
        }
        Map<TopicPartition, Long> others = new HashMap<>(held.firstOffsets());
        others.keySet().removeIf(tp -> tp.topic().equals(topic));
        if (!others.isEmpty()) {
            fetchAgainFrom(others);
            held.drop(others.keySet());
        }
    }

    /** Seeks each partition still assigned to the offset given: what is let go of is fetched again from there. */
    private void fetchAgainFrom(Map<TopicPartition, Long> firsts) {
        Set<TopicPartition> owned = consumer.assignment();
        firsts.forEach((tp, offset) -> {
            if (owned.contains(tp)) {
                consumer.seek(tp, offset);
            }
        });
    }

    private void letGoOfHeld() {
        if (held.isEmpty()) {
            return;
        }
        fetchAgainFrom(held.firstOffsets());
        held.clear();
    }

    /**
     * Lets go of what this instance holds, if no operation is using it now: called for idle
     * instances when the consumers budget needs room. Never blocks.
     *
     * @return whether anything was let go
     */
    boolean shed() {
        if (closed || !lock.tryLock()) {
            return false;
        }
        try {
            if (closed || held.isEmpty()) {
                return false;
            }
            letGoOfHeld();
            return true;
        } catch (RuntimeException e) {
            LOG.debug("Letting go of the records {}/{} holds failed: {}", group, name, e.toString());
            return false;
        } finally {
            unlockAndSettle();
        }
    }

    /** Bytes this instance counts against the consumers budget (its fixed cost and held records). */
    long memoryHeld() {
        return memory.held();
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** A Kafka record as a read returns it: key, value, position, timestamp and headers. */
    static ConsumedRecord toConsumed(ConsumerRecord<byte[], byte[]> r) {
        Header[] headers = r.headers().toArray();
        List<RecordHeader> list;
        if (headers.length == 0) {
            list = List.of();
        } else {
            list = new ArrayList<>(headers.length);
            for (Header h : headers) {
                list.add(new RecordHeader(h.key(), h.value()));
            }
        }
        return new ConsumedRecord(r.topic(), r.key(), r.value(), r.partition(), r.offset(), r.timestamp(), list);
    }

    /**
     * Takes the records to return, up to the byte cap. With a strict cap (the client's
     * {@code max_bytes}) a first record larger than the cap is not returned: the answer is
     * {@code []} and the record stays, as Confluent's proxy answers (a client reading with
     * {@code max_bytes=1} as a heartbeat then commits nothing it did not see). With the server's
     * cap, a first record larger than it comes alone, so no consumer is stuck behind it. In the
     * json format a record whose key or value is not JSON cannot be returned: the records before
     * it are, and it stays first in line (a read that starts at it fails with 50002 and consumes
     * nothing), so nothing is marked returned, and committed, that the client did not get.
     */
    private List<ConsumedRecord> take(ReadLimits limits, ResponseRoom room, boolean returning) {
        List<ConsumedRecord> out = new ArrayList<>(held.count());
        long bytes = 0;
        ConsumedRecord previous = null;
        while (!held.isEmpty()) {
            ConsumerRecord<byte[], byte[]> r = held.peek();
            long size = HeldRecords.size(r);
            long cost = size + HeldRecords.headerBytes(r);
            if (bytes + size > limits.maxBytes()
                    && (previous != null || limits.clientMaxBytes() > 0 && size > limits.clientMaxBytes())) {
                break;
            }
            ConsumedRecord c = toConsumed(r);
            if (decoder != null) {
                // A schema format: rendered here, so that a record that cannot be (not in the
                // registry's framing, an unknown schema id, a registry that does not answer) stays
                // first in line, nothing after it returned, as with json below.
                try {
                    c = decoder.apply(c);
                } catch (RuntimeException e) {
                    if (previous == null) {
                        throw e instanceof RestException rest ? rest : ErrorCode.KAFKA_ERROR.exception("the record at "
                                + "offset " + c.offset() + " of partition " + c.partition() + " cannot be rendered: " + e);
                    }
                    break; // the records before it are answered; it stays first in line
                }
                cost = c.size() + HeldRecords.headerBytes(r);
            }
            if (!room.take(cost, previous == null)) {
                break;
            }
            if (format == EmbeddedFormat.JSON && !isJson(c)) {
                if (previous == null) {
                    throw ErrorCode.KAFKA_ERROR.exception("the record at offset " + c.offset() + " of partition "
                            + c.partition() + " is not JSON; read it with a consumer instance of the binary format");
                }
                break;
            }
            held.poll();
            bytes += size;
            if (returning && previous != null
                    && (previous.partition() != c.partition() || !previous.topic().equals(c.topic()))) {
                remember(previous);
            }
            out.add(c);
            previous = c;
        }
        held.settle();
        if (returning && previous != null) {
            remember(previous);
        }
        metrics.consumed(out.size(), bytes);
        return out;
    }

    /** Whether the record's key and value are JSON as the json format writes them: as stored, never parsed further. */
    private static boolean isJson(ConsumedRecord r) {
        return (r.key() == null || Json.isWellFormedAsIs(r.key())) && (r.value() == null || Json.isWellFormedAsIs(r.value()));
    }

    /** Notes the last record returned of a partition (records of one partition come in offset order). */
    private void remember(ConsumedRecord last) {
        TopicPartition tp = new TopicPartition(last.topic(), last.partition());
        Long before = returned.put(tp, last.offset());
        if (autoCommit && !unconfirmed.containsKey(tp)) {
            unconfirmed.put(tp, before); // what was returned of it before the client's latest read
        }
    }

    /**
     * The client asks again (a read, a stream, a change of what the instance reads: a
     * subscription, an assignment, a seek): it has what earlier reads returned. True when
     * that confirms records auto-commit is to commit (under the lock, or {@link #heldLock} while
     * fetching ahead).
     */
    private boolean confirmed() {
        boolean some = !unconfirmed.isEmpty();
        unconfirmed.clear();
        if (!handedOnRevocation.isEmpty()) { // a rebalance under way: what it keeps is confirmed too
            handedOnRevocation.replaceAll((tp, handed) -> new Handed(handed.last(), handed.last()));
        }
        return some && autoCommit;
    }

    /** As {@link #confirmed}, sending the auto-commit of what it confirmed (under the lock). */
    private void askedAgain() {
        if (confirmed()) {
            autoCommitReturned();
        }
    }

    /**
     * As {@link #askedAgain} for a seek of {@code moving}: their auto-commit is left to the seek's
     * position (committed with the next), so that a seek back to read again sends no commit past
     * it first, which a crash before the next would leave.
     */
    private void askedAgainMoving(Collection<TopicPartition> moving) {
        if (confirmed()) {
            Map<TopicPartition, OffsetAndMetadata> offsets = confirmedOf(consumer.assignment());
            offsets.keySet().removeAll(moving);
            if (!offsets.isEmpty()) {
                commitAsync(offsets);
            }
        }
    }

    // ---- commits ------------------------------------------------------------------------------

    /** As {@link #commitReturned()} (v1's commit). */
    public List<CommittedOffset> commit() {
        return commitReturned();
    }

    /**
     * Commits the offsets of the records returned so far, on the partitions the instance still
     * owns (and that exist: see {@link #existingOf}), and reports them ({@code consumed} = last
     * returned offset).
     *
     * @throws RestException 50002 when Kafka refuses the commit (403, 401, 503 as
     *         {@link #commitError} says), 50003 when a rebalance under way took away the
     *         partitions records were returned of and there is nothing else to commit, 40403 when
     *         closed meanwhile
     */
    public List<CommittedOffset> commitReturned() {
        return locked(ConsumerInstance::commitError, () -> {
            Map<TopicPartition, OffsetAndMetadata> offsets = toCommit();
            if (offsets.isEmpty() && revokedReturned) {
                // Between an eager revocation and the assignment the instance has no partitions,
                // and what was returned of the revoked ones is gone: a success here would commit
                // nothing while the client believes it committed, and the group hands those
                // records out again. Kafka answers an explicit commit in this window so too. The
                // client has what was returned, as any request of it says: a partition given
                // straight back goes on after it (handedOnRevocation), and auto-commit commits it.
                confirmed();
                throw ErrorCode.KAFKA_RETRIABLE_ERROR.exception("the group is rebalancing: the partitions records "
                        + "were returned of are revoked until it assigns again, and nothing was committed; "
                        + "commit again after the next read");
            }
            if (!offsets.isEmpty()) {
                consumer.commitSync(offsets);
            }
            confirmed(); // no auto-commit goes back below what the client committed
            List<CommittedOffset> out = new ArrayList<>();
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
                long last = e.getValue().offset() - 1;
                out.add(new CommittedOffset(e.getKey().topic(), e.getKey().partition(), last, last));
            }
            out.sort(Comparator.comparing(CommittedOffset::topic).thenComparingInt(CommittedOffset::partition));
            return out;
        });
    }

    /**
     * Commits explicit offsets: each is the last offset the client processed, so the next to
     * read, {@code offset + 1}, is what is committed (as Confluent's proxy does), with its
     * metadata.
     *
     * @throws RestException 50002 when Kafka refuses the commit, 40403 when closed meanwhile
     */
    public void commit(Map<TopicPartition, OffsetAndMetadata> lastProcessed) {
        locked(ConsumerInstance::commitError, () -> {
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            lastProcessed.forEach((tp, om) -> {
                KafkaNames.topic(tp.topic());
                offsets.put(tp, new OffsetAndMetadata(om.offset() + 1, om.metadata()));
            });
            checkExists(offsets.keySet());
            if (!offsets.isEmpty()) {
                consumer.commitSync(offsets);
            }
            offsets.keySet().forEach(unconfirmed::remove); // the client speaks for these
            return null;
        });
    }

    /**
     * Why a commit failed: authorization (403), authentication (401) and timeouts (503) as every
     * other call of the instance reports them, else 50002 with Kafka's reason.
     */
    private static RestException commitError(RuntimeException e) {
        Throwable t = RestException.unwrap(e);
        if (t instanceof org.apache.kafka.common.errors.AuthorizationException
                || t instanceof org.apache.kafka.common.errors.AuthenticationException
                || t instanceof org.apache.kafka.common.errors.TimeoutException) {
            return KafkaErrors.toRestException(e);
        }
        // A group rebalancing is routine, not the server's fault: retriable (50003), and a commit
        // Kafka refuses because the partitions went to another member is the client's conflict (409).
        if (t instanceof org.apache.kafka.common.errors.RebalanceInProgressException
                || t instanceof org.apache.kafka.common.errors.RetriableException) {
            return new RestException(ErrorCode.KAFKA_RETRIABLE_ERROR, KafkaErrors.describe(e) + " (commit again)", e);
        }
        if (t instanceof org.apache.kafka.clients.consumer.CommitFailedException) {
            return new RestException(ErrorCode.ILLEGAL_STATE, "the group rebalanced and gave partitions of this commit "
                    + "to another member, which reads them from the last committed offset; read again", e);
        }
        return new RestException(ErrorCode.KAFKA_ERROR, KafkaErrors.describe(e), e);
    }

    /**
     * The committed offsets of {@code partitions} (each the next offset to read), for those that
     * have one.
     */
    public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions) {
        return locked(KafkaErrors::toRestException, () -> {
            for (TopicPartition tp : partitions) {
                KafkaNames.topic(tp.topic());
            }
            Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
            consumer.committed(partitions).forEach((tp, om) -> {
                if (om != null) {
                    out.put(tp, om);
                }
            });
            return out;
        });
    }

    /** What a commit of everything returned commits: of the partitions assigned now that exist ({@link #existingOf}). */
    private Map<TopicPartition, OffsetAndMetadata> toCommit() {
        return existingOf(returnedOf(consumer.assignment()));
    }

    /**
     * What auto-commit commits of {@code partitions}: what was returned before the reads the
     * client has not {@linkplain #unconfirmed confirmed} yet, and what streams wrote; of the
     * partitions that exist ({@link #existingOf}).
     */
    private Map<TopicPartition, OffsetAndMetadata> confirmedOf(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> offsets = returnedOf(partitions);
        unconfirmed.forEach((tp, before) -> {
            if (offsets.containsKey(tp)) {
                if (before == null) {
                    offsets.remove(tp);
                } else {
                    offsets.put(tp, new OffsetAndMetadata(before + 1));
                }
            }
        });
        return existingOf(offsets);
    }

    /** What a commit of the records returned of {@code partitions} commits: the offset after the last of each. */
    private Map<TopicPartition, OffsetAndMetadata> returnedOf(Collection<TopicPartition> partitions) {
        if (lock.isHeldByCurrentThread()) {
            settleWritten(); // a stream's batches written by now count as returned (a close that did not get the lock: as they stand)
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : partitions) {
            Long last = returned.get(tp);
            if (last != null) {
                offsets.put(tp, new OffsetAndMetadata(last + 1));
            }
        }
        return offsets;
    }

    private void commitOnRevocation(Collection<TopicPartition> partitions) {
        if (!autoCommit || leaving) {
            // Leaving in a close: the close committed what was returned just before (and keeps
            // to its deadline; this commit would wait default.api.timeout.ms again).
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = confirmedOf(partitions);
        if (!offsets.isEmpty()) {
            try {
                try {
                    consumer.commitSync(offsets);
                } catch (WakeupException e) {
                    // A wakeup meant for a poll (a close waiting for the instance, a shed): the
                    // commit is made still, as the close's own is, or what was returned is lost.
                    consumer.commitSync(offsets);
                }
            } catch (RuntimeException e) {
                LOG.debug("Commit on revocation of {}/{} failed: {}", group, name, e.toString());
            }
        }
    }

    private static List<TopicPartition> sorted(Collection<TopicPartition> partitions) {
        List<TopicPartition> out = new ArrayList<>(partitions);
        out.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
        return out;
    }

    // ---- life ---------------------------------------------------------------------------------

    /** Operations that may wait for the instance at once; more are refused (429). */
    static final int MAX_WAITING_OPERATIONS = 8;

    /** Batches its stream handed out and has not written, as the instance knows now (for tests). */
    int unwrittenBatches() {
        return unwritten.batches();
    }

    /** Operations waiting for the instance now (for tests). */
    int waitingOperations() {
        return waiting.get();
    }

    private void lock() {
        lock(false);
    }

    private void lock(boolean streams) {
        if (closed) {
            closeIfFree(); // a close that waited for the consumer, should its holder have let go unseen
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        }
        // Counted before the look at the lock: a fetch ahead that takes it from here on sees this
        // operation waiting; one holding it already is woken (fair order kept: no tryLock barging).
        if (waiting.incrementAndGet() > MAX_WAITING_OPERATIONS && !streams) {
            // Each waits on a thread of the shared consumer pool: one client's pile of requests
            // to its own instance (behind a commit Kafka takes seconds to answer, say) must not
            // take the threads every other client's requests need.
            waiting.decrementAndGet();
            throw ErrorCode.TOO_MANY_REQUESTS.exception(MAX_WAITING_OPERATIONS + " requests already wait for consumer "
                    + "instance '" + name + "' of group '" + group + "'; retry once they are answered");
        }
        try {
            if (lock.isLocked()) {
                nudgeFetchAhead();
            }
            lock.lock();
        } finally {
            waiting.decrementAndGet();
        }
        if (closed) {
            lock.unlock();
            closeIfFree(); // a close waiting for the consumer runs now
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception();
        }
        if (streamEnded) {
            moveBackFromLeftStream(); // never throws: the lock is not left held
        }
    }

    /** Whether {@link #close} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** What is left until {@code deadline} ({@link System#nanoTime}), none when it has passed. */
    private static Duration left(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    /** As {@link #close(Duration, boolean)} of an instance expired or shut down, not deleted. */
    void close(Duration timeout) {
        close(timeout, false);
    }

    /**
     * Wakes a blocked read, waits for the operation in progress, commits when auto-commit is on,
     * and closes the consumer, which leaves the group. Idempotent. The commit is of everything
     * returned when its client {@code deleted} the instance (it is done with it), else (expired,
     * Portico shutting down) of what the client confirmed by asking again after it: the answer
     * to its last read may never have reached it.
     */
    void close(Duration timeout, boolean deleted) {
        if (closed) {
            return;
        }
        closed = true;
        // One bound for the whole close: the final commit and the group's leave get what the
        // wait for the lock left (each of them waited the whole timeout when Kafka did not answer).
        long deadline = System.nanoTime() + timeout.toNanos();
        // Wake the consumer only when an operation holds it (a long poll): a wakeup nobody uses
        // up would make the final commit below throw.
        boolean locked = lock.tryLock();
        if (!locked) {
            nudgeFetchAhead(); // it sees the instance closed and lets go of it
            consumer.wakeup();
            try {
                locked = lock.tryLock(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!locked) {
            // The holder uses the consumer still (Kafka refuses a second thread, and a close that
            // failed so would leave it open for good: its sockets, threads and group membership):
            // it is closed by whoever holds it, as it lets go. Its memory stays counted until then.
            LOG.warn("Consumer {}/{} was busy for {} ms; it is closed once free", group, name, timeout.toMillis());
            closeTimeout = timeout;
            closeWhenFree = true;
            endReads();
            closeIfFree(); // it may have let go meanwhile
            return;
        }
        try {
            closeLocked(deadline, true, deleted);
        } finally {
            held.clear();
            lock.unlock();
            memory.close(); // its fixed cost and held records, at once: the consumer is gone
            endReads();
        }
    }

    /** Set when a close could not have the consumer: it closes once its holder lets go ({@link #closeIfFree}). */
    private volatile boolean closeWhenFree;
    private volatile Duration closeTimeout = Duration.ZERO;

    /** The close that waited for the consumer, now, if it waits and the consumer is free (after an unlock). */
    private void closeIfFree() {
        if (!closeWhenFree || !lock.tryLock()) {
            return;
        }
        try {
            if (!closeWhenFree) {
                return; // closed by another meanwhile
            }
            closeWhenFree = false;
            // The final commit of what the client confirmed only, a delete's too: the holder went
            // on after the close ended its answer, and what it marked returned since never
            // reached the client (the group reads it again instead).
            closeLocked(System.nanoTime() + closeTimeout.toNanos(), true, false);
            held.clear();
            memory.close();
        } finally {
            lock.unlock();
        }
    }

    /** The final auto-commit (when {@code commit}: of everything returned when {@code all}) and the consumer's close (under the lock). */
    private void closeLocked(long deadline, boolean commit, boolean all) {
        try {
            if (autoCommit && commit) {
                try {
                    Map<TopicPartition, OffsetAndMetadata> offsets = all ? toCommit() : confirmedOf(consumer.assignment());
                    if (!offsets.isEmpty()) {
                        try {
                            consumer.commitSync(offsets, left(deadline));
                        } catch (WakeupException e) {
                            // the wakeup meant for a poll that had already ended (a shed, say)
                            consumer.commitSync(offsets, left(deadline));
                        }
                    }
                } catch (RuntimeException e) {
                    LOG.warn("Final auto-commit of {}/{} failed: {}", group, name, e.toString());
                }
            }
            leaving = true; // the group's revocation in the close commits nothing again
            consumer.close(CloseOptions.timeout(left(deadline)));
        } catch (RuntimeException e) {
            LOG.warn("Closing consumer {}/{} failed: {}", group, name, e.toString());
        }
    }

    /** Reads waiting between two slices end now (a slice still queued finds the instance closed). */
    private void endReads() {
        for (AsyncRead read : reading) {
            read.result.completeExceptionally(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception());
        }
        reading.clear();
    }

    /**
     * Keeps fetched-but-unreturned records only for partitions the instance still owns. What a
     * stream handed out of a revoked partition is kept until the rebalance assigns: a partition
     * given straight back (the eager protocol revokes them all) goes on after what the stream
     * handed out (its batch in flight is still written; what it writes meanwhile counts as
     * returned once the partition is back), and a resume or a stream's end that came meanwhile
     * moves it back then ({@code rewindOnReturn}); one that went to another member is forgotten
     * (a resume never seeks it, a commit never names it). A lost partition is forgotten at once:
     * another member may have read it meanwhile.
     */
    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            heldLock.lock(); // a read may be taking what a fetch ahead brought
            try {
                commitOnRevocation(partitions);
                held.drop(partitions);
                delivered.revoked(partitions);
                handedOnRevocation.clear(); // a rebalance before ended with an assignment, or never gives them back
                handedBy = memberId();
                for (TopicPartition tp : partitions) {
                    // Kept over a second revocation before the assignment (a join started again).
                    revokedReturned |= returned.containsKey(tp);
                    Long last = returned.get(tp);
                    if (last != null && unconfirmed.containsKey(tp)) {
                        handedOnRevocation.put(tp, new Handed(unconfirmed.get(tp), last));
                    }
                }
                partitions.forEach(returned::remove);
                partitions.forEach(unconfirmed::remove);
                unwritten.revoked(partitions);
            } finally {
                heldLock.unlock();
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            heldLock.lock();
            try {
                held.drop(partitions);
                delivered.forget(partitions);
                handedOnRevocation.clear(); // the group went on without this member: another may have read them meanwhile
                revokedReturned = false; // the group went on without them: a commit of them would fail anyway
                notReturned(partitions);
                rewindOnReturn.keySet().removeAll(partitions);
            } finally {
                heldLock.unlock();
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            // The group protocol "consumer" calls this with no partitions when a member joins,
            // before its assignment: only partitions end the first read's wait.
            assigned |= !partitions.isEmpty();
            heldLock.lock();
            try {
                revokedReturned = false; // the rebalance ended: a commit covers what the instance has now
                delivered.assigned(partitions);
                // A partition given straight back (the eager protocol revokes them all) goes on
                // after what the stream handed out: its batch in flight is still written, and the
                // commit on revocation covered only what was written before.
                unwritten.assigned(partitions, (tp, last) -> {
                    returnedUpTo(tp, last);
                    returnedSinceCommit = true;
                }).forEach(consumer::seek);
                // A resume that came while the partitions were revoked moves them back now (a
                // partition gone to another member is not this instance's to move).
                rewindOnReturn.forEach((tp, offset) -> {
                    if (partitions.contains(tp)) {
                        startAt(tp, offset);
                    }
                });
                rewindOnReturn.clear();
                String member = handedOnRevocation.isEmpty() ? null : memberId();
                boolean sameMember = member != null && !member.isEmpty() && member.equals(handedBy);
                handedOnRevocation.forEach((tp, handed) -> {
                    if (sameMember && partitions.contains(tp)) {
                        consumer.seek(tp, handed.last() + 1);
                        returned.put(tp, handed.last());
                        if (!java.util.Objects.equals(handed.before(), handed.last())) {
                            unconfirmed.put(tp, handed.before());
                        }
                    }
                });
                handedOnRevocation.clear();
                // Nothing is returned of a partition the instance does not have: a commit never
                // moves another member's partition (a settle during the join may have noted one).
                returned.keySet().retainAll(consumer.assignment());
                unconfirmed.keySet().retainAll(consumer.assignment());
            } finally {
                heldLock.unlock();
            }
        }
    }
}
