package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.RestException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The node directory's view, fed records as its reader thread would be, with a clock the test
 * moves: which node holds an instance, when a node counts as gone, which claim keeps a name, and
 * when a departed node's instance records are removed; and directories started over one topic in
 * memory: what a node restarted with its id removes.
 */
class NodeDirectoryTest {
    private static final String TOPIC = "__portico_nodes";
    private final MutableClock clock = new MutableClock();
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
            new ByteArraySerializer());
    private final NodeDirectory directory = new NodeDirectory(new NodeDirectory.Settings(TOPIC, "me",
            Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMinutes(5)),
            producer, new MockConsumer<>("earliest"), () -> null, clock);
    private long offset;

    private static final class MutableClock extends Clock {
        long millis = 1_000_000;

        @Override
        public long millis() {
            return millis;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    private void feed(byte[] key, String value) {
        directory.apply(new ConsumerRecord<>(TOPIC, 0, offset++, clock.millis, TimestampType.LOG_APPEND_TIME, -1, -1, key,
                value == null ? null : value.getBytes(StandardCharsets.UTF_8), new RecordHeaders(), Optional.empty()));
    }

    /** As {@link #feed}, stamped {@code timestamp} by the broker (a record written then, read now). */
    private void feedAt(long timestamp, byte[] key, String value) {
        directory.apply(new ConsumerRecord<>(TOPIC, 0, offset++, timestamp, TimestampType.LOG_APPEND_TIME, -1, -1, key,
                value == null ? null : value.getBytes(StandardCharsets.UTF_8), new RecordHeaders(), Optional.empty()));
    }

    private void heartbeat(String node) {
        feed(NodeDirectory.nodeKey(node), "{\"url\":\"http://" + node + ":8082\"}");
    }

    private void claim(String group, String name, String node) {
        feed(NodeDirectory.instanceKey(group, name), "{\"node\":\"" + node + "\"}");
    }

    /** A directory of node {@code id} whose records are signed with {@code secret}. */
    private NodeDirectory signing(String id, String secret) {
        return new NodeDirectory(new NodeDirectory.Settings(TOPIC, id, Duration.ofSeconds(1), Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofMinutes(5), secret), producer, new MockConsumer<>("earliest"), () -> null,
                clock);
    }

    /** {@code written} as the directory's reader reads it, its value replaced by {@code value} when not null. */
    private ConsumerRecord<byte[], byte[]> read(org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]> written,
                                                byte[] key, byte[] value) {
        return new ConsumerRecord<>(TOPIC, 0, offset++, clock.millis, TimestampType.LOG_APPEND_TIME, -1, -1, key, value,
                new RecordHeaders(written.headers().toArray()), Optional.empty());
    }

    @Test
    void withTheNodesSecretOnlyRecordsSignedWithItAreRead() {
        String secret = "the-nodes-secret-0123456789";
        NodeDirectory reader = signing("me", secret);
        NodeDirectory writer = signing("b", secret);
        NodeDirectory stranger = signing("x", "another-secret-0123456789");
        byte[] node = NodeDirectory.nodeKey("b");
        byte[] at = "{\"url\":\"http://b:8082\"}".getBytes(StandardCharsets.UTF_8);
        java.util.function.Supplier<Boolean> known = () -> reader.liveNodes().stream().anyMatch(n -> n.id().equals("b"));

        reader.apply(new ConsumerRecord<>(TOPIC, 0, offset++, clock.millis, TimestampType.LOG_APPEND_TIME, -1, -1, node,
                at, new RecordHeaders(), Optional.empty()));
        assertFalse(known.get(), "unsigned: a client of the topic that does not know the secret");
        reader.apply(read(stranger.record(node, at), node, at));
        assertFalse(known.get(), "signed with another secret");
        byte[] elsewhere = "{\"url\":\"http://attacker:80\"}".getBytes(StandardCharsets.UTF_8);
        reader.apply(read(writer.record(node, at), node, elsewhere));
        assertFalse(known.get(), "a signature copied onto another value");
        reader.apply(read(writer.record(node, at), node, at));
        assertTrue(known.get(), "signed by a node that knows the secret");

        byte[] instance = NodeDirectory.instanceKey("g", "i");
        byte[] held = "{\"node\":\"b\"}".getBytes(StandardCharsets.UTF_8);
        org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]> claim = writer.record(instance, held);
        reader.apply(read(claim, NodeDirectory.instanceKey("g", "other"), held));
        assertInstanceOf(NodeDirectory.Unknown.class, reader.locate("g", "other"), "a signature copied onto another key");
        reader.apply(read(claim, instance, held));
        assertEquals(new NodeDirectory.There(new NodeDirectory.Node("b", URI.create("http://b:8082"))), reader.locate("g", "i"));
        reader.apply(read(claim, instance, null));
        assertInstanceOf(NodeDirectory.There.class, reader.locate("g", "i"), "a removal is signed on its own");
        reader.apply(read(writer.record(instance, null), instance, null));
        assertInstanceOf(NodeDirectory.Unknown.class, reader.locate("g", "i"), "removed by a signed removal");
    }

    @Test
    void anInstanceOnALiveNodeIsThereAndOnANodeUnheardOfForTheExpiryGone() {
        heartbeat("me");
        heartbeat("b");
        claim("g", "c1", "b");
        NodeDirectory.Location at = directory.locate("g", "c1");
        assertEquals(new NodeDirectory.There(new NodeDirectory.Node("b", URI.create("http://b:8082"))), at);

        clock.millis += 4_999;
        heartbeat("me"); // this node's own, read as it goes on beating
        assertInstanceOf(NodeDirectory.There.class, directory.locate("g", "c1"));
        clock.millis += 1;
        heartbeat("me");
        assertEquals(new NodeDirectory.Gone("b"), directory.locate("g", "c1"));
        heartbeat("b");
        assertInstanceOf(NodeDirectory.There.class, directory.locate("g", "c1"), "a heartbeat brings it back");
    }

    @Test
    void aNodeThatSaysItLeftIsGoneAtOnceAndItsInstancesSaySo() {
        heartbeat("b");
        claim("g", "c1", "b");
        feed(NodeDirectory.nodeKey("b"), null);
        assertEquals(new NodeDirectory.Gone("b"), directory.locate("g", "c1"));
        assertEquals(List.of(), directory.liveNodes().stream().filter(n -> n.id().equals("b")).toList());
    }

    @Test
    void theDepartureOfAnotherNodeIsToldToTheListenerAndThisNodesOwnIsNot() {
        List<String> departed = new java.util.ArrayList<>();
        directory.onDeparture(departed::add);
        heartbeat("me");
        heartbeat("b");
        feed(NodeDirectory.nodeKey("b"), null);
        feed(NodeDirectory.nodeKey("me"), null);
        assertEquals(List.of("b"), departed);

        // A listener that fails does not stop the directory from taking the departure in.
        directory.onDeparture(id -> {
            throw new IllegalStateException("listener failed");
        });
        heartbeat("c");
        claim("g", "c2", "c");
        feed(NodeDirectory.nodeKey("c"), null);
        assertEquals(new NodeDirectory.Gone("c"), directory.locate("g", "c2"));
    }

    @Test
    void aNodeThatSaidItLeftIsStillHeardFromForTheRequestsRelayedToItPastTheExpiry() {
        // Its graceful shutdown may outlast nodes.expiry.ms: what it was asked before it left is
        // finished, and its connections closed, by that node itself; one that went silent is not.
        java.net.URI b = java.net.URI.create("http://b:8082");
        java.net.URI c = java.net.URI.create("http://c:8082");
        heartbeat("b");
        heartbeat("c");
        feed(NodeDirectory.nodeKey("c"), null); // c says it left
        clock.millis += 5_000; // the expiry
        heartbeat("me"); // the view reads on
        assertFalse(directory.heardFrom("b", b), "silent for the expiry time");
        assertTrue(directory.heardFrom("c", c), "left, finishing what it was asked");
        assertFalse(directory.heardFrom("c", java.net.URI.create("http://elsewhere:8082")), "not at another URL");
        assertTrue(directory.unheardOf("c"), "yet gone for new requests");
        clock.millis += NodeDirectory.LEFT_FINISHING.toMillis();
        heartbeat("me");
        assertFalse(directory.heardFrom("c", c), "a node that vanished after it said it left is not waited for long");
    }

    @Test
    void aKnownNodeIsUnheardOfOnceItExpiresOrLeftAndAnUnknownOneIsNot() {
        assertFalse(directory.unheardOf("new"), "not heard of yet: may just have started");
        heartbeat("b");
        heartbeat("c");
        heartbeat("me");
        assertFalse(directory.unheardOf("b"));
        clock.millis += 5_000; // the expiry
        heartbeat("c");
        assertTrue(directory.unheardOf("b"), "no heartbeat for the expiry time");
        assertFalse(directory.unheardOf("c"));
        assertFalse(directory.unheardOf("me"), "never this node itself");
        feed(NodeDirectory.nodeKey("c"), null);
        assertTrue(directory.unheardOf("c"), "said it left");
        heartbeat("b");
        assertFalse(directory.unheardOf("b"), "heard from again");
    }

    @Test
    void generatedNamesNameTheirNodeAndOtherNamesNeedARecord() {
        heartbeat("node-7.x");
        String generated = "rest-consumer-node-7.x-" + java.util.UUID.randomUUID();
        assertEquals("node-7.x", NodeDirectory.generatedBy(generated));
        assertInstanceOf(NodeDirectory.There.class, directory.locate("g", generated));
        assertEquals(new NodeDirectory.Here(), directory.locate("g", "rest-consumer-me-" + java.util.UUID.randomUUID()));
        assertNull(NodeDirectory.generatedBy("rest-consumer-" + java.util.UUID.randomUUID()));
        assertNull(NodeDirectory.generatedBy("my_consumer"));
        assertEquals(new NodeDirectory.Unknown(), directory.locate("g", "my_consumer"));
        assertEquals(new NodeDirectory.Gone("unheard"), directory.locate("g", "rest-consumer-unheard-"
                + java.util.UUID.randomUUID()));
    }

    @Test
    void theFirstClaimOfALiveNodeKeepsTheNameAndATombstoneFreesIt() {
        heartbeat("b");
        heartbeat("c");
        claim("g", "same", "b");
        claim("g", "same", "c");
        assertEquals("b", ((NodeDirectory.There) directory.locate("g", "same")).node().id());
        claim("g", "same", "b"); // the holder writing its claim again
        assertEquals("b", ((NodeDirectory.There) directory.locate("g", "same")).node().id());
        feed(NodeDirectory.instanceKey("g", "same"), null);
        assertEquals(new NodeDirectory.Unknown(), directory.locate("g", "same"));
        clock.millis += 10_000; // b is gone: a live node's claim takes the name
        heartbeat("c");
        claim("g", "other", "b");
        claim("g", "other", "c");
        assertEquals("c", ((NodeDirectory.There) directory.locate("g", "other")).node().id());
    }

    @Test
    void aSecondClaimIsJudgedAtItsOwnTimestampSoANodeReadingItLaterDecidesAsTheOthersDid() {
        heartbeat("b");
        heartbeat("c");
        claim("g", "x", "b");
        long written = clock.millis + 1_000; // c claims x while b is alive: b keeps it
        clock.millis += 60_000; // this node reads that claim a minute later (it was paused, or started since)
        feedAt(written, NodeDirectory.instanceKey("g", "x"), "{\"node\":\"c\"}");
        NodeDirectory.Location at = directory.locate("g", "x");
        String holder = at instanceof NodeDirectory.There there ? there.node().id()
                : at instanceof NodeDirectory.Gone gone ? gone.nodeId() : null;
        assertEquals("b", holder, "b holds x, not c: " + at);
    }

    @Test
    void theSmallestLiveNodeRemovesADepartedNodesInstancesOnceTheyWouldHaveExpired() {
        boolean[] readsUp = {true};
        directory.readsUpWith(() -> readsUp[0]);
        heartbeat("a-me-first"); // not this node: "me" is not the smallest live id
        heartbeat("me");
        heartbeat("x");
        claim("g", "held", "x");
        feed(NodeDirectory.nodeKey("x"), null);
        clock.millis += Duration.ofMinutes(6).toMillis();
        heartbeat("me");
        directory.removeDeparted();
        assertEquals(0, producer.history().size(), "a view not yet read to the end judges no one departed");
        directory.caughtUp();
        heartbeat("a-me-first");
        directory.removeDeparted();
        assertEquals(0, producer.history().size(), "only the smallest live node cleans up");

        clock.millis += Duration.ofSeconds(10).toMillis(); // a-me-first is gone now
        heartbeat("me");
        readsUp[0] = false; // this process paused, or Kafka out of reach: the others' news not read
        directory.removeDeparted();
        assertEquals(0, producer.history().size(), "a view that cannot read up judges no one departed");
        readsUp[0] = true;
        directory.removeDeparted();
        assertEquals(1, producer.history().size());
        assertNull(producer.history().get(0).value(), "a tombstone");
        assertEquals(new String(NodeDirectory.instanceKey("g", "held"), StandardCharsets.UTF_8),
                new String(producer.history().get(0).key(), StandardCharsets.UTF_8));
    }

    @Test
    void aNodeGoneForADayThatNoInstanceRecordNamesIsForgotten() {
        heartbeat("me");
        heartbeat("b");
        feed(NodeDirectory.nodeKey("b"), null); // said it left
        heartbeat("c"); // goes silent
        heartbeat("d");
        claim("g", "held", "d"); // goes silent too, its instance's record left behind
        clock.millis += Duration.ofDays(1).toMillis() - 1; // more than the instance timeout (5 min), 24 expiries
        heartbeat("me");
        directory.forgetGoneNodes();
        assertTrue(directory.unheardOf("b"), "remembered for a day: an event stream b relays is told b is gone");
        assertTrue(directory.unheardOf("c"));
        assertTrue(directory.unheardOf("d"));

        clock.millis += 1;
        heartbeat("me");
        directory.forgetGoneNodes();
        assertFalse(directory.unheardOf("b"), "forgotten, as a node never heard of");
        assertFalse(directory.unheardOf("c"), "forgotten, as a node never heard of");
        assertTrue(directory.unheardOf("d"), "an instance record still names it");
        assertEquals(new NodeDirectory.Gone("d"), directory.locate("g", "held"));
        assertEquals(new NodeDirectory.Gone("b"), directory.locate("g", "rest-consumer-b-" + java.util.UUID.randomUUID()),
                "a generated name of a forgotten node still tells that its node left");

        feed(NodeDirectory.instanceKey("g", "held"), null); // removed (by the smallest live node)
        directory.forgetGoneNodes();
        assertFalse(directory.unheardOf("d"), "no record names it any more");

        clock.millis += Duration.ofDays(2).toMillis();
        heartbeat("e"); // this node's own heartbeats not read meanwhile (Kafka slow to take them)
        directory.forgetGoneNodes();
        assertEquals(List.of("e", "me"), directory.liveNodes().stream().map(NodeDirectory.Node::id).toList(),
                "this node itself is never forgotten");
        heartbeat("b");
        assertEquals(List.of("b", "e", "me"), directory.liveNodes().stream().map(NodeDirectory.Node::id).toList(),
                "a forgotten node heard from again is known again");
    }

    @Test
    void aLookUpOfTheTopicsEndThatWaitedForTheOneBeforeStartsOnItsCallersThreadNotTheAdminClients()
            throws Exception {
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        List<KafkaFutureImpl<ListOffsetsResult.ListOffsetsResultInfo>> lookUps = new CopyOnWriteArrayList<>();
        List<String> askedOn = new CopyOnWriteArrayList<>();
        Admin admin = new FakeAdmin().on("listOffsets", args -> {
            askedOn.add(Thread.currentThread().getName());
            KafkaFutureImpl<ListOffsetsResult.ListOffsetsResultInfo> end = new KafkaFutureImpl<>();
            lookUps.add(end);
            return new ListOffsetsResult(Map.of(partition, end));
        }).admin();
        NodeDirectory reading = new NodeDirectory(new NodeDirectory.Settings(TOPIC, "me", Duration.ofSeconds(1),
                Duration.ofSeconds(5), Duration.ofMinutes(1), Duration.ofMinutes(5)), producer,
                new MockConsumer<>("earliest"), () -> admin, clock);
        boolean[] caughtUp = new boolean[2];
        Thread first = new Thread(() -> caughtUp[0] = reading.catchUp(), "caller-1");
        first.start();
        while (lookUps.isEmpty()) {
            Thread.sleep(5);
        }
        Thread second = new Thread(() -> caughtUp[1] = reading.catchUp(), "caller-2"); // after the first look-up began
        second.start();
        while (second.getState() != Thread.State.TIMED_WAITING) {
            Thread.sleep(1); // it waits for that look-up to end, then starts its own
        }
        Thread network = new Thread(() -> lookUps.get(0).complete(
                new ListOffsetsResult.ListOffsetsResultInfo(0, -1, Optional.empty())), "kafka-admin-client-thread");
        network.start();
        network.join();
        while (lookUps.size() < 2) {
            Thread.sleep(5);
        }
        lookUps.get(1).complete(new ListOffsetsResult.ListOffsetsResultInfo(0, -1, Optional.empty()));
        first.join();
        second.join();
        assertTrue(caughtUp[0] && caughtUp[1]);
        assertEquals(List.of("caller-1", "caller-2"), askedOn,
                "the admin client's thread, which answers every admin call, never runs the directory's own work");
    }

    /**
     * The directory topic in memory, with the clock of the test as the broker's: the producers it
     * makes append to it (acknowledged at once), the consumers it makes read it from its start.
     */
    private final class Topic {
        private final TopicPartition partition = new TopicPartition(TOPIC, 0);
        private final List<ConsumerRecord<byte[], byte[]>> records = new CopyOnWriteArrayList<>();
        private final List<NodeDirectory> started = new ArrayList<>();
        /** While set, the consumers made read nothing more (a directory slow to read back). */
        volatile boolean holding;
        /** While set, the producers made take nothing: their sends wait, their callbacks kept here. */
        volatile boolean stalling;
        final List<Callback> stalled = new CopyOnWriteArrayList<>();
        /** For each send stalled, in order: writes its record and completes it (Kafka takes it after all). */
        final List<Runnable> held = new CopyOnWriteArrayList<>();

        synchronized long append(byte[] key, byte[] value) {
            long at = records.size();
            records.add(new ConsumerRecord<>(TOPIC, 0, at, clock.millis(), TimestampType.LOG_APPEND_TIME, -1, -1, key,
                    value, new RecordHeaders(), Optional.empty()));
            return at;
        }

        void append(byte[] key, String value) {
            append(key, value == null ? null : value.getBytes(StandardCharsets.UTF_8));
        }

        /** The keys of the tombstones written, as text. */
        List<String> tombstones() {
            return records.stream().filter(r -> r.value() == null)
                    .map(r -> new String(r.key(), StandardCharsets.UTF_8)).toList();
        }

        Producer<byte[], byte[]> producer() {
            return new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()) {
                @Override
                public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> r, Callback callback) {
                    if (stalling) {
                        stalled.add(callback);
                        CompletableFuture<RecordMetadata> sent = new CompletableFuture<>();
                        held.add(() -> sent.complete(new RecordMetadata(partition, append(r.key(), r.value()), 0,
                                clock.millis(), -1, -1)));
                        return sent;
                    }
                    long offset = append(r.key(), r.value());
                    return CompletableFuture.completedFuture(new RecordMetadata(partition, offset, 0, clock.millis(), -1, -1));
                }
            };
        }

        Consumer<byte[], byte[]> consumer() {
            MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest") {
                private int read;

                @Override
                public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
                    ConsumerRecords<byte[], byte[]> polled;
                    synchronized (this) {
                        while (!holding && read < records.size()) {
                            addRecord(records.get(read++));
                        }
                        polled = super.poll(timeout);
                    }
                    if (polled.isEmpty()) {
                        try {
                            Thread.sleep(5); // as a poll that waits for records
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    return polled;
                }
            };
            consumer.updateBeginningOffsets(Map.of(partition, 0L));
            return consumer;
        }

        /** A node's directory over this topic, started. */
        NodeDirectory start(String id) {
            return start(id, Duration.ofSeconds(5));
        }

        /** As above, waiting at most {@code catchUp} to read back what it wrote. */
        NodeDirectory start(String id, Duration catchUp) {
            FakeAdmin admin = new FakeAdmin()
                    .on("createTopics", args -> new CreateTopicsResult(Map.of(TOPIC, failed(new TopicExistsException(TOPIC)))) {
                    })
                    .on("listOffsets", args -> new ListOffsetsResult(Map.of(partition, KafkaFuture.completedFuture(
                            new ListOffsetsResult.ListOffsetsResultInfo(records.size(), -1, Optional.empty())))));
            Admin client = admin.admin();
            NodeDirectory node = new NodeDirectory(new NodeDirectory.Settings(TOPIC, id, Duration.ofMillis(200),
                    Duration.ofSeconds(5), catchUp, Duration.ofMinutes(5)), producer(), consumer(), () -> client,
                    clock);
            started.add(node);
            return node.start(URI.create("http://" + id + ":8082"));
        }
    }

    /**
     * The read-back bound of a node whose claims the test makes fail (each such claim waits it
     * out): longer than a stall of the machine, which the claims that must succeed wait through.
     */
    private static final Duration FAILING_CATCH_UP = Duration.ofSeconds(3);

    /** Whether {@code node} catches up within 30 s (a false catchUp() means only "not yet"). */
    private static boolean caughtUp(NodeDirectory node) throws InterruptedException {
        return SessionTestConsumer.waitUntil(node::catchUp, Duration.ofSeconds(30));
    }

    private static <T> KafkaFuture<T> failed(Throwable e) {
        KafkaFutureImpl<T> f = new KafkaFutureImpl<>();
        f.completeExceptionally(e);
        return f;
    }

    @Test
    void aViewThatStopsReadingTakesNoOtherNodeForDepartedUntilItHasReadAgain() throws Exception {
        Topic topic = new Topic();
        try {
            // Node b beat once and holds c1; it is silent from here on.
            topic.append(NodeDirectory.nodeKey("b"), "{\"url\":\"http://b:8082\"}");
            topic.append(NodeDirectory.instanceKey("g", "c1"), "{\"node\":\"b\"}");
            NodeDirectory me = topic.start("me");
            assertEquals("b", ((NodeDirectory.There) me.locate("g", "c1")).node().id());

            topic.holding = true; // this node's reader stalls (a pause, the broker moving)
            clock.millis += 10_000; // twice the expiry: b's newer heartbeats, had it sent any, are not read either
            assertEquals("b", ((NodeDirectory.There) me.locate("g", "c1")).node().id(),
                    "a stalled view does not tell b's clients that b has left");
            assertFalse(me.unheardOf("b"));
            assertTrue(me.liveNodes().stream().anyMatch(n -> n.id().equals("b")));

            topic.holding = false; // read again: its own heartbeats since the stall, and none of b's
            assertTrue(SessionTestConsumer.waitUntil(() -> me.unheardOf("b"), Duration.ofSeconds(30)),
                    "b was silent for the expiry while this node's own heartbeats were read: departed");
            assertEquals(new NodeDirectory.Gone("b"), me.locate("g", "c1"));
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aNodeRestartedWithItsIdRemovesTheInstancesOfItsFormerRunAndAnotherNodeMayTakeTheirNames() {
        Topic topic = new Topic();
        try {
            // Node "a" ran, created my_consumer and died a moment ago (nothing said it left).
            topic.append(NodeDirectory.nodeKey("a"), "{\"url\":\"http://a:8082\"}");
            topic.append(NodeDirectory.instanceKey("g", "my_consumer"), "{\"node\":\"a\"}");
            NodeDirectory b = topic.start("b");
            assertEquals("a", ((NodeDirectory.There) b.locate("g", "my_consumer")).node().id());

            NodeDirectory a = topic.start("a"); // its registry is empty: my_consumer is gone
            assertTrue(b.catchUp());
            assertEquals(new NodeDirectory.Unknown(), b.locate("g", "my_consumer"), "not relayed to a (40403 there)");
            b.claim("g", "my_consumer"); // not 40902
            assertEquals(List.of(new String(NodeDirectory.instanceKey("g", "my_consumer"), StandardCharsets.UTF_8)),
                    topic.tombstones(), "its record removed (not left to pile up with each restart)");
            assertTrue(a.catchUp());
            assertEquals("b", ((NodeDirectory.There) a.locate("g", "my_consumer")).node().id());

            // The new run's own instances stay its own.
            a.claim("g", "new_one");
            assertTrue(b.catchUp());
            assertEquals("a", ((NodeDirectory.There) b.locate("g", "new_one")).node().id());
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aClaimNotReadBackInTimeAndReleasedIsRemovedOnceItIsReadSoOtherNodesMayTakeTheName() throws Exception {
        Topic topic = new Topic();
        try {
            NodeDirectory a = topic.start("a", FAILING_CATCH_UP);
            NodeDirectory b = topic.start("b");
            topic.holding = true; // the directory is slow to read back: a's claim fails (503)
            RestException failed = assertThrows(RestException.class, () -> a.claim("g", "worker-1"));
            assertEquals(503, failed.httpStatus(), failed.getMessage());
            a.release("g", "worker-1"); // as its registry does once the create failed
            String claimKey = new String(NodeDirectory.instanceKey("g", "worker-1"), StandardCharsets.UTF_8);
            assertFalse(topic.tombstones().contains(claimKey), "nothing to remove before the claim is read");
            topic.holding = false;
            assertTrue(caughtUp(a));
            for (int i = 0; i < 500 && !topic.tombstones().contains(claimKey); i++) {
                Thread.sleep(10); // removed on the directory's own thread
            }
            assertTrue(topic.tombstones().contains(claimKey), "the claim removed once read: " + topic.tombstones());
            assertTrue(b.catchUp());
            assertEquals(new NodeDirectory.Unknown(), b.locate("g", "worker-1"));
            b.claim("g", "worker-1"); // not 40902
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    /**
     * {@code a}'s claim of {@code g/name} while the cluster takes nothing: its create gives up
     * (503) and its registry releases the name; then Kafka says it did not take the record.
     */
    private static void refusedAfterItsCreateGaveUp(Topic topic, NodeDirectory a, String name) {
        topic.stalling = true;
        assertEquals(503, assertThrows(RestException.class, () -> a.claim("g", name)).httpStatus());
        a.release("g", name);
        topic.stalling = false;
        for (Callback refused : topic.stalled) {
            refused.onCompletion(null, new org.apache.kafka.common.errors.TimeoutException("expired"));
        }
    }

    @Test
    void aClaimKafkaRefusesAfterItsCreateGaveUpDoesNotKeepLaterReleasesOfTheNameWaiting() throws Exception {
        Topic topic = new Topic();
        try {
            NodeDirectory a = topic.start("a", FAILING_CATCH_UP);
            refusedAfterItsCreateGaveUp(topic, a, "w1");
            a.claim("g", "w1"); // created again, and then deleted
            assertTrue(caughtUp(a));
            a.release("g", "w1");
            String claimKey = new String(NodeDirectory.instanceKey("g", "w1"), StandardCharsets.UTF_8);
            assertEquals(List.of(claimKey), topic.tombstones(), "the name is free again on every node");
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aClaimKafkaSaysItDidNotTakeButWroteAfterAllIsRemovedOnceRead() throws Exception {
        Topic topic = new Topic();
        try {
            NodeDirectory a = topic.start("a", FAILING_CATCH_UP);
            refusedAfterItsCreateGaveUp(topic, a, "w1"); // a batch that expired in flight: written all the same
            topic.append(NodeDirectory.instanceKey("g", "w1"), "{\"node\":\"a\"}");
            assertTrue(caughtUp(a));
            String claimKey = new String(NodeDirectory.instanceKey("g", "w1"), StandardCharsets.UTF_8);
            for (int i = 0; i < 500 && !topic.tombstones().contains(claimKey); i++) {
                Thread.sleep(10);
            }
            assertEquals(List.of(claimKey), topic.tombstones(), "the name is free again on every node");
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aNodeUnheardOfPastTheExpiryLosesItsOwnNameToALaterClaimAsEveryOtherNodeDecides() throws Exception {
        Topic topic = new Topic();
        try {
            NodeDirectory a = topic.start("a");
            a.madeHere((group, name) -> name.equals("x"));
            a.claim("g", "x");
            assertTrue(caughtUp(a));
            assertEquals(new NodeDirectory.Here(), a.locate("g", "x"));
            topic.stalling = true; // a loses Kafka: its heartbeats no longer land
            clock.millis += 10_000; // past the expiry (5 s)
            topic.append(NodeDirectory.nodeKey("b"), "{\"url\":\"http://b:8082\"}");
            topic.append(NodeDirectory.instanceKey("g", "x"), "{\"node\":\"b\"}"); // a client made x again, on b
            assertTrue(SessionTestConsumer.waitUntil(() -> a.locate("g", "x") instanceof NodeDirectory.There,
                    Duration.ofSeconds(30)), "b holds x in a's view too: " + a.locate("g", "x"));
            assertEquals("b", ((NodeDirectory.There) a.locate("g", "x")).node().id());
        } finally {
            topic.stalling = false;
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aClaimNamingThisNodeThatItNeverWroteIsRemovedWhenNoInstanceIsBehindIt() throws Exception {
        // Two nodes claimed one name at once; the loser wrote the winner's claim again, read only
        // after the winner (this node) had released the instance: that claim must not keep the name.
        Topic topic = new Topic();
        try {
            NodeDirectory a = topic.start("a");
            assertTrue(caughtUp(a));
            topic.append(NodeDirectory.instanceKey("g", "raced"), "{\"node\":\"a\"}");
            String claimKey = new String(NodeDirectory.instanceKey("g", "raced"), StandardCharsets.UTF_8);
            for (int i = 0; i < 500 && !topic.tombstones().contains(claimKey); i++) {
                Thread.sleep(10);
            }
            assertEquals(List.of(claimKey), topic.tombstones(), "the name is free again on every node");
            // One with its instance here stays.
            a.madeHere((group, name) -> name.equals("live"));
            topic.append(NodeDirectory.instanceKey("g", "live"), "{\"node\":\"a\"}");
            assertTrue(caughtUp(a));
            assertEquals(List.of(claimKey), topic.tombstones());
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aReleaseThatComesAfterTheNameWasMadeHereAgainDoesNotRemoveTheNewInstancesClaim() throws Exception {
        Topic topic = new Topic();
        try {
            NodeDirectory a = topic.start("a", Duration.ofSeconds(5));
            java.util.Set<String> made = java.util.concurrent.ConcurrentHashMap.newKeySet();
            a.madeHere((group, name) -> made.contains(group + "/" + name));
            topic.holding = true;
            made.add("g/w1"); // the registry makes the instance, then claims its name
            CompletableFuture<Void> claiming = CompletableFuture.runAsync(() -> a.claim("g", "w1"));
            while (topic.records.stream().noneMatch(r -> r.value() != null
                    && new String(r.key(), StandardCharsets.UTF_8).contains("w1"))) {
                Thread.sleep(5); // the claim is written, not yet read back
            }
            a.release("g", "w1"); // late: an earlier instance of the name's release
            topic.holding = false;
            claiming.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(a.catchUp());
            assertEquals(List.of(), topic.tombstones(), "the new instance's claim stays");
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aFailedClaimsReleaseDoesNotRemoveTheNameWhenItIsClaimedAgainFirst() throws Exception {
        Topic topic = new Topic();
        try {
            NodeDirectory a = topic.start("a", FAILING_CATCH_UP);
            topic.holding = true;
            assertThrows(RestException.class, () -> a.claim("g", "worker-1"));
            a.release("g", "worker-1");
            topic.holding = false;
            a.claim("g", "worker-1"); // created again before the first claim was read back
            assertTrue(caughtUp(a));
            assertEquals(List.of(), topic.tombstones(), "the new instance's claim stays");
            assertEquals(new NodeDirectory.Here(), a.locate("g", "worker-1"));
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aNameAnotherNodeTookWhileTheFormerRunWasGoneIsNotRemovedByTheRestart() {
        Topic topic = new Topic();
        try {
            topic.append(NodeDirectory.nodeKey("a"), "{\"url\":\"http://a:8082\"}");
            topic.append(NodeDirectory.instanceKey("g", "taken"), "{\"node\":\"a\"}");
            topic.append(NodeDirectory.instanceKey("g", "kept"), "{\"node\":\"a\"}");
            topic.append(NodeDirectory.nodeKey("a"), (String) null); // a shut down
            topic.append(NodeDirectory.nodeKey("b"), "{\"url\":\"http://b:8082\"}");
            topic.append(NodeDirectory.instanceKey("g", "taken"), "{\"node\":\"b\"}");
            int before = topic.tombstones().size();

            NodeDirectory a = topic.start("a");
            assertEquals(new NodeDirectory.There(new NodeDirectory.Node("b", URI.create("http://b:8082"))),
                    a.locate("g", "taken"));
            assertEquals(new NodeDirectory.Unknown(), a.locate("g", "kept"));
            assertEquals(List.of(new String(NodeDirectory.instanceKey("g", "kept"), StandardCharsets.UTF_8)),
                    topic.tombstones().subList(before, topic.tombstones().size()), "only what the former run still held");
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void theReaderForgetsANodeGoneForADay() throws Exception {
        Topic topic = new Topic();
        try {
            topic.append(NodeDirectory.nodeKey("b"), "{\"url\":\"http://b:8082\"}");
            topic.append(NodeDirectory.nodeKey("b"), (String) null);
            NodeDirectory me = topic.start("me");
            assertTrue(me.unheardOf("b"));
            clock.millis += Duration.ofDays(1).toMillis(); // this node's heartbeats move the view's time on
            assertTrue(SessionTestConsumer.waitUntil(() -> !me.unheardOf("b"), Duration.ofSeconds(30)),
                    "forgotten by the reader");
        } finally {
            topic.started.forEach(NodeDirectory::close);
        }
    }

    @Test
    void aNodeThatBeginsToLeaveWhileAHeartbeatIsWrittenSaysSoOnceThatHeartbeatIsWritten() throws Exception {
        Topic topic = new Topic();
        try {
            // The heartbeat's write, and the departure's wait for it, would wait two minutes for Kafka.
            NodeDirectory me = topic.start("me", Duration.ofMinutes(2));
            topic.stalling = true; // Kafka is slow: the next heartbeat waits in its write
            while (topic.held.isEmpty()) {
                Thread.sleep(5);
            }
            Thread leaving = new Thread(me::departing, "departing");
            leaving.start();
            while (leaving.getState() != Thread.State.TIMED_WAITING) {
                Thread.sleep(1); // it waits for the heartbeat being written
            }
            topic.stalling = false;
            topic.held.forEach(Runnable::run); // Kafka takes the heartbeat: it goes on to read up (removeDeparted)
            leaving.join(30_000); // a bound far below the two minutes: the heartbeat's read-up must not wait for it
            assertFalse(leaving.isAlive(), "the departure waited for the heartbeat, which waited for the departure");
            String own = new String(NodeDirectory.nodeKey("me"), StandardCharsets.UTF_8);
            ConsumerRecord<byte[], byte[]> last = topic.records.get(topic.records.size() - 1);
            assertEquals(own, new String(last.key(), StandardCharsets.UTF_8));
            assertNull(last.value(), "the departure is written after the heartbeat, and last");
        } finally {
            topic.stalling = false;
            topic.started.forEach(NodeDirectory::close);
        }
    }
}
