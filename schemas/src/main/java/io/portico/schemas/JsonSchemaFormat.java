package io.portico.schemas;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import io.portico.protocol.Json;
import java.io.IOException;
import java.util.List;

/**
 * JSON Schema as Confluent's serializer uses it: a value is validated against the schema and
 * stored as its JSON text; read back, the text is shown as it is. Portico keeps the text exactly
 * as the client sent it (numbers included), compact. Schemas without {@code $schema} are read as
 * draft 7, Confluent's default; a {@code $ref} resolves to the drafts' own meta-schemas or to
 * the schema's registered references by their names, and is never fetched from the network.
 */
final class JsonSchemaFormat implements ParsedSchema {
    private static final int MAX_REPORTED_ERRORS = 3;
    private static final SchemaRegistryConfig CONFIG = SchemaRegistryConfig.builder()
            .regularExpressionFactory(BoundedPatterns.INSTANCE).build();
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7,
            builder -> builder.schemaRegistryConfig(CONFIG).schemaLoader(loader -> loader.fetchRemoteResources(false)));

    private final Schema schema;
    private final String canonical;
    private final String title;

    private JsonSchemaFormat(Schema schema, String canonical, String title) {
        this.schema = schema;
        this.canonical = canonical;
        this.title = title;
    }

    /** @throws InvalidSchemaException when {@code text} is not a JSON schema */
    static JsonSchemaFormat parse(String text) {
        return parse(text, java.util.Map.of());
    }

    /**
     * Reads a schema's numbers exactly as written ({@code 1.50} stays {@code 1.50}, not the
     * {@code 1.5} of a double; {@code 0.0001} not {@code 1.0E-4}), as the schema registry's own
     * reader does: the text registered and looked up is then the text the registry holds.
     */
    private static final com.fasterxml.jackson.databind.ObjectMapper EXACT = Json.mapper().copy()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .configure(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);

    /**
     * A JSON schema whose {@code $ref}s may name the schemas of {@code references} by their
     * reference names, as Confluent's serializers resolve them.
     *
     * @throws InvalidSchemaException when it is not a JSON schema, or a reference it uses is not one
     */
    static JsonSchemaFormat parse(String text, java.util.Map<String, String> references) {
        JsonNode node;
        try {
            node = EXACT.readTree(text);
        } catch (JsonProcessingException e) {
            throw new InvalidSchemaException("not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !(node.isObject() || node.isBoolean())) {
            throw new InvalidSchemaException("a JSON schema is an object or a boolean");
        }
        JsonNode id = node.get("$id");
        java.util.Map<String, String> referencedByIri = byIri(id != null && id.isTextual() ? id.asText() : null, references);
        SchemaRegistry registry = references.isEmpty() ? REGISTRY : SchemaRegistry.withDefaultDialect(
                SpecificationVersion.DRAFT_7, builder -> builder.schemaRegistryConfig(CONFIG)
                        .schemaLoader(loader -> loader.fetchRemoteResources(false))
                        .schemas(referencedByIri));
        Schema schema;
        try {
            schema = registry.getSchema(text, InputFormat.JSON);
            schema.initializeValidators(); // every keyword checked now, not at the first record
        } catch (RuntimeException e) {
            throw new InvalidSchemaException(String.valueOf(e.getMessage()));
        } catch (StackOverflowError e) {
            throw new InvalidSchemaException("it nests, or refers to itself, too deeply to be read");
        }
        JsonSchemaPaths.requireBounded(node, referencedByIri);
        requireEndingValidation(schema);
        JsonNode title = node.get("title");
        return new JsonSchemaFormat(schema, node.toString(), title != null && title.isTextual() ? title.asText() : null);
    }

    /** A value of each JSON type, validated against every schema once as it is parsed. */
    private static final List<JsonNode> PROBES = probes();

    private static List<JsonNode> probes() {
        List<JsonNode> probes = new java.util.ArrayList<>();
        try {
            Json.mapper().readTree("[null,true,0,0.5,\"\",{},[]]").forEach(probes::add);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return List.copyOf(probes);
    }

    /**
     * Refuses a schema whose validation of a plain value never ends: one whose {@code $ref}s
     * (directly or through {@code allOf}, {@code oneOf}, {@code not} and the like) lead back to
     * where they start without going into the value, as {@code {"$ref":"#"}} or two definitions
     * referring to each other do. A schema that loops only for some values (under an {@code if},
     * say) is caught as it validates one: see {@link #encode}.
     *
     * @throws InvalidSchemaException when validating a plain value of some JSON type never ends
     */
    private static void requireEndingValidation(Schema schema) {
        // With budgets of their own: a request that registers the schema keeps its values' budgets
        // whole. One budget for all the probes (a schema made to spend a budget on each would cost
        // seven); once it is spent the rest fail at once, and a loop they would have met is met
        // by the first record that meets it (see encode).
        BoundedValidation.apart(() -> BoundedValidation.within(0, () -> {
            for (JsonNode probe : PROBES) {
                try {
                    BoundedValidation.validate(schema, probe);
                } catch (StackOverflowError e) {
                    throw new InvalidSchemaException("validating " + probe + " against it never ends: its $ref, allOf, "
                            + "anyOf, oneOf or not lead back to themselves without going into the value");
                } catch (RuntimeException e) {
                    // A value the schema cannot validate, or not in time: each record that meets it says so (see encode).
                }
            }
            return null;
        }));
    }

    /**
     * The references by the names a {@code $ref} may use: each name as it is, and resolved
     * against the schema's {@code $id} when it has one (a relative {@code $ref} resolves there),
     * as Confluent's serializers register them.
     */
    private static java.util.Map<String, String> byIri(String id, java.util.Map<String, String> references) {
        java.util.Map<String, String> out = new java.util.HashMap<>(references);
        if (id != null) {
            for (java.util.Map.Entry<String, String> r : references.entrySet()) {
                try {
                    out.putIfAbsent(java.net.URI.create(id).resolve(r.getKey()).toString(), r.getValue());
                } catch (IllegalArgumentException e) {
                    // an $id or a name that is no URI: the name alone
                }
            }
        }
        return out;
    }

    @Override
    public SchemaType type() {
        return SchemaType.JSON;
    }

    @Override
    public String canonical() {
        return canonical;
    }

    @Override
    public String recordName() {
        return title;
    }

    @Override
    public byte[] encode(byte[] json) {
        return JsonTokens.built(json, this::encodeTree); // the tree, counted while it is built and used
    }

    private byte[] encodeTree(byte[] json) {
        JsonNode value;
        try {
            value = Json.mapper().readTree(json);
        } catch (IOException e) {
            throw new InvalidDataException("not JSON");
        }
        List<Error> errors;
        try {
            errors = BoundedValidation.within(json.length, () -> BoundedValidation.validate(schema, value));
        } catch (RuntimeException e) {
            throw new InvalidDataException("the schema cannot validate it: " + e.getMessage());
        } catch (StackOverflowError e) {
            throw new InvalidDataException("the schema cannot validate it: validating it never ends (the schema's "
                    + "$refs lead back to themselves without going into the value)");
        }
        if (!errors.isEmpty()) {
            StringBuilder why = new StringBuilder("the JSON does not match the schema: ");
            for (int i = 0; i < Math.min(errors.size(), MAX_REPORTED_ERRORS); i++) {
                if (i > 0) {
                    why.append("; ");
                }
                why.append(errors.get(i).toString());
            }
            if (errors.size() > MAX_REPORTED_ERRORS) {
                why.append("; and ").append(errors.size() - MAX_REPORTED_ERRORS).append(" more");
            }
            throw new InvalidDataException(why.toString());
        }
        return json;
    }

    @Override
    public void check(byte[] message, boolean json) {
        // JSON text either way: one value, nothing after it, valid under the schema.
        if (!Json.isWellFormed(message)) {
            throw new InvalidDataException("it is not one JSON value");
        }
        encode(message);
    }

    @Override
    public byte[] toJson(byte[] framed) {
        return text(framed);
    }

    /** A framed JSON Schema record's JSON text (whatever its schema: reading it needs none). */
    static byte[] text(byte[] framed) {
        byte[] text = java.util.Arrays.copyOfRange(framed, Framing.HEADER, framed.length);
        if (!Json.isWellFormed(text)) {
            throw new InvalidDataException("its payload is not JSON");
        }
        return text;
    }
}
