package io.portico.protocol.v3;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.portico.protocol.Json;
import io.portico.protocol.RecordHeader;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Parses the body of a v3 produce as it arrives, chunk by chunk: a sequence of JSON objects, one
 * record each, written one after the other (whitespace between them optional) or as the elements
 * of one JSON array, as Confluent's proxy reads them. Each complete object becomes an
 * {@link Item} in arrival order: the record, an error for that record alone (the stream goes on),
 * or an error that ends the stream (a record over the size limit, a body that ends inside a
 * record).
 *
 * <p>A scanner finds where each value ends (strings, escapes and nesting only, a few operations a
 * byte); a complete value is then parsed from its bytes as it is asked for ({@link #next}) — in
 * place when it lies in one chunk, which the parser holds until its values are taken — so no
 * more than the last chunk and one record's bytes (at most {@code maxRecordBytes}) are ever held,
 * however long the stream. Not thread-safe: one parser per stream, fed from one thread at a time.
 */
public final class RecordStreamParser {
    private static final JsonFactory FACTORY = Json.mapper().getFactory();
    private static final int EXCERPT = 100;

    /** What one value of the stream came to. */
    public sealed interface Item permits Parsed, Invalid, Broken {
    }

    /** A record to produce. */
    public record Parsed(ProduceRecord record) implements Item {
    }

    /** A value that is not a valid record: reported for itself, and the stream goes on. */
    public record Invalid(RecordError error) implements Item {
    }

    /** The stream cannot go on: reported, then reading stops. */
    public record Broken(RecordError error) implements Item {
    }

    private final int maxRecordBytes;
    private final boolean schemas;
    private final ArrayDeque<Item> ready = new ArrayDeque<>();
    /** Items that come after the values of the last chunk not parsed yet (a record's end, the stream's break). */
    private final ArrayDeque<Item> after = new ArrayDeque<>();
    /** What {@link #parsedBytes} says. */
    private long parsedBytes;

    // The value in progress: its bytes from earlier chunks (when it spans chunks) and its shape.
    private byte[] buffered = new byte[0];
    private int bufferedLength;
    private boolean inValue;
    private int depth;
    private boolean inString;
    private boolean escaped;
    private boolean scalar;
    // The stream's shape: before its first value, inside a top-level array, after that array.
    private static final byte[] BYTE_ORDER_MARK = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    private boolean first = true;
    // Bytes of a UTF-8 byte order mark matched at the body's start; -1 once past where one may be.
    private int markAt;
    private boolean array;
    private boolean arrayClosed;
    private boolean broken;
    private boolean ended;
    // Values of the chunk fed last that lie wholly in it: parsed as they are asked for
    // (next), a few at a time, so that a chunk of many small records makes no more records than
    // its reader takes; those before nextRange are parsed.
    private int[] rangeStarts = new int[64];
    private int[] rangeEnds = new int[64];
    private int ranges;
    private int nextRange;
    private byte[] chunk = new byte[0]; // the chunk fed last, kept while values of it are unparsed

    /** @param maxRecordBytes the most bytes one record's JSON object may take */
    public RecordStreamParser(int maxRecordBytes) {
        this(maxRecordBytes, false);
    }

    /**
     * @param schemas whether a schema registry is configured: keys and values of the schema types
     *        (and those with schema fields or without a type) are then parsed for the handler to
     *        serialize in their schemas; without one they are the record's 422
     */
    public RecordStreamParser(int maxRecordBytes, boolean schemas) {
        this.maxRecordBytes = maxRecordBytes;
        this.schemas = schemas;
    }

    private int valuesMax = Integer.MAX_VALUE;
    private int values;

    /**
     * Stops the scan once {@code max} values have ended: the rest of what is fed is not looked
     * at. For a body that must hold one record: two values say it holds more, whatever follows,
     * and nothing is built for the rest (a body of {@code {}{}{}…} is millions of records).
     */
    public RecordStreamParser stopAfter(int max) {
        this.valuesMax = max;
        return this;
    }

    /** How many values have ended so far (records and values that are none), whatever they parsed to. */
    public int valuesEnded() {
        return values;
    }

    /**
     * The bytes the parser holds between chunks: its buffer for a record that began in an earlier
     * chunk and has not ended yet (up to the record size limit; let go of after a large record),
     * and the last chunk while values of it are not parsed yet.
     */
    public long bufferedBytes() {
        return buffered.length + (nextRange < ranges ? chunk.length : 0);
    }

    /**
     * Stops parsing and lets go of a record not ended yet: the caller ends the stream (its
     * records so far are still handed out by {@link #next}).
     */
    public void discard() {
        broken = true;
        inValue = false;
        buffered = new byte[0];
        bufferedLength = 0;
    }

    /** Whether a record began in what was fed and has not ended yet. */
    public boolean inRecord() {
        return inValue;
    }

    /** Whether the stream has ended badly; nothing more is parsed. */
    public boolean isBroken() {
        return broken;
    }

    /** Whether any value has started: a body with none is empty. */
    public boolean sawAnything() {
        return !first;
    }

    /**
     * The next item of the chunks fed so far, or null when they hold no other. Values are parsed
     * here, as they are asked for: a caller that stops asking holds the last chunk's bytes, not
     * records made of them.
     */
    public Item next() {
        if (ready.isEmpty() && nextRange < ranges) {
            parseRanges(chunk, PARSED_AT_ONCE);
        }
        Item item = ready.isEmpty() ? after.poll() : ready.poll();
        parsedBytes -= bytesOf(item);
        return item;
    }

    /**
     * The keys', values' and headers' bytes of the records parsed and not yet handed out by
     * {@link #next}: a record that spanned chunks is parsed as it ends and no longer counted in
     * {@link #bufferedBytes}, though it is held until taken (up to the record size limit).
     */
    public long parsedBytes() {
        return parsedBytes;
    }

    private static long bytesOf(Item item) {
        return item instanceof Parsed parsed ? parsed.record().payloadBytes() : 0;
    }

    /** Whether {@link #next} has an item to give. */
    public boolean hasNext() {
        return !ready.isEmpty() || nextRange < ranges || !after.isEmpty();
    }

    /** Values parsed at once by {@link #next} (with one Jackson parser when they follow one another). */
    private static final int PARSED_AT_ONCE = 32;

    /**
     * Scans {@code chunk}, queueing an item for each value it completes. The parser keeps the
     * chunk, which must not change, until its items are taken or the next chunk is fed.
     */
    public void feed(byte[] chunk) {
        feed(chunk, 0, chunk.length);
    }

    private static final VarHandle WORDS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;
    private static final long QUOTES = 0x2222222222222222L;
    private static final long BACKSLASHES = 0x5c5c5c5c5c5c5c5cL;

    /**
     * The index of the first {@code '"'} or {@code '\\'} in {@code b[from, to)}, else
     * {@code max(from, to)}:
     * eight bytes at a time (a byte equal to the one looked for becomes a zero byte, which the
     * borrow trick flags; the lowest byte flagged is always a true one), as fast line splitters
     * scan. Strings are most of a record (base64 values), and this is where the scanner spends.
     */
    static int quoteOrBackslash(byte[] b, int from, int to) {
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long x = (long) WORDS.get(b, i);
            long q = x ^ QUOTES;
            long s = x ^ BACKSLASHES;
            long found = ((q - ONES) & ~q | (s - ONES) & ~s) & HIGHS;
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (b[i] == '"' || b[i] == '\\') {
                return i;
            }
        }
        return i; // to, or from when the range is empty
    }

    /** Scans {@code chunk[off, off + len)}, queueing an item for each value it completes. */
    public void feed(byte[] chunk, int off, int len) {
        parseRanges(this.chunk, Integer.MAX_VALUE); // what is left of the chunk before, in order
        ready.addAll(after);
        after.clear();
        this.chunk = chunk;
        int end = off + len;
        int start = off; // where the value in progress starts in this chunk
        for (int i = off; i < end && !broken && values < valuesMax; i++) {
            byte b = chunk[i];
            if (markAt >= 0) {
                // A UTF-8 byte order mark at the body's start is skipped, as JSON parsers (Confluent's
                // Jackson) skip it; scanned as a value, a parser started at it read the record after it.
                if (b == BYTE_ORDER_MARK[markAt]) {
                    markAt = markAt + 1 == BYTE_ORDER_MARK.length ? -1 : markAt + 1;
                    continue;
                }
                if (markAt > 0) {
                    fail("Bad Request: the body starts with part of a UTF-8 byte order mark (not UTF-8)");
                    return;
                }
                markAt = -1;
            }
            if (!inValue) {
                if (b == ' ' || b == '\n' || b == '\r' || b == '\t') {
                    continue;
                }
                if (arrayClosed) {
                    fail("Bad Request: unexpected content after the closing ']' of the records array");
                    return;
                }
                if (array && b == ',') {
                    continue;
                }
                if (array && b == ']') {
                    arrayClosed = true;
                    continue;
                }
                if (first && b == '[') {
                    first = false;
                    array = true;
                    continue;
                }
                first = false;
                inValue = true;
                start = i;
                bufferedLength = 0;
                depth = 0;
                scalar = false;
                if (b == '{' || b == '[') {
                    depth = 1;
                } else if (b == '"') {
                    inString = true;
                } else {
                    scalar = true;
                }
                continue;
            }
            if (scalar) {
                if (b == ' ' || b == '\n' || b == '\r' || b == '\t' || b == '{' || b == '[' || b == '"'
                        || b == ',' || b == ']' || b == '}') {
                    complete(chunk, start, i);
                    i--; // the delimiter is looked at again, outside any value
                } else if (bufferedLength + (i + 1 - start) > maxRecordBytes) {
                    fail("Bad Request: a record is larger than " + maxRecordBytes + " bytes, the limit of one record");
                    return;
                }
                continue;
            }
            if (inString) {
                if (escaped) {
                    escaped = false;
                } else if (b != '"' && b != '\\') {
                    // Most of a record is inside strings (base64 values): skip to the string's next
                    // quote or backslash, in this chunk and within the record size limit.
                    int stop = (int) Math.min(end, (long) i + 1 + maxRecordBytes - bufferedLength - (i + 1 - start));
                    i = quoteOrBackslash(chunk, i + 1, stop) - 1;
                } else if (b == '\\') {
                    escaped = true;
                } else if (b == '"') {
                    inString = false;
                    if (depth == 0) {
                        complete(chunk, start, i + 1);
                    }
                }
            } else if (b == '"') {
                inString = true;
            } else if (b == '{' || b == '[') {
                depth++;
            } else if (b == '}' || b == ']') {
                if (--depth == 0) {
                    complete(chunk, start, i + 1);
                }
            }
            if (inValue && bufferedLength + (i + 1 - start) > maxRecordBytes) {
                fail("Bad Request: a record is larger than " + maxRecordBytes + " bytes, the limit of one record");
                return;
            }
        }
        if (inValue && !broken) {
            keep(chunk, start, end);
        }
    }

    /** The body has ended: a value still open is a truncated record, which ends the stream. */
    public void end() {
        if (ended || broken) {
            return;
        }
        ended = true;
        if (inValue && scalar) {
            // Its bytes are in the buffer (kept at the chunk's end): handed out after the chunk's values.
            complete(new byte[0], 0, 0);
        } else if (inValue) {
            fail("Bad Request: the body ended inside a record");
        } else if (array && !arrayClosed) {
            fail("Bad Request: the body ended inside the records array (no closing ']')");
        }
    }

    private void keep(byte[] chunk, int from, int to) {
        int n = to - from;
        if (bufferedLength + n > buffered.length) {
            buffered = Arrays.copyOf(buffered, Math.max(bufferedLength + n, Math.min(maxRecordBytes,
                    Math.max(256, buffered.length * 2))));
        }
        System.arraycopy(chunk, from, buffered, bufferedLength, n);
        bufferedLength += n;
    }

    private void complete(byte[] chunk, int from, int to) {
        inValue = false;
        values++;
        Item item;
        if (bufferedLength == 0) {
            // Wholly in this chunk: parsed with the chunk's other such values (parseRanges).
            if (ranges == rangeStarts.length) {
                rangeStarts = Arrays.copyOf(rangeStarts, ranges * 2);
                rangeEnds = Arrays.copyOf(rangeEnds, ranges * 2);
            }
            rangeStarts[ranges] = from;
            rangeEnds[ranges] = to;
            ranges++;
            return;
        } else {
            keep(chunk, from, to);
            item = parse(buffered, 0, bufferedLength, schemas);
            bufferedLength = 0;
            if (buffered.length > 64 * 1024) {
                buffered = new byte[0]; // a large record's buffer is not kept for the rest of the stream
            }
        }
        add(item);
    }

    /** Queues an item after every value found before it (those of the last chunk may not be parsed yet). */
    private void add(Item item) {
        parsedBytes += bytesOf(item);
        (nextRange < ranges || !after.isEmpty() ? after : ready).add(item);
    }

    private void fail(String message) {
        broken = true;
        inValue = false;
        buffered = new byte[0];
        bufferedLength = 0;
        add(new Broken(RecordError.badRequest(message.substring("Bad Request: ".length())))); // after the values before
    }

    /** Parses one complete value into a record, or the error that is its report. */
    static Item parse(byte[] buf, int off, int len) {
        return parse(buf, off, len, false);
    }

    /** As {@link #parse(byte[], int, int)}, schema types parsed when {@code schemas}. */
    static Item parse(byte[] buf, int off, int len, boolean schemas) {
        try (JsonParser p = FACTORY.createParser(buf, off, len)) {
            Item item = parseNext(p, buf, off, off, len, schemas);
            if (item instanceof Parsed && p.nextToken() != null) {
                return new Invalid(RecordError.badRequest("unexpected content after the record"));
            }
            return item;
        } catch (IOException e) {
            return new Invalid(RecordError.badRequest(String.valueOf(e.getMessage())));
        }
    }

    /**
     * Parses the next value of {@code p} (which reads {@code buf} from {@code base}) as a record of
     * {@code len} bytes that starts at {@code start} in {@code buf}. After a record the parser is
     * just past it; after an error it is anywhere in the value.
     */
    private static Item parseNext(JsonParser p, byte[] buf, int base, int start, int len, boolean schemas) {
        try {
            JsonToken t = p.nextToken();
            if (t == JsonToken.START_OBJECT && base + p.currentTokenLocation().getByteOffset() != start) {
                // Jackson skipped something the scanner took for a value (a byte order mark where a
                // parser starts): that value is no record, and the object after it is a value of its own.
                throw invalid("a record must be a JSON object, not " + excerpt(buf, start, Math.min(len, buf.length - start)));
            }
            if (t != JsonToken.START_OBJECT) {
                int at = base + (int) p.currentTokenLocation().getByteOffset();
                throw invalid("a record must be a JSON object, not " + excerpt(buf, at, Math.min(len, buf.length - at)));
            }
            Integer partition = null;
            List<RecordHeader> headers = List.of();
            ProduceRecord.Data key = null;
            ProduceRecord.Data value = null;
            Long timestamp = null;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "partition_id" -> partition = partition(p);
                    case "headers" -> headers = headers(p);
                    case "key" -> key = data(p, buf, base, schemas);
                    case "value" -> value = data(p, buf, base, schemas);
                    case "timestamp" -> timestamp = timestamp(p);
                    default -> p.skipChildren(); // as Confluent's proxy, fields it does not know are ignored
                }
            }
            return new Parsed(new ProduceRecord(partition, headers, key, value, timestamp, len));
        } catch (Failure f) {
            return new Invalid(f.error);
        } catch (JsonProcessingException e) {
            String message = e.getOriginalMessage();
            int line = message.indexOf('\n');
            return new Invalid(RecordError.badRequest(line < 0 ? message : message.substring(0, line)));
        } catch (IOException e) {
            return new Invalid(RecordError.badRequest(String.valueOf(e.getMessage())));
        }
    }

    /**
     * Parses the values of this chunk that lie wholly in it with as few parsers as possible: one
     * reads them in a row (objects one after another are a valid sequence of root values), and a
     * new one starts after a value that is not a valid record (where the old one stopped is then
     * unknown) or that does not end where the scanner saw it end.
     */
    private void parseRanges(byte[] chunk, int most) {
        int k = nextRange;
        int stop = (int) Math.min(ranges, (long) k + most);
        while (k < stop) {
            if (array || rangeStarts[k] == rangeEnds[k]) {
                Item parsed = parse(chunk, rangeStarts[k], rangeEnds[k] - rangeStarts[k], schemas);
                parsedBytes += bytesOf(parsed);
                ready.add(parsed);
                k++;
                continue;
            }
            int base = rangeStarts[k];
            try (JsonParser p = FACTORY.createParser(chunk, base, rangeEnds[stop - 1] - base)) {
                while (k < stop) {
                    int len = rangeEnds[k] - rangeStarts[k];
                    Item item = parseNext(p, chunk, base, rangeStarts[k], len, schemas);
                    parsedBytes += bytesOf(item);
                    ready.add(item);
                    k++;
                    if (!(item instanceof Parsed) || base + p.currentLocation().getByteOffset() != rangeEnds[k - 1]) {
                        break; // start afresh at the next value
                    }
                }
            } catch (IOException e) {
                // closing a byte-array parser does not fail
            }
        }
        nextRange = k;
        if (k == ranges) {
            ranges = 0;
            nextRange = 0;
        }
    }

    private static Integer partition(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        int partition;
        if (t == JsonToken.VALUE_STRING) {
            // Jackson's default coercion in Confluent's proxy takes a number in a string.
            partition = digits(p.getText());
        } else if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT) {
            throw invalid("partition_id must be an integer");
        } else {
            partition = p.getIntValue();
        }
        if (partition < 0) {
            throw new Failure(new RecordError(40402, "Partition not found."));
        }
        return partition;
    }

    /** A partition written as a string: decimal digits only (an optional minus), within an int. */
    private static int digits(String text) {
        if (text.isEmpty() || text.length() > 11 || !text.matches("-?[0-9]+")) {
            throw invalid("partition_id must be an integer");
        }
        long value = Long.parseLong(text);
        if (value != (int) value) {
            throw invalid("partition_id must be an integer");
        }
        return (int) value;
    }

    /**
     * The most headers a record may carry: counted as they are parsed, so that a body of empty
     * headers (a 16 MiB one holds over a million) is refused before it becomes millions of objects.
     */
    public static final int MAX_HEADERS = 10_000;

    private static List<RecordHeader> headers(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return List.of();
        }
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw invalid("headers must be an array of {\"name\":…,\"value\":…}");
        }
        List<RecordHeader> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.START_OBJECT) {
                throw invalid("a header must be an object {\"name\":…,\"value\":…}");
            }
            if (out.size() == MAX_HEADERS) {
                throw invalid("a record may carry at most " + MAX_HEADERS + " headers");
            }
            String name = null;
            byte[] value = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if (field.equals("name")) {
                    if (t != JsonToken.VALUE_STRING) {
                        throw invalid("a header's name must be a string");
                    }
                    name = p.getText();
                    if (!RecordHeader.isValidName(name)) {
                        throw invalid("a header's name must be well-formed Unicode: it has a lone surrogate (\\ud800-\\udfff)");
                    }
                } else if (field.equals("value")) {
                    if (t == JsonToken.VALUE_NULL) {
                        value = null;
                    } else if (t != JsonToken.VALUE_STRING) {
                        throw invalid("a header's value must be a base64 string or null");
                    } else {
                        value = base64(p.getText(), "header " + (name == null ? "" : name + " ") + "value");
                    }
                } else {
                    p.skipChildren();
                }
            }
            if (name == null) {
                throw invalid("a header needs a name");
            }
            out.add(new RecordHeader(name, value));
        }
        return out;
    }

    /** {@code off}: where the record's bytes start in {@code buf} (the parser's offsets count from there). */
    private static ProduceRecord.Data data(JsonParser p, byte[] buf, int off, boolean schemas) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            return null;
        }
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw invalid(p.currentName() + " must be an object {\"type\":…,\"data\":…}");
        }
        String field = p.currentName();
        String type = null;
        boolean schema = false;
        long dataStart = -1;
        long dataEnd = -1;
        JsonToken dataToken = null;
        byte[] decoded = null;
        String subject = null;
        String strategy = null;
        Integer schemaId = null;
        Integer schemaVersion = null;
        String rawSchema = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            switch (name) {
                case "type" -> {
                    if (t != JsonToken.VALUE_STRING && t != JsonToken.VALUE_NULL) {
                        throw invalid(field + ".type must be a string");
                    }
                    type = t == JsonToken.VALUE_NULL ? null : p.getText();
                }
                case "data" -> {
                    dataToken = t;
                    if (type != null && !schema && t != JsonToken.VALUE_NULL && !isSchemaType(type)) {
                        // The usual order (type first): the data is read here, in place.
                        decoded = decodeHere(p, type(type, false, false), buf, off);
                        continue;
                    }
                    dataStart = p.currentTokenLocation().getByteOffset();
                    p.skipChildren();
                    p.finishToken(); // a string is read lazily: its end is known once it is read
                    dataEnd = p.currentLocation().getByteOffset();
                }
                case "subject", "subject_name_strategy", "schema" -> {
                    schema |= t != JsonToken.VALUE_NULL;
                    if (t != JsonToken.VALUE_NULL && t != JsonToken.VALUE_STRING) {
                        throw invalid(field + "." + name + " must be a string");
                    }
                    String text = t == JsonToken.VALUE_NULL ? null : p.getText();
                    switch (name) {
                        case "subject" -> subject = text;
                        case "subject_name_strategy" -> strategy = text;
                        default -> rawSchema = text;
                    }
                }
                case "schema_id", "schema_version" -> {
                    schema |= t != JsonToken.VALUE_NULL;
                    Integer number = null;
                    if (t != JsonToken.VALUE_NULL) {
                        if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT
                                || p.getIntValue() < 0) {
                            throw invalid(field + "." + name + " must be a non-negative integer");
                        }
                        number = p.getIntValue();
                    }
                    if (name.equals("schema_id")) {
                        schemaId = number;
                    } else {
                        schemaVersion = number;
                    }
                }
                default -> p.skipChildren();
            }
        }
        ProduceRecord.Type kind = type(type, schema, schemas);
        ProduceRecord.SchemaRef ref = null;
        if (kind == null || kind.schema()) {
            ref = schemaRef(field, subject, strategy, schemaId, schemaVersion, rawSchema);
        }
        if (dataToken == null || dataToken == JsonToken.VALUE_NULL) {
            return new ProduceRecord.Data(kind, null, ref);
        }
        if (decoded != null) {
            return new ProduceRecord.Data(kind, decoded);
        }
        int from = off + (int) dataStart;
        int length = (int) (dataEnd - dataStart);
        try (JsonParser d = FACTORY.createParser(buf, from, length)) {
            d.nextToken();
            if (ref != null) {
                return new ProduceRecord.Data(kind, Json.copyExactly(d), ref); // serialized in its schema later
            }
            byte[] bytes = switch (kind) {
                // Decoded where it lies, as when the type comes first: not through a char buffer
                // and a String (some six times the data's size).
                case BINARY -> decodeHere(d, kind, buf, from);
                case STRING -> {
                    if (d.currentToken() != JsonToken.VALUE_STRING) {
                        throw invalid("data=" + excerpt(buf, from, length) + " is not a string.");
                    }
                    yield d.getText().getBytes(StandardCharsets.UTF_8);
                }
                default -> Json.copyExactly(d);
            };
            return new ProduceRecord.Data(kind, bytes);
        }
    }

    /** The schema fields of a schema format's key or value, checked as Confluent's proxy checks them. */
    private static ProduceRecord.SchemaRef schemaRef(String field, String subject, String strategy, Integer schemaId,
                                                     Integer schemaVersion, String rawSchema) {
        if (subject != null && strategy != null) {
            throw payload(field + ": only one of subject and subject_name_strategy may be given.");
        }
        int given = (schemaId != null ? 1 : 0) + (schemaVersion != null ? 1 : 0) + (rawSchema != null ? 1 : 0);
        if (given > 1) {
            throw payload(field + ": only one of schema_id, schema_version and schema may be given.");
        }
        if (strategy != null) {
            String s = strategy.toUpperCase(Locale.ROOT);
            if (!s.equals("TOPIC_NAME") && !s.equals("RECORD_NAME") && !s.equals("TOPIC_RECORD_NAME")) {
                throw payload(field + ".subject_name_strategy=" + excerpt(strategy)
                        + " is not one of TOPIC_NAME, RECORD_NAME, TOPIC_RECORD_NAME.");
            }
            strategy = s;
        }
        return new ProduceRecord.SchemaRef(subject, strategy, schemaId, schemaVersion, rawSchema, false);
    }

    private static Failure payload(String detail) {
        return new Failure(new RecordError(422, "Error: 42206 : Payload error. " + detail));
    }

    private static boolean isSchemaType(String type) {
        String t = type.toUpperCase(Locale.ROOT);
        return t.equals("AVRO") || t.equals("JSONSCHEMA") || t.equals("PROTOBUF");
    }

    /**
     * Reads the data at the parser's current token as {@code kind} says, from the record's own
     * bytes: a base64 string without escapes is decoded where it lies, without a string or char
     * buffer (the parser then skips it unread); JSON is copied exactly.
     */
    private static byte[] decodeHere(JsonParser p, ProduceRecord.Type kind, byte[] buf, int off) throws IOException {
        JsonToken t = p.currentToken();
        switch (kind) {
            case BINARY -> {
                if (t != JsonToken.VALUE_STRING) {
                    int start = off + (int) p.currentTokenLocation().getByteOffset();
                    p.skipChildren();
                    p.finishToken();
                    int end = off + (int) p.currentLocation().getByteOffset();
                    throw invalid("data=" + excerpt(buf, start, end - start) + " is not a base64 string.");
                }
                int quote = off + (int) p.currentTokenLocation().getByteOffset();
                int close = io.portico.protocol.Base64Text.plainTextEnd(buf, quote + 1, buf.length);
                if (close < buf.length && buf[close] == '"') {
                    try {
                        return io.portico.protocol.Base64Text.decode(buf, quote + 1, close - quote - 1);
                    } catch (IllegalArgumentException e) {
                        throw invalid("data=\"" + excerpt(buf, quote + 1, close - quote - 1)
                                + "\" is not a valid base64 string.");
                    }
                }
                return base64(p.getText(), null); // escapes or control characters: the parser decides
            }
            case STRING -> {
                if (t != JsonToken.VALUE_STRING) {
                    int start = off + (int) p.currentTokenLocation().getByteOffset();
                    p.skipChildren();
                    p.finishToken();
                    int end = off + (int) p.currentLocation().getByteOffset();
                    throw invalid("data=" + excerpt(buf, start, end - start) + " is not a string.");
                }
                return p.getText().getBytes(StandardCharsets.UTF_8);
            }
            default -> {
                return Json.copyExactly(p);
            }
        }
    }

    /**
     * The type of a key or value: null when a schema registry is configured and the type is left
     * out (the registry's schema decides). Without a registry, a schema type, schema fields or no
     * type at all are the record's 422; with one, schema fields beside a non-schema type are.
     */
    private static ProduceRecord.Type type(String type, boolean schema, boolean schemas) {
        if (type == null) {
            if (schemas) {
                return null;
            }
            throw new Failure(new RecordError(422,
                    "Error: 42206 : Payload error. Schema Registry must be configured when using schemas."));
        }
        ProduceRecord.Type kind;
        switch (type.toUpperCase(Locale.ROOT)) {
            case "BINARY" -> kind = ProduceRecord.Type.BINARY;
            case "JSON" -> kind = ProduceRecord.Type.JSON;
            case "STRING" -> kind = ProduceRecord.Type.STRING;
            case "AVRO" -> kind = ProduceRecord.Type.AVRO;
            case "JSONSCHEMA" -> kind = ProduceRecord.Type.JSONSCHEMA;
            case "PROTOBUF" -> kind = ProduceRecord.Type.PROTOBUF;
            default -> throw invalid("type=" + excerpt(type) + " is not one of BINARY, JSON, STRING, AVRO, JSONSCHEMA, PROTOBUF.");
        }
        if (!schemas && (schema || kind.schema())) {
            throw new Failure(new RecordError(422,
                    "Error: 42206 : Payload error. Schema Registry must be configured when using schemas."));
        }
        if (schema && !kind.schema()) {
            throw payload("The " + kind + " type does not take subject, subject_name_strategy, schema_id, "
                    + "schema_version or schema.");
        }
        return kind;
    }

    private static Long timestamp(JsonParser p) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t != JsonToken.VALUE_STRING) {
            throw invalid("timestamp must be an ISO-8601 string such as 2026-12-01T10:15:30.123Z");
        }
        String text = p.getText();
        Instant instant;
        try {
            instant = Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                instant = OffsetDateTime.parse(text).toInstant();
            } catch (DateTimeParseException e2) {
                throw invalid("timestamp=" + excerpt(text) + " is not an ISO-8601 date and time");
            }
        }
        if (instant.isBefore(Instant.EPOCH)) {
            throw invalid("timestamp=" + excerpt(text) + " is before 1970; Kafka cannot store it");
        }
        try {
            return instant.toEpochMilli();
        } catch (ArithmeticException e) {
            throw invalid("timestamp=" + excerpt(text) + " is out of range");
        }
    }

    private static byte[] base64(String text, String what) {
        try {
            return io.portico.protocol.Base64Text.decode(text);
        } catch (IllegalArgumentException e) {
            throw invalid(what == null ? "data=\"" + excerpt(text) + "\" is not a valid base64 string."
                    : "the " + what + " is not a valid base64 string.");
        }
    }

    private static String excerpt(byte[] buf, int off, int len) {
        return excerpt(new String(buf, off, Math.min(len, EXCERPT + 1), StandardCharsets.UTF_8));
    }

    private static String excerpt(String s) {
        return s.length() <= EXCERPT ? s : s.substring(0, EXCERPT) + "…";
    }

    private static Failure invalid(String detail) {
        return new Failure(RecordError.badRequest(detail));
    }

    /** One record's error, thrown out of the parse of that record. */
    private static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient RecordError error;

        Failure(RecordError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }
    }
}
