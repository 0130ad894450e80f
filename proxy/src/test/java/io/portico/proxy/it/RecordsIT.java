package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code POST /topics/{topic}/records}, IBM Event Streams' REST producer, with authentication
 * off: what each request puts in Kafka (read back with a plain consumer), the exact success and
 * error bodies, and the limits.
 */
@ExtendWith(PorticoExtension.class)
class RecordsIT {
    private static final Pattern ISO_MILLIS_UTC = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z");
    private static final byte[] NOT_UTF8 = {(byte) 0xff, (byte) 0xfe, 0, 1, (byte) 0x80, (byte) 0xc3, 0x28, '\n', 0};
    private static final int KEY_MAX = 16;
    private static final int VALUE_MAX = 32;
    private static final int URI_MAX = 512;

    /** A Portico with small records limits, in front of the shared cluster. */
    private static TestPortico limited;
    /** A broker that does not create topics on demand, and a Portico in front of it. */
    private static KafkaCluster noAutoCreate;
    private static TestPortico strict;

    @BeforeAll
    static void start(KafkaCluster kafka) throws Exception {
        limited = TestPortico.start(kafka, Map.of(
                "records.key.max.bytes", String.valueOf(KEY_MAX),
                "records.value.max.bytes", String.valueOf(VALUE_MAX),
                "records.uri.max.bytes", String.valueOf(URI_MAX)));
        noAutoCreate = KafkaCluster.embedded(Map.of("auto.create.topics.enable", "false"));
        strict = TestPortico.start(noAutoCreate, Map.of("metadata.timeout.ms", "5000",
                "records.value.max.bytes", "8192", "producer.max.request.size", "2048"));
    }

    @AfterAll
    static void stop() {
        if (limited != null) {
            limited.close();
        }
        if (strict != null) {
            strict.close();
        }
        if (noAutoCreate != null) {
            noAutoCreate.close();
        }
    }

    // ---- helpers

