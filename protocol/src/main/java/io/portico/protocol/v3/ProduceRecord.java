package io.portico.protocol.v3;

import io.portico.protocol.RecordHeader;
import java.util.List;

/**
 * One record of a v3 produce, as parsed from its JSON object: the partition it asks for (null:
 * the producer's partitioner), its headers (a name may repeat), its key and value (null when
 * absent from the request), and its timestamp in milliseconds since the epoch (null: now).
 *
 * @param bytes the size of the record's JSON object in the request, for the memory budgets
 */
public record ProduceRecord(Integer partitionId, List<RecordHeader> headers, Data key, Data value, Long timestamp,
                            int bytes) {

    /** The types a key or value may take: three without a schema registry, three with one. */
    public enum Type {
        BINARY, JSON, STRING, AVRO, JSONSCHEMA, PROTOBUF;

        /** Whether the type needs a schema registry. */
        public boolean schema() {
            return this == AVRO || this == JSONSCHEMA || this == PROTOBUF;
        }
    }

    /**
     * A key or value as given: its type and the bytes Kafka stores (null for JSON {@code null} or
     * absent {@code data}). A key or value of a schema format (with a schema registry) carries its
     * {@link SchemaRef}: as parsed, its {@code serialized} bytes are the data's JSON text and
     * {@code type} may be null (the registry's schema decides); once serialized in its schema
     * (by the handler), the bytes are Kafka's and the ref says which subject, id and version.
     */
    public record Data(Type type, byte[] serialized, SchemaRef schema, int size) {
        public Data(Type type, byte[] serialized) {
            this(type, serialized, null);
        }

        public Data(Type type, byte[] serialized, SchemaRef schema) {
            // A null key or value is reported with size -1, as Confluent's proxy reports Kafka's
            // serialized size of one (an empty one is 0).
            this(type, serialized, schema, serialized == null ? -1 : serialized.length);
        }

        /**
         * What a delivery report needs of it once Kafka has it: type, schema and size, without the
         * bytes (a report waiting to be written holds no record data).
         */
        public Data withoutBytes() {
            return serialized == null ? this : new Data(type, null, schema, size);
        }

        /** Whether this is a schema format's data still to be serialized in its schema. */
        public boolean needsSchema() {
            return schema != null && !schema.resolved();
        }
    }

    /**
     * The schema fields of a key or value: as asked ({@code subject} or
     * {@code subject_name_strategy}; {@code schema_id}, {@code schema_version} or a raw
     * {@code schema}), or once resolved the subject, id and version used (what the delivery
     * report shows; {@code version} null when unknown).
     */
    public record SchemaRef(String subject, String subjectNameStrategy, Integer schemaId, Integer schemaVersion,
                            String rawSchema, boolean resolved) {
        /** The subject, id and version a serialized key or value was produced with. */
        public static SchemaRef resolved(String subject, int id, Integer version) {
            return new SchemaRef(subject, null, id, version, null, true);
        }
    }

    /** This record with another key and value (the same partition, headers, timestamp and size). */
    public ProduceRecord with(Data key, Data value) {
        return new ProduceRecord(partitionId, headers, key, value, timestamp, bytes);
    }

    /** This record as its delivery report needs it: no key, value or header bytes. */
    public ProduceRecord withoutBytes() {
        return new ProduceRecord(partitionId, List.of(), key == null ? null : key.withoutBytes(),
                value == null ? null : value.withoutBytes(), timestamp, bytes);
    }

    /** The key's bytes, or null. */
    public byte[] keyBytes() {
        return key == null ? null : key.serialized();
    }

    /** The value's bytes, or null. */
    public byte[] valueBytes() {
        return value == null ? null : value.serialized();
    }

    /**
     * Heap a header takes beyond its name's characters and its value's bytes: its record, its
     * name's string, its value's array and the list's slot (and Kafka's own header object once sent).
     */
    public static final int HEADER_OVERHEAD = 96;

    /**
     * Key, value and header bytes: what the record holds while it waits for its acknowledgement.
     * Each header counts {@link #HEADER_OVERHEAD} more, so that many tiny headers (tens of
     * thousands of {@code {"name":""}} in one record) count for the heap they take.
     */
    public long payloadBytes() {
        long n = (key == null ? 0 : key.size()) + (value == null ? 0 : value.size());
        for (RecordHeader h : headers) {
            n += HEADER_OVERHEAD + 2L * h.key().length() + (h.value() == null ? 0 : h.value().length);
        }
        return n;
    }
}
