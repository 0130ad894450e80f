package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.portico.proxy.ConfigException;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Processes;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.util.security.Credential;
import org.eclipse.jetty.util.security.Password;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Confluent REST Proxy's HTTP basic authentication ({@code authentication.method=BASIC}, a JAAS
 * {@code PropertyFileLoginModule} users file, {@code authentication.roles}) on a real Portico:
 * Confluent's curl with {@code -u} works as it is, a user needs one of the roles, and a consumer
 * instance belongs to the user that created it.
 */
@ExtendWith(PorticoExtension.class)
class BasicAuthIT {
    private static final String V2 = "application/vnd.kafka.v2+json";

    @TempDir
    Path dir;

    private static String[] basic(String user, String password) {
        return new String[] {"Authorization", "Basic " + Base64.getEncoder().encodeToString(
                (user + ":" + password).getBytes(StandardCharsets.UTF_8))};
    }

    private Path users() throws Exception {
        return Files.writeString(dir.resolve("password.properties"), "fred: " + Password.obfuscate("fred-pass")
                + ",user,admin\nharry: " + Credential.MD5.digest("harry-pass") + ",user\ntom: tom-pass,developer\n");
    }

    @Test
    void confluentsCurlWithAUserAndPasswordWorksAndTheRolesDecide(KafkaCluster cluster) throws Exception {
        try (TestPortico portico = TestPortico.start(cluster, Map.of("authentication.method", "BASIC",
                "authentication.users.file", users().toString(), "authentication.roles", "admin,developer",
                "authentication.skip.paths", "/brokers,/v3/clusters/*"))) {
            Rest rest = portico.rest();
            String topic = KafkaCluster.uniqueTopic("basic");
            if (Processes.onPath("curl")) {
                Processes.Result curl = Processes.run(dir, Map.of(), Duration.ofSeconds(30), List.of("curl", "-s",
                        "-u", "fred:fred-pass", "-X", "POST", "-H", "Content-Type: application/vnd.kafka.json.v2+json",
                        "--data", "{\"records\":[{\"value\":{\"foo\":\"bar\"}}]}", rest.uri("/topics/" + topic).toString()));
                assertEquals(0, curl.exitCode(), curl.output());
                assertTrue(curl.output().contains("\"offsets\":[{\"partition\":0,\"offset\":0"), curl.output());
            } else {
                assertEquals(200, rest.post("/topics/" + topic, "application/vnd.kafka.json.v2+json",
                        "{\"records\":[{\"value\":{\"foo\":\"bar\"}}]}", basic("fred", "fred-pass")).status());
            }

            Rest.Response none = rest.get("/topics");
            assertEquals(401, none.status(), none.body());
            assertEquals("Basic realm=\"KafkaRest\", charset=\"UTF-8\"", none.header("WWW-Authenticate"));
            assertTrue(none.json().get("message").asText().contains("curl -u user:password"), none.body());
            assertEquals(401, rest.get("/topics", basic("fred", "wrong")).status());
            assertEquals(401, rest.get("/topics", basic("nobody", "fred-pass")).status());
            assertEquals(401, rest.get("/topics", "Authorization", "Bearer fred-pass").status(), "only Basic");
            Rest.Response noRole = rest.get("/topics", basic("harry", "harry-pass"));
            assertEquals(403, noRole.status(), "harry is a user, neither admin nor developer: " + noRole.body());
            assertEquals(200, rest.get("/topics/" + topic, basic("tom", "tom-pass")).status());
            // Confluent's authentication.skip.paths: an exact path, and a prefix with what is under it
            assertEquals(200, rest.get("/brokers").status(), "skipped");
            assertEquals(200, rest.get("/v3/clusters").status(), "skipped");
            String clusterId = rest.get("/v3/clusters").json().get("data").get(0).get("cluster_id").asText();
            assertEquals(200, rest.get("/v3/clusters/" + clusterId + "/topics").status(), "skipped");

            // a consumer instance belongs to the user that created it
            String group = KafkaCluster.uniqueTopic("basic-group");
            assertEquals(200, rest.post("/consumers/" + group, V2, "{\"name\":\"i\"}", basic("fred", "fred-pass")).status());
            String instance = "/consumers/" + group + "/instances/i";
            assertEquals(403, rest.delete(instance, basic("tom", "tom-pass")).status());
            assertEquals(204, rest.delete(instance, basic("fred", "fred-pass")).status());
            assertEquals(1, cluster.read(topic, 1).size());
        }
    }

