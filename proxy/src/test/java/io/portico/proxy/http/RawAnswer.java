package io.portico.proxy.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** One HTTP/1.1 answer read from a raw socket: its head and its body (the server sent a Content-Length). */
record RawAnswer(String head, String body) {

    /** Reads one answer; the body is empty when the head names no length. */
    static RawAnswer read(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed in the head: " + head);
            }
            head.write(b);
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        int length = 0;
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return new RawAnswer(text, new String(in.readNBytes(length), StandardCharsets.UTF_8));
    }

    /** The status line. */
    String status() {
        return head.lines().findFirst().orElse("");
    }
}
