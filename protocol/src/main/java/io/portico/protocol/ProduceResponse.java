package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The produce response: one {@link PartitionOffset} per request record, in request order.
 * The schema ids are those used for avro, else null.
 */
public record ProduceResponse(
        @JsonProperty("offsets") List<PartitionOffset> offsets,
        @JsonProperty("key_schema_id") Integer keySchemaId,
        @JsonProperty("value_schema_id") Integer valueSchemaId) {

    /**
     * This response as JSON when every record landed (the answer to nearly every produce), written
     * directly, byte for byte as Jackson writes it; null when a record failed (its message needs
     * Jackson's escaping). {@link Json#write} takes it.
     */
    byte[] landedJson() {
        for (int i = 0; i < offsets.size(); i++) {
            PartitionOffset o = offsets.get(i);
            if (o.errorCode() != null || o.error() != null || o.partition() == null || o.offset() == null) {
                return null;
            }
        }
        StringBuilder out = new StringBuilder(48 + 64 * offsets.size()).append("{\"offsets\":[");
        for (int i = 0; i < offsets.size(); i++) {
            PartitionOffset o = offsets.get(i);
            if (i > 0) {
                out.append(',');
            }
            out.append("{\"partition\":").append(o.partition().intValue())
                    .append(",\"offset\":").append(o.offset().longValue())
                    .append(",\"error_code\":null,\"error\":null}");
        }
        out.append("],\"key_schema_id\":").append(keySchemaId)
                .append(",\"value_schema_id\":").append(valueSchemaId).append('}');
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
