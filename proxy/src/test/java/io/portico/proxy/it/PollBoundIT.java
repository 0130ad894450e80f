package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.sessions.PollBound;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Records that are small compressed and large decompressed (zeros in zstd), written to Kafka
 * directly: a poll of Portico's consumers hands out at most its bound of them, and the rest come
 * in later polls, in order, none skipped or repeated.
 */
@ExtendWith(PorticoExtension.class)
class PollBoundIT {
    private static final int RECORDS = 48;
    private static final int VALUE_BYTES = 256 * 1024;

    /** {@link #RECORDS} records of {@link #VALUE_BYTES} zeros but for their first bytes (their offset), in few compressed batches. */
    private static String compressedTopic(KafkaCluster kafka) throws Exception {
        return compressedTopic(kafka, false);
    }

    /** As above, or ({@code inHeaders}) with a value of one byte (the offset) and the zeros in a header. */
    private static String compressedTopic(KafkaCluster kafka, boolean inHeaders) throws Exception {
        String topic = kafka.createTopic(KafkaCluster.uniqueTopic("zeros"), 1);
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
        config.put(ProducerConfig.LINGER_MS_CONFIG, "1000");
        config.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(16 << 20));
        config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(64 << 20));
        config.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(64 << 20));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (int i = 0; i < RECORDS; i++) {
                ProducerRecord<byte[], byte[]> r = inHeaders ? new ProducerRecord<>(topic, 0, null, new byte[] {(byte) i})
                        : new ProducerRecord<>(topic, 0, null, value(i));
                if (inHeaders) {
                    r.headers().add("zeros", new byte[VALUE_BYTES]);
                }
                producer.send(r);
            }
            producer.flush();
        }
        return topic;
    }

    private static byte[] value(int i) {
        byte[] v = new byte[VALUE_BYTES];
        v[0] = (byte) i;
        return v;
    }

    /**
     * Polls partition 0 of {@code topic} through {@link PollBound} until its {@link #RECORDS}
     * records came, checking each with {@code check} and each poll against the bound (the bytes of
     * a record as {@code bytesOf} counts them; a poll of one record may pass it): the most records
     * one poll handed out.
     */
    private static int pollAllWithinTheBound(KafkaCluster kafka, String topic,
                                             java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> check,
                                             java.util.function.ToLongFunction<ConsumerRecord<byte[], byte[]>> bytesOf) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(300 * 1024)); // the whole topic, compressed
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1000");
        long bound = PollBound.of(config);
        assertEquals(600 * 1024, bound);
        List<Long> offsets = new ArrayList<>();
        int most = 0;
        try (Consumer<byte[], byte[]> consumer = PollBound.consumer(config)) {
            TopicPartition p = new TopicPartition(topic, 0);
            consumer.assign(List.of(p));
            consumer.seekToBeginning(List.of(p));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (offsets.size() < RECORDS && System.nanoTime() < deadline) {
                long bytes = 0;
                int count = 0;
                for (ConsumerRecord<byte[], byte[]> r : PollBound.poll(consumer, Duration.ofMillis(200))) {
                    check.accept(r);
                    offsets.add(r.offset());
                    bytes += bytesOf.applyAsLong(r);
                    count++;
                }
                most = Math.max(most, count);
                assertTrue(count <= 1 || bytes <= bound, count + " records of " + bytes + " bytes in one poll, over " + bound);
            }
        }
        List<Long> expected = new ArrayList<>();
        for (long o = 0; o < RECORDS; o++) {
            expected.add(o);
        }
        assertEquals(expected, offsets, "every record once, in order");
        return most;
    }

    @Test
    void aPollHandsOutAtMostItsBoundOfDecompressedRecordsAndTheRestComeNextInOrder(KafkaCluster kafka) throws Exception {
        int most = pollAllWithinTheBound(kafka, compressedTopic(kafka), r -> {
            assertEquals(VALUE_BYTES, r.value().length);
            assertEquals((byte) r.offset(), r.value()[0], "the record's own value");
        }, r -> r.value().length);
        assertEquals(2, most, "a poll stops at the bound (2 of 256 KiB under 600 KiB), not at a batch's end");
    }

    @Test
    void aRecordsHeadersCountTowardTheBound(KafkaCluster kafka) throws Exception {
        int most = pollAllWithinTheBound(kafka, compressedTopic(kafka, true), r -> {
            assertEquals((byte) r.offset(), r.value()[0]);
            assertEquals(VALUE_BYTES, r.headers().lastHeader("zeros").value().length);
        }, r -> 1 + "zeros".length() + VALUE_BYTES);
        assertEquals(2, most, "headers of 256 KiB: two a poll");
    }

    @Test
    void readsByOffsetOfSuchRecordsAnswerEachRecordOnce(KafkaCluster kafka, Rest rest) throws Exception {
        String topic = compressedTopic(kafka);
        List<Long> offsets = new ArrayList<>();
        for (long from = 0; from < RECORDS && offsets.size() < RECORDS; ) {
            Rest.Response r = rest.get("/topics/" + topic + "/partitions/0/messages?offset=" + from + "&count=5",
                    "Accept", "application/vnd.kafka.binary.v1+json");
            assertEquals(200, r.status(), r.body());
            for (JsonNode n : r.json()) {
                byte[] v = Base64.getDecoder().decode(n.get("value").asText());
                assertEquals(VALUE_BYTES, v.length);
                assertEquals((byte) n.get("offset").asLong(), v[0]);
                offsets.add(n.get("offset").asLong());
            }
            from = offsets.isEmpty() ? 0 : offsets.get(offsets.size() - 1) + 1;
        }
        List<Long> expected = new ArrayList<>();
        for (long o = 0; o < RECORDS; o++) {
            expected.add(o);
        }
        assertEquals(expected, offsets);
    }
}
