package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.junit.jupiter.api.Test;

/**
 * A created topic is answered only once each partition's leader answered a look-up of the
 * partition (the admin client here creates at once and holds the look-up until the test lets it
 * go): a produce sent right after the answer does not race the leaders (KAFKA-15591).
 */
class TopicReadinessTest {
    private final List<NewTopic> created = new ArrayList<>();
    private final Set<TopicPartition> looked = new HashSet<>();
    private final KafkaFutureImpl<ListOffsetsResult.ListOffsetsResultInfo> lookUp = new KafkaFutureImpl<>();
    private int lookUps;

    private final Admin admin = (Admin) Proxy.newProxyInstance(Admin.class.getClassLoader(), new Class<?>[] {Admin.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "createTopics" -> {
                    @SuppressWarnings("unchecked")
                    List<NewTopic> topics = List.copyOf((java.util.Collection<NewTopic>) args[0]);
                    created.addAll(topics);
                    NewTopic t = topics.get(0);
                    int partitions = t.numPartitions() > 0 ? t.numPartitions() : 4; // 4: the broker's default
                    KafkaFutureImpl<CreateTopicsResult.TopicMetadataAndConfig> done = new KafkaFutureImpl<>();
                    done.complete(new CreateTopicsResult.TopicMetadataAndConfig(Uuid.randomUuid(), partitions, 1, null));
                    yield new CreateTopicsResult(Map.of(t.name(), done)) { };
                }
                case "listOffsets" -> {
                    lookUps++;
                    @SuppressWarnings("unchecked")
                    Map<TopicPartition, ?> request = (Map<TopicPartition, ?>) args[0];
                    looked.addAll(request.keySet());
                    Map<TopicPartition, KafkaFuture<ListOffsetsResult.ListOffsetsResultInfo>> futures = new java.util.HashMap<>();
                    request.keySet().forEach(tp -> futures.put(tp, lookUp));
                    yield new ListOffsetsResult(futures);
                }
                default -> throw new UnsupportedOperationException(method.getName());
            });

    private static Set<TopicPartition> partitions(String topic, int count) {
        Set<TopicPartition> out = new HashSet<>();
        for (int p = 0; p < count; p++) {
            out.add(new TopicPartition(topic, p));
        }
        return out;
    }

    private static ListOffsetsResult.ListOffsetsResultInfo atZero() {
        return new ListOffsetsResult.ListOffsetsResultInfo(0, -1, java.util.Optional.empty());
    }

    @Test
    void aV3CreatedTopicIsAnsweredOnceEveryPartitionsLeaderServesIt() throws Exception {
        ClusterAdmin service = new ClusterAdmin(SharedAdmin.of(admin), Duration.ofSeconds(5), false);
        CompletableFuture<ClusterAdmin.CreatedTopic> answer = service.createTopic("orders", 3, 1, Map.of(), Map.of(), false);

        assertEquals(1, created.size());
        assertEquals(partitions("orders", 3), looked, "each partition is looked up at its leader");
        assertFalse(answer.isDone(), "answered before the leaders serve the topic");
        lookUp.complete(atZero());
        assertEquals(new ClusterAdmin.CreatedTopic("orders", 3, 1), answer.get(5, TimeUnit.SECONDS));
    }

    @Test
    void aValidationOnlyCreateAsksNoLeader() throws Exception {
        ClusterAdmin service = new ClusterAdmin(SharedAdmin.of(admin), Duration.ofSeconds(5), false);
        CompletableFuture<ClusterAdmin.CreatedTopic> answer = service.createTopic("orders", 3, 1, Map.of(), Map.of(), true);

        assertEquals(new ClusterAdmin.CreatedTopic("orders", 3, 1), answer.get(5, TimeUnit.SECONDS));
        assertEquals(0, lookUps);
    }

    @Test
    void aLookUpThatFailsStillAnswersTheCreatedTopic() throws Exception {
        ClusterAdmin service = new ClusterAdmin(SharedAdmin.of(admin), Duration.ofSeconds(5), false);
        CompletableFuture<ClusterAdmin.CreatedTopic> answer = service.createTopic("orders", 2, 1, Map.of(), Map.of(), false);

        assertFalse(answer.isDone());
        lookUp.completeExceptionally(new TimeoutException("the leader did not answer"));
        assertEquals(new ClusterAdmin.CreatedTopic("orders", 2, 1), answer.get(5, TimeUnit.SECONDS),
                "the topic exists: its creation is not reported as failed");
    }

    @Test
    void aTopicCreatedThroughTheTopicsApiWaitsForItsLeadersToo() throws Exception {
        MetadataService service = new MetadataService(admin, Duration.ofSeconds(5), false);
        CompletableFuture<Void> answer = service.createTopic("events", null, null, Map.of());

        assertEquals(partitions("events", 4), looked, "the broker's default count, as Kafka reported it");
        assertFalse(answer.isDone(), "answered before the leaders serve the topic");
        lookUp.complete(atZero());
        answer.get(5, TimeUnit.SECONDS);
        assertTrue(answer.isDone());
    }
}
