package io.portico.proxy.it;

import static io.portico.proxy.testing.V3Answers.assertErrorStartsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestPortico;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.resource.PatternType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Confluent v3's ACLs end to end against the real broker (Portico's embedded one runs Kafka's
 * StandardAuthorizer, its clients super users): search, create one (201 and {@code Location}),
 * create a batch (204), delete by filter; what Portico did is checked with Kafka's own admin
 * client. Each test's ACLs are of a principal of its own, so none binds another test's client.
 */
@ExtendWith(PorticoExtension.class)
class V3AclsIT {
    private static final String JSON = "application/json";

    @TempDir
    Path dir;

    private static String clusterId(KafkaCluster kafka) throws Exception {
        return kafka.admin().describeCluster().clusterId().get();
    }

    /** The ACLs Kafka has of {@code principal}. */
    private static Collection<AclBinding> kafkaAcls(KafkaCluster kafka, String principal) throws Exception {
        return kafka.admin().describeAcls(new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter(principal, null, AclOperation.ANY, AclPermissionType.ANY))).values().get();
    }

    private static String acl(String type, String name, String pattern, String principal, String host, String operation,
                              String permission) {
        return "{\"resource_type\":\"" + type + "\",\"resource_name\":\"" + name + "\",\"pattern_type\":\"" + pattern
                + "\",\"principal\":\"" + principal + "\",\"host\":\"" + host + "\",\"operation\":\"" + operation
                + "\",\"permission\":\"" + permission + "\"}";
    }

    private static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    @Test
    void aclsAreCreatedSearchedAndDeletedAsKafkaThenHasThem(Rest rest, KafkaCluster kafka) throws Exception {
        String cluster = clusterId(kafka);
        String acls = "/v3/clusters/" + cluster + "/acls";
        String principal = "User:alice-" + UUID.randomUUID();
        String topic = KafkaCluster.uniqueTopic("acl-orders");
        String byPrincipal = acls + "?principal=" + q(principal);
        assertEquals(0, rest.get(byPrincipal).json().get("data").size());

        // one, with its search as Location
        Rest.Response created = rest.post(acls, JSON, acl("topic", topic, "literal", principal, "*", "read", "allow"));
        assertEquals(201, created.status(), created.body());
        assertEquals("", created.body());
        String self = rest.base() + acls + "?resource_type=TOPIC&resource_name=" + q(topic) + "&pattern_type=LITERAL"
                + "&principal=" + q(principal) + "&host=*&operation=READ&permission=ALLOW";
        assertEquals(self, created.header("Location"));
        assertEquals(Set.of(new AclBinding(new org.apache.kafka.common.resource.ResourcePattern(ResourceType.TOPIC, topic,
                        PatternType.LITERAL), new org.apache.kafka.common.acl.AccessControlEntry(principal, "*",
                        AclOperation.READ, AclPermissionType.ALLOW))), Set.copyOf(kafkaAcls(kafka, principal)));

        // several together
        Rest.Response batch = rest.post(acls + ":batch", JSON, "{\"data\":["
                + acl("TOPIC", topic, "LITERAL", principal, "*", "WRITE", "ALLOW") + ","
                + acl("GROUP", "acl-group-", "PREFIXED", principal, "10.0.0.1", "READ", "DENY") + "]}");
        assertEquals(204, batch.status(), batch.body());
        assertEquals(3, kafkaAcls(kafka, principal).size());

        // searched: sorted by resource type, name, pattern type, principal, host, operation, permission
        JsonNode list = rest.get(byPrincipal).json();
        assertEquals("KafkaAclList", list.get("kind").asText());
        assertEquals(rest.base() + acls + "?resource_type=ANY&resource_name=&pattern_type=ANY&principal=" + q(principal)
                + "&host=&operation=ANY&permission=ANY", list.get("metadata").get("self").asText());
        List<String> seen = new ArrayList<>();
        for (JsonNode a : list.get("data")) {
            assertEquals("KafkaAcl", a.get("kind").asText());
            assertEquals(cluster, a.get("cluster_id").asText());
            assertEquals(principal, a.get("principal").asText());
            seen.add(a.get("resource_type").asText() + " " + a.get("resource_name").asText() + " "
                    + a.get("pattern_type").asText() + " " + a.get("host").asText() + " " + a.get("operation").asText()
                    + " " + a.get("permission").asText());
        }
        assertEquals(List.of("TOPIC " + topic + " LITERAL * READ ALLOW", "TOPIC " + topic + " LITERAL * WRITE ALLOW",
                "GROUP acl-group- PREFIXED 10.0.0.1 READ DENY"), seen);
        JsonNode read = list.get("data").get(0);
        assertEquals(created.header("Location"), read.get("metadata").get("self").asText());
        assertEquals(List.of(read), toList(rest.get(read.get("metadata").get("self").asText()
                .substring(rest.base().toString().length())).json().get("data")), "an ACL's self finds it alone");
        // a MATCH search finds the patterns that apply to a resource
        JsonNode groups = rest.get(acls + "?resource_type=GROUP&pattern_type=MATCH&resource_name=acl-group-7&principal="
                + q(principal)).json().get("data");
        assertEquals(1, groups.size(), groups.toString());
        assertEquals("PREFIXED", groups.get(0).get("pattern_type").asText());
        assertEquals(2, rest.get(acls + "?operation=read&principal=" + q(principal)).json().get("data").size());

        // deleted by filter: what was deleted is answered
        Rest.Response deleted = rest.delete(acls + "?resource_type=TOPIC&pattern_type=LITERAL&operation=ANY"
                + "&permission=ALLOW&principal=" + q(principal) + "&resource_name=" + q(topic));
        assertEquals(200, deleted.status(), deleted.body());
        assertEquals(2, deleted.json().get("data").size(), deleted.body());
        assertEquals(Set.of("READ", "WRITE"), toList(deleted.json().get("data")).stream()
                .map(a -> a.get("operation").asText()).collect(Collectors.toSet()));
        assertEquals(1, kafkaAcls(kafka, principal).size());
        assertEquals(1, rest.delete(acls + "?resource_type=ANY&pattern_type=ANY&operation=ANY&permission=ANY&principal="
                + q(principal)).json().get("data").size());
        assertEquals(0, kafkaAcls(kafka, principal).size());
    }

    private static List<JsonNode> toList(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }

    @Test
    void badSearchesAndAclsAreRefusedBeforeKafkaSeesThem(Rest rest, KafkaCluster kafka) throws Exception {
        String acls = "/v3/clusters/" + clusterId(kafka) + "/acls";
        String principal = "User:mallory-" + UUID.randomUUID();
        assertErrorStartsWith(rest.get(acls + "?resource_type=UNKNOWN"), 400, 400, "resource_type cannot be UNKNOWN");
        assertErrorStartsWith(rest.get(acls + "?operation=launch"), 404, 404, "The valid values for Operation do not include 'launch'");
        assertErrorStartsWith(rest.get(acls + "?resource_type="), 404, 404, "The valid values for ResourceType do not include ''");
        assertErrorStartsWith(rest.delete(acls + "?resource_type=TOPIC&pattern_type=UNKNOWN&operation=ANY&permission=ANY"), 400, 400,
                "pattern_type cannot be unspecified or UNKNOWN");
        assertErrorStartsWith(rest.get(acls + "?principal=" + "x".repeat(1025)), 400, 400, "principal has more than 1024 characters");
        assertErrorStartsWith(rest.delete(acls + "?pattern_type=ANY&operation=ANY&permission=ANY"), 400, 400,
                "resource_type cannot be unspecified or UNKNOWN");
        assertErrorStartsWith(rest.delete(acls + "?resource_type=ANY&pattern_type=ANY&operation=ANY"), 400, 400,
                "permission cannot be unspecified or UNKNOWN");
        assertErrorStartsWith(rest.post(acls, JSON, acl("ANY", "t", "LITERAL", principal, "*", "READ", "ALLOW")), 400, 400,
                "resource_type cannot be ANY");
        assertErrorStartsWith(rest.post(acls, JSON, acl("TOPIC", "t", "MATCH", principal, "*", "READ", "ALLOW")), 400, 400,
                "pattern_type cannot be MATCH");
        assertErrorStartsWith(rest.post(acls, JSON, acl("TOPIC", "t", "LITERAL", principal, "*", "ANY", "ALLOW")), 400, 400,
                "operation cannot be ANY");
        assertErrorStartsWith(rest.post(acls, JSON, "{\"resource_type\":\"TOPIC\",\"resource_name\":\"t\",\"pattern_type\":\"LITERAL\","
                + "\"principal\":\"" + principal + "\",\"operation\":\"READ\",\"permission\":\"ALLOW\"}"), 400, 400,
                "host is required.");
        assertErrorStartsWith(rest.post(acls, JSON, ""), 422, 42206, "Payload error. Null input provided. Data is required.");
        assertErrorStartsWith(rest.post(acls + ":batch", JSON, "{\"data\":null}"), 422, 42206,
                "Payload error. Empty input provided. Data is required.");
        StringBuilder many = new StringBuilder("{\"data\":[");
        for (int i = 0; i <= 1000; i++) {
            many.append(i == 0 ? "" : ",").append(acl("TOPIC", "t" + i, "LITERAL", principal, "*", "READ", "ALLOW"));
        }
        assertErrorStartsWith(rest.post(acls + ":batch", JSON, many.append("]}").toString()), 422, 42206,
                "Payload error. At most 1000 ACLs at once.");
        // what Kafka itself refuses: a principal without its type
        Rest.Response untyped = rest.post(acls, JSON, acl("TOPIC", "t", "LITERAL", "mallory", "*", "READ", "ALLOW"));
        assertErrorStartsWith(untyped, 400, 40002, "");
        assertTrue(untyped.json().get("message").asText().contains("mallory"), untyped.body());
        // a batch Kafka refuses in part says so, and keeps what it took (as Confluent's)
        try {
            Rest.Response partly = rest.post(acls + ":batch", JSON, "{\"data\":["
                    + acl("TOPIC", "t", "LITERAL", principal, "*", "READ", "ALLOW") + ","
                    + acl("TOPIC", "t", "LITERAL", "mallory", "*", "READ", "ALLOW") + "]}");
            assertEquals(400, partly.status(), partly.body());
            assertEquals(1, kafkaAcls(kafka, principal).size(), "the ACL Kafka took stays");
        } finally {
            kafka.admin().deleteAcls(List.of(new AclBindingFilter(ResourcePatternFilter.ANY,
                    new AccessControlEntryFilter(principal, null, AclOperation.ANY, AclPermissionType.ANY)))).all().get();
        }
        assertErrorStartsWith(rest.get("/v3/clusters/other/acls"), 404, 404, "Cluster other cannot be found.");
    }

    @Test
    void aclsTakeTheRoleOnEveryTopicAndGroup(KafkaCluster kafka) throws Exception {
        String scoped = "k-" + UUID.randomUUID();
        String reader = "k-" + UUID.randomUUID();
        String whole = "k-" + UUID.randomUUID();
        String grouped = "k-" + UUID.randomUUID();
        Path keys = Files.writeString(dir.resolve("keys.json"), "{\"keys\":["
                + "{\"name\":\"scoped\",\"key\":\"" + scoped + "\",\"role\":\"manager\",\"topics\":[\"orders*\"]},"
                + "{\"name\":\"reader\",\"key\":\"" + reader + "\",\"role\":\"reader\",\"topics\":[\"*\"]},"
                + "{\"name\":\"grouped\",\"key\":\"" + grouped + "\",\"role\":\"manager\",\"topics\":[\"*\"],"
                + "\"groups\":[\"app-*\"]},"
                + "{\"name\":\"whole\",\"key\":\"" + whole + "\",\"role\":\"manager\",\"topics\":[\"*\"]}]}");
        String acls = "/v3/clusters/" + clusterId(kafka) + "/acls";
        String principal = "User:bob-" + UUID.randomUUID();
        String body = acl("TOPIC", "orders", "LITERAL", principal, "*", "READ", "ALLOW");
        String refused = "This API key does not have the ";
        try (TestPortico portico = TestPortico.start(kafka, Map.of("authentication.method", "API_KEY",
                "api.keys.file", keys.toString()))) {
            Rest rest = portico.rest();
            assertEquals(401, rest.get(acls).status());
            String[] g = {"Authorization", "Bearer " + grouped};
            assertErrorStartsWith(rest.get(acls, g), 403, 403, refused + "reader role on the whole cluster");
            assertErrorStartsWith(rest.post(acls, JSON, body, g), 403, 403, refused + "manager role on the whole cluster");
            String[] s = {"Authorization", "Bearer " + scoped};
            assertErrorStartsWith(rest.get(acls, s), 403, 403, refused + "reader role on the whole cluster");
            assertErrorStartsWith(rest.post(acls, JSON, body, s), 403, 403, refused + "manager role on the whole cluster");
            assertErrorStartsWith(rest.post(acls + ":batch", JSON, "{\"data\":[" + body + "]}", s), 403, 403,
                    refused + "manager role on the whole cluster");
            assertErrorStartsWith(rest.delete(acls + "?resource_type=ANY&pattern_type=ANY&operation=ANY&permission=ANY&principal="
                    + q(principal), s), 403, 403, refused + "manager role on the whole cluster");
            String[] r = {"Authorization", "Bearer " + reader};
            assertEquals(200, rest.get(acls + "?principal=" + q(principal), r).status());
            assertErrorStartsWith(rest.post(acls, JSON, body, r), 403, 403, refused + "manager role");
            assertEquals(0, kafkaAcls(kafka, principal).size());
            String[] w = {"Authorization", "Bearer " + whole};
            assertEquals(201, rest.post(acls, JSON, body, w).status());
            assertEquals(1, kafkaAcls(kafka, principal).size());
            assertEquals(1, rest.delete(acls + "?resource_type=ANY&pattern_type=ANY&operation=ANY&permission=ANY"
                    + "&principal=" + q(principal), w).json().get("data").size());
        }
    }
}
