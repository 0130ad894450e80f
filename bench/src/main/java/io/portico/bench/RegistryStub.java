package io.portico.bench;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The part of a Confluent-compatible schema registry row j needs, served by the benchmark itself:
 * {@code GET /schemas/ids/1} answers the one avro schema of the row, and a look-up of it under
 * any subject ({@code POST /subjects/{subject}}, which Portico asks to check that the topic's
 * subject has the id) finds it as version 1. Portico asks each once and caches the answers, so
 * the registry is not what the row measures (the integration tests use a real registry).
 */
final class RegistryStub implements AutoCloseable {
    /** The row's value schema: one string field. */
    static final String SCHEMA = "{\"type\":\"record\",\"name\":\"BenchValue\",\"namespace\":\"io.portico.bench\","
            + "\"fields\":[{\"name\":\"payload\",\"type\":\"string\"}]}";
    static final int ID = 1;

    private final HttpServer server;

    RegistryStub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        byte[] answer = ("{\"schema\":" + quoted(SCHEMA) + "}").getBytes(StandardCharsets.UTF_8);
        server.createContext("/schemas/ids/", exchange -> {
            boolean known = exchange.getRequestURI().getPath().equals("/schemas/ids/" + ID);
            byte[] body = known ? answer : "{\"error_code\":40403,\"message\":\"Schema not found\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
            exchange.sendResponseHeaders(known ? 200 : 404, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.createContext("/subjects/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            String subject = exchange.getRequestURI().getPath().substring("/subjects/".length());
            boolean lookUp = "POST".equals(exchange.getRequestMethod()) && !subject.isEmpty() && !subject.contains("/");
            byte[] body = (lookUp ? "{\"subject\":" + quoted(subject) + ",\"id\":" + ID + ",\"version\":1,\"schema\":"
                    + quoted(SCHEMA) + "}" : "{\"error_code\":40401,\"message\":\"Subject not found\"}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
            exchange.sendResponseHeaders(lookUp ? 200 : 404, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    /** The registry's URL, for {@code schema.registry.url}. */
    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
