package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/** A link to a related resource: {@code {"related":"http://…/v3/clusters/c/topics/t/partitions"}}. */
public record Related(@JsonProperty("related") String related) {
}
