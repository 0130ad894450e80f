package io.portico.proxy.nodes;

import io.portico.protocol.ErrorCode;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Authenticator;
import io.portico.proxy.http.ErrorWriter;
import io.portico.proxy.http.Http;
import io.portico.sessions.ConsumerRegistry;
import io.portico.sessions.NodeDirectory;
import io.undertow.attribute.ExchangeAttributes;
import io.undertow.server.Connectors;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.proxy.LoadBalancingProxyClient;
import io.undertow.server.handlers.proxy.ProxyCallback;
import io.undertow.server.handlers.proxy.ProxyClient;
import io.undertow.server.handlers.proxy.ProxyConnection;
import io.undertow.server.handlers.proxy.ProxyHandler;
import io.undertow.protocols.ssl.UndertowXnioSsl;
import io.undertow.util.AttachmentKey;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.SameThreadExecutor;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Xnio;
import org.xnio.XnioExecutor;
import org.xnio.ssl.XnioSsl;

/**
 * Consumer instances reachable through any node: a request for an instance another node holds
 * is relayed to that node and its answer (status, headers, body, streamed as it comes) back to
 * the caller, unchanged. The caller's own credentials travel with it, so the holder checks the
 * API key as if it had been asked directly; the relay adds {@value #FORWARDED_BY_NAME} and
 * {@value #NODE_SECRET_NAME}, and {@link #gate} refuses a request that claims to be relayed
 * without the cluster's node secret. A relayed request is never relayed again, and ends once
 * its node is no longer heard from ({@code nodes.expiry.ms}).
 */
public final class Forwarding {
    private static final Logger LOG = LoggerFactory.getLogger(Forwarding.class);
    private static final io.portico.sessions.RateLimitedLog LIMITED =
            new io.portico.sessions.RateLimitedLog(LOG, java.time.Duration.ofSeconds(10));
    static final String FORWARDED_BY_NAME = "Portico-Forwarded-By";
    static final String NODE_SECRET_NAME = "Portico-Node-Secret";
    static final String FORWARDED_TO_NAME = "Portico-Forwarded-To";
    /** On a relayed request: the milliseconds its reads may wait ({@link Http#READ_WITHIN}). */
    static final HttpString READ_WITHIN = new HttpString("Portico-Read-Within");
    public static final HttpString FORWARDED_BY = new HttpString(FORWARDED_BY_NAME);
    public static final HttpString NODE_SECRET = new HttpString(NODE_SECRET_NAME);
    /** The id of the node a relayed request is meant for: another node it reaches refuses it (421). */
    static final HttpString FORWARDED_TO = new HttpString(FORWARDED_TO_NAME);
    private static final AttachmentKey<URI> TARGET = AttachmentKey.create(URI.class);
    /** The connection to the node a request is relayed to, once it has one. */
    private static final AttachmentKey<ProxyConnection> HOLDER_CONNECTION = AttachmentKey.create(ProxyConnection.class);

    private final NodeDirectory directory;
    private final ConsumerRegistry consumers;
    private final byte[] secret;
    private final io.portico.proxy.http.PoolShares pool;
    private final HttpHandler relay;
    private final HttpHandler streamRelay;
    /** What a relayed read may wait, in nanoseconds ({@link #readWithin(java.time.Duration)}). */
    private final long readWithinNanos;

    /**
     * On a request this node relays: the {@link System#nanoTime()} by which the holder's reads
     * must be done, from when it was routed; {@link #READ_WITHIN} says what is left of it when
     * the request is sent (after any wait for a connection to the holder).
     */
    private static final io.undertow.util.AttachmentKey<Long> READS_DONE_BY = io.undertow.util.AttachmentKey.create(Long.class);

    /** The milliseconds left to a relayed request's reads as it is sent; null (no header) on others. */
    private static final io.undertow.attribute.ExchangeAttribute READS_LEFT = new io.undertow.attribute.ExchangeAttribute() {
        @Override
        public String readAttribute(HttpServerExchange exchange) {
            Long by = exchange.getAttachment(READS_DONE_BY);
            return by == null ? null : Long.toString(Math.max(0, by - System.nanoTime()) / 1_000_000);
        }

        @Override
        public void writeAttribute(HttpServerExchange exchange, String newValue) {
            throw new UnsupportedOperationException("read only");
        }
    };

