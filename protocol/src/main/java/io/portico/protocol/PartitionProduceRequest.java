package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.util.ArrayList;
import java.util.List;

/** {@code POST /topics/{topic}/partitions/{partition}}: records without a {@code partition} field. */
public record PartitionProduceRequest(
        @JsonProperty("records") @JsonDeserialize(using = BoundedList.class) List<PartitionProduceRecord> records,
        @JsonProperty("key_schema") String keySchema,
        @JsonProperty("key_schema_id") Integer keySchemaId,
        @JsonProperty("value_schema") String valueSchema,
        @JsonProperty("value_schema_id") Integer valueSchemaId) {

    public PartitionProduceRequest {
        records = Validation.nonEmptyRecords(records);
    }

    /** The records, each bound to {@code partition}. */
    public List<ProduceRecord> toPartition(int partition) {
        List<ProduceRecord> bound = new ArrayList<>(records.size());
        for (PartitionProduceRecord r : records) {
            bound.add(r.toPartition(partition));
        }
        return bound;
    }
}
