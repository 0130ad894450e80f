package io.portico.proxy.ops;

import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request in the Apache "combined" format, to the logger {@code portico.access}:
 * remote host, time, request line, status, bytes, Referer, User-Agent, and the time taken in ms.
 *
 * <p>The IO thread only takes the request's few fields when it completes (no formatting there);
 * a writer thread formats and writes them, through a bounded queue, so logging never slows a
 * request; when the queue is full, entries are dropped and the count of dropped lines is logged.
 * No request header other than Referer and User-Agent is logged (never Authorization or
 * X-Auth-Token), the value of a credential in a query string ({@code sse_token}, an event
 * stream's token) is written as {@code [redacted]}, and a line is cut at 2 KiB (a client chooses
 * its request line and User-Agent).
 *
 * <p>With the bundled slf4j-simple in its shipped format (no {@code org.slf4j.simpleLogger.*}
 * format setting changed), the writer writes each batch of lines to stderr itself, in the very
 * format slf4j-simple gives them ({@code 2026-12-03T12:39:37.257Z INFO access - …}), one write
 * for many lines: slf4j-simple formats its date with {@link java.text.SimpleDateFormat} and writes
 * and flushes every line alone, which cost the writer more than the rest of the line's work. The
 * {@code portico.access} logger's level still decides whether lines are written. With another
 * binding or format, every line goes through the logger.
 */
