package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.FakeTicker;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-caller request quotas on a real Portico whose clock moves only when the test moves it (so
 * nothing here depends on how fast the machine is): a caller over its rate gets 429 with
 * Retry-After in its dialect's error shape, while other callers go on being served; a key's own
 * rate overrides the default; time gives the tokens back; with authentication off, the client's
 * address is the caller.
 */
@ExtendWith(PorticoExtension.class)
class QuotasIT {
    private static final String BUSY = "busy-" + UUID.randomUUID();
    private static final String FREE = "free-" + UUID.randomUUID();
    private static final String SLOW = "slow-" + UUID.randomUUID();
    private static final String BURSTY = "bursty-" + UUID.randomUUID();

    @TempDir
    Path dir;

    private static String[] bearer(String key) {
        return new String[] {"Authorization", "Bearer " + key};
    }

    private static final String NODE_SECRET = "quotas-node-secret-" + java.util.UUID.randomUUID();

    private static void assertRefused(Rest.Response r, String messagePart) {
        assertEquals(429, r.status(), r.body());
        assertEquals("1", r.header("Retry-After"), r.body());
        JsonNode body = r.json();
        assertEquals(429, body.get("error_code").asInt(), r.body());
        assertTrue(body.get("message").asText().contains(messagePart), r.body());
    }

