package io.portico.proxy.ops;

import io.undertow.server.HttpHandler;
import io.undertow.server.handlers.accesslog.AccessLogHandler;
import io.undertow.server.handlers.accesslog.AccessLogReceiver;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request in the Apache "combined" format, to the logger {@code portico.access}.
 * Lines are handed to a writer thread through a bounded queue, so logging never slows a request;
 * when the queue is full, lines are dropped and the count of dropped lines is logged. No request
 * header other than Referer and User-Agent is logged (never Authorization or X-Auth-Token), and
 * the value of a credential in a query string ({@code sse_token}, an event stream's token) is
 * written as {@code [redacted]}.
 */
public final class AccessLog implements AccessLogReceiver, AutoCloseable {
    private static final Logger ACCESS = LoggerFactory.getLogger("portico.access");
    /** Remote host, time, request line, status, bytes, Referer, User-Agent, and time taken in ms. */
    static final String FORMAT = "%h - - %t \"%r\" %s %b \"%{i,Referer}\" \"%{i,User-Agent}\" %Dms";

    private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(16_384);
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;
    private volatile boolean running = true;

    public AccessLog() {
        writer = new Thread(this::drain, "portico-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    /** {@code next} with each request logged. */
    public HttpHandler wrap(HttpHandler next) {
        return new AccessLogHandler(next, this, FORMAT, AccessLog.class.getClassLoader());
    }

    /** Query parameters whose values are credentials: never written to the log. */
    private static final java.util.regex.Pattern SECRETS =
            java.util.regex.Pattern.compile("([?&](?:sse_token|access_token|api_key)=)[^&\\s\"]*");

    /** {@code line} with the values of credential query parameters ({@code sse_token}) redacted. */
    static String redact(String line) {
        if (line.indexOf('=') < 0) {
            return line;
        }
        return SECRETS.matcher(line).replaceAll("$1[redacted]");
    }

    @Override
    public void logMessage(String line) {
        // A client chooses its request line and User-Agent: a line is cut at 2 KiB.
        String redacted = redact(line);
        String message = redacted.length() > 2048 ? redacted.substring(0, 2048) + "…" : redacted;
        if (!lines.offer(message)) {
            dropped.incrementAndGet();
        }
    }

    private void drain() {
        while (running || !lines.isEmpty()) {
            try {
                String line = lines.poll(200, TimeUnit.MILLISECONDS);
                if (line != null) {
                    ACCESS.info(line);
                }
                long lost = dropped.getAndSet(0);
                if (lost > 0) {
                    ACCESS.warn("{} access log lines dropped: requests came faster than the log is written", lost);
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            writer.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
