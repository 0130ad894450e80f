package io.portico.proxy;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.storage.Formatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka (KRaft, broker and controller in one node) inside this JVM, on free
 * loopback ports: what {@code kafka-storage.sh format} and {@code kafka-server-start.sh} do.
 * Used when no {@code bootstrap.servers} is configured, and by the tests.
 *
 * <p>Defaults are Kafka's for a single node (1 partition per new topic, topics auto-created) with
 * the replication factors of internal topics set to 1 and no initial rebalance delay. A temporary
 * data directory is deleted on {@link #close()}; a given directory is kept, and reused on the next
 * start (it is formatted only once).
 */
public final class EmbeddedKafka implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final int NODE_ID = 1;

    private final KafkaRaftServer server;
    private final Path dataDir;
    private final boolean deleteOnClose;
    /** Deletes a temporary data directory when the JVM ends without a close (a SIGTERM during start-up). */
    private Thread exitCleanup;
    private boolean closed;
    private final String bootstrapServers;
    private final int brokerPort;
    private final int controllerPort;

    private EmbeddedKafka(KafkaRaftServer server, Path dataDir, boolean deleteOnClose, int brokerPort,
                          int controllerPort) {
        this.server = server;
        this.dataDir = dataDir;
        this.deleteOnClose = deleteOnClose;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
        this.bootstrapServers = "127.0.0.1:" + brokerPort;
    }

    /** The port of the broker's listener. */
    public int brokerPort() {
        return brokerPort;
    }

    /** The port of the controller's listener. */
    public int controllerPort() {
        return controllerPort;
    }

    /**
     * Formats (if needed) and starts the broker; returns once it serves.
     *
     * @param dir the data directory to keep, or null for a temporary one
     * @param overrides broker settings that replace the defaults (e.g. {@code auto.create.topics.enable})
     */
    public static EmbeddedKafka start(Path dir, Map<String, String> overrides) throws IOException {
        return start(dir, overrides, 0, 0);
    }

    /**
     * As {@link #start(Path, Map)} on the given ports (0: a free one), e.g. to restart a broker
     * where its clients expect it.
     */
    public static EmbeddedKafka start(Path dir, Map<String, String> overrides, int brokerPort, int controllerPort)
            throws IOException {
        boolean temporary = dir == null;
        Path dataDir = temporary ? Files.createTempDirectory("portico-kafka-") : dir;
        Files.createDirectories(dataDir);
        // A SIGTERM (or the launcher's end) while the broker, or Portico after it, still starts
        // runs no close: the temporary directory, with its logs, would stay behind for good.
        java.util.concurrent.atomic.AtomicReference<EmbeddedKafka> started = new java.util.concurrent.atomic.AtomicReference<>();
        Thread cleanup = !temporary ? null : new Thread(() -> {
            EmbeddedKafka kafka = started.get();
            if (kafka != null) {
                kafka.close();
            } else {
                try {
                    Utils.delete(dataDir.toFile());
                } catch (IOException e) {
                    // the JVM ends: nothing more to do
                }
            }
        }, "portico-embedded-kafka-cleanup");
        if (cleanup != null) {
            Runtime.getRuntime().addShutdownHook(cleanup);
        }
        RuntimeException last = null;
        try {
            for (int attempt = 0; attempt < 3; attempt++) {
                try {
                    EmbeddedKafka kafka = startOnce(dataDir, temporary, overrides, brokerPort, controllerPort);
                    kafka.exitCleanup = cleanup;
                    started.set(kafka);
                    return kafka;
                } catch (RuntimeException e) {
                    // A port taken between choosing and binding: choose again.
                    last = e;
                    LOG.warn("Embedded Kafka did not start (attempt {}): {}", attempt + 1, e.toString());
                }
            }
            throw last;
        } catch (Throwable t) {
            if (temporary) {
                removeHook(cleanup);
                Utils.delete(dataDir.toFile());
            }
            throw t;
        }
    }

    private static EmbeddedKafka startOnce(Path dataDir, boolean temporary, Map<String, String> overrides,
                                           int fixedBrokerPort, int fixedControllerPort) throws IOException {
        int brokerPort = fixedBrokerPort > 0 ? fixedBrokerPort : freePort();
        int controllerPort = fixedControllerPort > 0 ? fixedControllerPort : freePort();
        Map<String, Object> props = new HashMap<>();
        props.put("process.roles", "broker,controller");
        props.put("node.id", String.valueOf(NODE_ID));
        props.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("log.dirs", dataDir.toString());
        props.put("metadata.log.dir", dataDir.toString());
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("num.partitions", "1");
        props.put("auto.create.topics.enable", "true");
        props.put("log.cleaner.dedupe.buffer.size", "2097152");
        // Kafka's own authorizer, so that ACLs can be created, listed and deleted (v3's acls); every
        // client of this broker connects without credentials (User:ANONYMOUS), a super user, so no
        // ACL anyone creates can lock the broker, Portico or a test out.
        props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        props.put("super.users", "User:ANONYMOUS");
        props.putAll(overrides);
        KafkaConfig config = new KafkaConfig(props, false);

        if (!Files.exists(dataDir.resolve("meta.properties"))) {
            try {
                new Formatter()
                        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                        .setNodeId(NODE_ID)
                        .setClusterId(Uuid.randomUuid().toString())
                        .setControllerListenerName("CONTROLLER")
                        .setMetadataLogDirectory(dataDir.toString())
                        .addDirectory(dataDir.toString())
                        .run();
            } catch (Exception e) {
                throw new IOException("Cannot format the embedded Kafka data directory " + dataDir + ": " + e, e);
            }
        }
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        try {
            server.startup();
        } catch (RuntimeException e) {
            try {
                server.shutdown();
                server.awaitShutdown();
            } catch (RuntimeException ignored) {
                // the start failure is what matters
            }
            throw e;
        }
        return new EmbeddedKafka(server, dataDir, temporary, brokerPort, controllerPort);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** {@code 127.0.0.1:<port>} of the broker's listener. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** The data directory. */
    public Path dataDir() {
        return dataDir;
    }

    /**
     * Its owner's own shutdown hook closes it from now on: the exit hook set at start (for a JVM
     * ended while it, or its owner, still started) goes, or it would stop the broker while the
     * owner's hook still lets requests finish and flushes producers.
     */
    public void closedByOwnerFromNowOn() {
        removeHook(exitCleanup);
    }

    private static void removeHook(Thread hook) {
        if (hook == null || hook == Thread.currentThread()) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs, and finds the broker closed
        }
    }

    /** Stops the broker and deletes a temporary data directory (once; Portico's close and the exit hook may both ask). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        removeHook(exitCleanup);
        try {
            server.shutdown();
            server.awaitShutdown();
        } finally {
            if (deleteOnClose) {
                try {
                    Utils.delete(dataDir.toFile());
                } catch (IOException e) {
                    LOG.warn("Cannot delete {}: {}", dataDir, e.toString());
                }
            }
        }
    }
}