    @Test
    void aKeyOverItsRateIs429WhileTheOthersAreServed(KafkaCluster cluster) throws Exception {
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"busy\",\"key\":\"" + BUSY + "\",\"role\":\"writer\",\"topics\":[\"*\"]},"
                + "{\"name\":\"free\",\"key\":\"" + FREE + "\",\"role\":\"writer\",\"topics\":[\"*\"],\"requests_per_second\":0},"
                + "{\"name\":\"slow\",\"key\":\"" + SLOW + "\",\"role\":\"writer\",\"topics\":[\"*\"],\"requests_per_second\":1},"
                + "{\"name\":\"bursty\",\"key\":\"" + BURSTY + "\",\"role\":\"writer\",\"topics\":[\"*\"],"
                + "\"requests_per_second\":1,\"burst\":4}]}");
        FakeTicker clock = new FakeTicker();
        try (TestPortico portico = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString(), "quota.requests.per.second", "3",
                "quota.auth.failures.per.second", "1", "nodes.secret", NODE_SECRET), clock)) {
            Rest rest = portico.rest();
            String topic = KafkaCluster.uniqueTopic("quota");
            for (int i = 0; i < 3; i++) {
                Rest.Response ok = rest.get("/topics", bearer(BUSY));
                assertEquals(200, ok.status(), "request " + i + ": " + ok.body());
            }
            assertRefused(rest.get("/topics", bearer(BUSY)), "Too many requests: the API key 'busy' may make 3 requests "
                    + "a second; retry after 1 s");
            Rest.Response records = rest.post("/topics/" + topic + "/records", "text/plain", "v", bearer(BUSY));
            assertRefused(records, "the API key 'busy'");
            assertEquals(429, records.json().get("error").get("error_code").asInt(), "IBM's shape: " + records.body());

            for (int i = 0; i < 20; i++) {
                Rest.Response other = rest.post("/topics/" + topic + "/records", "text/plain", "v" + i, bearer(FREE));
                assertEquals(200, other.status(), "a key without a quota is served meanwhile: " + other.body());
            }
            assertEquals(200, rest.get("/topics", bearer(SLOW)).status());
            assertRefused(rest.get("/topics", bearer(SLOW)), "the API key 'slow' may make 1 requests a second");
            for (int i = 0; i < 4; i++) {
                assertEquals(200, rest.get("/topics", bearer(BURSTY)).status(), "its own burst, request " + i);
            }
            assertRefused(rest.get("/topics", bearer(BURSTY)), "the API key 'bursty' may make 1 requests a second (4 at once)");
            assertEquals(200, rest.get("/health").status(), "the operator's routes have no quota");
            for (int i = 0; i < 10; i++) { // ten seconds' worth of quota.auth.failures.per.second at once
                assertEquals(401, rest.get("/topics", bearer("a-guess-0123456789")).status(), "guess " + i);
            }
            Rest.Response guessing = rest.get("/topics", bearer("a-guess-0123456789"));
            assertRefused(guessing, "the client address 127.0.0.1 may make 1 requests a second without valid credentials "
                    + "(10 at once)");
            assertEquals(null, guessing.header("WWW-Authenticate"), guessing.headers().map().toString());
            Rest.Response right = rest.get("/topics", bearer(FREE));
            assertRefused(right, "the client address 127.0.0.1 may make 1 requests a second without valid credentials");
            // past the bound, a right guess is not tried either: it would tell the guesser it was right
            Rest.Response token = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&sse_token=a.1.guess",
                    "Accept", "text/event-stream");
            assertEquals(429, token.status(), "a stream token guessed counts as a key guessed: " + token.body());
            Rest.Response forged = rest.get("/topics", "Portico-Node-Secret", "a-guess-0123456789", "Portico-Forwarded-By", "n");
            assertEquals(429, forged.status(), "a node secret guessed counts as a key guessed: " + forged.body());
            Rest.Response rightSecret = rest.get("/topics", "Portico-Node-Secret", NODE_SECRET, "Portico-Forwarded-By", "n");
            assertEquals(429, rightSecret.status(), "past the bound, the right secret is not tried either: "
                    + rightSecret.body());

            clock.advance(Duration.ofSeconds(1));
            for (int i = 0; i < 3; i++) {
                assertEquals(200, rest.get("/topics", bearer(BUSY)).status(), "a second later, request " + i);
            }
            assertEquals(200, rest.get("/topics", bearer(SLOW)).status());
            assertEquals(9, portico.portico().metrics().meter("portico.quota.refused").getCount());
            assertEquals(20, cluster.read(topic, 20).size(), "the refused record was not written");
        }
    }

    @Test
    void aUserWithoutTheRolesAskedForIsHeldToTheRateOfRefusedCredentials(KafkaCluster cluster) throws Exception {
        Path users = Files.writeString(dir.resolve("password.properties"), "tom: tom-pass,user\n");
        FakeTicker clock = new FakeTicker();
        try (TestPortico portico = TestPortico.start(cluster, Map.of("authentication.method", "BASIC",
                "authentication.users.file", users.toString(), "authentication.roles", "admin",
                "quota.requests.per.second", "2", "quota.auth.failures.per.second", "1"), clock)) {
            Rest rest = portico.rest();
            String[] tom = {"Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(
                    "tom:tom-pass".getBytes(java.nio.charset.StandardCharsets.UTF_8))};
            for (int i = 0; i < 10; i++) { // ten seconds' worth of quota.auth.failures.per.second at once
                assertEquals(403, rest.get("/topics", tom).status(), "request " + i);
            }
            assertRefused(rest.get("/topics", tom), "without valid credentials");
        }
    }

    @Test
    void withAuthenticationOffTheClientsAddressIsTheCaller(KafkaCluster cluster) {
        FakeTicker clock = new FakeTicker();
        try (TestPortico portico = TestPortico.start(cluster, Map.of("quota.requests.per.second", "2",
                "quota.requests.burst", "4"), clock)) {
            Rest rest = portico.rest();
            for (int i = 0; i < 4; i++) {
                assertEquals(200, rest.get("/topics").status(), "the burst, request " + i);
            }
            assertRefused(rest.get("/topics"), "the client address 127.0.0.1 may make 2 requests a second (4 at once)");
            clock.advance(Duration.ofMillis(500));
            assertEquals(200, rest.get("/topics").status(), "half a second gives one back");
            assertRefused(rest.get("/topics"), "127.0.0.1");
        }
    }
}
