package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.v3.ConsumerAssignmentData;
import io.portico.protocol.v3.ConsumerData;
import io.portico.protocol.v3.ConsumerGroupData;
import io.portico.protocol.v3.ConsumerLagData;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import io.undertow.server.HttpServerExchange;

/**
 * {@code …/consumer-groups}: the groups, one group, its members, its lag on each partition it
 * committed offsets for, and the summary of those lags. Lags cover only the topics the API key
 * may see.
 */
public final class ConsumerGroupsHandlers {
    private final ClusterAdmin admin;
    private final BaseUrl base;

    public ConsumerGroupsHandlers(ClusterAdmin admin, BaseUrl base) {
        this.admin = admin;
        this.base = base;
    }

    /** {@code GET …/consumer-groups}: sorted by id. */
    public void list(HttpServerExchange exchange) {
        Principal caller = Access.caller(exchange);
        V3.answer(exchange, admin, base, id -> admin.consumerGroups(caller::allowsGroup), (r, groups) -> r.list(
                ConsumerGroupData.LIST_KIND, groups.stream().map(r::group).toList(), "consumer-groups"));
    }

    /** {@code GET …/consumer-groups/{group}}: 404 when it does not exist. */
    public void get(HttpServerExchange exchange) {
        String group = Http.param(exchange, "group");
        V3.answer(exchange, admin, base, id -> admin.consumerGroup(group)
                .thenApply(g -> g.orElseThrow(ErrorCode.NOT_FOUND::exception)), Resources::group);
    }

    /** {@code GET …/consumer-groups/{group}/consumers}: the members, sorted by consumer id. */
    public void consumers(HttpServerExchange exchange) {
        String group = Http.param(exchange, "group");
        V3.answer(exchange, admin, base, id -> admin.consumerGroup(group).thenApply(g -> g.orElseThrow(
                () -> ErrorCode.NOT_FOUND.exception("Consumer Group " + group + " does not exist."))),
                (r, g) -> r.list(ConsumerData.LIST_KIND, g.members().stream().map(m -> r.consumer(group, m)).toList(),
                        "consumer-groups", group, "consumers"));
    }

    /** {@code GET …/consumer-groups/{group}/consumers/{consumer}}: 404 when the group has no such member. */
    public void consumer(HttpServerExchange exchange) {
        String group = Http.param(exchange, "group");
        String consumer = Http.param(exchange, "consumer");
        V3.answer(exchange, admin, base, id -> member(group, consumer), (r, m) -> r.consumer(group, m));
    }

    /**
     * {@code GET …/consumer-groups/{group}/consumers/{consumer}/assignments}: the partitions
     * assigned to the member, by topic and partition (of the topics the API key may see).
     */
    public void assignments(HttpServerExchange exchange) {
        String group = Http.param(exchange, "group");
        String consumer = Http.param(exchange, "consumer");
        Principal caller = Access.caller(exchange);
        V3.answer(exchange, admin, base, id -> member(group, consumer), (r, m) -> r.list(ConsumerAssignmentData.LIST_KIND,
                m.assignments().stream().filter(a -> caller.canSee(a.topic()))
                        .map(a -> r.assignment(group, consumer, a)).toList(),
                "consumer-groups", group, "consumers", consumer, "assignments"));
    }

