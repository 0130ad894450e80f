package io.portico.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import java.io.IOException;

/**
 * Reads a record key or value straight from the parser into the bytes Kafka will store, in the
 * embedded format given by the reader attribute {@code EmbeddedFormat.class}: binary decodes a
 * base64 string (standard alphabet, padding optional, line breaks anywhere ignored); json copies the
 * JSON value as compact text, every number exactly as the client wrote it (never through a double:
 * {@code 1e400}, {@code 0.1000000000000000000000001} and {@code -0.0} are stored as sent).
 * A JSON {@code null} never reaches this class: it is a null key or value in both formats.
 *
 * <p>While a body is read through {@link #decodingFrom}, a base64 string of it is decoded
 * straight from the body's bytes: a large value then costs its decoded bytes (three
 * quarters of its text), where reading it as text first costs nearly six times its text (the
 * parser's char buffer at two bytes a character, the String, its bytes, the decoded value).
 * Jackson's own streaming base64 decoding is not used: it accepts what this format rejects (spaces,
 * tabs and raw control characters between 4-character units, padding in the middle) and rejects
 * what it accepts (a line break inside a unit), and reports bad base64 as a JSON syntax error.
 */
final class EmbeddedBytesDeserializer extends StdDeserializer<byte[]> {
    private static final long serialVersionUID = 1L;

    /**
     * The {@code byte[]} being read on this thread, while {@link #decodingFrom} reads it (a
     * thread-local rather than a reader attribute: an attribute copies the reader's attribute map
     * for every body). {@link #decodeFromBody} takes it only from the parser its context reads with;
     * that is the parser reading this body as long as nothing read through Jackson while a produce
     * body is read (a record's constructor, a deserializer) parses other bytes on the same thread,
     * which nothing does: such a read would decode its base64 from the wrong bytes.
     */
    private static final ThreadLocal<byte[]> BODY = new ThreadLocal<>();

    /** What reads {@code body} with one parser. */
    interface BodyRead<T> {
        T read() throws IOException;
    }

    /** Runs {@code read}, which parses {@code body}, with base64 strings decoded from the body's bytes. */
    static <T> T decodingFrom(byte[] body, BodyRead<T> read) throws IOException {
        byte[] outer = BODY.get();
        BODY.set(body);
        try {
            return read.read();
        } finally {
            BODY.set(outer);
        }
    }

    EmbeddedBytesDeserializer() {
        super(byte[].class);
    }

    @Override
    public byte[] deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        Object format = ctxt.getAttribute(EmbeddedFormat.class);
        String field = p.currentName() == null ? "value" : p.currentName();
        if (format == EmbeddedFormat.JSON) {
            ByteArrayBuilder out = new ByteArrayBuilder(64);
            try (JsonGenerator g = p.getCodec().getFactory().createGenerator(out)) {
                copyExactly(p, g);
            }
            return out.toByteArray();
        }
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception(
                    "Record " + field + " must be a base64 string or null in the binary embedded format");
        }
        byte[] decoded = decodeFromBody(p, ctxt, field);
        if (decoded != null) {
            return decoded;
        }
        // Read the JSON string first, so that a JSON syntax error stays a JSON syntax error (400),
        // then decode: standard alphabet, padding optional, line breaks tolerated (as base64(1) wraps).
        String text = p.getText();
        try {
            return Base64Text.decode(text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0
                    ? text.replace("\r", "").replace("\n", "")
                    : text);
        } catch (IllegalArgumentException e) {
            throw invalidBase64(field);
        }
    }

    private static RestException invalidBase64(String field) {
        return ErrorCode.UNPROCESSABLE_ENTITY.exception("Record " + field + " contains invalid base64 encoding");
    }

    /**
     * Decodes the current string token from the request body's bytes, while {@link #decodingFrom} reads the
     * body, the parser is the one reading it, and the string's raw text is plain: printable ASCII
     * other than the backslash, save for the escapes {@code \n}, {@code \r} and {@code \/}. The
     * string's value is then its raw text with those escapes resolved, so dropping the line breaks
     * (as the text path does) and decoding the rest with the same decoder gives exactly the text
     * path's bytes or exception, without reading the string through the parser (which skips it on
     * its next token). Without escapes the decoder reads the body in place; with them it reads one
     * copy of the text.
     *
     * @return the decoded bytes, or null for any other string (other escapes, control or non-ASCII
     *         characters, no closing quote, a length at the parser's string limit), which the caller
     *         reads as text
     * @throws RestException 422 when the text is not valid base64
     */
    private static byte[] decodeFromBody(JsonParser p, DeserializationContext ctxt, String field) {
        byte[] body = BODY.get();
        if (body == null || p != ctxt.getParser()) {
            return null;
        }
        long quote = p.currentTokenLocation().getByteOffset();
        if (quote < 0 || quote >= body.length || body[(int) quote] != '"') {
            return null;
        }
        int start = (int) quote + 1;
        int end = Base64Text.plainTextEnd(body, start, body.length); // what comes before it needs no look
        int lineBreaks = 0;
        int slashes = 0;
        while (true) {
            if (end >= body.length) {
                return null;
            }
            byte b = body[end];
            if (b == '"') {
                break;
            }
            if (b < 0x20) { // a control character, or any byte of a non-ASCII one
                return null;
            }
            if (b == '\\') {
                byte escaped = end + 1 < body.length ? body[end + 1] : 0;
                if (escaped == 'n' || escaped == 'r') {
                    lineBreaks++;
                } else if (escaped == '/') {
                    slashes++;
                } else {
                    return null;
                }
                end++;
            }
            end++;
        }
        // The parser refuses strings longer than its limit: leave those to it.
        if (end - start - lineBreaks - slashes >= p.streamReadConstraints().getMaxStringLength()) {
            return null;
        }
        try {
            if (lineBreaks == 0 && slashes == 0) {
                return Base64Text.decode(body, start, end - start);
            }
            byte[] text = new byte[end - start - 2 * lineBreaks - slashes];
            int n = 0;
            for (int i = start; i < end; i++) {
                if (body[i] != '\\') {
                    text[n++] = body[i];
                } else if (body[++i] == '/') {
                    text[n++] = '/';
                } // else a line break, dropped
            }
            return Base64Text.decode(text, 0, text.length);
        } catch (IllegalArgumentException e) {
            throw invalidBase64(field);
        }
    }

    /**
     * Copies the value at the parser's current token, and everything nested in it, to {@code g}:
     * numbers as their token text, everything else as {@link JsonGenerator#copyCurrentEvent} writes
     * it. Leaves the parser on the value's last token, as a deserializer must.
     */
    static void copyExactly(JsonParser p, JsonGenerator g) throws IOException {
        int depth = 0;
        JsonToken t = p.currentToken();
        while (true) {
            if (t.isNumeric()) {
                g.writeNumber(p.getText());
            } else {
                g.copyCurrentEvent(p);
            }
            if (t.isStructStart()) {
                depth++;
            } else if (t.isStructEnd()) {
                depth--;
            }
            if (depth == 0) {
                return;
            }
            t = p.nextToken();
            if (t == null) {
                throw new JsonEOFException(p, null, "Unexpected end-of-input in a record key or value");
            }
        }
    }
}