    @Test
    void theUsersFileMayComeFromConfluentsJaasConfiguration(KafkaCluster cluster) throws Exception {
        Path jaas = Files.writeString(dir.resolve("jaas.conf"), "Portico-Test {\n"
                + "  org.eclipse.jetty.security.jaas.spi.PropertyFileLoginModule required\n"
                + "  file=\"" + users() + "\"\n  debug=\"false\";\n};\n");
        String before = System.getProperty("java.security.auth.login.config");
        assumeTrue(before == null, "a JAAS configuration is set for this JVM already");
        System.setProperty("java.security.auth.login.config", jaas.toString());
        TestPortico portico;
        try {
            portico = TestPortico.start(cluster, Map.of("authentication.method", "BASIC",
                    "authentication.realm", "Portico-Test"));
        } finally {
            System.clearProperty("java.security.auth.login.config");
        }
        try (portico) {
            assertEquals(200, portico.rest().get("/topics", basic("harry", "harry-pass")).status(), "roles default to *");
            assertEquals("Basic realm=\"Portico-Test\", charset=\"UTF-8\"",
                    portico.rest().get("/topics").header("WWW-Authenticate"));
        }

        IllegalStateException noFile = assertThrows(IllegalStateException.class, () -> TestPortico.start(cluster,
                Map.of("authentication.method", "BASIC")).close());
        ConfigException e = assertInstanceOf(ConfigException.class, noFile.getCause());
        assertTrue(e.getMessage().contains("authentication.users.file"), e.getMessage());
    }
    @Test
    void aStreamTokenOpensAnInstancesStreamThroughAnotherNodeWithBasicUsers(KafkaCluster cluster) throws Exception {
        // The node the browser asks checks the token (each node's own secret); the node holding the
        // instance takes the user that node names, as it does API keys.
        Map<String, String> config = Map.of("authentication.method", "BASIC",
                "authentication.users.file", users().toString(), "authentication.roles", "admin,developer",
                "nodes.secret", "nodes-" + java.util.UUID.randomUUID(),
                "nodes.topic", "__portico_nodes_" + java.util.UUID.randomUUID().toString().substring(0, 8),
                "nodes.heartbeat.interval.ms", "250");
        String topic = cluster.createTopic(KafkaCluster.uniqueTopic("basic-relay"), 1);
        cluster.produce(topic, 0, null, "r".getBytes(StandardCharsets.UTF_8));
        try (TestPortico holder = TestPortico.start(cluster, config); TestPortico relay = TestPortico.start(cluster, config)) {
            String group = "/consumers/basic-relay-" + java.util.UUID.randomUUID();
            Rest.Response created = holder.rest().post(group, V2, "{\"name\":\"i\",\"auto.offset.reset\":\"earliest\"}",
                    basic("fred", "fred-pass"));
            assertEquals(200, created.status(), created.body());
            String instance = group + "/instances/i";
            assertEquals(204, holder.rest().post(instance + "/subscription", V2, "{\"topics\":[\"" + topic + "\"]}",
                    basic("fred", "fred-pass")).status());
            Rest.Response minted = relay.rest().post("/sse/tokens", "application/json",
                    "{\"path\":\"" + instance + "/records\"}", basic("fred", "fred-pass"));
            assertEquals(200, minted.status(), minted.body());
            String token = java.net.URLEncoder.encode(minted.json().get("token").asText(), StandardCharsets.UTF_8);
            try (io.portico.proxy.testing.SseClient stream = io.portico.proxy.testing.SseClient.open(
                    relay.rest().uri(instance + "/records?sse_token=" + token))) {
                assertEquals(200, stream.status(), stream.errorBody());
                assertEquals(topic + "/0/0", stream.next(Duration.ofSeconds(30)).id());
            }
            assertEquals(204, holder.rest().delete(instance, basic("fred", "fred-pass")).status());
        } finally {
            cluster.admin().deleteTopics(List.of(config.get("nodes.topic"))).all().get();
        }
    }
}
