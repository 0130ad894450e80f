package io.portico.proxy.ops;

import io.portico.protocol.ErrorCode;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.net.URI;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Requests that change something (every method but {@code GET}, {@code HEAD} and
 * {@code OPTIONS}, and a consumer instance's reads, which consume its records: v1's
 * {@code GET /consumers/{g}/instances/{i}/topics/{t}}, v2's {@code …/records}, and their event
 * streams) sent by a web page of another site are refused 403, unless that page's origin
 * is one {@code access.control.allow.origin} lets in. CORS only keeps such a page from reading
 * the answer: a form or a {@code no-cors} fetch with a {@code text/plain} body (or none) needs no
 * preflight, and reaches the records endpoint or a v1 produce of any Portico the browser can
 * reach (with authentication off, or with credentials the browser holds: a client certificate, a
 * password typed at Basic's prompt). A browser says where a request comes from
 * ({@code Sec-Fetch-Site}, and {@code Origin} on every such request); clients that are not
 * browsers (curl, Kafka tools, Node.js) send neither and are not concerned.
 *
 * <p>The rule: {@code Sec-Fetch-Site: same-origin} or {@code none} passes; {@code same-site} or
 * {@code cross-site} passes only with an allowed {@code Origin}; without {@code Sec-Fetch-Site}
 * (an older browser), an {@code Origin} passes when allowed or when it names the host the request
 * was sent to ({@code Host}, or the {@code X-Forwarded-Host} a proxy in front sets). Requests other
 * nodes relay (with the node secret) were checked there. Thread-safe.
 */
public final class CrossSiteWrites implements HttpHandler {
    private static final HttpString ORIGIN = new HttpString("Origin");
    private static final HttpString FETCH_SITE = new HttpString("Sec-Fetch-Site");
    private static final HttpString FORWARDED_HOST = new HttpString("X-Forwarded-Host");
    private static final int SHOWN_MAX = 100;

    private final HttpHandler next;
    private final Predicate<String> allowed;
    private final Predicate<HttpServerExchange> fromNode;

    /**
     * @param allowed whether an origin is one {@code access.control.allow.origin} lets in
     * @param fromNode whether a request was relayed by another node (with the node secret)
     */
    public CrossSiteWrites(HttpHandler next, Predicate<String> allowed, Predicate<HttpServerExchange> fromNode) {
        this.next = next;
        this.allowed = allowed;
        this.fromNode = fromNode;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        HttpString method = exchange.getRequestMethod();
        boolean read = method.equals(Methods.GET) || method.equals(Methods.HEAD);
        boolean consumes = read && consumesRecords(exchange.getRelativePath());
        String origin = read && !consumes || method.equals(Methods.OPTIONS) ? null : refusedOrigin(exchange);
        if (origin == null || fromNode.test(exchange)) {
            next.handleRequest(exchange);
            return;
        }
        throw ErrorCode.FORBIDDEN.exception("a web page of another site (Origin: " + shown(origin) + ") may not "
                + (consumes ? "read a consumer instance's records (a read consumes them)" : "send "
                + exchange.getRequestMethod() + " requests") + " here; its origin must be listed in access.control.allow.origin");
    }

    /**
     * Whether {@code path} is a consumer instance's read (v1's {@code /consumers/{g}/instances/{i}/topics/{t}},
     * v2's {@code /consumers/{g}/instances/{i}/records}): a GET that hands records out, and
     * commits them with auto-commit.
     */
    static boolean consumesRecords(String path) {
        if (!path.startsWith("/consumers/")) {
            return false;
        }
        // The router takes a path with one trailing slash as the path without it.
        String[] parts = (path.endsWith("/") ? path.substring(0, path.length() - 1) : path).split("/", -1);
        return parts.length >= 6 && parts[3].equals("instances")
                && (parts.length == 6 && parts[5].equals("records") || parts.length == 7 && parts[5].equals("topics"));
    }

    /** The origin a request comes from when it may not change anything here; null when it may. */
    private String refusedOrigin(HttpServerExchange exchange) {
        String origin = exchange.getRequestHeaders().getFirst(ORIGIN);
        String site = exchange.getRequestHeaders().getFirst(FETCH_SITE);
        if (site != null) {
            String s = site.trim().toLowerCase(Locale.ROOT);
            if (s.equals("same-origin") || s.equals("none")) {
                return null;
            }
            if (origin != null && allowed.test(origin)) {
                return null;
            }
            return origin == null ? "(none; Sec-Fetch-Site: " + s + ")" : origin;
        }
        if (origin == null || allowed.test(origin) || sameHost(origin, exchange.getRequestHeaders().getFirst(Headers.HOST))
                || sameHost(origin, forwardedHost(exchange))) {
            return null;
        }
        return origin;
    }

    /**
     * The host a proxy in front says the client asked ({@code X-Forwarded-Host}, its first), or
     * null. A page of another site cannot send it: a request with a header of its own choosing is
     * no simple request, and the browser asks a preflight first, which another origin fails.
     */
    private static String forwardedHost(HttpServerExchange exchange) {
        String forwarded = exchange.getRequestHeaders().getFirst(FORWARDED_HOST);
        if (forwarded == null) {
            return null;
        }
        int comma = forwarded.indexOf(',');
        return (comma < 0 ? forwarded : forwarded.substring(0, comma)).trim();
    }

    /**
     * Whether {@code origin} ({@code scheme://host[:port]}) names the host the request was sent
     * to; the port is compared only when {@code Host} gives one (a gateway in front may have
     * taken TLS off, and the request's own scheme tell nothing of the page's).
     */
    static boolean sameHost(String origin, String host) {
        if (host == null || origin.equals("null")) {
            return false;
        }
        URI uri;
        try {
            uri = new URI(origin.trim());
        } catch (java.net.URISyntaxException e) {
            return false;
        }
        if (uri.getHost() == null || uri.getScheme() == null) {
            return false;
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        String name = h;
        int port = -1;
        int colon = h.lastIndexOf(':');
        if (colon > h.lastIndexOf(']')) { // a port, not a colon of an IPv6 address
            name = h.substring(0, colon);
            try {
                port = Integer.parseInt(h.substring(colon + 1));
            } catch (NumberFormatException e) {
                return false;
            }
        }
        if (!uri.getHost().toLowerCase(Locale.ROOT).equals(name)) {
            return false;
        }
        if (port < 0) {
            return true;
        }
        int originPort = uri.getPort() >= 0 ? uri.getPort()
                : uri.getScheme().equalsIgnoreCase("https") ? 443 : uri.getScheme().equalsIgnoreCase("http") ? 80 : -1;
        return originPort == port;
    }

    private static String shown(String origin) {
        String s = origin.length() > SHOWN_MAX ? origin.substring(0, SHOWN_MAX) + "…" : origin;
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return out.toString();
    }
}
