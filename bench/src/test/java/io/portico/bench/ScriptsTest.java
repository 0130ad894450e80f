package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ScriptsTest {
    private static Scripts.Fixed fixed(Scripts.Answer answer) {
        ByteBuffer request = Scripts.request("GET", "/", "h", null, null, null);
        return new Scripts.Fixed(new ByteBuffer[] {request}, new HttpLoad.Budget(1), answer, 0);
    }

    private static boolean accepts(Scripts.Fixed script, int status, String body) {
        byte[] bytes = ("xx" + body).getBytes(StandardCharsets.UTF_8);
        return script.onResponse(status, bytes, 2, bytes.length - 2);
    }

    @Test
    void aV3AnswerIsRightOnlyWhenItsReportIsASuccess() {
        Scripts.Fixed v3 = fixed(Scripts.Answer.V3);
        assertTrue(accepts(v3, 200, "{\"error_code\":200,\"cluster_id\":\"c\",\"topic_name\":\"t\",\"partition_id\":0,"
                + "\"offset\":7}\r\n"));
        assertFalse(accepts(v3, 200, "{\"error_code\":40402,\"message\":\"Partition not found.\"}\r\n"));
        assertFalse(accepts(v3, 200, ""));
        assertTrue(accepts(v3, 503, "{\"error_code\":503}"), "a status that is not 2xx is counted by its status");
    }

    @Test
    void aV1AnswerIsWrongWhenARecordHasAnErrorCode() {
        Scripts.Fixed v1 = fixed(Scripts.Answer.V1);
        assertTrue(accepts(v1, 200, "{\"offsets\":[{\"partition\":0,\"offset\":1,\"error_code\":null,\"error\":null}]}"));
        assertFalse(accepts(v1, 200, "{\"offsets\":[{\"partition\":null,\"offset\":null,\"error_code\":50002}]}"));
        assertTrue(accepts(fixed(Scripts.Answer.ANY), 200, "{\"error_code\":50002}"));
    }
}
