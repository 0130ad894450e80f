package io.portico.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/**
 * Avro as Confluent's REST Proxy and serializers use it: keys and values are given in avro's
 * JSON encoding (a union's branch named, {@code {"int": 25}}), stored as avro binary, and shown
 * again in avro's JSON encoding, except that a union which is the schema itself is shown as its
 * branch bare ({@code "abc"} for {@code ["null","string"]}), as Confluent's proxy shows it.
 */
final class AvroFormat implements ParsedSchema {
    private final Schema schema;
    private final String canonical;
    private final Reader reader;
    private final GenericDatumWriter<Object> writer;
    private final AvroJsonWriter json;

    private AvroFormat(Schema schema, long expanded) {
        this.schema = schema;
        this.keepsDecoder = expanded <= KEPT_DECODER_MAX_EXPANDED;
        this.canonical = schema.toString();
        this.reader = new Reader(schema);
        this.writer = new GenericDatumWriter<>(schema);
        this.json = new AvroJsonWriter(schema);
    }

    /** @throws InvalidSchemaException when {@code text} is not an avro schema */
    static AvroFormat parse(String text) {
        return parse(text, java.util.Map.of());
    }

    /**
     * An avro schema that may use the named types {@code references} define (by reference name,
     * each after the ones it uses itself), as Confluent's serializers resolve them.
     *
     * @throws InvalidSchemaException when {@code text} or a reference is not an avro schema
     */
    static AvroFormat parse(String text, java.util.Map<String, String> references) {
        return parse(text, references, true);
    }

    /**
     * As {@link #parse(String, java.util.Map)}; {@code validateDefaults} false for a schema the
     * registry already holds, as Confluent's serializers read those: a registry may hold schemas
     * registered before avro checked fields' defaults, and their records must stay readable.
     */
    static AvroFormat parse(String text, java.util.Map<String, String> references, boolean validateDefaults) {
        Schema.Parser parser = new Schema.Parser().setValidateDefaults(validateDefaults);
        for (java.util.Map.Entry<String, String> reference : references.entrySet()) {
            try {
                parser.parse(reference.getValue());
            } catch (RuntimeException e) {
                throw new InvalidSchemaException("its reference '" + reference.getKey() + "': " + message(e));
            }
        }
        Schema schema;
        try {
            schema = parser.parse(text);
        } catch (RuntimeException e) {
            // SchemaParseException, and the JSON parser's errors of a text that is not JSON at all.
            throw new InvalidSchemaException(message(e));
        }
        long expanded;
        try {
            expanded = AvroPaths.requireBounded(schema);
        } catch (StackOverflowError e) {
            throw new InvalidSchemaException("its records nest too deeply to be read");
        }
        return new AvroFormat(schema, expanded);
    }

    @Override
    public SchemaType type() {
        return SchemaType.AVRO;
    }

    @Override
    public String canonical() {
        return canonical;
    }

    @Override
    public String recordName() {
        // Only a record has one, as Confluent's AvroSchema.name() says: a "string", an enum or a
        // union gives a record-name strategy no subject.
        return schema.getType() == Schema.Type.RECORD ? schema.getFullName() : null;
    }

    @Override
    public byte[] encode(byte[] json) {
        byte[] written = this.json.write(json, 0);
        return written != null ? written : throughAvro(json);
    }

    @Override
    public byte[] encodeFramed(int id, byte[] json) {
        byte[] framed = this.json.write(json, Framing.HEADER);
        if (framed == null) {
            return Framing.frame(id, throughAvro(json));
        }
        Framing.writeHeader(id, framed);
        return framed;
    }

    /**
     * {@code json} read by avro's JSON decoder into a datum and written by its binary encoder: the
     * reference for every value, and the path of those {@link AvroJsonWriter} does not take.
     */
    byte[] throughAvro(byte[] json) {
        return JsonTokens.built(json, this::throughAvroTree); // the tree, counted while it is built and used
    }

