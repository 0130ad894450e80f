package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * The produce response: one {@link PartitionOffset} per request record, in request order.
 * The schema ids are those used for avro, else null.
 */
public record ProduceResponse(
        @JsonProperty("offsets") List<PartitionOffset> offsets,
        @JsonProperty("key_schema_id") Integer keySchemaId,
        @JsonProperty("value_schema_id") Integer valueSchemaId) {
}
