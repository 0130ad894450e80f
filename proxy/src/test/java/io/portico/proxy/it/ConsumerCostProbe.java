package io.portico.proxy.it;

import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.EmbeddedFormat;
import io.portico.proxy.PorticoConfig;
import io.portico.sessions.ConsumerInstance;
import io.portico.sessions.ConsumerRegistry;
import io.portico.sessions.MemoryBudget;
import io.portico.sessions.SessionMetrics;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Run in a JVM of its own by {@link ConsumerCostIT}: consumer instances made as Portico makes them
 * (its consumer defaults, its registry), each in a group of its own and read a few times from a
 * topic with more records than those reads take, then the heap they keep (after full
 * collections) and what the consumers budget counted for them, per instance.
 *
 * <p>Arguments: bootstrap servers, topic, instances. Prints
 * {@code PER_INSTANCE measured=<bytes> counted=<bytes> threads=<per instance>}.
 */
public final class ConsumerCostProbe {
    private ConsumerCostProbe() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        int n = Integer.parseInt(args[2]);
        Map<String, Object> kafka = PorticoConfig.defaults().consumerConfig(bootstrap);
        MemoryBudget budget = new MemoryBudget("memory.consumers.max.bytes", Long.MAX_VALUE / 4);
        try (ConsumerRegistry registry = ConsumerRegistry.kafka(new ConsumerRegistry.Settings(kafka,
                Duration.ofMinutes(10), Duration.ofSeconds(1), Duration.ofSeconds(30), 64L << 20, n + 1, "probe"),
                t -> true, Ticker.systemTicker(), SessionMetrics.unreported(), budget, Duration.ZERO)) {
            List<ConsumerInstance> instances = new ArrayList<>();
            // One first, so that classes, shared caches and the registry's own objects are in the baseline.
            instances.add(readFewTimes(registry, topic, "probe-warm"));
            long heapBefore = heapUsed();
            long countedBefore = budget.used();
            int threadsBefore = Thread.activeCount();
            for (int i = 0; i < n; i++) {
                instances.add(readFewTimes(registry, topic, "probe-" + i));
            }
            long heapAfter = heapUsed();
            long counted = budget.used() - countedBefore;
            int threads = Thread.activeCount() - threadsBefore;
            System.out.println("PER_INSTANCE measured=" + (heapAfter - heapBefore) / n + " counted=" + counted / n
                    + " threads=" + threads / n);
            System.out.flush();
            if (instances.size() != n + 1) {
                throw new IllegalStateException("instances lost");
            }
        }
        System.exit(0);
    }

    /**
     * What one read answers at most. With the server's cap a read takes what one poll and the
     * polls draining the consumer's fetched records return (up to 9 times 500 records): two reads
     * could take the whole topic, and the third then waited for records that never come. Three
     * reads of this cap move an instance through well under half of the topic's 6 MB.
     */
    private static final long READ_BYTES = 200_000;

    /** An instance in a group of its own that got records from three reads. */
    private static ConsumerInstance readFewTimes(ConsumerRegistry registry, String topic, String group) {
        ConsumerInstance instance = registry.create(group, "c", EmbeddedFormat.BINARY, "earliest", false,
                ConsumerInstance.Options.DEFAULTS, null);
        int reads = 0;
        int attempts = 0;
        long start = System.nanoTime();
        StringBuilder got = new StringBuilder(); // what each read returned (its first record's place), or "-"
        for (; reads < 3 && attempts < 50; attempts++) {
            java.util.List<io.portico.protocol.ConsumedRecord> records = registry.read(instance, topic, READ_BYTES);
            if (!records.isEmpty()) {
                reads++;
                got.append(records.get(0).partition()).append('/').append(records.get(0).offset()).append(' ');
            } else {
                got.append("- ");
            }
        }
        if (reads < 3) {
            // Said in full, so that a failure tells where the instance was (assignment, reads).
            throw new IllegalStateException(group + " got records from " + reads + " reads of " + attempts + " in "
                    + (System.nanoTime() - start) / 1_000_000 + " ms (" + got.toString().trim() + "); assignment "
                    + instance.assignment());
        }
        return instance;
    }

    private static long heapUsed() throws InterruptedException {
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
