package io.portico.proxy.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;

/** What the v3 admin ITs assert of an answer: plain JSON, and Confluent's error body. */
public final class V3Answers {
    private static final String JSON = "application/json";

    private V3Answers() {
    }

    /** The body of a 200 in plain JSON. */
    public static JsonNode ok(Rest.Response r) {
        assertEquals(200, r.status(), r.body());
        assertEquals(JSON, r.contentType());
        return r.json();
    }

    /** An error of that status, code and message, in plain JSON. */
    public static void assertError(Rest.Response r, int status, int code, String message) {
        assertEquals(status, r.status(), r.body());
        assertEquals(JSON, r.contentType(), r.body());
        assertEquals(code, r.json().get("error_code").asInt(), r.body());
        assertEquals(message, r.json().get("message").asText(), r.body());
    }

    /** An error of that status and code whose message starts with {@code messageStart}. */
    public static void assertErrorStartsWith(Rest.Response r, int status, int code, String messageStart) {
        assertEquals(status, r.status(), r.body());
        assertEquals(JSON, r.contentType(), r.body());
        assertEquals(code, r.json().get("error_code").asInt(), r.body());
        assertTrue(r.json().get("message").asText().startsWith(messageStart), r.body());
    }
}
