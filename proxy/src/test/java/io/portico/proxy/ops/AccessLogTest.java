package io.portico.proxy.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class AccessLogTest {
    @Test
    void streamTokensInTheQueryAreNeverLogged() {
        assertEquals("127.0.0.1 - - [02/Dec/2026:10:00:00 +0000] \"GET /topics/t/partitions/0/messages?offset=0&sse_token=[redacted] HTTP/1.1\" 200",
                AccessLog.redact("127.0.0.1 - - [02/Dec/2026:10:00:00 +0000] \"GET /topics/t/partitions/0/messages?offset=0&sse_token=bmFtZQ.1764669600000.c2ln HTTP/1.1\" 200"));
        assertEquals("\"GET /consumers/g/instances/i/records?sse_token=[redacted]&last_event_id=t/0/4 HTTP/1.1\"",
                AccessLog.redact("\"GET /consumers/g/instances/i/records?sse_token=abc.1.def&last_event_id=t/0/4 HTTP/1.1\""));
        assertEquals("\"GET /x?access_token=[redacted] HTTP/1.1\"", AccessLog.redact("\"GET /x?access_token=secret HTTP/1.1\""));
        assertEquals("\"GET /topics?a=b HTTP/1.1\"", AccessLog.redact("\"GET /topics?a=b HTTP/1.1\""));
    }
}
