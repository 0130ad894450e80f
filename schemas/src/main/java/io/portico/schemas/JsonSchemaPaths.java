package io.portico.schemas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * How many schemas validating one value against a JSON schema may evaluate, counted at parse.
 * The validator evaluates a schema once for each path that leads to it: definitions each of which
 * is {@code allOf} the next twice, forty deep, are 2^40 evaluations of a value that reaches them,
 * and one behind an {@code if} that only some value meets passes every check a parse can make by
 * validating sample values. So the schema's applicators ({@code $ref}, {@code allOf},
 * {@code anyOf}, {@code oneOf}, {@code not}, {@code if}/{@code then}/{@code else}, and the ones
 * that go into the value: {@code properties}, {@code items} and the like) are expanded as a tree,
 * each schema's count computed once, and a schema whose tree has more than {@link #MAX_SCHEMAS}
 * nodes is refused.
 *
 * <p>Why a count at parse as well as the bound on each value's validation
 * ({@link BoundedValidation}): a refused schema is one the client is told about once, as it
 * registers it, instead of records refused one by one. A {@code $ref} back to a schema it is
 * within (a tree, a linked list) counts once: such a schema is evaluated again only for a value
 * nested one level deeper; one that leads back more than once for the same part of the value
 * fans out with each level of it, which only the bound on the validation catches. One that leads
 * back without going into the value never ends, and is refused as before
 * ({@code JsonSchemaFormat.requireEndingValidation}). A {@code $ref} to a document that is
 * neither the schema nor one of its references (the drafts' meta-schemas) counts as one.
 */
final class JsonSchemaPaths {
    /** The most schemas the expanded tree may hold: a few milliseconds of validation for each value. */
    static final long MAX_SCHEMAS = 100_000;

    private static final List<String> ONE = List.of("not", "if", "then", "else", "additionalProperties",
            "additionalItems", "unevaluatedProperties", "unevaluatedItems", "propertyNames", "contains", "items");
    private static final List<String> EACH_OF_ARRAY = List.of("allOf", "anyOf", "oneOf", "items", "prefixItems");
    private static final List<String> EACH_OF_OBJECT = List.of("properties", "patternProperties", "dependentSchemas",
            "dependencies");

    private final Map<String, String> references;
    private final Map<String, JsonNode> documents = new HashMap<>();
    private final Map<JsonNode, Long> counted = new IdentityHashMap<>();
    private final Map<JsonNode, Boolean> inside = new IdentityHashMap<>();

    private JsonSchemaPaths(Map<String, String> references) {
        this.references = references;
    }

    /**
     * @param references the texts of the schema's references by the names a {@code $ref} may use
     * @throws ParsedSchema.InvalidSchemaException when validating a value may evaluate more than
     *         {@value #MAX_SCHEMAS} schemas
     */
    static void requireBounded(JsonNode schema, Map<String, String> references) {
        long n;
        try {
            n = new JsonSchemaPaths(references).count(schema, schema);
        } catch (StackOverflowError e) {
            throw new ParsedSchema.InvalidSchemaException("its $refs lead through too many schemas in turn to be read");
        }
        if (n > MAX_SCHEMAS) {
            throw new ParsedSchema.InvalidSchemaException("validating a value against it may evaluate more than "
                    + MAX_SCHEMAS + " schemas: its $ref, allOf, anyOf, oneOf, if/then/else or not reach the same "
                    + "schemas by that many paths");
        }
    }

    /** The nodes of the tree of {@code schema} (in {@code document}), at most {@link #MAX_SCHEMAS} + 1. */
    private long count(JsonNode schema, JsonNode document) {
        if (!schema.isObject()) {
            return 1;
        }
        Long known = counted.get(schema);
        if (known != null) {
            return known;
        }
        if (inside.put(schema, Boolean.TRUE) != null) {
            return 1; // back to a schema it is within: once per level of the value (see above)
        }
        long n = 1;
        for (String keyword : ONE) {
            JsonNode sub = schema.get(keyword);
            if (sub != null && sub.isObject()) {
                n = add(n, count(sub, document));
            }
        }
        for (String keyword : EACH_OF_ARRAY) {
            JsonNode subs = schema.get(keyword);
            if (subs != null && subs.isArray()) {
                for (JsonNode sub : subs) {
                    n = add(n, count(sub, document));
                }
            }
        }
        for (String keyword : EACH_OF_OBJECT) {
            JsonNode subs = schema.get(keyword);
            if (subs != null && subs.isObject()) {
                for (JsonNode sub : subs) {
                    n = add(n, count(sub, document));
                }
            }
        }
        JsonNode ref = schema.get("$ref");
        if (ref != null && ref.isTextual()) {
            n = add(n, refCount(ref.asText(), document));
        }
        inside.remove(schema);
        counted.put(schema, n);
        return n;
    }

    private long refCount(String ref, JsonNode document) {
        int hash = ref.indexOf('#');
        String base = hash < 0 ? ref : ref.substring(0, hash);
        String fragment = hash < 0 ? "" : ref.substring(hash + 1);
        JsonNode target = base.isEmpty() ? document : document(base);
        if (target == null) {
            return 1;
        }
        if (fragment.startsWith("/")) {
            JsonNode found;
            try {
                found = target.at(URLDecoder.decode(fragment.replace("+", "%2B"), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                return 1; // not a pointer (a bad %-escape, say): not followed, the validator's to refuse
            }
            return found.isMissingNode() ? 1 : count(found, target);
        }
        return fragment.isEmpty() ? count(target, target) : 1; // an anchor: not followed
    }

    private JsonNode document(String name) {
        String text = references.get(name);
        if (text == null) {
            return null;
        }
        return documents.computeIfAbsent(name, n -> {
            try {
                return Json.mapper().readTree(text);
            } catch (JsonProcessingException e) {
                return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
            }
        });
    }

    private static long add(long a, long b) {
        return Math.min(MAX_SCHEMAS + 1, a + b);
    }
}
