package io.portico.sessions;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.PartitionOffset;
import io.portico.protocol.ProduceRecord;
import java.util.List;

/**
 * What the Kafka-facing services count: records and bytes produced and consumed, produce errors
 * by code, consumer instances created and expired. Names are fixed (never topics or groups), so
 * the number of metrics is bounded. Thread-safe; marking is a few atomic adds.
 */
public final class SessionMetrics {
    private final MetricRegistry registry;
    private final Meter producedRecords;
    private final Meter producedBytes;
    private final Meter consumedRecords;
    private final Meter consumedBytes;
    private final Meter readAhead;
    private final Meter takenAhead;
    private final Meter producedAtOnce;
    private final Meter shareRefused;
    private final Counter instancesCreated;
    private final Counter instancesExpired;

    public SessionMetrics(MetricRegistry registry) {
        this.registry = registry;
        // Marked once per record as Kafka acknowledges it (on the producer's thread): deferred.
        this.producedRecords = registry.meter("portico.produce.records", DeferredMeter::new);
        this.producedBytes = registry.meter("portico.produce.bytes", DeferredMeter::new);
        this.consumedRecords = registry.meter("portico.consume.records");
        this.consumedBytes = registry.meter("portico.consume.bytes");
        this.readAhead = registry.meter("portico.consume.read.ahead");
        this.takenAhead = registry.meter("portico.consume.taken.ahead");
        this.producedAtOnce = registry.meter("portico.produce.at.once");
        // Registered now, at 0: a series that appears at its first event hides that event from
        // rate() and increase(), and dashboards show "no data" rather than none.
        this.shareRefused = registry.meter("portico.produce.share.refused");
        this.instancesCreated = registry.counter("portico.consumer.instances.opened");
        this.instancesExpired = registry.counter("portico.consumer.instances.expired");
    }

    /** Metrics kept in a registry of their own, reported nowhere (for callers that do not report). */
    public static SessionMetrics unreported() {
        return new SessionMetrics(new MetricRegistry());
    }

    /** The registry the metrics live in (services register their gauges there). */
    MetricRegistry registry() {
        return registry;
    }

    /** Counts the records of a produce that Kafka acknowledged, and the errors of the others. */
    void produced(List<ProduceRecord> records, List<PartitionOffset> results) {
        long ok = 0;
        long bytes = 0;
        for (int i = 0; i < results.size(); i++) {
            PartitionOffset result = results.get(i);
            if (result.errorCode() == null) {
                ProduceRecord r = records.get(i);
                ok++;
                bytes += (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
            } else {
                produceError(result.errorCode());
            }
        }
        producedRecords.mark(ok);
        producedBytes.mark(bytes);
    }

    /**
     * Counts a request produced where it arrived, a v3 record each (see
     * {@link ProduceService#produceAtOnce}, {@link ProduceService#sendAtOnce}).
     */
    void producedAtOnce() {
        producedAtOnce.mark();
    }

    void producedOne(long bytes) {
        producedRecords.mark();
        producedBytes.mark(bytes);
    }

    void produceError(int code) {
        registry.meter("portico.produce.errors." + code).mark();
    }

    void produceError(ErrorCode code) {
        produceError(code.code());
    }

    /** Counts a record refused because its caller's records waiting for Kafka hold its share of the producer's buffer. */
    void shareRefused() {
        shareRefused.mark();
    }

    /** Counts records a consumer instance fetched ahead of its next read. */
    void readAhead(int records) {
        readAhead.mark(records);
    }

    /** Counts a read answered from what a fetch ahead held while that fetch ahead went on. */
    void takenAhead() {
        takenAhead.mark();
    }

    /** Counts {@code records} records read, of {@code bytes} key and value bytes in all. */
    void consumed(int records, long bytes) {
        consumedRecords.mark(records);
        consumedBytes.mark(bytes);
    }

    void instanceCreated() {
        instancesCreated.inc();
    }

    void instanceExpired() {
        instancesExpired.inc();
    }
}
