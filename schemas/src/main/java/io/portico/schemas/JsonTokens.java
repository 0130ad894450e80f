package io.portico.schemas;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import io.portico.protocol.Json;
import java.io.IOException;

/**
 * The bound on a key or value that a schema format builds in memory whole before it serializes
 * it: a JSON Schema value becomes Jackson's tree (to be validated), a protobuf value Gson's tree
 * (protobuf's JSON parser), an avro value that {@link AvroJsonWriter} leaves to avro's JSON
 * decoder avro's datum. Such a tree takes some 40 to 70 bytes per token (a one-character string,
 * four bytes of JSON, is a node, a {@code String} and its array), 15 to 25 times the JSON, which
 * no memory budget counts; so the value's tokens are counted first, in one streaming pass that
 * builds nothing, and a value of more than {@link #MAX} is refused before any tree is built.
 */
final class JsonTokens {
    /**
     * The most tokens (each value, field name, bracket and brace) of one key or value: 1,000,000,
     * about 5 MiB of typical JSON (records of short fields have a token per 4 to 8 bytes), and a
     * tree of at most some 70 MB.
     */
    static final int MAX = 1_000_000;
    private static final JsonFactory FACTORY = Json.mapper().getFactory();

    private JsonTokens() {
    }

    /**
     * Counts the tokens of {@code json} without building anything. JSON that does not parse is
     * left to the format's own parser, which says why.
     *
     * @throws ParsedSchema.InvalidDataException when it holds more than {@link #MAX} tokens
     */
    static void requireWithinBound(byte[] json) {
        int tokens = 0;
        try (JsonParser p = FACTORY.createParser(json)) {
            while (p.nextToken() != null) {
                if (++tokens > MAX) {
                    throw new ParsedSchema.InvalidDataException("it holds more than " + String.format(java.util.Locale.ROOT, "%,d", MAX) + " JSON tokens (values, "
                            + "field names, brackets), more than a schema format builds in memory");
                }
            }
        } catch (IOException e) {
            // not JSON: the format's parser reports it
        }
    }
}
