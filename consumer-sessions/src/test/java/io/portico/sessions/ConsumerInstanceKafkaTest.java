package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.CommittedOffset;
import io.portico.protocol.EmbeddedFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Consumer instances on real {@code KafkaConsumer}s against a real broker ({@link TestKafka}):
 * what the broker does with a commit is not what a {@code MockConsumer} does.
 */
class ConsumerInstanceKafkaTest {
    private static TestKafka kafka;

    private final List<ConsumerRegistry> registries = new ArrayList<>();

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = TestKafka.shared();
    }

    @AfterEach
    void closeRegistries() {
        registries.forEach(ConsumerRegistry::close);
    }

    private static String unique(String prefix) {
        return TestKafka.unique(prefix);
    }

    /** A registry of real consumers, as Portico configures them (default.api.timeout.ms 5 s), told partition counts by the cluster. */
    private ConsumerRegistry registry() {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        ConsumerRegistry registry = ConsumerRegistry.kafka(new ConsumerRegistry.Settings(config, Duration.ofMinutes(5),
                        Duration.ofSeconds(1), Duration.ofSeconds(5), 1 << 20, 10, ""), topic -> true,
                Ticker.systemTicker(), SessionMetrics.unreported(), MemoryBudget.unbounded("memory.consumers.max.bytes"),
                Duration.ZERO);
        registry.partitionCounts(kafka::partitionCount);
        registries.add(registry);
        return registry;
    }

    private static Map<TopicPartition, Long> committedInKafka(String group) throws Exception {
        Map<TopicPartition, Long> out = new HashMap<>();
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : kafka.admin().listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get().entrySet()) {
            if (e.getValue() != null) {
                out.put(e.getKey(), e.getValue().offset());
            }
        }
        return out;
    }

    /**
     * Assigns a partition that exists and {@code missing}, seeks both, and commits what was
     * returned: only the partition that exists is committed, and the commit answers (before, the
     * consumer waited default.api.timeout.ms for the missing partition and the answer was 503,
     * every time, though the other partition had been committed).
     */
    private void commitReturnedLeavesOut(String topic, TopicPartition missing) throws Exception {
        TopicPartition real = new TopicPartition(topic, 0);
        String group = unique("g");
        ConsumerInstance instance = registry().create(group, "c", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        instance.assign(List.of(real, missing));
        instance.seek(Map.of(real, 2L, missing, 3L));

        assertEquals(List.of(new CommittedOffset(topic, 0, 1, 1)), instance.commitReturned(),
                "only the partition that exists is committed");
        assertEquals(Map.of(real, 2L), committedInKafka(group));
    }

    @Test
    void aCommitOfWhatWasReturnedLeavesOutAPartitionOfATopicThatDoesNotExist() throws Exception {
        String topic = unique("real");
        kafka.createTopic(topic, 1);
        commitReturnedLeavesOut(topic, new TopicPartition(unique("ghost"), 0));
    }

    @Test
    void aCommitOfWhatWasReturnedLeavesOutAPartitionItsTopicDoesNotHave() throws Exception {
        String topic = unique("real");
        kafka.createTopic(topic, 1);
        commitReturnedLeavesOut(topic, new TopicPartition(topic, 9));
    }
}
