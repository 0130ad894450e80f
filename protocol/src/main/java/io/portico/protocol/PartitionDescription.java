package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** One partition: its id, the leader broker id (-1 when offline) and the replicas. */
public record PartitionDescription(
        @JsonProperty("partition") int partition,
        @JsonProperty("leader") int leader,
        @JsonProperty("replicas") List<ReplicaDescription> replicas) {
}
