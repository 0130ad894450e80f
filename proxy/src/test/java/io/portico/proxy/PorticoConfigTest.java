package io.portico.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PorticoConfigTest {

    /**
     * The configuration table's figure for {@code memory.consumers.max.bytes}: a consumer instance,
     * a walking reader or a partition stream, with the consumer settings as shipped, costs 1 MiB.
     */
    @Test
    void aConsumerAsShippedCostsOneMebibyte() {
        PorticoConfig config = PorticoConfig.defaults();
        assertEquals(1024 * 1024, io.portico.sessions.HeldRecords.consumerCost(config.consumerConfig("localhost:9092")));
        assertTrue(PorticoConfig.Key.MEMORY_CONSUMERS_MAX_BYTES.doc().contains("1 MiB"));
    }

    @Test
    void defaultsServeConfluentsPortWithAnEmbeddedBroker() {
        PorticoConfig c = PorticoConfig.defaults();
        assertEquals(List.of(URI.create("http://0.0.0.0:8082")), c.listeners());
        assertTrue(c.embedded());
        assertNull(c.hostName());
        assertEquals(Duration.ofSeconds(5), c.metadataTimeout());
        assertEquals("0", c.producerConfig("b:9092").get("linger.ms"), "synchronous produce must not linger");
        assertEquals("5000", c.producerConfig("b:9092").get("max.block.ms"), "bounded by metadata.timeout.ms");
        assertEquals("1", c.producerConfig("b:9092").get("max.in.flight.requests.per.connection"),
                "what arrives while a request is out goes in one batch");
        assertEquals("1", c.transactionalProducerConfig("b:9092").get("max.in.flight.requests.per.connection"));
    }

    @Test
    void kafkaClientKeysStartingWithClientPassThroughWhole() {
        PorticoConfig c = PorticoConfig.from(Map.of("client.rack", "use1-az1", "client.dns.lookup", "use_all_dns_ips"));
        for (Map<String, Object> client : List.of(c.producerConfig(c.bootstrapServers()),
                c.consumerConfig(c.bootstrapServers()), c.adminConfig(c.bootstrapServers()))) {
            assertEquals("use1-az1", client.get("client.rack"));
            assertEquals("use_all_dns_ips", client.get("client.dns.lookup"));
            assertFalse(client.containsKey("rack"));
            assertFalse(client.containsKey("dns.lookup"));
        }
    }

    @Test
    void clientSettingsPassThroughByPrefix() {
        PorticoConfig c = PorticoConfig.from(Map.of(
                "bootstrap.servers", "k1:9092,k2:9092",
                "producer.linger.ms", "3",
                "producer.max.in.flight.requests.per.connection", "5",
                "consumer.max.poll.records", "7",
                "admin.retries", "2",
                "client.client.rack", "r1",
                "security.protocol", "PLAINTEXT"));
        assertEquals("k1:9092,k2:9092", c.bootstrapServers());
        Map<String, Object> producer = c.producerConfig(c.bootstrapServers());
        assertEquals("3", producer.get("linger.ms"));
        assertEquals("5", producer.get("max.in.flight.requests.per.connection"));
        assertEquals("r1", producer.get("client.rack"));
        assertEquals("PLAINTEXT", producer.get("security.protocol"));
        assertEquals("k1:9092,k2:9092", producer.get("bootstrap.servers"));
        assertEquals("7", c.consumer().get("max.poll.records"));
        assertEquals("PLAINTEXT", c.consumer().get("security.protocol"));
        assertEquals("2", c.adminConfig("x:1").get("retries"));
    }

    @Test
    void badValuesNameTheirKey() {
        assertKeyNamed("listeners", Map.of("listeners", "ftp://host:1"));
        assertKeyNamed("listeners", Map.of("listeners", "http://host"));
        assertKeyNamed("listeners", Map.of("listeners", " , "));
        assertKeyNamed("metadata.timeout.ms", Map.of("metadata.timeout.ms", "five"));
        assertKeyNamed("metadata.timeout.ms", Map.of("metadata.timeout.ms", "0"));
        assertKeyNamed("topics.show.internal", Map.of("topics.show.internal", "yes"));
        assertKeyNamed("request.body.max.bytes", Map.of("request.body.max.bytes", "-1"));
        assertKeyNamed("listner", Map.of("listner", "http://0.0.0.0:1"));
        assertKeyNamed("authentication.skip.paths", Map.of("authentication.skip.paths", "topics"));
        assertKeyNamed("authentication.skip.paths", Map.of("authentication.skip.paths", "/v3/*/records"));
    }

    @Test
    void aRegistryUrlRefusedIsQuotedWithoutItsPassword() {
        for (String url : new String[] {"htp://user:s3cret@registry:8081", "https://user:pa ss/s3cret@registry:8081",
            "https://user:s3cret@@registry:8081/a b"}) {
            ConfigException e = assertThrows(ConfigException.class,
                    () -> PorticoConfig.from(Map.of("schema.registry.url", url)));
            assertTrue(e.getMessage().contains("schema.registry.url"), e.getMessage());
            assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
        }
        assertEquals("https://registry:8081/x", PorticoConfig.withoutUserInfo("https://registry:8081/x"));
    }

    @Test
    void confluentsCorsKeysAreTakenAndAPreflightIsNeverAuthenticated() {
        PorticoConfig c = PorticoConfig.from(Map.of("access.control.allow.origin", "https://app.example",
                "access.control.expose.headers", "Location", "access.control.skip.options", "true"));
        assertEquals("Location", c.operations().corsExposedHeaders());
        assertKeyNamed("access.control.skip.options", Map.of("access.control.skip.options", "false"));
        // An entry no browser's Origin could equal (a path, a trailing /) would fail CORS without a word.
        for (String bad : java.util.List.of("https://app.example/", "https://app.example/path", "app.example",
                "https://user@app.example")) {
            assertKeyNamed("access.control.allow.origin", Map.of("access.control.allow.origin", "*, " + bad));
        }
        PorticoConfig.from(Map.of("access.control.allow.origin",
                "https://*.example.com, http://localhost:*, null, *://*.x.org:*, *.example.net"));
    }

    @Test
    void aCredentialsFileTheAuthenticationMethodDoesNotUseRefusesToStart() {
        assertKeyNamed("authentication.method", Map.of("api.keys.file", "/etc/portico/keys.json"));
        assertKeyNamed("authentication.method", Map.of("authentication.method", "BASIC",
                "api.keys.file", "/etc/portico/keys.json"));
        assertKeyNamed("authentication.method", Map.of("authentication.users.file", "/etc/portico/users"));
        assertKeyNamed("authentication.method", Map.of("authentication.method", "API_KEY",
                "api.keys.file", "/etc/portico/keys.json", "authentication.users.file", "/etc/portico/users"));
        assertTrue(PorticoConfig.from(Map.of("authentication.method", "API_KEY", "api.keys.file",
                "/etc/portico/keys.json")).security().apiKeys());
    }

    @Test
    void aSecretThatCouldBeGuessedRefusesToStart() {
        assertKeyNamed("nodes.secret", Map.of("nodes.secret", "abc"));
        assertKeyNamed("nodes.secret", Map.of("nodes.secret", "0123456789abcdé€")); // not sent intact in a header
        assertKeyNamed("nodes.secret", Map.of("nodes.secret", "0123456789 abcdef"));
        assertKeyNamed("sse.token.secret", Map.of("sse.token.secret", "short-secret"));
        PorticoConfig.from(Map.of("nodes.secret", "0123456789abcdef", "sse.token.secret", "0123456789abcdef"));
    }

    @Test
    void anIdThatWouldMakeGeneratedInstanceNamesUnreachableRefusesToStart() {
        assertKeyNamed("id", Map.of("id", "edge/1")); // with or without nodes.secret
        assertKeyNamed("id", Map.of("id", "edge/1", "nodes.secret", "0123456789abcdef"));
        assertEquals("edge-1", PorticoConfig.from(Map.of("id", "edge-1")).serverId());
    }

    @Test
    void aProduceTimeoutTheProducerCannotTakeIsRefusedNamingItsKey() {
        // The producer's delivery.timeout.ms is an int: more would fail start-up as a Kafka error.
        assertKeyNamed("produce.timeout.ms", Map.of("produce.timeout.ms", "3000000000"));
        PorticoConfig.from(Map.of("produce.timeout.ms", String.valueOf(Integer.MAX_VALUE)));
    }

    @Test
    void aBootstrapSetButEmptyStopsStartUpWhereNoneRunsTheEmbeddedBroker() {
        // A deployment's variable left blank must not run a throw-away broker.
        assertKeyNamed("bootstrap.servers", Map.of("bootstrap.servers", ""));
        assertKeyNamed("bootstrap.servers", Map.of("bootstrap.servers", "  "));
        assertNull(PorticoConfig.from(Map.of()).bootstrapServers());
        assertKeyNamed("bootstrap.servers", ConfigLoader.raw(null, Map.of("PORTICO_BOOTSTRAP_SERVERS", "")));
    }

    @Test
    void anAdvertisedListenerMayHaveAPathWhereABoundOneMayNot() {
        assertEquals(List.of(URI.create("https://gw.example.com:443/kafka")), PorticoConfig.from(
                Map.of("advertised.listeners", "https://gw.example.com:443/kafka//")).advertisedListeners());
        assertKeyNamed("advertised.listeners", Map.of("advertised.listeners", "https://gw.example.com:443/kafka?x=1"));
        assertKeyNamed("listeners", Map.of("listeners", "http://0.0.0.0:8082/kafka"));
        assertEquals(List.of(URI.create("http://0.0.0.0:8082/")),
                PorticoConfig.from(Map.of("listeners", "http://0.0.0.0:8082/")).listeners());
    }

    @Test
    void clientCertificatesAskedForWithoutAnHttpsListenerStopStartUp() {
        assertKeyNamed("ssl.client.auth", Map.of("ssl.client.auth", "required", "listeners", "http://0.0.0.0:8443"));
        assertKeyNamed("ssl.client.auth", Map.of("ssl.client.auth", "requested"));
        // An https admin listener does not close the API's plain http one.
        assertKeyNamed("ssl.client.auth", Map.of("ssl.client.auth", "required", "listeners", "http://0.0.0.0:8082",
                "admin.listeners", "https://127.0.0.1:9443", "ssl.keystore.location", "/nonexistent.p12"));
        PorticoConfig.from(Map.of("ssl.client.auth", "none", "listeners", "http://0.0.0.0:8443"));
    }

    @Test
    void anSslKeyThatIsNotAListenersGoesToNoKafkaClientUnprefixed() {
        // Confluent's listener key, copied: a Kafka client key too, which would turn off the
        // clients' check of the brokers' host names.
        ConfigException e = assertThrows(ConfigException.class, () -> PorticoConfig.from(Map.of(
                "ssl.endpoint.identification.algorithm", "")));
        assertTrue(e.getMessage().contains("client.ssl.endpoint.identification.algorithm"), e.getMessage());
        assertEquals("", PorticoConfig.from(Map.of("client.ssl.endpoint.identification.algorithm", ""))
                .adminConfig("k:9092").get("ssl.endpoint.identification.algorithm"));
    }

    @Test
    void aClientsOwnBootstrapServersStopsStartUpNamingTheOneKey() {
        for (String key : List.of("client.bootstrap.servers", "producer.bootstrap.servers", "consumer.bootstrap.servers",
                "admin.bootstrap.servers")) {
            ConfigException e = assertThrows(ConfigException.class, () -> PorticoConfig.from(Map.of(key, "kafka:9092")));
            assertTrue(e.getMessage().contains(key) && e.getMessage().contains("set bootstrap.servers"), e.getMessage());
        }
    }

    @Test
    void aTypoOfPorticosOwnKeyUnderAPassedPrefixIsNotPassedOnSilently() {
        for (String[] typo : new String[][] {{"admin.listener", "admin.listeners"},
                {"embedded.kafka.dirs", "embedded.kafka.dir"}, {"consumer.request.timout.ms", "consumer.request.timeout.ms"}}) {
            ConfigException e = assertThrows(ConfigException.class, () -> PorticoConfig.from(Map.of(typo[0], "x")), typo[0]);
            assertTrue(e.getMessage().contains(typo[0]) && e.getMessage().contains("did you mean " + typo[1]), e.getMessage());
        }
        // Kafka's own settings near one of Portico's still pass.
        assertEquals("5", PorticoConfig.from(Map.of("admin.retries", "5")).adminConfig("k:9092").get("retries"));
        assertEquals("300", PorticoConfig.from(Map.of("consumer.max.poll.records", "300")).consumer().get("max.poll.records"));
    }

    @Test
    void theEmbeddedBrokersOwnListenersAndDataAreNotSettings() {
        for (String key : List.of("embedded.kafka.listeners", "embedded.kafka.log.dirs", "embedded.kafka.node.id")) {
            ConfigException e = assertThrows(ConfigException.class, () -> PorticoConfig.from(Map.of(key, "x")), key);
            assertTrue(e.getMessage().contains(key) && e.getMessage().contains("set by Portico"), e.getMessage());
        }
        assertEquals("false", PorticoConfig.from(Map.of("embedded.kafka.auto.create.topics.enable", "false"))
                .embeddedKafka().get("auto.create.topics.enable"));
    }

    @Test
    void hostNameIsAHostNameAlone() {
        for (String bad : List.of("https://proxy.example.com", "proxy.example.com:8082", "proxy/rest", "a b")) {
            ConfigException e = assertThrows(ConfigException.class, () -> PorticoConfig.from(Map.of("host.name", bad)), bad);
            assertTrue(e.getMessage().contains("host.name"), e.getMessage());
        }
        for (String good : List.of("proxy1.example.com", "localhost", "10.0.0.7", "[::1]")) {
            PorticoConfig.from(Map.of("host.name", good));
        }
    }

    @Test
    void theHeadsBudgetMustHoldALargestHead() {
        ConfigException e = assertThrows(ConfigException.class, () -> PorticoConfig.from(Map.of(
                "memory.heads.max.bytes", "131072")));
        assertTrue(e.getMessage().contains("memory.heads.max.bytes") && e.getMessage().contains("request.headers.max.bytes"),
                e.getMessage());
        assertEquals(196608, PorticoConfig.from(Map.of("memory.heads.max.bytes", "196608")).memory().heads());
        PorticoConfig.from(Map.of("memory.heads.max.bytes", "131072", "request.headers.max.bytes", "40000"));
    }

    @Test
    void aProducerRequestTimeoutPastTheProduceTimeoutStopsStartUpNamingItsKeys() {
        ConfigException e = assertThrows(ConfigException.class, () -> PorticoConfig.from(Map.of(
                "produce.timeout.ms", "10000", "producer.request.timeout.ms", "15000")));
        assertTrue(e.getMessage().contains("produce.timeout.ms") && e.getMessage().contains("producer.request.timeout.ms"),
                e.getMessage());
        PorticoConfig.from(Map.of("produce.timeout.ms", "10000", "producer.request.timeout.ms", "10000"));
    }

    @Test
    void aRequestTimeoutForEveryClientAboveTheMetadataBoundStillMakesAnAdminClient() {
        Map<String, Object> admin = PorticoConfig.from(Map.of("request.timeout.ms", "30000")).adminConfig("k:9092");
        assertEquals("30000", admin.get("request.timeout.ms"));
        assertEquals("30000", admin.get("default.api.timeout.ms"), "no smaller than request.timeout.ms, as Kafka requires");
        Map<String, Object> plain = PorticoConfig.from(Map.of()).adminConfig("k:9092");
        assertEquals("5000", plain.get("default.api.timeout.ms"));
        assertEquals("1000", PorticoConfig.from(Map.of("admin.default.api.timeout.ms", "1000")).adminConfig("k:9092")
                .get("default.api.timeout.ms"), "as given");
    }

    private static void assertKeyNamed(String key, Map<String, String> raw) {
        ConfigException e = assertThrows(ConfigException.class, () -> PorticoConfig.from(raw));
        assertTrue(e.getMessage().contains(key), e.getMessage());
    }

    @Test
    void environmentVariablesOverrideTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("p.properties");
        Files.writeString(file, "bootstrap.servers=file:9092\nmetadata.timeout.ms=100\n");
        PorticoConfig c = ConfigLoader.load(file, Map.of(
                "PORTICO_BOOTSTRAP_SERVERS", "env:9092",
                "PORTICO_PRODUCER_COMPRESSION_TYPE", "lz4",
                "HOME", "/root"));
        assertEquals("env:9092", c.bootstrapServers());
        assertEquals(Duration.ofMillis(100), c.metadataTimeout());
        assertEquals("lz4", c.producer().get("compression.type"));
    }

    @Test
    void environmentVariablesNamingNoSettingAreLeftOutButUnknownFileKeysStopStartUp(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("p.properties");
        Files.writeString(file, "metadata.timeout.ms=100\n");
        // A client's shell (the samples' PORTICO_URL) and Kubernetes' service links for a Service named portico.
        PorticoConfig c = ConfigLoader.load(file, Map.ofEntries(
                Map.entry("PORTICO_URL", "http://localhost:8082"),
                Map.entry("PORTICO_API_KEY", "secret-key-of-a-client"),
                Map.entry("PORTICO_SERVICE_HOST", "10.0.0.7"),
                Map.entry("PORTICO_PORT_8082_TCP_PROTO", "tcp"),
                Map.entry("PORTICO_PORT", "tcp://10.0.0.7:8082"),
                Map.entry("PORTICO_SERVICE_PORT_HTTP", "8082"),
                Map.entry("PORTICO_METRICS_SERVICE_HOST", "fd00::7"),
                Map.entry("PORTICO_KAFKA_PORT_9092_TCP_ADDR", "10.0.0.9"),
                // Services named portico-admin and portico-producer: their links fit prefixes passed on to Kafka's clients.
                Map.entry("PORTICO_ADMIN_PORT", "tcp://10.96.1.2:9090"),
                Map.entry("PORTICO_ADMIN_SERVICE_HOST", "10.96.1.2"),
                Map.entry("PORTICO_PRODUCER_PORT_9092_TCP_ADDR", "10.96.1.3"),
                Map.entry("PORTICO_HTTPS_URL", "https://localhost:8443"),
                Map.entry("PORTICO_BOOTSTRAP_SERVERS", "env:9092"),
                Map.entry("PORTICO_CLIENT_RACK", "use1-az1")));
        assertEquals("env:9092", c.bootstrapServers());
        assertEquals(Duration.ofMillis(100), c.metadataTimeout());
        assertEquals("use1-az1", c.producerConfig(c.bootstrapServers()).get("client.rack"));
        assertNull(c.producerConfig(c.bootstrapServers()).get("port.9092.tcp.addr"), "not passed on");
        assertNull(c.adminConfig(c.bootstrapServers()).get("port"), "not passed on");
        assertNull(c.adminConfig(c.bootstrapServers()).get("service.host"), "not passed on");

        Files.writeString(file, "url=http://localhost:8082\n");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of()));
        assertTrue(e.getMessage().contains("url"), e.getMessage());
        // A misspelt setting still stops start-up (it would start the embedded broker, or no authentication).
        Files.writeString(file, "");
        for (String typo : List.of("PORTICO_BOOTSTRAP_SERVER", "PORTICO_AUTHENTICATION_METHODE", "PORTICO_PORTS",
                "PORTICO_WEB_PORT")) { // the last is shaped as a service link, but its value is not an address
            e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, Map.of(typo, "x")), typo);
            assertTrue(e.getMessage().contains(ConfigLoader.keyOf(typo.substring("PORTICO_".length()))), e.getMessage());
        }
    }

    @Test
    void theConfigurationsTextNamesNoSecret() {
        PorticoConfig c = PorticoConfig.from(Map.of("nodes.secret", "nodes-secret-value-0123456789",
                "node.url", "http://n1:8082",
                "schema.registry.url", "http://registry:8081",
                "schema.registry.basic.auth.user.info", "user:registry-password-value",
                "schema.registry.ssl.truststore.password", "truststore-password-value",
                "sse.token.secret", "sse-token-secret-value-0123456789"));
        String text = c.nodes() + " " + c.schemaRegistry() + " " + c.sse() + " " + c.security();
        for (String secret : List.of("nodes-secret-value", "registry-password-value", "truststore-password-value",
                "sse-token-secret-value")) {
            assertFalse(text.contains(secret), text);
        }
        assertTrue(text.contains("registry:8081") && text.contains("http://n1:8082"), text);
    }

    @Test
    void environmentNamesMapToKeys() {
        assertEquals("bootstrap.servers", ConfigLoader.keyOf("BOOTSTRAP_SERVERS"));
        assertEquals("producer.linger.ms", ConfigLoader.keyOf("PRODUCER_LINGER_MS"));
        assertEquals("a_b", ConfigLoader.keyOf("A__B"));
        assertEquals("a-b", ConfigLoader.keyOf("A___B"));
    }

    @Test
    void everyKeysEnvironmentNameSetsIt() {
        for (PorticoConfig.Key k : PorticoConfig.Key.values()) {
            String env = k.environmentName();
            assertTrue(env.startsWith("PORTICO_"), env);
            assertEquals(k.key(), ConfigLoader.keyOf(env.substring("PORTICO_".length())), env);
        }
        assertEquals("PORTICO_A__B_C___D", ConfigLoader.environmentName("a_b.c-d"));
    }

    @Test
    void everyDefaultIsValid() {
        for (PorticoConfig.Key k : PorticoConfig.Key.values()) {
            if (k != PorticoConfig.Key.BOOTSTRAP_SERVERS) { // set but empty is refused (see above)
                PorticoConfig.from(Map.of(k.key(), k.defaultValue())); // explicit defaults parse as the implicit ones
            }
        }
    }

    @Test
    void theProducerBufferIsAnEighthOfTheHeapUpTo128MiBAndHolds512BatchesOf16To64KiB() {
        Map<Long, long[]> heapToBufferAndBatch = Map.of(
                64L << 20, new long[] {8L << 20, 16384},
                128L << 20, new long[] {16L << 20, 32768},
                192L << 20, new long[] {24L << 20, 32768},
                256L << 20, new long[] {32L << 20, 65536},
                512L << 20, new long[] {64L << 20, 65536},
                1L << 30, new long[] {128L << 20, 65536},
                6L << 30, new long[] {128L << 20, 65536});
        heapToBufferAndBatch.forEach((heap, expected) -> {
            Map<String, Object> producer = PorticoConfig.from(Map.of(), heap).producerConfig("b:1");
            assertEquals(String.valueOf(expected[0]), producer.get("buffer.memory"), "heap " + heap);
            assertEquals(String.valueOf(expected[1]), producer.get("batch.size"), "heap " + heap);
        });
        Map<String, Object> told = PorticoConfig.from(Map.of("producer.batch.size", "4096", "producer.buffer.memory",
                "1048576"), 6L << 30).producerConfig("b:1");
        assertEquals("4096", told.get("batch.size"));
        assertEquals("1048576", told.get("buffer.memory"));
        Map<String, Object> smallBuffer = PorticoConfig.from(Map.of("producer.buffer.memory", "1048576"), 6L << 30)
                .producerConfig("b:1");
        assertEquals("16384", smallBuffer.get("batch.size"), "a buffer set small keeps Kafka's batch size");
        assertEquals("32768", PorticoConfig.from(Map.of("producer.buffer.memory", String.valueOf(24L << 20)), 6L << 30)
                .producerConfig("b:1").get("batch.size"), "24 MiB of buffer: 48 KiB a batch, down to a power of two");
        assertEquals("65536", PorticoConfig.from(Map.of("producer.buffer.memory", "536870912"), 6L << 30)
                .producerConfig("b:1").get("batch.size"), "never more than 64 KiB");
    }

    @Test
    void keyedRequestsProducersKeepKafkasBatchesAndAtMost32MiBOfBufferUnlessSet() {
        Map<String, Object> keyed = PorticoConfig.from(Map.of(), 6L << 30).transactionalProducerConfig("b:1");
        assertEquals("16384", keyed.get("batch.size"));
        assertEquals(String.valueOf(32L << 20), keyed.get("buffer.memory"));
        assertEquals(String.valueOf(8L << 20), PorticoConfig.from(Map.of(), 64L << 20)
                .transactionalProducerConfig("b:1").get("buffer.memory"), "an eighth of a small heap");
        Map<String, Object> told = PorticoConfig.from(Map.of("producer.batch.size", "65536",
                "producer.buffer.memory", "1048576"), 6L << 30).transactionalProducerConfig("b:1");
        assertEquals("65536", told.get("batch.size"));
        assertEquals("1048576", told.get("buffer.memory"));
    }

    @Test
    void memoryBudgetsAreSharesOfTheHeapOrBytes() {
        long heap = 256L << 20;
        PorticoConfig c = PorticoConfig.from(Map.of(), heap);
        assertEquals((long) (heap * 0.15), c.memory().requests());
        assertEquals((long) (heap * 0.15), c.memory().responses());
        assertEquals(heap / 4, c.memory().consumers());
        assertEquals(String.valueOf(32L << 20), c.producerConfig("b:1").get("buffer.memory"));
        assertEquals("65536", c.producerConfig("b:1").get("batch.size"), "512 batches in the buffer");
        PorticoConfig small = PorticoConfig.from(Map.of("memory.requests.max.bytes", "2097152",
                "memory.consumers.max.bytes", "50%", "producer.buffer.memory", "1048576"), 64L << 20);
        assertEquals(2097152, small.memory().requests());
        assertEquals(32L << 20, small.memory().consumers());
        assertEquals("1048576", small.producerConfig("b:1").get("buffer.memory"));
        assertKeyNamed("memory.responses.max.bytes", Map.of("memory.responses.max.bytes", "0%"));
        assertKeyNamed("memory.responses.max.bytes", Map.of("memory.responses.max.bytes", "150%"));
        assertKeyNamed("memory.responses.max.bytes", Map.of("memory.responses.max.bytes", "lots"));
        assertKeyNamed("memory.responses.max.bytes", Map.of("memory.responses.max.bytes", "1000"));
    }

    @Test
    void consumerInstancesFollowTheConsumersBudgetUnlessSet() {
        long heap = 256L << 20; // 25% = 64 MiB: half of it is 32 consumers of 1 MiB
        assertEquals(32, PorticoConfig.from(Map.of(), heap).reads().instancesMax());
        // The default heap of a 24 GiB machine: 1.5 GiB for consumers, 768 instances of 2 MiB.
        assertEquals(768, PorticoConfig.from(Map.of(), 6L << 30).reads().instancesMax());
        assertEquals(1000, PorticoConfig.from(Map.of(), 8L << 30).reads().instancesMax());
        assertEquals(500, PorticoConfig.from(Map.of("consumer.instances.max", "500"), heap).reads().instancesMax());
    }

    @Test
    void choicesAndListsAreChecked() {
        assertKeyNamed("authentication.method", Map.of("authentication.method", "LDAP"));
        assertKeyNamed("ssl.client.auth", Map.of("ssl.client.auth", "maybe"));
        assertKeyNamed("ssl.enabled.protocols", Map.of("ssl.enabled.protocols", " , "));
        PorticoConfig c = PorticoConfig.from(Map.of("ssl.enabled.protocols", "TLSv1.3", "authentication.method", "none"));
        assertEquals(List.of("TLSv1.3"), c.security().enabledProtocols());
        assertEquals(false, c.security().apiKeys());
    }

    @Test
    void idempotencyKeysAreOnWithTheirTopicByDefaultAndItsNameIsChecked() {
        PorticoConfig.Idempotency keys = PorticoConfig.defaults().idempotency();
        assertTrue(keys.enabled());
        assertEquals("_portico_idempotency", keys.topic());
        assertEquals(8, keys.partitions());
        assertEquals(Duration.ofDays(1), keys.retention());
        assertEquals(Duration.ofSeconds(10), keys.waitFor());
        PorticoConfig off = PorticoConfig.from(Map.of("idempotency.enabled", "false", "idempotency.topic", "state.keys",
                "idempotency.retention.ms", "3600000"));
        assertFalse(off.idempotency().enabled());
        assertEquals("state.keys", off.idempotency().topic());
        assertEquals(Duration.ofHours(1), off.idempotency().retention());
        assertKeyNamed("idempotency.topic", Map.of("idempotency.topic", "no spaces"));
        assertKeyNamed("idempotency.retention.ms", Map.of("idempotency.retention.ms", "1000"));
        assertKeyNamed("idempotency.response.max.bytes", Map.of("idempotency.response.max.bytes", "2000000"));
    }

    @Test
    void consumersReadCommittedAndProducersAreIdempotentUnlessTold() {
        PorticoConfig c = PorticoConfig.defaults();
        assertEquals("read_committed", c.consumerConfig("b:1").get("isolation.level"));
        assertEquals("true", c.producerConfig("b:1").get("enable.idempotence"));
        PorticoConfig told = PorticoConfig.from(Map.of("consumer.isolation.level", "read_uncommitted",
                "producer.enable.idempotence", "false", "producer.acks", "1"));
        assertEquals("read_uncommitted", told.consumerConfig("b:1").get("isolation.level"));
        assertEquals("false", told.producerConfig("b:1").get("enable.idempotence"));
    }

    @Test
    void aBadKafkaSettingOfTheAdminClientOrABootstrapServerWithoutAPortNamesItsKey() {
        ConfigException port = assertThrows(ConfigException.class, () -> PorticoConfig.from(Map.of(
                "bootstrap.servers", "k1:9092, kafka")));
        assertTrue(port.getMessage().contains("bootstrap.servers") && port.getMessage().contains("'kafka' is not host:port"),
                port.getMessage());
        PorticoConfig.from(Map.of("bootstrap.servers", "k1:9092,[::1]:9093"));
        ConfigException admin = assertThrows(ConfigException.class, () -> Portico.validateAdminConfig(
                PorticoConfig.from(Map.of("admin.request.timeout.ms", "abc")).adminConfig("k:9092")));
        assertTrue(admin.getMessage().contains("admin.*") && admin.getMessage().contains("request.timeout.ms"),
                admin.getMessage());
        Portico.validateAdminConfig(PorticoConfig.defaults().adminConfig("k:9092"));
    }

    @Test
    void consumersHaveRoomInTheirSocketForAWholeFetchUnlessTold() {
        Map<String, Object> shipped = PorticoConfig.defaults().consumerConfig("b:1");
        long receive = Long.parseLong((String) shipped.get("receive.buffer.bytes"));
        assertTrue(receive >= Long.parseLong((String) shipped.get("fetch.max.bytes")),
                "a fetch response fits the receive buffer: " + shipped);
        assertEquals(1024 * 1024, receive);
        assertEquals("65536", PorticoConfig.from(Map.of("consumer.receive.buffer.bytes", "65536"))
                .consumerConfig("b:1").get("receive.buffer.bytes"));
    }

    @Test
    void aLingeringProducerStillStartsEachRequestLeavingRoomForTheLinger() {
        // Kafka refuses a producer whose delivery.timeout.ms < linger.ms + request.timeout.ms.
        for (Map<String, String> settings : List.of(Map.of("producer.linger.ms", "5"),
                Map.of("producer.linger.ms", "20", "produce.timeout.ms", "2000"),
                Map.of("producer.linger.ms", "100", "producer.delivery.timeout.ms", "60000"))) {
            Map<String, Object> config = PorticoConfig.from(settings).producerConfig("localhost:1");
            long delivery = Long.parseLong(config.get("delivery.timeout.ms").toString());
            long linger = Long.parseLong(config.get("linger.ms").toString());
            long request = Long.parseLong(config.get("request.timeout.ms").toString());
            assertTrue(linger + request <= delivery, settings + ": " + config);
            new org.apache.kafka.clients.producer.KafkaProducer<>(config,
                    new org.apache.kafka.common.serialization.ByteArraySerializer(),
                    new org.apache.kafka.common.serialization.ByteArraySerializer()).close(java.time.Duration.ZERO);
        }
        assertEquals("15000", PorticoConfig.defaults().producerConfig("b:1").get("request.timeout.ms"),
                "half the delivery timeout: a request that times out is retried within it");
        assertEquals("30000", PorticoConfig.from(Map.of("produce.timeout.ms", "120000")).producerConfig("b:1")
                .get("request.timeout.ms"), "Kafka's 30 s at most");
        assertEquals("1000", PorticoConfig.from(Map.of("producer.request.timeout.ms", "1000"))
                .producerConfig("b:1").get("request.timeout.ms"), "a request timeout that is set stands");
    }

    @Test
    void producerSettingsThatContradictIdempotenceFailStartUpNamingThem() {
        Portico.validateProducerConfig(PorticoConfig.defaults().producerConfig("b:1"), true);
        ConfigException acks = assertThrows(ConfigException.class, () -> Portico.validateProducerConfig(
                PorticoConfig.from(Map.of("producer.acks", "1")).producerConfig("b:1"), false));
        assertTrue(acks.getMessage().contains("producer.*") && acks.getMessage().contains("acks"), acks.getMessage());
        // Turned off explicitly, the shared producer may take acks=1; keyed requests' producers force acks=all.
        Portico.validateProducerConfig(PorticoConfig.from(Map.of("producer.acks", "1", "producer.enable.idempotence",
                "false")).producerConfig("b:1"), true);
        ConfigException inFlight = assertThrows(ConfigException.class, () -> Portico.validateProducerConfig(
                PorticoConfig.from(Map.of("producer.enable.idempotence", "false",
                        "producer.max.in.flight.requests.per.connection", "10")).producerConfig("b:1"), true));
        assertTrue(inFlight.getMessage().contains("Idempotency-Key"), inFlight.getMessage());
    }

    /** The README's configuration table is the one {@link PorticoConfig.Key} makes; paste the expected one when they differ. */
    @Test
    void oneKeysShareOfTheIdempotencyResultsIsHalfOfThemUnlessSet() {
        PorticoConfig.Idempotency defaults = PorticoConfig.from(Map.of("idempotency.memory.max.bytes", "8388608")).idempotency();
        assertEquals(4L << 20, defaults.perKeyMaxBytes());
        PorticoConfig.Idempotency set = PorticoConfig.from(Map.of("idempotency.memory.max.bytes", "8388608",
                "idempotency.memory.per.key.max.bytes", "1048576")).idempotency();
        assertEquals(1L << 20, set.perKeyMaxBytes());
        // Half of 1 MiB is less than the largest result (512 KiB and its 250 bytes): that much, then.
        assertEquals(524_288L + 250, PorticoConfig.from(Map.of("idempotency.memory.max.bytes", "1048576"))
                .idempotency().perKeyMaxBytes());
        assertKeyNamed("idempotency.memory.per.key.max.bytes", Map.of("idempotency.memory.per.key.max.bytes", "500000"));
    }

    @Test
    void readmeConfigurationTableMatchesTheKeys() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        String begin = "<!-- configuration table: generated from PorticoConfig.Key -->\n";
        String end = "<!-- end of configuration table -->";
        int from = readme.indexOf(begin);
        int to = readme.indexOf(end);
        assertTrue(from >= 0 && to > from, "README.md has the configuration table markers");
        assertEquals(PorticoConfig.markdownTable(), readme.substring(from + begin.length(), to));
    }

    @Test
    void aClientAddressSharesHalfOfEachListenersCapUnlessSet() {
        assertEquals(0, PorticoConfig.from(Map.of()).connections().perAddressMax(),
                "not set: half of each listener's cap, as the server sets it");
        assertEquals(7, PorticoConfig.from(Map.of("connections.per.address.max", "7")).connections().perAddressMax());
    }

    @Test
    void aClientAddressSharesHalfOfTheRequestsInProgressUnlessOneAddressIsDeclaredABalancers() {
        assertEquals(50, PorticoConfig.from(Map.of("max.concurrent.requests", "100")).operations().requestsPerAddressMax());
        assertEquals(50, PorticoConfig.from(Map.of("max.concurrent.requests", "100", "connections.per.address.max", "7"))
                .operations().requestsPerAddressMax(), "a share of the connections is no load balancer");
        assertEquals(100, PorticoConfig.from(Map.of("max.concurrent.requests", "100", "connections.max", "500",
                "connections.per.address.max", "500")).operations().requestsPerAddressMax(),
                "every connection from one address: a load balancer's, whose clients share no half");
        assertEquals(30, PorticoConfig.from(Map.of("max.concurrent.requests", "100", "connections.max", "500",
                "connections.per.address.max", "500", "requests.per.address.max", "30")).operations().requestsPerAddressMax());
    }
}
