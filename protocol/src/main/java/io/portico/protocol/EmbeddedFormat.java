package io.portico.protocol;

import java.util.Locale;

/**
 * How keys and values are embedded in JSON bodies: base64 bytes, JSON text, or a schema format
 * (avro; jsonschema and protobuf from v2), which needs a schema registry.
 */
public enum EmbeddedFormat {
    BINARY, JSON, AVRO, JSONSCHEMA, PROTOBUF;

    /** Whether the format needs a schema registry (Portico has none yet). */
    public boolean needsSchemaRegistry() {
        return this == AVRO || this == JSONSCHEMA || this == PROTOBUF;
    }

    /** The lower-case name used in media types and in consumer {@code format} fields. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a consumer {@code format} field, case-insensitively; null when unknown. */
    public static EmbeddedFormat fromWireName(String name) {
        if (name == null) {
            return null;
        }
        for (EmbeddedFormat f : values()) {
            if (f.wireName().equalsIgnoreCase(name.trim())) {
                return f;
            }
        }
        return null;
    }
}