    private byte[] throughAvroTree(byte[] json) {
        Object datum;
        String text = new String(json, StandardCharsets.UTF_8);
        // A JSON decoder and the resolving decoder over it each lay out the schema's grammar when
        // made: one pair is kept for the next value (of a schema whose grammar is small: kept
        // decoders are not counted in the schema caches).
        Decoders decoders = keepsDecoder ? jsonDecoders.poll() : null;
        try {
            if (decoders == null) {
                org.apache.avro.io.JsonDecoder fromJson = DecoderFactory.get().jsonDecoder(schema, text);
                decoders = new Decoders(fromJson, DecoderFactory.get().resolvingDecoder(schema, schema, fromJson));
            } else {
                decoders.json().configure(text);
                decoders.resolving().configure(decoders.json());
            }
            datum = reader.read(decoders.resolving());
        } catch (IOException | RuntimeException e) {
            throw new InvalidDataException(message(e));
        } finally {
            keep(decoders);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(16, json.length / 2));
        try {
            BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
            writer.write(datum, encoder);
            encoder.flush();
        } catch (IOException | RuntimeException e) {
            throw new InvalidDataException(message(e));
        }
        return out.toByteArray();
    }

    /** How deep {@link #check} follows records, unions, arrays and maps within one another. */
    private static final int CHECK_MAX_DEPTH = 256;
    /** JSON decoders kept for {@link #throughAvro} per schema (each holds the schema's grammar). */
    private static final int KEPT_DECODERS = 1;
    /** Schemas laid out in at most this many fields keep a decoder (its grammar a few hundred KB at most). */
    private static final long KEPT_DECODER_MAX_EXPANDED = 10_000;
    private final boolean keepsDecoder;
    private final java.util.concurrent.ConcurrentLinkedQueue<Decoders> jsonDecoders =
            new java.util.concurrent.ConcurrentLinkedQueue<>();

    /** A JSON decoder of the schema and the resolving decoder reading through it. */
    private record Decoders(org.apache.avro.io.JsonDecoder json, org.apache.avro.io.ResolvingDecoder resolving) {
    }

    /**
     * Avro's generic reader, given its resolving decoder. Its own {@code read(reuse, decoder)}
     * keeps what it builds for a schema in avro's static caches, uncounted: a fast reader per
     * record schema for the whole process (avro 1.12's default), or a resolving decoder per
     * schema and thread, each holding the schema its cache holds weakly, so never let go of: every
     * schema parsed (again after the schema caches evicted it) stayed in memory for good.
     */
    private static final class Reader extends GenericDatumReader<Object> {
        Reader(Schema schema) {
            super(schema);
        }

        Object read(org.apache.avro.io.ResolvingDecoder in) throws IOException {
            Object datum = read(null, getExpected(), in);
            in.drain();
            return datum;
        }
    }

    /** Keeps {@code decoders} for the next value, if there is room, holding no text of the last one. */
    private void keep(Decoders decoders) {
        if (decoders == null || !keepsDecoder || jsonDecoders.size() >= KEPT_DECODERS) {
            return;
        }
        try {
            decoders.json().configure("null"); // lets go of the last value's text and parser
        } catch (IOException | RuntimeException e) {
            return;
        }
        jsonDecoders.offer(decoders);
    }

    /**
     * Walks the datum without building it (a client's bytes may declare billions of empty
     * items in a few bytes): its arrays and maps may hold at most eight items per byte of the
     * message (at least 1,024), and nest at most {@value #CHECK_MAX_DEPTH} deep.
     */
    @Override
    public void check(byte[] message, boolean json) {
        if (json) {
            encode(message);
            return;
        }
        try {
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(message, null);
            walk(schema, decoder, new long[] {Math.max(1024, 8L * message.length),
                    AvroPaths.MAX_EXPANDED + 64L * message.length}, 0);
            if (!decoder.isEnd()) {
                throw new InvalidDataException("bytes follow the avro datum of schema " + schema.getFullName());
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof InvalidDataException invalid) {
                throw invalid;
            }
            throw new InvalidDataException("its bytes are not avro of schema " + schema.getFullName() + ": " + message(e));
        }
    }

