package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;

/**
 * {@code POST …/acls} (and each entry of {@code acls:batch}):
 * {@code {"resource_type":"TOPIC","resource_name":"orders","pattern_type":"LITERAL","principal":"User:alice","host":"*","operation":"READ","permission":"ALLOW"}}.
 * Every field is required, as in Confluent's; the words are taken in any case and kept
 * upper-case, and {@code ANY} (or the pattern type {@code MATCH}) names no one ACL: each a 400
 * in Confluent's words ({@code resource_type cannot be ANY}); a name, principal or host over
 * {@link Acls#MAX_TEXT} characters is 422/42206.
 */
public record CreateAclRequest(
        @JsonProperty("resource_type") String resourceType,
        @JsonProperty("resource_name") String resourceName,
        @JsonProperty("pattern_type") String patternType,
        @JsonProperty("principal") String principal,
        @JsonProperty("host") String host,
        @JsonProperty("operation") String operation,
        @JsonProperty("permission") String permission) {

    private static final ErrorCode BAD = ErrorCode.BAD_REQUEST;
    private static final ErrorCode TOO_LONG = ErrorCode.PAYLOAD_ERROR;

    public CreateAclRequest {
        resourceType = one("resource_type", Acls.word("resource_type", required("resource_type", resourceType),
                Acls.RESOURCE_TYPES, BAD));
        resourceName = Acls.text("resource_name", required("resource_name", resourceName), TOO_LONG);
        patternType = Acls.word("pattern_type", required("pattern_type", patternType), Acls.PATTERN_TYPES, BAD);
        if (patternType.equals("ANY") || patternType.equals("MATCH")) {
            throw BAD.exception("pattern_type cannot be " + patternType);
        }
        principal = Acls.text("principal", required("principal", principal), TOO_LONG);
        host = Acls.text("host", required("host", host), TOO_LONG);
        operation = one("operation", Acls.word("operation", required("operation", operation), Acls.OPERATIONS, BAD));
        permission = one("permission", Acls.word("permission", required("permission", permission), Acls.PERMISSIONS, BAD));
    }

    private static String required(String field, String value) {
        if (value == null) {
            throw BAD.exception(field + " is required.");
        }
        return value;
    }

    private static String one(String field, String word) {
        if (word.equals("ANY")) {
            throw BAD.exception(field + " cannot be ANY");
        }
        return word;
    }
}
