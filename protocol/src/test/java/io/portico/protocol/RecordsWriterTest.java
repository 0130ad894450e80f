package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RecordsWriterTest {

    private static String binary(List<ConsumedRecord> records, boolean withTopic) {
        return new String(RecordsWriter.write(records, EmbeddedFormat.BINARY, withTopic).toByteArray(), StandardCharsets.US_ASCII);
    }

    @Test
    void binaryRecordsAreWrittenAsTheV1ApiShowsThem() {
        List<ConsumedRecord> records = List.of(
                new ConsumedRecord("t", null, "Kafka".getBytes(StandardCharsets.UTF_8), 0, 0),
                new ConsumedRecord("t", new byte[] {0, (byte) 0xff}, null, 12, 9_876_543_210L),
                new ConsumedRecord("t", new byte[0], new byte[] {1, 2, 3}, 3, 10));
        assertEquals("[{\"key\":null,\"value\":\"S2Fma2E=\",\"partition\":0,\"offset\":0},"
                + "{\"key\":\"AP8=\",\"value\":null,\"partition\":12,\"offset\":9876543210},"
                + "{\"key\":\"\",\"value\":\"AQID\",\"partition\":3,\"offset\":10}]", binary(records, false));
        assertEquals("[{\"topic\":\"orders.eu-1_x\",\"key\":null,\"value\":null,\"partition\":0,\"offset\":1}]",
                binary(List.of(new ConsumedRecord("orders.eu-1_x", null, null, 0, 1)), true));
        assertEquals("[]", binary(List.of(), false));
    }

    @Test
    void v2RecordsOfSeveralTopicsEachNameTheirOwn() {
        // A pattern subscription's read mixes topics, in runs and alternating.
        List<ConsumedRecord> records = List.of(
                new ConsumedRecord("a", null, null, 0, 1, 1_700_000_000_000L, List.of()),
                new ConsumedRecord("a", null, null, 0, 2, 1_700_000_000_001L, List.of()),
                new ConsumedRecord("bb.x", null, new byte[] {7}, 1, 3, 0, List.of()),
                new ConsumedRecord("a", new byte[] {1}, null, 2, 4, 5, List.of()));
        assertEquals("[{\"topic\":\"a\",\"key\":null,\"value\":null,\"partition\":0,\"offset\":1,"
                        + "\"timestamp\":1700000000000},"
                        + "{\"topic\":\"a\",\"key\":null,\"value\":null,\"partition\":0,\"offset\":2,"
                        + "\"timestamp\":1700000000001},"
                        + "{\"topic\":\"bb.x\",\"key\":null,\"value\":\"Bw==\",\"partition\":1,\"offset\":3,"
                        + "\"timestamp\":0},"
                        + "{\"topic\":\"a\",\"key\":\"AQ==\",\"value\":null,\"partition\":2,\"offset\":4,"
                        + "\"timestamp\":5}]",
                new String(RecordsWriter.writeV2(records, EmbeddedFormat.BINARY).toByteArray(), StandardCharsets.US_ASCII));
    }

    @Test
    void v2JsonRecordsCarryTheirHeadersAsBase64() {
        List<ConsumedRecord> records = List.of(new ConsumedRecord("t", "\"k\"".getBytes(StandardCharsets.UTF_8),
                "{\"n\":1}".getBytes(StandardCharsets.UTF_8), 0, 7, 42,
                List.of(new RecordHeader("trace", "abc".getBytes(StandardCharsets.UTF_8)), new RecordHeader("none", null))));
        assertEquals("[{\"topic\":\"t\",\"key\":\"k\",\"value\":{\"n\":1},\"partition\":0,\"offset\":7,"
                        + "\"timestamp\":42,\"headers\":[{\"key\":\"trace\",\"value\":\"YWJj\"},"
                        + "{\"key\":\"none\",\"value\":null}]}]",
                new String(RecordsWriter.writeV2(records, EmbeddedFormat.JSON).toByteArray(), StandardCharsets.UTF_8));
    }

    @Test
    void binaryOutputDecodesToTheSameBytesForEveryLengthAndByte() throws Exception {
        Random random = new Random(42);
        List<ConsumedRecord> records = new ArrayList<>();
        for (int n = 0; n < 300; n++) {
            byte[] value = new byte[n % 70];
            random.nextBytes(value);
            byte[] key = n % 3 == 0 ? null : new byte[n % 5];
            if (key != null) {
                random.nextBytes(key);
            }
            records.add(new ConsumedRecord("topic", key, value, n % 4, n * 1_000_003L));
        }
        JsonNode parsed = Json.mapper().readTree(RecordsWriter.write(records, EmbeddedFormat.BINARY, true).toByteArray());
        assertEquals(records.size(), parsed.size());
        for (int i = 0; i < records.size(); i++) {
            ConsumedRecord r = records.get(i);
            JsonNode n = parsed.get(i);
            assertEquals("topic", n.get("topic").asText());
            assertEquals(r.key() == null, n.get("key").isNull());
            if (r.key() != null) {
                assertEquals(Base64.getEncoder().encodeToString(r.key()), n.get("key").asText());
            }
            assertEquals(Base64.getEncoder().encodeToString(r.value()), n.get("value").asText());
            assertEquals(r.partition(), n.get("partition").asInt());
            assertEquals(r.offset(), n.get("offset").asLong());
        }
    }

    @Test
    void jsonRecordsAreWrittenAsDeepAndLongAsTheRecordsEndpointStoresThem() {
        String deep = "[".repeat(10_000) + "]".repeat(10_000);
        String longNumber = "9".repeat(5_000);
        List<ConsumedRecord> records = List.of(
                new ConsumedRecord("t", longNumber.getBytes(StandardCharsets.UTF_8), deep.getBytes(StandardCharsets.UTF_8), 0, 1));
        assertEquals("[{\"key\":" + longNumber + ",\"value\":" + deep + ",\"partition\":0,\"offset\":1}]",
                new String(RecordsWriter.write(records, EmbeddedFormat.JSON, false).toByteArray(), StandardCharsets.UTF_8));
        String deeper = "[".repeat(10_001) + "]".repeat(10_001); // past what the records endpoint takes
        List<ConsumedRecord> tooDeep = List.of(new ConsumedRecord("t", null, deeper.getBytes(StandardCharsets.UTF_8), 0, 2));
        assertEquals(50002, assertThrows(RestException.class, () -> RecordsWriter.write(tooDeep, EmbeddedFormat.JSON, false))
                .errorCode().code());
    }

    @Test
    void jsonRecordsEmbedTheStoredJsonAndRefuseWhatIsNotJson() {
        List<ConsumedRecord> ok = List.of(new ConsumedRecord("t", "\"k\"".getBytes(StandardCharsets.UTF_8),
                "{\"a\":[1,2]}".getBytes(StandardCharsets.UTF_8), 0, 5));
        assertEquals("[{\"key\":\"k\",\"value\":{\"a\":[1,2]},\"partition\":0,\"offset\":5}]",
                new String(RecordsWriter.write(ok, EmbeddedFormat.JSON, false).toByteArray(), StandardCharsets.UTF_8));
        List<ConsumedRecord> bad = List.of(new ConsumedRecord("t", null, "not json".getBytes(StandardCharsets.UTF_8), 0, 6));
        RestException e = assertThrows(RestException.class, () -> RecordsWriter.write(bad, EmbeddedFormat.JSON, false));
        assertEquals(50002, e.errorCode().code());
        // JSON that Jackson would read in another encoding is not JSON once copied as it is.
        for (byte[] value : new byte[][] {"1".getBytes(StandardCharsets.UTF_16LE),
            {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{', '}'}}) {
            List<ConsumedRecord> encoded = List.of(new ConsumedRecord("t", null, value, 0, 7));
            e = assertThrows(RestException.class, () -> RecordsWriter.write(encoded, EmbeddedFormat.JSON, false));
            assertEquals(50002, e.errorCode().code());
            assertTrue(e.getMessage().contains("offset 7"), e.getMessage());
            e = assertThrows(RestException.class, () -> RecordsWriter.writeV2(encoded, EmbeddedFormat.JSON));
            assertEquals(50002, e.errorCode().code());
        }
    }

    @Test
    void numbersAreWrittenAsJavaWritesThem() {
        long[] values = {0, 7, 9, 10, 42, 99, 100, 101, 999, 1000, 65_535, 999_999, 1_000_000, 1_234_567_890,
            Integer.MAX_VALUE, Integer.MAX_VALUE + 1L, 9_999_999_999L, 10_000_000_000L, 123_456_789_012_345_678L,
            Long.MAX_VALUE - 1, Long.MAX_VALUE, -1, -123, Long.MIN_VALUE};
        for (long v : values) {
            byte[] out = new byte[24];
            int end = BinaryRecords.number(out, 2, v);
            assertEquals(Long.toString(v), new String(out, 2, end - 2, StandardCharsets.US_ASCII));
        }
        java.util.Random random = new java.util.Random(7);
        for (int n = 0; n < 10_000; n++) {
            long v = random.nextLong() >>> random.nextInt(64);
            byte[] out = new byte[20];
            int end = BinaryRecords.number(out, 0, v);
            assertEquals(Long.toString(v), new String(out, 0, end, StandardCharsets.US_ASCII));
        }
    }

    @Test
    void digitCountsAreExact() {
        for (long v : new long[] {0, 9, 10, 99, 100, 999_999, 1_000_000, 999_999_999_999_999_999L,
            1_000_000_000_000_000_000L, Long.MAX_VALUE, -1, -10, Long.MIN_VALUE}) {
            assertEquals(Long.toString(v).length(), BinaryRecords.digits(v), Long.toString(v));
        }
        // Where the count changes (powers of ten) and where the bit length does (powers of two).
        long ten = 1;
        for (int d = 0; d <= 18; d++, ten *= 10) { // 10^0 to 10^18
            for (long v : new long[] {ten - 1, ten, ten + 1}) {
                assertEquals(Long.toString(v).length(), BinaryRecords.digits(v), Long.toString(v));
            }
        }
        for (int bit = 0; bit < 63; bit++) {
            for (long v : new long[] {(1L << bit) - 1, 1L << bit, (1L << bit) + 1}) {
                assertEquals(Long.toString(v).length(), BinaryRecords.digits(v), Long.toString(v));
                assertEquals(Long.toString(-v).length(), BinaryRecords.digits(-v), Long.toString(-v));
            }
        }
        java.util.Random random = new java.util.Random(11);
        for (int n = 0; n < 100_000; n++) {
            long v = random.nextLong() >> random.nextInt(64);
            assertEquals(Long.toString(v).length(), BinaryRecords.digits(v), Long.toString(v));
        }
    }
}
