package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** Threads that send at once claim their room in the producer's buffer, so that together they leave half of it free. */
class SendsAtOnceTest {

    @Test
    void claimsSeeEachOtherUntilReleased() {
        Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1",
                ProducerConfig.BUFFER_MEMORY_CONFIG, 1L << 20, ProducerConfig.BATCH_SIZE_CONFIG, 64 << 10);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            SendsAtOnce check = SendsAtOnce.of(producer, config);
            // A 1 MiB buffer, all free: half of it (eight batches of 64 KiB) may be claimed.
            long first = check.claim(4, 0);
            assertEquals(4L << 16, first);
            long second = check.claim(4, 0);
            assertEquals(4L << 16, second, "together they leave exactly half free");
            assertEquals(-1, check.claim(1, 0), "a third thread's batch would take the free half");
            check.release(first);
            assertEquals(1L << 16, check.claim(1, 0), "room again once a claim is given back");
        }
    }

    @Test
    void aProducerItCannotReadNeverSendsAtOnce() {
        assertEquals(-1, SendsAtOnce.NEVER.claim(1, 1));
    }
}
