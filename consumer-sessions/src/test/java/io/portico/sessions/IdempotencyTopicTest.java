package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.AdminResults;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeConfigsResult;
import org.apache.kafka.clients.admin.DescribeTopicsResult;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.junit.jupiter.api.Test;

/**
 * The idempotency state topic as Portico finds it at start: one that exists already and deletes
 * results sooner than {@code idempotency.retention.ms} has its {@code retention.ms} raised, and
 * when Kafka refuses that, start-up fails naming the topic and the setting.
 */
class IdempotencyTopicTest {
    private static final String STATE = "_portico_idempotency";
    private static final ConfigResource RESOURCE = new ConfigResource(ConfigResource.Type.TOPIC, STATE);
    private static final Duration RETENTION = Duration.ofHours(24);
    private static final Idempotency.Settings SETTINGS = new Idempotency.Settings(STATE, 2, RETENTION,
            Duration.ofSeconds(10), 1 << 20, 1L << 30, 16);

    /** The changes of configs asked for, in order. */
    private final List<Collection<AlterConfigOp>> changes = new ArrayList<>();

    private static <T> KafkaFuture<T> failed(Throwable e) {
        KafkaFutureImpl<T> f = new KafkaFutureImpl<>();
        f.completeExceptionally(e);
        return f;
    }

    @Test
    void aNewStateTopicRollsItsSegmentsAtAQuarterOfTheRetentionAtMostAnHour() {
        List<org.apache.kafka.clients.admin.NewTopic> created = new ArrayList<>();
        Node node = new Node(0, "localhost", 9092);
        TopicDescription described = new TopicDescription(STATE, false, List.of(
                new TopicPartitionInfo(0, node, List.of(node), List.of(node)),
                new TopicPartitionInfo(1, node, List.of(node), List.of(node))));
        FakeAdmin admin = new FakeAdmin()
                .on("createTopics", args -> {
                    @SuppressWarnings("unchecked")
                    Collection<org.apache.kafka.clients.admin.NewTopic> topics =
                            (Collection<org.apache.kafka.clients.admin.NewTopic>) args[0];
                    created.addAll(topics);
                    return new CreateTopicsResult(Map.of(STATE, KafkaFuture.completedFuture(null))) {
                    };
                })
                .on("describeTopics", args -> new DescribeTopicsResult(null, Map.of(STATE,
                        KafkaFuture.completedFuture(described))) {
                })
                .on("describeConfigs", args -> new DescribeConfigsResult(Map.of(RESOURCE, KafkaFuture.completedFuture(
                        new Config(List.of(new ConfigEntry("cleanup.policy", "compact,delete"),
                                new ConfigEntry("retention.ms", String.valueOf(RETENTION.toMillis()))))))) {
                });
        assertEquals(2, new Idempotency.RealKafka(STATE, Map.of(), Map.of(), SharedAdmin.of(admin.admin()),
                Duration.ofSeconds(5)).ensureTopic(SETTINGS));
        assertEquals(1, created.size());
        assertEquals("3600000", created.get(0).configs().get("segment.ms"), "24 h of results: rolled hourly");
        assertEquals(String.valueOf(RETENTION.toMillis()), created.get(0).configs().get("retention.ms"));
        assertEquals(900_000L, Idempotency.RealKafka.segmentMs(Duration.ofHours(1)));
        assertEquals(60_000L, Idempotency.RealKafka.segmentMs(Duration.ofMinutes(2)));
    }

    /** An admin client for which the topic exists with {@code configs}; changes end as {@code altered} does. */
    private Idempotency.RealKafka kafka(Map<String, String> configs, KafkaFuture<Void> altered) {
        Node node = new Node(0, "localhost", 9092);
        TopicDescription described = new TopicDescription(STATE, false, List.of(
                new TopicPartitionInfo(0, node, List.of(node), List.of(node)),
                new TopicPartitionInfo(1, node, List.of(node), List.of(node))));
        List<ConfigEntry> entries = new ArrayList<>();
        configs.forEach((k, v) -> entries.add(new ConfigEntry(k, v)));
        FakeAdmin admin = new FakeAdmin()
                .on("createTopics", args -> new CreateTopicsResult(Map.of(STATE, failed(new TopicExistsException(STATE)))) {
                })
                .on("describeTopics", args -> new DescribeTopicsResult(null, Map.of(STATE,
                        KafkaFuture.completedFuture(described))) {
                })
                .on("describeConfigs", args -> new DescribeConfigsResult(Map.of(RESOURCE,
                        KafkaFuture.completedFuture(new Config(entries)))) {
                })
                .on("incrementalAlterConfigs", args -> {
                    @SuppressWarnings("unchecked")
                    Map<ConfigResource, Collection<AlterConfigOp>> asked = (Map<ConfigResource, Collection<AlterConfigOp>>) args[0];
                    changes.add(asked.get(RESOURCE));
                    return AdminResults.alterConfigs(RESOURCE, altered);
                });
        return new Idempotency.RealKafka(STATE, Map.of(), Map.of(), SharedAdmin.of(admin.admin()), Duration.ofSeconds(5));
    }

    @Test
    void anExistingTopicThatDeletesResultsSoonerHasItsRetentionRaised() {
        Idempotency.RealKafka kafka = kafka(Map.of("cleanup.policy", "compact,delete", "retention.ms", "60000",
                "retention.bytes", "-1"), KafkaFuture.completedFuture(null));
        assertEquals(2, kafka.ensureTopic(SETTINGS));
        assertEquals(1, changes.size(), "one change asked");
        AlterConfigOp op = changes.get(0).iterator().next();
        assertEquals(AlterConfigOp.OpType.SET, op.opType());
        assertEquals("retention.ms", op.configEntry().name());
        assertEquals(String.valueOf(RETENTION.toMillis()), op.configEntry().value());
    }

    @Test
    void aTopicThatKeepsResultsLongEnoughOrForeverOrOnlyCompactsIsLeftAsItIs() {
        assertEquals(2, kafka(Map.of("cleanup.policy", "compact,delete", "retention.ms",
                String.valueOf(RETENTION.toMillis())), null).ensureTopic(SETTINGS));
        assertEquals(2, kafka(Map.of("cleanup.policy", "delete", "retention.ms", "-1"), null).ensureTopic(SETTINGS));
        assertEquals(2, kafka(Map.of("cleanup.policy", "compact", "retention.ms", "60000"), null).ensureTopic(SETTINGS));
        assertEquals(List.of(), changes);
    }

    @Test
    void aRetentionKafkaRefusesToRaiseFailsStartUpNamingTheTopicAndTheSetting() {
        Idempotency.RealKafka kafka = kafka(Map.of("cleanup.policy", "compact,delete", "retention.ms", "60000"),
                failed(new TopicAuthorizationException("not allowed")));
        Idempotency service = new Idempotency(SETTINGS, kafka, SessionMetrics.unreported(), System::currentTimeMillis,
                () -> { });
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, service::start);
            assertTrue(e.getMessage().contains(STATE) && e.getMessage().contains("idempotency.retention.ms")
                    && e.getMessage().contains("60000"), e.getMessage());
            assertFalse(changes.isEmpty());
        } finally {
            service.close();
        }
    }
}
