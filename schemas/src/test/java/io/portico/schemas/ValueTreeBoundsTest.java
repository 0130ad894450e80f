package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import io.portico.protocol.RestException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Values a schema format builds in memory whole before serializing them (a JSON Schema value's
 * tree, protobuf's JSON parser's tree, avro's datum where its JSON decoder reads the value) are
 * refused past {@link JsonTokens#MAX} tokens, before any tree is built; a value of that many
 * tokens is taken. A registry's answer is read only within {@link RegistryClient#MAX_ANSWER_TOKENS}.
 */
class ValueTreeBoundsTest {
    /** A JSON array of zeros of exactly {@code tokens} tokens, brackets included. */
    private static byte[] zeros(int tokens) {
        StringBuilder json = new StringBuilder(2 * tokens).append('[');
        for (int i = 0; i < tokens - 2; i++) {
            json.append(i == 0 ? "0" : ",0");
        }
        return json.append(']').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void assertRefusedForItsTokens(Runnable encode) {
        ParsedSchema.InvalidDataException e = assertThrows(ParsedSchema.InvalidDataException.class, encode::run);
        assertTrue(e.getMessage().contains("more than 1,000,000 JSON tokens"), e.getMessage());
    }

    @Test
    void aJsonSchemaValueOfMoreTokensThanTheBoundIsRefusedBeforeItsTreeIsBuilt() {
        ParsedSchema array = SchemaService.parse(SchemaType.JSON, "{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}");
        byte[] most = zeros(JsonTokens.MAX);
        assertArrayEquals(most, array.encode(most), "as many tokens as the bound");
        assertRefusedForItsTokens(() -> array.encode(zeros(JsonTokens.MAX + 1)));
        assertRefusedForItsTokens(() -> array.check(zeros(JsonTokens.MAX + 1), true));
    }

    @Test
    void aProtobufValueOfMoreTokensThanTheBoundIsRefusedBeforeItsTreeIsBuilt() {
        ParsedSchema list = SchemaService.parse(SchemaType.PROTOBUF,
                "syntax = \"proto3\";\nmessage L {\n  repeated int32 xs = 1;\n}\n");
        byte[] inner = zeros(JsonTokens.MAX - 3); // {"xs":[…]}: 3 tokens more
        byte[] most = ("{\"xs\":" + new String(inner, StandardCharsets.US_ASCII) + "}").getBytes(StandardCharsets.US_ASCII);
        list.encode(most); // as many tokens as the bound
        byte[] over = ("{\"xs\":" + new String(zeros(JsonTokens.MAX - 2), StandardCharsets.US_ASCII) + "}")
                .getBytes(StandardCharsets.US_ASCII);
        assertRefusedForItsTokens(() -> list.encode(over));
    }

    @Test
    void anAvroValueReadByAvrosJsonDecoderOfMoreTokensThanTheBoundIsRefusedBeforeItsDatumIsBuilt() {
        AvroFormat ints = (AvroFormat) SchemaService.parse(SchemaType.AVRO, "{\"type\":\"array\",\"items\":\"int\"}");
        ints.throughAvro(zeros(JsonTokens.MAX));
        assertRefusedForItsTokens(() -> ints.throughAvro(zeros(JsonTokens.MAX + 1)));
        // Through encode too: maps of two entries are left to avro's decoder.
        AvroFormat maps = (AvroFormat) SchemaService.parse(SchemaType.AVRO,
                "{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":\"int\"}}");
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < JsonTokens.MAX / 6 + 1; i++) {
            json.append(i == 0 ? "" : ",").append("{\"a\":0,\"b\":0}");
        }
        byte[] over = json.append(']').toString().getBytes(StandardCharsets.US_ASCII);
        assertRefusedForItsTokens(() -> maps.encode(over));
    }

    @Test
    void aRegistryAnswerOfMoreTokensThanAnAnswerHasIsTheRegistrysFailure() throws IOException {
        String schema = Json.mapper().getNodeFactory().textNode("\"int\"").toString();
        StringBuilder padding = new StringBuilder();
        for (int i = 0; i < RegistryClient.MAX_ANSWER_TOKENS; i++) {
            padding.append(i == 0 ? "{}" : ",{}");
        }
        String answer = "{\"schema\":" + schema + ",\"padding\":[" + padding + "]}";
        try (StubRegistry registry = new StubRegistry(path -> new StubRegistry.Answer(200, answer))) {
            RestException e = assertThrows(RestException.class,
                    () -> registry.service().ofId(EmbeddedFormat.AVRO, 7));
            assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, e.errorCode(), e.getMessage());
            assertTrue(e.getMessage().contains("more than 10000 JSON tokens"), e.getMessage());
        }
        String small = "{\"schema\":" + schema + ",\"padding\":[{},{},{}]}";
        try (StubRegistry registry = new StubRegistry(path -> new StubRegistry.Answer(200, small))) {
            assertEquals(7, registry.service().ofId(EmbeddedFormat.AVRO, 7).id());
        }
    }

    @Test
    void treesBuiltAtOnceShareOneRoomAndAValueWithoutRoomIs503() {
        java.util.concurrent.Semaphore building = new java.util.concurrent.Semaphore(10);
        byte[] eight = "[1,2,3,4,5,6]".getBytes(java.nio.charset.StandardCharsets.UTF_8); // 8 tokens
        JsonTokens.Room first = JsonTokens.reserve(eight, building, 10);
        io.portico.protocol.RestException full = org.junit.jupiter.api.Assertions.assertThrows(
                io.portico.protocol.RestException.class, () -> JsonTokens.reserve(eight, building, 10));
        org.junit.jupiter.api.Assertions.assertEquals(503, full.httpStatus(), full.getMessage());
        first.close();
        first.close(); // once
        org.junit.jupiter.api.Assertions.assertEquals(10, building.availablePermits());
        byte[] many = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14]".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        JsonTokens.reserve(many, building, 10).close(); // larger than the room: goes on alone, with all of it
        org.junit.jupiter.api.Assertions.assertEquals(10, building.availablePermits());
    }

    @Test
    void anEncodedValueGivesItsRoomBackWhetherItFitsItsSchemaOrNot() {
        ParsedSchema schema = SchemaService.parse(SchemaType.JSON, "{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}");
        int before = JsonTokens.available();
        schema.encode("[1,2,3]".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        org.junit.jupiter.api.Assertions.assertThrows(ParsedSchema.InvalidDataException.class,
                () -> schema.encode("[\"a\"]".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        org.junit.jupiter.api.Assertions.assertEquals(before, JsonTokens.available());
    }

    @Test
    void aValueIsCountedWholeWhateverTheLengthOfItsNumbersAndUnreadableJsonAsTheMostItsBytesHold() {
        // The records endpoint takes numbers of any length, and protobuf's lenient parser builds
        // them: the count must not stop at the first number Jackson's defaults refuse.
        java.util.concurrent.Semaphore building = new java.util.concurrent.Semaphore(1_000);
        byte[] longNumber = ("{\"a\":" + "9".repeat(1_001) + ",\"xs\":[0,0,0,0,0,0,0,0,0,0]}").getBytes(StandardCharsets.UTF_8);
        JsonTokens.Room room = JsonTokens.reserve(longNumber, building, 1_000);
        assertEquals(1_000 - 17, building.availablePermits(), "every token of it");
        room.close();
        byte[] notJson = "{'lenient': [0, 0, 0, 0], }".getBytes(StandardCharsets.UTF_8);
        JsonTokens.reserve(notJson, building, 1_000);
        assertEquals(1_000 - (notJson.length / 2 + 1), building.availablePermits());
    }
}
