package io.portico.protocol;

import static io.portico.protocol.KafkaMediaTypes.isV1GenericBody;
import static io.portico.protocol.KafkaMediaTypes.v1ProduceFormat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KafkaMediaTypesTest {

    private static void assertUnsupported(String contentType) {
        RestException e = assertThrows(RestException.class, () -> v1ProduceFormat(contentType), contentType);
        assertEquals(415, e.httpStatus(), contentType);
        assertEquals(new ErrorMessage(415, "HTTP 415 Unsupported Media Type"), e.body(), contentType);
    }

    @Test
    void binaryV1ContentTypeProducesBinary() {
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat("application/vnd.kafka.binary.v1+json"));
    }

    @Test
    void vagueContentTypesProduceBinary() {
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat("application/vnd.kafka.v1+json"));
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat("application/vnd.kafka+json"));
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat("application/json"));
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat("application/octet-stream"));
    }

    @Test
    void missingContentTypeProducesBinary() {
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat(null));
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat(""));
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat("  "));
    }

    @Test
    void charsetParameterDoesNotChangeTheFormat() {
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat("application/json; charset=utf-8"));
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat("application/vnd.kafka.binary.v1+json; charset=UTF-8"));
        assertEquals(EmbeddedFormat.JSON, v1ProduceFormat("application/vnd.kafka.json.v1+json; charset=utf-8"));
        assertEquals(EmbeddedFormat.AVRO, v1ProduceFormat("application/vnd.kafka.avro.v1+json;charset=utf-8"));
    }

    @Test
    void jsonV1ContentTypeProducesJson() {
        assertEquals(EmbeddedFormat.JSON, v1ProduceFormat("application/vnd.kafka.json.v1+json"));
    }

    @Test
    void avroV1ContentTypeProducesAvro() {
        assertEquals(EmbeddedFormat.AVRO, v1ProduceFormat("application/vnd.kafka.avro.v1+json"));
    }

    @Test
    void contentTypeIsCaseInsensitive() {
        assertEquals(EmbeddedFormat.JSON, v1ProduceFormat("Application/Vnd.Kafka.JSON.v1+JSON"));
    }

    @Test
    void curlsDefaultFormContentTypeIs415() {
        assertUnsupported("application/x-www-form-urlencoded");
    }

    @Test
    void textPlainIs415() {
        assertUnsupported("text/plain");
        assertUnsupported("text/plain; charset=utf-8");
    }

    @Test
    void garbageContentTypeIs415() {
        assertUnsupported("garbage");
        assertUnsupported("application/");
        assertUnsupported("*/*");
        assertUnsupported("application/*");
        assertUnsupported("application/vnd.kafka.binary.v2+json");
    }

    @Test
    void shortContentTypesAreRememberedButLongOnesAreNot() {
        String shortType = "application/json; charset=utf-8; x=remembered";
        String longType = "application/json; x=" + "y".repeat(KafkaMediaTypes.CACHED_LENGTH_LIMIT);
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat(shortType));
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat(longType));
        assertTrue(KafkaMediaTypes.isProduceFormatCached(shortType));
        assertFalse(KafkaMediaTypes.isProduceFormatCached(longType));
        assertEquals(EmbeddedFormat.BINARY, v1ProduceFormat(longType));
    }

    @Test
    void genericBodyAcceptsEveryV1TypeAndTheGenericOnes() {
        for (String type : new String[] {
                "application/vnd.kafka.binary.v1+json", "application/vnd.kafka.json.v1+json",
                "application/vnd.kafka.avro.v1+json", "application/vnd.kafka.v1+json",
                "application/vnd.kafka+json", "application/json", "application/octet-stream",
                "application/json; charset=utf-8", "APPLICATION/JSON"}) {
            assertTrue(isV1GenericBody(type), type);
        }
    }

    @Test
    void genericBodyAcceptsNoContentType() {
        assertTrue(isV1GenericBody(null));
        assertTrue(isV1GenericBody(""));
    }

    @Test
    void genericBodyRejectsOtherTypes() {
        assertFalse(isV1GenericBody("application/x-www-form-urlencoded"));
        assertFalse(isV1GenericBody("text/plain"));
        assertFalse(isV1GenericBody("garbage"));
        assertFalse(isV1GenericBody("application/vnd.kafka.v3+json"));
        assertTrue(isV1GenericBody("application/vnd.kafka.v2+json"), "v2 shares create, commit and delete");
    }

    @Test
    void aBodyTypeNamingNoVersionIsV2WhenItsAcceptNamesV2AndNotV1() {
        assertEquals(2, KafkaMediaTypes.apiVersion("application/vnd.kafka.v2+json", null));
        assertEquals(2, KafkaMediaTypes.apiVersion("application/vnd.kafka.binary.v2+json", "application/vnd.kafka.v1+json"));
        assertEquals(1, KafkaMediaTypes.apiVersion("application/vnd.kafka.binary.v1+json", "application/vnd.kafka.v2+json"));
        assertEquals(2, KafkaMediaTypes.apiVersion("application/json", "application/vnd.kafka.v2+json"));
        assertEquals(2, KafkaMediaTypes.apiVersion(null, "application/json, application/vnd.kafka.binary.v2+json"));
        assertEquals(2, KafkaMediaTypes.apiVersion("application/vnd.kafka+json", "Application/VND.Kafka.V2+JSON"));
        assertEquals(1, KafkaMediaTypes.apiVersion("application/json", null));
        assertEquals(1, KafkaMediaTypes.apiVersion("application/json", "*/*"));
        assertEquals(1, KafkaMediaTypes.apiVersion("application/json", "application/vnd.kafka.v2+json;q=0"));
        assertEquals(1, KafkaMediaTypes.apiVersion("application/json",
                "application/vnd.kafka.v2+json, application/vnd.kafka.v1+json"));
        assertEquals(1, KafkaMediaTypes.apiVersion("application/json", "text/x.v2+json"));
    }

    @Test
    void readFormatFollowsTheNegotiatedType() {
        assertEquals(EmbeddedFormat.BINARY, KafkaMediaTypes.v1ReadFormat(MediaType.parse(KafkaMediaTypes.BINARY_V1)));
        assertEquals(EmbeddedFormat.JSON, KafkaMediaTypes.v1ReadFormat(MediaType.parse(KafkaMediaTypes.JSON_V1)));
        assertEquals(EmbeddedFormat.AVRO, KafkaMediaTypes.v1ReadFormat(MediaType.parse(KafkaMediaTypes.AVRO_V1)));
        assertEquals(EmbeddedFormat.BINARY, KafkaMediaTypes.v1ReadFormat(MediaType.parse(KafkaMediaTypes.V1_JSON)));
        assertEquals(EmbeddedFormat.BINARY, KafkaMediaTypes.v1ReadFormat(MediaType.parse(KafkaMediaTypes.KAFKA_JSON)));
        assertEquals(EmbeddedFormat.BINARY, KafkaMediaTypes.v1ReadFormat(MediaType.parse(KafkaMediaTypes.JSON)));
    }

    @Test
    void embeddedFormatWireNamesAreLowerCaseAndParseCaseInsensitively() {
        assertEquals("binary", EmbeddedFormat.BINARY.wireName());
        assertEquals("json", EmbeddedFormat.JSON.wireName());
        assertEquals("avro", EmbeddedFormat.AVRO.wireName());
        assertEquals(EmbeddedFormat.JSON, EmbeddedFormat.fromWireName(" JSON "));
        assertEquals(EmbeddedFormat.AVRO, EmbeddedFormat.fromWireName("Avro"));
        assertEquals(EmbeddedFormat.PROTOBUF, EmbeddedFormat.fromWireName("protobuf"));
        assertEquals(null, EmbeddedFormat.fromWireName("xml"));
        assertEquals(null, EmbeddedFormat.fromWireName(null));
    }
}
