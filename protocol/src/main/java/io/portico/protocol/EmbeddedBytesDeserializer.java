package io.portico.protocol;

import com.fasterxml.jackson.core.Base64Variant;
import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import java.io.IOException;

/**
 * Reads a record key or value straight from the parser into the bytes Kafka will store, in the
 * embedded format given by the reader attribute {@code EmbeddedFormat.class}: binary decodes a
 * base64 string (standard alphabet, padding optional); json copies the JSON value as compact text.
 * A JSON {@code null} never reaches this class: it is a null key or value in both formats.
 */
final class EmbeddedBytesDeserializer extends StdDeserializer<byte[]> {
    private static final long serialVersionUID = 1L;

    private static final Base64Variant BASE64 = Base64Variants.MIME_NO_LINEFEEDS
            .withReadPadding(Base64Variant.PaddingReadBehaviour.PADDING_ALLOWED);

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
                g.copyCurrentStructure(p);
            }
            return out.toByteArray();
        }
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception(
                    "Record " + field + " must be a base64 string or null in the binary embedded format");
        }
        try {
            return p.getBinaryValue(BASE64);
        } catch (StreamReadException e) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Record " + field + " contains invalid base64 encoding");
        }
    }
}
