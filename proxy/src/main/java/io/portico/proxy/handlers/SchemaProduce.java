package io.portico.proxy.handlers;

import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.ProduceRecord;
import io.portico.protocol.RestException;
import io.portico.schemas.ParsedSchema;
import io.portico.schemas.SchemaService;
import java.util.ArrayList;
import java.util.List;

/**
 * v1 and v2 produce in a schema format (avro, jsonschema, protobuf): the request's
 * {@code key_schema}/{@code key_schema_id} and {@code value_schema}/{@code value_schema_id} are
 * resolved (a schema given as text is registered under {@code <topic>-key} / {@code <topic>-value},
 * the topic-name strategy), then every key and value, given as JSON, is serialized in its schema
 * and framed with its id — all before anything is sent, so a record that does not fit fails the
 * whole request (422) and nothing is produced, as Confluent's proxy does. Blocks on the registry
 * (bounded): call it from the produce pool.
 */
final class SchemaProduce {
    /** The schema fields of a v1/v2 produce body. */
    record Fields(String keySchema, Integer keySchemaId, String valueSchema, Integer valueSchemaId) {
    }

    /** The records ready to send, and the ids the answer shows (null where none was used). */
    record Encoded(List<ProduceRecord> records, Integer keySchemaId, Integer valueSchemaId) {
    }

    private SchemaProduce() {
    }

    /**
     * @param records keys and values as compact JSON text (the json embedded format's bytes)
     * @throws RestException 42201 / 42202 when keys / values come without their schema, 42203
     *         (avro) or 42207 when one does not fit its schema, 42205 for a schema that does not
     *         parse or that the registry refuses, 503 when the registry does not answer
     */
    /**
     * {@code work}'s result here when the schemas it looks up are cached, else {@code work} run on
     * {@code schemaPool}, where waiting for the registry holds up only requests that need it.
     */
    static <T> java.util.concurrent.CompletableFuture<T> cachedHereElseOn(java.util.concurrent.Executor schemaPool,
                                                                          java.util.function.Supplier<T> work) {
        try {
            return java.util.concurrent.CompletableFuture.completedFuture(SchemaService.cachedOnly(work));
        } catch (SchemaService.NeedsRegistry e) {
            return io.portico.proxy.http.Http.on(schemaPool,
                    () -> java.util.concurrent.CompletableFuture.completedFuture(work.get()));
        }
    }

    static Encoded encode(SchemaService schemas, EmbeddedFormat format, String topic, List<ProduceRecord> records,
                          Fields fields) {
        boolean anyKey = false;
        boolean anyValue = false;
        for (ProduceRecord r : records) {
            anyKey |= r.key() != null;
            anyValue |= r.value() != null;
        }
        if (anyKey && fields.keySchema() == null && fields.keySchemaId() == null) {
            throw ErrorCode.KEY_SCHEMA_MISSING.exception();
        }
        if (anyValue && fields.valueSchema() == null && fields.valueSchemaId() == null) {
            throw ErrorCode.VALUE_SCHEMA_MISSING.exception();
        }
        SchemaService.Resolved key = fields.keySchema() == null && fields.keySchemaId() == null ? null
                : schemas.forProduce(format, SchemaService.topicSubject(topic, true), fields.keySchema(), fields.keySchemaId());
        SchemaService.Resolved value = fields.valueSchema() == null && fields.valueSchemaId() == null ? null
                : schemas.forProduce(format, SchemaService.topicSubject(topic, false), fields.valueSchema(),
                        fields.valueSchemaId());
        long bytes = 0;
        for (ProduceRecord r : records) {
            bytes += (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
        }
        // The request's values share one budget for their JSON Schema patterns' work.
        List<ProduceRecord> out = SchemaService.patternsWithin(bytes, () -> {
            List<ProduceRecord> encoded = new ArrayList<>(records.size());
            for (int i = 0; i < records.size(); i++) {
                ProduceRecord r = records.get(i);
                encoded.add(new ProduceRecord(serialize(format, key, r.key(), "key", i),
                        serialize(format, value, r.value(), "value", i), r.partition()));
            }
            return encoded;
        });
        return new Encoded(out, key == null ? null : key.id(), value == null ? null : value.id());
    }

    private static byte[] serialize(EmbeddedFormat format, SchemaService.Resolved schema, byte[] json, String field,
                                    int index) {
        if (json == null) {
            return null;
        }
        try {
            return schema.serialize(json);
        } catch (ParsedSchema.InvalidDataException e) {
            String detail = "the " + field + " of record " + index + ": " + e.getMessage();
            throw format == EmbeddedFormat.AVRO ? ErrorCode.JSON_AVRO_CONVERSION_FAILED.exception(detail)
                    : ErrorCode.SERIALIZATION_ERROR.exception("Conversion of JSON to " + format.wireName()
                            + " failed: " + detail);
        }
    }
}
