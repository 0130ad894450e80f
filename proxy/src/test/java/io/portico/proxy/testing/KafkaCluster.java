package io.portico.proxy.testing;

import io.portico.proxy.EmbeddedKafka;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A real Kafka cluster for tests, and plain Kafka clients to check what Portico did to it:
 * create topics, read a topic back byte for byte, produce directly.
 */
public final class KafkaCluster implements AutoCloseable {
    private static final AtomicInteger TOPICS = new AtomicInteger();

    private final String bootstrapServers;
    private final AutoCloseable owner;
    private final Admin admin;

    KafkaCluster(String bootstrapServers, AutoCloseable owner) {
        this.bootstrapServers = bootstrapServers;
        this.owner = owner;
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        this.admin = Admin.create(props);
    }

    /** A cluster started and stopped by the caller: closing this closes only the admin client. */
    public static KafkaCluster external(String bootstrapServers) {
        return new KafkaCluster(bootstrapServers, () -> { });
    }

    /** A broker of our own in this JVM, with {@code overrides} on top of the embedded defaults. */
    public static KafkaCluster embedded(Map<String, String> overrides) throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start(null, overrides);
        return new KafkaCluster(kafka.bootstrapServers(), kafka);
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public Admin admin() {
        return admin;
    }

    /** A topic name no other test uses. */
    public static String uniqueTopic(String prefix) {
        return prefix + "-" + TOPICS.incrementAndGet() + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
    }

    /** Creates a topic and waits until the cluster has it. */
    public String createTopic(String name, int partitions) throws ExecutionException, InterruptedException {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
        // Creation returns once the controller has the topic; the broker serves its partitions a
        // moment later. A produce in between gets NOT_LEADER_OR_FOLLOWER, and with several
        // batches in flight an idempotent producer's retry can then fail with
        // OUT_OF_ORDER_SEQUENCE_NUMBER until delivery.timeout.ms (KAFKA-15591). Asking each
        // partition's leader for its end offset waits for that moment, so tests start from a
        // topic a user would see as ready. (On a busy machine the admin client's metadata may not
        // have the topic yet either: asked again until it does, for up to 30 s.)
        Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            ends.put(new TopicPartition(name, p),
                    OffsetSpec.latest());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                admin.listOffsets(ends).all().get();
                return name;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
                        || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    /** Produces one record directly, waiting for the acknowledgement. */
    public RecordMetadata produce(String topic, Integer partition, byte[] key, byte[] value) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(
                Map.of("bootstrap.servers", bootstrapServers),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            return producer.send(new ProducerRecord<>(topic, partition, key, value)).get();
        }
    }

    /**
     * Reads every partition of {@code topic} from the start until {@code expected} records have
     * arrived (or 30 s have passed: the caller's assertion on the count then fails).
     */
    public List<ConsumerRecord<byte[], byte[]>> read(String topic, int expected) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config,
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    /**
     * Every record of {@code topic}'s partitions, read to their end as it is now with
     * {@code isolation} ({@code read_committed}: what committed transactions and plain produces
     * wrote; {@code read_uncommitted}: aborted records too). At most 30 s.
     */
    public List<ConsumerRecord<byte[], byte[]>> readToEnd(String topic, String isolation) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config,
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = "read_committed".equals(isolation)
                    ? stableEnds(consumer, partitions, consumer.endOffsets(partitions)) // the last stable offsets
                    : consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))
                    && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100)).forEach(out::add);
            }
        }
        return out;
    }

    /**
     * A transaction's commit is acknowledged before its markers are written: the last stable
     * offsets reach the log's ends a moment later. Waits up to 5 s for that; a transaction still
     * open keeps them behind, and then what is stable so far is read.
     */
    private Map<TopicPartition, Long> stableEnds(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions,
                                                 Map<TopicPartition, Long> stable) {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        Map<TopicPartition, Long> ends = stable;
        try {
            while (System.nanoTime() < deadline) {
                Map<TopicPartition, Long> logEnds = new HashMap<>();
                admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS).forEach((tp, info) -> logEnds.put(tp, info.offset()));
                if (logEnds.equals(ends)) {
                    break;
                }
                Thread.sleep(20);
                ends = consumer.endOffsets(partitions);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot look up the end offsets of " + partitions, e);
        }
        return ends;
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
        try {
            owner.close();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the test cluster", e);
        }
    }
}
