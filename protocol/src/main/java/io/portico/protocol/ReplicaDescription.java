package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/** One replica of a partition: its broker, whether it leads, whether it is in sync. */
public record ReplicaDescription(
        @JsonProperty("broker") int broker,
        @JsonProperty("leader") boolean leader,
        @JsonProperty("in_sync") boolean inSync) {
}
