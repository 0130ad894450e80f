package io.portico.protocol.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.BoundedList;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import org.junit.jupiter.api.Test;

/** The lists of v2 consumer bodies are bounded as they are read: a 16 MiB body is not half a million entries. */
class ListBoundsTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String list(String field, String entry, int n) {
        return "{\"" + field + "\":[" + String.join(",", Collections.nCopies(n, entry)) + "]}";
    }

    @Test
    void eachListTakesAtMostItsBoundAndOneMoreIs422NamingIt() {
        String partition = "{\"topic\":\"t\",\"partition\":0}";
        Json.BodyReader<Partitions> partitions = new Json.BodyReader<>(Partitions.class);
        assertEquals(BoundedList.MAX_ENTRIES, partitions.read(utf8(list("partitions", partition, BoundedList.MAX_ENTRIES)),
                EmbeddedFormat.JSON).partitions().size());
        RestException e = assertThrows(RestException.class, () -> partitions.read(
                utf8(list("partitions", partition, BoundedList.MAX_ENTRIES + 1)), EmbeddedFormat.JSON));
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode());
        assertTrue(e.getMessage().contains("\"partitions\" may hold at most 10000"), e.getMessage());

        Json.BodyReader<Subscription> subscription = new Json.BodyReader<>(Subscription.class);
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, assertThrows(RestException.class, () -> subscription.read(
                utf8(list("topics", "\"t\"", 500_000)), EmbeddedFormat.JSON)).errorCode());
        Json.BodyReader<CommitOffsets> commit = new Json.BodyReader<>(CommitOffsets.class);
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, assertThrows(RestException.class, () -> commit.read(
                utf8(list("offsets", "{\"topic\":\"t\",\"partition\":0,\"offset\":1}", BoundedList.MAX_ENTRIES + 1)),
                EmbeddedFormat.JSON)).errorCode());
        Json.BodyReader<Positions> positions = new Json.BodyReader<>(Positions.class);
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, assertThrows(RestException.class, () -> positions.read(
                utf8(list("offsets", "{\"topic\":\"t\",\"partition\":0,\"offset\":1}", BoundedList.MAX_ENTRIES + 1)),
                EmbeddedFormat.JSON)).errorCode());
    }
}
