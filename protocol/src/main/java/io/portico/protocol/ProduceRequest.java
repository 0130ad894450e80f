package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.util.List;

/**
 * {@code POST /topics/{topic}}: {@code {"records":[…]}}. The schema fields belong to the avro
 * embedded format; with binary and json they are accepted and ignored, as Confluent's proxy does.
 */
public record ProduceRequest(
        @JsonProperty("records") @JsonDeserialize(using = BoundedList.class) List<ProduceRecord> records,
        @JsonProperty("key_schema") String keySchema,
        @JsonProperty("key_schema_id") Integer keySchemaId,
        @JsonProperty("value_schema") String valueSchema,
        @JsonProperty("value_schema_id") Integer valueSchemaId) {

    public ProduceRequest {
        records = Validation.nonEmptyRecords(records);
    }
}
