package io.portico.sessions;

import io.portico.protocol.AdminTopics;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.PartitionDescription;
import io.portico.protocol.ReplicaDescription;
import io.portico.protocol.RestException;
import io.portico.protocol.TopicDescription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DeleteTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Cluster metadata through the admin client, in the shapes of the v1 API.
 *
 * <p>Non-blocking: every method returns at once; its future completes within the configured
 * timeout on a thread of the executor given (see {@link AdminAnswers}), not on the admin client's
 * one network thread, which every caller of the shared client waits on (an executor that refuses
 * the work fails the future with 503). Failures complete the future exceptionally with a
 * {@link io.portico.protocol.RestException}: 40401 unknown topic, 40402 unknown partition, 503
 * when the cluster does not answer in time.
 */
public final class MetadataService implements ProduceService.TopicExistence {
    private final SharedAdmin shared;
    private final int timeoutMs;
    private final boolean showInternalTopics;
    private final AdminAnswers answers;
    /** The cluster-wide lists being asked, shared by the requests that want them meanwhile. */
    private final SharedCalls<String, List<String>> lists = new SharedCalls<>();

    public MetadataService(Admin admin, Duration timeout, boolean showInternalTopics) {
        this(SharedAdmin.of(admin), timeout, showInternalTopics);
    }

    /**
     * Over the shared admin client, which may be replaced while this service runs; its futures
     * complete on the admin client's thread.
     */
    public MetadataService(SharedAdmin admin, Duration timeout, boolean showInternalTopics) {
        this(admin, timeout, showInternalTopics, Runnable::run);
    }

    /**
     * Over the shared admin client, which may be replaced while this service runs.
     *
     * @param executor completes every future this service returns, off the admin client's thread
     *        (a bounded pool: when it refuses, the future fails with 503)
     */
    public MetadataService(SharedAdmin admin, Duration timeout, boolean showInternalTopics, Executor executor) {
        this.shared = admin;
        this.timeoutMs = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        this.showInternalTopics = showInternalTopics;
        this.answers = new AdminAnswers(executor, KafkaErrors::toRestException);
    }

    /**
     * Topic names, sorted; internal topics only when configured to show them, Portico's own never.
     * Asked of the cluster once for every caller that asks while it is asked.
     */
    public CompletableFuture<List<String>> topicNames() {
        return lists.call("topics", () -> map(shared.get().listTopics(new ListTopicsOptions()
                .listInternal(showInternalTopics).timeoutMs(timeoutMs)).names(),
                names -> names.stream().filter(n -> !KafkaNames.isReserved(n)).sorted().toList()));
    }

    /**
     * As {@link #topicNames()}, those {@code visible} lets through: filtered on the executor (an
     * API key's globs against every name of a large cluster is work for a worker, not an IO thread).
     */
    public CompletableFuture<List<String>> topicNames(java.util.function.Predicate<String> visible) {
        return answers.handedOff(topicNames(), names -> names.stream().filter(visible).toList());
    }

    /**
     * A supplier of the cluster's topic names (internal ones included when configured) that asks
     * the cluster at most once per {@code maxAge} and never blocks longer than the metadata
     * timeout; the last answer stands while the cluster does not answer. For pattern subscriptions.
     */
    public java.util.function.Supplier<java.util.Collection<String>> cachedTopicNames(Duration maxAge) {
        return new java.util.function.Supplier<>() {
            private volatile java.util.Collection<String> last;
            private volatile long askedAt = Long.MIN_VALUE / 2;
            private final java.util.concurrent.atomic.AtomicBoolean asking = new java.util.concurrent.atomic.AtomicBoolean();

            /** The last answer at once; a stale one is renewed in the background (only the very first call waits). */
            @Override
            public java.util.Collection<String> get() {
                if (last == null) {
                    synchronized (this) {
                        if (last == null) {
                            try {
                                last = topicNames().get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                                return List.of();
                            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                                return List.of();
                            }
                            askedAt = System.nanoTime();
                        }
                    }
                }
                if (System.nanoTime() - askedAt >= maxAge.toNanos() && asking.compareAndSet(false, true)) {
                    topicNames().whenComplete((names, e) -> {
                        if (names != null) {
                            last = names;
                        }
                        askedAt = System.nanoTime();
                        asking.set(false);
                    });
                }
                return last;
            }
        };
    }

