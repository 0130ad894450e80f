package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What one careless or hostile client sends must not hurt the others: each test sends the bad
 * request, checks that it gets a clear JSON error, then checks that a normal request from
 * another client still works.
 */
@ExtendWith(PorticoExtension.class)
class HostileInputIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";
    private static final String JSON_FORMAT = "application/vnd.kafka.json.v1+json";
    private static final String ONE_RECORD = "{\"records\":[{\"value\":\"S2Fma2E=\"}]}";

    private static JsonNode assertJsonError(Rest.Response r, int status) {
        assertEquals(status, r.status(), r.body());
        assertTrue(r.contentType() != null && r.contentType().contains("json"), r.contentType());
        JsonNode body = r.json();
        assertTrue(body.has("error_code") && body.has("message"), r.body());
        assertFalse(r.body().contains("Exception"), r.body());
        assertTrue(r.body().length() < 1000, "the error does not echo the whole input: " + r.body().length());
        return body;
    }

    /** Another client's ordinary work still succeeds. */
    @Test
    void anAdminBodyOverAMebibyteIs413BeforeItIsBound(Rest rest, KafkaCluster kafka) {
        String name = KafkaCluster.uniqueTopic("hostile-admin");
        String objects = "{}," .repeat(400_000) + "{}"; // 1.2 MB of empty objects: millions of maps if bound
        assertJsonError(rest.post("/admin/topics", "application/json",
                "{\"name\":\"" + name + "\",\"configs\":{\"x\":[" + objects + "]}}"), 413);
        String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
        assertJsonError(rest.post("/v3/clusters/" + cluster + "/topics", "application/json",
                "{\"topic_name\":\"" + name + "\",\"configs\":[" + objects.replace("{}", "{\"name\":\"a\"}") + "]}"), 413);
        assertJsonError(rest.post("/v3/clusters/" + cluster + "/topics/" + name + "/configs:alter", "application/json",
                "{\"data\":[" + objects + "]}"), 413);
        othersStillServed(rest, kafka);
    }

    @Test
    void aV3StreamDeclaringMoreThanTwoGibibytesIs413NotAClosedConnection(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("hostile-length"), 1);
        String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
        try (java.net.Socket socket = new java.net.Socket(rest.base().getHost(), rest.base().getPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(("POST /v3/clusters/" + cluster + "/topics/" + topic + "/records HTTP/1.1\r\n"
                    + "Host: localhost\r\nContent-Type: application/json\r\nContent-Length: 3000000000\r\n\r\n"
                    + "{\"value\":{\"type\":\"STRING\",\"data\":\"x\"}}")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
            assertTrue(answer.contains("\"error_code\":413") && answer.contains("chunked"), answer);
        }
        othersStillServed(rest, kafka);
    }

    private static void othersStillServed(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("bystander");
        Rest.Response produced = rest.post("/topics/" + topic, BINARY, ONE_RECORD);
        assertEquals(200, produced.status(), produced.body());
        assertTrue(produced.json().get("offsets").get(0).get("error_code").isNull(), produced.body());
        assertEquals(1, kafka.read(topic, 1).size());
        Rest.Response records = rest.post("/topics/" + topic + "/records", "text/plain", "hello");
        assertEquals(200, records.status(), records.body());
        assertEquals(200, rest.get("/topics").status());
        assertEquals(200, rest.get("/brokers").status());
        assertEquals(200, rest.get("/ready").status(), "the shared admin client still answers");
    }

    @Test
    void aJsonBodyUnderAnotherOrAMalformedContentTypeIs415AndTheServerServesOn(Rest rest) {
        for (String type : List.of("application/jsonx", "garbage", "application/json-patch+json", ";;")) {
            Rest.Response token = rest.post("/sse/tokens", type, "{\"path\":\"/topics/t/partitions/0/messages\"}");
            assertEquals(415, token.status(), type + ": " + token.body());
            assertEquals(415, token.json().get("error_code").asInt(), token.body());
            String cluster = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
            Rest.Response create = rest.post("/v3/clusters/" + cluster + "/topics", type, "{\"topic_name\":\"x\"}");
            assertEquals(415, create.status(), type + ": " + create.body());
        }
        assertEquals(200, rest.get("/").status(), "and the next request is served");
    }

    @Test
    void aTopicNameKafkaCannotTakeIsRefusedOnEveryRouteAndTheSharedClientsKeepWorking(Rest rest, KafkaCluster kafka) {
        String huge = "orders." + "x".repeat(40_000);
        for (String bad : List.of(huge, "a%20b", "caf%C3%A9", "a*b", "x".repeat(250))) {
            String t = "/topics/" + bad;
            assertJsonError(rest.post(t, BINARY, ONE_RECORD), 400);
            assertJsonError(rest.post(t + "/partitions/0", BINARY, ONE_RECORD), 400);
            // The records endpoint bounds its whole URI first (records.uri.max.bytes): 414 for the longest.
            assertJsonError(rest.post(t + "/records", "text/plain", "v"), bad.length() > 10_000 ? 414 : 400);
            assertJsonError(rest.get(t), 400);
            assertJsonError(rest.get(t + "/partitions"), 400);
            assertJsonError(rest.get(t + "/partitions/0"), 400);
            assertJsonError(rest.get(t + "/partitions/0/messages?offset=0"), 400);
            assertJsonError(rest.get("/admin/topics/" + bad), 400);
            assertJsonError(rest.delete("/admin/topics/" + bad), 400);
        }
        String name = huge.substring(0, 300);
        assertJsonError(rest.post("/admin/topics", "application/json", "{\"name\":\"" + name + "\",\"partitions\":1}"), 422);

        String group = KafkaCluster.uniqueTopic("hostile-group");
        Rest.Response created = rest.post("/consumers/" + group, BINARY, "{\"name\":\"i1\"}");
        assertEquals(200, created.status(), created.body());
        assertJsonError(rest.get("/consumers/" + group + "/instances/i1/topics/" + huge), 400);
        assertEquals(204, rest.delete("/consumers/" + group + "/instances/i1").status());

        othersStillServed(rest, kafka);
    }

    @Test
    void aTopicWithMoreSettingsThanATopicMayHaveIs422AndTheTopicListStillAnswers(Rest rest, KafkaCluster kafka)
            throws Exception {
        String name = KafkaCluster.uniqueTopic("hostile-configs");
        StringBuilder configs = new StringBuilder();
        for (int i = 0; i <= 1000; i++) {
            configs.append(i == 0 ? "" : ",").append("\"c").append(i).append("\":1");
        }
        JsonNode error = assertJsonError(rest.post("/admin/topics", "application/json",
                "{\"name\":\"" + name + "\",\"configs\":{" + configs + "}}"), 422);
        assertEquals("\"configs\" may hold at most 1000 settings", error.get("message").asText());

        String listed = kafka.createTopic(KafkaCluster.uniqueTopic("hostile-listed"), 2);
        Rest.Response list = rest.get("/admin/topics");
        assertEquals(200, list.status(), list.body());
        JsonNode topic = null;
        for (JsonNode t : list.json()) {
            assertFalse(t.get("name").asText().equals(name), "not created: " + list.body());
            if (t.get("name").asText().equals(listed)) {
                topic = t;
            }
        }
        assertTrue(topic != null, list.body());
        assertEquals(2, topic.get("partitions").asInt(), list.body());
        assertTrue(topic.get("retentionMs").asLong() > 0, list.body());
        assertEquals("delete", topic.get("cleanupPolicy").asText(), list.body());
        othersStillServed(rest, kafka);
    }

    @Test
    void internalTopicsCannotBeCreatedDeletedOrProducedTo(Rest rest, KafkaCluster kafka) throws Exception {
        assertJsonError(rest.delete("/admin/topics/__consumer_offsets"), 403);
        assertJsonError(rest.post("/admin/topics", "application/json", "{\"name\":\"__mine\",\"partitions\":1}"), 403);
        assertJsonError(rest.post("/topics/__consumer_offsets", BINARY, ONE_RECORD), 403);
        assertJsonError(rest.post("/topics/__consumer_offsets/partitions/0", BINARY, ONE_RECORD), 403);
        Rest.Response records = rest.post("/topics/__transaction_state/records", "text/plain", "v");
        assertEquals(403, records.status(), records.body());
        assertEquals(403, records.json().get("error_code").asInt(), "IBM's body: the status as error_code");
        Set<String> topics = kafka.admin().listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions()
                .listInternal(true)).names().get();
        assertFalse(topics.contains("__mine"), "not created: " + topics);
        othersStillServed(rest, kafka);
    }

    @Test
    void anOperatorMayAllowProducingToInternalTopicsButNeverDeletingThem(KafkaCluster kafka) throws Exception {
        String topic = "__portico_" + KafkaCluster.uniqueTopic("ops");
        try (TestPortico allowed = TestPortico.start(kafka, Map.of("internal.topics.produce.allowed", "true"))) {
            Rest.Response r = allowed.rest().post("/topics/" + topic, BINARY, ONE_RECORD);
            assertEquals(200, r.status(), r.body());
            assertEquals(1, kafka.read(topic, 1).size());
            assertJsonError(allowed.rest().delete("/admin/topics/" + topic), 403);
        } finally { // the broker is shared: other classes list its topics
            kafka.admin().deleteTopics(List.of(topic)).all().get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void malformedAcceptAndContentTypeAreJsonErrorsNot500(Rest rest, KafkaCluster kafka) {
        for (String accept : List.of(";", ";;", ",", "a/b/c", "*/*;q=NaN;", "text/html;")) {
            assertJsonError(rest.get("/topics", "Accept", accept), 406);
            assertJsonError(rest.get("/", "Accept", accept), 406);
        }
        assertJsonError(rest.post("/topics/t", ";", ONE_RECORD), 415);
        assertJsonError(rest.post("/consumers/g", ";", "{}"), 415);
        assertJsonError(rest.post("/admin/topics", ";", "{\"name\":\"t\"}"), 415);
        othersStillServed(rest, kafka);
    }

    @Test
    void aNullOrNonObjectBodyIs422(Rest rest, KafkaCluster kafka) {
        for (String body : List.of("null", " null ", "[]", "\"x\"", "1", "true")) {
            assertJsonError(rest.post("/topics/t", BINARY, body), 422);
            assertJsonError(rest.post("/topics/t/partitions/0", BINARY, body), 422);
            if (!body.isBlank() && !body.trim().equals("null")) { // the JSON null creates with the defaults, as Confluent's does
                assertJsonError(rest.post("/consumers/" + KafkaCluster.uniqueTopic("g"), BINARY, body), 422);
            }
            assertJsonError(rest.post("/admin/topics", "application/json", body), 422);
        }
        othersStillServed(rest, kafka);
    }

    @Test
    void jsonFormatNumbersAreStoredExactlyAsWritten(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("numbers");
        List<String> values = List.of("1e400", "1234567890123456.78", "0.1000000000000000000000001",
                "123456789012345678901234567890", "-0.0", "{\"a\":[1E+2,2.50]}");
        StringBuilder body = new StringBuilder("{\"records\":[");
        for (int i = 0; i < values.size(); i++) {
            body.append(i == 0 ? "" : ",").append("{\"value\":").append(values.get(i)).append('}');
        }
        body.append("]}");
        Rest.Response r = rest.post("/topics/" + topic, JSON_FORMAT, body.toString());
        assertEquals(200, r.status(), r.body());
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, values.size());
        assertEquals(values, stored.stream().map(c -> new String(c.value(), StandardCharsets.UTF_8)).toList());
    }

    @Test
    void aRecordsEndpointKeyThatIsNotUtf8Is400(Rest rest, KafkaCluster kafka) {
        String topic = KafkaCluster.uniqueTopic("keys");
        assertJsonError(rest.post("/topics/" + topic + "/records?key=%C3%28", "text/plain", "v"), 400);
        assertJsonError(rest.post("/topics/" + topic + "/records?key=%FF", "text/plain", "v"), 400);
        assertJsonError(rest.post("/topics/" + topic + "/records?headers=h%FF:00", "text/plain", "v"), 400);
        Rest.Response ok = rest.post("/topics/" + topic + "/records?key=caf%C3%A9", "text/plain", "v");
        assertEquals(200, ok.status(), ok.body());
        assertEquals("café", new String(kafka.read(topic, 1).get(0).key(), StandardCharsets.UTF_8));
    }

    @Test
    void baseUriPercentEncodesTheGroupAndInstanceNames(Rest rest) {
        String unique = KafkaCluster.uniqueTopic("g");
        Rest.Response created = rest.post("/consumers/a%20b" + unique, BINARY, "{\"name\":\"i~1\"}");
        assertEquals(200, created.status(), created.body());
        String baseUri = created.json().get("base_uri").asText();
        assertTrue(baseUri.endsWith("/consumers/a%20b" + unique + "/instances/i~1"), baseUri);
        assertEquals(204, rest.send(rest.request("/").uri(java.net.URI.create(baseUri)).DELETE()).status(),
                "base_uri reaches the instance");
        assertJsonError(rest.post("/consumers/bad%00group", BINARY, "{}"), 400);
    }

    @Test
    void pathsWithDotSegmentsAreNotRerouted(Rest rest, KafkaCluster kafka) {
        String base = rest.base().toString();
        assertJsonError(rest.send(rest.request("/").uri(java.net.URI.create(base + "/topics/.."))
                .header("Content-Type", BINARY).POST(java.net.http.HttpRequest.BodyPublishers.ofString(ONE_RECORD))), 404);
        assertJsonError(rest.send(rest.request("/").uri(java.net.URI.create(base + "/topics/%2e%2e")).GET()), 404);
        assertJsonError(rest.send(rest.request("/").uri(java.net.URI.create(base + "/topics/./partitions")).GET()), 404);
        othersStillServed(rest, kafka);
    }
}
