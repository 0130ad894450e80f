package io.portico.proxy.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real Confluent-compatible schema registry for tests: Apicurio Registry (unpacked by the
 * build into {@code target/apicurio}), started as its own process on a free loopback port with
 * in-memory storage, its compatibility set to BACKWARD as Confluent's default, and stopped by
 * its PID. Its Confluent API is at {@link #url()}.
 */
public final class SchemaRegistryServer implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);

    private final Process process;
    private final URI url;
    private final Path log;

    private SchemaRegistryServer(Process process, URI url, Path log) {
        this.process = process;
        this.url = url;
        this.log = log;
    }

    /** Starts the registry and waits until it is ready. */
    public static SchemaRegistryServer start() throws IOException, InterruptedException {
        String jar = System.getProperty("portico.test.schema.registry.jar");
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("Apicurio Registry is not unpacked at " + jar
                    + " (the build's pre-integration-test phase unpacks it: run the tests with mvn verify)");
        }
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path log = Files.createTempFile("portico-schema-registry-", ".log");
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m", "-XX:TieredStopAtLevel=1",
                "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port,
                "-Dquarkus.log.level=WARN",
                "-jar", jar)
                .directory(Path.of(jar).getParent().toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        SchemaRegistryServer server = new SchemaRegistryServer(process, URI.create("http://127.0.0.1:" + port
                + "/apis/ccompat/v7"), log);
        // Stopped by the test run's end (the store closes it); should the JVM end otherwise, with it.
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "schema-registry-stop"));
        try {
            server.awaitReady(port);
            server.put("/config", "{\"compatibility\":\"BACKWARD\"}");
            return server;
        } catch (IOException | InterruptedException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    private void awaitReady(int port) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the schema registry exited: " + Files.readString(log));
            }
            try {
                HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/health/ready")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("the schema registry was not ready within " + START_TIMEOUT);
    }

    /** The registry's Confluent-compatible API, for {@code schema.registry.url}. */
    public URI url() {
        return url;
    }

    /** A PUT to the Confluent API (e.g. {@code /config/<subject>}); the status. */
    public int put(String path, String json) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + path))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("PUT " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        return r.statusCode();
    }

    /** Registers {@code schema} (avro text) under {@code subject}; its id. */
    public int register(String subject, String schema) throws IOException, InterruptedException {
        return register(subject, "AVRO", schema);
    }

    /**
     * Registers {@code schema} of {@code type} ({@code AVRO}, {@code PROTOBUF}, {@code JSON})
     * under {@code subject}, with references given as (name, subject, version) triples; its id.
     */
    public int register(String subject, String type, String schema, String... references)
            throws IOException, InterruptedException {
        com.fasterxml.jackson.databind.node.ObjectNode json = io.portico.protocol.Json.mapper().createObjectNode()
                .put("schema", schema).put("schemaType", type);
        com.fasterxml.jackson.databind.node.ArrayNode refs = json.putArray("references");
        for (int i = 0; i < references.length; i += 3) {
            refs.addObject().put("name", references[i]).put("subject", references[i + 1])
                    .put("version", Integer.parseInt(references[i + 2]));
        }
        String body = json.toString();
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/subjects/"
                        + subject + "/versions"))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("registering under " + subject + " answered " + r.statusCode() + ": " + r.body());
        }
        return io.portico.protocol.Json.mapper().readTree(r.body()).get("id").asInt();
    }

    /** A GET of the Confluent API; the body. */
    public String get(String path) throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try {
            Files.deleteIfExists(log);
        } catch (IOException e) {
            // a temporary file
        }
    }
}
