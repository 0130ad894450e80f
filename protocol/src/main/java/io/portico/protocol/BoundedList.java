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
public class BoundedList extends JsonDeserializer<List<Object>> implements ContextualDeserializer {
    /** The attribute that carries the bound, an {@link Integer}. */
    public static final Object MAX = new Object();

    /** The longest list a request's other lists ({@link Entries}) may be. */
    public static final int MAX_ENTRIES = 10_000;

    private final JavaType listType;
    private final JsonDeserializer<Object> elements;
    private final boolean records;
    private final String field;

    public BoundedList() {
        this(true);
    }

    BoundedList(boolean records) {
        this(null, null, records, null);
    }

    private BoundedList(JavaType listType, JsonDeserializer<Object> elements, boolean records, String field) {
        this.listType = listType;
        this.elements = elements;
        this.records = records;
        this.field = field;
    }

    /**
     * Any other list of a request (partitions to assign, topics to subscribe to, offsets to
     * commit): at most {@link #MAX_ENTRIES}, past that 422, checked as it is read.
     */
    public static final class Entries extends BoundedList {
        public Entries() {
            super(false);
        }
    }

    @Override
    public JsonDeserializer<?> createContextual(DeserializationContext ctxt, BeanProperty property) throws
            com.fasterxml.jackson.databind.JsonMappingException {
        JavaType type = property != null ? property.getType() : ctxt.getContextualType();
        return new BoundedList(type, ctxt.findContextualValueDeserializer(type.getContentType(), property), records,
                property != null ? property.getName() : "list");
    }

    @Override
    public List<Object> deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        if (!p.isExpectedStartArrayToken()) {
            @SuppressWarnings("unchecked")
            List<Object> never = (List<Object>) ctxt.handleUnexpectedToken(listType, p);
            return never;
        }
        Object bound = records ? ctxt.getAttribute(MAX) : null;
        int max = bound instanceof Integer n ? n : records ? Integer.MAX_VALUE : MAX_ENTRIES;
        List<Object> out = new ArrayList<>();
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (out.size() == max) {
                throw records ? ErrorCode.PAYLOAD_TOO_LARGE.exception("more than " + max
                        + " records in one request (produce.records.max)")
                        : ErrorCode.UNPROCESSABLE_ENTITY.exception("\"" + field + "\" may hold at most " + max + " entries");
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
