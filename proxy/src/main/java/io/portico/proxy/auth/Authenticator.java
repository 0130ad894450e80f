package io.portico.proxy.auth;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import io.portico.proxy.http.Http;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells who sent a request, from an API key in any of the three forms IBM Event Streams accepts:
 * {@code Authorization: Bearer <key>}, {@code Authorization: Basic base64(<any user>:<key>)} (IBM's
 * user is {@code token}), or {@code X-Auth-Token: <key>}.
 *
 * <p>With authentication off every request is {@link Principal#ANONYMOUS}. With API keys, the
 * keys file's content is compared every few seconds and re-read when it differs; a file that
 * no longer parses is reported in the log and the keys read before stay in force. Keys are never
 * logged.
 * Thread-safe; {@link #authenticate} does no I/O.
 */
public final class Authenticator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Authenticator.class);
    static final HttpString X_AUTH_TOKEN = new HttpString("X-Auth-Token");
    private static final String CHALLENGE_BEARER = "Bearer realm=\"portico\"";
    private static final String FORMS =
            "'Authorization: Bearer <key>', 'Authorization: Basic <base64 of user:key>' or 'X-Auth-Token: <key>'";
    private static final String CHALLENGE_BASIC = "Basic realm=\"portico\", charset=\"UTF-8\"";

    private final Path file;
    private final ScheduledExecutorService watcher;
    private volatile ApiKeys keys;
    private volatile byte[] loadedContent; // what the keys (or users) in force were read from
    /** With {@code authentication.method=BASIC}: its users, and the realm and roles; else null. */
    private volatile BasicUsers users;
    private final String realm;
    private final java.util.Set<String> roles;

    private Authenticator(Path file, byte[] content, ApiKeys keys, Duration checkEvery) {
        this(file, content, keys, null, null, null, checkEvery);
    }

    private Authenticator(Path file, byte[] content, ApiKeys keys, BasicUsers users, String realm,
                          java.util.Set<String> roles, Duration checkEvery) {
        this.file = file;
        this.keys = keys;
        this.users = users;
        this.realm = realm;
        this.roles = roles;
        if (file == null) {
            this.watcher = null;
            return;
        }
        this.loadedContent = content;
        this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "portico-api-keys-watcher");
            t.setDaemon(true);
            return t;
        });
        watcher.scheduleWithFixedDelay(() -> {
            try {
                reloadIfChanged();
            } catch (Throwable e) {
                // Thrown out of the task, it would end every later re-read without a word: keys
                // removed from the file would stay valid until a restart.
                LOG.error("Re-reading the {} file {} failed; the ones read before stay in force", users != null
                        ? "users" : "API keys", file, e);
            }
        }, checkEvery.toMillis(), checkEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Authentication off: every request is anonymous and may do everything. */
    public static Authenticator none() {
        return new Authenticator(null, null, null, Duration.ZERO);
    }

    /**
     * API keys from {@code file}, re-read when it changes.
     *
     * @throws IOException when the file cannot be read
     * @throws IllegalArgumentException when it is not a valid keys file
     */
    public static Authenticator apiKeys(Path file, Duration checkEvery) throws IOException {
        byte[] content = Files.readAllBytes(file);
        return new Authenticator(file, content, ApiKeys.parse(content), checkEvery);
    }

    /**
     * HTTP basic authentication as Confluent REST Proxy's {@code authentication.method=BASIC}: the
     * users of a Jetty users file ({@code user: password[,role...]}), re-read when it changes; a
     * user needs one of {@code roles} ({@code *}: any user), and may then do everything.
     *
     * @throws IOException when the file cannot be read
     * @throws IllegalArgumentException when a line of it cannot be used
     */
    public static Authenticator basic(Path usersFile, String realm, java.util.Set<String> roles, Duration checkEvery)
            throws IOException {
        byte[] content = Files.readAllBytes(usersFile);
        return new Authenticator(usersFile, content, null, BasicUsers.parse(content), realm, java.util.Set.copyOf(roles),
                checkEvery);
    }

    /**
     * The users file the {@code realm} section of the JAAS configuration at {@code jaasLocation}
     * (a path or URL, as {@code -Djava.security.auth.login.config} holds it) names: the
     * {@code file} option of its {@code PropertyFileLoginModule}.
     *
     * @throws IllegalArgumentException when it names none
     */
    public static Path usersFileOf(String jaasLocation, String realm) {
        return BasicUsers.fromJaas(jaasLocation, realm);
    }

    /** Whether requests need credentials. */
    public boolean enabled() {
        return file != null;
    }

    /**
     * The caller of this request: the API key it presents (which decides when the request has
     * an {@code Authorization} or {@code X-Auth-Token} header); for a request another node relayed
     * to a consumer instance's route (its node secret checked), the entry that node found, and
     * nothing else; else the entry naming the client certificate of its TLS connection.
     *
     * @throws RestException 401 (with {@code WWW-Authenticate}) when there is no key or it is not valid
     */
    public Principal authenticate(HttpServerExchange exchange) {
        if (file == null) {
            return Principal.ANONYMOUS;
        }
        String ambiguous = ambiguous(exchange, users == null);
        if (ambiguous != null) {
            challenge(exchange);
            throw ErrorCode.UNAUTHORIZED.exception(ambiguous);
        }
        if (users != null) {
            return basic(exchange);
        }
        ApiKeys current = keys;
        String presented = credential(exchange);
        if (presented != null) {
            return orUnauthorized(exchange, current.find(presented), "The API key is not valid");
        }
        if (exchange.getRequestHeaders().contains(Headers.AUTHORIZATION) || exchange.getRequestHeaders().contains(X_AUTH_TOKEN)) {
            // A header meant as a credential decides, also when it holds none: not the certificate.
            return orUnauthorized(exchange, null, "Authentication required: the Authorization or X-Auth-Token header "
                    + "holds no API key; send one as " + FORMS);
        }
        if (exchange.getAttachment(Http.RELAYED_BY) != null) {
            // The connection is the relaying node's: its certificate is that node's, never the caller's.
            String relayedFor = exchange.getRequestHeaders().getFirst(Http.FORWARDED_FOR);
            boolean instanceRoute = Http.param(exchange, "instance") != null;
            ApiKey entry = relayedFor == null || !instanceRoute ? null : current.named(decodeName(relayedFor));
            return orUnauthorized(exchange, entry, relayedFor == null || !instanceRoute
                    ? "A relayed request needs the caller's API key"
                    : "The API key this request was relayed for is not in this node's keys file");
        }
        ClientCertificate certificate = ClientCertificate.of(exchange);
        if (certificate != null) {
            return orUnauthorized(exchange, current.find(certificate),
                    "No API key names the client certificate '" + certificate.describe() + "'");
        }
        boolean tls = exchange.getConnection().getSslSessionInfo() != null;
        return orUnauthorized(exchange, null, "Authentication required: send an API key as " + FORMS
                + (tls && current.namesCertificates() ? ", or a client certificate an API key names" : ""));
    }

    /**
     * How a relaying node names the entry it found in {@link Http#FORWARDED_FOR}: base64url of
     * its UTF-8 bytes, so that any name (spaces, letters beyond Latin-1) arrives exactly.
     */
    public static String encodeName(String name) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(name.getBytes(StandardCharsets.UTF_8));
    }

    static String decodeName(String encoded) {
        try {
            return new String(Base64.getUrlDecoder().decode(encoded), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** A user of the users file, from {@code Authorization: Basic}; 401 without one, 403 without one of the roles. */
    private Principal basic(HttpServerExchange exchange) {
        String authorization = exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION);
        String value = authorization == null ? "" : authorization.trim();
        BasicUsers.User user = null;
        String decoded = value.regionMatches(true, 0, "Basic ", 0, 6) ? basicCredentials(value.substring(6)) : null;
        int colon = decoded == null ? -1 : decoded.indexOf(':');
        if (colon > 0) {
            user = users.check(decoded.substring(0, colon), decoded.substring(colon + 1));
        }
        if (user == null) {
            challenge(exchange);
            throw ErrorCode.UNAUTHORIZED.exception(value.isEmpty()
                    ? "Authentication required: send 'Authorization: Basic <base64 of user:password>' (curl -u user:password)"
                    : "The user name or password is not valid");
        }
        if (!BasicUsers.allowed(user, roles)) {
            throw ErrorCode.FORBIDDEN.exception("The user '" + user.name() + "' has none of the roles "
                    + "authentication.roles names");
        }
        return user;
    }

    /**
     * Adds the challenges of this server's way of authenticating to a 401 that has none yet
     * (every 401 of this class, and one that refused a stream token): RFC 7235 asks every 401 for one.
     */
    public void challenge(HttpServerExchange exchange) {
        if (exchange.getResponseHeaders().contains(Headers.WWW_AUTHENTICATE)) {
            return;
        }
        if (keys == null && users != null) {
            exchange.getResponseHeaders().put(Headers.WWW_AUTHENTICATE,
                    "Basic realm=\"" + realm.replace("\\", "\\\\").replace("\"", "\\\"") + "\", charset=\"UTF-8\"");
            return;
        }
        exchange.getResponseHeaders().add(Headers.WWW_AUTHENTICATE, CHALLENGE_BEARER);
        exchange.getResponseHeaders().add(Headers.WWW_AUTHENTICATE, CHALLENGE_BASIC);
    }

    private ApiKey orUnauthorized(HttpServerExchange exchange, ApiKey found, String why) {
        if (found != null) {
            return found;
        }
        challenge(exchange);
        throw ErrorCode.UNAUTHORIZED.exception(why);
    }

    /** Whether an entry of the keys file, as it reads now, names a client certificate. */
    public boolean namesCertificates() {
        ApiKeys current = keys; // null with basic authentication
        return current != null && current.namesCertificates();
    }

    /** The key (or basic user) named {@code name} as its file reads now, or null (or auth off). */
    Principal named(String name) {
        BasicUsers basic = users;
        if (basic != null) {
            BasicUsers.User user = basic.named(name);
            return user != null && BasicUsers.allowed(user, roles) ? user : null; // a user who lost its roles is no one
        }
        ApiKeys current = keys;
        return current == null ? null : current.named(name);
    }

    /**
     * Why the request's credentials name no one caller, or null: an {@code Authorization} (or,
     * with API keys, {@code X-Auth-Token}) header sent twice, or both headers carrying different
     * keys. A gateway that adds its own credential beside the client's, rather than replacing it,
     * must not leave the choice to which comes first.
     */
    private static String ambiguous(HttpServerExchange exchange, boolean apiKeys) {
        io.undertow.util.HeaderValues authorization = exchange.getRequestHeaders().get(Headers.AUTHORIZATION);
        if (authorization != null && authorization.size() > 1) {
            return "The request has " + authorization.size() + " Authorization headers; send one";
        }
        if (!apiKeys) {
            return null;
        }
        io.undertow.util.HeaderValues token = exchange.getRequestHeaders().get(X_AUTH_TOKEN);
        if (token != null && token.size() > 1) {
            return "The request has " + token.size() + " X-Auth-Token headers; send one";
        }
        if (authorization != null && token != null && !token.getFirst().isBlank()) {
            String fromAuthorization = credential(exchange);
            if (fromAuthorization != null && !fromAuthorization.equals(token.getFirst().trim())) {
                return "The Authorization and X-Auth-Token headers carry different API keys; send one";
            }
        }
        return null;
    }

    /** Whether the request presents an API key (in any of the three forms). */
    static boolean presentsKey(HttpServerExchange exchange) {
        return credential(exchange) != null;
    }

    /** The key the request presents, or null. */
    static String credential(HttpServerExchange exchange) {
        String authorization = exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION);
        if (authorization != null) {
            String value = authorization.trim();
            int space = value.indexOf(' ');
            String scheme = space < 0 ? value : value.substring(0, space);
            String rest = space < 0 ? "" : value.substring(space + 1).trim();
            if (scheme.equalsIgnoreCase("Bearer") && !rest.isEmpty()) {
                return rest;
            }
            if (scheme.equalsIgnoreCase("Basic") && !rest.isEmpty()) {
                String decoded = basicCredentials(rest);
                int colon = decoded == null ? -1 : decoded.indexOf(':');
                return colon < 0 ? decoded : decoded.substring(colon + 1);
            }
        }
        String token = exchange.getRequestHeaders().getFirst(X_AUTH_TOKEN);
        return token == null || token.isBlank() ? null : token.trim();
    }

    /** What {@code Authorization: Basic <base64>} carries, {@code user:password}; null when it is not base64. */
    private static String basicCredentials(String base64) {
        try {
            return new String(Base64.getDecoder().decode(base64.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The largest keys or users file re-read while running (one replaced by a large file by mistake is not). */
    static final long MAX_FILE_BYTES = 64L << 20;

    private void reloadIfChanged() {
        try {
            // The content is compared, not the modification time or size: a key rotated into a
            // file of the same length within the same second is seen too. The file is small.
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new IllegalArgumentException("it has " + size + " bytes; at most " + MAX_FILE_BYTES + " are read");
            }
            byte[] content = Files.readAllBytes(file);
            if (Arrays.equals(content, loadedContent)) {
                return;
            }
            loadedContent = content;
            if (users != null) {
                BasicUsers reloaded = BasicUsers.parse(content);
                users = reloaded;
                LOG.info("Re-read the users file {}: {} users", file, reloaded.size());
                return;
            }
            ApiKeys reloaded = ApiKeys.parse(content);
            keys = reloaded;
            LOG.info("Re-read the API keys file {}: {} keys", file, reloaded.size());
        } catch (IOException | IllegalArgumentException e) {
            LOG.error("The {} file {} changed but cannot be used ({}); the ones read before stay in force",
                    users != null ? "users" : "API keys", file, e.getMessage());
        }
    }

    @Override
    public void close() {
        if (watcher != null) {
            watcher.shutdownNow();
        }
    }
}
