package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Health, readiness, metrics, CORS, limits and the admin listener. */
@ExtendWith(PorticoExtension.class)
class OperationsIT {
    private static final String BINARY = "application/vnd.kafka.binary.v1+json";

    @Test
    void healthAndReadinessAnswer(Rest rest) {
        Rest.Response health = rest.get("/health");
        assertEquals(200, health.status());
        assertEquals("{\"status\":\"UP\"}", health.body());
        Rest.Response ready = rest.get("/ready");
        assertEquals(200, ready.status(), ready.body());
        assertEquals("{\"status\":\"READY\",\"brokers\":1}", ready.body());
    }

    @Test
    void metricsAreNamedByRouteTemplateNeverByTopic(Rest rest) {
        String topic = KafkaCluster.uniqueTopic("metered");
        assertEquals(200, rest.post("/topics/" + topic, BINARY, "{\"records\":[{\"value\":\"AAAA\"},{\"value\":\"AA==\"}]}").status());
        assertEquals(404, rest.get("/nowhere/" + topic).status());

        Rest.Response json = rest.get("/metrics");
        assertEquals(200, json.status());
        assertFalse(json.body().contains(topic), "no topic names in metric names");
        JsonNode metrics = json.json();
        assertTrue(metrics.get("timers").get("portico.http.requests.post.topics.topic").get("count").asLong() >= 1);
        assertTrue(metrics.get("meters").get("portico.http.responses.post.topics.topic.2xx").get("count").asLong() >= 1);
        assertTrue(metrics.get("meters").get("portico.http.responses.get.unmatched.4xx").get("count").asLong() >= 1);
        assertTrue(metrics.get("meters").get("portico.produce.records").get("count").asLong() >= 2);
        assertTrue(metrics.get("meters").get("portico.produce.bytes").get("count").asLong() >= 4);
        assertTrue(metrics.get("gauges").has("jvm.memory.heap.used"));
        assertTrue(metrics.get("gauges").has("jvm.threads.count"));
        assertTrue(metrics.get("gauges").has("portico.consumer.instances.live"));
        assertTrue(metrics.get("gauges").has("portico.pool.produce.active"));
        assertEquals(1, metrics.get("gauges").get("portico.kafka.reachable").get("value").asInt());

        Rest.Response prometheus = rest.get("/metrics/prometheus");
        assertEquals(200, prometheus.status(), prometheus.body());
        assertTrue(prometheus.contentType().startsWith("text/plain"), prometheus.contentType());
        assertTrue(prometheus.body().contains("portico_http_requests_post_topics_topic_count"), prometheus.body());
        assertTrue(prometheus.body().contains("portico_produce_records_total"), prometheus.body());
        assertFalse(prometheus.body().contains(topic));
    }

