package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RecordHeader;
import io.portico.protocol.RestException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Records whose schema id Confluent's serializers (8.0 on, {@code HeaderSchemaIdSerializer}) put
 * in a {@code __key_schema_id} or {@code __value_schema_id} header, the payload unframed: not
 * supported yet, so refused with 50002, never read as if the payload were framed (an avro payload
 * often starts with 0, and its next bytes would name some other schema).
 */
class HeaderSchemaIdTest {
    /** A value in the header: magic byte 1 and a 16-byte GUID. */
    private static final byte[] GUID = new byte[17];

    static {
        GUID[0] = 1;
        for (int i = 1; i < GUID.length; i++) {
            GUID[i] = (byte) (i * 13);
        }
    }

    /**
     * {@code {false,0,0,0,3,"x"}} of a record schema of a boolean, four ints and a string, which
     * reads as if framed with schema id 6 and then the avro string "x".
     */
    private static final byte[] UNFRAMED = {0, 0, 0, 0, 6, 2, 'x'};

    private StubRegistry registry;
    private SchemaService service;

    @BeforeEach
    void start() throws Exception {
        // Schema id 6 is the avro schema "string": the unframed payload above would show as "x".
        registry = new StubRegistry(path -> path.equals("/schemas/ids/6")
                ? new StubRegistry.Answer(200, "{\"schema\":\"\\\"string\\\"\"}")
                : new StubRegistry.Answer(404, "{\"error_code\":40403,\"message\":\"Schema not found\"}"));
        service = registry.service();
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    private static ConsumedRecord record(byte[] key, byte[] value, RecordHeader... headers) {
        return new ConsumedRecord("t", key, value, 0, 42, 1L, List.of(headers));
    }

    @Test
    void aValueWithItsSchemaIdInAHeaderIsRefusedNotReadAsFramed() {
        // The payload framed as Portico reads it: shown, as without the header.
        assertEquals("\"x\"", new String(service.decode(EmbeddedFormat.AVRO, record(null, UNFRAMED)).value(),
                StandardCharsets.UTF_8));
        for (EmbeddedFormat format : List.of(EmbeddedFormat.AVRO, EmbeddedFormat.JSONSCHEMA, EmbeddedFormat.PROTOBUF)) {
            RestException e = assertThrows(RestException.class, () -> service.decode(format,
                    record(null, UNFRAMED, new RecordHeader("__value_schema_id", GUID))));
            assertEquals(ErrorCode.KAFKA_ERROR, e.errorCode(), e.getMessage());
            assertTrue(e.getMessage().contains("the value of the record at offset 42 of partition 0"), e.getMessage());
            assertTrue(e.getMessage().contains("__value_schema_id header"), e.getMessage());
            assertTrue(e.getMessage().contains("not supported yet; read it in the binary embedded format"),
                    e.getMessage());
        }
        RestException key = assertThrows(RestException.class, () -> service.decode(EmbeddedFormat.AVRO,
                record(UNFRAMED, null, new RecordHeader("__key_schema_id", GUID))));
        assertEquals(ErrorCode.KAFKA_ERROR, key.errorCode(), key.getMessage());
        assertTrue(key.getMessage().contains("the key of the record at offset 42 of partition 0"), key.getMessage());
        assertTrue(key.getMessage().contains("__key_schema_id header"), key.getMessage());
        assertEquals(1, registry.asked("/schemas/ids/6"), "only the record without the header asked for its schema");
    }

    @Test
    void eachHeaderIsTheKeysOrTheValuesOnly() {
        // The value's header says nothing of a framed key, nor the key's of a framed value.
        ConsumedRecord keyed = service.decode(EmbeddedFormat.AVRO, record(UNFRAMED, null,
                new RecordHeader("__value_schema_id", GUID)));
        assertEquals("\"x\"", new String(keyed.key(), StandardCharsets.UTF_8));
        assertNull(keyed.value());
        ConsumedRecord valued = service.decode(EmbeddedFormat.AVRO, record(null, UNFRAMED,
                new RecordHeader("__key_schema_id", GUID), new RecordHeader("other", null)));
        assertEquals("\"x\"", new String(valued.value(), StandardCharsets.UTF_8));
        assertNull(valued.key());
    }
}
