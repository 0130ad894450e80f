package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import io.portico.proxy.testing.FakeTicker;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Processes;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.SseClient;
import io.portico.proxy.testing.TestPortico;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Server-Sent Events against the real broker, read by an SSE client on the JDK's HttpClient:
 * consumer-instance streams (v1 and v2) with records in order and their positions as ids, live
 * records, a commit and a seek while streaming, one stream per instance, resuming by
 * {@code Last-Event-ID} with nothing lost or repeated, no expiry while streaming, the end of the
 * stream on delete and on shutdown; streams of a partition by offset (v1, v3) and then live;
 * errors before and after a stream starts; heartbeats; a slow reader holding bounded memory;
 * HTTP/2.
 */
@ExtendWith(PorticoExtension.class)
class ServerSentEventsIT {
    private static final String V2 = "application/vnd.kafka.v2+json";
    private static final String BINARY_V2 = "application/vnd.kafka.binary.v2+json";
    private static final Duration WAIT = Duration.ofSeconds(30);

    // ---- helpers

    /** A v1 instance of {@code format} in {@code group}, reading from the start: its path. */
    private static String v1Instance(Rest rest, String group, String format) {
        Rest.Response created = rest.post("/consumers/" + group, "application/vnd.kafka.v1+json",
                "{\"format\":\"" + format + "\",\"auto.offset.reset\":\"smallest\"}");
        assertEquals(200, created.status(), created.body());
        return URI.create(created.json().get("base_uri").asText()).getRawPath();
    }

    private static String v2Instance(Rest rest, String group, String topic) {
        Rest.Response created = rest.post("/consumers/" + group, V2,
                "{\"format\":\"binary\",\"auto.offset.reset\":\"earliest\",\"auto.commit.enable\":\"false\"}", "Accept", V2);
        assertEquals(200, created.status(), created.body());
        String base = URI.create(created.json().get("base_uri").asText()).getRawPath();
        Rest.Response subscribed = rest.post(base + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}");
        assertEquals(204, subscribed.status(), subscribed.body());
        return base;
    }

