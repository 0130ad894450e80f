package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Confluent REST Proxy 2.0's quickstart, request for request, with the response bodies its docs
 * show: produce, create a consumer, read, delete — in the binary and json embedded formats.
 */
@ExtendWith(PorticoExtension.class)
class ConsumeQuickstartIT {
    private static final String FIRST_OFFSET =
            "{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}],"
                    + "\"key_schema_id\":null,\"value_schema_id\":null}";

    @Test
    void binaryQuickstart(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("binarytest");
        String group = KafkaCluster.uniqueTopic("my_binary_consumer");
        assertEquals(FIRST_OFFSET, rest.post("/topics/" + topic, "application/vnd.kafka.binary.v1+json",
                "{\"records\":[{\"value\":\"S2Fma2E=\"}]}").body());

        Rest.Response created = rest.post("/consumers/" + group, "application/vnd.kafka.v1+json",
                "{\"name\": \"my_consumer_instance\", \"format\": \"binary\", \"auto.offset.reset\": \"smallest\"}");
        assertEquals(200, created.status(), created.body());
        assertEquals("{\"instance_id\":\"my_consumer_instance\",\"base_uri\":\"" + rest.base()
                + "/consumers/" + group + "/instances/my_consumer_instance\"}", created.body());
        assertEquals("application/vnd.kafka.v1+json", created.contentType());

        Rest.Response read = rest.get("/consumers/" + group + "/instances/my_consumer_instance/topics/" + topic,
                "Accept", "application/vnd.kafka.binary.v1+json");
        assertEquals(200, read.status(), read.body());
        assertEquals("[{\"key\":null,\"value\":\"S2Fma2E=\",\"partition\":0,\"offset\":0}]", read.body());
        assertEquals("application/vnd.kafka.binary.v1+json", read.contentType());

        Rest.Response deleted = rest.delete("/consumers/" + group + "/instances/my_consumer_instance");
        assertEquals(204, deleted.status());
        assertEquals("", deleted.body());
    }

    @Test
    void jsonQuickstart(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("jsontest");
        String group = KafkaCluster.uniqueTopic("my_json_consumer");
        assertEquals(FIRST_OFFSET, rest.post("/topics/" + topic, "application/vnd.kafka.json.v1+json",
                "{\"records\":[{\"value\":{\"foo\":\"bar\"}}]}").body());

        Rest.Response created = rest.post("/consumers/" + group, "application/vnd.kafka.v1+json",
                "{\"name\": \"my_consumer_instance\", \"format\": \"json\", \"auto.offset.reset\": \"smallest\"}");
        assertEquals(200, created.status(), created.body());

        Rest.Response read = rest.get("/consumers/" + group + "/instances/my_consumer_instance/topics/" + topic,
                "Accept", "application/vnd.kafka.json.v1+json");
        assertEquals("[{\"key\":null,\"value\":{\"foo\":\"bar\"},\"partition\":0,\"offset\":0}]", read.body());
        assertEquals("application/vnd.kafka.json.v1+json", read.contentType());

        assertEquals(204, rest.delete("/consumers/" + group + "/instances/my_consumer_instance").status());
    }

    @Test
    void readByOffsetAsTheDocsShow(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("test");
        rest.post("/topics/" + topic, "application/vnd.kafka.binary.v1+json",
                "{\"records\":[{\"key\":\"a2V5\",\"value\":\"Y29uZmx1ZW50\"},{\"value\":\"a2Fma2E=\"},{\"value\":\"bG9ncw==\"}]}");
        Rest.Response r = rest.get("/topics/" + topic + "/partitions/0/messages?offset=1&count=2",
                "Accept", "application/vnd.kafka.binary.v1+json");
        assertEquals("[{\"key\":null,\"value\":\"a2Fma2E=\",\"partition\":0,\"offset\":1},"
                + "{\"key\":null,\"value\":\"bG9ncw==\",\"partition\":0,\"offset\":2}]", r.body());
        Rest.Response one = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0");
        assertEquals("[{\"key\":\"a2V5\",\"value\":\"Y29uZmx1ZW50\",\"partition\":0,\"offset\":0}]", one.body());
        assertEquals("application/vnd.kafka.binary.v1+json", one.contentType());
    }
}
