package io.portico.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.Collection;
import java.util.EnumMap;
import java.util.Map;

/**
 * The one Jackson setup of Portico, and the translation of every body-parsing failure into a
 * {@link RestException}: malformed JSON is a 400; a well-formed body that does not fit (not an
 * object, unknown field, wrong type, bad base64, empty records) is a 422 whose message says which
 * field and why.
 * Parser source locations are never echoed back.
 */
public final class Json {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    private Json() {
    }

    /** The shared mapper: thread-safe; do not reconfigure it. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /**
     * Whether a request body says nothing: empty, white space, or the JSON literal {@code null}
     * between white space (JavaScript's {@code JSON.stringify(null)} for "no options"), which
     * Confluent's proxy reads as no body too.
     */
    public static boolean isEmptyOrNull(byte[] body) {
        int start = 0;
        int end = body.length;
        while (start < end && isWhitespace(body[start])) {
            start++;
        }
        while (end > start && isWhitespace(body[end - 1])) {
            end--;
        }
        return end == start || end - start == 4 && body[start] == 'n' && body[start + 1] == 'u' && body[start + 2] == 'l'
                && body[start + 3] == 'l';
    }

    private static boolean isWhitespace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    /**
     * Whether {@code data} is exactly one well-formed JSON value (no trailing content) in UTF-8
     * without a byte order mark: the JSON that can be copied, as these bytes, into a response.
     */
    public static boolean isWellFormed(byte[] data) {
        return isOneValue(MAPPER.getFactory(), data);
    }

