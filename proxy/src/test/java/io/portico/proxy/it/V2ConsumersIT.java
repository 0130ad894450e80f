package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Confluent's v2 API end to end against the real broker: the v2 quickstart with the bodies it
 * shows, metadata and produce in v2 media types, and consumer instances driven by explicit calls —
 * subscription (topics and patterns), assignment, positions, commits and committed offsets,
 * records with timestamps and headers — including groups of two instances, a rebalance during a
 * long poll, and a new instance resuming exactly where a commit left off.
 */
@ExtendWith(PorticoExtension.class)
class V2ConsumersIT {
    private static final String V2 = "application/vnd.kafka.v2+json";
    private static final String BINARY_V2 = "application/vnd.kafka.binary.v2+json";
    private static final String JSON_V2 = "application/vnd.kafka.json.v2+json";

    // ---- helpers

    private static String create(Rest rest, String group, String body) {
        Rest.Response r = rest.post("/consumers/" + group, V2, body, "Accept", V2);
        assertEquals(200, r.status(), r.body());
        assertEquals(V2, r.contentType());
        return r.json().get("base_uri").asText();
    }

    private static String path(String baseUri) {
        return URI.create(baseUri).getRawPath();
    }

    private static void ok204(Rest.Response r) {
        assertEquals(204, r.status(), r.body());
    }

    /**
     * Reads (a second at most each, answers of an empty topic) until the group gave the instance
     * {@code count} partitions: a read naming its timeout answers within it even while the group
     * join is still going on, as Confluent's does, so a join may take several reads.
     */
    private static void awaitAssigned(Rest rest, String instance, int count) {
        int assigned = 0;
        for (int i = 0; i < 30 && assigned != count; i++) {
            Rest.Response r = rest.get(instance + "/records?timeout=1000", "Accept", BINARY_V2);
            assertEquals(200, r.status(), r.body());
            assigned = rest.get(instance + "/assignments", "Accept", V2).json().get("partitions").size();
        }
        assertEquals(count, assigned, "partitions the group gave " + instance);
    }

