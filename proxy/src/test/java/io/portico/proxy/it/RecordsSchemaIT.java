package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.SchemaPortico;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The records endpoint's schema parameters ({@code schemaname}, {@code schemaversion},
 * {@code schemavalidation}) against a real schema registry: IBM's schema curl, the headers IBM's
 * serdes read, the value stored untouched, the latest version by default, validation of binary
 * and JSON encodings, and IBM's errors (404 for a schema the registry does not have, naming it).
 */
@ExtendWith({PorticoExtension.class, SchemaPortico.Extension.class})
class RecordsSchemaIT {
    private static final String USER = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"portico.test\","
            + "\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}";
    private static final String USER_V2 = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"portico.test\","
            + "\"fields\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"age\",\"type\":\"int\",\"default\":0}]}";

    /** Avro binary of User{name}: the string's zig-zag length, then its bytes. */
    private static byte[] user(String name) {
        byte[] text = name.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[1 + text.length];
        out[0] = (byte) (text.length * 2);
        System.arraycopy(text, 0, out, 1, text.length);
        return out;
    }

    private static Rest.Response post(Rest rest, String pathAndQuery, String contentType, byte[] body) {
        return rest.send(HttpRequest.newBuilder(rest.uri(pathAndQuery)).header("Content-Type", contentType)
                .header("Accept", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    private static Map<String, String> headers(ConsumerRecord<byte[], byte[]> r) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Header h : r.headers()) {
            out.put(h.key(), new String(h.value(), StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void ibmsSchemaCurlStoresTheBodyWithTheSchemaHeaders(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String subject = KafkaCluster.uniqueTopic("es-user");
        sp.registry().register(subject, USER);
        String topic = sp.cluster().createTopic(KafkaCluster.uniqueTopic("es-schema"), 1);

        // curl -H "Accept: application/json" -H "Content-Type: text/plain" -d '<avro-encoded-message>'
        //      ".../topics/<my-topic>/records?schemaname=<schema-name>&schemaversion=<schema-version-name>"
        byte[] avro = user("testUser");
        Rest.Response r = post(rest, "/topics/" + topic + "/records?schemaname=" + subject + "&schemaversion=1",
                "text/plain", avro);
        assertEquals(200, r.status(), r.body());
        assertEquals(topic, r.json().get("metadata").get("topic").asText());
        // An avro JSON body, as IBM's docs say to send it, checked against the schema.
        Rest.Response json = post(rest, "/topics/" + topic + "/records?schemaname=" + subject
                + "&schemaversion=1&schemavalidation=true", "application/json",
                "{\"name\":\"jsonUser\"}".getBytes(StandardCharsets.UTF_8));
        assertEquals(200, json.status(), json.body());

        List<ConsumerRecord<byte[], byte[]>> stored = sp.cluster().read(topic, 2);
        assertArrayEquals(avro, stored.get(0).value(), "the body is the value, untouched (no framing)");
        assertEquals(Map.of("com.ibm.eventstreams.schemaregistry.schema.id", subject,
                "com.ibm.eventstreams.schemaregistry.schema.version", "1",
                "com.ibm.eventstreams.schemaregistry.encoding", "BINARY"), headers(stored.get(0)));
        assertEquals("{\"name\":\"jsonUser\"}", new String(stored.get(1).value(), StandardCharsets.UTF_8));
        assertEquals("JSON", headers(stored.get(1)).get("com.ibm.eventstreams.schemaregistry.encoding"));
    }

    @Test
    void theLatestVersionIsTakenWhenNoneIsNamedAndTheQuerysOwnHeadersStay(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String subject = KafkaCluster.uniqueTopic("es-evolving");
        sp.registry().register(subject, USER);
        sp.registry().register(subject, USER_V2);
        String topic = sp.cluster().createTopic(KafkaCluster.uniqueTopic("es-latest"), 1);
        byte[] avro = new byte[] {4, 'a', 'b', 6}; // User v2 {name: "ab", age: 3}
        // A header of the query under an IBM name is replaced; the others are kept, in order.
        Rest.Response r = post(rest, "/topics/" + topic + "/records?schemaname=" + subject + "&schemavalidation=true"
                + "&headers=trace:616263,com.ibm.eventstreams.schemaregistry.encoding:4a534f4e", "application/octet-stream", avro);
        assertEquals(200, r.status(), r.body());
        ConsumerRecord<byte[], byte[]> stored = sp.cluster().read(topic, 1).get(0);
        assertEquals(List.of("trace", "com.ibm.eventstreams.schemaregistry.schema.id",
                "com.ibm.eventstreams.schemaregistry.schema.version", "com.ibm.eventstreams.schemaregistry.encoding"),
                List.copyOf(headers(stored).keySet()));
        assertEquals(subject, headers(stored).get("com.ibm.eventstreams.schemaregistry.schema.id"));
        assertEquals("2", headers(stored).get("com.ibm.eventstreams.schemaregistry.schema.version"));
        assertEquals("BINARY", headers(stored).get("com.ibm.eventstreams.schemaregistry.encoding"));
    }

    @Test
    void aSchemaTheRegistryDoesNotHaveIs404NamingItAndNothingIsProduced(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String subject = KafkaCluster.uniqueTopic("es-known");
        sp.registry().register(subject, USER);
        String topic = sp.cluster().createTopic(KafkaCluster.uniqueTopic("es-unknown"), 1);
        String missing = KafkaCluster.uniqueTopic("es-missing");
        Rest.Response noSubject = post(rest, "/topics/" + topic + "/records?schemaname=" + missing, "text/plain", user("x"));
        assertEquals(404, noSubject.status(), noSubject.body());
        JsonNode body = noSubject.json();
        assertEquals(404, body.get("error_code").asInt(), noSubject.body());
        assertEquals(404, body.get("error").get("error_code").asInt(), noSubject.body());
        assertEquals(missing, body.get("error").get("schema").asText(), noSubject.body());
        assertTrue(body.get("message").asText().contains(missing), noSubject.body());

        for (String version : List.of("7", "one", "0", "1.0.0")) {
            Rest.Response noVersion = post(rest, "/topics/" + topic + "/records?schemaname=" + subject
                    + "&schemaversion=" + version, "text/plain", user("x"));
            assertEquals(404, noVersion.status(), version + ": " + noVersion.body());
            assertEquals(subject, noVersion.json().get("error").get("schema").asText(), noVersion.body());
        }

        // A message that is not a datum of the schema, with validation asked for: 400, naming the schema.
        Rest.Response invalid = post(rest, "/topics/" + topic + "/records?schemaname=" + subject
                + "&schemaversion=1&schemavalidation=true", "application/octet-stream", new byte[] {20, 'a'});
        assertEquals(400, invalid.status(), invalid.body());
        assertEquals(subject, invalid.json().get("error").get("schema").asText(), invalid.body());
        Rest.Response trailing = post(rest, "/topics/" + topic + "/records?schemaname=" + subject
                + "&schemavalidation=true", "application/octet-stream", new byte[] {2, 'a', 0});
        assertEquals(400, trailing.status(), trailing.body());
        // A string of length -1 (zig-zag 1): avro's skip takes it as empty, its readers refuse it.
        Rest.Response negative = post(rest, "/topics/" + topic + "/records?schemaname=" + subject
                + "&schemavalidation=true", "application/octet-stream", new byte[] {1});
        assertEquals(400, negative.status(), negative.body());
        assertTrue(negative.json().get("message").asText().contains("Length is negative"), negative.body());
        Rest.Response badJson = post(rest, "/topics/" + topic + "/records?schemaname=" + subject
                + "&schemavalidation=true", "application/json", "{\"name\":1}".getBytes(StandardCharsets.UTF_8));
        assertEquals(400, badJson.status(), badJson.body());
        // Without validation the lookup alone decides, as IBM's how-to says: the same bytes are taken.
        Rest.Response unchecked = post(rest, "/topics/" + topic + "/records?schemaname=" + subject,
                "application/octet-stream", new byte[] {2, 'a', 0});
        assertEquals(200, unchecked.status(), unchecked.body());
        assertEquals(1, sp.cluster().readToEnd(topic, "read_uncommitted").size(), "only the unchecked record was produced");
    }

    @Test
    void badSchemaParametersAre400AndWithoutARegistry501(SchemaPortico sp, Rest plain) throws Exception {
        String topic = sp.cluster().createTopic(KafkaCluster.uniqueTopic("es-params"), 1);
        for (String query : List.of("schemaversion=1", "schemavalidation=true", "schemaname=s&schemavalidation=yes",
                "schemaname=")) {
            Rest.Response r = post(sp.rest(), "/topics/" + topic + "/records?" + query, "text/plain", user("x"));
            assertEquals(400, r.status(), query + ": " + r.body());
            assertEquals(400, r.json().get("error").get("error_code").asInt(), r.body());
        }
        Rest.Response none = post(plain, "/topics/" + topic + "/records?schemaname=s", "text/plain", user("x"));
        assertEquals(501, none.status(), none.body());
        assertTrue(none.json().get("message").asText().contains("schema.registry.url"), none.body());
        assertEquals(0, sp.cluster().readToEnd(topic, "read_uncommitted").size(), "nothing was produced");
        assertTrue(Json.mapper().readTree(none.body()).has("error"), none.body());
    }

    @Test
    void anIdempotencyKeyWithASchemaIsWrittenOnceAndAFailedLookUpIsNotKept(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String subject = KafkaCluster.uniqueTopic("es-keyed");
        String topic = sp.cluster().createTopic(KafkaCluster.uniqueTopic("es-keyed"), 1);
        String key = "schema-" + System.nanoTime();
        String path = "/topics/" + topic + "/records?schemaname=" + subject + "&schemavalidation=true";
        HttpRequest.Builder keyed = HttpRequest.newBuilder(rest.uri(path)).header("Content-Type", "application/octet-stream")
                .header("Idempotency-Key", key).POST(HttpRequest.BodyPublishers.ofByteArray(user("once")));
        // Not registered yet: 404, and nothing is kept under the key.
        Rest.Response missing = rest.send(keyed);
        assertEquals(404, missing.status(), missing.body());
        sp.registry().register(subject, USER);
        // A schema the registry did not have is looked up again a second later (not on every request).
        Rest.Response first = rest.send(keyed);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (first.status() == 404 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            first = rest.send(keyed);
        }
        assertEquals(200, first.status(), first.body());
        Rest.Response again = rest.send(keyed);
        assertEquals(200, again.status(), again.body());
        assertEquals("true", again.headers().firstValue("Idempotent-Replayed").orElse(null), again.body());
        assertEquals(first.body(), again.body());
        List<ConsumerRecord<byte[], byte[]>> stored = sp.cluster().readToEnd(topic, "read_committed");
        assertEquals(1, stored.size(), "written once");
        assertEquals(subject, headers(stored.get(0)).get("com.ibm.eventstreams.schemaregistry.schema.id"));
    }

    @Test
    void aRegistryThatDoesNotAnswerIs503(SchemaPortico sp) throws Exception {
        String topic = sp.cluster().createTopic(KafkaCluster.uniqueTopic("es-down"), 1);
        int closed = io.portico.proxy.testing.TestPortico.freePort();
        try (io.portico.proxy.testing.TestPortico down = io.portico.proxy.testing.TestPortico.start(sp.cluster(), Map.of(
                "schema.registry.url", "http://127.0.0.1:" + closed, "schema.registry.request.timeout.ms", "1000"))) {
            Rest.Response r = post(down.rest(), "/topics/" + topic + "/records?schemaname=s", "text/plain", user("x"));
            assertEquals(503, r.status(), r.body());
            assertEquals(503, r.json().get("error").get("error_code").asInt(), r.body());
        }
        assertEquals(0, sp.cluster().readToEnd(topic, "read_uncommitted").size(), "nothing was produced");
    }

    /**
     * Hostile bodies with validation asked for: six bytes declaring 2^30 empty items, and a datum
     * nested past the depth bound, are 400 at once (never built in memory), and a client producing
     * at the same time is served as usual.
     */
    @Test
    void hostileBodiesToValidateAreRefusedCheaplyAndOtherClientsAreServed(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String nulls = KafkaCluster.uniqueTopic("es-nulls");
        sp.registry().register(nulls, "{\"type\":\"array\",\"items\":\"null\"}");
        String chain = KafkaCluster.uniqueTopic("es-chain");
        sp.registry().register(chain, "{\"type\":\"record\",\"name\":\"Link\",\"fields\":[{\"name\":\"next\","
                + "\"type\":[\"null\",\"Link\"]}]}");
        String topic = sp.cluster().createTopic(KafkaCluster.uniqueTopic("es-hostile"), 1);
        byte[] manyNulls = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08, 0};
        byte[] deep = new byte[10_001];
        java.util.Arrays.fill(deep, 0, 10_000, (byte) 2); // branch 1 (another Link), 10,000 times
        deep[10_000] = 0; // then null
        java.util.concurrent.ExecutorService others = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<Rest.Response> other = others.submit(() ->
                    post(rest, "/topics/" + topic + "/records", "text/plain", "ordinary".getBytes(StandardCharsets.UTF_8)));
            for (int i = 0; i < 20; i++) {
                Rest.Response r = post(rest, "/topics/" + topic + "/records?schemaname=" + nulls + "&schemavalidation=true",
                        "application/octet-stream", manyNulls);
                assertEquals(400, r.status(), r.body());
                assertTrue(r.body().contains("more items"), r.body());
                Rest.Response d = post(rest, "/topics/" + topic + "/records?schemaname=" + chain + "&schemavalidation=true",
                        "application/octet-stream", deep);
                assertEquals(400, d.status(), d.body());
                assertTrue(d.body().contains("deeper"), d.body());
            }
            assertEquals(200, other.get(60, java.util.concurrent.TimeUnit.SECONDS).status());
        } finally {
            others.shutdownNow();
        }
        Rest.Response after = post(rest, "/topics/" + topic + "/records", "text/plain", "after".getBytes(StandardCharsets.UTF_8));
        assertEquals(200, after.status(), after.body());
        assertEquals(List.of("ordinary", "after"), sp.cluster().readToEnd(topic, "read_uncommitted").stream()
                .map(r -> new String(r.value(), StandardCharsets.UTF_8)).sorted(java.util.Comparator.reverseOrder()).toList());
    }
}
