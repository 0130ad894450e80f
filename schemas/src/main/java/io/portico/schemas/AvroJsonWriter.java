package io.portico.schemas;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SystemLimitException;
import org.apache.avro.generic.GenericData;

/**
 * Writes a value given in avro's JSON encoding straight as avro binary, walking the schema along
 * the JSON: no avro {@code JsonDecoder} (which builds a JSON factory, a parser and a grammar stack
 * for every value) and no datum in between. It takes only values in the shape avro's own JSON
 * encoder writes: a record's fields all present, in the schema's order, by their names and
 * nothing else; a union as {@code null} or an object of one branch; integers as JSON integers;
 * maps of at most one entry. For any other value, and for every value of a schema that avro's
 * reader checks in ways this writer does not (see {@link #takes}), it answers null, and the
 * caller takes avro's own path, whose verdict and bytes stand. For every value it takes, avro's path writes the same
 * bytes ({@code AvroJsonWriterTest} holds the two side by side).
 *
 * <p>Why maps of more than one entry go to avro: avro reads a map into a {@code HashMap} and
 * writes its entries in that map's order, not the order they were given in.
 */
final class AvroJsonWriter {
    /** A factory with Jackson's defaults, as avro's JSON decoder has: the same numbers, the same text. */
    private static final JsonFactory JSON = new JsonFactory();

    /** Avro's system properties that bound what its reader takes; when one is set, avro's path decides every value. */
    private static final List<String> AVRO_LIMITS = List.of(SystemLimitException.MAX_BYTES_LENGTH_PROPERTY,
            SystemLimitException.MAX_COLLECTION_LENGTH_PROPERTY, SystemLimitException.MAX_STRING_LENGTH_PROPERTY,
            SystemLimitException.MAX_COLLECTION_ALLOCATION_PROPERTY);

    private final Schema schema;
    /** False when avro's path must decide every value of the schema (see {@link #takes}). */
    private final boolean enabled;

    AvroJsonWriter(Schema schema) {
        this.schema = schema;
        this.enabled = AVRO_LIMITS.stream().noneMatch(p -> System.getProperty(p) != null)
                && takes(schema, Collections.newSetFromMap(new IdentityHashMap<>()), new IdentityHashMap<>());
    }

    /** Whether this writer takes any value of its schema (else every value goes to avro's path). */
    boolean enabled() {
        return enabled;
    }

    /**
     * Whether this writer may take values of {@code s}: not when avro's reader refuses something in
     * it that the JSON alone does not show, which are an {@code avro.java.string} property it does
     * not know (it refuses every value) and arrays or maps of items that encode to no bytes (it
     * bounds how many it takes by the heap). Which items encode to no bytes is answered once per
     * record ({@link AvroPaths#zeroBytes}): avro's own answer walks a record once per path to it.
     */
    private static boolean takes(Schema s, Set<Schema> seen, Map<Schema, Boolean> zeroBytes) {
        switch (s.getType()) {
            case STRING:
                return knownStringType(s);
            case MAP:
                return knownStringType(s) && !AvroPaths.zeroBytes(s.getValueType(), zeroBytes)
                        && takes(s.getValueType(), seen, zeroBytes);
            case ARRAY:
                return !AvroPaths.zeroBytes(s.getElementType(), zeroBytes) && takes(s.getElementType(), seen, zeroBytes);
            case UNION:
                return s.getTypes().stream().allMatch(t -> takes(t, seen, zeroBytes));
            case RECORD:
                return !seen.add(s) || s.getFields().stream().allMatch(f -> takes(f.schema(), seen, zeroBytes));
            default:
                return true;
        }
    }

    private static boolean knownStringType(Schema s) {
        String type = s.getProp(GenericData.STRING_PROP);
        return type == null || Arrays.stream(GenericData.StringType.values()).anyMatch(t -> t.name().equals(type));
    }

