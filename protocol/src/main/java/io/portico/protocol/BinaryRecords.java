package io.portico.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Read results in the binary embedded format, written straight into byte arrays of the exact
 * size, each of whole records and of {@link ByteChunks#MAX_CHUNK} at most: every part of the
 * output is known in advance (base64 lengths, digit counts, topic names of Kafka's safe
 * characters), so there is no generator, no growing buffer and no final copy.
 * Keys and values are written in base64 in place by {@link Base64Text}.
 */
public final class BinaryRecords {
    private static final byte[] OPEN_TOPIC = ascii("{\"topic\":\"");
    private static final byte[] KEY_AFTER_TOPIC = ascii("\",\"key\":");
    private static final byte[] OPEN_KEY = ascii("{\"key\":");
    private static final byte[] VALUE = ascii(",\"value\":");
    private static final byte[] PARTITION = ascii(",\"partition\":");
    private static final byte[] OFFSET = ascii(",\"offset\":");
    private static final byte[] TIMESTAMP = ascii(",\"timestamp\":");
    private static final byte[] NULL = ascii("null");
    /** TENS[d] = 10^d, for d = 0..18: a number below TENS[d] has at most d digits. */
    private static final long[] TENS = new long[19];
    /** "00" to "99": the two digits of n at 2n and 2n+1. */
    private static final byte[] PAIRS = new byte[200];

    static {
        TENS[0] = 1;
        for (int d = 1; d < TENS.length; d++) {
            TENS[d] = TENS[d - 1] * 10;
        }
        for (int n = 0; n < 100; n++) {
            PAIRS[2 * n] = (byte) ('0' + n / 10);
            PAIRS[2 * n + 1] = (byte) ('0' + n % 10);
        }
    }

    private BinaryRecords() {
    }

    static ByteChunks write(List<ConsumedRecord> records, boolean withTopic) {
        return write(records, withTopic, false);
    }

    /**
     * As {@link #write(List, boolean)}; with {@code withTimestamp} each record also carries its
     * {@code timestamp} after its offset (v2's shape). Headers are not written here: callers send
     * records with headers to {@link RecordsWriter}'s generator path. The array is written in
     * arrays of up to {@link ByteChunks#MAX_CHUNK}, each holding whole records.
     */
    static ByteChunks write(List<ConsumedRecord> records, boolean withTopic, boolean withTimestamp) {
        int n = records.size();
        if (n == 0) {
            return ByteChunks.of(new byte[] {'[', ']'});
        }
        Topics topics = withTopic ? new Topics() : null;
        int[] sizes = new int[n]; // each record's bytes, with the '[' or ',' before it and the ']' after the last
        for (int i = 0; i < n; i++) {
            ConsumedRecord r = records.get(i);
            sizes[i] = piece(1 + size(r, topics) + (withTimestamp ? TIMESTAMP.length + digits(r.timestamp()) : 0)
                    + (i == n - 1 ? 1 : 0));
        }
        return assemble(sizes, "binary records", (out, p, i) -> {
            out[p++] = (byte) (i == 0 ? '[' : ',');
            p = write(out, p, records.get(i), topics, withTimestamp);
            if (i == n - 1) {
                out[p++] = ']';
            }
            return p;
        });
    }

    /** Writes piece {@code i} (a record, an event) into {@code out} at {@code p}; returns the position after it. */
    @FunctionalInterface
    private interface Piece {
        int write(byte[] out, int p, int i);
    }

    /**
     * Pieces of the given sizes, written by {@code piece} into arrays of whole pieces of up to
     * {@link ByteChunks#MAX_CHUNK} (a larger piece alone), each of the exact size.
     */
    private static ByteChunks assemble(int[] sizes, String what, Piece piece) {
        int[] runs = ByteChunks.runs(sizes);
        List<byte[]> arrays = new ArrayList<>(runs.length);
        int from = 0;
        for (int end : runs) {
            byte[] out = new byte[sum(sizes, from, end)];
            int p = 0;
            for (int i = from; i < end; i++) {
                p = piece.write(out, p, i);
            }
            if (p != out.length) {
                throw new IllegalStateException(what + ": wrote " + p + " of " + out.length + " bytes");
            }
            arrays.add(out);
            from = end;
        }
        return ByteChunks.ofArrays(arrays);
    }

    private static final byte[] EVENT_ID = ascii("id: ");
    private static final byte[] EVENT_DATA = ascii("\ndata: ");
    private static final byte[] EVENT_END = ascii("\n\n");

    /**
     * The records as Server-Sent Events, written as {@link #write(List, boolean, boolean)} writes
     * them but each alone: {@code id: <topic>/<partition>/<offset>}, then {@code data: } and the
     * record's object, then a blank line. Base64 and numbers hold no line break, so each record is
     * one {@code data:} line. Written in arrays of up to {@link ByteChunks#MAX_CHUNK}, each holding
     * whole events.
     */
    static ByteChunks writeEvents(List<ConsumedRecord> records, boolean withTopic, boolean withTimestamp) {
        int n = records.size();
        Topics topics = withTopic ? new Topics() : null;
        Positions positions = new Positions();
        int[] sizes = new int[n];
        for (int i = 0; i < n; i++) {
            ConsumedRecord r = records.get(i);
            Positions.Of at = positions.of(r.topic(), r.partition());
            int offsetDigits = digits(r.offset());
            sizes[i] = piece(at.id().length + offsetDigits + EVENT_DATA.length + head(r, topics) + at.field().length
                    + offsetDigits + (withTimestamp ? TIMESTAMP.length + digits(r.timestamp()) : 0) + 1
                    + EVENT_END.length);
        }
        return assemble(sizes, "binary events", (out, p, i) -> {
            ConsumedRecord r = records.get(i);
            Positions.Of at = positions.of(r.topic(), r.partition());
            p = put(out, p, at.id());
            int offsetAt = p;
            p = number(out, p, r.offset());
            int offsetDigits = p - offsetAt;
            p = put(out, p, EVENT_DATA);
            p = head(out, p, r, topics);
            p = put(out, p, at.field());
            System.arraycopy(out, offsetAt, out, p, offsetDigits); // the id's offset again
            p += offsetDigits;
            if (withTimestamp) {
                p = put(out, p, TIMESTAMP);
                p = number(out, p, r.timestamp());
            }
            out[p++] = '}';
            return put(out, p, EVENT_END);
        });
    }

    /**
     * What an event writes the same for every record of a partition: the id up to the offset
     * ({@code id: <topic>/<partition>/}) and the record's fields from its partition to its offset
     * ({@code ,"partition":<p>,"offset":}), made once per partition and call (a stream's records
     * come a partition at a time), so a record's numbers are written once: its offset, in the id,
     * then copied into its object.
     */
    private static final class Positions {
        record Of(byte[] id, byte[] field) {
        }

        private String topic;
        private int partition;
        private Of last;

        Of of(String topic, int partition) {
            if (last == null || partition != this.partition || topic != this.topic && !topic.equals(this.topic)) {
                byte[] name = topic(topic);
                String p = Integer.toString(partition);
                byte[] id = new byte[EVENT_ID.length + name.length + p.length() + 2];
                int at = put(id, 0, EVENT_ID);
                at = put(id, at, name);
                id[at++] = '/';
                at = put(id, at, ascii(p));
                id[at] = '/';
                byte[] field = new byte[PARTITION.length + p.length() + OFFSET.length];
                put(field, put(field, put(field, 0, PARTITION), ascii(p)), OFFSET);
                last = new Of(id, field);
                this.topic = topic;
                this.partition = partition;
            }
            return last;
        }
    }

    private static final byte[] V3_OFFSET = ascii(",\"offset\":");
    private static final byte[] V3_TIMESTAMP = ascii(",\"timestamp\":\"");
    private static final byte[] V3_KEY = ascii("\",\"headers\":[],\"key\":");
    private static final byte[] V3_VALUE = ascii(",\"value\":");
    private static final byte[] V3_BINARY = ascii("{\"type\":\"BINARY\",\"data\":");
    private static final byte[] V3_END = ascii("]}");

    /**
     * A v3 {@code KafkaRecordList} of records without headers, keys and values as BINARY, written
     * as {@link #write(List, boolean, boolean)} writes v1's: {@code head} (the list up to its
     * {@code "data":[}, which the caller renders with its URLs), then each record as
     * {@code recordHead} (up to and with its {@code "partition_id":}) and its partition, offset,
     * timestamp, no headers, key and value, then {@code ]}}. The same bytes as the generator path
     * of {@code RecordListWriter}, about a third of its work.
     */
    public static ByteChunks v3List(byte[] head, byte[] recordHead, List<ConsumedRecord> records) {
        int n = records.size();
        int[] sizes = new int[n];
        String[] timestamps = new String[n];
        for (int i = 0; i < n; i++) {
            ConsumedRecord r = records.get(i);
            if (!r.headers().isEmpty()) {
                throw new IllegalArgumentException("records with headers take the generator path");
            }
            timestamps[i] = isoTimestamp(r.timestamp());
            sizes[i] = piece((i == 0 ? head.length : 1) + recordHead.length + digits(r.partition())
                    + V3_OFFSET.length + digits(r.offset()) + V3_TIMESTAMP.length + timestamps[i].length()
                    + V3_KEY.length + v3Data(r.key()) + V3_VALUE.length + v3Data(r.value()) + 1
                    + (i == n - 1 ? V3_END.length : 0));
        }
        if (n == 0) {
            byte[] empty = java.util.Arrays.copyOf(head, head.length + V3_END.length);
            put(empty, head.length, V3_END);
            return ByteChunks.of(empty);
        }
        return assemble(sizes, "v3 records", (out, p, i) -> {
            ConsumedRecord r = records.get(i);
            if (i == 0) {
                p = put(out, p, head);
            } else {
                out[p++] = ',';
            }
            p = put(out, p, recordHead);
            p = number(out, p, r.partition());
            p = put(out, p, V3_OFFSET);
            p = number(out, p, r.offset());
            p = put(out, p, V3_TIMESTAMP);
            String t = timestamps[i];
            for (int c = 0; c < t.length(); c++) {
                out[p++] = (byte) t.charAt(c); // ASCII: digits, '-', ':', '.', 'T', 'Z', '+'
            }
            p = put(out, p, V3_KEY);
            p = v3Data(out, p, r.key());
            p = put(out, p, V3_VALUE);
            p = v3Data(out, p, r.value());
            out[p++] = '}';
            if (i == n - 1) {
                p = put(out, p, V3_END);
            }
            return p;
        });
    }

    private static long v3Data(byte[] data) {
        return data == null ? NULL.length : V3_BINARY.length + data(data) + 1;
    }

    private static int v3Data(byte[] out, int p, byte[] data) {
        if (data == null) {
            return put(out, p, NULL);
        }
        p = put(out, p, V3_BINARY);
        p = data(out, p, data);
        out[p++] = '}';
        return p;
    }

    /** The last second formatted, per thread: records read together mostly share their second. */
    private static final ThreadLocal<Object[]> LAST_SECOND = ThreadLocal.withInitial(() -> new Object[] {Long.MIN_VALUE, ""});
    /** Seconds of the years 0000 to 9999, which {@link java.time.Instant#toString} writes in the plain form. */
    private static final long MIN_PLAIN = -62_167_219_200L;
    private static final long MAX_PLAIN = 253_402_300_799L;

    /**
     * {@code Instant.ofEpochMilli(millis).toString()} (v3's record timestamps), without formatting
     * the date again for each record.
     */
    public static String isoTimestamp(long millis) {
        long second = Math.floorDiv(millis, 1000);
        int ms = Math.floorMod(millis, 1000);
        if (second < MIN_PLAIN || second > MAX_PLAIN) {
            return java.time.Instant.ofEpochMilli(millis).toString();
        }
        Object[] last = LAST_SECOND.get();
        String prefix;
        if ((long) last[0] == second) {
            prefix = (String) last[1];
        } else {
            String whole = java.time.Instant.ofEpochSecond(second).toString(); // …:SSZ
            prefix = whole.substring(0, whole.length() - 1);
            last[0] = second;
            last[1] = prefix;
        }
        if (ms == 0) {
            return prefix + "Z";
        }
        char[] fraction = {'.', (char) ('0' + ms / 100), (char) ('0' + ms / 10 % 10), (char) ('0' + ms % 10), 'Z'};
        return prefix.concat(new String(fraction));
    }

    /** A record's rendered size as an array index (a record that would not fit an array is refused). */
    private static int piece(long size) {
        if (size > Integer.MAX_VALUE - 16) {
            throw ErrorCode.KAFKA_ERROR.exception("a record of " + size + " bytes rendered is too large");
        }
        return (int) size;
    }

    private static int sum(int[] sizes, int from, int end) {
        long sum = 0;
        for (int i = from; i < end; i++) {
            sum += sizes[i];
        }
        return piece(sum);
    }

    /** {@code topics}: null when records are written without their topic. */
    private static long size(ConsumedRecord r, Topics topics) {
        return head(r, topics) + PARTITION.length + digits(r.partition()) + OFFSET.length + digits(r.offset()) + 1;
    }

    /** The bytes of a record's object up to its value's end (see {@link #head(byte[], int, ConsumedRecord, Topics)}). */
    private static long head(ConsumedRecord r, Topics topics) {
        long size = topics != null ? OPEN_TOPIC.length + topics.bytes(r.topic()).length + KEY_AFTER_TOPIC.length
                : OPEN_KEY.length;
        return size + data(r.key()) + VALUE.length + data(r.value());
    }

    private static int write(byte[] out, int p, ConsumedRecord r, Topics topics, boolean withTimestamp) {
        p = head(out, p, r, topics);
        p = put(out, p, PARTITION);
        p = number(out, p, r.partition());
        p = put(out, p, OFFSET);
        p = number(out, p, r.offset());
        if (withTimestamp) {
            p = put(out, p, TIMESTAMP);
            p = number(out, p, r.timestamp());
        }
        out[p++] = '}';
        return p;
    }

    /** A record's object up to its value's end: its fields from the partition on and its closing brace follow. */
    private static int head(byte[] out, int p, ConsumedRecord r, Topics topics) {
        if (topics != null) {
            p = put(out, p, OPEN_TOPIC);
            p = put(out, p, topics.bytes(r.topic()));
            p = put(out, p, KEY_AFTER_TOPIC);
        } else {
            p = put(out, p, OPEN_KEY);
        }
        p = data(out, p, r.key());
        p = put(out, p, VALUE);
        return data(out, p, r.value());
    }

    /**
     * Topic names as bytes, checked once per name and call: a read's records mostly share one
     * topic (or a few), so the last name is kept.
     */
    private static final class Topics {
        private String last;
        private byte[] lastBytes;

        byte[] bytes(String topic) {
            if (topic != last && !topic.equals(last)) {
                lastBytes = topic(topic);
                last = topic;
            }
            return lastBytes;
        }
    }

    /** Topic names are ASCII letters, digits, '.', '_' and '-' in Kafka: nothing to escape. */
    private static byte[] topic(String topic) {
        for (int i = 0; i < topic.length(); i++) {
            char c = topic.charAt(i);
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                throw new IllegalArgumentException("not a Kafka topic name: " + topic);
            }
        }
        return topic.getBytes(StandardCharsets.US_ASCII);
    }

    private static long data(byte[] data) {
        return data == null ? NULL.length : 2 + Base64Text.length(data.length);
    }

    private static int data(byte[] out, int p, byte[] data) {
        if (data == null) {
            return put(out, p, NULL);
        }
        out[p++] = '"';
        p = Base64Text.encode(data, 0, data.length, out, p);
        out[p++] = '"';
        return p;
    }

    /**
     * Decimal digits of {@code v} (with its sign), by comparison: no division. (A count from the
     * bit length, {@code bits × 1233 >>> 12} and one comparison, made reads by offset about 3%
     * slower than these few well-predicted comparisons for offsets of six or seven digits.)
     */
    static int digits(long v) {
        if (v < 0) {
            return v == Long.MIN_VALUE ? 20 : 1 + digits(-v);
        }
        int d = 1;
        while (d < TENS.length && v >= TENS[d]) {
            d++;
        }
        return d;
    }

    /**
     * Writes {@code v} in decimal, two digits a step from a table (offsets have a dozen digits and
     * every record has one; a division per digit was a tenth of a read's CPU).
     */
    static int number(byte[] out, int p, long v) {
        if (v < 0) {
            byte[] text = Long.toString(v).getBytes(StandardCharsets.US_ASCII);
            return put(out, p, text);
        }
        int end = p + digits(v);
        int q = end;
        while (v > Integer.MAX_VALUE) {
            long div = v / 100;
            int pair = (int) (v - div * 100);
            out[--q] = PAIRS[2 * pair + 1];
            out[--q] = PAIRS[2 * pair];
            v = div;
        }
        int i = (int) v;
        while (i >= 100) {
            int div = i / 100;
            int pair = i - div * 100;
            out[--q] = PAIRS[2 * pair + 1];
            out[--q] = PAIRS[2 * pair];
            i = div;
        }
        if (i >= 10) {
            out[--q] = PAIRS[2 * i + 1];
            out[--q] = PAIRS[2 * i];
        } else {
            out[--q] = (byte) ('0' + i);
        }
        return end;
    }

    private static int put(byte[] out, int p, byte[] bytes) {
        System.arraycopy(bytes, 0, out, p, bytes.length);
        return p + bytes.length;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
