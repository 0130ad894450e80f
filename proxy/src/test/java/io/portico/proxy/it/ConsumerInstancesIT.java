package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import io.portico.proxy.testing.FakeTicker;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Consumer-group instances against a real broker: every behaviour and error code of the v1 API. */
@ExtendWith(PorticoExtension.class)
class ConsumerInstancesIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";
    private static final String JSON = "application/vnd.kafka.json.v1+json";
    private static final String V1 = "application/vnd.kafka.v1+json";

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static void produce(Rest rest, String topic, String... values) {
        StringBuilder body = new StringBuilder("{\"records\":[");
        for (int i = 0; i < values.length; i++) {
            body.append(i == 0 ? "" : ",").append("{\"value\":\"").append(b64(values[i])).append("\"}");
        }
        Rest.Response r = rest.post("/topics/" + topic, BINARY, body.append("]}").toString());
        assertEquals(200, r.status(), r.body());
    }

    /** Produces {@code total} records of 100 B, in 500s, each value starting with its number in 8 digits. */
    private static void produceNumbered(Rest rest, String topic, int total) {
        for (int batch = 0; batch < total / 500; batch++) {
            String[] values = new String[500];
            for (int i = 0; i < values.length; i++) {
                values[i] = String.format("%08d", batch * 500 + i) + "x".repeat(92);
            }
            produce(rest, topic, values);
        }
    }

    private static String create(Rest rest, String group, String body) {
        Rest.Response r = rest.post("/consumers/" + group, V1, body);
        assertEquals(200, r.status(), r.body());
        return r.json().get("instance_id").asText();
    }

    private static String path(String group, String instance) {
        return "/consumers/" + group + "/instances/" + instance;
    }

    private static Rest.Response read(Rest rest, String group, String instance, String topic, String accept) {
        return rest.get(path(group, instance) + "/topics/" + topic, "Accept", accept);
    }

    /** Reads until {@code n} records have come back (each read long-polls), at most 20 reads. */
    private static List<JsonNode> readAll(Rest rest, String group, String instance, String topic, int n) {
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < 20 && out.size() < n; i++) {
            Rest.Response r = read(rest, group, instance, topic, BINARY);
            assertEquals(200, r.status(), r.body());
            r.json().forEach(out::add);
        }
        return out;
    }

    /** Records consumer instances fetched ahead of their next read, so far (Portico's metric). */
    private static long readAheadCount(Rest rest) {
        Rest.Response r = rest.get("/metrics");
        assertEquals(200, r.status(), r.body());
        JsonNode meter = r.json().get("meters").get("portico.consume.read.ahead");
        return meter == null ? 0 : meter.get("count").asLong();
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static List<String> values(List<JsonNode> records) {
        return records.stream()
                .map(r -> new String(Base64.getDecoder().decode(r.get("value").asText()), StandardCharsets.UTF_8))
                .toList();
    }

    private static void assertError(Rest.Response r, int status, int code) {
        assertEquals(status, r.status(), r.body());
        assertEquals(code, r.json().get("error_code").asInt(), r.body());
    }

    @Test
    void keysAndNullValuesComeBackInBothFormats(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("kv");
        rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"key\":\"AP8=\",\"value\":null},{\"key\":null,\"value\":\"gA==\"}]}");
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "{\"auto.offset.reset\":\"earliest\"}");
        assertEquals("[{\"key\":\"AP8=\",\"value\":null,\"partition\":0,\"offset\":0},"
                + "{\"key\":null,\"value\":\"gA==\",\"partition\":0,\"offset\":1}]",
                read(rest, group, id, topic, BINARY).body());

        String jsonTopic = KafkaCluster.uniqueTopic("jkv");
        rest.post("/topics/" + jsonTopic, JSON, "{\"records\":[{\"key\":{\"id\":1},\"value\":null},{\"value\":[1,\"two\"]}]}");
        // Another group: a second member of the first one would wait for the first to rejoin.
        String jsonGroup = KafkaCluster.uniqueTopic("g");
        String jsonId = create(rest, jsonGroup, "{\"format\":\"json\",\"auto.offset.reset\":\"smallest\"}");
        assertEquals("[{\"key\":{\"id\":1},\"value\":null,\"partition\":0,\"offset\":0},"
                + "{\"key\":null,\"value\":[1,\"two\"],\"partition\":0,\"offset\":1}]",
                read(rest, jsonGroup, jsonId, jsonTopic, JSON).body());
    }

    @Test
    void anEmptyReadAnswersAnEmptyArrayAfterTheRequestTimeout(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("empty");
        produce(rest, topic, "old");
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "{\"auto.offset.reset\":\"largest\"}");
        Rest.Response r = read(rest, group, id, topic, BINARY);
        assertEquals(200, r.status());
        assertEquals("[]", r.body(), "largest: only records produced after the subscription");
    }

    @Test
    void aLongPollReturnsTheRecordThatArrivesDuringIt(KafkaCluster kafka) throws Exception {
        try (TestPortico slow = TestPortico.start(kafka, Map.of("consumer.request.timeout.ms", "60000"))) {
            Rest rest = slow.rest();
            String topic = KafkaCluster.uniqueTopic("longpoll");
            produce(rest, topic, "first");
            String group = KafkaCluster.uniqueTopic("g");
            String id = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
            assertEquals(List.of("first"), values(readAll(rest, group, id, topic, 1)));

            CompletableFuture<Rest.Response> pending =
                    CompletableFuture.supplyAsync(() -> read(rest, group, id, topic, BINARY));
            produce(rest, topic, "second");
            Rest.Response r = pending.get(60, TimeUnit.SECONDS);
            assertEquals(List.of("second"), values(List.of(r.json().get(0))));
        }
    }

    @Test
    void maxBytesSplitsReadsAndIsAStrictCap(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("maxbytes");
        String big = "x".repeat(500);
        produce(rest, topic, "a".repeat(100), "b".repeat(100), big, "c".repeat(10));
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
        List<Integer> sizes = new ArrayList<>();
        List<String> all = new ArrayList<>();
        for (int i = 0; i < 20 && all.size() < 2; i++) {
            Rest.Response r = rest.get(path(group, id) + "/topics/" + topic + "?max_bytes=150", "Accept", BINARY);
            List<JsonNode> got = new ArrayList<>();
            r.json().forEach(got::add);
            if (!got.isEmpty()) {
                sizes.add(got.size());
                all.addAll(values(got));
            }
        }
        assertEquals(List.of("a".repeat(100), "b".repeat(100)), all, "in order, 150 bytes at most per read");
        assertEquals(List.of(1, 1), sizes);
        assertEquals("[]", rest.get(path(group, id) + "/topics/" + topic + "?max_bytes=150", "Accept", BINARY).body(),
                "the 500-byte record is not returned to a client that allows 150 bytes");
        List<JsonNode> rest2 = new ArrayList<>();
        rest.get(path(group, id) + "/topics/" + topic, "Accept", BINARY).json().forEach(rest2::add);
        assertEquals(List.of(big, "c".repeat(10)), values(rest2), "nothing lost: a read without max_bytes gets it");
    }

    @Test
    void anInstanceHoldingRecordsBackStillLetsANewMemberJoin(Rest rest, KafkaCluster kafka) throws Exception {
        holdBackThenJoin(rest, kafka);
    }

    @Test
    void anInstanceHoldingRecordsBackStillLetsANewMemberJoinWithTheConsumerGroupProtocol(KafkaCluster kafka)
            throws Exception {
        // Under this protocol the partition moves in two heartbeats (the first member told to give
        // it up, then the second told it has it), each up to the broker's 5 s interval apart: as
        // long as the default assignment wait, so a loaded machine could miss it. The wait is 30 s.
        try (TestPortico p = TestPortico.start(kafka, Map.of("consumer.group.protocol", "consumer",
                "consumer.assignment.timeout.ms", "30000"))) {
            holdBackThenJoin(p.rest(), kafka);
        }
    }

    private static void holdBackThenJoin(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("holdback"), 2);
        StringBuilder body = new StringBuilder("{\"records\":[");
        for (int i = 0; i < 4000; i++) {
            body.append(i == 0 ? "" : ",").append("{\"value\":\"").append(b64(String.format("v%07d", i)))
                    .append("\",\"partition\":").append(i % 2).append('}');
        }
        assertEquals(200, rest.post("/topics/" + topic, BINARY, body.append("]}").toString()).status());
        String group = KafkaCluster.uniqueTopic("g");
        String first = create(rest, group, "{\"name\":\"first\",\"auto.offset.reset\":\"smallest\"}");
        String slow = path(group, first) + "/topics/" + topic + "?max_bytes=8"; // one 8-byte record a read
        List<JsonNode> firstRead = new ArrayList<>();
        for (int i = 0; i < 20 && firstRead.isEmpty(); i++) {
            rest.get(slow, "Accept", BINARY).json().forEach(firstRead::add);
        }
        assertEquals(1, firstRead.size(), "one record a read; the instance holds the others back");

        // The first instance keeps reading one record at a time (it has hundreds held back, more
        // than its reads return within the second's assignment wait) while a second joins.
        java.util.concurrent.atomic.AtomicBoolean secondHasRecords = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<JsonNode> firstAfter = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<?> reader = pool.submit(() -> {
                while (!stop.get()) {
                    boolean after = secondHasRecords.get();
                    Rest.Response r = rest.get(slow, "Accept", BINARY);
                    assertEquals(200, r.status(), r.body());
                    if (after) {
                        r.json().forEach(firstAfter::add);
                    }
                    Thread.sleep(50); // hundreds held back: 15 s and more to return them all
                }
                return null;
            });
            String second = create(rest, group, "{\"name\":\"second\",\"auto.offset.reset\":\"smallest\"}");
            Rest.Response joined = read(rest, group, second, topic, BINARY);
            assertEquals(200, joined.status(), joined.body());
            List<JsonNode> got = new ArrayList<>();
            joined.json().forEach(got::add);
            assertTrue(!got.isEmpty(), "the second instance got a partition within its first read's "
                    + "assignment wait, although the first instance was answering from held-back records");
            int partition = got.get(0).get("partition").asInt();
            assertTrue(got.stream().allMatch(r -> r.get("partition").asInt() == partition), joined.body());
            assertEquals(0, got.get(0).get("offset").asLong(), "nothing was committed: the partition "
                    + "is read again from its start by its new owner");
            secondHasRecords.set(true);
            for (int i = 0; i < 200 && firstAfter.size() < 5; i++) {
                Thread.sleep(50);
            }
            stop.set(true);
            reader.get(30, TimeUnit.SECONDS);
            assertTrue(firstAfter.size() >= 5, "the first instance went on reading: " + firstAfter.size());
            assertTrue(firstAfter.stream().noneMatch(r -> r.get("partition").asInt() == partition),
                    "the first instance dropped what it held of the partition it lost");
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
    }

    @Test
    void commitThenANewInstanceOfTheGroupResumesAfterTheCommittedOffset(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("resume");
        produce(rest, topic, "r0", "r1", "r2");
        String group = KafkaCluster.uniqueTopic("g");
        String first = create(rest, group, "{\"name\":\"first\",\"auto.offset.reset\":\"smallest\",\"auto.commit.enable\":\"false\"}");
        assertEquals(List.of("r0", "r1", "r2"), values(readAll(rest, group, first, topic, 3)));
        Rest.Response committed = rest.post(path(group, first) + "/offsets", V1, "");
        assertEquals(200, committed.status(), committed.body());
        assertEquals("[{\"topic\":\"" + topic + "\",\"partition\":0,\"consumed\":2,\"committed\":2}]", committed.body());
        assertEquals(204, rest.delete(path(group, first)).status());

        produce(rest, topic, "r3");
        String second = create(rest, group, "{\"name\":\"second\",\"auto.offset.reset\":\"smallest\"}");
        List<JsonNode> rest2 = readAll(rest, group, second, topic, 1);
        assertEquals(List.of("r3"), values(rest2));
        assertEquals(3, rest2.get(0).get("offset").asLong());
    }

    @Test
    void recordsFetchedAheadOfTheNextReadAreNeitherCommittedNorLost(Rest rest) {
        // More records than one read can hand out: after a read, the instance fetches the next
        // ones ahead while the client reads its answer. A read hands out one poll's records and
        // at most eight more polls' of what is already fetched (max.poll.records 5,000 each), so
        // 45,000 at most whatever the machine's pace: on a loaded machine a first read found all
        // of 20,000 fetched during its group join.
        String topic = KafkaCluster.uniqueTopic("ahead");
        int total = 50_000;
        produceNumbered(rest, topic, total);
        String group = KafkaCluster.uniqueTopic("g");
        String first = create(rest, group, "{\"auto.offset.reset\":\"smallest\",\"auto.commit.enable\":\"false\"}");
        long aheadBefore = readAheadCount(rest);
        List<JsonNode> firstRead = readAll(rest, group, first, topic, 1);
        int handedOut = firstRead.size();
        assertTrue(handedOut > 0 && handedOut < total, "one read hands out part of the topic: " + handedOut);
        // The commit below comes once the instance has fetched ahead.
        for (int i = 0; i < 100 && readAheadCount(rest) == aheadBefore; i++) {
            sleepMillis(50);
        }
        assertTrue(readAheadCount(rest) > aheadBefore, "the instance fetched ahead after the read");

        Rest.Response committed = rest.post(path(group, first) + "/offsets", V1, "");
        assertEquals(200, committed.status(), committed.body());
        assertEquals("[{\"topic\":\"" + topic + "\",\"partition\":0,\"consumed\":" + (handedOut - 1)
                + ",\"committed\":" + (handedOut - 1) + "}]", committed.body(), "only what the read handed out");
        assertEquals(204, rest.delete(path(group, first)).status());

        String second = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
        List<JsonNode> rest2 = new ArrayList<>();
        for (int i = 0; i < 40 && rest2.size() < total - handedOut; i++) {
            Rest.Response r = read(rest, group, second, topic, BINARY);
            assertEquals(200, r.status(), r.body());
            r.json().forEach(rest2::add);
        }
        assertEquals(total - handedOut, rest2.size(), "the rest, once each");
        for (int i = 0; i < rest2.size(); i++) {
            assertEquals(handedOut + i, rest2.get(i).get("offset").asLong());
        }
        assertEquals(String.format("%08d", handedOut), values(rest2).get(0).substring(0, 8));
    }

    @Test
    void aDrainOverOneConnectionGetsEachRecordOnceInOrderWhileTheConsumerFetchesAhead(Rest rest) {
        // Many reads' worth: after the first, reads take what the instance fetched ahead while its
        // consumer fetches the next.
        String topic = KafkaCluster.uniqueTopic("drain");
        int total = 20_000;
        produceNumbered(rest, topic, total);
        String group = KafkaCluster.uniqueTopic("g");
        String first = create(rest, group, "{\"auto.offset.reset\":\"smallest\",\"auto.commit.enable\":\"true\"}");
        List<JsonNode> all = new ArrayList<>();
        for (int i = 0; i < 400 && all.size() < total; i++) {
            // About 400 records a read: many reads, each taking part of what a fetch brought.
            Rest.Response r = rest.get(path(group, first) + "/topics/" + topic + "?max_bytes=40000", "Accept", BINARY);
            assertEquals(200, r.status(), r.body());
            r.json().forEach(all::add);
        }
        assertEquals(total, all.size(), "every record, none twice");
        for (int i = 0; i < total; i++) {
            assertEquals(i, all.get(i).get("offset").asLong());
        }
        assertEquals(String.format("%08d", total - 1), values(all).get(total - 1).substring(0, 8));
        // Whether a read took from a fetch ahead here depends on the client's pace against the
        // fetch ahead's 20 ms wait; ConsumerInstanceTest.readsAndCommitsWhileFetchingAheadReturnEachRecordOnceInOrder
        // checks that reads do (portico.consume.taken.ahead), with a wait no pace can miss.

        // Auto-commit covered what those reads handed out: the group goes on after them.
        assertEquals(204, rest.delete(path(group, first)).status());
        produce(rest, topic, "after");
        String second = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
        assertEquals(List.of("after"), values(readAll(rest, group, second, topic, 1)));
    }

    @Test
    void withoutACommitANewInstanceStartsOver(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("nocommit");
        produce(rest, topic, "n0", "n1");
        String group = KafkaCluster.uniqueTopic("g");
        String first = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
        assertEquals(2, readAll(rest, group, first, topic, 2).size());
        assertEquals(204, rest.delete(path(group, first)).status());
        String second = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
        assertEquals(List.of("n0", "n1"), values(readAll(rest, group, second, topic, 2)),
                "auto.commit.enable defaults to false in v1");
    }

    @Test
    void autoCommitCommitsWhatWasReturned(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("autocommit");
        produce(rest, topic, "a0", "a1");
        String group = KafkaCluster.uniqueTopic("g");
        String first = create(rest, group, "{\"auto.offset.reset\":\"smallest\",\"auto.commit.enable\":\"true\"}");
        assertEquals(2, readAll(rest, group, first, topic, 2).size());
        assertEquals(204, rest.delete(path(group, first)).status());
        produce(rest, topic, "a2");
        String second = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
        assertEquals(List.of("a2"), values(readAll(rest, group, second, topic, 1)));
    }

    @Test
    void commitBeforeAnyReadIsAnEmptyList(Rest rest) {
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "");
        Rest.Response r = rest.post(path(group, id) + "/offsets", null, "");
        assertEquals(200, r.status(), r.body());
        assertEquals("[]", r.body());
    }

    @Test
    void commitsWhileAReadIsInFlightAreSerializedSafely(Rest rest) throws Exception {
        String topic = KafkaCluster.uniqueTopic("concurrent");
        produce(rest, topic, "c0", "c1", "c2", "c3", "c4");
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<Rest.Response>> calls = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                calls.add(threads.submit(() -> read(rest, group, id, topic, BINARY)));
                calls.add(threads.submit(() -> rest.post(path(group, id) + "/offsets", V1, "")));
            }
            List<String> seen = new ArrayList<>();
            for (Future<Rest.Response> call : calls) {
                Rest.Response r = call.get(60, TimeUnit.SECONDS);
                assertEquals(200, r.status(), r.body());
                if (r.body().contains("\"value\"")) {
                    seen.addAll(values(toList(r.json())));
                }
            }
            assertEquals(List.of("c0", "c1", "c2", "c3", "c4"), seen.stream().sorted().toList(),
                    "every record returned exactly once");
            Rest.Response last = rest.post(path(group, id) + "/offsets", V1, "");
            assertEquals("[{\"topic\":\"" + topic + "\",\"partition\":0,\"consumed\":4,\"committed\":4}]", last.body());
        } finally {
            threads.shutdownNow();
        }
    }

    private static List<JsonNode> toList(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }

    @Test
    void theAcceptFormatMustMatchTheInstanceFormat(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("fmt");
        produce(rest, topic, "x");
        String group = KafkaCluster.uniqueTopic("g");
        String json = create(rest, group, "{\"format\":\"json\"}");
        assertError(read(rest, group, json, topic, BINARY), 406, 40601);
        assertError(read(rest, group, json, topic, "*/*"), 406, 40601);
        String binary = create(rest, group, "{\"format\":\"BINARY\",\"auto.offset.reset\":\"smallest\"}");
        assertError(read(rest, group, binary, topic, JSON), 406, 40601);
        // The generic types select the binary reader, as in Confluent's proxy.
        Rest.Response vague = read(rest, group, binary, topic,
                "application/vnd.kafka.v1+json, application/vnd.kafka+json; q=0.9, application/json; q=0.8");
        assertEquals(200, vague.status(), vague.body());
    }

    @Test
    void readingASecondTopicIs40901(Rest rest) {
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "");
        String a = KafkaCluster.uniqueTopic("a");
        String b = KafkaCluster.uniqueTopic("b");
        produce(rest, a, "1");
        produce(rest, b, "1");
        assertEquals(200, read(rest, group, id, a, BINARY).status());
        Rest.Response r = read(rest, group, id, b, BINARY);
        assertError(r, 409, 40901);
        assertEquals("Consumer cannot subscribe the the specified target because it has already subscribed "
                + "to other topics.", r.json().get("message").asText());
    }

    @Test
    void readingAMissingTopicIs40401(Rest rest) {
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "");
        assertError(read(rest, group, id, KafkaCluster.uniqueTopic("missing"), BINARY), 404, 40401);
    }

    @Test
    void unknownInstancesAre40403Everywhere(Rest rest) {
        String group = KafkaCluster.uniqueTopic("g");
        assertError(read(rest, group, "nobody", "t", BINARY), 404, 40403);
        assertError(rest.post(path(group, "nobody") + "/offsets", V1, ""), 404, 40403);
        Rest.Response deleted = rest.delete(path(group, "nobody"));
        assertError(deleted, 404, 40403);
        assertEquals("Consumer instance not found.", deleted.json().get("message").asText());
    }

    @Test
    void aDeletedInstanceIsGoneAndDeleteIgnoresAccept(Rest rest) {
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "");
        assertEquals(204, rest.delete(path(group, id), "Accept", BINARY).status());
        assertError(read(rest, group, id, "t", BINARY), 404, 40403);
        assertError(rest.delete(path(group, id)), 404, 40403);
    }

    @Test
    void creationNamesDefaultsAndErrors(Rest rest) {
        String group = KafkaCluster.uniqueTopic("g");
        // id (deprecated) overrides name
        Rest.Response byId = rest.post("/consumers/" + group + "/", BINARY, "{\"id\":\"by-id\",\"name\":\"by-name\"}");
        assertEquals("by-id", byId.json().get("instance_id").asText());
        assertTrue(byId.json().get("base_uri").asText().endsWith("/consumers/" + group + "/instances/by-id"),
                byId.body());
        // duplicate
        Rest.Response dup = rest.post("/consumers/" + group, BINARY, "{\"id\":\"by-id\"}");
        assertError(dup, 409, 40902);
        // no name: generated; empty body, no Content-Type
        Rest.Response generated = rest.send(rest.request("/consumers/" + group).POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, generated.status(), generated.body());
        assertTrue(generated.json().get("instance_id").asText().matches("rest-consumer-[0-9a-f-]{36}"), generated.body());
        // chunked body
        byte[] chunked = "{\"name\":\"chunky\"}".getBytes(StandardCharsets.UTF_8);
        Rest.Response viaChunks = rest.send(rest.request("/consumers/" + group, "Content-Type", V1)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(chunked))));
        assertEquals("chunky", viaChunks.json().get("instance_id").asText());
        // bad values
        assertError(rest.post("/consumers/" + group, V1, "{\"format\":\"avro\"}"), 415, 415);
        Rest.Response badFormat = rest.post("/consumers/" + group, V1, "{\"format\":\"xml\"}");
        assertError(badFormat, 422, 422);
        assertEquals("Invalid format type.", badFormat.json().get("message").asText());
        assertError(rest.post("/consumers/" + group, V1, "{\"auto.offset.reset\":\"oldest\"}"), 422, 42204);
        assertError(rest.post("/consumers/" + group, V1, "{\"auto.commit.enable\":\"maybe\"}"), 422, 42204);
        assertError(rest.post("/consumers/" + group, V1, "{\"nmae\":\"typo\"}"), 422, 422);
        assertError(rest.post("/consumers/" + group, "text/plain", "{}"), 415, 415);
    }

    @Test
    void anInstanceMayHaveAnyNameWithoutControlCharactersAndItsBaseUriServesIt(Rest rest) {
        String group = KafkaCluster.uniqueTopic("g");
        // As Confluent takes them: its URLs carry the name percent-encoded.
        for (String name : List.of("worker@host-1:7", "a b+c", "ü", "x#z", "x%25", "x&;=", "...", "\uD83D\uDE00", "~".repeat(255))) {
            Rest.Response created = rest.post("/consumers/" + group, V1, "{\"name\":" + new String(Json.write(name), StandardCharsets.UTF_8) + "}");
            assertEquals(200, created.status(), created.body());
            assertEquals(name, created.json().get("instance_id").asText());
            String path = java.net.URI.create(created.json().get("base_uri").asText()).getRawPath();
            Rest.Response commit = rest.post(path + "/offsets", V1, "");
            assertEquals(200, commit.status(), name + ": " + commit.body());
            assertEquals("[]", commit.body());
            assertEquals(204, rest.delete(path).status(), name);
            assertError(rest.post(path + "/offsets", V1, ""), 404, 40403);
        }
        assertError(rest.post("/consumers/" + group, V1, "{\"name\":\"a\\u0007b\"}"), 422, 422);
        for (String unreachable : List.of("a/b", "a\\\\b", "a?b", ".", "..", "a\\ud800", "\\udc00b")) {
            assertError(rest.post("/consumers/" + group, V1, "{\"name\":\"" + unreachable + "\"}"), 422, 422);
        }
        assertError(rest.post("/consumers/" + group, V1, "{\"name\":\"" + "n".repeat(256) + "\"}"), 422, 422);
    }

    @Test
    void baseUriUsesHostNameWhenConfigured(KafkaCluster kafka) {
        try (TestPortico p = TestPortico.start(kafka, Map.of("host.name", "proxy1.example.com"))) {
            String group = KafkaCluster.uniqueTopic("g");
            Rest.Response r = p.rest().post("/consumers/" + group, V1, "{\"name\":\"i\"}");
            assertEquals("http://proxy1.example.com:" + p.rest().base().getPort() + "/consumers/" + group
                    + "/instances/i", r.json().get("base_uri").asText());
        }
    }

    @Test
    void baseUriUsesTheAdvertisedListenerOfTheRequestsScheme(KafkaCluster kafka) {
        try (TestPortico p = TestPortico.start(kafka, Map.of("host.name", "ignored.example.com",
                "advertised.listeners", "https://proxy1.example.com:8443,http://proxy1.example.com:8082"))) {
            String group = KafkaCluster.uniqueTopic("g");
            Rest.Response r = p.rest().post("/consumers/" + group, V1, "{\"name\":\"i\"}");
            assertEquals("http://proxy1.example.com:8082/consumers/" + group + "/instances/i",
                    r.json().get("base_uri").asText());
        }
    }

    @Test
    void baseUriKeepsTheAdvertisedListenersPathAGatewaysPrefix(KafkaCluster kafka) {
        try (TestPortico p = TestPortico.start(kafka, Map.of("advertised.listeners", "http://gw.example.com:80/kafka/"))) {
            String group = KafkaCluster.uniqueTopic("g");
            Rest.Response r = p.rest().post("/consumers/" + group, V1, "{\"name\":\"i\"}");
            assertEquals("http://gw.example.com:80/kafka/consumers/" + group + "/instances/i",
                    r.json().get("base_uri").asText());
            Rest.Response cluster = p.rest().get("/v3/clusters");
            assertTrue(cluster.json().get("data").get(0).get("metadata").get("self").asText()
                    .startsWith("http://gw.example.com:80/kafka/v3/clusters/"), cluster.body());
        }
    }

    @Test
    void aJsonInstanceNeverSkipsARecordItCannotRender(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("poison");
        rest.post("/topics/" + topic, JSON, "{\"records\":[{\"value\":{\"n\":1}}]}");
        produce(rest, topic, "not json");
        rest.post("/topics/" + topic, JSON, "{\"records\":[{\"value\":{\"n\":3}}]}");
        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "{\"format\":\"json\",\"auto.offset.reset\":\"earliest\"}");
        List<JsonNode> got = new ArrayList<>();
        Rest.Response r = null;
        for (int i = 0; i < 20 && got.isEmpty(); i++) {
            r = read(rest, group, id, topic, JSON);
            assertEquals(200, r.status(), r.body());
            r.json().forEach(got::add);
        }
        assertEquals(1, got.size(), "the record before the one that is not JSON: " + got);
        assertEquals(1, got.get(0).get("value").get("n").asInt());
        Rest.Response stuck = read(rest, group, id, topic, JSON);
        assertError(stuck, 500, 50002);
        assertTrue(stuck.json().get("message").asText().contains("offset 1"), stuck.body());
        Rest.Response committed = rest.post(path(group, id) + "/offsets", V1, "");
        assertEquals("[{\"topic\":\"" + topic + "\",\"partition\":0,\"consumed\":0,\"committed\":0}]",
                committed.body(), "only what the client got is committed");
    }

    @Test
    void jsonReadsReturnJsonAsDeepAndLongAsTheRecordsEndpointStoresIt(Rest rest) {
        // Deeper than Jackson's 1,000 levels, a number of more than its 1,000 digits: the records
        // endpoint stores both as JSON (as IBM's producer does), so the json format returns them.
        String topic = KafkaCluster.uniqueTopic("deep");
        String deep = "[".repeat(1500) + "]".repeat(1500);
        String longNumber = "7".repeat(1500);
        for (String value : List.of(deep, longNumber)) {
            Rest.Response stored = rest.post("/topics/" + topic + "/records", "application/json", value);
            assertEquals(200, stored.status(), stored.body());
        }
        String records = "[{\"key\":null,\"value\":" + deep + ",\"partition\":0,\"offset\":0},"
                + "{\"key\":null,\"value\":" + longNumber + ",\"partition\":0,\"offset\":1}]";
        Rest.Response byOffset = rest.get("/topics/" + topic + "/partitions/0/messages?offset=0&count=2", "Accept", JSON);
        assertEquals(200, byOffset.status(), byOffset.body());
        assertEquals(records, byOffset.body(), "by offset: the stored JSON as it is");

        String group = KafkaCluster.uniqueTopic("g");
        String id = create(rest, group, "{\"format\":\"json\",\"auto.offset.reset\":\"earliest\"}");
        // The records' objects as the reads return them (one read or two; an empty read before):
        // compared as text, the mapper's own depth bound being what this is not held to.
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 20 && got.size() < 2; i++) {
            Rest.Response r = read(rest, group, id, topic, JSON);
            assertEquals(200, r.status(), r.body());
            String body = r.body();
            assertTrue(body.startsWith("[") && body.endsWith("]"), body);
            String inner = body.substring(1, body.length() - 1);
            for (String object : inner.isEmpty() ? new String[0] : inner.split("(?<=}),(?=\\{\"key\")")) {
                got.add(object);
            }
        }
        assertEquals(records, "[" + String.join(",", got) + "]", "through a json instance: the stored JSON as it is");
    }

    @Test
    void aV1ReadWaitingForRecordsAnswers40901WhenTheInstanceIsSubscribedToOtherTopicsThroughV2(KafkaCluster kafka)
            throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("consumer.request.timeout.ms", "20000"))) {
            Rest rest = p.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v1-waits"), 1);
            String other = kafka.createTopic(KafkaCluster.uniqueTopic("v1-other"), 1);
            produce(rest, topic, "a");
            String group = KafkaCluster.uniqueTopic("g");
            String id = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
            assertEquals(1, readAll(rest, group, id, topic, 1).size());
            // A read that waits for records (up to 20 s); meanwhile the instance is subscribed to
            // another topic through v2, and that topic gets a record.
            java.util.concurrent.CompletableFuture<Rest.Response> waiting = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> read(rest, group, id, topic, BINARY));
            Thread.sleep(1000);
            Rest.Response subscribed = rest.post(path(group, id) + "/subscription", "application/vnd.kafka.v2+json",
                    "{\"topics\":[\"" + other + "\"]}");
            assertEquals(204, subscribed.status(), subscribed.body());
            produce(rest, other, "b");
            Rest.Response r = waiting.get(60, java.util.concurrent.TimeUnit.SECONDS);
            // 40901 (as a read after the change is), never the other topic's record under this one's URL.
            assertError(r, 409, 40901);
        }
    }

    @Test
    void theInstanceLimitAnswers429(KafkaCluster kafka) {
        try (TestPortico p = TestPortico.start(kafka, Map.of("consumer.instances.max", "2"))) {
            String group = KafkaCluster.uniqueTopic("g");
            create(p.rest(), group, "");
            create(p.rest(), group, "");
            assertError(p.rest().post("/consumers/" + group, V1, ""), 429, 429);
        }
    }

    @Test
    void anIdleInstanceExpiresAndLeavesItsGroup(KafkaCluster kafka) throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (TestPortico p = TestPortico.start(kafka, Map.of("consumer.instance.timeout.ms", "300000"), ticker)) {
            Rest rest = p.rest();
            String topic = KafkaCluster.uniqueTopic("expiry");
            produce(rest, topic, "e0");
            String group = KafkaCluster.uniqueTopic("g");
            String idle = create(rest, group, "{\"auto.offset.reset\":\"smallest\"}");
            String busyGroup = KafkaCluster.uniqueTopic("g2");
            String busy = create(rest, busyGroup, "");
            assertEquals(1, readAll(rest, group, idle, topic, 1).size());
            assertEquals(1, members(kafka, group));

            ticker.advance(Duration.ofSeconds(200));
            assertEquals(200, rest.post(path(busyGroup, busy) + "/offsets", V1, "").status(), "used: not expired");
            ticker.advance(Duration.ofSeconds(101));
            p.portico().consumers().cleanUp();

            assertError(read(rest, group, idle, topic, BINARY), 404, 40403);
            assertEquals(200, rest.post(path(busyGroup, busy) + "/offsets", V1, "").status());
            for (int i = 0; i < 100 && members(kafka, group) > 0; i++) {
                Thread.sleep(100); // the expired consumer closes on the closer thread
            }
            assertEquals(0, members(kafka, group), "the expired instance left its group");
        }
    }

    @Test
    void shutdownClosesEveryInstance(KafkaCluster kafka) throws Exception {
        String group = KafkaCluster.uniqueTopic("g");
        String topic = KafkaCluster.uniqueTopic("shutdown");
        try (TestPortico p = TestPortico.start(kafka, Map.of())) {
            produce(p.rest(), topic, "s0");
            String id = create(p.rest(), group, "{\"auto.offset.reset\":\"smallest\"}");
            assertEquals(1, readAll(p.rest(), group, id, topic, 1).size());
            assertEquals(1, members(kafka, group));
        }
        assertEquals(0, members(kafka, group), "close() returned after the instance left its group");
    }

    private static int members(KafkaCluster kafka, String group) throws Exception {
        ConsumerGroupDescription d = kafka.admin().describeConsumerGroups(List.of(group)).all().get().get(group);
        return d.members().size();
    }

    @Test
    void readByOffsetEdgesAndErrors(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = KafkaCluster.uniqueTopic("byoffset");
        produce(rest, topic, "o0", "o1", "o2", "o3");
        String base = "/topics/" + topic + "/partitions/0/messages";
        // No offset (or a blank one) reads from offset 0, as Confluent's does.
        assertEquals(List.of("o0"), values(toList(rest.get(base).json())));
        assertEquals(List.of("o0", "o1"), values(toList(rest.get(base + "?offset=&count=2").json())));
        Rest.Response more = rest.get(base + "?offset=2&count=10");
        assertEquals(2, more.json().size(), "fewer than asked when the log ends");
        assertEquals("[]", rest.get(base + "?offset=4&count=3").body(), "[] at the log end");
        Rest.Response past = rest.get(base + "?offset=5");
        assertError(past, 404, 40406);
        assertTrue(past.json().get("message").asText().contains("past the log end"), past.body());
        kafka.admin().deleteRecords(Map.of(new org.apache.kafka.common.TopicPartition(topic, 0),
                org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(2))).all().get();
        Rest.Response below = rest.get(base + "?offset=1");
        assertError(below, 404, 40406);
        assertTrue(below.json().get("message").asText().contains("below the log start"), below.body());
        assertEquals("o2", values(toList(rest.get(base + "?offset=2").json())).get(0));

        assertError(rest.get(base), 404, 40406); // offset 0, deleted
        assertError(rest.get(base + "?offset=-1"), 400, 400);
        assertError(rest.get(base + "?offset=abc"), 400, 400);
        assertError(rest.get(base + "?offset=0&count=0"), 400, 400);
        assertEquals(List.of("o2", "o3"), values(toList(rest.get(base + "?offset=2&count=10001").json())));
        assertError(rest.get("/topics/" + topic + "/partitions/7/messages?offset=0"), 404, 40402);
        assertError(rest.get("/topics/" + KafkaCluster.uniqueTopic("none") + "/partitions/0/messages?offset=0"),
                404, 40401);
    }

    @Test
    void aReadByOffsetAskingMoreThanTheServersLimitGetsTheLimit(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("byoffsetcap"), 1);
        for (int i = 0; i < 6; i++) {
            kafka.produce(topic, 0, null, ("c" + i).getBytes(StandardCharsets.UTF_8));
        }
        try (TestPortico p = TestPortico.start(kafka, Map.of("read.count.max", "4"))) {
            String base = "/topics/" + topic + "/partitions/0/messages";
            assertEquals(List.of("c0", "c1", "c2", "c3"), values(toList(p.rest().get(base + "?offset=0&count=5").json())));
            assertEquals(List.of("c4", "c5"), values(toList(p.rest().get(base + "?offset=4&count=100000").json())));
        }
    }

    @Test
    void readByOffsetRendersJsonWhenAskedAndRefusesNonJsonData(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("jsonread");
        rest.post("/topics/" + topic, JSON, "{\"records\":[{\"key\":\"k\",\"value\":{\"n\":1}}]}");
        produce(rest, topic, "not json {");
        String base = "/topics/" + topic + "/partitions/0/messages";
        Rest.Response json = rest.get(base + "?offset=0", "Accept", JSON);
        assertEquals("[{\"key\":\"k\",\"value\":{\"n\":1},\"partition\":0,\"offset\":0}]", json.body());
        assertEquals(JSON, json.contentType());
        Rest.Response bad = rest.get(base + "?offset=1", "Accept", JSON);
        assertError(bad, 500, 50002);
        assertTrue(bad.json().get("message").asText().contains("not JSON"), bad.body());
        byte[] raw = Base64.getDecoder().decode(rest.get(base + "?offset=1").json().get(0).get("value").asText());
        assertArrayEquals("not json {".getBytes(StandardCharsets.UTF_8), raw);
    }
}