    /** {@code GET …/consumers/{consumer}/assignments/{topic}/partitions/{partition}}: 404 when not assigned to it. */
    public void assignment(HttpServerExchange exchange) {
        String group = Http.param(exchange, "group");
        String consumer = Http.param(exchange, "consumer");
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.NOT_FOUND);
        Principal caller = Access.caller(exchange);
        V3.answer(exchange, admin, base, id -> member(group, consumer).thenApply(m -> m.assignments().stream()
                .filter(a -> a.topic().equals(topic) && a.partition() == partition && caller.canSee(a.topic()))
                .findFirst().orElseThrow(ErrorCode.NOT_FOUND::exception)), (r, a) -> r.assignment(group, consumer, a));
    }

    private java.util.concurrent.CompletableFuture<ClusterAdmin.Member> member(String group, String consumer) {
        return admin.consumerGroup(group).thenApply(g -> g.orElseThrow(
                () -> ErrorCode.NOT_FOUND.exception("Consumer Group " + group + " does not exist.")).members().stream()
                .filter(m -> m.consumerId().equals(consumer)).findFirst()
                .orElseThrow(() -> ErrorCode.NOT_FOUND.exception("Consumer " + consumer + " does not exist.")));
    }

    /** {@code GET …/consumer-groups/{group}/lags/{topic}/partitions/{partition}}: 404 when the group has no offset there. */
    public void lag(HttpServerExchange exchange) {
        String group = Http.param(exchange, "group");
        String topic = Http.param(exchange, "topic");
        int partition = Http.intParam(exchange, "partition", ErrorCode.NOT_FOUND);
        Principal caller = Access.caller(exchange);
        org.apache.kafka.common.TopicPartition wanted = new org.apache.kafka.common.TopicPartition(topic, partition);
        V3.answer(exchange, admin, base, id -> admin.lags(group, caller::canSee, wanted, ClusterAdmin.LagsRoom.ANY)
                .thenApply(lags -> lags.stream().findFirst().orElseThrow(ErrorCode.NOT_FOUND::exception)),
                (r, l) -> r.lag(group, l));
    }

    /**
     * {@code GET …/consumer-groups/{group}/lags}: largest lag first. Kafka is asked for the
     * partitions' end offsets only once room for the answer ({@link #lagsBytes}) is taken of the
     * responses budget: 503 while it is not free, 429 while the key holds its share, 422 when
     * more than one answer may hold (a group over many thousands of partitions: ask its lag
     * summary, or a partition's lag).
     */
    public void lags(HttpServerExchange exchange) {
        String group = Http.param(exchange, "group");
        Principal caller = Access.caller(exchange);
        String baseUrl = base.of(exchange);
        V3.Room room = new V3.Room(exchange, "ask the group's lag-summary, or a partition's lag");
        V3.answer(exchange, admin, base, id -> admin.lags(group, caller::canSee, null,
                (partitions, topicBytes, memberBytes) -> room.take(
                        lagsBytes(baseUrl, id, group, partitions, topicBytes, memberBytes),
                        "the lags of " + partitions + " partitions")),
                (r, lags) -> r.list(ConsumerLagData.LIST_KIND, lags.stream().map(l -> r.lag(group, l)).toList(),
                        "consumer-groups", group, "lags"), room);
    }

    /**
     * At least the bytes of JSON of {@code partitions} lags of {@code group}, their names as
     * {@link ClusterAdmin.LagsRoom} counts them: each lag's fixed text and numbers, its URL (the
     * base as JSON writes it; cluster, group and topic percent-encoded, three bytes a byte of
     * UTF-8), its resource name and its fields (as JSON writes them), and the list's own URL.
     */
    static long lagsBytes(String baseUrl, String clusterId, String group, int partitions, long topicBytes,
                          long memberBytes) {
        long base = io.portico.protocol.Json.stringBytes(baseUrl);
        long cluster = 3 * io.portico.protocol.Json.utf8Bytes(clusterId);
        long groupInUrl = 3 * io.portico.protocol.Json.utf8Bytes(group);
        long each = LAG_FIXED_BYTES + base + cluster + 2 * io.portico.protocol.Json.stringBytes(clusterId)
                + groupInUrl + 2 * io.portico.protocol.Json.stringBytes(group);
        return LIST_FIXED_BYTES + base + cluster + groupInUrl + partitions * each + topicBytes + memberBytes;
    }

    /** A lag list's JSON without its lags and its URL's names. */
    static final int LIST_FIXED_BYTES = 128;

    /** A lag's JSON without its names: field names, kind, the URL's and resource name's fixed parts, numbers. */
    static final int LAG_FIXED_BYTES = 640;

    /** {@code GET …/consumer-groups/{group}/lag-summary}. */
    public void lagSummary(HttpServerExchange exchange) {
        String group = Http.param(exchange, "group");
        Principal caller = Access.caller(exchange);
        V3.answer(exchange, admin, base, id -> admin.lagSummary(group, caller::canSee), (r, s) -> r.summary(group, s));
    }
}
