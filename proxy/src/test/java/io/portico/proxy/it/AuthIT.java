package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.ConfigException;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.SseClient;
import io.portico.proxy.testing.TestPortico;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code authentication.method=API_KEY}: the three credential forms IBM Event Streams accepts on
 * the records endpoint and on the Confluent v1 endpoints, 401 and 403, topic globs, hashed keys,
 * topic listing, ownership of consumer instances, and the keys file changing under a running
 * Portico.
 */
@ExtendWith(PorticoExtension.class)
class AuthIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";
    private static final String V1 = "application/vnd.kafka.v1+json";
    /** Topic names of this class start with it, so the globs below see no other class's topics. */
    private static final String P = "auth" + Long.toHexString(System.nanoTime() & 0xffffff);

    private static final String WRITER_ALL = secret();
    private static final String ORDERS = secret();
    private static final String READER = secret();
    private static final String ORDERS_MANAGER = secret();
    private static final String BILLING = secret();
    private static final String READER_TWO = secret();
    private static final String HASHED = secret();
    private static final List<String> ALL_KEYS = List.of(WRITER_ALL, ORDERS, READER, READER_TWO, HASHED);

    @TempDir
    static Path dir;
    private static TestPortico portico;
    private static Rest rest;
    private static KafkaCluster kafka;

    @BeforeAll
    static void start(KafkaCluster cluster) throws IOException {
        kafka = cluster;
        Path keys = Files.writeString(dir.resolve("keys.json"), keysFile(
                entry("writer-all", "key", WRITER_ALL, "writer", "*"),
                entry("orders-app", "key", ORDERS, "writer", P + "-orders.*"),
                entry("reader", "key", READER, "reader", "*"),
                entry("orders-manager", "key", ORDERS_MANAGER, "manager", P + "-orders.*"),
                entry("billing", "key", BILLING, "reader", "*").replace("}", ",\"groups\":[\"" + P + "-billing-*\"]}"),
                entry("reader-two", "key", READER_TWO, "reader", "*"),
                entry("hashed", "sha256", sha256Hex(HASHED), "writer", P + "-*")));
        portico = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString()));
        rest = portico.rest();
    }

    @AfterAll
    static void stop() {
        if (portico != null) {
            portico.close();
        }
    }

    // ---- helpers

    private static String secret() {
        return "k-" + UUID.randomUUID();
    }

    private static String entry(String name, String field, String value, String role, String... topics) {
        StringBuilder t = new StringBuilder();
        for (String topic : topics) {
            t.append(t.length() == 0 ? "" : ",").append('"').append(topic).append('"');
        }
        return "{\"name\":\"" + name + "\",\"" + field + "\":\"" + value + "\",\"role\":\"" + role
                + "\",\"topics\":[" + t + "]}";
    }

    private static String keysFile(String... entries) {
        return "{\"keys\":[" + String.join(",\n", entries) + "]}\n";
    }

    private static String sha256Hex(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String[] bearer(String key) {
        return new String[] {"Authorization", "Bearer " + key};
    }

    private static String[] basic(String user, String key) {
        return new String[] {"Authorization", "Basic " + Base64.getEncoder()
                .encodeToString((user + ":" + key).getBytes(StandardCharsets.UTF_8))};
    }

    private static String[] xAuthToken(String key) {
        return new String[] {"X-Auth-Token", key};
    }

    private static String[] with(String[] credentials, String... more) {
        String[] out = new String[credentials.length + more.length];
        System.arraycopy(credentials, 0, out, 0, credentials.length);
        System.arraycopy(more, 0, out, credentials.length, more.length);
        return out;
    }

    private static Rest.Response produceRecord(Rest rest, String topic, String value, String[] credentials) {
        return rest.post("/topics/" + topic + "/records", "text/plain", value, with(credentials, "Accept", "application/json"));
    }

    private static Rest.Response produceV1(Rest rest, String topic, String[] credentials) {
        return rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"value\":\"djE=\"}]}", credentials);
    }

    private static Rest.Response getTopic(Rest rest, String topic, String[] credentials) {
        return rest.get("/topics/" + topic, credentials);
    }

    private static void assertNoKeys(Rest.Response r) {
        for (String key : ALL_KEYS) {
            assertFalse(r.body().contains(key), "a key in the body: " + r.body());
        }
    }

    /** A Confluent-style error ({@code {"error_code","message"}}) of the v1 endpoints. */
    private static void assertV1Error(Rest.Response r, int status, String messagePart) {
        assertV1Error(r, status, status, messagePart);
    }

    private static void assertV1Error(Rest.Response r, int status, int code, String messagePart) {
        assertEquals(status, r.status(), r.body());
        JsonNode body = r.json();
        assertEquals(code, body.get("error_code").asInt(), r.body());
        assertTrue(body.get("message").asText().contains(messagePart), r.body());
        assertNoKeys(r);
    }

    /** An IBM-style error of the records endpoint. */
    private static void assertRecordsError(Rest.Response r, int status, String topic, String messagePart) {
        assertEquals(status, r.status(), r.body());
        JsonNode body = r.json();
        assertEquals(status, body.get("error_code").asInt(), r.body());
        assertTrue(body.get("message").asText().contains(messagePart), r.body());
        assertEquals(status, body.get("error").get("error_code").asInt(), r.body());
        assertEquals(topic, body.get("error").get("topic").asText(), r.body());
        assertNoKeys(r);
    }

    private static void assertChallenges(Rest.Response r) {
        List<String> challenges = r.headers().allValues("WWW-Authenticate");
        assertTrue(challenges.stream().anyMatch(c -> c.startsWith("Bearer ")), challenges.toString());
        assertTrue(challenges.stream().anyMatch(c -> c.startsWith("Basic ")), challenges.toString());
    }

    /** Polls {@code condition} every 100 ms until it holds or {@code within} has passed; true if it held. */
    private static boolean eventually(Duration within, Supplier<Boolean> condition) {
        Instant deadline = Instant.now().plus(within);
        while (true) {
            if (condition.get()) {
                return true;
            }
            if (Instant.now().isAfter(deadline)) {
                return false;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    // ---- credentials

    @Test
    void aTopicNameKafkaCannotHaveIs422BeforeAnyKeysScopeIsAsked() {
        // Scoped to P-orders.*: the name is refused as a name (422), not as out of scope (403).
        Rest.Response bad = rest.post("/admin/topics", "application/json", "{\"name\":\"bad name!\",\"partitions\":1}",
                bearer(ORDERS_MANAGER));
        assertEquals(422, bad.status(), bad.body());
        Rest.Response outOfScope = rest.post("/admin/topics", "application/json",
                "{\"name\":\"" + P + "-payments\",\"partitions\":1}", bearer(ORDERS_MANAGER));
        assertEquals(403, outOfScope.status(), outOfScope.body());
    }

    @Test
    void everyCredentialFormWorksOnTheRecordsEndpointAndOnV1() throws Exception {
        String topic = kafka.createTopic(P + "-forms", 1);
        List<String[]> forms = List.of(bearer(WRITER_ALL), basic("token", WRITER_ALL), basic("any-user", WRITER_ALL),
                xAuthToken(WRITER_ALL), new String[] {"Authorization", "bearer " + WRITER_ALL});
        for (String[] form : forms) {
            String what = form[0] + ": " + form[1].split(" ")[0];
            Rest.Response records = produceRecord(rest, topic, "test message", form);
            assertEquals(200, records.status(), what + " " + records.body());
            assertEquals(topic, records.json().get("metadata").get("topic").asText());
            Rest.Response v1 = produceV1(rest, topic, form);
            assertEquals(200, v1.status(), what + " " + v1.body());
            Rest.Response metadata = getTopic(rest, topic, form);
            assertEquals(200, metadata.status(), what + " " + metadata.body());
            assertEquals(topic, metadata.json().get("name").asText());
        }
        assertEquals(2 * forms.size(), kafka.read(topic, 2 * forms.size()).size());
    }

    @Test
    void noCredentialsIs401WithBearerAndBasicChallengesAndAJsonBody() {
        String topic = P + "-anon";
        Rest.Response records = produceRecord(rest, topic, "v", new String[0]);
        assertRecordsError(records, 401, topic, "Authentication required");
        assertChallenges(records);
        assertTrue(records.contentType().startsWith("application/json"), records.contentType());

        for (Rest.Response r : List.of(produceV1(rest, topic, new String[0]), getTopic(rest, topic, new String[0]),
                rest.get("/topics"), rest.get("/brokers"), rest.post("/consumers/" + P + "-g", V1, "{}"))) {
            assertV1Error(r, 401, "Authentication required");
            assertChallenges(r);
        }
        // An Authorization header of another scheme, or an empty one, is no credential either.
        assertV1Error(rest.get("/topics", "Authorization", "Digest username=\"token\""), 401, "Authentication required");
        assertV1Error(rest.get("/topics", "Authorization", "Bearer "), 401, "Authentication required");
    }

    @Test
    void aWrongKeyIs401InEveryForm() {
        String topic = P + "-wrong";
        String wrong = secret();
        for (String[] form : List.of(bearer(wrong), basic("token", wrong), xAuthToken(wrong))) {
            Rest.Response records = produceRecord(rest, topic, "v", form);
            assertRecordsError(records, 401, topic, "not valid");
            assertChallenges(records);
            assertFalse(records.body().contains(wrong), "the presented key is not echoed: " + records.body());
            Rest.Response v1 = getTopic(rest, topic, form);
            assertEquals(401, v1.status(), v1.body());
            assertFalse(v1.body().contains(wrong), v1.body());
        }
        // Basic credentials that are not base64 are no key at all.
        Rest.Response garbled = produceRecord(rest, topic, "v", new String[] {"Authorization", "Basic not-base64!"});
        assertRecordsError(garbled, 401, topic, "Authentication required");
        assertChallenges(garbled);
        // A hashed entry's digest is not itself a key.
        assertRecordsError(produceRecord(rest, topic, "v", bearer(sha256Hex(HASHED))), 401, topic, "not valid");
    }

    @Test
    void credentialsThatNameMoreThanOneCallerAre401() throws Exception {
        // A gateway adding its own credential beside the client's: which comes first must not decide.
        String topic = kafka.createTopic(P + "-twice", 1);
        String wrong = secret();
        for (String[] headers : List.of(
                new String[] {"Authorization", "Bearer " + wrong, "Authorization", "Bearer " + WRITER_ALL},
                new String[] {"Authorization", "Bearer " + WRITER_ALL, "Authorization", "Bearer " + WRITER_ALL},
                new String[] {"X-Auth-Token", WRITER_ALL, "X-Auth-Token", wrong},
                new String[] {"Authorization", "Bearer " + wrong, "X-Auth-Token", WRITER_ALL},
                new String[] {"Authorization", "Bearer " + WRITER_ALL, "X-Auth-Token", wrong})) {
            Rest.Response r = produceRecord(rest, topic, "v", headers);
            assertEquals(401, r.status(), String.join(" ", headers) + ": " + r.body());
            assertChallenges(r);
            assertFalse(r.body().contains(WRITER_ALL) || r.body().contains(wrong), r.body());
        }
        // The same key in both headers is one caller.
        assertEquals(200, produceRecord(rest, topic, "v",
                new String[] {"Authorization", "Bearer " + WRITER_ALL, "X-Auth-Token", WRITER_ALL}).status());
    }

    // ---- authorization

    @Test
    void aKeyOutsideItsTopicsIs403() throws Exception {
        String other = kafka.createTopic(P + "-other", 1);
        assertRecordsError(produceRecord(rest, other, "v", bearer(ORDERS)), 403, other, "writer role");
        assertV1Error(produceV1(rest, other, bearer(ORDERS)), 403, "writer role");
        assertV1Error(getTopic(rest, other, bearer(ORDERS)), 403, "reader role");
        assertV1Error(rest.get("/topics/" + other + "/partitions", bearer(ORDERS)), 403, "reader role");
        assertEquals(0, kafka.admin().listOffsets(Map.of(new org.apache.kafka.common.TopicPartition(other, 0),
                org.apache.kafka.clients.admin.OffsetSpec.latest())).all().get().values().iterator().next().offset(),
                "nothing was written");
    }

    @Test
    void aGlobMatchesWholeTopicNamesOnly() {
        String eu = P + "-orders.eu";
        String nested = P + "-orders.eu.west";
        String x = P + "-ordersx";
        String bare = P + "-orders";
        assertEquals(200, produceRecord(rest, eu, "v", bearer(ORDERS)).status());
        assertEquals(200, produceRecord(rest, nested, "v", bearer(ORDERS)).status());
        assertRecordsError(produceRecord(rest, x, "v", bearer(ORDERS)), 403, x, "writer role");
        assertRecordsError(produceRecord(rest, bare, "v", bearer(ORDERS)), 403, bare, "writer role");
        assertRecordsError(produceRecord(rest, "x" + eu, "v", bearer(ORDERS)), 403, "x" + eu, "writer role");
        // "*" matches every topic.
        assertEquals(200, produceRecord(rest, x, "v", bearer(WRITER_ALL)).status());
        assertEquals(200, produceRecord(rest, KafkaCluster.uniqueTopic("anything"), "v", bearer(WRITER_ALL)).status());
    }

    @Test
    void aReaderMayReadButNotProduce() throws Exception {
        String topic = kafka.createTopic(P + "-readonly", 1);
        assertRecordsError(produceRecord(rest, topic, "v", bearer(READER)), 403, topic, "writer role");
        assertV1Error(produceV1(rest, topic, bearer(READER)), 403, "writer role");
        assertV1Error(rest.post("/topics/" + topic + "/partitions/0", BINARY, "{\"records\":[{\"value\":\"AA==\"}]}",
                bearer(READER)), 403, "writer role");
        assertEquals(200, getTopic(rest, topic, bearer(READER)).status());
        Rest.Response read = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0",
                with(bearer(READER), "Accept", BINARY));
        assertEquals(200, read.status(), "reads by offset are a reader's: " + read.body());
        assertEquals("[]", read.body());
    }

    @Test
    void v3RecordsNeedTheWriterRoleOnTheTopicAndTheirReadTheReaderRole() throws Exception {
        String topic = kafka.createTopic(P + "-orders.v3", 1);
        String other = kafka.createTopic(P + "-v3other", 1);
        String cluster = kafka.admin().describeCluster().clusterId().get(30, java.util.concurrent.TimeUnit.SECONDS);
        String record = "{\"value\":{\"type\":\"STRING\",\"data\":\"v\"}}";
        Rest.Response produced = rest.post("/v3/clusters/" + cluster + "/topics/" + topic + "/records", "application/json",
                record, bearer(ORDERS));
        assertEquals(200, produced.status(), produced.body());
        assertTrue(produced.body().startsWith("{\"error_code\":200,"), produced.body());
        assertEquals(403, rest.post("/v3/clusters/" + cluster + "/topics/" + other + "/records", "application/json",
                record, bearer(ORDERS)).status(), "outside the key's topics");
        assertEquals(403, rest.post("/v3/clusters/" + cluster + "/topics/" + topic + "/records:batch",
                "application/json", "{\"entries\":[{\"id\":\"1\"}]}", bearer(READER)).status(), "a reader may not produce");
        assertEquals(401, rest.post("/v3/clusters/" + cluster + "/topics/" + topic + "/records", "application/json",
                record).status());
        Rest.Response read = rest.get("/v3/clusters/" + cluster + "/topics/" + topic + "/partitions/0/records?offset=0",
                bearer(READER));
        assertEquals(200, read.status(), read.body());
        assertEquals(1, read.json().get("data").size());
        assertEquals(403, rest.get("/v3/clusters/" + cluster + "/topics/" + other + "/partitions/0/records?offset=0",
                bearer(ORDERS)).status());
    }

    @Test
    void aHashedKeyWorksLikeAPlainOne() {
        String topic = P + "-hashed";
        for (String[] form : List.of(bearer(HASHED), basic("token", HASHED), xAuthToken(HASHED))) {
            assertEquals(200, produceRecord(rest, topic, "v", form).status(), form[0]);
        }
        String outside = KafkaCluster.uniqueTopic("nothashed");
        assertRecordsError(produceRecord(rest, outside, "v", bearer(HASHED)), 403, outside, "writer role");
    }

    @Test
    void topicListingsShowOnlyTheTopicsAKeyMaySee() throws Exception {
        List<String> created = new ArrayList<>();
        for (String suffix : List.of("-orders.list1", "-orders.list2", "-orderslist3", "-list4")) {
            created.add(kafka.createTopic(P + suffix, 1));
        }
        JsonNode orders = rest.get("/topics", bearer(ORDERS)).json();
        List<String> seen = new ArrayList<>();
        orders.forEach(n -> seen.add(n.asText()));
        assertTrue(seen.containsAll(created.subList(0, 2)), seen.toString());
        assertTrue(seen.stream().allMatch(t -> t.startsWith(P + "-orders.")), "only orders.* topics: " + seen);

        List<String> all = new ArrayList<>();
        rest.get("/topics", bearer(READER)).json().forEach(n -> all.add(n.asText()));
        assertTrue(all.containsAll(created), all.toString());
    }

    // ---- consumer instances

    @Test
    void aKeyThatListsItsGroupsUsesThoseAloneAndSeesThoseAlone() throws Exception {
        String own = P + "-billing-1";
        Rest.Response created = rest.post("/consumers/" + own, V1, "{\"name\":\"b\"}", bearer(BILLING));
        assertEquals(200, created.status(), created.body());
        // Another application's group: joining it would take its partitions and its commits.
        String other = P + "-payments";
        assertEquals(200, rest.post("/consumers/" + other, V1, "{\"name\":\"p\"}", bearer(READER)).status());
        Rest.Response refused = rest.post("/consumers/" + other, V1, "{\"name\":\"x\"}", bearer(BILLING));
        assertEquals(403, refused.status(), refused.body());
        assertTrue(refused.json().get("message").asText().contains("consumer group"), refused.body());
        String cluster = kafka.admin().describeCluster().clusterId().get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(403, rest.get("/v3/clusters/" + cluster + "/consumer-groups/" + other + "/lags",
                bearer(BILLING)).status());
        // A key without "groups" uses any group, as before.
        assertEquals(200, rest.post("/consumers/" + own, V1, "{\"name\":\"r\"}", bearer(READER)).status());
        assertEquals(204, rest.delete("/consumers/" + own + "/instances/b", bearer(BILLING)).status());
        assertEquals(204, rest.delete("/consumers/" + own + "/instances/r", bearer(READER)).status());
        assertEquals(204, rest.delete("/consumers/" + other + "/instances/p", bearer(READER)).status());
    }

    @Test
    void aConsumerInstanceBelongsToTheKeyThatCreatedIt() throws Exception {
        String topic = kafka.createTopic(P + "-owned", 1);
        assertEquals(200, produceV1(rest, topic, bearer(WRITER_ALL)).status());
        String group = P + "-group";
        Rest.Response created = rest.post("/consumers/" + group, V1, "{\"auto.offset.reset\":\"earliest\"}", bearer(READER));
        assertEquals(200, created.status(), created.body());
        String instance = "/consumers/" + group + "/instances/" + created.json().get("instance_id").asText();

        assertV1Error(rest.get(instance + "/topics/" + topic, with(bearer(READER_TWO), "Accept", BINARY)), 403,
                "another API key");
        assertV1Error(rest.post(instance + "/offsets", V1, "", bearer(READER_TWO)), 403, "another API key");
        assertV1Error(rest.delete(instance, bearer(READER_TWO)), 403, "another API key");
        assertV1Error(rest.delete(instance, bearer(WRITER_ALL)), 403, "another API key");

        List<JsonNode> records = new ArrayList<>();
        for (int i = 0; i < 10 && records.isEmpty(); i++) {
            Rest.Response read = rest.get(instance + "/topics/" + topic, with(bearer(READER), "Accept", BINARY));
            assertEquals(200, read.status(), read.body());
            read.json().forEach(records::add);
        }
        assertEquals("djE=", records.get(0).get("value").asText());
        Rest.Response commit = rest.post(instance + "/offsets", V1, "", basic("token", READER));
        assertEquals(200, commit.status(), commit.body());
        assertEquals(0, commit.json().get(0).get("consumed").asLong());
        assertEquals(204, rest.delete(instance, xAuthToken(READER)).status());
        assertV1Error(rest.delete(instance, bearer(READER)), 404, 40403, "Consumer instance not found");
    }

    // ---- the keys file

    @Test
    void aRewrittenKeysFileIsReadAgain(KafkaCluster cluster, @TempDir Path own) throws Exception {
        String first = secret();
        String second = secret();
        Path file = Files.writeString(own.resolve("keys.json"), keysFile(entry("first", "key", first, "writer", "*")));
        try (TestPortico reloading = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", file.toString()))) {
            Rest r = reloading.rest();
            String topic = P + "-reload";
            assertEquals(200, produceRecord(r, topic, "v", bearer(first)).status());
            assertEquals(401, produceRecord(r, topic, "v", bearer(second)).status());

            rewrite(file, keysFile(entry("second", "key", second, "writer", "*"),
                    entry("reader", "key", READER, "reader", "*")));
            assertTrue(eventually(Duration.ofSeconds(15), () -> produceRecord(r, topic, "v", bearer(second)).status() == 200),
                    "the new key works once the file is re-read");
            assertEquals(401, produceRecord(r, topic, "v", bearer(first)).status(), "a removed key stops working");
            assertEquals(403, produceRecord(r, topic, "v", bearer(READER)).status(), "roles come from the new file");
        }
    }

    @Test
    void aKeyNarrowedByARewriteStopsReadingWhereItStartedBefore(KafkaCluster cluster, @TempDir Path own) throws Exception {
        // What outlives a request (a v2 instance's subscription, a pattern's later matches, an
        // event stream) follows the keys file as it reads now, not as it read when it began.
        String key = secret();
        String kept = cluster.createTopic(P + "-narrow-kept", 1);
        String lost = cluster.createTopic(P + "-narrow-lost", 1);
        cluster.produce(kept, 0, null, "k".getBytes(StandardCharsets.UTF_8));
        cluster.produce(lost, 0, null, "l".getBytes(StandardCharsets.UTF_8));
        Path file = Files.writeString(own.resolve("keys.json"), keysFile(entry("app", "key", key, "reader", "*")));
        try (TestPortico reloading = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", file.toString()))) {
            Rest r = reloading.rest();
            String v2 = "application/vnd.kafka.v2+json";
            String binary = "application/vnd.kafka.binary.v2+json";
            String group = P + "-narrow";
            assertEquals(200, r.post("/consumers/" + group, v2, "{\"name\":\"named\",\"auto.offset.reset\":\"earliest\"}",
                    bearer(key)).status());
            assertEquals(200, r.post("/consumers/" + group, v2, "{\"name\":\"pattern\",\"auto.offset.reset\":\"earliest\"}",
                    bearer(key)).status());
            String named = "/consumers/" + group + "/instances/named";
            String pattern = "/consumers/" + group + "/instances/pattern";
            assertEquals(204, r.post(named + "/subscription", v2, "{\"topics\":[\"" + lost + "\"]}", bearer(key)).status());
            assertEquals(204, r.post(pattern + "/subscription", v2, "{\"topic_pattern\":\"" + P + "-narrow-.*\"}",
                    bearer(key)).status());
            assertEquals("{\"topics\":[\"" + kept + "\",\"" + lost + "\"]}",
                    r.get(pattern + "/subscription", "Accept", v2, "Authorization", "Bearer " + key).body());
            assertEquals(200, r.get(named + "/records?timeout=1000", "Accept", binary, "Authorization", "Bearer " + key)
                    .status());
            try (SseClient stream = SseClient.open(r.uri("/topics/" + lost + "/partitions/0/messages?offset=0"),
                    "Accept", "text/event-stream", "Authorization", "Bearer " + key)) {
                assertEquals(200, stream.status(), stream.errorBody());
                assertEquals("l", new String(java.util.Base64.getDecoder().decode(
                        io.portico.protocol.Json.mapper().readTree(stream.next(Duration.ofSeconds(30)).data()).get("value").asText()),
                        StandardCharsets.UTF_8));

                assertEquals(200, r.get("/topics/" + lost, "Authorization", "Bearer " + key).status());
                rewrite(file, keysFile(entry("app", "key", key, "reader", kept)));
                assertTrue(eventually(Duration.ofSeconds(15),
                        () -> r.get("/topics/" + lost, "Authorization", "Bearer " + key).status() == 403),
                        "the file is re-read");

                Rest.Response read = r.get(named + "/records?timeout=1000", "Accept", binary, "Authorization", "Bearer " + key);
                assertEquals(403, read.status(), "an instance subscribed to a topic the key lost: " + read.body());
                assertTrue(eventually(Duration.ofSeconds(15), () -> {
                    // A pattern looks again at the cluster's topics (about once a second) while it is read.
                    r.get(pattern + "/records?timeout=500", "Accept", binary, "Authorization", "Bearer " + key);
                    return r.get(pattern + "/subscription", "Accept", v2, "Authorization", "Bearer " + key).body()
                            .equals("{\"topics\":[\"" + kept + "\"]}");
                }), "a pattern's matches drop the topic the key lost");
                cluster.produce(lost, 0, null, "later".getBytes(StandardCharsets.UTF_8));
                SseClient.Event ended = stream.next(Duration.ofSeconds(30));
                assertEquals("error", ended == null ? null : ended.event(), "the stream ends with an error event");
                assertEquals(403, io.portico.protocol.Json.mapper().readTree(ended.data()).get("error_code").asInt(), ended.data());
                assertTrue(stream.awaitEnd(Duration.ofSeconds(30)));
            }
        }
    }

    @Test
    void aKeyRotatedOrRemovedByARewriteEndsTheStreamsItOpened(KafkaCluster cluster, @TempDir Path own) throws Exception {
        String key = secret();
        String rotated = secret();
        String other = secret();
        String topic = cluster.createTopic(P + "-rotated-stream", 1);
        cluster.produce(topic, 0, null, "a".getBytes(StandardCharsets.UTF_8));
        Path file = Files.writeString(own.resolve("keys.json"), keysFile(entry("app", "key", key, "reader", "*"),
                entry("ops", "key", other, "reader", "*")));
        try (TestPortico reloading = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", file.toString()))) {
            Rest r = reloading.rest();
            String v2 = "application/vnd.kafka.v2+json";
            String group = P + "-rotated-stream";
            assertEquals(200, r.post("/consumers/" + group, v2, "{\"name\":\"pattern\",\"auto.offset.reset\":\"earliest\"}",
                    bearer(other)).status());
            String pattern = "/consumers/" + group + "/instances/pattern";
            assertEquals(204, r.post(pattern + "/subscription", v2, "{\"topic_pattern\":\"" + P + "-rotated-.*\"}",
                    bearer(other)).status());
            try (SseClient leaked = SseClient.open(r.uri("/topics/" + topic + "/partitions/0/messages?offset=0"),
                    "Accept", "text/event-stream", "Authorization", "Bearer " + key);
                 SseClient instance = SseClient.open(r.uri(pattern + "/records"),
                         "Accept", "text/event-stream", "Authorization", "Bearer " + other)) {
                assertEquals(200, leaked.status(), leaked.errorBody());
                assertEquals(200, instance.status(), instance.errorBody());
                assertEquals(null, leaked.next(Duration.ofSeconds(30)).event(), "the first record");
                assertEquals(null, instance.next(Duration.ofSeconds(30)).event(), "the first record");

                // "app" keeps its name with another key; "ops" is removed.
                rewrite(file, keysFile(entry("app", "key", rotated, "reader", "*")));
                assertTrue(eventually(Duration.ofSeconds(15), () -> r.get("/topics/" + topic, "Authorization",
                        "Bearer " + key).status() == 401), "the file is re-read");
                cluster.produce(topic, 0, null, "after".getBytes(StandardCharsets.UTF_8));

                for (SseClient stream : List.of(leaked, instance)) {
                    // A fetch already waiting when the file changed may still bring "after"; the
                    // next one finds the key gone.
                    SseClient.Event ended = stream.next(Duration.ofSeconds(30));
                    if (ended != null && ended.event() == null) {
                        ended = stream.next(Duration.ofSeconds(30));
                    }
                    assertEquals("error", ended == null ? null : ended.event(), "the stream ends with an error event");
                    assertEquals(403, io.portico.protocol.Json.mapper().readTree(ended.data()).get("error_code").asInt(),
                            ended.data());
                    assertTrue(stream.awaitEnd(Duration.ofSeconds(30)));
                }
            }
        }
    }

    @Test
    void aStreamTokenAskedForWithAKeyRotatedWhileItsBodyWasReadIsRefused(KafkaCluster cluster, @TempDir Path own)
            throws Exception {
        String key = secret();
        String rotated = secret();
        String topic = cluster.createTopic(P + "-token-rotated", 1);
        Path file = Files.writeString(own.resolve("keys.json"), keysFile(entry("app", "key", key, "reader", "*")));
        try (TestPortico reloading = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", file.toString()));
             java.net.Socket socket = new java.net.Socket(reloading.rest().base().getHost(),
                     reloading.rest().base().getPort())) {
            Rest r = reloading.rest();
            byte[] body = ("{\"path\":\"/topics/" + topic + "/partitions/0/messages\"}").getBytes(StandardCharsets.UTF_8);
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(("POST /sse/tokens HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nAuthorization: Bearer " + key + "\r\nContent-Length: "
                    + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush(); // the headers are read, the body held back

            rewrite(file, keysFile(entry("app", "key", rotated, "reader", "*")));
            assertTrue(eventually(Duration.ofSeconds(15), () -> r.get("/topics/" + topic, "Authorization",
                    "Bearer " + key).status() == 401), "the file is re-read");
            socket.getOutputStream().write(body);
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 401"), answer);
            assertFalse(answer.contains("\"token\""), answer);
        }
    }

    @Test
    void aV3ProduceStreamStopsWritingOnceItsKeyIsRotatedOut(KafkaCluster cluster, @TempDir Path own) throws Exception {
        String key = secret();
        String rotated = secret();
        String topic = cluster.createTopic(P + "-stream-rotated", 1);
        Path file = Files.writeString(own.resolve("keys.json"), keysFile(entry("app", "key", key, "writer", "*")));
        try (TestPortico reloading = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", file.toString()));
             java.net.Socket socket = new java.net.Socket(reloading.rest().base().getHost(),
                     reloading.rest().base().getPort())) {
            Rest r = reloading.rest();
            String cluster0 = r.get("/v3/clusters", "Authorization", "Bearer " + key).json().get("data").get(0)
                    .get("cluster_id").asText();
            socket.setSoTimeout(30_000);
            var out = socket.getOutputStream();
            out.write(("POST /v3/clusters/" + cluster0 + "/topics/" + topic + "/records HTTP/1.1\r\nHost: localhost\r\n"
                    + "Connection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                    + "Authorization: Bearer " + key + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            writeChunk(out, "{\"value\":{\"type\":\"STRING\",\"data\":\"before\"}}\n");
            var in = socket.getInputStream();
            StringBuilder answer = new StringBuilder();
            readUntil(in, answer, "\"offset\"");

            rewrite(file, keysFile(entry("app", "key", rotated, "writer", "*")));
            assertTrue(eventually(Duration.ofSeconds(15), () -> r.get("/topics/" + topic, "Authorization",
                    "Bearer " + key).status() == 401), "the file is re-read");
            writeChunk(out, "{\"value\":{\"type\":\"STRING\",\"data\":\"after\"}}\n");
            readUntil(in, answer, "\"error_code\":40301");
            answer.append(new String(in.readAllBytes(), StandardCharsets.UTF_8)); // the stream ends
            assertTrue(answer.toString().contains("no longer has the writer role"), answer.toString());
            assertEquals(List.of("before"), cluster.readToEnd(topic, "read_committed").stream()
                    .map(rec -> new String(rec.value(), StandardCharsets.UTF_8)).toList());
        }
    }

    private static void writeChunk(java.io.OutputStream out, String data) throws IOException {
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Reads into {@code into} until it holds {@code marker} (the socket's time-out bounds the wait). */
    private static void readUntil(java.io.InputStream in, StringBuilder into, String marker) throws IOException {
        byte[] buffer = new byte[4096];
        while (into.indexOf(marker) < 0) {
            int n = in.read(buffer);
            if (n < 0) {
                throw new AssertionError("the answer ended before " + marker + ": " + into);
            }
            into.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
        }
    }

    @Test
    void aKeyRotatedIntoAFileOfTheSameSizeAndTimeIsReadAgain(KafkaCluster cluster, @TempDir Path own)
            throws Exception {
        String first = secret();
        String second = secret();
        assertEquals(first.length(), second.length());
        Path file = Files.writeString(own.resolve("keys.json"), keysFile(entry("app", "key", first, "writer", "*")));
        FileTime written = Files.getLastModifiedTime(file);
        try (TestPortico reloading = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", file.toString()))) {
            Rest r = reloading.rest();
            String topic = P + "-rotate";
            assertEquals(200, produceRecord(r, topic, "v", bearer(first)).status());

            Files.writeString(file, keysFile(entry("app", "key", second, "writer", "*")));
            Files.setLastModifiedTime(file, written); // same length, same time: only the content differs
            assertTrue(eventually(Duration.ofSeconds(15), () -> produceRecord(r, topic, "v", bearer(second)).status() == 200),
                    "the rotated key works once the file is re-read");
            assertEquals(401, produceRecord(r, topic, "v", bearer(first)).status(), "the old key stops working");
        }
    }

    @Test
    void anInvalidRewriteKeepsTheKeysReadBefore(KafkaCluster cluster, @TempDir Path own) throws Exception {
        String kept = secret();
        String later = secret();
        Path file = Files.writeString(own.resolve("keys.json"), keysFile(entry("kept", "key", kept, "writer", "*")));
        try (TestPortico reloading = TestPortico.start(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", file.toString()))) {
            Rest r = reloading.rest();
            String topic = P + "-invalid";
            rewrite(file, "{\"keys\":[{\"name\":\"broken\"");
            // The watcher looks every 2 s: over 4.5 s it has seen the broken file at least twice.
            Instant until = Instant.now().plusMillis(4500);
            while (Instant.now().isBefore(until)) {
                assertEquals(200, produceRecord(r, topic, "v", bearer(kept)).status(), "the old key still works");
                Thread.sleep(250);
            }
            // A file that parses but is not valid (a key too short) is refused as well.
            rewrite(file, keysFile(entry("kept", "key", kept, "writer", "*"),
                    entry("later", "key", later, "writer", "*"), entry("short", "key", "too-short", "writer", "*")));
            Instant until2 = Instant.now().plusMillis(4500);
            while (Instant.now().isBefore(until2)) {
                assertEquals(200, produceRecord(r, topic, "v", bearer(kept)).status(), "the old key still works");
                assertEquals(401, produceRecord(r, topic, "v", bearer(later)).status(), "nothing of the bad file is used");
                Thread.sleep(250);
            }
            // The watcher still works: a valid file is taken.
            rewrite(file, keysFile(entry("later", "key", later, "writer", "*")));
            assertTrue(eventually(Duration.ofSeconds(15), () -> produceRecord(r, topic, "v", bearer(later)).status() == 200));
            assertEquals(401, produceRecord(r, topic, "v", bearer(kept)).status());
        }
    }

    @Test
    void anInvalidKeysFileFailsStartUpNamingApiKeysFile(KafkaCluster cluster, @TempDir Path own) throws Exception {
        String secretValue = "abcdefghijklmno"; // 15 characters: one too few
        Map<String, String> invalid = Map.of(
                "short key", keysFile(entry("short", "key", secretValue, "writer", "*")),
                "not JSON", "{\"keys\":[",
                "unknown role", keysFile(entry("x", "key", secret(), "admin", "*")),
                "no topics", keysFile(entry("x", "key", secret(), "writer")),
                "duplicate name", keysFile(entry("x", "key", secret(), "writer", "*"), entry("x", "key", secret(), "writer", "*")),
                "key and sha256", "{\"keys\":[{\"name\":\"x\",\"key\":\"" + secret() + "\",\"sha256\":\""
                        + sha256Hex("x") + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}",
                "bad sha256", keysFile(entry("x", "sha256", "abcd", "writer", "*")),
                "unquoted key", "{\"keys\":[{\"name\":\"x\",\"key\":" + secretValue + "pq,\"role\":\"writer\",\"topics\":[\"*\"]}]}");
        for (Map.Entry<String, String> e : invalid.entrySet()) {
            Path file = Files.writeString(own.resolve("keys-" + e.getKey().replace(' ', '-') + ".json"), e.getValue());
            ConfigException thrown = startFails(cluster, Map.of("authentication.method", "API_KEY",
                    "api.keys.file", file.toString()));
            assertTrue(thrown.getMessage().contains("api.keys.file"), e.getKey() + ": " + thrown.getMessage());
            assertFalse(thrown.getMessage().contains(secretValue), e.getKey() + ": " + thrown.getMessage());
        }
        ConfigException missing = startFails(cluster, Map.of("authentication.method", "API_KEY",
                "api.keys.file", own.resolve("nowhere.json").toString()));
        assertTrue(missing.getMessage().contains("api.keys.file"), missing.getMessage());
        ConfigException unset = startFails(cluster, Map.of("authentication.method", "API_KEY"));
        assertTrue(unset.getMessage().contains("api.keys.file"), unset.getMessage());
    }

    private static ConfigException startFails(KafkaCluster cluster, Map<String, String> config) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> TestPortico.start(cluster, config).close());
        return assertInstanceOf(ConfigException.class, e.getCause());
    }

    /** Rewrites the file with a modification time clearly after the previous one. */
    private static void rewrite(Path file, String content) throws IOException {
        FileTime before = Files.getLastModifiedTime(file);
        Files.writeString(file, content);
        Files.setLastModifiedTime(file, FileTime.fromMillis(Math.max(System.currentTimeMillis(), before.toMillis() + 2000)));
    }

    @Test
    void aKeyOutsideAReservedTopicLearnsNothingOfItsName() {
        // The key's scope is asked first: Portico's own state topic answers a key that may not
        // see it as any other topic outside its scope does.
        Rest.Response scoped = rest.get("/topics/_portico_idempotency", "Authorization", "Bearer " + ORDERS);
        assertEquals(403, scoped.status());
        assertTrue(scoped.body().contains("does not have the reader role"), scoped.body());
        Rest.Response other = rest.get("/topics/" + P + "-payments-never", "Authorization", "Bearer " + ORDERS);
        assertEquals(scoped.body().replace("_portico_idempotency", P + "-payments-never"), other.body());
    }

    @Test
    void v2SubscriptionsAssignmentsAndPatternsStayWithinTheKeysTopics() throws Exception {
        String mine = kafka.createTopic(P + "-orders.v2", 1);
        String theirs = kafka.createTopic(P + "-payments.v2", 1);
        kafka.produce(mine, 0, null, "o".getBytes(StandardCharsets.UTF_8));
        kafka.produce(theirs, 0, null, "p".getBytes(StandardCharsets.UTF_8));
        String v2 = "application/vnd.kafka.v2+json";
        String group = P + "-v2group";
        Rest.Response created = rest.post("/consumers/" + group, v2, "{\"name\":\"i\",\"auto.offset.reset\":\"earliest\"}",
                bearer(ORDERS));
        assertEquals(200, created.status(), created.body());
        String instance = "/consumers/" + group + "/instances/i";

        assertEquals(403, rest.post(instance + "/subscription", v2, "{\"topics\":[\"" + theirs + "\"]}",
                bearer(ORDERS)).status());
        assertEquals(403, rest.post(instance + "/assignments", v2,
                "{\"partitions\":[{\"topic\":\"" + theirs + "\",\"partition\":0}]}", bearer(ORDERS)).status());
        assertEquals(403, rest.get(instance + "/subscription", "Accept", v2, "Authorization", "Bearer " + READER)
                .status(), "another key's instance");

        // A pattern matching both topics subscribes to the key's only.
        assertEquals(204, rest.post(instance + "/subscription", v2, "{\"topic_pattern\":\"" + P + "-.*\\\\.v2\"}",
                bearer(ORDERS)).status());
        assertEquals("{\"topics\":[\"" + mine + "\"]}", rest.get(instance + "/subscription", "Accept", v2,
                "Authorization", "Bearer " + ORDERS).body());
        List<String> topics = new java.util.ArrayList<>();
        for (int i = 0; i < 10 && topics.isEmpty(); i++) {
            Rest.Response r = rest.get(instance + "/records?timeout=1000", "Accept",
                    "application/vnd.kafka.binary.v2+json", "Authorization", "Bearer " + ORDERS);
            assertEquals(200, r.status(), r.body());
            r.json().forEach(n -> topics.add(n.get("topic").asText()));
        }
        assertEquals(List.of(mine), topics);
        assertEquals(204, rest.delete(instance, "Authorization", "Bearer " + ORDERS).status());
    }
}
