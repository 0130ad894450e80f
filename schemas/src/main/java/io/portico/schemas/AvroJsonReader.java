package io.portico.schemas;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * Shows avro binary as avro's JSON encoder writes a datum (a union's branch named by its full
 * name, bytes and fixed as ISO-8859-1 text; a union that is the schema itself shows its branch
 * bare, as Confluent's proxy does), reading the bytes straight into the JSON: avro's
 * reader builds the whole datum first (a {@code GenericData.Record} for each item of a block
 * whose count a few bytes declare), and walks each array's item type once per path to its records
 * for every block it reads. Here an array or map may declare at most eight items per byte of the
 * record (at least 1,024, as {@code AvroFormat.check} allows), and the JSON stops at
 * {@link ParsedSchema#maxJsonBytes} (16 MiB, or eight times a larger record): each item read
 * writes some JSON, so that bounds the work too.
 *
 * <p>A map's entries are shown in the order of the bytes (avro's reader shows them in its
 * {@code HashMap}'s order); a map that has a key twice is not shown (no avro writer writes one).
 */
final class AvroJsonReader {
    /** A factory with Jackson's defaults, as avro's JSON encoder has: the same numbers, the same escapes. */
    private static final JsonFactory JSON = new JsonFactory();
    /** How deep values nest within one another; Jackson's default bound on a generator's nesting, which avro's encoder had. */
    private static final int MAX_DEPTH = 1000;

    /** A datum that cannot be shown within the bounds; the message says which. */
    static final class TooLarge extends IOException {
        private static final long serialVersionUID = 1L;

        TooLarge(String message) {
            super(message, null);
        }
    }

    private final BinaryDecoder in;
    private final JsonGenerator out;
    private final int length;
    private long items;

    private AvroJsonReader(BinaryDecoder in, JsonGenerator out, int length) {
        this.in = in;
        this.out = out;
        this.length = length;
        this.items = Math.max(1024, 8L * length);
    }

    /**
     * The JSON of the datum of {@code schema} in {@code bytes} from {@code offset} on.
     *
     * @throws IOException when the bytes are not a datum of the schema ({@link TooLarge} when it
     *         is beyond the bounds)
     */
    static byte[] toJson(Schema schema, byte[] bytes, int offset, int maxJsonBytes) throws IOException {
        int length = bytes.length - offset;
        DecodeRoom room = DecodeRoom.open();
        try {
            Bounded buffer = new Bounded(Math.min(maxJsonBytes, Math.max(64, length * 2)), maxJsonBytes, room);
            try (JsonGenerator g = JSON.createGenerator(buffer, JsonEncoding.UTF8)) {
                new AvroJsonReader(DecoderFactory.get().binaryDecoder(bytes, offset, length, null), g, length)
                        .write(schema, 0);
            }
            return buffer.bytes();
        } finally {
            room.close();
        }
    }

    private void write(Schema s, int depth) throws IOException {
        if (depth >= MAX_DEPTH) {
            throw new TooLarge("it nests too deeply (more than " + MAX_DEPTH + " levels)");
        }
        switch (s.getType()) {
            case NULL -> {
                in.readNull();
                out.writeNull();
            }
            case BOOLEAN -> out.writeBoolean(in.readBoolean());
            case INT -> out.writeNumber(in.readInt());
            case LONG -> out.writeNumber(in.readLong());
            case FLOAT -> out.writeNumber(in.readFloat());
            case DOUBLE -> out.writeNumber(in.readDouble());
            case STRING -> out.writeString(new String(lengthPrefixed(), StandardCharsets.UTF_8));
            case BYTES -> out.writeString(new String(lengthPrefixed(), StandardCharsets.ISO_8859_1));
            case FIXED -> {
                if (s.getFixedSize() > length) { // not read whole before its bytes are known to be there
                    throw new IOException("a fixed of " + s.getFixedSize() + " bytes in a datum of " + length);
                }
                byte[] b = new byte[s.getFixedSize()];
                in.readFixed(b);
                out.writeString(new String(b, StandardCharsets.ISO_8859_1));
            }
            case ENUM -> {
                int i = in.readEnum();
                if (i < 0 || i >= s.getEnumSymbols().size()) {
                    throw new IOException("enum index " + i + " is not a symbol of " + s.getFullName());
                }
                out.writeString(s.getEnumSymbols().get(i));
            }
            case UNION -> {
                int i = in.readIndex();
                if (i < 0 || i >= s.getTypes().size()) {
                    throw new IOException("union index " + i + " is not a branch of " + s);
                }
                Schema branch = s.getTypes().get(i);
                if (branch.getType() == Schema.Type.NULL) {
                    out.writeNull();
                    return;
                }
                if (depth == 0) {
                    // The key or value itself: shown bare, as Confluent's proxy shows it (its JSON
                    // encoder is made from the schema of the datum read, the branch).
                    write(branch, depth + 1);
                    return;
                }
                out.writeStartObject();
                out.writeFieldName(branch.getFullName());
                write(branch, depth + 1);
                out.writeEndObject();
            }
            case RECORD -> {
                out.writeStartObject();
                for (Schema.Field f : s.getFields()) {
                    out.writeFieldName(f.name());
                    write(f.schema(), depth + 1);
                }
                out.writeEndObject();
            }
            case ARRAY -> {
                out.writeStartArray();
                for (long n = in.readArrayStart(); n != 0; n = in.arrayNext()) {
                    take(n);
                    for (long i = 0; i < n; i++) {
                        write(s.getElementType(), depth + 1);
                    }
                }
                out.writeEndArray();
            }
            case MAP -> {
                out.writeStartObject();
                java.util.Set<String> keys = null;
                for (long n = in.readMapStart(); n != 0; n = in.mapNext()) {
                    take(n);
                    for (long i = 0; i < n; i++) {
                        String key = new String(lengthPrefixed(), StandardCharsets.UTF_8);
                        if (keys == null) {
                            keys = new java.util.HashSet<>();
                        }
                        if (!keys.add(key)) {
                            throw new IOException("a map has the key '" + key + "' twice");
                        }
                        out.writeFieldName(key);
                        write(s.getValueType(), depth + 1);
                    }
                }
                out.writeEndObject();
            }
        }
    }

    /**
     * A string's or bytes' content, read only once its declared length is known to fit in the
     * datum: avro's own reader makes an array of whatever length a record declares (up to 2 GiB
     * from five bytes) before it finds the bytes missing.
     */
    private byte[] lengthPrefixed() throws IOException {
        long n = in.readLong();
        if (n < 0 || n > length) {
            throw new IOException("a string or bytes of " + n + " bytes in a datum of " + length);
        }
        byte[] b = new byte[(int) n];
        in.readFixed(b);
        return b;
    }

    private void take(long n) throws TooLarge {
        if (n < 0 || n > items) {
            throw new TooLarge("an array or map declares more items than its bytes can hold");
        }
        items -= n;
    }

    /** A growing byte array that refuses to grow past its bound. */
    private static final class Bounded extends OutputStream {
        private byte[] buf;
        private int length;
        private final int max;
        private final DecodeRoom room;

        Bounded(int capacity, int max, DecodeRoom room) {
            room.need(2L * capacity);
            this.buf = new byte[capacity];
            this.max = max;
            this.room = room;
        }

        @Override
        public void write(int b) throws IOException {
            room(1);
            buf[length++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            room(len);
            System.arraycopy(b, off, buf, length, len);
            length += len;
        }

        private void room(int n) throws TooLarge {
            if (n > max - length) {
                throw new TooLarge("it would be shown as more than " + max + " bytes of JSON");
            }
            if (buf.length - length < n) {
                int grown = (int) Math.min(max, Math.max(2L * buf.length, (long) length + n));
                room.need(2L * grown); // the buffer, and its copy as the answer's bytes
                buf = Arrays.copyOf(buf, grown);
            }
        }

        byte[] bytes() {
            return length == buf.length ? buf : Arrays.copyOf(buf, length);
        }
    }
}
