package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The body of {@code POST /admin/topics}: what it refuses as it is read, before any setting is converted. */
class AdminTopicsTest {
    private static final Json.BodyReader<AdminTopics.CreateRequest> READER =
            new Json.BodyReader<>(AdminTopics.CreateRequest.class);

    private static AdminTopics.CreateRequest read(String body) {
        return READER.read(body.getBytes(StandardCharsets.UTF_8), EmbeddedFormat.JSON);
    }

    private static String withConfigs(int count) {
        StringBuilder body = new StringBuilder("{\"name\":\"t\",\"configs\":{");
        for (int i = 0; i < count; i++) {
            body.append(i == 0 ? "" : ",").append("\"c").append(i).append("\":1");
        }
        return body.append("}}").toString();
    }

    @Test
    void aBodyWithMoreSettingsThanATopicMayHaveIsRefusedAsItIsRead() {
        RestException e = assertThrows(RestException.class, () -> read(withConfigs(AdminTopics.MAX_CONFIGS + 1)));
        assertEquals(422, e.httpStatus());
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode());
        assertEquals("\"configs\" may hold at most 1000 settings", e.getMessage());
    }

    @Test
    void aTopicWhoseBodyNamesNoPartitionCountGetsOnePartitionAsIbmDocumentsIt() {
        assertEquals(1, read("{\"name\":\"t\"}").partitionsOrDefault(), "not the broker's num.partitions");
        assertEquals(6, read("{\"name\":\"t\",\"partitions\":6}").partitionsOrDefault());
    }

    @Test
    void asManySettingsAsATopicMayHaveAreTaken() {
        AdminTopics.CreateRequest request = read(withConfigs(AdminTopics.MAX_CONFIGS));
        assertEquals(AdminTopics.MAX_CONFIGS, request.kafkaConfigs().size());
        assertEquals("1", request.kafkaConfigs().get("c0"));
    }

    @Test
    void settingsTakeKafkasNames() {
        AdminTopics.CreateRequest request = read("{\"name\":\"t\",\"configs\":{\"retentionMs\":86400000,\"cleanup.policy\":\"compact\"}}");
        assertEquals("86400000", request.kafkaConfigs().get("retention.ms"));
        assertEquals("compact", request.kafkaConfigs().get("cleanup.policy"));
    }

    @Test
    void aSettingGivenTwiceOrNotAValueIsRefusedQuotingAtMostItsStart() {
        RestException twice = assertThrows(RestException.class,
                () -> read("{\"name\":\"t\",\"configs\":{\"retentionMs\":1,\"retention.ms\":2}}").kafkaConfigs());
        assertEquals(422, twice.httpStatus());
        assertEquals("config retention.ms is given twice (under IBM's name and Kafka's)", twice.getMessage());
        String longName = "x".repeat(100_000);
        RestException notAValue = assertThrows(RestException.class,
                () -> read("{\"name\":\"t\",\"configs\":{\"" + longName + "\":null}}").kafkaConfigs());
        assertEquals(422, notAValue.httpStatus());
        assertEquals(true, notAValue.getMessage().length() < 200, "not the whole name: " + notAValue.getMessage().length());
    }
}
