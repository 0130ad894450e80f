package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.portico.protocol.AdminTopics;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.AdminResults;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DeleteTopicsResult;
import org.apache.kafka.clients.admin.DescribeConfigsResult;
import org.apache.kafka.clients.admin.DescribeTopicsResult;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TopicListing;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.ThrottlingQuotaExceededException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicDeletionDisabledException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.junit.jupiter.api.Test;

/** The topics of IBM Event Streams' admin API ({@code /admin/topics}) over a fake admin client. */
class MetadataServiceTest {
    private final FakeAdmin fake = new FakeAdmin();
    private final MetadataService service = new MetadataService(fake.admin(), Duration.ofSeconds(5), false);

    private static RestException failure(CompletableFuture<?> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(5, TimeUnit.SECONDS));
        return assertInstanceOf(RestException.class, RestException.unwrap(e));
    }

    @Test
    void aTopicsRulesComeFromItsEffectiveSettings() {
        java.util.function.Function<Map<String, String>, MetadataService.TopicRules> of = settings ->
                MetadataService.rulesOf(new org.apache.kafka.clients.admin.Config(settings.entrySet().stream()
                        .map(e -> new org.apache.kafka.clients.admin.ConfigEntry(e.getKey(), e.getValue())).toList()));
        MetadataService.TopicRules plain = of.apply(Map.of("cleanup.policy", "delete",
                "message.timestamp.type", "CreateTime", "message.timestamp.before.max.ms", "86400000",
                "message.timestamp.after.max.ms", "3600000"));
        assertEquals(new MetadataService.TopicRules(false, 3_600_000, 86_400_000, true), plain);
        assertEquals(true, of.apply(Map.of("cleanup.policy", "compact,delete")).compacted());
        MetadataService.TopicRules stamped = of.apply(Map.of("message.timestamp.type", "LogAppendTime",
                "message.timestamp.before.max.ms", "1"));
        assertEquals(Long.MAX_VALUE, stamped.timestampBeforeMaxMs(), "the broker stamps records itself: no bound");
        // Kafka 3.6 to 3.9: before/after left at their default, the deprecated difference bounds both
        // sides; before 3.6 only the difference exists.
        String none = String.valueOf(Long.MAX_VALUE);
        assertEquals(new MetadataService.TopicRules(false, 3_600_000, 3_600_000, true), of.apply(Map.of(
                "message.timestamp.difference.max.ms", "3600000", "message.timestamp.before.max.ms", none,
                "message.timestamp.after.max.ms", none)));
        assertEquals(new MetadataService.TopicRules(false, 3_600_000, 3_600_000, true), of.apply(Map.of(
                "message.timestamp.difference.max.ms", "3600000")));
        assertEquals(new MetadataService.TopicRules(false, 60_000, 3_600_000, true), of.apply(Map.of(
                "message.timestamp.difference.max.ms", "3600000", "message.timestamp.after.max.ms", "60000")),
                "a bound set wins over the difference");
    }

    @Test
    void aTopicWithMoreSettingsThanV3TakesIsRefusedBeforeAnyIsCheckedOrSent() {
        Map<String, String> many = new LinkedHashMap<>();
        for (int i = 0; i <= AdminTopics.MAX_CONFIGS; i++) {
            many.put("c" + i, "v");
        }
        RestException e = failure(service.createTopic("t", 1, 1, many));
        assertEquals(422, e.httpStatus());
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode());
        assertEquals("\"configs\" may hold at most 1000 settings", e.getMessage());
        assertEquals(List.of(), fake.calls, "the admin client was asked");
        assertEquals(ClusterAdmin.MAX_CONFIGS, AdminTopics.MAX_CONFIGS, "both APIs take as many settings");
    }

    private static <T> KafkaFuture<T> failed(Throwable error) {
        KafkaFutureImpl<T> future = new KafkaFutureImpl<>();
        future.completeExceptionally(error);
        return future;
    }

    /** A topic of two partitions, each with one replica on broker 1. */
    private static TopicDescription twoPartitions(String name) {
        Node broker = new Node(1, "localhost", 9092);
        return new TopicDescription(name, false, List.of(
                new TopicPartitionInfo(0, broker, List.of(broker), List.of(broker)),
                new TopicPartitionInfo(1, broker, List.of(broker), List.of(broker))));
    }

    /**
     * An admin client listing {@code a}, {@code gone} (deleted before it is described) and
     * {@code secret} (whose settings the caller may not describe).
     */
    private void clusterWithAGoneAndASecretTopic() {
        Set<String> gone = Set.of("gone");
        cluster(List.of("a", "gone", "secret"), name -> gone.contains(name)
                ? failed(new UnknownTopicOrPartitionException("This server does not host this topic-partition."))
                : KafkaFuture.completedFuture(twoPartitions(name)), name -> switch (name) {
                    case "gone" -> failed(new UnknownTopicOrPartitionException("gone"));
                    case "secret" -> failed(new TopicAuthorizationException(Set.of("secret")));
                    default -> KafkaFuture.completedFuture(new Config(List.of(
                            new ConfigEntry("retention.ms", "86400000"), new ConfigEntry("cleanup.policy", "delete"))));
                });
    }

    /** An admin client listing {@code names}, describing each topic and its settings as the functions say. */
    private void cluster(List<String> names, java.util.function.Function<String, KafkaFuture<TopicDescription>> topic,
                         java.util.function.Function<String, KafkaFuture<Config>> config) {
        fake.on("listTopics", args -> AdminResults.listTopics(names))
                .on("describeTopics", args -> {
                    @SuppressWarnings("unchecked")
                    Collection<String> asked = (Collection<String>) args[0];
                    Map<String, KafkaFuture<TopicDescription>> each = new LinkedHashMap<>();
                    for (String name : asked) {
                        each.put(name, topic.apply(name));
                    }
                    return new DescribeTopicsResult(null, each) { };
                })
                .on("describeConfigs", args -> {
                    @SuppressWarnings("unchecked")
                    Collection<ConfigResource> resources = (Collection<ConfigResource>) args[0];
                    Map<ConfigResource, KafkaFuture<Config>> each = new LinkedHashMap<>();
                    for (ConfigResource r : resources) {
                        each.put(r, config.apply(r.name()));
                    }
                    return new DescribeConfigsResult(each) { };
                });
    }

    @Test
    void aRecentPartitionCountAsksTheClusterOnceASecondATopicWhateverItAnswered() throws Exception {
        cluster(List.of("t", "down"), name -> switch (name) {
            case "t" -> KafkaFuture.completedFuture(twoPartitions(name));
            case "down" -> failed(new org.apache.kafka.common.errors.TimeoutException("no answer"));
            default -> failed(new UnknownTopicOrPartitionException("none"));
        }, name -> KafkaFuture.completedFuture(new Config(List.of())));
        ExecutorService callers = Executors.newFixedThreadPool(5);
        try {
            for (String topic : List.of("t", "down", "missing")) {
                List<java.util.concurrent.Future<Integer>> counts = new java.util.ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    counts.add(callers.submit(() -> service.recentPartitionCount(topic)));
                }
                for (java.util.concurrent.Future<Integer> count : counts) {
                    assertEquals(switch (topic) {
                        case "t" -> 2;
                        case "down" -> -1; // cannot say
                        default -> 0; // no such topic
                    }, count.get(5, TimeUnit.SECONDS), topic);
                }
            }
        } finally {
            callers.shutdownNow();
        }
        assertEquals(3, fake.calls.stream().filter("describeTopics"::equals).count(),
                "one look-up a topic, also of one the cluster could not answer: " + fake.calls);
    }

    @Test
    void aListLeavesOutATopicDeletedSinceItWasListedAndShowsOneWhoseSettingsFailWithoutThem() throws Exception {
        clusterWithAGoneAndASecretTopic();

        List<AdminTopics.Topic> topics = service.adminTopics(t -> true).get(5, TimeUnit.SECONDS);

        assertEquals(List.of(new AdminTopics.Topic("a", 2, 1, 86_400_000L, "delete", null),
                new AdminTopics.Topic("secret", 2, 1, null, null, null)), topics);
    }

    @Test
    void aLongListIsDescribedAChunkAtATime() throws Exception {
        List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i < 2 * MetadataService.DESCRIBE_CHUNK + 1; i++) {
            names.add(String.format("t%05d", i));
        }
        cluster(names, name -> KafkaFuture.completedFuture(twoPartitions(name)),
                name -> KafkaFuture.completedFuture(new Config(List.of())));

        List<AdminTopics.Topic> topics = service.adminTopics(t -> true).get(5, TimeUnit.SECONDS);

        assertEquals(names, topics.stream().map(AdminTopics.Topic::name).toList(), "all of them, in order");
        assertEquals(3, fake.calls.stream().filter("describeTopics"::equals).count(), "500, 500, then 1");
        assertEquals(3, fake.calls.stream().filter("describeConfigs"::equals).count());
    }

    @Test
    void aTopicAskedForByNameFailsWhenItIsGoneAndIsShownWithoutTheSettingsThatFail() throws Exception {
        clusterWithAGoneAndASecretTopic();

        assertEquals(ErrorCode.TOPIC_NOT_FOUND, failure(service.adminTopic("gone")).errorCode());
        assertEquals(new AdminTopics.Topic("secret", 2, 1, null, null, null),
                service.adminTopic("secret").get(5, TimeUnit.SECONDS), "as a list shows it");
        TopicDescription described = twoPartitions("secret");
        io.portico.protocol.TopicDescription v1 = service.topic("secret").get(5, TimeUnit.SECONDS);
        assertEquals(Map.of(), v1.configs(), "v1/v2: the topic, its partitions, no overrides");
        assertEquals(described.partitions().size(), v1.partitions().size());
        assertEquals(ErrorCode.TOPIC_NOT_FOUND, failure(service.topic("gone")).errorCode());
    }

    /** An admin client whose every creation and deletion of a topic fails with {@code error}. */
    private void topicChangesFailWith(Throwable error) {
        fake.on("createTopics", args -> {
            @SuppressWarnings("unchecked")
            Collection<org.apache.kafka.clients.admin.NewTopic> topics =
                    (Collection<org.apache.kafka.clients.admin.NewTopic>) args[0];
            return new CreateTopicsResult(Map.of(topics.iterator().next().name(), failed(error))) { };
        }).on("deleteTopics", args -> {
            @SuppressWarnings("unchecked")
            Collection<String> names = (Collection<String>) args[0];
            return new DeleteTopicsResult(null, Map.of(names.iterator().next(), failed(error))) { };
        });
    }

    private static void assertError(RestException e, int status, ErrorCode code, String message) {
        assertEquals(status, e.httpStatus(), e.getMessage());
        assertEquals(code, e.errorCode(), e.getMessage());
        assertEquals(message, e.getMessage());
    }

    @Test
    void kafkaRefusingADeletionOrACreationIs422WithKafkasMessage() {
        topicChangesFailWith(new TopicDeletionDisabledException("Topic deletion is disabled."));
        assertError(failure(service.deleteTopic("t")), 422, ErrorCode.UNPROCESSABLE_ENTITY, "Topic deletion is disabled.");

        topicChangesFailWith(new PolicyViolationException("Topics must have 3 replicas."));
        assertError(failure(service.deleteTopic("t")), 422, ErrorCode.UNPROCESSABLE_ENTITY, "Topics must have 3 replicas.");
        assertError(failure(service.createTopic("t", 1, 1, Map.of())), 422, ErrorCode.UNPROCESSABLE_ENTITY,
                "Topics must have 3 replicas.");
    }

    @Test
    void kafkaThrottlingTopicChangesIs429() {
        topicChangesFailWith(new ThrottlingQuotaExceededException(1000, "The throttling quota has been exceeded."));
        assertError(failure(service.deleteTopic("t")), 429, ErrorCode.TOO_MANY_REQUESTS,
                "Too many requests: The throttling quota has been exceeded.");
        assertError(failure(service.createTopic("t", 1, 1, Map.of())), 429, ErrorCode.TOO_MANY_REQUESTS,
                "Too many requests: The throttling quota has been exceeded.");
    }

    @Test
    void aTopicListIsMadeOnTheExecutorNeverOnTheAdminClientsNetworkThread() throws Exception {
        ExecutorService network = Executors.newSingleThreadExecutor(r -> new Thread(r, ClusterAdminTest.NETWORK));
        ExecutorService answers = Executors.newSingleThreadExecutor(r -> new Thread(r, "answers"));
        try {
            fake.on("listTopics", args -> AdminResults.listTopics(ClusterAdminTest.completedOn(network,
                            AdminResults.listings(List.of("a")))))
                    .on("describeTopics", args -> new DescribeTopicsResult(null,
                            Map.of("a", ClusterAdminTest.completedOn(network, twoPartitions("a")))) { })
                    .on("describeConfigs", args -> new DescribeConfigsResult(Map.of(
                            new ConfigResource(ConfigResource.Type.TOPIC, "a"), ClusterAdminTest.completedOn(network,
                                    new Config(List.of(new ConfigEntry("retention.ms", "1")))))) { });
            MetadataService onAnswers = new MetadataService(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false,
                    answers);
            List<String> threads = new CopyOnWriteArrayList<>();
            java.util.concurrent.CountDownLatch chained = new java.util.concurrent.CountDownLatch(1);
            network.execute(() -> ClusterAdminTest.awaitQuietly(chained)); // no answer before the test has chained its step

            java.util.concurrent.CompletableFuture<List<AdminTopics.Topic>> result = onAnswers.adminTopics(name -> {
                threads.add("visible " + name + " on " + Thread.currentThread().getName());
                return true;
            }).thenApply(list -> {
                threads.add("rendered on " + Thread.currentThread().getName());
                return list;
            });
            chained.countDown();
            List<AdminTopics.Topic> topics = result.get(5, TimeUnit.SECONDS);

            assertEquals(List.of(new AdminTopics.Topic("a", 2, 1, 1L, null, null)), topics);
            assertEquals(List.of("visible a on answers", "rendered on answers"), threads);
        } finally {
            network.shutdownNow();
            answers.shutdownNow();
        }
    }
    @Test
    void topicListsAskedAtOnceShareOneListingEachFilteredForItsCaller() throws Exception {
        List<KafkaFutureImpl<Map<String, TopicListing>>> listings = new java.util.concurrent.CopyOnWriteArrayList<>();
        fake.on("listTopics", args -> {
            KafkaFutureImpl<Map<String, TopicListing>> listing = new KafkaFutureImpl<>();
            listings.add(listing);
            return AdminResults.listTopics(listing);
        });
        CompletableFuture<List<String>> orders = service.topicNames(n -> n.startsWith("orders"));
        CompletableFuture<List<String>> all = service.topicNames(n -> true);
        CompletableFuture<List<String>> none = service.topicNames(n -> false);
        assertEquals(1, listings.size(), "one listTopics for three lists asked at once");

        listings.get(0).complete(AdminResults.listings(List.of("payments", "orders-eu", "orders-us")));
        assertEquals(List.of("orders-eu", "orders-us"), orders.get(5, TimeUnit.SECONDS));
        assertEquals(List.of("orders-eu", "orders-us", "payments"), all.get(5, TimeUnit.SECONDS));
        assertEquals(List.of(), none.get(5, TimeUnit.SECONDS));

        CompletableFuture<List<String>> failing = service.topicNames(n -> true);
        CompletableFuture<List<String>> alsoFailing = service.topicNames(n -> true);
        assertEquals(2, listings.size(), "a list asked after the answer is asked again");
        listings.get(1).completeExceptionally(new org.apache.kafka.common.errors.TimeoutException("no answer"));
        assertEquals(503, failure(failing).httpStatus());
        assertEquals(503, failure(alsoFailing).httpStatus(), "the failure reaches every caller");

        CompletableFuture<List<String>> again = service.topicNames(n -> true);
        assertEquals(3, listings.size(), "a failure is not kept");
        listings.get(2).complete(AdminResults.listings(List.of("payments")));
        assertEquals(List.of("payments"), again.get(5, TimeUnit.SECONDS));
    }
}
