package io.portico.bench;

import io.portico.proxy.EmbeddedKafka;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * The benchmark's Kafka broker, in a JVM of its own so that Portico and the broker are separate
 * processes as in production: Portico's embedded single-node KRaft broker with 3 partitions per
 * new topic and an initial rebalance delay of 1 s.
 *
 * <p>{@code java -cp portico.jar:bench-classes io.portico.bench.BrokerMain [data-dir]} prints
 * {@code BOOTSTRAP 127.0.0.1:<port>} once the broker serves, and stops it (deleting a temporary
 * data directory) when its standard input ends: when the benchmark closes it, or when the
 * benchmark dies, so that a broker never outlives its run. SIGTERM stops it too.
 */
public final class BrokerMain {
    private BrokerMain() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = args.length > 0 ? Path.of(args[0]) : null;
        EmbeddedKafka kafka = EmbeddedKafka.start(dir, Map.of("num.partitions", "3",
                // The embedded broker sets 0 for quick tests; a broker holds a new group's first
                // assignment this long so that members that start together join in one rebalance
                // (Kafka's default is 3 s; row e's instances send their first reads together).
                "group.initial.rebalance.delay.ms", "1000",
                // no authorizer, as the runs before the embedded broker had one (like for like)
                "authorizer.class.name", ""));
        Thread hook = new Thread(kafka::close, "broker-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.println("BOOTSTRAP " + kafka.bootstrapServers());
        System.out.flush();
        InputStream in = System.in;
        byte[] buf = new byte[256];
        while (in.read(buf) >= 0) {
            // wait for the end of standard input
        }
        System.exit(0); // runs the hook: closes the broker
    }
}
