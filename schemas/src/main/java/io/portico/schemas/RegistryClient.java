package io.portico.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portico.protocol.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;

/**
 * A client of the Confluent Schema Registry REST API (the part serializers use), over the JDK's
 * {@link HttpClient}: register a schema under a subject, look one up by id, by subject and
 * version, or by its text under a subject. Apicurio Registry serves the same API at
 * {@code /apis/ccompat/v7}.
 *
 * <p>Every call is asynchronous and bounded: a connection takes at most the timeout to open, and
 * an attempt as a whole (the answer's body included) at most the timeout; an answer larger than
 * 8 MiB is not read. When several URLs are configured, the next is tried when one does not
 * answer. A registry that does not answer (or answers a 5xx, 408 or 429) fails the future with an
 * {@linkplain RegistryException#unavailable() unavailable} {@link RegistryException}; one that
 * refuses the request as its API does (an error status with its {@code error_code}) fails it
 * {@linkplain RegistryException#refused() refused}, with its status and code; any other answer
 * (401, a 403 other than its authorization's 40301, a 404 without an {@code error_code}, a redirect,
 * an answer not of its API, one larger
 * than 8 MiB or of more than {@value #MAX_ANSWER_TOKENS} JSON tokens) fails it as the registry's
 * failure. Thread-safe.
 */
