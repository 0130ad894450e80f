/*
 * The side-by-side measurement behind Portico's consumer default receive.buffer.bytes=1048576
 * (results in ../2026-12-04-receive-buffer.md). Not part of the build: run by hand against a
 * broker of its own (the bench's BrokerMain, started with its standard input held open):
 *
 *   javac -cp proxy/target/portico.jar -d /tmp/rcv bench/results/receive-buffer/RcvBench.java
 *   java -Xmx2g -cp proxy/target/portico.jar:/tmp/rcv RcvBench <bootstrap> <broker pid> 9
 *
 * It produces 2,000,000 records of 100 B to topic "rcv" (3 partitions), then reads them all,
 * round after round, with Portico's consumer settings and a receive buffer of 64 KiB (Kafka's
 * default) and 1 MiB alternately: one consumer of the three partitions ("one", as the native-consume
 * row) and three consumers of one partition each at once ("three", as Portico's readers and
 * partition streams). Each read is timed from the consumer's creation to its last record; the
 * client's CPU is this process's, the broker's from /proc/<pid>/stat. Round 0 is not printed.
 */
import java.lang.management.ManagementFactory;
import java.nio.file.*;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

public class RcvBench {
    static long brokerCpu(long pid) throws Exception {
        String[] f = Files.readString(Path.of("/proc/" + pid + "/stat")).split("\\) ")[1].split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L; // ticks (100/s) to ns
    }
    public static void main(String[] a) throws Exception {
        String bootstrap = a[0]; long brokerPid = Long.parseLong(a[1]); int rounds = Integer.parseInt(a[2]);
        int records = 2_000_000; String topic = "rcv";
        Map<String, Object> pc = new HashMap<>();
        pc.put("bootstrap.servers", bootstrap); pc.put("linger.ms", "5"); pc.put("batch.size", "65536");
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pc, new ByteArraySerializer(), new ByteArraySerializer())) {
            byte[] v = new byte[100];
            for (int i = 0; i < records; i++) p.send(new ProducerRecord<>(topic, i % 3, null, v));
            p.flush();
        }
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (int r = 0; r < rounds; r++) {
            for (int buf : new int[] {65536, 1048576}) {
                for (String mode : new String[] {"one", "three"}) {
                    long cpu0 = os.getProcessCpuTime(), b0 = brokerCpu(brokerPid), t0 = System.nanoTime();
                    long n = mode.equals("one") ? consume(bootstrap, buf, List.of(0, 1, 2)) : parallel(bootstrap, buf);
                    long t = System.nanoTime() - t0, cpu = os.getProcessCpuTime() - cpu0, b = brokerCpu(brokerPid) - b0;
                    if (r > 0) System.out.printf("round %d buf %7d %-5s records %d  %.2f M/s  client %.3f us/rec  broker %.3f us/rec%n",
                            r, buf, mode, n, n / (t / 1e3), cpu / 1e3 / n, b / 1e3 / n);
                }
            }
        }
    }
    static long parallel(String bootstrap, int buf) throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(3);
        List<Future<Long>> fs = new ArrayList<>();
        for (int p = 0; p < 3; p++) { int pp = p; fs.add(ex.submit(() -> consume(bootstrap, buf, List.of(pp)))); }
        long n = 0; for (Future<Long> f : fs) n += f.get();
        ex.shutdown(); return n;
    }
    static long consume(String bootstrap, int buf, List<Integer> parts) {
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", bootstrap); c.put("enable.auto.commit", "false");
        c.put("fetch.max.bytes", "393216"); c.put("max.partition.fetch.bytes", "393216");
        c.put("isolation.level", "read_committed"); c.put("receive.buffer.bytes", String.valueOf(buf));
        c.put("metric.reporters", "");
        try (KafkaConsumer<byte[], byte[]> k = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p : parts) tps.add(new TopicPartition("rcv", p));
            k.assign(tps); k.seekToBeginning(tps);
            Map<TopicPartition, Long> end = k.endOffsets(tps);
            long target = end.values().stream().mapToLong(Long::longValue).sum();
            long n = 0;
            while (n < target) n += k.poll(Duration.ofMillis(500)).count();
            return n;
        }
    }
}
