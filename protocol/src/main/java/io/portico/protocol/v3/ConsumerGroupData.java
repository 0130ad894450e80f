package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code KafkaConsumerGroup}: its id, whether it is simple (offsets only, no members), its
 * assignor, {@code state} ({@code STABLE}, {@code EMPTY}, …) and {@code type} ({@code CLASSIC},
 * {@code CONSUMER}), whether classic members remain in a consumer-protocol group, and links to
 * its coordinator, consumers and lag summary.
 */
public record ConsumerGroupData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("consumer_group_id") String consumerGroupId,
        @JsonProperty("is_simple") boolean isSimple,
        @JsonProperty("partition_assignor") String partitionAssignor,
        @JsonProperty("state") String state,
        @JsonProperty("type") String type,
        @JsonProperty("is_mixed_consumer_group") boolean isMixedConsumerGroup,
        @JsonProperty("coordinator") Related coordinator,
        @JsonProperty("consumers") Related consumers,
        @JsonProperty("lag_summary") Related lagSummary) {

    public static final String KIND = "KafkaConsumerGroup";
    public static final String LIST_KIND = "KafkaConsumerGroupList";
}
