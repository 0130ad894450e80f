package io.portico.protocol.v3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The v3 admin bodies are written in Confluent's shapes and read with its field names. */
class V3JsonTest {
    private static final String BASE = "http://localhost:8082/v3/clusters/c-1";

    private static String json(Object value) {
        return new String(Json.write(value), StandardCharsets.UTF_8);
    }

    private static <T> T read(Class<T> type, String body) {
        return new Json.BodyReader<>(type).read(body.getBytes(StandardCharsets.UTF_8), EmbeddedFormat.JSON);
    }

    private static RestException readFails(Class<?> type, String body) {
        return assertThrows(RestException.class, () -> read(type, body));
    }

    private static Related related(String path) {
        return new Related(BASE + path);
    }

    @Test
    void aTopicListIsKindMetadataWithANullNextAndData() {
        TopicData topic = new TopicData(TopicData.KIND, new ResourceMetadata(BASE + "/topics/t1", "crn:///kafka=c-1/topic=t1"),
                "c-1", "t1", false, 1, 3, related("/topics/t1/partitions"), related("/topics/t1/configs"),
                related("/topics/t1/partitions/-/reassignment"), List.of());
        assertEquals("{\"kind\":\"KafkaTopicList\",\"metadata\":{\"self\":\"" + BASE + "/topics\",\"next\":null},\"data\":["
                + "{\"kind\":\"KafkaTopic\",\"metadata\":{\"self\":\"" + BASE + "/topics/t1\",\"resource_name\":\"crn:///kafka=c-1/topic=t1\"},"
                + "\"cluster_id\":\"c-1\",\"topic_name\":\"t1\",\"is_internal\":false,\"replication_factor\":1,\"partitions_count\":3,"
                + "\"partitions\":{\"related\":\"" + BASE + "/topics/t1/partitions\"},"
                + "\"configs\":{\"related\":\"" + BASE + "/topics/t1/configs\"},"
                + "\"partition_reassignments\":{\"related\":\"" + BASE + "/topics/t1/partitions/-/reassignment\"},"
                + "\"authorized_operations\":[]}]}",
                json(ResourceList.of(TopicData.LIST_KIND, BASE + "/topics", List.of(topic))));
    }

    @Test
    void aClusterWithoutAKnownControllerWritesItAsNull() {
        ClusterData cluster = new ClusterData(ClusterData.KIND, new ResourceMetadata(BASE, "crn:///kafka=c-1"), "c-1", null,
                related("/acls"), related("/brokers"), related("/broker-configs"), related("/consumer-groups"),
                related("/topics"), related("/topics/-/partitions/-/reassignment"));
        assertEquals("{\"kind\":\"KafkaCluster\",\"metadata\":{\"self\":\"" + BASE + "\",\"resource_name\":\"crn:///kafka=c-1\"},"
                + "\"cluster_id\":\"c-1\",\"controller\":null,\"acls\":{\"related\":\"" + BASE + "/acls\"},"
                + "\"brokers\":{\"related\":\"" + BASE + "/brokers\"},\"broker_configs\":{\"related\":\"" + BASE + "/broker-configs\"},"
                + "\"consumer_groups\":{\"related\":\"" + BASE + "/consumer-groups\"},\"topics\":{\"related\":\"" + BASE + "/topics\"},"
                + "\"partition_reassignments\":{\"related\":\"" + BASE + "/topics/-/partitions/-/reassignment\"}}", json(cluster));
    }

    @Test
    void metadataWithoutAResourceNameLeavesItOut() {
        assertEquals("{\"self\":\"" + BASE + "\"}", json(new ResourceMetadata(BASE, null)));
    }

    @Test
    void aBrokerWritesAnUnknownRackAsNull() {
        BrokerData broker = new BrokerData(BrokerData.KIND, new ResourceMetadata(BASE + "/brokers/1", "crn:///kafka=c-1/broker=1"),
                "c-1", 1, "localhost", 9092, null, related("/brokers/1/configs"), related("/brokers/1/partition-replicas"));
        assertEquals("{\"kind\":\"KafkaBroker\",\"metadata\":{\"self\":\"" + BASE + "/brokers/1\",\"resource_name\":\"crn:///kafka=c-1/broker=1\"},"
                + "\"cluster_id\":\"c-1\",\"broker_id\":1,\"host\":\"localhost\",\"port\":9092,\"rack\":null,"
                + "\"configs\":{\"related\":\"" + BASE + "/brokers/1/configs\"},"
                + "\"partition_replicas\":{\"related\":\"" + BASE + "/brokers/1/partition-replicas\"}}", json(broker));
    }