    /** Reads until {@code count} records came or 30 reads passed; each read waits up to a second. */
    private static List<JsonNode> readAtLeast(Rest rest, String instance, String accept, int count) {
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < 30 && out.size() < count; i++) {
            Rest.Response r = rest.get(instance + "/records?timeout=1000", "Accept", accept);
            assertEquals(200, r.status(), r.body());
            r.json().forEach(out::add);
        }
        return out;
    }

    private static void produce(KafkaCluster kafka, String topic, int partition, int count) throws Exception {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < count; i++) {
                p.send(new ProducerRecord<>(topic, partition, null, ("v" + i).getBytes(StandardCharsets.UTF_8))).get();
            }
        }
    }

    private static List<Long> offsets(List<JsonNode> records) {
        List<Long> out = new ArrayList<>();
        records.forEach(r -> out.add(r.get("offset").asLong()));
        return out;
    }

    // ---- the quickstart

    @Test
    void aPartitionItsTopicDoesNotHaveIsTakenThen404ForAPositionOrACommit(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = KafkaCluster.uniqueTopic("one-partition");
        kafka.createTopic(topic, 1);
        String group = KafkaCluster.uniqueTopic("g");
        String instance = path(create(rest, group, "{\"format\":\"binary\"}"));
        String both = "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0},{\"topic\":\"" + topic
                + "\",\"partition\":5}]}";
        ok204(rest.post(instance + "/assignments", V2, both)); // as Confluent's proxy takes it
        ok204(rest.post(instance + "/positions", V2, "{\"offsets\":[{\"topic\":\"" + topic
                + "\",\"partition\":5,\"offset\":0}]}")); // asks Kafka nothing

        Rest.Response beginning = rest.post(instance + "/positions/beginning", V2, "{\"partitions\":[{\"topic\":\""
                + topic + "\",\"partition\":5}]}");
        assertEquals(404, beginning.status(), beginning.body());
        assertEquals(40402, beginning.json().get("error_code").asInt(), beginning.body());
        Rest.Response commit = rest.post(instance + "/offsets", V2, "{\"offsets\":[{\"topic\":\"" + topic
                + "\",\"partition\":5,\"offset\":0}]}");
        assertEquals(404, commit.status(), commit.body());
        ok204(rest.post(instance + "/positions/beginning", V2, "{\"partitions\":[{\"topic\":\"" + topic
                + "\",\"partition\":0}]}"));
        ok204(rest.delete(instance, "Content-Type", V2));
    }

    @Test
    void committedOffsetsAskedWithoutPartitionsAre40402(Rest rest) {
        String group = KafkaCluster.uniqueTopic("nobody");
        String instance = path(create(rest, group, "{\"format\":\"binary\"}"));
        Rest.Response r = rest.send(rest.request(instance + "/offsets", "Accept", V2).GET());
        assertEquals(404, r.status(), r.body());
        assertEquals(40402, r.json().get("error_code").asInt(), r.body());
        // A GET without a Content-Length at all (curl's, HTTP/2's) asks for none either.
        try (java.net.Socket socket = new java.net.Socket(rest.base().getHost(), rest.base().getPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(("GET " + instance + "/offsets HTTP/1.1\r\nHost: localhost\r\n"
                    + "Accept: " + V2 + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 404") && answer.contains("40402"), answer);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        ok204(rest.delete(instance, "Content-Type", V2));
    }

    @Test
    void theV2QuickstartWithJsonDataAnswersAsItShows(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("jsontest");
        String group = KafkaCluster.uniqueTopic("my_json_consumer");
        // curl -X POST -H "Content-Type: application/vnd.kafka.json.v2+json" \
        //      -d '{"records":[{"value":{"name": "testUser"}}]}' http://localhost:8082/topics/jsontest
        Rest.Response produced = rest.post("/topics/" + topic, JSON_V2, "{\"records\":[{\"value\":{\"name\": \"testUser\"}}]}");
        assertEquals(200, produced.status(), produced.body());
        assertEquals("{\"offsets\":[{\"partition\":0,\"offset\":0,\"error_code\":null,\"error\":null}],"
                + "\"key_schema_id\":null,\"value_schema_id\":null}", produced.body());
        assertEquals(V2, produced.contentType());

        Rest.Response created = rest.post("/consumers/" + group, V2,
                "{\"name\": \"my_consumer_instance\", \"format\": \"json\", \"auto.offset.reset\": \"earliest\"}",
                "Accept", V2);
        assertEquals(200, created.status(), created.body());
        assertEquals("{\"instance_id\":\"my_consumer_instance\",\"base_uri\":\"" + rest.base() + "/consumers/" + group
                + "/instances/my_consumer_instance\"}", created.body());
        String instance = "/consumers/" + group + "/instances/my_consumer_instance";

        Rest.Response subscribed = rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}");
        assertEquals(204, subscribed.status(), subscribed.body());
        assertEquals("", subscribed.body());

        Rest.Response records = rest.get(instance + "/records", "Accept", JSON_V2);
        assertEquals(200, records.status(), records.body());
        assertEquals(JSON_V2, records.contentType());
        JsonNode record = records.json().get(0);
        assertEquals(topic, record.get("topic").asText());
        assertTrue(record.get("key").isNull());
        assertEquals("{\"name\":\"testUser\"}", record.get("value").toString());
        assertEquals(0, record.get("partition").asInt());
        assertEquals(0, record.get("offset").asLong());
        assertTrue(record.get("timestamp").asLong() > 0, "v2 records carry their timestamp: " + record);

        ok204(rest.delete(instance, "Accept", V2));
        assertEquals(404, rest.get(instance + "/records", "Accept", JSON_V2).status());
    }

    @Test
    void theV2QuickstartWithBinaryDataAnswersAsItShows(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("binarytest");
        String group = KafkaCluster.uniqueTopic("my_binary_consumer");
        Rest.Response produced = rest.post("/topics/" + topic, BINARY_V2, "{\"records\":[{\"value\":\"S2Fma2E=\"}]}");
        assertEquals(200, produced.status(), produced.body());
        String instance = path(create(rest, group,
                "{\"name\": \"my_consumer_instance\", \"format\": \"binary\", \"auto.offset.reset\": \"earliest\"}"));
        ok204(rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        Rest.Response records = rest.get(instance + "/records", "Accept", BINARY_V2);
        assertEquals(200, records.status(), records.body());
        assertTrue(records.body().startsWith("[{\"topic\":\"" + topic + "\",\"key\":null,\"value\":\"S2Fma2E=\","
                + "\"partition\":0,\"offset\":0,\"timestamp\":"), records.body());
        ok204(rest.delete(instance));
    }

    // ---- metadata and produce in v2

    @Test
    void metadataAnswersInV2WhenAskedAndPartitionOffsetsAreListed(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("meta2"), 2);
        produce(kafka, topic, 1, 3);
        Rest.Response topics = rest.get("/topics", "Accept", V2);
        assertEquals(200, topics.status());
        assertEquals(V2, topics.contentType());
        Rest.Response partition = rest.get("/topics/" + topic + "/partitions/1", "Accept", V2);
        assertEquals(V2, partition.contentType());
        Rest.Response offsets = rest.get("/topics/" + topic + "/partitions/1/offsets", "Accept", V2);
        assertEquals(200, offsets.status(), offsets.body());
        assertEquals("{\"beginning_offset\":0,\"end_offset\":3}", offsets.body());
        assertEquals(40402, rest.get("/topics/" + topic + "/partitions/7/offsets", "Accept", V2).json()
                .get("error_code").asInt());
        assertEquals(200, rest.get("/brokers", "Accept", V2).status());
    }

    @Test
    void produceToAPartitionInV2(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("p2"), 2);
        Rest.Response r = rest.post("/topics/" + topic + "/partitions/1", BINARY_V2,
                "{\"records\":[{\"key\":\"a2V5\",\"value\":\"dmFsdWU=\"}]}", "Accept", V2);
        assertEquals(200, r.status(), r.body());
        assertEquals(1, r.json().get("offsets").get(0).get("partition").asInt());
        // A body type naming no version is binary, for a client accepting v2 too.
        Rest.Response plain = rest.post("/topics/" + topic + "/partitions/0", "application/json",
                "{\"records\":[{\"value\":\"dmFsdWU=\"}]}", "Accept", V2);
        assertEquals(200, plain.status(), plain.body());
        assertEquals(V2, plain.contentType());
        List<String> values = kafka.readToEnd(topic, "read_committed").stream()
                .filter(rec -> rec.partition() == 0)
                .map(rec -> new String(rec.value(), java.nio.charset.StandardCharsets.UTF_8)).toList();
        assertEquals(List.of("value"), values);
        assertEquals(415, rest.post("/topics/" + topic, "application/vnd.kafka.avro.v2+json",
                "{\"records\":[{\"value\":1}]}").status());
        assertEquals(415, rest.post("/topics/" + topic, "application/vnd.kafka.protobuf.v2+json",
                "{\"records\":[{\"value\":1}]}").status());
    }

    // ---- consumers

    @Test
    void twoInstancesOfOneGroupShareThePartitionsWithoutDuplicates(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("shared"), 2);
        produce(kafka, topic, 0, 10);
        produce(kafka, topic, 1, 10);
        String group = KafkaCluster.uniqueTopic("pair");
        String a = path(create(rest, group, "{\"name\":\"a\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}"));
        String b = path(create(rest, group, "{\"name\":\"b\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}"));
        ok204(rest.post(a + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        ok204(rest.post(b + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        // Both read together, so that the group settles with one partition each.
        Set<String> seen = new HashSet<>();
        List<String> all = new ArrayList<>();
        Set<Integer> partitionsOfA = new HashSet<>();
        Set<Integer> partitionsOfB = new HashSet<>();
        // Reading goes on until every record is read and the group has settled (one partition
        // each): a rebalance completes only while both members poll.
        boolean settled = false;
        for (int round = 0; round < 60 && (all.size() < 20 || !settled); round++) {
            CompletableFuture<Rest.Response> fromA = CompletableFuture.supplyAsync(
                    () -> rest.get(a + "/records?timeout=1000", "Accept", BINARY_V2));
            Rest.Response fromB = rest.get(b + "/records?timeout=1000", "Accept", BINARY_V2);
            for (Rest.Response r : List.of(fromA.join(), fromB)) {
                assertEquals(200, r.status(), r.body());
                for (JsonNode n : r.json()) {
                    String id = n.get("partition").asInt() + ":" + n.get("offset").asLong();
                    all.add(id);
                    seen.add(id);
                    (r == fromB ? partitionsOfB : partitionsOfA).add(n.get("partition").asInt());
                }
            }
            rest.post(a + "/offsets", V2, "");
            rest.post(b + "/offsets", V2, "");
            settled = rest.get(a + "/assignments", "Accept", V2).json().get("partitions").size() == 1
                    && rest.get(b + "/assignments", "Accept", V2).json().get("partitions").size() == 1;
        }
        assertEquals(20, seen.size(), "every record read: " + all);
        assertEquals(20, all.size(), "no record read twice: " + all);
        JsonNode assignedA = rest.get(a + "/assignments", "Accept", V2).json().get("partitions");
        JsonNode assignedB = rest.get(b + "/assignments", "Accept", V2).json().get("partitions");
        assertEquals(1, assignedA.size(), "one partition each: " + assignedA + assignedB);
        assertEquals(1, assignedB.size(), "one partition each: " + assignedA + assignedB);
        ok204(rest.delete(a));
        ok204(rest.delete(b));
    }

    @Test
    void aRebalanceWhileOneInstanceLongPollsLetsTheNewMemberIn(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("rebalance"), 2);
        String group = KafkaCluster.uniqueTopic("rb");
        String a = path(create(rest, group, "{\"name\":\"a\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\","
                + "\"consumer.request.timeout.ms\":\"20000\"}"));
        ok204(rest.post(a + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        awaitAssigned(rest, a, 2); // joins, gets both partitions
        // a long-polls an empty topic while b joins the group: the rebalance completes inside a's poll
        CompletableFuture<Rest.Response> longPoll = CompletableFuture.supplyAsync(
                () -> rest.get(a + "/records", "Accept", BINARY_V2));
        String b = path(create(rest, group, "{\"name\":\"b\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}"));
        ok204(rest.post(b + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        awaitAssigned(rest, b, 1); // joins
        JsonNode assignedB = rest.get(b + "/assignments", "Accept", V2).json().get("partitions");
        assertEquals(1, assignedB.size(), "the new member got a partition while the other long-polled: " + assignedB);
        int partitionOfB = assignedB.get(0).get("partition").asInt();
        produce(kafka, topic, 0, 5);
        produce(kafka, topic, 1, 5);
        List<JsonNode> fromB = readAtLeast(rest, b, BINARY_V2, 5);
        assertEquals(5, fromB.size());
        assertTrue(fromB.stream().allMatch(r -> r.get("partition").asInt() == partitionOfB), fromB.toString());
        Rest.Response longPollAnswer = longPoll.get(60, TimeUnit.SECONDS);
        assertEquals(200, longPollAnswer.status());
        longPollAnswer.json().forEach(r -> assertTrue(r.get("partition").asInt() != partitionOfB,
                "the long poll answers only from its own partition: " + longPollAnswer.body()));
        ok204(rest.delete(a));
        ok204(rest.delete(b));
    }

    @Test
    void seekThenRead(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("seek"), 1);
        produce(kafka, topic, 0, 10);
        String instance = path(create(rest, KafkaCluster.uniqueTopic("seeker"), "{\"format\":\"binary\"}"));
        String partitions = "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}";
        ok204(rest.post(instance + "/assignments", V2, partitions));
        assertEquals(partitions, rest.get(instance + "/assignments", "Accept", V2).body());

        ok204(rest.post(instance + "/positions", V2,
                "{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":0,\"offset\":7}]}"));
        assertEquals(List.of(7L, 8L, 9L), offsets(readAtLeast(rest, instance, BINARY_V2, 3)));

        ok204(rest.post(instance + "/positions/beginning", V2, partitions));
        assertEquals(0L, offsets(readAtLeast(rest, instance, BINARY_V2, 1)).get(0));

        ok204(rest.post(instance + "/positions/end", V2, partitions));
        produce(kafka, topic, 0, 1);
        assertEquals(List.of(10L), offsets(readAtLeast(rest, instance, BINARY_V2, 1)));

        ok204(rest.post(instance + "/positions", V2, "{\"timestamps\":[{\"topic\":\"" + topic
                + "\",\"partition\":0,\"timestamp\":0}]}"));
        assertEquals(0L, offsets(readAtLeast(rest, instance, BINARY_V2, 1)).get(0));

        // A number is seconds since the epoch, as Confluent's proxy reads it: an hour from now is
        // past every record (as milliseconds it would be January 1970, the first record).
        long inAnHour = System.currentTimeMillis() / 1000 + 3600;
        ok204(rest.post(instance + "/positions", V2, "{\"timestamps\":[{\"topic\":\"" + topic
                + "\",\"partition\":0,\"timestamp\":" + inAnHour + "}]}"));
        produce(kafka, topic, 0, 1);
        assertEquals(List.of(11L), offsets(readAtLeast(rest, instance, BINARY_V2, 1)));
        ok204(rest.post(instance + "/positions", V2, "{}")); // nothing to seek, as Confluent answers it

        assertEquals(40903, rest.post(instance + "/positions", V2,
                "{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":5,\"offset\":0}]}").json().get("error_code").asInt(),
                "a partition that is not assigned");
        ok204(rest.delete(instance));
    }

    @Test
    void aCommitIsWhereANewInstanceOfTheGroupResumes(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("resume"), 1);
        produce(kafka, topic, 0, 10);
        String group = KafkaCluster.uniqueTopic("resumers");
        String first = path(create(rest, group,
                "{\"name\":\"first\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\",\"auto.commit.enable\":\"false\"}"));
        ok204(rest.post(first + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        assertTrue(readAtLeast(rest, first, BINARY_V2, 5).size() >= 5);
        // The client processed up to offset 4: it commits 4, and 5 is stored (the next to read).
        Rest.Response committed = rest.post(first + "/offsets", V2,
                "{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":0,\"offset\":4}]}");
        assertEquals(200, committed.status(), committed.body());
        assertEquals("[]", committed.body());
        Rest.Response stored = rest.send(rest.request(first + "/offsets", "Content-Type", V2, "Accept", V2)
                .method("GET", HttpRequest.BodyPublishers.ofString(
                        "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}")));
        assertEquals(200, stored.status(), stored.body());
        assertEquals("{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":0,\"offset\":5,\"metadata\":\"\"}]}",
                stored.body());
        ok204(rest.delete(first));

        String second = path(create(rest, group, "{\"name\":\"second\",\"format\":\"binary\"}"));
        ok204(rest.post(second + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        assertEquals(5L, offsets(readAtLeast(rest, second, BINARY_V2, 1)).get(0), "resumes exactly at the commit");
        ok204(rest.delete(second));
    }

    @Test
    void aClientSendingPlainJsonAndAcceptingV2GetsV2Semantics(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("plainjson"), 1);
        produce(kafka, topic, 0, 10);
        String group = KafkaCluster.uniqueTopic("plainjson");
        // fetch.min.bytes is a v2 field: a v1 create refuses it as unknown.
        Rest.Response created = rest.send(rest.request("/consumers/" + group, "Content-Type", "application/json",
                "Accept", V2).POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"plain\",\"format\":\"binary\","
                + "\"auto.offset.reset\":\"earliest\",\"auto.commit.enable\":\"false\",\"fetch.min.bytes\":1}")));
        assertEquals(200, created.status(), created.body());
        String instance = path(created.json().get("base_uri").asText());
        ok204(rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        assertEquals(10, readAtLeast(rest, instance, BINARY_V2, 10).size());

        // The client processed up to offset 4 of the 10 returned: 5 is stored, not 10 (v1's commit of everything).
        Rest.Response committed = rest.send(rest.request(instance + "/offsets", "Content-Type", "application/json",
                "Accept", V2).POST(HttpRequest.BodyPublishers.ofString(
                "{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":0,\"offset\":4}]}")));
        assertEquals(200, committed.status(), committed.body());
        assertEquals("[]", committed.body());
        Rest.Response stored = rest.send(rest.request(instance + "/offsets", "Content-Type", V2, "Accept", V2)
                .method("GET", HttpRequest.BodyPublishers.ofString(
                        "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}")));
        assertEquals("{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":0,\"offset\":5,\"metadata\":\"\"}]}",
                stored.body());
        ok204(rest.delete(instance));
    }

    @Test
    void aCommitWithOffsetsIsAV2CommitWhateverItsHeaders(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("genericcommit"), 1);
        produce(kafka, topic, 0, 10);
        String group = KafkaCluster.uniqueTopic("genericcommit");
        String instance = path(create(rest, group,
                "{\"name\":\"c\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\",\"auto.commit.enable\":\"false\"}"));
        ok204(rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        assertEquals(10, readAtLeast(rest, instance, BINARY_V2, 10).size());

        // What a JSON library sends (application/json, no Accept): headers of a v1 commit, which has
        // no body. The client processed up to offset 4 of the 10 returned: 5 is stored, not 10.
        String offsets = "{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":0,\"offset\":4}]}";
        for (String contentType : new String[] {"application/json", null}) {
            Rest.Response committed = rest.post(instance + "/offsets", contentType, offsets);
            assertEquals(200, committed.status(), committed.body());
            assertEquals("[]", committed.body());
            assertEquals(V2, committed.contentType(), "answered as the v2 commit it is");
            Rest.Response stored = rest.send(rest.request(instance + "/offsets", "Content-Type", V2, "Accept", V2)
                    .method("GET", HttpRequest.BodyPublishers.ofString(
                            "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}")));
            assertEquals("{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":0,\"offset\":5,\"metadata\":\"\"}]}",
                    stored.body());
        }

        // The JSON null is no body (JSON.stringify(null)), as Confluent's proxy reads it: v1's
        // commit of all that was returned, v2's too.
        Rest.Response v1 = rest.post(instance + "/offsets", "application/json", "null");
        assertEquals(200, v1.status(), v1.body());
        assertTrue(v1.body().contains("\"committed\":9"), v1.body());
        assertEquals("[]", rest.post(instance + "/offsets", V2, " null ").body());
        // An object naming no offsets is no body too (a client library that always sends one),
        // unless the headers name v2: a v2 client that left its offsets out commits nothing.
        Rest.Response emptyObject = rest.post(instance + "/offsets", "application/json", "{}");
        assertEquals(200, emptyObject.status(), emptyObject.body());
        assertTrue(emptyObject.body().contains("\"committed\":9"), emptyObject.body());
        assertEquals(200, rest.post(instance + "/offsets", "application/json", " { \"offsets\" : null } ").status());
        assertEquals(422, rest.post(instance + "/offsets", V2, "{\"offsets\":null}").status());
        assertEquals(422, rest.post(instance + "/offsets", V2, "{}").status());
        assertEquals(422, rest.post(instance + "/offsets", "application/json", "{\"offset\":[]}").status(),
                "a misspelt name is not no offsets");
        // A client naming v1 commits as v1 whatever its body holds (Confluent's v1 proxy ignores it).
        Rest.Response namedV1 = rest.post(instance + "/offsets", "application/vnd.kafka.v1+json", "{}");
        assertEquals(200, namedV1.status(), namedV1.body());
        assertTrue(namedV1.body().contains("\"committed\":9"), namedV1.body());
        ok204(rest.delete(instance));

        Rest.Response created = rest.post("/consumers/" + group, V2, "null", "Accept", V2);
        assertEquals(200, created.status(), created.body());
        assertTrue(created.json().get("instance_id").asText().startsWith("rest-consumer-"), created.body());
        ok204(rest.delete(path(created.json().get("base_uri").asText())));
    }

    @Test
    void readsTakeWhatClientsSendBesideTheNamedFormat(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("acceptlists"), 1);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 3; i++) {
                p.send(new ProducerRecord<>(topic, 0, null, ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8))).get();
            }
        }
        String instance = path(create(rest, KafkaCluster.uniqueTopic("acceptlists"),
                "{\"format\":\"json\",\"auto.offset.reset\":\"earliest\"}"));
        ok204(rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        // A named format beside application/json is that format (Confluent offers no generic type here).
        List<JsonNode> records = readAtLeast(rest, instance, JSON_V2 + ", application/json", 1);
        assertEquals(0, records.get(0).get("value").get("n").asInt(), records.toString());
        // Two Accept lines are one list; blank timeout= and max_bytes= are the defaults.
        ok204(rest.post(instance + "/positions/beginning", V2, "{\"partitions\":[]}"));
        Rest.Response twoLines = rest.get(instance + "/records?timeout=&max_bytes=", "Accept", "application/json",
                "Accept", JSON_V2);
        assertEquals(200, twoLines.status(), twoLines.body());
        assertEquals(JSON_V2, twoLines.contentType());
        assertEquals(0, twoLines.json().get(0).get("value").get("n").asInt(), twoLines.body());
        ok204(rest.delete(instance));
    }

    @Test
    void errorsOfV2CallsAnsweredBeforeTheirBodyIsReadAreTypedV2(Rest rest) {
        String group = KafkaCluster.uniqueTopic("errtypes");
        String instance = path(create(rest, group, "{\"format\":\"binary\"}"));
        Rest.Response noPartitions = rest.get(instance + "/offsets", "Accept", "*/*");
        assertEquals(404, noPartitions.status(), noPartitions.body());
        assertEquals(V2, noPartitions.contentType());
        Rest.Response unsupported = rest.post(instance + "/subscription", "text/plain", "x", "Accept", "*/*");
        assertEquals(415, unsupported.status(), unsupported.body());
        assertEquals(V2, unsupported.contentType());
        ok204(rest.delete(instance, "Content-Type", V2));
        Rest.Response gone = rest.delete(instance, "Content-Type", V2);
        assertEquals(404, gone.status(), gone.body());
        assertEquals(40403, gone.json().get("error_code").asInt());
        assertEquals(V2, gone.contentType());
        // A v1 client's delete keeps v1's type (its Accept names an embedded v1 type: never a 406).
        Rest.Response goneV1 = rest.delete(instance, "Accept", "application/vnd.kafka.binary.v1+json");
        assertEquals(404, goneV1.status(), goneV1.body());
        assertEquals("application/vnd.kafka.v1+json", goneV1.contentType());
    }

    @Test
    void autoCommitIsOnUnlessTurnedOffAsInKafka(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("autocommit"), 1);
        produce(kafka, topic, 0, 5);
        for (String autoCommit : List.of("", ",\"auto.commit.enable\":\"false\"")) {
            String group = KafkaCluster.uniqueTopic("ac");
            String first = path(create(rest, group,
                    "{\"name\":\"first\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"" + autoCommit + "}"));
            ok204(rest.post(first + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L), offsets(readAtLeast(rest, first, BINARY_V2, 5)).subList(0, 5));
            ok204(rest.delete(first)); // leaving the group commits what was returned, when auto-commit is on
            String second = path(create(rest, group,
                    "{\"name\":\"second\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}"));
            ok204(rest.post(second + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
            long resumesAt = autoCommit.isEmpty() ? 5 : 0;
            if (autoCommit.isEmpty()) {
                produce(kafka, topic, 0, 1); // offset 5, so that there is something to resume at
            }
            assertEquals(resumesAt, offsets(readAtLeast(rest, second, BINARY_V2, 1)).get(0),
                    "auto.commit.enable " + (autoCommit.isEmpty() ? "by default" : "false"));
            ok204(rest.delete(second));
        }
    }

    /**
     * Auto-commit commits a read's records once the client asks again, as Kafka's own commits
     * what a poll returned at the next poll: an answer lost on its way (a client that failed
     * while reading it) is read again by the group, not skipped.
     */
    @Test
    void autoCommitCommitsAReadsRecordsOnceTheClientAsksAgain(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("confirm"), 1);
        produce(kafka, topic, 0, 5);
        String instance = path(create(rest, KafkaCluster.uniqueTopic("confirm"),
                "{\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}"));
        ok204(rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L), offsets(readAtLeast(rest, instance, BINARY_V2, 5)));
        assertTrue(committed(rest, instance, topic) < 5, "the last answer is not committed before the client asks again");

        Rest.Response again = rest.get(instance + "/records?timeout=100", "Accept", BINARY_V2);
        assertEquals(200, again.status(), again.body());
        assertEquals("[]", again.body());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // the commit is sent without waiting for it
        while (committed(rest, instance, topic) != 5 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(5, committed(rest, instance, topic));
        ok204(rest.delete(instance));
    }

    /** The instance's committed offset of {@code topic}'s partition 0, or -1. */
    private static long committed(Rest rest, String instance, String topic) {
        Rest.Response stored = rest.send(rest.request(instance + "/offsets", "Content-Type", V2, "Accept", V2)
                .method("GET", HttpRequest.BodyPublishers.ofString(
                        "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}")));
        assertEquals(200, stored.status(), stored.body());
        JsonNode offsets = stored.json().get("offsets");
        return offsets.isEmpty() ? -1 : offsets.get(0).get("offset").asLong();
    }

    @Test
    void aPatternSubscriptionPicksUpATopicCreatedLater(Rest rest, KafkaCluster kafka) throws Exception {
        String prefix = KafkaCluster.uniqueTopic("pattern");
        String firstTopic = kafka.createTopic(prefix + "-a", 1);
        produce(kafka, firstTopic, 0, 1);
        String instance = path(create(rest, KafkaCluster.uniqueTopic("patterned"),
                "{\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}"));
        ok204(rest.post(instance + "/subscription", V2, "{\"topic_pattern\":\"" + prefix + "-.*\"}"));
        assertEquals(1, readAtLeast(rest, instance, BINARY_V2, 1).size());
        assertEquals("{\"topics\":[\"" + firstTopic + "\"]}", rest.get(instance + "/subscription", "Accept", V2).body());

        String later = kafka.createTopic(prefix + "-b", 1);
        produce(kafka, later, 0, 2);
        List<JsonNode> fromLater = readAtLeast(rest, instance, BINARY_V2, 2);
        assertEquals(2, fromLater.size(), "records of the topic created later: " + fromLater);
        assertEquals(later, fromLater.get(0).get("topic").asText());
        ok204(rest.delete(instance + "/subscription"));
        assertEquals("{\"topics\":[]}", rest.get(instance + "/subscription", "Accept", V2).body());
        ok204(rest.delete(instance));
    }

    @Test
    void aReadWhosePatternStopsMatchingWaitsForMatchesRatherThanFailing(Rest rest, KafkaCluster kafka) throws Exception {
        // The pattern's only topic is deleted while a read waits (8 s, the instance's own wait):
        // the pattern then matches nothing, and the read answers [] at its end, as a read of a
        // pattern that matches nothing yet does, not 409 from a consumer subscribed to nothing.
        String prefix = KafkaCluster.uniqueTopic("unmatched");
        String only = kafka.createTopic(prefix + "-a", 1);
        produce(kafka, only, 0, 1);
        String instance = path(create(rest, KafkaCluster.uniqueTopic("unmatched"),
                "{\"format\":\"binary\",\"auto.offset.reset\":\"earliest\",\"consumer.request.timeout.ms\":8000}"));
        ok204(rest.post(instance + "/subscription", V2, "{\"topic_pattern\":\"" + prefix + "-.*\"}"));
        assertEquals(1, readAtLeast(rest, instance, BINARY_V2, 1).size());
        java.util.concurrent.CompletableFuture<Rest.Response> waiting = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> rest.get(instance + "/records", "Accept", BINARY_V2));
        Thread.sleep(1000);
        kafka.admin().deleteTopics(List.of(only)).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
        Rest.Response r = waiting.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(200, r.status(), r.body());
        assertEquals("[]", r.body());
        ok204(rest.delete(instance));
    }

    @Test
    void v2RecordsCarryTheirHeaders(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("headers"), 1);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, 0, 1_700_000_000_000L, null,
                    "v".getBytes(StandardCharsets.UTF_8));
            r.headers().add("trace-id", "abc".getBytes(StandardCharsets.UTF_8));
            r.headers().add("empty", null);
            p.send(r).get();
        }
        String instance = path(create(rest, KafkaCluster.uniqueTopic("h"), "{\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}"));
        ok204(rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        JsonNode record = readAtLeast(rest, instance, BINARY_V2, 1).get(0);
        assertEquals(1_700_000_000_000L, record.get("timestamp").asLong());
        assertEquals("[{\"key\":\"trace-id\",\"value\":\"YWJj\"},{\"key\":\"empty\",\"value\":null}]",
                record.get("headers").toString());
        ok204(rest.delete(instance));
    }

    @Test
    void v2ErrorsUseConfluentsCodes(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("errors2"), 1);
        String group = KafkaCluster.uniqueTopic("errs");
        String instance = path(create(rest, group, "{\"name\":\"i\",\"format\":\"binary\"}"));
        assertEquals(40903, rest.get(instance + "/records", "Accept", BINARY_V2).json().get("error_code").asInt(),
                "neither subscribed nor assigned");
        ok204(rest.post(instance + "/assignments", V2, "{\"partitions\":[{\"topic\":\"" + topic + "\",\"partition\":0}]}"));
        Rest.Response mixed = rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}");
        assertEquals(409, mixed.status());
        assertEquals(40903, mixed.json().get("error_code").asInt());
        assertEquals(40601, rest.get(instance + "/records", "Accept", JSON_V2).json().get("error_code").asInt());
        assertEquals(409, rest.post("/consumers/" + group, V2, "{\"name\":\"i\"}").status());
        Rest.Response badFetch = rest.post("/consumers/" + group, V2, "{\"fetch.min.bytes\":\"-7\"}");
        assertEquals(422, badFetch.status());
        assertEquals(40001, badFetch.json().get("error_code").asInt());
        assertEquals(415, rest.post("/consumers/" + group, V2, "{\"format\":\"avro\"}").status());
        assertEquals(40403, rest.get("/consumers/" + group + "/instances/nobody/subscription", "Accept", V2).json()
                .get("error_code").asInt());
        assertEquals(422, rest.post(instance + "/subscription", V2, "{\"topic_pattern\":null}").status(),
                "neither topics nor a pattern");
        assertEquals(422, rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic
                + "\"],\"topic_pattern\":\"x.*\"}").status(), "both topics and a pattern");
        ok204(rest.delete(instance + "/subscription")); // drops the assignment too, as Kafka's unsubscribe
        assertEquals(0, rest.get(instance + "/assignments", "Accept", V2).json().get("partitions").size());
        ok204(rest.post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}"));
        ok204(rest.post(instance + "/subscription", V2, "{\"topics\":[]}")); // Kafka's consumer: unsubscribe
        assertEquals(0, rest.get(instance + "/subscription", "Accept", V2).json().get("topics").size());
        ok204(rest.delete(instance));
    }

    @Test
    void v1MaxBytesIsAStrictCapSoAHeartbeatReadLosesNothing(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("heartbeat"), 1);
        produce(kafka, topic, 0, 3);
        String group = KafkaCluster.uniqueTopic("hb");
        Rest.Response created = rest.post("/consumers/" + group, "application/vnd.kafka.v1+json",
                "{\"name\":\"i\",\"auto.offset.reset\":\"smallest\"}");
        assertEquals(200, created.status());
        String read = "/consumers/" + group + "/instances/i/topics/" + topic;
        // A client polls with max_bytes=1 as a heartbeat and throws the answer away, then commits.
        for (int i = 0; i < 3; i++) {
            assertEquals("[]", rest.get(read + "?max_bytes=1").body());
        }
        assertEquals("[]", rest.post("/consumers/" + group + "/instances/i/offsets", "application/vnd.kafka.v1+json", "").body(),
                "nothing was returned, so nothing is committed");
        Rest.Response all = rest.get(read);
        assertEquals(3, all.json().size(), "every record is still there: " + all.body());
        assertEquals(204, rest.delete("/consumers/" + group + "/instances/i").status());
    }
}
