package io.portico.sessions;

import io.portico.protocol.RestException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits, after a topic was created, until every partition's leader serves it.
 *
 * <p>Kafka acknowledges a topic's creation once its controller recorded it, before the
 * partitions' leaders have applied it. A client that produces at once can have its first request
 * refused with NOT_LEADER_OR_FOLLOWER while its next in-flight request lands; an idempotent
 * producer (Portico's shared one) then retries the first with OUT_OF_ORDER_SEQUENCE_NUMBER until
 * {@code delivery.timeout.ms} expires it (KAFKA-15591): the records fail after a long stall. A
 * look-up of each partition's end offset goes to its leader and is retried by the admin client
 * until the leader has the partition, so answering the creation after it closes that gap.
 */
final class TopicReadiness {
    private static final Logger LOG = LoggerFactory.getLogger(TopicReadiness.class);

    private TopicReadiness() {
    }

    /**
     * Completes (never exceptionally) once each of the {@code partitions} partitions of
     * {@code topic} answered a look-up at its leader, or when that failed or took longer than
     * {@code timeoutMs}: the topic exists either way, and a produce then still succeeds, only
     * perhaps after Kafka's retries.
     */
    static CompletableFuture<Void> served(Admin admin, String topic, int partitions, int timeoutMs) {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            request.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        CompletableFuture<Void> out = new CompletableFuture<>();
        if (request.isEmpty()) {
            out.complete(null);
            return out;
        }
        try {
            admin.listOffsets(request, new ListOffsetsOptions().timeoutMs(timeoutMs)).all()
                    .whenComplete((offsets, error) -> {
                        if (error != null) {
                            LOG.debug("The leaders of the new topic {} were not all seen serving it: {}", topic,
                                    KafkaErrors.describe(RestException.unwrap(error)));
                        }
                        out.complete(null);
                    });
        } catch (RuntimeException e) {
            LOG.debug("Could not ask the leaders of the new topic {}: {}", topic, e.toString());
            out.complete(null);
        }
        return out;
    }
}
