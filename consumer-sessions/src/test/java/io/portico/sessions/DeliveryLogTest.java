package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portico.protocol.ConsumedRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** Where a stream resumes after the last record its client received, also after seeks and reassignments. */
class DeliveryLogTest {
    private static final TopicPartition T0 = new TopicPartition("t", 0);
    private static final TopicPartition T1 = new TopicPartition("t", 1);

    private static List<ConsumedRecord> records(TopicPartition tp, long from, long to) {
        List<ConsumedRecord> out = new ArrayList<>();
        for (long o = from; o <= to; o++) {
            out.add(new ConsumedRecord(tp.topic(), null, null, tp.partition(), o, 0, List.of()));
        }
        return out;
    }

    @Test
    void aResumeStartsEveryPartitionAgainAfterTheRecordReceived() {
        DeliveryLog log = new DeliveryLog();
        log.add(records(T0, 100, 149));
        log.add(records(T1, 200, 249));
        assertEquals(Map.of(T0, 121L, T1, 200L), log.resumeAfter(T0, 120));
    }

    @Test
    void aSeekAfterTheRecordReceivedStillRewindsTheOtherPartitions() {
        // A batch of t-0 then t-1 is being written; the client seeks t-0 and its connection
        // breaks after t-0/120: t-1's records came after that one and are read again; t-0 stays
        // where the seek put it.
        DeliveryLog log = new DeliveryLog();
        log.add(records(T0, 100, 149));
        log.add(records(T1, 200, 249));
        log.forget(Set.of(T0));
        assertEquals(Map.of(T1, 200L), log.resumeAfter(T0, 120));
    }

    @Test
    void recordsOfASoughtPartitionHandedOutAfterTheSeekAreReadAgain() {
        DeliveryLog log = new DeliveryLog();
        log.add(records(T0, 100, 149));
        log.forget(Set.of(T0)); // sought to 500
        log.add(records(T1, 200, 249));
        log.add(records(T0, 500, 510));
        assertEquals(Map.of(T1, 200L, T0, 500L), log.resumeAfter(T0, 120));
    }

    @Test
    void aReassignmentKeepsWhatCameAfterTheRecordReceivedButMovesNothingBack() {
        DeliveryLog log = new DeliveryLog();
        log.add(records(T0, 100, 149));
        log.add(records(T1, 200, 249));
        log.forgetAll(); // assigned anew
        assertEquals(Map.of(), log.resumeAfter(T1, 203), "known, and nothing to move back");
        log.add(records(T1, 0, 9)); // read after the reassignment
        assertEquals(Map.of(T1, 0L), log.resumeAfter(T0, 110));
    }

    @Test
    void anIdHandedOutAgainAfterASeekBackResumesFromTheSeekNotPastIt() {
        // The client got t-0/50 of the first run, sought t-0 back to 0; the second run (0..99
        // again) was handed out but never reached it. Resuming after 50 must not skip 0..50 of
        // the second run, which the seek asked for: it starts at the seek's 0 (a repeat, no gap).
        DeliveryLog log = new DeliveryLog();
        log.add(records(T0, 0, 99));
        log.forget(Set.of(T0)); // sought to 0
        log.add(records(T0, 0, 99));
        assertEquals(Map.of(T0, 0L), log.resumeAfter(T0, 50));
    }

    @Test
    void anIdInARunAndInTheRunARebalanceHandedOutAgainResumesRightAfterIt() {
        // A revocation gave t-0 straight back at its committed 51: 51..99 handed out twice.
        DeliveryLog log = new DeliveryLog();
        log.add(records(T0, 0, 99));
        log.add(records(T0, 51, 99));
        assertEquals(Map.of(T0, 61L), log.resumeAfter(T0, 60));
    }

    @Test
    void aRecordNeverHandedOutIsNotFound() {
        DeliveryLog log = new DeliveryLog();
        log.add(records(T0, 100, 149));
        assertEquals(null, log.resumeAfter(T1, 5));
        assertEquals(null, log.resumeAfter(T0, 150));
    }
}
