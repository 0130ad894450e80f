package io.portico.protocol.v3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** v3 records of the schema types: how they parse with a schema registry, and how their reports read. */
class SchemaRecordsTest {
    private static RecordStreamParser.Item parse(String json) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return RecordStreamParser.parse(b, 0, b.length, true);
    }

    @Test
    void schemaFieldsAreKeptWithTheDataAsJsonText() {
        ProduceRecord r = ((RecordStreamParser.Parsed) parse("{\"value\":{\"type\":\"avro\",\"subject_name_strategy\":"
                + "\"record_name\",\"schema\":\"\\\"long\\\"\",\"data\":1e400}}")).record();
        ProduceRecord.Data v = r.value();
        assertEquals(ProduceRecord.Type.AVRO, v.type());
        assertEquals("1e400", new String(v.serialized(), StandardCharsets.UTF_8));
        assertTrue(v.needsSchema());
        assertEquals(new ProduceRecord.SchemaRef(null, "RECORD_NAME", null, null, "\"long\"", false), v.schema());

        ProduceRecord.Data untyped = ((RecordStreamParser.Parsed) parse("{\"key\":{\"schema_version\":3,\"data\":{\"a\":1}}}"))
                .record().key();
        assertNull(untyped.type());
        assertEquals(3, untyped.schema().schemaVersion());
    }

    @Test
    void fieldsThatDoNotGoTogetherAreTheRecords422() {
        for (String bad : List.of(
                "{\"value\":{\"type\":\"AVRO\",\"subject\":\"s\",\"subject_name_strategy\":\"TOPIC_NAME\",\"data\":1}}",
                "{\"value\":{\"type\":\"AVRO\",\"schema_id\":1,\"schema_version\":1,\"data\":1}}",
                "{\"value\":{\"type\":\"BINARY\",\"schema_id\":1,\"data\":\"AA==\"}}",
                "{\"value\":{\"type\":\"AVRO\",\"subject_name_strategy\":\"OTHER\",\"data\":1}}")) {
            RecordStreamParser.Invalid invalid = assertInstanceOf(RecordStreamParser.Invalid.class, parse(bad), bad);
            assertEquals(422, invalid.error().errorCode(), bad);
            assertTrue(invalid.error().message().startsWith("Error: 42206 : Payload error. "), invalid.error().message());
        }
        // without a registry, the schema types stay the 422 they were
        byte[] b = "{\"value\":{\"type\":\"AVRO\",\"data\":1}}".getBytes(StandardCharsets.UTF_8);
        RecordStreamParser.Invalid none = assertInstanceOf(RecordStreamParser.Invalid.class, RecordStreamParser.parse(b, 0, b.length));
        assertEquals("Error: 42206 : Payload error. Schema Registry must be configured when using schemas.", none.error().message());
    }

    @Test
    void reportsOfResolvedSchemaDataShowSubjectIdAndVersion() {
        ProduceRecord.Data value = new ProduceRecord.Data(ProduceRecord.Type.AVRO, new byte[7],
                ProduceRecord.SchemaRef.resolved("t-\"value\"", 12, 3));
        ProduceRecord.Data key = new ProduceRecord.Data(ProduceRecord.Type.PROTOBUF, new byte[2],
                ProduceRecord.SchemaRef.resolved("t-key", 5, null));
        ProduceRecord record = new ProduceRecord(null, List.of(), key, value, null, 10);
        DeliveryReports.Writer writer = new DeliveryReports.Writer("c", "t");
        java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(writer.size(record, 0, 4, 0));
        writer.write(out, record, 0, 4, 0);
        assertEquals(out.capacity(), out.position());
        String report = new String(out.array(), StandardCharsets.UTF_8);
        assertTrue(report.endsWith(",\"key\":{\"type\":\"PROTOBUF\",\"subject\":\"t-key\",\"schema_id\":5,\"size\":2},"
                + "\"value\":{\"type\":\"AVRO\",\"subject\":\"t-\\\"value\\\"\",\"schema_id\":12,\"schema_version\":3,\"size\":7}}"),
                report);
    }
}
