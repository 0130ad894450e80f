package io.portico.proxy.it;

import static io.portico.proxy.testing.V3Answers.assertError;
import static io.portico.proxy.testing.V3Answers.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Confluent v3's broker settings ({@code …/brokers/{id}/configs}, {@code …/brokers/-/configs}),
 * cluster-wide broker settings ({@code …/broker-configs}), every topic's settings
 * ({@code …/topics/-/configs}), the replicas a broker holds and partition reassignments, end to
 * end against the real broker: what Portico changed is checked with Kafka's own admin client, and
 * every setting changed is put back. The settings changed are the log cleaner's pace, which no
 * other test depends on.
 */
@ExtendWith(PorticoExtension.class)
class V3BrokerConfigsIT {
    private static final String JSON = "application/json";
    private static final Duration WITHIN = Duration.ofSeconds(30);
    /** A broker setting Kafka changes while the broker runs, per broker. */
    private static final String BROKER_SETTING = "log.cleaner.backoff.ms";
    /** Another, of the same kind. */
    private static final String SECOND_SETTING = "log.cleaner.io.buffer.load.factor";
    /** A broker setting Kafka changes while the brokers run, cluster-wide. */
    private static final String CLUSTER_SETTING = "log.cleaner.io.max.bytes.per.second";

    /** Another, set cluster-wide too. */
    private static final String CLUSTER_SECOND = "log.cleaner.io.buffer.load.factor";

    @TempDir
    Path dir;

    private static String clusterId(KafkaCluster kafka) throws Exception {
        return kafka.admin().describeCluster().clusterId().get();
    }

    private static int brokerId(KafkaCluster kafka) throws Exception {
        return kafka.admin().describeCluster().nodes().get().iterator().next().id();
    }

