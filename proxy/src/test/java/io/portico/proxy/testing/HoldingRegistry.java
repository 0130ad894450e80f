package io.portico.proxy.testing;

/** A registry that answers schema id 1 ({@code "string"}, registered under every subject) and holds every other request until it is closed. */
public final class HoldingRegistry implements AutoCloseable {
    private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    private final java.util.concurrent.atomic.AtomicInteger held = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.ExecutorService answering = java.util.concurrent.Executors.newCachedThreadPool();
    private final com.sun.net.httpserver.HttpServer server;

    public HoldingRegistry() throws java.io.IOException {
        server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(answering);
        server.createContext("/", exchange -> {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                if (path.startsWith("/subjects/") && "POST".equals(exchange.getRequestMethod())) {
                    // A look-up of schema 1 under a subject (only schema 1 is ever answered): it has it.
                    String subject = path.substring("/subjects/".length());
                    byte[] found = ("{\"subject\":\"" + subject + "\",\"id\":1,\"version\":1,\"schema\":\"\\\"string\\\"\"}")
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(200, found.length);
                    exchange.getResponseBody().write(found);
                    return;
                }
                if (!path.equals("/schemas/ids/1")) {
                    held.incrementAndGet();
                    closed.await();
                    exchange.sendResponseHeaders(503, -1);
                    return;
                }
                byte[] schema = "{\"schema\":\"\\\"string\\\"\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, schema.length);
                exchange.getResponseBody().write(schema);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Requests held so far (those for ids other than 1). */
    public int held() {
        return held.get();
    }

    /** Ends every held request (503) and stops. */
    @Override
    public void close() {
        closed.countDown();
        server.stop(0);
        answering.shutdownNow();
    }
}