    @Test
    void aTopicConfigCarriesItsSourceAndSynonyms() {
        ConfigData config = new ConfigData(ConfigData.TOPIC_KIND,
                new ResourceMetadata(BASE + "/topics/t1/configs/cleanup.policy", "crn:///kafka=c-1/topic=t1/config=cleanup.policy"),
                "c-1", "t1", null, null, "cleanup.policy", "compact", false, false, false, "DYNAMIC_TOPIC_CONFIG",
                List.of(new ConfigData.Synonym("cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG"),
                        new ConfigData.Synonym("log.cleanup.policy", "delete", "DEFAULT_CONFIG")));
        assertEquals("{\"kind\":\"KafkaTopicConfig\",\"metadata\":{\"self\":\"" + BASE + "/topics/t1/configs/cleanup.policy\","
                + "\"resource_name\":\"crn:///kafka=c-1/topic=t1/config=cleanup.policy\"},\"cluster_id\":\"c-1\",\"topic_name\":\"t1\","
                + "\"name\":\"cleanup.policy\",\"value\":\"compact\",\"is_default\":false,\"is_read_only\":false,\"is_sensitive\":false,"
                + "\"source\":\"DYNAMIC_TOPIC_CONFIG\",\"synonyms\":[{\"name\":\"cleanup.policy\",\"value\":\"compact\",\"source\":\"DYNAMIC_TOPIC_CONFIG\"},"
                + "{\"name\":\"log.cleanup.policy\",\"value\":\"delete\",\"source\":\"DEFAULT_CONFIG\"}]}", json(config));
    }

    @Test
    void brokerAndClusterSettingsNameTheirOwnerAndNotATopic() {
        ConfigData broker = new ConfigData(ConfigData.BROKER_KIND, new ResourceMetadata(BASE + "/brokers/1/configs/a.b", null),
                "c-1", null, 1, null, "a.b", null, true, true, true, "DEFAULT_CONFIG", List.of());
        assertEquals("{\"kind\":\"KafkaBrokerConfig\",\"metadata\":{\"self\":\"" + BASE + "/brokers/1/configs/a.b\"},"
                + "\"cluster_id\":\"c-1\",\"broker_id\":1,\"name\":\"a.b\",\"value\":null,\"is_default\":true,"
                + "\"is_read_only\":true,\"is_sensitive\":true,\"source\":\"DEFAULT_CONFIG\",\"synonyms\":[]}", json(broker));
        ConfigData cluster = new ConfigData(ConfigData.CLUSTER_KIND, new ResourceMetadata(BASE + "/broker-configs/a.b", null),
                "c-1", null, null, ConfigData.BROKER, "a.b", "1", false, false, false, "DYNAMIC_DEFAULT_BROKER_CONFIG",
                List.of());
        assertEquals("{\"kind\":\"KafkaClusterConfig\",\"metadata\":{\"self\":\"" + BASE + "/broker-configs/a.b\"},"
                + "\"cluster_id\":\"c-1\",\"config_type\":\"BROKER\",\"name\":\"a.b\",\"value\":\"1\",\"is_default\":false,"
                + "\"is_read_only\":false,\"is_sensitive\":false,\"source\":\"DYNAMIC_DEFAULT_BROKER_CONFIG\",\"synonyms\":[]}",
                json(cluster));
    }

    @Test
    void aPartitionWithoutALeaderWritesItAsNull() {
        PartitionData partition = new PartitionData(PartitionData.KIND,
                new ResourceMetadata(BASE + "/topics/t1/partitions/0", "crn:///kafka=c-1/topic=t1/partition=0"), "c-1", "t1", 0, null,
                related("/topics/t1/partitions/0/replicas"), related("/topics/t1/partitions/0/reassignment"));
        assertEquals("{\"kind\":\"KafkaPartition\",\"metadata\":{\"self\":\"" + BASE + "/topics/t1/partitions/0\","
                + "\"resource_name\":\"crn:///kafka=c-1/topic=t1/partition=0\"},\"cluster_id\":\"c-1\",\"topic_name\":\"t1\","
                + "\"partition_id\":0,\"leader\":null,\"replicas\":{\"related\":\"" + BASE + "/topics/t1/partitions/0/replicas\"},"
                + "\"reassignment\":{\"related\":\"" + BASE + "/topics/t1/partitions/0/reassignment\"}}", json(partition));
    }

