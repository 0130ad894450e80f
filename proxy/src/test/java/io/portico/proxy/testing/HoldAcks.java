package io.portico.proxy.testing;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Holds the producer's acknowledgements of one topic's records until released (its network thread waits). */
public final class HoldAcks implements org.apache.kafka.clients.producer.ProducerInterceptor<Object, Object> {
    private static volatile String topic;
    private static volatile java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(0);

    private static final java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();

    public static void hold(String heldTopic) {
        gate = new java.util.concurrent.CountDownLatch(1);
        sent.set(0);
        topic = heldTopic;
    }

    /** Records of the held topic handed to the producer since {@link #hold}. */
    public static int sent() {
        return sent.get();
    }

    public static void release() {
        gate.countDown();
    }

    @Override
    public org.apache.kafka.clients.producer.ProducerRecord<Object, Object> onSend(
            org.apache.kafka.clients.producer.ProducerRecord<Object, Object> record) {
        if (record.topic().equals(topic)) {
            sent.incrementAndGet();
        }
        return record;
    }

    @Override
    public void onAcknowledgement(org.apache.kafka.clients.producer.RecordMetadata metadata, Exception exception) {
        if (metadata != null && metadata.topic().equals(topic)) {
            try {
                gate.await(120, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
    }

    @Override
    public void configure(Map<String, ?> configs) {
    }
}
