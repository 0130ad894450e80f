package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Every error body: {@code {"error_code":40401,"message":"Topic not found."}}. */
public record ErrorMessage(@JsonProperty("error_code") int errorCode, @JsonProperty("message") String message) {
}
