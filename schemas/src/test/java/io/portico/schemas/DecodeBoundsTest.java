package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.junit.jupiter.api.Test;

/**
 * A stored record is shown as JSON within bounds: few bytes may not declare millions of items,
 * and no record is shown as more than {@link ParsedSchema#MAX_JSON_BYTES}; past either it does
 * not decode (the consume side's 50002), never an OutOfMemoryError. Records within them are shown
 * as avro's own reader and JSON encoder show them.
 */
class DecodeBoundsTest {
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private static ParsedSchema.InvalidDataException refused(ParsedSchema schema, byte[] payload) {
        return assertTimeoutPreemptively(PATIENCE, () -> assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.toJson(Framing.frame(1, payload))));
    }

    @Test
    void anAvroBlockOfMillionsOfItemsOfNoBytesIsRefusedBeforeAnyIsBuilt() {
        StringBuilder fields = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            fields.append(i == 0 ? "" : ",").append("{\"name\":\"f").append(i).append("\",\"type\":\"null\"}");
        }
        ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"array\",\"items\":{\"type\":\"record\","
                + "\"name\":\"Nulls\",\"fields\":[" + fields + "]}}");
        // A block of 8,000,000 items (zig-zag 16,000,000 as a varint), then the end: 5 bytes.
        byte[] payload = {(byte) 0x80, (byte) 0xc8, (byte) 0xd0, 0x07, 0};
        ParsedSchema.InvalidDataException e = refused(schema, payload);
        assertTrue(e.getMessage().contains("more items"), e.getMessage());
        // A few of them are shown.
        assertEquals("[{\"f0\":null", new String(schema.toJson(Framing.frame(1, new byte[] {4, 0})),
                StandardCharsets.UTF_8).substring(0, 11));
    }

    /** Bytes this thread allocated while {@code run} ran. */
    private static long allocatedBy(Runnable run) {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(id);
        run.run();
        return threads.getThreadAllocatedBytes(id) - before;
    }

    @Test
    void anAvroStringBytesOrMapKeyDeclaringTwoGiBIsRefusedWithoutMakingRoomForThem() {
        // A length of 2,147,483,639 (zig-zag, five bytes) and nothing after it: avro's own reader
        // makes the 2 GiB array before it finds the bytes missing.
        byte[] huge = {(byte) 0xee, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f};
        byte[] inMap = {2, (byte) 0xee, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f}; // a block of one entry, its key
        for (String[] c : new String[][] {{"\"string\"", "s"}, {"\"bytes\"", "s"},
                {"{\"type\":\"map\",\"values\":\"int\"}", "m"}}) {
            ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, c[0]);
            byte[] payload = c[1].equals("m") ? inMap : huge;
            long allocated = allocatedBy(() -> {
                ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class,
                        () -> schema.toJson(Framing.frame(1, payload)));
                assertTrue(e.getMessage().contains("bytes in a datum of"), c[0] + ": " + e.getMessage());
            });
            assertTrue(allocated < 64L << 20, c[0] + ": " + allocated + " bytes allocated for a record of "
                    + payload.length);
        }
        // Within the datum they are read as before.
        ParsedSchema string = SchemaService.parse(SchemaType.AVRO, "\"string\"");
        assertEquals("\"h\u00e9\"", new String(string.toJson(Framing.frame(1, new byte[] {6, 'h', (byte) 0xc3, (byte) 0xa9})),
                StandardCharsets.UTF_8));
    }

    @Test
    void anAvroRecordShownAsMoreJsonThanTheBoundIsRefused() {
        String symbol = "S".repeat(10_000);
        ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"array\",\"items\":{\"type\":\"enum\","
                + "\"name\":\"Long\",\"symbols\":[\"" + symbol + "\"]}}");
        // 200,000 items of one byte each (symbol 0): 2 GB of JSON.
        byte[] payload = new byte[200_000 + 4];
        payload[0] = (byte) 0x80;
        payload[1] = (byte) 0xb5;
        payload[2] = 0x18; // zig-zag 200,000
        ParsedSchema.InvalidDataException e = refused(schema, payload);
        assertTrue(e.getMessage().contains("more than " + ParsedSchema.MAX_JSON_BYTES + " bytes of JSON"), e.getMessage());
    }

    @Test
    void aLargeRecordOfOrdinaryBytesIsShownPastSixteenMiBOfJson() {
        // 3 MiB of zero bytes (a broker with a raised message.max.bytes takes them): 18 MiB as
        // JSON (\u0000 each), within eight times the record.
        ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, "\"bytes\"");
        int n = 3 << 20;
        byte[] payload = new byte[4 + n];
        int zigzag = n * 2;
        int at = 0;
        while ((zigzag & ~0x7f) != 0) {
            payload[at++] = (byte) ((zigzag & 0x7f) | 0x80);
            zigzag >>>= 7;
        }
        payload[at++] = (byte) zigzag;
        byte[] record = java.util.Arrays.copyOf(payload, at + n);
        byte[] json = assertTimeoutPreemptively(PATIENCE, () -> schema.toJson(Framing.frame(1, record)));
        assertEquals(n * 6 + 2, json.length, "every byte shown");
        assertTrue(json.length > ParsedSchema.MAX_JSON_BYTES);
    }

    @Test
    void aProtobufMessageShownAsMoreJsonThanTheBoundIsRefused() {
        StringBuilder fields = new StringBuilder();
        for (int i = 1; i <= 200; i++) {
            fields.append("int32 field_number_").append(i).append(" = ").append(i).append(";\n");
        }
        ParsedSchema schema = SchemaService.parse(SchemaType.PROTOBUF, "syntax = \"proto3\";\nmessage M { repeated E e = 1; }\n"
                + "message E {\n" + fields + "}\n");
        // 100,000 empty elements (field 1, length 0): 200 KB, each shown with its 200 fields.
        byte[] payload = new byte[1 + 200_000];
        for (int i = 1; i < payload.length; i += 2) {
            payload[i] = 0x0a;
        }
        ParsedSchema.InvalidDataException e = refused(schema, payload);
        assertTrue(e.getMessage().contains("more than " + ParsedSchema.MAX_JSON_BYTES + " bytes of JSON"), e.getMessage());
        String one = new String(schema.toJson(Framing.frame(1, new byte[] {0, 0x0a, 0})), StandardCharsets.UTF_8);
        assertTrue(one.startsWith("{\"e\":[{\"fieldNumber1\":0,"), one);
    }

    /**
     * avro's reader and JSON encoder as Confluent's proxy uses them, the encoder made from the
     * schema of the datum read (a union at the top shows its branch bare): how records were shown
     * before, and what Portico's reader shows.
     */
    private static String throughAvro(Schema schema, byte[] payload) throws Exception {
        Object datum = new GenericDatumReader<>(schema).read(null, DecoderFactory.get().binaryDecoder(payload, null));
        Schema shown = schema.getType() == Schema.Type.UNION
                ? schema.getTypes().get(GenericData.get().resolveUnion(schema, datum)) : schema;
        if (shown.getType() == Schema.Type.RECORD && shown.getFields().isEmpty()) {
            return "{}"; // avro's encoder writes nothing for a record of no fields at the top; Portico shows {}
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonEncoder encoder = EncoderFactory.get().jsonEncoder(shown, out);
        new GenericDatumWriter<>(shown).write(datum, encoder);
        encoder.flush();
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Random schemas and values: shown as avro shows them (maps compared as objects: avro's order is its HashMap's). */
    @Test
    void avroRecordsAreShownAsAvroShowsThem() throws Exception {
        Random random = new Random(20261205);
        int compared = 0;
        for (int round = 0; round < 300; round++) {
            AvroJsonWriterTest.Generator g = new AvroJsonWriterTest.Generator(random);
            String text = g.schema(0);
            Schema schema = new Schema.Parser().parse(text);
            AvroFormat format = AvroFormat.parse(text);
            for (int v = 0; v < 10; v++) {
                g.bigMap = false;
                byte[] payload;
                try {
                    payload = format.throughAvro(g.value(schema, 0, false).getBytes(StandardCharsets.UTF_8));
                } catch (ParsedSchema.InvalidDataException e) {
                    continue; // a map with a key twice, say
                }
                String expected = throughAvro(schema, payload);
                String shown = new String(format.toJson(Framing.frame(1, payload)), StandardCharsets.UTF_8);
                if (g.bigMap) {
                    JsonNode a = Json.mapper().readTree(expected);
                    assertEquals(a, Json.mapper().readTree(shown), text);
                } else {
                    assertEquals(expected, shown, text);
                }
                compared++;
            }
        }
        assertTrue(compared > 2000, "compared: " + compared);
    }
}
