package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.SchemaPortico;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * JSON Schema and protobuf through v2 produce and consumer instances, and all three schema
 * types through v3 produce (raw schema, schema_id, schema_version, subject, record-name
 * strategies, the type left to the registry), against a real schema registry; the bytes in
 * Kafka checked as a plain consumer reads them, and errors reported per record in a v3 stream.
 */
@ExtendWith({PorticoExtension.class, SchemaPortico.Extension.class})
class SchemaFormatsIT {
    private static final String V2 = "application/vnd.kafka.v2+json";
    private static final String JSONSCHEMA_V2 = "application/vnd.kafka.jsonschema.v2+json";
    private static final String PROTOBUF_V2 = "application/vnd.kafka.protobuf.v2+json";
    private static final String PERSON = "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"title\":\"Person\","
            + "\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}},"
            + "\"required\":[\"name\"]}";
    private static final String ORDER = "syntax = \"proto3\";\npackage demo;\nmessage Order {\n  string id = 1;\n"
            + "  int64 total = 2;\n  repeated string tags = 3;\n}\n";
    private static final String USER = "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"demo\",\"fields\":"
            + "[{\"name\":\"name\",\"type\":\"string\"}]}";

    private static String json(String text) {
        try {
            return io.portico.protocol.Json.mapper().writeValueAsString(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static int idOf(byte[] framed) {
        assertEquals(0, framed[0], "magic byte");
        return (framed[1] & 0xff) << 24 | (framed[2] & 0xff) << 16 | (framed[3] & 0xff) << 8 | framed[4] & 0xff;
    }

    /** A v2 instance of {@code format} in {@code group}, subscribed to {@code topic}: up to {@code count} records, then deleted. */
    static List<JsonNode> readV2(Rest rest, String group, String topic, String format, String accept, int count) {
        String base = "/consumers/" + group + "/instances/i";
        assertEquals(200, rest.post("/consumers/" + group, V2, "{\"name\":\"i\",\"format\":\"" + format
                + "\",\"auto.offset.reset\":\"earliest\"}").status());
        assertEquals(204, rest.post(base + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}").status());
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < 30 && out.size() < count; i++) {
            Rest.Response r = rest.get(base + "/records", "Accept", accept);
            assertEquals(200, r.status(), r.body());
            r.json().forEach(out::add);
        }
        rest.delete(base);
        return out;
    }

    @Test
    void jsonSchemaThroughV2ProduceAndConsume(SchemaPortico sp) {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("people");
        Rest.Response produced = rest.post("/topics/" + topic, JSONSCHEMA_V2, "{\"value_schema\":" + json(PERSON)
                + ",\"records\":[{\"value\":{\"name\":\"Ann\",\"age\":41}},{\"value\":{\"name\":\"Bo\"}}]}");
        assertEquals(200, produced.status(), produced.body());
        int id = produced.json().get("value_schema_id").asInt();
        List<ConsumerRecord<byte[], byte[]>> stored = sp.cluster().read(topic, 2);
        assertEquals(id, idOf(stored.get(0).value()));
        assertEquals("{\"name\":\"Ann\",\"age\":41}", new String(stored.get(0).value(), 5, stored.get(0).value().length - 5,
                StandardCharsets.UTF_8));

        Rest.Response invalid = rest.post("/topics/" + topic, JSONSCHEMA_V2, "{\"value_schema_id\":" + id
                + ",\"records\":[{\"value\":{\"age\":\"old\"}}]}");
        assertEquals(422, invalid.status(), invalid.body());
        assertEquals(42207, invalid.json().get("error_code").asInt());
        assertTrue(invalid.json().get("message").asText().contains("name"), invalid.body());

        List<JsonNode> read = readV2(rest, KafkaCluster.uniqueTopic("people-group"), topic, "jsonschema", JSONSCHEMA_V2, 2);
        assertEquals(2, read.size());
        assertEquals("{\"name\":\"Ann\",\"age\":41}", read.get(0).get("value").toString());
        assertEquals("{\"name\":\"Bo\"}", read.get(1).get("value").toString());
    }

    @Test
    void aJsonSchemaPatternThatBacktracksWithoutEndIsRefusedAndTheTopicStaysUsable(SchemaPortico sp) {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("codes");
        // Java's matcher takes about 2^40 steps for this pattern on 40 "a"s and a "!".
        String schema = "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":\"string\","
                + "\"pattern\":\"^(a+)+\\\\1$\"}}}";
        Rest.Response runaway = rest.post("/topics/" + topic, JSONSCHEMA_V2, "{\"value_schema\":" + json(schema)
                + ",\"records\":[{\"value\":{\"code\":\"" + "a".repeat(40) + "!\"}}]}");
        assertEquals(422, runaway.status(), runaway.body());
        assertEquals(42207, runaway.json().get("error_code").asInt());
        assertTrue(runaway.json().get("message").asText().contains("took too long"), runaway.body());
        Rest.Response fine = rest.post("/topics/" + topic, JSONSCHEMA_V2, "{\"value_schema\":" + json(schema)
                + ",\"records\":[{\"value\":{\"code\":\"aaaa\"}}]}");
        assertEquals(200, fine.status(), fine.body());
        assertEquals("{\"code\":\"aaaa\"}", new String(sp.cluster().read(topic, 1).get(0).value(), 5, 15,
                StandardCharsets.UTF_8));
    }

    @Test
    void protobufThroughV2ProduceAndConsume(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("orders");
        Rest.Response produced = rest.post("/topics/" + topic, PROTOBUF_V2, "{\"key_schema\":" + json(
                "syntax = \"proto3\"; message Key { string id = 1; }") + ",\"value_schema\":" + json(ORDER)
                + ",\"records\":[{\"key\":{\"id\":\"o-1\"},\"value\":{\"id\":\"o-1\",\"total\":\"42\",\"tags\":[\"a\",\"b\"]}}]}");
        assertEquals(200, produced.status(), produced.body());
        int valueId = produced.json().get("value_schema_id").asInt();
        ConsumerRecord<byte[], byte[]> stored = sp.cluster().read(topic, 1).get(0);
        assertEquals(valueId, idOf(stored.value()));
        // After the id: the message-index list [0] as one byte 0, then the message exactly as protobuf writes it.
        byte[] message = {0x0a, 3, 'o', '-', '1', 0x10, 42, 0x1a, 1, 'a', 0x1a, 1, 'b'};
        assertArrayEquals(message, Arrays.copyOfRange(stored.value(), 6, stored.value().length));
        assertEquals(0, stored.value()[5]);

        // A record written by a plain producer in Confluent's framing reads back as JSON.
        byte[] plain = new byte[6 + 5];
        System.arraycopy(stored.value(), 0, plain, 0, 6);
        System.arraycopy(new byte[] {0x0a, 3, 'o', '-', '2'}, 0, plain, 6, 5);
        sp.cluster().produce(topic, 0, null, plain);

        List<JsonNode> read = readV2(rest, KafkaCluster.uniqueTopic("orders-group"), topic, "protobuf", PROTOBUF_V2, 2);
        assertEquals(2, read.size());
        assertEquals("{\"id\":\"o-1\"}", read.get(0).get("key").toString());
        assertEquals("{\"id\":\"o-1\",\"total\":\"42\",\"tags\":[\"a\",\"b\"]}", read.get(0).get("value").toString());
        assertEquals("{\"id\":\"o-2\",\"total\":\"0\",\"tags\":[]}", read.get(1).get("value").toString());
    }

    @Test
    void aKeyThatListsSubjectsUsesNoOtherBeyondItsTopicsOwn(SchemaPortico sp,
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        String scoped = "s-" + java.util.UUID.randomUUID();
        String open = "o-" + java.util.UUID.randomUUID();
        java.nio.file.Path keys = java.nio.file.Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"scoped\",\"key\":\"" + scoped + "\",\"role\":\"writer\",\"topics\":[\"sandbox-*\"],"
                + "\"subjects\":[\"sandbox.*\"]},"
                + "{\"name\":\"open\",\"key\":\"" + open + "\",\"role\":\"writer\",\"topics\":[\"sandbox-*\"]}]}");
        String suffix = java.util.UUID.randomUUID().toString().substring(0, 8);
        String topic = KafkaCluster.uniqueTopic("sandbox-subjects");
        String othersSubject = "orders-" + suffix + "-value";
        try (io.portico.proxy.testing.TestPortico p = io.portico.proxy.testing.TestPortico.start(sp.cluster(), java.util.Map.of(
                "schema.registry.url", sp.registry().url().toString(),
                "authentication.method", "API_KEY", "api.keys.file", keys.toString()))) {
            Rest rest = p.rest();
            String cluster = rest.get("/v3/clusters", "Authorization", "Bearer " + scoped).json().get("data").get(0)
                    .get("cluster_id").asText();
            String path = "/v3/clusters/" + cluster + "/topics/" + topic + "/records";
            java.util.function.BiFunction<String, String, JsonNode> produce = (key, value) -> {
                Rest.Response r = rest.post(path, "application/json", "{\"value\":" + value + "}",
                        "Authorization", "Bearer " + key);
                assertEquals(200, r.status(), r.body());
                return r.json();
            };
            String user = "\"schema\":" + json(USER) + ",\"data\":{\"name\":\"Ann\"}";

            JsonNode others = produce.apply(scoped, "{\"type\":\"AVRO\",\"subject\":\"" + othersSubject + "\"," + user + "}");
            assertEquals(403, others.get("error_code").asInt(), others.toString());
            assertTrue(others.get("message").asText().contains(othersSubject), others.toString());
            assertTrue(!sp.registry().get("/subjects").contains(othersSubject), "nothing registered under it");
            JsonNode byRecordName = produce.apply(scoped, "{\"type\":\"AVRO\",\"subject_name_strategy\":\"RECORD_NAME\","
                    + user + "}");
            assertEquals(403, byRecordName.get("error_code").asInt(), "demo.User is not the key's: " + byRecordName);

            JsonNode own = produce.apply(scoped, "{\"type\":\"AVRO\"," + user + "}");
            assertEquals(200, own.get("error_code").asInt(), "the topic's own subject: " + own);
            assertEquals(topic + "-value", own.get("value").get("subject").asText());
            String listed = "sandbox.users-" + suffix;
            JsonNode inList = produce.apply(scoped, "{\"type\":\"AVRO\",\"subject\":\"" + listed + "\"," + user + "}");
            assertEquals(200, inList.get("error_code").asInt(), "a subject its entry lists: " + inList);

            JsonNode unscoped = produce.apply(open, "{\"type\":\"AVRO\",\"subject\":\"" + othersSubject + "\"," + user + "}");
            assertEquals(200, unscoped.get("error_code").asInt(), "a key that lists no subjects may use any: " + unscoped);

            Rest.Response named = rest.post("/topics/" + topic + "/records?schemaname=" + othersSubject, "text/plain", "x",
                    "Authorization", "Bearer " + scoped);
            assertEquals(403, named.status(), "the records endpoint's schemaname too: " + named.body());
        }
    }

    @Test
    void v3TypedRecordsWithEveryWayOfNamingTheirSchema(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("v3-avro");
        String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
        String path = "/v3/clusters/" + cluster + "/topics/" + topic + "/records";
        // 1: a raw schema, registered under <topic>-value
        Rest.Response first = rest.post(path, "application/json", "{\"value\":{\"type\":\"AVRO\",\"schema\":" + json(USER)
                + ",\"data\":{\"name\":\"Ann\"}}}");
        assertEquals(200, first.status(), first.body());
        JsonNode report = first.json();
        assertEquals(200, report.get("error_code").asInt(), first.body());
        JsonNode value = report.get("value");
        int id = value.get("schema_id").asInt();
        assertEquals("{\"type\":\"AVRO\",\"subject\":\"" + topic + "-value\",\"schema_id\":" + id
                + ",\"schema_version\":1,\"size\":9}", value.toString());

        // 2-5 in one stream: by id, by version, data that does not fit (reported alone), the type left to the registry
        String stream = "{\"value\":{\"schema_id\":" + id + ",\"data\":{\"name\":\"Bo\"}}}\n"
                + "{\"value\":{\"type\":\"AVRO\",\"schema_version\":1,\"data\":{\"name\":\"Cy\"}}}\n"
                + "{\"value\":{\"type\":\"AVRO\",\"schema_version\":1,\"data\":{\"name\":7}}}\n"
                + "{\"value\":{\"data\":{\"name\":\"Di\"}}}\n"
                + "{\"key\":{\"type\":\"STRING\",\"data\":\"k\"},\"value\":{\"type\":\"AVRO\",\"subject_name_strategy\":\"RECORD_NAME\","
                + "\"schema\":" + json(USER) + ",\"data\":{\"name\":\"Ed\"}}}\n";
        Rest.Response streamed = rest.post(path, "application/json", stream);
        assertEquals(200, streamed.status(), streamed.body());
        String[] reports = streamed.body().split("\r\n");
        assertEquals(5, reports.length, streamed.body());
        for (int i : new int[] {0, 1, 3}) {
            JsonNode r = io.portico.protocol.Json.mapper().readTree(reports[i]);
            assertEquals(200, r.get("error_code").asInt(), reports[i]);
            assertEquals(id, r.get("value").get("schema_id").asInt(), reports[i]);
            assertEquals(topic + "-value", r.get("value").get("subject").asText(), reports[i]);
        }
        JsonNode mismatch = io.portico.protocol.Json.mapper().readTree(reports[2]);
        assertEquals(422, mismatch.get("error_code").asInt(), reports[2]);
        assertTrue(mismatch.get("message").asText().startsWith("Error: 42207 : "), reports[2]);
        JsonNode byRecordName = io.portico.protocol.Json.mapper().readTree(reports[4]);
        assertEquals(200, byRecordName.get("error_code").asInt(), reports[4]);
        assertEquals("demo.User", byRecordName.get("value").get("subject").asText(), reports[4]);
        assertEquals("{\"type\":\"STRING\",\"size\":1}", byRecordName.get("key").toString());

        // In Kafka: 5 records (the mismatch was not produced), each framed with its id.
        List<ConsumerRecord<byte[], byte[]>> stored = sp.cluster().read(topic, 5);
        assertEquals(5, stored.size());
        for (ConsumerRecord<byte[], byte[]> r : stored) {
            assertEquals(r.offset() == 4 ? byRecordName.get("value").get("schema_id").asInt() : id, idOf(r.value()));
        }
        byte[] bo = stored.get(1).value();
        assertEquals("Bo", new String(bo, 6, bo.length - 6, StandardCharsets.UTF_8)); // avro string: zig-zag length, then bytes
    }

    @Test
    void v3ByASchemaIdTheSubjectDoesNotHaveIsRefused(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("v3-foreign-id");
        String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
        String path = "/v3/clusters/" + cluster + "/topics/" + topic + "/records";
        String elsewhere = topic + "-elsewhere";
        int id = sp.registry().register(elsewhere, "{\"type\":\"record\",\"name\":\"Payment\",\"fields\":"
                + "[{\"name\":\"amount\",\"type\":\"int\"}]}");
        sp.registry().register(topic + "-other", USER);
        String data = ",\"data\":{\"amount\":5}}}\n";
        // As Confluent's v3: the id must be registered under the subject the record goes under, so
        // that subject's compatibility rule holds for all its records.
        Rest.Response r = rest.post(path, "application/json",
                "{\"value\":{\"schema_id\":" + id + data // <topic>-value: no such subject
                        + "{\"value\":{\"schema_id\":" + id + ",\"subject\":\"" + topic + "-other\"" + data // a subject without it
                        + "{\"value\":{\"schema_id\":" + id + ",\"subject\":\"" + elsewhere + "\"" + data);
        assertEquals(200, r.status(), r.body());
        String[] reports = r.body().split("\r\n");
        assertEquals(3, reports.length, r.body());
        for (int i = 0; i < 2; i++) {
            JsonNode refused = io.portico.protocol.Json.mapper().readTree(reports[i]);
            assertEquals(422, refused.get("error_code").asInt(), reports[i]);
            String message = refused.get("message").asText();
            assertTrue(message.startsWith("Error: 42207 : ")
                    && message.toLowerCase(java.util.Locale.ROOT).contains("schema id " + id) && message.contains("subject '" + topic + (i == 0 ? "-value'" : "-other'")), reports[i]);
        }
        JsonNode ok = io.portico.protocol.Json.mapper().readTree(reports[2]);
        assertEquals(200, ok.get("error_code").asInt(), reports[2]);
        assertEquals(1, ok.get("value").get("schema_version").asInt(), reports[2]);
        assertEquals(0, ok.get("offset").asInt(), "the refused records were not produced: " + reports[2]);
        ConsumerRecord<byte[], byte[]> stored = sp.cluster().read(topic, 1).get(0);
        assertEquals(id, idOf(stored.value()));
    }

    @Test
    void v3JsonSchemaAndProtobuf(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("v3-others");
        String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
        String path = "/v3/clusters/" + cluster + "/topics/" + topic + "/records";
        Rest.Response r = rest.post(path, "application/json",
                "{\"key\":{\"type\":\"JSONSCHEMA\",\"schema\":" + json(PERSON) + ",\"data\":{\"name\":\"Ann\"}},"
                        + "\"value\":{\"type\":\"PROTOBUF\",\"schema\":" + json(ORDER) + ",\"data\":{\"id\":\"o-9\"}}}\n"
                        + "{\"key\":{\"type\":\"JSONSCHEMA\",\"schema\":" + json(PERSON) + ",\"data\":{\"age\":1}}}\n"
                        + "{\"value\":{\"type\":\"PROTOBUF\",\"schema_id\":1,\"subject\":\"x\",\"subject_name_strategy\":\"RECORD_NAME\",\"data\":{}}}\n"
                        + "{\"value\":{\"type\":\"BINARY\",\"schema_id\":1,\"data\":\"AA==\"}}\n");
        String[] reports = r.body().split("\r\n");
        assertEquals(4, reports.length, r.body());
        JsonNode ok = io.portico.protocol.Json.mapper().readTree(reports[0]);
        assertEquals(200, ok.get("error_code").asInt(), reports[0]);
        assertEquals("JSONSCHEMA", ok.get("key").get("type").asText());
        assertEquals(topic + "-key", ok.get("key").get("subject").asText());
        assertEquals("PROTOBUF", ok.get("value").get("type").asText());
        assertEquals(topic + "-value", ok.get("value").get("subject").asText());
        assertTrue(reports[1].contains("\"error_code\":422") && reports[1].contains("name"), reports[1]);
        assertTrue(reports[2].contains("\"error_code\":422") && reports[2].contains("42206"), reports[2]);
        assertTrue(reports[3].contains("\"error_code\":422") && reports[3].contains("BINARY"), reports[3]);

        ConsumerRecord<byte[], byte[]> stored = sp.cluster().read(topic, 1).get(0);
        assertEquals(ok.get("key").get("schema_id").asInt(), idOf(stored.key()));
        assertEquals("{\"name\":\"Ann\"}", new String(stored.key(), 5, stored.key().length - 5, StandardCharsets.UTF_8));
        assertArrayEquals(new byte[] {0, 0x0a, 3, 'o', '-', '9'}, Arrays.copyOfRange(stored.value(), 5, stored.value().length));
    }
}
