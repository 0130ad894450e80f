package io.portico.schemas;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A stub of a Confluent schema registry on a loopback port: each request's answer (status and
 * JSON body) comes from {@code answer}, given the request's path, and every request is counted by
 * its path and query, its body (if any) kept by its path.
 */
final class StubRegistry implements AutoCloseable {
    /** One answer: a status and a body. */
    record Answer(int status, String body) {
    }

    private final HttpServer server;
    private final Map<String, AtomicInteger> asked = new ConcurrentHashMap<>();
    private final Map<String, List<String>> bodies = new ConcurrentHashMap<>();

    StubRegistry(Function<String, Answer> answer) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getRawPath();
            String query = exchange.getRequestURI().getRawQuery();
            asked.computeIfAbsent(query == null ? path : path + "?" + query, p -> new AtomicInteger()).incrementAndGet();
            byte[] body = exchange.getRequestBody().readAllBytes();
            if (body.length > 0) {
                bodies.computeIfAbsent(path, p -> new java.util.concurrent.CopyOnWriteArrayList<>())
                        .add(new String(body, StandardCharsets.UTF_8));
            }
            Answer a = answer.apply(path);
            byte[] bytes = a.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(a.status(), bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
    }

    /** A schema service of this registry (5 s timeout, 1 MiB of caches). */
    SchemaService service() {
        return service(url());
    }

    /** A schema service of the registries at {@code urls}, in that order (5 s timeout, 1 MiB of caches). */
    static SchemaService service(URI... urls) {
        return new SchemaService(new RegistryClient(new RegistryClient.Settings(List.of(urls), null, null,
                Duration.ofSeconds(5))), 1 << 20);
    }

    /** This registry's base URL. */
    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** How often {@code pathAndQuery} was asked. */
    int asked(String pathAndQuery) {
        AtomicInteger n = asked.get(pathAndQuery);
        return n == null ? 0 : n.get();
    }

    /** The bodies of the requests to {@code path} so far (those that had one), in order. */
    List<String> bodies(String path) {
        return List.copyOf(bodies.getOrDefault(path, List.of()));
    }

    /** Every path and query asked so far. */
    java.util.Set<String> paths() {
        return java.util.Set.copyOf(asked.keySet());
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
