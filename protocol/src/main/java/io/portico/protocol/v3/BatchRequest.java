package io.portico.protocol.v3;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A v3 {@code records:batch} body, {@code {"entries":[{"id":"1",…record fields…},…]}}: each
 * entry's id and what its record came to (a record, or the error that is its failure entry).
 * Batch-level problems are 422/42208 with Confluent's messages: an empty body, no entries, too
 * many, an id that is not a string of 1 to 80 characters, ids that repeat.
 */
public record BatchRequest(List<String> ids, List<RecordStreamParser.Item> items) {
    private static final JsonFactory FACTORY = Json.mapper().getFactory();
    private static final int MAX_ID_LENGTH = 80;

    public BatchRequest {
        ids = List.copyOf(ids);
        items = List.copyOf(items);
    }

    /** Parses {@code body}; at most {@code maxEntries} entries. */
    public static BatchRequest parse(byte[] body, int maxEntries) {
        return parse(body, maxEntries, false);
    }

    /** As {@link #parse(byte[], int)}, the schema types parsed when a schema registry is configured ({@code schemas}). */
    public static BatchRequest parse(byte[] body, int maxEntries, boolean schemas) {
        List<String> ids = new ArrayList<>();
        List<RecordStreamParser.Item> items = new ArrayList<>();
        try (JsonParser p = FACTORY.createParser(body)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw invalid("Request body is empty. Data is required.");
            }
            if (t != JsonToken.START_OBJECT) {
                throw ErrorCode.BAD_REQUEST.exception("the body must be {\"entries\":[…]}");
            }
            boolean sawEntries = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                t = p.nextToken();
                if (!field.equals("entries")) {
                    p.skipChildren();
                    continue;
                }
                sawEntries = true;
                if (t == JsonToken.VALUE_NULL) {
                    continue;
                }
                if (t != JsonToken.START_ARRAY) {
                    throw ErrorCode.BAD_REQUEST.exception("entries must be an array");
                }
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    if (ids.size() == maxEntries) {
                        throw invalid("Too many entries in batch.");
                    }
                    int start = (int) p.currentTokenLocation().getByteOffset();
                    String id = p.currentToken() == JsonToken.START_OBJECT ? id(p) : null;
                    if (p.currentToken() != JsonToken.END_OBJECT) {
                        p.skipChildren();
                    }
                    int end = (int) p.currentLocation().getByteOffset();
                    if (id == null || id.isEmpty() || id.length() > MAX_ID_LENGTH) {
                        throw invalid("Batch entry identifier is not a valid string.");
                    }
                    ids.add(id);
                    items.add(RecordStreamParser.parse(body, start, end - start, schemas));
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw ErrorCode.BAD_REQUEST.exception("unexpected content after the batch");
            }
            if (!sawEntries || ids.isEmpty()) {
                throw invalid("Empty batch.");
            }
        } catch (JsonProcessingException e) {
            String message = e.getOriginalMessage();
            int line = message.indexOf('\n');
            throw ErrorCode.BAD_REQUEST.exception(line < 0 ? message : message.substring(0, line));
        } catch (IOException e) {
            throw ErrorCode.BAD_REQUEST.exception(String.valueOf(e.getMessage()));
        }
        Set<String> distinct = new HashSet<>(ids);
        if (distinct.size() != ids.size()) {
            throw invalid("Batch entry IDs are not distinct.");
        }
        return new BatchRequest(ids, items);
    }

    /**
     * Reads an entry's object up to its end, returning its {@code id} (null when absent or not a
     * string); the record's own fields are parsed again from the entry's bytes.
     */
    private static String id(JsonParser p) throws IOException {
        String id = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            if (field.equals("id") && t == JsonToken.VALUE_STRING) {
                id = p.getText();
            } else {
                p.skipChildren();
            }
        }
        return id;
    }

    private static RuntimeException invalid(String message) {
        return ErrorCode.INVALID_BATCH.exception(message);
    }
}
