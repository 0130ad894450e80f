package io.portico.sessions;

import io.portico.protocol.ConsumedRecord;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * The batches an instance's stream handed out and has not written to its connection yet, in
 * order: they count as returned (what a commit of "what was returned" commits) once written, and
 * a stream that ends moves each partition back to the first of them, so that what never left
 * Portico is neither committed nor skipped. Batches are numbered by the stream (1, 2, …); the
 * stream says up to which one it wrote, and the instance settles that before each of the
 * stream's fetches, so a few batches are kept at most (a stream fetches one ahead of the one it
 * writes), each as the first and last offset of each partition in it. A partition sought, let go
 * of or moved back is forgotten here: where it stands then is what counts. One a rebalance
 * revoked is kept until the rebalance assigns: given straight back, it goes on after what was
 * handed out (the batch in flight is still written); gone to another member, it is forgotten.
 * Not thread-safe: the instance's lock guards it.
 */
final class Unwritten {
    private record Batch(long number, Map<TopicPartition, Long> firsts, Map<TopicPartition, Long> lasts) {
    }

    private final ArrayDeque<Batch> batches = new ArrayDeque<>();
    /** Partitions a rebalance under way revoked, with the offset after the last of each handed out. */
    private final Map<TopicPartition, Long> revoked = new HashMap<>();
    /** Of those, the last offset written since the revocation: returned once given back, not before. */
    private final Map<TopicPartition, Long> writtenWhileRevoked = new HashMap<>();

    /** Notes batch {@code number}'s records (in the order handed out); nothing when there are none. */
    void add(long number, List<ConsumedRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        Map<TopicPartition, Long> firsts = new HashMap<>();
        Map<TopicPartition, Long> lasts = new HashMap<>();
        for (ConsumedRecord r : records) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            firsts.merge(tp, r.offset(), Math::min);
            lasts.merge(tp, r.offset(), Math::max);
        }
        batches.addLast(new Batch(number, firsts, lasts));
    }

    /**
     * The stream wrote every batch up to number {@code upTo}: they are no longer unwritten, and
     * {@code returned} is told the last offset of each partition in each of them, in order (of a
     * partition a rebalance under way revoked, once it {@linkplain #assigned gives it back}).
     */
    boolean written(long upTo, java.util.function.BiConsumer<TopicPartition, Long> returned) {
        boolean any = false;
        while (!batches.isEmpty() && batches.peekFirst().number() <= upTo) {
            any = true;
            Batch b = batches.pollFirst();
            b.lasts().forEach((tp, last) -> {
                if (revoked.containsKey(tp)) {
                    writtenWhileRevoked.merge(tp, last, Math::max);
                } else {
                    returned.accept(tp, last);
                }
            });
        }
        return any;
    }

    /** Each partition's first offset handed out and not written. */
    Map<TopicPartition, Long> firsts() {
        Map<TopicPartition, Long> out = new HashMap<>();
        for (Batch b : batches) {
            b.firsts().forEach((tp, f) -> out.merge(tp, f, Math::min));
        }
        return out;
    }

    /** Of the partitions a rebalance under way revoked, the last offset written of each since. */
    Map<TopicPartition, Long> writtenWhileRevoked() {
        return Map.copyOf(writtenWhileRevoked);
    }

    int batches() {
        return batches.size();
    }

    boolean isEmpty() {
        return batches.isEmpty();
    }

    /** Forgets what was handed out of {@code partitions}: they were sought, let go of or moved back. */
    void forget(Collection<TopicPartition> partitions) {
        revoked.keySet().removeAll(partitions);
        writtenWhileRevoked.keySet().removeAll(partitions);
        if (batches.isEmpty()) {
            return;
        }
        for (Iterator<Batch> it = batches.iterator(); it.hasNext(); ) {
            Batch b = it.next();
            b.firsts().keySet().removeAll(partitions);
            b.lasts().keySet().removeAll(partitions);
            if (b.firsts().isEmpty()) {
                it.remove();
            }
        }
    }

    /**
     * A rebalance revoked {@code partitions}: what was handed out of them and not written is kept
     * until it {@linkplain #assigned assigns}.
     */
    void revoked(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            Long next = null;
            for (Batch b : batches) {
                Long last = b.lasts().get(tp);
                if (last != null && (next == null || last + 1 > next)) {
                    next = last + 1;
                }
            }
            if (next != null) {
                revoked.put(tp, next);
            }
        }
    }

    /**
     * A rebalance assigned {@code partitions}: of those it revoked with records not written, the
     * ones it gave back and where each goes on (after what was handed out), what was written of
     * them meanwhile told to {@code returned}; the others are forgotten.
     */
    Map<TopicPartition, Long> assigned(Collection<TopicPartition> partitions,
                                       java.util.function.BiConsumer<TopicPartition, Long> returned) {
        if (revoked.isEmpty()) {
            return Map.of();
        }
        Map<TopicPartition, Long> back = new HashMap<>();
        List<TopicPartition> gone = new java.util.ArrayList<>();
        revoked.forEach((tp, next) -> {
            if (partitions.contains(tp)) {
                back.put(tp, next);
                Long written = writtenWhileRevoked.get(tp);
                if (written != null) {
                    returned.accept(tp, written);
                }
            } else {
                gone.add(tp);
            }
        });
        revoked.clear();
        writtenWhileRevoked.clear();
        forget(gone);
        return back;
    }

    /** Forgets everything: a new stream starts, or the partitions' positions were all reset. */
    void clear() {
        batches.clear();
        revoked.clear();
        writtenWhileRevoked.clear();
    }
}
