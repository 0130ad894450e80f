package io.portico.protocol.v3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.ByteChunks;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.Json;
import io.portico.protocol.RecordHeader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The v3 read's record list: timestamps exactly as {@link Instant#toString} writes them, and base64 keys, values and headers. */
class RecordListWriterTest {

    @Test
    void timestampsAreWrittenAsInstantWritesThem() {
        long[] samples = {0, 1, 5, 10, 120, 999, 1000, 1_764_645_753_000L, 1_764_645_753_120L, 1_764_645_753_007L,
            -1, -999, -1000, -62_167_219_200_000L, 253_402_300_799_999L, 253_402_300_800_000L, Long.MIN_VALUE / 2};
        for (long millis : samples) {
            assertEquals(Instant.ofEpochMilli(millis).toString(), RecordListWriter.timestamp(millis), "at " + millis);
        }
        Random random = new Random(42);
        long base = 1_764_645_753_000L;
        for (int i = 0; i < 10_000; i++) {
            // neighbours share their second (the cached part), and jumps leave it
            long millis = i % 100 == 0 ? random.nextLong() % 300_000_000_000_000L : base + random.nextInt(5_000);
            assertEquals(Instant.ofEpochMilli(millis).toString(), RecordListWriter.timestamp(millis), "at " + millis);
        }
    }

    @Test
    void aJsonValueIsGivenAsJsonOnlyWhenPostingItAgainStoresTheSameBytes() throws Exception {
        List<String> values = List.of("{\"a\":1,\"b\":[true,null,\"caf\u00e9\"],\"n\":1.50}", "{ \"a\": 1 }",
                "\"caf\\u00e9\"", "{\"a\":1}\n", "12", "\"tab\\there\"");
        List<ConsumedRecord> records = new ArrayList<>();
        for (String v : values) {
            records.add(new ConsumedRecord("t", null, v.getBytes(StandardCharsets.UTF_8), 0, records.size(), 0, List.of()));
        }
        byte[] out = RecordListWriter.write("c", "t", records, ProduceRecord.Type.JSON, ProduceRecord.Type.JSON,
                "http://x/self", "http://x/next").toByteArray();
        // Numbers read as written (a tree would make 1.50 1.5 itself), to post the data again as a client would.
        com.fasterxml.jackson.databind.ObjectMapper exact = Json.mapper().copy()
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .configure(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
        JsonNode data = exact.readTree(out).get("data");
        List<String> types = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            JsonNode value = data.get(i).get("value");
            types.add(value.get("type").asText());
            // Posted again as it came: the same bytes are stored.
            RecordStreamParser parser = new RecordStreamParser(1 << 20);
            parser.feed(("{\"value\":" + value + "}").getBytes(StandardCharsets.UTF_8));
            parser.end();
            ProduceRecord again = ((RecordStreamParser.Parsed) parser.next()).record();
            assertEquals(values.get(i), new String(again.valueBytes(), StandardCharsets.UTF_8), "value " + i);
        }
        assertEquals(List.of("JSON", "BINARY", "BINARY", "BINARY", "JSON", "JSON"), types);
    }

    @Test
    void aStringValueWhoseEscapesWouldMoreThanDoubleItComesAsBinary() throws Exception {
        byte[] controls = new byte[300]; // valid UTF-8, each byte a six-byte escape in a string: 6 times its size
        for (int i = 0; i < controls.length; i++) {
            controls[i] = (byte) (i % 8);
        }
        List<String> texts = List.of("plain text", "caf\u00e9 \"quoted\"\n\tline", "{\"k\":\"v\"}", "\"x\"",
                "\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017");
        List<ConsumedRecord> records = new ArrayList<>();
        records.add(new ConsumedRecord("t", null, controls, 0, 0, 0, List.of()));
        for (String t : texts) {
            records.add(new ConsumedRecord("t", null, t.getBytes(StandardCharsets.UTF_8), 0, records.size(), 0, List.of()));
        }
        byte[] out = RecordListWriter.write("c", "t", records, ProduceRecord.Type.STRING, ProduceRecord.Type.STRING,
                "http://x/self", "http://x/next").toByteArray();
        JsonNode data = Json.mapper().readTree(out).get("data");
        assertEquals("BINARY", data.get(0).get("value").get("type").asText());
        assertEquals(Base64.getEncoder().encodeToString(controls), data.get(0).get("value").get("data").asText());
        for (int i = 0; i < 4; i++) { // quotes and line breaks take two bytes each: still text
            assertEquals("STRING", data.get(i + 1).get("value").get("type").asText(), texts.get(i));
            assertEquals(texts.get(i), data.get(i + 1).get("value").get("data").asText());
        }
        assertEquals("BINARY", data.get(5).get("value").get("type").asText(), "controls: six bytes each");
        assertEquals(RecordListWriter.escapedLength(texts.get(1).getBytes(StandardCharsets.UTF_8)),
                Json.mapper().writeValueAsBytes(texts.get(1)).length - 2, "the length Jackson writes");
    }

