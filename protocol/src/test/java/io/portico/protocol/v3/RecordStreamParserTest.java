package io.portico.protocol.v3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.RecordHeader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RecordStreamParserTest {

    private static List<RecordStreamParser.Item> parseWhole(String body, int max) {
        RecordStreamParser parser = new RecordStreamParser(max);
        parser.feed(body.getBytes(StandardCharsets.UTF_8));
        parser.end();
        return drain(parser);
    }

    private static List<RecordStreamParser.Item> parseInPieces(byte[] body, int max, Random random) {
        RecordStreamParser parser = new RecordStreamParser(max);
        List<RecordStreamParser.Item> out = new ArrayList<>();
        int at = 0;
        while (at < body.length) {
            int n = Math.min(body.length - at, 1 + random.nextInt(7));
            byte[] chunk = new byte[n + 4];
            System.arraycopy(body, at, chunk, 2, n); // not at the start of its array
            parser.feed(chunk, 2, n);
            out.addAll(drain(parser));
            at += n;
        }
        parser.end();
        out.addAll(drain(parser));
        return out;
    }

    private static List<RecordStreamParser.Item> drain(RecordStreamParser parser) {
        List<RecordStreamParser.Item> out = new ArrayList<>();
        for (RecordStreamParser.Item i; (i = parser.next()) != null; ) {
            out.add(i);
        }
        return out;
    }

    private static ProduceRecord record(RecordStreamParser.Item item) {
        return assertInstanceOf(RecordStreamParser.Parsed.class, item).record();
    }

    private static RecordError invalid(RecordStreamParser.Item item) {
        return assertInstanceOf(RecordStreamParser.Invalid.class, item).error();
    }

    private static String utf8(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] withBom(String body) {
        byte[] text = body.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[text.length + 3];
        out[0] = (byte) 0xEF;
        out[1] = (byte) 0xBB;
        out[2] = (byte) 0xBF;
        System.arraycopy(text, 0, out, 3, text.length);
        return out;
    }

    @Test
    void aByteOrderMarkBeforeTheFirstRecordIsSkippedAndNoRecordIsParsedTwice() {
        // Files saved as UTF-8 by some Windows tools begin with one; Jackson skips it at the start
        // of its input, so a parser started there read the first record in the mark's place too.
        String two = "{\"value\":{\"type\":\"STRING\",\"data\":\"A\"}}{\"value\":{\"type\":\"STRING\",\"data\":\"B\"}}";
        for (String body : List.of(two, "[" + two.replace("}}{", "}},{") + "]")) {
            RecordStreamParser whole = new RecordStreamParser(1 << 20);
            whole.feed(withBom(body));
            whole.end();
            List<RecordStreamParser.Item> items = drain(whole);
            assertEquals(2, items.size(), body);
            assertEquals("A", utf8(record(items.get(0)).valueBytes()));
            assertEquals("B", utf8(record(items.get(1)).valueBytes()));
            for (long seed = 0; seed < 20; seed++) {
                List<RecordStreamParser.Item> pieces = parseInPieces(withBom(body), 1 << 20, new Random(seed));
                assertEquals(List.of("A", "B"), pieces.stream().map(i -> utf8(record(i).valueBytes())).toList(), body);
            }
        }
    }

    @Test
    void aByteOrderMarkPastTheStartIsAnInvalidValueAndTheRecordAfterItIsParsedOnce() {
        String a = "{\"value\":{\"type\":\"STRING\",\"data\":\"A\"}}";
        String b = "{\"value\":{\"type\":\"STRING\",\"data\":\"B\"}}";
        String bom = new String(withBom(""), StandardCharsets.UTF_8);
        // after a good record (the parser goes on reading) and after a bad one (a parser starts afresh at the mark)
        for (String body : List.of(a + bom + b, "{\"value\":7}" + bom + b, a + "\n" + bom + b)) {
            List<RecordStreamParser.Item> items = parseWhole(body, 1 << 20);
            assertEquals("B", utf8(record(items.get(items.size() - 1)).valueBytes()), body);
            assertEquals(1, items.stream().filter(i -> i instanceof RecordStreamParser.Parsed p
                    && "B".equals(utf8(p.record().valueBytes()))).count(), "B once: " + items);
            assertEquals(400, invalid(items.get(items.size() - 2)).errorCode(), "the mark is a value that is no record");
        }
        RecordStreamParser single = new RecordStreamParser(1 << 20).stopAfter(2); // as a keyed request's record is read
        single.feed(withBom(b));
        single.end();
        List<RecordStreamParser.Item> one = drain(single);
        assertEquals(1, one.size(), one.toString());
        assertEquals("B", utf8(record(one.get(0)).valueBytes()), "a single record with a mark before it");
    }

    @Test
    void aBodyThatStartsWithPartOfAByteOrderMarkIsRefused() {
        byte[] body = withBom("{}");
        body[2] = ' ';
        RecordStreamParser parser = new RecordStreamParser(1 << 20);
        parser.feed(body);
        parser.end();
        List<RecordStreamParser.Item> items = drain(parser);
        assertEquals(1, items.size(), items.toString());
        assertInstanceOf(RecordStreamParser.Broken.class, items.get(0));
    }

    @Test
    void aRecordsHeadersCountForTheHeapTheyTakeNotOnlyTheirBytes() {
        List<RecordHeader> empty = java.util.Collections.nCopies(10_000, new RecordHeader("", null));
        ProduceRecord many = new ProduceRecord(null, empty, null, null, null, 0);
        assertTrue(many.payloadBytes() >= 10_000L * 64, "ten thousand empty headers: " + many.payloadBytes());
        ProduceRecord one = new ProduceRecord(null, List.of(new RecordHeader("trace", new byte[100])), null,
                new ProduceRecord.Data(ProduceRecord.Type.BINARY, new byte[1000]), null, 0);
        assertTrue(one.payloadBytes() >= 1105, String.valueOf(one.payloadBytes()));
    }

    @Test
    void stoppedAfterTwoValuesTheRestOfTheBodyIsNeverParsed() {
        byte[] body = "{\"value\":{\"type\":\"STRING\",\"data\":\"a\"}}\n{}".concat("{}".repeat(1_000_000))
                .getBytes(StandardCharsets.UTF_8);
        RecordStreamParser parser = new RecordStreamParser(body.length).stopAfter(2);
        parser.feed(body);
        parser.end();
        List<RecordStreamParser.Item> items = drain(parser);
        assertEquals("a", utf8(record(items.get(0)).valueBytes()));
        assertEquals(2, items.stream().filter(it -> !(it instanceof RecordStreamParser.Broken)).count(),
                "two values, not a million: " + items.size());
    }

    @Test
    void aHeaderNameWithALoneSurrogateIsRefusedForItsRecordAlone() {
        // Kafka's producer would size "\ud800" as four bytes and write it as one: a corrupt batch.
        List<RecordStreamParser.Item> items = parseWhole("""
                {"value":{"type":"STRING","data":"a"},"headers":[{"name":"\\ud800x","value":null}]}
                {"value":{"type":"STRING","data":"b"},"headers":[{"name":"\\udc00","value":null}]}
                {"value":{"type":"STRING","data":"c"},"headers":[{"name":"\\ud83d\\ude00","value":null}]}
                """, 1 << 20);
        assertEquals(3, items.size());
        for (int i = 0; i < 2; i++) {
            RecordError error = assertInstanceOf(RecordStreamParser.Invalid.class, items.get(i)).error();
            assertEquals(400, error.errorCode());
            assertTrue(error.message().contains("lone surrogate"), error.message());
        }
        ProduceRecord paired = assertInstanceOf(RecordStreamParser.Parsed.class, items.get(2)).record();
        assertEquals("\ud83d\ude00", paired.headers().get(0).key(), "a pair is a character like any other");
    }

    @Test
    void whatARecordStillArrivingHoldsIsToldAndCanBeLetGo() {
        RecordStreamParser parser = new RecordStreamParser(1 << 20);
        byte[] whole = ("{\"value\":{\"type\":\"STRING\",\"data\":\"done\"}}\n" + "{}".repeat(100))
                .getBytes(StandardCharsets.UTF_8);
        parser.feed(whole);
        assertEquals(whole.length, parser.bufferedBytes(), "records whole in their chunk hold the chunk (not a "
                + "copy, nor records made of it) until they are asked for");
        assertFalse(parser.inRecord());
        assertEquals("done", utf8(record(parser.next()).valueBytes()));
        assertEquals(whole.length, parser.bufferedBytes(), "a few are parsed at a time: the rest wait in the chunk");
        assertEquals(100, drain(parser).size());
        assertEquals(0, parser.bufferedBytes(), "all taken");
        parser.feed("{\"value\":{\"type\":\"STRING\",\"data\":\"done\"}}\n".getBytes(StandardCharsets.UTF_8));
        parser.feed(("{\"value\":{\"type\":\"STRING\",\"data\":\"" + "x".repeat(100_000)).getBytes(StandardCharsets.UTF_8));
        assertTrue(parser.inRecord());
        assertTrue(parser.bufferedBytes() >= 100_000, "held until its end comes: " + parser.bufferedBytes());
        parser.feed("\"}}".getBytes(StandardCharsets.UTF_8));
        assertFalse(parser.inRecord());
        assertEquals(0, parser.bufferedBytes(), "a large record's buffer is not kept once it ended");
        // ... but the record made of it is held until taken, and told as held.
        assertTrue(parser.parsedBytes() >= 100_000, "parsed and not taken: " + parser.parsedBytes());
        assertEquals(List.of("done", "x".repeat(100_000)), drain(parser).stream().map(i -> utf8(record(i).valueBytes())).toList());
        assertEquals(0, parser.parsedBytes(), "taken");

        parser.feed("{\"value\":{\"type\":\"STRING\",\"data\":\"cut".getBytes(StandardCharsets.UTF_8));
        assertTrue(parser.bufferedBytes() > 0);
        parser.discard();
        assertEquals(0, parser.bufferedBytes());
        assertFalse(parser.inRecord());
        assertTrue(parser.isBroken());
        parser.feed("\"}}".getBytes(StandardCharsets.UTF_8));
        assertNull(parser.next(), "nothing parsed after a discard");
    }

    @Test
    void aChunkFedBeforeTheLastOnesRecordsAreTakenComesAfterThem() {
        RecordStreamParser parser = new RecordStreamParser(1 << 20);
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < 100; i++) {
            first.append("{\"value\":{\"type\":\"STRING\",\"data\":\"a").append(i).append("\"}}");
        }
        parser.feed(first.toString().getBytes(StandardCharsets.UTF_8));
        List<String> values = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            values.add(utf8(record(parser.next()).valueBytes()));
        }
        parser.feed("{\"value\":{\"type\":\"STRING\",\"data\":\"b\"}} 7".getBytes(StandardCharsets.UTF_8));
        parser.end(); // the trailing scalar ends with the body: it comes last
        for (RecordStreamParser.Item item : drain(parser)) {
            values.add(item instanceof RecordStreamParser.Parsed p ? utf8(p.record().valueBytes()) : "invalid");
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            expected.add("a" + i);
        }
        expected.add("b");
        expected.add("invalid");
        assertEquals(expected, values);
    }

    @Test
    void aBreakAfterManyRecordsOfAChunkComesAfterThemAndTheyStayInTheChunkUntilTaken() {
        RecordStreamParser parser = new RecordStreamParser(100);
        byte[] chunk = ("{}".repeat(1000) + "{\"value\":{\"type\":\"STRING\",\"data\":\"" + "x".repeat(200) + "\"}}")
                .getBytes(StandardCharsets.UTF_8);
        parser.feed(chunk);
        assertTrue(parser.isBroken());
        assertEquals(chunk.length, parser.bufferedBytes(), "the records before the break wait unparsed in the chunk");
        List<RecordStreamParser.Item> items = drain(parser);
        assertEquals(1001, items.size());
        for (int i = 0; i < 1000; i++) {
            record(items.get(i));
        }
        assertInstanceOf(RecordStreamParser.Broken.class, items.get(1000));
        assertEquals(0, parser.bufferedBytes());
    }

    @Test
    void binaryDataBeforeItsTypeIsDecodedAsWhenTheTypeComesFirst() {
        List<RecordStreamParser.Item> items = parseWhole("""
                {"value":{"data":"S2Fma2E=","type":"BINARY"}}
                {"value":{"data":"P\\/8=","type":"BINARY"}}
                {"value":{"data":"not base64!","type":"BINARY"}}
                {"value":{"data":17,"type":"BINARY"}}
                """, 1 << 20);
        assertEquals("Kafka", utf8(record(items.get(0)).valueBytes()));
        assertArrayEquals(new byte[] {0x3f, (byte) 0xff}, record(items.get(1)).valueBytes(), "an escaped '/' as JSON reads it");
        assertEquals("Bad Request: data=\"not base64!\" is not a valid base64 string.", invalid(items.get(2)).message());
        assertEquals("Bad Request: data=17 is not a base64 string.", invalid(items.get(3)).message());
    }

    private static final String MIXED = """
            {"value":{"type":"BINARY","data":"S2Fma2E="}}
            {"partition_id":1,"key":{"type":"STRING","data":"k {\\"}"},
             "value":{"data":{"n":1.50,"big":123456789012345678901234567890,"s":"}]"},"type":"JSON"},
             "headers":[{"name":"trace","value":"YWJj"},{"name":"trace","value":null}],
             "timestamp":"2026-12-01T10:15:30.123Z","unknown":{"ignored":[1,2]}}
            {"key":{"type":"JSON","data":null},"value":{"type":"string","data":"é ☃"}}""";

    @Test
    void concatenatedRecordsAreParsedWithEveryField() {
        List<RecordStreamParser.Item> items = parseWhole(MIXED, 1 << 20);
        assertEquals(3, items.size());
        ProduceRecord first = record(items.get(0));
        assertNull(first.key());
        assertNull(first.partitionId());
        assertEquals(ProduceRecord.Type.BINARY, first.value().type());
        assertEquals("Kafka", utf8(first.valueBytes()));

        ProduceRecord second = record(items.get(1));
        assertEquals(1, second.partitionId());
        assertEquals("k {\"}", utf8(second.keyBytes()));
        assertEquals("{\"n\":1.50,\"big\":123456789012345678901234567890,\"s\":\"}]\"}", utf8(second.valueBytes()),
                "json data compact, numbers exactly as sent");
        assertEquals(2, second.headers().size());
        assertEquals("trace", second.headers().get(0).key());
        assertEquals("abc", utf8(second.headers().get(0).value()));
        assertNull(second.headers().get(1).value());
        assertEquals(java.time.Instant.parse("2026-12-01T10:15:30.123Z").toEpochMilli(), second.timestamp());

        ProduceRecord third = record(items.get(2));
        assertEquals(ProduceRecord.Type.JSON, third.key().type());
        assertNull(third.keyBytes(), "null data is a null key");
        assertEquals("é ☃", utf8(third.valueBytes()));
    }

    @Test
    void aRecordMayCarryAtMostTenThousandHeaders() {
        StringBuilder within = new StringBuilder("{\"headers\":[");
        for (int i = 0; i < RecordStreamParser.MAX_HEADERS; i++) {
            within.append(i == 0 ? "" : ",").append("{\"name\":\"\"}");
        }
        String many = within + ",{\"name\":\"\"}]}";
        List<RecordStreamParser.Item> items = parseWhole(within + "]}" + many, 1 << 20);
        assertEquals(RecordStreamParser.MAX_HEADERS, record(items.get(0)).headers().size());
        RecordError refused = invalid(items.get(1));
        assertEquals(400, refused.errorCode());
        assertTrue(refused.message().contains("at most 10000 headers"), refused.message());
    }

    @Test
    void anyChunkingGivesTheSameRecords() {
        byte[] body = MIXED.getBytes(StandardCharsets.UTF_8);
        List<RecordStreamParser.Item> whole = parseWhole(MIXED, 1 << 20);
        for (int seed = 0; seed < 200; seed++) {
            List<RecordStreamParser.Item> pieces = parseInPieces(body, 1 << 20, new Random(seed));
            assertEquals(whole.size(), pieces.size());
            for (int i = 0; i < whole.size(); i++) {
                ProduceRecord a = record(whole.get(i));
                ProduceRecord b = record(pieces.get(i));
                assertArrayEquals(a.keyBytes(), b.keyBytes());
                assertArrayEquals(a.valueBytes(), b.valueBytes());
                assertEquals(a.partitionId(), b.partitionId());
                assertEquals(a.timestamp(), b.timestamp());
                assertEquals(a.headers().size(), b.headers().size());
            }
        }
    }

    @Test
    void aJsonArrayOfRecordsIsAStreamOfItsElements() {
        List<RecordStreamParser.Item> items = parseWhole(
                " [ {\"value\":{\"type\":\"STRING\",\"data\":\"a\"}} ,{\"value\":{\"type\":\"STRING\",\"data\":\"b\"}}]\n",
                1 << 20);
        assertEquals(List.of("a", "b"), items.stream().map(i -> utf8(record(i).valueBytes())).toList());
        List<RecordStreamParser.Item> open = parseWhole("[{\"value\":{\"type\":\"STRING\",\"data\":\"a\"}}", 1 << 20);
        assertEquals(2, open.size());
        assertInstanceOf(RecordStreamParser.Broken.class, open.get(1));
    }

    @Test
    void aBadRecordIsReportedAndTheNextOneStillParsed() {
        List<RecordStreamParser.Item> items = parseWhole("""
                {"value":{"type":"BINARY","data":1}}
                {"value":{"type":"BINARY","data":"not base64!"}}
                {"value":{"type":"STRING","data":{"a":1}}}
                {"value":{"data":"no type"}}
                {"value":{"type":"AVRO","data":{}}}
                {"value":{"type":"XML","data":"<a/>"}}
                {"partition_id":-1}
                {"partition_id":"one"}
                {"value": }
                {"timestamp":1700000000000}
                42
                {"value":{"type":"STRING","data":"fine"}}""", 1 << 20);
        assertEquals(12, items.size());
        assertEquals(new RecordError(400, "Bad Request: data=1 is not a base64 string."), invalid(items.get(0)));
        assertEquals(new RecordError(400, "Bad Request: data=\"not base64!\" is not a valid base64 string."),
                invalid(items.get(1)));
        assertEquals(new RecordError(400, "Bad Request: data={\"a\":1} is not a string."), invalid(items.get(2)));
        RecordError schema = new RecordError(422,
                "Error: 42206 : Payload error. Schema Registry must be configured when using schemas.");
        assertEquals(schema, invalid(items.get(3)));
        assertEquals(schema, invalid(items.get(4)));
        assertTrue(invalid(items.get(5)).message().startsWith("Bad Request: type=XML is not one of"));
        assertEquals(new RecordError(40402, "Partition not found."), invalid(items.get(6)));
        assertEquals(400, invalid(items.get(7)).errorCode());
        RecordError syntax = invalid(items.get(8));
        assertEquals(400, syntax.errorCode());
        assertTrue(!syntax.message().contains("Source"), "no parser source details: " + syntax);
        assertTrue(invalid(items.get(9)).message().contains("ISO-8601"));
        assertTrue(invalid(items.get(10)).message().contains("must be a JSON object"));
        assertEquals("fine", utf8(record(items.get(11)).valueBytes()));
    }

    @Test
    void aPartitionWrittenAsAStringOfDigitsIsTakenAsJacksonTakesItInConfluentsProxy() {
        List<RecordStreamParser.Item> items = parseWhole("""
                {"partition_id":"2","value":{"type":"STRING","data":"a"}}
                {"partition_id":"-1"}
                {"partition_id":"2147483648"}
                {"partition_id":"1.5"}
                {"partition_id":""}""", 1 << 20);
        assertEquals(5, items.size());
        assertEquals(2, record(items.get(0)).partitionId());
        assertEquals(new RecordError(40402, "Partition not found."), invalid(items.get(1)));
        for (int i = 2; i < 5; i++) {
            assertEquals(400, invalid(items.get(i)).errorCode(), "item " + i);
        }
    }

    @Test
    void aRecordOverTheLimitEndsTheStreamWithoutBufferingIt() {
        String small = "{\"value\":{\"type\":\"STRING\",\"data\":\"ok\"}}";
        String big = "{\"value\":{\"type\":\"STRING\",\"data\":\"" + "x".repeat(500) + "\"}}";
        RecordStreamParser parser = new RecordStreamParser(200);
        parser.feed((small + big + small).getBytes(StandardCharsets.UTF_8));
        List<RecordStreamParser.Item> items = drain(parser);
        assertEquals(2, items.size());
        record(items.get(0));
        RecordError error = assertInstanceOf(RecordStreamParser.Broken.class, items.get(1)).error();
        assertEquals(400, error.errorCode());
        assertTrue(error.message().contains("200 bytes"), error.message());
        assertTrue(parser.isBroken());
        parser.feed(small.getBytes(StandardCharsets.UTF_8));
        assertNull(parser.next(), "nothing after the stream broke");
    }

    @Test
    void aBodyEndingInsideARecordEndsTheStream() {
        List<RecordStreamParser.Item> items = parseWhole("{\"value\":{\"type\":\"STRING\",\"data\":\"a\"}} {\"value\":", 1 << 20);
        assertEquals(2, items.size());
        assertEquals(new RecordError(400, "Bad Request: the body ended inside a record"),
                assertInstanceOf(RecordStreamParser.Broken.class, items.get(1)).error());
    }

    @Test
    void anEmptyBodyHasNoItems() {
        RecordStreamParser parser = new RecordStreamParser(100);
        parser.feed(" \n ".getBytes(StandardCharsets.UTF_8));
        parser.end();
        assertNull(parser.next());
        assertTrue(!parser.sawAnything());
    }

    @Test
    void reportsAreConfluentsShape() {
        ProduceRecord r = new ProduceRecord(null, List.of(new RecordHeader("h", null)),
                new ProduceRecord.Data(ProduceRecord.Type.BINARY, new byte[7]), null, null, 10);
        assertEquals("{\"error_code\":200,\"cluster_id\":\"c-1\",\"topic_name\":\"t\",\"partition_id\":1,\"offset\":0,"
                        + "\"timestamp\":\"2021-02-05T19:14:42Z\",\"key\":{\"type\":\"BINARY\",\"size\":7}}",
                new String(DeliveryReports.success("c-1", "t", 1, 0, 1_612_552_482_000L, r), StandardCharsets.UTF_8));
        assertEquals("{\"error_code\":400,\"message\":\"Bad Request: a \\\"quote\\\"\"}",
                new String(DeliveryReports.error(RecordError.badRequest("a \"quote\"")), StandardCharsets.UTF_8));
    }

    @Test
    void theStreamWriterWritesExactlyWhatTheReportSays() {
        DeliveryReports.Writer writer = new DeliveryReports.Writer("c-1", "orders.eu");
        Random random = new Random(7);
        long[] timestamps = {0, 1, 999, 1000, 1_612_552_482_000L, 1_612_552_482_007L, 1_612_552_482_120L,
                253_402_300_799_999L, 253_402_300_800_000L};
        for (int i = 0; i < 2000; i++) {
            ProduceRecord r = new ProduceRecord(null, List.of(),
                    random.nextBoolean() ? null : new ProduceRecord.Data(ProduceRecord.Type.values()[random.nextInt(3)],
                            random.nextBoolean() ? null : new byte[random.nextInt(300)]),
                    random.nextBoolean() ? null : new ProduceRecord.Data(ProduceRecord.Type.JSON, new byte[random.nextInt(5)]),
                    null, 10);
            int partition = random.nextInt(i < 1000 ? 10 : Integer.MAX_VALUE);
            long offset = i < 1000 ? random.nextInt(1000) : random.nextLong() & Long.MAX_VALUE;
            long timestamp = i < timestamps.length ? timestamps[i] : 1_700_000_000_000L + random.nextInt(100_000);
            byte[] expected = DeliveryReports.success("c-1", "orders.eu", partition, offset, timestamp, r);
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(writer.size(r, partition, offset, timestamp));
            writer.write(out, r, partition, offset, timestamp);
            assertEquals(new String(expected, StandardCharsets.UTF_8), new String(out.array(), StandardCharsets.UTF_8));
            assertEquals(0, out.remaining());
        }
    }

    @Test
    void theWordAtATimeScanFindsTheFirstQuoteOrBackslashAsAByteLoopDoes() {
        Random random = new Random(42);
        byte[] alphabet = {'"', '\\', 'A', 'z', '0', '+', '/', '=', (byte) 0xa2, (byte) 0xdc, (byte) 0x80, 0x21, 0x23,
                0x5b, 0x5d, 0x01, (byte) 0xff, 0};
        for (int round = 0; round < 20_000; round++) {
            byte[] b = new byte[1 + random.nextInt(40)];
            for (int k = 0; k < b.length; k++) {
                // mostly plain bytes, so that the one looked for falls anywhere in a word, or nowhere
                b[k] = random.nextInt(12) == 0 ? alphabet[random.nextInt(2)] : alphabet[2 + random.nextInt(alphabet.length - 2)];
            }
            int from = random.nextInt(b.length);
            int to = from + random.nextInt(b.length - from + 1);
            int expected = to;
            for (int k = from; k < to; k++) {
                if (b[k] == '"' || b[k] == '\\') {
                    expected = k;
                    break;
                }
            }
            assertEquals(expected, RecordStreamParser.quoteOrBackslash(b, from, to),
                    java.util.Arrays.toString(b) + " from " + from + " to " + to);
        }
        // An empty range (a record at its size limit scans none): where it starts, never before.
        assertEquals(2, RecordStreamParser.quoteOrBackslash(new byte[] {'a', 'b', 'c'}, 2, 1));
    }
}
