package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateAclsOptions;
import org.apache.kafka.clients.admin.DeleteAclsOptions;
import org.apache.kafka.clients.admin.DescribeAclsOptions;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SecurityDisabledException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.CreatePartitionsOptions;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DeleteTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicaAssignmentException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.ThrottlingQuotaExceededException;
import org.apache.kafka.common.errors.TopicDeletionDisabledException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicIdException;
import org.apache.kafka.common.errors.UnknownServerException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * The cluster administration of Confluent's v3 API over the shared admin client: the cluster and
 * its brokers, topics (list, describe, create, delete, more partitions), the settings of topics,
 * brokers and the cluster (describe, change), partitions and their offsets, the replicas a broker
 * holds, partition reassignments, consumer groups with their members and lags.
 *
 * <p>Non-blocking: every method returns at once; its future completes within the metadata timeout
 * for each call it makes of the cluster (a group's lags, three calls, and a topic's creation with
 * what follows it, within one in all), on a thread of the executor given (see {@link AdminAnswers}), not on the admin client's one
 * network thread, which every caller of the shared client waits on: what is chained after it
 * (filtering and sorting a topic list, rendering each resource) takes none of that thread's time.
 * An executor that refuses the work fails the future with 503. Every value a client gave is
 * checked here before it reaches the shared client: topic and group names by {@link KafkaNames},
 * partition counts, replication factors, replica assignments and settings within bounds
 * (422/42206 otherwise, 400/40002 for a topic name in a path, 403 for an internal topic changed).
 *
 * <p>Failures complete the future with a {@link RestException} in Confluent's words for v3:
 * Kafka refusing a request (the topic exists, a partition count or replication factor it cannot
 * take, an invalid setting, a policy) is 400/40002 with Kafka's own message; a topic that does
 * not exist is 404/40403; Kafka not answering in time is 503.
 */
public final class ClusterAdmin {
    /** The most settings a topic may be created with, or changed at once. */
    public static final int MAX_CONFIGS = 1000;
    /** The most replicas a partition may be given by an explicit assignment. */
    public static final int MAX_REPLICAS = 1000;

    private static final long CLUSTER_ID_MAX_AGE = Duration.ofMinutes(1).toNanos();
    private static final long CLUSTER_ID_RECHECK = Duration.ofSeconds(1).toNanos();
    private static final List<Class<? extends Exception>> REFUSED = List.of(TopicExistsException.class,
            InvalidPartitionsException.class, InvalidReplicationFactorException.class,
            InvalidReplicaAssignmentException.class, InvalidConfigurationException.class, PolicyViolationException.class,
            InvalidRequestException.class, InvalidTopicException.class, TopicDeletionDisabledException.class,
            UnsupportedVersionException.class, SecurityDisabledException.class);

    private final SharedAdmin shared;
    private final int timeoutMs;
    private final boolean showInternalTopics;
    private final AdminAnswers answers;
    /** The cluster-wide lists (topic names, group ids) being asked, shared by the requests that want them meanwhile. */
    private final SharedCalls<String, List<String>> lists = new SharedCalls<>();
    /**
     * The descriptions of a list of topics, shared by the requests that want the same list at
     * once (a dashboard's many calls, or many callers with the same view): one set of
     * describeTopics calls on the shared admin client, and one copy held, however many ask.
     */
    private final SharedCalls<List<String>, List<Topic>> described = new SharedCalls<>();
    /** The settings of a list of topics, shared as {@link #described} is. */
    private final SharedCalls<List<String>, List<TopicConfig>> describedConfigs = new SharedCalls<>();
    private volatile KnownId known;

    /** The cluster id last seen, and when (System.nanoTime). */
    private record KnownId(String id, long at) {
    }

    /**
     * @param admin the shared admin client (replaced when it breaks)
     * @param timeout how long each call waits for the cluster ({@code metadata.timeout.ms})
     * @param showInternalTopics whether topic lists include Kafka's internal topics
     */
    public ClusterAdmin(SharedAdmin admin, Duration timeout, boolean showInternalTopics) {
        this(admin, timeout, showInternalTopics, Runnable::run);
    }

    /**
     * @param admin the shared admin client (replaced when it breaks)
     * @param timeout how long each call waits for the cluster ({@code metadata.timeout.ms})
     * @param showInternalTopics whether topic lists include Kafka's internal topics
     * @param executor completes every future this service returns, off the admin client's thread
     *        (a bounded pool: when it refuses, the future fails with 503)
     */
    public ClusterAdmin(SharedAdmin admin, Duration timeout, boolean showInternalTopics, Executor executor) {
        this.shared = admin;
        this.timeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        this.showInternalTopics = showInternalTopics;
        this.answers = new AdminAnswers(executor, ClusterAdmin::rest);
    }

    // ---- what the service answers with

    /** The cluster: its id, its controller (null when unknown) and its brokers, sorted by id. */
    public record Cluster(String id, Broker controller, List<Broker> brokers) {
    }

    /** A broker: its id, and its host, port and rack, each null when unknown. */
    public record Broker(int id, String host, Integer port, String rack) {
    }

    /** A topic: whether Kafka owns it, its replication factor (0 without partitions), its partitions by id. */
    public record Topic(String name, boolean internal, int replicationFactor, List<Partition> partitions) {
    }

    /**
     * A partition: its id, its leader's broker id (null without a leader), its replicas' broker
     * ids and those of the replicas in sync.
     */
    public record Partition(int id, Integer leader, List<Integer> replicas, List<Integer> inSync) {
        public Partition {
            replicas = List.copyOf(replicas);
            inSync = List.copyOf(inSync);
        }

        public Partition(int id, Integer leader, List<Integer> replicas) {
            this(id, leader, replicas, List.of());
        }
    }

    /** A topic Kafka created, or would create for a dry run: its partition count and replication factor. */
    public record CreatedTopic(String name, int partitionsCount, int replicationFactor) {
    }

    /**
     * A topic setting as Kafka describes it: its value (null when sensitive or unset) and
     * {@code source}, Kafka's name of where the value comes from ({@code DYNAMIC_TOPIC_CONFIG},
     * {@code DEFAULT_CONFIG}, …), and the values it overrides, most specific first.
     */
    public record Config(String name, String value, boolean isDefault, boolean readOnly, boolean sensitive,
                         String source, List<Synonym> synonyms) {
    }

    /** A value a setting has at another level. */
    public record Synonym(String name, String value, String source) {
    }

    /** A change of a topic setting: to {@code value}, or back to its default when {@code delete}. */
    public record ConfigChange(String name, String value, boolean delete) {
    }

    /** A partition's first offset and the offset after its last record. */
    public record Offsets(long earliest, long latest) {
    }

    /**
     * A consumer group: whether it is simple (offsets, no members), its assignor, {@code state}
     * and {@code type} (Kafka's names: {@code STABLE}, {@code EMPTY}, …; {@code CLASSIC},
     * {@code CONSUMER}), whether a consumer-protocol group still has classic members, its
     * coordinator and members (sorted by consumer id).
     */
    public record ConsumerGroup(String id, boolean simple, String assignor, String state, String type, boolean mixed,
                                Broker coordinator, List<Member> members) {
    }

    /**
     * A member of a consumer group: its consumer id, static instance id (or null), client id and
     * the partitions assigned to it, by topic and partition.
     */
    public record Member(String consumerId, String instanceId, String clientId, List<Assigned> assignments) {
        public Member {
            assignments = List.copyOf(assignments);
        }

        public Member(String consumerId, String instanceId, String clientId) {
            this(consumerId, instanceId, clientId, List.of());
        }
    }

    /** A partition assigned to a member of a consumer group. */
    public record Assigned(String topic, int partition) {
    }

