package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServerSentEventsTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(ServerSentEvents.Rendered r) {
        return new String(r.bytes().toByteArray(), StandardCharsets.UTF_8);
    }

    @Test
    void eachBinaryRecordIsOneEventWithItsPositionAsId() {
        List<ConsumedRecord> records = List.of(
                new ConsumedRecord("orders", utf8("k"), utf8("hello"), 2, 41, 1000, List.of()),
                new ConsumedRecord("orders", null, null, 2, 1234567890123L, 1001, List.of()));
        ServerSentEvents.Rendered v1 = ServerSentEvents.v1(records, EmbeddedFormat.BINARY);
        assertEquals("id: orders/2/41\ndata: {\"key\":\"aw==\",\"value\":\"aGVsbG8=\",\"partition\":2,\"offset\":41}\n\n"
                + "id: orders/2/1234567890123\ndata: {\"key\":null,\"value\":null,\"partition\":2,\"offset\":1234567890123}\n\n",
                text(v1));
        assertEquals(2, v1.count());
        assertNull(v1.error());
        ServerSentEvents.Rendered v2 = ServerSentEvents.v2(records.subList(0, 1), EmbeddedFormat.BINARY);
        assertEquals("id: orders/2/41\ndata: {\"topic\":\"orders\",\"key\":\"aw==\",\"value\":\"aGVsbG8=\",\"partition\":2,"
                + "\"offset\":41,\"timestamp\":1000}\n\n", text(v2));
    }

    @Test
    void eventsOfSeveralTopicsAndPartitionsEachCarryTheirOwnPosition() {
        // A consumer instance's stream mixes partitions and topics, and offsets of any length.
        List<ConsumedRecord> records = List.of(
                new ConsumedRecord("a", null, utf8("1"), 0, 9, 1, List.of()),
                new ConsumedRecord("a", null, utf8("2"), 0, 10, 2, List.of()),
                new ConsumedRecord("a", null, utf8("3"), 12, 0, 3, List.of()),
                new ConsumedRecord("bb", utf8("k"), utf8("4"), 12, 1234567890123L, 4, List.of()),
                new ConsumedRecord("a", null, utf8("5"), 0, 99, 5, List.of()),
                new ConsumedRecord(new String("a"), null, null, 1, Long.MAX_VALUE, 6, List.of()));
        StringBuilder v1 = new StringBuilder();
        StringBuilder v2 = new StringBuilder();
        for (ConsumedRecord r : records) {
            String id = "id: " + r.topic() + "/" + r.partition() + "/" + r.offset() + "\ndata: ";
            v1.append(id).append(withoutBrackets(RecordsWriter.write(List.of(r), EmbeddedFormat.BINARY, false))).append("\n\n");
            v2.append(id).append(withoutBrackets(RecordsWriter.writeV2(List.of(r), EmbeddedFormat.BINARY))).append("\n\n");
        }
        assertEquals(v1.toString(), text(ServerSentEvents.v1(records, EmbeddedFormat.BINARY)));
        assertEquals(v2.toString(), text(ServerSentEvents.v2(records, EmbeddedFormat.BINARY)));
        assertTrue(v2.toString().contains("id: a/1/9223372036854775807\ndata: {\"topic\":\"a\",\"key\":null,\"value\":null,"
                + "\"partition\":1,\"offset\":9223372036854775807,\"timestamp\":6}\n\n"), v2.toString());
    }

    private static String withoutBrackets(ByteChunks array) {
        String s = new String(array.toByteArray(), StandardCharsets.UTF_8);
        return s.substring(1, s.length() - 1);
    }

    @Test
    void theDataOfAnEventIsTheRecordAsTheDialectsReadRendersIt() {
        List<ConsumedRecord> records = List.of(
                new ConsumedRecord("t", utf8("1"), utf8("{\"a\":[1,2]}"), 0, 7, 5, List.of(new RecordHeader("h", utf8("x")))),
                new ConsumedRecord("t", null, utf8("\"s\""), 0, 8, 6, List.of()));
        for (EmbeddedFormat f : List.of(EmbeddedFormat.BINARY, EmbeddedFormat.JSON)) {
            String v1 = text(ServerSentEvents.v1(records, f));
            String expected1 = new String(RecordsWriter.write(records, f, false).toByteArray(), StandardCharsets.UTF_8);
            assertEquals(expected1, "[" + dataLines(v1) + "]", f.toString());
            String v2 = text(ServerSentEvents.v2(records, f));
            String expected2 = new String(RecordsWriter.writeV2(records, f).toByteArray(), StandardCharsets.UTF_8);
            assertEquals(expected2, "[" + dataLines(v2) + "]", f.toString());
        }
    }

    /** The data of each event, joined with commas. */
    private static String dataLines(String events) {
        StringBuilder out = new StringBuilder();
        for (String event : events.split("\n\n")) {
            StringBuilder data = new StringBuilder();
            for (String line : event.split("\n")) {
                if (line.startsWith("data: ")) {
                    data.append(data.length() == 0 ? "" : "\n").append(line.substring(6));
                }
            }
            out.append(out.length() == 0 ? "" : ",").append(data);
        }
        return out.toString();
    }

    @Test
    void aValueWithLineBreaksBecomesOneDataLinePerLine() {
        ConsumedRecord pretty = new ConsumedRecord("t", null, utf8("{\n  \"a\": 1\r\n}"), 0, 3, 0, List.of());
        String events = text(ServerSentEvents.v1(List.of(pretty), EmbeddedFormat.JSON));
        assertEquals("id: t/0/3\ndata: {\"key\":null,\"value\":{\ndata:   \"a\": 1\ndata: },\"partition\":0,\"offset\":3}\n\n",
                events);
    }

    @Test
    void aRecordThatCannotBeRenderedStopsTheEventsBeforeIt() {
        List<ConsumedRecord> records = List.of(
                new ConsumedRecord("t", null, utf8("1"), 0, 0, 0, List.of()),
                new ConsumedRecord("t", null, utf8("not json"), 0, 1, 0, List.of()),
                new ConsumedRecord("t", null, utf8("2"), 0, 2, 0, List.of()));
        ServerSentEvents.Rendered r = ServerSentEvents.v1(records, EmbeddedFormat.JSON);
        assertEquals(1, r.count());
        assertEquals("id: t/0/0\ndata: {\"key\":null,\"value\":1,\"partition\":0,\"offset\":0}\n\n", text(r));
        assertEquals(50002, r.error().body().errorCode());
    }

    @Test
    void anErrorEventCarriesTheJsonErrorBody() {
        assertEquals("event: error\ndata: {\"error_code\":40403,\"message\":\"Consumer instance not found.\"}\n\n",
                new String(ServerSentEvents.error(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception().body()),
                        StandardCharsets.UTF_8));
        assertEquals(": a b\n\n", new String(ServerSentEvents.comment("a\nb"), StandardCharsets.US_ASCII));
    }

    @Test
    void onlyAnAcceptThatNamesTheEventStreamAsksForOne() {
        assertTrue(ServerSentEvents.accepted("text/event-stream"));
        assertTrue(ServerSentEvents.accepted("application/json;q=0.5, TEXT/Event-Stream"));
        assertFalse(ServerSentEvents.accepted("*/*"));
        assertFalse(ServerSentEvents.accepted("text/*"));
        assertFalse(ServerSentEvents.accepted(null));
        assertFalse(ServerSentEvents.accepted("text/event-stream;q=0"));
        // A client that prefers the plain read's JSON gets it: a stream would never end its wait.
        assertFalse(ServerSentEvents.accepted("application/vnd.kafka.binary.v1+json, text/event-stream;q=0.1"));
        assertFalse(ServerSentEvents.accepted("*/*, text/event-stream;q=0.1"));
        assertFalse(ServerSentEvents.accepted("text/event-stream;q=0.5, application/json;q=0.9"));
        assertTrue(ServerSentEvents.accepted("application/json, text/event-stream"), "an equal weight: the stream named");
        assertTrue(ServerSentEvents.accepted("*/*;q=0.1, text/event-stream"));
        assertTrue(ServerSentEvents.accepted("text/html, text/event-stream;q=0.5"), "no JSON asked for");
    }

    @Test
    void eventIdsAreParsedBackAndOthersAre400() {
        assertEquals(new ServerSentEvents.EventId("a.b-c", 3, 99), ServerSentEvents.EventId.parse("a.b-c/3/99"));
        assertEquals("a.b-c/3/99", new ServerSentEvents.EventId("a.b-c", 3, 99).toString());
        assertNull(ServerSentEvents.EventId.parse(" "));
        for (String bad : List.of("x", "t/1", "/1/2", "t/-1/2", "t/1/x", "t/1/-5")) {
            RestException e = assertThrows(RestException.class, () -> ServerSentEvents.EventId.parse(bad), bad);
            assertEquals(400, e.httpStatus());
        }
    }
}
