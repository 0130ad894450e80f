package io.portico.proxy.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import io.swagger.v3.oas.models.SpecVersion;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads Portico's OpenAPI document as the tests need it, and checks it with swagger-parser. */
public final class OpenApiDocs {
    /** The methods a path item may have operations for, as OpenAPI names them. */
    private static final List<String> METHODS = List.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
    private static final Pattern PATH_PARAMETER = Pattern.compile("\\{([^}/]+)}");

    private OpenApiDocs() {
    }

    /** One operation of the document: its method (upper case), path template and definition. */
    public record Operation(String method, String path, JsonNode definition) {
        /** {@code GET /topics/{topic}}. */
        public String route() {
            return method + " " + path;
        }

        /** The role its security requirement names, or null when it has none (no API key needed). */
        public String role() {
            JsonNode security = definition.path("security");
            return security.isEmpty() ? null : security.get(0).elements().next().path(0).asText(null);
        }

        /** The path with a sample value for each parameter ({@code "0"} where it is an integer). */
        public String samplePath(JsonNode document) {
            Matcher m = PATH_PARAMETER.matcher(path);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                JsonNode schema = pathParameter(document, m.group(1)).path("schema");
                m.appendReplacement(out, schema.path("type").asText().equals("integer") ? "0" : "openapi-probe");
            }
            m.appendTail(out);
            return out.toString();
        }

        /** The parameter {@code name} in the path, declared on the path item or the operation. */
        private JsonNode pathParameter(JsonNode document, String name) {
            for (JsonNode p : parameters(document)) {
                if (p.path("in").asText().equals("path") && p.path("name").asText().equals(name)) {
                    return p;
                }
            }
            throw new AssertionError(route() + " does not declare its path parameter " + name);
        }

        /** The parameters of the path item and of the operation, references resolved. */
        public List<JsonNode> parameters(JsonNode document) {
            List<JsonNode> out = new ArrayList<>();
            for (JsonNode p : document.path("paths").path(path).path("parameters")) {
                out.add(resolve(document, p));
            }
            for (JsonNode p : definition.path("parameters")) {
                out.add(resolve(document, p));
            }
            return out;
        }
    }

    /** The document as JSON. */
    public static JsonNode parse(byte[] document) {
        try {
            return Json.mapper().readTree(document);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every operation of the document, in its order. */
    public static List<Operation> operations(JsonNode document) {
        List<Operation> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> path : document.path("paths").properties()) {
            for (String method : METHODS) {
                JsonNode definition = path.getValue().get(method);
                if (definition != null) {
                    out.add(new Operation(method.toUpperCase(Locale.ROOT), path.getKey(), definition));
                }
            }
        }
        return out;
    }

    /** The names of the {@code {parameters}} of a path template, in order. */
    public static Set<String> templateParameters(String template) {
        Set<String> out = new LinkedHashSet<>();
        Matcher m = PATH_PARAMETER.matcher(template);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /**
     * What swagger-parser finds wrong with the document, parsed as OpenAPI 3.1 with every
     * reference resolved: empty when it is valid.
     */
    public static List<String> problems(String document) {
        ParseOptions options = new ParseOptions();
        options.setResolve(true);
        options.setValidateInternalRefs(true);
        SwaggerParseResult result = new OpenAPIV3Parser().readContents(document, null, options);
        List<String> problems = new ArrayList<>(result.getMessages() == null ? List.of() : result.getMessages());
        if (result.getOpenAPI() == null) {
            problems.add("not an OpenAPI document");
        } else if (result.getOpenAPI().getSpecVersion() != SpecVersion.V31) {
            problems.add("read as " + result.getOpenAPI().getSpecVersion() + ", not OpenAPI 3.1");
        }
        return problems;
    }

    /** {@code node}, or what its {@code $ref} (within the document) points at. */
    private static JsonNode resolve(JsonNode document, JsonNode node) {
        JsonNode ref = node.get("$ref");
        return ref == null ? node : document.at(ref.asText().substring(1));
    }
}
