package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ResponseParserTest {
    private static ResponseParser.Response parse(String s, boolean eof) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        return ResponseParser.parse(b, 0, b.length, eof);
    }

    @Test
    void contentLengthDelimitsTheBody() {
        String head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n";
        assertNull(parse(head + "{", false));
        ResponseParser.Response r = parse(head + "{}", false);
        assertEquals(200, r.status());
        assertEquals("{}", r.bodyText());
        assertEquals(head.length() + 2, r.consumed());
        assertFalse(r.close());
        assertEquals(head.length() + 2, parse(head + "{}HTTP/1.1 200", false).consumed());
    }

    @Test
    void chunkedBodiesAreDecoded() {
        String head = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n";
        assertNull(parse(head + "3\r\nabc\r\n", false));
        assertNull(parse(head + "3\r\nabc\r\n0\r\n", false));
        ResponseParser.Response r = parse(head + "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", false);
        assertEquals(404, r.status());
        assertEquals("abcde", r.bodyText());
    }

    @Test
    void noLengthMeansUntilTheConnectionCloses() {
        String s = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nbusy";
        assertNull(parse(s, false));
        ResponseParser.Response r = parse(s, true);
        assertEquals("busy", r.bodyText());
        assertTrue(r.close());
        assertEquals(204, parse("HTTP/1.1 204 No Content\r\n\r\n", false).status());
        assertThrows(ResponseParser.MalformedResponse.class, () -> parse("garbage garbage\r\n\r\n", false));
    }

    @Test
    void produceAnswersAreCheckedForRecordErrors() {
        byte[] ok = "{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}]}"
                .getBytes(StandardCharsets.UTF_8);
        byte[] bad = "{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null},{\"partition\":null,\"offset\":null,\"error_code\":50002,\"error\":\"x\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        assertFalse(Scripts.hasRecordError(ok, 0, ok.length));
        assertTrue(Scripts.hasRecordError(bad, 0, bad.length));
    }

    @Test
    void readsByOffsetAdvancePastTheLastRecord() {
        AtomicLong read = new AtomicLong();
        Scripts.ByOffset s = new Scripts.ByOffset("t", 1, 10, 13, 1000, "h", read);
        String request = StandardCharsets.ISO_8859_1.decode(s.next()).toString();
        assertTrue(request.startsWith("GET /topics/t/partitions/1/messages?offset=10&count=3 HTTP/1.1\r\n"), request);
        byte[] body = "[{\"key\":null,\"value\":\"QQ==\",\"partition\":1,\"offset\":10},{\"key\":null,\"value\":\"QQ==\",\"partition\":1,\"offset\":11}]"
                .getBytes(StandardCharsets.UTF_8);
        assertTrue(s.onResponse(200, body, 0, body.length));
        assertEquals(2, read.get());
        assertTrue(StandardCharsets.ISO_8859_1.decode(s.next()).toString().contains("offset=12&count=1 "));
        byte[] empty = "[]".getBytes(StandardCharsets.UTF_8);
        assertFalse(s.onResponse(200, empty, 0, empty.length), "no progress is an error");
        byte[] skipped = "[{\"key\":null,\"value\":\"QQ==\",\"partition\":1,\"offset\":13}]".getBytes(StandardCharsets.UTF_8);
        assertFalse(s.onResponse(200, skipped, 0, skipped.length), "records from another offset than asked: an error");
        assertEquals(2, read.get());
    }

    @Test
    void instancesStopOnceEveryPartitionIsReadToItsEnd() {
        Scripts.InstanceProgress p = new Scripts.InstanceProgress(new long[] {2, 1});
        Scripts.Instance s = new Scripts.Instance(Scripts.request("GET", "/x", "h", null, "*/*", null), p, 0);
        byte[] body = "[{\"key\":null,\"value\":\"QQ==\",\"partition\":0,\"offset\":0},{\"key\":null,\"value\":\"QQ==\",\"partition\":1,\"offset\":0}]"
                .getBytes(StandardCharsets.UTF_8);
        assertTrue(s.onResponse(200, body, 0, body.length));
        assertFalse(p.done);
        byte[] more = "[{\"key\":null,\"value\":\"QQ==\",\"partition\":0,\"offset\":1}]".getBytes(StandardCharsets.UTF_8);
        s.onResponse(200, more, 0, more.length);
        assertTrue(p.done);
        assertEquals(3, p.distinct());
        assertNull(s.next());
    }

    @Test
    void instancesSkipValueBytesButCountEveryRecord() {
        Scripts.InstanceProgress p = new Scripts.InstanceProgress(new long[] {3, 2});
        // values of 3 bytes are 4 base64 characters: the search may skip 4 bytes after an offset
        Scripts.Instance s = new Scripts.Instance(Scripts.request("GET", "/x", "h", null, "*/*", null), p, 4);
        byte[] body = ("[{\"key\":null,\"value\":\"QUJD\",\"partition\":0,\"offset\":0},"
                + "{\"key\":null,\"value\":\"QUJD\",\"partition\":1,\"offset\":0},"
                + "{\"key\":\"QQ==\",\"value\":\"QUJD\",\"partition\":0,\"offset\":1},"
                + "{\"key\":null,\"value\":\"QUJD\",\"partition\":0,\"offset\":2},"
                + "{\"key\":null,\"value\":\"QUJD\",\"partition\":1,\"offset\":1}]").getBytes(StandardCharsets.UTF_8);
        assertTrue(s.onResponse(200, body, 0, body.length));
        assertEquals(5, p.delivered.get());
        assertEquals(5, p.distinct());
        assertTrue(p.done);
    }
}