    /** One topic: name, its per-topic config overrides, partitions sorted by id (v1's shape). */
    public CompletableFuture<TopicDescription> topic(String topic) {
        return topic(topic, false);
    }

    /**
     * One topic: name, its configs (with {@code all}, every setting the broker describes, as v2
     * shows them, a sensitive one's value null; else the per-topic overrides only, as v1 shows
     * them), partitions sorted by id.
     */
    public CompletableFuture<TopicDescription> topic(String topic, boolean all) {
        RestException invalid = invalid(topic);
        if (invalid != null) {
            return CompletableFuture.failedFuture(invalid);
        }
        CompletableFuture<List<PartitionDescription>> partitions = partitions(topic);
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        // Settings Portico may not (or cannot now) describe leave the topic without its configs,
        // as a list shows it, rather than failing the look-up of a topic that is there.
        CompletableFuture<Map<String, String>> configs = map(
                shared.get().describeConfigs(List.of(resource), new DescribeConfigsOptions().timeoutMs(timeoutMs)).all(),
                described -> all ? everySetting(described.get(resource)) : overrides(described.get(resource)))
                .exceptionally(e -> Map.of());
        return partitions.thenCombine(configs, (p, c) -> new TopicDescription(topic, c, p));
    }

    /** The topic's partitions, sorted by id. */
    public CompletableFuture<List<PartitionDescription>> partitions(String topic) {
        return partitions(topic, timeoutMs);
    }

