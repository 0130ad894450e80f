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
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The avro embedded format end to end against a real schema registry: Confluent's avro
 * quickstart curls (v1 from the 2.0 docs, v2 from the 5.2 docs) with the answers they show, the
 * bytes in Kafka exactly as Confluent's serializer writes them, records written by a plain
 * producer in Confluent's framing read back, and the errors: no schema, data that does not fit,
 * an incompatible schema, a record not in the framing.
 */
@ExtendWith({PorticoExtension.class, SchemaPortico.Extension.class})
class AvroIT {
    private static final String AVRO_V1 = "application/vnd.kafka.avro.v1+json";
    private static final String AVRO_V2 = "application/vnd.kafka.avro.v2+json";
    private static final String V1 = "application/vnd.kafka.v1+json";
    private static final String V2 = "application/vnd.kafka.v2+json";
    private static final String USER_SCHEMA =
            "{\"type\": \"record\", \"name\": \"User\", \"fields\": [{\"name\": \"name\", \"type\": \"string\"}]}";
    /** The v1 quickstart's produce body, as its curl sends it. */
    private static final String QUICKSTART_BODY = "{\"value_schema\": \"{\\\"type\\\": \\\"record\\\", \\\"name\\\": "
            + "\\\"User\\\", \\\"fields\\\": [{\\\"name\\\": \\\"name\\\", \\\"type\\\": \\\"string\\\"}]}\", "
            + "\"records\": [{\"value\": {\"name\": \"testUser\"}}]}";

    private static byte[] framed(int id, byte... payload) {
        byte[] out = new byte[5 + payload.length];
        out[1] = (byte) (id >>> 24);
        out[2] = (byte) (id >>> 16);
        out[3] = (byte) (id >>> 8);
        out[4] = (byte) id;
        System.arraycopy(payload, 0, out, 5, payload.length);
        return out;
    }

    /** "testUser" in avro binary: zig-zag length 8, then the bytes. */
    private static byte[] testUser() {
        byte[] name = "testUser".getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[1 + name.length];
        out[0] = 16;
        System.arraycopy(name, 0, out, 1, name.length);
        return out;
    }

    private static List<JsonNode> readV1(Rest rest, String path, int count) {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (int i = 0; i < 30 && out.size() < count; i++) {
            Rest.Response r = rest.get(path, "Accept", AVRO_V1);
            assertEquals(200, r.status(), r.body());
            r.json().forEach(out::add);
        }
        return out;
    }

    @Test
    void theV1QuickstartFromThe20DocsAnswersAsItShows(SchemaPortico sp) {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("avrotest");
        String group = KafkaCluster.uniqueTopic("my_avro_consumer");
        // curl -X POST -H "Content-Type: application/vnd.kafka.avro.v1+json" --data '{"value_schema": …}' …/topics/avrotest
        Rest.Response produced = rest.post("/topics/" + topic, AVRO_V1, QUICKSTART_BODY, "Accept", "*/*");
        assertEquals(200, produced.status(), produced.body());
        assertEquals(V1, produced.contentType());
        int id = produced.json().get("value_schema_id").asInt();
        assertEquals("{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}],"
                + "\"key_schema_id\":null,\"value_schema_id\":" + id + "}", produced.body());

        // The bytes in Kafka are Confluent's: magic 0, the id big-endian, avro binary.
        ConsumerRecord<byte[], byte[]> stored = sp.cluster().read(topic, 1).get(0);
        assertArrayEquals(framed(id, testUser()), stored.value());
        assertEquals(null, stored.key());

        // curl -X POST -H "Content-Type: application/vnd.kafka.v1+json" \
        //      --data '{"format": "avro", "auto.offset.reset": "smallest"}' http://localhost:8082/consumers/my_avro_consumer
        Rest.Response created = rest.post("/consumers/" + group, V1, "{\"format\": \"avro\", \"auto.offset.reset\": \"smallest\"}");
        assertEquals(200, created.status(), created.body());
        String instance = created.json().get("instance_id").asText();
        assertTrue(instance.startsWith("rest-consumer-"), instance);
        assertEquals(rest.base() + "/consumers/" + group + "/instances/" + instance,
                created.json().get("base_uri").asText());

        // curl -X GET -H "Accept: application/vnd.kafka.avro.v1+json" …/instances/<id>/topics/avrotest
        Rest.Response read = rest.get("/consumers/" + group + "/instances/" + instance + "/topics/" + topic,
                "Accept", AVRO_V1);
        assertEquals(200, read.status(), read.body());
        assertEquals("[{\"key\":null,\"value\":{\"name\":\"testUser\"},\"partition\":0,\"offset\":0}]", read.body());
        assertEquals(AVRO_V1, read.contentType());

        assertEquals(204, rest.delete("/consumers/" + group + "/instances/" + instance).status());
    }

