package io.portico.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An HTTP/2 client of raw frames, for what no client library lets a test do: grant a stream no
 * flow-control window, announce a body and never send it. Its connection speaks HTTP/2 by prior
 * knowledge; its requests are GETs whose headers are HPACK literals (no dynamic table).
 */
public final class RawHttp2 {
    private final OutputStream out;
    private final DataInputStream in;

    private RawHttp2(Socket socket) throws IOException {
        this.out = socket.getOutputStream();
        this.in = new DataInputStream(socket.getInputStream());
    }

    /**
     * Opens HTTP/2 on {@code socket} (the preface, then SETTINGS with INITIAL_WINDOW_SIZE 0: no
     * stream is sent any DATA until {@link #grant granted} a window) and reads for at most a
     * minute at a time.
     */
    public static RawHttp2 zeroWindow(Socket socket) throws IOException {
        socket.setSoTimeout(60_000);
        RawHttp2 client = new RawHttp2(socket);
        client.out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        client.out.write(new byte[] {0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0});
        client.out.flush();
        return client;
    }

    /** A GET of {@code path} on {@code stream}, ended (no body). */
    public void get(int stream, String path, String... headerNamesAndValues) throws IOException {
        get(stream, path, true, headerNamesAndValues);
    }

    /**
     * A GET of {@code path} on {@code stream} with the given headers (lower-case names), a body to
     * follow unless {@code ended}.
     */
    public void get(int stream, String path, boolean ended, String... headerNamesAndValues) throws IOException {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.write(new byte[] {(byte) 0x82, (byte) 0x86}); // :method GET, :scheme http (HPACK static table)
        literal(block, 4, path); // :path
        literal(block, 1, "localhost"); // :authority
        for (int i = 0; i + 1 < headerNamesAndValues.length; i += 2) {
            block.write(0); // a literal without indexing, its name a literal too
            string(block, headerNamesAndValues[i]);
            string(block, headerNamesAndValues[i + 1]);
        }
        byte[] headers = block.toByteArray();
        out.write(frameHeader(headers.length, 1, ended ? 5 : 4, stream)); // [END_STREAM |] END_HEADERS
        out.write(headers);
        out.flush();
    }

    /** WINDOW_UPDATE: {@code stream} (0: the connection) may be sent {@code bytes} more. */
    public void grant(int stream, int bytes) throws IOException {
        out.write(frameHeader(4, 8, 0, stream));
        out.write(ByteBuffer.allocate(4).putInt(bytes).array());
        out.flush();
    }

    /** RST_STREAM: the client ends {@code stream} (CANCEL). */
    public void reset(int stream) throws IOException {
        out.write(frameHeader(4, 3, 0, stream));
        out.write(ByteBuffer.allocate(4).putInt(8).array());
        out.flush();
    }

    /** The next frame the server sent. */
    public Frame read() throws IOException {
        byte[] header = new byte[9];
        in.readFully(header);
        int length = (header[0] & 0xff) << 16 | (header[1] & 0xff) << 8 | header[2] & 0xff;
        byte[] payload = new byte[length];
        in.readFully(payload);
        return new Frame(header[3], header[4], ByteBuffer.wrap(header, 5, 4).getInt() & 0x7fffffff, payload);
    }

    /** A frame read: its type, flags, stream and payload. */
    public record Frame(int type, int flags, int stream, byte[] payload) {
        public static final int DATA = 0;
        public static final int RST_STREAM = 3;
        public static final int GOAWAY = 7;

        /** Whether it is a HEADERS or DATA frame that ends its stream. */
        public boolean endsStream() {
            return (type == 0 || type == 1) && (flags & 1) != 0;
        }
    }

    private static byte[] frameHeader(int length, int type, int flags, int stream) {
        return new byte[] {(byte) (length >>> 16), (byte) (length >>> 8), (byte) length, (byte) type, (byte) flags,
                (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream};
    }

    /** A header whose name is the static table's entry {@code index} (below 15), its value a literal. */
    private static void literal(ByteArrayOutputStream block, int index, String value) {
        block.write(index);
        string(block, value);
    }

    private static void string(ByteArrayOutputStream block, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        int n = bytes.length;
        if (n < 127) {
            block.write(n);
        } else { // HPACK's 7-bit prefixed integer
            block.write(127);
            n -= 127;
            while (n >= 128) {
                block.write(n % 128 + 128);
                n /= 128;
            }
            block.write(n);
        }
        block.writeBytes(bytes);
    }
}