    /**
     * Reads past one datum of {@code s}, checking enum and union indexes; {@code items[0]} is what
     * arrays and maps may still hold, {@code items[1]} the steps the walk may still take (items
     * of no bytes, say empty records, could otherwise multiply the work past what the bytes pay for).
     */
    private static void walk(Schema s, org.apache.avro.io.Decoder in, long[] items, int depth) throws IOException {
        if (depth > CHECK_MAX_DEPTH) {
            throw new InvalidDataException("it nests deeper than " + CHECK_MAX_DEPTH);
        }
        if (--items[1] < 0) {
            throw new InvalidDataException("its avro datum takes more steps to check than its bytes allow");
        }
        switch (s.getType()) {
            case NULL -> in.readNull();
            case BOOLEAN -> in.readBoolean();
            case INT -> in.readInt();
            case LONG -> in.readLong();
            case FLOAT -> in.readFloat();
            case DOUBLE -> in.readDouble();
            case STRING, BYTES -> skipLengthAndBytes(in);
            case FIXED -> in.skipFixed(s.getFixedSize());
            case ENUM -> {
                int i = in.readEnum();
                if (i < 0 || i >= s.getEnumSymbols().size()) {
                    throw new InvalidDataException("enum index " + i + " is not a symbol of " + s.getFullName());
                }
            }
            case UNION -> {
                int i = in.readIndex();
                if (i < 0 || i >= s.getTypes().size()) {
                    throw new InvalidDataException("union index " + i + " is not a branch of " + s);
                }
                walk(s.getTypes().get(i), in, items, depth + 1);
            }
            case RECORD -> {
                for (Schema.Field f : s.getFields()) {
                    walk(f.schema(), in, items, depth + 1);
                }
            }
            case ARRAY -> {
                for (long n = in.readArrayStart(); n != 0; n = in.arrayNext()) {
                    take(items, n);
                    for (long i = 0; i < n; i++) {
                        walk(s.getElementType(), in, items, depth + 1);
                    }
                }
            }
            case MAP -> {
                for (long n = in.readMapStart(); n != 0; n = in.mapNext()) {
                    take(items, n);
                    for (long i = 0; i < n; i++) {
                        skipLengthAndBytes(in); // the key
                        walk(s.getValueType(), in, items, depth + 1);
                    }
                }
            }
        }
    }

    /**
     * Reads past a string or bytes: its length, then that many bytes. Not avro's
     * {@code skipString}/{@code skipBytes}: they skip a negative length as none, where every
     * reader refuses it. (An array's or map's negative block count is avro's own: the count
     * negated, followed by the block's size in bytes, which the decoder reads.)
     */
    private static void skipLengthAndBytes(org.apache.avro.io.Decoder in) throws IOException {
        long length = in.readLong();
        if (length < 0) {
            throw new IOException("Malformed data. Length is negative: " + length); // avro's readers' words
        }
        if (length > Integer.MAX_VALUE) {
            throw new java.io.EOFException(); // more than any message holds
        }
        in.skipFixed((int) length); // fails with EOFException past the message's end
    }

    private static void take(long[] items, long n) {
        if (n < 0 || n > items[0]) {
            throw new InvalidDataException("an array or map declares more items than its bytes can hold");
        }
        items[0] -= n;
    }

    /**
     * {@inheritDoc} Read by {@link AvroJsonReader}, not by avro's reader: an array or map may
     * declare at most eight items per byte of the record (at least 1,024), and the JSON may take
     * at most {@link ParsedSchema#maxJsonBytes} (16 MiB, or eight times a larger record).
     */
    @Override
    public byte[] toJson(byte[] framed) {
        try {
            return AvroJsonReader.toJson(schema, framed, Framing.HEADER, ParsedSchema.maxJsonBytes(framed.length));
        } catch (AvroJsonReader.TooLarge e) {
            throw new InvalidDataException("its avro datum of schema " + schema.getFullName() + " cannot be shown: "
                    + e.getMessage());
        } catch (io.portico.protocol.RestException e) {
            throw e; // no room to decode it now (503): the record is fine
        } catch (IOException | RuntimeException e) {
            throw new InvalidDataException("its bytes are not avro of schema " + schema.getFullName() + ": " + message(e));
        } catch (StackOverflowError e) {
            // A recursive schema (a linked list, a tree) and a datum nested deeper than the stack takes.
            throw new InvalidDataException("its avro datum of schema " + schema.getFullName()
                    + " nests too deeply to be read");
        }
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int at = m.indexOf(" at [Source:");
        m = at < 0 ? m : m.substring(0, at);
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