    @Test
    void partitionOffsetsAreEarliestThenLatest() {
        PartitionOffsetsData offsets = new PartitionOffsetsData(PartitionOffsetsData.KIND,
                new ResourceMetadata(BASE + "/topics/t1/partitions/0/offset",
                        "crn:///kafka=c-1/topic=t1/partition=0/offset_type=earliest_and_latest"), "c-1", "t1", 0, 2, 9_000_000_000L);
        assertEquals("{\"kind\":\"KafkaPartitionWithOffsets\",\"metadata\":{\"self\":\"" + BASE + "/topics/t1/partitions/0/offset\","
                + "\"resource_name\":\"crn:///kafka=c-1/topic=t1/partition=0/offset_type=earliest_and_latest\"},"
                + "\"cluster_id\":\"c-1\",\"topic_name\":\"t1\",\"partition_id\":0,\"earliest_offset\":2,\"latest_offset\":9000000000}",
                json(offsets));
    }

    @Test
    void consumerGroupsConsumersLagsAndTheirSummaryUseConfluentsFieldOrder() {
        ConsumerGroupData group = new ConsumerGroupData(ConsumerGroupData.KIND,
                new ResourceMetadata(BASE + "/consumer-groups/g", "crn:///kafka=c-1/consumer-group=g"), "c-1", "g", false, "range",
                "STABLE", "CLASSIC", false, related("/brokers/1"), related("/consumer-groups/g/consumers"),
                related("/consumer-groups/g/lag-summary"));
        assertEquals("{\"kind\":\"KafkaConsumerGroup\",\"metadata\":{\"self\":\"" + BASE + "/consumer-groups/g\","
                + "\"resource_name\":\"crn:///kafka=c-1/consumer-group=g\"},\"cluster_id\":\"c-1\",\"consumer_group_id\":\"g\","
                + "\"is_simple\":false,\"partition_assignor\":\"range\",\"state\":\"STABLE\",\"type\":\"CLASSIC\","
                + "\"is_mixed_consumer_group\":false,\"coordinator\":{\"related\":\"" + BASE + "/brokers/1\"},"
                + "\"consumers\":{\"related\":\"" + BASE + "/consumer-groups/g/consumers\"},"
                + "\"lag_summary\":{\"related\":\"" + BASE + "/consumer-groups/g/lag-summary\"}}", json(group));

        ConsumerData consumer = new ConsumerData(ConsumerData.KIND,
                new ResourceMetadata(BASE + "/consumer-groups/g/consumers/m-1", "crn:///kafka=c-1/consumer-group=g/consumer=m-1"),
                "c-1", "g", "m-1", null, "client-1", related("/consumer-groups/g/consumers/m-1/assignments"));
        assertEquals("{\"kind\":\"KafkaConsumer\",\"metadata\":{\"self\":\"" + BASE + "/consumer-groups/g/consumers/m-1\","
                + "\"resource_name\":\"crn:///kafka=c-1/consumer-group=g/consumer=m-1\"},\"cluster_id\":\"c-1\",\"consumer_group_id\":\"g\","
                + "\"consumer_id\":\"m-1\",\"instance_id\":null,\"client_id\":\"client-1\","
                + "\"assignments\":{\"related\":\"" + BASE + "/consumer-groups/g/consumers/m-1/assignments\"}}", json(consumer));

        ConsumerLagData lag = new ConsumerLagData(ConsumerLagData.KIND,
                new ResourceMetadata(BASE + "/consumer-groups/g/lags/t1/partitions/0", "crn:///kafka=c-1/consumer-group=g/lag=t1/partition=0"),
                "c-1", "g", "t1", 0, "", null, "", 1, 101, 100);
        assertEquals("{\"kind\":\"KafkaConsumerLag\",\"metadata\":{\"self\":\"" + BASE + "/consumer-groups/g/lags/t1/partitions/0\","
                + "\"resource_name\":\"crn:///kafka=c-1/consumer-group=g/lag=t1/partition=0\"},\"cluster_id\":\"c-1\",\"consumer_group_id\":\"g\","
                + "\"topic_name\":\"t1\",\"partition_id\":0,\"consumer_id\":\"\",\"instance_id\":null,\"client_id\":\"\","
                + "\"current_offset\":1,\"log_end_offset\":101,\"lag\":100}", json(lag));

        ConsumerGroupLagSummaryData summary = new ConsumerGroupLagSummaryData(ConsumerGroupLagSummaryData.KIND,
                new ResourceMetadata(BASE + "/consumer-groups/g/lag-summary", "crn:///kafka=c-1/consumer-group=g/lag-summary"),
                "c-1", "g", 100, 110, "m-1", related("/consumer-groups/g/consumers/m-1"), "client-1", null, "t1", 0,
                related("/topics/t1/partitions/0"));
        assertEquals("{\"kind\":\"KafkaConsumerGroupLagSummary\",\"metadata\":{\"self\":\"" + BASE + "/consumer-groups/g/lag-summary\","
                + "\"resource_name\":\"crn:///kafka=c-1/consumer-group=g/lag-summary\"},\"cluster_id\":\"c-1\",\"consumer_group_id\":\"g\","
                + "\"max_lag\":100,\"total_lag\":110,\"max_lag_consumer_id\":\"m-1\","
                + "\"max_lag_consumer\":{\"related\":\"" + BASE + "/consumer-groups/g/consumers/m-1\"},\"max_lag_client_id\":\"client-1\","
                + "\"max_lag_instance_id\":null,\"max_lag_topic_name\":\"t1\",\"max_lag_partition_id\":0,"
                + "\"max_lag_partition\":{\"related\":\"" + BASE + "/topics/t1/partitions/0\"}}", json(summary));
    }