    private static boolean eventually(Supplier<Boolean> condition) throws InterruptedException {
        long deadline = System.nanoTime() + WITHIN.toNanos();
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    /** The setting of {@code resource} as Kafka describes it (null when it lists none of that name). */
    private static ConfigEntry kafkaConfig(KafkaCluster kafka, ConfigResource resource, String name) {
        try {
            Config config = kafka.admin().describeConfigs(List.of(resource)).all().get().get(resource);
            return config.get(name);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static JsonNode find(JsonNode data, String field, String value) {
        for (JsonNode n : data) {
            if (n.get(field).asText().equals(value)) {
                return n;
            }
        }
        return null;
    }

    /**
     * Removes {@code resource}'s own value of {@code name} with Kafka's admin client (a test's
     * clean-up), and waits until Kafka shows it gone, so that the next test finds the broker as it was.
     */
    private static void resetWithKafka(KafkaCluster kafka, ConfigResource resource, String name) throws Exception {
        kafka.admin().incrementalAlterConfigs(Map.of(resource,
                List.of(new AlterConfigOp(new ConfigEntry(name, null), AlterConfigOp.OpType.DELETE)))).all().get();
        ConfigEntry.ConfigSource own = resource.name().isEmpty() ? ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
                : ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG;
        assertTrue(eventually(() -> {
            ConfigEntry e = kafkaConfig(kafka, resource, name);
            return e == null || e.source() != own;
        }), name + " reset on " + resource);
    }

    @Test
    void aBrokersSettingsAreListedFoundSetAndResetAsKafkaThenDescribesThem(Rest rest, KafkaCluster kafka) throws Exception {
        String cluster = clusterId(kafka);
        int broker = brokerId(kafka);
        String configs = "/v3/clusters/" + cluster + "/brokers/" + broker + "/configs";
        ConfigResource resource = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(broker));
        try {
            JsonNode list = ok(rest.get(configs));
            assertEquals("KafkaBrokerConfigList", list.get("kind").asText());
            assertEquals(rest.base() + configs, list.get("metadata").get("self").asText());
            List<String> names = new ArrayList<>();
            list.get("data").forEach(n -> names.add(n.get("name").asText()));
            assertEquals(names.stream().sorted().toList(), names, "sorted by name");
            assertEquals(kafka.admin().describeConfigs(List.of(resource)).all().get().get(resource).entries().size(),
                    names.size(), "every setting Kafka describes");
            JsonNode backoff = find(list.get("data"), "name", BROKER_SETTING);
            assertEquals("KafkaBrokerConfig", backoff.get("kind").asText());
            assertEquals(broker, backoff.get("broker_id").asInt());
            assertEquals(cluster, backoff.get("cluster_id").asText());
            assertEquals(rest.base() + configs + "/" + BROKER_SETTING, backoff.get("metadata").get("self").asText());
            assertEquals("crn:///kafka=" + cluster + "/broker=" + broker + "/config=" + BROKER_SETTING,
                    backoff.get("metadata").get("resource_name").asText());
            assertEquals(kafkaConfig(kafka, resource, BROKER_SETTING).value(), backoff.get("value").asText());
            assertEquals(backoff, ok(rest.get(configs + "/" + BROKER_SETTING)));

            // PUT sets the broker's own value, DELETE removes it
            Rest.Response set = rest.put(configs + "/" + BROKER_SETTING, JSON, "{\"value\":\"16000\"}");
            assertEquals(204, set.status(), set.body());
            assertTrue(eventually(() -> "16000".equals(kafkaConfig(kafka, resource, BROKER_SETTING).value())));
            assertEquals(ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG,
                    kafkaConfig(kafka, resource, BROKER_SETTING).source());
            assertTrue(eventually(() -> "DYNAMIC_BROKER_CONFIG".equals(
                    rest.get(configs + "/" + BROKER_SETTING).json().get("source").asText())));
            assertEquals("16000", ok(rest.get(configs + "/" + BROKER_SETTING)).get("value").asText());
            assertEquals(204, rest.delete(configs + "/" + BROKER_SETTING).status());
            assertTrue(eventually(() -> kafkaConfig(kafka, resource, BROKER_SETTING).source()
                    != ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG), "back to the broker's static or default value");

            // configs:alter: applied together; validate_only changes nothing
            Rest.Response alter = rest.post(configs + ":alter", JSON,
                    "{\"data\":[{\"name\":\"" + BROKER_SETTING + "\",\"value\":\"18000\"}]}");
            assertEquals(204, alter.status(), alter.body());
            assertTrue(eventually(() -> "18000".equals(kafkaConfig(kafka, resource, BROKER_SETTING).value())));
            Rest.Response dry = rest.post(configs + ":alter", JSON,
                    "{\"data\":[{\"name\":\"" + BROKER_SETTING + "\",\"value\":\"17000\"}],\"validate_only\":true}");
            assertEquals(204, dry.status(), dry.body());
            // a change made after the dry run is seen, so the dry run's would be too: there is none
            assertEquals(204, rest.put(configs + "/" + SECOND_SETTING, JSON, "{\"value\":\"0.8\"}").status());
            assertTrue(eventually(() -> "0.8".equals(kafkaConfig(kafka, resource, SECOND_SETTING).value())));
            assertEquals("18000", kafkaConfig(kafka, resource, BROKER_SETTING).value(), "the dry run changed nothing");

            // what Kafka or Portico refuse changes nothing
            assertError(rest.post(configs + ":alter", JSON, "{\"data\":[{\"name\":\"" + BROKER_SETTING
                            + "\",\"value\":\"19000\"},{\"name\":\"no.such.config\",\"value\":\"1\"}]}"), 404, 404,
                    "Config no.such.config cannot be found for BROKER " + broker + " in cluster " + cluster + ".");
            assertError(rest.put(configs + "/no.such.config", JSON, "{\"value\":\"1\"}"), 404, 404,
                    "Config no.such.config cannot be found for BROKER " + broker + " in cluster " + cluster + ".");
            Rest.Response readOnly = rest.put(configs + "/log.dirs", JSON, "{\"value\":\"/tmp/elsewhere\"}");
            assertEquals(400, readOnly.status(), readOnly.body());
            assertEquals(40002, readOnly.json().get("error_code").asInt(), readOnly.body());
            assertError(rest.put(configs + "/" + BROKER_SETTING, JSON, "{}"), 422, 42206, "Payload error. value is required.");
            Rest.Response badName = rest.put(configs + "/Bad%20Name", JSON, "{\"value\":\"1\"}");
            assertEquals(422, badName.status(), badName.body());
            assertEquals(42206, badName.json().get("error_code").asInt(), badName.body());
            assertEquals("18000", kafkaConfig(kafka, resource, BROKER_SETTING).value());
            assertEquals("KafkaBrokerConfig", ok(rest.get(configs + "/log.dirs")).get("kind").asText());

            // a broker the cluster lacks, a setting it lacks
            assertError(rest.get("/v3/clusters/" + cluster + "/brokers/987654/configs"), 404, 404,
                    "Broker 987654 cannot be found.");
            assertError(rest.put("/v3/clusters/" + cluster + "/brokers/987654/configs/" + BROKER_SETTING, JSON,
                    "{\"value\":\"1\"}"), 404, 404, "Broker 987654 cannot be found.");
            assertError(rest.get(configs + "/no.such.config"), 404, 404, "HTTP 404 Not Found");
            assertError(rest.get("/v3/clusters/other/brokers/" + broker + "/configs"), 404, 404,
                    "Cluster other cannot be found.");
        } finally {
            resetWithKafka(kafka, resource, BROKER_SETTING);
            resetWithKafka(kafka, resource, SECOND_SETTING);
        }
    }

    @Test
    void everyBrokersSettingsAreListedByBrokerThenName(Rest rest, KafkaCluster kafka) throws Exception {
        String cluster = clusterId(kafka);
        int broker = brokerId(kafka);
        JsonNode all = ok(rest.get("/v3/clusters/" + cluster + "/brokers/-/configs"));
        assertEquals("KafkaBrokerConfigList", all.get("kind").asText());
        assertEquals(rest.base() + "/v3/clusters/" + cluster + "/brokers/-/configs", all.get("metadata").get("self").asText());
        JsonNode one = ok(rest.get("/v3/clusters/" + cluster + "/brokers/" + broker + "/configs"));
        assertEquals(one.get("data"), all.get("data"), "one broker: its settings, as its own list has them");
    }

    @Test
    void clusterWideSettingsAreOnlyThoseSetAndAreSetAndResetForEveryBroker(Rest rest, KafkaCluster kafka) throws Exception {
        String cluster = clusterId(kafka);
        String configs = "/v3/clusters/" + cluster + "/broker-configs";
        ConfigResource defaults = new ConfigResource(ConfigResource.Type.BROKER, "");
        ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(brokerId(kafka)));
        try {
            JsonNode before = ok(rest.get(configs));
            assertEquals("KafkaClusterConfigList", before.get("kind").asText());
            assertEquals(rest.base() + configs, before.get("metadata").get("self").asText());
            assertEquals(null, find(before.get("data"), "name", CLUSTER_SETTING), "not set yet");
            assertError(rest.get(configs + "/" + CLUSTER_SETTING), 404, 404, "HTTP 404 Not Found");
            assertError(rest.delete(configs + "/" + CLUSTER_SETTING), 404, 404,
                    "Config " + CLUSTER_SETTING + " cannot be found for BROKER  in cluster " + cluster + ".");

            Rest.Response set = rest.put(configs + "/" + CLUSTER_SETTING, JSON, "{\"value\":\"123456789\"}");
            assertEquals(204, set.status(), set.body());
            assertTrue(eventually(() -> {
                ConfigEntry e = kafkaConfig(kafka, defaults, CLUSTER_SETTING);
                return e != null && "1.23456789E8".equals(e.value()) || e != null && "123456789".equals(e.value());
            }), "Kafka has it cluster-wide");
            assertTrue(eventually(() -> kafkaConfig(kafka, broker, CLUSTER_SETTING).source()
                    == ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG), "the broker takes it");
            assertTrue(eventually(() -> rest.get(configs + "/" + CLUSTER_SETTING).status() == 200));
            JsonNode setting = ok(rest.get(configs + "/" + CLUSTER_SETTING));
            assertEquals("KafkaClusterConfig", setting.get("kind").asText());
            assertEquals("BROKER", setting.get("config_type").asText());
            assertEquals(cluster, setting.get("cluster_id").asText());
            assertEquals(kafkaConfig(kafka, defaults, CLUSTER_SETTING).value(), setting.get("value").asText());
            assertEquals("DYNAMIC_DEFAULT_BROKER_CONFIG", setting.get("source").asText());
            assertEquals(rest.base() + configs + "/" + CLUSTER_SETTING, setting.get("metadata").get("self").asText());
            assertEquals("crn:///kafka=" + cluster + "/broker-config=" + CLUSTER_SETTING,
                    setting.get("metadata").get("resource_name").asText());
            assertEquals(setting, find(ok(rest.get(configs)).get("data"), "name", CLUSTER_SETTING));

            // broker-configs:alter, then DELETE
            Rest.Response alter = rest.post(configs + ":alter", JSON,
                    "{\"data\":[{\"name\":\"" + CLUSTER_SETTING + "\",\"operation\":\"DELETE\"}]}");
            assertEquals(204, alter.status(), alter.body());
            assertTrue(eventually(() -> kafkaConfig(kafka, defaults, CLUSTER_SETTING) == null));
            assertTrue(eventually(() -> rest.get(configs + "/" + CLUSTER_SETTING).status() == 404));
            Rest.Response again = rest.post(configs + ":alter", JSON,
                    "{\"data\":[{\"name\":\"" + CLUSTER_SETTING + "\",\"value\":\"223456789\"}]}");
            assertEquals(204, again.status(), again.body());
            assertTrue(eventually(() -> rest.get(configs + "/" + CLUSTER_SETTING).status() == 200));
            String set2 = kafkaConfig(kafka, defaults, CLUSTER_SETTING).value();
            Rest.Response dry = rest.post(configs + ":alter", JSON, "{\"data\":[{\"name\":\"" + CLUSTER_SETTING
                    + "\",\"value\":\"323456789\"}],\"validate_only\":true}");
            assertEquals(204, dry.status(), dry.body());
            // a change made after the dry run is seen, so the dry run's would be too: there is none
            assertEquals(204, rest.put(configs + "/" + CLUSTER_SECOND, JSON, "{\"value\":\"0.85\"}").status());
            assertTrue(eventually(() -> {
                ConfigEntry e = kafkaConfig(kafka, defaults, CLUSTER_SECOND);
                return e != null && "0.85".equals(e.value());
            }));
            assertEquals(set2, kafkaConfig(kafka, defaults, CLUSTER_SETTING).value(), "the dry run changed nothing");
            assertEquals(204, rest.delete(configs + "/" + CLUSTER_SETTING).status());
            assertTrue(eventually(() -> kafkaConfig(kafka, defaults, CLUSTER_SETTING) == null));

            Rest.Response refused = rest.put(configs + "/log.dirs", JSON, "{\"value\":\"/tmp/elsewhere\"}");
            assertEquals(400, refused.status(), refused.body());
            assertEquals(40002, refused.json().get("error_code").asInt(), refused.body());
            assertEquals(null, kafkaConfig(kafka, defaults, "log.dirs"));
        } finally {
            resetWithKafka(kafka, defaults, CLUSTER_SETTING);
            resetWithKafka(kafka, defaults, CLUSTER_SECOND);
        }
    }

    @Test
    void everyTopicsSettingsAreListedByTopicThenNameAsEachTopicsOwnListHasThem(Rest rest, KafkaCluster kafka)
            throws Exception {
        String cluster = clusterId(kafka);
        String a = kafka.createTopic(KafkaCluster.uniqueTopic("v3-all-configs-a"), 1);
        String b = kafka.createTopic(KafkaCluster.uniqueTopic("v3-all-configs-b"), 1);
        assertEquals(204, rest.post("/v3/clusters/" + cluster + "/topics/" + b + "/configs:alter", JSON,
                "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"3600000\"}]}").status());
        assertTrue(eventually(() -> "3600000".equals(kafkaConfig(kafka,
                new ConfigResource(ConfigResource.Type.TOPIC, b), "retention.ms").value())));
        JsonNode all = ok(rest.get("/v3/clusters/" + cluster + "/topics/-/configs"));
        assertEquals("KafkaTopicConfigList", all.get("kind").asText());
        assertEquals(rest.base() + "/v3/clusters/" + cluster + "/topics/-/configs", all.get("metadata").get("self").asText());
        List<String> order = new ArrayList<>();
        List<JsonNode> ofA = new ArrayList<>();
        List<JsonNode> ofB = new ArrayList<>();
        for (JsonNode c : all.get("data")) {
            order.add(c.get("topic_name").asText() + "\u0001" + c.get("name").asText());
            if (c.get("topic_name").asText().equals(a)) {
                ofA.add(c);
            } else if (c.get("topic_name").asText().equals(b)) {
                ofB.add(c);
            }
        }
        assertEquals(order.stream().sorted().toList(), order, "by topic, then by name");
        List<JsonNode> ownA = new ArrayList<>();
        ok(rest.get("/v3/clusters/" + cluster + "/topics/" + a + "/configs")).get("data").forEach(ownA::add);
        assertEquals(ownA, ofA);
        JsonNode retention = ofB.stream().filter(c -> c.get("name").asText().equals("retention.ms")).findFirst().orElseThrow();
        assertEquals("3600000", retention.get("value").asText());
        assertEquals("DYNAMIC_TOPIC_CONFIG", retention.get("source").asText());
    }

    @Test
    void aBrokersReplicasAreThoseOfEveryPartitionItHolds(Rest rest, KafkaCluster kafka) throws Exception {
        String cluster = clusterId(kafka);
        int broker = brokerId(kafka);
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3-replicas-of"), 3);
        String path = "/v3/clusters/" + cluster + "/brokers/" + broker + "/partition-replicas";
        JsonNode list = ok(rest.get(path));
        assertEquals("KafkaReplicaList", list.get("kind").asText());
        assertEquals(rest.base() + path, list.get("metadata").get("self").asText());
        List<Integer> partitions = new ArrayList<>();
        for (JsonNode r : list.get("data")) {
            assertEquals(broker, r.get("broker_id").asInt(), r.toString());
            if (r.get("topic_name").asText().equals(topic)) {
                partitions.add(r.get("partition_id").asInt());
                assertTrue(r.get("is_leader").asBoolean());
                assertTrue(r.get("is_in_sync").asBoolean());
                assertEquals(r, ok(rest.get("/v3/clusters/" + cluster + "/topics/" + topic + "/partitions/"
                        + r.get("partition_id").asInt() + "/replicas/" + broker)), "as the partition's own replica");
            }
        }
        assertEquals(List.of(0, 1, 2), partitions);
        assertError(rest.get("/v3/clusters/" + cluster + "/brokers/987654/partition-replicas"), 404, 404,
                "Broker 987654 cannot be found.");
    }

    @Test
    void noPartitionIsBeingReassignedOnOneBroker(Rest rest, KafkaCluster kafka) throws Exception {
        String cluster = clusterId(kafka);
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3-reassign"), 2);
        assertTrue(kafka.admin().listPartitionReassignments().reassignments().get().isEmpty(), "Kafka moves nothing");
        JsonNode all = ok(rest.get("/v3/clusters/" + cluster + "/topics/-/partitions/-/reassignment"));
        assertEquals("KafkaReassignmentList", all.get("kind").asText());
        assertEquals(0, all.get("data").size());
        assertEquals(rest.base() + "/v3/clusters/" + cluster + "/topics/-/partitions/-/reassignment",
                all.get("metadata").get("self").asText());
        JsonNode ofTopic = ok(rest.get("/v3/clusters/" + cluster + "/topics/" + topic + "/partitions/-/reassignment"));
        assertEquals(0, ofTopic.get("data").size());
        assertError(rest.get("/v3/clusters/" + cluster + "/topics/" + topic + "/partitions/0/reassignment"), 404, 404,
                "HTTP 404 Not Found");
        // the partition's reassignment link leads here
        assertEquals(rest.base() + "/v3/clusters/" + cluster + "/topics/" + topic + "/partitions/0/reassignment",
                ok(rest.get("/v3/clusters/" + cluster + "/topics/" + topic + "/partitions/0")).get("reassignment")
                        .get("related").asText());
    }

    @Test
    void changingBrokerSettingsTakesManagerOnEveryTopicAndGroupAndListsShowOnlyWhatAKeySees(KafkaCluster kafka)
            throws Exception {
        String p = "v3bk" + Long.toHexString(System.nanoTime() & 0xffffff);
        String scoped = "k-" + UUID.randomUUID();
        String grouped = "k-" + UUID.randomUUID();
        String whole = "k-" + UUID.randomUUID();
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"scoped\",\"key\":\"" + scoped + "\",\"role\":\"manager\",\"topics\":[\"" + p + "-a*\"]},"
                + "{\"name\":\"grouped\",\"key\":\"" + grouped + "\",\"role\":\"manager\",\"topics\":[\"*\"],"
                + "\"groups\":[\"" + p + "*\"]},"
                + "{\"name\":\"whole\",\"key\":\"" + whole + "\",\"role\":\"manager\",\"topics\":[\"*\"]}]}");
        String seen = kafka.createTopic(p + "-a1", 1);
        String hidden = kafka.createTopic(p + "-b1", 1);
        String cluster = clusterId(kafka);
        int broker = brokerId(kafka);
        ConfigResource resource = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(broker));
        String setting = "/v3/clusters/" + cluster + "/brokers/" + broker + "/configs/" + BROKER_SETTING;
        try (TestPortico portico = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString()))) {
            Rest rest = portico.rest();
            assertEquals(401, rest.get(setting).status());
            for (String key : List.of(scoped, grouped)) {
                // a broker's settings (its listeners, its security set-up) are the whole cluster's to read
                for (String read : List.of(setting, "/v3/clusters/" + cluster + "/brokers/" + broker + "/configs",
                        "/v3/clusters/" + cluster + "/brokers/-/configs", "/v3/clusters/" + cluster + "/broker-configs",
                        "/v3/clusters/" + cluster + "/broker-configs/" + CLUSTER_SETTING)) {
                    assertError(rest.get(read, "Authorization", "Bearer " + key), 403, 403,
                            "This API key does not have the reader role on the whole cluster (every topic and group)");
                }
                // the values a regression would set are harmless ones (the default, a wide throttle)
                for (Rest.Response r : List.of(
                        rest.put(setting, JSON, "{\"value\":\"15000\"}", "Authorization", "Bearer " + key),
                        rest.delete(setting, "Authorization", "Bearer " + key),
                        rest.post("/v3/clusters/" + cluster + "/brokers/" + broker + "/configs:alter", JSON,
                                "{\"data\":[{\"name\":\"" + BROKER_SETTING + "\",\"value\":\"15000\"}]}",
                                "Authorization", "Bearer " + key),
                        rest.put("/v3/clusters/" + cluster + "/broker-configs/" + CLUSTER_SETTING, JSON,
                                "{\"value\":\"123456789\"}", "Authorization", "Bearer " + key),
                        rest.delete("/v3/clusters/" + cluster + "/broker-configs/" + CLUSTER_SETTING,
                                "Authorization", "Bearer " + key),
                        rest.post("/v3/clusters/" + cluster + "/broker-configs:alter", JSON,
                                "{\"data\":[{\"name\":\"" + CLUSTER_SETTING + "\",\"value\":\"123456789\"}]}",
                                "Authorization", "Bearer " + key))) {
                    assertError(r, 403, 403,
                            "This API key does not have the manager role on the whole cluster (every topic and group)");
                }
            }
            assertTrue(kafkaConfig(kafka, resource, BROKER_SETTING).source() != ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG);
            Rest.Response set = rest.put(setting, JSON, "{\"value\":\"16000\"}", "Authorization", "Bearer " + whole);
            assertEquals(204, set.status(), set.body());
            assertTrue(eventually(() -> "16000".equals(kafkaConfig(kafka, resource, BROKER_SETTING).value())));
            assertEquals("16000", ok(rest.get(setting, "Authorization", "Bearer " + whole)).get("value").asText());

            // lists of every topic show only the key's
            List<String> topics = new ArrayList<>();
            ok(rest.get("/v3/clusters/" + cluster + "/topics/-/configs", "Authorization", "Bearer " + scoped)).get("data")
                    .forEach(c -> topics.add(c.get("topic_name").asText()));
            assertEquals(List.of(seen), topics.stream().distinct().toList());
            List<String> replicas = new ArrayList<>();
            ok(rest.get("/v3/clusters/" + cluster + "/brokers/" + broker + "/partition-replicas",
                    "Authorization", "Bearer " + scoped)).get("data").forEach(r -> replicas.add(r.get("topic_name").asText()));
            assertEquals(List.of(seen), replicas);
            assertError(rest.get("/v3/clusters/" + cluster + "/topics/" + hidden + "/partitions/-/reassignment",
                    "Authorization", "Bearer " + scoped), 403, 403,
                    "This API key does not have the reader role on topic '" + hidden + "'");
            assertFalse(topics.contains(hidden));
        } finally {
            resetWithKafka(kafka, resource, BROKER_SETTING);
            resetWithKafka(kafka, new ConfigResource(ConfigResource.Type.BROKER, ""), CLUSTER_SETTING);
        }
    }

    @Test
    void everyTopicsSettingsAreAskedOnlyOnceTheirAnswerHasRoomInTheResponsesBudget(KafkaCluster kafka) throws Exception {
        String p = "v3room" + Long.toHexString(System.nanoTime() & 0xffffff);
        for (int i = 0; i < 40; i++) {
            kafka.createTopic(String.format("%s-%02d", p, i), 1);
        }
        String many = "k-" + UUID.randomUUID();
        String few = "k-" + UUID.randomUUID();
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"many\",\"key\":\"" + many + "\",\"role\":\"reader\",\"topics\":[\"" + p + "-*\"]},"
                + "{\"name\":\"few\",\"key\":\"" + few + "\",\"role\":\"reader\",\"topics\":[\"" + p + "-0*\"]}]}");
        String all = "/v3/clusters/" + clusterId(kafka) + "/topics/-/configs";
        // 1 MiB for every answer at once, a key's share of it at most: 40 topics at 32 KiB each
        // never fit one answer, 10 do
        try (TestPortico portico = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "memory.responses.max.bytes", String.valueOf(1 << 20)))) {
            Rest rest = portico.rest();
            Rest.Response refused = rest.get(all, "Authorization", "Bearer " + many);
            assertEquals(422, refused.status(), refused.body());
            assertTrue(refused.json().get("message").asText().startsWith("the settings of 40 topics (32 KiB a topic) need "
                    + "about 1310720 bytes of JSON, more than one answer may hold"), refused.body());
            List<String> topics = new ArrayList<>();
            ok(rest.get(all, "Authorization", "Bearer " + few)).get("data")
                    .forEach(c -> topics.add(c.get("topic_name").asText()));
            assertEquals(10, topics.stream().distinct().count(), topics.toString());
            // what each answer took is given back: more of them than the budget holds at once, one after the other
            for (int i = 0; i < 6; i++) {
                assertEquals(200, rest.get(all, "Authorization", "Bearer " + few).status(), "answer " + i);
            }
        }
    }
}
