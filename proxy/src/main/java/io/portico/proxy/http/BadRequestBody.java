package io.portico.proxy.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.xnio.conduits.AbstractStreamSinkConduit;
import org.xnio.conduits.StreamSinkConduit;

/**
 * Gives Undertow's answer to a request it cannot parse a JSON body. When Undertow's HTTP/1.1
 * parser rejects a request (a malformed request line, headers beyond the size limits) it writes
 * a fixed {@code 400} with an empty body straight to the connection and closes it; this conduit,
 * under every plain-HTTP connection, recognizes exactly those bytes and writes the same status with
 * {@code {"error_code":400,"message":…}} instead. Every other write passes through untouched (a
 * length comparison is all it costs).
 */
final class BadRequestBody extends AbstractStreamSinkConduit<StreamSinkConduit> {
    /** What Undertow's {@code HttpReadListener} writes, byte for byte. */
    static final byte[] UNDERTOW_BAD_REQUEST =
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    static final byte[] JSON_BAD_REQUEST = HttpServer.response(400, "Bad Request", 400,
            "Bad Request: the request line or headers are malformed or too large");

    BadRequestBody(StreamSinkConduit next) {
        super(next);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        if (src.remaining() == UNDERTOW_BAD_REQUEST.length && src.equals(ByteBuffer.wrap(UNDERTOW_BAD_REQUEST))) {
            ByteBuffer json = ByteBuffer.wrap(JSON_BAD_REQUEST);
            while (json.hasRemaining() && next.write(json) > 0) {
                // a fresh answer of a few hundred bytes fits the socket buffer; the connection closes next
            }
            int consumed = src.remaining();
            src.position(src.limit());
            return consumed;
        }
        return next.write(src);
    }
}
