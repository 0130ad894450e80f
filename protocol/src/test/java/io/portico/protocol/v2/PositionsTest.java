package io.portico.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import org.junit.jupiter.api.Test;

class PositionsTest {

    @Test
    void aTimestampIsAnInstantOrMillisecondsFrom1970On() {
        assertEquals(1_764_583_200_000L, new Positions.Timestamp("t", 0, "2025-12-01T10:00:00Z", null).epochMillis());
        assertEquals(0L, new Positions.Timestamp("t", 0, "1970-01-01T00:00:00Z", null).epochMillis());
        assertEquals(42L, new Positions.Timestamp("t", 0, 42, null).epochMillis());
    }

    @Test
    void aTimeKafkaCannotLookUpIs422BeforeAnyPartitionMoves() {
        // Kafka's offsetsForTimes refuses a time before 1970 (a 500 once it got there, after the
        // request's offsets had moved); an instant too far off for milliseconds overflows.
        for (Object t : new Object[] {"1969-12-31T23:59:59Z", "-0001-01-01T00:00:00Z", "+1000000000-01-01T00:00:00Z",
            -1, -1L, "yesterday", 1.5}) {
            RestException e = assertThrows(RestException.class, () -> new Positions.Timestamp("t", 0, t, null),
                    String.valueOf(t));
            assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode(), String.valueOf(t));
        }
    }
}
