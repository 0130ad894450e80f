package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every error the foundation can produce is a JSON body with the right status and code. */
@ExtendWith(PorticoExtension.class)
class ErrorsIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";

    private static void assertError(Rest.Response r, int status, int code, String messagePart) {
        assertEquals(status, r.status(), r.body());
        JsonNode body = r.json();
        assertEquals(code, body.get("error_code").asInt(), r.body());
        assertTrue(body.get("message").asText().contains(messagePart), r.body());
        assertEquals(2, body.size(), "only error_code and message: " + r.body());
        assertFalse(r.body().contains("Exception"), "no exception names: " + r.body());
        assertFalse(r.body().contains("Source:"), "no parser internals: " + r.body());
        assertTrue(r.contentType().contains("json"), r.contentType());
    }

    @Test
    void aReadByOffsetOfATopicDeletedSinceIs40401(Rest rest, io.portico.proxy.testing.KafkaCluster kafka) throws Exception {
        String topic = io.portico.proxy.testing.KafkaCluster.uniqueTopic("deleted");
        kafka.createTopic(topic, 1);
        for (int i = 0; i < 20; i++) {
            kafka.produce(topic, 0, null, new byte[] {(byte) i});
        }
        String read = "/topics/" + topic + "/partitions/0/messages?offset=0&count=5";
        assertEquals(200, rest.get(read, "Accept", "application/vnd.kafka.binary.v1+json").status());
        kafka.admin().deleteTopics(java.util.List.of(topic)).all().get();
        // A pooled reader still assigned to it fetches nothing and hears of no error: not a 503 to retry for ever.
        Rest.Response gone = rest.get(read, "Accept", "application/vnd.kafka.binary.v1+json");
        for (int i = 0; i < 3 && gone.status() == 503; i++) { // at most a retry or two while Kafka forgets the topic
            gone = rest.get(read, "Accept", "application/vnd.kafka.binary.v1+json");
        }
        assertError(gone, 404, 40401, "");
    }

    @Test
    void unknownPathIs404(Rest rest) {
        assertError(rest.get("/nowhere"), 404, 404, "HTTP 404 Not Found");
        assertError(rest.get("/topics/a/b/c/d/e"), 404, 404, "Not Found");
    }

    @Test
    void v3sOwnErrorsOutsideItsRoutesAreApplicationJsonAsItsAnswersAre(Rest rest) {
        // As Confluent's v3 types them (its clients read application/json alone).
        Rest.Response unknown = rest.get("/v3/clusters/c/nowhere");
        assertError(unknown, 404, 404, "Not Found");
        assertEquals("application/json", unknown.contentType());
        Rest.Response method = rest.send(rest.request("/v3/clusters").PUT(HttpRequest.BodyPublishers.noBody()));
        assertEquals(405, method.status(), method.body());
        assertEquals("application/json", method.contentType());
        assertEquals("application/vnd.kafka.v1+json", rest.get("/nowhere").contentType(), "elsewhere as before");
    }

    @Test
    void wrongMethodIs405WithAllow(Rest rest) {
        Rest.Response r = rest.delete("/topics");
        assertError(r, 405, 405, "HTTP 405 Method Not Allowed");
        assertEquals("GET, HEAD", r.header("allow"), "a HEAD is answered as the GET");
        Rest.Response put = rest.send(rest.request("/topics/t").PUT(HttpRequest.BodyPublishers.noBody()));
        assertError(put, 405, 405, "Method Not Allowed");
        assertEquals("GET, POST, HEAD", put.header("allow"));
        Rest.Response head = rest.send(rest.request("/topics").method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, head.status());
        assertEquals("", head.body());
    }

    @Test
    void unacceptableAcceptIs406(Rest rest) {
        assertError(rest.get("/topics", "Accept", "text/html"), 406, 406, "HTTP 406 Not Acceptable");
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"value\":\"AA==\"}]}", "Accept", "image/png"),
                406, 406, "Not Acceptable");
    }

    @Test
    void unsupportedContentTypeIs415(Rest rest) {
        // curl's default for --data
        assertError(rest.post("/topics/t", "application/x-www-form-urlencoded", "{\"records\":[]}"),
                415, 415, "HTTP 415 Unsupported Media Type");
        assertError(rest.post("/topics/t", "text/plain", "x"), 415, 415, "Unsupported Media Type");
        assertError(rest.post("/", "text/plain", "x"), 415, 415, "Unsupported Media Type");
    }

    @Test
    void avroSaysASchemaRegistryIsNeeded(Rest rest) {
        assertError(rest.post("/topics/t", "application/vnd.kafka.avro.v1+json",
                "{\"value_schema\":\"{}\",\"records\":[{\"value\":{}}]}"), 415, 415, "schema registry");
    }

    @Test
    void malformedJsonIs400(Rest rest) {
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"value\":"), 400, 400, "Malformed JSON");
        assertError(rest.post("/topics/t", BINARY, "not json"), 400, 400, "Malformed JSON");
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"value\":\"AA==\"}]} trailing"), 400, 400, "Malformed JSON");
    }

    @Test
    void bodiesThatDoNotFitAre422WithTheReason(Rest rest) {
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[]}"), 422, 422, "records may not be empty");
        assertError(rest.post("/topics/t", BINARY, "{}"), 422, 422, "records may not be empty");
        assertError(rest.post("/topics/t", BINARY, ""), 422, 422, "empty");
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"value\":\"AA==\",\"receiver\":1}]}"),
                422, 422, "Unrecognized field: receiver");
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"value\":\"@@@\"}]}"),
                422, 422, "Record value contains invalid base64 encoding");
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"key\":\"%%\",\"value\":\"AA==\"}]}"),
                422, 422, "Record key contains invalid base64 encoding");
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"value\":12}]}"), 422, 422, "base64");
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"value\":\"AA==\",\"partition\":-1}]}"),
                422, 422, "partition");
        assertError(rest.post("/topics/t", BINARY, "{\"records\":[{\"value\":\"AA==\",\"partition\":\"x\"}]}"),
                422, 422, "partition");
        assertError(rest.post("/topics/t", BINARY, "[1,2]"), 422, 422, "");
        assertError(rest.post("/topics/t/partitions/0", BINARY, "{\"records\":[{\"value\":\"AA==\",\"partition\":0}]}"),
                422, 422, "Unrecognized field: partition");
    }

    @Test
    void unknownTopicAndPartitionInMetadataAre40401And40402(Rest rest, KafkaCluster kafka) throws Exception {
        String missing = KafkaCluster.uniqueTopic("missing");
        assertError(rest.get("/topics/" + missing), 404, 40401, "Topic not found.");
        assertError(rest.get("/topics/" + missing + "/partitions"), 404, 40401, "Topic not found.");
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("twoparts"), 2);
        assertError(rest.get("/topics/" + topic + "/partitions/2"), 404, 40402, "Partition not found.");
        assertError(rest.get("/topics/" + topic + "/partitions/x"), 404, 40402, "Partition not found.");
    }

    @Test
    void produceToAPartitionOutOfRangeIs40402(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("range"), 2);
        assertError(rest.post("/topics/" + topic + "/partitions/2", BINARY, "{\"records\":[{\"value\":\"AA==\"}]}"),
                404, 40402, "Partition not found.");
        assertError(rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"value\":\"AA==\",\"partition\":5}]}"),
                404, 40402, "Partition not found.");
        assertEquals(0, kafka.read(topic, 0).size(), "nothing was produced");
    }

    @Test
    void bodiesOverTheLimitAre413(KafkaCluster kafka) {
        try (TestPortico small = TestPortico.start(kafka, Map.of("request.body.max.bytes", "1024"))) {
            String big = "{\"records\":[{\"value\":\"" + "A".repeat(2000) + "\"}]}";
            assertError(small.rest().post("/topics/t", BINARY, big), 413, 413, "1024 bytes");
            // The same without a Content-Length: the limit holds while the chunks arrive.
            byte[] bytes = big.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            Rest.Response chunked = small.rest().send(small.rest().request("/topics/t", "Content-Type", BINARY)
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes))));
            assertError(chunked, 413, 413, "1024 bytes");
            // A body under the limit still works on a new connection.
            assertEquals(200, small.rest().post("/topics/" + KafkaCluster.uniqueTopic("small"), BINARY,
                    "{\"records\":[{\"value\":\"AA==\"}]}").status());
        }
    }

    @Test
    void errorBodiesUseTheNegotiatedType(Rest rest) {
        Rest.Response r = rest.get("/topics/" + KafkaCluster.uniqueTopic("nope"), "Accept", "application/json");
        assertEquals(404, r.status());
        assertEquals("application/json", r.contentType());
    }
}
