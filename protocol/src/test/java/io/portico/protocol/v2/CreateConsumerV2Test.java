package io.portico.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.Json;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code POST /consumers/{group}} bodies in v2, as Confluent's proxy reads them. */
class CreateConsumerV2Test {
    private static final Json.BodyReader<CreateConsumerV2> READER = new Json.BodyReader<>(CreateConsumerV2.class);

    private static CreateConsumerV2 read(String json) {
        return READER.read(json.getBytes(StandardCharsets.UTF_8), EmbeddedFormat.BINARY);
    }

    @Test
    void theDottedNamesAndTheOtherNamesConfluentsProxyTakesMeanTheSame() {
        CreateConsumerV2 dotted = read("{\"name\":\"i\",\"auto.offset.reset\":\"earliest\",\"auto.commit.enable\":\"false\","
                + "\"fetch.min.bytes\":100,\"consumer.request.timeout.ms\":2500}");
        CreateConsumerV2 camel = read("{\"name\":\"i\",\"autoOffsetReset\":\"earliest\",\"autoCommitEnable\":\"false\","
                + "\"responseMinBytes\":100,\"requestWaitMs\":2500}");
        for (CreateConsumerV2 request : new CreateConsumerV2[] {dotted, camel}) {
            assertEquals("earliest", request.autoOffsetReset());
            assertFalse(request.autoCommit());
            assertEquals(100, request.fetchMinBytes());
            assertEquals(2500, request.requestTimeoutMs());
        }
    }
}