    // ---- request bodies

    @Test
    void aCreateRequestReadsConfluentsFields() {
        CreateTopicRequest r = read(CreateTopicRequest.class, "{\"topic_name\":\"t\",\"partitions_count\":3,\"replication_factor\":1,"
                + "\"configs\":[{\"name\":\"cleanup.policy\",\"value\":\"compact\"},{\"name\":\"retention.ms\",\"value\":null}],"
                + "\"validate_only\":true}");
        assertEquals("t", r.topicName());
        assertEquals(3, r.partitionsCount());
        assertEquals(1, r.replicationFactor());
        assertTrue(r.dryRun());
        assertEquals(List.of("cleanup.policy", "retention.ms"), List.copyOf(r.configMap().keySet()));
        assertEquals("compact", r.configMap().get("cleanup.policy"));
        assertTrue(r.assignments().isEmpty());
        assertFalse(read(CreateTopicRequest.class, "{\"topic_name\":\"t\"}").dryRun());
    }

    @Test
    void replicaAssignmentsAreReadByPartitionId() {
        CreateTopicRequest r = read(CreateTopicRequest.class, "{\"topic_name\":\"t\",\"replicas_assignments\":{\"0\":[1,2],\"1\":[2,3]}}");
        assertEquals(Map.of(0, List.of(1, 2), 1, List.of(2, 3)), r.assignments());
        // Counts beside assignments are ignored, as Confluent's proxy ignores them.
        CreateTopicRequest both = read(CreateTopicRequest.class,
                "{\"topic_name\":\"t\",\"partitions_count\":5,\"replication_factor\":3,\"replicas_assignments\":{\"0\":[1]}}");
        assertEquals(Map.of(0, List.of(1)), both.assignments());
        assertEquals(null, both.partitionsCount());
        assertEquals(null, both.replicationFactor());
    }

