package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ErrorCodeTest {

    @Test
    void everyFiveDigitCodeStartsWithItsHttpStatus() {
        for (ErrorCode c : ErrorCode.values()) {
            if (c.code() < 10000) {
                continue;
            }
            if (c == ErrorCode.INVALID_CONSUMER_CONFIG_CONSTRAINT || c == ErrorCode.NO_SSL_SUPPORT) {
                continue; // Confluent's own exceptions, pinned by the tests below
            }
            assertEquals(c.httpStatus(), c.code() / 100, c.name());
        }
    }

    @Test
    void consumerConfigConstraintIs422With40001AsConfluentSendsIt() {
        // reference §3.4: a RestConstraintViolationException, so HTTP 422 although the code starts with 400
        assertEquals(422, ErrorCode.INVALID_CONSUMER_CONFIG_CONSTRAINT.httpStatus());
        assertEquals(40001, ErrorCode.INVALID_CONSUMER_CONFIG_CONSTRAINT.code());
    }

    @Test
    void noSslSupportIs500With50101AsConfluentSendsIt() {
        // reference §2.2: 50101 is raised as a RestServerErrorException, always HTTP 500
        assertEquals(500, ErrorCode.NO_SSL_SUPPORT.httpStatus());
        assertEquals(50101, ErrorCode.NO_SSL_SUPPORT.code());
    }

    @Test
    void everyThreeDigitCodeIsItsHttpStatus() {
        for (ErrorCode c : ErrorCode.values()) {
            if (c.code() < 1000) {
                assertEquals(c.httpStatus(), c.code(), c.name());
            }
        }
    }

    @Test
    void everyCodeIsThreeOrFiveDigitsAndEveryStatusAnHttpError() {
        for (ErrorCode c : ErrorCode.values()) {
            assertTrue((c.code() >= 100 && c.code() < 1000) || (c.code() >= 10000 && c.code() < 100000), c.name());
            assertTrue(c.httpStatus() >= 400 && c.httpStatus() < 600, c.name());
        }
    }

    @Test
    void confluentCodesAreUnique() {
        Map<Integer, ErrorCode> seen = new HashMap<>();
        for (ErrorCode c : ErrorCode.values()) {
            if (c.code() < 10000 || c == ErrorCode.ADMIN_TOPIC_EXISTS || c == ErrorCode.KAFKA_REFUSED
                    || c == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
                // Bare HTTP statuses may be shared by several messages, as 422 is in Confluent's proxy;
                // IBM's admin API has its own 42201, and Confluent itself words 40002 and 40403 two
                // ways (tested below).
                continue;
            }
            ErrorCode previous = seen.put(c.code(), c);
            assertEquals(null, previous, c.code() + " used by " + previous + " and " + c);
        }
    }

    @Test
    void ibmAdminTopicExistsIs42201AsItsNodeClientExpects() {
        assertMessage(ErrorCode.ADMIN_TOPIC_EXISTS, 422, 42201, "Topic already exists.");
    }

    @Test
    void confluentsSecondWordingsOf40002And40403AreKafkasOwn() {
        // rest-utils' KafkaExceptionMapper: the exception's message under the fixed code
        assertMessage(ErrorCode.KAFKA_REFUSED, 400, 40002, "Bad Request");
        assertEquals(new ErrorMessage(40002, "Topic 't' already exists."),
                ErrorCode.KAFKA_REFUSED.body("Topic 't' already exists."));
        assertMessage(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 404, 40403, "This server does not host this topic-partition.");
    }

    @Test
    void bareStatusCodesAreSharedOnlyByTheRegistryErrorsOfTheirStatus() {
        // A bare status is shared only by a named variant that says more about the same status:
        // the schema formats without a registry (415), the records endpoint's schema errors (404, 400).
        Map<ErrorCode, ErrorCode> variants = Map.of(ErrorCode.SCHEMA_REGISTRY_REQUIRED, ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                ErrorCode.SCHEMA_NOT_FOUND, ErrorCode.NOT_FOUND, ErrorCode.SCHEMA_MISMATCH, ErrorCode.BAD_REQUEST);
        Map<Integer, ErrorCode> seen = new HashMap<>();
        for (ErrorCode c : ErrorCode.values()) {
            if (c == ErrorCode.ADMIN_TOPIC_EXISTS || c == ErrorCode.KAFKA_REFUSED
                    || c == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
                continue; // IBM's admin API and Confluent's second wordings, tested on their own
            }
            ErrorCode previous = seen.putIfAbsent(c.code(), c);
            if (previous != null) {
                assertEquals(variants.get(c), previous, c.name() + " shares code " + c.code() + " with " + previous);
                assertEquals(previous.httpStatus(), c.httpStatus(), c.name());
            }
        }
    }

    @Test
    void referenceMessagesAreExact() {
        assertMessage(ErrorCode.TOPIC_NOT_FOUND, 404, 40401, "Topic not found.");
        assertMessage(ErrorCode.PARTITION_NOT_FOUND, 404, 40402, "Partition not found.");
        assertMessage(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, 404, 40403, "Consumer instance not found.");
        assertMessage(ErrorCode.LEADER_NOT_AVAILABLE, 404, 40404, "Leader not available.");
        assertMessage(ErrorCode.CONSUMER_FORMAT_MISMATCH, 406, 40601,
                "The requested embedded data format does not match the deserializer for this consumer instance");
        assertMessage(ErrorCode.SCHEMA_REGISTRY_ERROR, 408, 40801, "Schema registration or lookup failed");
        assertMessage(ErrorCode.CONSUMER_ALREADY_SUBSCRIBED, 409, 40901,
                "Consumer cannot subscribe the the specified target because it has already subscribed to other topics.");
        assertMessage(ErrorCode.CONSUMER_ALREADY_EXISTS, 409, 40902,
                "Consumer with specified consumer ID already exists in the specified consumer group.");
        assertMessage(ErrorCode.KEY_SCHEMA_MISSING, 422, 42201, "Request includes keys but does not include key schema");
        assertMessage(ErrorCode.VALUE_SCHEMA_MISSING, 422, 42202,
                "Request includes values but does not include value schema");
        assertMessage(ErrorCode.JSON_AVRO_CONVERSION_FAILED, 422, 42203, "Conversion of JSON to Avro failed: ");
        assertMessage(ErrorCode.INVALID_CONSUMER_CONFIG, 422, 42204, "Invalid consumer configuration: ");
        assertMessage(ErrorCode.INVALID_SCHEMA, 422, 42205, "Invalid schema: ");
        assertMessage(ErrorCode.ZOOKEEPER_ERROR, 500, 50001, "Zookeeper error: ");
        assertMessage(ErrorCode.KAFKA_ERROR, 500, 50002, "Kafka error: ");
        assertMessage(ErrorCode.KAFKA_RETRIABLE_ERROR, 500, 50003, "Retriable Kafka error: ");
        assertMessage(ErrorCode.NO_SSL_SUPPORT, 500, 50101,
                "Only SSL endpoints were found for the broker, but SSL is not currently supported.");
    }

    @Test
    void httpLayerMessagesAreWordedAsConfluentsJaxRsLayer() {
        assertMessage(ErrorCode.NOT_FOUND, 404, 404, "HTTP 404 Not Found");
        assertMessage(ErrorCode.METHOD_NOT_ALLOWED, 405, 405, "HTTP 405 Method Not Allowed");
        assertMessage(ErrorCode.NOT_ACCEPTABLE, 406, 406, "HTTP 406 Not Acceptable");
        assertMessage(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415, 415, "HTTP 415 Unsupported Media Type");
        assertMessage(ErrorCode.INTERNAL_SERVER_ERROR, 500, 500, "Internal Server Error");
    }

    private static void assertMessage(ErrorCode c, int status, int code, String message) {
        assertEquals(status, c.httpStatus(), c.name());
        assertEquals(code, c.code(), c.name());
        assertEquals(message, c.message(), c.name());
    }

    @Test
    void prefixMessagesTakeADetailAndOthersDoNot() {
        assertTrue(ErrorCode.KAFKA_ERROR.takesDetail());
        assertTrue(ErrorCode.PAYLOAD_ERROR.takesDetail());
        assertFalse(ErrorCode.TOPIC_NOT_FOUND.takesDetail());
        assertFalse(ErrorCode.UNPROCESSABLE_ENTITY.takesDetail());
    }

    @Test
    void detailIsAppendedToAPrefixMessage() {
        assertEquals("Kafka error: boom", ErrorCode.KAFKA_ERROR.messageWith("boom"));
        assertEquals("Retriable Kafka error: timed out", ErrorCode.KAFKA_RETRIABLE_ERROR.messageWith("timed out"));
        assertEquals("Payload error. too big", ErrorCode.PAYLOAD_ERROR.messageWith("too big"));
    }

    @Test
    void prefixMessageWithoutDetailLosesItsTrailingColon() {
        assertEquals("Kafka error", ErrorCode.KAFKA_ERROR.messageWith(null));
        assertEquals("Kafka error", ErrorCode.KAFKA_ERROR.messageWith(""));
        assertEquals("Invalid schema", ErrorCode.INVALID_SCHEMA.messageWith(null));
        assertEquals("Payload error.", ErrorCode.PAYLOAD_ERROR.messageWith(null));
    }

    @Test
    void detailReplacesAPlainMessage() {
        assertEquals("records may not be empty", ErrorCode.UNPROCESSABLE_ENTITY.messageWith("records may not be empty"));
        assertEquals("Unrecognized field: receiver", ErrorCode.UNPROCESSABLE_ENTITY.messageWith("Unrecognized field: receiver"));
    }

    @Test
    void plainMessageWithoutDetailIsUsedAsIs() {
        assertEquals("Topic not found.", ErrorCode.TOPIC_NOT_FOUND.messageWith(null));
        assertEquals("Topic not found.", ErrorCode.TOPIC_NOT_FOUND.messageWith(""));
        assertEquals("Unprocessable Entity", ErrorCode.UNPROCESSABLE_ENTITY.messageWith(null));
    }

    @Test
    void exceptionCarriesItsCodeStatusAndBuiltMessage() {
        RestException plain = ErrorCode.TOPIC_NOT_FOUND.exception();
        assertSame(ErrorCode.TOPIC_NOT_FOUND, plain.errorCode());
        assertEquals(404, plain.httpStatus());
        assertEquals("Topic not found.", plain.getMessage());
        assertEquals(new ErrorMessage(40401, "Topic not found."), plain.body());

        RestException detailed = ErrorCode.KAFKA_ERROR.exception("broker down");
        assertEquals(500, detailed.httpStatus());
        assertEquals(new ErrorMessage(50002, "Kafka error: broker down"), detailed.body());
    }

    @Test
    void exceptionKeepsItsCause() {
        IllegalStateException cause = new IllegalStateException("x");
        RestException e = new RestException(ErrorCode.KAFKA_ERROR, "x", cause);
        assertSame(cause, e.getCause());
    }

    @Test
    void bodyBuildsTheWireErrorFromADetail() {
        assertEquals(new ErrorMessage(422, "records may not be empty"),
                ErrorCode.UNPROCESSABLE_ENTITY.body("records may not be empty"));
        assertEquals(new ErrorMessage(40403, "Consumer instance not found."),
                ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.body(null));
    }

    @Test
    void errorMessageSerializesCodeThenMessage() {
        assertEquals("{\"error_code\":40401,\"message\":\"Topic not found.\"}",
                new String(Json.write(ErrorCode.TOPIC_NOT_FOUND.body(null)), StandardCharsets.UTF_8));
        assertEquals("{\"error_code\":406,\"message\":\"HTTP 406 Not Acceptable\"}",
                new String(Json.write(ErrorCode.NOT_ACCEPTABLE.exception().body()), StandardCharsets.UTF_8));
    }
}
