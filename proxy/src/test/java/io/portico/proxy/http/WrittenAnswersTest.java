package io.portico.proxy.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.portico.protocol.Json;
import io.portico.sessions.MemoryBudget;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A metadata or admin answer is written as JSON off the IO thread, and its bytes count against the responses budget. */
class WrittenAnswersTest {
    @Test
    void anAnswerIsWrittenWhereItIsMadeAndCountedUntilSent() {
        MemoryBudget.Lease room = new MemoryBudget("memory.responses.max.bytes", 1 << 20).lease();
        Map<String, Object> list = Map.of("kind", "KafkaPartitionList", "data", List.of(Map.of("partition_id", 0)));

        Object written = Http.written(list, room);

        Http.RawJson raw = assertInstanceOf(Http.RawJson.class, written);
        byte[] expected = Json.write(list);
        assertEquals(new String(expected, StandardCharsets.UTF_8), new String(raw.body().toByteArray(), StandardCharsets.UTF_8));
        assertEquals(expected.length, room.held(), "counted until the exchange gives it back");
    }

    @Test
    void aReplyKeepsItsStatusAndAnEmptyOneStaysEmpty() {
        MemoryBudget.Lease room = new MemoryBudget("memory.responses.max.bytes", 1 << 20).lease();
        Http.Reply created = assertInstanceOf(Http.Reply.class, Http.written(new Http.Reply(201, Map.of("topic_name", "t")), room));
        assertEquals(201, created.status());
        assertInstanceOf(Http.RawJson.class, created.body());

        Http.Reply empty = new Http.Reply(204, null);
        assertSame(empty, Http.written(empty, room));
        assertNull(empty.body());
    }
}
