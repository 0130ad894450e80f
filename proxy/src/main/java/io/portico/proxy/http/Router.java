package io.portico.proxy.http;

import io.portico.protocol.ErrorCode;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.PathTemplateMatch;
import io.undertow.util.PathTemplateMatcher;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Dispatches by path template, then by method. An unknown path is a 404 and a known path with
 * another method a 405 with {@code Allow}, both as JSON errors. A trailing slash is ignored
 * ({@code POST /consumers/testgroup/} is {@code POST /consumers/testgroup}), as Confluent's
 * examples use both. The matched template and its parameters are attached to the exchange as a
 * {@link PathTemplateMatch}: metrics name requests by template, handlers read parameters from it.
 *
 * <p>Build it fully, then serve: it is not modified after the first request.
 */
public final class Router implements HttpHandler {
    private final PathTemplateMatcher<Map<HttpString, HttpHandler>> matcher = new PathTemplateMatcher<>();
    private final Map<String, Map<HttpString, HttpHandler>> byTemplate = new LinkedHashMap<>();

    public Router get(String template, HttpHandler handler) {
        return add(Methods.GET, template, handler);
    }

    public Router post(String template, HttpHandler handler) {
        return add(Methods.POST, template, handler);
    }

    public Router put(String template, HttpHandler handler) {
        return add(Methods.PUT, template, handler);
    }

    public Router delete(String template, HttpHandler handler) {
        return add(Methods.DELETE, template, handler);
    }

    public Router patch(String template, HttpHandler handler) {
        return add(Methods.PATCH, template, handler);
    }

    public Router add(HttpString method, String template, HttpHandler handler) {
        Map<HttpString, HttpHandler> methods = byTemplate.get(template);
        if (methods == null) {
            methods = new LinkedHashMap<>();
            byTemplate.put(template, methods);
            matcher.add(template, methods);
        }
        if (methods.putIfAbsent(method, handler) != null) {
            throw new IllegalStateException("two routes for " + method + " " + template);
        }
        return this;
    }

    /** The route templates, in the order they were added (for docs and tests). */
    public Map<String, Map<HttpString, HttpHandler>> routes() {
        return byTemplate;
    }

    /** Whether the raw request path has a {@code .} or {@code ..} segment (also percent-encoded). */
    static boolean hasDotSegment(String rawPath) {
        int start = 0;
        int n = rawPath.length();
        while (start <= n) {
            int end = rawPath.indexOf('/', start);
            if (end < 0) {
                end = n;
            }
            String segment = rawPath.substring(start, end);
            if (!segment.isEmpty() && segment.length() <= 6) {
                String s = segment.replace("%2e", ".").replace("%2E", ".");
                if (s.equals(".") || s.equals("..")) {
                    return true;
                }
            }
            start = end + 1;
        }
        return false;
    }

    /**
     * The template {@code path} matches, or null: how metrics name a request turned away before
     * it reached the router (overload, shutdown, a preflight).
     */
    public String template(String path) {
        PathTemplateMatcher.PathMatchResult<Map<HttpString, HttpHandler>> match = match(path);
        return match == null ? null : match.getMatchedTemplate();
    }

    /** The route {@code path} matches (one trailing slash taken), or null. */
    private PathTemplateMatcher.PathMatchResult<Map<HttpString, HttpHandler>> match(String path) {
        if (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return matcher.match(path);
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        if (hasDotSegment(exchange.getRequestURI())) {
            // Undertow resolves "." and ".." (POST /topics/.. would become POST /): no route has them.
            ErrorWriter.write(exchange, ErrorCode.NOT_FOUND.exception());
            return;
        }
        String path = exchange.getRelativePath();
        PathTemplateMatcher.PathMatchResult<Map<HttpString, HttpHandler>> match = match(path);
        if (match == null) {
            ErrorWriter.write(exchange, ErrorCode.NOT_FOUND.exception());
            return;
        }
        exchange.putAttachment(PathTemplateMatch.ATTACHMENT_KEY,
                new PathTemplateMatch(match.getMatchedTemplate(), match.getParameters()));
        HttpHandler handler = match.getValue().get(exchange.getRequestMethod());
        if (handler == null) {
            notFoundForMethod(exchange, path, match.getValue());
            return;
        }
        handler.handleRequest(exchange);
    }

    /** No handler for the request's method: a HEAD answered as its GET where that is safe, else 405 with Allow. */
    private static void notFoundForMethod(HttpServerExchange exchange, String path, Map<HttpString, HttpHandler> methods)
            throws Exception {
        boolean headAsGet = headAsGet(path, methods);
        if (headAsGet && exchange.getRequestMethod().equals(Methods.HEAD)
                && !io.portico.protocol.ServerSentEvents.accepted(Http.accept(exchange))) {
            methods.get(Methods.GET).handleRequest(exchange); // Undertow sends the headers only
            return;
        }
        StringBuilder allow = new StringBuilder();
        for (HttpString m : methods.keySet()) {
            allow.append(allow.length() == 0 ? "" : ", ").append(m);
        }
        if (headAsGet && !methods.containsKey(Methods.HEAD)) {
            allow.append(", ").append(Methods.HEAD);
        }
        exchange.getResponseHeaders().put(Headers.ALLOW, allow.toString());
        ErrorWriter.write(exchange, ErrorCode.METHOD_NOT_ALLOWED.exception());
    }

    /**
     * Whether a HEAD of {@code path} is answered as its GET without the body: for every GET but
     * those of consumer instances (a read there consumes records, which a HEAD would throw away)
     * and event streams (Accept: text/event-stream, which never end on their own).
     */
    private static boolean headAsGet(String path, Map<HttpString, HttpHandler> methods) {
        return methods.containsKey(Methods.GET) && !path.startsWith("/consumers/");
    }
}
