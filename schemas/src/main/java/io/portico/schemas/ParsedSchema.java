package io.portico.schemas;

/**
 * A schema parsed once and kept: it turns a key or value given as JSON into the payload
 * Confluent's serializer of its type writes after the magic byte and schema id, and a stored
 * record back into the JSON Confluent's REST Proxy shows. Implementations are immutable and
 * thread-safe.
 */
public interface ParsedSchema {
    SchemaType type();

    /**
     * The text registered for it: for a schema given as text, the normalized form Portico
     * registers (as Confluent's serializers do); for one fetched from the registry, the registry's
     * own text.
     */
    String canonical();

    /** The other registered schemas it uses, as the registry lists them with it; none for most. */
    default java.util.List<RegistryClient.Reference> references() {
        return java.util.List.of();
    }

    /**
     * The name the record-name subject strategies use: an avro record's full name, a protobuf
     * file's first message with its package, a JSON schema's {@code title}; null when it has none.
     */
    String recordName();

    /**
     * The payload of {@code json} (compact JSON text) in this schema.
     *
     * @throws InvalidDataException when the JSON does not fit the schema, saying why
     */
    byte[] encode(byte[] json);

    /**
     * {@link #encode} framed with {@code id} as Confluent's serializers frame it.
     *
     * @throws InvalidDataException when the JSON does not fit the schema, saying why
     */
    default byte[] encodeFramed(int id, byte[] json) {
        return Framing.frame(id, encode(json));
    }

    /**
     * The most JSON {@link #toJson} shows one key or value as: 16 MiB, as large as the largest
     * request body Portico takes by default, and more than six times the largest record a Kafka
     * broker takes by default (1 MiB; six is the most avro's and protobuf's JSON take for a byte, as
     * {@code \u0000}). A record is decoded before the consume side counts it against its memory
     * budget, so without this bound a few bytes that declare millions of items, or a long name
     * repeated as often, would build gigabytes on a shared thread first.
     */
    int MAX_JSON_BYTES = 16 << 20;

    /**
     * The most JSON a record of {@code recordBytes} may be shown as: {@link #MAX_JSON_BYTES}, or
     * eight times the record for a larger one (a byte may take six as JSON, {@code \u0000}), so
     * that a large record of ordinary bytes is still shown while a small one that declares
     * millions of items is not.
     */
    static int maxJsonBytes(int recordBytes) {
        return (int) Math.min(Integer.MAX_VALUE - 16, Math.max(MAX_JSON_BYTES, 8L * recordBytes));
    }

    /**
     * The JSON text of a framed record's payload ({@code framed} from {@link Framing#HEADER} on).
     *
     * @throws InvalidDataException when the bytes are not a datum of this schema, or it would be
     *         shown as more than {@link #maxJsonBytes} bytes of JSON
     */
    byte[] toJson(byte[] framed);

    /**
     * Checks a message written in this schema's own encoding, unframed, as IBM's REST producer
     * takes a body with a named schema: its JSON form when {@code json}, else its binary form
     * (avro binary, a protobuf message of the schema's first type, JSON Schema's JSON text).
     *
     * @throws InvalidDataException when it is not one whole datum of this schema, saying why
     */
    void check(byte[] message, boolean json);

    /** A key or value that does not fit its schema; the message says why. */
    final class InvalidDataException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public InvalidDataException(String message) {
            super(message, null, false, false);
        }
    }

    /** A schema text that does not parse as its type; the message says why. */
    final class InvalidSchemaException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public InvalidSchemaException(String message) {
            super(message, null, false, false);
        }
    }
}