    @Test
    void malformedCreateRequestsArePayloadErrors() {
        assertPayloadError(readFails(CreateTopicRequest.class, "{\"topic_name\":\"t\",\"configs\":[{\"value\":\"x\"}]}"),
                "Payload error. Every config needs a name.");
        assertPayloadError(readFails(CreateTopicRequest.class,
                "{\"topic_name\":\"t\",\"configs\":[{\"name\":\"a\",\"value\":\"1\"},{\"name\":\"a\",\"value\":\"2\"}]}"),
                "Payload error. Config 'a' is given twice.");
        assertPayloadError(readFails(CreateTopicRequest.class, "{\"topic_name\":\"t\",\"replicas_assignments\":{\"x\":[1]}}"),
                "Payload error. The keys of replicas_assignments are partition ids, not 'x'.");
        assertPayloadError(readFails(CreateTopicRequest.class, "{\"topic_name\":\"t\",\"replicas_assignments\":{\"0\":[]}}"),
                "Payload error. Partition 0 needs a list of broker ids.");
        RestException unknown = readFails(CreateTopicRequest.class, "{\"topic_name\":\"t\",\"partitions\":1}");
        assertEquals(422, unknown.httpStatus());
        assertEquals("Unrecognized field: partitions", unknown.getMessage());
    }

    @Test
    void aCreateRequestWithMoreConfigsOrPartitionsThanATopicMayHaveIsRefusedAsItIsRead() {
        StringBuilder configs = new StringBuilder("{\"topic_name\":\"t\",\"configs\":[");
        for (int i = 0; i <= CreateTopicRequest.MAX_CONFIGS; i++) {
            configs.append(i == 0 ? "" : ",").append("{\"name\":\"c").append(i).append("\",\"value\":\"v\"}");
        }
        assertPayloadError(readFails(CreateTopicRequest.class, configs.append("]}").toString()),
                "Payload error. At most 1000 configs.");
        StringBuilder partitions = new StringBuilder("{\"topic_name\":\"t\",\"replicas_assignments\":{");
        for (int i = 0; i <= CreateTopicRequest.MAX_PARTITIONS; i++) {
            partitions.append(i == 0 ? "" : ",").append('"').append(i).append("\":[1]");
        }
        assertPayloadError(readFails(CreateTopicRequest.class, partitions.append("}}").toString()),
                "Payload error. At most 10000 partitions.");
    }

    @Test
    void aCreateRequestBuildsItsSettingsAndAssignmentsOnce() {
        CreateTopicRequest r = read(CreateTopicRequest.class, "{\"topic_name\":\"t\",\"replicas_assignments\":{\"0\":[1,2]},"
                + "\"configs\":[{\"name\":\"cleanup.policy\",\"value\":\"compact\"}]}");
        assertSame(r.configMap(), r.configMap());
        assertSame(r.assignments(), r.assignments());
        assertThrows(UnsupportedOperationException.class, () -> r.configMap().put("retention.ms", "1"));
        assertThrows(UnsupportedOperationException.class, () -> r.assignments().put(1, List.of(1)));
        for (String field : List.of("configMap", "assignments", "dryRun", "topicName", "partitionsCount", "replicationFactor")) {
            assertEquals("Unrecognized field: " + field,
                    readFails(CreateTopicRequest.class, "{\"topic_name\":\"t\",\"" + field + "\":null}").getMessage());
        }
    }

    @Test
    void aPartitionGivenTwiceIsAPayloadError() {
        assertPayloadError(readFails(CreateTopicRequest.class,
                "{\"topic_name\":\"t\",\"replicas_assignments\":{\"0\":[1],\"00\":[2]}}"),
                "Payload error. Partition 0 is given twice.");
    }

    @Test
    void alterEntriesSetByDefaultAndDeleteWhenAsked() {
        AlterConfigsRequest r = read(AlterConfigsRequest.class, "{\"data\":[{\"name\":\"retention.ms\",\"value\":\"1000\"},"
                + "{\"name\":\"cleanup.policy\",\"operation\":\"DELETE\"},{\"name\":\"segment.ms\",\"value\":\"5\",\"operation\":\"set\"}]}");
        assertEquals(3, r.data().size());
        assertFalse(r.data().get(0).delete());
        assertTrue(r.data().get(1).delete());
        assertEquals("SET", r.data().get(2).operation());
        assertFalse(r.dryRun());
        assertTrue(read(AlterConfigsRequest.class, "{\"data\":[],\"validate_only\":true}").dryRun());
    }