    @Test
    void scrapesAreRenderedOffTheIoThreadAndThoseThatComeMeanwhileShareOneRendering(KafkaCluster kafka)
            throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("io.threads", "1"))) {
            java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicInteger renderings = new java.util.concurrent.atomic.AtomicInteger();
            p.portico().metrics().gauge("test.slow", () -> () -> {
                renderings.incrementAndGet();
                entered.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 1;
            });
            java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
            java.util.List<java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>>> scrapes =
                    new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                scrapes.add(client.sendAsync(p.rest().request("/metrics").GET().build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString()));
            }
            assertTrue(entered.await(60, TimeUnit.SECONDS), "a rendering began");
            // The one IO thread is free while the metrics are rendered: the API answers.
            assertEquals(200, p.rest().send(p.rest().request("/").timeout(java.time.Duration.ofSeconds(30))).status());
            com.codahale.metrics.Gauge<?> inFlight = p.portico().metrics().getGauges().get("portico.http.in.flight");
            for (int i = 0; i < 3000 && ((Number) inFlight.getValue()).intValue() != 4; i++) {
                // until every scrape has been taken in, and the GET / above (answered to the
                // client before its exchange completes on the server) has left the count
                Thread.sleep(10);
            }
            assertEquals(4, ((Number) inFlight.getValue()).intValue(), "the four scrapes in progress");
            release.countDown();
            String first = null;
            for (java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> scrape : scrapes) {
                java.net.http.HttpResponse<String> r = scrape.get(60, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                first = first == null ? r.body() : first;
                assertTrue(first.equals(r.body()), "the scrapes that came during one rendering share it");
            }
            assertEquals(1, renderings.get(), "one rendering for the four scrapes");
            assertEquals(200, p.rest().get("/metrics").status());
            assertEquals(2, renderings.get(), "a scrape after it renders anew");
        }
    }

    @Test
    void aListenerWhosePortIsTakenStopsStartUpNamingTheSetting(KafkaCluster kafka) throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> TestPortico.start(kafka, Map.of("listeners", "http://127.0.0.1:" + taken.getLocalPort())).close());
            io.portico.proxy.ConfigException config = org.junit.jupiter.api.Assertions.assertInstanceOf(
                    io.portico.proxy.ConfigException.class, e.getCause());
            assertTrue(config.getMessage().contains("listeners") && config.getMessage().contains(
                    String.valueOf(taken.getLocalPort())), config.getMessage());
        }
    }

    @Test
    void methodsAClientMakesUpShareOneMetricName(Rest rest) {
        for (int i = 0; i < 40; i++) {
            Rest.Response made = rest.send(rest.request(i % 2 == 0 ? "/" : "/topics")
                    .method("MADEUP" + i, java.net.http.HttpRequest.BodyPublishers.noBody()));
            assertEquals(405, made.status(), made.body());
        }
        JsonNode metrics = rest.get("/metrics").json();
        java.util.List<String> names = new java.util.ArrayList<>();
        metrics.get("timers").fieldNames().forEachRemaining(names::add);
        metrics.get("meters").fieldNames().forEachRemaining(names::add);
        assertTrue(names.stream().noneMatch(n -> n.contains("madeup")), names.toString());
        assertTrue(metrics.get("timers").get("portico.http.requests.other.root").get("count").asLong() >= 20);
        assertTrue(metrics.get("meters").get("portico.http.responses.other.topics.4xx").get("count").asLong() >= 20);
    }

    @Test
    void withEveryOriginAllowedAnAnswerStillVariesByOrigin(KafkaCluster kafka) {
        try (TestPortico p = TestPortico.start(kafka, Map.of("access.control.allow.origin", "*"))) {
            Rest rest = p.rest();
            Rest.Response page = rest.get("/topics", "Origin", "https://app.example");
            assertEquals("*", page.header("access-control-allow-origin"));
            assertEquals("Origin", page.header("vary"));
            Rest.Response plain = rest.get("/topics");
            assertNull(plain.header("access-control-allow-origin"));
            assertEquals("Origin", plain.header("vary"), "a cached answer without CORS headers is not one for a page");
        }
    }

    @Test
    void corsPreflightAndSimpleRequestsFromAnAllowedOrigin(KafkaCluster kafka) {
        try (TestPortico p = TestPortico.start(kafka, Map.of("access.control.allow.origin",
                "https://app.example, https://*.pages.example", "access.control.allow.methods", "GET,POST"))) {
            Rest rest = p.rest();
            Rest.Response preflight = rest.send(rest.request("/topics/t", "Origin", "https://app.example",
                    "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
                    .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody()));
            assertEquals(204, preflight.status());
            assertEquals("https://app.example", preflight.header("access-control-allow-origin"));
            assertEquals("GET,POST", preflight.header("access-control-allow-methods"));
            assertTrue(preflight.header("access-control-allow-headers").contains("Content-Type"));
            // Answered before routing, counted under its route all the same.
            JsonNode meters = rest.get("/metrics").json().get("meters");
            assertEquals(1, meters.path("portico.http.responses.options.topics.topic.2xx").path("count").asLong(), meters.toString());
            assertNull(meters.get("portico.http.responses.options.unmatched.2xx"));
            // A new server's: there at 0 before their first event, so that rate() and increase() see that one.
            for (String name : List.of("portico.produce.share.refused", "portico.idempotency.executed",
                    "portico.idempotency.replayed")) {
                assertEquals(0, meters.path(name).path("count").asLong(-1), name + " in " + meters);
            }

            Rest.Response get = rest.get("/topics", "Origin", "https://app.example");
            assertEquals(200, get.status());
            assertEquals("https://app.example", get.header("access-control-allow-origin"));

            // As Jetty's filter (Confluent's) takes it: a * within an origin stands for any characters.
            Rest.Response pages = rest.get("/topics", "Origin", "https://team.pages.example");
            assertEquals("https://team.pages.example", pages.header("access-control-allow-origin"));
            assertNull(rest.get("/topics", "Origin", "https://pages.example").header("access-control-allow-origin"));

            Rest.Response other = rest.get("/topics", "Origin", "https://evil.example");
            assertEquals(200, other.status());
            assertNull(other.header("access-control-allow-origin"));
            assertEquals("Origin", other.header("vary"), "a shared cache keeps one answer per origin");
            assertEquals("Origin", rest.get("/topics").header("vary"));
        }
    }

    @Test
    void corsDefaultsLetAPageUseEveryRouteAndHeaderAndReadItsOverloadAnswers(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("access.control.allow.origin", "https://app.example",
                "max.concurrent.requests", "1", "consumer.request.timeout.ms", "120000"))) {
            Rest rest = p.rest();
            Rest.Response preflight = rest.send(rest.request("/v3/clusters/c/topics/t", "Origin", "https://app.example",
                    "Access-Control-Request-Method", "PATCH", "Access-Control-Request-Headers", "idempotency-key")
                    .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody()));
            assertEquals(204, preflight.status());
            assertTrue(preflight.header("access-control-allow-methods").contains("PATCH"), preflight.header("access-control-allow-methods"));
            assertTrue(preflight.header("access-control-allow-headers").contains("Idempotency-Key"));
            Rest.Response get = rest.get("/topics", "Origin", "https://app.example");
            assertEquals("Retry-After,Location,Idempotent-Replayed", get.header("access-control-expose-headers"));

            // One long-polling read holds the only slot: the next request's 503 carries CORS headers.
            Polling polling = longPoll(p, kafka, "cors");
            Rest.Response refused = rest.get("/brokers", "Origin", "https://app.example");
            assertEquals(503, refused.status(), refused.body());
            assertEquals("https://app.example", refused.header("access-control-allow-origin"));
            polling.end(kafka);
            assertEquals(200, polling.answer().get(30, TimeUnit.SECONDS).status());
        }
    }

    @Test
    void limitsAnswerWithTheirOwnErrors(KafkaCluster kafka) throws Exception {
        try (TestPortico p = TestPortico.start(kafka, Map.of("produce.records.max", "2",
                "max.concurrent.requests", "1", "consumer.request.timeout.ms", "120000"))) {
            Rest rest = p.rest();
            Rest.Response many = rest.post("/topics/t", BINARY,
                    "{\"records\":[{\"value\":\"AA==\"},{\"value\":\"AA==\"},{\"value\":\"AA==\"}]}");
            assertEquals(413, many.status(), many.body());
            assertTrue(many.json().get("message").asText().contains("produce.records.max"), many.body());

            // One long-polling read holds the only slot; the next request is turned away.
            Polling polling = longPoll(p, kafka, "limits");
            String topic = polling.topic();
            com.codahale.metrics.Gauge<?> inFlight = p.portico().metrics().getGauges().get("portico.http.in.flight");
            assertEquals(1, ((Number) inFlight.getValue()).intValue(), "the long poll is in progress");
            Rest.Response refused = rest.get("/brokers");
            assertEquals(503, refused.status(), refused.body());
            assertEquals("1", refused.header("retry-after"));
            assertTrue(refused.json().get("message").asText().contains("max.concurrent.requests"), refused.body());
            // The operator's probes are answered whatever the load: a busy server is alive.
            assertEquals(200, rest.get("/health").status(), "liveness while every place is taken");
            Rest.Response ready = rest.get("/ready");
            assertEquals(200, ready.status(), ready.body());
            assertEquals(503, rest.get("/metrics").status(), "the metrics are a request like the others");
            // IBM's records endpoint, turned away before its route took it: still its own body.
            Rest.Response refusedRecord = rest.post("/topics/" + topic + "/records", "text/plain", "x");
            assertEquals(503, refusedRecord.status(), refusedRecord.body());
            assertEquals("1", refusedRecord.header("retry-after"));
            assertTrue(refusedRecord.header("content-type").startsWith("application/json"), refusedRecord.header("content-type"));
            assertEquals(503, refusedRecord.json().path("error").path("error_code").asInt(), refusedRecord.body());
            polling.end(kafka);
            assertEquals(200, polling.answer().get(30, TimeUnit.SECONDS).status());
            Rest.Response otherMethod = rest.get("/topics/" + topic + "/records");
            assertEquals(405, otherMethod.status(), otherMethod.body());
            assertEquals(405, otherMethod.json().path("error").path("error_code").asInt(), otherMethod.body());
            assertEquals(200, rest.get("/brokers").status(), "served again once the slot is free");
        }
    }

    @Test
    void adminListenersServeTheOperationsEndpointsAlone(KafkaCluster kafka) throws Exception {
        int adminPort = TestPortico.freePort();
        try (TestPortico p = TestPortico.start(kafka, Map.of("admin.listeners", "http://127.0.0.1:" + adminPort,
                "consumer.request.timeout.ms", "5000"))) {
            Rest admin = new Rest(URI.create("http://127.0.0.1:" + adminPort));
            assertEquals(200, admin.get("/health").status());
            assertEquals(200, admin.get("/ready").status());
            assertEquals(200, admin.get("/metrics").status());
            assertEquals(404, admin.get("/topics").status(), "the API is not on the admin listener");
            assertEquals(404, p.rest().get("/metrics").status(), "nor the operations endpoints on the main one");
            assertEquals(200, p.rest().get("/topics").status());

            // Shutting down (a long poll holds the graceful wait open): the admin listener still
            // answers, and /ready says not to send anything more.
            Polling polling = longPoll(p, kafka, "ready");
            java.util.concurrent.ExecutorService thread = Executors.newSingleThreadExecutor();
            Future<?> closing = thread.submit(() -> p.portico().close());
            thread.shutdown();
            Rest.Response ready = admin.get("/ready");
            for (int i = 0; i < 500 && ready.status() == 200; i++) {
                Thread.sleep(10); // until the close has begun
                ready = admin.get("/ready");
            }
            assertEquals(503, ready.status(), ready.body());
            assertEquals(200, admin.get("/health").status(), "the process is still up");
            polling.answer().get(60, TimeUnit.SECONDS);
            closing.get(60, TimeUnit.SECONDS);
        }
    }

    /** A long-polling read in progress, and the topic it reads. */
    private record Polling(Future<Rest.Response> answer, String topic) {
        /** Ends the long poll: a record for it to return (it waits for one up to its timeout). */
        void end(KafkaCluster kafka) throws Exception {
            kafka.produce(topic, 0, null, "end".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /**
     * A v1 instance's read of an empty topic, long-polling (for {@code consumer.request.timeout.ms})
     * once this returns: it holds one of the server's requests in progress.
     */
    private static Polling longPoll(TestPortico p, KafkaCluster kafka, String prefix) throws Exception {
        Rest rest = p.rest();
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic(prefix), 1);
        String group = KafkaCluster.uniqueTopic("g");
        // A topic of its own, empty: its read waits for a record (from the start, so one produced
        // at any time after ends it) up to consumer.request.timeout.ms.
        String id = rest.post("/consumers/" + group, "application/vnd.kafka.v1+json",
                "{\"auto.offset.reset\":\"earliest\"}").json().get("instance_id").asText();
        String read = "/consumers/" + group + "/instances/" + id + "/topics/" + topic;
        java.util.concurrent.ExecutorService thread = Executors.newSingleThreadExecutor();
        Future<Rest.Response> polling = thread.submit(() -> rest.get(read, "Accept", BINARY));
        thread.shutdown();
        com.codahale.metrics.Gauge<?> inFlight = p.portico().metrics().getGauges().get("portico.http.in.flight");
        for (int i = 0; i < 6000 && ((Number) inFlight.getValue()).intValue() < 1; i++) {
            Thread.sleep(10); // until the long poll is in progress
        }
        assertEquals(1, ((Number) inFlight.getValue()).intValue(), "the long poll is in progress");
        return new Polling(polling, topic);
    }
}