    /**
     * What the reads of a request relayed with {@code timeout} may wait together at the holder:
     * the timeout less a quarter of it (at most 10 s), time for the answer's way back.
     */
    static java.time.Duration readWithin(java.time.Duration timeout) {
        return timeout.minus(java.time.Duration.ofMillis(Math.min(10_000, timeout.toMillis() / 4)));
    }
    /**
     * Plain requests each API key (or user) has relayed to each node at once: per node at most
     * {@link #RELAYED_PER_KEY}, half of the connections an IO thread keeps to a node; and per node
     * and IO thread (whose connections they are) fewer while other keys' crowd those 32 (past
     * three quarters an equal part each, past seven eighths none for keys with some), so that one
     * key's long reads (each holds a connection until it answers), or two keys', never take every
     * connection other keys' relayed requests need. An entry goes once nothing is relayed there.
     */
    private final java.util.concurrent.ConcurrentHashMap<String, io.portico.sessions.PerOwner> relayedTo =
            new java.util.concurrent.ConcurrentHashMap<>();
    static final int RELAYED_PER_KEY = 16;
    private static final int CONNECTIONS_PER_THREAD = 32;

    /**
     * @param directory the nodes of the cluster, or null when this node works alone
     * @param secret the nodes' shared secret (empty when this node works alone)
     * @param pool where a look-up that must wait for the directory runs, each API key's share of it
     * @param tls the TLS context for nodes reached over https (the server's own), or null
     * @param timeout the longest a relayed request may take (event streams excepted)
     * @param streamsMax how many event streams may be relayed to one node at once (per IO thread)
     * @param heartbeat how often a holder writes to an event stream with nothing else to send
     *        ({@code sse.heartbeat.ms}): a relayed stream silent for four of them is ended
     */
    public Forwarding(NodeDirectory directory, ConsumerRegistry consumers, String secret,
                      io.portico.proxy.http.PoolShares pool,
                      SSLContext tls, java.time.Duration timeout, int streamsMax, java.time.Duration heartbeat) {
        this.directory = directory;
        this.consumers = consumers;
        this.secret = secret == null || secret.isEmpty() ? null : secret.getBytes(StandardCharsets.UTF_8);
        this.pool = pool;
        this.readWithinNanos = readWithin(timeout).toNanos();
        if (directory == null) {
            this.relay = null;
            this.streamRelay = null;
            return;
        }
        // Requests and their answers: bounded in time; a request waits for a connection at most that long.
        this.relay = relay(directory, secret, new NodeClient(tls, CONNECTIONS_PER_THREAD, 64, OptionMap.EMPTY),
                (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()), false);
        // Event streams last as long as their client reads: no time bound, and connections of their own,
        // so that open streams never hold up the other relayed requests.
        // A holder writes a heartbeat at least every sse.heartbeat.ms: a stream from it silent
        // for four of them (a link cut between the nodes while the holder is still heard from,
        // or a holder that never answers) is ended, and its client resumes with its Last-Event-ID.
        // Each stream has a connection of its own, closed after it (Connection: close), whatever the
        // holder answered: Undertow's client wraps a connection it sends a request on in one more
        // read-timeout layer each time, so one kept alive for refused streams (a 409, an expired
        // instance, retried by a client for hours) nested layers until a read overflowed the stack
        // of the IO thread, which every connection on that thread shares.
        this.streamRelay = relay(directory, secret, new NodeClient(tls, Math.max(1, streamsMax), 0,
                OptionMap.create(org.xnio.Options.READ_TIMEOUT, streamSilence(heartbeat))), -1, true);
    }

    /** A count of requests relayed per key: to a node, or (shared out) on one IO thread's connections to it. */
    private static io.portico.sessions.PerOwner relayedCount(boolean sharedOut) {
        io.portico.sessions.PerOwner perKey = new io.portico.sessions.PerOwner();
        perKey.max(RELAYED_PER_KEY);
        if (sharedOut) {
            perKey.shareOut(CONNECTIONS_PER_THREAD);
        }
        return perKey;
    }

