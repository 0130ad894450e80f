package io.portico.protocol;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.BeanProperty;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.deser.ContextualDeserializer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A request's list of records read with a bound on its length, checked element by element as
 * they are read: a body of {@code {"records":[{},{},…]}} of 16 MiB is millions of records, and
 * binding them all before counting them would take hundreds of MiB of heap that no budget saw.
 * The bound is the reader's attribute {@link #MAX} (see {@link Json.BodyReader#read(byte[],
 * EmbeddedFormat, int)}); without it, the list is read whole. Past it: 413.
 */
public final class BoundedList extends JsonDeserializer<List<Object>> implements ContextualDeserializer {
    /** The attribute that carries the bound, an {@link Integer}. */
    public static final Object MAX = new Object();

    private final JavaType listType;
    private final JsonDeserializer<Object> elements;

    public BoundedList() {
        this(null, null);
    }

    private BoundedList(JavaType listType, JsonDeserializer<Object> elements) {
        this.listType = listType;
        this.elements = elements;
    }

    @Override
    public JsonDeserializer<?> createContextual(DeserializationContext ctxt, BeanProperty property) throws
            com.fasterxml.jackson.databind.JsonMappingException {
        JavaType type = property != null ? property.getType() : ctxt.getContextualType();
        return new BoundedList(type, ctxt.findContextualValueDeserializer(type.getContentType(), property));
    }

    @Override
    public List<Object> deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        if (!p.isExpectedStartArrayToken()) {
            @SuppressWarnings("unchecked")
            List<Object> never = (List<Object>) ctxt.handleUnexpectedToken(listType, p);
            return never;
        }
        Object bound = ctxt.getAttribute(MAX);
        int max = bound instanceof Integer n ? n : Integer.MAX_VALUE;
        List<Object> out = new ArrayList<>();
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (out.size() == max) {
                throw ErrorCode.PAYLOAD_TOO_LARGE.exception("more than " + max
                        + " records in one request (produce.records.max)");
            }
            try {
                out.add(t == JsonToken.VALUE_NULL ? null : elements.deserialize(p, ctxt));
            } catch (IOException | RuntimeException e) {
                // The element's index in the path of the error, as Jackson's own lists give it.
                throw com.fasterxml.jackson.databind.JsonMappingException.wrapWithPath(e, out, out.size());
            }
        }
        return out;
    }
}
