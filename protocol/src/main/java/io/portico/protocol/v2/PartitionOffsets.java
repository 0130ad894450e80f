package io.portico.protocol.v2;

import com.fasterxml.jackson.annotation.JsonProperty;

/** {@code GET /topics/{t}/partitions/{p}/offsets}: the partition's first and next offsets. */
public record PartitionOffsets(
        @JsonProperty("beginning_offset") long beginningOffset,
        @JsonProperty("end_offset") long endOffset) {
}