    private static void produce(KafkaCluster kafka, String topic, int partition, int from, int to) throws Exception {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = from; i < to; i++) {
                p.send(new ProducerRecord<>(topic, partition, null, ("v" + i).getBytes(StandardCharsets.UTF_8))).get();
            }
        }
    }

    private static JsonNode json(String text) {
        try {
            return Json.mapper().readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    private static String value(SseClient.Event e) {
        return new String(Base64.getDecoder().decode(json(e.data()).get("value").asText()), StandardCharsets.UTF_8);
    }

    private static List<String> ids(List<SseClient.Event> events) {
        return events.stream().map(SseClient.Event::id).toList();
    }

    private static List<String> ids(String topic, int partition, int from, int to) {
        List<String> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            out.add(topic + "/" + partition + "/" + i);
        }
        return out;
    }

    /** The events of one partition, in the order they came. */
    private static List<String> ofPartition(List<SseClient.Event> events, String topic, int partition) {
        return ids(events).stream().filter(id -> id.startsWith(topic + "/" + partition + "/")).toList();
    }

    /** {@code records} records of 10 KiB into partition 0 of {@code topic}. */
    private static void produceLarge(KafkaCluster kafka, String topic, int records) throws Exception {
        byte[] value = new byte[10 * 1024];
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < records; i++) {
                p.send(new ProducerRecord<>(topic, 0, null, value));
            }
            p.flush();
        }
    }

    /** A connection to {@code base} with a small receive buffer, so that a client that stops reading stops the server soon. */
    private static Socket smallWindow(URI base) throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(32 * 1024);
        socket.connect(new java.net.InetSocketAddress(base.getHost(), base.getPort()));
        socket.setSoTimeout(30_000);
        return socket;
    }

    private static void assertNoErrorEvent(List<SseClient.Event> events) {
        for (SseClient.Event e : events) {
            assertNull(e.event(), "no error event: " + e);
        }
    }

    // ---- consumer instances

    @Test
    void aV2InstanceStreamsItsRecordsInOrderThenLiveWhileCommitsAndSeeksGoOnAndItsDeleteEndsTheStream(Rest rest,
            KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-v2"), 2);
        produce(kafka, topic, 0, 0, 5);
        produce(kafka, topic, 1, 0, 5);
        String instance = v2Instance(rest, "sse-v2-group-" + topic, topic);

        try (SseClient stream = SseClient.open(rest.uri(instance + "/records"))) {
            assertEquals(200, stream.status(), stream.errorBody());
            assertEquals("text/event-stream", stream.headers().firstValue("content-type").orElse(null));
            assertEquals("no-cache", stream.headers().firstValue("cache-control").orElse(null));
            List<SseClient.Event> first = stream.take(10, WAIT);
            assertEquals(ids(topic, 0, 0, 5), ofPartition(first, topic, 0));
            assertEquals(ids(topic, 1, 0, 5), ofPartition(first, topic, 1));
            for (SseClient.Event e : first) {
                JsonNode record = json(e.data());
                assertEquals(e.id(), record.get("topic").asText() + "/" + record.get("partition").asInt() + "/"
                        + record.get("offset").asLong(), "the id is the record's position");
                assertEquals("v" + record.get("offset").asLong(), value(e));
                assertTrue(record.get("timestamp").asLong() > 0, "v2's shape: " + e.data());
            }

            // Live: a record produced while streaming arrives.
            produce(kafka, topic, 0, 5, 6);
            SseClient.Event live = stream.next(WAIT);
            assertNotNull(live, "a record produced while streaming arrives");
            assertEquals(topic + "/0/5", live.id());

            // A commit (of what the stream wrote, here all it handed out: the client read it) works while the stream is open.
            Rest.Response commit = rest.post(instance + "/offsets", V2, "", "Accept", V2);
            assertEquals(200, commit.status(), commit.body());
            Map<TopicPartition, OffsetAndMetadata> committed = kafka.admin()
                    .listConsumerGroupOffsets("sse-v2-group-" + topic).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            assertEquals(6L, committed.get(new TopicPartition(topic, 0)).offset());
            assertEquals(5L, committed.get(new TopicPartition(topic, 1)).offset());

            // So does a seek: the stream goes on from there.
            Rest.Response seek = rest.post(instance + "/positions", V2,
                    "{\"offsets\":[{\"topic\":\"" + topic + "\",\"partition\":1,\"offset\":2}]}");
            assertEquals(204, seek.status(), seek.body());
            assertEquals(ids(topic, 1, 2, 5), ids(stream.take(3, WAIT)));

            // One stream per instance; plain reads are refused while it streams.
            try (SseClient second = SseClient.open(rest.uri(instance + "/records"))) {
                assertEquals(409, second.status());
                assertEquals(40903, json(second.errorBody()).get("error_code").asInt(), second.errorBody());
            }
            Rest.Response read = rest.get(instance + "/records", "Accept", BINARY_V2);
            assertEquals(409, read.status(), read.body());

            // Deleting the instance ends the stream cleanly.
            assertEquals(204, rest.delete(instance).status());
            assertTrue(stream.awaitEnd(WAIT), "the stream ends when its instance is deleted");
            assertNoErrorEvent(stream.pending());
        }
    }

    @Test
    void aV1InstanceStreamSubscribesAsAFirstReadInTheInstancesFormatAndARecordItCannotRenderEndsItWithAnErrorEvent(
            Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-v1"), 1);
        kafka.produce(topic, 0, null, "{\"n\":0}".getBytes(StandardCharsets.UTF_8));
        kafka.produce(topic, 0, "\"k\"".getBytes(StandardCharsets.UTF_8), "{\n  \"n\": 1\n}".getBytes(StandardCharsets.UTF_8));
        kafka.produce(topic, 0, null, "not json".getBytes(StandardCharsets.UTF_8));
        String instance = v1Instance(rest, "sse-v1-group-" + topic, "json");

        // Asking for another format by name is 40601 before anything streams.
        try (SseClient wrong = SseClient.open(rest.uri(instance + "/topics/" + topic),
                "Accept", "text/event-stream, application/vnd.kafka.binary.v1+json")) {
            assertEquals(406, wrong.status());
            assertEquals(40601, json(wrong.errorBody()).get("error_code").asInt());
        }
        try (SseClient stream = SseClient.open(rest.uri(instance + "/topics/" + topic))) {
            assertEquals(200, stream.status(), stream.errorBody());
            List<SseClient.Event> events = stream.take(3, WAIT);
            assertEquals(3, events.size(), events.toString());
            assertEquals(topic + "/0/0", events.get(0).id());
            assertEquals("{\"key\":null,\"value\":{\"n\":0},\"partition\":0,\"offset\":0}", events.get(0).data());
            assertEquals("{\"key\":\"k\",\"value\":{\n  \"n\": 1\n},\"partition\":0,\"offset\":1}", events.get(1).data(),
                    "a value written on several lines comes back exactly");
            SseClient.Event error = events.get(2);
            assertEquals("error", error.event());
            assertNull(error.id());
            assertEquals(50002, json(error.data()).get("error_code").asInt(), error.data());
            assertTrue(stream.awaitEnd(WAIT), "an error event ends the stream");
        }
        rest.delete(instance);
    }

    @Test
    void aV1InstanceStreamEndsWith40901WhenTheInstanceIsSubscribedToOtherTopicsThroughV2(Rest rest, KafkaCluster kafka)
            throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-v1-sub"), 1);
        String other = kafka.createTopic(KafkaCluster.uniqueTopic("sse-v1-other"), 1);
        kafka.produce(topic, 0, null, "a".getBytes(StandardCharsets.UTF_8));
        String instance = v1Instance(rest, "sse-v1-sub-group-" + topic, "binary");
        try (SseClient stream = SseClient.open(rest.uri(instance + "/topics/" + topic))) {
            assertEquals(200, stream.status(), stream.errorBody());
            List<SseClient.Event> first = stream.take(1, WAIT);
            assertEquals(List.of(topic + "/0/0"), ids(first));
            Rest.Response subscribed = rest.post(instance + "/subscription", "application/vnd.kafka.v2+json",
                    "{\"topics\":[\"" + other + "\"]}");
            assertEquals(204, subscribed.status(), subscribed.body());
            kafka.produce(other, 0, null, "b".getBytes(StandardCharsets.UTF_8));
            SseClient.Event next = stream.next(WAIT);
            assertNotNull(next, "the stream says why it ends");
            assertEquals("error", next.event(), "not a record of " + other + " under " + topic + "'s URL: " + next);
            assertEquals(40901, json(next.data()).get("error_code").asInt(), next.data());
            assertTrue(stream.awaitEnd(WAIT), "an error event ends the stream");
        }
        rest.delete(instance);
    }

    @Test
    void resumingAnInstanceStreamWithLastEventIdLosesAndRepeatsNothing(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-resume"), 1);
        produce(kafka, topic, 0, 0, 20);
        String instance = v2Instance(rest, "sse-resume-group-" + topic, topic);
        String last;
        try (SseClient first = SseClient.open(rest.uri(instance + "/records"))) {
            assertEquals(200, first.status(), first.errorBody());
            List<SseClient.Event> got = first.take(5, WAIT);
            assertEquals(ids(topic, 0, 0, 5), ids(got));
            last = got.get(4).id();
            // The connection breaks after the fifth event: whatever else was sent is lost with it.
        }
        try (SseClient resumed = SseClient.open(rest.uri(instance + "/records"), "Last-Event-ID", last)) {
            assertEquals(200, resumed.status(), resumed.errorBody());
            assertEquals(ids(topic, 0, 5, 20), ids(resumed.take(15, WAIT)));
            produce(kafka, topic, 0, 20, 21);
            assertEquals(topic + "/0/20", resumed.next(WAIT).id());
        }
        // A commit commits what the resumed stream wrote (here all it handed out: the client read it).
        assertEquals(200, rest.post(instance + "/offsets", V2, "", "Accept", V2).status());
        assertEquals(21L, kafka.admin().listConsumerGroupOffsets("sse-resume-group-" + topic)
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS).get(new TopicPartition(topic, 0)).offset());
        rest.delete(instance);
    }

    @Test
    void aStreamingInstanceDoesNotExpireAndExpiresWhenIdleAfterItsStream(KafkaCluster kafka) throws Exception {
        FakeTicker ticker = new FakeTicker();
        try (TestPortico portico = TestPortico.start(kafka, Map.of("consumer.instance.timeout.ms", "60000"), ticker)) {
            Rest rest = portico.rest();
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-expiry"), 1);
            String group = "sse-expiry-group-" + topic;
            String instance = v2Instance(rest, group, topic);
            String name = instance.substring(instance.lastIndexOf('/') + 1);
            try (SseClient stream = SseClient.open(rest.uri(instance + "/records"))) {
                assertEquals(200, stream.status(), stream.errorBody());
                ticker.advance(Duration.ofMinutes(10));
                portico.portico().consumers().cleanUp();
                assertEquals(200, rest.get(instance + "/subscription", "Accept", V2).status(), "alive while it streams");
                produce(kafka, topic, 0, 0, 1);
                assertEquals(topic + "/0/0", stream.next(WAIT).id());
            }
            // The stream is gone once Portico notices the connection closed (its next write fails).
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (portico.portico().consumers().get(group, name).isStreaming() && System.nanoTime() < deadline) {
                produce(kafka, topic, 0, 1, 2); // writes that find the connection closed
                Thread.sleep(200);
            }
            assertFalse(portico.portico().consumers().get(group, name).isStreaming());
            ticker.advance(Duration.ofMinutes(2));
            portico.portico().consumers().cleanUp();
            assertEquals(404, rest.get(instance + "/subscription", "Accept", V2).status(), "idle since the stream ended");
        }
    }

    // ---- partitions

    @Test
    void aPartitionStreamWhoseTopicIsDeletedEndsWithAnErrorEvent(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-deleted"), 1);
        produce(kafka, topic, 0, 0, 2);
        try (SseClient stream = SseClient.open(rest.uri("/topics/" + topic + "/partitions/0/messages?offset=0"))) {
            assertEquals(200, stream.status(), stream.errorBody());
            assertEquals(ids(topic, 0, 0, 2), ids(stream.take(2, WAIT)));
            kafka.admin().deleteTopics(List.of(topic)).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
            SseClient.Event ended = stream.next(WAIT);
            assertEquals("error", ended == null ? null : ended.event(), "the stream ends, not waits for good");
            assertEquals(40401, json(ended.data()).get("error_code").asInt(), ended.data());
            assertTrue(stream.awaitEnd(WAIT));
        }
    }

    @Test
    void aPartitionStreamsFromAnOffsetThenLiveAndResumesRightAfterLastEventId(Rest rest, KafkaCluster kafka)
            throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-partition"), 1);
        produce(kafka, topic, 0, 0, 10);
        String path = "/topics/" + topic + "/partitions/0/messages";
        Rest.Response plain = rest.get(path + "?offset=3&count=7", "Accept", "application/vnd.kafka.binary.v1+json");
        assertEquals(200, plain.status(), plain.body());
        try (SseClient stream = SseClient.open(rest.uri(path + "?offset=3"))) {
            assertEquals(200, stream.status(), stream.errorBody());
            List<SseClient.Event> events = stream.take(7, WAIT);
            assertEquals(ids(topic, 0, 3, 10), ids(events));
            for (int i = 0; i < events.size(); i++) {
                assertEquals(plain.json().get(i), json(events.get(i).data()), "each event is the record as the read renders it");
            }
            produce(kafka, topic, 0, 10, 11);
            assertEquals(topic + "/0/10", stream.next(WAIT).id(), "then live");
        }
        try (SseClient resumed = SseClient.open(rest.uri(path + "?offset=0"), "Last-Event-ID", topic + "/0/7")) {
            assertEquals(ids(topic, 0, 8, 11), ids(resumed.take(3, WAIT)), "right after Last-Event-ID, which wins over offset");
            assertNull(resumed.next(Duration.ofMillis(500)), "nothing repeated");
        }
        try (SseClient resumed = SseClient.open(rest.uri(path + "?last_event_id=" + topic + "/0/9"))) {
            assertEquals(ids(topic, 0, 10, 11), ids(resumed.take(1, WAIT)), "last_event_id for clients without headers");
        }
        try (SseClient json = SseClient.open(rest.uri(path + "?offset=0&format=json"))) {
            assertEquals(200, json.status());
            SseClient.Event error = json.next(WAIT);
            assertEquals("error", error.event(), "v0 is not JSON: " + error);
            assertEquals(50002, json(error.data()).get("error_code").asInt());
            assertTrue(json.awaitEnd(WAIT));
        }
    }

    @Test
    void aStreamAskedToStartAtARecordItCouldNotShowIsAJsonErrorSoAnEventSourceStopsReconnecting(Rest rest,
                                                                                             KafkaCluster kafka)
            throws Exception {
        // After the error event that ended its stream, an EventSource reconnected with the id of
        // the record before, every few seconds, to meet the same record, for as long as its page
        // was open: a JSON error (not a 200 stream) is what ends its reconnecting.
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-unshown"), 1);
        kafka.produce(topic, 0, null, "{\"n\":0}".getBytes(StandardCharsets.UTF_8));
        kafka.produce(topic, 0, null, "not json".getBytes(StandardCharsets.UTF_8));
        String path = "/topics/" + topic + "/partitions/0/messages?format=json";
        try (SseClient first = SseClient.open(rest.uri(path + "&offset=0"))) {
            assertEquals(200, first.status(), first.errorBody());
            assertEquals(topic + "/0/0", first.next(WAIT).id());
            SseClient.Event error = first.next(WAIT);
            assertEquals("error", error.event(), "the second record is not JSON: " + error);
            assertEquals(50002, json(error.data()).get("error_code").asInt());
            assertTrue(first.awaitEnd(WAIT));
        }
        for (String resume : List.of("Last-Event-ID", "offset")) { // as an EventSource reconnects, and anew
            try (SseClient again = resume.equals("offset") ? SseClient.open(rest.uri(path + "&offset=1"))
                    : SseClient.open(rest.uri(path + "&offset=0"), "Last-Event-ID", topic + "/0/0")) {
                assertEquals(500, again.status(), resume + ": " + again.errorBody());
                assertEquals(50002, json(again.errorBody()).get("error_code").asInt(), again.errorBody());
                assertTrue(again.errorBody().contains("offset 1"), again.errorBody());
            }
        }
        try (SseClient binary = SseClient.open(rest.uri("/topics/" + topic + "/partitions/0/messages?offset=1"))) {
            assertEquals(200, binary.status(), "shown in another format: " + binary.errorBody());
            assertEquals(topic + "/0/1", binary.next(WAIT).id());
        }

        // Written in transactions: a commit marker after each record, at offsets no event shows.
        String gaps = kafka.createTopic(KafkaCluster.uniqueTopic("sse-unshown-tx"), 1);
        try (KafkaProducer<byte[], byte[]> tx = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers(),
                "transactional.id", "unshown-" + gaps), new ByteArraySerializer(), new ByteArraySerializer())) {
            tx.initTransactions();
            for (String value : List.of("{\"n\":0}", "not json")) { // offsets 0 and 2, markers at 1 and 3
                tx.beginTransaction();
                tx.send(new ProducerRecord<>(gaps, 0, null, value.getBytes(StandardCharsets.UTF_8))).get();
                tx.commitTransaction();
            }
        }
        String gapsPath = "/topics/" + gaps + "/partitions/0/messages?format=json&offset=0";
        try (SseClient first = SseClient.open(rest.uri(gapsPath))) {
            assertEquals(gaps + "/0/0", first.next(WAIT).id());
            assertEquals("error", first.next(WAIT).event());
        }
        try (SseClient again = SseClient.open(rest.uri(gapsPath), "Last-Event-ID", gaps + "/0/0")) {
            assertEquals(500, again.status(), "a resume after 0 starts at the marker, 1: " + again.errorBody());
            assertTrue(again.errorBody().contains("offset 2"), again.errorBody());
        }
    }

    @Test
    void aRecordBehindAnOpenTransactionIsNotYetVisibleNotPastTheLogEnd(Rest rest, KafkaCluster kafka)
            throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-open-tx"), 1);
        String path = "/topics/" + topic + "/partitions/0/messages";
        try (KafkaProducer<byte[], byte[]> tx = new KafkaProducer<>(Map.of("bootstrap.servers", kafka.bootstrapServers(),
                "transactional.id", "open-" + topic), new ByteArraySerializer(), new ByteArraySerializer())) {
            tx.initTransactions();
            tx.beginTransaction();
            tx.send(new ProducerRecord<>(topic, 0, null, "in the transaction".getBytes(StandardCharsets.UTF_8))).get();
            tx.flush(); // offset 0, its transaction open: read_committed readers' end stays at 0
            assertEquals(1, kafka.produce(topic, 0, null, "acknowledged".getBytes(StandardCharsets.UTF_8)).offset());

            Rest.Response plain = rest.get(path + "?offset=1", "Accept", "application/vnd.kafka.binary.v1+json");
            assertEquals(200, plain.status(), "in the log, not visible yet: " + plain.body());
            assertEquals(0, plain.json().size(), plain.body());
            assertEquals(404, rest.get(path + "?offset=3", "Accept", "application/vnd.kafka.binary.v1+json").status(),
                    "past the log's end (2) still is");
            try (SseClient stream = SseClient.open(rest.uri(path + "?offset=1"))) {
                assertEquals(200, stream.status(), stream.errorBody());
                tx.commitTransaction();
                assertEquals(topic + "/0/1", stream.next(WAIT).id(), "there once the transaction ends");
            }
        }
    }

    @Test
    void errorsBeforeAStreamStartsAreJsonErrors(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-errors"), 1);
        produce(kafka, topic, 0, 0, 2);
        String path = "/topics/" + topic + "/partitions/0/messages";
        Map<String, Integer> expected = Map.of(
                "/topics/" + topic + "-missing/partitions/0/messages?offset=0", 40401,
                "/topics/" + topic + "/partitions/3/messages?offset=0", 40402,
                path + "?offset=3", 40406,
                path, 400,
                path + "?offset=0&last_event_id=garbage", 400,
                path + "?offset=0&last_event_id=other/0/1", 400,
                path + "?offset=0&format=avro", 415,
                "/consumers/none/instances/none/records", 40403,
                "/v3/clusters/not-this-one/topics/" + topic + "/partitions/0/records?offset=0", 404);
        for (Map.Entry<String, Integer> e : expected.entrySet()) {
            try (SseClient stream = SseClient.open(rest.uri(e.getKey()))) {
                JsonNode body = json(stream.errorBody());
                int code = body.get("error_code").asInt();
                assertEquals((int) e.getValue(), code, e.getKey() + ": " + stream.errorBody());
                assertEquals(code > 999 ? code / 100 : code, stream.status(), e.getKey());
            }
        }
    }

    @Test
    void aV3PartitionStreamCarriesKafkaRecords(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-v3"), 1);
        kafka.produce(topic, 0, "k".getBytes(StandardCharsets.UTF_8), "hello".getBytes(StandardCharsets.UTF_8));
        String cluster = kafka.admin().describeCluster().clusterId().get(30, TimeUnit.SECONDS);
        try (SseClient stream = SseClient.open(rest.uri("/v3/clusters/" + cluster + "/topics/" + topic
                + "/partitions/0/records?offset=0&type=STRING"))) {
            assertEquals(200, stream.status(), stream.errorBody());
            SseClient.Event e = stream.next(WAIT);
            assertEquals(topic + "/0/0", e.id());
            JsonNode record = json(e.data());
            assertEquals("KafkaRecord", record.get("kind").asText());
            assertEquals(cluster, record.get("cluster_id").asText());
            assertEquals("STRING", record.get("value").get("type").asText());
            assertEquals("hello", record.get("value").get("data").asText());
            assertEquals("k", record.get("key").get("data").asText());
        }
    }

    // ---- heartbeats, shutdown, slow readers, HTTP/2

    @Test
    void quietStreamsHaveHeartbeatsAndShutdownEndsEveryStreamCleanly(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-quiet"), 1);
        // Reads that wait far longer than the shutdown's grace (10 s): each stream's fetch is
        // ended at shutdown, not waited for.
        TestPortico portico = TestPortico.start(kafka, Map.of("sse.heartbeat.ms", "200",
                "consumer.request.timeout.ms", "120000"));
        Rest rest = portico.rest();
        String instance = v2Instance(rest, "sse-quiet-group-" + topic, topic);
        try (SseClient partition = SseClient.open(rest.uri("/topics/" + topic + "/partitions/0/messages?offset=0"));
             SseClient consumer = SseClient.open(rest.uri(instance + "/records"))) {
            assertEquals(200, partition.status(), partition.errorBody());
            assertEquals(200, consumer.status(), consumer.errorBody());
            long deadline = System.nanoTime() + WAIT.toNanos();
            while ((partition.comments().stream().filter("heartbeat"::equals).count() < 2
                    || consumer.comments().stream().filter("heartbeat"::equals).count() < 2) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(partition.comments().stream().filter("heartbeat"::equals).count() >= 2, partition.comments().toString());
            assertTrue(consumer.comments().stream().filter("heartbeat"::equals).count() >= 2, consumer.comments().toString());

            portico.close();
            assertTrue(partition.awaitEnd(WAIT), "shutdown ends a partition stream");
            assertTrue(consumer.awaitEnd(WAIT), "shutdown ends an instance's stream");
            assertTrue(partition.endedCleanly(), "the partition stream's last chunk came");
            assertTrue(consumer.endedCleanly(), "the instance stream's last chunk came");
            assertNoErrorEvent(partition.pending());
            assertNoErrorEvent(consumer.pending());
        } finally {
            portico.close();
        }
    }

    /**
     * A client that drops a quiet stream gives back its place, its consumer and its instance at
     * once, not at the next write: with an hour between heartbeats, a stream nothing is written
     * to would otherwise hold {@code sse.streams.max} (and the instance, 409) for an hour.
     */
    @Test
    void aDroppedQuietStreamFreesItsPlaceAndItsInstanceAtOnce(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-dropped"), 1);
        produce(kafka, topic, 0, 0, 1);
        try (TestPortico portico = TestPortico.start(kafka, Map.of("sse.heartbeat.ms", "3600000", "sse.streams.max", "1"))) {
            Rest rest = portico.rest();
            URI partition = rest.uri("/topics/" + topic + "/partitions/0/messages?offset=0");
            HttpClient h1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
            try (SseClient first = SseClient.open(h1, partition)) {
                assertEquals(200, first.status(), first.errorBody());
                assertEquals(topic + "/0/0", first.next(WAIT).id());
                try (SseClient second = SseClient.open(h1, partition)) {
                    assertEquals(503, second.status(), "one stream at most (sse.streams.max=1)");
                }
            } // dropped: quiet, nothing more is written to it
            try (SseClient again = openOnceFree(h1, partition)) {
                assertEquals(topic + "/0/0", again.next(WAIT).id(), "the dropped stream's place is free");
            }

            String instance = v2Instance(rest, "sse-dropped-group-" + topic, topic);
            try (SseClient first = SseClient.open(h1, rest.uri(instance + "/records"))) {
                assertEquals(200, first.status(), first.errorBody());
                assertEquals(topic + "/0/0", first.next(WAIT).id());
            }
            try (SseClient again = openOnceFree(h1, rest.uri(instance + "/records"))) {
                produce(kafka, topic, 0, 1, 2);
                assertEquals(topic + "/0/1", again.next(WAIT).id(), "the instance streams again, from where it was");
            }
            assertNothingInFlight(portico);
        }
    }

    @Test
    void anInstanceWhoseStreamsClientLeftMidPollStreamsToItsNextClientAtOnce(KafkaCluster kafka) throws Exception {
        // A quiet stream's read waits the request timeout (two minutes here): a client that leaves
        // meanwhile frees the instance at once, not when that read ends, so a page reloaded (a new
        // EventSource, no Last-Event-ID, to which a 409 is final) streams again.
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-reload"), 1);
        produce(kafka, topic, 0, 0, 1);
        try (TestPortico portico = TestPortico.start(kafka, Map.of("sse.heartbeat.ms", "3600000",
                "consumer.request.timeout.ms", "120000"))) {
            Rest rest = portico.rest();
            HttpClient h1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
            String instance = v2Instance(rest, "sse-reload-group-" + topic, topic);
            try (SseClient first = SseClient.open(h1, rest.uri(instance + "/records"))) {
                assertEquals(200, first.status(), first.errorBody());
                assertEquals(topic + "/0/0", first.next(WAIT).id());
            } // left while its next read waits for records
            try (SseClient again = openOnceFree(h1, rest.uri(instance + "/records"))) {
                produce(kafka, topic, 0, 1, 2);
                assertEquals(topic + "/0/1", again.next(WAIT).id(), "the instance streams again, from where it was");
            }
        }
    }

    /**
     * Over HTTP/2 (Node.js's client here: the JDK's can neither reset a stream for sure nor close
     * a connection), a stream the client resets on a connection it keeps is freed within a
     * second or so, and a connection that closes frees its streams at once, however quiet.
     */
    @Test
    void http2StreamsAreFreedWhenResetOrWhenTheirConnectionCloses(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        assumeTrue(Processes.onPath("node"), "Node.js is not on the PATH");
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-dropped-h2"), 1);
        produce(kafka, topic, 0, 0, 1);
        try (TestPortico portico = TestPortico.start(kafka, Map.of("sse.heartbeat.ms", "3600000", "sse.streams.max", "1"))) {
            Rest rest = portico.rest();
            String path = "/topics/" + topic + "/partitions/0/messages?offset=0&format=binary";
            // h2c by prior knowledge: a stream reset after its first event, then streams on the same
            // connection until one is admitted (the place is one) and brings its event; then the
            // connection is closed with that stream open.
            String script = """
                    const http2 = require('http2');
                    const session = http2.connect(process.argv[2]);
                    const path = process.argv[3];
                    let tries = 0;
                    function open(first) {
                      const req = session.request({':path': path, 'accept': 'text/event-stream'});
                      req.setEncoding('utf8');
                      let got = '';
                      req.on('response', h => {
                        if (h[':status'] !== 200) {
                          if (++tries > 300) { console.log('never admitted'); process.exit(1); }
                          setTimeout(() => open(false), 100);
                        }
                      });
                      req.on('data', d => {
                        got += d;
                        if (!got.includes('id: ')) return;
                        if (first) { console.log('reset'); got = ''; req.close(http2.constants.NGHTTP2_CANCEL); open(false); }
                        else { console.log('admitted after the reset'); session.destroy(); process.exit(0); }
                      });
                    }
                    open(true);
                    """;
            Path file = Files.writeString(dir.resolve("drop.js"), script);
            Processes.Result node = Processes.run(dir, Map.of(), WAIT.multipliedBy(2), List.of("node", file.toString(),
                    rest.uri("/").toString(), path));
            assertEquals(0, node.exitCode(), node.output());
            assertTrue(node.output().contains("admitted after the reset"), node.output());
            try (SseClient again = openOnceFree(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build(), rest.uri(path))) {
                assertEquals(topic + "/0/0", again.next(WAIT).id(), "the closed connection's stream is gone");
            }
            assertNothingInFlight(portico);
        }
    }

    /** Every exchange ended, dropped streams' too (each would hold a max.concurrent.requests place): waits up to WAIT. */
    private static void assertNothingInFlight(TestPortico portico) throws InterruptedException {
        com.codahale.metrics.Gauge<?> inFlight = portico.portico().metrics().getGauges().get("portico.http.in.flight");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (((Number) inFlight.getValue()).intValue() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(0, ((Number) inFlight.getValue()).intValue(), "requests still in flight");
    }

    /** Opens a stream, again while the answer is 503 or 409 (a place or an instance still taken), for up to WAIT. */
    private static SseClient openOnceFree(HttpClient client, URI uri) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            SseClient stream = SseClient.open(client, uri);
            if (stream.status() == 200 || (stream.status() != 503 && stream.status() != 409) || System.nanoTime() > deadline) {
                assertEquals(200, stream.status(), stream.errorBody());
                return stream;
            }
            stream.close();
            Thread.sleep(100);
        }
    }

    @Test
    void aCommitDuringAStalledStreamCoversWhatWasWrittenAndWhatWasNotIsReadAgainOnceTheClientLeaves(KafkaCluster kafka)
            throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-unwritten"), 1);
        int records = 3000;
        produceLarge(kafka, topic, records); // 30 MB: far more than a connection's buffers hold
        String group = "sse-unwritten-group-" + topic;
        TopicPartition tp = new TopicPartition(topic, 0);
        try (TestPortico portico = TestPortico.start(kafka, Map.of())) {
            Rest rest = portico.rest();
            var registry = portico.portico().metrics();
            String instance = v2Instance(rest, group, topic);
            URI base = rest.base();
            long handedOut;
            try (Socket socket = smallWindow(base)) {
                socket.getOutputStream().write(("GET " + instance + "/records HTTP/1.1\r\n"
                        + "Host: x\r\nAccept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                assertTrue(socket.getInputStream().read(new byte[16 * 1024]) > 0);
                // The client reads no more (30 MB wait in Kafka): the stream stops once the
                // connection's buffers are full, with a batch handed out and not written (it holds
                // its room in the responses budget until written).
                long before = -1;
                handedOut = registry.getMeters().get("portico.consume.records").getCount();
                for (int i = 0; i < 300 && (handedOut != before
                        || (Long) registry.getGauges().get("portico.memory.responses.used").getValue() == 0); i++) {
                    Thread.sleep(200);
                    before = handedOut;
                    handedOut = registry.getMeters().get("portico.consume.records").getCount();
                }
                assertTrue(handedOut > 0 && handedOut < records, "the stream stopped part way: " + handedOut);

                Rest.Response commit = rest.post(instance + "/offsets", V2, "", "Accept", V2);
                assertEquals(200, commit.status(), commit.body());
            }
            OffsetAndMetadata written = kafka.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS).get(tp);
            long committed = written == null ? 0 : written.offset(); // none: nothing was written
            assertTrue(committed < handedOut, "the commit covers what was written, not the batch the client never got: "
                    + committed + " of " + handedOut + " handed out");

            // The client left: the instance reads on from the first record its stream did not write.
            Rest.Response read = rest.get(instance + "/records?max_bytes=20000", "Accept", BINARY_V2);
            for (int i = 0; i < 100 && read.status() == 409; i++) { // until Portico sees the connection closed
                Thread.sleep(100);
                read = rest.get(instance + "/records?max_bytes=20000", "Accept", BINARY_V2);
            }
            for (int i = 0; i < 20 && read.status() == 200 && read.json().isEmpty(); i++) {
                read = rest.get(instance + "/records?max_bytes=20000", "Accept", BINARY_V2);
            }
            assertEquals(200, read.status(), read.body());
            assertFalse(read.json().isEmpty(), read.body());
            assertEquals(committed, read.json().get(0).get("offset").asLong(),
                    "on from the first record not written, which the commit stopped before");
        }
    }

    @Test
    void aSlowReaderHoldsBoundedMemoryAndGetsEveryRecordInTheEnd(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-slow"), 1);
        int records = 3000;
        produceLarge(kafka, topic, records); // 30 MB: far more than a connection's buffers hold
        try (TestPortico portico = TestPortico.start(kafka, Map.of())) {
            var metrics = portico.portico().metrics().getGauges();
            URI base = portico.rest().base();
            try (Socket socket = smallWindow(base)) {
                socket.getOutputStream().write(("GET /topics/" + topic + "/partitions/0/messages?offset=0 HTTP/1.1\r\n"
                        + "Host: x\r\nAccept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                InputStream in = socket.getInputStream();
                byte[] buf = new byte[16 * 1024];
                int firstRead = in.read(buf);
                assertTrue(firstRead > 0);
                // The client stops reading (30 MB wait in Kafka): what Portico holds for it stays bounded.
                long responsesPeak = 0;
                long consumersPeak = 0;
                for (int i = 0; i < 20; i++) {
                    Thread.sleep(100);
                    responsesPeak = Math.max(responsesPeak, (Long) metrics.get("portico.memory.responses.used").getValue());
                    consumersPeak = Math.max(consumersPeak, (Long) metrics.get("portico.memory.consumers.used").getValue());
                }
                assertTrue(responsesPeak <= 4L << 20, "at most about one batch waits to be written: " + responsesPeak);
                assertTrue(consumersPeak <= 3L << 20, "one consumer and what it fetched ahead: " + consumersPeak);
                // It reads again, slowly at first: every record comes, in order.
                long next = 0;
                long read = firstRead;
                String carry = new String(buf, 0, firstRead, StandardCharsets.ISO_8859_1);
                while (next < records) {
                    int n = in.read(buf);
                    assertTrue(n > 0, "the stream goes on");
                    read += n;
                    carry += new String(buf, 0, n, StandardCharsets.ISO_8859_1);
                    int at;
                    while ((at = carry.indexOf("id: " + topic + "/0/")) >= 0) {
                        int end = carry.indexOf('\n', at);
                        if (end < 0) {
                            break;
                        }
                        long offset = Long.parseLong(carry.substring(at + ("id: " + topic + "/0/").length(), end));
                        assertEquals(next, offset, "in order, none lost or repeated");
                        next++;
                        carry = carry.substring(end);
                    }
                    if (read < 2L << 20) {
                        Thread.sleep(5);
                    }
                }
                assertEquals(records, next);
            }
        }
    }

    @Test
    void streamsWorkOverHttp2(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("sse-h2"), 1);
        produce(kafka, topic, 0, 0, 3);
        HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(10)).build();
        String instance = v2Instance(rest, "sse-h2-group-" + topic, topic);
        try (SseClient partition = SseClient.open(h2, rest.uri("/topics/" + topic + "/partitions/0/messages?offset=0"));
             SseClient consumer = SseClient.open(h2, rest.uri(instance + "/records"))) {
            assertEquals(HttpClient.Version.HTTP_2, partition.version());
            assertEquals(HttpClient.Version.HTTP_2, consumer.version());
            assertEquals(ids(topic, 0, 0, 3), ids(partition.take(3, WAIT)));
            assertEquals(ids(topic, 0, 0, 3), ids(consumer.take(3, WAIT)));
            produce(kafka, topic, 0, 3, 4);
            assertEquals(topic + "/0/3", partition.next(WAIT).id());
            assertEquals(topic + "/0/3", consumer.next(WAIT).id());
        }
        rest.delete(instance);
    }
}
