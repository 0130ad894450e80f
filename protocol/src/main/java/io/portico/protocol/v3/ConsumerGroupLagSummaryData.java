package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code KafkaConsumerGroupLagSummary}: the largest lag of a group, the partition and member it is
 * on (with links to both), and the group's total lag.
 */
public record ConsumerGroupLagSummaryData(
        @JsonProperty("kind") String kind,
        @JsonProperty("metadata") ResourceMetadata metadata,
        @JsonProperty("cluster_id") String clusterId,
        @JsonProperty("consumer_group_id") String consumerGroupId,
        @JsonProperty("max_lag") long maxLag,
        @JsonProperty("total_lag") long totalLag,
        @JsonProperty("max_lag_consumer_id") String maxLagConsumerId,
        @JsonProperty("max_lag_consumer") Related maxLagConsumer,
        @JsonProperty("max_lag_client_id") String maxLagClientId,
        @JsonProperty("max_lag_instance_id") String maxLagInstanceId,
        @JsonProperty("max_lag_topic_name") String maxLagTopicName,
        @JsonProperty("max_lag_partition_id") int maxLagPartitionId,
        @JsonProperty("max_lag_partition") Related maxLagPartition) {

    public static final String KIND = "KafkaConsumerGroupLagSummary";
}
