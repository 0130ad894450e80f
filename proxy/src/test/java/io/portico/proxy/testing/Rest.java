package io.portico.proxy.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * An HTTP client of one Portico, as a user's program would talk to it: the JDK's HttpClient
 * over a keep-alive connection. Each call waits at most 60 s, so a hang fails the test.
 */
public final class Rest {
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    private final URI base;
    private final HttpClient client;

    public Rest(URI base) {
        this(base, CLIENT);
    }

    /** A client of {@code base} through {@code client} (e.g. one with the TLS context an https test needs). */
    public Rest(URI base, HttpClient client) {
        this.base = base;
        this.client = client;
    }

    /** An HTTP/1.1 client like the default one, with {@code tls} for https. */
    public static HttpClient client(javax.net.ssl.SSLContext tls) {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .sslContext(tls)
                .build();
    }

    public URI base() {
        return base;
    }

    public URI uri(String path) {
        return base.resolve(path);
    }

    /** A response: status, headers, and the body as text. */
    public record Response(int status, HttpHeaders headers, String body) {
        public JsonNode json() {
            try {
                return Json.mapper().readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        public String contentType() {
            return headers.firstValue("content-type").orElse(null);
        }

        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    public Response get(String path, String... headers) {
        return send(request(path, headers).GET());
    }

    public Response delete(String path, String... headers) {
        return send(request(path, headers).DELETE());
    }

    public Response post(String path, String contentType, String body, String... headers) {
        HttpRequest.Builder b = request(path, headers)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return send(b);
    }

    public Response put(String path, String contentType, String body, String... headers) {
        HttpRequest.Builder b = request(path, headers)
                .PUT(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return send(b);
    }

    /** A request to {@code path} with header name/value pairs, for callers that need more control. */
    public HttpRequest.Builder request(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return b;
    }

    public Response send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> r = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.headers(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
