package io.portico.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import java.io.IOException;
import java.util.Base64;

/**
 * Reads a record key or value straight from the parser into the bytes Kafka will store, in the
 * embedded format given by the reader attribute {@code EmbeddedFormat.class}: binary decodes a
 * base64 string (standard alphabet, padding optional); json copies the JSON value as compact text,
 * every number exactly as the client wrote it (never through a double: {@code 1e400},
 * {@code 0.1000000000000000000000001} and {@code -0.0} are stored as sent).
 * A JSON {@code null} never reaches this class: it is a null key or value in both formats.
 */
final class EmbeddedBytesDeserializer extends StdDeserializer<byte[]> {
    private static final long serialVersionUID = 1L;

    private static final Base64.Decoder BASE64 = Base64.getDecoder();

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
        // Read the JSON string first, so that a JSON syntax error stays a JSON syntax error (400),
        // then decode: standard alphabet, padding optional, line breaks tolerated (as base64(1) wraps).
        String text = p.getText();
        try {
            return BASE64.decode(text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0
                    ? text.replace("\r", "").replace("\n", "")
                    : text);
        } catch (IllegalArgumentException e) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Record " + field + " contains invalid base64 encoding");
        }
    }

    /**
     * Copies the value at the parser's current token, and everything nested in it, to {@code g}:
     * numbers as their token text, everything else as {@link JsonGenerator#copyCurrentEvent} writes
     * it. Leaves the parser on the value's last token, as a deserializer must.
     */
    private static void copyExactly(JsonParser p, JsonGenerator g) throws IOException {
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
