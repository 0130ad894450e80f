package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A web page of another site cannot produce through a user's browser: a form post or a
 * {@code no-cors} fetch of {@code text/plain} needs no CORS preflight, so CORS alone only kept the
 * page from reading the answer. Such requests (told by {@code Sec-Fetch-Site}, else by an
 * {@code Origin} other than the host asked) are refused 403 and nothing is produced, unless their
 * origin is allowed; clients that are not browsers, pages of the same origin and reads are served.
 */
@ExtendWith(PorticoExtension.class)
class CrossSiteWritesIT {
    private static final String EVIL = "https://evil.example";

    private static void assertRefused(Rest.Response r) {
        assertEquals(403, r.status(), r.body());
        assertEquals(403, r.json().get("error_code").asInt(), r.body());
        assertTrue(r.json().get("message").asText().contains("access.control.allow.origin"), r.body());
    }

    private static List<String> values(KafkaCluster kafka, String topic) {
        List<String> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : kafka.readToEnd(topic, "read_uncommitted")) {
            out.add(new String(r.value(), StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void aPageOfAnotherSiteCannotProduceWhileOtherClientsCan(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("cross-site"), 1);
        try (TestPortico p = TestPortico.start(kafka, Map.of())) {
            Rest rest = p.rest();
            String records = "/topics/" + topic + "/records";
            String v1 = "/topics/" + topic;
            String self = "http://" + rest.base().getHost() + ":" + rest.base().getPort();

            // A form's post or a no-cors fetch from another site: refused, whichever endpoint.
            assertRefused(rest.post(records, "text/plain", "form", "Origin", EVIL, "Sec-Fetch-Site", "cross-site"));
            assertRefused(rest.post(records, "text/plain", "form", "Origin", "null", "Sec-Fetch-Site", "cross-site"));
            assertRefused(rest.post(records, "text/plain", "sub", "Origin", "https://other.example.com",
                    "Sec-Fetch-Site", "same-site"));
            assertRefused(rest.post(v1, "application/vnd.kafka.binary.v1+json", "{\"records\":[{\"value\":\"ZXZpbA==\"}]}",
                    "Origin", EVIL, "Sec-Fetch-Site", "cross-site"));
            // An older browser says only Origin.
            assertRefused(rest.post(records, "text/plain", "old", "Origin", EVIL));
            assertRefused(rest.send(rest.request("/consumers/g/instances/i", "Origin", EVIL)
                    .method("DELETE", java.net.http.HttpRequest.BodyPublishers.noBody())));

            // Served: clients that are not browsers, the same origin, a user's own navigation, reads.
            assertEquals(200, rest.post(records, "text/plain", "curl").status());
            assertEquals(200, rest.post(records, "text/plain", "same", "Origin", self, "Sec-Fetch-Site", "same-origin").status());
            assertEquals(200, rest.post(records, "text/plain", "typed", "Sec-Fetch-Site", "none").status());
            assertEquals(200, rest.post(records, "text/plain", "host", "Origin", self).status(), "Origin names the host asked");
            // Behind a proxy that rewrites Host: the host the client asked, as the proxy says it.
            assertEquals(200, rest.post(records, "text/plain", "proxied", "Origin", "https://public.example",
                    "X-Forwarded-Host", "public.example").status());
            assertRefused(rest.post(records, "text/plain", "elsewhere", "Origin", EVIL, "X-Forwarded-Host", "public.example"));
            assertEquals(200, rest.get("/topics/" + topic, "Origin", EVIL, "Sec-Fetch-Site", "cross-site").status());

            assertEquals(List.of("curl", "same", "typed", "host", "proxied"), values(kafka, topic),
                    "nothing of the refused produced");

            // A consumer instance's read hands its records out (and commits them): a GET that changes something.
            String v2 = "application/vnd.kafka.v2+json";
            Rest.Response created = rest.post("/consumers/cross-site-" + topic, v2,
                    "{\"name\":\"i\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}");
            assertEquals(200, created.status(), created.body());
            String instance = "/consumers/cross-site-" + topic + "/instances/i";
            assertEquals(204, rest.post(instance + "/subscription", v2, "{\"topics\":[\"" + topic + "\"]}").status());
            String binary = "application/vnd.kafka.binary.v2+json";
            Rest.Response stolen = rest.get(instance + "/records", "Accept", binary, "Origin", EVIL, "Sec-Fetch-Site", "cross-site");
            assertEquals(403, stolen.status(), stolen.body());
            assertTrue(stolen.json().get("message").asText().contains("a read consumes them"), stolen.body());
            assertEquals(403, rest.get(instance + "/records", "Accept", "text/event-stream", "Origin", EVIL).status(),
                    "an event stream too, from an older browser");
            assertEquals(403, rest.get("/consumers/cross-site-" + topic + "/instances/i/topics/" + topic, "Accept",
                    "application/vnd.kafka.binary.v1+json", "Origin", EVIL, "Sec-Fetch-Site", "cross-site").status(), "v1's read");
            assertEquals(403, rest.get(instance + "/records/", "Accept", binary, "Origin", EVIL, "Sec-Fetch-Site",
                    "cross-site").status(), "with a trailing slash, which the router takes as without");
            assertEquals(403, rest.get("/consumers/cross-site-" + topic + "/instances/i/topics/" + topic + "/", "Accept",
                    "application/vnd.kafka.binary.v1+json", "Origin", EVIL, "Sec-Fetch-Site", "cross-site").status());
            List<String> read = new ArrayList<>();
            for (int i = 0; i < 20 && read.size() < 5; i++) {
                Rest.Response r = rest.get(instance + "/records?timeout=1000", "Accept", binary);
                assertEquals(200, r.status(), r.body());
                r.json().forEach(record -> read.add(new String(java.util.Base64.getDecoder().decode(
                        record.get("value").asText()), StandardCharsets.UTF_8)));
            }
            assertEquals(List.of("curl", "same", "typed", "host", "proxied"), read,
                    "the instance's client reads every record: none went to the other site's page");
            assertEquals(200, rest.get(instance + "/subscription", "Accept", v2, "Origin", EVIL, "Sec-Fetch-Site",
                    "cross-site").status(), "reads that consume nothing are served");
        }
    }

    @Test
    void anAllowedOriginProducesAndTheCheckCanBeTurnedOff(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("cross-site-allowed"), 1);
        String records = "/topics/" + topic + "/records";
        try (TestPortico p = TestPortico.start(kafka, Map.of("access.control.allow.origin", "https://*.app.example"))) {
            Rest rest = p.rest();
            Rest.Response allowed = rest.post(records, "text/plain", "app", "Origin", "https://team.app.example",
                    "Sec-Fetch-Site", "cross-site");
            assertEquals(200, allowed.status(), allowed.body());
            assertEquals("https://team.app.example", allowed.header("access-control-allow-origin"));
            assertRefused(rest.post(records, "text/plain", "evil", "Origin", EVIL, "Sec-Fetch-Site", "cross-site"));
        }
        try (TestPortico p = TestPortico.start(kafka, Map.of("cross.site.writes.allowed", "true"))) {
            assertEquals(200, p.rest().post(records, "text/plain", "off", "Origin", EVIL, "Sec-Fetch-Site", "cross-site")
                    .status());
        }
        assertEquals(List.of("app", "off"), values(kafka, topic));
    }
}
