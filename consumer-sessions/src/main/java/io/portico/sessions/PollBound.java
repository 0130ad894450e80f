package io.portico.sessions;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Bounds the key and value bytes one poll of a Kafka consumer hands out, whatever the records
 * came to once decompressed.
 *
 * <p>{@code fetch.max.bytes} bounds what a fetch brings over the wire, compressed; a poll then
 * decompresses up to {@code max.poll.records} records. A compressed batch of large, very
 * compressible records (a megabyte of zeros takes a few hundred bytes in zstd), written to Kafka
 * by anyone who may produce there, would make a single poll of a reader hold a gigabyte, before any
 * count, {@code max_bytes} or budget could apply: one client's topic could fill the heap every
 * client shares. Records of ordinary compressible text (ten times smaller compressed) would take
 * ten times what the consumers budget reckons a consumer holds.
 *
 * <p>So Portico's consumers copy keys and values with {@link Bytes}, which, during a poll made
 * through {@link #poll}, refuses the next record once the records before it in that poll came to
 * the consumer's bound (twice its {@code fetch.max.bytes}, what two fetch responses bring
 * uncompressed; a poll's first record always passes, so every poll makes progress). Kafka's
 * consumer then returns the records before it, keeps that record (read, not yet copied) and its
 * position, and gives it first to the next poll: nothing is skipped or fetched again, and the
 * rest of the batch stays compressed in the consumer's buffer. A record's headers count with its
 * key and value. A poll not made through {@link #poll} is not bounded.
 *
 * <p>What this does not bound: one record itself (Kafka's consumer decompresses a whole record
 * before any deserializer sees it), the record refused last (kept decompressed in the consumer
 * until its next poll, counted nowhere), and records with neither key nor value (no deserializer
 * is asked about them: their headers pass unbounded).
 */
public final class PollBound {
    /** A poll's bookkeeping, one per thread (a consumer is polled by one thread at a time, on the polling thread). */
    private static final class Scope {
        final Thread thread = Thread.currentThread();
        boolean active; // a poll through PollBound.poll is running on this thread
        long taken; // key, value and header bytes handed out in this poll
        Headers first; // the headers of the poll's first record: its key and value always pass
        Headers last; // the headers of the record seen last (its header bytes are counted once)
    }

    private static final ThreadLocal<Scope> SCOPES = ThreadLocal.withInitial(Scope::new);

    /** Thrown to Kafka's consumer (which wraps it) for a record past the bound: stackless, shared. */
    private static final SerializationException FULL = new SerializationException(
            "this poll's records reached the bytes one poll may hand out; the record is the next poll's first") {
        private static final long serialVersionUID = 1L;

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    };

    private PollBound() {
    }

    /** The bound of a consumer of this configuration: twice its {@code fetch.max.bytes} (Kafka's 50 MiB when unset). */
    public static long of(Map<String, ?> consumerConfig) {
        return 2 * HeldRecords.fetchBytes(consumerConfig.get("fetch.max.bytes"));
    }

    /** A Kafka consumer of byte arrays whose polls through {@link #poll} are bounded. */
    public static Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
        long bound = of(config);
        return new KafkaConsumer<>(config, new Bytes(bound), new Bytes(bound));
    }

    /** {@code consumer.poll(timeout)}, bounded when the consumer's deserializers are {@link Bytes}. */
    public static <K, V> ConsumerRecords<K, V> poll(Consumer<K, V> consumer, Duration timeout) {
        Scope scope = SCOPES.get();
        scope.active = true;
        scope.taken = 0;
        scope.first = null;
        scope.last = null;
        try {
            return consumer.poll(timeout);
        } finally {
            scope.active = false;
            scope.first = null;
            scope.last = null;
        }
    }

    /** The bytes of a record's header names and values (no iterator made: most records have none). */
    private static long headerBytes(Headers headers) {
        long n = 0;
        for (org.apache.kafka.common.header.Header h : headers.toArray()) {
            n += h.key().length() + (h.value() == null ? 0 : h.value().length);
        }
        return n;
    }

    /**
     * Copies keys and values as {@code ByteArrayDeserializer} does, refusing one past the bound
     * during a poll through {@link #poll}.
     */
    static final class Bytes implements Deserializer<byte[]> {
        private final long bound;
        private Scope scope; // the scope seen last (the polling thread's, when it is the same thread)

        Bytes(long bound) {
            this.bound = bound;
        }

        @Override
        public byte[] deserialize(String topic, byte[] data) {
            return data;
        }

        @Override
        public byte[] deserialize(String topic, Headers headers, ByteBuffer data) {
            if (data == null) {
                return null;
            }
            int n = data.remaining();
            Scope s = scope;
            if (s == null || s.thread != Thread.currentThread()) {
                s = SCOPES.get();
                scope = s;
            }
            if (s.active) {
                long more = n;
                if (headers != s.last) { // the record's first call (its key's, or its value's when it has no key)
                    s.last = headers;
                    more += headerBytes(headers);
                }
                if (s.first == null) {
                    s.first = headers;
                } else if (headers != s.first && s.taken + more > bound) {
                    s.last = null; // the record comes again first in the next poll
                    throw FULL;
                }
                s.taken += more;
            }
            byte[] out = new byte[n];
            data.get(data.position(), out);
            return out;
        }
    }
}
