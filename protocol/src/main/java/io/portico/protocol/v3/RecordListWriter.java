package io.portico.protocol.v3;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.portico.protocol.Base64Text;
import io.portico.protocol.BinaryRecords;
import io.portico.protocol.ByteChunks;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.Json;
import io.portico.protocol.RecordHeader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/**
 * Records read by offset in v3's shape, each in the shape a v3 produce takes, so a record read
 * can be produced again unchanged:
 * {@code {"kind":"KafkaRecordList","metadata":{"self":…,"next":…},"data":[{"kind":"KafkaRecord","cluster_id":…,"topic_name":…,"partition_id":…,"offset":…,"timestamp":…,"headers":[{"name":…,"value":base64|null}],"key":{"type":…,"data":…}|null,"value":…}]}}.
 * A key or value is written in the type asked for when its bytes are that type (JSON: one
 * well-formed JSON value; STRING: UTF-8), else as BINARY — each says its own type, so the bytes
 * always come back exactly.
 */
public final class RecordListWriter {
    private static final JsonFactory FACTORY = Json.mapper().getFactory();

    private RecordListWriter() {
    }

    /**
     * @param next the URL of the next page (reading on from the offset after the last record)
     */
    public static ByteChunks write(String clusterId, String topic, List<ConsumedRecord> records,
                                   ProduceRecord.Type keyType, ProduceRecord.Type valueType, String self, String next) {
        if (keyType == ProduceRecord.Type.BINARY && valueType == ProduceRecord.Type.BINARY && noHeaders(records)) {
            return BinaryRecords.v3List(head(self, next), recordHead(clusterId, topic), records);
        }
        return generated(clusterId, topic, records, keyType, valueType, self, next);
    }

    /** As {@link #write}, through Jackson's generator (any types, headers). */
    static ByteChunks generated(String clusterId, String topic, List<ConsumedRecord> records,
                                ProduceRecord.Type keyType, ProduceRecord.Type valueType, String self, String next) {
        long estimate = 128;
        for (ConsumedRecord r : records) {
            estimate += 200 + topic.length() + r.size() * 4L / 3;
        }
        ByteChunks.Builder out = new ByteChunks.Builder(estimate);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            listHead(g, self, next);
            for (ConsumedRecord r : records) {
                record(g, clusterId, topic, r, keyType, valueType);
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.build();
    }

    private static boolean noHeaders(List<ConsumedRecord> records) {
        for (ConsumedRecord r : records) {
            if (!r.headers().isEmpty()) {
                return false;
            }
        }
        return true;
    }

    /** The list up to its {@code "data":[}, as the generator writes it (the URLs escaped). */
    private static byte[] head(String self, String next) {
        return prefix(g -> listHead(g, self, next));
    }

    private static void listHead(JsonGenerator g, String self, String next) throws IOException {
        g.writeStartObject();
        g.writeStringField("kind", "KafkaRecordList");
        g.writeObjectFieldStart("metadata");
        g.writeStringField("self", self);
        g.writeStringField("next", next);
        g.writeEndObject();
        g.writeArrayFieldStart("data");
    }

    /** A record up to its {@code "partition_id":}, as {@link #record} writes it. */
    private static byte[] recordHead(String clusterId, String topic) {
        byte[] fields = prefix(g -> recordHead(g, clusterId, topic));
        byte[] partition = ",\"partition_id\":".getBytes(StandardCharsets.US_ASCII);
        byte[] head = java.util.Arrays.copyOf(fields, fields.length + partition.length);
        System.arraycopy(partition, 0, head, fields.length, partition.length);
        return head;
    }

    private static void recordHead(JsonGenerator g, String clusterId, String topic) throws IOException {
        g.writeStartObject();
        g.writeStringField("kind", "KafkaRecord");
        g.writeStringField("cluster_id", clusterId);
        g.writeStringField("topic_name", topic);
    }

    private interface Writes {
        void to(JsonGenerator g) throws IOException;
    }

    /** What {@code writes} puts out before the structure it opened is closed. */
    private static byte[] prefix(Writes writes) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_JSON_CONTENT); // closing must not end the open object
            writes.to(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * One record as {@link #write} writes each of its list: a {@code KafkaRecord} object (the
     * {@code data:} of a v3 read's Server-Sent Event).
     */
    public static byte[] record(String clusterId, String topic, ConsumedRecord r, ProduceRecord.Type keyType,
                                ProduceRecord.Type valueType) {
        ByteArrayBuilder out = new ByteArrayBuilder(256 + (int) Math.min(1 << 20, r.size() * 4L / 3));
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            record(g, clusterId, topic, r, keyType, valueType);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void record(JsonGenerator g, String clusterId, String topic, ConsumedRecord r,
                               ProduceRecord.Type keyType, ProduceRecord.Type valueType) throws IOException {
        recordHead(g, clusterId, topic);
        g.writeNumberField("partition_id", r.partition());
        g.writeNumberField("offset", r.offset());
        g.writeStringField("timestamp", timestamp(r.timestamp()));
        g.writeArrayFieldStart("headers");
        for (RecordHeader h : r.headers()) {
            g.writeStartObject();
            g.writeStringField("name", h.key());
            g.writeFieldName("value");
            if (h.value() == null) {
                g.writeNull();
            } else {
                Base64Text.writeString(g, h.value());
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        data(g, "key", r.key(), keyType);
        data(g, "value", r.value(), valueType);
        g.writeEndObject();
    }

    private static void data(JsonGenerator g, String field, byte[] bytes, ProduceRecord.Type asked) throws IOException {
        g.writeFieldName(field);
        if (bytes == null) {
            g.writeNull();
            return;
        }
        g.writeStartObject();
        // JSON only as a produce of it would store it (compact), so that the record posted again
        // is the same bytes; other JSON (spaces, other escapes) comes as BINARY.
        if (asked == ProduceRecord.Type.JSON && Json.isCompact(bytes)) {
            g.writeStringField("type", "JSON");
            g.writeFieldName("data");
            g.writeRawValue(new String(bytes, StandardCharsets.UTF_8));
        } else if (asked == ProduceRecord.Type.STRING && escapedLength(bytes) <= 2L * bytes.length + 16 && isUtf8(bytes)) {
            // At most twice its bytes written (quotes, backslashes and line breaks take two each):
            // within the room a read takes for it; a control character is a six-byte escape, and
            // a value of them would take far more.
            g.writeStringField("type", "STRING");
            g.writeStringField("data", new String(bytes, StandardCharsets.UTF_8));
        } else {
            g.writeStringField("type", "BINARY");
            g.writeFieldName("data");
            Base64Text.writeString(g, bytes);
        }
        g.writeEndObject();
    }


    /** {@code Instant.ofEpochMilli(millis).toString()}. */
    static String timestamp(long millis) {
        return BinaryRecords.isoTimestamp(millis);
    }

    /** The bytes of {@code bytes} as a JSON string's content (UTF-8 passes through; quotes, backslashes and controls are escaped). */
    static long escapedLength(byte[] bytes) {
        long n = 0;
        for (byte b : bytes) {
            if (b == '"' || b == '\\' || b == '\b' || b == '\t' || b == '\n' || b == '\f' || b == '\r') {
                n += 2;
            } else if (b >= 0 && b < 0x20) {
                n += 6;
            } else {
                n++;
            }
        }
        return n;
    }

    private static boolean isUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