public final class RegistryClient {
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    /**
     * The largest answer read from the registry; a schema is text, and a larger answer is a fault
     * (refused as its Content-Length says so, or as it grows past this).
     */
    private static final int MAX_ANSWER_BYTES = 8 << 20;
    /**
     * The most JSON tokens of an answer: an answer is a few fields (a schema's text is one token),
     * its references at most some hundreds; 8 MiB of {@code [{},{},…]} would otherwise become a
     * tree of some 200 MB before it is seen not to be an answer of the API.
     */
    static final int MAX_ANSWER_TOKENS = 10_000;
    private static final com.fasterxml.jackson.databind.ObjectMapper ANSWERS =
            com.fasterxml.jackson.databind.json.JsonMapper.builder(com.fasterxml.jackson.core.JsonFactory.builder()
                    .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                            .maxTokenCount(MAX_ANSWER_TOKENS).build()).build())
                    .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    /**
     * Where the registry is and how to reach it.
     *
     * @param urls the registry's base URLs (Confluent's {@code schema.registry.url}, comma-separated)
     * @param userInfo {@code user:password} for HTTP basic authentication, or null
     * @param tls the TLS context for https URLs, or null for the JVM's default
     * @param timeout bound on opening a connection and on each answer
     */
    public record Settings(List<URI> urls, String userInfo, SSLContext tls, Duration timeout) {
        public Settings {
            urls = List.copyOf(urls);
            if (urls.isEmpty()) {
                throw new IllegalArgumentException("at least one schema registry URL is needed");
            }
        }

        @Override
        public String toString() {
            return "Settings[urls=" + urls + ", timeout=" + timeout + "]"; // no credentials
        }
    }

    /**
     * A schema's text and type, as the registry stores it, and the other registered schemas it
     * names (an avro type, a protobuf import, a JSON Schema {@code $ref}), each by the name it
     * uses for it.
     */
    public record SchemaText(SchemaType type, String text, List<Reference> references) {
        public SchemaText {
            references = List.copyOf(references);
        }

        /** A schema that names no other. */
        public SchemaText(SchemaType type, String text) {
            this(type, text, List.of());
        }
    }

    /**
     * One schema's reference to another: the name the schema uses for it, and the subject and
     * version it is registered under.
     */
    public record Reference(String name, String subject, int version) {
    }

    /** A schema registered under a subject: its id, its version there, and the schema. */
    public record Registered(String subject, int id, int version, SchemaText schema) {
    }

    private final Settings settings;
    /**
     * Per URL, until when (System.nanoTime) it is skipped, 0 when it is not: a URL that did not
     * answer (no connection, or no answer within the timeout) is not asked again for
     * {@link #DOWN_NANOS}, and then by one call, the others skipping it until that one answers.
     */
    private final java.util.concurrent.atomic.AtomicLongArray downUntil;
    /**
     * How long a URL that did not answer is skipped: without it, each look-up during an outage
     * waited the whole timeout again (a v3 batch's records one after another, each key and value:
     * minutes), holding a schema-pool thread all along.
     */
    static final long DOWN_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** Threads that take the registry's answers and what follows them (parsing a schema). */
    private static final int ANSWER_THREADS = 4;
    private final HttpClient http;
    private final String authorization;
    private final java.util.function.LongSupplier nanoClock;

    public RegistryClient(Settings settings) {
        this(settings, System::nanoTime);
    }

    /** As above, {@code nanoClock} telling when a URL that did not answer is asked again. */
    RegistryClient(Settings settings, java.util.function.LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.settings = settings;
        this.downUntil = new java.util.concurrent.atomic.AtomicLongArray(settings.urls().size());
        // The client's own executor (unbounded by default) also runs what follows an answer, the
        // parsing of a schema up to 1 Mi characters among it: at most a few at once.
        java.util.concurrent.ThreadPoolExecutor answers = new java.util.concurrent.ThreadPoolExecutor(ANSWER_THREADS,
                ANSWER_THREADS, 30, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "portico-schema-registry");
                    t.setDaemon(true);
                    return t;
                });
        answers.allowCoreThreadTimeOut(true);
        HttpClient.Builder builder = HttpClient.newBuilder()
                .executor(answers)
                .connectTimeout(settings.timeout())
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER);
        if (settings.tls() != null) {
            builder.sslContext(settings.tls());
        }
        this.http = builder.build();
        this.authorization = settings.userInfo() == null || settings.userInfo().isEmpty() ? null
                : "Basic " + Base64.getEncoder().encodeToString(settings.userInfo().getBytes(StandardCharsets.UTF_8));
    }

    public Settings settings() {
        return settings;
    }

    /** {@code POST /subjects/{subject}/versions}: the schema's id, registered anew when the subject lacks it. */
    public CompletableFuture<Integer> register(String subject, SchemaText schema) {
        return call("POST", "/subjects/" + segment(subject) + "/versions", body(schema))
                .thenApply(json -> requireInt(json, "id"));
    }

    /** {@code POST /subjects/{subject}}: the schema as registered under the subject (404 when it is not). */
    public CompletableFuture<Registered> lookup(String subject, SchemaText schema) {
        return call("POST", "/subjects/" + segment(subject), body(schema))
                .thenApply(json -> new Registered(subject, requireInt(json, "id"), requireInt(json, "version"), schema));
    }

    /** {@code GET /schemas/ids/{id}}: the schema of an id. */
    public CompletableFuture<SchemaText> byId(int id) {
        return call("GET", "/schemas/ids/" + id, null).thenApply(RegistryClient::schemaText);
    }

    /** {@code GET /subjects/{subject}/versions/{version}}: a version of a subject ({@code latest} or a number). */
    public CompletableFuture<Registered> byVersion(String subject, String version) {
        return byVersion(subject, version, false);
    }

    /** As above; with {@code deleted}, a soft-deleted version too ({@code ?deleted=true}). */
    public CompletableFuture<Registered> byVersion(String subject, String version, boolean deleted) {
        return call("GET", "/subjects/" + segment(subject) + "/versions/" + segment(version) + (deleted ? "?deleted=true" : ""),
                null)
                .thenApply(json -> new Registered(subject, requireInt(json, "id"), requireInt(json, "version"),
                        schemaText(json)));
    }

    private static SchemaText schemaText(JsonNode json) {
        JsonNode schema = json.get("schema");
        if (schema == null || !schema.isTextual()) {
            throw RegistryException.failed(502, "the schema registry's answer has no schema");
        }
        JsonNode type = json.get("schemaType");
        SchemaType t = SchemaType.fromRegistry(type == null || type.isNull() ? null : type.asText());
        if (t == null) {
            throw RegistryException.refused(422, 422, "the schema registry returned an unknown schemaType " + type);
        }
        return new SchemaText(t, schema.asText(), references(json.get("references")));
    }

    private static List<Reference> references(JsonNode references) {
        if (references == null || references.isNull()) {
            return List.of();
        }
        if (!references.isArray()) {
            throw RegistryException.failed(502, "the schema registry's answer has references that are not a list");
        }
        List<Reference> out = new java.util.ArrayList<>(references.size());
        for (JsonNode r : references) {
            JsonNode name = r.get("name");
            JsonNode subject = r.get("subject");
            JsonNode version = r.get("version");
            if (name == null || !name.isTextual() || subject == null || !subject.isTextual() || version == null
                    || !version.canConvertToInt()) {
                throw RegistryException.failed(502, "the schema registry's answer has a reference without a name, "
                        + "a subject or a version");
            }
            out.add(new Reference(name.asText(), subject.asText(), version.intValue()));
        }
        return out;
    }

    private static int requireInt(JsonNode json, String field) {
        JsonNode n = json.get(field);
        if (n == null || !n.canConvertToInt()) {
            throw RegistryException.failed(502, "the schema registry's answer has no " + field);
        }
        return n.intValue();
    }

    private static byte[] body(SchemaText schema) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("schema", schema.text());
        if (schema.type() != SchemaType.AVRO) {
            body.put("schemaType", schema.type().name()); // absent means avro, as Confluent's serializers send it
        }
        if (!schema.references().isEmpty()) {
            com.fasterxml.jackson.databind.node.ArrayNode references = body.putArray("references");
            for (Reference r : schema.references()) {
                references.addObject().put("name", r.name()).put("subject", r.subject()).put("version", r.version());
            }
        }
        return Json.write(body);
    }

    private static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private CompletableFuture<JsonNode> call(String method, String path, byte[] body) {
        return attempt(0, method, path, body);
    }

    private CompletableFuture<JsonNode> attempt(int index, String method, String path, byte[] body) {
        URI base = settings.urls().get(index);
        long until = downUntil.get(index);
        if (until != 0) {
            long now = nanoClock.getAsLong();
            // Skipped while marked, and while one call finds out whether it answers again.
            long probing = now + settings.timeout().toNanos() + DOWN_NANOS;
            if (now - until < 0 || !downUntil.compareAndSet(index, until, probing == 0 ? 1 : probing)) {
                if (index + 1 < settings.urls().size()) {
                    return attempt(index + 1, method, path, body);
                }
                return CompletableFuture.failedFuture(RegistryException.unavailable("the schema registry at " + base
                        + " did not answer a moment ago"));
            }
        }
        String root = base.toString().endsWith("/") ? base.toString().substring(0, base.toString().length() - 1)
                : base.toString();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(root + path))
                .timeout(settings.timeout())
                .header("Accept", CONTENT_TYPE + ", application/json");
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        if (body != null) {
            request.header("Content-Type", CONTENT_TYPE).method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        } else {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        }
        AtomicReference<LimitedBody> reading = new AtomicReference<>();
        CompletableFuture<HttpResponse<byte[]>> sent;
        try {
            sent = http.sendAsync(request.build(), info -> {
                LimitedBody b = new LimitedBody(info.headers().firstValueAsLong("Content-Length").orElse(-1),
                        MAX_ANSWER_BYTES);
                reading.set(b);
                return b;
            });
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(RegistryException.unavailable(describe(base, e)));
        }
        // The request's timeout ends once the headers arrive: the attempt as a whole, its body
        // included, is bounded here (a body that trickles in would hold the look-up forever).
        // A copy times out, not the exchange itself (cancelled below when it does).
        CompletableFuture<HttpResponse<byte[]>> bounded = sent.copy()
                .orTimeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
        return bounded.handle((response, error) -> {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (cause instanceof TimeoutException) {
                sent.cancel(true);
                LimitedBody b = reading.get();
                if (b != null) {
                    b.cancel();
                }
            }
            if (cause instanceof RegistryException tooLarge) {
                downUntil.set(index, 0); // it answers
                return CompletableFuture.<JsonNode>failedFuture(tooLarge);
            }
            if (error != null) {
                long next = nanoClock.getAsLong() + DOWN_NANOS;
                downUntil.set(index, next == 0 ? 1 : next);
            } else {
                downUntil.set(index, 0);
            }
            if (error == null && !unanswered(response.statusCode())) {
                return CompletableFuture.completedFuture(answer(base, response));
            }
            String why = error != null ? describe(base, error)
                    : "the schema registry at " + base + " answered " + response.statusCode();
            if (index + 1 < settings.urls().size()) {
                return attempt(index + 1, method, path, body);
            }
            return CompletableFuture.<JsonNode>failedFuture(RegistryException.unavailable(why));
        }).thenCompose(f -> f);
    }

    /** A status that means the registry cannot answer now: a 5xx, 408 (Request Timeout) or 429 (Too Many Requests). */
    private static boolean unanswered(int status) {
        return status >= 500 || status == 408 || status == 429;
    }

    /**
     * The JSON object of a registry's answer; a refusal of its API (an error status with its
     * {@code error_code}) fails as {@linkplain RegistryException#refused() refused}, any other
     * error status as the registry's failure.
     */
    private static JsonNode answer(URI base, HttpResponse<byte[]> response) {
        byte[] bytes = response.body();
        JsonNode json;
        try {
            json = ANSWERS.readTree(bytes);
        } catch (com.fasterxml.jackson.core.exc.StreamConstraintsException e) {
            throw RegistryException.failed(502, "the schema registry at " + base + " answered "
                    + response.statusCode() + " with more than " + MAX_ANSWER_TOKENS + " JSON tokens, not an answer of its API");
        } catch (IOException e) {
            json = null;
        }
        int status = response.statusCode();
        if (status >= 300) {
            boolean registrys = json != null && json.isObject() && json.path("error_code").canConvertToInt();
            String message = json != null && json.isObject() && json.path("message").isTextual()
                    ? json.get("message").asText() : null;
            String answered = "the schema registry at " + base + " answered " + status
                    + (message == null ? "" : " (" + message + ")");
            // A 403 with Confluent's 40301 is the registry's authorization (RBAC) refusing this
            // server that subject or schema: a refusal, answered 403/40301 as Confluent's proxy does.
            boolean notAuthorized = status == 403 && registrys && json.get("error_code").intValue() == 40301;
            if ((status == 401 || status == 403) && !notAuthorized) {
                throw RegistryException.failed(status, answered + ": it does not take the credentials this server "
                        + "sends it (basic auth user info)");
            }
            if (status < 400) {
                throw RegistryException.failed(status, answered + ", a redirect, which is not followed: its URL is not "
                        + "the registry's own (http for https, say)");
            }
            if (status == 404 && !registrys) {
                throw RegistryException.failed(status, answered + " without a schema registry's error code: its URL "
                        + "is not a schema registry's API (a path missing, or a proxy in front of it)");
            }
            throw RegistryException.refused(status, registrys ? json.get("error_code").intValue() : status,
                    message == null ? "HTTP " + status : message);
        }
        if (json == null || !json.isObject()) {
            throw RegistryException.failed(502, "the schema registry's answer is not a JSON object");
        }
        return json;
    }

    private String describe(URI base, Throwable error) {
        Throwable e = error instanceof CompletionException && error.getCause() != null
                ? error.getCause() : error;
        if (e instanceof HttpTimeoutException || e instanceof TimeoutException) {
            return "the schema registry at " + base + " did not answer within " + settings.timeout().toMillis() + " ms";
        }
        return "the schema registry at " + base + " cannot be reached (" + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
    }

    /**
     * An answer's body read into memory, at most {@code max} bytes of it: a body whose
     * Content-Length says more is not read at all, one that grows past it is cancelled as it
     * does; either fails the response with the registry's failure (502).
     */
    private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final CompletableFuture<byte[]> body = new CompletableFuture<>();
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final long declared;
        private final int max;
        private volatile Flow.Subscription subscription;

        LimitedBody(long declared, int max) {
            this.declared = declared;
            this.max = max;
        }

        @Override
        public CompletableFuture<byte[]> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (declared > max) {
                tooLarge();
            } else if (body.isDone()) {
                s.cancel(); // cancelled before the body began
            } else {
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (body.isDone()) {
                return;
            }
            for (ByteBuffer item : items) {
                if (bytes.size() + (long) item.remaining() > max) {
                    tooLarge();
                    return;
                }
                byte[] chunk = new byte[item.remaining()];
                item.get(chunk);
                bytes.write(chunk, 0, chunk.length);
            }
        }

        @Override
        public void onError(Throwable error) {
            body.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            body.complete(bytes.toByteArray());
        }

        /** Stops reading: the attempt timed out. */
        void cancel() {
            body.cancel(false);
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }

        private void tooLarge() {
            subscription.cancel();
            body.completeExceptionally(RegistryException.failed(502, "the schema registry's answer is larger than "
                    + max + " bytes"));
        }
    }
}
