package io.portico.bench;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/** Creates the benchmark's topics and waits until every partition's leader serves it. */
final class Topics {
    private Topics() {
    }

    /**
     * Creates {@code topics} and returns once each partition's leader answers a look-up of the
     * partition's end offset. A topic's creation is acknowledged before its leader has applied it:
     * a produce sent in that gap fails with NOT_LEADER_OR_FOLLOWER while the next in-flight one
     * lands, and an idempotent producer then retries the first with OUT_OF_ORDER_SEQUENCE_NUMBER
     * until delivery.timeout.ms expires it (KAFKA-15591). The look-up goes to the leader and is
     * retried by the admin client until the leader has the partition.
     */
    static void createReady(Admin admin, List<NewTopic> topics) throws Exception {
        admin.createTopics(topics).all().get(60, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
        for (NewTopic t : topics) {
            int count = t.numPartitions() > 0 ? t.numPartitions() : t.replicasAssignments().size();
            for (int p = 0; p < count; p++) {
                partitions.put(new TopicPartition(t.name(), p), OffsetSpec.latest());
            }
        }
        // The admin client may look the new topic up before its metadata has reached the broker's
        // cache, and does not retry that: the look-up is retried here, for up to a minute.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                admin.listOffsets(partitions).all().get(60, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }
}
