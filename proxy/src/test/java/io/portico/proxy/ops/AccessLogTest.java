package io.portico.proxy.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
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

    @Test
    void linesAreInTheCombinedFormatWithTheTimeTaken() {
        long at = Instant.parse("2026-12-02T10:00:00.250Z").toEpochMilli();
        String time = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.US)
                .withZone(ZoneId.systemDefault()).format(Instant.ofEpochMilli(at));
        try (AccessLog log = new AccessLog()) {
            assertEquals("10.1.2.3 - - [" + time + "] \"POST /topics/t?x=1&sse_token=[redacted] HTTP/1.1\" 200 115 "
                            + "\"https://app/\" \"curl/8\" 7ms",
                    log.format(new AccessLog.Entry("10.1.2.3", at, "POST", "/topics/t", "x=1&sse_token=abc", "HTTP/1.1",
                            200, 115, "https://app/", "curl/8", 7)));
            // Nothing sent, no query, no headers, no start time: dashes, as Apache writes them.
            assertEquals("- - - [" + time + "] \"GET / HTTP/2.0\" 204 - \"-\" \"-\" -",
                    log.format(new AccessLog.Entry(null, at + 500, "GET", "/", "", "HTTP/2.0", 204, 0, null, null, -1)));
        }
    }

    @Test
    void aQueuedEntryHoldsAtMostOneLineOfTheClientsCharacters() {
        String longText = "x".repeat(3 * AccessLog.LINE_MAX);
        AccessLog.Entry e = AccessLog.Entry.cut("h", 0, "GET", "/" + longText, "q=" + longText, "HTTP/1.1", 200, 1,
                longText, longText, 1);

        assertEquals(AccessLog.LINE_MAX, e.uri().length() + e.query().length() + e.referer().length()
                + e.userAgent().length(), "four long fields share one line's characters");
        assertEquals(AccessLog.LINE_MAX, e.uri().length(), "in the line's order");
    }

    @Test
    void aLongLineIsCut() {
        try (AccessLog log = new AccessLog()) {
            String line = log.format(new AccessLog.Entry("h", 0, "GET", "/" + "a".repeat(AccessLog.LINE_MAX), "",
                    "HTTP/1.1", 404, 10, null, "u".repeat(AccessLog.LINE_MAX), 1));
            assertEquals(AccessLog.LINE_MAX + 1, line.length());
            assertTrue(line.endsWith("…"));
        }
    }
}
