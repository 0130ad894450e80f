package io.portico.proxy.it;

import static io.portico.proxy.testing.V3Answers.assertError;
import static io.portico.proxy.testing.V3Answers.assertErrorStartsWith;
import static io.portico.proxy.testing.V3Answers.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.protocol.v3.AlterTopicsConfigsRequest;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Confluent's v3 cluster admin API end to end against the real broker: the cluster and its
 * brokers, topics (list, get, create with {@code validate_only} and replica assignments, delete,
 * more partitions), topic configs (list, get, {@code configs:alter} with SET, DELETE and
 * {@code validate_only}), partitions and their offsets, consumer groups, members, lags and lag
 * summary of groups that committed with a plain {@code KafkaConsumer}; the errors Confluent's proxy
 * answers; API-key scope. What Portico changed is checked with Kafka's own admin client.
 */
@ExtendWith(PorticoExtension.class)
class V3AdminIT {
    private static final String JSON = "application/json";
    private static final Duration WITHIN = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    // ---- helpers

    private static String clusterId(KafkaCluster kafka) throws Exception {
        return kafka.admin().describeCluster().clusterId().get();
    }

    private static String v3(KafkaCluster kafka) throws Exception {
        return "/v3/clusters/" + clusterId(kafka);
    }

    private static Rest.Response patch(Rest rest, String path, String body, String... headers) {
        return rest.send(rest.request(path, headers).header("Content-Type", JSON)
                .method("PATCH", HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)));
    }

    /** Polls {@code condition} every 50 ms until it holds or {@link #WITHIN} has passed; whether it held. */
    private static boolean eventually(Supplier<Boolean> condition) {
        long deadline = System.nanoTime() + WITHIN.toNanos();
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    private static TopicDescription describe(Admin admin, String topic) {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return null;
            }
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The topic's setting as Kafka describes it; null while Kafka does not know the topic. */
    private static ConfigEntry kafkaConfig(Admin admin, String topic, String name) {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try {
            Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
            return config.get(name);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return null;
            }
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The value of the topic's setting, once Kafka knows the topic (null until then). */
    private static String kafkaValue(Admin admin, String topic, String name) {
        ConfigEntry entry = kafkaConfig(admin, topic, name);
        return entry == null ? null : entry.value();
    }

    private static List<String> texts(JsonNode array, String field) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.get(field).asText()));
        return out;
    }

    private static JsonNode find(JsonNode data, String field, String value) {
        for (JsonNode n : data) {
            if (n.get(field).asText().equals(value)) {
                return n;
            }
        }
        return null;
    }

    /** A consumer of {@code group} that commits {@code offsets} without joining the group (a simple group). */
    private static void commit(KafkaCluster kafka, String group, Map<TopicPartition, Long> offsets) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(kafka, group, "committer")) {
            consumer.assign(offsets.keySet());
            Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
            offsets.forEach((tp, offset) -> commits.put(tp, new OffsetAndMetadata(offset)));
            consumer.commitSync(commits);
        }
    }

    private static KafkaConsumer<byte[], byte[]> consumer(KafkaCluster kafka, String group, String clientId) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static void produce(KafkaCluster kafka, String topic, int partition, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            kafka.produce(topic, partition, null, ("v" + i).getBytes(StandardCharsets.UTF_8));
        }
    }

    // ---- clusters and brokers

    @Test
    void theClusterListHasExactlyTheClusterBehindBootstrapServersWithItsRealId(Rest rest, KafkaCluster kafka) throws Exception {
        String id = clusterId(kafka);
        Node controller = kafka.admin().describeCluster().controller().get();
        JsonNode list = ok(rest.get("/v3/clusters"));
        assertEquals("KafkaClusterList", list.get("kind").asText());
        assertEquals(rest.base() + "/v3/clusters", list.get("metadata").get("self").asText());
        assertTrue(list.get("metadata").get("next").isNull(), list.toString());
        assertEquals(1, list.get("data").size(), list.toString());
        JsonNode cluster = list.get("data").get(0);
        String self = rest.base() + "/v3/clusters/" + id;
        assertEquals("KafkaCluster", cluster.get("kind").asText());
        assertEquals(self, cluster.get("metadata").get("self").asText());
        assertEquals("crn:///kafka=" + id, cluster.get("metadata").get("resource_name").asText());
        assertEquals(id, cluster.get("cluster_id").asText());
        assertEquals(self + "/brokers/" + controller.id(), cluster.get("controller").get("related").asText());
        assertEquals(self + "/acls", cluster.get("acls").get("related").asText());
        assertEquals(self + "/brokers", cluster.get("brokers").get("related").asText());
        assertEquals(self + "/broker-configs", cluster.get("broker_configs").get("related").asText());
        assertEquals(self + "/consumer-groups", cluster.get("consumer_groups").get("related").asText());
        assertEquals(self + "/topics", cluster.get("topics").get("related").asText());
        assertEquals(self + "/topics/-/partitions/-/reassignment", cluster.get("partition_reassignments").get("related").asText());

        assertEquals(cluster, ok(rest.get("/v3/clusters/" + id)));
        assertEquals(cluster, ok(rest.get("/v3/clusters/" + id + "/")), "a trailing slash changes nothing");
    }

    @Test
    void anUnknownClusterIdIs404OnEveryRoute(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3-nocluster"), 1);
        String other = "/v3/clusters/not-" + clusterId(kafka);
        String message = "Cluster not-" + clusterId(kafka) + " cannot be found.";
        for (String path : List.of("", "/brokers", "/brokers/1", "/topics", "/topics/" + topic, "/topics/" + topic + "/configs",
                "/topics/" + topic + "/configs/retention.ms", "/topics/" + topic + "/partitions",
                "/topics/" + topic + "/partitions/0", "/topics/" + topic + "/partitions/0/offset", "/consumer-groups",
                "/consumer-groups/g", "/consumer-groups/g/consumers", "/consumer-groups/g/lags", "/consumer-groups/g/lag-summary",
                "/consumer-groups/g/consumers/c", "/consumer-groups/g/consumers/c/assignments",
                "/consumer-groups/g/consumers/c/assignments/" + topic + "/partitions/0",
                "/consumer-groups/g/lags/" + topic + "/partitions/0", "/topics/" + topic + "/partitions/0/replicas",
                "/topics/" + topic + "/partitions/0/replicas/1")) {
            assertError(rest.get(other + path, "Accept", "application/vnd.kafka.v2+json"), 404, 404, message);
        }
        assertError(rest.post(other + "/topics", JSON, "{\"topic_name\":\"" + topic + "-x\"}"), 404, 404, message);
        assertError(rest.delete(other + "/topics/" + topic), 404, 404, message);
        assertError(patch(rest, other + "/topics/" + topic, "{\"partitions_count\":2}"), 404, 404, message);
        assertError(rest.post(other + "/topics/" + topic + "/configs:alter", JSON,
                "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"1000\"}]}"), 404, 404, message);
        // Nothing happened to the topic on the way.
        assertEquals(1, describe(kafka.admin(), topic).partitions().size());
        assertEquals(null, describe(kafka.admin(), topic + "-x"));
    }

    @Test
    void brokersAreListedAndFoundById(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        Collection<Node> nodes = kafka.admin().describeCluster().nodes().get();
        JsonNode list = ok(rest.get(v3 + "/brokers"));
        assertEquals("KafkaBrokerList", list.get("kind").asText());
        assertEquals(rest.base() + v3 + "/brokers", list.get("metadata").get("self").asText());
        assertEquals(nodes.size(), list.get("data").size());
        for (Node node : nodes) {
            JsonNode broker = find(list.get("data"), "broker_id", String.valueOf(node.id()));
            assertEquals("KafkaBroker", broker.get("kind").asText());
            assertEquals(node.host(), broker.get("host").asText());
            assertEquals(node.port(), broker.get("port").asInt());
            assertTrue(broker.get("rack").isNull());
            String self = rest.base() + v3 + "/brokers/" + node.id();
            assertEquals(self, broker.get("metadata").get("self").asText());
            assertEquals("crn:///kafka=" + clusterId(kafka) + "/broker=" + node.id(),
                    broker.get("metadata").get("resource_name").asText());
            assertEquals(self + "/configs", broker.get("configs").get("related").asText());
            assertEquals(self + "/partition-replicas", broker.get("partition_replicas").get("related").asText());
            assertEquals(broker, ok(rest.get(v3 + "/brokers/" + node.id())));
        }
        assertError(rest.get(v3 + "/brokers/987654"), 404, 404, "HTTP 404 Not Found");
        assertError(rest.get(v3 + "/brokers/one"), 404, 404, "HTTP 404 Not Found");
    }

    // ---- topics

    @Test
    void topicsAreListedByNameAndDescribed(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String b = kafka.createTopic(KafkaCluster.uniqueTopic("v3-list-b"), 3);
        String a = kafka.createTopic(KafkaCluster.uniqueTopic("v3-list-a"), 1);
        JsonNode list = ok(rest.get(v3 + "/topics"));
        assertEquals("KafkaTopicList", list.get("kind").asText());
        assertEquals(rest.base() + v3 + "/topics", list.get("metadata").get("self").asText());
        List<String> names = texts(list.get("data"), "topic_name");
        assertTrue(names.contains(a) && names.contains(b), names.toString());
        assertEquals(names.stream().sorted().toList(), names, "sorted by name");
        assertFalse(names.stream().anyMatch(n -> n.equals("__consumer_offsets") || n.equals("__transaction_state")),
                "internal topics stay hidden: " + names);

        JsonNode topic = ok(rest.get(v3 + "/topics/" + b));
        assertEquals(find(list.get("data"), "topic_name", b), topic);
        String self = rest.base() + v3 + "/topics/" + b;
        assertEquals("KafkaTopic", topic.get("kind").asText());
        assertEquals(self, topic.get("metadata").get("self").asText());
        assertEquals("crn:///kafka=" + clusterId(kafka) + "/topic=" + b, topic.get("metadata").get("resource_name").asText());
        assertEquals(clusterId(kafka), topic.get("cluster_id").asText());
        assertFalse(topic.get("is_internal").asBoolean());
        assertEquals(1, topic.get("replication_factor").asInt());
        assertEquals(3, topic.get("partitions_count").asInt());
        assertEquals(self + "/partitions", topic.get("partitions").get("related").asText());
        assertEquals(self + "/configs", topic.get("configs").get("related").asText());
        assertEquals(self + "/partitions/-/reassignment", topic.get("partition_reassignments").get("related").asText());
        assertEquals("[]", topic.get("authorized_operations").toString());

        assertError(rest.get(v3 + "/topics/" + b + "-missing"), 404, 404, "HTTP 404 Not Found");
        assertErrorStartsWith(rest.get(v3 + "/topics/bad%20name"), 400, 40002, "Kafka bad request: Invalid topic name 'bad name'");
    }

    @Test
    void createAnswers201WithLocationAndKafkaHasTheTopicWithItsConfigs(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = KafkaCluster.uniqueTopic("v3-create");
        Rest.Response created = rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"partitions_count\":2,"
                + "\"replication_factor\":1,\"configs\":[{\"name\":\"cleanup.policy\",\"value\":\"compact\"},"
                + "{\"name\":\"retention.ms\",\"value\":\"86400000\"}]}");
        assertEquals(201, created.status(), created.body());
        assertEquals(JSON, created.contentType());
        String self = rest.base() + v3 + "/topics/" + name;
        assertEquals(self, created.header("Location"));
        JsonNode topic = created.json();
        assertEquals("KafkaTopic", topic.get("kind").asText());
        assertEquals(self, topic.get("metadata").get("self").asText());
        assertEquals(name, topic.get("topic_name").asText());
        assertEquals(2, topic.get("partitions_count").asInt());
        assertEquals(1, topic.get("replication_factor").asInt());

        assertTrue(eventually(() -> describe(kafka.admin(), name) != null), "Kafka has the topic");
        assertEquals(2, describe(kafka.admin(), name).partitions().size());
        assertTrue(eventually(() -> "compact".equals(kafkaValue(kafka.admin(), name, "cleanup.policy"))));
        assertEquals("86400000", kafkaValue(kafka.admin(), name, "retention.ms"));
        assertTrue(eventually(() -> rest.get(v3 + "/topics/" + name).status() == 200), "the new topic is served");

        assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"partitions_count\":1}"),
                400, 40002, "Topic '" + name + "' already exists.");
        assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"validate_only\":true}"),
                400, 40002, "Topic '" + name + "' already exists.");
    }

    @Test
    void withoutCountsTheBrokersDefaultsApplyAndReplicaAssignmentsAreTakenAsGiven(Rest rest, KafkaCluster kafka)
            throws Exception {
        String v3 = v3(kafka);
        String plain = KafkaCluster.uniqueTopic("v3-defaults");
        Rest.Response created = rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + plain + "\"}");
        assertEquals(201, created.status(), created.body());
        assertTrue(eventually(() -> describe(kafka.admin(), plain) != null), "Kafka has the topic");
        assertEquals(describe(kafka.admin(), plain).partitions().size(), created.json().get("partitions_count").asInt());
        assertEquals(1, created.json().get("replication_factor").asInt());
        // -1 is Kafka's word for the broker's default, as Confluent's proxy passes it on.
        String minusOne = KafkaCluster.uniqueTopic("v3-minus-one");
        Rest.Response byDefault = rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + minusOne
                + "\",\"partitions_count\":-1,\"replication_factor\":-1}");
        assertEquals(201, byDefault.status(), byDefault.body());
        assertTrue(eventually(() -> describe(kafka.admin(), minusOne) != null), "Kafka has the topic");
        assertEquals(describe(kafka.admin(), minusOne).partitions().size(), byDefault.json().get("partitions_count").asInt());
        assertEquals(1, byDefault.json().get("replication_factor").asInt());

        int broker = kafka.admin().describeCluster().nodes().get().iterator().next().id();
        String assigned = KafkaCluster.uniqueTopic("v3-assigned");
        Rest.Response withAssignments = rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + assigned
                + "\",\"replicas_assignments\":{\"0\":[" + broker + "],\"1\":[" + broker + "],\"2\":[" + broker + "]}}");
        assertEquals(201, withAssignments.status(), withAssignments.body());
        assertEquals(3, withAssignments.json().get("partitions_count").asInt());
        assertEquals(1, withAssignments.json().get("replication_factor").asInt());
        assertTrue(eventually(() -> describe(kafka.admin(), assigned) != null), "Kafka has the topic");
        TopicDescription described = describe(kafka.admin(), assigned);
        assertEquals(3, described.partitions().size());
        described.partitions().forEach(p -> assertEquals(broker, p.replicas().get(0).id()));
    }

    @Test
    void validateOnlyAnswers200AndCreatesNothing(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = KafkaCluster.uniqueTopic("v3-dryrun");
        Rest.Response r = rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"partitions_count\":4,"
                + "\"replication_factor\":1,\"validate_only\":true}");
        assertEquals(200, r.status(), r.body());
        assertNull(r.header("Location"), "nothing was created to point at");
        assertEquals(4, r.json().get("partitions_count").asInt());
        assertEquals(name, r.json().get("topic_name").asText());
        assertNull(describe(kafka.admin(), name), "a dry run creates no topic");
        assertFalse(kafka.admin().listTopics().names().get().contains(name));
        assertError(rest.get(v3 + "/topics/" + name), 404, 404, "HTTP 404 Not Found");
        // Kafka's own checks run: a replication factor the cluster cannot give is refused.
        assertErrorStartsWith(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"replication_factor\":7,"
                + "\"validate_only\":true}"), 400, 40002, "");
        assertNull(describe(kafka.admin(), name));
    }

    @Test
    void createRefusesBadBodiesWithConfluentsCodes(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = KafkaCluster.uniqueTopic("v3-bad");
        assertError(rest.post(v3 + "/topics", JSON, ""), 422, 42206, "Payload error. Request body is empty. Data is required.");
        assertError(rest.post(v3 + "/topics", JSON, " null "), 422, 42206,
                "Payload error. Request body is empty. Data is required.");
        assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"bad name\"}"), 422, 42206,
                "Payload error. Invalid topic name 'bad name': only ASCII letters, digits, '.', '_' and '-' are allowed");
        assertError(rest.post(v3 + "/topics", JSON, "{\"partitions_count\":1}"), 422, 42206,
                "Payload error. Invalid topic name '': a topic name is required");
        assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"partitions_count\":0}"), 422, 42206,
                "Payload error. partitions_count must be between 1 and 10000.");
        assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"configs\":[{\"name\":\"Bad\",\"value\":\"1\"}]}"),
                422, 42206, "Payload error. Invalid config name 'Bad'");
        assertErrorStartsWith(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name
                + "\",\"configs\":[{\"name\":\"retention.ms\",\"value\":\"soon\"}]}"), 400, 40002, "");
        assertErrorStartsWith(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"replication_factor\":3}"),
                400, 40002, "");
        assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + name + "\",\"partitions\":1}"), 422, 422,
                "Unrecognized field: partitions");
        assertErrorStartsWith(rest.post(v3 + "/topics", JSON, "{\"topic_name\":"), 400, 400, "Malformed JSON");
        assertError(rest.post(v3 + "/topics", "text/plain", "{\"topic_name\":\"" + name + "\"}"), 415, 415,
                "HTTP 415 Unsupported Media Type");
        assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"__" + name + "\"}"), 403, 403,
                "Topic '__" + name + "' is internal to Kafka: it cannot be created through this server");
        assertNull(describe(kafka.admin(), name), "no refused request created the topic");
    }

    @Test
    void deleteAnswers204AndKafkaNoLongerHasTheTopic(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = kafka.createTopic(KafkaCluster.uniqueTopic("v3-delete"), 1);
        Rest.Response r = rest.delete(v3 + "/topics/" + name);
        assertEquals(204, r.status(), r.body());
        assertEquals("", r.body());
        assertTrue(eventually(() -> describe(kafka.admin(), name) == null), "Kafka deleted the topic");
        assertError(rest.delete(v3 + "/topics/" + name), 404, 40403, "This server does not host this topic-partition.");
        assertError(rest.delete(v3 + "/topics/__consumer_offsets"), 403, 403,
                "Topic '__consumer_offsets' is internal to Kafka: it cannot be deleted through this server");
    }

    @Test
    void patchRaisesThePartitionCountAsKafkaThenShows(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = kafka.createTopic(KafkaCluster.uniqueTopic("v3-patch"), 1);
        JsonNode topic = ok(patch(rest, v3 + "/topics/" + name, "{\"partitions_count\":3}"));
        assertEquals("KafkaTopic", topic.get("kind").asText());
        assertEquals(name, topic.get("topic_name").asText());
        assertEquals(3, topic.get("partitions_count").asInt());
        assertTrue(eventually(() -> describe(kafka.admin(), name).partitions().size() == 3), "Kafka has 3 partitions");
        assertTrue(eventually(() -> rest.get(v3 + "/topics/" + name).json().get("partitions_count").asInt() == 3));

        // Kafka's own words: "The topic t currently has 3 partition(s); 2 would not be an increase."
        for (int fewer : new int[] {2, 3}) {
            Rest.Response refused = patch(rest, v3 + "/topics/" + name, "{\"partitions_count\":" + fewer + "}");
            assertErrorStartsWith(refused, 400, 40002, "");
            assertTrue(refused.json().get("message").asText().contains("3 partition"), refused.body());
        }
        assertError(patch(rest, v3 + "/topics/" + name, ""), 422, 42206,
                "Payload error. Request body is empty. Partitions_count is required.");
        assertError(patch(rest, v3 + "/topics/" + name, "{}"), 422, 42206, "Payload error. partitions_count is required.");
        assertError(patch(rest, v3 + "/topics/" + name + "-missing", "{\"partitions_count\":2}"), 404, 40403,
                "This server does not host this topic-partition.");
        assertEquals(3, describe(kafka.admin(), name).partitions().size());
    }

    // ---- topic configs

    @Test
    void topicConfigsAreListedByNameAndOneIsFoundByName(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = kafka.createTopic(KafkaCluster.uniqueTopic("v3-configs"), 1);
        JsonNode list = ok(rest.get(v3 + "/topics/" + name + "/configs"));
        assertEquals("KafkaTopicConfigList", list.get("kind").asText());
        assertEquals(rest.base() + v3 + "/topics/" + name + "/configs", list.get("metadata").get("self").asText());
        List<String> names = texts(list.get("data"), "name");
        assertTrue(names.contains("cleanup.policy") && names.contains("retention.ms"), names.toString());
        assertEquals(names.stream().sorted().toList(), names);

        JsonNode retention = ok(rest.get(v3 + "/topics/" + name + "/configs/retention.ms"));
        assertEquals(find(list.get("data"), "name", "retention.ms"), retention);
        assertEquals("KafkaTopicConfig", retention.get("kind").asText());
        assertEquals(rest.base() + v3 + "/topics/" + name + "/configs/retention.ms", retention.get("metadata").get("self").asText());
        assertEquals("crn:///kafka=" + clusterId(kafka) + "/topic=" + name + "/config=retention.ms",
                retention.get("metadata").get("resource_name").asText());
        assertEquals(name, retention.get("topic_name").asText());
        assertEquals(kafkaValue(kafka.admin(), name, "retention.ms"), retention.get("value").asText());
        assertTrue(retention.get("is_default").asBoolean(), retention.toString());
        assertFalse(retention.get("is_read_only").asBoolean());
        assertFalse(retention.get("is_sensitive").asBoolean());
        assertTrue(retention.get("synonyms").isArray());

        assertError(rest.get(v3 + "/topics/" + name + "/configs/no.such.config"), 404, 404, "HTTP 404 Not Found");
        assertError(rest.get(v3 + "/topics/" + name + "-missing/configs"), 404, 40403,
                "This server does not host this topic-partition.");
        // "-" is every topic, not a topic of that name: a change of its settings is not one.
        assertError(rest.put(v3 + "/topics/-/configs/retention.ms", JSON, "{\"value\":\"1000\"}"), 404, 404,
                "HTTP 404 Not Found");
    }

    private static String topicChanges(String topic, String... configs) {
        return "{\"topic_name\":\"" + topic + "\",\"configs\":[" + String.join(",", configs) + "]}";
    }

    private static String set(String name, String value) {
        return "{\"name\":\"" + name + "\",\"value\":\"" + value + "\"}";
    }

    @Test
    void everyTopicConfigsAlterChangesSeveralTopicsAndAnswers207ForThoseKafkaRefused(Rest rest, KafkaCluster kafka)
            throws Exception {
        String v3 = v3(kafka);
        String a = kafka.createTopic(KafkaCluster.uniqueTopic("v3-many-a"), 1);
        String b = kafka.createTopic(KafkaCluster.uniqueTopic("v3-many-b"), 1);
        String alter = v3 + "/topics/-/configs:alter";

        // Confluent's example: two settings of one topic, one of another; 204 and Kafka has all three.
        Rest.Response done = rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("cleanup.policy", "compact"),
                set("compression.type", "gzip")) + "," + topicChanges(b, set("cleanup.policy", "compact")) + "]}");
        assertEquals(204, done.status(), done.body());
        assertEquals("", done.body());
        assertTrue(eventually(() -> "compact".equals(kafkaValue(kafka.admin(), a, "cleanup.policy"))
                && "gzip".equals(kafkaValue(kafka.admin(), a, "compression.type"))
                && "compact".equals(kafkaValue(kafka.admin(), b, "cleanup.policy"))), "Kafka has the three");

        // validate_only: Kafka checks, nothing changes (a change made after it is seen, so its would be)
        assertEquals(204, rest.post(alter, JSON, "{\"validate_only\":true,\"data\":["
                + topicChanges(a, set("retention.ms", "7200000")) + "]}").status());
        assertEquals(204, rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("segment.ms", "3600000")) + "]}")
                .status());
        assertTrue(eventually(() -> "3600000".equals(kafkaValue(kafka.admin(), a, "segment.ms"))));
        assertNotEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, kafkaConfig(kafka.admin(), a, "retention.ms").source(),
                "the dry run changed nothing");

        // Kafka refuses b's value: 207 with b's failure, a's change made; DELETE resets b's compression
        Rest.Response partial = rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("retention.ms", "3600000"))
                + "," + topicChanges(b, set("cleanup.policy", "invalid_xyz")) + "]}");
        assertEquals(207, partial.status(), partial.body());
        JsonNode failures = partial.json().get("failures");
        assertEquals(1, failures.size(), partial.body());
        assertEquals(b, failures.get(0).get("topic_name").asText());
        assertEquals(40002, failures.get(0).get("error_code").asInt(), partial.body());
        assertTrue(failures.get(0).get("message").asText().contains("invalid_xyz"), partial.body());
        assertTrue(eventually(() -> "3600000".equals(kafkaValue(kafka.admin(), a, "retention.ms"))), "a's change was made");
        assertEquals("compact", kafkaValue(kafka.admin(), b, "cleanup.policy"), "b's was not");
        assertEquals(204, rest.post(alter, JSON, "{\"data\":[" + topicChanges(a,
                "{\"name\":\"compression.type\",\"operation\":\"DELETE\"}") + "]}").status());
        assertTrue(eventually(() -> kafkaConfig(kafka.admin(), a, "compression.type").source()
                != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG), "compression.type is back to its default");

        // Before anything is changed: an unknown topic, an unknown setting, a topic named twice, too many topics
        assertError(rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("retention.ms", "1000")) + ","
                + topicChanges(a + "-missing", set("retention.ms", "1000")) + "]}"), 404, 40403,
                "This server does not host this topic-partition.");
        assertError(rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("retention.ms", "1000")) + ","
                + topicChanges(b, set("no.such.config", "1")) + "]}"), 404, 404,
                "Config no.such.config cannot be found for TOPIC " + b + " in cluster " + clusterId(kafka) + ".");
        assertError(rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("retention.ms", "1000")) + ","
                + topicChanges(a, set("segment.ms", "1000")) + "]}"), 422, 42206,
                "Payload error. Topic " + a + " is named more than once in data.");
        StringBuilder many = new StringBuilder("{\"data\":[");
        for (int i = 0; i <= AlterTopicsConfigsRequest.MAX_TOPICS; i++) {
            many.append(i == 0 ? "" : ",").append(topicChanges(a + "-" + i, set("retention.ms", "1000")));
        }
        assertError(rest.post(alter, JSON, many.append("]}").toString()), 422, 42206,
                "Payload error. At most " + AlterTopicsConfigsRequest.MAX_TOPICS + " topics at once.");
        String[] half = new String[AlterTopicsConfigsRequest.MAX_CHANGES / 2 + 1];
        java.util.Arrays.fill(half, set("retention.ms", "1000"));
        assertError(rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, half) + "," + topicChanges(b, half) + "]}"),
                422, 42206, "Payload error. At most " + AlterTopicsConfigsRequest.MAX_CHANGES + " configs at once.");
        assertError(rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("retention.ms", "1000")) + ","
                + topicChanges("_portico_idempotency", set("retention.ms", "1000")) + "]}"), 403, 403,
                "Topic '_portico_idempotency' holds this server's own state: it cannot be read, written or changed through it");
        assertError(rest.post(alter, JSON, "{\"data\":[" + topicChanges("__consumer_offsets", set("retention.ms", "1000"))
                + "]}"), 403, 403, "Topic '__consumer_offsets' is internal to Kafka: it cannot be changed through this server");
        assertError(rest.post(alter, JSON, "{\"data\":[{\"configs\":[]}]}"), 422, 42206,
                "Payload error. Every entry of data needs a topic_name.");
        assertError(rest.post(alter, JSON, ""), 422, 42206, "Payload error. Null input provided. Data is required.");
        assertError(rest.post("/v3/clusters/no-such-cluster/topics/-/configs:alter", JSON,
                "{\"data\":[" + topicChanges(a, set("retention.ms", "1000")) + "]}"), 404, 404,
                "Cluster no-such-cluster cannot be found.");
        // The refused requests held nothing: a read of settings after them is served.
        ok(rest.get(v3 + "/topics/" + b + "/configs"));
        // A change made after them is seen, so theirs would be: none of them changed a.
        assertEquals(204, rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("segment.ms", "7200000")) + "]}")
                .status());
        assertTrue(eventually(() -> "7200000".equals(kafkaValue(kafka.admin(), a, "segment.ms"))));
        assertEquals("3600000", kafkaValue(kafka.admin(), a, "retention.ms"), "none of them changed a");
        assertEquals(204, rest.post(alter, JSON, "{\"data\":[]}").status(), "nothing to change");

        // Kafka refuses both topics' values: a 207 with both, in the request's order
        Rest.Response both = rest.post(alter, JSON, "{\"data\":[" + topicChanges(b, set("cleanup.policy", "nope"))
                + "," + topicChanges(a, set("cleanup.policy", "nope")) + "]}");
        assertEquals(207, both.status(), both.body());
        assertEquals(List.of(b, a), texts(both.json().get("failures"), "topic_name"));
        // validate_only with a value Kafka refuses: the same refusal, nothing changed
        Rest.Response checked = rest.post(alter, JSON, "{\"validate_only\":true,\"data\":["
                + topicChanges(a, set("retention.ms", "900000")) + "," + topicChanges(b, set("cleanup.policy", "nope")) + "]}");
        assertEquals(207, checked.status(), checked.body());
        assertEquals(List.of(b), texts(checked.json().get("failures"), "topic_name"));
        assertEquals(204, rest.post(alter, JSON, "{\"data\":[" + topicChanges(a, set("segment.ms", "3600000")) + "]}")
                .status());
        assertTrue(eventually(() -> "3600000".equals(kafkaValue(kafka.admin(), a, "segment.ms"))));
        assertEquals("3600000", kafkaValue(kafka.admin(), a, "retention.ms"), "the dry run changed nothing");
    }

    @Test
    void configsAlterSetsAndResetsSettingsAsKafkaThenDescribesThem(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = kafka.createTopic(KafkaCluster.uniqueTopic("v3-alter"), 1);
        String alter = v3 + "/topics/" + name + "/configs:alter";
        Rest.Response set = rest.post(alter, JSON, "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"3600000\"},"
                + "{\"name\":\"cleanup.policy\",\"value\":\"compact\",\"operation\":\"SET\"}]}");
        assertEquals(204, set.status(), set.body());
        assertEquals("", set.body());
        assertTrue(eventually(() -> "3600000".equals(kafkaValue(kafka.admin(), name, "retention.ms"))
                && "compact".equals(kafkaValue(kafka.admin(), name, "cleanup.policy"))), "Kafka has both");
        assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, kafkaConfig(kafka.admin(), name, "retention.ms").source());
        assertTrue(eventually(() -> "DYNAMIC_TOPIC_CONFIG".equals(
                rest.get(v3 + "/topics/" + name + "/configs/retention.ms").json().get("source").asText())));
        JsonNode retention = ok(rest.get(v3 + "/topics/" + name + "/configs/retention.ms"));
        assertEquals("3600000", retention.get("value").asText());
        assertFalse(retention.get("is_default").asBoolean());
        assertEquals("DYNAMIC_TOPIC_CONFIG", retention.get("synonyms").get(0).get("source").asText());

        // validate_only: Kafka checks, nothing changes
        Rest.Response dry = rest.post(alter, JSON, "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"7200000\"}],"
                + "\"validate_only\":true}");
        assertEquals(204, dry.status(), dry.body());
        // A change made after the dry run is seen, so the dry run's would be too: there is none.
        assertEquals(204, rest.post(alter, JSON, "{\"data\":[{\"name\":\"segment.ms\",\"value\":\"3600000\"}]}").status());
        assertTrue(eventually(() -> "3600000".equals(kafkaValue(kafka.admin(), name, "segment.ms"))));
        assertEquals("3600000", kafkaValue(kafka.admin(), name, "retention.ms"), "the dry run changed nothing");
        // DELETE resets to the default
        Rest.Response reset = rest.post(alter, JSON, "{\"data\":[{\"name\":\"retention.ms\",\"operation\":\"DELETE\"}]}");
        assertEquals(204, reset.status(), reset.body());
        assertTrue(eventually(() -> kafkaConfig(kafka.admin(), name, "retention.ms").source()
                != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG), "retention.ms is back to its default");
        assertEquals("compact", kafkaValue(kafka.admin(), name, "cleanup.policy"), "what DELETE did not name stays");

        assertError(rest.post(alter, JSON, "{\"data\":[{\"name\":\"no.such.config\",\"value\":\"1\"}]}"), 404, 404,
                "Config no.such.config cannot be found for TOPIC " + name + " in cluster " + clusterId(kafka) + ".");
        assertErrorStartsWith(rest.post(alter, JSON, "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"soon\"}]}"),
                400, 40002, "");
        assertError(rest.post(alter, JSON, ""), 422, 42206, "Payload error. Null input provided. Data is required.");
        assertError(rest.post(alter, JSON, "{\"data\":[{\"name\":\"retention.ms\",\"operation\":\"APPEND\"}]}"), 422, 42206,
                "Payload error. The operation of config retention.ms is SET or DELETE.");
        assertError(rest.post(v3 + "/topics/" + name + "-missing/configs:alter", JSON,
                "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"1\"}]}"), 404, 40403,
                "This server does not host this topic-partition.");
        assertEquals("compact", kafkaValue(kafka.admin(), name, "cleanup.policy"));
    }

    @Test
    void aSettingIsSetByPutAndResetByDeleteAsConfluentsQuickStartDoes(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = kafka.createTopic(KafkaCluster.uniqueTopic("v3-put"), 1);
        String retention = v3 + "/topics/" + name + "/configs/retention.ms";
        Rest.Response put = rest.send(rest.request(retention, "Content-Type", JSON)
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"value\":\"3600000\"}")));
        assertEquals(204, put.status(), put.body());
        assertTrue(eventually(() -> "3600000".equals(kafkaValue(kafka.admin(), name, "retention.ms"))), "Kafka has it");
        assertTrue(eventually(() -> "3600000".equals(rest.get(retention).json().get("value").asText())));

        Rest.Response reset = rest.delete(retention);
        assertEquals(204, reset.status(), reset.body());
        assertTrue(eventually(() -> kafkaConfig(kafka.admin(), name, "retention.ms").source()
                != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG), "retention.ms is back to its default");

        assertError(rest.send(rest.request(retention, "Content-Type", JSON)
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{}"))), 422, 42206, "Payload error. value is required.");
        assertError(rest.send(rest.request(v3 + "/topics/" + name + "/configs/no.such.config", "Content-Type", JSON)
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"value\":\"1\"}"))), 404, 404,
                "Config no.such.config cannot be found for TOPIC " + name + " in cluster " + clusterId(kafka) + ".");
        assertErrorStartsWith(rest.send(rest.request(retention, "Content-Type", JSON)
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"value\":\"soon\"}"))), 400, 40002, "");
    }

    // ---- partitions

    @Test
    void partitionsLinkTheirLeaderAndReplicas(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = kafka.createTopic(KafkaCluster.uniqueTopic("v3-partitions"), 2);
        TopicDescription described = describe(kafka.admin(), name);
        JsonNode list = ok(rest.get(v3 + "/topics/" + name + "/partitions"));
        assertEquals("KafkaPartitionList", list.get("kind").asText());
        assertEquals(rest.base() + v3 + "/topics/" + name + "/partitions", list.get("metadata").get("self").asText());
        assertEquals(List.of("0", "1"), texts(list.get("data"), "partition_id"));
        for (JsonNode p : list.get("data")) {
            int id = p.get("partition_id").asInt();
            String self = rest.base() + v3 + "/topics/" + name + "/partitions/" + id;
            assertEquals("KafkaPartition", p.get("kind").asText());
            assertEquals(self, p.get("metadata").get("self").asText());
            assertEquals("crn:///kafka=" + clusterId(kafka) + "/topic=" + name + "/partition=" + id,
                    p.get("metadata").get("resource_name").asText());
            assertEquals(name, p.get("topic_name").asText());
            assertEquals(self + "/replicas/" + described.partitions().get(id).leader().id(), p.get("leader").get("related").asText());
            assertEquals(self + "/replicas", p.get("replicas").get("related").asText());
            assertEquals(self + "/reassignment", p.get("reassignment").get("related").asText());
            assertEquals(p, ok(rest.get(v3 + "/topics/" + name + "/partitions/" + id)));

            // Its replicas and leader links are served.
            int leader = described.partitions().get(id).leader().id();
            JsonNode replicas = ok(rest.get(v3 + "/topics/" + name + "/partitions/" + id + "/replicas"));
            assertEquals("KafkaReplicaList", replicas.get("kind").asText());
            assertEquals(self + "/replicas", replicas.get("metadata").get("self").asText());
            assertEquals(1, replicas.get("data").size(), replicas.toString()); // one broker
            JsonNode r = replicas.get("data").get(0);
            assertEquals("KafkaReplica", r.get("kind").asText());
            assertEquals(self + "/replicas/" + leader, r.get("metadata").get("self").asText());
            assertEquals("crn:///kafka=" + clusterId(kafka) + "/topic=" + name + "/partition=" + id + "/replica=" + leader,
                    r.get("metadata").get("resource_name").asText());
            assertEquals(name, r.get("topic_name").asText());
            assertEquals(id, r.get("partition_id").asInt());
            assertEquals(leader, r.get("broker_id").asInt());
            assertTrue(r.get("is_leader").asBoolean());
            assertTrue(r.get("is_in_sync").asBoolean());
            assertEquals(rest.base() + v3 + "/brokers/" + leader, r.get("broker").get("related").asText());
            assertEquals(r, ok(rest.get(p.get("leader").get("related").asText().substring(rest.base().toString().length()))));
            assertEquals(404, rest.get(v3 + "/topics/" + name + "/partitions/" + id + "/replicas/" + (leader + 1)).status());
        }
        assertEquals(404, rest.get(v3 + "/topics/" + name + "/partitions/2/replicas").status());
        assertError(rest.get(v3 + "/topics/" + name + "/partitions/2"), 404, 404, "HTTP 404 Not Found");
        assertError(rest.get(v3 + "/topics/" + name + "/partitions/x"), 404, 404, "HTTP 404 Not Found");
        assertError(rest.get(v3 + "/topics/" + name + "-missing/partitions"), 404, 40403,
                "This server does not host this topic-partition.");
    }

    @Test
    void aPartitionsOffsetsAreItsEarliestAndLatest(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String name = kafka.createTopic(KafkaCluster.uniqueTopic("v3-offsets"), 2);
        produce(kafka, name, 1, 3);
        JsonNode offsets = ok(rest.get(v3 + "/topics/" + name + "/partitions/1/offset"));
        assertEquals("KafkaPartitionWithOffsets", offsets.get("kind").asText());
        assertEquals(rest.base() + v3 + "/topics/" + name + "/partitions/1/offset", offsets.get("metadata").get("self").asText());
        assertEquals("crn:///kafka=" + clusterId(kafka) + "/topic=" + name + "/partition=1/offset_type=earliest_and_latest",
                offsets.get("metadata").get("resource_name").asText());
        assertEquals(1, offsets.get("partition_id").asInt());
        assertEquals(0, offsets.get("earliest_offset").asLong());
        assertEquals(3, offsets.get("latest_offset").asLong());
        assertEquals(offsets, ok(rest.get(v3 + "/topics/" + name + "/partitions/1/offset?offset_type=earliest_and_latest")));
        assertEquals(0, ok(rest.get(v3 + "/topics/" + name + "/partitions/0/offset")).get("latest_offset").asLong());
        assertError(rest.get(v3 + "/topics/" + name + "/partitions/1/offset?offset_type=latest"), 400, 400,
                "offset_type:latest is invalid");
        assertError(rest.get(v3 + "/topics/" + name + "/partitions/9/offset"), 404, 40402, "Partition not found.");
        assertError(rest.get(v3 + "/topics/" + name + "-missing/partitions/0/offset"), 404, 40403,
                "This server does not host this topic-partition.");
    }

    // ---- consumer groups

    @Test
    void theLagsOfAGroupThatCommittedAreCurrentEndAndTheirDifference(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3-lags"), 3);
        String group = KafkaCluster.uniqueTopic("v3-lag-group");
        produce(kafka, topic, 0, 5);
        produce(kafka, topic, 1, 3);
        produce(kafka, topic, 2, 4);
        commit(kafka, group, Map.of(new TopicPartition(topic, 0), 2L, new TopicPartition(topic, 1), 3L,
                new TopicPartition(topic, 2), 1L));

        JsonNode groups = ok(rest.get(v3 + "/consumer-groups"));
        assertEquals("KafkaConsumerGroupList", groups.get("kind").asText());
        List<String> ids = texts(groups.get("data"), "consumer_group_id");
        assertTrue(ids.contains(group), ids.toString());
        assertEquals(ids.stream().sorted().toList(), ids);

        JsonNode g = ok(rest.get(v3 + "/consumer-groups/" + group));
        assertEquals(find(groups.get("data"), "consumer_group_id", group), g);
        String self = rest.base() + v3 + "/consumer-groups/" + group;
        assertEquals("KafkaConsumerGroup", g.get("kind").asText());
        assertEquals(self, g.get("metadata").get("self").asText());
        assertEquals("crn:///kafka=" + clusterId(kafka) + "/consumer-group=" + group, g.get("metadata").get("resource_name").asText());
        assertEquals("EMPTY", g.get("state").asText());
        assertTrue(g.get("is_simple").asBoolean(), g.toString());
        assertEquals(self + "/consumers", g.get("consumers").get("related").asText());
        assertEquals(self + "/lag-summary", g.get("lag_summary").get("related").asText());
        assertTrue(g.get("coordinator").get("related").asText().startsWith(rest.base() + v3 + "/brokers/"), g.toString());
        JsonNode consumers = ok(rest.get(v3 + "/consumer-groups/" + group + "/consumers"));
        assertEquals("KafkaConsumerList", consumers.get("kind").asText());
        assertEquals(0, consumers.get("data").size());

        JsonNode lags = ok(rest.get(v3 + "/consumer-groups/" + group + "/lags"));
        assertEquals("KafkaConsumerLagList", lags.get("kind").asText());
        assertEquals(self + "/lags", lags.get("metadata").get("self").asText());
        // largest lag first: partition 2 (3), partition 0 (3: ties go by partition), partition 1 (0)
        assertEquals(List.of("0", "2", "1"), texts(lags.get("data"), "partition_id"));
        JsonNode p0 = lags.get("data").get(0);
        assertEquals("KafkaConsumerLag", p0.get("kind").asText());
        assertEquals(self + "/lags/" + topic + "/partitions/0", p0.get("metadata").get("self").asText());
        assertEquals("crn:///kafka=" + clusterId(kafka) + "/consumer-group=" + group + "/lag=" + topic + "/partition=0",
                p0.get("metadata").get("resource_name").asText());
        assertEquals(topic, p0.get("topic_name").asText());
        assertEquals(2, p0.get("current_offset").asLong());
        assertEquals(5, p0.get("log_end_offset").asLong());
        assertEquals(3, p0.get("lag").asLong());
        assertEquals("", p0.get("consumer_id").asText());
        assertEquals("", p0.get("client_id").asText());
        assertTrue(p0.get("instance_id").isNull());
        // Its self link is served: the one partition's lag.
        assertEquals(p0, ok(rest.get(v3 + "/consumer-groups/" + group + "/lags/" + topic + "/partitions/0")));
        assertEquals(404, rest.get(v3 + "/consumer-groups/" + group + "/lags/" + topic + "/partitions/7").status());
        assertEquals(404, rest.get(v3 + "/consumer-groups/" + group + "/lags/" + topic + "/partitions/x").status());
        JsonNode p1 = lags.get("data").get(2);
        assertEquals(3, p1.get("current_offset").asLong());
        assertEquals(3, p1.get("log_end_offset").asLong());
        assertEquals(0, p1.get("lag").asLong());

        JsonNode summary = ok(rest.get(v3 + "/consumer-groups/" + group + "/lag-summary"));
        assertEquals("KafkaConsumerGroupLagSummary", summary.get("kind").asText());
        assertEquals(self + "/lag-summary", summary.get("metadata").get("self").asText());
        assertEquals("crn:///kafka=" + clusterId(kafka) + "/consumer-group=" + group + "/lag-summary",
                summary.get("metadata").get("resource_name").asText());
        assertEquals(3, summary.get("max_lag").asLong());
        assertEquals(6, summary.get("total_lag").asLong());
        assertEquals(topic, summary.get("max_lag_topic_name").asText());
        assertEquals(0, summary.get("max_lag_partition_id").asInt());
        assertEquals(rest.base() + v3 + "/topics/" + topic + "/partitions/0", summary.get("max_lag_partition").get("related").asText());
        assertEquals("", summary.get("max_lag_consumer_id").asText());
    }

    @Test
    void aGroupsMembersAndWhoHasEachLaggingPartitionAreShown(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3-members"), 1);
        String group = KafkaCluster.uniqueTopic("v3-member-group");
        produce(kafka, topic, 0, 4);
        try (KafkaConsumer<byte[], byte[]> member = consumer(kafka, group, "v3-member-client")) {
            member.subscribe(List.of(topic));
            int read = 0;
            long deadline = System.nanoTime() + WITHIN.toNanos();
            while (read < 4 && System.nanoTime() < deadline) {
                read += member.poll(Duration.ofMillis(200)).count();
            }
            assertEquals(4, read);
            member.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(1)));

            JsonNode g = ok(rest.get(v3 + "/consumer-groups/" + group));
            assertEquals("STABLE", g.get("state").asText());
            assertFalse(g.get("is_simple").asBoolean());
            assertEquals("CLASSIC", g.get("type").asText());
            assertFalse(g.get("partition_assignor").asText().isEmpty(), g.toString());
            JsonNode consumers = ok(rest.get(v3 + "/consumer-groups/" + group + "/consumers")).get("data");
            assertEquals(1, consumers.size(), consumers.toString());
            JsonNode c = consumers.get(0);
            String memberId = c.get("consumer_id").asText();
            assertFalse(memberId.isEmpty());
            assertEquals("KafkaConsumer", c.get("kind").asText());
            assertEquals("v3-member-client", c.get("client_id").asText());
            assertTrue(c.get("instance_id").isNull());
            String consumerSelf = rest.base() + v3 + "/consumer-groups/" + group + "/consumers/" + memberId;
            assertEquals(consumerSelf, c.get("metadata").get("self").asText());
            assertEquals(consumerSelf + "/assignments", c.get("assignments").get("related").asText());

            JsonNode lag = ok(rest.get(v3 + "/consumer-groups/" + group + "/lags")).get("data").get(0);
            assertEquals(memberId, lag.get("consumer_id").asText());
            assertEquals("v3-member-client", lag.get("client_id").asText());
            assertEquals(3, lag.get("lag").asLong());
            JsonNode summary = ok(rest.get(v3 + "/consumer-groups/" + group + "/lag-summary"));
            assertEquals(memberId, summary.get("max_lag_consumer_id").asText());
            assertEquals("v3-member-client", summary.get("max_lag_client_id").asText());
            assertEquals(consumerSelf, summary.get("max_lag_consumer").get("related").asText());

            // The links are served: the member, its assignments, each assignment and its lag.
            String path = v3 + "/consumer-groups/" + group + "/consumers/" + memberId;
            assertEquals(c, ok(rest.get(path)));
            JsonNode assignments = ok(rest.get(path + "/assignments"));
            assertEquals("KafkaConsumerAssignmentList", assignments.get("kind").asText());
            assertEquals(consumerSelf + "/assignments", assignments.get("metadata").get("self").asText());
            assertEquals(1, assignments.get("data").size(), assignments.toString());
            JsonNode a = assignments.get("data").get(0);
            assertEquals("KafkaConsumerAssignment", a.get("kind").asText());
            assertEquals(consumerSelf + "/assignments/" + topic + "/partitions/0", a.get("metadata").get("self").asText());
            assertEquals("crn:///kafka=" + clusterId(kafka) + "/consumer-group=" + group + "/consumer=" + memberId
                    + "/assignment=" + topic + "/partition=0", a.get("metadata").get("resource_name").asText());
            assertEquals(clusterId(kafka), a.get("cluster_id").asText());
            assertEquals(group, a.get("consumer_group_id").asText());
            assertEquals(memberId, a.get("consumer_id").asText());
            assertEquals(topic, a.get("topic_name").asText());
            assertEquals(0, a.get("partition_id").asInt());
            assertEquals(rest.base() + v3 + "/topics/" + topic + "/partitions/0", a.get("partition").get("related").asText());
            assertEquals(rest.base() + v3 + "/consumer-groups/" + group + "/lags/" + topic + "/partitions/0",
                    a.get("lag").get("related").asText());
            assertEquals(a, ok(rest.get(path + "/assignments/" + topic + "/partitions/0")));
            assertEquals(lag, ok(rest.get(v3 + "/consumer-groups/" + group + "/lags/" + topic + "/partitions/0")));
            assertEquals(404, rest.get(path + "/assignments/" + topic + "/partitions/1").status(), "not assigned to it");
            assertEquals(404, rest.get(v3 + "/consumer-groups/" + group + "/consumers/no-such-member").status());
            assertEquals(404, rest.get(v3 + "/consumer-groups/no-such-" + group + "/consumers/" + memberId + "/assignments")
                    .status());
        }
    }

    @Test
    void aGroupsLagsAreAskedOfKafkaOnlyOnceTheirAnswerHasRoomInTheResponsesBudget(KafkaCluster kafka) throws Exception {
        // 1 MiB for every answer at once, half of it for one answer at most. Groups of 200-character
        // names take about 2 KiB a lag: those of 300 partitions never fit, those of 120 do.
        String topic = KafkaCluster.uniqueTopic("v3-lag-room");
        String all = KafkaCluster.uniqueTopic("v3-lag-all-" + "a".repeat(200));
        String part = KafkaCluster.uniqueTopic("v3-lag-part-" + "p".repeat(200));
        try {
            kafka.createTopic(topic, 300);
            Map<TopicPartition, Long> offsets = new HashMap<>();
            for (int p = 0; p < 300; p++) {
                offsets.put(new TopicPartition(topic, p), 0L);
            }
            commit(kafka, all, offsets);
            offsets.keySet().removeIf(tp -> tp.partition() >= 120);
            commit(kafka, part, offsets);
            produce(kafka, topic, 299, 3);
            try (TestPortico portico = TestPortico.start(kafka, Map.of("memory.responses.max.bytes", String.valueOf(1 << 20)))) {
                Rest rest = portico.rest();
                String groups = v3(kafka) + "/consumer-groups/";
                Rest.Response refused = rest.get(groups + all + "/lags");
                assertErrorStartsWith(refused, 422, 422, "the lags of 300 partitions need about ");
                assertTrue(refused.json().get("message").asText().endsWith(" bytes of JSON, more than one answer may hold "
                        + "(524288 bytes of memory.responses.max.bytes); ask the group's lag-summary, or a partition's lag"),
                        refused.body());
                // what needs little room is answered: the summary, one partition's lag
                JsonNode summary = ok(rest.get(groups + all + "/lag-summary"));
                assertEquals(3, summary.get("total_lag").asLong(), summary.toString());
                assertEquals(299, summary.get("max_lag_partition_id").asInt());
                JsonNode one = ok(rest.get(groups + all + "/lags/" + topic + "/partitions/299"));
                assertEquals(3, one.get("lag").asLong(), one.toString());
                assertEquals(299, one.get("partition_id").asInt());
                assertError(rest.get(groups + part + "/lags/" + topic + "/partitions/120"), 404, 404, "HTTP 404 Not Found");
                // the room each answer took is free again once it is sent: five of them would not
                // fit in the budget at once
                for (int i = 0; i < 5; i++) {
                    Rest.Response lags = rest.get(groups + part + "/lags");
                    assertEquals(200, lags.status(), "answer " + i + ": " + lags.body());
                    assertEquals(120, lags.json().get("data").size());
                }
            }
        } finally {
            // each on its own: a set-up that failed early leaves some of them never made
            try {
                kafka.admin().deleteTopics(List.of(topic)).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                // not made
            }
            for (String group : List.of(all, part)) {
                try {
                    kafka.admin().deleteConsumerGroups(List.of(group)).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    // not made
                }
            }
        }
    }

    @Test
    void anUnknownGroupIs404AsConfluentWordsItPerResource(Rest rest, KafkaCluster kafka) throws Exception {
        String v3 = v3(kafka);
        String group = KafkaCluster.uniqueTopic("v3-no-group");
        assertError(rest.get(v3 + "/consumer-groups/" + group), 404, 404, "HTTP 404 Not Found");
        assertError(rest.get(v3 + "/consumer-groups/" + group + "/consumers"), 404, 404,
                "Consumer Group " + group + " does not exist.");
        assertError(rest.get(v3 + "/consumer-groups/" + group + "/lags"), 404, 404,
                "Consumer Group " + group + " could not be found.");
        assertError(rest.get(v3 + "/consumer-groups/" + group + "/lag-summary"), 404, 404,
                "Consumer Group " + group + " could not be found.");
        assertFalse(texts(ok(rest.get(v3 + "/consumer-groups")).get("data"), "consumer_group_id").contains(group));
        assertError(rest.get(v3 + "/consumer-groups/" + "g".repeat(256)), 400, 400,
                "Invalid consumer group name '" + "g".repeat(64) + "…': it must have 1 to 255 characters");
    }

    // ---- API keys

    private static String entry(String name, String key, String role, String... topics) {
        return "{\"name\":\"" + name + "\",\"key\":\"" + key + "\",\"role\":\"" + role + "\",\"topics\":[\""
                + String.join("\",\"", topics) + "\"]}";
    }

    private static String[] bearer(String key) {
        return new String[] {"Authorization", "Bearer " + key};
    }

    @Test
    void apiKeysReadOnlyWhatTheySeeAndManageOnlyTheirTopics(KafkaCluster kafka) throws Exception {
        String p = "v3k" + Long.toHexString(System.nanoTime() & 0xffffff);
        String reader = "k-" + UUID.randomUUID();
        String manager = "k-" + UUID.randomUUID();
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":[" + entry("reader", reader, "reader", p + "-a*")
                + "," + entry("manager", manager, "manager", p + "-m*") + "]}");
        String seen = kafka.createTopic(p + "-a1", 2);
        String hidden = kafka.createTopic(p + "-b1", 1);
        String managed = kafka.createTopic(p + "-m1", 1);
        String group = p + "-group";
        produce(kafka, seen, 0, 2);
        produce(kafka, hidden, 0, 5);
        commit(kafka, group, Map.of(new TopicPartition(seen, 0), 0L, new TopicPartition(hidden, 0), 1L));
        try (TestPortico portico = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString()))) {
            Rest rest = portico.rest();
            String v3 = v3(kafka);
            assertEquals(401, rest.get("/v3/clusters").status());
            assertEquals(401, rest.get(v3 + "/topics/" + seen).status());

            // reading: only what the key may see
            assertEquals(1, ok(rest.get("/v3/clusters", bearer(reader))).get("data").size());
            List<String> listed = texts(ok(rest.get(v3 + "/topics", bearer(reader))).get("data"), "topic_name");
            assertEquals(List.of(seen), listed.stream().filter(t -> t.startsWith(p)).toList());
            ok(rest.get(v3 + "/topics/" + seen + "/partitions", bearer(reader)));
            ok(rest.get(v3 + "/topics/" + seen + "/configs", bearer(reader)));
            for (String path : List.of("", "/partitions", "/partitions/0", "/partitions/0/offset", "/configs",
                    "/configs/retention.ms")) {
                assertError(rest.get(v3 + "/topics/" + hidden + path, bearer(reader)), 403, 403,
                        "This API key does not have the reader role on topic '" + hidden + "'");
            }
            JsonNode lags = ok(rest.get(v3 + "/consumer-groups/" + group + "/lags", bearer(reader))).get("data");
            assertEquals(List.of(seen), texts(lags, "topic_name"), "lags only of topics the key may see");
            JsonNode summary = ok(rest.get(v3 + "/consumer-groups/" + group + "/lag-summary", bearer(reader)));
            assertEquals(seen, summary.get("max_lag_topic_name").asText());
            assertEquals(2, summary.get("total_lag").asLong());
            assertError(rest.get(v3 + "/consumer-groups/" + group + "/lags", bearer(manager)), 404, 404,
                    "Consumer group offsets could not be found.");

            // changing: manager on the topic only
            assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + p + "-a2\"}", bearer(reader)), 403, 403,
                    "This API key does not have the manager role");
            assertError(rest.delete(v3 + "/topics/" + seen, bearer(reader)), 403, 403,
                    "This API key does not have the manager role on topic '" + seen + "'");
            assertError(patch(rest, v3 + "/topics/" + seen, "{\"partitions_count\":3}", bearer(reader)), 403, 403,
                    "This API key does not have the manager role on topic '" + seen + "'");
            assertError(rest.post(v3 + "/topics/" + seen + "/configs:alter", JSON,
                    "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"1000\"}]}", bearer(reader)), 403, 403,
                    "This API key does not have the manager role on topic '" + seen + "'");
            assertError(rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + p + "-a2\"}", bearer(manager)), 403, 403,
                    "This API key does not have the manager role on topic '" + p + "-a2'");
            assertError(rest.delete(v3 + "/topics/" + seen, bearer(manager)), 403, 403,
                    "This API key does not have the manager role on topic '" + seen + "'");
            assertEquals(2, describe(kafka.admin(), seen).partitions().size());
            assertNull(describe(kafka.admin(), p + "-a2"));

            Rest.Response created = rest.post(v3 + "/topics", JSON, "{\"topic_name\":\"" + p + "-m2\"}", bearer(manager));
            assertEquals(201, created.status(), created.body());
            assertEquals(200, patch(rest, v3 + "/topics/" + managed, "{\"partitions_count\":2}", bearer(manager)).status());
            assertEquals(204, rest.post(v3 + "/topics/" + managed + "/configs:alter", JSON,
                    "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"1000\"}]}", bearer(manager)).status());
            // Several topics at once: the manager role on each, else nothing is changed, and a key
            // learns nothing of a name outside its scope (not whether it exists, nor its settings).
            String many = v3 + "/topics/-/configs:alter";
            assertError(rest.post(many, JSON, "{\"data\":[" + topicChanges(managed, set("segment.ms", "1000")) + "]}",
                    bearer(reader)), 403, 403, "This API key does not have the manager role");
            assertError(rest.post(many, JSON, "{\"data\":[" + topicChanges(managed, set("segment.ms", "1000")) + ","
                    + topicChanges(seen, set("segment.ms", "1000")) + "]}", bearer(manager)),
                    403, 403, "This API key does not have the manager role on topic '" + seen + "'");
            assertError(rest.post(many, JSON, "{\"data\":[" + topicChanges(managed, set("segment.ms", "1000")) + ","
                    + topicChanges(p + "-a-none", set("segment.ms", "1000")) + "]}", bearer(manager)),
                    403, 403, "This API key does not have the manager role on topic '" + p + "-a-none'");
            assertError(rest.post(many, JSON, "{\"data\":[" + topicChanges(seen, set("segment.ms", "1000")) + ","
                    + topicChanges(managed, set("no.such.config", "1")) + "]}", bearer(manager)),
                    403, 403, "This API key does not have the manager role on topic '" + seen + "'");
            assertEquals(204, rest.post(many, JSON, "{\"data\":[" + topicChanges(managed,
                    set("segment.ms", "7200000")) + "]}", bearer(manager)).status());
            assertTrue(eventually(() -> "7200000".equals(kafkaValue(kafka.admin(), managed, "segment.ms"))),
                    "a change made after the refused ones is seen, so theirs would be: they changed nothing");
            assertNotEquals("1000", kafkaValue(kafka.admin(), seen, "segment.ms"));
            assertEquals(204, rest.delete(v3 + "/topics/" + p + "-m2", bearer(manager)).status());
            assertTrue(eventually(() -> describe(kafka.admin(), p + "-m2") == null));
            assertTrue(eventually(() -> describe(kafka.admin(), managed).partitions().size() == 2));
            assertTrue(eventually(() -> "1000".equals(kafkaValue(kafka.admin(), managed, "retention.ms"))));
            Set<String> byManager = Set.copyOf(texts(ok(rest.get(v3 + "/topics", bearer(manager))).get("data"), "topic_name"));
            assertEquals(Set.of(managed), Set.copyOf(byManager.stream().filter(t -> t.startsWith(p)).toList()));
        }
    }
}
