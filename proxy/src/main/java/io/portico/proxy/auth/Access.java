package io.portico.proxy.auth;

import io.portico.protocol.ErrorCode;
import io.portico.proxy.http.Http;
import io.portico.sessions.KafkaNames;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import java.util.List;

/**
 * Wraps a route's handler with the role it needs: the caller is authenticated (401) and must
 * hold the role on the route's {@code {topic}} when it has one, or on some topic otherwise (403).
 * The route table says which role each route needs. A topic that holds Portico's own state is
 * refused to everyone (403), authentication on or off. A browser's event stream may present a
 * {@link StreamTokens stream token} instead of a key. Each caller's requests count against its
 * {@link Quotas quota} once it is known (429 beyond it).
 */
public final class Access {
    private static final AttachmentKey<Principal> PRINCIPAL = AttachmentKey.create(Principal.class);
    private static final AttachmentKey<Authenticator> KEYS = AttachmentKey.create(Authenticator.class);

    private final Authenticator authenticator;
    private final StreamTokens tokens;
    private final Quotas quotas;
    private final List<String> skipPaths;
    /** Each caller's requests in progress, at most {@code requests.per.key.max}. */
    private final io.portico.sessions.PerOwner inProgress = new io.portico.sessions.PerOwner();

    public Access(Authenticator authenticator) {
        this(authenticator, null, Quotas.none(), List.of(), Integer.MAX_VALUE);
    }

    /**
     * As above; a request may also open an event stream with a token of {@code tokens}, each
     * caller's requests are held to {@code quotas}, and the paths of {@code skipPaths} (Confluent's
     * {@code authentication.skip.paths}: exact paths, or prefixes ending in {@code /*}) are served
     * without authentication. One caller has at most {@code requestsPerKeyMax} requests in
     * progress at once (one more is 429), so that one key cannot take every place of
     * {@code max.concurrent.requests} (a body sent a byte at a time holds its place until the
     * body timeout) from the others.
     */
    public Access(Authenticator authenticator, StreamTokens tokens, Quotas quotas, List<String> skipPaths,
                  int requestsPerKeyMax) {
        this.authenticator = authenticator;
        this.tokens = tokens;
        this.quotas = quotas;
        this.skipPaths = List.copyOf(skipPaths);
        this.inProgress.max(requestsPerKeyMax);
    }

    /** Whether {@code path} is served without authentication. */
    private boolean skips(String path) {
        for (String spec : skipPaths) {
            if (spec.endsWith("/*")) {
                String prefix = spec.substring(0, spec.length() - 2);
                if (prefix.isEmpty() || path.equals(prefix) || path.startsWith(prefix + "/")) {
                    return true;
                }
            } else if (path.equals(spec)) {
                return true;
            }
        }
        return false;
    }

    /** Metadata and consuming. */
    public HttpHandler reader(HttpHandler next) {
        return require(Role.READER, next);
    }

    /** Producing. */
    public HttpHandler writer(HttpHandler next) {
        return require(Role.WRITER, next);
    }

    /** Creating and deleting topics. */
    public HttpHandler manager(HttpHandler next) {
        return require(Role.MANAGER, next);
    }

    /**
     * What bears on the whole cluster (a broker's settings, Kafka's ACLs): {@code role} on every
     * topic and group ({@link Principal#allowsCluster}), else 403.
     */
    public HttpHandler cluster(Role role, HttpHandler next) {
        if (!authenticator.enabled()) {
            return require(role, next);
        }
        return require(role, exchange -> {
            if (!caller(exchange).allowsCluster(role)) {
                throw ErrorCode.FORBIDDEN.exception("This API key does not have the " + role
                        + " role on the whole cluster (every topic and group)");
            }
            next.handleRequest(exchange);
        });
    }

    private HttpHandler require(Role role, HttpHandler next) {
        if (!authenticator.enabled()) {
            return exchange -> {
                quotas.admit(exchange, null);
                KafkaNames.notReserved(Http.param(exchange, "topic"));
                next.handleRequest(exchange);
            };
        }
        return exchange -> {
            Principal caller = skips(exchange.getRequestPath()) ? Principal.UNAUTHENTICATED : null;
            if (caller == null) {
                quotas.refuseIfGuessing(exchange); // past the bound, no credentials are tried
            }
            try {
                if (caller == null && tokens != null) {
                    caller = tokens.caller(exchange);
                }
                if (caller == null) {
                    caller = authenticator.authenticate(exchange);
                }
            } catch (io.portico.protocol.RestException e) {
                if (e.errorCode() == ErrorCode.UNAUTHORIZED) {
                    // A bad key or stream token: 429 instead once its address guessed too often.
                    quotas.admitFailure(exchange);
                    authenticator.challenge(exchange);
                } else if (e.errorCode() == ErrorCode.FORBIDDEN) {
                    // A user without the roles asked for: held to a rate too, as a refused key is.
                    quotas.admitFailure(exchange);
                }
                throw e;
            }
            quotas.admit(exchange, caller);
            holdPlace(exchange, caller.owner());
            String topic = Http.param(exchange, "topic");
            if (topic != null) {
                KafkaNames.topic(topic); // a name Kafka cannot have is refused before any key's globs see it
            }
            if (topic != null ? !caller.allows(role, topic) : !caller.hasRole(role)) {
                throw ErrorCode.FORBIDDEN.exception(topic != null
                        ? "This API key does not have the " + role + " role on topic '" + KafkaNames.excerpt(topic) + "'"
                        : "This API key does not have the " + role + " role");
            }
            String group = Http.param(exchange, "group");
            if (group != null && !caller.allowsGroup(group)) {
                // Joining another application's group would take its partitions and overwrite its
                // committed offsets: a key uses only the groups its entry lists.
                throw ErrorCode.FORBIDDEN.exception("This API key may not use consumer group '"
                        + KafkaNames.excerpt(group) + "'");
            }
            // After the key's scope: a key that may not see a name learns nothing of it here.
            KafkaNames.notReserved(topic);
            exchange.putAttachment(PRINCIPAL, caller);
            if (caller.name() != null) {
                exchange.putAttachment(KEYS, authenticator); // for live(exchange)
            }
            next.handleRequest(exchange);
        };
    }

