package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import io.portico.proxy.testing.HoldAcks;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Confluent v3 produce end to end against the real broker: a single record with key, headers and
 * timestamp; a stream of 100,000 records in one chunked request, checked record by record in
 * Kafka; reports arriving while the request is still being sent (full duplex); a stream cut
 * mid-way, whose reported records are all in Kafka; per-record errors in place; whole-request
 * errors; the record size limit and a stalled stream ending the stream; records:batch.
 */
@ExtendWith(PorticoExtension.class)
class V3RecordsIT {

    private static String clusterId(KafkaCluster kafka) throws Exception {
        return kafka.admin().describeCluster().clusterId().get(30, TimeUnit.SECONDS);
    }

    private static String records(KafkaCluster kafka, String topic) throws Exception {
        return "/v3/clusters/" + clusterId(kafka) + "/topics/" + topic + "/records";
    }

    private static String stringRecord(String value) {
        return "{\"value\":{\"type\":\"STRING\",\"data\":\"" + value + "\"}}";
    }

    private static List<JsonNode> reports(String body) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : body.split("\r\n")) {
            if (!line.isBlank()) {
                out.add(Json.mapper().readTree(line));
            }
        }
        return out;
    }

    private static String utf8(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void aStreamOfJunkEndsAfterAHundredValuesInARowThatAreNotRecords(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3junk"), 1);
        String body = "{\"value\":{\"type\":\"STRING\",\"data\":\"first\"}}" + ",".repeat(1000)
                + "{\"value\":{\"type\":\"STRING\",\"data\":\"after\"}}";
        Rest.Response r = rest.post(records(kafka, topic), "application/json", body);
        assertEquals(200, r.status(), r.body());
        List<JsonNode> reports = reports(r.body());
        assertEquals(102, reports.size(), "the record, a hundred one-byte values, and the end: not a report per comma");
        assertEquals(200, reports.get(0).get("error_code").asInt());
        for (JsonNode report : reports.subList(1, 102)) {
            assertEquals(400, report.get("error_code").asInt(), report.toString());
        }
        assertTrue(reports.get(101).get("message").asText().contains("in a row"), reports.get(101).toString());
        assertEquals(List.of("first"), kafka.readToEnd(topic, "read_committed").stream()
                .map(rec -> new String(rec.value(), StandardCharsets.UTF_8)).toList(), "nothing after the junk is produced");
    }

    @Test
    void aBodyThatStartsWithAByteOrderMarkWritesEachRecordOnce(Rest rest, KafkaCluster kafka) throws Exception {
        // As a file saved as UTF-8 by some Windows tools and sent with curl --data-binary @file.
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3bom"), 1);
        String mark = String.valueOf((char) 0xFEFF);
        Rest.Response r = rest.post(records(kafka, topic), "application/json", mark + stringRecord("A") + stringRecord("B"));
        assertEquals(200, r.status(), r.body());
        List<JsonNode> reports = reports(r.body());
        assertEquals(2, reports.size(), r.body());
        assertEquals(List.of(0L, 1L), reports.stream().map(j -> j.get("offset").asLong()).toList(), r.body());
        assertEquals(List.of("A", "B"), kafka.readToEnd(topic, "read_uncommitted").stream().map(c -> utf8(c.value())).toList());
    }

    @Test
    void aRecordOlderThanItsTopicTakesIsRefusedAloneBeforeKafkaSeesIt(Rest rest, KafkaCluster kafka) throws Exception {
        // The topic keeps records of the last day only (its own setting; the broker's has no
        // bound): a record two days old would fail the whole batch it shares with others.
        String topic = KafkaCluster.uniqueTopic("v3stale");
        kafka.admin().createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1)
                .configs(Map.of("message.timestamp.before.max.ms", "86400000")))).all().get(30, TimeUnit.SECONDS);
        String stale = java.time.Instant.now().minus(java.time.Duration.ofDays(2)).toString();
        String body = "{\"value\":{\"type\":\"STRING\",\"data\":\"old\"},\"timestamp\":\"" + stale + "\"}";
        JsonNode report = null;
        for (int i = 0; i < 50; i++) { // its settings are looked up on the first produce to it
            Rest.Response r = rest.post(records(kafka, topic), "application/json", body);
            report = reports(r.body()).get(0);
            if (report.get("message") != null && report.get("message").asText().contains("message.timestamp.before.max.ms")) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals(400, report.get("error_code").asInt(), report.toString());
        assertTrue(report.get("message").asText().contains("message.timestamp.before.max.ms"), report.toString());
    }

    @Test
    void aSingleRecordIsProducedWithItsKeyHeadersAndTimestamp(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3single"), 2);
        Rest.Response r = rest.post(records(kafka, topic), "application/json", """
                {"partition_id":1,"headers":[{"name":"trace","value":"YWJj"},{"name":"empty","value":null}],
                 "key":{"type":"BINARY","data":"a2V5"},"value":{"type":"JSON","data":{"n":1.50}},
                 "timestamp":"2026-12-01T10:15:30.123Z"}""");
        assertEquals(200, r.status(), r.body());
        assertEquals("application/json", r.contentType());
        assertEquals(String.valueOf(r.body().getBytes(StandardCharsets.UTF_8).length), r.header("Content-Length"),
                "a single record's answer comes whole, with its length, not chunked");
        assertTrue(r.body().endsWith("}\r\n"), r.body());
        List<JsonNode> reports = reports(r.body());
        assertEquals(1, reports.size(), r.body());
        JsonNode report = reports.get(0);
        assertEquals(200, report.get("error_code").asInt());
        assertEquals(clusterId(kafka), report.get("cluster_id").asText());
        assertEquals(topic, report.get("topic_name").asText());
        assertEquals(1, report.get("partition_id").asInt());
        assertEquals(0, report.get("offset").asLong());
        assertEquals("2026-12-01T10:15:30.123Z", report.get("timestamp").asText());
        assertEquals("{\"type\":\"BINARY\",\"size\":3}", report.get("key").toString());
        assertEquals("{\"type\":\"JSON\",\"size\":10}", report.get("value").toString());

        ConsumerRecord<byte[], byte[]> stored = kafka.read(topic, 1).get(0);
        assertEquals(1, stored.partition());
        assertEquals("key", utf8(stored.key()));
        assertEquals("{\"n\":1.50}", utf8(stored.value()));
        assertEquals(java.time.Instant.parse("2026-12-01T10:15:30.123Z").toEpochMilli(), stored.timestamp());
        Header[] headers = stored.headers().toArray();
        assertEquals(2, headers.length);
        assertEquals("trace", headers[0].key());
        assertEquals("abc", utf8(headers[0].value()));
        assertEquals("empty", headers[1].key());
        assertNull(headers[1].value());

        // A null key is size -1 (Kafka's serialized size of none, as Confluent reports it), an empty value 0.
        Rest.Response nulls = rest.post(records(kafka, topic), "application/json",
                "{\"partition_id\":0,\"key\":{\"type\":\"BINARY\",\"data\":null},\"value\":{\"type\":\"STRING\",\"data\":\"\"}}");
        assertEquals(200, nulls.status(), nulls.body());
        JsonNode nullReport = reports(nulls.body()).get(0);
        assertEquals("{\"type\":\"BINARY\",\"size\":-1}", nullReport.get("key").toString());
        assertEquals("{\"type\":\"STRING\",\"size\":0}", nullReport.get("value").toString());
    }

    @Test
    void aReadByOffsetNamingNoCountGetsTheServersLimitWhenItIsBelowTheDefault(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3few"), 1);
        for (int i = 0; i < 8; i++) {
            kafka.produce(topic, 0, null, ("r" + i).getBytes(StandardCharsets.UTF_8));
        }
        try (TestPortico p = TestPortico.start(kafka, Map.of("read.count.max", "5"))) {
            Rest.Response r = p.rest().get(records(kafka, topic).replace("/records", "/partitions/0/records") + "?offset=0");
            assertEquals(200, r.status(), r.body());
            assertEquals(5, r.json().get("data").size(), r.body());
        }
    }

    @Test
    void aStreamOf100000RecordsIsReportedInOrderAndEveryRecordIsInKafka(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3stream"), 1);
        int n = 100_000;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            body.write(stringRecord("r" + i).getBytes(StandardCharsets.UTF_8));
            body.write('\n');
        }
        byte[] bytes = body.toByteArray();
        // A body of unknown length: the client sends it chunked, as a stream.
        HttpRequest request = rest.request(records(kafka, topic), "Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes))).build();
        HttpResponse<java.util.stream.Stream<String>> response = java.net.http.HttpClient.newHttpClient()
                .send(request, HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, response.statusCode());
        List<String> lines = response.body().filter(l -> !l.isBlank()).collect(Collectors.toList());
        assertEquals(n, lines.size());
        for (int i = 0; i < n; i++) {
            JsonNode report = Json.mapper().readTree(lines.get(i));
            assertEquals(200, report.get("error_code").asInt(), lines.get(i));
            assertEquals(i, report.get("offset").asLong(), "reports come in the order of the records");
        }
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, n);
        assertEquals(n, stored.size());
        for (ConsumerRecord<byte[], byte[]> c : stored) {
            assertEquals("r" + c.offset(), utf8(c.value()));
        }
    }

    @Test
    void eachReportArrivesWhileTheRequestIsStillBeingSent(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3duplex"), 1);
        try (RawStream stream = RawStream.open(rest, records(kafka, topic))) {
            for (int i = 0; i < 5; i++) {
                stream.sendChunk(stringRecord("d" + i));
                // The next record is sent only once this one's report is in: a server that
                // answered at the end of the body would never send it (the read times out).
                JsonNode report = stream.awaitReports(i + 1).get(i);
                assertEquals(200, report.get("error_code").asInt());
                assertEquals(i, report.get("offset").asLong());
            }
            stream.endBody();
            assertEquals(5, stream.readToEnd().size());
        }
    }

    @Test
    void aStreamCutMidwayKeepsEveryRecordItReported(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3cut"), 1);
        List<JsonNode> reported;
        try (RawStream stream = RawStream.open(rest, records(kafka, topic))) {
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < 2000; i++) {
                batch.append(stringRecord("c" + i)).append('\n');
                if (i % 100 == 99) {
                    stream.sendChunk(batch.toString());
                    batch.setLength(0);
                }
            }
            reported = stream.awaitReports(500);
            stream.reset(); // the client goes away without ending its body
        }
        assertTrue(rest.get("/").status() == 200, "Portico still serves");
        Map<Long, String> inKafka = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> c : kafka.read(topic, reported.size())) {
            inKafka.put(c.offset(), utf8(c.value()));
        }
        for (int i = 0; i < reported.size(); i++) {
            JsonNode report = reported.get(i);
            assertEquals(200, report.get("error_code").asInt(), report.toString());
            assertEquals("c" + i, inKafka.get(report.get("offset").asLong()), "reported record " + i + " is in Kafka");
        }
    }

    @Test
    void aBadRecordIsReportedInPlaceAndTheStreamGoesOn(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3errors"), 2);
        Rest.Response r = rest.post(records(kafka, topic), "application/json", String.join("\n",
                stringRecord("first"),
                "{\"value\":{\"type\":\"BINARY\",\"data\":\"not base64!\"}}",
                "{\"partition_id\":7,\"value\":{\"type\":\"STRING\",\"data\":\"x\"}}",
                "{\"value\":{\"data\":\"no type\"}}",
                "{\"value\": }",
                // A lone surrogate in a header's name would corrupt the batch it shared with others.
                "{\"value\":{\"type\":\"STRING\",\"data\":\"y\"},\"headers\":[{\"name\":\"\\ud800\",\"value\":null}]}",
                // The broker refuses a timestamp over an hour ahead, and with it the whole batch.
                "{\"value\":{\"type\":\"STRING\",\"data\":\"z\"},\"timestamp\":\"9999-01-01T00:00:00Z\"}",
                stringRecord("last")));
        assertEquals(200, r.status(), r.body());
        List<JsonNode> reports = reports(r.body());
        assertEquals(8, reports.size(), r.body());
        assertEquals(200, reports.get(0).get("error_code").asInt());
        assertEquals("{\"error_code\":400,\"message\":\"Bad Request: data=\\\"not base64!\\\" is not a valid base64 string.\"}",
                reports.get(1).toString());
        assertEquals("{\"error_code\":40402,\"message\":\"Partition not found.\"}", reports.get(2).toString());
        assertEquals(422, reports.get(3).get("error_code").asInt());
        assertEquals(400, reports.get(4).get("error_code").asInt());
        assertEquals(400, reports.get(5).get("error_code").asInt());
        assertTrue(reports.get(5).get("message").asText().contains("lone surrogate"), reports.get(5).toString());
        assertEquals(400, reports.get(6).get("error_code").asInt());
        assertTrue(reports.get(6).get("message").asText().contains("log.message.timestamp.after.max.ms"),
                reports.get(6).toString());
        assertEquals(200, reports.get(7).get("error_code").asInt());
        assertEquals(List.of("first", "last"), kafka.read(topic, 2).stream().map(c -> utf8(c.value())).sorted()
                .toList());
    }

    @Test
    void aJsonArrayOfRecordsIsAStreamToo(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3array"), 1);
        Rest.Response r = rest.post(records(kafka, topic), "application/json",
                "[" + stringRecord("a") + "," + stringRecord("b") + "]");
        assertEquals(List.of(0L, 1L), reports(r.body()).stream().map(n -> n.get("offset").asLong()).toList());
    }

    @Test
    void wholeRequestErrorsUseTheErrorEnvelope(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3whole"), 1);
        Rest.Response plain = rest.post(records(kafka, topic), "text/plain", stringRecord("x"));
        assertEquals(415, plain.status());
        assertEquals(415, plain.json().get("error_code").asInt());
        Rest.Response cluster = rest.post("/v3/clusters/no-such-cluster/topics/" + topic + "/records",
                "application/json", stringRecord("x"));
        assertEquals(404, cluster.status());
        assertEquals("Cluster no-such-cluster cannot be found.", cluster.json().get("message").asText());
        Rest.Response empty = rest.post(records(kafka, topic), "application/json", "  ");
        assertEquals(422, empty.status(), empty.body());
        assertEquals(42206, empty.json().get("error_code").asInt());
        assertEquals("Payload error. Request body is empty. Data is required.", empty.json().get("message").asText());
        Rest.Response badName = rest.post(records(kafka, "bad%20name"), "application/json", stringRecord("x"));
        assertEquals(400, badName.status(), badName.body());
    }

    @Test
    void aRecordOverTheSizeLimitEndsTheStreamAfterTheEarlierReports(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.max.bytes", "4096"))) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3big"), 1);
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
                stream.sendChunk(stringRecord("small") + "\n" + stringRecord("x".repeat(5000)) + "\n" + stringRecord("never"));
                List<JsonNode> reports = stream.readToEnd();
                assertEquals(2, reports.size(), reports.toString());
                assertEquals(200, reports.get(0).get("error_code").asInt());
                assertEquals(400, reports.get(1).get("error_code").asInt());
                assertTrue(reports.get(1).get("message").asText().contains("4096 bytes"), reports.toString());
                assertTrue(stream.closedByServer(), "the rest of the body is not read: the connection closes");
            }
            assertEquals(List.of("small"), kafka.read(topic, 1).stream().map(c -> utf8(c.value())).toList());
        }
    }

    @Test
    void aRecordStillArrivingHoldsOnlyWhatTheRequestsBudgetHasRoomFor(KafkaCluster kafka) throws Exception {
        // A record of up to the size limit sent a little at a time is held between its chunks:
        // that memory is counted against memory.requests.max.bytes (1 MiB here), and a record
        // that outgrows what the budget has room for ends the stream with a 503 report.
        try (TestPortico p = TestPortico.start(kafka, Map.of("memory.requests.max.bytes", "1048576",
                "request.body.max.bytes", "8388608"))) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3held"), 1);
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
                stream.sendChunk(stringRecord("first") + "\n");
                assertEquals(200, stream.awaitReports(1).get(0).get("error_code").asInt());
                stream.sendChunk("{\"value\":{\"type\":\"BINARY\",\"data\":\"");
                String part = "A".repeat(64 * 1024);
                try {
                    for (int i = 0; i < 64; i++) { // 4 MiB of one record, within its size limit
                        stream.sendChunk(part);
                    }
                } catch (IOException closed) {
                    // the server ended the stream and closed the connection while this was sent
                }
                List<JsonNode> reports = stream.readToEnd();
                assertEquals(2, reports.size(), reports.toString());
                assertEquals(503, reports.get(1).get("error_code").asInt(), reports.toString());
                assertTrue(reports.get(1).get("message").asText().contains("memory.requests.max.bytes"),
                        reports.toString());
            }
            assertEquals(List.of("first"), kafka.readToEnd(topic, "read_committed").stream().map(c -> utf8(c.value())).toList());
            Rest.Response after = p.rest().post(records(kafka, topic), "application/json", stringRecord("after"));
            assertEquals(200, after.status(), "the stream's memory was given back: " + after.body());
        }
    }

    @Test
    void shutdownEndsAnOpenStreamCleanlyOnceTheReportsOfWhatItReadAreWritten(KafkaCluster kafka) throws Exception {
        // A graceful period far longer than the stream's socket timeout: only ending the stream
        // (not the period running out) lets this read end.
        TestPortico p = TestPortico.start(kafka, Map.of("shutdown.graceful.ms", "120000"));
        Thread closing = new Thread(p::close, "closing");
        try {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3shutdown"), 1);
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic));
                 RawStream quiet = RawStream.open(p.rest(), records(kafka, topic));
                 RawStream firstHalf = RawStream.open(p.rest(), records(kafka, topic))) {
                stream.sendChunk(stringRecord("one") + "\n" + stringRecord("two") + "\n");
                assertEquals(2, stream.awaitReports(2).size());
                // Part of a record on a stream with reports, and on one with none yet: shutdown
                // comes while each is still arriving (the parser holds it, counted as requests memory).
                // 300 bytes each (over the parser's smallest buffer), so both are in once 600 are counted.
                com.codahale.metrics.Gauge<?> used = p.portico().metrics().getGauges().get("portico.memory.requests.used");
                awaitAtMost(used, 0, "the reported records' memory given back");
                String part = stringRecord("three" + "x".repeat(400)).substring(0, 300);
                stream.sendChunk(part);
                firstHalf.sendChunk(part);
                awaitAtLeast(used, 2L * part.length(), "both parts received");
                closing.start();
                List<JsonNode> reports = stream.readToEnd();
                assertTrue(stream.endedCleanly(), "the response ends with its last chunk, not a dropped connection");
                assertEquals(List.of(200, 200, 503), reports.stream().map(r -> r.get("error_code").asInt()).toList(),
                        "the record cut short by the shutdown is reported not produced: " + reports);
                for (RawStream unanswered : List.of(quiet, firstHalf)) {
                    String answer = new String(unanswered.socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                    assertTrue(answer.startsWith("HTTP/1.1 503") && answer.contains("shutting down"),
                            "a stream with no report yet is answered 503, never an empty 200: " + answer);
                }
            }
            assertEquals(List.of("one", "two"), kafka.read(topic, 2).stream().map(c -> utf8(c.value())).toList());
        } finally {
            closing.join(60_000);
            p.close();
        }
    }

    @Test
    void aClientThatReadsNoneOfItsReportsHoldsOnlyItsShareOfTheResponsesBudget(KafkaCluster kafka) throws Exception {
        // 128 MiB for responses: a stream's unwritten reports may hold an eighth (16 MiB, some
        // 65,000 reports), then its body is not read further. 300,000 records sent, none of the
        // answer read: the stream stops well before its end (the share, and what the sockets'
        // buffers take: some 20,000 reports per 4 MiB), where without the share the whole
        // stream's reports (some 77 MB counted) would fit the budget and keep other answers waiting.
        try (TestPortico p = TestPortico.start(kafka, Map.of("memory.responses.max.bytes", "134217728"))) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3share"), 1);
            java.net.Socket socket = new java.net.Socket();
            socket.setReceiveBufferSize(16 * 1024); // little room for the answer on this side
            socket.connect(new java.net.InetSocketAddress(p.rest().base().getHost(), p.rest().base().getPort()));
            int count = 300_000;
            String path = records(kafka, topic);
            Thread sender = new Thread(() -> sendRecordsUnread(socket, path, null, count), "v3share-sender");
            sender.start();
            try {
                long last = awaitNoGrowth(kafka, topic); // 3 s without growth: the stream waits
                assertTrue(last > 0 && last < 250_000, "records produced before the stream waited for its reader: " + last);
                Rest.Response read = p.rest().get("/topics/" + topic + "/partitions/0/messages?offset=0&count=100",
                        "Accept", "application/vnd.kafka.binary.v1+json");
                assertEquals(200, read.status(), "other answers find room: " + read.body());
            } finally {
                socket.close();
                sender.join(30_000);
            }
        }
    }

    @Test
    void recordsOfAClientThatLeftStayCountedUntilKafkaAnswersForThem(KafkaCluster kafka) throws Exception {
        // The producer's acknowledgements of this topic's records wait (a producer interceptor
        // holds them) until the test lets them through. The client leaves meanwhile; what its
        // records hold stays counted against the requests budget until Kafka has answered for
        // them (a budget freed at once would let others' bodies in on top of memory still in
        // use), then it is given back.
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3left"), 1);
        HoldAcks.hold(topic);
        try (TestPortico p = TestPortico.start(kafka, Map.of("producer.interceptor.classes", HoldAcks.class.getName()))) {
            try {
                heldAcksOfALeftClient(p, kafka, topic);
            } finally {
                HoldAcks.release(); // before Portico closes: its producer's close waits for them
            }
        }
    }

    @Test
    void aChunkOfManySmallRecordsPutsNoMoreInFlightThanTheLimit(KafkaCluster kafka) throws Exception {
        // One chunk of 1,000 records, 10 allowed unacknowledged, Kafka's answers held: 10 go to
        // the producer and the rest wait unparsed in the chunk (not 1,000 in flight at once, the
        // whole chunk taken as it came); once Kafka answers, every record is reported in order.
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3inflight"), 1);
        HoldAcks.hold(topic);
        try (TestPortico p = TestPortico.start(kafka, Map.of("producer.interceptor.classes", HoldAcks.class.getName(),
                "streaming.unacknowledged.max.records", "10"))) {
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
                StringBuilder chunk = new StringBuilder();
                for (int i = 0; i < 1000; i++) {
                    chunk.append(stringRecord("s" + i));
                }
                stream.sendChunk(chunk.toString());
                stream.endBody();
                awaitSent(10);
                Thread.sleep(500); // time for more to be sent, were the limit not kept
                assertEquals(10, HoldAcks.sent(), "records with the producer while Kafka answers none");
                HoldAcks.release();
                List<JsonNode> reports = stream.readToEnd();
                assertEquals(1000, reports.size());
                for (int i = 0; i < reports.size(); i++) {
                    assertEquals(200, reports.get(i).get("error_code").asInt(), reports.get(i).toString());
                    assertEquals(i, reports.get(i).get("offset").asLong());
                }
            } finally {
                HoldAcks.release();
            }
        }
    }

    @Test
    void shutdownReportsTheRecordsReadButNotYetSentAsNotProduced(KafkaCluster kafka) throws Exception {
        // 10 records in flight (Kafka's answers held), the rest of the first chunk read and
        // waiting for room; Portico shuts down meanwhile: every record read is reported, those
        // sent with their offsets, the waiting ones 503 (not produced), in order.
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3downwait"), 1);
        HoldAcks.hold(topic);
        TestPortico p = TestPortico.start(kafka, Map.of("producer.interceptor.classes", HoldAcks.class.getName(),
                "streaming.unacknowledged.max.records", "10", "shutdown.graceful.ms", "120000"));
        Thread closing = new Thread(p::close, "closing");
        try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
            StringBuilder chunk = new StringBuilder();
            for (int i = 0; i < 1000; i++) {
                chunk.append(stringRecord("s" + i));
            }
            stream.sendChunk(chunk.toString());
            awaitSent(10);
            assertEquals(10, HoldAcks.sent());
            com.codahale.metrics.Gauge<?> used = p.portico().metrics().getGauges().get("portico.memory.requests.used");
            long holding = ((Number) used.getValue()).longValue(); // the 10 in flight and the chunk the rest wait in
            closing.start();
            awaitAtMost(used, holding - 1000, "the waiting records reported and their chunk let go of");
            HoldAcks.release();
            List<Integer> codes = stream.readToEnd().stream().map(r -> r.get("error_code").asInt()).toList();
            int sent = codes.indexOf(503);
            assertTrue(sent >= 10, "the records sent come first: " + codes);
            assertTrue(codes.subList(sent, codes.size()).stream().allMatch(c -> c == 503), "then only 503s: " + codes);
            // Besides one record the chunk may cut short, those waiting whole in it: hundreds.
            assertTrue(codes.size() - sent > 1, "the records read and not sent are reported: " + codes.size());
            assertEquals(sent, kafka.read(topic, sent).size(), "the records reported 200 are in Kafka");
        } finally {
            HoldAcks.release();
            closing.join(60_000);
            p.close();
        }
    }

    private static void heldAcksOfALeftClient(TestPortico p, KafkaCluster kafka, String topic) throws Exception {
        var gauges = p.portico().metrics().getGauges();
        com.codahale.metrics.Gauge<?> used = gauges.get("portico.memory.requests.used");
        com.codahale.metrics.Gauge<?> inFlight = gauges.get("portico.http.in.flight");
        int count = 16;
        long bytes = count * 16L * 1024;
        try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
            String value = java.util.Base64.getEncoder().encodeToString(new byte[16 * 1024]);
            StringBuilder chunk = new StringBuilder();
            for (int i = 0; i < count; i++) {
                chunk.append("{\"value\":{\"type\":\"BINARY\",\"data\":\"").append(value).append("\"}}\n");
            }
            stream.sendChunk(chunk.toString());
            awaitSent(count);
            assertEquals(count, HoldAcks.sent(), "the stream's records are sent");
            awaitAtLeast(used, bytes, "the stream's records counted while they wait");
            stream.reset(); // the client goes away, none of its records acknowledged to it
        }
        awaitAtMost(inFlight, 0, "the stream's exchange ended");
        assertTrue(((Number) used.getValue()).longValue() >= bytes,
                "still counted after the client left: " + used.getValue());
        HoldAcks.release();
        awaitAtMost(used, 0, "given back once Kafka answered");
        assertEquals(count, kafka.read(topic, count).size(), "the records sent before the client left landed");
    }

    /** Waits (up to 60 s) until {@code count} records of the held topic are with the producer (not merely read). */
    private static void awaitSent(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (HoldAcks.sent() < count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    /** Waits (up to 60 s) until the gauge reads at least {@code least}. */
    private static void awaitAtLeast(com.codahale.metrics.Gauge<?> gauge, long least, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (((Number) gauge.getValue()).longValue() < least && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(((Number) gauge.getValue()).longValue() >= least, what + ": " + gauge.getValue());
    }

    /** Waits (up to 60 s) until the gauge reads at most {@code most}. */
    private static void awaitAtMost(com.codahale.metrics.Gauge<?> gauge, long most, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (((Number) gauge.getValue()).longValue() > most && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(((Number) gauge.getValue()).longValue() <= most, what + ": " + gauge.getValue());
    }

    @Test
    void oneKeysStreamsThatReadNoneOfTheirReportsShareOneShareOfTheResponsesBudget(KafkaCluster kafka,
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // 64 MiB for responses: one key's unwritten reports may hold an eighth (8 MiB), however
        // many streams it opens. Three streams of one key, each sending 80,000 records and
        // reading none of its answer: with a share each they would hold up to 24 MiB, together
        // they hold at most about 8 MiB (plus each stream's last records in flight).
        String key = "k-" + java.util.UUID.randomUUID();
        java.nio.file.Path keys = java.nio.file.Files.writeString(dir.resolve("keys.json"),
                "{\"keys\":[{\"name\":\"greedy\",\"key\":\"" + key + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}");
        try (TestPortico p = TestPortico.start(kafka, Map.of("memory.responses.max.bytes", "67108864",
                "authentication.method", "API_KEY", "api.keys.file", keys.toString()))) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3keyshare"), 1);
            List<java.net.Socket> sockets = new ArrayList<>();
            List<Thread> senders = new ArrayList<>();
            for (int n = 0; n < 3; n++) {
                java.net.Socket socket = new java.net.Socket();
                socket.setReceiveBufferSize(16 * 1024);
                socket.connect(new java.net.InetSocketAddress(p.rest().base().getHost(), p.rest().base().getPort()));
                sockets.add(socket);
                String path = records(kafka, topic);
                Thread sender = new Thread(() -> sendRecordsUnread(socket, path, key, 80_000), "v3keyshare-sender");
                sender.start();
                senders.add(sender);
            }
            try {
                long end = awaitNoGrowth(kafka, topic);
                assertTrue(end > 0 && end < 200_000, "records produced before the streams waited for their reader: " + end);
                long used = ((Number) p.portico().metrics().getGauges().get("portico.memory.responses.used").getValue()).longValue();
                // Measured: 4.8 MiB with the key's streams sharing its share, 13 MiB with a share each.
                assertTrue(used < 9L << 20, "the key's three streams hold at most about its one share (8 MiB): " + used);
            } finally {
                for (java.net.Socket socket : sockets) {
                    socket.close();
                }
                for (Thread sender : senders) {
                    sender.join(30_000);
                }
            }
        }
    }

    /** Writes a chunked v3 stream of {@code count} small records on {@code socket}, reading nothing. */
    private static void sendRecordsUnread(java.net.Socket socket, String path, String apiKey, int count) {
        try {
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + (apiKey == null ? "" : "Authorization: Bearer " + apiKey + "\r\n")
                    + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            StringBuilder chunk = new StringBuilder();
            for (int i = 0; i < 1000; i++) {
                chunk.append(stringRecord("x")).append('\n');
            }
            byte[] data = chunk.toString().getBytes(StandardCharsets.US_ASCII);
            byte[] head = (Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            for (int c = 0; c < count / 1000; c++) {
                out.write(head);
                out.write(data);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.flush();
        } catch (Exception e) {
            // closed by the test at its end
        }
    }

    /** The topic's (one partition's) end once it has not grown for 3 s (polled every 500 ms, for up to 60 s). */
    private static long awaitNoGrowth(KafkaCluster kafka, String topic) throws Exception {
        org.apache.kafka.common.TopicPartition tp = new org.apache.kafka.common.TopicPartition(topic, 0);
        long last = -1;
        int still = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (still < 6 && System.nanoTime() < deadline) {
            Thread.sleep(500);
            long end = kafka.admin().listOffsets(Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                    .all().get(30, TimeUnit.SECONDS).get(tp).offset();
            still = end == last ? still + 1 : 0;
            last = end;
        }
        return last;
    }

    @Test
    void aStreamMayBeFarLongerThanTheBodyLimitOfOtherRequests(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.max.bytes", "4096"))) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3long"), 1);
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
                for (int i = 0; i < 50; i++) { // 50 chunks of 40 records: over 80 KB, twenty times the limit
                    StringBuilder chunk = new StringBuilder();
                    for (int k = 0; k < 40; k++) {
                        chunk.append(stringRecord("l" + (i * 40 + k))).append('\n');
                    }
                    stream.sendChunk(chunk.toString());
                }
                stream.endBody();
                List<JsonNode> reports = stream.readToEnd();
                assertEquals(2000, reports.size());
                assertTrue(reports.stream().allMatch(r -> r.get("error_code").asInt() == 200), reports.toString());
            }
            Rest.Response tooLarge = p.rest().post("/topics/" + topic, "application/vnd.kafka.binary.v2+json",
                    "{\"records\":[{\"value\":\"" + "A".repeat(8000) + "\"}]}");
            assertEquals(413, tooLarge.status(), "other requests keep the body limit");
        }
    }

    @Test
    void aStreamThatStopsSendingIsEndedWithA408Report(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.timeout.ms", "500"))) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3idle"), 1);
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
                stream.sendChunk(stringRecord("one"));
                List<JsonNode> reports = stream.readToEnd(); // then nothing more is sent
                assertEquals(2, reports.size(), reports.toString());
                assertEquals(200, reports.get(0).get("error_code").asInt());
                assertEquals(408, reports.get(1).get("error_code").asInt());
                assertTrue(reports.get(1).get("message").asText().contains("request.body.timeout.ms"));
            }
            assertEquals(200, p.rest().get("/").status());
        }
    }

    @Test
    void aLargeRecordThatTricklesInIsEndedWithA408Report(KafkaCluster kafka) throws Exception {
        // 100 KiB of a record, then a few bytes now and then: it would hold its part of the
        // requests budget for as long as the trickle lasts. The record's bytes on average since
        // its first: under 16 KiB/s once 100 KiB took 6.25 s (up to 15 s of trickle).
        assertTrickleEndedAtTheLeastRate(kafka, "v3trickle", 2000, 100 * 1024, 150, 100);
    }

    @Test
    void aSmallRecordThatTricklesInIsEndedWithA408ReportToo(KafkaCluster kafka) throws Exception {
        // 2 KiB of a record, then a few bytes now and then, never idle for the timeout: held to
        // the least rate as a large one is, or it would keep its part of the requests budget (and
        // its place) for as long as the trickle lasts (up to 8 s, far past the timeout).
        assertTrickleEndedAtTheLeastRate(kafka, "v3trickle-small", 1000, 2 * 1024, 40, 200);
    }

    @Test
    void aSlowStreamOfSmallRecordsInWritesThatStraddleThemIsNotEndedForTheLeastRate(KafkaCluster kafka) throws Exception {
        // A buffered writer flushing every 100 ms: each write ends one record and begins the next,
        // about 1.4 KB/s in all, each record whole within 100 ms. The least rate is a record's
        // (from its first byte), not the stream's since the first write that ended inside one.
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.timeout.ms", "1000"))) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3straddle"), 1);
            int n = 40;
            StringBuilder body = new StringBuilder();
            for (int i = 0; i < n; i++) {
                body.append(stringRecord(String.format("%03d", i) + "x".repeat(100)));
            }
            int chunk = stringRecord("000" + "x".repeat(100)).length() + 1; // never ends where a record does
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
                for (int at = 0; at < body.length(); at += chunk) {
                    stream.sendChunk(body.substring(at, Math.min(body.length(), at + chunk)));
                    Thread.sleep(100);
                }
                stream.endBody();
                List<JsonNode> reports = stream.readToEnd();
                assertEquals(n, reports.size(), reports.toString());
                for (JsonNode report : reports) {
                    assertEquals(200, report.get("error_code").asInt(), report.toString());
                }
            }
        }
    }

    /**
     * A stream sends a record, then {@code first} bytes of another and four more every
     * {@code everyMs} ({@code times} times, never idle for {@code timeoutMs}): it is answered the
     * first record's report and a 408 for the least rate, and Portico goes on.
     */
    private static void assertTrickleEndedAtTheLeastRate(KafkaCluster kafka, String prefix, int timeoutMs, int first,
                                                         int times, long everyMs) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("request.body.timeout.ms", String.valueOf(timeoutMs)))) {
            String topic = kafka.createTopic(KafkaCluster.uniqueTopic(prefix), 1);
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
                stream.sendChunk(stringRecord("one"));
                stream.sendChunk("{\"value\":{\"type\":\"BINARY\",\"data\":\"" + "A".repeat(first));
                try {
                    for (int i = 0; i < times; i++) {
                        Thread.sleep(everyMs);
                        stream.sendChunk("AAAA");
                    }
                } catch (java.io.IOException e) {
                    // ended meanwhile: what it answered is read below
                }
                List<JsonNode> reports = stream.readToEnd();
                assertEquals(2, reports.size(), reports.toString());
                assertEquals(200, reports.get(0).get("error_code").asInt());
                assertEquals(408, reports.get(1).get("error_code").asInt());
                assertTrue(reports.get(1).get("message").asText().contains("least rate"), reports.toString());
            }
            assertEquals(200, p.rest().get("/").status());
        }
    }

    @Test
    void aClientWaitingForItsReportIsNotIdleWhileKafkaTakesLongerThanTheTimeout(KafkaCluster kafka) throws Exception {
        // A client that sends a record and waits for its report before the next: Kafka answers
        // after 6 s, four times the body timeout. The wait is the server's: the stream goes on, and
        // the client's idle time counts from its report (1.5 s to send the next record and end).
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3slowack"), 1);
        HoldAcks.hold(topic);
        try (TestPortico p = TestPortico.start(kafka, Map.of("producer.interceptor.classes", HoldAcks.class.getName(),
                "request.body.timeout.ms", "1500"))) {
            try (RawStream stream = RawStream.open(p.rest(), records(kafka, topic))) {
                stream.sendChunk(stringRecord("one"));
                awaitSent(1);
                Thread.sleep(6000);
                HoldAcks.release();
                assertEquals(1, stream.awaitReports(1).size());
                stream.sendChunk(stringRecord("two"));
                stream.endBody();
                List<JsonNode> reports = stream.readToEnd();
                assertEquals(List.of(200, 200), reports.stream().map(r -> r.get("error_code").asInt()).toList(),
                        reports.toString());
            } finally {
                HoldAcks.release();
            }
            assertEquals(List.of("one", "two"), kafka.read(topic, 2).stream().map(c -> utf8(c.value())).toList());
        }
    }

    @Test
    void aBatchAnswers207WithSuccessesAndFailures(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3batch"), 1);
        String batch = records(kafka, topic) + ":batch";
        Rest.Response r = rest.post(batch, "application/json", "{\"entries\":["
                + "{\"id\":\"1\",\"value\":{\"type\":\"STRING\",\"data\":\"b1\"}},"
                + "{\"id\":\"2\",\"value\":{\"type\":\"BINARY\",\"data\":1}},"
                + "{\"id\":\"3\",\"key\":{\"type\":\"STRING\",\"data\":\"k\"},\"value\":{\"type\":\"JSON\",\"data\":[1]}}]}");
        assertEquals(207, r.status(), r.body());
        JsonNode body = r.json();
        assertEquals(2, body.get("successes").size());
        assertEquals("1", body.get("successes").get(0).get("id").asText());
        assertEquals(0, body.get("successes").get(0).get("offset").asLong());
        assertEquals(topic, body.get("successes").get(0).get("topic_name").asText());
        assertEquals("3", body.get("successes").get(1).get("id").asText());
        assertEquals("{\"type\":\"STRING\",\"size\":1}", body.get("successes").get(1).get("key").toString());
        assertEquals("{\"id\":\"2\",\"error_code\":400,\"message\":\"Bad Request: data=1 is not a base64 string.\"}",
                body.get("failures").get(0).toString());
        assertEquals(List.of("b1", "[1]"), kafka.read(topic, 2).stream().map(c -> utf8(c.value())).toList());

        StringBuilder eleven = new StringBuilder("{\"entries\":[");
        for (int i = 0; i <= 10; i++) { // one more than api.v3.produce.batch.maximum.entries' default
            eleven.append(i == 0 ? "" : ",").append("{\"id\":\"").append(i).append("\"}");
        }
        eleven.append("]}");
        for (String[] bad : new String[][] {
                {"{\"entries\":[]}", "Empty batch."},
                {"{\"entries\":[{\"id\":\"1\"},{\"id\":\"1\"}]}", "Batch entry IDs are not distinct."},
                {"{\"entries\":[{\"id\":7}]}", "Batch entry identifier is not a valid string."},
                {eleven.toString(), "Too many entries in batch."}}) {
            Rest.Response refused = rest.post(batch, "application/json", bad[0]);
            assertEquals(422, refused.status(), bad[0] + " → " + refused.body());
            assertEquals(42208, refused.json().get("error_code").asInt());
            assertEquals(bad[1], refused.json().get("message").asText());
        }
    }

    @Test
    void aReadByOffsetGivesRecordsThatProduceAgainUnchanged(Rest rest, KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("v3read"), 2);
        String copy = kafka.createTopic(KafkaCluster.uniqueTopic("v3copy"), 2);
        Rest.Response produced = rest.post(records(kafka, topic), "application/json", String.join("\n",
                "{\"partition_id\":1,\"key\":{\"type\":\"STRING\",\"data\":\"k1\"},"
                        + "\"value\":{\"type\":\"JSON\",\"data\":{\"n\":1.50}},"
                        + "\"headers\":[{\"name\":\"h\",\"value\":\"AAE=\"},{\"name\":\"h\",\"value\":null}],"
                        + "\"timestamp\":\"2026-01-02T03:04:05.678Z\"}",
                "{\"partition_id\":1,\"value\":{\"type\":\"BINARY\",\"data\":\"/w==\"}}",
                "{\"partition_id\":1,\"key\":{\"type\":\"STRING\",\"data\":\"k3\"}}"));
        assertEquals(3, reports(produced.body()).size(), produced.body());
        String base = "/v3/clusters/" + clusterId(kafka) + "/topics/" + topic + "/partitions/1/records";

        Rest.Response asJson = rest.get(base + "?offset=0&type=JSON");
        assertTrue(asJson.body().contains("\"value\":{\"type\":\"JSON\",\"data\":{\"n\":1.50}}"),
                "json data exactly as stored: " + asJson.body());
        JsonNode json = asJson.json();
        assertEquals("KafkaRecordList", json.get("kind").asText());
        JsonNode first = json.get("data").get(0);
        assertEquals("{\"type\":\"BINARY\",\"data\":\"azE=\"}", first.get("key").toString(),
                "a key that is not JSON comes as BINARY, saying so");
        assertEquals("2026-01-02T03:04:05.678Z", first.get("timestamp").asText());
        assertEquals("[{\"name\":\"h\",\"value\":\"AAE=\"},{\"name\":\"h\",\"value\":null}]",
                first.get("headers").toString());
        assertEquals("{\"type\":\"STRING\",\"data\":\"k1\"}",
                rest.get(base + "?offset=0&key_type=STRING").json().get("data").get(0).get("key").toString());
        JsonNode second = json.get("data").get(1);
        assertEquals("{\"type\":\"BINARY\",\"data\":\"/w==\"}", second.get("value").toString());
        assertTrue(json.get("data").get(2).get("value").isNull());

        // Each record read is a produce request as it stands: copied to another topic, byte for byte.
        StringBuilder again = new StringBuilder();
        rest.get(base + "?offset=0").json().get("data").forEach(r -> again.append(r).append('\n'));
        rest.post(records(kafka, copy), "application/json", again.toString());
        List<ConsumerRecord<byte[], byte[]>> original = kafka.read(topic, 3);
        List<ConsumerRecord<byte[], byte[]>> copied = kafka.read(copy, 3);
        for (int i = 0; i < 3; i++) {
            ConsumerRecord<byte[], byte[]> a = original.get(i);
            ConsumerRecord<byte[], byte[]> b = copied.get(i);
            assertEquals(1, b.partition());
            assertEquals(utf8(a.key()), utf8(b.key()));
            assertTrue(java.util.Arrays.equals(a.value(), b.value()), "value " + i);
            assertEquals(a.timestamp(), b.timestamp());
            assertEquals(a.headers().toArray().length, b.headers().toArray().length);
        }

        // Paging: metadata.next reads on; at the log end the page is empty and next stays there.
        List<Long> offsets = new ArrayList<>();
        String next = rest.base() + base + "?offset=0&max_records=2";
        for (int page = 0; page < 5; page++) {
            java.net.URI url = java.net.URI.create(next);
            JsonNode body = rest.get(url.getRawPath() + "?" + url.getRawQuery()).json();
            body.get("data").forEach(r -> offsets.add(r.get("offset").asLong()));
            next = body.get("metadata").get("next").asText();
            if (body.get("data").isEmpty()) {
                assertTrue(next.contains("offset=3"), next);
                break;
            }
        }
        assertEquals(List.of(0L, 1L, 2L), offsets);
        // A request line in absolute form (as some forward proxies pass it on): links hold its path once.
        try (java.net.Socket socket = new java.net.Socket(rest.base().getHost(), rest.base().getPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(("GET " + rest.base() + base + "?offset=0&max_records=1 HTTP/1.1\r\nHost: "
                    + rest.base().getAuthority() + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            JsonNode absolute = new com.fasterxml.jackson.databind.ObjectMapper().readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
            assertEquals(rest.base() + base + "?offset=0&max_records=1", absolute.get("metadata").get("self").asText());
        }
        assertEquals(1, rest.get(base + "?offset=0&max_bytes=1").json().get("data").size(),
                "a first record over max_bytes comes alone");

        assertEquals(400, rest.get(base).status(), "offset is required");
        assertEquals(400, rest.get(base + "?offset=0&type=XML").status());
        assertEquals(40402, rest.get(base.replace("/partitions/1/", "/partitions/9/") + "?offset=0").json()
                .get("error_code").asInt());
        assertEquals(404, rest.get(base.replace(clusterId(kafka), "other") + "?offset=0").status());
    }

    /**
     * A produce stream over a raw socket: a chunked request written piece by piece, and the
     * chunked response read as it comes, so a test controls exactly when each part is sent.
     */
    static final class RawStream implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private final byte[] buf = new byte[64 * 1024];
        private byte[] pending = new byte[0];
        private boolean headersRead;
        private long fixedLeft = -1; // of an answer with a Content-Length, the bytes still to come
        private boolean ended;
        private boolean endedCleanly; // the last chunk came (not the connection's end alone)
        private boolean closedByServer;

        private RawStream(Socket socket) throws IOException {
            this.socket = socket;
            this.out = socket.getOutputStream();
            this.in = socket.getInputStream();
        }

        static RawStream open(Rest rest, String path) throws IOException {
            Socket socket = new Socket(rest.base().getHost(), rest.base().getPort());
            socket.setSoTimeout(30_000);
            RawStream s = new RawStream(socket);
            s.out.write(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.out.flush();
            return s;
        }

        void sendChunk(String text) throws IOException {
            byte[] data = text.getBytes(StandardCharsets.UTF_8);
            out.write((Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(data);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        void endBody() throws IOException {
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        /** Reads until at least {@code count} complete reports have arrived. */
        List<JsonNode> awaitReports(int count) throws IOException {
            while (true) {
                List<JsonNode> reports = parsed();
                if (reports.size() >= count || ended) {
                    return reports;
                }
                readSome();
            }
        }

        /** Reads until the response ends (its last chunk, or the connection closing). */
        List<JsonNode> readToEnd() throws IOException {
            while (!ended) {
                readSome();
            }
            return parsed();
        }

        /** Whether the response ended with its last chunk, as a response ends, rather than a dropped connection. */
        boolean endedCleanly() {
            return endedCleanly;
        }

        boolean closedByServer() throws IOException {
            if (!closedByServer) {
                try {
                    closedByServer = in.read() < 0;
                } catch (IOException e) {
                    closedByServer = true;
                }
            }
            return closedByServer;
        }

        /** Closes with a reset, as a client that crashes. */
        void reset() throws IOException {
            socket.setSoLinger(true, 0);
            socket.close();
        }

        private void readSome() throws IOException {
            int n = in.read(buf);
            if (n < 0) {
                ended = true;
                closedByServer = true;
                return;
            }
            byte[] joined = new byte[pending.length + n];
            System.arraycopy(pending, 0, joined, 0, pending.length);
            System.arraycopy(buf, 0, joined, pending.length, n);
            pending = joined;
            decode();
        }

        /** Moves complete chunks of the response from {@code pending} to {@code body}. */
        private void decode() {
            String text = new String(pending, StandardCharsets.ISO_8859_1);
            int at = 0;
            if (!headersRead) {
                int end = text.indexOf("\r\n\r\n");
                if (end < 0) {
                    return;
                }
                String head = text.substring(0, end);
                java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?im)^content-length: *(\\d+)").matcher(head);
                // A stream's answer is chunked, unless every report was in before any was written:
                // then it comes whole, with its length.
                if (length.find()) {
                    fixedLeft = Long.parseLong(length.group(1));
                } else if (!head.toLowerCase().contains("transfer-encoding: chunked")) {
                    throw new AssertionError("neither chunked nor of a known length: " + head);
                }
                if (!head.startsWith("HTTP/1.1 200")) {
                    throw new AssertionError("not a 200: " + head);
                }
                headersRead = true;
                at = end + 4;
            }
            if (fixedLeft >= 0) {
                int take = (int) Math.min(fixedLeft, pending.length - at);
                body.write(pending, at, take);
                fixedLeft -= take;
                ended = fixedLeft == 0;
                pending = java.util.Arrays.copyOfRange(pending, at + take, pending.length);
                return;
            }
            while (true) {
                int lineEnd = text.indexOf("\r\n", at);
                if (lineEnd < 0) {
                    break;
                }
                int size = Integer.parseInt(text.substring(at, lineEnd).trim(), 16);
                if (size == 0) {
                    ended = true;
                    endedCleanly = true;
                    at = lineEnd + 2;
                    break;
                }
                if (text.length() < lineEnd + 2 + size + 2) {
                    break;
                }
                body.write(pending, lineEnd + 2, size);
                at = lineEnd + 2 + size + 2;
            }
            pending = java.util.Arrays.copyOfRange(pending, at, pending.length);
        }

        private List<JsonNode> parsed() throws IOException {
            String text = body.toString(StandardCharsets.UTF_8);
            int complete = text.lastIndexOf("\r\n");
            return complete < 0 ? List.of() : reports(text.substring(0, complete));
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
