package io.portico.schemas;

import io.portico.protocol.EmbeddedFormat;

/** The three schema types of a Confluent-compatible registry, as its {@code schemaType} field names them. */
public enum SchemaType {
    AVRO(EmbeddedFormat.AVRO), JSON(EmbeddedFormat.JSONSCHEMA), PROTOBUF(EmbeddedFormat.PROTOBUF);

    private final EmbeddedFormat format;

    SchemaType(EmbeddedFormat format) {
        this.format = format;
    }

    /** The embedded format of this type (avro, jsonschema, protobuf). */
    public EmbeddedFormat format() {
        return format;
    }

    /** The type of a schema embedded format; null for binary and json. */
    public static SchemaType of(EmbeddedFormat format) {
        for (SchemaType t : values()) {
            if (t.format == format) {
                return t;
            }
        }
        return null;
    }

    /** The registry's {@code schemaType}: absent means avro, as in Confluent's API. */
    static SchemaType fromRegistry(String schemaType) {
        if (schemaType == null || schemaType.isEmpty()) {
            return AVRO;
        }
        for (SchemaType t : values()) {
            if (t.name().equalsIgnoreCase(schemaType)) {
                return t;
            }
        }
        return null;
    }
}
