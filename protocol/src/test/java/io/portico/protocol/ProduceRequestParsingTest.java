package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Produce bodies through {@link Json.BodyReader}, per embedded format, and every way they can be wrong. */
class ProduceRequestParsingTest {

    private static final Json.BodyReader<ProduceRequest> TOPIC = new Json.BodyReader<>(ProduceRequest.class);
    private static final Json.BodyReader<PartitionProduceRequest> PARTITION =
            new Json.BodyReader<>(PartitionProduceRequest.class);

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ProduceRequest binary(String body) {
        return TOPIC.read(utf8(body), EmbeddedFormat.BINARY);
    }

    private static ProduceRequest json(String body) {
        return TOPIC.read(utf8(body), EmbeddedFormat.JSON);
    }

    private static ProduceRecord onlyRecord(ProduceRequest request) {
        assertEquals(1, request.records().size());
        return request.records().get(0);
    }

    private static byte[] jsonValue(String value) {
        return onlyRecord(json("{\"records\":[{\"value\":" + value + "}]}")).value();
    }

    /** Compares bytes; a failure shows the stored bytes as text. */
    private static void assertStoredAs(String expected, byte[] stored) {
        assertArrayEquals(utf8(expected), stored,
                () -> "stored " + (stored == null ? null : new String(stored, StandardCharsets.UTF_8)));
    }

    private static RestException rejected(String body, EmbeddedFormat format) {
        return assertThrows(RestException.class, () -> TOPIC.read(utf8(body), format), body);
    }

    private static RestException rejected(String body) {
        return rejected(body, EmbeddedFormat.BINARY);
    }

    private static void assertRejected(int status, String message, RestException e) {
        assertEquals(status, e.httpStatus(), e.getMessage());
        assertEquals(status, e.body().errorCode(), e.getMessage());
        assertEquals(message, e.getMessage());
    }

    private static void assertNoParserLocation(RestException e) {
        assertFalse(e.getMessage().contains("Source:"), e.getMessage());
        assertFalse(e.getMessage().contains("line:"), e.getMessage());
        assertFalse(e.getMessage().contains("reference chain"), e.getMessage());
    }

    // --- binary embedded format ---