    private static Rest.Response post(Rest rest, String pathAndQuery, String contentType, byte[] body) {
        HttpRequest.Builder b = rest.request(pathAndQuery, "Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return rest.send(b);
    }

    private static Rest.Response post(Rest rest, String pathAndQuery, String contentType, String body) {
        return post(rest, pathAndQuery, contentType, utf8(body));
    }

    /** A body without a length: the JDK client sends it with {@code Transfer-Encoding: chunked}. */
    private static Rest.Response postChunked(Rest rest, String pathAndQuery, String contentType, byte[] body) {
        return rest.send(rest.request(pathAndQuery, "Accept", "application/json", "Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))));
    }

    private static String records(String topic) {
        return "/topics/" + topic + "/records";
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void assertOk(Rest.Response r) {
        assertEquals(200, r.status(), r.body());
    }

    /**
     * An IBM error body, exactly: {@code {"error_code":<status>,"message":…,"error":{"error_code":<status>,
     * "message":…,"topic":…}}}, the message containing {@code messagePart}.
     */
    private static JsonNode assertError(Rest.Response r, int status, String topic, String messagePart) {
        assertEquals(status, r.status(), r.body());
        assertTrue(r.contentType().startsWith("application/json"), r.contentType());
        JsonNode body = r.json();
        assertEquals(List.of("error_code", "message", "error"), fieldNames(body), r.body());
        assertEquals(status, body.get("error_code").asInt());
        String message = body.get("message").asText();
        assertTrue(message.contains(messagePart), "'" + messagePart + "' in " + r.body());
        JsonNode error = body.get("error");
        assertEquals(status, error.get("error_code").asInt(), r.body());
        assertEquals(message, error.get("message").asText(), r.body());
        assertEquals(topic, error.get("topic").asText(), r.body());
        List<String> nested = fieldNames(error);
        assertTrue(nested.equals(List.of("error_code", "message", "topic"))
                || nested.equals(List.of("error_code", "message", "kafka_error_code", "topic")), r.body());
        assertFalse(r.body().contains("Exception"), "no exception names: " + r.body());
        return body;
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static List<Map.Entry<String, byte[]>> headers(ConsumerRecord<byte[], byte[]> record) {
        List<Map.Entry<String, byte[]>> out = new ArrayList<>();
        for (Header h : record.headers()) {
            out.add(Map.entry(h.key(), h.value()));
        }
        return out;
    }

    private static void assertHeaders(List<Map.Entry<String, String>> expected, ConsumerRecord<byte[], byte[]> record) {
        List<Map.Entry<String, byte[]>> actual = headers(record);
        assertEquals(expected.size(), actual.size(), "header count");
        Iterator<Map.Entry<String, byte[]>> it = actual.iterator();
        for (Map.Entry<String, String> e : expected) {
            Map.Entry<String, byte[]> a = it.next();
            assertEquals(e.getKey(), a.getKey());
            assertArrayEquals(utf8(e.getValue()), a.getValue(), "value of header " + e.getKey());
        }
    }

    // ---- content types

    @Test
    void everyAcceptedContentTypeStoresTheBodyByteForByte(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("types");
        byte[] text = utf8("hello, world\r\nsecond line: é ü 日本\n");
        List<Map.Entry<String, byte[]>> cases = Arrays.asList(
                Map.entry("text/plain", text),
                Map.entry("text/plain; charset=utf-8", text),
                Map.entry("Text/Plain;Charset=UTF-8", text),
                Map.entry("application/octet-stream", NOT_UTF8),
                Map.entry("application/json", utf8("{ \"a\" : [1, 2.5, null],\n  \"b\": \"é\" }\n")),
                Map.entry("application/json; charset=utf-8", utf8("[1,2]")),
                // Deeper than Jackson's 1,000 levels and a number longer than its 1,000 digits:
                // JSON all the same, as IBM's producer takes it.
                Map.entry("application/json", utf8("[".repeat(1001) + "]".repeat(1001))),
                Map.entry("application/json", utf8("1".repeat(1001))),
                Map.entry("text/xml", utf8("<a x=\"1\">é</a>")),
                Map.entry("application/xml", utf8("<?xml version=\"1.0\"?>\n<b/>")),
                Map.entry("vnd.ibm-event-streams.text.v1", text),
                Map.entry("application/vnd.ibm-event-streams.text.v1", text),
                Map.entry("vnd.ibm-event-streams.text.v1; charset=utf-8", text),
                Map.entry("vnd.ibm-event-streams.binary.v1", NOT_UTF8),
                Map.entry("application/vnd.ibm-event-streams.binary.v1", NOT_UTF8),
                Map.entry("vnd.ibm-event-streams.json.v1", utf8("\"just a string\"")),
                Map.entry("application/vnd.ibm-event-streams.json.v1", utf8("{\"k\":true}")),
                Map.entry("application/vnd.ibm-event-streams.json.v1; charset=utf-8", utf8(" 42 ")));
        for (int i = 0; i < cases.size(); i++) {
            Rest.Response r = post(rest, records(topic), cases.get(i).getKey(), cases.get(i).getValue());
            assertEquals(200, r.status(), cases.get(i).getKey() + ": " + r.body());
            assertEquals(i, r.json().get("metadata").get("offset").asLong(), cases.get(i).getKey());
        }
        Rest.Response untyped = post(rest, records(topic), null, NOT_UTF8);
        assertEquals(200, untyped.status(), "no Content-Type: " + untyped.body());

        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, cases.size() + 1);
        assertEquals(cases.size() + 1, stored.size());
        for (int i = 0; i < cases.size(); i++) {
            assertArrayEquals(cases.get(i).getValue(), stored.get(i).value(), cases.get(i).getKey());
            assertNull(stored.get(i).key(), "no key parameter, no key");
            assertEquals(0, stored.get(i).headers().toArray().length, "no headers parameter, no headers");
        }
        assertArrayEquals(NOT_UTF8, stored.get(cases.size()).value(), "no Content-Type");
    }

    @Test
    void invalidJsonWithAJsonContentTypeIs400AndProducesNothing(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("badjson");
        for (String type : List.of("application/json", "application/json; charset=utf-8",
                "vnd.ibm-event-streams.json.v1", "application/vnd.ibm-event-streams.json.v1")) {
            for (String body : List.of("{not json", "{\"a\":1} trailing", "'single'", "[1,2")) {
                assertError(post(rest, records(topic), type, body), 400, topic, "JSON");
            }
        }
        Rest.Response after = post(rest, records(topic), "text/plain", "{not json");
        assertOk(after);
        assertEquals(0, after.json().get("metadata").get("offset").asLong(), "the rejected bodies wrote nothing");
        assertArrayEquals(utf8("{not json"), kafka.read(topic, 1).get(0).value(), "text/plain is not validated");
    }

    @Test
    void otherContentTypesAre415(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("unsupported");
        for (String type : List.of("image/png", "application/x-www-form-urlencoded", "text/html",
                "multipart/form-data; boundary=x", "application/vnd.kafka.binary.v1+json")) {
            assertError(post(rest, records(topic), type, "body"), 415, topic, "nsupported media type");
        }
    }

    // ---- the success body

    @Test
    void theSuccessBodyIsExactlyTheMetadataOfTheStoredRecord(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("metadata");
        Instant before = Instant.now().minusSeconds(60);
        Rest.Response r = post(rest, records(topic), "text/plain", "test message");
        assertOk(r);
        assertEquals("application/json", r.contentType());
        ConsumerRecord<byte[], byte[]> stored = kafka.read(topic, 1).get(0);
        String timestamp = r.json().get("metadata").get("timestamp").asText();
        assertTrue(ISO_MILLIS_UTC.matcher(timestamp).matches(), "ISO-8601 UTC with millis: " + timestamp);
        assertEquals(stored.timestamp(), Instant.parse(timestamp).toEpochMilli(), "the stored record's timestamp");
        assertTrue(Instant.parse(timestamp).isAfter(before) && Instant.parse(timestamp).isBefore(Instant.now().plusSeconds(60)),
                timestamp);
        assertEquals("{\"metadata\":{\"topic\":\"" + topic + "\",\"timestamp\":\"" + timestamp + "\",\"partition\":"
                + stored.partition() + ",\"offset\":" + stored.offset() + "}}", r.body());
    }

    @Test
    void theMetadataSaysWhichPartitionAndOffsetEachRecordLandedOn(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("parts"), 3);
        List<JsonNode> answers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Rest.Response r = post(rest, records(topic) + "?key=k" + (i % 2), "text/plain", "v" + i);
            assertOk(r);
            answers.add(r.json().get("metadata"));
        }
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 6);
        assertEquals(6, stored.size());
        for (ConsumerRecord<byte[], byte[]> c : stored) {
            int i = Integer.parseInt(new String(c.value(), StandardCharsets.UTF_8).substring(1));
            assertEquals(c.partition(), answers.get(i).get("partition").asInt(), "record v" + i);
            assertEquals(c.offset(), answers.get(i).get("offset").asLong(), "record v" + i);
            assertEquals(topic, answers.get(i).get("topic").asText());
        }
        assertEquals(answers.get(0).get("partition"), answers.get(2).get("partition"), "one key, one partition");
    }

    // ---- keys

    @Test
    void aTextKeyIsStoredAsItsUtf8BytesAfterUrlDecoding(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("textkey");
        assertOk(post(rest, records(topic) + "?key=caf%C3%A9%20%26%3D%2C%2B%3F%23", "text/plain", "1"));
        assertOk(post(rest, records(topic) + "?key=plain&keyType=text", "text/plain", "2"));
        assertOk(post(rest, records(topic) + "?keyType=text&key=%E6%97%A5%E6%9C%AC", "text/plain", "3"));
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 3);
        assertArrayEquals(utf8("café &=,+?#"), stored.get(0).key());
        assertArrayEquals(utf8("plain"), stored.get(1).key());
        assertArrayEquals(utf8("日本"), stored.get(2).key());
    }

