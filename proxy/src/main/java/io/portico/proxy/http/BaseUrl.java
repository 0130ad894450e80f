package io.portico.proxy.http;

import io.undertow.server.HttpServerExchange;
import java.net.URI;
import java.util.List;

/**
 * Where clients reach this server, for the absolute URLs answers carry (a v1/v2 consumer's
 * {@code base_uri}, a v3 resource's {@code self}): the advertised listener of the request's scheme
 * (else the first one; with its path, a gateway's prefix), else {@code host.name} with the request's scheme and port, else the
 * request's scheme and {@code Host}. Immutable and thread-safe.
 */
public final class BaseUrl {
    private final List<URI> advertised;
    private final String hostName;

    /**
     * @param advertised URLs clients reach this server at ({@code advertised.listeners}); may be empty
     * @param hostName host to use when nothing is advertised ({@code host.name}), or null to use
     *        the request's {@code Host}
     */
    public BaseUrl(List<URI> advertised, String hostName) {
        this.advertised = List.copyOf(advertised);
        this.hostName = hostName;
    }

    /** {@code <scheme>://<host>[:<port>][<advertised path>]} for this request, without a trailing slash. */
    public String of(HttpServerExchange exchange) {
        if (!advertised.isEmpty()) {
            URI url = advertised.stream().filter(u -> u.getScheme().equalsIgnoreCase(exchange.getRequestScheme()))
                    .findFirst().orElse(advertised.get(0));
            return url.getScheme() + "://" + url.getRawAuthority() + url.getRawPath(); // a proxy's prefix kept
        }
        String host;
        if (hostName != null) {
            int port = exchange.getHostPort();
            boolean defaultPort = port == ("https".equals(exchange.getRequestScheme()) ? 443 : 80);
            host = defaultPort ? hostName : hostName + ":" + port;
        } else {
            host = exchange.getHostAndPort();
        }
        return exchange.getRequestScheme() + "://" + host;
    }
}
