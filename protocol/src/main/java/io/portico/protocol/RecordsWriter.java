package io.portico.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Writes read results as the v1 API shows them:
 * {@code [{"key":…,"value":…,"partition":0,"offset":0}]}, without building a tree. Binary renders
 * keys and values as base64 (standard alphabet, padded) or null, into an array of the exact size
 * (the hot path of reads); json embeds the stored bytes as JSON, after checking they are one
 * well-formed JSON value, through Jackson's generator.
 *
 * <p>Thread-safe; the output is {@link ByteChunks} (no array of a large read in one piece).
 */
public final class RecordsWriter {
    private static final JsonFactory FACTORY = Json.mapper().getFactory();

    private RecordsWriter() {
    }

    /**
     * The JSON array of {@code records} in {@code format}.
     *
     * @throws RestException 500/50002 when a stored key or value is not JSON and {@code format} is json
     */
    public static ByteChunks write(List<ConsumedRecord> records, EmbeddedFormat format, boolean withTopic) {
        if (format != EmbeddedFormat.JSON) {
            return BinaryRecords.write(records, withTopic);
        }
        long estimate = 2;
        for (ConsumedRecord r : records) {
            estimate += 72 + (withTopic ? r.topic().length() + 12 : 0) + r.size() * 4 / 3 + 8;
        }
        ByteChunks.Builder out = new ByteChunks.Builder(estimate);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartArray();
            for (ConsumedRecord r : records) {
                g.writeStartObject();
                if (withTopic) {
                    g.writeStringField("topic", r.topic());
                }
                writeData(g, "key", r.key(), r);
                writeData(g, "value", r.value(), r);
                g.writeNumberField("partition", r.partition());
                g.writeNumberField("offset", r.offset());
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.build();
    }

    /**
     * The JSON array of {@code records} as v2 shows them: {@code topic}, {@code key},
     * {@code value}, {@code partition}, {@code offset}, then, beyond Confluent's fields,
     * {@code timestamp} (milliseconds) and, for a record that has any, {@code headers} as
     * {@code [{"key":name,"value":base64}]}.
     *
     * @throws RestException 500/50002 when a stored key or value is not JSON and {@code format} is json
     */
    public static ByteChunks writeV2(List<ConsumedRecord> records, EmbeddedFormat format) {
        boolean headers = false;
        for (ConsumedRecord r : records) {
            headers |= !r.headers().isEmpty();
        }
        if (format != EmbeddedFormat.JSON && !headers) {
            return BinaryRecords.write(records, true, true);
        }
        ByteChunks.Builder out = new ByteChunks.Builder();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartArray();
            for (ConsumedRecord r : records) {
                g.writeStartObject();
                g.writeStringField("topic", r.topic());
                if (format == EmbeddedFormat.JSON) {
                    writeData(g, "key", r.key(), r);
                    writeData(g, "value", r.value(), r);
                } else {
                    writeBase64(g, "key", r.key());
                    writeBase64(g, "value", r.value());
                }
                g.writeNumberField("partition", r.partition());
                g.writeNumberField("offset", r.offset());
                g.writeNumberField("timestamp", r.timestamp());
                if (!r.headers().isEmpty()) {
                    g.writeArrayFieldStart("headers");
                    for (RecordHeader h : r.headers()) {
                        g.writeStartObject();
                        g.writeStringField("key", h.key());
                        writeBase64(g, "value", h.value());
                        g.writeEndObject();
                    }
                    g.writeEndArray();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.build();
    }

    private static void writeBase64(JsonGenerator g, String field, byte[] data) throws IOException {
        g.writeFieldName(field);
        if (data == null) {
            g.writeNull();
        } else {
            Base64Text.writeString(g, data);
        }
    }

    private static void writeData(JsonGenerator g, String field, byte[] data, ConsumedRecord r) throws IOException {
        g.writeFieldName(field);
        if (data == null) {
            g.writeNull();
            return;
        }
        // Written as stored, never parsed further: as deep as the records endpoint stores it.
        if (!Json.isWellFormedAsIs(data)) {
            throw ErrorCode.KAFKA_ERROR.exception("the " + field + " of the record at offset " + r.offset()
                    + " of partition " + r.partition() + " is not JSON; read it in the binary embedded format");
        }
        g.writeRawValue(new String(data, java.nio.charset.StandardCharsets.UTF_8));
    }
}
