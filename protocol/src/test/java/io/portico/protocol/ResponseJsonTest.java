package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Wire bodies serialize exactly as Confluent's v1 proxy writes them: declared field order, nulls written. */
class ResponseJsonTest {

    private static String json(Object value) {
        return new String(Json.write(value), StandardCharsets.UTF_8);
    }

    private static <T> T read(String json, Class<T> type) throws JsonProcessingException {
        return Json.mapper().readValue(json, type);
    }

    private static <T> void assertRoundTrip(T value, String expected, Class<T> type) throws JsonProcessingException {
        assertEquals(expected, json(value));
        assertEquals(value, read(expected, type));
    }

    @Test
    void produceResponseWithOneSuccessIsExactlyConfluents() throws JsonProcessingException {
        assertRoundTrip(
                new ProduceResponse(List.of(PartitionOffset.success(0, 0)), null, null),
                "{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}],"
                        + "\"key_schema_id\":null,\"value_schema_id\":null}",
                ProduceResponse.class);
    }

    @Test
    void produceResponsesWrittenWithoutJacksonAreWhatJacksonWrites() throws JsonProcessingException {
        java.util.Random random = new java.util.Random(11);
        for (int round = 0; round < 200; round++) {
            java.util.List<PartitionOffset> offsets = new java.util.ArrayList<>();
            for (int i = random.nextInt(4); i > 0; i--) {
                offsets.add(PartitionOffset.success(random.nextInt(100_000), random.nextLong() & Long.MAX_VALUE));
            }
            Integer key = random.nextBoolean() ? null : random.nextInt();
            Integer value = random.nextBoolean() ? null : random.nextInt();
            ProduceResponse response = new ProduceResponse(offsets, key, value);
            assertNotNull(response.landedJson(), "all landed: written directly");
            assertEquals(Json.mapper().writeValueAsString(response),
                    new String(response.landedJson(), java.nio.charset.StandardCharsets.UTF_8));
        }
        assertNull(new ProduceResponse(List.of(PartitionOffset.success(0, 1),
                PartitionOffset.failure(ErrorCode.KAFKA_ERROR, "a \"quoted\" reason")), null, null).landedJson(),
                "a failed record's message is escaped by Jackson");
    }

    @Test
    void recordsEndpointAnswersWrittenWithoutJacksonAreWhatJacksonWrites() throws JsonProcessingException {
        java.util.Random random = new java.util.Random(12);
        String[] topics = {"t", "orders.v1-EU_2", "a".repeat(249), "with/slash", null};
        String[] times = {"2026-11-25T16:30:00.123Z", "1970-01-01T00:00:00Z", null};
        for (int round = 0; round < 200; round++) {
            RecordsResponse response = new RecordsResponse(new RecordsResponse.Metadata(
                    topics[random.nextInt(topics.length)], times[random.nextInt(times.length)],
                    random.nextInt(), random.nextBoolean() ? random.nextLong() : Long.MIN_VALUE));
            assertNotNull(response.plainJson(), "plain strings: written directly");
            assertEquals(Json.mapper().writeValueAsString(response), json(response));
        }
        for (String odd : new String[] {"a\"b", "back\\slash", "tab\t", "caf\u00e9", "\u007f"}) {
            RecordsResponse response = new RecordsResponse(new RecordsResponse.Metadata(odd, odd, 0, 0));
            assertNull(response.plainJson(), "a string left to Jackson: " + odd);
            assertEquals(Json.mapper().writeValueAsString(response), json(response));
        }
    }

    @Test
    void produceResponseWithAFailureHasNullPartitionAndOffset() throws JsonProcessingException {
        String error = "Batch containing 1 record(s) expired due to timeout while requesting metadata from brokers for testing-1";
        assertRoundTrip(
                new ProduceResponse(List.of(PartitionOffset.failure(ErrorCode.KAFKA_RETRIABLE_ERROR, error)), null, null),
                "{\"offsets\":[{\"partition\":null,\"offset\":null,\"error_code\":50003,\"error\":\"" + error + "\"}],"
                        + "\"key_schema_id\":null,\"value_schema_id\":null}",
                ProduceResponse.class);
    }