    private static boolean isOneValue(com.fasterxml.jackson.core.JsonFactory factory, byte[] data) {
        if (isOtherThanUtf8(data)) {
            return false;
        }
        try (JsonParser p = factory.createParser(data)) {
            if (p.nextToken() == null) {
                return false;
            }
            p.skipChildren();
            return p.nextToken() == null;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Whether Jackson would read {@code data} as other than plain UTF-8: as UTF-16 or UTF-32 (which
     * it detects from a zero byte among the first four, or a byte order mark) or as UTF-8 after a
     * byte order mark it skips. Such bytes, checked as JSON, are not JSON once copied as they are.
     * No JSON in UTF-8 without a BOM, the only JSON exchanged between systems (RFC 8259 §8.1),
     * has any of these: a JSON text holds no 0x00 byte, and 0xFE and 0xFF are never UTF-8.
     */
    private static boolean isOtherThanUtf8(byte[] data) {
        for (int i = 0; i < Math.min(4, data.length); i++) {
            if (data[i] == 0) {
                return true;
            }
        }
        int first = data.length == 0 ? -1 : data[0] & 0xFF;
        return first == 0xFE || first == 0xFF
                || data.length >= 3 && first == 0xEF && (data[1] & 0xFF) == 0xBB && (data[2] & 0xFF) == 0xBF;
    }

    /**
     * Reads JSON only to see that it is JSON, never building values: nesting to 10,000 levels (as
     * Go's {@code encoding/json} allows, which IBM's producer is written in) and numbers of any
     * length, where the shared mapper stops at Jackson's defaults (1,000 levels, 1,000 digits)
     * because it builds what it reads. Skipping is iterative, so depth costs no stack.
     */
    private static final com.fasterxml.jackson.core.JsonFactory SCAN_ONLY = com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxNestingDepth(10_000).maxNumberLength(Integer.MAX_VALUE).build())
            .build();

    /** A factory of parsers within {@link #SCAN_ONLY}'s bounds, for reading JSON only to scan it. */
    public static com.fasterxml.jackson.core.JsonFactory scanOnly() {
        return SCAN_ONLY;
    }

    /**
     * Whether {@code data} is exactly one JSON value in UTF-8 without a byte order mark, for a body
     * stored as it came (the records endpoint's {@code application/json}): within
     * {@link #SCAN_ONLY}'s bounds rather than the mapper's. Not for JSON that is parsed further.
     */
    public static boolean isWellFormedAsIs(byte[] data) {
        return isOneValue(SCAN_ONLY, data);
    }

    /**
     * Whether {@code data} is exactly one JSON value written as {@link #copyExactly} writes one
     * (compact, strings escaped as Jackson escapes them): JSON that, given as a v3 record's
     * {@code JSON} data, is stored as these very bytes.
     */
    public static boolean isCompact(byte[] data) {
        try (JsonParser p = MAPPER.getFactory().createParser(data)) {
            if (p.nextToken() == null) {
                return false;
            }
            byte[] copy = copyExactly(p);
            return p.nextToken() == null && java.util.Arrays.equals(copy, data);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The JSON value at the parser's current token as compact text, every number exactly as the
     * client wrote it (never through a double); leaves the parser on the value's last token.
     */
    public static byte[] copyExactly(JsonParser p) throws IOException {
        ByteArrayBuilder out = new ByteArrayBuilder(64);
        try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
            EmbeddedBytesDeserializer.copyExactly(p, g);
        }
        return out.toByteArray();
    }

    /** A writer for values of {@code type}; create once and keep. */
    public static ObjectWriter writerFor(Class<?> type) {
        return MAPPER.writerFor(type);
    }

    /**
     * The most bytes {@code s} takes as the text of a JSON string {@link #write} makes (quotes not
     * counted): {@code "} and {@code \} and the short escapes two, other control characters six
     * (a backslash, {@code u} and four hex digits), each half of a surrogate pair six (Jackson escapes them), the rest their
     * UTF-8 bytes. Null: four ({@code null}).
     */
    public static long stringBytes(String s) {
        if (s == null) {
            return 4;
        }
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20) {
                n += c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r' ? 2 : 6;
            } else if (c == '"' || c == '\\') {
                n += 2;
            } else if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isSurrogate(c)) {
                n += 6;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /** At most the bytes of {@code s} in UTF-8 (a surrogate pair counted six: it takes four); null none. */
    public static long utf8Bytes(String s) {
        if (s == null) {
            return 0;
        }
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            n += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
        }
        return n;
    }

    /** Serializes a value that is known to serialize (a protocol record); an error here is a bug. */
    public static byte[] write(Object value) {
        // The most frequent answers, without Jackson when they can be.
        byte[] direct = value instanceof ProduceResponse produced ? produced.landedJson()
                : value instanceof RecordsResponse records ? records.plainJson() : null;
        if (direct != null) {
            return direct;
        }
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + value.getClass().getName(), e);
        }
    }

    /**
     * A reader of request bodies of one type, with a pre-built Jackson reader per embedded format.
     * Thread-safe; create once per type and keep.
     */
    public static final class BodyReader<T> {
        private final Map<EmbeddedFormat, ObjectReader> readers = new EnumMap<>(EmbeddedFormat.class);
        /**
         * Per format (by ordinal), the reader with the newest {@code maxRecords} asked for: callers
         * pass a configured bound, so this is built once rather than for every body (a Jackson
         * attribute copies the reader's attribute map). Slots are read and written without locking:
         * a read may see null or any slot written before, each whole (its fields are final), and
         * takes it only when its bound is the one asked for.
         */
        private final Bounded[] bounded = new Bounded[EmbeddedFormat.values().length];
        private final boolean readFromObject;

        /** A reader carrying {@link BoundedList#MAX} = {@code max}. */
        private record Bounded(int max, ObjectReader reader) {
        }

        public BodyReader(Class<T> type) {
            ObjectReader base = MAPPER.readerFor(type);
            for (EmbeddedFormat f : EmbeddedFormat.values()) {
                readers.put(f, base.withAttribute(EmbeddedFormat.class, f));
            }
            readFromObject = type.isRecord() || Map.class.isAssignableFrom(type);
        }

        /**
         * Parses {@code body}. Keys and values are decoded per {@code format}. Never returns null.
         *
         * @throws RestException 422 for an empty body, a JSON {@code null}, a well-formed body other
         *         than a JSON object where the type is a record or a map ("Request body must be a
         *         JSON object"), or one that does not fit the type; 400 for malformed JSON
         */
        public T read(byte[] body, EmbeddedFormat format) {
            return read(body, format, Integer.MAX_VALUE);
        }

        /**
         * As {@link #read(byte[], EmbeddedFormat)}, with at most {@code maxRecords} in a list read
         * by {@link BoundedList}: past that, 413 as soon as the list's next element begins.
         */
        public T read(byte[] body, EmbeddedFormat format, int maxRecords) {
            if (body == null || body.length == 0) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Request body is empty; a JSON object is required");
            }
            if (readFromObject && isWellFormedOtherThanAnObject(body)) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Request body must be a JSON object");
            }
            ObjectReader reader = maxRecords == Integer.MAX_VALUE ? readers.get(format) : bounded(format, maxRecords);
            T value;
            try {
                value = format == EmbeddedFormat.BINARY
                        ? EmbeddedBytesDeserializer.decodingFrom(body, () -> reader.readValue(body))
                        : reader.readValue(body);
            } catch (IOException | RuntimeException e) {
                throw translate(e);
            }
            if (value == null) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Request body must not be null");
            }
            return value;
        }

        private ObjectReader bounded(EmbeddedFormat format, int maxRecords) {
            Bounded b = bounded[format.ordinal()];
            if (b == null || b.max != maxRecords) {
                b = new Bounded(maxRecords, readers.get(format).withAttribute(BoundedList.MAX, maxRecords));
                bounded[format.ordinal()] = b;
            }
            return b.reader;
        }
    }

    /**
     * Whether {@code data} is exactly one well-formed JSON value and not an object: null, an array,
     * a string, a number or a boolean. An object is seen from its first token; anything else is
     * parsed to its end, so that malformed JSON is left for the reader to report as it always has.
     */
    private static boolean isWellFormedOtherThanAnObject(byte[] data) {
        for (byte b : data) {
            if (b == '{') {
                return false; // an object's first token, seen without a parser
            }
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                break;
            }
        }
        try (JsonParser p = MAPPER.getFactory().createParser(data)) {
            JsonToken first = p.nextToken();
            if (first == null || first == JsonToken.START_OBJECT) {
                return false;
            }
            p.skipChildren();
            return p.nextToken() == null;
        } catch (IOException e) {
            return false;
        }
    }

    /** Maps a Jackson (or record-constructor) failure to the error the client should see. */
    static RestException translate(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RestException rest) {
                return rest;
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StreamReadException read) {
                // Malformed JSON, even where Jackson reports it wrapped with the path it was reading.
                return ErrorCode.BAD_REQUEST.exception("Malformed JSON: " + withoutLocation(read.getOriginalMessage()));
            }
        }
        if (e instanceof UnrecognizedPropertyException u) {
            return ErrorCode.UNPROCESSABLE_ENTITY.exception("Unrecognized field: " + u.getPropertyName());
        }
        if (e instanceof JsonMappingException mapping) {
            String path = path(mapping);
            String expected = mapping instanceof MismatchedInputException mismatch
                    ? expectedShape(mismatch.getTargetType()) : null;
            String what = path.isEmpty() ? "Invalid request body" : "Invalid value for " + path;
            return ErrorCode.UNPROCESSABLE_ENTITY.exception(expected == null
                    ? what
                    : what + ": expected " + expected);
        }
        if (e instanceof IOException) {
            return ErrorCode.BAD_REQUEST.exception("Unreadable request body");
        }
        return ErrorCode.UNPROCESSABLE_ENTITY.exception("Invalid request body");
    }

    /** Jackson's message without the parser location it sometimes embeds. */
    private static String withoutLocation(String message) {
        if (message == null) {
            return "";
        }
        int at = message.indexOf("[Source:");
        String cut = at < 0 ? message : message.substring(0, at);
        cut = cut.replaceAll("\\s*\\(start marker at\\s*$", "").replaceAll("\\s+at\\s*$", "");
        int nl = cut.indexOf('\n');
        return (nl < 0 ? cut : cut.substring(0, nl)).strip();
    }

    /** The JSON shape a Java type is read from, in words a client understands. */
    private static String expectedShape(Class<?> type) {
        if (type == null) {
            return null;
        }
        if (Collection.class.isAssignableFrom(type) || type.isArray() && type != byte[].class) {
            return "an array";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (type == String.class || type == byte[].class) {
            return "a string";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        return "an object";
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(ref.getFieldName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.toString();
    }
}
