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

    /** A failed record's report. */
    public static byte[] error(RecordError error) {
        StringBuilder s = new StringBuilder(48 + error.message().length());
        s.append("{\"error_code\":").append(error.errorCode()).append(",\"message\":");
        quote(s, error.message());
        return s.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void data(StringBuilder s, String field, ProduceRecord.Data data) {
        if (data != null) {
            s.append(",\"").append(field).append("\":{\"type\":\"").append(data.type().name())
                    .append("\",\"size\":").append(data.size()).append('}');
        }
    }

    private static void quote(StringBuilder s, String text) {
        s.append('"');
        JsonStringEncoder.getInstance().quoteAsString(text, s);
        s.append('"');
    }
}
