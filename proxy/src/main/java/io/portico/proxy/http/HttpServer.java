package io.portico.proxy.http;

import io.portico.sessions.MemoryBudget;
import io.undertow.UndertowOptions;
import io.undertow.connector.ByteBufferPool;
import io.undertow.protocols.ssl.UndertowXnioSsl;
import io.undertow.server.DefaultByteBufferPool;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.AlpnOpenListener;
import io.undertow.server.protocol.http.HttpOpenListener;
import io.undertow.server.protocol.http2.Http2OpenListener;
import io.undertow.server.protocol.http2.Http2UpgradeHandler;
import io.undertow.util.Headers;
import io.undertow.util.Protocols;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.SslClientAuthMode;
import org.xnio.StreamConnection;
import org.xnio.Xnio;
import org.xnio.XnioWorker;
import org.xnio.channels.AcceptingChannel;
import org.xnio.conduits.ConduitStreamSinkChannel;

/**
 * Portico's HTTP/1.1 listeners on Undertow, with the limits a shared server needs that Undertow's
 * builder does not give:
 * <ul>
 * <li>a cap on open connections per listener: a connection beyond it is answered
 *     {@code 503} with a JSON body (plain HTTP) or closed (TLS, before its handshake) at once,
 *     so that a flood of idle connections costs no file descriptors beyond the cap;</li>
 * <li>timeouts: a client that starts a request has {@code headerTimeout} to send its line and
 *     headers; a connection with no request in progress (a new one too) is closed after
 *     {@code idleTimeout}; a response the client does not read for {@code writeTimeout} ends the
 *     connection;</li>
 * <li>a request Undertow cannot parse (a bad request line, headers over the size limit) gets a
 *     {@code 400} with a JSON body instead of Undertow's empty one.</li>
 * </ul>
 * Everything else is Undertow's {@link HttpOpenListener}, set up as {@code Undertow.builder()}
 * does it.
 */
