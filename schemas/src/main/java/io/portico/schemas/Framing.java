package io.portico.schemas;

/**
 * Confluent's wire format, as its serializers write it: magic byte 0, the schema id as 4 bytes
 * big-endian, then the payload (for protobuf, the payload starts with the message-index list).
 */
public final class Framing {
    /** Magic byte and schema id. */
    public static final int HEADER = 5;

    private Framing() {
    }

    /** {@code payload} framed with {@code id}. */
    public static byte[] frame(int id, byte[] payload) {
        byte[] out = new byte[HEADER + payload.length];
        writeHeader(id, out);
        System.arraycopy(payload, 0, out, HEADER, payload.length);
        return out;
    }

    /** Writes the magic byte and {@code id} into the first {@link #HEADER} bytes of {@code out}. */
    public static void writeHeader(int id, byte[] out) {
        out[0] = 0;
        out[1] = (byte) (id >>> 24);
        out[2] = (byte) (id >>> 16);
        out[3] = (byte) (id >>> 8);
        out[4] = (byte) id;
    }

    /** Whether {@code data} starts as a framed record does (magic byte 0 and room for an id). */
    public static boolean isFramed(byte[] data) {
        return data != null && data.length >= HEADER && data[0] == 0;
    }

    /** The schema id of a framed record; call {@link #isFramed} first. */
    public static int schemaId(byte[] data) {
        return (data[1] & 0xff) << 24 | (data[2] & 0xff) << 16 | (data[3] & 0xff) << 8 | data[4] & 0xff;
    }
}
