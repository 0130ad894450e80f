package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Base64 keys and values of the binary embedded format: which strings decode (standard alphabet,
 * padding optional, line breaks anywhere), which are a 422 and which a 400, and what decoding a
 * large value costs. Values are written into bodies as JSON string content, escapes and all.
 */
class BinaryValueDecodingTest {

    private static final Json.BodyReader<ProduceRequest> TOPIC = new Json.BodyReader<>(ProduceRequest.class);
    private static final Base64.Encoder BASE64 = Base64.getEncoder();

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] body(String stringContent) {
        return utf8("{\"records\":[{\"key\":\"a2V5\",\"value\":\"" + stringContent + "\",\"partition\":0}]}");
    }

    private static ProduceRecord onlyRecord(byte[] body) {
        ProduceRequest request = TOPIC.read(body, EmbeddedFormat.BINARY);
        assertEquals(1, request.records().size());
        return request.records().get(0);
    }

    private static byte[] decoded(String stringContent) {
        ProduceRecord r = onlyRecord(body(stringContent));
        assertArrayEquals(utf8("key"), r.key(), stringContent);
        assertEquals(0, r.partition(), stringContent);
        return r.value();
    }

    private static RestException rejected(String stringContent) {
        return assertThrows(RestException.class, () -> TOPIC.read(body(stringContent), EmbeddedFormat.BINARY),
                stringContent);
    }

    private static void assertInvalidBase64(String... stringContents) {
        assertAll(Stream.of(stringContents).map(s -> () -> {
            RestException e = rejected(s);
            assertEquals(422, e.httpStatus(), s);
            assertEquals("Record value contains invalid base64 encoding", e.getMessage(), s);
        }));
    }

    private static void assertDecodes(String expected, String... stringContents) {
        assertAll(Stream.of(stringContents).map(s -> () -> assertArrayEquals(utf8(expected), decoded(s), s)));
    }

    private static byte[] randomBytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** base64 as {@code base64(1)} writes it: lines of 76 characters, each ended by {@code lineEnd}. */
    private static String wrapped(byte[] data, String lineEnd) {
        String b64 = BASE64.encodeToString(data);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < b64.length(); i += 76) {
            sb.append(b64, i, Math.min(b64.length(), i + 76)).append(lineEnd);
        }
        return sb.toString();
    }

    // --- accepted ---

    @Test
    void paddingIsOptional() {
        for (int length = 0; length <= 10; length++) {
            byte[] data = randomBytes(length, length);
            String padded = BASE64.encodeToString(data);
            String unpadded = Base64.getEncoder().withoutPadding().encodeToString(data);
            assertArrayEquals(data, decoded(padded), padded);
            assertArrayEquals(data, decoded(unpadded), unpadded);
        }
    }

    @Test
    void emptyStringIsAnEmptyValue() {
        assertArrayEquals(new byte[0], decoded(""));
    }

    @Test
    void valueWrappedAt76WithLineFeedEscapesDecodes() {
        byte[] data = randomBytes(1000, 1);
        assertArrayEquals(data, decoded(wrapped(data, "\\n")));
    }

    @Test
    void valueWrappedAt76WithCrLfEscapesDecodes() {
        byte[] data = randomBytes(1000, 2);
        String mime = Base64.getMimeEncoder().encodeToString(data).replace("\r\n", "\\r\\n");
        assertTrue(mime.contains("\\r\\n"));
        assertArrayEquals(data, decoded(mime));
        assertArrayEquals(data, decoded(wrapped(data, "\\r\\n")));
    }

    @Test
    void lineBreaksAreToleratedAnywhere() {
        // As the text was always read: every CR and LF is dropped before decoding, wherever it is.
        assertDecodes("abc", "YW\\nJj", "Y\\r\\nWJj", "\\nYWJj", "YWJj\\n", "\\r\\n\\r\\nYWJj\\n\\n", "YWJj\\r");
        assertDecodes("a", "YQ\\n==", "YQ=\\n=", "YQ==\\r\\n", "\\nYQ");
        assertDecodes("", "\\n", "\\r\\n\\r\\n");
    }

    @Test
    void escapedCharactersAreDecodedAsTheCharactersTheyStandFor() {
        assertDecodes("a", "\\u0059Q==", "YQ\\u003d\\u003d", "Y\\u0051");
        assertArrayEquals(new byte[] {(byte) 0xff, (byte) 0xff}, decoded("\\/\\/8="));
        assertArrayEquals(new byte[] {(byte) 0xff, (byte) 0xff}, decoded("//8="));
        assertArrayEquals(new byte[] {(byte) 0xfb, (byte) 0xef}, decoded("++8"));
    }

    @Test
    void aOneMebibyteValueRoundTrips() {
        byte[] data = randomBytes(1 << 20, 3);
        assertArrayEquals(data, decoded(BASE64.encodeToString(data)));
        assertArrayEquals(data, decoded(Base64.getEncoder().withoutPadding().encodeToString(data)));
        assertArrayEquals(data, decoded(wrapped(data, "\\n")));
        assertArrayEquals(data, decoded(wrapped(data, "\\r\\n")));
    }

    @Test
    void keysAndValuesOfManyRecordsDecodeEachFromItsOwnString() {
        StringBuilder sb = new StringBuilder("{\"records\":[");
        for (int i = 0; i < 50; i++) {
            sb.append(i == 0 ? "" : ",").append("{\"key\":\"").append(BASE64.encodeToString(utf8("k" + i)))
                    .append("\",\"value\":\"").append(wrapped(utf8("value " + i), i % 2 == 0 ? "\\n" : ""))
                    .append("\"}");
        }
        ProduceRequest request = TOPIC.read(utf8(sb.append("]}").toString()), EmbeddedFormat.BINARY);
        for (int i = 0; i < 50; i++) {
            assertArrayEquals(utf8("k" + i), request.records().get(i).key());
            assertArrayEquals(utf8("value " + i), request.records().get(i).value());
        }
    }

    @Test
    void aBodyInAnotherUnicodeEncodingDecodesAsText() {
        // Jackson detects UTF-16 and UTF-32; the body's bytes are then not the string's, and the
        // value is read as text.
        String body = "{\"records\":[{\"value\":\"YWJj\\nYQ==\"},{\"value\":\"YQ-_\"}]}";
        for (Charset charset : new Charset[] {
                StandardCharsets.UTF_16BE, StandardCharsets.UTF_16LE, Charset.forName("UTF-32BE")}) {
            RestException e = assertThrows(RestException.class,
                    () -> TOPIC.read(body.getBytes(charset), EmbeddedFormat.BINARY), charset.name());
            assertEquals("Record value contains invalid base64 encoding", e.getMessage(), charset.name());
            ProduceRequest request = TOPIC.read(body.replace("YQ-_", "YQ").getBytes(charset), EmbeddedFormat.BINARY);
            assertArrayEquals(utf8("abca"), request.records().get(0).value(), charset.name());
            assertArrayEquals(utf8("a"), request.records().get(1).value(), charset.name());
        }
    }

    // --- rejected: 422 ---

    @Test
    void urlSafeAlphabetIsRejected() {
        assertInvalidBase64("__-_", "YQ-_", "-w==", "_w==", "ab-c", "ab_c", "\\/-8=");
    }

    @Test
    void garbageIsRejected() {
        assertInvalidBase64("not base64!", "@@@@", "Y", "YWJjY", "YQ=", "=", "==", "YQ===", "Y===", "YQ==YQ==",
                "YWI=YQ", "YQ=a", "Y\\u0000Q==", "\u00e9", "\\u00e9", "YQ\u20ac", "\\\"YQ", "\\\\YQ",
                "\\u007fYQ", "\u007fYQ");
    }

    @Test
    void whitespaceOtherThanLineBreaksIsRejected() {
        assertInvalidBase64("YWJj YWJj", " YWJj", "YWJj ", "YWJj\\tYWJj", "YWJj\\u0020YWJj", "YWJj\\bYWJj",
                "YWJj\\fYWJj");
    }

    @Test
    void invalidBase64KeyNamesTheKey() {
        RestException e = assertThrows(RestException.class, () -> TOPIC.read(
                utf8("{\"records\":[{\"key\":\"YQ-_\",\"value\":\"YQ==\"}]}"), EmbeddedFormat.BINARY));
        assertEquals(422, e.httpStatus());
        assertEquals("Record key contains invalid base64 encoding", e.getMessage());
    }

    @Test
    void nonStringIsRejectedWithItsOwnMessage() {
        RestException e = assertThrows(RestException.class, () -> TOPIC.read(
                utf8("{\"records\":[{\"value\":12}]}"), EmbeddedFormat.BINARY));
        assertEquals(422, e.httpStatus());
        assertEquals("Record value must be a base64 string or null in the binary embedded format", e.getMessage());
    }

    // --- rejected: 400 ---

    @Test
    void rawControlCharactersAreMalformedJson() {
        // JSON strings cannot hold raw control characters, even where base64 would skip them.
        for (String s : new String[] {"YWJj\nYWJj", "YWJj\rYWJj", "YWJj\tYWJj", "YWJj\u0001YWJj", "\nYQ=="}) {
            RestException e = rejected(s);
            assertEquals(400, e.httpStatus(), e.getMessage());
            assertTrue(e.getMessage().startsWith("Malformed JSON: "), e.getMessage());
        }
    }

    @Test
    void invalidEscapeOrUnterminatedStringIsMalformedJson() {
        for (byte[] body : new byte[][] {
                body("YQ\\x"), body("YQ==\\u00"), utf8("{\"records\":[{\"value\":\"YWJj"),
                utf8("{\"records\":[{\"value\":\"YWJj\\"), utf8("{\"records\":[{\"value\":\"YWJj\\n"),
                utf8("{\"records\":[{\"value\":\"YWJj\"")}) {
            RestException e = assertThrows(RestException.class, () -> TOPIC.read(body, EmbeddedFormat.BINARY));
            assertEquals(400, e.httpStatus(), e.getMessage());
        }
    }

    @Test
    void invalidUtf8IsMalformedJson() {
        byte[] body = body("YQ==XX");
        int at = new String(body, StandardCharsets.ISO_8859_1).indexOf("XX");
        body[at] = (byte) 0xc3;
        body[at + 1] = (byte) 0x28;
        RestException e = assertThrows(RestException.class, () -> TOPIC.read(body, EmbeddedFormat.BINARY));
        assertEquals(400, e.httpStatus(), e.getMessage());
    }

    @Test
    void malformedJsonAfterAValueIsStillFound() {
        RestException e = assertThrows(RestException.class, () -> TOPIC.read(
                utf8("{\"records\":[{\"value\":\"YQ==\" \"key\":\"YQ==\"}]}"), EmbeddedFormat.BINARY));
        assertEquals(400, e.httpStatus(), e.getMessage());
    }

    @Test
    void invalidBase64IsReportedBeforeMalformedJsonThatFollowsIt() {
        // The value is decoded when it is reached, as it always was.
        RestException e = assertThrows(RestException.class, () -> TOPIC.read(
                utf8("{\"records\":[{\"value\":\"YQ-_\"},]}"), EmbeddedFormat.BINARY));
        assertEquals(422, e.httpStatus(), e.getMessage());
    }

    // --- cost ---

    @Test
    void aLargeValueIsDecodedWithoutCopiesOfItsText() {
        assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        byte[] data = randomBytes(3 << 20, 4);
        byte[] plain = body(BASE64.encodeToString(data));
        byte[] wrapped = body(wrapped(data, "\\n"));
        for (byte[] body : new byte[][] {plain, wrapped, body("YQ==")}) {
            onlyRecord(body); // loads every class on the way
        }

        long before = threads.getCurrentThreadAllocatedBytes();
        byte[] value = onlyRecord(plain).value();
        long plainCost = threads.getCurrentThreadAllocatedBytes() - before;
        assertArrayEquals(data, value);

        before = threads.getCurrentThreadAllocatedBytes();
        value = onlyRecord(wrapped).value();
        long wrappedCost = threads.getCurrentThreadAllocatedBytes() - before;
        assertArrayEquals(data, value);

        // Read as text, the value cost nearly 6 times the body (5.75 plain, 6.8 wrapped: the
        // parser's char buffer at two bytes a character, the String, its bytes, the decoded value);
        // straight from the body it is the decoded value alone (0.75), plus one copy of the text
        // without its line breaks when it is wrapped (1.7).
        assertTrue(plainCost < plain.length, "allocated " + plainCost + " for a body of " + plain.length);
        assertTrue(wrappedCost < 5L * wrapped.length / 2, "allocated " + wrappedCost + " for a body of " + wrapped.length);
    }

    @Test
    void aValueLongerThanTheParsersStringLimitIsRejectedAsBefore() {
        // Jackson's default limit on a string's length applies to base64 text however it is decoded.
        int limit = com.fasterxml.jackson.core.StreamReadConstraints.DEFAULT_MAX_STRING_LEN;
        assertEquals(limit / 4 * 3, decoded("A".repeat(limit)).length);
        RestException e = rejected("A".repeat(limit + 4));
        assertEquals(422, e.httpStatus());
        assertEquals("Invalid value for records[0].value", e.getMessage());
        e = rejected("A".repeat(limit - 4) + "\\nAAAA\\nAAAA");
        assertEquals("Invalid value for records[0].value", e.getMessage());
    }
}
