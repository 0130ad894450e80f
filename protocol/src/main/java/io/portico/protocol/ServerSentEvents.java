package io.portico.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Function;

/**
 * Records as Server-Sent Events ({@code text/event-stream}): one event per record, its
 * {@code id:} the record's position ({@code <topic>/<partition>/<offset>}, see {@link EventId}) and
 * its {@code data:} the record exactly as the dialect's read renders it; {@code event: error}
 * with the JSON error body once a started stream fails; comment lines as heartbeats.
 *
 * <p>A record rendered with line breaks (a json-format value stored pretty-printed) becomes one
 * {@code data:} line per line, which an SSE client joins again with {@code \n}. Thread-safe.
 */
public final class ServerSentEvents {
    /** The media type of an event stream, which a client asks for with {@code Accept}. */
    public static final String MEDIA_TYPE = "text/event-stream";

    /** A comment line that keeps an idle stream (and the proxies on its way) from timing out. */
    public static final byte[] HEARTBEAT = ascii(": heartbeat\n\n");

    private static final byte[] ID = ascii("id: ");
    private static final byte[] DATA = ascii("data: ");
    private static final byte[] ERROR = ascii("event: error\n");

    private ServerSentEvents() {
    }

    /**
     * Whether an {@code Accept} header asks for an event stream: it names {@code text/event-stream}
     * with a weight above 0 and at least that of every range a plain read's JSON could answer
     * ({@code *}{@code /*}, {@code application/...}): {@code *}{@code /*} and {@code text/*} alone
     * keep the plain read, and so does a client that prefers JSON and takes a stream only as its
     * second choice ({@code application/json, text/event-stream;q=0.1}), which would otherwise
     * wait on a stream that never ends for the array it expects.
     */
    public static boolean accepted(String acceptHeader) {
        if (acceptHeader == null || !acceptHeader.toLowerCase(java.util.Locale.ROOT).contains(MEDIA_TYPE)) {
            return false;
        }
        double stream = 0;
        double json = 0;
        for (MediaType range : MediaType.parseAccept(acceptHeader)) {
            String essence = range.essence();
            if (essence.equals(MEDIA_TYPE)) {
                stream = Math.max(stream, range.quality());
            } else if (essence.equals("*/*") || essence.startsWith("application/")) {
                json = Math.max(json, range.quality());
            }
        }
        return stream > 0 && stream >= json;
    }

    /**
     * A record's position as an event id: {@code <topic>/<partition>/<offset>} (topic names never
     * hold a {@code /}). A client resumes after it with {@code Last-Event-ID}.
     */
    public record EventId(String topic, int partition, long offset) {
        @Override
        public String toString() {
            return topic + "/" + partition + "/" + offset;
        }

        /**
         * Parses an id a client sends back; null when absent or blank.
         *
         * @throws RestException 400 when it is not one Portico wrote
         */
        public static EventId parse(String id) {
            if (id == null || id.isBlank()) {
                return null;
            }
            String s = id.trim();
            int last = s.lastIndexOf('/');
            int middle = last <= 0 ? -1 : s.lastIndexOf('/', last - 1);
            if (middle <= 0) {
                throw invalid(s);
            }
            try {
                int partition = Integer.parseInt(s.substring(middle + 1, last));
                long offset = Long.parseLong(s.substring(last + 1));
                if (partition < 0 || offset < 0) {
                    throw invalid(s);
                }
                return new EventId(s.substring(0, middle), partition, offset);
            } catch (NumberFormatException e) {
                throw invalid(s);
            }
        }

        private static RestException invalid(String id) {
            return ErrorCode.BAD_REQUEST.exception("Last-Event-ID must be an event id of this stream "
                    + "(<topic>/<partition>/<offset>), not '" + excerpt(id) + "'");
        }

        private static String excerpt(String s) {
            String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
            StringBuilder out = new StringBuilder(t.length());
            for (int i = 0; i < t.length(); i++) {
                char c = t.charAt(i);
                out.append(c < 0x20 || c == 0x7f ? '?' : c);
            }
            return out.toString();
        }
    }

    /**
     * Events rendered from records: the bytes of the first {@link #count} records, and the error
     * that stopped the rendering before the next one (null when every record was rendered).
     */
    public record Rendered(ByteChunks bytes, int count, RestException error) {
    }

    /**
     * v1 reads (by offset and of consumer instances): {@code {"key","value","partition","offset"}}
     * in the embedded format.
     */
    public static Rendered v1(List<ConsumedRecord> records, EmbeddedFormat format) {
        if (format != EmbeddedFormat.JSON) {
            return new Rendered(BinaryRecords.writeEvents(records, false, false), records.size(), null);
        }
        return each(records, r -> withoutBrackets(RecordsWriter.write(List.of(r), format, false).toByteArray()));
    }

    /**
     * v2 reads of consumer instances: {@code {"topic","key","value","partition","offset","timestamp"}}
     * and {@code headers} when the record has any.
     */
    public static Rendered v2(List<ConsumedRecord> records, EmbeddedFormat format) {
        boolean headers = false;
        for (ConsumedRecord r : records) {
            headers |= !r.headers().isEmpty();
        }
        if (format != EmbeddedFormat.JSON && !headers) {
            return new Rendered(BinaryRecords.writeEvents(records, true, true), records.size(), null);
        }
        return each(records, r -> withoutBrackets(RecordsWriter.writeV2(List.of(r), format).toByteArray()));
    }

    /**
     * Records rendered one by one with {@code render} (a JSON object per record), until the first
     * that cannot be (its error is returned with the events before it).
     */
    public static Rendered each(List<ConsumedRecord> records, Function<ConsumedRecord, byte[]> render) {
        ByteChunks.Builder out = new ByteChunks.Builder(records.size() * 256L);
        int count = 0;
        for (ConsumedRecord r : records) {
            byte[] data;
            try {
                data = render.apply(r);
            } catch (RestException e) {
                return new Rendered(out.build(), count, e);
            }
            event(out, new EventId(r.topic(), r.partition(), r.offset()).toString(), data);
            count++;
        }
        return new Rendered(out.build(), count, null);
    }

    /** {@code event: error} with the error's JSON body, the last event of a stream that failed. */
    public static byte[] error(ErrorMessage body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        out.writeBytes(ERROR);
        out.writeBytes(DATA);
        out.writeBytes(Json.write(body));
        out.write('\n');
        out.write('\n');
        return out.toByteArray();
    }

    /** A comment line ({@code : text}); line breaks in {@code text} become spaces. */
    public static byte[] comment(String text) {
        return ascii(": " + text.replace('\r', ' ').replace('\n', ' ') + "\n\n");
    }

    /** One event: {@code id:}, one {@code data:} line per line of {@code data}, a blank line. */
    private static void event(ByteChunks.Builder out, String id, byte[] data) {
        out.writeBytes(ID);
        out.writeBytes(id.getBytes(StandardCharsets.US_ASCII));
        out.write('\n');
        int start = 0;
        for (int i = 0; i <= data.length; i++) {
            if (i == data.length || data[i] == '\n' || data[i] == '\r') {
                out.writeBytes(DATA);
                out.write(data, start, i - start);
                out.write('\n');
                if (i < data.length && data[i] == '\r' && i + 1 < data.length && data[i + 1] == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        out.write('\n');
    }

    /** A one-element JSON array's element. */
    private static byte[] withoutBrackets(byte[] array) {
        return java.util.Arrays.copyOfRange(array, 1, array.length - 1);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
