package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every request body of the API is a JSON object: a well-formed body that is anything else (null
 * included) is a 422 for each of them, in each embedded format; malformed JSON stays a 400.
 */
class RequestBodyShapeTest {

    private static final List<Json.BodyReader<?>> READERS = List.of(
            new Json.BodyReader<>(ProduceRequest.class),
            new Json.BodyReader<>(PartitionProduceRequest.class),
            new Json.BodyReader<>(CreateConsumerRequest.class),
            new Json.BodyReader<>(AdminTopics.CreateRequest.class));

    private static final List<String> NOT_OBJECTS = List.of(
            "null", " null ", "\n\tnull\r\n", "\ufeffnull", "[]", "[ ]", "[{\"records\":[]}]", "[null]",
            "\"x\"", "\"\"", "\"{}\"", "1", "-1", "1.5", "1e400", "0", "true", "false");

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Stream<Executable> everyReaderAndFormat(List<String> bodies, Checker check) {
        return READERS.stream().flatMap(reader -> Stream.of(EmbeddedFormat.values()).flatMap(format ->
                bodies.stream().map(body -> () -> check.check(reader, format, body))));
    }

    private interface Checker {
        void check(Json.BodyReader<?> reader, EmbeddedFormat format, String body);
    }

    @Test
    void aBodyThatIsNotAJsonObjectIs422() {
        assertAll(everyReaderAndFormat(NOT_OBJECTS, (reader, format, body) -> {
            RestException e = assertThrows(RestException.class, () -> reader.read(utf8(body), format), body);
            assertEquals(422, e.httpStatus(), body);
            assertEquals(ErrorCode.UNPROCESSABLE_ENTITY, e.errorCode(), body);
            assertEquals("Request body must be a JSON object", e.getMessage(), body);
        }));
    }

    @Test
    void malformedJsonIsStill400() {
        assertAll(everyReaderAndFormat(List.of("nul", "null x", "nullnull", "tru", "\"x", "]", "}",
                "{\"records\":[}"), (reader, format, body) -> {
                    RestException e = assertThrows(RestException.class, () -> reader.read(utf8(body), format), body);
                    assertEquals(400, e.httpStatus(), body + " -> " + e.getMessage());
                    assertTrue(e.getMessage().startsWith("Malformed JSON: "), e.getMessage());
                }));
    }

    @Test
    void anObjectIsStillReadAsBefore() {
        Json.BodyReader<CreateConsumerRequest> consumer = new Json.BodyReader<>(CreateConsumerRequest.class);
        assertEquals(CreateConsumerRequest.DEFAULTS, consumer.read(utf8(" {} "), EmbeddedFormat.BINARY));
        assertEquals(CreateConsumerRequest.DEFAULTS, consumer.read(utf8("\ufeff{}"), EmbeddedFormat.BINARY));
        Json.BodyReader<AdminTopics.CreateRequest> admin = new Json.BodyReader<>(AdminTopics.CreateRequest.class);
        assertEquals("t", admin.read(utf8("{\"name\":\"t\"}"), EmbeddedFormat.JSON).name());
        ProduceRequest produce = new Json.BodyReader<>(ProduceRequest.class)
                .read(utf8("\n{\"records\":[{\"value\":null}]}\n"), EmbeddedFormat.BINARY);
        assertNotNull(produce);
        assertEquals(1, produce.records().size());
    }

    @Test
    void anObjectOfTheWrongFieldsKeepsItsOwnMessage() {
        RestException e = assertThrows(RestException.class, () -> new Json.BodyReader<>(AdminTopics.CreateRequest.class)
                .read(utf8("{}"), EmbeddedFormat.JSON));
        assertEquals("\"name\" is required", e.getMessage());
    }

    @Test
    void aBodyThatIsNotAJsonObjectIs422InUtf16Too() {
        // Jackson detects the encoding; the check sees the same first token the reader would.
        Json.BodyReader<CreateConsumerRequest> consumer = new Json.BodyReader<>(CreateConsumerRequest.class);
        RestException e = assertThrows(RestException.class,
                () -> consumer.read("null".getBytes(StandardCharsets.UTF_16BE), EmbeddedFormat.BINARY));
        assertEquals("Request body must be a JSON object", e.getMessage());
        assertEquals(CreateConsumerRequest.DEFAULTS,
                consumer.read("{}".getBytes(StandardCharsets.UTF_16LE), EmbeddedFormat.BINARY));
    }

    @Test
    void aReaderOfAnotherShapeNeverReturnsNull() {
        Json.BodyReader<String> strings = new Json.BodyReader<>(String.class);
        assertEquals("x", strings.read(utf8("\"x\""), EmbeddedFormat.JSON));
        RestException e = assertThrows(RestException.class, () -> strings.read(utf8("null"), EmbeddedFormat.JSON));
        assertEquals(422, e.httpStatus());
        assertEquals("Request body must not be null", e.getMessage());
    }
}
