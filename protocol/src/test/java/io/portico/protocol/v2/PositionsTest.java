package io.portico.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code POST …/positions} bodies as Confluent's proxy reads them. */
class PositionsTest {
    private static final Json.BodyReader<Positions> READER = new Json.BodyReader<>(Positions.class);

    private static Positions read(String json) {
        return READER.read(json.getBytes(StandardCharsets.UTF_8), EmbeddedFormat.BINARY);
    }

    private static long at(Object timestamp) {
        String json = timestamp instanceof String s ? "\"" + s + "\"" : String.valueOf(timestamp);
        return read("{\"timestamps\":[{\"topic\":\"t\",\"partition\":0,\"timestamp\":" + json + "}]}")
                .timestamps().get(0).epochMillis();
    }

    @Test
    void aNumberIsSecondsSinceTheEpochAsConfluentsInstantFieldReadsIt() {
        assertEquals(1_733_000_000_000L, at(1_733_000_000L));
        assertEquals(1_733_000_000_500L, at("2024-11-30T20:53:20.500Z"));
        assertEquals(1_733_000_000_500L, at(1733000000.5));
        assertEquals(0L, at(0));
        for (Object bad : List.of(-1, 9_223_372_036_854_776L, "yesterday", "1969-12-31T23:59:59Z")) {
            RestException e = assertThrows(RestException.class, () -> at(bad), String.valueOf(bad));
            assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode());
            assertTrue(e.getMessage().contains("seconds since the epoch"), e.getMessage());
        }
    }

    @Test
    void aBodyWithNothingToSeekIsTaken() {
        assertEquals(List.of(), read("{}").offsets());
        assertEquals(List.of(), read("{\"offsets\":[],\"timestamps\":[]}").timestamps());
    }

    @Test
    void aTimestampIsAnInstantOrSecondsFrom1970On() {
        assertEquals(1_764_583_200_000L, new Positions.Timestamp("t", 0, "2025-12-01T10:00:00Z", null).epochMillis());
        assertEquals(0L, new Positions.Timestamp("t", 0, "1970-01-01T00:00:00Z", null).epochMillis());
        assertEquals(42_000L, new Positions.Timestamp("t", 0, 42, null).epochMillis());
        assertEquals(1_500L, new Positions.Timestamp("t", 0, 1.5, null).epochMillis());
    }

    @Test
    void aTimeKafkaCannotLookUpIs422BeforeAnyPartitionMoves() {
        // Kafka's offsetsForTimes refuses a time before 1970 (a 500 once it got there, after the
        // request's offsets had moved); an instant too far off for milliseconds overflows.
        for (Object t : new Object[] {"1969-12-31T23:59:59Z", "-0001-01-01T00:00:00Z", "+1000000000-01-01T00:00:00Z",
            -1, -1L, "yesterday", -0.5, Long.MAX_VALUE}) {
            RestException e = assertThrows(RestException.class, () -> new Positions.Timestamp("t", 0, t, null),
                    String.valueOf(t));
            assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode(), String.valueOf(t));
        }
    }
}
