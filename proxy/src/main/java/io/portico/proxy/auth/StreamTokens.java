package io.portico.proxy.auth;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import io.portico.protocol.ServerSentEvents;
import io.portico.proxy.http.Http;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Methods;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Short-lived, single-purpose credentials for event streams, which a browser's
 * {@code EventSource} opens without being able to set a header: a client holding an API key (a
 * web application's server, typically) asks for a token for one stream path, and the browser
 * passes it as {@code ?sse_token=} — never the API key itself, which would end up in access logs,
 * browser history and proxies' logs.
 *
 * <p>A token stands for the API key that asked for it (its name and its current secret: a key
 * rotated or removed from the keys file ends its tokens), for {@code GET} requests asking for
 * {@code text/event-stream} on exactly the path it was made for, until it expires
 * ({@code sse.token.ttl.ms}). A stream opened with it runs on after that; a reconnection after it
 * needs a new token. Tokens are stateless (an HMAC-SHA256 under {@code sse.token.secret}, random per
 * process unless set): Portico nodes that share the secret accept each other's. The access log
 * shows {@code sse_token=[redacted]}.
 *
 * <p>Thread-safe.
 */
public final class StreamTokens {
    /** The query parameter that carries a token. */
    public static final String PARAMETER = "sse_token";

    /** The paths of the routes that stream events (others cannot have a token). */
    private static final List<Pattern> STREAM_PATHS = List.of(
            Pattern.compile("/consumers/[^/]+/instances/[^/]+/topics/[^/]+"),
            Pattern.compile("/consumers/[^/]+/instances/[^/]+/records"),
            Pattern.compile("/topics/[^/]+/partitions/[^/]+/messages"),
            Pattern.compile("/v3/clusters/[^/]+/topics/[^/]+/partitions/[^/]+/records"));

    private final Authenticator authenticator;
    private final byte[] secret;
    private final Duration ttl;
    private final LongSupplier clock;

    /**
     * @param secret the HMAC key; empty for a random one (tokens of this process only)
     * @param clock milliseconds since the epoch
     */
    public StreamTokens(Authenticator authenticator, String secret, Duration ttl, LongSupplier clock) {
        this.authenticator = authenticator;
        if (secret == null || secret.isEmpty()) {
            this.secret = new byte[32];
            new SecureRandom().nextBytes(this.secret);
        } else {
            this.secret = secret.getBytes(StandardCharsets.UTF_8);
        }
        this.ttl = ttl;
        this.clock = clock;
    }

    /**
     * The key tokens are signed with: {@code sse.token.secret} when set; else, when the node
     * secret is set, one made from it (HMAC-SHA256 of a fixed label), so that the nodes of one
     * service accept each other's tokens (a browser's {@code EventSource} refused by the node a
     * load balancer sent it to does not retry); else empty (a random one per process).
     */
    public static String secret(String tokenSecret, String nodesSecret) {
        if (tokenSecret != null && !tokenSecret.isEmpty() || nodesSecret == null || nodesSecret.isEmpty()) {
            return tokenSecret;
        }
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(nodesSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return java.util.HexFormat.of().formatHex(mac.doFinal(
                    "portico event stream tokens".getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /** How long a token opens streams. */
    public Duration ttl() {
        return ttl;
    }

    /** A token, its path and how long it is valid. */
    public record Token(String token, String path, long expiresInMs) {
    }

    /** Adds the authentication challenge every 401 carries (a {@link #mint} refused after the request's access check). */
    public void challenge(io.undertow.server.HttpServerExchange exchange) {
        authenticator.challenge(exchange);
    }

    /**
     * A token for {@code caller} to open streams on {@code path} (a stream route's path, as the
     * request will have it; percent-escapes allowed).
     *
     * @throws RestException 422 when the path is not one of a route that streams events
     */
    public Token mint(Principal caller, String path) {
        String decoded = normalize(path);
        if (STREAM_PATHS.stream().noneMatch(p -> p.matcher(decoded).matches())) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("path must be the path of a route that streams events "
                    + "(a consumer instance's read or a read by offset), without its query");
        }
        String name = caller.name() == null ? "" : caller.name();
        long expires = clock.getAsLong() + ttl.toMillis();
        Principal key = name.isEmpty() ? null : authenticator.named(name);
        // Signed with the credentials the request came with: an entry rotated or removed while
        // its body was read (the request authenticated with the old key) gets no token, which
        // the entry's new credentials would sign and streams would then outlive the rotation.
        if (!name.isEmpty() && (key == null || !MessageDigest.isEqual(key.credentialDigest(), caller.credentialDigest()))) {
            throw ErrorCode.UNAUTHORIZED.exception("The API key (or user) of this request was rotated or removed while "
                    + "it was read; ask again with the current one");
        }
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(name.getBytes(StandardCharsets.UTF_8))
                + "." + expires + "." + mac(name, expires, decoded, key);
        return new Token(token, path, ttl.toMillis());
    }

    /**
     * The caller a request's token stands for, or null when the request has no token (or presents
     * an API key, which then decides).
     *
     * @throws RestException 401 when the token is not valid, has expired, is for another path, or
     *         the request is not a {@code GET} of an event stream
     */
    Principal caller(HttpServerExchange exchange) {
        java.util.Deque<String> values = exchange.getQueryParameters().get(PARAMETER);
        if (values == null || values.isEmpty() || Authenticator.presentsKey(exchange)) {
            return null;
        }
        if (!exchange.getRequestMethod().equals(Methods.GET)
                || !ServerSentEvents.accepted(Http.accept(exchange))) {
            throw ErrorCode.UNAUTHORIZED.exception("An " + PARAMETER + " opens event streams only "
                    + "(GET with Accept: text/event-stream); send an API key for anything else");
        }
        if (exchange.getAttachment(Http.RELAYED_BY) != null) {
            // Relayed by another node (the node secret was checked): that node checked the token,
            // made with its own secret, and names the key (or basic user) it stands for.
            // Only a consumer instance's stream is ever relayed: on a partition's, the name is not believed.
            String forwarded = Http.param(exchange, "instance") == null ? null
                    : exchange.getRequestHeaders().getFirst(Http.FORWARDED_FOR);
            String name = forwarded == null ? null : Authenticator.decodeName(forwarded);
            Principal key = name == null ? null : authenticator.named(name);
            if (key == null) {
                throw ErrorCode.UNAUTHORIZED.exception("The API key this stream was relayed for is not in this node's keys file");
            }
            return key;
        }
        String token = values.getFirst();
        String[] parts = token.split("\\.", -1);
        if (parts.length == 3) {
            try {
                String name = new String(Base64.getUrlDecoder().decode(parts[0]), StandardCharsets.UTF_8);
                long expires = Long.parseLong(parts[1]);
                Principal key = authenticator.named(name);
                // Undertow decoded the path once already: decoding it again (as normalize does a
                // path given to mint) would make "%2541" of a name "%41", and "A" at that.
                String requested = exchange.getRequestPath();
                String path = requested.length() > 1 && requested.endsWith("/")
                        ? requested.substring(0, requested.length() - 1) : requested;
                if (key != null && MessageDigest.isEqual(mac(name, expires, path, key).getBytes(StandardCharsets.US_ASCII),
                        parts[2].getBytes(StandardCharsets.US_ASCII))) {
                    if (clock.getAsLong() > expires) {
                        throw ErrorCode.UNAUTHORIZED.exception("The " + PARAMETER + " has expired; ask for a new one");
                    }
                    return key;
                }
            } catch (IllegalArgumentException e) {
                // not a token: below
            }
        }
        throw ErrorCode.UNAUTHORIZED.exception("The " + PARAMETER + " is not valid for this path");
    }

    private String mac(String name, long expires, String path, Principal key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            String bound = "portico-sse-token-v1\n" + name + "\n" + expires + "\n" + path + "\n"
                    + (key == null ? "" : HexFormat.of().formatHex(key.credentialDigest()));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(bound.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /** A path percent-decoded (UTF-8) and without a trailing slash, as the router matches it. */
    static String normalize(String path) {
        if (path == null || !path.startsWith("/") || path.indexOf('?') >= 0 || path.indexOf('#') >= 0) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("path must be a request path starting with /, without a query");
        }
        String p = path.indexOf('%') < 0 ? path : decode(path);
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    private static String decode(String path) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%' && i + 2 < path.length() && Character.digit(path.charAt(i + 1), 16) >= 0
                    && Character.digit(path.charAt(i + 2), 16) >= 0) {
                out.write(Character.digit(path.charAt(i + 1), 16) << 4 | Character.digit(path.charAt(i + 2), 16));
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
