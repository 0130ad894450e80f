package org.apache.kafka.clients.admin;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.internals.CoordinatorKey;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The results of admin calls whose constructors Kafka keeps to its own package, for the fake
 * admin clients of tests.
 */
public final class AdminResults {
    private AdminResults() {
    }

    /** {@code listTopics} answering {@code names}, none of them internal. */
    /** A listing of consumer groups of these ids. */
    public static ListGroupsResult listGroups(Collection<String> ids) {
        return listGroups(KafkaFuture.completedFuture(groupListings(ids)));
    }

    /** A listing of consumer groups answering as {@code listings} completes. */
    public static ListGroupsResult listGroups(KafkaFuture<Collection<Object>> listings) {
        return new ListGroupsResult(listings);
    }

    /** The listings of consumer groups of these ids, classic and empty. */
    public static Collection<Object> groupListings(Collection<String> ids) {
        java.util.List<Object> listings = new java.util.ArrayList<>();
        for (String id : ids) {
            listings.add(new GroupListing(id, java.util.Optional.of(org.apache.kafka.common.GroupType.CLASSIC), "consumer",
                    java.util.Optional.of(org.apache.kafka.common.GroupState.EMPTY)));
        }
        return listings;
    }

    public static ListTopicsResult listTopics(Collection<String> names) {
        return listTopics(KafkaFuture.completedFuture(listings(names)));
    }

    /** {@code listTopics} answering as {@code listings} completes. */
    public static ListTopicsResult listTopics(KafkaFuture<Map<String, TopicListing>> listings) {
        return new ListTopicsResult(listings);
    }

    /** The listings of {@code names}, none of them internal, by name. */
    public static Map<String, TopicListing> listings(Collection<String> names) {
        Map<String, TopicListing> listings = new LinkedHashMap<>();
        for (String name : names) {
            listings.put(name, new TopicListing(name, Uuid.randomUuid(), false));
        }
        return listings;
    }

    /** {@code createPartitions} of {@code topic}, completing as {@code done} does. */
    public static CreatePartitionsResult createPartitions(String topic, KafkaFuture<Void> done) {
        return new CreatePartitionsResult(Map.of(topic, done));
    }

    /** {@code incrementalAlterConfigs} of {@code resource}, completing as {@code done} does. */
    public static ListPartitionReassignmentsResult listPartitionReassignments(
            Map<org.apache.kafka.common.TopicPartition, PartitionReassignment> moving) {
        return new ListPartitionReassignmentsResult(KafkaFuture.completedFuture(moving));
    }

    public static DeleteAclsResult deleteAcls(org.apache.kafka.common.acl.AclBindingFilter filter,
                                              KafkaFuture<DeleteAclsResult.FilterResults> done) {
        return new DeleteAclsResult(Map.of(filter, done));
    }

    public static AlterConfigsResult alterConfigs(ConfigResource resource, KafkaFuture<Void> done) {
        return new AlterConfigsResult(Map.of(resource, done));
    }

    /** {@code incrementalAlterConfigs} of several resources, each completing as its future does. */
    public static AlterConfigsResult alterConfigs(Map<ConfigResource, KafkaFuture<Void>> done) {
        return new AlterConfigsResult(done);
    }

    /** {@code describeConfigs} of several resources, each completing as its future does. */
    public static DescribeConfigsResult describeConfigs(Map<ConfigResource, KafkaFuture<Config>> configs) {
        return new DescribeConfigsResult(configs);
    }

    /** {@code describeConfigs} of {@code resource}, completing as {@code config} does. */
    public static DescribeConfigsResult describeConfigs(ConfigResource resource, KafkaFuture<Config> config) {
        return new DescribeConfigsResult(Map.of(resource, config));
    }

    /** {@code listConsumerGroupOffsets} of {@code group}, answering {@code offsets}. */
    public static ListConsumerGroupOffsetsResult groupOffsets(String group, Map<TopicPartition, OffsetAndMetadata> offsets) {
        return new ListConsumerGroupOffsetsResult(Map.of(CoordinatorKey.byGroupId(group),
                KafkaFuture.completedFuture(offsets)));
    }
}
