package io.portico.protocol;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Read results in the binary embedded format, written straight into a byte array of the exact
 * size: every part of the output is known in advance (base64 lengths, digit counts, topic names
 * of Kafka's safe characters), so there is no generator, no growing buffer and no final copy.
 */
final class BinaryRecords {
    private static final byte[] ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OPEN_TOPIC = ascii("{\"topic\":\"");
    private static final byte[] KEY_AFTER_TOPIC = ascii("\",\"key\":");
    private static final byte[] OPEN_KEY = ascii("{\"key\":");
    private static final byte[] VALUE = ascii(",\"value\":");
    private static final byte[] PARTITION = ascii(",\"partition\":");
    private static final byte[] OFFSET = ascii(",\"offset\":");
    private static final byte[] NULL = ascii("null");

    private BinaryRecords() {
    }

    static byte[] write(List<ConsumedRecord> records, boolean withTopic) {
        long size = 2 + Math.max(0, records.size() - 1);
        for (ConsumedRecord r : records) {
            size += size(r, withTopic);
        }
        if (size > Integer.MAX_VALUE - 16) {
            throw ErrorCode.KAFKA_ERROR.exception("a response of " + size + " bytes is too large");
        }
        byte[] out = new byte[(int) size];
        int p = 0;
        out[p++] = '[';
        for (int i = 0; i < records.size(); i++) {
            if (i > 0) {
                out[p++] = ',';
            }
            p = write(out, p, records.get(i), withTopic);
        }
        out[p++] = ']';
        if (p != out.length) {
            throw new IllegalStateException("binary records: wrote " + p + " of " + out.length + " bytes");
        }
        return out;
    }

    private static long size(ConsumedRecord r, boolean withTopic) {
        long size = withTopic ? OPEN_TOPIC.length + topic(r).length + KEY_AFTER_TOPIC.length : OPEN_KEY.length;
        return size + data(r.key()) + VALUE.length + data(r.value())
                + PARTITION.length + digits(r.partition()) + OFFSET.length + digits(r.offset()) + 1;
    }

    private static int write(byte[] out, int p, ConsumedRecord r, boolean withTopic) {
        if (withTopic) {
            p = put(out, p, OPEN_TOPIC);
            p = put(out, p, topic(r));
            p = put(out, p, KEY_AFTER_TOPIC);
        } else {
            p = put(out, p, OPEN_KEY);
        }
        p = data(out, p, r.key());
        p = put(out, p, VALUE);
        p = data(out, p, r.value());
        p = put(out, p, PARTITION);
        p = number(out, p, r.partition());
        p = put(out, p, OFFSET);
        p = number(out, p, r.offset());
        out[p++] = '}';
        return p;
    }

    /** Topic names are ASCII letters, digits, '.', '_' and '-' in Kafka: nothing to escape. */
    private static byte[] topic(ConsumedRecord r) {
        String topic = r.topic();
        for (int i = 0; i < topic.length(); i++) {
            char c = topic.charAt(i);
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                throw new IllegalArgumentException("not a Kafka topic name: " + topic);
            }
        }
        return topic.getBytes(StandardCharsets.US_ASCII);
    }

    private static long data(byte[] data) {
        return data == null ? NULL.length : 2 + 4L * ((data.length + 2) / 3);
    }

    private static int data(byte[] out, int p, byte[] data) {
        if (data == null) {
            return put(out, p, NULL);
        }
        out[p++] = '"';
        int n = data.length;
        int i = 0;
        for (; i + 3 <= n; i += 3) {
            int bits = (data[i] & 0xff) << 16 | (data[i + 1] & 0xff) << 8 | (data[i + 2] & 0xff);
            out[p++] = ALPHABET[bits >>> 18];
            out[p++] = ALPHABET[(bits >>> 12) & 0x3f];
            out[p++] = ALPHABET[(bits >>> 6) & 0x3f];
            out[p++] = ALPHABET[bits & 0x3f];
        }
        if (n - i == 1) {
            int bits = (data[i] & 0xff) << 16;
            out[p++] = ALPHABET[bits >>> 18];
            out[p++] = ALPHABET[(bits >>> 12) & 0x3f];
            out[p++] = '=';
            out[p++] = '=';
        } else if (n - i == 2) {
            int bits = (data[i] & 0xff) << 16 | (data[i + 1] & 0xff) << 8;
            out[p++] = ALPHABET[bits >>> 18];
            out[p++] = ALPHABET[(bits >>> 12) & 0x3f];
            out[p++] = ALPHABET[(bits >>> 6) & 0x3f];
            out[p++] = '=';
        }
        out[p++] = '"';
        return p;
    }

    static int digits(long v) {
        if (v < 0) {
            return v == Long.MIN_VALUE ? 20 : 1 + digits(-v);
        }
        int d = 1;
        for (long x = v; x >= 10; x /= 10) {
            d++;
        }
        return d;
    }

    private static int number(byte[] out, int p, long v) {
        if (v < 0) {
            byte[] text = Long.toString(v).getBytes(StandardCharsets.US_ASCII);
            return put(out, p, text);
        }
        int end = p + digits(v);
        int q = end;
        do {
            out[--q] = (byte) ('0' + (v % 10));
            v /= 10;
        } while (v != 0);
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
