package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.ErrorMessage;
import io.portico.protocol.RestException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminResults;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsResult;
import org.apache.kafka.clients.admin.DescribeTopicsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.Test;

/**
 * What the v3 admin service refuses before anything reaches the shared admin client (an admin
 * client that counts every call shows that none was made), how it words Kafka's refusals, and
 * the lag summary.
 */
class ClusterAdminTest {
    private final AtomicInteger adminCalls = new AtomicInteger();
    private final Admin admin = (Admin) Proxy.newProxyInstance(Admin.class.getClassLoader(), new Class<?>[] {Admin.class},
            (proxy, method, args) -> {
                adminCalls.incrementAndGet();
                throw new UnsupportedOperationException("the admin client was asked: " + method.getName());
            });
    private final ClusterAdmin service = new ClusterAdmin(SharedAdmin.of(admin), Duration.ofSeconds(5), false);

    private RestException failure(CompletableFuture<?> future) throws InterruptedException {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(5, TimeUnit.SECONDS));
        RestException rest = assertInstanceOf(RestException.class, RestException.unwrap(e));
        assertEquals(0, adminCalls.get(), "the admin client was asked");
        return rest;
    }

    private static void assertError(RestException e, int status, int code, String message) {
        assertEquals(status, e.httpStatus(), e.getMessage());
        assertEquals(code, e.errorCode().code(), e.getMessage());
        assertEquals(message, e.getMessage());
    }

    private CompletableFuture<ClusterAdmin.CreatedTopic> create(String name, Integer partitions, Integer factor,
                                                                Map<Integer, List<Integer>> assignments,
                                                                Map<String, String> configs) {
        return service.createTopic(name, partitions, factor, assignments, configs, false);
    }

    @Test
    void aTopicNameKafkaCannotTakeIsAPayloadErrorOnCreate() throws Exception {
        assertError(failure(create("bad name", null, null, Map.of(), Map.of())), 422, 42206,
                "Payload error. Invalid topic name 'bad name': only ASCII letters, digits, '.', '_' and '-' are allowed");
        assertError(failure(create(null, null, null, Map.of(), Map.of())), 422, 42206,
                "Payload error. Invalid topic name '': a topic name is required");
        assertError(failure(create("x".repeat(250), null, null, Map.of(), Map.of())), 422, 42206,
                "Payload error. Invalid topic name '" + "x".repeat(64) + "…': longer than 249 characters");
    }

    @Test
    void internalTopicsAreNeitherCreatedNorChanged() throws Exception {
        assertEquals(403, failure(create("__consumer_offsets", 1, 1, Map.of(), Map.of())).httpStatus());
        assertEquals(403, failure(service.deleteTopic("__consumer_offsets")).httpStatus());
        assertEquals(403, failure(service.increasePartitions("__transaction_state", 60)).httpStatus());
        assertEquals(403, failure(service.alterTopicConfigs("c", "__consumer_offsets",
                List.of(new ClusterAdmin.ConfigChange("retention.ms", "1", false)), false)).httpStatus());
    }

    @Test
    void countsAndFactorsOutsideTheirBoundsArePayloadErrors() throws Exception {
        assertError(failure(create("t", 0, null, Map.of(), Map.of())), 422, 42206,
                "Payload error. partitions_count must be between 1 and 10000.");
        assertError(failure(create("t", 10_001, null, Map.of(), Map.of())), 422, 42206,
                "Payload error. partitions_count must be between 1 and 10000.");
        assertError(failure(create("t", null, 0, Map.of(), Map.of())), 422, 42206,
                "Payload error. replication_factor must be between 1 and 32767.");
        assertError(failure(create("t", null, 40_000, Map.of(), Map.of())), 422, 42206,
                "Payload error. replication_factor must be between 1 and 32767.");
        assertError(failure(service.increasePartitions("t", 0)), 422, 42206,
                "Payload error. partitions_count must be between 1 and 10000.");
        assertError(failure(create("t", null, null, Map.of(0, List.of(-1)), Map.of())), 422, 42206,
                "Payload error. Broker ids are not negative.");
        assertError(failure(create("t", null, null, Map.of(10_000, List.of(1)), Map.of())), 422, 42206,
                "Payload error. Partition ids are between 0 and 9999.");
        List<Integer> tooMany = new ArrayList<>();
        for (int i = 0; i <= ClusterAdmin.MAX_REPLICAS; i++) {
            tooMany.add(i);
        }
        assertError(failure(create("t", null, null, Map.of(0, tooMany), Map.of())), 422, 42206,
                "Payload error. Partition 0 needs 1 to 1000 replicas.");
    }

    @Test
    void anAssignmentKafkaWouldRefuseIsAPayloadErrorBeforeKafka() throws Exception {
        assertError(failure(create("t", null, null, Map.of(0, List.of(1, 2, 1)), Map.of())), 422, 42206,
                "Payload error. Partition 0 lists broker 1 more than once.");
        Map<Integer, List<Integer>> unequal = new LinkedHashMap<>();
        unequal.put(0, List.of(1, 2));
        unequal.put(1, List.of(2, 3));
        unequal.put(2, List.of(3));
        assertError(failure(create("t", null, null, unequal, Map.of())), 422, 42206,
                "Payload error. Every partition needs as many replicas: partition 0 has 2, partition 2 has 1.");
    }

    @Test
    void bothCreateApisTakeAsManySettingsAndPartitions() {
        assertEquals(ClusterAdmin.MAX_CONFIGS, io.portico.protocol.v3.CreateTopicRequest.MAX_CONFIGS);
        assertEquals(MetadataService.MAX_PARTITIONS, io.portico.protocol.v3.CreateTopicRequest.MAX_PARTITIONS);
    }

    @Test
    void settingsAreCheckedByNameSizeAndCount() throws Exception {
        assertError(failure(create("t", 1, 1, Map.of(), Map.of("Retention.MS", "1"))), 422, 42206,
                "Payload error. Invalid config name 'Retention.MS'");
        assertError(failure(create("t", 1, 1, Map.of(), Map.of("retention.ms", "9".repeat(KafkaNames.CONFIG_MAX_BYTES + 1)))),
                422, 42206, "Payload error. The value of config retention.ms is longer than 32767 bytes");
        Map<String, String> many = new LinkedHashMap<>();
        for (int i = 0; i <= ClusterAdmin.MAX_CONFIGS; i++) {
            many.put("c" + i, "v");
        }
        assertError(failure(create("t", 1, 1, Map.of(), many)), 422, 42206, "Payload error. At most 1000 configs.");
        assertError(failure(service.alterTopicConfigs("c", "t",
                List.of(new ClusterAdmin.ConfigChange("bad name", "1", false)), false)), 422, 42206,
                "Payload error. Invalid config name 'bad name'");
        List<ClusterAdmin.ConfigChange> changes = new ArrayList<>();
        for (int i = 0; i <= ClusterAdmin.MAX_CONFIGS; i++) {
            changes.add(new ClusterAdmin.ConfigChange("c" + i, "v", false));
        }
        assertError(failure(service.alterTopicConfigs("c", "t", changes, false)), 422, 42206,
                "Payload error. At most 1000 configs at once.");
    }

    @Test
    void namesInAPathAreCheckedAsEveryRouteChecksThem() throws Exception {
        assertError(failure(service.topic("a/b")), 400, 40002,
                "Kafka bad request: Invalid topic name 'a/b': only ASCII letters, digits, '.', '_' and '-' are allowed");
        assertEquals(40002, failure(service.deleteTopic("..")).errorCode().code());
        assertEquals(40002, failure(service.topicConfigs("")).errorCode().code());
        assertEquals(40002, failure(service.partitionOffsets("a b", 0)).errorCode().code());
        assertEquals(400, failure(service.consumerGroup("g\u0000")).httpStatus());
        assertEquals(400, failure(service.lags("", t -> true)).httpStatus());
    }

    @Test
    void kafkasRefusalsKeepKafkasMessageUnder40002() {
        RestException exists = ClusterAdmin.rest(new TopicExistsException("Topic 't' already exists."));
        assertSame(ErrorCode.KAFKA_REFUSED, exists.errorCode());
        assertEquals(400, exists.httpStatus());
        assertEquals("Topic 't' already exists.", exists.getMessage());
        RestException fewer = ClusterAdmin.rest(new InvalidPartitionsException("Topic currently has 3 partitions, which is higher than the requested 1."));
        assertEquals(new ErrorMessage(40002, "Topic currently has 3 partitions, which is higher than the requested 1."),
                fewer.body());
        assertEquals(new ErrorMessage(40403, "This server does not host this topic-partition."),
                ClusterAdmin.rest(new UnknownTopicOrPartitionException("Topic t not found.")).body());
        assertEquals(503, ClusterAdmin.rest(new TimeoutException("timed out")).httpStatus());
        RestException own = ErrorCode.PAYLOAD_ERROR.exception("x");
        assertSame(own, ClusterAdmin.rest(new CompletionException(own)));
    }

    private static ClusterAdmin.Lag lag(String topic, int partition, long current, long end) {
        return new ClusterAdmin.Lag(topic, partition, "m-" + partition, null, "client", current, end);
    }

    @Test
    void theLagSummaryNamesTheFirstLargestLagAndAddsLagsThatAreNotNegative() {
        ClusterAdmin.LagSummary summary = ClusterAdmin.LagSummary.of(List.of(
                lag("b", 0, 0, 7), lag("a", 1, 3, 10), lag("a", 0, 12, 10), lag("a", 2, 0, 2)));
        assertEquals("a", summary.max().topic());
        assertEquals(1, summary.max().partition());
        assertEquals(7, summary.max().lag());
        assertEquals(0, lag("a", 0, 12, 10).lag());
        assertEquals(7 + 7 + 0 + 2, summary.totalLag());
        assertThrows(IllegalArgumentException.class, () -> ClusterAdmin.LagSummary.of(List.of()));
    }

    /**
     * A service whose admin client describes every topic asked with {@code retention.ms} and
     * {@code cleanup.policy}, and fails the incremental alter of the topics in {@code failures}.
     */
    private static ClusterAdmin alteringTopics(Map<String, RuntimeException> failures) {
        FakeAdmin fake = new FakeAdmin()
                .on("describeConfigs", args -> {
                    Map<org.apache.kafka.common.config.ConfigResource, KafkaFuture<org.apache.kafka.clients.admin.Config>> out =
                            new LinkedHashMap<>();
                    for (Object r : (Collection<?>) args[0]) {
                        out.put((org.apache.kafka.common.config.ConfigResource) r, KafkaFuture.completedFuture(
                                new org.apache.kafka.clients.admin.Config(List.of(
                                        new org.apache.kafka.clients.admin.ConfigEntry("retention.ms", "1"),
                                        new org.apache.kafka.clients.admin.ConfigEntry("cleanup.policy", "delete")))));
                    }
                    return AdminResults.describeConfigs(out);
                })
                .on("incrementalAlterConfigs", args -> {
                    Map<org.apache.kafka.common.config.ConfigResource, KafkaFuture<Void>> out = new LinkedHashMap<>();
                    for (Object r : ((Map<?, ?>) args[0]).keySet()) {
                        org.apache.kafka.common.config.ConfigResource resource = (org.apache.kafka.common.config.ConfigResource) r;
                        KafkaFutureImpl<Void> done = new KafkaFutureImpl<>();
                        RuntimeException failure = failures.get(resource.name());
                        if (failure == null) {
                            done.complete(null);
                        } else {
                            done.completeExceptionally(failure);
                        }
                        out.put(resource, done);
                    }
                    return AdminResults.alterConfigs(out);
                });
        return new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);
    }

    private static Map<String, List<ClusterAdmin.ConfigChange>> retentionOf(String... topics) {
        Map<String, List<ClusterAdmin.ConfigChange>> changes = new LinkedHashMap<>();
        for (String t : topics) {
            changes.put(t, List.of(new ClusterAdmin.ConfigChange("retention.ms", "1000", false)));
        }
        return changes;
    }

    @Test
    void severalTopicsSettingsAnswerTheTopicsKafkaRefusedAndARetriableErrorWhenNoneWasAnswered() throws Exception {
        // Kafka refuses one topic's value: that topic's failure, the other changed
        Map<String, RestException> refused = alteringTopics(Map.of("b",
                new org.apache.kafka.common.errors.InvalidConfigurationException("Invalid value x")))
                .alterTopicsConfigs("c1", retentionOf("a", "b"), false).get(5, TimeUnit.SECONDS);
        assertEquals(List.of("b"), List.copyOf(refused.keySet()));
        assertError(refused.get("b"), 400, 40002, "Invalid value x");

        // Refused for every topic: still each topic's refusal (Kafka judged them)
        refused = alteringTopics(Map.of("a", new org.apache.kafka.common.errors.PolicyViolationException("no"),
                "b", new org.apache.kafka.common.errors.PolicyViolationException("no")))
                .alterTopicsConfigs("c1", retentionOf("a", "b"), false).get(5, TimeUnit.SECONDS);
        assertEquals(List.of("a", "b"), List.copyOf(refused.keySet()));

        // No answer for any topic (one call to one broker timed out): the outcome is unknown, a
        // retriable error for the whole request, not a list of failures under a 2xx
        TimeoutException late = new TimeoutException("Timed out waiting for a node assignment");
        ExecutionException e = assertThrows(ExecutionException.class, () -> alteringTopics(Map.of("a", late, "b", late))
                .alterTopicsConfigs("c1", retentionOf("a", "b"), false).get(5, TimeUnit.SECONDS));
        RestException whole = assertInstanceOf(RestException.class, RestException.unwrap(e));
        assertTrue(whole.httpStatus() >= 500, whole.getMessage());

        // One answered, one not: each topic's outcome
        refused = alteringTopics(Map.of("b", late)).alterTopicsConfigs("c1", retentionOf("a", "b"), false)
                .get(5, TimeUnit.SECONDS);
        assertEquals(List.of("b"), List.copyOf(refused.keySet()));
    }

    @Test
    void theGroupListDescribesOnlyTheGroupsTheCallerMaySee() throws Exception {
        List<Collection<String>> describedIds = new CopyOnWriteArrayList<>();
        FakeAdmin fake = new FakeAdmin()
                .on("listGroups", args -> AdminResults.listGroups(List.of("b-1", "a-2", "a-1", "other")))
                .on("describeConsumerGroups", args -> {
                    @SuppressWarnings("unchecked")
                    Collection<String> ids = (Collection<String>) args[0];
                    describedIds.add(List.copyOf(ids));
                    Map<String, KafkaFuture<ConsumerGroupDescription>> out = new LinkedHashMap<>();
                    for (String id : ids) {
                        out.put(id, KafkaFuture.completedFuture(new ConsumerGroupDescription(id, false, List.of(), "range",
                                GroupType.CLASSIC, GroupState.EMPTY, new Node(1, "localhost", 9092), Set.of(),
                                Optional.empty(), Optional.empty())));
                    }
                    return new DescribeConsumerGroupsResult(out);
                });
        ClusterAdmin withGroups = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);

        List<ClusterAdmin.ConsumerGroup> seen = withGroups.consumerGroups(g -> g.startsWith("a-")).get(5, TimeUnit.SECONDS);

        assertEquals(List.of("a-1", "a-2"), seen.stream().map(ClusterAdmin.ConsumerGroup::id).toList());
        assertEquals(List.of(List.of("a-1", "a-2")), describedIds, "the others are not described");
        assertEquals(List.of(), withGroups.consumerGroups(g -> false).get(5, TimeUnit.SECONDS));
        assertEquals(1, describedIds.size(), "nothing described for a caller who may see none");
    }

    @Test
    void aGroupPorticoMayNotDescribeIsLeftOutOfTheListNotA403ForAll() throws Exception {
        FakeAdmin fake = new FakeAdmin()
                .on("listGroups", args -> AdminResults.listGroups(List.of("open", "locked")))
                .on("describeConsumerGroups", args -> {
                    @SuppressWarnings("unchecked")
                    Collection<String> ids = (Collection<String>) args[0];
                    Map<String, KafkaFuture<ConsumerGroupDescription>> out = new LinkedHashMap<>();
                    for (String id : ids) {
                        if (id.equals("locked")) {
                            org.apache.kafka.common.internals.KafkaFutureImpl<ConsumerGroupDescription> refused =
                                    new org.apache.kafka.common.internals.KafkaFutureImpl<>();
                            refused.completeExceptionally(new org.apache.kafka.common.errors.GroupAuthorizationException(
                                    "Not authorized to access group: locked"));
                            out.put(id, refused);
                        } else {
                            out.put(id, KafkaFuture.completedFuture(new ConsumerGroupDescription(id, false, List.of(), "range",
                                    GroupType.CLASSIC, GroupState.EMPTY, new Node(1, "localhost", 9092), Set.of(),
                                    Optional.empty(), Optional.empty())));
                        }
                    }
                    return new DescribeConsumerGroupsResult(out);
                });
        ClusterAdmin groups = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);

        List<ClusterAdmin.ConsumerGroup> listed = groups.consumerGroups(g -> true).get(5, TimeUnit.SECONDS);

        assertEquals(List.of("open"), listed.stream().map(ClusterAdmin.ConsumerGroup::id).toList());
    }

    @Test
    void aGroupsLagsAreAskedWithinOneTimeoutInAll() throws Exception {
        // The group's description takes 400 ms of a 10 s timeout: the calls after it get what is
        // left, not ten seconds each again. (What was deducted is asserted, not how much is left:
        // a stall only deducts more.)
        TopicPartition orders = new TopicPartition("orders", 0);
        List<Integer> timeouts = new CopyOnWriteArrayList<>();
        FakeAdmin fake = new FakeAdmin()
                .on("describeConsumerGroups", args -> {
                    timeouts.add(((org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions) args[1]).timeoutMs());
                    KafkaFutureImpl<ConsumerGroupDescription> later = new KafkaFutureImpl<>();
                    new Thread(() -> {
                        try {
                            Thread.sleep(400);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        later.complete(new ConsumerGroupDescription("g", false, List.of(), "range", GroupType.CLASSIC,
                                GroupState.EMPTY, new Node(1, "localhost", 9092), Set.of(), Optional.empty(), Optional.empty()));
                    }).start();
                    return new DescribeConsumerGroupsResult(Map.of("g", later));
                })
                .on("listConsumerGroupOffsets", args -> {
                    timeouts.add(((org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions) args[1]).timeoutMs());
                    return AdminResults.groupOffsets("g", Map.of(orders, new OffsetAndMetadata(3)));
                })
                .on("listOffsets", args -> {
                    timeouts.add(((org.apache.kafka.clients.admin.ListOffsetsOptions) args[1]).timeoutMs());
                    return new ListOffsetsResult(Map.of(orders, KafkaFuture.completedFuture(
                            new ListOffsetsResult.ListOffsetsResultInfo(10, -1, Optional.empty()))));
                });
        ClusterAdmin withGroup = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(10), false);
        assertEquals(7, withGroup.lagSummary("g", t -> true).get(30, TimeUnit.SECONDS).totalLag());
        assertEquals(3, timeouts.size(), timeouts.toString());
        assertTrue(timeouts.get(0) <= 10_000, "the first call has at most the one timeout: " + timeouts);
        assertTrue(timeouts.get(0) - timeouts.get(1) >= 399 && timeouts.get(2) <= timeouts.get(1),
                "the calls after the description get what it left: " + timeouts);
    }

    @Test
    void lagsLeaveOutTheTopicsThatHoldPorticosOwnState() throws Exception {
        String reserved = "portico-lags-test-state";
        KafkaNames.reserve(reserved);
        TopicPartition orders = new TopicPartition("orders", 0);
        TopicPartition state = new TopicPartition(reserved, 0);
        FakeAdmin fake = new FakeAdmin()
                .on("describeConsumerGroups", args -> new DescribeConsumerGroupsResult(Map.of("g", KafkaFuture.completedFuture(
                        new ConsumerGroupDescription("g", false, List.of(), "range", GroupType.CLASSIC, GroupState.EMPTY,
                                new Node(1, "localhost", 9092), Set.of(), Optional.empty(), Optional.empty())))))
                .on("listConsumerGroupOffsets", args -> AdminResults.groupOffsets("g",
                        Map.of(orders, new OffsetAndMetadata(3), state, new OffsetAndMetadata(1))))
                .on("listOffsets", args -> {
                    @SuppressWarnings("unchecked")
                    Map<TopicPartition, ?> asked = (Map<TopicPartition, ?>) args[0];
                    Map<TopicPartition, KafkaFuture<ListOffsetsResult.ListOffsetsResultInfo>> ends = new java.util.HashMap<>();
                    asked.keySet().forEach(tp -> ends.put(tp, KafkaFuture.completedFuture(
                            new ListOffsetsResult.ListOffsetsResultInfo(10, -1, Optional.empty()))));
                    return new ListOffsetsResult(ends);
                });
        ClusterAdmin withGroup = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);

        List<ClusterAdmin.Lag> lags = withGroup.lags("g", t -> true).get(5, TimeUnit.SECONDS);
        assertEquals(List.of("orders"), lags.stream().map(ClusterAdmin.Lag::topic).toList());
        assertEquals(7, withGroup.lagSummary("g", t -> true).get(5, TimeUnit.SECONDS).totalLag());
    }

    @Test
    void aPartitionsLagReadsThatPartitionsOffsetAloneAndAllOfThemOnlyWhenItHasNone() throws Exception {
        TopicPartition orders0 = new TopicPartition("orders", 0);
        TopicPartition orders1 = new TopicPartition("orders", 1);
        List<String> offsetsAsked = new CopyOnWriteArrayList<>();
        List<Collection<TopicPartition>> endsAsked = new CopyOnWriteArrayList<>();
        FakeAdmin fake = new FakeAdmin()
                .on("describeConsumerGroups", args -> new DescribeConsumerGroupsResult(Map.of("g", KafkaFuture.completedFuture(
                        new ConsumerGroupDescription("g", false, List.of(), "range", GroupType.CLASSIC, GroupState.EMPTY,
                                new Node(1, "localhost", 9092), Set.of(), Optional.empty(), Optional.empty())))))
                .on("listConsumerGroupOffsets", args -> {
                    if (args[0] instanceof Map<?, ?> specs) {
                        // one partition's, as its spec asks: the group has none on orders/1
                        Collection<TopicPartition> asked = ((org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec)
                                specs.get("g")).topicPartitions();
                        offsetsAsked.add(asked.toString());
                        Map<TopicPartition, OffsetAndMetadata> some = new java.util.HashMap<>();
                        asked.forEach(tp -> some.put(tp, tp.equals(orders0) ? new OffsetAndMetadata(3) : null));
                        return AdminResults.groupOffsets("g", some);
                    }
                    offsetsAsked.add("all");
                    return AdminResults.groupOffsets("g", Map.of(orders0, new OffsetAndMetadata(3)));
                })
                .on("listOffsets", args -> {
                    @SuppressWarnings("unchecked")
                    Map<TopicPartition, ?> asked = (Map<TopicPartition, ?>) args[0];
                    endsAsked.add(List.copyOf(asked.keySet()));
                    Map<TopicPartition, KafkaFuture<ListOffsetsResult.ListOffsetsResultInfo>> ends = new java.util.HashMap<>();
                    asked.keySet().forEach(tp -> ends.put(tp, KafkaFuture.completedFuture(
                            new ListOffsetsResult.ListOffsetsResultInfo(10, -1, Optional.empty()))));
                    return new ListOffsetsResult(ends);
                });
        ClusterAdmin withGroup = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);

        List<ClusterAdmin.Lag> one = withGroup.lags("g", t -> true, orders0, ClusterAdmin.LagsRoom.ANY).get(5, TimeUnit.SECONDS);
        assertEquals(1, one.size());
        assertEquals(7, one.get(0).lag());
        assertEquals(List.of("[orders-0]"), offsetsAsked, "the partition's offset alone");
        assertEquals(List.of(List.of(orders0)), endsAsked);

        // None there: all of them, to tell a group with none from one with none there (an empty list, not "no offsets")
        assertEquals(List.of(), withGroup.lags("g", t -> true, orders1, ClusterAdmin.LagsRoom.ANY).get(5, TimeUnit.SECONDS));
        assertEquals(List.of("[orders-0]", "[orders-1]", "all"), offsetsAsked);
        assertEquals(1, endsAsked.size(), "no end offset asked for a partition without an offset");

        // Never narrowed: a name Kafka could not have (it would reach the shared admin client), a
        // topic the caller may not see (its answer would tell apart where the group has offsets)
        offsetsAsked.clear();
        assertEquals(List.of(), withGroup.lags("g", t -> true, new TopicPartition("a".repeat(33_000), 0),
                ClusterAdmin.LagsRoom.ANY).get(5, TimeUnit.SECONDS));
        assertEquals(List.of(), withGroup.lags("g", t -> true, new TopicPartition("orders", -1),
                ClusterAdmin.LagsRoom.ANY).get(5, TimeUnit.SECONDS));
        ExecutionException hidden = assertThrows(ExecutionException.class, () -> withGroup.lags("g",
                t -> !t.equals("orders"), orders0, ClusterAdmin.LagsRoom.ANY).get(5, TimeUnit.SECONDS));
        assertEquals("Consumer group offsets could not be found.", RestException.unwrap(hidden).getMessage());
        assertEquals(List.of("all", "all", "all"), offsetsAsked);
    }

    @Test
    void morePartitionsAreAnsweredWithTheTopicDescribedBeforeTheChange() throws Exception {
        Node broker = new Node(1, "localhost", 9092);
        FakeAdmin fake = new FakeAdmin();
        fake.on("describeTopics", args -> {
            KafkaFutureImpl<TopicDescription> described = new KafkaFutureImpl<>();
            if (fake.calls.contains("createPartitions")) {
                described.completeExceptionally(new TimeoutException("the cluster did not answer"));
            } else {
                described.complete(new TopicDescription("t", false,
                        List.of(new TopicPartitionInfo(0, broker, List.of(broker), List.of(broker)))));
            }
            return new DescribeTopicsResult(null, Map.of("t", described)) { };
        }).on("createPartitions", args -> AdminResults.createPartitions("t", KafkaFuture.completedFuture(null)));
        ClusterAdmin withTopic = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);

        ClusterAdmin.Topic topic = withTopic.increasePartitions("t", 3).get(5, TimeUnit.SECONDS);

        assertEquals("t", topic.name());
        assertEquals(1, topic.replicationFactor());
        assertEquals(List.of("describeTopics", "createPartitions"), fake.calls,
                "nothing is asked of the cluster once it has accepted the change");
    }

    /** The name of the thread the fake admin clients complete their futures on, as the real one's network thread. */
    static final String NETWORK = "kafka-admin-client-thread | fake";

    /** A future that {@code network} completes with {@code value}, as the admin client's network thread would. */
    /** Waits for {@code latch} (a test's hold on the fake network thread). */
    static void awaitQuietly(java.util.concurrent.CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static <T> KafkaFuture<T> completedOn(ExecutorService network, T value) {
        KafkaFutureImpl<T> future = new KafkaFutureImpl<>();
        network.execute(() -> future.complete(value));
        return future;
    }

    @Test
    void whatIsMadeOfTheAdminClientsAnswersRunsOnTheExecutorNeverOnItsNetworkThread() throws Exception {
        ExecutorService network = Executors.newSingleThreadExecutor(r -> new Thread(r, NETWORK));
        ExecutorService answers = Executors.newSingleThreadExecutor(r -> new Thread(r, "answers"));
        try {
            Node broker = new Node(1, "localhost", 9092);
            FakeAdmin fake = new FakeAdmin()
                    .on("listTopics", args -> AdminResults.listTopics(completedOn(network,
                            AdminResults.listings(List.of("b", "a")))))
                    .on("describeTopics", args -> {
                        @SuppressWarnings("unchecked")
                        Collection<String> names = (Collection<String>) args[0];
                        Map<String, KafkaFuture<TopicDescription>> each = new LinkedHashMap<>();
                        for (String name : names) {
                            each.put(name, completedOn(network, new TopicDescription(name, false,
                                    List.of(new TopicPartitionInfo(0, broker, List.of(broker), List.of(broker))))));
                        }
                        return new DescribeTopicsResult(null, each) { };
                    });
            ClusterAdmin onAnswers = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false, answers);
            List<String> threads = new CopyOnWriteArrayList<>();
            java.util.concurrent.CountDownLatch chained = new java.util.concurrent.CountDownLatch(1);
            network.execute(() -> awaitQuietly(chained)); // no answer before the test has chained its step

            java.util.concurrent.CompletableFuture<List<String>> result = onAnswers.topics(name -> {
                threads.add("visible " + name + " on " + Thread.currentThread().getName());
                return true;
            }).thenApply(topics -> {
                threads.add("rendered on " + Thread.currentThread().getName());
                return topics.stream().map(ClusterAdmin.Topic::name).toList();
            });
            chained.countDown();
            List<String> rendered = result.get(5, TimeUnit.SECONDS);

            assertEquals(List.of("a", "b"), rendered);
            assertEquals(List.of("visible a on answers", "visible b on answers", "rendered on answers"), threads,
                    "the topic list is filtered, and what is chained after it runs, on the executor");
        } finally {
            network.shutdownNow();
            answers.shutdownNow();
        }
    }

    @Test
    void anAnswerTheExecutorRefusesIsA503() {
        FakeAdmin fake = new FakeAdmin().on("listTopics", args -> AdminResults.listTopics(List.of("a")));
        ClusterAdmin refusing = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false, task -> {
            throw new RejectedExecutionException("all threads busy");
        });

        ExecutionException e = assertThrows(ExecutionException.class,
                () -> refusing.topics(name -> true).get(5, TimeUnit.SECONDS));
        RestException rest = assertInstanceOf(RestException.class, RestException.unwrap(e));
        assertEquals(503, rest.httpStatus());
        assertEquals(ErrorCode.SERVICE_UNAVAILABLE, rest.errorCode());
    }
    /** A fake admin client whose group listings the test answers, one per listGroups call, describing every group it is asked. */
    private static FakeAdmin heldGroupListings(List<KafkaFutureImpl<Collection<Object>>> listings) {
        return new FakeAdmin()
                .on("listGroups", args -> {
                    KafkaFutureImpl<Collection<Object>> listing = new KafkaFutureImpl<>();
                    listings.add(listing);
                    return AdminResults.listGroups(listing);
                })
                .on("describeConsumerGroups", args -> {
                    @SuppressWarnings("unchecked")
                    Collection<String> ids = (Collection<String>) args[0];
                    Map<String, KafkaFuture<ConsumerGroupDescription>> out = new LinkedHashMap<>();
                    for (String id : ids) {
                        out.put(id, KafkaFuture.completedFuture(new ConsumerGroupDescription(id, false, List.of(), "range",
                                GroupType.CLASSIC, GroupState.EMPTY, new Node(1, "localhost", 9092), Set.of(),
                                Optional.empty(), Optional.empty())));
                    }
                    return new DescribeConsumerGroupsResult(out);
                });
    }

    private static List<String> ids(CompletableFuture<List<ClusterAdmin.ConsumerGroup>> groups) throws Exception {
        return groups.get(5, TimeUnit.SECONDS).stream().map(ClusterAdmin.ConsumerGroup::id).toList();
    }

    @Test
    void groupListsAskedAtOnceShareOneListingEachFilteredForItsCaller() throws Exception {
        List<KafkaFutureImpl<Collection<Object>>> listings = new CopyOnWriteArrayList<>();
        FakeAdmin fake = heldGroupListings(listings);
        ClusterAdmin groups = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);
        CompletableFuture<List<ClusterAdmin.ConsumerGroup>> a = groups.consumerGroups(g -> g.startsWith("a-"));
        CompletableFuture<List<ClusterAdmin.ConsumerGroup>> b = groups.consumerGroups(g -> g.startsWith("b-"));
        CompletableFuture<List<ClusterAdmin.ConsumerGroup>> none = groups.consumerGroups(g -> false);
        assertEquals(1, listings.size(), "one listGroups for three lists asked at once");

        listings.get(0).complete(AdminResults.groupListings(List.of("b-1", "a-2", "a-1", "other")));
        assertEquals(List.of("a-1", "a-2"), ids(a));
        assertEquals(List.of("b-1"), ids(b));
        assertEquals(List.of(), ids(none));

        // (Kafka's listing reports a failure among its listings, which valid() leaves out: no failed listing here.)
        CompletableFuture<List<ClusterAdmin.ConsumerGroup>> again = groups.consumerGroups(g -> true);
        assertEquals(2, listings.size(), "a list asked after the answer is asked again");
        listings.get(1).complete(AdminResults.groupListings(List.of("a-1", "c-1")));
        assertEquals(List.of("a-1", "c-1"), ids(again));
    }

    @Test
    void aCreateKafkaDoesNotTellTheCountsOfIsDescribedForThemAndWaitsOnEveryPartition() throws Exception {
        // Without the right to describe configs (KIP-525) Kafka does not say the count and
        // factor it chose: the topic is described for them (not answered 0, waiting on nothing),
        // within what the create (400 ms of a 1 s timeout) left of the request's time.
        Node broker = new Node(1, "localhost", 9092);
        List<Integer> waitedOn = new CopyOnWriteArrayList<>();
        List<Integer> timeouts = new CopyOnWriteArrayList<>();
        FakeAdmin fake = new FakeAdmin()
                .on("createTopics", args -> {
                    KafkaFutureImpl<org.apache.kafka.clients.admin.CreateTopicsResult.TopicMetadataAndConfig> later =
                            new KafkaFutureImpl<>();
                    new Thread(() -> {
                        try {
                            Thread.sleep(400);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        later.complete(new org.apache.kafka.clients.admin.CreateTopicsResult.TopicMetadataAndConfig(
                                new org.apache.kafka.common.errors.TopicAuthorizationException("no describe configs")));
                    }).start();
                    return new org.apache.kafka.clients.admin.CreateTopicsResult(Map.of("new", later)) { };
                })
                .on("describeTopics", args -> {
                    timeouts.add(((org.apache.kafka.clients.admin.DescribeTopicsOptions) args[1]).timeoutMs());
                    return new DescribeTopicsResult(null, Map.of("new", KafkaFuture.completedFuture(
                        new TopicDescription("new", false, List.of(
                                new TopicPartitionInfo(0, broker, List.of(broker), List.of(broker)),
                                new TopicPartitionInfo(1, broker, List.of(broker), List.of(broker)),
                                new TopicPartitionInfo(2, broker, List.of(broker), List.of(broker))))))) { };
                })
                .on("listOffsets", args -> {
                    @SuppressWarnings("unchecked")
                    Map<TopicPartition, ?> asked = (Map<TopicPartition, ?>) args[0];
                    waitedOn.add(asked.size());
                    timeouts.add(((org.apache.kafka.clients.admin.ListOffsetsOptions) args[1]).timeoutMs());
                    Map<TopicPartition, KafkaFuture<ListOffsetsResult.ListOffsetsResultInfo>> ends = new java.util.HashMap<>();
                    asked.keySet().forEach(tp -> ends.put(tp, KafkaFuture.completedFuture(
                            new ListOffsetsResult.ListOffsetsResultInfo(0, -1, Optional.empty()))));
                    return new ListOffsetsResult(ends);
                });
        ClusterAdmin admin = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(1), false);
        ClusterAdmin.CreatedTopic created = admin.createTopic("new", null, null, Map.of(), Map.of(), false)
                .get(10, TimeUnit.SECONDS);
        assertEquals(new ClusterAdmin.CreatedTopic("new", 3, 1), created);
        assertEquals(List.of(3), waitedOn, "the answer waited for the leaders of all three partitions");
        assertEquals(2, timeouts.size());
        assertTrue(timeouts.get(0) <= 600 && timeouts.get(1) <= timeouts.get(0), "what the create left: " + timeouts);
    }

    @Test
    void aLongTopicListIsDescribedAChunkAtATimeWithinOneTimeoutWithItsListing() throws Exception {
        // The listing takes 400 ms of a 10 s timeout: each chunk's description gets what is left,
        // not ten seconds each again (1,200 topics would otherwise take up to thirty). (What was
        // deducted is asserted, not how much is left: a stall only deducts more.)
        Node broker = new Node(1, "localhost", 9092);
        List<Integer> describedAtOnce = new CopyOnWriteArrayList<>();
        List<Integer> timeouts = new CopyOnWriteArrayList<>();
        List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i < 1200; i++) {
            names.add(String.format("t-%04d", i));
        }
        FakeAdmin fake = new FakeAdmin()
                .on("listTopics", args -> {
                    KafkaFutureImpl<Map<String, org.apache.kafka.clients.admin.TopicListing>> listing = new KafkaFutureImpl<>();
                    completeLater(listing, AdminResults.listings(names), 400);
                    return AdminResults.listTopics(listing);
                })
                .on("describeTopics", args -> {
                    timeouts.add(((org.apache.kafka.clients.admin.DescribeTopicsOptions) args[1]).timeoutMs());
                    @SuppressWarnings("unchecked")
                    Collection<String> asked = (Collection<String>) args[0];
                    describedAtOnce.add(asked.size());
                    Map<String, KafkaFuture<TopicDescription>> each = new LinkedHashMap<>();
                    for (String name : asked) {
                        each.put(name, KafkaFuture.completedFuture(new TopicDescription(name, false,
                                List.of(new TopicPartitionInfo(0, broker, List.of(broker), List.of(broker))))));
                    }
                    return new DescribeTopicsResult(null, each) { };
                });
        ClusterAdmin topics = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(10), false);
        List<String> listed = topics.topics(n -> true).get(30, TimeUnit.SECONDS).stream().map(ClusterAdmin.Topic::name).toList();
        assertEquals(names, listed, "every topic, in order");
        assertEquals(List.of(500, 500, 200), describedAtOnce, "described 500 at a time, one call after the other");
        for (int i = 0; i < 3; i++) {
            assertTrue(timeouts.get(i) <= 10_000 - 399 && (i == 0 || timeouts.get(i) <= timeouts.get(i - 1)),
                    "what the listing left of the one timeout: " + timeouts);
        }
    }

    @Test
    void aSettingsChangeLooksUpAndChangesWithinOneTimeout() throws Exception {
        List<Integer> timeouts = new CopyOnWriteArrayList<>();
        org.apache.kafka.common.config.ConfigResource resource = new org.apache.kafka.common.config.ConfigResource(
                org.apache.kafka.common.config.ConfigResource.Type.TOPIC, "orders");
        FakeAdmin fake = new FakeAdmin()
                .on("describeConfigs", args -> {
                    timeouts.add(((org.apache.kafka.clients.admin.DescribeConfigsOptions) args[1]).timeoutMs());
                    KafkaFutureImpl<org.apache.kafka.clients.admin.Config> later = new KafkaFutureImpl<>();
                    completeLater(later, new org.apache.kafka.clients.admin.Config(
                            List.of(new org.apache.kafka.clients.admin.ConfigEntry("retention.ms", "1000"))), 400);
                    return AdminResults.describeConfigs(resource, later);
                })
                .on("incrementalAlterConfigs", args -> {
                    timeouts.add(((org.apache.kafka.clients.admin.AlterConfigsOptions) args[1]).timeoutMs());
                    return AdminResults.alterConfigs(resource, KafkaFuture.completedFuture(null));
                });
        // The look-up takes 400 ms of a 10 s timeout (a stall only deducts more).
        ClusterAdmin admin = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(10), false);
        admin.alterTopicConfigs("c", "orders", List.of(new ClusterAdmin.ConfigChange("retention.ms", "2000", false)), false)
                .get(30, TimeUnit.SECONDS);
        assertEquals(2, timeouts.size(), timeouts.toString());
        assertTrue(timeouts.get(0) <= 10_000, "the look-up has at most the one timeout: " + timeouts);
        assertTrue(timeouts.get(0) - timeouts.get(1) >= 399, "the change gets what the look-up left of one timeout: " + timeouts);
    }

    /** Completes {@code future} with {@code value} after {@code millis}, on a thread of its own. */
    private static <T> void completeLater(KafkaFutureImpl<T> future, T value, long millis) {
        new Thread(() -> {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            future.complete(value);
        }).start();
    }

    /** describeTopics answered with {@code each} topic's description. */
    private static java.util.function.Function<Object[], Object> describedBy(
            java.util.function.Function<String, KafkaFuture<TopicDescription>> each) {
        return args -> {
            @SuppressWarnings("unchecked")
            Collection<String> names = (Collection<String>) args[0];
            Map<String, KafkaFuture<TopicDescription>> described = new LinkedHashMap<>();
            for (String name : names) {
                described.put(name, each.apply(name));
            }
            return new DescribeTopicsResult(null, described) { };
        };
    }

    /** An admin whose topic listings are held (each added to {@code listings}) until the test completes them. */
    private static FakeAdmin listingsHeldIn(List<KafkaFutureImpl<Map<String, org.apache.kafka.clients.admin.TopicListing>>> listings) {
        return new FakeAdmin().on("listTopics", args -> {
            KafkaFutureImpl<Map<String, org.apache.kafka.clients.admin.TopicListing>> listing = new KafkaFutureImpl<>();
            listings.add(listing);
            return AdminResults.listTopics(listing);
        });
    }

    @Test
    void topicListsOfTheSameTopicsAskedAtOnceShareTheirDescriptions() throws Exception {
        List<KafkaFutureImpl<Map<String, org.apache.kafka.clients.admin.TopicListing>>> listings = new CopyOnWriteArrayList<>();
        List<KafkaFutureImpl<TopicDescription>> describing = new CopyOnWriteArrayList<>();
        Node broker = new Node(1, "localhost", 9092);
        FakeAdmin fake = listingsHeldIn(listings).on("describeTopics", describedBy(name -> {
            KafkaFutureImpl<TopicDescription> d = new KafkaFutureImpl<>();
            describing.add(d);
            return d;
        }));
        // Answers handled on the thread that completes them: once the listing is complete, every
        // list asked has asked for its descriptions.
        ClusterAdmin topics = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false, Runnable::run);
        List<CompletableFuture<List<ClusterAdmin.Topic>>> lists = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            lists.add(topics.topics(n -> true));
        }
        lists.add(topics.topics(n -> n.startsWith("orders")));
        listings.get(0).complete(AdminResults.listings(List.of("payments", "orders-eu")));
        assertEquals(3, describing.size(), "both topics described once for the three lists that see both, "
                + "orders-eu once more for the list that sees it alone");
        for (KafkaFutureImpl<TopicDescription> d : describing) {
            d.complete(new TopicDescription("x", false, List.of(new TopicPartitionInfo(0, broker, List.of(broker),
                    List.of(broker)))));
        }
        for (CompletableFuture<List<ClusterAdmin.Topic>> list : lists) {
            list.get(5, TimeUnit.SECONDS);
        }
        assertEquals(3, describing.size());
        CompletableFuture<List<ClusterAdmin.Topic>> later = topics.topics(n -> true);
        listings.get(listings.size() - 1).complete(AdminResults.listings(List.of("payments", "orders-eu")));
        assertEquals(5, describing.size(), "a list asked after the answer is described again");
        later.cancel(true);
    }

    @Test
    void topicListsAskedAtOnceShareOneListingEachFilteredForItsCaller() throws Exception {
        List<KafkaFutureImpl<Map<String, org.apache.kafka.clients.admin.TopicListing>>> listings = new CopyOnWriteArrayList<>();
        Node broker = new Node(1, "localhost", 9092);
        FakeAdmin fake = listingsHeldIn(listings).on("describeTopics", describedBy(name -> KafkaFuture.completedFuture(
                new TopicDescription(name, false, List.of(new TopicPartitionInfo(0, broker, List.of(broker), List.of(broker)))))));
        ClusterAdmin topics = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);
        CompletableFuture<List<ClusterAdmin.Topic>> orders = topics.topics(n -> n.startsWith("orders"));
        CompletableFuture<List<ClusterAdmin.Topic>> all = topics.topics(n -> true);
        assertEquals(1, listings.size(), "one listTopics for two lists asked at once");

        listings.get(0).complete(AdminResults.listings(List.of("payments", "orders-eu")));
        assertEquals(List.of("orders-eu"), orders.get(5, TimeUnit.SECONDS).stream().map(ClusterAdmin.Topic::name).toList());
        assertEquals(List.of("orders-eu", "payments"),
                all.get(5, TimeUnit.SECONDS).stream().map(ClusterAdmin.Topic::name).toList());

        CompletableFuture<List<ClusterAdmin.Topic>> failing = topics.topics(n -> true);
        assertEquals(2, listings.size(), "a list asked after the answer is asked again");
        listings.get(1).completeExceptionally(new TimeoutException("no answer"));
        assertEquals(503, failure(failing).httpStatus());
        topics.topics(n -> true);
        assertEquals(3, listings.size(), "a failure is not kept");
    }

    @Test
    void reassignmentsAreOfTheTopicsTheCallerSeesByTopicAndPartitionNeverPorticosOwnNorInternalUnlessShown()
            throws Exception {
        KafkaNames.reserve("__portico_reassign_state");
        Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.PartitionReassignment> moving =
                new LinkedHashMap<>();
        moving.put(new org.apache.kafka.common.TopicPartition("orders", 2),
                new org.apache.kafka.clients.admin.PartitionReassignment(List.of(1, 2, 3), List.of(3), List.of(1)));
        moving.put(new org.apache.kafka.common.TopicPartition("orders", 0),
                new org.apache.kafka.clients.admin.PartitionReassignment(List.of(1, 2), List.of(2), List.of()));
        moving.put(new org.apache.kafka.common.TopicPartition("audit", 5),
                new org.apache.kafka.clients.admin.PartitionReassignment(List.of(4, 5), List.of(), List.of(4)));
        moving.put(new org.apache.kafka.common.TopicPartition("hidden", 0),
                new org.apache.kafka.clients.admin.PartitionReassignment(List.of(1), List.of(), List.of()));
        moving.put(new org.apache.kafka.common.TopicPartition("__consumer_offsets", 7),
                new org.apache.kafka.clients.admin.PartitionReassignment(List.of(1), List.of(), List.of()));
        moving.put(new org.apache.kafka.common.TopicPartition("__portico_reassign_state", 0),
                new org.apache.kafka.clients.admin.PartitionReassignment(List.of(1), List.of(), List.of()));
        FakeAdmin fake = new FakeAdmin().on("listPartitionReassignments",
                args -> org.apache.kafka.clients.admin.AdminResults.listPartitionReassignments(moving));

        ClusterAdmin hiding = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);
        List<ClusterAdmin.Reassignment> seen = hiding.reassignments(t -> !t.equals("hidden")).get(5, TimeUnit.SECONDS);
        assertEquals(List.of(new ClusterAdmin.Reassignment("audit", 5, List.of(), List.of(4), List.of(4, 5)),
                new ClusterAdmin.Reassignment("orders", 0, List.of(2), List.of(), List.of(1, 2)),
                new ClusterAdmin.Reassignment("orders", 2, List.of(3), List.of(1), List.of(1, 2, 3))), seen);

        ClusterAdmin showing = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), true);
        assertEquals(List.of("__consumer_offsets", "audit", "hidden", "orders", "orders"),
                showing.reassignments(t -> true).get(5, TimeUnit.SECONDS).stream()
                        .map(ClusterAdmin.Reassignment::topic).toList(), "Portico's own never");
    }

    @Test
    void aDeleteOfMoreAclsThanKafkaDeletesAtOnceIsKafkaRefusingItNotAServerError() throws Exception {
        FakeAdmin fake = new FakeAdmin().on("deleteAcls", args -> {
            @SuppressWarnings("unchecked")
            Collection<org.apache.kafka.common.acl.AclBindingFilter> filters =
                    (Collection<org.apache.kafka.common.acl.AclBindingFilter>) args[0];
            org.apache.kafka.common.internals.KafkaFutureImpl<org.apache.kafka.clients.admin.DeleteAclsResult.FilterResults>
                    refused = new org.apache.kafka.common.internals.KafkaFutureImpl<>();
            refused.completeExceptionally(new org.apache.kafka.common.errors.UnknownServerException(
                    "The server experienced an unexpected error when processing the request."));
            return org.apache.kafka.clients.admin.AdminResults.deleteAcls(filters.iterator().next(), refused);
        });
        ClusterAdmin acls = new ClusterAdmin(SharedAdmin.of(fake.admin()), Duration.ofSeconds(5), false);
        ExecutionException e = assertThrows(ExecutionException.class, () -> acls.deleteAcls(new ClusterAdmin.Acl("ANY", null,
                "ANY", null, null, "ANY", "ANY")).get(5, TimeUnit.SECONDS));
        RestException rest = assertInstanceOf(RestException.class, RestException.unwrap(e));
        assertError(rest, 400, 40002, "Kafka did not delete the ACLs the filter matches and said only \"unknown error\", "
                + "as it does when they are more than 10,000: narrow the filter");
    }
}