    /** Gives {@code owner}'s relayed request back to {@code count}, and its entry once nothing is relayed there. */
    private void giveBack(String place, io.portico.sessions.PerOwner count, String owner) {
        count.give(owner);
        if (count.total() == 0) {
            relayedTo.remove(place, count); // one taken meanwhile is given back to it alone
        }
    }

    /** How long a relayed event stream may be silent: four heartbeats, at least a second, at most a day. */
    static int streamSilence(java.time.Duration heartbeat) {
        return (int) Math.max(1_000, Math.min(86_400_000L, heartbeat.toMillis() * 4));
    }

    private static HttpHandler relay(NodeDirectory directory, String secret, NodeClient client, int maxRequestTime,
                                     boolean connectionPerRequest) {
        ProxyHandler.Builder builder = ProxyHandler.builder();
        if (connectionPerRequest) {
            // Put after Undertow's own keep-alive for a client that closes, so it holds. An HTTP/2
            // client's upgrade (h2c), which Undertow passes on, is dropped (an empty value removes
            // a header): a connection upgraded for one stream would be closed under it.
            builder.addRequestHeader(io.undertow.util.Headers.CONNECTION, ExchangeAttributes.constant("close"))
                    .addRequestHeader(io.undertow.util.Headers.UPGRADE, ExchangeAttributes.constant(""))
                    .addRequestHeader(new io.undertow.util.HttpString("HTTP2-Settings"), ExchangeAttributes.constant(""));
        }
        return builder
                .setProxyClient(client)
                .setMaxRequestTime(maxRequestTime)
                .setRewriteHostHeader(false) // the holder builds URLs for the host the caller asked
                .setReuseXForwarded(true)
                .setMaxConnectionRetries(0) // a consumer request is never sent twice
                .addRequestHeader(FORWARDED_BY, ExchangeAttributes.constant(directory.nodeId()))
                .addRequestHeader(NODE_SECRET, ExchangeAttributes.constant(secret))
                .addRequestHeader(READ_WITHIN, READS_LEFT) // worked out as the request is sent
                .setNext(exchange -> {
                    throw ErrorCode.SERVICE_UNAVAILABLE.exception("the node holding this consumer instance "
                            + "cannot be reached; retry");
                })
                .build();
    }

