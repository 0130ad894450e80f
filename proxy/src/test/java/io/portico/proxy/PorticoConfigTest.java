package io.portico.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    @Test
    void defaultsServeConfluentsPortWithAnEmbeddedBroker() {
        PorticoConfig c = PorticoConfig.defaults();
        assertEquals(List.of(URI.create("http://0.0.0.0:8082")), c.listeners());
        assertTrue(c.embedded());
        assertNull(c.hostName());
        assertEquals(Duration.ofSeconds(5), c.metadataTimeout());
        assertEquals("0", c.producerConfig("b:9092").get("linger.ms"), "synchronous produce must not linger");
        assertEquals("5000", c.producerConfig("b:9092").get("max.block.ms"), "bounded by metadata.timeout.ms");
    }

    @Test
    void clientSettingsPassThroughByPrefix() {
        PorticoConfig c = PorticoConfig.from(Map.of(
                "bootstrap.servers", "k1:9092,k2:9092",
                "producer.linger.ms", "3",
                "consumer.max.poll.records", "7",
                "admin.retries", "2",
                "client.client.rack", "r1",
                "security.protocol", "PLAINTEXT"));
        assertEquals("k1:9092,k2:9092", c.bootstrapServers());
        Map<String, Object> producer = c.producerConfig(c.bootstrapServers());
        assertEquals("3", producer.get("linger.ms"));
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
    void environmentNamesMapToKeys() {
        assertEquals("bootstrap.servers", ConfigLoader.keyOf("BOOTSTRAP_SERVERS"));
        assertEquals("producer.linger.ms", ConfigLoader.keyOf("PRODUCER_LINGER_MS"));
        assertEquals("a_b", ConfigLoader.keyOf("A__B"));
        assertEquals("a-b", ConfigLoader.keyOf("A___B"));
    }
}