    @Test
    void theV2QuickstartFromThe52DocsAnswersAsItShows(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("avrotest");
        String keyTopic = KafkaCluster.uniqueTopic("avrokeytest2");
        String group = KafkaCluster.uniqueTopic("my_avro_consumer");
        Rest.Response produced = rest.post("/topics/" + topic, AVRO_V2, QUICKSTART_BODY, "Accept", V2);
        assertEquals(200, produced.status(), produced.body());
        assertEquals(V2, produced.contentType());
        int valueId = produced.json().get("value_schema_id").asInt();
        assertEquals("{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}],"
                + "\"key_schema_id\":null,\"value_schema_id\":" + valueId + "}", produced.body());

        // "Produce a message with Avro key and value", the key schema as the docs write it
        Rest.Response withKey = rest.post("/topics/" + keyTopic, AVRO_V2, "{\"key_schema\": \"{\\\"name\\\":\\\"user_id\\\"  ,"
                + "\\\"type\\\": \\\"int\\\"   }\", \"value_schema\": \"{\\\"type\\\": \\\"record\\\", \\\"name\\\": \\\"User\\\", "
                + "\\\"fields\\\": [{\\\"name\\\": \\\"name\\\", \\\"type\\\": \\\"string\\\"}]}\", \"records\": "
                + "[{\"key\" : 1 , \"value\": {\"name\": \"testUser\"}}]}", "Accept", V2);
        assertEquals(200, withKey.status(), withKey.body());
        int keyId = withKey.json().get("key_schema_id").asInt();
        assertEquals("{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}],"
                + "\"key_schema_id\":" + keyId + ",\"value_schema_id\":" + valueId + "}", withKey.body());
        ConsumerRecord<byte[], byte[]> keyed = sp.cluster().read(keyTopic, 1).get(0);
        assertArrayEquals(framed(keyId, (byte) 2), keyed.key()); // int 1, zig-zag
        assertArrayEquals(framed(valueId, testUser()), keyed.value());

        Rest.Response created = rest.post("/consumers/" + group, V2,
                "{\"name\": \"my_consumer_instance\", \"format\": \"avro\", \"auto.offset.reset\": \"earliest\"}");
        assertEquals(200, created.status(), created.body());
        assertEquals("{\"instance_id\":\"my_consumer_instance\",\"base_uri\":\"" + rest.base() + "/consumers/" + group
                + "/instances/my_consumer_instance\"}", created.body());
        String instance = "/consumers/" + group + "/instances/my_consumer_instance";
        assertEquals(204, rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}").status());
        JsonNode record = null;
        for (int i = 0; i < 30 && record == null; i++) {
            Rest.Response r = rest.get(instance + "/records", "Accept", AVRO_V2);
            assertEquals(200, r.status(), r.body());
            assertEquals(AVRO_V2, r.contentType());
            if (r.json().size() > 0) {
                record = r.json().get(0);
            }
        }
        assertTrue(record != null, "the record came");
        assertEquals(topic, record.get("topic").asText());
        assertEquals("null", record.get("key").toString());
        assertEquals("{\"name\":\"testUser\"}", record.get("value").toString());
        assertEquals(0, record.get("partition").asInt());
        assertEquals(0, record.get("offset").asLong());
        assertEquals(204, rest.delete(instance, "Content-Type", V2).status());
    }

