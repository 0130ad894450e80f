package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The answer to creating a consumer instance: its name and the absolute URL of its resources. */
public record CreateConsumerResponse(
        @JsonProperty("instance_id") String instanceId,
        @JsonProperty("base_uri") String baseUri) {
}