    /**
     * The avro binary of {@code json} after {@code headerRoom} bytes left zero for the caller, or
     * null when the value is not in the shape this writer takes (it may still be valid).
     */
    byte[] write(byte[] json, int headerRoom) {
        if (!enabled) {
            return null;
        }
        Out out = new Out(headerRoom + json.length + 16, headerRoom);
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() == null || !write(schema, p, out)) {
                return null;
            }
        } catch (IOException | RuntimeException e) {
            return null; // avro's path says what is wrong
        }
        return out.bytes();
    }

    /** Writes the value at the parser's current token; on return the parser is at the value's last token. */
    private static boolean write(Schema s, JsonParser p, Out out) throws IOException {
        JsonToken t = p.currentToken();
        switch (s.getType()) {
            case NULL:
                return t == JsonToken.VALUE_NULL;
            case BOOLEAN:
                if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
                    return false;
                }
                out.put(t == JsonToken.VALUE_TRUE ? 1 : 0);
                return true;
            case INT:
                if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT) {
                    return false;
                }
                out.varLong(zigZag(p.getIntValue()));
                return true;
            case LONG:
                if (t != JsonToken.VALUE_NUMBER_INT || (p.getNumberType() != JsonParser.NumberType.INT
                        && p.getNumberType() != JsonParser.NumberType.LONG)) {
                    return false;
                }
                out.varLong(zigZag(p.getLongValue()));
                return true;
            case FLOAT:
                if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
                    return false;
                }
                out.littleEndian(Float.floatToRawIntBits(p.getFloatValue()), 4);
                return true;
            case DOUBLE:
                if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
                    return false;
                }
                out.littleEndian(Double.doubleToRawLongBits(p.getDoubleValue()), 8);
                return true;
            case STRING:
                if (t != JsonToken.VALUE_STRING) {
                    return false;
                }
                out.lengthAndBytes(p.getText().getBytes(StandardCharsets.UTF_8));
                return true;
            case BYTES:
                if (t != JsonToken.VALUE_STRING) {
                    return false;
                }
                out.lengthAndBytes(p.getText().getBytes(StandardCharsets.ISO_8859_1));
                return true;
            case FIXED: {
                if (t != JsonToken.VALUE_STRING) {
                    return false;
                }
                byte[] bytes = p.getText().getBytes(StandardCharsets.ISO_8859_1);
                if (bytes.length != s.getFixedSize()) {
                    return false;
                }
                out.put(bytes);
                return true;
            }
            case ENUM: {
                if (t != JsonToken.VALUE_STRING || !s.hasEnumSymbol(p.getText())) {
                    return false;
                }
                out.varLong(zigZag(s.getEnumOrdinal(p.getText())));
                return true;
            }
            case UNION:
                return union(s, p, out);
            case RECORD:
                return record(s, p, out);
            case ARRAY:
                return array(s, p, out);
            case MAP:
                return map(s, p, out);
            default:
                return false;
        }
    }

    private static boolean union(Schema s, JsonParser p, Out out) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            Integer index = s.getIndexNamed("null");
            if (index == null) {
                return false;
            }
            out.varLong(zigZag(index));
            return true;
        }
        if (p.currentToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME) {
            return false;
        }
        Integer index = s.getIndexNamed(p.currentName());
        if (index == null) {
            return false;
        }
        out.varLong(zigZag(index));
        p.nextToken();
        return write(s.getTypes().get(index), p, out) && p.nextToken() == JsonToken.END_OBJECT;
    }

    private static boolean record(Schema s, JsonParser p, Out out) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            return false;
        }
        List<Schema.Field> fields = s.getFields();
        for (int i = 0; i < fields.size(); i++) {
            Schema.Field field = fields.get(i);
            if (p.nextToken() != JsonToken.FIELD_NAME || !field.name().equals(p.currentName())) {
                return false;
            }
            p.nextToken();
            if (!write(field.schema(), p, out)) {
                return false;
            }
        }
        return p.nextToken() == JsonToken.END_OBJECT;
    }

    /** Avro's blocks: the item count (when not zero), the items, then a zero count. */
    private static boolean array(Schema s, JsonParser p, Out out) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            return false;
        }
        int start = out.length;
        long count = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (!write(s.getElementType(), p, out)) {
                return false;
            }
            count++;
        }
        if (count > 0) {
            out.insertVarLong(start, zigZag(count));
        }
        out.put(0);
        return true;
    }

    private static boolean map(Schema s, JsonParser p, Out out) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            return false;
        }
        if (p.nextToken() == JsonToken.END_OBJECT) {
            out.put(0);
            return true;
        }
        // p is at the one key
        out.varLong(zigZag(1));
        out.lengthAndBytes(p.currentName().getBytes(StandardCharsets.UTF_8));
        p.nextToken();
        if (!write(s.getValueType(), p, out) || p.nextToken() != JsonToken.END_OBJECT) {
            return false; // a second entry, or a value not taken here
        }
        out.put(0);
        return true;
    }

    private static long zigZag(long n) {
        return (n << 1) ^ (n >> 63);
    }

    /** A growing byte array. */
    private static final class Out {
        byte[] buf;
        int length;

        Out(int capacity, int start) {
            buf = new byte[capacity];
            length = start;
        }

        private void room(int n) {
            if (buf.length - length < n) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, length + n));
            }
        }

        void put(int b) {
            room(1);
            buf[length++] = (byte) b;
        }

        void put(byte[] bytes) {
            room(bytes.length);
            System.arraycopy(bytes, 0, buf, length, bytes.length);
            length += bytes.length;
        }

        void varLong(long n) {
            room(10);
            while ((n & ~0x7FL) != 0) {
                buf[length++] = (byte) ((n & 0x7F) | 0x80);
                n >>>= 7;
            }
            buf[length++] = (byte) n;
        }

        /** Inserts the varint of {@code n} at {@code at}, moving what follows it. */
        void insertVarLong(int at, long n) {
            int end = length;
            varLong(n);
            int size = length - end;
            byte[] encoded = Arrays.copyOfRange(buf, end, length);
            System.arraycopy(buf, at, buf, at + size, end - at);
            System.arraycopy(encoded, 0, buf, at, size);
        }

        void littleEndian(long bits, int bytes) {
            room(bytes);
            for (int i = 0; i < bytes; i++) {
                buf[length++] = (byte) (bits >>> (8 * i));
            }
        }

        void lengthAndBytes(byte[] bytes) {
            varLong(zigZag(bytes.length));
            put(bytes);
        }

        byte[] bytes() {
            return length == buf.length ? buf : Arrays.copyOf(buf, length);
        }
    }
}
