package io.portico.proxy.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A Server-Sent Events client as the spec reads a stream: the JDK's {@link HttpClient} and a
 * thread reading its lines, {@code id:}, {@code event:} and {@code data:} fields (lines of
 * {@code data} joined with {@code \n}), comments kept apart, an event dispatched at each blank
 * line. {@link #close} drops the connection, as a browser closing its EventSource does.
 */
public final class SseClient implements AutoCloseable {
    /** One event: {@code event} is null for the default type ({@code message}). */
    public record Event(String id, String event, String data) {
    }

    private final HttpResponse<InputStream> response;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final List<String> comments = new CopyOnWriteArrayList<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    private final String errorBody;
    private volatile String lastEventId;
    private volatile boolean cleanEnd;

    private SseClient(HttpResponse<InputStream> response) throws IOException {
        this.response = response;
        if (response.statusCode() != 200) {
            try (InputStream in = response.body()) {
                errorBody = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            ended.countDown();
            return;
        }
        errorBody = null;
        Thread reader = new Thread(this::read, "sse-client");
        reader.setDaemon(true);
        reader.start();
    }

    /** Opens a stream of {@code uri} with {@code Accept: text/event-stream} and the given header pairs. */
    public static SseClient open(HttpClient client, URI uri, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.setHeader(headers[i], headers[i + 1]);
        }
        return new SseClient(client.send(b.GET().build(), HttpResponse.BodyHandlers.ofInputStream()));
    }

    /** As {@link #open(HttpClient, URI, String...)} with an HTTP/1.1 client. */
    public static SseClient open(URI uri, String... headers) throws IOException, InterruptedException {
        return open(HTTP_1_1, uri, headers);
    }

    private static final HttpClient HTTP_1_1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    public int status() {
        return response.statusCode();
    }

    public HttpHeaders headers() {
        return response.headers();
    }

    public HttpClient.Version version() {
        return response.version();
    }

    /** The body of an answer that is not a stream (an error). */
    public String errorBody() {
        return errorBody;
    }

    /** The id of the last event received, as an EventSource keeps it. */
    public String lastEventId() {
        return lastEventId;
    }

    /** Comment lines received so far (without their {@code :}). */
    public List<String> comments() {
        return List.copyOf(comments);
    }

    /** The next event, or null when none came within {@code timeout} (or the stream ended). */
    public Event next(Duration timeout) throws InterruptedException {
        return events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The next {@code n} events; fewer when they did not all come within {@code timeout}. */
    public List<Event> take(int n, Duration timeout) throws InterruptedException {
        List<Event> out = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (out.size() < n) {
            long left = deadline - System.nanoTime();
            Event e = left <= 0 ? null : events.poll(left, TimeUnit.NANOSECONDS);
            if (e == null) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    /**
     * Whether the stream ended as an HTTP response ends (its last chunk, or all of its length),
     * not by a dropped or reset connection; false while it has not ended.
     */
    public boolean endedCleanly() {
        return cleanEnd;
    }

    /** Whether the server ended the stream within {@code timeout}. */
    public boolean awaitEnd(Duration timeout) throws InterruptedException {
        return ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Events received and not taken yet. */
    public List<Event> pending() {
        List<Event> out = new ArrayList<>();
        events.drainTo(out);
        return out;
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String id = null;
            String event = null;
            StringBuilder data = null;
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isEmpty()) {
                    if (data != null) {
                        if (id != null) {
                            lastEventId = id;
                        }
                        events.add(new Event(id, event, data.toString()));
                    }
                    id = null;
                    event = null;
                    data = null;
                    continue;
                }
                if (line.startsWith(":")) {
                    comments.add(line.substring(1).trim());
                    continue;
                }
                int colon = line.indexOf(':');
                String field = colon < 0 ? line : line.substring(0, colon);
                String value = colon < 0 ? "" : line.substring(colon + 1);
                if (value.startsWith(" ")) {
                    value = value.substring(1);
                }
                switch (field) {
                    case "id" -> id = value;
                    case "event" -> event = value;
                    case "data" -> data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                    default -> { }
                }
            }
            cleanEnd = true;
        } catch (IOException e) {
            // the connection was dropped (by close, or by the server)
        } finally {
            ended.countDown();
        }
    }

    /** Drops the connection. */
    @Override
    public void close() {
        try {
            response.body().close();
        } catch (IOException e) {
            // already closed
        }
    }
}