    /**
     * Whether {@code exchange} carries this cluster's node secret: a request another node relayed
     * (its caller counted there), which no share of a client address holds back here.
     */
    public boolean fromNode(HttpServerExchange exchange) {
        if (secret == null) {
            return false;
        }
        String given = exchange.getRequestHeaders().getFirst(NODE_SECRET);
        return given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), secret);
    }

    /**
     * Client addresses (an IPv6 client by its /64, as the failures' rate counts them) that sent a
     * wrong node secret in the last minute: the secret is guessed there, and a right guess from
     * them is not tried once they guessed too often.
     */
    private final com.github.benmanes.caffeine.cache.Cache<String, Boolean> secretGuessedFrom =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(10_000)
                    .expireAfterWrite(java.time.Duration.ofMinutes(1)).executor(Runnable::run).build();

    /**
     * Outside the routes: a request that says another node relayed it must carry the node
     * secret (403 otherwise, also when this node has none); such a request is served here. One
     * with the secret is served whatever other clients at its address did: a node's relays share
     * that address (an IPv6 /64) with clients whose bad API keys must not make this node refuse
     * them. One without it is first shown to {@code guessing}, which may refuse it (429 once its
     * client address has guessed too often), then told to {@code refused} (which may throw its own
     * answer, as for a bad API key); for a minute after a wrong secret, a right one from that address
     * is shown to {@code guessing} first too, so that a right guess is not tried past the bound either.
     */
    public HttpHandler gate(HttpHandler next, java.util.function.Consumer<HttpServerExchange> guessing,
                            java.util.function.Consumer<HttpServerExchange> refused) {
        return exchange -> {
            if (exchange.getRequestHeaders().contains(FORWARDED_BY) || exchange.getRequestHeaders().contains(NODE_SECRET)
                    || exchange.getRequestHeaders().contains(Http.FORWARDED_FOR)
                    || exchange.getRequestHeaders().contains(FORWARDED_TO)) {
                boolean relayed = fromNode(exchange); // compared in constant time
                if (!relayed && exchange.getRequestHeaders().contains(NODE_SECRET)) {
                    secretGuessedFrom.put(Http.sourceAddressKey(exchange), Boolean.TRUE);
                }
                // A relay's address is looked up only while some address guessed lately.
                if (!relayed || secretGuessedFrom.estimatedSize() > 0
                        && secretGuessedFrom.getIfPresent(Http.sourceAddressKey(exchange)) != null) {
                    guessing.accept(exchange);
                }
                if (!relayed) {
                    refused.accept(exchange); // guessing the secret is held to a client's failures' rate
                    throw ErrorCode.FORBIDDEN.exception("Only the nodes of this Portico cluster may relay requests ("
                            + NODE_SECRET_NAME + " missing or wrong)");
                }
                String to = exchange.getRequestHeaders().getFirst(FORWARDED_TO);
                if (to != null && directory != null && !to.equals(directory.nodeId())) {
                    if (directory.heartbeating(to)) {
                        // The URL the directory has for a running node (its node.url, else its
                        // first advertised listener) reached another node: a load balancer's, say.
                        // Answering here would say "no such instance" of one that node holds.
                        LIMITED.warn("misdirected", "A request relayed for node '{}' reached this node ('{}'): "
                                + "each node's node.url must reach that node alone", to, directory.nodeId());
                        throw ErrorCode.MISDIRECTED_REQUEST.exception("relayed for node '" + to + "' but reached node '"
                                + directory.nodeId() + "': each node's node.url must reach that node alone");
                    }
                    // That node is not running (it crashed, and this node started at its address
                    // since): its instances went with it.
                    throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception("Consumer instance not found: it was held by node '"
                            + to + "', which no longer runs at its address. Its group's committed offsets remain in Kafka: "
                            + "create a new instance to resume from them.");
                }
                String by = exchange.getRequestHeaders().getFirst(FORWARDED_BY);
                exchange.putAttachment(Http.RELAYED_BY, by == null ? "" : by);
                String within = exchange.getRequestHeaders().getFirst(READ_WITHIN);
                if (within != null && within.matches("[0-9]{1,10}")) {
                    // From now: the wait for a pool thread here counts too.
                    exchange.putAttachment(Http.READ_WITHIN, System.nanoTime() + Long.parseLong(within) * 1_000_000);
                }
            }
            next.handleRequest(exchange);
        };
    }

    /** Wraps a route of one consumer instance ({@code {group}}, {@code {instance}}). */
    public HttpHandler instance(HttpHandler next) {
        if (directory == null) {
            return next;
        }
        return exchange -> {
            String group = Http.param(exchange, "group");
            String name = Http.param(exchange, "instance");
            if (exchange.getAttachment(Http.RELAYED_BY) != null) {
                next.handleRequest(exchange);
                return;
            }
            NodeDirectory.Location at = directory.locate(group, name);
            // An instance held here serves its requests, unless the directory gave its name to
            // another node since (this one lost Kafka past the expiry): every node then sends them
            // there, this one too, and the one left here expires unused.
            if (consumers.holds(group, name) && !(at instanceof NodeDirectory.There)) {
                next.handleRequest(exchange);
                return;
            }
            if (at instanceof NodeDirectory.There || at instanceof NodeDirectory.Here) {
                route(exchange, at, next);
                return;
            }
            // Unknown, or on a node that left: the directory may not yet have read a create (or a
            // node's first heartbeat) written a moment ago. Waiting for it blocks: a worker does.
            exchange.dispatch(SameThreadExecutor.INSTANCE, () -> {
                try {
                    // On the caller's share of the consumer threads: a look-up waits up to
                    // metadata.timeout.ms while the directory is slow.
                    pool.of(Access.caller(exchange).owner()).execute(() -> Connectors.executeRootHandler(ex -> {
                        try {
                            boolean read = directory.catchUp();
                            NodeDirectory.Location now = directory.locate(group, name);
                            if (!read && !(now instanceof NodeDirectory.There) && !consumers.holds(group, name)) {
                                // Not read to its end: the instance may exist elsewhere (40403 would
                                // tell its client to make a new one), or its node may not have left.
                                throw ErrorCode.SERVICE_UNAVAILABLE.exception("the node directory could not be "
                                        + "read in time to find where this consumer instance is; retry");
                            }
                            route(ex, now, next);
                        } catch (Throwable t) {
                            ErrorWriter.write(ex, t);
                        }
                    }, exchange));
                } catch (RejectedExecutionException e) {
                    ErrorWriter.write(exchange, Http.refused(e));
                }
            });
        };
    }

    private void route(HttpServerExchange exchange, NodeDirectory.Location at, HttpHandler next) throws Exception {
        if (at instanceof NodeDirectory.There there) {
            exchange.putAttachment(TARGET, there.node().url());
            exchange.getRequestHeaders().put(FORWARDED_TO, there.node().id());
            // The caller's key travels in its own headers; a client certificate cannot: name the
            // entry it was found to be (the holder believes it only with the node secret).
            String caller = Access.caller(exchange).name();
            if (caller == null) {
                exchange.getRequestHeaders().remove(Http.FORWARDED_FOR);
            } else {
                exchange.getRequestHeaders().put(Http.FORWARDED_FOR, Authenticator.encodeName(caller));
            }
            // The relay answers a holder it cannot reach with a bare 503 (504 past its time, 500 when
            // the request's body could not be sent): say which node, and why.
            exchange.addDefaultResponseListener(ex -> {
                // 500: the relay's own, when the request's body could not be passed on (the holder's
                // connection broke meanwhile): a 503 to retry, as for a holder that does not answer.
                int status = ex.getStatusCode();
                if (ex.isResponseStarted() || status != 503 && status != 504 && status != 500) {
                    return false;
                }
                // The holder's head may have been copied before its connection broke: its length
                // and framing are not this error's.
                ex.getResponseHeaders().remove(Headers.CONTENT_LENGTH);
                ex.getResponseHeaders().remove(Headers.TRANSFER_ENCODING);
                // The relay's connection to the holder, closed for this answer, really closes only
                // after Undertow drains it (up to 10 s), or a connect still under way fails later;
                // Undertow's relay then closes this exchange's client connection, which by then may
                // carry the client's next request (or, behind a load balancer, another client's).
                // Closed now, after this answer, it carries nothing more (HTTP/1.1; an HTTP/2
                // stream's late reset touches only the ended stream).
                ex.setPersistent(false);
                LIMITED.warn("relay:" + ex.getStatusCode(), "A request relayed to node '{}' at {} ended with {} ({}): {}",
                        there.node().id(), there.node().url(), ex.getStatusCode(), ex.getRequestPath(),
                        ex.getStatusCode() == 504 ? "no answer within nodes.forward.timeout.ms" : "no answer");
                if (ex.getStatusCode() == 504) {
                    ErrorWriter.write(ex, ErrorCode.GATEWAY_TIMEOUT.exception("node '" + there.node().id()
                            + "', which holds this consumer instance, did not answer within nodes.forward.timeout.ms"));
                    return true;
                }
                // The node's URL only in the log above: the caller has no use for the cluster's
                // internal addresses.
                ErrorWriter.write(ex, ErrorCode.SERVICE_UNAVAILABLE.exception("node '" + there.node().id()
                        + "', which holds this consumer instance, does not answer (or has no connection free for "
                        + "another relayed request); retry (a node unheard of for nodes.expiry.ms has left, and its "
                        + "instances with it)"));
                return true;
            });
            // The same test as the handlers' (EventStreamHandlers.orPlain): q=0 is not a stream;
            // and only the two reads that stream (v1's topic read, v2's records) are streams here:
            // another request asking for one is relayed as a plain request, bounded in time.
            boolean stream = exchange.getRequestMethod().equals(io.undertow.util.Methods.GET)
                    && (Http.param(exchange, "topic") != null || exchange.getRequestPath().endsWith("/records")
                            || exchange.getRequestPath().endsWith("/records/")) // the router takes one trailing slash
                    && io.portico.protocol.ServerSentEvents.accepted(Http.accept(exchange));
            if (stream) {
                // Each write of the holder's events goes out at once: HTTP/2 keeps a stream's bytes
                // until its frame fills or is flushed, and the relay flushes only at the end.
                exchange.addResponseWrapper((factory, ex) -> new FlushEachWrite(factory.create()));
                // A client that leaves ends the stream at the holder at once (its connection to the
                // holder closed), not at the next batch or heartbeat: until then the holder keeps
                // the instance, and a client opening it again without Last-Event-ID would get 409.
                Http.onConnectionEnd(exchange, () -> {
                    closeHolder(exchange);
                    IoUtils.safeClose(exchange.getConnection());
                });
            }
            String owner = Access.caller(exchange).owner();
            if (!stream && owner != null) {
                String node = there.node().id();
                io.portico.sessions.PerOwner toNode = relayedTo.computeIfAbsent(node, n -> relayedCount(false));
                // The IO thread's connections to the node: its own pool of them.
                String onThread = node + "\n" + exchange.getIoThread().getName();
                io.portico.sessions.PerOwner viaThread = relayedTo.computeIfAbsent(onThread, n -> relayedCount(true));
                boolean took = toNode.take(owner);
                if (!took || !viaThread.take(owner)) {
                    if (took) {
                        toNode.give(owner);
                    }
                    throw ErrorCode.TOO_MANY_REQUESTS.exception("this API key has " + toNode.heldBy(owner)
                            + " requests relayed to node '" + node + "' in progress, its share of the connections "
                            + "to it (" + RELAYED_PER_KEY + " at most, fewer while other keys' fill those of one IO "
                            + "thread); retry once one has answered");
                }
                exchange.addExchangeCompleteListener((ex, nextListener) -> {
                    giveBack(onThread, viaThread, owner);
                    giveBack(node, toNode, owner);
                    nextListener.proceed();
                });
            }
            endOnceUnheardOf(exchange, there.node());
            // This node's own reset of the client's HTTP/2 stream (an answer it takes none of) ends
            // the exchange, whose completion hands the connection to the holder back to the pool:
            // closed first, its answer half read. (A reset the client sends: closeUnlessPassedOn.)
            if (io.undertow.util.Protocols.HTTP_2_0.equals(exchange.getProtocol())) {
                Http.onReset(exchange, () -> closeHolder(exchange));
            }
            // The client's own header never travels: a stream's reads have no such bound, and the
            // others' bound is worked out as each is sent.
            exchange.getRequestHeaders().remove(READ_WITHIN);
            if (!stream) {
                exchange.putAttachment(READS_DONE_BY, System.nanoTime() + readWithinNanos);
            }
            (stream ? streamRelay : relay).handleRequest(exchange);
        } else if (at instanceof NodeDirectory.Gone gone) {
            throw ErrorCode.CONSUMER_INSTANCE_NOT_FOUND.exception("Consumer instance not found: it was held by node '"
                    + gone.nodeId() + "', which has left. Its group's committed offsets remain in Kafka: "
                    + "create a new instance to resume from them.");
        } else {
            next.handleRequest(exchange); // here, or unknown: this node answers (40403 when it has none)
        }
    }

    /**
     * Ends a relayed request once the directory has not heard from its node for the expiry time
     * (checked every heartbeat interval): a node whose host vanished sends nothing more, not even
     * the close of its connections, so a relayed event stream (which has no time bound) would
     * otherwise stay open for good and its client never reconnect through another node, and any
     * other request would wait for {@code nodes.forward.timeout.ms}. As Undertow's own relay does
     * at its timeout: the connection to the node is closed, and the client's answer is a 503 when
     * it has not started, else its connection (or HTTP/2 stream) is closed.
     */
    private void endOnceUnheardOf(HttpServerExchange exchange, NodeDirectory.Node node) {
        long every = Math.max(50, directory.heartbeatInterval().toMillis());
        AtomicReference<XnioExecutor.Key> check = new AtomicReference<>();
        check.set(exchange.getIoThread().executeAtInterval(() -> {
            if (directory.heardFrom(node.id(), node.url()) || exchange.isComplete()) {
                return;
            }
            stop(check.get());
            LOG.warn("Ending a request relayed to node '{}' at {} ({}): not heard from for nodes.expiry.ms", node.id(),
                    node.url(), exchange.getRequestPath());
            closeHolder(exchange);
            if (exchange.isResponseStarted()) {
                if (!exchange.isComplete()) { // not already answered as the relay saw the connection close
                    IoUtils.safeClose(exchange.getConnection());
                }
            } else {
                exchange.setStatusCode(503);
                exchange.endExchange();
            }
        }, every, TimeUnit.MILLISECONDS));
        exchange.addExchangeCompleteListener((ex, next) -> {
            stop(check.get());
            next.proceed();
        });
    }

    /** Closes the connection to the holder node that {@code exchange} was relayed on, if any. */
    private static void closeHolder(HttpServerExchange exchange) {
        ProxyConnection holder = exchange.getAttachment(HOLDER_CONNECTION);
        if (holder != null) {
            IoUtils.safeClose(holder.getConnection());
        }
    }

    /**
     * An HTTP/2 client's own reset of its stream is found only at the relay's first write of the
     * holder's answer, which ends the exchange there and then: its connection to the holder, the
     * answer half read, would go back to the pool and at once to a request waiting for one, sent
     * behind that answer and answered 503 once the connection closes. The connection is closed
     * first (an exchange's completion listeners run last added first: this one before the pool's),
     * unless the answer was passed on whole (its writes ended).
     */
    private static void closeUnlessPassedOn(HttpServerExchange exchange, ProxyConnection holder) {
        java.util.concurrent.atomic.AtomicBoolean whole = new java.util.concurrent.atomic.AtomicBoolean();
        exchange.addResponseWrapper((factory, ex) -> new WritesEnd(factory.create(), whole));
        exchange.addExchangeCompleteListener((ex, next) -> {
            if (!whole.get()) {
                IoUtils.safeClose(holder.getConnection());
            }
            next.proceed();
        });
    }

    private static void stop(XnioExecutor.Key check) {
        if (check != null) { // null only while it is being scheduled
            check.remove();
        }
    }

    /**
     * Connections to the other nodes, one balancing client (of one host) per node URL; a client
     * not asked for in {@link #IDLE} is dropped and its idle connections closed (nodes come and go
     * under new URLs, a rolling restart's pods say, and a long-lived node must not keep them all).
     */
    static final class NodeClient implements ProxyClient {
        static final java.time.Duration IDLE = java.time.Duration.ofHours(1);
        static final int IDLE_CONNECTION_MS = 30_000;
        private final com.github.benmanes.caffeine.cache.Cache<URI, LoadBalancingProxyClient> byNode;
        private final XnioSsl ssl;

        private final int connectionsPerThread;
        private final int queue;

        private final OptionMap options;

        NodeClient(SSLContext tls, int connectionsPerThread, int queue, OptionMap options) {
            this(tls, connectionsPerThread, queue, options, com.github.benmanes.caffeine.cache.Ticker.systemTicker());
        }

        NodeClient(SSLContext tls, int connectionsPerThread, int queue, OptionMap options,
                   com.github.benmanes.caffeine.cache.Ticker ticker) {
            this.options = options;
            this.byNode = com.github.benmanes.caffeine.cache.Caffeine.newBuilder()
                    .ticker(ticker)
                    .expireAfterAccess(IDLE)
                    .executor(Runnable::run)
                    // A relayed request still on one of its connections finishes: closing the pool
                    // closes what is idle, and the rest as it is handed back.
                    .<URI, LoadBalancingProxyClient>removalListener((url, client, cause) -> {
                        if (url != null && client != null) {
                            client.removeHost(url);
                        }
                    })
                    .build();
            this.connectionsPerThread = connectionsPerThread;
            this.queue = queue;
            XnioSsl s = null;
            try {
                s = new UndertowXnioSsl(Xnio.getInstance(), OptionMap.EMPTY,
                        tls != null ? tls : SSLContext.getDefault());
            } catch (java.security.NoSuchAlgorithmException e) {
                // no TLS to other nodes: https node URLs fail to connect (503)
            }
            this.ssl = s;
        }

        private LoadBalancingProxyClient clientFor(URI url) {
            LoadBalancingProxyClient client = new LoadBalancingProxyClient()
                    .setConnectionsPerThread(connectionsPerThread)
                    .setMaxQueueSize(queue)
                    // No reconnect chain after a failed connect: Undertow's runs every second, holding
                    // the exchange it began with, until the URL answers (for a node gone for good,
                    // never). A client of one host still tries it on the next request.
                    .setProblemServerRetry(0)
                    // Each IO thread closes its connections idle for 30 s: a node that died without
                    // closing them (a crashed host) does not keep them open for the process's life.
                    .setSoftMaxConnectionsPerThread(0)
                    .setTtl(IDLE_CONNECTION_MS);
            return client.addHost(url, null, "https".equals(url.getScheme()) ? ssl : null, options);
        }

        /** The balancing client of {@code url}, made now when there is none. */
        LoadBalancingProxyClient client(URI url) {
            return byNode.get(url, this::clientFor);
        }

        /** The node URLs that have a client now (expired ones dropped first). */
        java.util.Set<URI> urls() {
            byNode.cleanUp();
            return java.util.Set.copyOf(byNode.asMap().keySet());
        }

        @Override
        public ProxyTarget findTarget(HttpServerExchange exchange) {
            URI url = exchange.getAttachment(TARGET);
            if (url == null) {
                return null;
            }
            LoadBalancingProxyClient client = client(url);
            ProxyTarget inner = client.findTarget(exchange);
            return inner == null ? null : new Target(client, inner);
        }

        @Override
        public void getConnection(ProxyTarget target, HttpServerExchange exchange,
                                  ProxyCallback<ProxyConnection> callback, long timeout, TimeUnit unit) {
            Target t = (Target) target;
            t.client().getConnection(t.inner(), exchange, new ProxyCallback<>() {
                @Override
                public void completed(HttpServerExchange ex, ProxyConnection connection) {
                    ex.putAttachment(HOLDER_CONNECTION, connection);
                    if (io.undertow.util.Protocols.HTTP_2_0.equals(ex.getProtocol()) && ex.isResponseChannelAvailable()) {
                        closeUnlessPassedOn(ex, connection);
                    }
                    callback.completed(ex, connection);
                }

                @Override
                public void failed(HttpServerExchange ex) {
                    callback.failed(ex);
                }

                @Override
                public void couldNotResolveBackend(HttpServerExchange ex) {
                    callback.couldNotResolveBackend(ex);
                }

                @Override
                public void queuedRequestFailed(HttpServerExchange ex) {
                    callback.queuedRequestFailed(ex);
                }
            }, timeout, unit);
        }
    }

    private record Target(LoadBalancingProxyClient client, ProxyClient.ProxyTarget inner) implements ProxyClient.ProxyTarget {
    }

    /** Tells when its writes are ended (all of an answer written), not cut. */
    private static final class WritesEnd
            extends org.xnio.conduits.AbstractStreamSinkConduit<org.xnio.conduits.StreamSinkConduit> {
        private final java.util.concurrent.atomic.AtomicBoolean ended;

        WritesEnd(org.xnio.conduits.StreamSinkConduit next, java.util.concurrent.atomic.AtomicBoolean ended) {
            super(next);
            this.ended = ended;
        }

        @Override
        public void terminateWrites() throws java.io.IOException {
            ended.set(true);
            next.terminateWrites();
        }
    }

    /** Flushes after each write, so that a relayed event stream reaches its client event by event. */
    private static final class FlushEachWrite
            extends org.xnio.conduits.AbstractStreamSinkConduit<org.xnio.conduits.StreamSinkConduit> {
        FlushEachWrite(org.xnio.conduits.StreamSinkConduit next) {
            super(next);
        }

        @Override
        public int write(java.nio.ByteBuffer src) throws java.io.IOException {
            int n = next.write(src);
            if (n > 0) {
                next.flush();
            }
            return n;
        }

        @Override
        public long write(java.nio.ByteBuffer[] srcs, int offs, int len) throws java.io.IOException {
            long n = next.write(srcs, offs, len);
            if (n > 0) {
                next.flush();
            }
            return n;
        }

        @Override
        public long transferFrom(java.nio.channels.FileChannel src, long position, long count) throws java.io.IOException {
            long n = next.transferFrom(src, position, count);
            if (n > 0) {
                next.flush();
            }
            return n;
        }

        @Override
        public long transferFrom(org.xnio.channels.StreamSourceChannel source, long count, java.nio.ByteBuffer throughBuffer)
                throws java.io.IOException {
            long n = next.transferFrom(source, count, throughBuffer);
            if (n > 0) {
                next.flush();
            }
            return n;
        }
    }
}
