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
    void credentialsClientsOfOtherGatewaysPutInTheQueryAreNeverLoggedInAnyCase() {
        for (String name : new String[] {"apikey", "ApiKey", "api-key", "API_KEY", "X-Auth-Token", "token", "auth",
                "password", "Passwd", "secret"}) {
            assertEquals("\"GET /topics/t?a=1&" + name + "=[redacted]&b=2 HTTP/1.1\"",
                    AccessLog.redact("\"GET /topics/t?a=1&" + name + "=s3cr3t&b=2 HTTP/1.1\""), name);
        }
        // Names that only begin or end like one are not credentials.
        assertEquals("\"GET /x?tokens=kept&mytoken=kept&key=k HTTP/1.1\"",
                AccessLog.redact("\"GET /x?tokens=kept&mytoken=kept&key=k HTTP/1.1\""));
    }

    @Test
    void aTokenWhoseNameIsPercentEncodedIsRedactedToo() {
        // Undertow decodes parameter names: sse%5Ftoken is the sse_token a stream opens with.
        assertEquals("\"GET /x?sse%5Ftoken=[redacted]&offset=0 HTTP/1.1\"",
                AccessLog.redact("\"GET /x?sse%5Ftoken=abc.1.def&offset=0 HTTP/1.1\""));
        assertEquals("\"GET /x?a=1&%73se_%74oken=[redacted] HTTP/1.1\"",
                AccessLog.redact("\"GET /x?a=1&%73se_%74oken=abc.1.def HTTP/1.1\""));
        assertEquals("\"GET /x?%61pi%5fkey=[redacted] HTTP/1.1\"", AccessLog.redact("\"GET /x?%61pi%5fkey=k HTTP/1.1\""));
        assertEquals("\"GET /x?sse%5Ftokens=kept HTTP/1.1\"", AccessLog.redact("\"GET /x?sse%5Ftokens=kept HTTP/1.1\""));
    }

    @Test
    void aClientsLineBreaksAndQuotesStayInsideTheirField() {
        try (AccessLog log = new AccessLog()) {
            String line = log.format(new AccessLog.Entry("h", 0, "GET", "/", "", "HTTP/2.0", 200, 1, null,
                    "x\n10.0.0.1 - - [01/Dec/2026:00:00:00 +0000] \"DELETE /admin/topics/t HTTP/1.1\" 200\r", 1));
            assertTrue(line.indexOf('\n') < 0 && line.indexOf('\r') < 0, line);
            assertTrue(line.contains("\"x\\x0a10.0.0.1 - - [01/Dec/2026:00:00:00 +0000] \\\"DELETE /admin/topics/t HTTP/1.1\\\" 200\\x0d\" 1ms"),
                    line);
        }
    }

    @Test
    void c1ControlsLineSeparatorsAndBidiControlsAreEscapedToo() {
        try (AccessLog log = new AccessLog()) {
            String line = log.format(new AccessLog.Entry("h", 0, "GET", "/", "", "HTTP/2.0", 200, 1, null,
                    "a\u0085b\u2028c\u202ed\u00e9\u061c", 1));
            assertTrue(line.contains("\"a\\x85b\\u2028c\\u202ed\u00e9\\u061c\""), line); // é is text: kept
        }
    }

    @Test
    void aRequestIsLoggedAtTheTimeItArrived() {
        assertEquals(1_000_000L - 3_600_000L, AccessLog.arrivedAt(1_000_000L, 3_600_000L), "an hour's stream, at its start");
        assertEquals(5L, AccessLog.arrivedAt(5L, -1), "no start time: when it ended");
    }

    @Test
    void theMethodSharesTheLinesCharactersToo() {
        String longText = "x".repeat(3 * AccessLog.LINE_MAX);
        AccessLog.Entry e = AccessLog.Entry.cut("h", 0, longText, "/" + longText, null, "HTTP/2.0", 405, 1, null,
                null, 1);
        assertEquals(AccessLog.LINE_MAX, e.method().length() + e.uri().length());
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

        assertEquals(AccessLog.LINE_MAX, e.method().length() + e.uri().length() + e.query().length()
                + e.referer().length() + e.userAgent().length(), "the long fields share one line's characters");
        assertEquals(AccessLog.LINE_MAX - "GET".length(), e.uri().length(), "in the line's order");
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

    @Test
    void linesWrittenInBatchesAreWhatSlf4jSimpleWritesForThem() throws Exception {
        long at = Instant.parse("2026-12-02T10:00:00.250Z").toEpochMilli();
        AccessLog.Entry entry = new AccessLog.Entry("10.1.2.3", at, "GET", "/topics", "", "HTTP/1.1", 200, 2, null,
                "curl/8", 3);
        java.io.PrintStream stderr = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        String expected;
        try (java.io.PrintStream capture = new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8)) {
            System.setErr(capture);
            try (AccessLog direct = new AccessLog(true)) {
                expected = direct.format(entry);
                org.slf4j.LoggerFactory.getLogger("portico.access").info(expected); // slf4j-simple's own line
                direct.offer(entry);
                direct.offer(entry);
            } // closing drains the queue
        } finally {
            System.setErr(stderr);
        }
        String[] lines = captured.toString(java.nio.charset.StandardCharsets.UTF_8).split(System.lineSeparator());
        assertEquals(3, lines.length, captured.toString(java.nio.charset.StandardCharsets.UTF_8));
        String date = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) ";
        for (String line : lines) {
            assertTrue(line.matches(date + ".*"), line);
            assertEquals(" INFO access - " + expected, line.substring(line.indexOf(' ')), "as slf4j-simple's: " + lines[0]);
        }
        assertEquals(lines[0].substring(lines[0].indexOf(' ')), lines[1].substring(lines[1].indexOf(' ')));
    }

    @Test
    void entriesWaitingForASlowOutputAreBoundedInCharactersNotOnlyInNumber() throws Exception {
        java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.io.PrintStream stderr = System.err;
        java.io.OutputStream stalled = new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws java.io.IOException {
                writing.countDown();
                try {
                    release.await(); // a log shipper that pushes back
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
            }
        };
        String longUri = "/" + "u".repeat(AccessLog.LINE_MAX);
        AccessLog.Entry full = AccessLog.Entry.cut("10.1.2.3", 0, "GET", longUri, null, "HTTP/1.1", 404, 0, null, null, 1);
        try (java.io.PrintStream blocking = new java.io.PrintStream(stalled, true, java.nio.charset.StandardCharsets.UTF_8)) {
            System.setErr(blocking);
            try (AccessLog log = new AccessLog(true)) {
                long queued;
                try {
                    log.offer(full);
                    assertTrue(writing.await(30, java.util.concurrent.TimeUnit.SECONDS), "the writer is held in its first write");
                    for (int i = 0; i < 4_000; i++) { // 8 M characters offered, far within the 16,384 entries
                        log.offer(full);
                    }
                    queued = log.queuedChars();
                } finally {
                    release.countDown(); // before the close, which drains the queue
                }
                assertTrue(queued <= AccessLog.QUEUED_CHARS_MAX, "held: " + queued);
                assertTrue(queued > AccessLog.QUEUED_CHARS_MAX - AccessLog.LINE_MAX, "filled: " + queued);
            }
        } finally {
            release.countDown();
            System.setErr(stderr);
        }
    }

    @Test
    void theDateIsSlf4jSimplesDate() {
        java.text.SimpleDateFormat simple = new java.text.SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        for (String at : java.util.List.of("2026-12-02T10:00:00.250Z", "2026-01-01T00:00:00.007Z", "2027-06-30T23:59:59.999Z")) {
            long millis = Instant.parse(at).toEpochMilli();
            assertEquals(simple.format(new java.util.Date(millis)), AccessLog.SimpleFormat.DATE.format(Instant.ofEpochMilli(millis)));
        }
    }

    @Test
    void linesAreWrittenDirectlyOnlyInTheShippedFormat() throws Exception {
        java.util.Properties shipped = new java.util.Properties();
        try (java.io.InputStream in = AccessLog.class.getClassLoader().getResourceAsStream("simplelogger.properties")) {
            shipped.load(in);
        }
        assertTrue(AccessLog.SimpleFormat.inForce(shipped, k -> null));
        assertTrue(AccessLog.SimpleFormat.shipped(), "the bundled binding, as shipped");
        assertTrue(AccessLog.SimpleFormat.inForce(shipped,
                k -> k.equals("org.slf4j.simpleLogger.log.portico.access") ? "warn" : null), "levels are not format");
        for (String changed : java.util.List.of("showThreadName=true", "logFile=System.out", "levelInBrackets=true",
                "dateTimeFormat=HH:mm:ss", "showDateTime=false", "showShortLogName=false", "showThreadId=true")) {
            String[] kv = changed.split("=");
            assertTrue(!AccessLog.SimpleFormat.inForce(shipped,
                    k -> k.equals("org.slf4j.simpleLogger." + kv[0]) ? kv[1] : null), changed);
        }
        assertTrue(!AccessLog.SimpleFormat.inForce(new java.util.Properties(), k -> null),
                "slf4j-simple's own defaults are not the shipped format");
    }
}
