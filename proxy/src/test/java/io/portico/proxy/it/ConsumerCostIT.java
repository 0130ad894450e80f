package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the consumers budget counts for a consumer instance is not far below what one costs: 40
 * instances made as Portico makes them, each in its own group and read a few times from a
 * 3-partition topic with records to spare, in a JVM of their own (no broker in it), keep no more
 * than 1.5 times what the budget counted for them. The ratio has a wide margin: collections and
 * Kafka's internals move the measured cost by some percent, an estimate that forgets a fetch
 * response held ahead is off by half.
 */
@ExtendWith(PorticoExtension.class)
class ConsumerCostIT {
    private static final int INSTANCES = 40;

    @Test
    void theBudgetCountsWhatAnInstanceKeeps(KafkaCluster kafka) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("consumer-cost"), 3);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(java.util.Map.of(
                "bootstrap.servers", kafka.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
            byte[] value = new byte[1000];
            for (int i = 0; i < 6000; i++) { // 2 MB a partition: three reads of an instance (200 KB each) take far less
                producer.send(new ProducerRecord<>(topic, i % 3, null, value));
            }
            producer.flush();
        }
        String classpath = Path.of("target", "portico.jar") + File.pathSeparator + Path.of("target", "test-classes");
        Process probe = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", classpath, ConsumerCostProbe.class.getName(), kafka.bootstrapServers(), topic,
                String.valueOf(INSTANCES)).redirectErrorStream(true).start();
        byte[] out = probe.getInputStream().readAllBytes();
        assertTrue(probe.waitFor(3, TimeUnit.MINUTES), "the probe ends");
        String output = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, probe.exitValue(), output);
        Matcher m = Pattern.compile("PER_INSTANCE measured=(\\d+) counted=(\\d+) threads=(\\d+)").matcher(output);
        assertTrue(m.find(), output);
        long measured = Long.parseLong(m.group(1));
        long counted = Long.parseLong(m.group(2));
        System.out.println("consumer instance: measured " + measured / 1024 + " KiB, counted " + counted / 1024
                + " KiB, threads " + m.group(3));
        assertTrue(measured > 100 * 1024, "an instance keeps something: " + measured);
        assertTrue(measured <= counted * 3 / 2, "an instance keeps " + measured / 1024 + " KiB, the budget counts "
                + counted / 1024 + " KiB for it");
    }
}
