package io.portico.proxy.handlers.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import io.portico.protocol.v3.ProduceRecord;
import io.portico.protocol.v3.RecordError;
import io.portico.schemas.ParsedSchema;
import io.portico.schemas.SchemaService;
import io.portico.schemas.SchemaType;

/**
 * v3 produce of the schema types: each key and value of {@code AVRO}, {@code JSONSCHEMA} or
 * {@code PROTOBUF} (or of no type, the registry's schema deciding) is serialized in the schema
 * its fields name ({@code schema}, {@code schema_id}, {@code schema_version}, else the subject's
 * latest; the subject given, or named by {@code subject_name_strategy}) and framed with its id;
 * its report then shows the subject, id and version. Blocks on the registry (bounded): called on
 * the produce pool, per record, so each record's failure is its own report.
 */
final class SchemaProduceV3 {
    private SchemaProduceV3() {
    }

    /**
     * The record with its schema-format key and value serialized (others untouched).
     *
     * @throws RestException for that record alone: 42206 for schema fields that do not fit
     *         together, 42205 for a schema that does not parse or the registry refuses, 42207
     *         for data that does not fit its schema or a {@code schema_id} its subject does not
     *         have, 503 when the registry does not answer
     */
    static ProduceRecord serialize(SchemaService schemas, String topic, ProduceRecord record,
                                   java.util.function.Predicate<String> subjects) {
        ProduceRecord.Data key = resolve(schemas, topic, true, record.key(), subjects);
        ProduceRecord.Data value = resolve(schemas, topic, false, record.value(), subjects);
        return key == record.key() && value == record.value() ? record : record.with(key, value);
    }

    private static ProduceRecord.Data resolve(SchemaService schemas, String topic, boolean isKey, ProduceRecord.Data d,
                                              java.util.function.Predicate<String> subjects) {
        if (d == null || !d.needsSchema()) {
            return d;
        }
        ProduceRecord.SchemaRef ref = d.schema();
        SchemaService.Resolved schema = schemas.forV3(schemaType(d.type()), topic, isKey, ref.subject(),
                ref.subjectNameStrategy() == null ? null : SchemaService.SubjectStrategy.valueOf(ref.subjectNameStrategy()),
                ref.schemaId(), ref.schemaVersion(), ref.rawSchema(), target -> {
                    // The topic's own subjects come with the topic; any other, with the key's subjects.
                    if (!target.equals(SchemaService.topicSubject(topic, true))
                            && !target.equals(SchemaService.topicSubject(topic, false)) && !subjects.test(target)) {
                        throw ErrorCode.FORBIDDEN.exception("This API key may not use schema registry subject '"
                                + io.portico.sessions.KafkaNames.excerpt(target) + "' (its entry's \"subjects\")");
                    }
                });
        byte[] bytes;
        try {
            bytes = d.serialized() == null ? null : schema.serialize(d.serialized());
        } catch (ParsedSchema.InvalidDataException e) {
            throw ErrorCode.SERIALIZATION_ERROR.exception("Conversion of JSON to "
                    + schema.schema().type().format().wireName() + " failed: " + e.getMessage());
        }
        return new ProduceRecord.Data(v3Type(schema.schema().type()), bytes,
                ProduceRecord.SchemaRef.resolved(schema.subject(), schema.id(), schema.version()));
    }

    private static SchemaType schemaType(ProduceRecord.Type type) {
        if (type == null) {
            return null;
        }
        return switch (type) {
            case AVRO -> SchemaType.AVRO;
            case JSONSCHEMA -> SchemaType.JSON;
            case PROTOBUF -> SchemaType.PROTOBUF;
            default -> throw new IllegalArgumentException(type + " has no schema");
        };
    }

    private static ProduceRecord.Type v3Type(SchemaType type) {
        return switch (type) {
            case AVRO -> ProduceRecord.Type.AVRO;
            case JSON -> ProduceRecord.Type.JSONSCHEMA;
            case PROTOBUF -> ProduceRecord.Type.PROTOBUF;
        };
    }

    /** A record's report of {@code e}: 422s in Confluent's in-stream wording, others with their code. */
    static RecordError recordError(RestException e) {
        if (e.httpStatus() == 422) {
            return new RecordError(422, "Error: " + e.errorCode().code() + " : " + e.getMessage());
        }
        return new RecordError(e.errorCode().code(), e.getMessage());
    }
}
