package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.SseClient;
import io.portico.proxy.testing.TestPortico;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Event streams with API keys and CORS, as a browser's {@code EventSource} opens them: it cannot
 * send a key in a header, so a web application's server asks for a short-lived token for the
 * stream's path ({@code POST /sse/tokens}) and the browser passes it as {@code ?sse_token=}. The
 * token opens that stream and nothing else; the API key never appears in a URL.
 */
@ExtendWith(PorticoExtension.class)
class ServerSentEventsAuthIT {
    private static final String ORIGIN = "https://app.example";
    private static final String READER = "k-" + UUID.randomUUID();
    private static final String OTHER = "k-" + UUID.randomUUID();
    private static final String P = "sseauth" + Long.toHexString(System.nanoTime() & 0xffffff);
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    private static TestPortico portico;
    private static Rest rest;
    private static KafkaCluster kafka;

    @BeforeAll
    static void start(KafkaCluster cluster) throws IOException {
        kafka = cluster;
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"dashboard\",\"key\":\"" + READER + "\",\"role\":\"reader\",\"topics\":[\"" + P + "-*\"]},"
                + "{\"name\":\"other\",\"key\":\"" + OTHER + "\",\"role\":\"reader\",\"topics\":[\"elsewhere-*\"]}]}");
        portico = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY", "api.keys.file", keys.toString(),
                "access.control.allow.origin", ORIGIN));
        rest = portico.rest();
    }

    @AfterAll
    static void stop() {
        if (portico != null) {
            portico.close();
        }
    }

    private static String token(String key, String path) {
        Rest.Response r = rest.post("/sse/tokens", "application/json", "{\"path\":\"" + path + "\"}",
                "Authorization", "Bearer " + key);
        assertEquals(200, r.status(), r.body());
        JsonNode body = r.json();
        assertEquals(path, body.get("path").asText());
        assertEquals(60000, body.get("expires_in_ms").asLong());
        return body.get("token").asText();
    }

    private static String q(String token) {
        return URLEncoder.encode(token, StandardCharsets.UTF_8);
    }

    @Test
    void aTokenOpensItsStreamWithoutAKeyAsAnEventSourceWouldAndCorsLetsThePageReadIt() throws Exception {
        String topic = kafka.createTopic(P + "-orders", 2);
        kafka.produce(topic, 0, null, "hello".getBytes(StandardCharsets.UTF_8));
        String path = "/topics/" + topic + "/partitions/0/messages";
        String token = token(READER, path);
        assertFalse(token.contains(READER), "the token is not the key");

        try (SseClient stream = SseClient.open(rest.uri(path + "?offset=0&sse_token=" + q(token)), "Origin", ORIGIN)) {
            assertEquals(200, stream.status(), stream.errorBody());
            assertEquals(ORIGIN, stream.headers().firstValue("access-control-allow-origin").orElse(null));
            SseClient.Event e = stream.next(WAIT);
            assertNotNull(e);
            assertEquals(topic + "/0/0", e.id());
        }
        // A reconnecting EventSource sends Last-Event-ID, which a preflight must allow.
        Rest.Response preflight = rest.send(rest.request(path, "Origin", ORIGIN, "Access-Control-Request-Method", "GET",
                "Access-Control-Request-Headers", "last-event-id").method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
        assertEquals(204, preflight.status(), preflight.body());
        assertTrue(preflight.header("access-control-allow-headers").contains("Last-Event-ID"), preflight.toString());
    }

    @Test
    void aTokenOpensTheStreamOfAnInstanceWhoseGroupNameNeedsEscaping() throws Exception {
        // A group named "g%41…" is written "g%2541…" in the path: decoded once, by the server,
        // when the token is checked, as it is when the token is made (a second decoding read it
        // as "gA…", and the token never opened its own path).
        String topic = kafka.createTopic(P + "-escaped", 1);
        kafka.produce(topic, 0, null, "x".getBytes(StandardCharsets.UTF_8));
        String group = "g%41-" + UUID.randomUUID();
        String v2 = "application/vnd.kafka.v2+json";
        String groupPath = "/consumers/" + URLEncoder.encode(group, StandardCharsets.UTF_8);
        assertEquals(200, rest.post(groupPath, v2, "{\"name\":\"i\",\"auto.offset.reset\":\"earliest\"}",
                "Authorization", "Bearer " + READER).status());
        String path = groupPath + "/instances/i/records";
        assertTrue(path.contains("%2541"), path);
        assertEquals(204, rest.post(groupPath + "/instances/i/subscription", v2, "{\"topics\":[\"" + topic + "\"]}",
                "Authorization", "Bearer " + READER).status());
        String token = token(READER, path);
        try (SseClient stream = SseClient.open(rest.uri(path + "?sse_token=" + q(token)))) {
            assertEquals(200, stream.status(), stream.errorBody());
            assertEquals(topic + "/0/0", stream.next(WAIT).id());
        }
        assertEquals(204, rest.delete(groupPath + "/instances/i", "Authorization", "Bearer " + READER).status());
    }

    @Test
    void aTokenOpensOnlyItsOwnPathsEventStreamAndNeverReplacesTheKey() throws Exception {
        String topic = kafka.createTopic(P + "-narrow", 2);
        String path = "/topics/" + topic + "/partitions/0/messages";
        String token = token(READER, path);

        // Another partition's stream, a plain read, a POST: 401.
        try (SseClient other = SseClient.open(rest.uri("/topics/" + topic + "/partitions/1/messages?offset=0&sse_token="
                + q(token)))) {
            assertEquals(401, other.status(), other.errorBody());
        }
        assertEquals(401, rest.get(path + "?offset=0&sse_token=" + q(token), "Accept", "application/vnd.kafka.v1+json").status());
        assertEquals(401, rest.post("/sse/tokens?sse_token=" + q(token), "application/json", "{\"path\":\"" + path + "\"}").status());
        // A forged or altered token, or none: 401.
        for (String bad : new String[] {"nonsense", token.substring(0, token.length() - 2) + "xx",
                token.replaceFirst("\\.[0-9]+\\.", ".99999999999999.")}) {
            try (SseClient forged = SseClient.open(rest.uri(path + "?offset=0&sse_token=" + q(bad)))) {
                assertEquals(401, forged.status(), bad);
                assertTrue(forged.headers().allValues("WWW-Authenticate").stream().anyMatch(c -> c.startsWith("Bearer")),
                        "a 401 says how to authenticate: " + forged.headers().map());
            }
        }
        try (SseClient none = SseClient.open(rest.uri(path + "?offset=0"))) {
            assertEquals(401, none.status());
        }
        // A token stands for its key: one whose topics do not include this one gets 403 on it.
        String outOfScope = token(OTHER, path);
        try (SseClient forbidden = SseClient.open(rest.uri(path + "?offset=0&sse_token=" + q(outOfScope)))) {
            assertEquals(403, forbidden.status(), forbidden.errorBody());
        }
        // Tokens are for stream routes only, and need a key to be had.
        Rest.Response notAStream = rest.post("/sse/tokens", "application/json", "{\"path\":\"/topics/" + topic + "\"}",
                "Authorization", "Bearer " + READER);
        assertEquals(422, notAStream.status(), notAStream.body());
        assertEquals(401, rest.post("/sse/tokens", "application/json", "{\"path\":\"" + path + "\"}").status());
    }

    @Test
    void aConsumerInstanceStreamOpensWithATokenOfTheKeyThatOwnsIt() throws Exception {
        String topic = kafka.createTopic(P + "-instance", 1);
        kafka.produce(topic, 0, null, "x".getBytes(StandardCharsets.UTF_8));
        String v2 = "application/vnd.kafka.v2+json";
        Rest.Response created = rest.post("/consumers/" + P + "-g", v2, "{\"auto.offset.reset\":\"earliest\"}",
                "Accept", v2, "Authorization", "Bearer " + READER);
        assertEquals(200, created.status(), created.body());
        String instance = URI.create(created.json().get("base_uri").asText()).getRawPath();
        assertEquals(204, rest.post(instance + "/subscription", v2, "{\"topics\":[\"" + topic + "\"]}",
                "Authorization", "Bearer " + READER).status());
        String token = token(READER, instance + "/records");
        try (SseClient stream = SseClient.open(rest.uri(instance + "/records?sse_token=" + q(token)))) {
            assertEquals(200, stream.status(), stream.errorBody());
            assertEquals(topic + "/0/0", stream.next(WAIT).id());
        }
        assertEquals(204, rest.delete(instance, "Authorization", "Bearer " + READER).status());
    }
}
