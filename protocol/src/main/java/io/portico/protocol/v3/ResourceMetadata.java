package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A resource's {@code metadata}: its absolute URL and its Confluent resource name
 * ({@code crn:///kafka=<cluster>/topic=<topic>}), the latter left out when null.
 */
public record ResourceMetadata(
        @JsonProperty("self") String self,
        @JsonProperty("resource_name") @JsonInclude(JsonInclude.Include.NON_NULL) String resourceName) {
}
