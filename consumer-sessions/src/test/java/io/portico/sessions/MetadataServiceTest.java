package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.portico.protocol.AdminTopics;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The topics of IBM Event Streams' admin API ({@code /admin/topics}) over a fake admin client. */
class MetadataServiceTest {
    private final FakeAdmin fake = new FakeAdmin();
    private final MetadataService service = new MetadataService(fake.admin(), Duration.ofSeconds(5), false);

    private static RestException failure(CompletableFuture<?> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(5, TimeUnit.SECONDS));
        return assertInstanceOf(RestException.class, KafkaErrors.unwrap(e));
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
}