    @Test
    void binaryKeysValuesAndHeadersComeBackExactly() throws Exception {
        byte[] key = {0, -1, 34, 92, 10};
        byte[] value = new byte[300];
        new Random(7).nextBytes(value);
        ConsumedRecord r = new ConsumedRecord("t", key, value, 2, 41, 1_764_645_753_120L,
                List.of(new RecordHeader("h", new byte[] {1, 2, 3}), new RecordHeader("n", null)));
        byte[] out = RecordListWriter.write("c", "t", List.of(r), ProduceRecord.Type.BINARY, ProduceRecord.Type.BINARY,
                "http://x/self", "http://x/next").toByteArray();
        JsonNode record = Json.mapper().readTree(out).get("data").get(0);
        assertEquals(Base64.getEncoder().encodeToString(key), record.get("key").get("data").asText());
        assertEquals("BINARY", record.get("value").get("type").asText());
        assertEquals(Base64.getEncoder().encodeToString(value), record.get("value").get("data").asText());
        assertEquals("AQID", record.get("headers").get(0).get("value").asText());
        assertEquals("null", record.get("headers").get(1).get("value").toString());
        assertEquals("2025-12-02T03:22:33.120Z", record.get("timestamp").asText());
        assertEquals(new String(out, StandardCharsets.UTF_8), new String(out, StandardCharsets.UTF_8).trim());
    }

    @Test
    void binaryRecordsWithoutHeadersAreWrittenByteForByteAsTheGeneratorWritesThem() {
        Random random = new Random(3);
        List<ConsumedRecord> records = new ArrayList<>();
        long[] timestamps = {1_764_645_753_000L, 1_764_645_753_120L, -1, 0, 253_402_300_800_000L, 1_764_645_753_007L};
        for (int i = 0; i < 3_000; i++) { // past a chunk: more than one array
            byte[] value = i % 7 == 0 ? null : new byte[i % 5 == 0 ? 0 : 1 + random.nextInt(150)];
            if (value != null) {
                random.nextBytes(value);
            }
            byte[] key = i % 3 == 0 ? null : ("k-" + i).getBytes(StandardCharsets.UTF_8);
            records.add(new ConsumedRecord("orders.eu_1", key, value, i % 4, 9_999_990L + i,
                    timestamps[i % timestamps.length], List.of()));
        }
        // URLs and an id that the generator escapes: the list's head and each record's come from it
        String self = "http://h/v3/clusters/c/topics/orders.eu_1/partitions/0/records?offset=0&x=\"q\"\\é";
        String next = "http://h/next?offset=3000\u0001";
        String cluster = "a\"b\\c";
        for (List<ConsumedRecord> some : List.of(records, records.subList(0, 1), List.<ConsumedRecord>of())) {
            ByteChunks fast = RecordListWriter.write(cluster, "orders.eu_1", some, ProduceRecord.Type.BINARY,
                    ProduceRecord.Type.BINARY, self, next);
            ByteChunks generated = RecordListWriter.generated(cluster, "orders.eu_1", some, ProduceRecord.Type.BINARY,
                    ProduceRecord.Type.BINARY, self, next);
            assertEquals(new String(generated.toByteArray(), StandardCharsets.UTF_8),
                    new String(fast.toByteArray(), StandardCharsets.UTF_8), some.size() + " records");
            if (some.size() == 3_000) {
                assertTrue(fast.count() > 1, "one array for " + fast.length() + " bytes");
            }
        }
    }
}
