package io.portico.protocol.v3;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The delivery reports of a v3 produce, one JSON object per record, as Confluent's proxy writes
 * them:
 * {@code {"error_code":200,"cluster_id":…,"topic_name":…,"partition_id":…,"offset":…,"timestamp":…,"key":{"type":…,"size":…},"value":{…}}}
 * ({@code key} and {@code value} only when the record had them), or
 * {@code {"error_code":…,"message":…}} for a record that failed. Written by hand into one array:
 * a stream writes hundreds of thousands a second.
 */
public final class DeliveryReports {
    private DeliveryReports() {
    }

    /**
     * A record's report: where it landed.
     *
     * @param timestamp the record's timestamp (milliseconds), as Kafka stored it
     */
    public static byte[] success(String clusterId, String topic, int partition, long offset, long timestamp,
                                 ProduceRecord record) {
        StringBuilder s = new StringBuilder(160 + topic.length());
        s.append("{\"error_code\":200,\"cluster_id\":");
        quote(s, clusterId);
        s.append(",\"topic_name\":");
        quote(s, topic);
        s.append(",\"partition_id\":").append(partition)
                .append(",\"offset\":").append(offset)
                .append(",\"timestamp\":\"").append(Instant.ofEpochMilli(timestamp)).append('"');
        data(s, "key", record.key());
        data(s, "value", record.value());
        return s.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A {@code records:batch} answer: {@code {"successes":[…],"failures":[…]}}, each entry under
     * its id, in the order of the request.
     *
     * @param outcomes per entry, its {@link Landed} or its {@link RecordError}
     */
    public static byte[] batch(String clusterId, String topic, java.util.List<String> ids,
                               java.util.List<?> outcomes) {
        StringBuilder successes = new StringBuilder();
        StringBuilder failures = new StringBuilder();
        for (int i = 0; i < ids.size(); i++) {
            Object outcome = outcomes.get(i);
            if (outcome instanceof Landed landed) {
                successes.append(successes.length() == 0 ? "" : ",").append("{\"id\":");
                quote(successes, ids.get(i));
                successes.append(",\"cluster_id\":");
                quote(successes, clusterId);
                successes.append(",\"topic_name\":");
                quote(successes, topic);
                successes.append(",\"partition_id\":").append(landed.partition())
                        .append(",\"offset\":").append(landed.offset())
                        .append(",\"timestamp\":\"").append(Instant.ofEpochMilli(landed.timestamp())).append('"');
                data(successes, "key", landed.record().key());
                data(successes, "value", landed.record().value());
                successes.append('}');
            } else {
                RecordError error = (RecordError) outcome;
                failures.append(failures.length() == 0 ? "" : ",").append("{\"id\":");
                quote(failures, ids.get(i));
                failures.append(",\"error_code\":").append(error.errorCode()).append(",\"message\":");
                quote(failures, error.message());
                failures.append('}');
            }
        }
        return ("{\"successes\":[" + successes + "],\"failures\":[" + failures + "]}").getBytes(StandardCharsets.UTF_8);
    }

    /** Where a record landed: its partition, offset and the timestamp Kafka stored. */
    public record Landed(ProduceRecord record, int partition, long offset, long timestamp) {
    }

    /**
     * Writes the success reports of one topic's stream straight into a response buffer, without
     * intermediate strings: the fixed start of every report ({@code error_code}, cluster, topic)
     * is encoded once, numbers are written digit by digit, and the timestamp's date and time to
     * the second are kept from one report to the next (records of a stream mostly share them).
     * Confined to one thread at a time (the IO thread writing the stream).
     */
    public static final class Writer {
        private static final byte[] PARTITION = ascii(",\"partition_id\":");
        private static final byte[] OFFSET = ascii(",\"offset\":");
        private static final byte[] TIMESTAMP = ascii(",\"timestamp\":\"");
        private static final byte[] KEY = ascii(",\"key\":{\"type\":\"");
        private static final byte[] VALUE = ascii(",\"value\":{\"type\":\"");
        private static final byte[] SIZE = ascii("\",\"size\":");
        private final byte[] start;
        private long second = Long.MIN_VALUE;
        private byte[] secondText; // yyyy-MM-ddTHH:mm:ss of {@code second}

        public Writer(String clusterId, String topic) {
            StringBuilder s = new StringBuilder("{\"error_code\":200,\"cluster_id\":");
            quote(s, clusterId);
            s.append(",\"topic_name\":");
            quote(s, topic);
            this.start = s.toString().getBytes(StandardCharsets.UTF_8);
        }

        /** The bytes of a report of a record that landed at {@code partition}/{@code offset}. */
        public int size(ProduceRecord record, int partition, long offset, long timestamp) {
            int n = start.length + PARTITION.length + digits(partition) + OFFSET.length + digits(offset)
                    + TIMESTAMP.length + timestampLength(timestamp) + 1 + 1;
            return n + dataSize(KEY, record.key()) + dataSize(VALUE, record.value());
        }

        /** Writes that report. */
        public void write(java.nio.ByteBuffer out, ProduceRecord record, int partition, long offset, long timestamp) {
            out.put(start).put(PARTITION);
            number(out, partition);
            out.put(OFFSET);
            number(out, offset);
            out.put(TIMESTAMP);
            timestamp(out, timestamp);
            out.put((byte) '"');
            data(out, KEY, record.key());
            data(out, VALUE, record.value());
            out.put((byte) '}');
        }

        private static int dataSize(byte[] field, ProduceRecord.Data data) {
            return data == null ? 0 : field.length + data.type().name().length() + schemaPart(data).length + SIZE.length
                    + digits(data.size()) + 1;
        }

        private static void data(java.nio.ByteBuffer out, byte[] field, ProduceRecord.Data data) {
            if (data != null) {
                out.put(field);
                String type = data.type().name();
                for (int i = 0; i < type.length(); i++) {
                    out.put((byte) type.charAt(i));
                }
                out.put((byte) '"');
                out.put(schemaPart(data));
                out.put(SIZE, 1, SIZE.length - 1); // ,"size":
                number(out, data.size());
                out.put((byte) '}');
            }
        }

        /** {@code yyyy-MM-ddTHH:mm:ssZ}, or with {@code .SSS} before the Z when the milliseconds are not 0, as Instant prints. */
        private static int timestampLength(long millis) {
            if (millis < 0 || millis >= 253_402_300_800_000L) { // outside years 0000-9999: as Instant writes it
                return Instant.ofEpochMilli(millis).toString().length();
            }
            return Math.floorMod(millis, 1000) == 0 ? 20 : 24;
        }

        private void timestamp(java.nio.ByteBuffer out, long millis) {
            if (millis < 0 || millis >= 253_402_300_800_000L) {
                out.put(ascii(Instant.ofEpochMilli(millis).toString()));
                return;
            }
            long sec = Math.floorDiv(millis, 1000);
            if (sec != second) {
                second = sec;
                secondText = ascii(Instant.ofEpochSecond(sec).toString().substring(0, 19));
            }
            out.put(secondText);
            int ms = Math.floorMod(millis, 1000);
            if (ms != 0) {
                out.put((byte) '.').put((byte) ('0' + ms / 100)).put((byte) ('0' + ms / 10 % 10))
                        .put((byte) ('0' + ms % 10));
            }
            out.put((byte) 'Z');
        }

        private static int digits(long v) {
            if (v < 0) {
                return Long.toString(v).length();
            }
            int d = 1;
            for (long t = 10; d < 19 && v >= t; t *= 10) {
                d++;
            }
            return d;
        }

        private static void number(java.nio.ByteBuffer out, long v) {
            if (v < 0) {
                out.put(ascii(Long.toString(v)));
                return;
            }
            int n = digits(v);
            int end = out.position() + n;
            for (int i = end - 1; i >= end - n; i--) {
                out.put(i, (byte) ('0' + v % 10));
                v /= 10;
            }
            out.position(end);
        }

        private static byte[] ascii(String s) {
            return s.getBytes(StandardCharsets.US_ASCII);
        }
    }

    private static final byte[] NO_SCHEMA = new byte[0];

    /**
     * What a report says of a schema format's key or value after its type, as Confluent's does:
     * {@code ,"subject":…,"schema_id":…,"schema_version":…} (the version when known); nothing for
     * the other types.
     */
    private static byte[] schemaPart(ProduceRecord.Data data) {
        ProduceRecord.SchemaRef ref = data.schema();
        if (ref == null || !ref.resolved()) {
            return NO_SCHEMA;
        }
        StringBuilder s = new StringBuilder(64);
        schemaPart(s, ref);
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void schemaPart(StringBuilder s, ProduceRecord.SchemaRef ref) {
        if (ref == null || !ref.resolved()) {
            return;
        }
        if (ref.subject() != null) {
            s.append(",\"subject\":");
            quote(s, ref.subject());
        }
        s.append(",\"schema_id\":").append(ref.schemaId());
        if (ref.schemaVersion() != null) {
            s.append(",\"schema_version\":").append(ref.schemaVersion());
        }
    }

    /** A failed record's report. */
    public static byte[] error(RecordError error) {
        StringBuilder s = new StringBuilder(48 + error.message().length());
        s.append("{\"error_code\":").append(error.errorCode()).append(",\"message\":");
        quote(s, error.message());
        return s.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void data(StringBuilder s, String field, ProduceRecord.Data data) {
        if (data != null) {
            s.append(",\"").append(field).append("\":{\"type\":\"").append(data.type().name()).append('"');
            schemaPart(s, data.schema());
            s.append(",\"size\":").append(data.size()).append('}');
        }
    }

    private static void quote(StringBuilder s, String text) {
        s.append('"');
        JsonStringEncoder.getInstance().quoteAsString(text, s);
        s.append('"');
    }
}
