package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.SchemaPortico;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Schemas that use other registered schemas (a protobuf import, an avro named type, a JSON
 * Schema {@code $ref}), registered with their references in a real registry as Confluent's
 * serializers register them: produced by id and by the subject's latest version, the v3 report
 * naming the version (the registry found the schema with its references), read back through
 * consumer instances.
 */
@ExtendWith({PorticoExtension.class, SchemaPortico.Extension.class})
class SchemaReferencesIT {
    private static List<JsonNode> readV2(Rest rest, String topic, String format, int count) {
        return SchemaFormatsIT.readV2(rest, KafkaCluster.uniqueTopic("refs-group"), topic, format,
                "application/vnd.kafka." + format + ".v2+json", count);
    }

    private static String v3Path(Rest rest, String topic) {
        String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
        return "/v3/clusters/" + cluster + "/topics/" + topic + "/records";
    }

    @Test
    void aProtobufSchemaImportingAnotherRegisteredFile(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("refs-proto");
        String money = topic + "-money";
        sp.registry().register(money, "PROTOBUF", "syntax = \"proto3\";\npackage shop.common;\n"
                + "message Money {\n  string currency = 1;\n  int64 cents = 2;\n}\n");
        int id = sp.registry().register(topic + "-value", "PROTOBUF", "syntax = \"proto3\";\npackage shop;\n"
                + "import \"shop/common/money.proto\";\n\nmessage Order {\n  int32 id = 1;\n  shop.common.Money total = 2;\n}\n",
                "shop/common/money.proto", money, "1");

        String order = "{\"id\":7,\"total\":{\"currency\":\"EUR\",\"cents\":\"250\"}}";
        Rest.Response v2 = rest.post("/topics/" + topic, "application/vnd.kafka.protobuf.v2+json",
                "{\"value_schema_id\":" + id + ",\"records\":[{\"value\":" + order + "}]}");
        assertEquals(200, v2.status(), v2.body());
        Rest.Response v3 = rest.post(v3Path(rest, topic), "application/json",
                "{\"value\":{\"type\":\"PROTOBUF\",\"schema_id\":" + id + ",\"data\":{\"id\":8}}}");
        assertEquals(200, v3.status(), v3.body());
        JsonNode report = v3.json().get("value");
        assertEquals(id, report.get("schema_id").asInt(), v3.body());
        assertEquals(1, report.path("schema_version").asInt(), "looked up with its references: " + v3.body());

        List<JsonNode> read = readV2(rest, topic, "protobuf", 2);
        assertEquals(2, read.size());
        assertEquals(order, read.get(0).get("value").toString());
        assertEquals("{\"id\":8}", read.get(1).get("value").toString(), "proto3 leaves an unset message out");
    }

    @Test
    void anAvroSchemaUsingANamedTypeOfAnotherSubject(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("refs-avro");
        String address = topic + "-address";
        sp.registry().register(address, "AVRO", "{\"type\":\"record\",\"name\":\"Address\",\"namespace\":\"shop\","
                + "\"fields\":[{\"name\":\"city\",\"type\":\"string\"}]}");
        sp.registry().register(topic + "-value", "AVRO", "{\"type\":\"record\",\"name\":\"Customer\",\"namespace\":\"shop\","
                + "\"fields\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"home\",\"type\":\"shop.Address\"}]}",
                "shop.Address", address, "1");

        // the subject's latest version: what a v3 record without schema_id or schema_version takes
        String customer = "{\"name\":\"Ada\",\"home\":{\"city\":\"Oslo\"}}";
        Rest.Response v3 = rest.post(v3Path(rest, topic), "application/json",
                "{\"value\":{\"type\":\"AVRO\",\"data\":" + customer + "}}");
        assertEquals(200, v3.status(), v3.body());
        assertEquals(topic + "-value", v3.json().get("value").get("subject").asText(), v3.body());

        Rest.Response invalid = rest.post(v3Path(rest, topic), "application/json",
                "{\"value\":{\"type\":\"AVRO\",\"data\":{\"name\":\"Bo\",\"home\":{\"town\":\"Rome\"}}}}");
        assertEquals(422, invalid.json().get("error_code").asInt(), "checked against the referenced type: " + invalid.body());

        List<JsonNode> read = readV2(rest, topic, "avro", 1);
        assertEquals(1, read.size());
        assertEquals(customer, read.get(0).get("value").toString());
    }

    @Test
    void aJsonSchemaWhoseRefNamesAnotherSubject(SchemaPortico sp) throws Exception {
        Rest rest = sp.rest();
        String topic = KafkaCluster.uniqueTopic("refs-json");
        String address = topic + "-address";
        sp.registry().register(address, "JSON", "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
                + "\"required\":[\"city\"]}");
        int id = sp.registry().register(topic + "-value", "JSON", "{\"type\":\"object\",\"properties\":"
                + "{\"name\":{\"type\":\"string\"},\"home\":{\"$ref\":\"address.json\"}},\"required\":[\"name\",\"home\"]}",
                "address.json", address, "1");

        String jsonSchemaV2 = "application/vnd.kafka.jsonschema.v2+json";
        Rest.Response produced = rest.post("/topics/" + topic, jsonSchemaV2, "{\"value_schema_id\":" + id
                + ",\"records\":[{\"value\":{\"name\":\"Ada\",\"home\":{\"city\":\"Oslo\"}}}]}");
        assertEquals(200, produced.status(), produced.body());
        Rest.Response invalid = rest.post("/topics/" + topic, jsonSchemaV2, "{\"value_schema_id\":" + id
                + ",\"records\":[{\"value\":{\"name\":\"Bo\",\"home\":{\"city\":3}}}]}");
        assertEquals(422, invalid.status(), invalid.body());
        assertTrue(invalid.body().contains("city"), "the referenced schema checked the value: " + invalid.body());

        List<JsonNode> read = readV2(rest, topic, "jsonschema", 1);
        assertEquals(1, read.size());
        assertEquals("{\"name\":\"Ada\",\"home\":{\"city\":\"Oslo\"}}", read.get(0).get("value").toString());
    }
}
