package io.portico.sessions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portico.protocol.ErrorCode;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Portico nodes that serve one Kafka cluster together, and which node holds each consumer
 * instance, kept in a compacted, one-partition Kafka topic that every node writes and reads.
 *
 * <p>Records (keys and values are JSON text):
 * <ul>
 *   <li>{@code ["node","<id>"]} → {@code {"url":"http://…"}}, written every heartbeat interval;
 *       a tombstone when the node shuts down. A node not heard from for the expiry time has left
 *       (the view forgets it a day after it was last heard from, or the instance timeout when
 *       longer, once no instance record names it). Heartbeats are stamped by the broker ({@code LogAppendTime}) and compared with this
 *       node's clock, but never with a time more than two heartbeat intervals past the newest
 *       record read (see {@link #viewNow}): a view that reads late takes no node for departed
 *       early, and a clock ahead of the broker's at most two intervals early.</li>
 *   <li>{@code ["instance","<group>","<name>"]} → {@code {"node":"<id>"}}, written (acknowledged by
 *       every in-sync replica) before a create answers; a tombstone when the instance is deleted
 *       or expires. When two nodes claim one name, the first claim in the log whose node is alive
 *       keeps it. A node that starts removes the records its id left from a former run (a fixed
 *       {@code id} restarted): their instances did not survive it.</li>
 * </ul>
 *
 * <p>One thread reads the topic from its beginning and keeps the view; {@link #catchUp} waits
 * until the view has read all that was written before the call, so a node that is asked for an
 * instance created on another node a moment ago finds it.
 */
public final class NodeDirectory implements ConsumerRegistry.Ownership, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeDirectory.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The prefix of generated instance names; the node id and a UUID follow it. */
    public static final String GENERATED_PREFIX = "rest-consumer-";
    private static final int UUID_LENGTH = 36;

    /**
     * @param topic the compacted topic
     * @param nodeId this node's id (unique among the live nodes)
     * @param heartbeat how often this node says it is alive
     * @param expiry how long a node unheard of counts as alive
     * @param catchUpTimeout the longest wait for the view to read what was written
     * @param instanceTimeout how long an idle instance lives: the records of a departed node's
     *        instances are removed once they would have expired anyway
     * @param secret the nodes' shared secret ({@code nodes.secret}): every record written is
     *        signed with it and a record read without its signature is ignored, so that whoever
     *        may write the topic, but does not know the secret, cannot name a node (where requests,
     *        with the secret and callers' keys, would be relayed) or a holder; null: unsigned
     */
    public record Settings(String topic, String nodeId, Duration heartbeat, Duration expiry,
                           Duration catchUpTimeout, Duration instanceTimeout, String secret) {
        /** Unsigned records (tests of the view alone). */
        public Settings(String topic, String nodeId, Duration heartbeat, Duration expiry,
                        Duration catchUpTimeout, Duration instanceTimeout) {
            this(topic, nodeId, heartbeat, expiry, catchUpTimeout, instanceTimeout, null);
        }
    }

    /** The header holding a record's signature. */
    static final String SIGNATURE_HEADER = "portico-signature";
    private static final RateLimitedLog UNSIGNED = new RateLimitedLog(LOG, Duration.ofMinutes(1));

    /** The key of the records' MAC (the secret, for this use of it), or null when records are unsigned. */
    private final javax.crypto.spec.SecretKeySpec signer;

    private static javax.crypto.spec.SecretKeySpec signer(String secret) {
        if (secret == null) {
            return null;
        }
        javax.crypto.spec.SecretKeySpec key = new javax.crypto.spec.SecretKeySpec(("portico-node-directory\0" + secret)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8), "HmacSHA256");
        mac(key); // fails at start, not at the first record, where HmacSHA256 is missing
        return key;
    }

    /** A MAC of {@code key}: a new one each time (a Mac serves one thread at a time; records are few). */
    private static javax.crypto.Mac mac(javax.crypto.spec.SecretKeySpec key) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /** The signature of a record of {@code key} and {@code value} (null: a removal). */
    private byte[] signature(byte[] key, byte[] value) {
        javax.crypto.Mac mac = mac(signer);
        mac.update(key);
        mac.update((byte) 0);
        if (value == null) {
            mac.update((byte) 1);
        } else {
            mac.update((byte) 2);
            mac.update(value);
        }
        return mac.doFinal();
    }

    /** A record of the directory, signed when records are (package-private: tests). */
    ProducerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(settings.topic(), 0, key, value);
        if (signer != null) {
            record.headers().add(SIGNATURE_HEADER, signature(key, value));
        }
        return record;
    }

    /** Whether {@code r} carries this directory's signature (always, when records are unsigned). */
    private boolean signed(ConsumerRecord<byte[], byte[]> r) {
        if (signer == null) {
            return true;
        }
        org.apache.kafka.common.header.Header h = r.headers().lastHeader(SIGNATURE_HEADER);
        return r.key() != null && h != null && h.value() != null
                && java.security.MessageDigest.isEqual(h.value(), signature(r.key(), r.value()));
    }

    /** A live node. */
    public record Node(String id, URI url) {
    }

    /** Where an instance is. */
    public sealed interface Location permits Here, There, Gone, Unknown {
    }

    /** On this node (or nowhere this node knows better than itself). */
    public record Here() implements Location {
    }

    /** On another live node. */
    public record There(Node node) implements Location {
    }

    /** On a node that has left. */
    public record Gone(String nodeId) implements Location {
    }

    /** No node is known to hold it. */
    public record Unknown() implements Location {
    }

    /** A node's last heartbeat (broker time), or its departure when {@code left}. */
    private record Heard(URI url, long lastSeen, boolean left) {
    }

    private record InstanceKey(String group, String name) {
    }

    private final Settings settings;
    private final Producer<byte[], byte[]> producer;
    private final Consumer<byte[], byte[]> consumer;
    private final Supplier<Admin> admin;
    private final Clock clock;
    private final TopicPartition partition;
    private final Map<String, Heard> nodes = new ConcurrentHashMap<>();
    private final Map<InstanceKey, String> instances = new ConcurrentHashMap<>();
    /**
     * This node's claims written and not yet read back (guarded by itself), and of those, the
     * ones released meanwhile: a claim whose create failed (not read back in time) or whose
     * instance went while it was read back is removed once it is read, since until then the
     * view does not show this node as its holder and a release would find nothing to remove.
     */
    private final Map<InstanceKey, Integer> unread = new java.util.HashMap<>(); // claims of each name not read back yet
    private final java.util.Set<InstanceKey> releaseOnRead = new java.util.HashSet<>();
    private final Object progress = new Object();
    private long position; // guarded by progress: the next offset the view reads
    private final ScheduledExecutorService heartbeats;
    private final Thread reader;
    private volatile boolean closed;
    private volatile URI url;
    private volatile boolean leaving;
    /** Guards the departure ({@link #sayLeft}) alone. */
    private final Object departure = new Object();
    private boolean saidLeft; // guarded by departure
    private volatile java.util.function.Consumer<String> departures = id -> { };
    /**
     * Set once {@link #start} removed what this node's id held in a former run: until then a
     * claim naming this id is that run's, alive only as its heartbeats say (as another node's).
     */
    private volatile boolean formerRunRemoved;

    /**
     * @param producer writes the directory's records (acks=all)
     * @param consumer reads them; used by the directory's thread only
     * @param admin creates the topic and finds its end
     * @param clock the time nodes' heartbeats are compared with
     */
    public NodeDirectory(Settings settings, Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> consumer,
                         Supplier<Admin> admin, Clock clock) {
        this.settings = settings;
        this.producer = producer;
        this.consumer = consumer;
        this.admin = admin;
        this.clock = clock;
        this.partition = new TopicPartition(settings.topic(), 0);
        this.signer = signer(settings.secret());
        this.heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "portico-node-heartbeat");
            t.setDaemon(true);
            return t;
        });
        this.reader = new Thread(this::readLoop, "portico-node-directory");
        this.reader.setDaemon(true);
    }

    /**
     * Creates the topic when missing, starts reading it and heartbeating, and waits until the
     * view is current.
     *
     * @param url where the other nodes reach this one
     */
    public NodeDirectory start(URI url) {
        this.url = url;
        KafkaNames.reserve(settings.topic()); // hidden from clients: it holds the nodes' own state
        createTopic();
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        reader.start();
        heartbeat();
        long every = Math.max(1, settings.heartbeat().toMillis());
        heartbeats.scheduleWithFixedDelay(this::heartbeatQuietly, every, every, TimeUnit.MILLISECONDS);
        if (!catchUp(settings.catchUpTimeout().multipliedBy(4))) {
            LOG.warn("The node directory ({}) was not read to its end within {} ms; other nodes' instances may be "
                    + "reported unknown for a while", settings.topic(), settings.catchUpTimeout().multipliedBy(4).toMillis());
        }
        removeFormerRun();
        LOG.info("Node {} at {} joined the node directory {} ({} live node(s))", settings.nodeId(), url,
                settings.topic(), liveNodes().size());
        return this;
    }

    /**
     * Removes the records of the instances this node's id held in a former run (a node restarted
     * with a fixed {@code id}, after a crash or a shutdown): those instances went with that run,
     * and this one holds none yet, but as this node is alive again the other nodes would keep
     * their names taken (40902) and relay their requests here (40403) for as long as it lives.
     * Runs once the view is current and before this run creates anything; what it writes is read
     * back before it returns. A record it cannot remove stays until this id stops for good.
     */
    void removeFormerRun() {
        try {
            List<InstanceKey> former = instances.entrySet().stream()
                    .filter(e -> e.getValue().equals(settings.nodeId()))
                    .map(Map.Entry::getKey)
                    .toList();
            if (former.isEmpty()) {
                return;
            }
            long deadline = System.nanoTime() + settings.catchUpTimeout().toNanos();
            List<java.util.concurrent.Future<RecordMetadata>> sent = former.stream()
                    .map(k -> producer.send(record(instanceKey(k.group(), k.name()), null)))
                    .toList();
            long end = 0;
            for (java.util.concurrent.Future<RecordMetadata> f : sent) {
                end = Math.max(end, f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS).offset() + 1);
            }
            awaitPosition(end, deadline);
            LOG.info("Node {} removed {} consumer instance record(s) of its former run from the node directory {}",
                    settings.nodeId(), former.size(), settings.topic());
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("Node {} could not remove the consumer instance records of its former run from the node directory "
                    + "{}: {}; other nodes may report those instances held here, and keep their names taken",
                    settings.nodeId(), settings.topic(), e instanceof TimeoutException ? "no answer in time"
                            : KafkaErrors.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            formerRunRemoved = true;
        }
    }

    private void createTopic() {
        NewTopic topic = new NewTopic(settings.topic(), Optional.of(1), Optional.empty()).configs(Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime"));
        try {
            admin.get().createTopics(List.of(topic)).all().get(settings.catchUpTimeout().toMillis() * 4, TimeUnit.MILLISECONDS);
            LOG.info("Created the node directory topic {}", settings.topic());
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create the node directory topic " + settings.topic() + ": "
                        + KafkaErrors.describe(e.getCause()), e.getCause());
            }
        } catch (TimeoutException e) {
            throw new IllegalStateException("Kafka did not create the node directory topic " + settings.topic()
                    + " in time", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@link #start} ran. */
    public boolean started() {
        return url != null;
    }

    /** This node's id. */
    public String nodeId() {
        return settings.nodeId();
    }

    /** The nodes heard from within the expiry time, this one included. */
    public List<Node> liveNodes() {
        long now = viewNow();
        return nodes.entrySet().stream()
                .filter(e -> e.getKey().equals(settings.nodeId()) || alive(e.getValue(), now))
                .map(e -> new Node(e.getKey(), e.getValue().url()))
                .sorted(java.util.Comparator.comparing(Node::id))
                .toList();
    }

    /** How often nodes say they are alive. */
    public Duration heartbeatInterval() {
        return settings.heartbeat();
    }

    /**
     * Whether node {@code id} at {@code url} was heard from within the expiry time (a heartbeat),
     * or said it left within the expiry time and {@link #LEFT_FINISHING} (it finishes what it was
     * asked before it closes its connections, for as long as its graceful shutdown lets it): false
     * once a running node has not been heard from for that long (its host may have vanished, with
     * the connections to it), or when that id is now at another URL (it started again elsewhere).
     */
    public boolean heardFrom(String id, URI url) {
        Heard heard = nodes.get(id);
        return heard != null && heard.url().equals(url) && viewNow() - heard.lastSeen()
                < settings.expiry().toMillis() + (heard.left() ? LEFT_FINISHING.toMillis() : 0);
    }

    /**
     * How long past the expiry time a node that said it left is still taken to be finishing what
     * it was asked (its graceful shutdown, {@code shutdown.graceful.ms}, 10 s by default): a node
     * that vanished right after saying so (its host lost) has its relayed requests ended then.
     */
    static final Duration LEFT_FINISHING = Duration.ofMinutes(2);

    /**
     * Whether node {@code id} is running now: it sent a heartbeat within the last three heartbeat
     * intervals and has not said it left (a node that crashed is not, though it has not expired yet).
     */
    public boolean heartbeating(String id) {
        Heard heard = nodes.get(id);
        return heard != null && !heard.left()
                && viewNow() - heard.lastSeen() < 3 * settings.heartbeat().toMillis();
    }

    /**
     * Whether node {@code id}, known to the directory, is no longer heard from: it said it left,
     * or sent no heartbeat for the expiry time. False for a node the directory has not heard of
     * (one that just started may not have been read yet).
     */
    public boolean unheardOf(String id) {
        Heard heard = nodes.get(id);
        return heard != null && !id.equals(settings.nodeId()) && !alive(heard, viewNow());
    }

    /**
     * The time other nodes' heartbeats are judged against: the local clock, but at most two
     * heartbeat intervals past the newest record read from the directory (the broker's
     * timestamp). Every live node, this one included, writes a heartbeat each interval, so a view
     * reading up to date has read one within an interval; a view that stopped reading for a while
     * (this process paused, the broker moving) does not take the other nodes for departed because
     * their newer heartbeats are not read yet. Nothing read yet: the local clock alone. The claim
     * rule judges by the claim's own timestamp instead (see {@link #holderAlive}).
     */
    private long viewNow() {
        long now = clock.millis();
        long read = newestRead;
        return read == Long.MIN_VALUE ? now : Math.min(now, read + 2 * settings.heartbeat().toMillis());
    }

    /** The newest broker timestamp of a record read from the directory; MIN_VALUE before the first. */
    private volatile long newestRead = Long.MIN_VALUE;

    private boolean alive(Heard heard, long now) {
        return heard != null && !heard.left() && now - heard.lastSeen() < settings.expiry().toMillis();
    }

    /** Where the instance is, as far as the view knows now (no waiting). */
    public Location locate(String group, String name) {
        String node = instances.get(new InstanceKey(group, name));
        if (node == null) {
            node = generatedBy(name);
        }
        if (node == null) {
            return new Unknown();
        }
        if (node.equals(settings.nodeId())) {
            return new Here();
        }
        Heard heard = nodes.get(node);
        return alive(heard, viewNow()) ? new There(new Node(node, heard.url())) : new Gone(node);
    }

    /** The node id in a generated instance name ({@code rest-consumer-<node>-<uuid>}), or null. */
    static String generatedBy(String name) {
        int end = name.length() - UUID_LENGTH - 1;
        if (!name.startsWith(GENERATED_PREFIX) || end <= GENERATED_PREFIX.length() || name.charAt(end) != '-') {
            return null;
        }
        return name.substring(GENERATED_PREFIX.length(), end);
    }

    /**
     * Waits until the view has read every record written before this call, at most the
     * catch-up timeout (blocking: call it from a worker thread).
     *
     * @return whether it caught up
     */
    public boolean catchUp() {
        return catchUp(settings.catchUpTimeout());
    }

    /**
     * Whether the view has been read to the topic's end at least once: until then it holds a
     * past (a restarted node replays heartbeats minutes old) and judges no other node departed.
     */
    private volatile boolean current;

    /** The view has read the topic to its end once (see {@link #current}). */
    void caughtUp() {
        current = true;
    }

    private boolean catchUp(Duration timeout) {
        boolean caught = readUp(timeout);
        if (caught) {
            caughtUp();
        }
        return caught;
    }

    private boolean readUp(Duration timeout) {
        long arrived = System.nanoTime();
        long deadline = arrived + timeout.toNanos();
        long end;
        try {
            end = endAfter(arrived, deadline);
        } catch (ExecutionException | TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return awaitPosition(end, deadline);
    }

    /** A look-up of the topic's end that started after {@code arrived}: one at a time, shared by all who wait. */
    private record EndLookup(long started, java.util.concurrent.CompletableFuture<Long> end) {
    }

    /** Guards {@link #endLookup}: its own lock, which nothing holds while it waits. */
    private final Object endLock = new Object();
    private EndLookup endLookup; // guarded by endLock

    /**
     * The topic's end, from a look-up that started after {@code arrived}, waited for until
     * {@code deadline}. Many callers (a burst of requests for unknown instances) share one
     * look-up at a time. Everything but completing the look-up runs on the caller's thread: were
     * the next look-up started from the end of the one before (a chained stage), it would run
     * on the admin client's network thread, which must never wait for a lock of this directory.
     */
    private long endAfter(long arrived, long deadline)
            throws ExecutionException, TimeoutException, InterruptedException {
        while (true) {
            EndLookup lookup;
            synchronized (endLock) {
                lookup = endLookup;
                if (lookup == null || (lookup.started() < arrived && lookup.end().isDone())) {
                    lookup = new EndLookup(System.nanoTime(), lookUpEnd());
                    endLookup = lookup;
                }
            }
            if (lookup.started() >= arrived) {
                return lookup.end().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
            // Started before this caller arrived: the next one starts when it ends.
            try {
                lookup.end().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                // that look-up's failure; this caller's own comes next
            }
        }
    }

    /** Asks Kafka for the topic's end (guarded by endLock: one look-up at a time). */
    private java.util.concurrent.CompletableFuture<Long> lookUpEnd() {
        java.util.concurrent.CompletableFuture<Long> end = new java.util.concurrent.CompletableFuture<>();
        admin.get().listOffsets(Map.of(partition, OffsetSpec.latest()), new org.apache.kafka.clients.admin.ListOffsetsOptions()
                        .timeoutMs((int) Math.min(Integer.MAX_VALUE, settings.catchUpTimeout().toMillis())))
                .partitionResult(partition)
                .whenComplete((info, e) -> {
                    // On the admin client's thread: it completes the look-up and runs nothing else
                    // (its waiters are woken on their own threads).
                    if (e != null) {
                        end.completeExceptionally(e);
                    } else {
                        end.complete(info.offset());
                    }
                });
        return end;
    }

    private boolean awaitPosition(long offset, long deadline) {
        synchronized (progress) {
            while (position < offset && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return position >= offset;
        }
    }

    /**
     * Records that this node holds the instance, before its create answers (blocking).
     *
     * @throws io.portico.protocol.RestException 40902 when a live node claimed the name first,
     *         503 when Kafka does not take the record in time
     */
    @Override
    public void claim(String group, String name) {
        long deadline = System.nanoTime() + settings.catchUpTimeout().toNanos();
        InstanceKey claimed = new InstanceKey(group, name);
        synchronized (unread) {
            unread.merge(claimed, 1, Integer::sum);
            releaseOnRead.remove(claimed); // claimed again: an earlier claim's release is not this one's
        }
        // A claim that is never written (refused by Kafka, now or after this call gave up
        // waiting) is never read back either: it is not waited for then.
        RecordMetadata written = write(instanceKey(group, name), value("node", settings.nodeId()), true,
                () -> unwritten(claimed));
        if (!awaitPosition(written.offset() + 1, deadline)) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the node directory (" + settings.topic()
                    + ") was not read back in time; retry");
        }
        String holder = instances.get(new InstanceKey(group, name));
        if (!settings.nodeId().equals(holder)) {
            if (holder != null) {
                // Our later claim must not be what compaction keeps: the holder's claim is written again.
                write(instanceKey(group, name), value("node", holder), false);
            }
            throw ErrorCode.CONSUMER_ALREADY_EXISTS.exception();
        }
    }

    /**
     * This node begins to shut down: it stops heartbeating and says that it left, without
     * waiting for Kafka's acknowledgement (closing the directory flushes it). The other nodes then
     * tell callers of its instances that it left, and end the event streams this one relays
     * ({@link #onDeparture}), while its own requests in progress finish.
     */
    public void departing() {
        sayLeft(false);
    }

    /**
     * This node is shutting down: the records of its instances stay, so that requests for them
     * through other nodes are told that the node left (they are removed later, see
     * {@link #removeDeparted}); says it left if {@link #departing} did not.
     */
    public void leaving() {
        leaving = true;
        sayLeft(false);
    }

    /**
     * Calls {@code listener} with the id of every other node that says it left (on the
     * directory's reader thread: it must not block), so that this node ends the event streams
     * that node relays, whose end it waits for before it stops.
     */
    public void onDeparture(java.util.function.Consumer<String> listener) {
        this.departures = listener;
    }

    /**
     * Stops heartbeating and writes this node's departure (a tombstone for its heartbeat), once,
     * after a heartbeat being written (so that none lands after it); waits for Kafka's
     * acknowledgement when {@code await}. A second caller waits until the first has written it
     * (so that closing flushes it).
     */
    private void sayLeft(boolean await) {
        // Under a lock of its own, which the heartbeat path never takes: the heartbeat waited for
        // may still read up (removeDeparted), and were it to wait for this lock, the departure
        // would be late by the whole wait below (metadata.timeout.ms) while other nodes relay here.
        synchronized (departure) {
            if (saidLeft || url == null) {
                return;
            }
            saidLeft = true;
            heartbeats.shutdown(); // a heartbeat being written ends; no other starts
            boolean interrupted = false;
            try {
                heartbeats.awaitTermination(settings.catchUpTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
            try {
                write(nodeKey(settings.nodeId()), null, await);
            } catch (RuntimeException e) {
                LOG.debug("Could not say node {} left: {}", settings.nodeId(), e.getMessage());
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The instance left this node (deleted or expired): its record is removed. */
    @Override
    public void release(String group, String name) {
        InstanceKey key = new InstanceKey(group, name);
        if (closed || leaving) {
            return;
        }
        synchronized (unread) {
            if (unread.containsKey(key)) {
                releaseOnRead.add(key); // removed once this node's claim is read back (see apply)
                return;
            }
        }
        if (!settings.nodeId().equals(instances.get(key))) {
            return;
        }
        try {
            write(instanceKey(group, name), null, false);
        } catch (RuntimeException e) {
            LOG.debug("Could not remove instance {}/{} from the node directory: {}", group, name, e.toString());
        }
    }

    private void heartbeatQuietly() {
        try {
            heartbeat();
        } catch (Throwable e) { // anything: a scheduled task that throws is never run again
            LOG.warn("Node heartbeat to {} failed: {}", settings.topic(), e.toString());
        }
    }

    private void heartbeat() {
        write(nodeKey(settings.nodeId()), value("url", url.toString()), true);
        removeDeparted();
    }

    /** Whether the view has now read what was written before the call (tests replace it). */
    private volatile java.util.function.BooleanSupplier readsUp = this::readsUpInTime;

    private boolean readsUpInTime() {
        // At most a heartbeat interval: it runs on the heartbeat thread, whose next beat waits.
        return readUp(settings.heartbeat().compareTo(settings.catchUpTimeout()) < 0
                ? settings.heartbeat() : settings.catchUpTimeout());
    }

    /** Replaces how {@link #removeDeparted} finds whether the view reads up (tests). */
    void readsUpWith(java.util.function.BooleanSupplier readsUp) {
        this.readsUp = readsUp;
    }

    /**
     * The live node with the smallest id removes the records of instances whose node has left
     * (or is unknown), once those instances would have expired anyway.
     */
    void removeDeparted() {
        if (!current) {
            // Half read, the view takes every other node for departed (their newest heartbeats
            // are not read yet), and would remove the records of instances they hold.
            return;
        }
        List<Node> live = liveNodes();
        if (live.isEmpty() || !live.get(0).id().equals(settings.nodeId())) {
            return;
        }
        if (!readsUp.getAsBoolean()) {
            // So too a view that read nothing for a while (this process paused, or Kafka out of
            // reach for minutes), until it has read what the others wrote meanwhile.
            return;
        }
        long now = viewNow();
        instances.forEach((instance, node) -> {
            Heard heard = nodes.get(node);
            if (node.equals(settings.nodeId()) || alive(heard, now)) {
                return;
            }
            long lastSeen = heard == null ? 0 : heard.lastSeen();
            if (now - lastSeen >= settings.instanceTimeout().toMillis()) {
                write(instanceKey(instance.group(), instance.name()), null, false);
            }
        });
    }

    private RecordMetadata write(byte[] key, byte[] value, boolean await) {
        return write(key, value, await, () -> { });
    }

    /** As above; {@code unwritten} runs when Kafka refuses the record (at once, or later). */
    private RecordMetadata write(byte[] key, byte[] value, boolean await, Runnable unwritten) {
        java.util.concurrent.Future<RecordMetadata> sent;
        try {
            sent = producer.send(record(key, value), (metadata, e) -> {
                if (e != null) {
                    unwritten.run();
                }
            });
        } catch (RuntimeException e) {
            unwritten.run();
            throw e;
        }
        if (!await) {
            return null;
        }
        try {
            return sent.get(settings.catchUpTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new io.portico.protocol.RestException(ErrorCode.SERVICE_UNAVAILABLE, "the node directory ("
                    + settings.topic() + ") cannot be written: " + KafkaErrors.describe(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the node directory (" + settings.topic()
                    + ") was not written in time; retry");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
        }
    }

    private void readLoop() {
        while (!closed) {
            try {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    apply(r);
                }
                long next = consumer.position(partition);
                synchronized (progress) {
                    position = next;
                    progress.notifyAll();
                }
                long now = viewNow();
                if (forgotAt == Long.MIN_VALUE || now - forgotAt >= FORGET_EVERY_MS) {
                    forgotAt = now;
                    forgetGoneNodes();
                }
            } catch (WakeupException e) {
                // closing
            } catch (RuntimeException e) {
                if (!closed) {
                    LOG.warn("Reading the node directory {} failed: {}", settings.topic(), e.toString());
                    sleepQuietly(1000);
                }
            }
        }
    }

    /** How often (view time) the reader looks for nodes to forget: they are gone a day at least. */
    private static final long FORGET_EVERY_MS = 60_000;
    /** The view time {@link #forgetGoneNodes} last ran at (the reader's thread alone uses it). */
    private long forgotAt = Long.MIN_VALUE;

    /**
     * How long the view remembers a node that said it left or went silent. Most of what its entry
     * decides is judged within the expiry time (whether it is alive, now or when a claim was
     * written; whether it is heard from), and a node forgotten decides the same. Two answers
     * differ. Whether it is unheard of: an event stream it relayed here asks at each of its
     * heartbeats ({@code sse.heartbeat.ms}, an hour at most), and must be told so until it ends;
     * hence a day at least (and 24 expiries). And when its instances' records may be removed
     * ({@link #removeDeparted}; a node never heard of: at once): hence a node an instance record
     * names is never forgotten (see {@link #forgetGoneNodes}), and none before the instance
     * timeout, past which such records are removed anyway.
     */
    private Duration forgetAfter() {
        Duration atLeast = settings.expiry().multipliedBy(24);
        if (atLeast.compareTo(Duration.ofDays(1)) < 0) {
            atLeast = Duration.ofDays(1);
        }
        return settings.instanceTimeout().compareTo(atLeast) > 0 ? settings.instanceTimeout() : atLeast;
    }

    /**
     * Drops from the view the other nodes that left, or were last heard from, longer than
     * {@link #forgetAfter} ago (view time) and that no instance record names: every start under a
     * generated id adds a node, which would otherwise stay for this node's whole life, and
     * every heartbeat sorts them all ({@link #liveNodes}). A node forgotten counts as one never
     * heard of; heard from again, it is known again. Runs on the reader's thread (and tests), which
     * alone changes both maps, so that no record is applied between the look and the drop.
     */
    void forgetGoneNodes() {
        long now = viewNow();
        long after = forgetAfter().toMillis();
        java.util.Set<String> named = new java.util.HashSet<>(instances.values());
        nodes.entrySet().removeIf(e -> !e.getKey().equals(settings.nodeId()) && !named.contains(e.getKey())
                && now - e.getValue().lastSeen() >= after);
    }

    /** Applies one record of the directory to the view (the reader thread; tests). */
    void apply(ConsumerRecord<byte[], byte[]> r) {
        if (!signed(r)) {
            // Not written by a node knowing the secret (or by one of an older version, unsigned):
            // a writer of the topic must not be able to name where requests are relayed.
            UNSIGNED.warn("unsigned", "Ignored a record of the node directory {} at offset {} without a valid "
                    + "signature (written by a client that does not know nodes.secret, or by a node of another "
                    + "version or secret)", settings.topic(), r.offset());
            return;
        }
        if (r.timestamp() > newestRead) {
            newestRead = r.timestamp(); // the reader's thread alone writes it
        }
        JsonNode key;
        try {
            key = JSON.readTree(r.key());
        } catch (java.io.IOException | RuntimeException e) {
            return; // not ours
        }
        if (key == null || !key.isArray() || key.size() < 2) {
            return;
        }
        String kind = key.get(0).asText();
        if (kind.equals("node")) {
            String id = key.get(1).asText();
            if (r.value() == null) {
                // Kept as departed, so that requests for its instances are told the node left.
                nodes.computeIfPresent(id, (k, heard) -> new Heard(heard.url(), r.timestamp(), true));
                if (!id.equals(settings.nodeId())) {
                    try {
                        departures.accept(id);
                    } catch (RuntimeException e) {
                        LOG.warn("Ending what node {} relays failed: {}", id, e.toString());
                    }
                }
            } else {
                String url = field(r.value(), "url");
                if (url != null) {
                    nodes.put(id, new Heard(URI.create(url), r.timestamp(), false));
                    URI own = this.url;
                    if (own != null && id.equals(settings.nodeId())) {
                        if (own.toString().equals(url)) {
                            ownHeard = true;
                        } else if (ownHeard) { // not this node's former run, replayed before its first beat
                            twinHeard(url);
                        }
                    }
                }
            }
        } else if (kind.equals("instance") && key.size() == 3) {
            InstanceKey instance = new InstanceKey(key.get(1).asText(), key.get(2).asText());
            if (r.value() == null) {
                instances.remove(instance);
                return;
            }
            String node = field(r.value(), "node");
            if (node == null) {
                return;
            }
            instances.compute(instance, (k, holder) -> {
                // The first claim whose node is alive keeps the name; a claim by the holder itself
                // (written again) or after the holder left takes it.
                if (holder == null || holder.equals(node) || !holderAlive(holder, r.timestamp())) {
                    return node;
                }
                return holder;
            });
            if (node.equals(settings.nodeId())) {
                readBack(instance);
            }
        }
    }

    private volatile long twinLoggedAt = Long.MIN_VALUE;
    /** Whether a heartbeat of this node's own run was read (later ones of its id at another URL are a twin's). */
    private volatile boolean ownHeard;

    /**
     * Another process heartbeats under this node's id (two nodes given the same {@code id}):
     * each takes the other's instances for its own and a restart of one removes the other's
     * records. Said loudly, at most once a minute.
     */
    private void twinHeard(String otherUrl) {
        long now = clock.millis();
        if (twinLoggedAt == Long.MIN_VALUE || now - twinLoggedAt >= 60_000) {
            twinLoggedAt = now;
            LOG.error("Another node uses this node's id '{}' (it is at {}, this one at {}): give every node "
                    + "its own id, or consumer instances are lost and misdirected", settings.nodeId(), otherUrl, url);
        }
    }

    /**
     * A claim of {@code instance} that Kafka says it did not take: not waited for any more. Its
     * release stays asked for, as Kafka may have written it after all (a batch that expired in
     * flight): should it be read, it is removed then (see {@link #readBack}).
     */
    private void unwritten(InstanceKey instance) {
        synchronized (unread) {
            unread.computeIfPresent(instance, (k, n) -> n <= 1 ? null : n - 1);
        }
    }

    /**
     * This node's claim of {@code instance} was read (the reader thread): removed now when it was
     * released meanwhile, unless the name was made here again since (its new claim's).
     */
    private void readBack(InstanceKey instance) {
        synchronized (unread) {
            // A claim naming this node that it is not waiting for, once its former run's are gone: another
            // node's re-write of this node's claim (it lost a race for the name), which may come after
            // the instance was released here; without an instance behind it, it must not keep the name.
            boolean stray = !unread.containsKey(instance) && formerRunRemoved;
            if (unread.computeIfPresent(instance, (k, n) -> n <= 1 ? null : n - 1) != null) {
                return; // a later claim of the name is still to be read: what is released then is its
            }
            boolean released = releaseOnRead.remove(instance);
            if (!released && !stray || !settings.nodeId().equals(instances.get(instance))
                    || madeHere.test(instance.group(), instance.name())) {
                return;
            }
            // Written here, under the lock, so that no claim of the name comes between the look and the
            // tombstone (the producer knows the topic: it just wrote the claim).
            try {
                write(instanceKey(instance.group(), instance.name()), null, false, () -> { });
            } catch (RuntimeException e) {
                LOG.debug("Could not remove instance {}/{} from the node directory: {}", instance.group(),
                        instance.name(), e.toString());
            }
        }
    }

    /**
     * Tells whether this node's registry has an instance of the name now (being made included):
     * a claim released while it was read back is then not removed, since it is that instance's.
     */
    public void madeHere(java.util.function.BiPredicate<String, String> made) {
        this.madeHere = made;
    }

    private volatile java.util.function.BiPredicate<String, String> madeHere = (group, name) -> false;

    /**
     * Whether {@code node}, holding a name, was alive when a later claim of it was written
     * ({@code at}, the claim's broker timestamp): judged on the log alone, so every node, reading
     * it live or replaying it later, gives the name to the same node, this one's own claims
     * included (a node that lost Kafka past the expiry, whose name another node took meanwhile,
     * gives it up too, rather than serve an instance of that name beside the other node's).
     */
    private boolean holderAlive(String node, long at) {
        return alive(nodes.get(node), at);
    }

    private static String field(byte[] json, String name) {
        try {
            JsonNode v = JSON.readTree(json).get(name);
            return v == null || !v.isTextual() ? null : v.asText();
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    static byte[] nodeKey(String id) {
        return json(JSON.createArrayNode().add("node").add(id));
    }

    static byte[] instanceKey(String group, String name) {
        return json(JSON.createArrayNode().add("instance").add(group).add(name));
    }

    private static byte[] value(String field, String text) {
        ObjectNode v = JSON.createObjectNode();
        v.put(field, text);
        return json(v);
    }

    private static byte[] json(JsonNode node) {
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Says this node left (a tombstone for its heartbeat), then stops reading and writing. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        sayLeft(true);
        closed = true;
        consumer.wakeup();
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
        producer.close(Duration.ofSeconds(5));
        synchronized (progress) {
            progress.notifyAll();
        }
    }
}