    @Test
    void anAvroInstancesEventStreamCarriesTheDecodedRecords(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("avrosse");
        String group = KafkaCluster.uniqueTopic("avro_sse");
        assertEquals(200, rest.post("/topics/" + topic, AVRO_V2, QUICKSTART_BODY, "Accept", V2).status());
        assertEquals(200, rest.post("/consumers/" + group, V2,
                "{\"name\": \"streamed\", \"format\": \"avro\", \"auto.offset.reset\": \"earliest\"}").status());
        String instance = "/consumers/" + group + "/instances/streamed";
        assertEquals(204, rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}").status());
        try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(rest.uri(instance + "/records"))) {
            assertEquals(200, stream.status(), stream.errorBody());
            io.portico.proxy.testing.SseClient.Event e = stream.next(java.time.Duration.ofSeconds(30));
            assertEquals(topic + "/0/0", e.id());
            assertEquals("{\"name\":\"testUser\"}", io.portico.protocol.Json.mapper().readTree(e.data()).get("value").toString(),
                    "the value as JSON, as the plain read renders it: " + e.data());
        }
        assertEquals(204, rest.delete(instance, "Content-Type", V2).status());
    }

    @Test
    void aReadByOffsetTakesRoomForItsRecordsDecodedJsonNotOnlyTheirAvroBytes(SchemaPortico sp) throws Exception {
        String topic = KafkaCluster.uniqueTopic("avro-wide");
        StringBuilder fields = new StringBuilder();
        for (int f = 0; f < 300; f++) {
            fields.append(f == 0 ? "" : ",").append("{\"name\":\"f").append(f).append("\",\"type\":[\"null\",\"int\"],\"default\":null}");
        }
        String schema = "{\"type\":\"record\",\"name\":\"Wide\",\"fields\":[" + fields + "]}";
        java.net.http.HttpResponse<String> registered = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(sp.registry().url().toString().replaceAll("/$", "") + "/subjects/" + topic + "-value/versions"))
                        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"schema\":" + json(schema) + "}"))
                        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, registered.statusCode(), registered.body());
        int id = io.portico.protocol.Json.mapper().readTree(registered.body()).get("id").asInt();
        // Every field null: 300 bytes of avro, some 3,000 of JSON a record.
        for (int i = 0; i < 1000; i++) {
            sp.cluster().produce(topic, 0, null, framed(id, new byte[300]));
        }
        try (io.portico.proxy.testing.TestPortico small = io.portico.proxy.testing.TestPortico.start(sp.cluster(),
                java.util.Map.of("schema.registry.url", sp.registry().url().toString(),
                        "memory.responses.max.bytes", String.valueOf(1 << 20)))) {
            Rest.Response read = small.rest().get("/topics/" + topic + "/partitions/0/messages?offset=0&count=1000",
                    "Accept", AVRO_V1);
            assertEquals(200, read.status(), read.body().substring(0, Math.min(300, read.body().length())));
            int returned = read.json().size();
            // The avro bytes of all 1,000 fit the 1 MiB budget; their JSON, about a tenth of them.
            assertTrue(returned >= 1 && returned < 500, "records returned: " + returned);
            assertTrue(read.json().get(0).get("value").has("f299"), read.json().get(0).toString());
        }
    }

    @Test
    void recordsOfAPlainProducerInConfluentsFramingAreReadByOffset(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("avro-plain");
        // The schema is registered through a produce (as a client would), then a plain producer writes framed bytes.
        String unionSchema = "{\"type\":\"record\",\"name\":\"Reading\",\"namespace\":\"io.example\",\"fields\":["
                + "{\"name\":\"sensor\",\"type\":\"string\"},{\"name\":\"value\",\"type\":[\"null\",\"double\"],\"default\":null},"
                + "{\"name\":\"raw\",\"type\":\"bytes\"}]}";
        Rest.Response first = rest.post("/topics/" + topic, AVRO_V2, "{\"value_schema\":" + json(unionSchema)
                + ",\"records\":[{\"value\":{\"sensor\":\"a\",\"value\":{\"double\":1.5},\"raw\":\"\\u00ff\\u0001\"}}]}");
        assertEquals(200, first.status(), first.body());
        int id = first.json().get("value_schema_id").asInt();
        // sensor "b", value null (branch 0), raw bytes {7}
        sp.cluster().produce(topic, 0, null, framed(id, (byte) 2, (byte) 'b', (byte) 0, (byte) 2, (byte) 7));
        Rest.Response read = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&count=2", "Accept", AVRO_V1);
        assertEquals(200, read.status(), read.body());
        assertEquals(AVRO_V1, read.contentType());
        assertEquals("[{\"key\":null,\"value\":{\"sensor\":\"a\",\"value\":{\"double\":1.5},\"raw\":\"\u00ff\\u0001\"},"
                + "\"partition\":0,\"offset\":0},"
                + "{\"key\":null,\"value\":{\"sensor\":\"b\",\"value\":null,\"raw\":\"\\u0007\"},\"partition\":0,\"offset\":1}]",
                read.body());
        // and the first record's bytes are those the plain producer would have written
        byte[] stored = sp.cluster().read(topic, 1).get(0).value();
        byte[] expected = framed(id, new byte[] {2, 'a', 2, 0, 0, 0, 0, 0, 0, (byte) 0xf8, 0x3f, 4, (byte) 0xff, 1});
        assertArrayEquals(expected, stored);

        // A record that does not decode stops a read at it: the records before it are answered,
        // and a read from its offset names it.
        sp.cluster().produce(topic, 0, null, "plain text".getBytes(StandardCharsets.UTF_8));
        Rest.Response upTo = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&count=3", "Accept", AVRO_V1);
        assertEquals(200, upTo.status(), upTo.body());
        assertEquals(2, upTo.json().size(), upTo.body());
        Rest.Response at = rest.get("/topics/" + topic + "/partitions/0/messages?offset=2", "Accept", AVRO_V1);
        assertEquals(500, at.status(), at.body());
        assertTrue(at.json().get("message").asText().contains("offset 2 of partition 0"), at.body());
    }

    @Test
    void aKeyOrValueWhoseSchemaIsAUnionIsReadAsItsBranchBare(SchemaPortico sp) {
        // Produced in avro's JSON encoding (the branch named), read as Confluent's proxy shows it:
        // the branch bare at the top, a union within it named.
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("avro-union");
        String keySchema = "[{\"type\":\"record\",\"name\":\"A\",\"namespace\":\"com.acme\",\"fields\":"
                + "[{\"name\":\"x\",\"type\":[\"null\",\"int\"]}]},"
                + "{\"type\":\"record\",\"name\":\"B\",\"namespace\":\"com.acme\",\"fields\":[{\"name\":\"b\",\"type\":\"string\"}]}]";
        Rest.Response produced = rest.post("/topics/" + topic, AVRO_V2, "{\"key_schema\":" + json(keySchema)
                + ",\"value_schema\":" + json("[\"null\",\"string\"]") + ",\"records\":["
                + "{\"key\":{\"com.acme.A\":{\"x\":{\"int\":3}}},\"value\":{\"string\":\"abc\"}},"
                + "{\"key\":{\"com.acme.B\":{\"b\":\"q\"}},\"value\":{\"string\":\"\"}}]}");
        assertEquals(200, produced.status(), produced.body());
        Rest.Response read = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&count=2", "Accept", AVRO_V1);
        assertEquals(200, read.status(), read.body());
        assertEquals("[{\"key\":{\"x\":{\"int\":3}},\"value\":\"abc\",\"partition\":0,\"offset\":0},"
                + "{\"key\":{\"b\":\"q\"},\"value\":\"\",\"partition\":0,\"offset\":1}]", read.body());
    }

    @Test
    void aRecordNotInConfluentsFramingIsAnErrorNamingItsOffset(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("avro-unframed");
        sp.cluster().produce(topic, 0, null, "plain text".getBytes(StandardCharsets.UTF_8));
        Rest.Response read = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0", "Accept", AVRO_V1);
        assertEquals(500, read.status(), read.body());
        assertEquals(50002, read.json().get("error_code").asInt());
        String message = read.json().get("message").asText();
        assertTrue(message.contains("offset 0 of partition 0") && message.contains("wire format"), message);

        // A consumer instance stops there too, nothing skipped: the error each time it reads.
        String group = KafkaCluster.uniqueTopic("avro-unframed-group");
        Rest.Response created = rest.post("/consumers/" + group, V1, "{\"format\": \"avro\", \"auto.offset.reset\": \"smallest\"}");
        String instance = created.json().get("instance_id").asText();
        Rest.Response r = null;
        for (int i = 0; i < 30; i++) {
            r = rest.get("/consumers/" + group + "/instances/" + instance + "/topics/" + topic, "Accept", AVRO_V1);
            if (r.status() != 200 || !r.body().equals("[]")) {
                break;
            }
        }
        assertEquals(500, r.status(), r.body());
        assertTrue(r.json().get("message").asText().contains("offset 0 of partition 0"), r.body());
        assertEquals(500, rest.get("/consumers/" + group + "/instances/" + instance + "/topics/" + topic,
                "Accept", AVRO_V1).status());
        rest.delete("/consumers/" + group + "/instances/" + instance);
    }

    @Test
    void keysAndValuesWithoutTheirSchemaAre42201And42202(SchemaPortico sp) {
        String topic = KafkaCluster.uniqueTopic("avro-noschema");
        Rest.Response noValueSchema = sp.rest().post("/topics/" + topic, AVRO_V2, "{\"records\":[{\"value\":{\"name\":\"x\"}}]}");
        assertEquals(422, noValueSchema.status());
        assertEquals("{\"error_code\":42202,\"message\":\"Request includes values but does not include value schema\"}",
                noValueSchema.body());
        Rest.Response noKeySchema = sp.rest().post("/topics/" + topic, AVRO_V1,
                "{\"value_schema\":" + json(USER_SCHEMA) + ",\"records\":[{\"key\":1,\"value\":{\"name\":\"x\"}}]}");
        assertEquals(422, noKeySchema.status());
        assertEquals(42201, noKeySchema.json().get("error_code").asInt());
    }

    @Test
    void dataThatDoesNotFitItsSchemaIs42203AndNothingIsProduced(SchemaPortico sp) throws Exception {
        String topic = sp.cluster().createTopic(KafkaCluster.uniqueTopic("avro-mismatch"), 1);
        Rest.Response r = sp.rest().post("/topics/" + topic, AVRO_V2, "{\"value_schema\":" + json(USER_SCHEMA)
                + ",\"records\":[{\"value\":{\"name\":\"ok\"}},{\"value\":{\"name\":42}}]}");
        assertEquals(422, r.status(), r.body());
        assertEquals(42203, r.json().get("error_code").asInt());
        String message = r.json().get("message").asText();
        assertTrue(message.startsWith("Conversion of JSON to Avro failed: the value of record 1"), message);
        assertEquals(0, sp.cluster().admin().listOffsets(java.util.Map.of(new org.apache.kafka.common.TopicPartition(topic, 0),
                org.apache.kafka.clients.admin.OffsetSpec.latest())).all().get().values().iterator().next().offset());

        Rest.Response badSchema = sp.rest().post("/topics/" + topic, AVRO_V2,
                "{\"value_schema\":\"{\\\"type\\\":\\\"recor\",\"records\":[{\"value\":{}}]}");
        assertEquals(422, badSchema.status(), badSchema.body());
        assertEquals(42205, badSchema.json().get("error_code").asInt());
    }

    @Test
    void anIncompatibleSchemaIsRefusedByTheRegistrysBackwardRule(SchemaPortico sp) throws Exception {
        String topic = KafkaCluster.uniqueTopic("avro-compat");
        assertTrue(sp.registry().get("/config").contains("BACKWARD"), sp.registry().get("/config"));
        assertEquals(200, sp.rest().post("/topics/" + topic, AVRO_V2, "{\"value_schema\":" + json(USER_SCHEMA)
                + ",\"records\":[{\"value\":{\"name\":\"a\"}}]}").status());
        // A new required field without a default cannot read the old records: not backward compatible.
        String incompatible = "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},"
                + "{\"name\":\"age\",\"type\":\"int\"}]}";
        Rest.Response refused = sp.rest().post("/topics/" + topic, AVRO_V2, "{\"value_schema\":" + json(incompatible)
                + ",\"records\":[{\"value\":{\"name\":\"b\",\"age\":3}}]}");
        assertEquals(422, refused.status(), refused.body());
        assertEquals(42205, refused.json().get("error_code").asInt());
        assertTrue(refused.json().get("message").asText().contains("409"), refused.body());
        // With a default it is compatible, and gets an id of its own.
        String compatible = "{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},"
                + "{\"name\":\"age\",\"type\":\"int\",\"default\":0}]}";
        Rest.Response accepted = sp.rest().post("/topics/" + topic, AVRO_V2, "{\"value_schema\":" + json(compatible)
                + ",\"records\":[{\"value\":{\"name\":\"b\",\"age\":3}}]}");
        assertEquals(200, accepted.status(), accepted.body());
    }

    @Test
    void aSchemaIdIsUsedAsGivenAndAnUnknownOneRefused(SchemaPortico sp) {
        String topic = KafkaCluster.uniqueTopic("avro-byid");
        int id = sp.rest().post("/topics/" + topic, AVRO_V1, QUICKSTART_BODY).json().get("value_schema_id").asInt();
        Rest.Response byId = sp.rest().post("/topics/" + topic, AVRO_V1,
                "{\"value_schema_id\":" + id + ",\"records\":[{\"value\":{\"name\":\"again\"}}]}");
        assertEquals(200, byId.status(), byId.body());
        assertEquals(id, byId.json().get("value_schema_id").asInt());
        Rest.Response unknown = sp.rest().post("/topics/" + topic, AVRO_V1,
                "{\"value_schema_id\":987654,\"records\":[{\"value\":{\"name\":\"x\"}}]}");
        assertEquals(422, unknown.status(), unknown.body());
        assertEquals(42205, unknown.json().get("error_code").asInt());
    }

    /**
     * A schema id must be registered under the topic's subject, in v1 and v2 as in v3 (and as
     * Confluent's v2 requires): another topic's schema would bypass the subject's compatibility rule.
     */
    @Test
    void aSchemaIdOfAnotherTopicsSubjectIsRefusedAndNothingIsProduced(SchemaPortico sp) throws Exception {
        String owner = KafkaCluster.uniqueTopic("avro-owner");
        int id = sp.rest().post("/topics/" + owner, AVRO_V2, QUICKSTART_BODY).json().get("value_schema_id").asInt();
        String other = sp.cluster().createTopic(KafkaCluster.uniqueTopic("avro-other"), 1);
        for (String type : List.of(AVRO_V1, AVRO_V2)) {
            Rest.Response refused = sp.rest().post("/topics/" + other, type,
                    "{\"value_schema_id\":" + id + ",\"records\":[{\"value\":{\"name\":\"x\"}}]}");
            assertEquals(422, refused.status(), refused.body());
            assertEquals(42207, refused.json().get("error_code").asInt(), refused.body());
            assertTrue(refused.json().get("message").asText().contains("not registered under subject '" + other + "-value'"),
                    refused.body());
        }
        Rest.Response offsets = sp.rest().get("/topics/" + other + "/partitions/0/offsets", "Accept", "application/vnd.kafka.v2+json");
        assertEquals(200, offsets.status(), offsets.body());
        assertEquals(0, offsets.json().get("end_offset").asLong(), "nothing produced: " + offsets.body());
    }

    private static String json(String text) {
        try {
            return io.portico.protocol.Json.mapper().writeValueAsString(text);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