    /**
     * A group's position on one partition: the committed offset, the partition's end offset (of
     * committed records) and the member that has it ({@code ""} ids when none has).
     */
    public record Lag(String topic, int partition, String consumerId, String instanceId, String clientId,
                      long currentOffset, long logEndOffset) {
        /** How far the group is behind, never negative. */
        public long lag() {
            return Math.max(0, logEndOffset - currentOffset);
        }
    }

    /** The largest lag of a group (the first by topic and partition among equals) and the total. */
    public record LagSummary(Lag max, long totalLag) {
        /** The summary of {@code lags}, which must not be empty. */
        public static LagSummary of(List<Lag> lags) {
            List<Lag> ordered = new ArrayList<>(lags);
            ordered.sort(Comparator.comparing(Lag::topic).thenComparingInt(Lag::partition));
            Lag max = null;
            long total = 0;
            for (Lag lag : ordered) {
                if (max == null || lag.lag() > max.lag()) {
                    max = lag;
                }
                total += lag.lag();
            }
            if (max == null) {
                throw new IllegalArgumentException("no lags to summarize");
            }
            return new LagSummary(max, total);
        }
    }

    // ---- the cluster

    /** The cluster behind {@code bootstrap.servers}. */
    public CompletableFuture<Cluster> cluster() {
        DescribeClusterResult result = admin().describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs));
        CompletableFuture<String> id = adapt(result.clusterId(), Function.identity());
        CompletableFuture<Node> controller = adapt(result.controller(), Function.identity());
        CompletableFuture<Collection<Node>> nodes = adapt(result.nodes(), Function.identity());
        return id.thenCombine(controller, (i, c) -> new Cluster(remember(i), broker(c), List.of()))
                .thenCombine(nodes, (cluster, n) -> new Cluster(cluster.id(), cluster.controller(), n.stream()
                        .filter(node -> node != null && !node.isEmpty())
                        .map(ClusterAdmin::broker)
                        .sorted(Comparator.comparingInt(Broker::id))
                        .toList()));
    }

    /**
     * {@code clusterId} when it is the id of the cluster behind {@code bootstrap.servers}, else a
     * failure with 404 {@code Cluster <id> cannot be found.} The id is remembered for a minute, so
     * most calls complete at once without asking the cluster.
     */
    public CompletableFuture<String> requireCluster(String clusterId) {
        KnownId k = known;
        long now = System.nanoTime();
        if (k != null && clusterId != null) {
            if (k.id().equals(clusterId)) {
                if (now - k.at() >= CLUSTER_ID_MAX_AGE) {
                    clusterIdNow(); // asked again in the background; the id known answers meanwhile
                }
                return CompletableFuture.completedFuture(k.id());
            }
            if (now - k.at() < CLUSTER_ID_RECHECK) {
                return CompletableFuture.failedFuture(clusterNotFound(clusterId));
            }
        }
        return clusterIdNow().thenApply(id -> {
            if (!id.equals(clusterId)) {
                throw clusterNotFound(clusterId);
            }
            return id;
        });
    }

    /** The look-up of the cluster's id in progress, shared by every request that needs it meanwhile. */
    private final java.util.concurrent.atomic.AtomicReference<CompletableFuture<String>> asking =
            new java.util.concurrent.atomic.AtomicReference<>();

    /**
     * Asks the cluster its id, once however many requests want it at the same time (a burst of v3
     * requests as the known id ages, or while the cluster is slow, sends one describeCluster).
     */
    private CompletableFuture<String> clusterIdNow() {
        CompletableFuture<String> mine = new CompletableFuture<>();
        CompletableFuture<String> running = asking.compareAndExchange(null, mine);
        if (running != null) {
            return running;
        }
        adapt(admin().describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs)).clusterId(), this::remember)
                .whenComplete((id, e) -> {
                    asking.compareAndSet(mine, null);
                    if (e != null) {
                        mine.completeExceptionally(e);
                    } else {
                        mine.complete(id);
                    }
                });
        return mine;
    }

    private String remember(String id) {
        if (id == null) {
            throw ErrorCode.KAFKA_ERROR.exception("the cluster did not say its id");
        }
        known = new KnownId(id, System.nanoTime());
        return id;
    }

    private static RestException clusterNotFound(String clusterId) {
        return ErrorCode.NOT_FOUND.exception("Cluster " + KafkaNames.excerpt(clusterId) + " cannot be found.");
    }

    // ---- topics

    /**
     * The topics {@code visible} lets through (internal ones only when configured, Portico's own
     * never), sorted by name. The cluster's list is asked once for every request that wants it
     * meanwhile; each filters it for its caller on the executor, and the requests whose callers
     * see the same topics share their descriptions too.
     */
    public CompletableFuture<List<Topic>> topics(Predicate<String> visible) {
        // The listing and the descriptions of its chunks: within one metadata timeout in all.
        return topics(visible, CallDeadline.in(timeoutMs));
    }

    private CompletableFuture<List<Topic>> topics(Predicate<String> visible, CallDeadline deadline) {
        return answers.handedOff(topicNames(), names -> names.stream().filter(visible).toList())
                .thenCompose(names -> described.call(names,
                        () -> MetadataService.inChunks(names, deadline, this::describeChunkSkippingGone)));
    }

    /** Every topic name the lists show (internal ones only when configured, Portico's own never), sorted. */
    private CompletableFuture<List<String>> topicNames() {
        return lists.call("topics", () -> adapt(admin().listTopics(new ListTopicsOptions()
                .listInternal(showInternalTopics).timeoutMs(timeoutMs)).names(),
                names -> names.stream().filter(n -> !KafkaNames.isReserved(n)).sorted().toList()));
    }

    /** Describes {@code names}, leaving out a topic deleted since it was listed, within {@code waitMs}. */
    private CompletableFuture<List<Topic>> describeChunkSkippingGone(List<String> names, int waitMs) {
        if (names.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        Map<String, KafkaFuture<TopicDescription>> described =
                admin().describeTopics(names, new DescribeTopicsOptions().timeoutMs(waitMs)).topicNameValues();
        return settled(described.values(), () -> {
            List<Topic> out = new ArrayList<>(names.size());
            for (String name : names) {
                try {
                    out.add(topic(valueOf(described.get(name))));
                } catch (RestException e) {
                    if (e.errorCode() != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
                        throw e;
                    }
                    // deleted since it was listed
                }
            }
            return out;
        });
    }

    /** One topic; 404/40403 when it does not exist. */
    public CompletableFuture<Topic> topic(String name) {
        return topic(name, timeoutMs);
    }

    private CompletableFuture<Topic> topic(String name, int waitMs) {
        try {
            KafkaNames.topic(name);
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        return adapt(admin().describeTopics(List.of(name), new DescribeTopicsOptions().timeoutMs(waitMs))
                .allTopicNames(), all -> topic(all.get(name)));
    }

    /**
     * Creates a topic (or, with {@code validateOnly}, has Kafka check that it could): with
     * {@code assignments} when not empty, else with {@code partitions} and
     * {@code replicationFactor}, each the broker's default when null.
     */
    public CompletableFuture<CreatedTopic> createTopic(String name, Integer partitions, Integer replicationFactor,
                                                       Map<Integer, List<Integer>> assignments,
                                                       Map<String, String> configs, boolean validateOnly) {
        // -1 is Kafka's own "the broker's default" (CreateTopics), which Confluent's proxy passes on.
        partitions = partitions != null && partitions == -1 ? null : partitions;
        replicationFactor = replicationFactor != null && replicationFactor == -1 ? null : replicationFactor;
        NewTopic topic;
        try {
            KafkaNames.topic(name, ErrorCode.PAYLOAD_ERROR);
            KafkaNames.notInternal(name, "created");
            checkPartitionsCount(partitions);
            if (replicationFactor != null && (replicationFactor < 1 || replicationFactor > Short.MAX_VALUE)) {
                throw ErrorCode.PAYLOAD_ERROR.exception("replication_factor must be between 1 and " + Short.MAX_VALUE + ".");
            }
            checkAssignments(assignments);
            if (configs.size() > MAX_CONFIGS) {
                throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MAX_CONFIGS + " configs.");
            }
            KafkaNames.configs(configs, ErrorCode.PAYLOAD_ERROR);
            topic = assignments.isEmpty()
                    ? new NewTopic(name, Optional.ofNullable(partitions), Optional.ofNullable(replicationFactor)
                            .map(Integer::shortValue))
                    : new NewTopic(name, assignments);
            topic.configs(configs);
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        // The create, the look-up of what Kafka chose when it did not say, and the wait for the
        // leaders: within one metadata timeout in all.
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        CreateTopicsResult result = admin().createTopics(List.of(topic),
                new CreateTopicsOptions().validateOnly(validateOnly).timeoutMs(timeoutMs));
        // Kafka says the count and factor it chose; a caller without the right to describe
        // configs is not told them (KIP-525), and then the request's values stand in.
        int askedPartitions = !assignments.isEmpty() ? assignments.size() : partitions == null ? 0 : partitions;
        int askedFactor = !assignments.isEmpty() ? assignments.values().iterator().next().size()
                : replicationFactor == null ? 0 : replicationFactor;
        KafkaFuture<Integer> count = result.numPartitions(name);
        KafkaFuture<Integer> factor = result.replicationFactor(name);
        CompletableFuture<CreatedTopic> created = settled(List.of(result.all(), count, factor), () -> {
            valueOf(result.all());
            return new CreatedTopic(name, orElse(count, askedPartitions), orElse(factor, askedFactor));
        });
        if (validateOnly) {
            return created;
        }
        // Answered once the partitions' leaders serve the topic, so that a produce sent right
        // after the answer does not race them (see TopicReadiness). When Kafka did not say the
        // count or factor it chose and the request left them to it, the topic is described for
        // them: a count of 0 would wait on no partition and answer 0.
        return created.thenCompose(t -> t.partitionsCount() > 0 && t.replicationFactor() > 0
                        ? CompletableFuture.completedFuture(t)
                        : topic(name, deadline.remaining()).handle((d, e) -> d == null ? t : new CreatedTopic(name,
                                t.partitionsCount() > 0 ? t.partitionsCount() : d.partitions().size(),
                                t.replicationFactor() > 0 ? t.replicationFactor() : d.replicationFactor())))
                .thenCompose(t -> answers.handedOff(TopicReadiness.served(admin(), name, t.partitionsCount(),
                        deadline.remaining()), v -> t));
    }

    private static void checkPartitionsCount(Integer partitions) {
        if (partitions != null && (partitions < 1 || partitions > MetadataService.MAX_PARTITIONS)) {
            throw ErrorCode.PAYLOAD_ERROR.exception("partitions_count must be between 1 and "
                    + MetadataService.MAX_PARTITIONS + ".");
        }
    }

    /**
     * Checks an explicit replica assignment as Kafka would before it reaches Kafka: at most
     * {@link MetadataService#MAX_PARTITIONS} partitions with ids within that bound, each with 1 to
     * {@link #MAX_REPLICAS} distinct, non-negative broker ids, every partition with as many.
     *
     * @throws RestException 422/42206 otherwise
     */
    private static void checkAssignments(Map<Integer, List<Integer>> assignments) {
        if (assignments.size() > MetadataService.MAX_PARTITIONS) {
            throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MetadataService.MAX_PARTITIONS + " partitions.");
        }
        Map.Entry<Integer, List<Integer>> first = null;
        for (Map.Entry<Integer, List<Integer>> e : assignments.entrySet()) {
            if (e.getKey() < 0 || e.getKey() >= MetadataService.MAX_PARTITIONS) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Partition ids are between 0 and "
                        + (MetadataService.MAX_PARTITIONS - 1) + ".");
            }
            if (e.getValue().isEmpty() || e.getValue().size() > MAX_REPLICAS) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Partition " + e.getKey() + " needs 1 to " + MAX_REPLICAS
                        + " replicas.");
            }
            Set<Integer> brokers = new HashSet<>();
            for (Integer broker : e.getValue()) {
                if (broker == null || broker < 0) {
                    throw ErrorCode.PAYLOAD_ERROR.exception("Broker ids are not negative.");
                }
                if (!brokers.add(broker)) {
                    throw ErrorCode.PAYLOAD_ERROR.exception("Partition " + e.getKey() + " lists broker " + broker
                            + " more than once.");
                }
            }
            if (first == null) {
                first = e;
            } else if (e.getValue().size() != first.getValue().size()) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Every partition needs as many replicas: partition "
                        + first.getKey() + " has " + first.getValue().size() + ", partition " + e.getKey() + " has "
                        + e.getValue().size() + ".");
            }
        }
    }

    /** The value of the completed {@code future}, or {@code fallback} when it failed or has none. */
    private static int orElse(KafkaFuture<Integer> future, int fallback) {
        try {
            Integer value = future.getNow(null);
            return value != null ? value : fallback;
        } catch (ExecutionException e) {
            return fallback;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fallback;
        }
    }

    /** Deletes a topic; 404/40403 when it does not exist. */
    public CompletableFuture<Void> deleteTopic(String name) {
        try {
            KafkaNames.topic(name);
            KafkaNames.notInternal(name, "deleted");
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        return adapt(admin().deleteTopics(List.of(name), new DeleteTopicsOptions().timeoutMs(timeoutMs)).all(), v -> v);
    }

    /**
     * Raises the topic's partition count to {@code count}; 404/40403 when the topic does not
     * exist, 400/40002 when it has that many partitions or more already. The topic is described
     * before the change, so that nothing is asked of the cluster after Kafka has accepted it:
     * completes, once Kafka has, with the topic as it was described (its partitions the ones it
     * had; it now has {@code count}).
     */
    public CompletableFuture<Topic> increasePartitions(String name, int count) {
        try {
            KafkaNames.topic(name);
            KafkaNames.notInternal(name, "changed");
            checkPartitionsCount(count);
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        CallDeadline deadline = CallDeadline.in(timeoutMs); // the look-up and the change together
        return topic(name, deadline.left()).thenCompose(before -> adapt(admin().createPartitions(
                Map.of(name, NewPartitions.increaseTo(count)), new CreatePartitionsOptions().timeoutMs(deadline.left())).all(),
                v -> before));
    }

    // ---- topic settings

    /** Every setting of the topic, sorted by name. */
    public CompletableFuture<List<Config>> topicConfigs(String topic) {
        return topicConfigs(topic, timeoutMs);
    }

    private CompletableFuture<List<Config>> topicConfigs(String topic, int waitMs) {
        try {
            KafkaNames.topic(topic);
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        return describeConfigs(new ConfigResource(ConfigResource.Type.TOPIC, topic), waitMs);
    }

    /** One setting of the topic; 404 when the topic has no setting of that name. */
    public CompletableFuture<Config> topicConfig(String topic, String name) {
        return topicConfigs(topic).thenApply(all -> named(all, name));
    }

    /**
     * Changes settings of the topic together (Kafka's incremental alter), or with
     * {@code validateOnly} has Kafka check them only. A name the topic has no setting of is a 404
     * naming it and {@code clusterId}, and nothing is changed.
     */
    public CompletableFuture<Void> alterTopicConfigs(String clusterId, String topic, List<ConfigChange> changes,
                                                     boolean validateOnly) {
        try {
            KafkaNames.topic(topic);
            KafkaNames.notInternal(topic, "changed");
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        return alterConfigs(clusterId, new ConfigResource(ConfigResource.Type.TOPIC, topic), changes, validateOnly,
                waitMs -> topicConfigs(topic, waitMs));
    }

    /**
     * Changes {@code resource}'s settings together (Kafka's incremental alter), or with
     * {@code validateOnly} has Kafka check them only. With {@code existing}, a name the resource
     * has no setting of is a 404 naming it, its type and {@code clusterId}, as Confluent's
     * answers it, and nothing is changed; without it (cluster-wide settings, which Kafka lists
     * only once set), Kafka alone judges the names. Look-up and change within one metadata
     * timeout in all.
     */
    private CompletableFuture<Void> alterConfigs(String clusterId, ConfigResource resource, List<ConfigChange> changes,
                                                 boolean validateOnly,
                                                 java.util.function.IntFunction<CompletableFuture<List<Config>>> existing) {
        List<AlterConfigOp> ops;
        try {
            if (changes.size() > MAX_CONFIGS) {
                throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MAX_CONFIGS + " configs at once.");
            }
            ops = ops(changes);
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        CompletableFuture<List<Config>> checked = existing == null
                ? CompletableFuture.completedFuture(List.of()) : existing.apply(deadline.left());
        return checked.thenCompose(known -> {
            if (existing != null) {
                checkNamed(clusterId, resource, changes, known.stream().map(Config::name).collect(Collectors.toSet()));
            }
            return adapt(admin().incrementalAlterConfigs(Map.of(resource, ops),
                    new AlterConfigsOptions().validateOnly(validateOnly).timeoutMs(deadline.left())).all(), v -> v);
        });
    }

    /** Kafka's operations for {@code changes}, each name and value checked first (400 for one Kafka could not take). */
    private static List<AlterConfigOp> ops(List<ConfigChange> changes) {
        List<AlterConfigOp> ops = new ArrayList<>(changes.size());
        for (ConfigChange c : changes) {
            KafkaNames.configName(c.name(), ErrorCode.PAYLOAD_ERROR);
            KafkaNames.configValue(c.name(), c.value(), ErrorCode.PAYLOAD_ERROR);
            ops.add(c.delete()
                    ? new AlterConfigOp(new ConfigEntry(c.name(), null), AlterConfigOp.OpType.DELETE)
                    : new AlterConfigOp(new ConfigEntry(c.name(), c.value()), AlterConfigOp.OpType.SET));
        }
        return ops;
    }

    /** 404 naming the first of {@code changes} whose setting {@code resource} does not have, as Confluent's words it. */
    private static void checkNamed(String clusterId, ConfigResource resource, List<ConfigChange> changes, Set<String> known) {
        for (ConfigChange c : changes) {
            if (!known.contains(c.name())) {
                throw ErrorCode.NOT_FOUND.exception("Config " + c.name() + " cannot be found for "
                        + resource.type() + " " + resource.name() + " in cluster "
                        + KafkaNames.excerpt(clusterId) + ".");
            }
        }
    }

    /** Most topics one {@link #alterTopicsConfigs} changes: their settings are all described first, in memory together. */
    public static final int MAX_TOPICS_AT_ONCE = io.portico.protocol.v3.AlterTopicsConfigsRequest.MAX_TOPICS;

    /**
     * Changes the settings of several topics in one call (Confluent's {@code topics/-/configs:alter}),
     * or with {@code validateOnly} has Kafka check them only. Nothing is changed when a topic does
     * not exist (404/40403), is internal, or has no setting of a name asked (404, as
     * {@link #alterTopicConfigs}): every topic's settings are described first. Then Kafka judges
     * each topic's changes on its own: completes with the topics whose changes it refused and why
     * (in {@code changes}' order; empty when every topic's were made). When every topic failed
     * so for want of an answer (a timeout, a broker gone: 5xx, the outcome unknown), fails with
     * the first of them instead, a retriable error rather than a list of failures. At most
     * {@link #MAX_TOPICS_AT_ONCE} topics and {@link #MAX_CONFIGS} changes in all (422/42206
     * beyond); look-up and change within one metadata timeout.
     */
    public CompletableFuture<Map<String, RestException>> alterTopicsConfigs(String clusterId,
                                                                            Map<String, List<ConfigChange>> changes,
                                                                            boolean validateOnly) {
        Map<ConfigResource, Collection<AlterConfigOp>> ops = new LinkedHashMap<>();
        try {
            if (changes.size() > MAX_TOPICS_AT_ONCE) {
                throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MAX_TOPICS_AT_ONCE + " topics at once.");
            }
            if (changes.values().stream().mapToLong(List::size).sum() > MAX_CONFIGS) {
                throw ErrorCode.PAYLOAD_ERROR.exception("At most " + MAX_CONFIGS + " configs at once.");
            }
            for (Map.Entry<String, List<ConfigChange>> e : changes.entrySet()) {
                KafkaNames.topic(e.getKey());
                KafkaNames.notInternal(e.getKey(), "changed");
                ops.put(new ConfigResource(ConfigResource.Type.TOPIC, e.getKey()), ops(e.getValue()));
            }
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (ops.isEmpty()) {
            return CompletableFuture.completedFuture(Map.of());
        }
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        Map<ConfigResource, KafkaFuture<org.apache.kafka.clients.admin.Config>> described = admin().describeConfigs(
                ops.keySet(), new DescribeConfigsOptions().includeSynonyms(false).timeoutMs(deadline.left())).values();
        return settled(described.values(), () -> {
            for (ConfigResource r : ops.keySet()) {
                Set<String> known = new HashSet<>();
                valueOf(described.get(r)).entries().forEach(e -> known.add(e.name()));
                checkNamed(clusterId, r, changes.get(r.name()), known);
            }
            return ops;
        }).thenCompose(checked -> {
            Map<ConfigResource, KafkaFuture<Void>> each = admin().incrementalAlterConfigs(checked,
                    new AlterConfigsOptions().validateOnly(validateOnly).timeoutMs(deadline.left())).values();
            return settled(each.values(), () -> {
                Map<String, RestException> refused = new LinkedHashMap<>();
                for (ConfigResource r : checked.keySet()) {
                    try {
                        valueOf(each.get(r));
                    } catch (RestException e) {
                        refused.put(r.name(), e);
                    }
                }
                if (refused.size() == checked.size() && refused.values().stream().allMatch(e -> e.httpStatus() >= 500)) {
                    throw refused.values().iterator().next();
                }
                return refused;
            });
        });
    }

    /**
     * The settings of every topic {@code visible} lets through (as {@link #topics} lists them),
     * by topic name, then by setting name; a topic deleted since it was listed is left out.
     * Described a chunk of topics at a time, within one metadata timeout in all, and only once
     * {@code room} has taken room for the answer of that many topics (503 otherwise, or what
     * {@code room} throws: tens of kilobytes a topic, too much to build first and count after on a
     * cluster of thousands).
     * Requests that want the same topics meanwhile share one description.
     */
    public CompletableFuture<List<TopicConfig>> allTopicConfigs(Predicate<String> visible,
                                                                java.util.function.IntPredicate room) {
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        return answers.handedOff(topicNames(), names -> {
            List<String> seen = names.stream().filter(visible).toList();
            if (!room.test(seen.size())) {
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("the settings of " + seen.size() + " topics do not fit in "
                        + "the memory for answers now (memory.responses.max.bytes); retry later, or ask each topic's");
            }
            return seen;
        }).thenCompose(names -> describedConfigs.call(names,
                () -> MetadataService.inChunks(names, deadline, this::describeConfigsSkippingGone)));
    }

    /** A setting of a topic, in a list of several topics' settings. */
    public record TopicConfig(String topic, Config config) {
    }

    private CompletableFuture<List<TopicConfig>> describeConfigsSkippingGone(List<String> names, int waitMs) {
        if (names.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        List<ConfigResource> resources = names.stream()
                .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
        Map<ConfigResource, KafkaFuture<org.apache.kafka.clients.admin.Config>> described = admin().describeConfigs(
                resources, new DescribeConfigsOptions().includeSynonyms(true).timeoutMs(waitMs)).values();
        return settled(described.values(), () -> {
            List<TopicConfig> out = new ArrayList<>();
            for (ConfigResource r : resources) {
                try {
                    for (Config c : configs(valueOf(described.get(r)))) {
                        out.add(new TopicConfig(r.name(), c));
                    }
                } catch (RestException e) {
                    if (e.errorCode() != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
                        throw e;
                    }
                    // deleted since it was listed
                }
            }
            return out;
        });
    }

    // ---- broker settings, and the cluster-wide ones (Kafka's default broker resource)

    /** Every setting of broker {@code broker}, sorted by name; 404 when the cluster has no such broker. */
    public CompletableFuture<List<Config>> brokerConfigs(int broker) {
        return brokerConfigs(broker, timeoutMs);
    }

    private CompletableFuture<List<Config>> brokerConfigs(int broker, int waitMs) {
        CallDeadline deadline = CallDeadline.in(waitMs);
        return requireBroker(broker, deadline).thenCompose(b -> describeConfigs(brokerResource(broker), deadline.left()));
    }

    /** One setting of broker {@code broker}; 404 when it has no setting of that name. */
    public CompletableFuture<Config> brokerConfig(int broker, String name) {
        return brokerConfigs(broker).thenApply(all -> named(all, name));
    }

    /** The settings of every broker of the cluster, by broker id. */
    public CompletableFuture<Map<Integer, List<Config>>> allBrokerConfigs() {
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        return cluster().thenCompose(cluster -> {
            List<ConfigResource> resources = cluster.brokers().stream().map(b -> brokerResource(b.id())).toList();
            if (resources.isEmpty()) {
                return CompletableFuture.completedFuture(Map.of());
            }
            return adapt(admin().describeConfigs(resources,
                    new DescribeConfigsOptions().includeSynonyms(true).timeoutMs(deadline.left())).all(), all -> {
                        Map<Integer, List<Config>> out = new java.util.TreeMap<>();
                        for (ConfigResource r : resources) {
                            out.put(Integer.parseInt(r.name()), configs(all.get(r)));
                        }
                        return out;
                    });
        });
    }

    /**
     * Changes settings of broker {@code broker} together (or checks them only); a name the
     * broker has no setting of is a 404, and nothing changes. Kafka refuses a setting it cannot
     * change while the broker runs (400/40002).
     */
    public CompletableFuture<Void> alterBrokerConfigs(String clusterId, int broker, List<ConfigChange> changes,
                                                      boolean validateOnly) {
        return alterConfigs(clusterId, brokerResource(broker), changes, validateOnly, waitMs -> brokerConfigs(broker, waitMs));
    }

    /**
     * The cluster-wide broker settings set dynamically (Kafka lists no others for the cluster's
     * default broker resource), sorted by name.
     */
    public CompletableFuture<List<Config>> clusterConfigs() {
        return describeConfigs(CLUSTER_DEFAULTS, timeoutMs);
    }

    /** One cluster-wide broker setting; 404 when none of that name is set. */
    public CompletableFuture<Config> clusterConfig(String name) {
        return clusterConfigs().thenApply(all -> named(all, name));
    }

    /**
     * Sets or resets cluster-wide broker settings together (or checks them only). As in
     * Confluent's, a setting set needs no look-up (Kafka lists only those already set; it judges
     * the name itself), while one reset must be set ({@code mustBeSet}: 404 otherwise).
     */
    public CompletableFuture<Void> alterClusterConfigs(String clusterId, List<ConfigChange> changes, boolean validateOnly,
                                                       boolean mustBeSet) {
        return alterConfigs(clusterId, CLUSTER_DEFAULTS, changes, validateOnly,
                mustBeSet ? waitMs -> describeConfigs(CLUSTER_DEFAULTS, waitMs) : null);
    }

    /** Kafka's resource of the settings every broker of the cluster takes unless it has its own. */
    private static final ConfigResource CLUSTER_DEFAULTS = new ConfigResource(ConfigResource.Type.BROKER, "");

    private static ConfigResource brokerResource(int broker) {
        return new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(broker));
    }

    /**
     * The broker of that id, asked within {@code deadline}; 404 {@code Broker <b> cannot be found.}
     * when the cluster has none (Kafka would wait for it until the timeout).
     */
    private CompletableFuture<Broker> requireBroker(int broker, CallDeadline deadline) {
        return adapt(admin().describeCluster(new DescribeClusterOptions().timeoutMs(deadline.left())).nodes(),
                nodes -> nodes.stream().filter(n -> n != null && !n.isEmpty() && n.id() == broker).findFirst()
                        .map(ClusterAdmin::broker)
                        .orElseThrow(() -> ErrorCode.NOT_FOUND.exception("Broker " + broker + " cannot be found.")));
    }

    private CompletableFuture<List<Config>> describeConfigs(ConfigResource resource, int waitMs) {
        return adapt(admin().describeConfigs(List.of(resource),
                new DescribeConfigsOptions().includeSynonyms(true).timeoutMs(waitMs)).all(), all -> configs(all.get(resource)));
    }

    /** A resource's settings sorted by name (none when Kafka described none). */
    private static List<Config> configs(org.apache.kafka.clients.admin.Config config) {
        List<Config> out = new ArrayList<>();
        if (config != null) {
            for (ConfigEntry e : config.entries()) {
                out.add(config(e));
            }
        }
        out.sort(Comparator.comparing(Config::name));
        return out;
    }

    private static Config named(List<Config> all, String name) {
        return all.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow(ErrorCode.NOT_FOUND::exception);
    }

    // ---- ACLs

    /**
     * One of Kafka's ACLs, each word as Kafka names it ({@code TOPIC}, {@code LITERAL},
     * {@code READ}, {@code ALLOW}, …). As a filter (a search, a delete), {@code ANY} matches every
     * value of its field, as does a null name, principal or host; the pattern type {@code MATCH}
     * matches the patterns that apply to the resource named.
     */
    public record Acl(String resourceType, String resourceName, String patternType, String principal, String host,
                      String operation, String permission) {
    }

    /** The ACLs {@code filter} matches. */
    public CompletableFuture<List<Acl>> acls(Acl filter) {
        AclBindingFilter f;
        try {
            f = bindingFilter(filter);
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        return adapt(admin().describeAcls(f, new DescribeAclsOptions().timeoutMs(timeoutMs)).values(),
                bindings -> bindings.stream().map(ClusterAdmin::acl).toList());
    }

    /** Creates {@code acls} together; each must name one resource pattern, operation and permission. */
    public CompletableFuture<Void> createAcls(List<Acl> acls) {
        List<AclBinding> bindings = new ArrayList<>(acls.size());
        try {
            for (Acl a : acls) {
                ResourceType type = kafkaWord(ResourceType::valueOf, a.resourceType());
                PatternType pattern = kafkaWord(PatternType::valueOf, a.patternType());
                AclOperation operation = kafkaWord(AclOperation::valueOf, a.operation());
                AclPermissionType permission = kafkaWord(AclPermissionType::valueOf, a.permission());
                try {
                    // Kafka's own constructors refuse ANY, MATCH and nulls
                    bindings.add(new AclBinding(new ResourcePattern(type, a.resourceName(), pattern),
                            new AccessControlEntry(a.principal(), a.host(), operation, permission)));
                } catch (IllegalArgumentException | NullPointerException e) {
                    throw ErrorCode.PAYLOAD_ERROR.exception("An ACL created names one resource type, pattern type, "
                            + "operation and permission, a resource name, a principal and a host.");
                }
            }
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (bindings.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        return adapt(admin().createAcls(bindings, new CreateAclsOptions().timeoutMs(timeoutMs)).all(), v -> v);
    }

    /** Deletes the ACLs {@code filter} matches; what it deleted. */
    public CompletableFuture<List<Acl>> deleteAcls(Acl filter) {
        AclBindingFilter f;
        try {
            f = bindingFilter(filter);
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        return adapt(admin().deleteAcls(List.of(f), new DeleteAclsOptions().timeoutMs(timeoutMs)).all(),
                deleted -> deleted.stream().map(ClusterAdmin::acl).toList()).exceptionally(e -> {
                    if (RestException.unwrap(e) instanceof RestException r && r.getCause() instanceof UnknownServerException) {
                        // Kafka's controller deletes at most 10,000 ACLs at once and says only "unknown error"
                        throw ErrorCode.KAFKA_REFUSED.exception("Kafka did not delete the ACLs the filter matches and "
                                + "said only \"unknown error\", as it does when they are more than 10,000: narrow the filter");
                    }
                    throw e instanceof RuntimeException re ? re : new java.util.concurrent.CompletionException(e);
                });
    }

    private static AclBindingFilter bindingFilter(Acl f) {
        return new AclBindingFilter(
                new ResourcePatternFilter(kafkaWord(ResourceType::valueOf, f.resourceType()), f.resourceName(),
                        kafkaWord(PatternType::valueOf, f.patternType())),
                new AccessControlEntryFilter(f.principal(), f.host(), kafkaWord(AclOperation::valueOf, f.operation()),
                        kafkaWord(AclPermissionType::valueOf, f.permission())));
    }

    /** Kafka's enum value of {@code word}; 400 for a word Kafka has none of (or {@code UNKNOWN}). */
    private static <E extends Enum<E>> E kafkaWord(Function<String, E> valueOf, String word) {
        try {
            E e = valueOf.apply(word);
            if (!e.name().equals("UNKNOWN")) {
                return e;
            }
        } catch (IllegalArgumentException | NullPointerException e) {
            // below
        }
        throw ErrorCode.BAD_REQUEST.exception(KafkaNames.excerpt(String.valueOf(word)) + " is no word of Kafka's ACLs");
    }

    private static Acl acl(AclBinding b) {
        return new Acl(b.pattern().resourceType().name(), b.pattern().name(), b.pattern().patternType().name(),
                b.entry().principal(), b.entry().host(), b.entry().operation().name(), b.entry().permissionType().name());
    }

    // ---- replicas by broker, reassignments

    /** A replica of a partition: its topic, the partition (leader, replicas, in-sync ones), and its broker. */
    public record Replica(String topic, Partition partition, int broker) {
    }

    /**
     * The replicas broker {@code broker} holds of the topics {@code visible} lets through, by
     * topic and partition; 404 when the cluster has no such broker.
     */
    public CompletableFuture<List<Replica>> replicasOf(int broker, Predicate<String> visible) {
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        return requireBroker(broker, deadline).thenCompose(b -> topics(visible, deadline)).thenApply(topics -> {
            List<Replica> out = new ArrayList<>();
            for (Topic t : topics) {
                for (Partition p : t.partitions()) {
                    if (p.replicas().contains(broker)) {
                        out.add(new Replica(t.name(), p, broker));
                    }
                }
            }
            return out;
        });
    }

    /** A partition being moved: the replicas it is gaining and losing, and the whole set while it moves. */
    public record Reassignment(String topic, int partition, List<Integer> adding, List<Integer> removing,
                               List<Integer> replicas) {
    }

    /**
     * The partitions being reassigned, of the topics {@code visible} lets through (never
     * Portico's own; Kafka's internal ones only when topic lists show them), by topic and
     * partition.
     */
    public CompletableFuture<List<Reassignment>> reassignments(Predicate<String> visible) {
        return adapt(admin().listPartitionReassignments(
                new org.apache.kafka.clients.admin.ListPartitionReassignmentsOptions().timeoutMs(timeoutMs)).reassignments(),
                all -> all.entrySet().stream()
                        .filter(e -> !KafkaNames.isReserved(e.getKey().topic()) && visible.test(e.getKey().topic())
                                && (showInternalTopics || !org.apache.kafka.common.internals.Topic.isInternal(e.getKey().topic())))
                        .map(e -> new Reassignment(e.getKey().topic(), e.getKey().partition(),
                                List.copyOf(e.getValue().addingReplicas()), List.copyOf(e.getValue().removingReplicas()),
                                List.copyOf(e.getValue().replicas())))
                        .sorted(Comparator.comparing(Reassignment::topic).thenComparingInt(Reassignment::partition))
                        .toList());
    }

    // ---- partitions

    /** One partition of the topic; 404 when the topic has no such partition. */
    public CompletableFuture<Partition> partition(String topic, int partition) {
        return topic(topic).thenApply(t -> t.partitions().stream().filter(p -> p.id() == partition).findFirst()
                .orElseThrow(ErrorCode.NOT_FOUND::exception));
    }

    /** The partition's first offset and the offset after its last record; 40402 when the topic has no such partition. */
    public CompletableFuture<Offsets> partitionOffsets(String topic, int partition) {
        CallDeadline deadline = CallDeadline.in(timeoutMs); // the look-up and the offsets together
        return topic(topic, deadline.left()).thenCompose(t -> {
            if (t.partitions().stream().noneMatch(p -> p.id() == partition)) {
                throw ErrorCode.PARTITION_NOT_FOUND.exception();
            }
            TopicPartition tp = new TopicPartition(topic, partition);
            ListOffsetsOptions options = new ListOffsetsOptions().timeoutMs(deadline.left());
            CompletableFuture<Long> earliest = adapt(admin().listOffsets(Map.of(tp, OffsetSpec.earliest()), options)
                    .partitionResult(tp), ListOffsetsResult.ListOffsetsResultInfo::offset);
            CompletableFuture<Long> latest = adapt(admin().listOffsets(Map.of(tp, OffsetSpec.latest()), options)
                    .partitionResult(tp), ListOffsetsResult.ListOffsetsResultInfo::offset);
            return earliest.thenCombine(latest, Offsets::new);
        });
    }

    // ---- consumer groups

    /**
     * The consumer groups of the cluster (classic, consumer-protocol and simple ones) that
     * {@code visible} lets the caller see, sorted by id. Only those are described: a key kept to
     * one group does not have every group of the cluster described, on the admin client that
     * every caller shares, to be shown one.
     */
    public CompletableFuture<List<ConsumerGroup>> consumerGroups(java.util.function.Predicate<String> visible) {
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        return answers.handedOff(groupIds(), ids -> ids.stream().filter(visible).toList())
                .thenCompose(visibleIds -> MetadataService.inChunks(visibleIds, deadline, (ids, waitMs) -> {
                    if (ids.isEmpty()) {
                        return CompletableFuture.completedFuture(List.<ConsumerGroup>of());
                    }
                    Map<String, KafkaFuture<ConsumerGroupDescription>> described = admin().describeConsumerGroups(ids,
                            new DescribeConsumerGroupsOptions().timeoutMs(waitMs)).describedGroups();
                    return settled(described.values(), () -> {
                        List<ConsumerGroup> out = new ArrayList<>(ids.size());
                        for (String id : ids) {
                            ConsumerGroupDescription d = listable(described.get(id));
                            if (d != null) {
                                out.add(group(d));
                            }
                        }
                        return out;
                    });
                }));
    }

    /**
     * The ids of the cluster's consumer groups, sorted: asked once for every request that wants
     * them meanwhile (each filters them for its caller).
     */
    private CompletableFuture<List<String>> groupIds() {
        return lists.call("groups", () -> adapt(admin().listGroups(ListGroupsOptions.forConsumerGroups()
                .timeoutMs(timeoutMs)).valid(), listings -> listings.stream().map(GroupListing::groupId)
                .distinct().sorted().toList()));
    }

    /** The consumer group, or empty when it does not exist; 400 for a name Kafka cannot take. */
    public CompletableFuture<Optional<ConsumerGroup>> consumerGroup(String id) {
        return describeGroup(id).thenApply(d -> Optional.ofNullable(d).map(ClusterAdmin::group));
    }

    private CompletableFuture<ConsumerGroupDescription> describeGroup(String id) {
        return describeGroup(id, CallDeadline.in(timeoutMs));
    }

    /** As {@link #describeGroup(String)}, within what is left of {@code deadline}. */
    private CompletableFuture<ConsumerGroupDescription> describeGroup(String id, CallDeadline deadline) {
        try {
            KafkaNames.group(id);
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        KafkaFuture<ConsumerGroupDescription> described = admin().describeConsumerGroups(List.of(id),
                new DescribeConsumerGroupsOptions().timeoutMs(deadline.left())).describedGroups().get(id);
        return settled(List.of(described), () -> existing(described));
    }

    /**
     * As {@link #existing}, for a list: null also for a group Portico's principal may not
     * describe (Kafka's ACLs or RBAC, or ACLs changed between the list and the describe), which
     * the list leaves out as Confluent's does, rather than failing the whole list with 403.
     */
    private static ConsumerGroupDescription listable(KafkaFuture<ConsumerGroupDescription> future) {
        if (future.isCompletedExceptionally()) {
            try {
                future.getNow(null);
            } catch (ExecutionException e) {
                if (RestException.unwrap(e.getCause()) instanceof org.apache.kafka.common.errors.GroupAuthorizationException) {
                    return null;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
            }
        }
        return existing(future);
    }

    /**
     * The completed {@code future}'s group description, or null when the group does not exist
     * (Kafka describes such a group as dead and simple).
     */
    private static ConsumerGroupDescription existing(KafkaFuture<ConsumerGroupDescription> future) {
        ConsumerGroupDescription d;
        try {
            d = future.getNow(null);
        } catch (ExecutionException e) {
            if (RestException.unwrap(e.getCause()) instanceof GroupIdNotFoundException) {
                return null;
            }
            throw rest(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
        }
        return d == null || d.isSimpleConsumerGroup() && d.groupState() == GroupState.DEAD ? null : d;
    }

    /**
     * The group's lag on each partition it committed an offset for, of the topics
     * {@code visibleTopic} lets through (Portico's own never), largest lag first (then by topic
     * and partition). 404 when the group does not exist, has no committed offset there, or none
     * of those partitions exists any more.
     */
    public CompletableFuture<List<Lag>> lags(String group, Predicate<String> visibleTopic) {
        return lags(group, visibleTopic, null, LagsRoom.ANY);
    }

    /** Room for an answer of lags, taken before their end offsets are asked of Kafka. */
    @FunctionalInterface
    public interface LagsRoom {
        /** No bound. */
        LagsRoom ANY = (partitions, topicBytes, memberBytes) -> true;

        /**
         * Whether there is room for the lags of {@code partitions} partitions whose topic names
         * take at most {@code topicBytes} in all in their answer (three times percent-encoded in
         * a URL, twice in JSON: {@link io.portico.protocol.Json#stringBytes}) and whose owners'
         * consumer, client and instance ids {@code memberBytes} (in JSON); false: none now
         * (503). May throw its own refusal.
         */
        boolean take(int partitions, long topicBytes, long memberBytes);

        /** A lag's topic name, as {@link #take} counts it. */
        static long topicBytes(String topic) {
            return 3 * Json.utf8Bytes(topic) + 2 * Json.stringBytes(topic);
        }

        /** A lag's member ids (null for none), as {@link #take} counts them. */
        static long memberBytes(String consumerId, String clientId, String instanceId) {
            return Json.stringBytes(consumerId) + Json.stringBytes(clientId) + Json.stringBytes(instanceId);
        }
    }

    /**
     * As {@link #lags(String, Predicate)}, of partition {@code only} alone when not null (its end
     * offset alone is asked of Kafka; no lag of it is an empty list, not a 404, when the group has
     * offsets of topics {@code visibleTopic} shows), and only once {@code room} accepts an answer
     * of them (else 503, or what {@code room} throws).
     */
    public CompletableFuture<List<Lag>> lags(String group, Predicate<String> visibleTopic, TopicPartition only,
                                             LagsRoom room) {
        // Three calls one after the other, within one metadata timeout in all.
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        return describeGroup(group, deadline).thenCompose(description -> {
            if (description == null) {
                throw ErrorCode.NOT_FOUND.exception("Consumer Group " + group + " could not be found.");
            }
            return committedOffsets(group, narrowable(only, visibleTopic) ? only : null, deadline).thenApply(committed -> {
                        Map<TopicPartition, Long> current = new HashMap<>();
                        committed.forEach((tp, offset) -> {
                            if (offset != null && !KafkaNames.isReserved(tp.topic()) && visibleTopic.test(tp.topic())) {
                                current.put(tp, offset.offset());
                            }
                        });
                        if (current.isEmpty()) {
                            throw ErrorCode.NOT_FOUND.exception("Consumer group offsets could not be found.");
                        }
                        boolean all = only == null;
                        if (!all) {
                            current.keySet().retainAll(Set.of(only));
                        }
                        Map<TopicPartition, MemberDescription> owners = owners(description);
                        long topicBytes = 0;
                        long memberBytes = 0;
                        Map<MemberDescription, Long> memberCost = new java.util.IdentityHashMap<>();
                        for (TopicPartition tp : current.keySet()) {
                            topicBytes += LagsRoom.topicBytes(tp.topic());
                            MemberDescription owner = owners.get(tp);
                            memberBytes += owner == null ? LagsRoom.memberBytes("", "", null)
                                    : memberCost.computeIfAbsent(owner, m -> LagsRoom.memberBytes(m.consumerId(),
                                            m.clientId(), m.groupInstanceId().orElse(null)));
                        }
                        if (!room.take(current.size(), topicBytes, memberBytes)) {
                            throw ErrorCode.SERVICE_UNAVAILABLE.exception("the lags of " + current.size() + " partitions do "
                                    + "not fit in the memory for answers now (memory.responses.max.bytes); retry later");
                        }
                        return java.util.Map.entry(all, current);
                    }).thenCompose(asked -> asked.getValue().isEmpty() ? CompletableFuture.completedFuture(List.<Lag>of())
                            : endOffsets(asked.getValue().keySet(), deadline).thenApply(ends -> {
                                List<Lag> lags = lags(description, asked.getValue(), ends);
                                if (lags.isEmpty() && asked.getKey()) {
                                    // every partition's topic deleted since the group committed
                                    throw ErrorCode.NOT_FOUND.exception("Consumer lags not found.");
                                }
                                return lags;
                            }));
        });
    }

    /**
     * Whether the group's offset of {@code only} may be asked alone: a partition of a topic the
     * caller may see (else the answer would tell its offsets apart from those it has not) whose
     * name Kafka could have (the path's text goes to the shared admin client: a name past what
     * its requests can carry would end that client's thread).
     */
    private static boolean narrowable(TopicPartition only, Predicate<String> visibleTopic) {
        if (only == null || only.partition() < 0 || KafkaNames.isReserved(only.topic()) || !visibleTopic.test(only.topic())) {
            return false;
        }
        try {
            KafkaNames.topic(only.topic());
            return true;
        } catch (RestException notKafkas) {
            return false;
        }
    }

    /**
     * The group's committed offsets: of partition {@code only} alone when it has one there (one
     * partition's from the group's coordinator, not all of them), else (or when {@code only} is
     * null) all of them, so that the answer tells a group with no offsets from one with none there.
     */
    private CompletableFuture<Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata>> committedOffsets(String group, TopicPartition only,
                                                                                     CallDeadline deadline) {
        if (only == null) {
            return adapt(admin().listConsumerGroupOffsets(group, new ListConsumerGroupOffsetsOptions()
                    .timeoutMs(deadline.left())).partitionsToOffsetAndMetadata(), m -> m);
        }
        return adapt(admin().listConsumerGroupOffsets(Map.of(group, new ListConsumerGroupOffsetsSpec()
                        .topicPartitions(List.of(only))), new ListConsumerGroupOffsetsOptions().timeoutMs(deadline.left()))
                .partitionsToOffsetAndMetadata(group), m -> m)
                .thenCompose(one -> one.get(only) != null ? CompletableFuture.completedFuture(one)
                        : committedOffsets(group, null, deadline));
    }

    /** The group's largest and total lag over what {@link #lags} shows. */
    public CompletableFuture<LagSummary> lagSummary(String group, Predicate<String> visibleTopic) {
        return lags(group, visibleTopic).thenApply(LagSummary::of);
    }

    /** The end offsets (of committed records) of the partitions that still exist. */
    private CompletableFuture<Map<TopicPartition, Long>> endOffsets(Collection<TopicPartition> partitions, CallDeadline deadline) {
        Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
        partitions.forEach(tp -> specs.put(tp, OffsetSpec.latest()));
        ListOffsetsResult result = admin().listOffsets(specs,
                new ListOffsetsOptions(IsolationLevel.READ_COMMITTED).timeoutMs(deadline.left()));
        Map<TopicPartition, KafkaFuture<ListOffsetsResult.ListOffsetsResultInfo>> each = new HashMap<>();
        for (TopicPartition tp : partitions) {
            each.put(tp, result.partitionResult(tp));
        }
        return settled(each.values(), () -> {
            Map<TopicPartition, Long> out = new HashMap<>();
            each.forEach((tp, f) -> {
                try {
                    out.put(tp, valueOf(f).offset());
                } catch (RestException e) {
                    if (e.errorCode() != ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
                        throw e;
                    }
                    // a topic deleted since the group committed
                }
            });
            return out;
        });
    }

    /** The member each partition of {@code group} is assigned to. */
    private static Map<TopicPartition, MemberDescription> owners(ConsumerGroupDescription group) {
        Map<TopicPartition, MemberDescription> owners = new HashMap<>();
        for (MemberDescription m : group.members()) {
            if (m.assignment() != null) {
                m.assignment().topicPartitions().forEach(tp -> owners.put(tp, m));
            }
        }
        return owners;
    }

    private static List<Lag> lags(ConsumerGroupDescription group, Map<TopicPartition, Long> current,
                                  Map<TopicPartition, Long> ends) {
        Map<TopicPartition, MemberDescription> owners = owners(group);
        List<Lag> out = new ArrayList<>();
        current.forEach((tp, offset) -> {
            Long end = ends.get(tp);
            if (end == null) {
                return;
            }
            MemberDescription owner = owners.get(tp);
            out.add(new Lag(tp.topic(), tp.partition(), owner == null ? "" : owner.consumerId(),
                    owner == null ? null : owner.groupInstanceId().orElse(null), owner == null ? "" : owner.clientId(),
                    offset, end));
        });
        out.sort(Comparator.comparingLong(Lag::lag).reversed().thenComparing(Lag::topic).thenComparingInt(Lag::partition));
        return out;
    }

    // ---- mapping Kafka's answers

    private static Broker broker(Node node) {
        if (node == null || node.isEmpty()) {
            return null;
        }
        return new Broker(node.id(), node.host() == null || node.host().isEmpty() ? null : node.host(),
                node.port() < 0 ? null : node.port(), node.rack());
    }

    private static Topic topic(TopicDescription d) {
        List<Partition> partitions = new ArrayList<>(d.partitions().size());
        for (TopicPartitionInfo p : d.partitions()) {
            Integer leader = p.leader() == null || p.leader().isEmpty() ? null : p.leader().id();
            partitions.add(new Partition(p.partition(), leader, p.replicas().stream().map(Node::id).toList(),
                    p.isr() == null ? List.of() : p.isr().stream().map(Node::id).toList()));
        }
        partitions.sort(Comparator.comparingInt(Partition::id));
        int factor = d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size();
        return new Topic(d.name(), d.isInternal(), factor, partitions);
    }

    private static Config config(ConfigEntry e) {
        List<Synonym> synonyms = e.synonyms().stream()
                .map(s -> new Synonym(s.name(), s.value(), s.source().name())).toList();
        return new Config(e.name(), e.value(), e.isDefault(), e.isReadOnly(), e.isSensitive(), e.source().name(), synonyms);
    }

    private static ConsumerGroup group(ConsumerGroupDescription d) {
        boolean mixed = false;
        if (d.type() == GroupType.CONSUMER) {
            for (MemberDescription m : d.members()) {
                mixed |= m.upgraded().map(upgraded -> !upgraded).orElse(true);
            }
        }
        List<Member> members = d.members().stream()
                .map(m -> new Member(m.consumerId(), m.groupInstanceId().orElse(null), m.clientId(),
                        m.assignment() == null ? List.of() : m.assignment().topicPartitions().stream()
                                .map(tp -> new Assigned(tp.topic(), tp.partition()))
                                .sorted(Comparator.comparing(Assigned::topic).thenComparingInt(Assigned::partition))
                                .toList()))
                .sorted(Comparator.comparing(Member::consumerId))
                .toList();
        return new ConsumerGroup(d.groupId(), d.isSimpleConsumerGroup(), d.partitionAssignor(),
                d.groupState() == null ? "UNKNOWN" : d.groupState().name(), d.type() == null ? "UNKNOWN" : d.type().name(),
                mixed, broker(d.coordinator()), members);
    }

    // ---- Kafka's futures and errors

    private Admin admin() {
        return shared.get();
    }

    /**
     * Adapts a Kafka future, its failure translated by {@link #rest}: once it completes,
     * {@code f} runs on the executor, which completes the future returned (and runs whatever is
     * chained after it).
     */
    private <T, R> CompletableFuture<R> adapt(KafkaFuture<T> future, Function<T, R> f) {
        return answers.map(future, f);
    }

    /** See {@link AdminAnswers#settled}. */
    private <R> CompletableFuture<R> settled(Collection<? extends KafkaFuture<?>> futures, Supplier<R> then) {
        return answers.settled(futures, then);
    }

    /** The value of a completed Kafka future; its failure translated by {@link #rest}. */
    private <T> T valueOf(KafkaFuture<T> done) {
        return answers.valueOf(done);
    }

    /**
     * A Kafka failure in Confluent's v3 words (rest-utils' KafkaExceptionMapper): Kafka refusing
     * the request is 400/40002 with Kafka's message, an unknown topic or partition 404/40403, a
     * quota 429/42901; the rest as every route maps them.
     */
    static RestException rest(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        if (t instanceof RestException r) {
            return r;
        }
        if (t instanceof UnknownTopicOrPartitionException || t instanceof UnknownTopicIdException) {
            return new RestException(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, t);
        }
        if (t instanceof ThrottlingQuotaExceededException) {
            return new RestException(ErrorCode.KAFKA_QUOTA_EXCEEDED, KafkaErrors.describe(t), t);
        }
        for (Class<? extends Exception> refused : REFUSED) {
            if (refused.isInstance(t)) {
                return new RestException(ErrorCode.KAFKA_REFUSED, KafkaErrors.describe(t), t);
            }
        }
        return KafkaErrors.toRestException(t);
    }
}