    @Test
    void aBinaryKeyIsHexDecoded(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("binkey");
        assertOk(post(rest, records(topic) + "?key=00ff7f80&keyType=binary", "text/plain", "1"));
        assertOk(post(rest, records(topic) + "?keyType=binary&key=DEADbeef", "text/plain", "2"));
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 2);
        assertArrayEquals(new byte[] {0, (byte) 0xff, 0x7f, (byte) 0x80}, stored.get(0).key());
        assertArrayEquals(new byte[] {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef}, stored.get(1).key());
    }

    @Test
    void aBinaryKeyThatIsNotHexIs400(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("badhex");
        assertError(post(rest, records(topic) + "?key=xyz1&keyType=binary", "text/plain", "v"), 400, topic, "hexadecimal");
        assertError(post(rest, records(topic) + "?key=abc&keyType=binary", "text/plain", "v"), 400, topic, "hexadecimal");
        assertError(post(rest, records(topic) + "?key=0x00&keyType=binary", "text/plain", "v"), 400, topic, "hexadecimal");
    }

    @Test
    void anUnknownKeyTypeIs400(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("keytype");
        assertError(post(rest, records(topic) + "?key=AA%3D%3D&keyType=base64", "text/plain", "v"), 400, topic, "keyType");
        assertError(post(rest, records(topic) + "?key=a&keyType=", "text/plain", "v"), 400, topic, "keyType");
    }

    // ---- headers

    @Test
    void hexHeadersBecomeRecordHeadersInOrder(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("headers");
        assertOk(post(rest, records(topic) + "?headers=colour:726564,size:666f726d696461626c65", "text/plain", "1"));
        assertOk(post(rest, records(topic) + "?headers=trace:01,colour:726564,trace:02,trace:",
                "text/plain", "2"));
        assertOk(post(rest, records(topic) + "?key=k&keyType=text&headers=size:666f726d696461626c65",
                "application/octet-stream", NOT_UTF8));
        // Empty pairs (a,,b or a trailing comma) hold nothing and are skipped, wherever they are.
        assertOk(post(rest, records(topic) + "?headers=colour:726564,,size:00,", "text/plain", "4"));
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 4);

        assertHeaders(List.of(Map.entry("colour", "red"), Map.entry("size", "formidable")), stored.get(0));
        assertHeaders(List.of(Map.entry("trace", "\u0001"), Map.entry("colour", "red"), Map.entry("trace", "\u0002"),
                Map.entry("trace", "")), stored.get(1));
        assertArrayEquals(utf8("k"), stored.get(2).key());
        assertArrayEquals(NOT_UTF8, stored.get(2).value());
        assertHeaders(List.of(Map.entry("size", "formidable")), stored.get(2));
        assertHeaders(List.of(Map.entry("colour", "red"), Map.entry("size", "\u0000")), stored.get(3));
    }

    @Test
    void malformedHeadersAre400(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("badheaders");
        assertError(post(rest, records(topic) + "?headers=colour", "text/plain", "v"), 400, topic, "name:hexvalue");
        assertError(post(rest, records(topic) + "?headers=:726564", "text/plain", "v"), 400, topic, "name:hexvalue");
        assertError(post(rest, records(topic) + "?headers=colour:red", "text/plain", "v"), 400, topic, "hexadecimal");
        assertError(post(rest, records(topic) + "?headers=colour:72656", "text/plain", "v"), 400, topic, "hexadecimal");
        // A name of spaces would reach Kafka as an empty one.
        assertError(post(rest, records(topic) + "?headers=%20:00", "text/plain", "v"), 400, topic, "blank");
        // What the client sent is quoted in part: an answer does not echo kilobytes of its query.
        JsonNode long_ = assertError(post(rest, records(topic) + "?headers=h:" + "zz".repeat(2000), "text/plain", "v"),
                400, topic, "hexadecimal");
        assertTrue(long_.get("message").asText().length() < 300, long_.toString());
    }

    // ---- empty bodies and limits

    @Test
    void anEmptyBodyIs411(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("empty");
        assertError(post(rest, records(topic), "text/plain", new byte[0]), 411, topic, "no data");
        assertError(postChunked(rest, records(topic), "text/plain", new byte[0]), 411, topic, "no data");
        assertError(post(rest, records(topic), "application/json", new byte[0]), 411, topic, "no data");
    }

    @Test
    void aValueOverTheLimitIs400WhetherItsLengthIsDeclaredOrChunked(KafkaCluster kafka) {
        Rest rest = limited.rest();
        String topic = KafkaCluster.uniqueTopic("bigvalue");
        byte[] atLimit = new byte[VALUE_MAX];
        Arrays.fill(atLimit, (byte) 'a');
        byte[] over = new byte[VALUE_MAX + 1];
        Arrays.fill(over, (byte) 'b');

        assertError(post(rest, records(topic), "application/octet-stream", over), 400, topic,
                "larger than " + VALUE_MAX + " bytes");
        assertError(postChunked(rest, records(topic), "application/octet-stream", over), 400, topic,
                "larger than " + VALUE_MAX + " bytes");
        assertError(postChunked(rest, records(topic), "application/octet-stream", new byte[10 * VALUE_MAX]), 400, topic,
                "larger than " + VALUE_MAX + " bytes");
        assertOk(post(rest, records(topic), "application/octet-stream", atLimit));
        assertOk(postChunked(rest, records(topic), "application/octet-stream", atLimit));
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 2);
        assertEquals(2, stored.size());
        stored.forEach(c -> assertArrayEquals(atLimit, c.value()));
    }

    @Test
    void aKeyOverTheLimitIs400CountingBytesNotCharacters(KafkaCluster kafka) {
        Rest rest = limited.rest();
        String topic = KafkaCluster.uniqueTopic("bigkey");
        String sixteen = "0123456789abcdef";
        assertError(post(rest, records(topic) + "?key=" + sixteen + "x", "text/plain", "v"), 400, topic,
                "larger than " + KEY_MAX + " bytes");
        assertError(post(rest, records(topic) + "?key=" + "%C3%A9".repeat(9), "text/plain", "v"), 400, topic,
                "larger than " + KEY_MAX + " bytes");
        assertError(post(rest, records(topic) + "?keyType=binary&key=" + "ab".repeat(KEY_MAX + 1), "text/plain", "v"),
                400, topic, "larger than " + KEY_MAX + " bytes");
        assertOk(post(rest, records(topic) + "?key=" + sixteen, "text/plain", "v"));
        assertOk(post(rest, records(topic) + "?key=" + "%C3%A9".repeat(8), "text/plain", "v"));
        assertOk(post(rest, records(topic) + "?keyType=binary&key=" + "ab".repeat(KEY_MAX), "text/plain", "v"));
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, 3);
        assertArrayEquals(utf8(sixteen), stored.get(0).key());
        assertArrayEquals(utf8("é".repeat(8)), stored.get(1).key());
        assertEquals(KEY_MAX, stored.get(2).key().length);
    }

    @Test
    void aUriOverTheLimitIs414() {
        Rest rest = limited.rest();
        String topic = KafkaCluster.uniqueTopic("longuri");
        String prefix = records(topic) + "?pad=";
        String atLimit = prefix + "x".repeat(URI_MAX - prefix.length());
        assertEquals(URI_MAX, atLimit.length());
        assertOk(post(rest, atLimit, "text/plain", "v"));
        assertError(post(rest, atLimit + "x", "text/plain", "v"), 414, topic, "longer than " + URI_MAX);
        assertError(post(rest, records(topic) + "?headers=h:" + "00".repeat(URI_MAX), "text/plain", "v"), 414, topic,
                "longer than " + URI_MAX);
    }

    @Test
    void theDefaultLimitsAreIbms4KibKey64KibValueAnd10KibUri(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("defaults");
        assertOk(post(rest, records(topic), "application/octet-stream", new byte[65536]));
        assertError(post(rest, records(topic), "application/octet-stream", new byte[65537]), 400, topic,
                "larger than 65536 bytes");
        assertOk(post(rest, records(topic) + "?key=" + "k".repeat(4096), "text/plain", "v"));
        assertError(post(rest, records(topic) + "?key=" + "k".repeat(4097), "text/plain", "v"), 400, topic,
                "larger than 4096 bytes");
        String prefix = records(topic) + "?pad=";
        assertOk(post(rest, prefix + "x".repeat(10240 - prefix.length()), "text/plain", "v"));
        assertError(post(rest, prefix + "x".repeat(10241 - prefix.length()), "text/plain", "v"), 414, topic,
                "longer than 10240");
        assertEquals(3, kafka.read(topic, 3).size());
    }

    // ---- errors

    @Test
    void aMissingTopicIs404WithKafkaErrorCode3Promptly() throws Exception {
        String topic = KafkaCluster.uniqueTopic("absent");
        long start = System.nanoTime();
        Rest.Response r = post(strict.rest(), records(topic), "text/plain", "test message");
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertEquals("{\"error_code\":404,\"message\":\"Topic not found.\",\"error\":{\"error_code\":404,"
                + "\"message\":\"Topic not found.\",\"kafka_error_code\":3,\"topic\":\"" + topic + "\"}}", r.body());
        assertEquals(404, r.status());
        assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0, "answered within metadata.timeout.ms, took " + took);

        noAutoCreate.createTopic(topic, 1);
        Rest.Response created = post(strict.rest(), records(topic), "text/plain", "test message");
        assertOk(created);
        assertArrayEquals(utf8("test message"), noAutoCreate.read(topic, 1).get(0).value());
    }

    @Test
    void aValueWithinTheLimitThatKafkaRefusesAsTooLargeIs400WithKafkasErrorCode() throws Exception {
        String topic = noAutoCreate.createTopic(KafkaCluster.uniqueTopic("kafkatoolarge"), 1);
        JsonNode body = assertError(post(strict.rest(), records(topic), "application/octet-stream", new byte[4096]), 400,
                topic, "too large for Kafka");
        assertEquals(10, body.get("error").get("kafka_error_code").asInt(), "MESSAGE_TOO_LARGE: " + body);
        assertOk(post(strict.rest(), records(topic), "application/octet-stream", new byte[1024]));
    }

    @Test
    void errorsHaveIbmsShapeWithTheHttpStatusAsErrorCode(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("shape");
        JsonNode body = assertError(post(rest, records(topic) + "?keyType=hex&key=00", "text/plain", "v"), 400, topic,
                "keyType");
        assertEquals("{\"error_code\":400,\"message\":\"keyType must be text or binary, not 'hex'\","
                + "\"error\":{\"error_code\":400,\"message\":\"keyType must be text or binary, not 'hex'\","
                + "\"topic\":\"" + topic + "\"}}", body.toString());
    }
}