    /**
     * Takes a place among {@code owner}'s requests in progress until the exchange completes, as
     * {@code max.concurrent.requests} counts it (not only until its answer starts: a stream whose
     * answer started early, or a body drained after its answer, still holds a place there); 429
     * when it has its most already.
     */
    private void holdPlace(HttpServerExchange exchange, String owner) {
        if (!inProgress.take(owner)) {
            throw ErrorCode.TOO_MANY_REQUESTS.exception("this API key has " + inProgress.max()
                    + " requests in progress on this server (requests.per.key.max); retry when one is answered");
        }
        exchange.addExchangeCompleteListener((ex, nextListener) -> {
            try {
                inProgress.give(owner);
            } finally {
                nextListener.proceed();
            }
        });
    }

    /** The caller of a request that passed an access check ({@link Principal#ANONYMOUS} when auth is off). */
    public static Principal caller(HttpServerExchange exchange) {
        Principal p = exchange.getAttachment(PRINCIPAL);
        return p == null ? Principal.ANONYMOUS : p;
    }

    /**
     * Whose share of the shared producer's buffer the caller's records take: its
     * {@linkplain Principal#owner() owner}, or with authentication off (no owner) its client
     * address as requests in progress are counted per address ({@link io.portico.proxy.http.InFlight#countedAddress}:
     * an IPv6 one by its /64), so that one client's records waiting for Kafka never fill the
     * buffer every other client's records need; nobody's when addresses are not counted (set up
     * behind a load balancer, whose one address all clients share). The name an address is
     * counted under starts with a NUL character, which no key's name holds.
     */
    public static String producerOwner(HttpServerExchange exchange) {
        String owner = caller(exchange).owner();
        if (owner != null) {
            return owner;
        }
        String address = io.portico.proxy.http.InFlight.countedAddress(exchange);
        return address == null ? null : ADDRESS_OWNER_PREFIX + address;
    }

    /** What {@link #producerOwner} puts before a client address. */
    static final String ADDRESS_OWNER_PREFIX = (char) 0 + "address ";

    /**
     * The caller as the keys (or users) file reads at each question, not as it read when this
     * request came: for what outlives the request (a pattern subscription's later matches, an
     * event stream's later records), so that a key narrowed or removed by a rewrite of the file
     * stops reading there too. A key no longer in the file may do nothing.
     */
    public static Principal live(HttpServerExchange exchange) {
        Principal caller = caller(exchange);
        Authenticator keys = exchange.getAttachment(KEYS);
        return keys == null || caller.name() == null ? caller : new Live(caller.name(), keys, null);
    }

    /**
     * As {@link #live}, for an event stream: the entry must also still hold the credentials the
     * stream was opened with, so that a key rotated out (its entry keeps its name, with another
     * key) ends the streams it opened, as it ends its stream tokens. Not for a pattern
     * subscription, which is its instance's and lives on under the entry's new key.
     */
    public static Principal liveStream(HttpServerExchange exchange) {
        Principal caller = caller(exchange);
        Authenticator keys = exchange.getAttachment(KEYS);
        return keys == null || caller.name() == null ? caller
                : new Live(caller.name(), keys, caller.credentialDigest());
    }

    /**
     * A principal looked up by name at each question; with {@code credentials}, only while the
     * entry still holds those (a digest, {@link Principal#credentialDigest}).
     */
    private record Live(String name, Authenticator keys, byte[] credentials) implements Principal {
        private Principal now() {
            Principal now = keys.named(name);
            if (now != null && credentials != null
                    && !java.security.MessageDigest.isEqual(credentials, now.credentialDigest())) {
                return null; // rotated: another key under the same name
            }
            return now;
        }

        @Override
        public boolean hasRole(Role role) {
            Principal now = now();
            return now != null && now.hasRole(role);
        }

        @Override
        public boolean allows(Role role, String topic) {
            Principal now = now();
            return now != null && now.allows(role, topic);
        }

        @Override
        public boolean allowsCluster(Role role) {
            Principal now = now();
            return now != null && now.allowsCluster(role);
        }

        @Override
        public boolean allowsGroup(String group) {
            Principal now = now();
            return now != null && now.allowsGroup(group);
        }

        @Override
        public boolean allowsSubject(String subject) {
            Principal now = now();
            return now != null && now.allowsSubject(subject);
        }

    }
}