public final class HttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpServer.class);

    /** The TLS suites offered when none are configured: forward-secret AEAD only (TLS 1.3's, and ECDHE with GCM or ChaCha20). */
    public static final List<String> DEFAULT_CIPHER_SUITES = List.of(
            "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /**
     * HTTP/2's mandatory suite (RFC 7540, 9.2.2): Undertow offers h2 by ALPN only when it is
     * enabled, whatever else is, and falls back to HTTP/1.1 without a word.
     */
    static final String HTTP2_SUITE = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";

    /**
     * The suites a TLS listener enables: those configured, else {@link #DEFAULT_CIPHER_SUITES}.
     * With HTTP/2 on and its suite not among them: added when only TLSv1.3 is enabled (no
     * handshake can choose it then: it only lets Undertow offer h2), else left out, and a warning
     * says HTTP/2 is not offered over TLS and how to have it.
     */
    static List<String> cipherSuites(Settings settings) {
        List<String> suites = settings.tlsCipherSuites().isEmpty() ? DEFAULT_CIPHER_SUITES : settings.tlsCipherSuites();
        if (!settings.http2() || suites.contains(HTTP2_SUITE)) {
            return suites;
        }
        if (settings.tlsProtocols().stream().allMatch("TLSv1.3"::equals)) {
            List<String> with = new java.util.ArrayList<>(suites);
            with.add(HTTP2_SUITE);
            return List.copyOf(with);
        }
        LOG.warn("HTTP/2 is not offered over TLS: ssl.cipher.suites leaves out {}, which HTTP/2 requires and without "
                + "which h2 is not offered by ALPN; add it, or set http2.enabled=false to say HTTP/1.1 is meant", HTTP2_SUITE);
        return suites;
    }

    /** What every listener of one server shares. */
    public record Settings(int ioThreads, int headersMaxBytes, Duration headerTimeout, Duration idleTimeout,
                           Duration writeTimeout,
                           int maxConnections, long maxEntitySize, List<String> tlsProtocols,
                           List<String> tlsCipherSuites, String clientAuth, boolean http2, int http2MaxStreams,
                           MemoryBudget heads, int maxConnectionsPerAddress, ResetAnswers resetAnswers) {
        /**
         * As below, with no client address held to fewer connections than {@code maxConnections},
         * and what reset HTTP/2 streams' answers keep queued bounded per connection only.
         */
        public Settings(int ioThreads, int headersMaxBytes, Duration headerTimeout, Duration idleTimeout,
                        Duration writeTimeout, int maxConnections, long maxEntitySize, List<String> tlsProtocols,
                        List<String> tlsCipherSuites, String clientAuth, boolean http2, int http2MaxStreams,
                        MemoryBudget heads) {
            this(ioThreads, headersMaxBytes, headerTimeout, idleTimeout, writeTimeout, maxConnections, maxEntitySize,
                    tlsProtocols, tlsCipherSuites, clientAuth, http2, http2MaxStreams, heads, maxConnections, null);
        }

        /** As below, with request heads still arriving counted against no budget. */
        public Settings(int ioThreads, int headersMaxBytes, Duration headerTimeout, Duration idleTimeout,
                        Duration writeTimeout, int maxConnections, long maxEntitySize, List<String> tlsProtocols,
                        List<String> tlsCipherSuites, String clientAuth, boolean http2, int http2MaxStreams) {
            this(ioThreads, headersMaxBytes, headerTimeout, idleTimeout, writeTimeout, maxConnections, maxEntitySize,
                    tlsProtocols, tlsCipherSuites, clientAuth, http2, http2MaxStreams, null);
        }

        /** HTTP/2 on, at most 100 streams per connection. */
        public Settings(int ioThreads, int headersMaxBytes, Duration headerTimeout, Duration idleTimeout,
                        Duration writeTimeout, int maxConnections, long maxEntitySize, List<String> tlsProtocols,
                        List<String> tlsCipherSuites, String clientAuth) {
            this(ioThreads, headersMaxBytes, headerTimeout, idleTimeout, writeTimeout, maxConnections, maxEntitySize,
                    tlsProtocols, tlsCipherSuites, clientAuth, true, 100, null);
        }
    }

    private static final String HTTP2_HEADERS_PROPERTY = "io.undertow.http2-max-header-size";
    private static final io.undertow.util.HttpString HTTP2_SETTINGS = new io.undertow.util.HttpString("HTTP2-Settings");

    /**
     * Whether {@code exchange} is to be upgraded to h2c now: an HTTP/1.1 request without a body
     * (as most servers do: a body would have to arrive whole in HTTP/1.1 before the switch, and a
     * stream's never does) and not expecting 100-continue (Undertow would upgrade only once its
     * 100 was written, perhaps later on another thread, past where the connection's heads stop
     * being watched), asking for exactly {@code h2c} (the one upgrade Undertow makes) with one
     * {@code HTTP2-Settings} header of base64url (RFC 9113's upgrade) that Undertow's upgrade
     * handler takes without failing.
     */
    static boolean upgradable(HttpServerExchange exchange) {
        if (!Protocols.HTTP_1_1.equals(exchange.getProtocol())
                || exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING)
                || exchange.getRequestContentLength() > 0
                || io.undertow.server.protocol.http.HttpContinue.requiresContinueResponse(exchange)) {
            return false;
        }
        String upgrade = exchange.getRequestHeaders().getFirst(Headers.UPGRADE);
        io.undertow.util.HeaderValues settings = exchange.getRequestHeaders().get(HTTP2_SETTINGS);
        if (!"h2c".equals(upgrade) || settings == null || settings.size() != 1) {
            return false;
        }
        String value = settings.getFirst();
        int end = value.length();
        while (end > 0 && value.charAt(end - 1) == '=') {
            end--;
        }
        // Six bytes a setting: whole ones only, at most a few hundred.
        if (end > 1024 || end % 8 != 0) {
            return false;
        }
        byte[] bytes;
        try {
            bytes = java.util.Base64.getUrlDecoder().decode(value.substring(0, end));
        } catch (IllegalArgumentException e) {
            return false;
        }
        java.nio.ByteBuffer frame = java.nio.ByteBuffer.wrap(bytes);
        while (frame.remaining() >= 6) {
            int id = frame.getShort() & 0xffff;
            long v = frame.getInt() & 0xffffffffL;
            boolean valid = switch (id) {
                case 2 -> v <= 1; // ENABLE_PUSH
                case 4 -> v <= Integer.MAX_VALUE; // INITIAL_WINDOW_SIZE
                case 5 -> v >= 16_384 && v <= 16_777_215; // MAX_FRAME_SIZE
                default -> true;
            };
            if (!valid) {
                return false;
            }
        }
        return true;
    }

    private final XnioWorker worker;
    private final List<AcceptingChannel<? extends StreamConnection>> channels = new ArrayList<>();
    private final List<InetSocketAddress> addresses = new ArrayList<>();

    private HttpServer(XnioWorker worker) {
        this.worker = worker;
    }

    /**
     * Listens on every URL of {@code listeners} ({@code http://} or {@code https://} with {@code tls}).
     *
     * @throws IOException when a listener cannot bind
     */
    public static HttpServer start(List<URI> listeners, HttpHandler root, SSLContext tls, Settings settings)
            throws IOException {
        return start(listeners, root, null, tls, settings);
    }

    /**
     * The refusal of a request the server turns away before {@code root} sees it (an HTTP/2
     * stream past twice its connection's announced maximum), for the {@code refused} handler of
     * {@link #start(List, HttpHandler, HttpHandler, SSLContext, Settings)} to answer.
     */
    public static final io.undertow.util.AttachmentKey<io.portico.protocol.RestException> REFUSAL =
            io.undertow.util.AttachmentKey.create(io.portico.protocol.RestException.class);

    /** Throws the exchange's {@link #REFUSAL}: the innermost handler of a chain that answers refused requests. */
    public static final HttpHandler THROW_REFUSAL = exchange -> {
        io.portico.protocol.RestException refusal = exchange.getAttachment(REFUSAL);
        if (refusal == null) {
            throw new IllegalStateException("no refusal attached to this exchange");
        }
        throw refusal;
    };

    /**
     * As {@link #start(List, HttpHandler, SSLContext, Settings)}, with requests turned away before
     * {@code root} handed to {@code refused} with their {@link #REFUSAL} attached (a chain that
     * logs, counts and adds CORS headers as {@code root} does, around {@link #THROW_REFUSAL});
     * null: their error is written as it is.
     */
    public static HttpServer start(List<URI> listeners, HttpHandler root, HttpHandler refused, SSLContext tls,
                                   Settings settings) throws IOException {
        Xnio xnio = Xnio.getInstance(io.undertow.Undertow.class.getClassLoader());
        int ioThreads = settings.ioThreads() > 0 ? settings.ioThreads()
                : Math.max(Runtime.getRuntime().availableProcessors(), 2);
        XnioWorker worker = xnio.createWorker(OptionMap.builder()
                .set(Options.WORKER_IO_THREADS, ioThreads)
                .set(Options.WORKER_TASK_CORE_THREADS, 2)
                .set(Options.WORKER_TASK_MAX_THREADS, 2)
                .set(Options.TCP_NODELAY, true)
                .set(Options.CORK, true)
                .getMap());
        HttpServer server = new HttpServer(worker);
        try {
            server.listen(xnio, listeners, root, refused, tls, settings);
            return server;
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    private void listen(Xnio xnio, List<URI> listeners, HttpHandler root, HttpHandler refused, SSLContext tls,
                        Settings settings) throws IOException {
        OptionMap.Builder socket = OptionMap.builder()
                .set(Options.WORKER_IO_THREADS, worker.getIoThreadCount())
                .set(Options.TCP_NODELAY, true)
                .set(Options.REUSE_ADDRESSES, true)
                .set(Options.BALANCING_TOKENS, 1)
                .set(Options.BALANCING_CONNECTIONS, 2)
                .set(Options.BACKLOG, 1000)
                .set(Options.WRITE_TIMEOUT, (int) Math.min(Integer.MAX_VALUE, settings.writeTimeout().toMillis()));
        if (tls != null) {
            socket.setSequence(Options.SSL_ENABLED_PROTOCOLS, settings.tlsProtocols().toArray(String[]::new));
            socket.setSequence(Options.SSL_ENABLED_CIPHER_SUITES, cipherSuites(settings).toArray(String[]::new));
            if (!settings.clientAuth().equals("none")) {
                socket.set(Options.SSL_CLIENT_AUTH_MODE, settings.clientAuth().equals("required")
                        ? SslClientAuthMode.REQUIRED : SslClientAuthMode.REQUESTED);
            }
        }
        OptionMap socketOptions = socket.getMap();
        // Undertow bounds an HTTP/2 header block by the smaller of this server's options and a
        // JVM-wide 20,000 bytes it reads once (a system property): raised to the most
        // request.headers.max.bytes allows unless the JVM was given one, so this server's own
        // bound holds over HTTP/2 as over HTTP/1.1.
        if (System.getProperty(HTTP2_HEADERS_PROPERTY) == null) {
            System.setProperty(HTTP2_HEADERS_PROPERTY, String.valueOf(16 << 20));
        }
        OptionMap serverOptions = OptionMap.builder()
                .set(UndertowOptions.REQUEST_PARSE_TIMEOUT, (int) Math.min(Integer.MAX_VALUE, settings.headerTimeout().toMillis()))
                .set(UndertowOptions.NO_REQUEST_TIMEOUT, (int) Math.min(Integer.MAX_VALUE, settings.idleTimeout().toMillis()))
                // Unlimited here, as a chunked body's conduit is built with this value and cannot be
                // changed later: a v3 produce stream is a body of any length. Every exchange gets the
                // limit below (which applies to bodies with a Content-Length); handlers that read a
                // body count it against their own limits as it arrives.
                .set(UndertowOptions.MAX_ENTITY_SIZE, 0L)
                .set(UndertowOptions.MAX_HEADER_SIZE, settings.headersMaxBytes())
                .set(UndertowOptions.ALWAYS_SET_KEEP_ALIVE, false)
                .set(UndertowOptions.RECORD_REQUEST_START_TIME, true)
                // HTTP/2: h2c by prior knowledge (the listener reads the preface) and by upgrade
                // (Http2UpgradeHandler below), h2 over TLS by ALPN. A connection's streams are
                // bounded, and so what it may buffer: streams × the 64 KiB flow-control window.
                .set(UndertowOptions.ENABLE_HTTP2, settings.http2())
                .set(UndertowOptions.HTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings.http2MaxStreams())
                .getMap();
        ByteBufferPool buffers = new DefaultByteBufferPool(true, 16 * 1024 - 20, -1, 4);
        for (URI listener : listeners) {
            boolean https = listener.getScheme().toLowerCase(Locale.ROOT).equals("https");
            HttpOpenListener http = new HttpOpenListener(buffers, serverOptions);
            FirstRequests firstRequests = new FirstRequests(settings.idleTimeout(), settings.resetAnswers());
            long stallNanos = settings.writeTimeout().toNanos();
            java.util.function.Consumer<HttpServerExchange> linger = Http.lingerAfterAnswer(firstRequests::close);
            long maxEntitySize = settings.maxEntitySize();
            String keepAlive = keepAliveHint(settings.idleTimeout());
            int maxStreams = settings.http2MaxStreams();
            HttpHandler limited = exchange -> {
                int streams = firstRequests.started(exchange);
                RequestHeads heads = RequestHeads.of(exchange);
                long head = heads == null ? -1 : heads.started(exchange); // its bytes, when counted
                linger.accept(exchange);
                if (stallNanos > 0 && Protocols.HTTP_2_0.equals(exchange.getProtocol())) {
                    exchange.addResponseWrapper((factory, ex) -> new StalledStream(factory.create(), ex, stallNanos,
                            firstRequests));
                }
                exchange.setMaxEntitySize(maxEntitySize);
                if (!Protocols.HTTP_2_0.equals(exchange.getProtocol())
                        && (head >= 0 ? head : headBytes(exchange)) > LARGE_HEAD_BYTES) {
                    // Undertow's parser keeps the buffers a request's line and headers grew to for
                    // the connection's life: a large one is answered, then its connection closed.
                    exchange.setPersistent(false);
                }
                if (keepAlive != null && exchange.isPersistent() && Protocols.HTTP_1_1.equals(exchange.getProtocol())) {
                    exchange.getResponseHeaders().put(Headers.KEEP_ALIVE, keepAlive);
                    exchange.addResponseCommitListener(HttpServer::noHintIfClosing);
                }
                if (streams > 2L * maxStreams) {
                    // Undertow announces the bound in its SETTINGS but holds a client to it nowhere.
                    // Refused past twice it: a stream the client reset counts here until its
                    // handler next writes (Undertow's own count, which the client keeps to, drops
                    // at the reset), and a proxy multiplexing clients that give up on long polls
                    // keeps to the bound by that count.
                    io.portico.protocol.RestException refusal = io.portico.protocol.ErrorCode.TOO_MANY_REQUESTS.exception(
                            "more than " + 2L * maxStreams + " streams of this HTTP/2 connection in progress, twice what "
                            + "its SETTINGS allowed (http2.max.concurrent.streams); retry when one has ended");
                    if (refused == null) {
                        ErrorWriter.write(exchange, refusal);
                    } else {
                        exchange.putAttachment(REFUSAL, refusal);
                        refused.handleRequest(exchange);
                    }
                    return;
                }
                root.handleRequest(exchange);
                if (!https) {
                    keepReadsArmed(exchange);
                }
            };
            HttpHandler upgrade = new Http2UpgradeHandler(limited);
            // Only what upgradable() allows goes to Undertow's upgrade handler; any other request
            // (an HTTP/2 stream naming an upgrade, unreadable settings, a body) is served as it
            // came, with the upgrade headers dropped: Undertow's upgrade handler, outside the error
            // boundary, answered some with a bare 500 and an error logged for each.
            http.setRootHandler(settings.http2() && !https ? exchange -> {
                if (upgradable(exchange)) {
                    RequestHeads heads = RequestHeads.of(exchange);
                    upgrade.handleRequest(exchange);
                    if (heads != null && exchange.isUpgrade()) {
                        // Upgraded: HTTP/2 frames follow, the client's preface perhaps already
                        // read past the head.
                        heads.stop(exchange);
                    }
                    return;
                }
                exchange.getRequestHeaders().remove(Headers.UPGRADE); // no upgrade: none asked of Undertow
                exchange.getRequestHeaders().remove(HTTP2_SETTINGS);
                limited.handleRequest(exchange);
            } : limited);
            ChannelListener<StreamConnection> protocols = http;
            if (settings.http2() && https) {
                Http2OpenListener h2 = new Http2OpenListener(buffers, serverOptions, "h2");
                h2.setRootHandler(limited);
                AlpnOpenListener alpn = new AlpnOpenListener(buffers, serverOptions, "http/1.1", http);
                alpn.addProtocol(Http2OpenListener.HTTP2, h2, 10);
                protocols = alpn;
            }
            ChannelListener<StreamConnection> open = new Guard(protocols, settings, !https, firstRequests);
            ChannelListener<AcceptingChannel<StreamConnection>> accept = ChannelListeners.openListenerAdapter(open);
            InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(listener.getHost()), listener.getPort());
            AcceptingChannel<? extends StreamConnection> channel;
            if (https) {
                UndertowXnioSsl ssl = new UndertowXnioSsl(xnio, OptionMap.create(Options.USE_DIRECT_BUFFERS, true), tls);
                @SuppressWarnings({"unchecked", "rawtypes"})
                ChannelListener<AcceptingChannel<org.xnio.ssl.SslConnection>> sslAccept = (ChannelListener) accept;
                channel = ssl.createSslConnectionServer(worker, address, sslAccept, socketOptions);
            } else {
                channel = worker.createStreamConnectionServer(address, accept, socketOptions);
            }
            channel.resumeAccepts();
            channels.add(channel);
            addresses.add((InetSocketAddress) channel.getLocalAddress());
        }
    }

    /**
     * A request line and headers past this many characters close their HTTP/1.x connection after
     * the answer: Undertow's parser keeps, per connection, buffers as large as the largest request
     * head it read (some 140 KB after one 64 KiB path), and thousands of idle connections kept
     * alive by small requests would hold them outside every memory budget. Common heads (a long
     * bearer token, a records-endpoint URI up to its default 10 KiB) stay under it.
     */
    static final int LARGE_HEAD_BYTES = 16 * 1024;

    /**
     * The characters of a request's line and headers, about (path and query, names and values),
     * for a head the connection's {@link RequestHeads} did not count.
     */
    static long headBytes(HttpServerExchange exchange) {
        long bytes = exchange.getRequestURI().length() + exchange.getQueryString().length();
        for (io.undertow.util.HeaderValues values : exchange.getRequestHeaders()) {
            bytes += values.getHeaderName().length();
            for (String v : values) {
                bytes += v.length();
            }
        }
        return bytes;
    }

    /** Undertow's request reader and XNIO's socket conduit (neither is public), looked up once. */
    private static final Class<?> UNDERTOW_READER = classNamed("io.undertow.server.protocol.http.HttpReadListener");
    private static final Class<?> SOCKET_CONDUIT = classNamed("org.xnio.nio.NioSocketConduit");

    private static Class<?> classNamed(String name) {
        try {
            return Class.forName(name, false, HttpServer.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(name + " is not on the class path", e);
        }
    }

    /**
     * For an HTTP/1.1 request still being answered when its handler returns (one waiting for
     * Kafka): the connection stays armed for reading, as it was when the request arrived.
     * Undertow stops reading a connection as each request begins and starts again once it ends;
     * with an answer that comes later from another thread, each is a change of the socket's
     * epoll registration, two system calls per request that a request answered within its
     * handler never makes (the two changes cancel out before the selector looks). Arming the
     * reads again here cancels Undertow's stop in the same way, so the registration never
     * changes. Nothing is read meanwhile: Undertow's reader, still the connection's listener,
     * stops reading a connection that becomes readable while a request runs, so bytes sent early
     * (a pipelined request, the connection's end) stop the reads at that point, as Undertow
     * would have, and are read once the answer is written. Left alone: a request whose body is
     * still arriving, a connection with another listener (an event stream watching for its end),
     * and TLS connections (whose reads Undertow handles apart). Answers are written on the
     * exchange's IO thread, as {@link Http#complete} and the other helpers do: a connection
     * whose body was read (it has no listener then), ended from another thread while early
     * bytes arrive, could be left with its reads stopped.
     */
    static void keepReadsArmed(HttpServerExchange exchange) {
        if (exchange.isComplete() || !exchange.isRequestComplete() || exchange.isUpgrade()
                || !(exchange.getConnection() instanceof io.undertow.server.protocol.http.HttpServerConnection connection)
                || !exchange.isInIoThread()) {
            return;
        }
        org.xnio.ChannelListener<?> reader = connection.getChannel().getSourceChannel().getReadListener();
        org.xnio.conduits.StreamSourceConduit socket = connection.getOriginalSourceConduit();
        if (socket instanceof RequestHeads heads) {
            socket = heads.socket(); // it only counts what is read: resuming reads passes through it
        }
        // The socket's own conduit: the request's (a body read to its end) passes no resume on,
        // and a read timeout's conduit would start its timer on one.
        if ((reader == null || reader.getClass() == UNDERTOW_READER) && connection.getExtraBytes() == null
                && socket.getClass() == SOCKET_CONDUIT) {
            socket.resumeReads();
        }
    }

    /** An answer that closes its connection after all (a refused body, say) promises no idle time. */
    private static void noHintIfClosing(HttpServerExchange exchange) {
        if (!exchange.isPersistent()) {
            exchange.getResponseHeaders().remove(Headers.KEEP_ALIVE);
        }
    }

    /**
     * The {@code Keep-Alive} header of an HTTP/1.1 answer whose connection stays open: how many
     * whole seconds the connection may then stay idle before the server closes it, so that a
     * client that honors the hint (Node.js's agent, undici) stops reusing it first, rather than
     * sending its next request as it closes. None under a second. HTTP/2 forbids the header: a
     * connection there ends with a GOAWAY frame. HTTP/1.0 gets none: its connections stay open
     * only on a {@code Connection: keep-alive}, which Portico does not send.
     */
    static String keepAliveHint(Duration idleTimeout) {
        long seconds = idleTimeout.toSeconds();
        return seconds < 1 ? null : "timeout=" + seconds;
    }

    /** The bound address of each listener, in the order listed (the real port where 0 was asked). */
    public List<InetSocketAddress> addresses() {
        return List.copyOf(addresses);
    }

    /** Stops listening, closes the connections and the IO threads. */
    @Override
    public void close() {
        for (AcceptingChannel<? extends StreamConnection> channel : channels) {
            IoUtils.safeClose(channel);
        }
        worker.shutdownNow();
    }

    /**
     * In front of Undertow's open listener: counts the listener's connections, in all and from each
     * client address, turns away those beyond either cap, and rewrites Undertow's empty 400 into one
     * with a JSON body.
     */
    private static final class Guard implements ChannelListener<StreamConnection> {
        private static final byte[] TOO_MANY = response(503, "Service Unavailable", 503,
                "Too many open connections; retry later");
        private static final byte[] TOO_MANY_FROM_ADDRESS = response(503, "Service Unavailable", 503,
                "Too many open connections from this client address (connections.per.address.max); retry later");
        private final ChannelListener<StreamConnection> next;
        private final boolean plain;
        private final AtomicInteger open = new AtomicInteger();
        /** Open connections by client address (its text), while an address has any; only when perAddress bounds anything. */
        private final io.portico.sessions.PerOwner byAddress = new io.portico.sessions.PerOwner();
        private static final byte[] HEAD_REFUSED = response(503, "Service Unavailable", 503,
                "Too many large request heads are arriving at once (memory.heads.max.bytes); retry later");
        private final FirstRequests firstRequests;
        private final Settings settings; // its heads budget null: heads are not counted

        Guard(ChannelListener<StreamConnection> next, Settings settings, boolean plain, FirstRequests firstRequests) {
            this.next = next;
            this.settings = settings;
            byAddress.max(settings.maxConnectionsPerAddress());
            this.plain = plain;
            this.firstRequests = firstRequests;
        }

        /** The client address of {@code connection}, when a share of the cap applies and it is known; else null. */
        private String addressOf(StreamConnection connection) {
            java.net.InetSocketAddress peer = settings.maxConnectionsPerAddress() < settings.maxConnections()
                    ? connection.getPeerAddress(java.net.InetSocketAddress.class) : null;
            return peer == null || peer.getAddress() == null ? null : Http.addressKey(peer.getAddress()); // IPv6 by its /64
        }

        @Override
        public void handleEvent(StreamConnection connection) {
            if (open.incrementAndGet() > settings.maxConnections()) {
                open.decrementAndGet();
                refuse(connection, TOO_MANY);
                return;
            }
            String address = addressOf(connection); // null takes no place
            if (!byAddress.take(address)) {
                open.decrementAndGet();
                refuse(connection, TOO_MANY_FROM_ADDRESS);
                return;
            }
            Runnable unwatched = firstRequests.watch(connection);
            RequestHeads counted = null;
            if (settings.heads() != null) {
                // On https this is the decrypted side: the bytes Undertow parses.
                org.xnio.conduits.ConduitStreamSourceChannel source = connection.getSourceChannel();
                counted = new RequestHeads(source.getConduit(), settings.heads(), connection, plain ? HEAD_REFUSED : null,
                        settings.headersMaxBytes(), settings.http2(), settings.headerTimeout());
                source.setConduit(counted);
            }
            RequestHeads countedHeads = counted;
            // XNIO merges close listeners, so Undertow's own, set later, does not replace this one.
            connection.setCloseListener(c -> {
                open.decrementAndGet();
                byAddress.give(address);
                unwatched.run();
                if (countedHeads != null) {
                    countedHeads.closed();
                }
            });
            // On https this is the decrypted side of the connection: the same bytes Undertow writes.
            ConduitStreamSinkChannel sink = connection.getSinkChannel();
            sink.setConduit(new BadRequestBody(sink.getConduit()));
            next.handleEvent(connection);
        }

        private void refuse(StreamConnection connection, byte[] answer) {
            try {
                if (plain) {
                    connection.getSinkChannel().write(ByteBuffer.wrap(answer));
                }
            } catch (IOException e) {
                LOG.debug("Turning away a connection over the cap failed: {}", e.toString());
            } finally {
                IoUtils.safeClose(connection);
            }
        }
    }

    /**
     * New connections that have not begun a request yet, each closed when it has not within the
     * idle timeout: Undertow times the wait for a first request on plain HTTP/1.1 only, not a TLS
     * handshake that never ends, an HTTP/2 preface without a request after it, or an HTTP/2
     * connection's first stream (its idle timer starts when a stream's answer ends); and HTTP/2
     * connections none of whose streams is in progress, timed likewise, later than Undertow's
     * own timer (which does not start when a stream is reset before its answer ended, by the
     * client or by {@link #reset}, nor when a body ends after its answer). Connections are known by their two ends (one per
     * open connection); once none waits, an HTTP/1.1 request costs a look at an empty map.
     */
    static final class FirstRequests {
        /** How long after its GOAWAY frame Undertow closes an HTTP/2 connection it found idle, and a little more. */
        private static final long UNDERTOW_GOAWAY_GRACE_MILLIS = 2500;
        /** Streams of one HTTP/2 connection Portico resets before it closes the connection instead. */
        static final int RESETS_MAX = 8;
        private final long millis;
        /** What reset streams' queued answers are charged while their connections live. */
        private final ResetAnswers resetAnswers;
        private final java.util.concurrent.ConcurrentHashMap<Ends, Waiting> waiting =
                new java.util.concurrent.ConcurrentHashMap<>();
        /** Every open connection, by its two ends: an HTTP/2 stream's way to its whole connection. */
        private final java.util.concurrent.ConcurrentHashMap<Ends, Open> open =
                new java.util.concurrent.ConcurrentHashMap<>();

        /** An open connection and, on HTTP/2, how many of its streams are requests in progress. */
        private static final class Open {
            final StreamConnection connection;
            final java.util.concurrent.atomic.AtomicInteger streams = new java.util.concurrent.atomic.AtomicInteger();
            final java.util.concurrent.atomic.AtomicInteger resets = new java.util.concurrent.atomic.AtomicInteger();
            /** Its reset streams' queued answers, charged until it closes; made at its first such reset (guarded by this). */
            private ResetAnswers.Holder held;
            private boolean closed; // guarded by this

            Open(StreamConnection connection) {
                this.connection = connection;
            }

            /**
             * Charges one reset stream's queued answer to {@code resetAnswers}; false when there
             * is no room for it (or the connection closed): the connection is to be closed.
             */
            boolean charge(ResetAnswers resetAnswers) {
                ResetAnswers.Holder h;
                synchronized (this) {
                    if (closed) {
                        return false;
                    }
                    if (held == null) {
                        java.net.SocketAddress peer = connection.getPeerAddress();
                        held = resetAnswers.holder(peer instanceof InetSocketAddress inet && inet.getAddress() != null
                                ? Http.addressKey(inet.getAddress()) : peer, () -> closeOnItsThread(connection));
                    }
                    h = held;
                }
                return h.charge(); // false once released by the close
            }

            /** The connection closed: what its reset streams held is given back (nothing to do for most). */
            void release() {
                ResetAnswers.Holder h;
                synchronized (this) {
                    closed = true;
                    h = held;
                }
                if (h != null) {
                    h.release();
                }
            }

            /** Closed on its own IO thread (room is made from another connection's), or here when that takes no more work. */
            private static void closeOnItsThread(StreamConnection connection) {
                try {
                    connection.getIoThread().execute(() -> IoUtils.safeClose(connection));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    IoUtils.safeClose(connection);
                }
            }
        }

        /**
         * A connection's two ends: the peer's address and port alone may be another connection's
         * too (a client using one source port towards two addresses of this host, on a listener
         * of all of them).
         */
        private record Ends(java.net.SocketAddress peer, java.net.SocketAddress local) {
            static Ends of(java.net.SocketAddress peer, java.net.SocketAddress local) {
                return peer == null ? null : new Ends(peer, local);
            }
        }

        private static final class Waiting {
            volatile org.xnio.XnioExecutor.Key deadline;
        }

        FirstRequests(Duration idleTimeout, ResetAnswers resetAnswers) {
            this.millis = idleTimeout.toMillis();
            this.resetAnswers = resetAnswers == null ? new ResetAnswers(null) : resetAnswers;
        }

        /** Watches a new connection; returns what its close must run. */
        Runnable watch(StreamConnection connection) {
            Ends peer = Ends.of(connection.getPeerAddress(), connection.getLocalAddress());
            if (peer == null) {
                return () -> { };
            }
            Open opened = new Open(connection);
            open.put(peer, opened);
            if (millis <= 0) {
                return () -> {
                    open.remove(peer, opened);
                    opened.release();
                };
            }
            Waiting w = new Waiting();
            waiting.put(peer, w);
            w.deadline = connection.getIoThread().executeAfter(() -> {
                if (waiting.remove(peer, w)) {
                    LOG.debug("Closing a connection from {} that began no request in {} ms", peer, millis);
                    IoUtils.safeClose(connection);
                }
            }, millis, java.util.concurrent.TimeUnit.MILLISECONDS);
            return () -> {
                open.remove(peer, opened);
                opened.release();
                forget(peer, waiting.get(peer)); // the first request's wait, or an idle HTTP/2 connection's
            };
        }

        /**
         * Ends {@code exchange}, whose client does not go on with it: on HTTP/1.1 by closing its
         * connection, on HTTP/2 by resetting its stream ({@link #reset}: alone, mostly).
         */
        void close(HttpServerExchange exchange) {
            if (Protocols.HTTP_2_0.equals(exchange.getProtocol())) {
                reset(exchange);
                return;
            }
            IoUtils.safeClose(exchange.getConnection());
        }

        /**
         * Ends an HTTP/2 exchange its client does not go on with: the stream alone is reset
         * ({@code RST_STREAM}; the connection's other streams go on, which behind a proxy that
         * multiplexes its clients over one connection are other clients') and the exchange
         * ended, so that what its request holds is given back (Undertow's reset alone leaves the
         * request in progress). What {@link Http#onReset} registered runs first. The first stream
         * of a connection upgraded from HTTP/1.1 (h2c), which Undertow cannot reset, has its whole
         * connection closed instead, and so does the stream past the {@link #RESETS_MAX}th a
         * connection had reset with its answer not all sent, and one whose queued answer finds no
         * room in {@link ResetAnswers} (charged there until the connection closes; another
         * client's connection is closed first to make room when that client holds more):
         * Undertow keeps such an answer queued (its buffers) until the connection closes, as it
         * does a stream's the client resets, so that is what bounds them, per connection and in
         * all (closing the stream's sink to free them sent a second
         * {@code RST_STREAM}, and closed the whole connection when a frame waited for the socket
         * rather than for a window).
         */
        void reset(HttpServerExchange exchange) {
            Http.beforeReset(exchange);
            Ends peer = Ends.of(exchange.getConnection().getPeerAddress(), exchange.getConnection().getLocalAddress());
            Open connection = peer == null ? null : open.get(peer);
            // Counted when the answer is not all sent: what Undertow then keeps queued until the
            // connection closes, charged to ResetAnswers meanwhile.
            boolean whole = false;
            if (connection != null && !exchange.isResponseComplete()) {
                if (connection.resets.incrementAndGet() > RESETS_MAX) {
                    whole = true;
                    LOG.debug("Closing an HTTP/2 connection from {}: more than {} of its streams reset", peer, RESETS_MAX);
                } else if (!connection.charge(resetAnswers)) {
                    whole = true;
                    LOG.debug("Closing an HTTP/2 connection from {}: no room for its reset stream's queued answer "
                            + "(its address holds the most of them), or it closed", peer);
                }
            }
            if (!whole) {
                try {
                    exchange.getConnection().close(); // an HTTP/2 stream's "connection": RST_STREAM
                } catch (java.io.IOException | RuntimeException e) {
                    whole = true; // Undertow keeps no request channel for an h2c upgrade's stream, and fails to reset it
                }
            }
            if (whole && connection != null) {
                IoUtils.safeClose(connection.connection);
            }
            io.undertow.server.Connectors.terminateRequest(exchange);
            io.undertow.server.Connectors.terminateResponse(exchange);
        }

        /**
         * The connection of {@code exchange} has begun a request. An HTTP/2 connection whose
         * streams have all ended is timed as idle from then on, here too: Undertow restarts its
         * idle timer when a stream ends cleanly, not when one is reset (by the client, or by
         * {@link #reset}), which left such a connection open for good.
         *
         * @return how many of its HTTP/2 connection's streams are requests in progress now, this
         *         one included (0 for HTTP/1.x, or a connection not known)
         */
        int started(HttpServerExchange exchange) {
            boolean http2 = Protocols.HTTP_2_0.equals(exchange.getProtocol());
            if (waiting.isEmpty() && !http2) {
                return 0;
            }
            Ends peer = Ends.of(exchange.getConnection().getPeerAddress(), exchange.getConnection().getLocalAddress());
            if (peer == null) {
                return 0;
            }
            Waiting w = waiting.get(peer);
            if (w != null) {
                forget(peer, w);
            }
            Open connection = http2 ? open.get(peer) : null;
            if (connection == null) {
                return 0;
            }
            int now = connection.streams.incrementAndGet();
            exchange.addExchangeCompleteListener((ex, next) -> {
                if (connection.streams.decrementAndGet() == 0 && millis > 0) {
                    idle(peer, connection);
                }
                next.proceed();
            });
            return now;
        }

        /**
         * An HTTP/2 connection none of whose streams is in progress: closed unless a request
         * begins in time. Later than Undertow's own close of an idle connection (a GOAWAY frame,
         * then the close 2 s after), which comes first whenever Undertow times the connection.
         */
        private void idle(Ends peer, Open connection) {
            Waiting w = new Waiting();
            Waiting before = waiting.put(peer, w);
            if (before != null && before.deadline != null) {
                before.deadline.remove();
            }
            w.deadline = connection.connection.getIoThread().executeAfter(() -> {
                if (connection.streams.get() == 0 && waiting.remove(peer, w)) {
                    LOG.debug("Closing an HTTP/2 connection from {} that began no request in {} ms", peer, millis);
                    IoUtils.safeClose(connection.connection);
                }
            }, millis + UNDERTOW_GOAWAY_GRACE_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
            if (!connection.connection.isOpen()) {
                forget(peer, w); // closed meanwhile: its close may have looked already
            }
        }

        private void forget(Ends peer, Waiting w) {
            if (w != null && waiting.remove(peer, w)) {
                org.xnio.XnioExecutor.Key deadline = w.deadline;
                if (deadline != null) {
                    deadline.remove();
                }
            }
        }
    }

    /**
     * An HTTP/2 stream's answer that makes no progress for the write timeout resets the stream, as
     * the socket's write timeout closes an HTTP/1.1 connection: a client that grants no
     * flow-control window (or stops granting it) blocks the stream's writes without ever blocking
     * the socket, so its request stayed in progress, with what it holds, for good. Its
     * connection goes on, up to {@link FirstRequests#RESETS_MAX} such resets: a client that grants
     * the whole connection no window has each stream reset in turn, and the connection closed
     * at the ninth, or by its idle timeout once none is in progress.
     */
    private static final class StalledStream extends org.xnio.conduits.AbstractStreamSinkConduit<org.xnio.conduits.StreamSinkConduit> {
        private final HttpServerExchange exchange;
        private final long timeoutNanos;
        private final FirstRequests connections;
        private volatile long blockedSince; // 0: not blocked
        private volatile org.xnio.XnioExecutor.Key timer;

        StalledStream(org.xnio.conduits.StreamSinkConduit next, HttpServerExchange exchange, long timeoutNanos,
                      FirstRequests connections) {
            super(next);
            this.exchange = exchange;
            this.timeoutNanos = timeoutNanos;
            this.connections = connections;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return (int) tracked(next.write(src), src.hasRemaining()); // arguments run left to right
        }

        @Override
        public long write(ByteBuffer[] srcs, int offs, int len) throws IOException {
            return tracked(next.write(srcs, offs, len), org.xnio.Buffers.hasRemaining(srcs, offs, len));
        }

        @Override
        public int writeFinal(ByteBuffer src) throws IOException {
            return (int) tracked(next.writeFinal(src), src.hasRemaining());
        }

        @Override
        public long writeFinal(ByteBuffer[] srcs, int offs, int len) throws IOException {
            return tracked(next.writeFinal(srcs, offs, len), org.xnio.Buffers.hasRemaining(srcs, offs, len));
        }

        /** {@code written}, after noting whether the write progressed and whether bytes are left. */
        private long tracked(long written, boolean left) {
            track(written > 0, left);
            return written;
        }

        @Override
        public boolean flush() throws IOException {
            boolean flushed = next.flush();
            track(false, !flushed);
            return flushed;
        }

        /**
         * The whole answer is handed over: it is queued in the connection's frames, which wait for
         * the client's window, where no write blocks. It must be sent within the timeout.
         */
        @Override
        public void terminateWrites() throws IOException {
            super.terminateWrites();
            if (exchange.isComplete()) {
                return;
            }
            org.xnio.XnioExecutor.Key sent = exchange.getIoThread().executeAfter(() -> {
                if (!exchange.isComplete()) {
                    LOG.debug("Resetting an HTTP/2 stream whose client took not all of its answer in {} ms",
                            timeoutNanos / 1_000_000);
                    connections.reset(exchange);
                }
            }, Math.max(1, timeoutNanos / 1_000_000), java.util.concurrent.TimeUnit.MILLISECONDS);
            exchange.addExchangeCompleteListener((ex, nextListener) -> {
                sent.remove();
                nextListener.proceed();
            });
        }

        private void track(boolean progressed, boolean blocked) {
            if (!blocked) {
                blockedSince = 0;
                return;
            }
            if (progressed || blockedSince == 0) {
                blockedSince = System.nanoTime();
            }
            if (timer == null) {
                timer = exchange.getIoThread().executeAfter(this::check, Math.max(1, timeoutNanos / 1_000_000),
                        java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        }

        private void check() {
            timer = null;
            long since = blockedSince;
            if (since == 0 || exchange.isComplete()) {
                return;
            }
            long waited = System.nanoTime() - since;
            if (waited >= timeoutNanos) {
                LOG.debug("Resetting an HTTP/2 stream whose client took none of its answer for {} ms",
                        timeoutNanos / 1_000_000);
                connections.reset(exchange);
                return;
            }
            timer = exchange.getIoThread().executeAfter(this::check, Math.max(1, (timeoutNanos - waited) / 1_000_000),
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /** A complete HTTP/1.1 response with a JSON error body that closes the connection. */
    static byte[] response(int status, String reason, int code, String message) {
        String body = "{\"error_code\":" + code + ",\"message\":\"" + message + "\"}";
        return ("HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length() + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
    }
}