    @Test
    void recordsPastTheBoundAre413AsTheyAreReadNotOnceAllAreBound() {
        String body = "{\"records\":[" + String.join(",", java.util.Collections.nCopies(3, "{\"value\":\"AA==\"}")) + "]}";
        assertEquals(3, TOPIC.read(utf8(body), EmbeddedFormat.BINARY, 3).records().size());
        RestException e = assertThrows(RestException.class, () -> TOPIC.read(utf8(body), EmbeddedFormat.BINARY, 2));
        assertEquals(ErrorCode.PAYLOAD_TOO_LARGE, e.errorCode());
        assertTrue(e.getMessage().contains("produce.records.max"), e.getMessage());
        String partition = "{\"records\":[{\"value\":null},{\"value\":null}]}";
        assertEquals(ErrorCode.PAYLOAD_TOO_LARGE, assertThrows(RestException.class,
                () -> PARTITION.read(utf8(partition), EmbeddedFormat.JSON, 1)).errorCode());
        // Four million records in 16 MiB: refused at the third without binding the rest (the
        // millions bound would take hundreds of MiB).
        byte[] huge = utf8("{\"records\":[" + "{},".repeat(4_000_000) + "{}]}");
        assertEquals(ErrorCode.PAYLOAD_TOO_LARGE, assertThrows(RestException.class,
                () -> TOPIC.read(huge, EmbeddedFormat.BINARY, 2)).errorCode());
        // The shapes the list had before: not an array, a null element.
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, assertThrows(RestException.class,
                () -> binary("{\"records\":{}}")).errorCode());
        assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, assertThrows(RestException.class,
                () -> binary("{\"records\":[null]}")).errorCode());
    }

    @Test
    void binaryValuesAreBase64DecodedByteForByte() {
        ProduceRecord r = onlyRecord(binary("{\"records\":[{\"key\":\"a2V5\",\"value\":\"dmFsdWU=\"}]}"));
        assertArrayEquals(utf8("key"), r.key());
        assertArrayEquals(utf8("value"), r.value());
        assertNull(r.partition());
    }

    @Test
    void binaryValuesMayHoldBytesThatAreNotUtf8() {
        byte[] raw = {(byte) 0xff, (byte) 0xfe, 0x00, (byte) 0x80, (byte) 0xc3, 0x28, 0x7f};
        String b64 = java.util.Base64.getEncoder().encodeToString(raw);
        ProduceRecord r = onlyRecord(binary("{\"records\":[{\"value\":\"" + b64 + "\"}]}"));
        assertArrayEquals(raw, r.value());
    }

    @Test
    void everyByteValueSurvivesBase64Decoding() {
        byte[] raw = new byte[256];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = (byte) i;
        }
        String b64 = java.util.Base64.getEncoder().encodeToString(raw);
        assertArrayEquals(raw, onlyRecord(binary("{\"records\":[{\"value\":\"" + b64 + "\"}]}")).value());
    }

    @Test
    void base64WithoutPaddingIsAccepted() {
        assertArrayEquals(utf8("a"), onlyRecord(binary("{\"records\":[{\"value\":\"YQ\"}]}")).value());
        assertArrayEquals(utf8("ab"), onlyRecord(binary("{\"records\":[{\"value\":\"YWI\"}]}")).value());
        assertArrayEquals(utf8("a"), onlyRecord(binary("{\"records\":[{\"value\":\"YQ==\"}]}")).value());
    }

    @Test
    void emptyBase64IsAnEmptyValueNotANullOne() {
        assertArrayEquals(new byte[0], onlyRecord(binary("{\"records\":[{\"value\":\"\"}]}")).value());
    }

    @Test
    void absentOrNullKeyMeansNoKey() {
        assertNull(onlyRecord(binary("{\"records\":[{\"value\":\"YQ==\"}]}")).key());
        assertNull(onlyRecord(binary("{\"records\":[{\"key\":null,\"value\":\"YQ==\"}]}")).key());
    }

    @Test
    void nullOrAbsentValueIsATombstone() {
        ProduceRecord r = onlyRecord(binary("{\"records\":[{\"key\":\"YQ==\",\"value\":null}]}"));
        assertArrayEquals(utf8("a"), r.key());
        assertNull(r.value());
        assertNull(onlyRecord(binary("{\"records\":[{\"key\":\"YQ==\"}]}")).value());
    }

    @Test
    void explicitPartitionIsKeptAndNullPartitionLetsTheProducerChoose() {
        ProduceRequest request = binary("{\"records\":[{\"value\":\"YQ==\",\"partition\":2},"
                + "{\"value\":\"Yg==\",\"partition\":null},{\"value\":\"Yw==\",\"partition\":0}]}");
        assertEquals(2, request.records().get(0).partition());
        assertNull(request.records().get(1).partition());
        assertEquals(0, request.records().get(2).partition());
        assertArrayEquals(utf8("c"), request.records().get(2).value());
    }

    @Test
    void recordsKeepRequestOrder() {
        ProduceRequest request = binary("{\"records\":[{\"value\":\"YQ==\"},{\"value\":\"Yg==\"},{\"value\":\"Yw==\"}]}");
        assertArrayEquals(utf8("a"), request.records().get(0).value());
        assertArrayEquals(utf8("b"), request.records().get(1).value());
        assertArrayEquals(utf8("c"), request.records().get(2).value());
    }

    @Test
    void schemaFieldsAreAcceptedAndIgnoredOutsideAvro() {
        ProduceRequest request = binary("{\"records\":[{\"value\":\"YQ==\"}],\"value_schema\":null,"
                + "\"key_schema\":null,\"key_schema_id\":null,\"value_schema_id\":null}");
        assertNull(request.valueSchema());
        assertNull(request.keySchema());
        assertNull(request.keySchemaId());
        assertNull(request.valueSchemaId());

        ProduceRequest withIds = binary("{\"records\":[{\"value\":\"YQ==\"}],\"key_schema_id\":1,\"value_schema_id\":2,"
                + "\"value_schema\":\"{\\\"type\\\":\\\"string\\\"}\"}");
        assertEquals(1, withIds.keySchemaId());
        assertEquals(2, withIds.valueSchemaId());
        assertEquals("{\"type\":\"string\"}", withIds.valueSchema());
    }

    @Test
    void invalidBase64ValueIs422WithConfluentsMessage() {
        assertRejected(422, "Record value contains invalid base64 encoding",
                rejected("{\"records\":[{\"value\":\"not base64!\"}]}"));
    }

    @Test
    void invalidBase64KeyIs422WithConfluentsMessage() {
        assertRejected(422, "Record key contains invalid base64 encoding",
                rejected("{\"records\":[{\"key\":\"@@@@\",\"value\":\"YQ==\"}]}"));
    }

    @Test
    void urlSafeBase64IsNotTheStandardAlphabet() {
        assertRejected(422, "Record value contains invalid base64 encoding",
                rejected("{\"records\":[{\"value\":\"__-_\"}]}"));
    }

    @Test
    void nonStringBinaryValueIs422() {
        for (String value : new String[] {"1", "true", "{}", "[]", "{\"a\":1}"}) {
            RestException e = rejected("{\"records\":[{\"value\":" + value + "}]}");
            assertRejected(422, "Record value must be a base64 string or null in the binary embedded format", e);
        }
    }

    @Test
    void nonStringBinaryKeyIs422() {
        assertRejected(422, "Record key must be a base64 string or null in the binary embedded format",
                rejected("{\"records\":[{\"key\":42,\"value\":\"YQ==\"}]}"));
    }

    // --- json embedded format ---

    @Test
    void jsonValuesAreStoredAsCompactJsonText() {
        assertArrayEquals(utf8("{\"foo\":\"bar\"}"), jsonValue("{\"foo\": \"bar\"}"));
        assertArrayEquals(utf8("{\"a\":[1,2,{\"b\":null}],\"c\":true}"),
                jsonValue("{ \"a\" : [ 1 , 2 , { \"b\" : null } ] ,\n \"c\" : true }"));
    }

    @Test
    void jsonStringIsStoredWithItsQuotes() {
        assertArrayEquals(utf8("\"bar\""), jsonValue("\"bar\""));
    }

    @Test
    void jsonNonAsciiTextIsStoredAsUtf8() {
        assertArrayEquals(utf8("\"h\u00e9llo \u20ac\""), jsonValue("\"h\\u00e9llo \u20ac\""));
    }

    @Test
    void jsonNumbersAreStoredAsText() {
        assertArrayEquals(utf8("42"), jsonValue("42"));
        assertArrayEquals(utf8("-7"), jsonValue("-7"));
        assertArrayEquals(utf8("1.5"), jsonValue("1.5"));
        assertArrayEquals(utf8("12345678901234567890"), jsonValue("12345678901234567890"));
    }

    @Test
    void jsonNumbersAreStoredExactlyAsWritten() {
        // No number goes through a double: what the client wrote is what Kafka stores.
        for (String number : new String[] {"1e400", "1234567890123456.78", "0.1000000000000000000000001",
                "1E+2", "1e2", "-0.0", "-0", "1.0", "1.50", "-1e-400", "123456789012345678901234567890",
                "-98765432109876543210987654321.0123456789E-12"}) {
            assertStoredAs(number, jsonValue(number));
        }
    }

    @Test
    void jsonNumbersNestedInObjectsAndArraysAreStoredExactlyAsWritten() {
        assertStoredAs(
                "{\"a\":[1e400,{\"b\":1234567890123456.78}],\"c\":0.1000000000000000000000001,"
                        + "\"d\":[[1E+2,-0.0],\"1e400\",true,null]}",
                jsonValue("{ \"a\" : [ 1e400 , { \"b\" : 1234567890123456.78 } ] ,\n"
                        + " \"c\" : 0.1000000000000000000000001 , \"d\" : [ [ 1E+2 , -0.0 ] , \"1e400\" , true , null ] }"));
    }

    @Test
    void jsonKeysKeepTheirNumbersExactlyToo() {
        ProduceRecord r = onlyRecord(json("{\"records\":[{\"key\":[1e400, 0.10],\"value\":1234567890123456.78}]}"));
        assertStoredAs("[1e400,0.10]", r.key());
        assertStoredAs("1234567890123456.78", r.value());
    }

    @Test
    void jsonStringsThatLookLikeNumbersStayStrings() {
        assertStoredAs("\"1e400\"", jsonValue("\"1e400\""));
        assertStoredAs("{\"1e400\":\"0.10\"}", jsonValue("{ \"1e400\" : \"0.10\" }"));
    }

    @Test
    void jsonArraysAndBooleansAreStoredAsText() {
        assertArrayEquals(utf8("[1,\"two\",null]"), jsonValue("[1, \"two\", null]"));
        assertArrayEquals(utf8("[]"), jsonValue("[ ]"));
        assertArrayEquals(utf8("false"), jsonValue("false"));
    }

    @Test
    void jsonNullStaysNull() {
        assertNull(jsonValue("null"));
        ProduceRecord r = onlyRecord(json("{\"records\":[{\"key\":null}]}"));
        assertNull(r.key());
        assertNull(r.value());
    }

    @Test
    void jsonKeysAreStoredAsJsonTextToo() {
        ProduceRecord r = onlyRecord(json("{\"records\":[{\"key\":\"k\",\"value\":{\"v\":1},\"partition\":1}]}"));
        assertArrayEquals(utf8("\"k\""), r.key());
        assertArrayEquals(utf8("{\"v\":1}"), r.value());
        assertEquals(1, r.partition());
    }

    @Test
    void base64TextIsNotDecodedInTheJsonFormat() {
        assertArrayEquals(utf8("\"YQ==\""), jsonValue("\"YQ==\""));
    }

    @Test
    void sameBodyDecodesPerFormat() {
        String body = "{\"records\":[{\"value\":\"YQ==\"}]}";
        assertArrayEquals(utf8("a"), onlyRecord(binary(body)).value());
        assertArrayEquals(utf8("\"YQ==\""), onlyRecord(json(body)).value());
    }

    // --- body-level errors ---

    @Test
    void emptyBodyIs422() {
        RestException e = assertThrows(RestException.class, () -> TOPIC.read(new byte[0], EmbeddedFormat.BINARY));
        assertEquals(422, e.httpStatus());
        RestException nullBody = assertThrows(RestException.class, () -> TOPIC.read(null, EmbeddedFormat.JSON));
        assertEquals(422, nullBody.httpStatus());
    }

    @Test
    void whitespaceOnlyBodyIs422() {
        assertEquals(422, rejected("   ").httpStatus());
    }

    private static void assertMalformed(String body, EmbeddedFormat format) {
        RestException e = rejected(body, format);
        assertAll(body,
                () -> assertEquals(400, e.httpStatus(), body + " -> " + e.getMessage()),
                () -> assertEquals(400, e.body().errorCode(), body),
                () -> assertTrue(e.getMessage().startsWith("Malformed JSON: "), e.getMessage()),
                () -> assertNoParserLocation(e));
    }

    private static void assertAllMalformed(EmbeddedFormat format, String... bodies) {
        assertAll(Stream.of(bodies).map(body -> () -> assertMalformed(body, format)));
    }

    @Test
    void malformedJsonIs400() {
        assertAllMalformed(EmbeddedFormat.BINARY, "not json", "{records:[]}", "{\"records\":[{\"value\":\"YQ==\"}]}}");
    }

    @Test
    void malformedJsonInsideARecordIs400() {
        assertAllMalformed(EmbeddedFormat.BINARY,
                "{\"records\":[{\"value\":\"YQ==\",}]}",
                "{\"records\":[{\"value\":\"YQ==\"} {\"value\":\"YQ==\"}]}");
    }

    @Test
    void malformedJsonInsideAJsonFormatValueIs400() {
        assertAllMalformed(EmbeddedFormat.JSON, "{\"records\":[{\"value\":{\"a\":}}]}");
    }

    @Test
    void truncatedBodyIs400() {
        assertAllMalformed(EmbeddedFormat.BINARY, "{\"records\":", "{\"records\":[{\"value\"");
        assertAllMalformed(EmbeddedFormat.JSON, "{\"records\":[{\"value\":\"abc");
    }

    @Test
    void endOfInputErrorsDoNotEchoTheParserLocation() {
        // Jackson's own message for an unclosed object or array embeds the parser location; it is cut.
        assertAll(
                () -> assertMalformed("{", EmbeddedFormat.BINARY),
                () -> assertMalformed("{\"records\":[", EmbeddedFormat.BINARY),
                () -> assertMalformed("{\"records\":[{\"value\":\"YQ==\"}]", EmbeddedFormat.BINARY),
                () -> assertMalformed("{\"records\":[{\"value\":\"YQ==\"}", EmbeddedFormat.BINARY),
                () -> assertMalformed("{\"records\":[{\"value\":{\"a\":[1", EmbeddedFormat.JSON));
    }

    @Test
    void bodyTruncatedInsideABinaryValueIsMalformedJsonNotBadBase64() {
        // A JSON syntax error inside a base64 string is malformed JSON (400), not bad base64 (422).
        assertAllMalformed(EmbeddedFormat.BINARY,
                "{\"records\":[{\"value\":\"YQ==",
                "{\"records\":[{\"key\":\"YQ",
                "{\"records\":[{\"value\":\"YQ\\x\"}]}");
    }

    @Test
    void wrongShapeMessagesDoNotNameJavaTypes() {
        // Shape errors say what was expected in JSON terms, never naming Java types.
        assertAll(Stream.of(
                "{\"records\":{\"value\":\"YQ==\"}}",
                "[{\"value\":\"YQ==\"}]",
                "{\"records\":[{\"value\":\"YQ==\",\"partition\":1.5}]}").map(body -> () -> {
                    RestException e = rejected(body);
                    assertEquals(422, e.httpStatus(), body);
                    assertFalse(e.getMessage().contains("io.portico"), e.getMessage());
                    assertFalse(e.getMessage().contains("java."), e.getMessage());
                }));
    }

    @Test
    void unknownTopLevelFieldIs422() {
        assertRejected(422, "Unrecognized field: receiver",
                rejected("{\"records\":[{\"value\":\"YQ==\"}],\"receiver\":\"x\"}"));
    }

    @Test
    void unknownRecordFieldIs422() {
        assertRejected(422, "Unrecognized field: topic",
                rejected("{\"records\":[{\"value\":\"YQ==\",\"topic\":\"t\"}]}"));
        assertRejected(422, "Unrecognized field: topic",
                rejected("{\"records\":[{\"value\":\"YQ==\",\"topic\":\"t\"}]}", EmbeddedFormat.JSON));
    }

    @Test
    void emptyRecordsIs422() {
        assertRejected(422, "records may not be empty", rejected("{\"records\":[]}"));
    }

    @Test
    void missingOrNullRecordsIs422() {
        assertRejected(422, "records may not be empty", rejected("{}"));
        assertRejected(422, "records may not be empty", rejected("{\"records\":null}"));
        assertRejected(422, "records may not be empty", rejected("{\"value_schema\":null}"));
    }

    @Test
    void nullRecordIs422() {
        assertRejected(422, "records may not contain null", rejected("{\"records\":[null]}"));
    }

    @Test
    void negativePartitionIs422() {
        assertRejected(422, "Record partition must not be negative: -1",
                rejected("{\"records\":[{\"value\":\"YQ==\",\"partition\":-1}]}"));
    }

    @Test
    void fractionalPartitionIs422() {
        RestException e = rejected("{\"records\":[{\"value\":\"YQ==\",\"partition\":1.5}]}");
        assertEquals(422, e.httpStatus());
        assertTrue(e.getMessage().startsWith("Invalid value for records[0].partition: "), e.getMessage());
        assertNoParserLocation(e);
    }

    @Test
    void recordsOfTheWrongShapeIs422NamingTheField() {
        RestException e = rejected("{\"records\":{\"value\":\"YQ==\"}}");
        assertEquals(422, e.httpStatus());
        assertTrue(e.getMessage().startsWith("Invalid value for records: "), e.getMessage());
        assertNoParserLocation(e);
    }

    @Test
    void bodyThatIsNotAnObjectIs422() {
        RestException e = rejected("[{\"value\":\"YQ==\"}]");
        assertRejected(422, "Request body must be a JSON object", e);
    }

    @Test
    void recordsAreAnImmutableCopy() {
        List<ProduceRecord> records = new ArrayList<>();
        records.add(new ProduceRecord(null, utf8("a"), null));
        ProduceRequest request = new ProduceRequest(records, null, null, null, null);
        records.clear();
        assertEquals(1, request.records().size());
        assertThrows(UnsupportedOperationException.class, () -> request.records().add(null));
    }

    // --- produce to a partition ---

    @Test
    void partitionProduceRecordsAreBoundToThePathPartition() {
        PartitionProduceRequest request = PARTITION.read(
                utf8("{\"records\":[{\"key\":\"a2V5\",\"value\":\"YQ==\"},{\"value\":null}]}"), EmbeddedFormat.BINARY);
        List<ProduceRecord> bound = request.toPartition(3);
        assertEquals(2, bound.size());
        assertArrayEquals(utf8("key"), bound.get(0).key());
        assertArrayEquals(utf8("a"), bound.get(0).value());
        assertEquals(3, bound.get(0).partition());
        assertNull(bound.get(1).key());
        assertNull(bound.get(1).value());
        assertEquals(3, bound.get(1).partition());
    }

    @Test
    void partitionProduceDecodesTheJsonFormat() {
        PartitionProduceRequest request = PARTITION.read(
                utf8("{\"records\":[{\"key\":1,\"value\":{\"foo\": \"bar\"}}]}"), EmbeddedFormat.JSON);
        ProduceRecord r = request.toPartition(0).get(0);
        assertArrayEquals(utf8("1"), r.key());
        assertArrayEquals(utf8("{\"foo\":\"bar\"}"), r.value());
    }

    @Test
    void partitionFieldInAPartitionProduceIsUnrecognized() {
        RestException e = assertThrows(RestException.class, () -> PARTITION.read(
                utf8("{\"records\":[{\"value\":\"YQ==\",\"partition\":0}]}"), EmbeddedFormat.BINARY));
        assertRejected(422, "Unrecognized field: partition", e);
    }

    @Test
    void emptyPartitionProduceIs422() {
        RestException e = assertThrows(RestException.class,
                () -> PARTITION.read(utf8("{\"records\":[]}"), EmbeddedFormat.BINARY));
        assertRejected(422, "records may not be empty", e);
    }

    @Test
    void invalidBase64InAPartitionProduceIs422() {
        RestException e = assertThrows(RestException.class,
                () -> PARTITION.read(utf8("{\"records\":[{\"key\":\"!\"}]}"), EmbeddedFormat.BINARY));
        assertRejected(422, "Record key contains invalid base64 encoding", e);
    }

    // --- translate ---

    @Test
    void restExceptionsReachTheClientUnchanged() {
        RestException original = ErrorCode.TOPIC_NOT_FOUND.exception();
        assertEquals(original, Json.translate(original));
        assertEquals(original, Json.translate(new IllegalStateException("wrapped", original)));
    }
}
