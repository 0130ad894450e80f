package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/** {@code GET /topics/{topic}}: name, per-topic config overrides, partitions sorted by id. */
public record TopicDescription(
        @JsonProperty("name") String name,
        @JsonProperty("configs") Map<String, String> configs,
        @JsonProperty("partitions") List<PartitionDescription> partitions) {
}
