package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SseLoadTest {

    @Test
    void findsTheFirstNewlineWhereverItIs() {
        Random random = new Random(7);
        for (int round = 0; round < 2000; round++) {
            byte[] buf = new byte[1 + random.nextInt(40)];
            for (int i = 0; i < buf.length; i++) {
                // Bytes next to '\n' (0x09, 0x0B, 0x8A) as well, where a wrong mask would slip.
                int pick = random.nextInt(6);
                buf[i] = (byte) (pick == 0 ? '\n' : pick == 1 ? 0x09 : pick == 2 ? 0x0B : pick == 3 ? 0x8A : random.nextInt(256));
            }
            int from = random.nextInt(buf.length);
            int to = from + random.nextInt(buf.length - from + 1);
            int expected = -1;
            for (int i = from; i < to; i++) {
                if (buf[i] == '\n') {
                    expected = i;
                    break;
                }
            }
            assertEquals(expected, SseLoad.Stream.indexOfNewline(buf, from, to), "round " + round);
        }
    }

    @Test
    void countsEveryEventByItsIdWhateverTheReadsSplit() throws Exception {
        StringBuilder body = new StringBuilder(": stream opened\n\n");
        List<Long> sent = new ArrayList<>();
        for (long offset = 0; offset < 300; offset++) {
            // Data lines that look like ids inside, and of every length around eight bytes; one
            // line longer than the reader's buffer, and some ids ending in CR LF.
            body.append("data: {\"value\":\"id: 99/").append("x".repeat((int) (offset % 19))).append("\"}\n");
            body.append("id: topic-9/2/").append(offset).append(offset % 7 == 3 ? "\r\n\n" : "\n\n");
            if (offset == 150) {
                // Longer than the reader's buffer (256 KiB): it drops the line's first 256 KiB, and
                // what follows in the same line is still that line, though it reads as an id.
                body.append("data: ").append("y".repeat(256 * 1024 - 6)).append("id: 9/9/777\n\n");
            }
            sent.add(offset);
            if (offset % 50 == 0) {
                body.append(": heartbeat\n\n");
            }
        }
        String text = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + body;
        byte[] response = text.getBytes(StandardCharsets.US_ASCII);
        int longStart = text.indexOf("yyyy");
        int longEnd = longStart + 256 * 1024;
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread writer = new Thread(() -> {
                try (Socket s = server.accept(); OutputStream out = s.getOutputStream()) {
                    s.setTcpNoDelay(true);
                    s.getInputStream().read(new byte[4096]);
                    for (int i = 0; i < response.length; ) { // pieces that split lines anywhere
                        int piece = i >= longStart && i + 65_536 <= longEnd ? 65_536 : 5; // the long line faster
                        out.write(response, i, Math.min(piece, response.length - i));
                        i += piece;
                        out.flush();
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            writer.start();
            List<Long> seen = new ArrayList<>();
            try (SseLoad.Stream stream = SseLoad.Stream.open("127.0.0.1:" + server.getLocalPort(), "/t")) {
                stream.read(seen::add, offset -> offset >= 299, 60_000);
                assertEquals(299, stream.lastOffset);
            }
            writer.join();
            assertEquals(sent, seen);
        }
    }
}