public final class AccessLog implements ExchangeCompletionListener, AutoCloseable {
    private static final Logger ACCESS = LoggerFactory.getLogger("portico.access");
    /** A line's most characters; so also the most any one field of an entry keeps. */
    static final int LINE_MAX = 2048;
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.US).withZone(ZoneId.systemDefault());

    /** What a completed request leaves for its line; times in ms since the epoch and ms taken (-1: unknown). */
    record Entry(String host, long at, String method, String uri, String query, String protocol, int status,
                 long bytes, String referer, String userAgent, long millis) {
        /**
         * An entry whose client-chosen fields share one line's characters, in the line's order:
         * an entry waiting in the queue holds at most {@link #LINE_MAX} of them, however long each is.
         */
        static Entry cut(String host, long at, String method, String uri, String query, String protocol, int status,
                         long bytes, String referer, String userAgent, long millis) {
            String m = head(method, LINE_MAX);
            String u = head(uri, LINE_MAX - length(m));
            String q = head(query, LINE_MAX - length(m) - length(u));
            String r = head(referer, LINE_MAX - length(m) - length(u) - length(q));
            String a = head(userAgent, LINE_MAX - length(m) - length(u) - length(q) - length(r));
            return new Entry(host, at, m, u, q, protocol, status, bytes, r, a, millis);
        }

        /** The characters of its client-chosen fields (at most {@link #LINE_MAX}). */
        long clientChars() {
            return length(method) + length(uri) + length(query) + length(referer) + length(userAgent);
        }
    }

    /** Entries the writer takes at once. */
    private static final int BATCH = 1024;
    /** How long the writer sleeps when it finds the queue empty: 10 ms, a twentieth of the queue at 80,000 requests a second. */
    private static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final BlockingQueue<Entry> entries = new ArrayBlockingQueue<>(16_384);
    /** Whether the writer writes lines itself, in slf4j-simple's format (else through {@link #ACCESS}). */
    private final boolean direct;
    // The writer's: the time text of the last millisecond a line was written at, in slf4j-simple's format.
    private long lineMilli = Long.MIN_VALUE;
    private String lineMilliText;
    private final AtomicLong dropped = new AtomicLong();
    private final Thread writer;
    private volatile boolean running = true;
    // The writer's: the time text of the last second written.
    private long second = Long.MIN_VALUE;
    private String secondText;

    public AccessLog() {
        this(SimpleFormat.shipped());
    }

    /** @param direct whether the writer writes lines to stderr itself, as slf4j-simple as shipped would */
    AccessLog(boolean direct) {
        this.direct = direct;
        writer = new Thread(this::drain, "portico-access-log");
        writer.setDaemon(true);
        writer.start();
    }

    /** {@code next} with each request logged. */
    public HttpHandler wrap(HttpHandler next) {
        return exchange -> {
            exchange.addExchangeCompleteListener(this);
            next.handleRequest(exchange);
        };
    }

    @Override
    public void exchangeEvent(HttpServerExchange exchange, NextListener next) {
        try {
            offer(entry(exchange));
        } finally {
            next.proceed();
        }
    }

    /** Queues a line's entry (dropped, and counted, when the queue is full). */
    void offer(Entry entry) {
        long chars = entry.clientChars();
        // Bounded in characters too: 16,384 entries of a full line each would hold tens of MiB
        // outside every budget while the log's output is slow.
        if (queuedChars.addAndGet(chars) > QUEUED_CHARS_MAX || !entries.offer(entry)) {
            queuedChars.addAndGet(-chars);
            dropped.incrementAndGet();
        }
    }

    /** The most characters of client-chosen fields the waiting entries hold together (about 4 MiB). */
    static final long QUEUED_CHARS_MAX = 2L << 20;
    private final AtomicLong queuedChars = new AtomicLong();

    /** The characters of client-chosen fields the waiting entries hold now. */
    long queuedChars() {
        return queuedChars.get();
    }

    private static Entry entry(HttpServerExchange exchange) {
        InetSocketAddress source = exchange.getSourceAddress();
        long start = exchange.getRequestStartTime();
        long millis = start < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        return Entry.cut(source == null ? null : source.getHostString(), arrivedAt(System.currentTimeMillis(), millis),
                exchange.getRequestMethod().toString(), exchange.getRequestURI(), exchange.getQueryString(),
                exchange.getProtocol().toString(), exchange.getStatusCode(), exchange.getResponseBytesSent(),
                exchange.getRequestHeaders().getFirst(Headers.REFERER),
                exchange.getRequestHeaders().getFirst(Headers.USER_AGENT), millis);
    }

    /**
     * When a request that took {@code millis} (negative: unknown) and ended at {@code now} arrived:
     * the time Apache's {@code %t} gives (an hour's event stream is logged at its start, as the
     * other logs of that moment are), else {@code now}.
     */
    static long arrivedAt(long now, long millis) {
        return millis >= 0 ? now - millis : now;
    }

    /** The first {@code n} characters of {@code s} (all of it when shorter; null stays null). */
    private static String head(String s, int n) {
        return s == null || s.length() <= n ? s : s.substring(0, n);
    }

    private static int length(String s) {
        return s == null ? 0 : s.length();
    }

    /** The entry's line, credentials in its query redacted, cut at {@link #LINE_MAX}. Writer thread only. */
    String format(Entry e) {
        StringBuilder line = new StringBuilder(160);
        line.append(e.host() == null ? "-" : e.host()).append(" - - [").append(time(e.at())).append("] \"");
        escaped(line, e.method()).append(' ');
        escaped(line, e.uri());
        if (e.query() != null && !e.query().isEmpty()) {
            escaped(line.append('?'), e.query());
        }
        line.append(' ').append(e.protocol()).append("\" ").append(e.status()).append(' ');
        if (e.bytes() > 0) {
            line.append(e.bytes());
        } else {
            line.append('-');
        }
        escaped(line.append(" \""), e.referer() == null ? "-" : e.referer()).append("\" \"");
        escaped(line, e.userAgent() == null ? "-" : e.userAgent()).append("\" ");
        if (e.millis() < 0) {
            line.append('-');
        } else {
            line.append(e.millis()).append("ms");
        }
        String redacted = redact(line.toString());
        return redacted.length() > LINE_MAX ? redacted.substring(0, LINE_MAX) + "…" : redacted;
    }

    private String time(long epochMillis) {
        long s = Math.floorDiv(epochMillis, 1000);
        if (s != second) {
            second = s;
            secondText = TIME.format(Instant.ofEpochSecond(s));
        }
        return secondText;
    }

    /**
     * Query parameters whose values are credentials: never written to the log, however their names
     * are written ({@code sse%5Ftoken} is the {@code sse_token} that Undertow decodes, and case does
     * not matter). Portico takes none but {@code sse_token} in a URL, but clients written for other
     * gateways send their keys and passwords there, and the request is logged all the same.
     */
    private static final java.util.regex.Pattern SECRETS = java.util.regex.Pattern.compile(
            "([?&](?:" + String.join("|", java.util.stream.Stream.of("sse_token", "access_token", "api_key", "apikey",
                    "api-key", "x-auth-token", "token", "auth", "password", "passwd", "secret")
                    .map(AccessLog::encodable).toList()) + ")=)[^&\\s\"]*");

    /** A pattern matching {@code name} in any case, with any of its characters percent-encoded. */
    private static String encodable(String name) {
        StringBuilder p = new StringBuilder();
        for (char c : name.toCharArray()) {
            String literal = Character.isLetter(c) ? "(?i:" + c + ")" : java.util.regex.Pattern.quote(String.valueOf(c));
            p.append("(?:").append(literal).append("|%(?i:").append(String.format("%02x", (int) c)).append("))");
        }
        return p.toString();
    }

    /**
     * Appends {@code s} as Apache writes a request's fields: a quote and a backslash escaped with a
     * backslash, control characters (C0, DEL and C1, as {@code \xhh}) and the characters some
     * pipelines break lines at or that reorder what a terminal shows (line and paragraph
     * separators, bidirectional controls, as a backslash, {@code u} and four hex digits) escaped, so that no client's text
     * ends a field or a line, or disguises one (HTTP/2 lets a header value hold a line break).
     */
    private static StringBuilder escaped(StringBuilder line, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                line.append('\\').append(c);
            } else if (c < 0x20 || c >= 0x7f && c <= 0x9f) {
                line.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
            } else if (c == 0x2028 || c == 0x2029 || c == 0x061c || c == 0x200e || c == 0x200f || c >= 0x202a && c <= 0x202e
                    || c >= 0x2066 && c <= 0x2069) {
                line.append("\\u");
                for (int shift = 12; shift >= 0; shift -= 4) {
                    line.append(Character.forDigit(c >> shift & 15, 16));
                }
            } else {
                line.append(c);
            }
        }
        return line;
    }

    /** {@code line} with the values of credential query parameters ({@code sse_token}) redacted. */
    static String redact(String line) {
        if (line.indexOf('=') < 0) {
            return line;
        }
        return SECRETS.matcher(line).replaceAll("$1[redacted]");
    }

    /**
     * Takes what is queued in batches, and sleeps a while when nothing is: it never waits on the
     * queue itself, so that an IO thread adding an entry never has a sleeping writer to wake (a
     * system call per request, which cost as much as the rest of the line's work at 50,000 requests
     * a second). A line is written at most {@link #IDLE_NANOS} after its request completed.
     */
    private void drain() {
        List<Entry> batch = new ArrayList<>(BATCH);
        while (running || !entries.isEmpty()) {
            int taken = entries.drainTo(batch, BATCH);
            for (Entry e : batch) {
                queuedChars.addAndGet(-e.clientChars());
            }
            if (taken == 0) {
                LockSupport.parkNanos(this, IDLE_NANOS);
                if (Thread.interrupted()) {
                    return;
                }
            }
            if (direct) {
                safely(() -> writeDirect(batch));
            } else {
                for (Entry entry : batch) {
                    safely(() -> ACCESS.info(format(entry)));
                }
            }
            batch.clear();
            long lost = dropped.getAndSet(0);
            if (lost > 0) {
                safely(() -> ACCESS.warn("{} access log lines dropped: requests came faster than the log is written", lost));
            }
        }
    }

    /**
     * Writes the batch's lines to stderr as slf4j-simple would write each (when the logger's level
     * lets INFO through), in one string: the stream writes it in a few large writes, not one a line.
     */
    private void writeDirect(List<Entry> batch) {
        if (batch.isEmpty() || !ACCESS.isInfoEnabled()) {
            return;
        }
        StringBuilder out = new StringBuilder(Math.min(batch.size(), 512) * 192);
        for (Entry entry : batch) {
            String line;
            try {
                line = format(entry);
            } catch (RuntimeException e) {
                LoggerFactory.getLogger(AccessLog.class).warn("An access log line could not be written: {}", e.toString());
                continue; // that line alone is lost
            }
            long now = System.currentTimeMillis();
            if (now != lineMilli) {
                lineMilli = now;
                lineMilliText = SimpleFormat.DATE.format(Instant.ofEpochMilli(now));
            }
            out.append(lineMilliText).append(SimpleFormat.LEVEL_AND_NAME).append(line).append(System.lineSeparator());
            if (out.length() >= SLICE_CHARS) {
                System.err.print(out); // whole lines, and stderr is not held long for another thread's line
                out.setLength(0);
            }
        }
        if (out.length() > 0) {
            System.err.print(out);
        }
        System.err.flush();
    }

    /** Characters written to stderr in one call at most (and a line). */
    private static final int SLICE_CHARS = 64 * 1024;

    /** slf4j-simple's format as Portico ships it ({@code simplelogger.properties}), and whether it is in force. */
    static final class SimpleFormat {
        /** Its {@code dateTimeFormat}. */
        private static final String DATE_PATTERN = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
        /** Its date, in the JVM's time zone as slf4j-simple uses. */
        static final DateTimeFormatter DATE =
                DateTimeFormatter.ofPattern(DATE_PATTERN, Locale.ROOT).withZone(ZoneId.systemDefault());
        /** What follows the date: the level and the logger's short name. */
        static final String LEVEL_AND_NAME = " INFO access - ";
        private static final String PREFIX = "org.slf4j.simpleLogger.";
        /** The format settings and their values as shipped; any other value (or another binding) goes through slf4j. */
        private static final java.util.Map<String, String> SHIPPED = java.util.Map.of(
                "showDateTime", "true",
                "dateTimeFormat", DATE_PATTERN,
                "showThreadName", "false",
                "showThreadId", "false",
                "showShortLogName", "true", // which slf4j-simple shows instead of the full name (showLogName)
                "levelInBrackets", "false",
                "logFile", "System.err");
        /** slf4j-simple's defaults for the settings {@code simplelogger.properties} leaves out. */
        private static final java.util.Map<String, String> DEFAULTS = java.util.Map.of(
                "showThreadId", "false", "levelInBrackets", "false", "logFile", "System.err");

        private SimpleFormat() {
        }

        /** Whether {@code portico.access} is slf4j-simple's, with every format setting as shipped. */
        static boolean shipped() {
            if (!"org.slf4j.simple.SimpleLogger".equals(ACCESS.getClass().getName())) {
                return false;
            }
            java.util.Properties file = new java.util.Properties();
            try (java.io.InputStream in = AccessLog.class.getClassLoader().getResourceAsStream("simplelogger.properties")) {
                if (in != null) {
                    file.load(in);
                }
            } catch (java.io.IOException | RuntimeException e) {
                return false;
            }
            // slf4j-simple formats its date in the JVM's default locale, whose calendar or digits may differ.
            long sample = 1_764_669_600_123L;
            String simple = new java.text.SimpleDateFormat(DATE_PATTERN).format(new java.util.Date(sample));
            return simple.equals(DATE.format(Instant.ofEpochMilli(sample))) && inForce(file, System::getProperty);
        }

        /**
         * Whether the settings in force — a system property, else the properties file, else
         * slf4j-simple's default — are the shipped ones.
         */
        static boolean inForce(java.util.Properties file, java.util.function.UnaryOperator<String> systemProperty) {
            for (java.util.Map.Entry<String, String> setting : SHIPPED.entrySet()) {
                String key = PREFIX + setting.getKey();
                String value = systemProperty.apply(key);
                if (value == null) {
                    value = file.getProperty(key, DEFAULTS.get(setting.getKey()));
                }
                if (value == null || !value.trim().equals(setting.getValue())) {
                    return false;
                }
            }
            return true;
        }
    }

    /** Writes a line; one that fails is reported, and the writer goes on. */
    private static void safely(Runnable line) {
        try {
            line.run();
        } catch (RuntimeException e) {
            LoggerFactory.getLogger(AccessLog.class).warn("An access log line could not be written: {}", e.toString());
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(writer);
        try {
            writer.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
