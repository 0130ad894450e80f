package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The node directory's view, fed records as its reader thread would be, with a clock the test
 * moves: which node holds an instance, when a node counts as gone, which claim keeps a name, and
 * when a departed node's instance records are removed.
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

    private void heartbeat(String node) {
        feed(NodeDirectory.nodeKey(node), "{\"url\":\"http://" + node + ":8082\"}");
    }

    private void claim(String group, String name, String node) {
        feed(NodeDirectory.instanceKey(group, name), "{\"node\":\"" + node + "\"}");
    }

    @Test
    void anInstanceOnALiveNodeIsThereAndOnANodeUnheardOfForTheExpiryGone() {
        heartbeat("me");
        heartbeat("b");
        claim("g", "c1", "b");
        NodeDirectory.Location at = directory.locate("g", "c1");
        assertEquals(new NodeDirectory.There(new NodeDirectory.Node("b", URI.create("http://b:8082"))), at);

        clock.millis += 4_999;
        assertInstanceOf(NodeDirectory.There.class, directory.locate("g", "c1"));
        clock.millis += 1;
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
    void theSmallestLiveNodeRemovesADepartedNodesInstancesOnceTheyWouldHaveExpired() {
        heartbeat("a-me-first"); // not this node: "me" is not the smallest live id
        heartbeat("me");
        heartbeat("x");
        claim("g", "held", "x");
        feed(NodeDirectory.nodeKey("x"), null);
        clock.millis += Duration.ofMinutes(6).toMillis();
        heartbeat("me");
        heartbeat("a-me-first");
        directory.removeDeparted();
        assertEquals(0, producer.history().size(), "only the smallest live node cleans up");

        clock.millis += Duration.ofSeconds(10).toMillis(); // a-me-first is gone now
        heartbeat("me");
        directory.removeDeparted();
        assertEquals(1, producer.history().size());
        assertNull(producer.history().get(0).value(), "a tombstone");
        assertEquals(new String(NodeDirectory.instanceKey("g", "held"), StandardCharsets.UTF_8),
                new String(producer.history().get(0).key(), StandardCharsets.UTF_8));
    }
}