    @Test
    void produceResponseKeepsRecordOrderAndSchemaIds() throws JsonProcessingException {
        assertRoundTrip(
                new ProduceResponse(List.of(
                        PartitionOffset.success(2, 9_000_000_000L),
                        PartitionOffset.failure(ErrorCode.KAFKA_ERROR, "Record too large"),
                        PartitionOffset.success(0, 1)), 3, 4),
                "{\"offsets\":["
                        + "{\"partition\":2,\"offset\":9000000000,\"error_code\":null,\"error\":null},"
                        + "{\"partition\":null,\"offset\":null,\"error_code\":50002,\"error\":\"Record too large\"},"
                        + "{\"partition\":0,\"offset\":1,\"error_code\":null,\"error\":null}],"
                        + "\"key_schema_id\":3,\"value_schema_id\":4}",
                ProduceResponse.class);
    }

    @Test
    void partitionOffsetFactoriesFillTheRightHalf() {
        assertEquals(new PartitionOffset(1, 5L, null, null), PartitionOffset.success(1, 5));
        assertEquals(new PartitionOffset(null, null, 50003, "t"), PartitionOffset.failure(ErrorCode.KAFKA_RETRIABLE_ERROR, "t"));
    }

    @Test
    void errorMessageRoundTrips() throws JsonProcessingException {
        assertRoundTrip(new ErrorMessage(40401, "Topic not found."),
                "{\"error_code\":40401,\"message\":\"Topic not found.\"}", ErrorMessage.class);
        assertRoundTrip(new ErrorMessage(422, "Unrecognized field: receiver"),
                "{\"error_code\":422,\"message\":\"Unrecognized field: receiver\"}", ErrorMessage.class);
    }

    @Test
    void replicaDescriptionRoundTrips() throws JsonProcessingException {
        assertRoundTrip(new ReplicaDescription(1, true, false),
                "{\"broker\":1,\"leader\":true,\"in_sync\":false}", ReplicaDescription.class);
    }

    @Test
    void partitionDescriptionWithReplicasRoundTrips() throws JsonProcessingException {
        assertRoundTrip(
                new PartitionDescription(0, 1, List.of(
                        new ReplicaDescription(1, true, true), new ReplicaDescription(2, false, true))),
                "{\"partition\":0,\"leader\":1,\"replicas\":["
                        + "{\"broker\":1,\"leader\":true,\"in_sync\":true},"
                        + "{\"broker\":2,\"leader\":false,\"in_sync\":true}]}",
                PartitionDescription.class);
    }

    @Test
    void offlinePartitionHasLeaderMinusOne() throws JsonProcessingException {
        assertRoundTrip(new PartitionDescription(3, -1, List.of(new ReplicaDescription(2, false, false))),
                "{\"partition\":3,\"leader\":-1,\"replicas\":[{\"broker\":2,\"leader\":false,\"in_sync\":false}]}",
                PartitionDescription.class);
    }

    @Test
    void topicDescriptionRoundTrips() throws JsonProcessingException {
        Map<String, String> configs = new LinkedHashMap<>();
        configs.put("cleanup.policy", "compact");
        configs.put("retention.ms", "1000");
        assertRoundTrip(
                new TopicDescription("test", configs, List.of(
                        new PartitionDescription(0, 0, List.of(new ReplicaDescription(0, true, true))),
                        new PartitionDescription(1, 0, List.of(new ReplicaDescription(0, true, true))))),
                "{\"name\":\"test\",\"configs\":{\"cleanup.policy\":\"compact\",\"retention.ms\":\"1000\"},"
                        + "\"partitions\":["
                        + "{\"partition\":0,\"leader\":0,\"replicas\":[{\"broker\":0,\"leader\":true,\"in_sync\":true}]},"
                        + "{\"partition\":1,\"leader\":0,\"replicas\":[{\"broker\":0,\"leader\":true,\"in_sync\":true}]}]}",
                TopicDescription.class);
    }

    @Test
    void topicWithoutOverridesHasEmptyConfigs() throws JsonProcessingException {
        assertRoundTrip(new TopicDescription("t", Map.of(), List.of()),
                "{\"name\":\"t\",\"configs\":{},\"partitions\":[]}", TopicDescription.class);
    }

    @Test
    void brokerListRoundTrips() throws JsonProcessingException {
        assertRoundTrip(new BrokerList(List.of(1, 2, 3)), "{\"brokers\":[1,2,3]}", BrokerList.class);
        assertRoundTrip(new BrokerList(List.of()), "{\"brokers\":[]}", BrokerList.class);
    }

    @Test
    void writerForATypeWritesTheSameBytes() throws JsonProcessingException {
        BrokerList brokers = new BrokerList(List.of(0));
        assertEquals(json(brokers), Json.writerFor(BrokerList.class).writeValueAsString(brokers));
    }
}
