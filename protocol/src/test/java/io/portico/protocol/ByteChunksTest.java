package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ByteChunksTest {
    private static final int MAX = ByteChunks.MAX_CHUNK;

    /** The body as the buffers a write would send, concatenated; asserts no array is past a chunk unless alone. */
    private static byte[] written(ByteChunks chunks) {
        ByteBuffer[] buffers = chunks.buffers();
        assertEquals(chunks.count(), buffers.length);
        byte[] out = new byte[(int) chunks.length()];
        int p = 0;
        for (ByteBuffer b : buffers) {
            int n = b.remaining();
            b.get(out, p, n);
            p += n;
        }
        assertEquals(out.length, p);
        assertArrayEquals(out, chunks.toByteArray());
        return out;
    }

    private static List<ConsumedRecord> records(int count, int valueBytes, long firstOffset) {
        Random random = new Random(7);
        List<ConsumedRecord> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] value = new byte[valueBytes];
            random.nextBytes(value);
            records.add(new ConsumedRecord("orders", i % 3 == 0 ? null : ("k" + i).getBytes(StandardCharsets.UTF_8),
                    value, i % 3, firstOffset + i, 1_700_000_000_000L + i, List.of()));
        }
        return records;
    }

    @Test
    void runsFillChunksWithWholePiecesAndALargePieceStandsAlone() {
        assertEquals(0, ByteChunks.runs(new int[0]).length);
        assertArrayEquals(new int[] {3}, ByteChunks.runs(new int[] {10, 20, 30}));
        int half = MAX / 2;
        // two halves fill a chunk exactly; the third starts the next
        assertArrayEquals(new int[] {2, 3}, ByteChunks.runs(new int[] {half, half, 1}));
        // a piece past a chunk is a run of its own, before and after others
        assertArrayEquals(new int[] {1, 2, 3}, ByteChunks.runs(new int[] {5, MAX + 1, 5}));
        assertArrayEquals(new int[] {1, 2}, ByteChunks.runs(new int[] {MAX * 3, MAX * 3}));
    }

    @Test
    void aBuilderGrowsInArraysNoLargerThanAChunkAndKeepsEveryByte() {
        ByteChunks.Builder out = new ByteChunks.Builder();
        Random random = new Random(11);
        byte[] expected = new byte[3 * MAX + 12_345];
        random.nextBytes(expected);
        int p = 0;
        while (p < expected.length) { // single bytes and runs of any length, across array ends
            if (random.nextInt(4) == 0) {
                out.write(expected[p++]);
            } else {
                int n = Math.min(expected.length - p, random.nextInt(MAX / 3));
                out.write(expected, p, n);
                p += n;
            }
        }
        ByteChunks chunks = out.build();
        assertEquals(expected.length, chunks.length());
        assertTrue(chunks.count() > 3, "more than three arrays: " + chunks.count());
        for (ByteBuffer b : chunks.buffers()) {
            assertTrue(b.remaining() <= MAX && b.array().length <= MAX, "an array of " + b.array().length);
        }
        assertArrayEquals(expected, written(chunks));
        assertEquals(0, new ByteChunks.Builder().build().length());
        assertEquals(0, new ByteChunks.Builder().build().count());
    }

    @Test
    void buffersAreFreshEachTimeSoABodyCanBeWrittenTwice() {
        ByteChunks.Builder out = new ByteChunks.Builder(100);
        out.writeBytes("hello, ".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes("world".getBytes(StandardCharsets.US_ASCII));
        ByteChunks chunks = out.build();
        ByteBuffer[] first = chunks.buffers();
        for (ByteBuffer b : first) {
            b.position(b.limit()); // as a write leaves them
        }
        assertEquals("hello, world", new String(written(chunks), StandardCharsets.US_ASCII));
    }

    @Test
    void aLargeBinaryReadIsWrittenInChunksOfWholeRecordsThatJoinIntoTheSameArray() throws Exception {
        List<ConsumedRecord> records = records(5_000, 100, 9_999_990L);
        ByteChunks chunks = RecordsWriter.write(records, EmbeddedFormat.BINARY, false);
        assertTrue(chunks.count() > 1, "one array for " + chunks.length() + " bytes");
        for (ByteBuffer b : chunks.buffers()) {
            assertTrue(b.remaining() <= MAX, "an array of " + b.remaining());
            byte last = b.get(b.limit() - 1);
            assertTrue(last == '}' || last == ']', "an array ends inside a record: " + (char) last);
        }
        JsonNode parsed = Json.mapper().readTree(written(chunks));
        assertEquals(records.size(), parsed.size());
        for (int i = 0; i < records.size(); i++) {
            ConsumedRecord r = records.get(i);
            JsonNode n = parsed.get(i);
            assertEquals(r.offset(), n.get("offset").asLong());
            assertEquals(r.partition(), n.get("partition").asInt());
            assertArrayEquals(r.value(), n.get("value").binaryValue());
            assertEquals(r.key() == null, n.get("key").isNull());
        }
        // v2's shape, chunked the same way
        JsonNode v2 = Json.mapper().readTree(written(RecordsWriter.writeV2(records, EmbeddedFormat.BINARY)));
        assertEquals(records.size(), v2.size());
        assertEquals("orders", v2.get(4_999).get("topic").asText());
        assertEquals(records.get(4_999).timestamp(), v2.get(4_999).get("timestamp").asLong());
    }

    @Test
    void aRecordLargerThanAChunkIsAnArrayOfItsOwn() throws Exception {
        List<ConsumedRecord> records = new ArrayList<>(records(3, 10, 0));
        byte[] big = new byte[MAX];
        Arrays.fill(big, (byte) 'x');
        records.add(1, new ConsumedRecord("orders", null, big, 0, 100));
        ByteChunks chunks = RecordsWriter.write(records, EmbeddedFormat.BINARY, false);
        assertEquals(3, chunks.count()); // before, the large one, after
        JsonNode parsed = Json.mapper().readTree(written(chunks));
        assertEquals(4, parsed.size());
        assertArrayEquals(big, parsed.get(1).get("value").binaryValue());
    }

    @Test
    void eventsAreWrittenInChunksOfWholeEvents() {
        List<ConsumedRecord> records = records(4_000, 100, 0);
        ServerSentEvents.Rendered r = ServerSentEvents.v1(records, EmbeddedFormat.BINARY);
        assertTrue(r.bytes().count() > 1);
        for (ByteBuffer b : r.bytes().buffers()) {
            assertTrue(b.remaining() <= MAX);
            String text = new String(b.array(), b.position(), b.remaining(), StandardCharsets.US_ASCII);
            assertTrue(text.startsWith("id: orders/") && text.endsWith("}\n\n"), "an array of partial events");
        }
        String all = new String(written(r.bytes()), StandardCharsets.US_ASCII);
        String[] events = all.split("\n\n");
        assertEquals(records.size(), events.length);
        assertTrue(events[3_999].startsWith("id: orders/0/3999\ndata: {"), events[3_999]);
    }
}
