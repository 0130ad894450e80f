package io.portico.bench;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Finds one complete HTTP/1.1 response at the start of a buffer: status line, headers, and a body
 * delimited by {@code Content-Length}, by chunked transfer coding, or (with neither) by the end
 * of the connection. Portico answers with {@code Content-Length}; the others are handled so that a
 * change there does not make the load generator hang.
 */
public final class ResponseParser {
    private ResponseParser() {
    }

    /**
     * One response.
     *
     * @param consumed bytes of the buffer the response took (head and body)
     * @param close whether the server will close the connection after it
     */
    public record Response(int status, byte[] body, int bodyOffset, int bodyLength, int consumed, boolean close) {
        public String bodyText() {
            return new String(body, bodyOffset, bodyLength, StandardCharsets.UTF_8);
        }
    }

    /** Thrown for bytes that are not an HTTP/1.x response. */
    public static final class MalformedResponse extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MalformedResponse(String message) {
            super(message);
        }
    }

    /**
     * The response at {@code buf[off, off+len)}, or null when more bytes are needed.
     *
     * @param eof the server closed the connection: completes a body delimited by the close
     */
    public static Response parse(byte[] buf, int off, int len, boolean eof) {
        int end = off + len;
        int headEnd = indexOf(buf, off, end);
        if (headEnd < 0) {
            return null;
        }
        if (len < 12 || buf[off] != 'H' || buf[off + 1] != 'T' || buf[off + 2] != 'T' || buf[off + 3] != 'P') {
            throw new MalformedResponse("not an HTTP response: "
                    + new String(buf, off, Math.min(len, 60), StandardCharsets.ISO_8859_1));
        }
        boolean http10 = buf[off + 7] == '0';
        int sp = off;
        while (sp < headEnd && buf[sp] != ' ') {
            sp++;
        }
        int status = (buf[sp + 1] - '0') * 100 + (buf[sp + 2] - '0') * 10 + (buf[sp + 3] - '0');
        long contentLength = -1;
        boolean chunked = false;
        boolean close = http10;
        int lineStart = lineEnd(buf, off, headEnd) + 2;
        while (lineStart < headEnd) {
            int lineEnd = lineEnd(buf, lineStart, headEnd);
            int colon = lineStart;
            while (colon < lineEnd && buf[colon] != ':') {
                colon++;
            }
            if (colon < lineEnd) {
                String name = new String(buf, lineStart, colon - lineStart, StandardCharsets.ISO_8859_1).trim();
                String value = new String(buf, colon + 1, lineEnd - colon - 1, StandardCharsets.ISO_8859_1).trim();
                if (name.equalsIgnoreCase("Content-Length")) {
                    contentLength = Long.parseLong(value);
                } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
                    chunked = value.toLowerCase(java.util.Locale.ROOT).contains("chunked");
                } else if (name.equalsIgnoreCase("Connection")) {
                    String v = value.toLowerCase(java.util.Locale.ROOT);
                    if (v.contains("close")) {
                        close = true;
                    } else if (v.contains("keep-alive")) {
                        close = false;
                    }
                }
            }
            lineStart = lineEnd + 2;
        }
        int bodyStart = headEnd + 4;
        if (status / 100 == 1 || status == 204 || status == 304) {
            return new Response(status, buf, bodyStart, 0, bodyStart - off, close);
        }
        if (chunked) {
            return chunked(buf, off, bodyStart, end, status, close);
        }
        if (contentLength >= 0) {
            if (end - bodyStart < contentLength) {
                return null;
            }
            return new Response(status, buf, bodyStart, (int) contentLength, bodyStart - off + (int) contentLength,
                    close);
        }
        if (!eof) {
            return null;
        }
        return new Response(status, buf, bodyStart, end - bodyStart, len, true);
    }

    private static Response chunked(byte[] buf, int off, int pos, int end, int status, boolean close) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            int lineEnd = lineEnd(buf, pos, end);
            if (lineEnd >= end) {
                return null;
            }
            String sizeText = new String(buf, pos, lineEnd - pos, StandardCharsets.ISO_8859_1);
            int semicolon = sizeText.indexOf(';');
            int size = Integer.parseInt((semicolon < 0 ? sizeText : sizeText.substring(0, semicolon)).trim(), 16);
            pos = lineEnd + 2;
            if (size == 0) {
                // Trailer fields (none expected) end with an empty line.
                while (true) {
                    int trailerEnd = lineEnd(buf, pos, end);
                    if (trailerEnd >= end) {
                        return null;
                    }
                    boolean empty = trailerEnd == pos;
                    pos = trailerEnd + 2;
                    if (empty) {
                        byte[] bytes = body.toByteArray();
                        return new Response(status, bytes, 0, bytes.length, pos - off, close);
                    }
                }
            }
            if (end - pos < size + 2) {
                return null;
            }
            body.write(buf, pos, size);
            pos += size + 2;
        }
    }

    /** Index of the CR of the next CRLF at or after {@code from}, or {@code end} when there is none. */
    private static int lineEnd(byte[] buf, int from, int end) {
        for (int i = from; i + 1 < end; i++) {
            if (buf[i] == '\r' && buf[i + 1] == '\n') {
                return i;
            }
        }
        return end;
    }

    /** Index of the CRLFCRLF ending the head, or -1. */
    private static int indexOf(byte[] buf, int from, int end) {
        for (int i = from; i + 3 < end; i++) {
            if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                return i;
            }
        }
        return -1;
    }
}