    private CompletableFuture<List<PartitionDescription>> partitions(String topic, int waitMs) {
        RestException invalid = invalid(topic);
        if (invalid != null) {
            return CompletableFuture.failedFuture(invalid);
        }
        return map(shared.get().describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs(waitMs))
                .allTopicNames(), all -> describe(all.get(topic)));
    }

    /** One partition of the topic. */
    public CompletableFuture<PartitionDescription> partition(String topic, int partition) {
        return partition(topic, partition, timeoutMs);
    }

    private CompletableFuture<PartitionDescription> partition(String topic, int partition, int waitMs) {
        return partitions(topic, waitMs).thenApply(all -> {
            for (PartitionDescription p : all) {
                if (p.partition() == partition) {
                    return p;
                }
            }
            throw ErrorCode.PARTITION_NOT_FOUND.exception();
        });
    }

    /**
     * The partition's first offset and the offset after its last record; 40401 / 40402 when the
     * topic or partition does not exist.
     */
    public CompletableFuture<io.portico.protocol.v2.PartitionOffsets> partitionOffsets(String topic, int partition) {
        CallDeadline deadline = CallDeadline.in(timeoutMs); // the look-up and the offsets together
        return partition(topic, partition, deadline.left()).thenCompose(p -> {
            org.apache.kafka.common.TopicPartition tp = new org.apache.kafka.common.TopicPartition(topic, partition);
            org.apache.kafka.clients.admin.ListOffsetsOptions options =
                    new org.apache.kafka.clients.admin.ListOffsetsOptions().timeoutMs(deadline.left());
            CompletableFuture<Long> first = map(shared.get().listOffsets(
                    Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.earliest()), options).partitionResult(tp),
                    info -> info.offset());
            CompletableFuture<Long> end = map(shared.get().listOffsets(
                    Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()), options).partitionResult(tp),
                    info -> info.offset());
            return first.thenCombine(end, io.portico.protocol.v2.PartitionOffsets::new);
        });
    }

    /** The ids of the brokers in the cluster, sorted. */
    public CompletableFuture<List<Integer>> brokerIds() {
        return map(shared.get().describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs)).nodes(),
                nodes -> nodes.stream().map(Node::id).sorted().toList());
    }

    /**
     * Creates a topic; partitions and replication factor default to the broker's.
     * Fails with 42201 when it exists (IBM's admin API code), 422 for an invalid name, count or
     * setting, or more than {@link AdminTopics#MAX_CONFIGS} settings (checked before any of them),
     * or when Kafka refuses it otherwise (a policy); 429 when Kafka throttles topic changes.
     */
    public CompletableFuture<Void> createTopic(String name, Integer partitions, Integer replicationFactor,
                                               Map<String, String> configs) {
        try {
            KafkaNames.topic(name, ErrorCode.UNPROCESSABLE_ENTITY);
            KafkaNames.notInternal(name, "created");
            if (configs.size() > AdminTopics.MAX_CONFIGS) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("\"configs\" may hold at most " + AdminTopics.MAX_CONFIGS
                        + " settings");
            }
            KafkaNames.configs(configs);
            if (partitions != null && partitions > MAX_PARTITIONS) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("At most " + MAX_PARTITIONS + " partitions per topic");
            }
            if (replicationFactor != null && replicationFactor > Short.MAX_VALUE) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("The replication factor must be at most " + Short.MAX_VALUE);
            }
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        NewTopic topic = new NewTopic(name, Optional.ofNullable(partitions),
                Optional.ofNullable(replicationFactor).map(Integer::shortValue)).configs(configs);
        CompletableFuture<Void> out = new CompletableFuture<>();
        Admin admin = shared.get();
        CallDeadline deadline = CallDeadline.in(timeoutMs); // the create and the wait for its leaders together
        CreateTopicsResult result = admin.createTopics(List.of(topic), new CreateTopicsOptions().timeoutMs(timeoutMs));
        CompletableFuture<Void> answered = answers.handedOff(out, v -> v);
        result.all()
                .whenComplete((v, failure) -> {
                    Throwable error = failure == null ? null : RestException.unwrap(failure);
                    if (error == null) {
                        // Answered once the partitions' leaders serve the topic (see TopicReadiness).
                        result.numPartitions(name).whenComplete((count, unknown) -> {
                            int n = count != null ? count : partitions == null ? 0 : partitions;
                            TopicReadiness.served(admin, name, n, deadline.remaining()).thenRun(() -> out.complete(null));
                        });
                    } else if (error instanceof TopicExistsException) {
                        out.completeExceptionally(ErrorCode.ADMIN_TOPIC_EXISTS.exception());
                    } else {
                        out.completeExceptionally(KafkaErrors.forAdminTopics(error));
                    }
                });
        return answered;
    }

    /**
     * Deletes a topic; 40401 when it does not exist, 422 when Kafka refuses (topic deletion
     * disabled), 429 when Kafka throttles topic changes.
     */
    public CompletableFuture<Void> deleteTopic(String name) {
        try {
            KafkaNames.topic(name);
            KafkaNames.notInternal(name, "deleted");
        } catch (RestException e) {
            return CompletableFuture.failedFuture(e);
        }
        KafkaFuture<Void> deleted = shared.get().deleteTopics(List.of(name),
                new DeleteTopicsOptions().timeoutMs(timeoutMs)).all();
        return answers.settled(List.of(deleted), () -> {
            try {
                deleted.getNow(null);
                return null;
            } catch (ExecutionException e) {
                throw KafkaErrors.forAdminTopics(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
            }
        });
    }

    /**
     * The topics {@code visible} lets through (internal ones only when configured), each with its
     * partition count, replication factor, retention and cleanup policy, sorted by name. A topic
     * deleted since it was listed is left out; one whose settings cannot be read (not allowed, or
     * not answered) is shown without its retention and cleanup policy.
     */
    public CompletableFuture<List<AdminTopics.Topic>> adminTopics(java.util.function.Predicate<String> visible) {
        // The listing and the descriptions of its chunks: within one metadata timeout in all.
        CallDeadline deadline = CallDeadline.in(timeoutMs);
        // Filtered on the executor, also when the names are in before this is chained (which
        // would filter them on the caller's thread, an IO thread).
        return answers.handedOff(topicNames(), names -> names.stream().filter(visible).toList())
                .thenCompose(names -> adminTopics(names, false, deadline));
    }

    /** One topic as {@link #adminTopics} shows it, with its per-topic overrides; 40401 when missing. */
    public CompletableFuture<AdminTopics.Topic> adminTopic(String name) {
        RestException invalid = invalid(name);
        if (invalid != null) {
            return CompletableFuture.failedFuture(invalid);
        }
        return adminTopics(List.of(name), true, CallDeadline.in(timeoutMs)).thenApply(list -> list.get(0));
    }

    /**
     * The topics {@code names}, described each on its own: for one topic asked for by name
     * ({@code one}), any failure fails the whole; for a list, a topic gone since the listing is
     * left out and one whose settings fail is shown without them.
     */
    private CompletableFuture<List<AdminTopics.Topic>> adminTopics(List<String> names, boolean one, CallDeadline deadline) {
        return inChunks(names, deadline, (chunk, ms) -> describedChunk(chunk, one, ms));
    }

    /**
     * {@code describe} of {@code names} a chunk ({@link #DESCRIBE_CHUNK}) at a time, one call
     * after the other: the admin client's one network thread takes in each answer (some thirty
     * settings a topic), which every other caller of the shared admin client waits behind.
     */
    static <T> CompletableFuture<List<T>> inChunks(List<String> names, CallDeadline deadline,
            java.util.function.BiFunction<List<String>, Integer, CompletableFuture<List<T>>> describe) {
        CompletableFuture<List<T>> all = CompletableFuture.completedFuture(new ArrayList<>(names.size()));
        if (names.size() <= DESCRIBE_CHUNK) {
            return all.thenCompose(none -> describe.apply(names, deadline.left()));
        }
        for (int from = 0; from < names.size(); from += DESCRIBE_CHUNK) {
            List<String> chunk = names.subList(from, Math.min(names.size(), from + DESCRIBE_CHUNK));
            all = all.thenCompose(done -> describe.apply(chunk, deadline.left()).thenApply(part -> {
                done.addAll(part);
                return done;
            }));
        }
        return all;
    }

    /** Topics described in one call of each kind, at most this many. */
    static final int DESCRIBE_CHUNK = 500;

    private CompletableFuture<List<AdminTopics.Topic>> describedChunk(List<String> names, boolean one, int waitMs) {
        if (names.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        List<ConfigResource> resources = names.stream()
                .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
        Map<String, KafkaFuture<org.apache.kafka.clients.admin.TopicDescription>> described =
                shared.get().describeTopics(names, new DescribeTopicsOptions().timeoutMs(waitMs)).topicNameValues();
        Map<ConfigResource, KafkaFuture<Config>> configs =
                shared.get().describeConfigs(resources, new DescribeConfigsOptions().timeoutMs(waitMs)).values();
        List<KafkaFuture<?>> all = new ArrayList<>(described.values());
        all.addAll(configs.values());
        return answers.settled(all, () -> {
            List<AdminTopics.Topic> out = new ArrayList<>(names.size());
            for (int i = 0; i < names.size(); i++) {
                String n = names.get(i);
                org.apache.kafka.clients.admin.TopicDescription topic;
                try {
                    topic = answers.valueOf(described.get(n));
                } catch (RestException e) {
                    if (!one && e.errorCode() == ErrorCode.TOPIC_NOT_FOUND) {
                        continue; // deleted since it was listed
                    }
                    throw e;
                }
                Config config;
                try {
                    config = answers.valueOf(configs.get(resources.get(i)));
                } catch (RestException e) {
                    config = null; // shown without its settings (not allowed, or not answered)
                }
                out.add(adminTopic(n, topic, config, one && config != null));
            }
            return out;
        });
    }

    /** A topic as {@link #adminTopics} shows it; without retention and cleanup policy when {@code config} is null. */
    private static AdminTopics.Topic adminTopic(String name, org.apache.kafka.clients.admin.TopicDescription t,
                                                Config config, boolean withConfigs) {
        ConfigEntry retention = config == null ? null : config.get("retention.ms");
        ConfigEntry cleanup = config == null ? null : config.get("cleanup.policy");
        int rf = t.partitions().isEmpty() ? 0 : t.partitions().get(0).replicas().size();
        return new AdminTopics.Topic(name, t.partitions().size(), rf,
                retention == null || retention.value() == null ? null : Long.valueOf(retention.value()),
                cleanup == null ? null : cleanup.value(),
                withConfigs ? overrides(config) : null);
    }

    /**
     * Blocking: whether the topic exists, asked of the cluster.
     *
     * @throws io.portico.protocol.RestException 503 when the cluster does not answer within the timeout
     */
    @Override
    public boolean exists(String topic) {
        return exists(topic, Duration.ofMillis(timeoutMs));
    }

    /**
     * Blocking: whether the topic exists, asked of the cluster within {@code timeout} (at most
     * the metadata timeout).
     *
     * @throws io.portico.protocol.RestException 503 when the cluster does not answer in time
     */
    @Override
    public boolean exists(String topic, Duration timeout) {
        KafkaNames.topic(topic);
        int wait = (int) Math.max(1, Math.min(timeoutMs, timeout.toMillis()));
        try {
            describeNow(topic, wait);
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return false;
            }
            throw KafkaErrors.toRestException(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw ErrorCode.BROKER_NOT_AVAILABLE.exception("the cluster did not answer within " + wait + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("interrupted");
        }
    }

    /**
     * Blocking: how many partitions the topic has (0 when it has no such topic, -1 when the
     * cluster cannot say within the metadata timeout); what the cluster answered less than a
     * second ago, whatever it was, answers at once. For checks that a
     * client's request can repeat at will (a partition past what a Kafka client's cache knows,
     * which may be one the topic gained since): one look-up a second per topic, however many
     * requests ask, and those asking meanwhile wait for that one.
     */
    @Override
    public int recentPartitionCount(String topic) {
        if (invalid(topic) != null) {
            return 0;
        }
        try {
            return recentCounts.get(topic, (t, executor) -> describeCount(t)).get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** The topic's partition count asked of the cluster, without blocking: 0 when it has no such topic, -1 when it cannot say. */
    private CompletableFuture<Integer> describeCount(String topic) {
        CompletableFuture<Integer> count = new CompletableFuture<>();
        try {
            shared.get().describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs(timeoutMs))
                    .allTopicNames().whenComplete((all, e) -> {
                        if (e == null) {
                            org.apache.kafka.clients.admin.TopicDescription described = all == null ? null : all.get(topic);
                            count.complete(described == null ? -1 : described.partitions().size());
                        } else {
                            count.complete(RestException.unwrap(e) instanceof UnknownTopicOrPartitionException ? 0 : -1);
                        }
                    });
        } catch (RuntimeException e) {
            count.complete(-1);
        }
        return count;
    }

    /**
     * What a broker refuses of a topic's records, from its settings as the cluster gives them
     * (its own, else the brokers' defaults): whether it is compacted, and how far a timestamp may
     * be ahead of or behind now ({@code Long.MAX_VALUE}: no bound, also when the broker stamps
     * records itself). Null settings: the cluster could not say.
     */
    record TopicRules(boolean compacted, long timestampAfterMaxMs, long timestampBeforeMaxMs, boolean known) {
        static final TopicRules UNKNOWN = new TopicRules(false, Long.MAX_VALUE, Long.MAX_VALUE, false);
    }

    /**
     * Each topic's rules, asked of the cluster ({@code describeConfigs}) once, then again in the
     * background every 10 s while produces ask; unknown when it cannot say (the caller may not
     * describe the topic's settings: records go to Kafka as before).
     */
    private final com.github.benmanes.caffeine.cache.AsyncLoadingCache<String, TopicRules> topicRules =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(10_000)
                    .refreshAfterWrite(Duration.ofSeconds(10)).expireAfterWrite(Duration.ofMinutes(1))
                    .buildAsync((topic, executor) -> describeRules(topic));

    /** The topic's rules if known now without waiting (its look-up started otherwise), else null. */
    private TopicRules rulesIfKnown(String topic) {
        CompletableFuture<TopicRules> known = topicRules.getIfPresent(topic); // allocates nothing (IO threads)
        if (known == null) {
            known = topicRules.get(topic);
        }
        if (!known.isDone()) {
            return null;
        }
        return known.isCompletedExceptionally() ? TopicRules.UNKNOWN : known.getNow(TopicRules.UNKNOWN);
    }

    @Override
    public Boolean compactedIfKnown(String topic) {
        TopicRules rules = rulesIfKnown(topic);
        return rules == null ? null : rules.compacted();
    }

    @Override
    public boolean compacted(String topic) {
        try {
            return topicRules.get(topic).get(timeoutMs + 1000L, TimeUnit.MILLISECONDS).compacted();
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public long timestampAfterMaxMs(String topic) {
        TopicRules rules = rulesIfKnown(topic);
        return rules != null && rules.known() ? rules.timestampAfterMaxMs() : timestampAfterMaxMs();
    }

    @Override
    public long timestampBeforeMaxMs(String topic) {
        TopicRules rules = rulesIfKnown(topic);
        return rules != null && rules.known() ? rules.timestampBeforeMaxMs() : timestampBeforeMaxMs();
    }

    private CompletableFuture<TopicRules> describeRules(String topic) {
        CompletableFuture<TopicRules> rules = new CompletableFuture<>();
        try {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            shared.get().describeConfigs(List.of(resource), new DescribeConfigsOptions().timeoutMs(timeoutMs)).all()
                    .whenComplete((all, e) -> {
                        Config config = e == null && all != null ? all.get(resource) : null;
                        rules.complete(config == null ? TopicRules.UNKNOWN : rulesOf(config));
                    });
        } catch (RuntimeException e) {
            rules.complete(TopicRules.UNKNOWN);
        }
        return rules;
    }

    static TopicRules rulesOf(Config config) {
        ConfigEntry policy = config.get("cleanup.policy");
        boolean compacted = policy != null && policy.value() != null && policy.value().contains("compact");
        ConfigEntry type = config.get("message.timestamp.type");
        boolean appendTime = type != null && "LogAppendTime".equalsIgnoreCase(type.value());
        long difference = millis(config.get("message.timestamp.difference.max.ms"), Long.MAX_VALUE);
        return new TopicRules(compacted,
                appendTime ? Long.MAX_VALUE : orDifference(config.get("message.timestamp.after.max.ms"), difference),
                appendTime ? Long.MAX_VALUE : orDifference(config.get("message.timestamp.before.max.ms"), difference), true);
    }

    /**
     * A timestamp bound as Kafka applies it: the setting when it says one, else (left at its
     * default, or a Kafka before 3.6 without it) {@code message.timestamp.difference.max.ms},
     * which Kafka 3.6 to 3.9 still apply on both sides then ({@code difference}: its value, or no
     * bound when absent, as from Kafka 4).
     */
    private static long orDifference(ConfigEntry bound, long difference) {
        long set = millis(bound, Long.MAX_VALUE);
        return set != Long.MAX_VALUE ? set : difference;
    }

    private final com.github.benmanes.caffeine.cache.AsyncCache<String, Integer> recentCounts =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().expireAfterWrite(Duration.ofSeconds(1))
                    .maximumSize(10_000).buildAsync();

    private org.apache.kafka.clients.admin.TopicDescription describeNow(String topic, int waitMs)
            throws ExecutionException, java.util.concurrent.TimeoutException, InterruptedException {
        return shared.get().describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs(waitMs))
                .allTopicNames().get(waitMs + 1000L, TimeUnit.MILLISECONDS).get(topic);
    }

    private static List<PartitionDescription> describe(org.apache.kafka.clients.admin.TopicDescription topic) {
        List<PartitionDescription> out = new ArrayList<>(topic.partitions().size());
        for (TopicPartitionInfo p : topic.partitions()) {
            int leader = p.leader() == null || p.leader().isEmpty() ? -1 : p.leader().id();
            Set<Integer> isr = new java.util.HashSet<>();
            for (Node n : p.isr()) {
                isr.add(n.id());
            }
            List<ReplicaDescription> replicas = new ArrayList<>(p.replicas().size());
            for (Node n : p.replicas()) {
                replicas.add(new ReplicaDescription(n.id(), n.id() == leader, isr.contains(n.id())));
            }
            out.add(new PartitionDescription(p.partition(), leader, replicas));
        }
        out.sort(Comparator.comparingInt(PartitionDescription::partition));
        return out;
    }

    /** Every setting of a topic, by name, as v2 shows them (a sensitive one's value null, as Kafka describes it). */
    private static Map<String, String> everySetting(Config config) {
        Map<String, String> out = new TreeMap<>();
        if (config != null) {
            for (ConfigEntry e : config.entries()) {
                out.put(e.name(), e.isSensitive() ? null : e.value());
            }
        }
        return out;
    }

    /** Per-topic overrides only, as v1 shows them; {@code {}} when none. */
    private static Map<String, String> overrides(Config config) {
        Map<String, String> out = new TreeMap<>();
        if (config != null) {
            for (ConfigEntry e : config.entries()) {
                if (e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG && !e.isSensitive()) {
                    out.put(e.name(), e.value());
                }
            }
        }
        return out;
    }

    /** The most partitions a topic may be created with through Portico (Kafka's controller refuses larger batches too). */
    public static final int MAX_PARTITIONS = 10_000;

    private volatile boolean autoCreate = true;
    private volatile long timestampAfterMaxMs = Long.MAX_VALUE; // no bound until a broker says one
    private volatile long timestampBeforeMaxMs = Long.MAX_VALUE;
    private volatile long brokerSettingsCheckedAt = Long.MIN_VALUE / 2;

    /**
     * Whether the cluster creates topics on first use, from a broker's
     * {@code auto.create.topics.enable}; asked in the background at most once a minute, true until
     * the cluster has said otherwise.
     */
    @Override
    public boolean createsTopicsOnFirstUse() {
        refreshBrokerSettings();
        return autoCreate;
    }

    /**
     * A broker's {@code log.message.timestamp.after.max.ms}, asked as above; no bound until known,
     * when the brokers do not have the setting (before Kafka 3.6), or when they stamp records
     * with their own time ({@code log.message.timestamp.type=LogAppendTime}: never checked).
     */
    @Override
    public long timestampAfterMaxMs() {
        refreshBrokerSettings();
        return timestampAfterMaxMs;
    }

    /** A broker's {@code log.message.timestamp.before.max.ms}, asked as above; no bound until known. */
    @Override
    public long timestampBeforeMaxMs() {
        refreshBrokerSettings();
        return timestampBeforeMaxMs;
    }

    /** Asks a broker for the settings above, in the background, at most once a minute. */
    private void refreshBrokerSettings() {
        long now = System.nanoTime();
        if (now - brokerSettingsCheckedAt <= Duration.ofMinutes(1).toNanos()) {
            return;
        }
        brokerSettingsCheckedAt = now;
        shared.get().describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs)).nodes()
                .thenApply(nodes -> {
                    if (nodes.isEmpty()) {
                        return null;
                    }
                    ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER,
                            String.valueOf(nodes.iterator().next().id()));
                    shared.get().describeConfigs(List.of(broker), new DescribeConfigsOptions().timeoutMs(timeoutMs))
                            .all().whenComplete((configs, e) -> {
                                if (e != null) {
                                    return;
                                }
                                org.apache.kafka.clients.admin.Config config = configs.get(broker);
                                ConfigEntry create = config.get("auto.create.topics.enable");
                                if (create != null && create.value() != null) {
                                    autoCreate = Boolean.parseBoolean(create.value());
                                }
                                ConfigEntry type = config.get("log.message.timestamp.type");
                                boolean appendTime = type != null && "LogAppendTime".equalsIgnoreCase(type.value());
                                long difference = millis(config.get("log.message.timestamp.difference.max.ms"), Long.MAX_VALUE);
                                timestampAfterMaxMs = appendTime ? Long.MAX_VALUE
                                        : orDifference(config.get("log.message.timestamp.after.max.ms"), difference);
                                timestampBeforeMaxMs = appendTime ? Long.MAX_VALUE
                                        : orDifference(config.get("log.message.timestamp.before.max.ms"), difference);
                            });
                    return null;
                });
    }

    private static long millis(ConfigEntry entry, long otherwise) {
        try {
            return entry == null || entry.value() == null ? otherwise : Math.max(0, Long.parseLong(entry.value()));
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /** The error for a topic name Kafka would not take, or null when it is fine. */
    private static RestException invalid(String topic) {
        try {
            KafkaNames.topic(topic);
            return null;
        } catch (RestException e) {
            return e;
        }
    }

    /**
     * Adapts a Kafka future, translating its failure into Portico's vocabulary: once it
     * completes, {@code f} runs on the executor, which completes the future returned.
     */
    private <T, R> CompletableFuture<R> map(KafkaFuture<T> future, java.util.function.Function<T, R> f) {
        return answers.map(future, f);
    }
}
