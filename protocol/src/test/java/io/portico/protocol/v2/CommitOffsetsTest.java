package io.portico.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import org.junit.jupiter.api.Test;

class CommitOffsetsTest {

    @Test
    void anOffsetWhoseNextCannotBeCommittedIs422() {
        // The commit stores offset + 1 (the next to read): at Long.MAX_VALUE that overflowed, and
        // Kafka's refusal of the negative result came back as a 500.
        RestException e = assertThrows(RestException.class,
                () -> new CommitOffsets.Entry("t", 0, Long.MAX_VALUE, null));
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode());
        assertEquals(Long.MAX_VALUE - 1, new CommitOffsets.Entry("t", 0, Long.MAX_VALUE - 1, null).offset());
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY,
                assertThrows(RestException.class, () -> new CommitOffsets.Entry("t", 0, -1L, null)).errorCode());
    }
}