    @Test
    void malformedAlterRequestsArePayloadErrors() {
        assertPayloadError(readFails(AlterConfigsRequest.class, "{}"), "Payload error. data is required.");
        assertPayloadError(readFails(AlterConfigsRequest.class, "{\"data\":[null]}"), "Payload error. data may not contain null.");
        assertPayloadError(readFails(AlterConfigsRequest.class, "{\"data\":[{\"value\":\"1\"}]}"),
                "Payload error. Every entry of data needs a name.");
        assertPayloadError(readFails(AlterConfigsRequest.class, "{\"data\":[{\"name\":\"a\",\"operation\":\"APPEND\"}]}"),
                "Payload error. The operation of config a is SET or DELETE.");
        // A long name is quoted by its start only, as every other message quotes a client's value.
        String longName = "n".repeat(100_000);
        assertPayloadError(readFails(AlterConfigsRequest.class, "{\"data\":[{\"name\":\"" + longName
                        + "\",\"operation\":\"APPEND\"}]}"),
                "Payload error. The operation of config " + "n".repeat(64) + "… is SET or DELETE.");
    }

    @Test
    void anAclToCreateTakesItsWordsInAnyCaseAndNamesOneAcl() {
        CreateAclRequest r = read(CreateAclRequest.class, "{\"resource_type\":\"topic\",\"resource_name\":\"orders\","
                + "\"pattern_type\":\"Prefixed\",\"principal\":\"User:alice\",\"host\":\"*\",\"operation\":\"two_phase_commit\","
                + "\"permission\":\"allow\"}");
        assertEquals(List.of("TOPIC", "orders", "PREFIXED", "User:alice", "*", "TWO_PHASE_COMMIT", "ALLOW"),
                List.of(r.resourceType(), r.resourceName(), r.patternType(), r.principal(), r.host(), r.operation(),
                        r.permission()));
        String one = "\"resource_name\":\"t\",\"principal\":\"User:a\",\"host\":\"*\"";
        assertBadRequest(readFails(CreateAclRequest.class, "{\"resource_type\":\"any\",\"pattern_type\":\"LITERAL\","
                + "\"operation\":\"READ\",\"permission\":\"ALLOW\"," + one + "}"), "resource_type cannot be ANY");
        assertBadRequest(readFails(CreateAclRequest.class, "{\"resource_type\":\"USER\",\"pattern_type\":\"match\","
                + "\"operation\":\"READ\",\"permission\":\"ALLOW\"," + one + "}"), "pattern_type cannot be MATCH");
        assertBadRequest(readFails(CreateAclRequest.class, "{\"resource_type\":\"TOPIC\",\"pattern_type\":\"LITERAL\","
                + "\"operation\":\"READ\",\"permission\":\"unknown\"," + one + "}"),
                "permission cannot be unknown (one of ANY, DENY, ALLOW)");
        assertBadRequest(readFails(CreateAclRequest.class, "{\"resource_type\":\"TOPIC\",\"pattern_type\":\"LITERAL\","
                + "\"operation\":\"READ\",\"permission\":\"ALLOW\",\"resource_name\":\"t\",\"host\":\"*\"}"),
                "principal is required.");
        assertPayloadError(readFails(CreateAclRequest.class, "{\"resource_type\":\"TOPIC\",\"pattern_type\":\"LITERAL\","
                + "\"operation\":\"READ\",\"permission\":\"ALLOW\",\"resource_name\":\"" + "t".repeat(1025)
                + "\",\"principal\":\"User:a\",\"host\":\"*\"}"), "Payload error. resource_name has more than 1024 characters");
        assertPayloadError(readFails(CreateAclsRequest.class, "{}"), "Payload error. Empty input provided. Data is required.");
    }

    @Test
    void aPartitionsCountIsRequired() {
        assertEquals(4, read(PartitionsCountRequest.class, "{\"partitions_count\":4}").partitionsCount());
        assertPayloadError(readFails(PartitionsCountRequest.class, "{}"), "Payload error. partitions_count is required.");
    }

    private static void assertBadRequest(RestException e, String message) {
        assertEquals(400, e.httpStatus());
        assertEquals(400, e.errorCode().code());
        assertEquals(message, e.getMessage());
    }

    private static void assertPayloadError(RestException e, String message) {
        assertEquals(422, e.httpStatus());
        assertEquals(42206, e.errorCode().code());
        assertEquals(message, e.getMessage());
    }
}
