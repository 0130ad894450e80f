package io.portico.sessions;

import io.portico.protocol.ConsumedRecord;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;

/**
 * What an instance's stream handed out, in order, so that a client reconnecting with the id of
 * the last record it received resumes right after it on every partition: records written after
 * that one may never have reached it, and they are read again.
 *
 * <p>Kept as runs (consecutive records of one partition), a bounded number of the latest; of
 * the runs dropped for room only what they covered of each partition is kept. Resuming after a
 * record of a dropped run cannot tell what followed it exactly: every partition starts again
 * where it started since the log last forgot it, the record's own right after it, so records
 * are handed out again rather than lost. A seek marks the runs of the partitions it moves as
 * moved: a resume never undoes it, but a resume after a record of such a run still starts the
 * other partitions again after that record (an assignment or subscription changed while
 * streaming marks every run so). A rebalance that revokes partitions keeps their runs until its
 * assignment: those it gives straight back (the eager protocol revokes every partition, and
 * assigns the same ones again) keep them, as what the client received of them is still to resume
 * after; the others are forgotten, another member reads them now. Not thread-safe: the
 * instance's lock guards it.
 */
final class DeliveryLog {
    /** Runs kept at most (a run is a few dozen bytes; a stream of one partition has one). */
    static final int MAX_RUNS = 1024;

    private static final class Run {
        final TopicPartition partition;
        final long first;
        long last;
        /** Its partition was sought (or is no longer the instance's) since: kept only to tell what came after it. */
        boolean moved;

        Run(TopicPartition partition, long first, long last) {
            this.partition = partition;
            this.first = first;
            this.last = last;
        }
    }

    /** The offsets a partition's dropped runs covered, from the first to the last. */
    private record Span(long first, long last) {
        Span merge(Span other) {
            return new Span(Math.min(first, other.first), Math.max(last, other.last));
        }
    }

    private final ArrayDeque<Run> runs = new ArrayDeque<>();
    /** What runs dropped for room covered, per partition, since the partition was last forgotten. */
    private final Map<TopicPartition, Span> dropped = new HashMap<>();
    /** Partitions a rebalance under way revoked (at most those the instance had): kept until it assigns. */
    private final Set<TopicPartition> revoked = new HashSet<>();

    /** Notes records handed out, in the order they were. */
    void add(Collection<ConsumedRecord> records) {
        for (ConsumedRecord r : records) {
            Run tail = runs.peekLast();
            if (tail != null && !tail.moved && tail.partition.partition() == r.partition()
                    && tail.partition.topic().equals(r.topic()) && r.offset() > tail.last) {
                tail.last = r.offset();
                continue;
            }
            runs.addLast(new Run(new TopicPartition(r.topic(), r.partition()), r.offset(), r.offset()));
            if (runs.size() > MAX_RUNS) {
                Run oldest = runs.pollFirst();
                if (!oldest.moved) {
                    dropped.merge(oldest.partition, new Span(oldest.first, oldest.last), Span::merge);
                }
            }
        }
    }

    /**
     * Forgets what was handed out of {@code partitions} (sought, or no longer the instance's): a
     * resume does not move them back; their runs stay only to tell what came after them.
     */
    void forget(Collection<TopicPartition> partitions) {
        forget(partitions::contains);
    }

    /** As {@link #forget} for every partition: the stream's assignment or subscription changed. */
    void forgetAll() {
        forget(tp -> true);
    }

    private void forget(java.util.function.Predicate<TopicPartition> which) {
        for (Run r : runs) {
            if (which.test(r.partition)) {
                r.moved = true;
            }
        }
        dropped.keySet().removeIf(which);
        revoked.removeIf(which);
    }

    /**
     * A rebalance revoked {@code partitions}: what was handed out of them is kept until the
     * rebalance {@linkplain #assigned assigns}, which tells whether they came back.
     */
    void revoked(Collection<TopicPartition> partitions) {
        revoked.addAll(partitions);
    }

    /**
     * A rebalance assigned {@code partitions} (those it added to the instance's): what was handed
     * out of a partition it revoked is kept if it gave the partition back, else forgotten.
     */
    void assigned(Collection<TopicPartition> partitions) {
        if (revoked.isEmpty()) {
            return;
        }
        Set<TopicPartition> gone = new HashSet<>(revoked);
        partitions.forEach(gone::remove);
        revoked.clear();
        forget(gone);
    }

    /** Whether a rebalance under way revoked {@code partition} and has not assigned yet. */
    boolean isRevoked(TopicPartition partition) {
        return revoked.contains(partition);
    }

    void clear() {
        runs.clear();
        dropped.clear();
        revoked.clear();
    }

    /**
     * Where each partition must start again for a client that received everything up to and
     * including {@code offset} of {@code partition} and nothing handed out after it; what follows
     * that record is forgotten (it will be handed out again).
     *
     * @return the offset to seek each partition to (empty when nothing was handed out after the
     *         record), or null when the record is not in the log (never handed out, or before the
     *         log last forgot its partition)
     */
    Map<TopicPartition, Long> resumeAfter(TopicPartition partition, long offset) {
        // The oldest run that holds the id: after a seek back the same offsets may be in two runs,
        // and the client, which got the id from the first, has not got the later one (taking the
        // newest would skip what the seek asked for; the oldest can only repeat).
        Run found = null;
        for (Run r : runs) {
            if (r.partition.equals(partition) && r.first <= offset && offset <= r.last) {
                found = r;
                break;
            }
        }
        if (found == null) {
            return resumeAfterDropped(partition, offset);
        }
        Map<TopicPartition, Long> rewind = new LinkedHashMap<>();
        if (!found.moved && offset < found.last) {
            rewind.put(partition, offset + 1);
            found.last = offset;
        }
        while (runs.peekLast() != found) {
            Run later = runs.pollLast();
            if (later.moved) {
                continue; // its partition was moved since: where it is now stands
            }
            rewind.merge(later.partition, later.partition.equals(partition) && !found.moved ? offset + 1 : later.first,
                    Math::min);
        }
        return rewind;
    }

    /**
     * A resume after a record of a run dropped for room: what was handed out after it, of any
     * partition, may be in the runs dropped after it, which are no longer known one by one. So
     * every partition of the log starts again at the first offset it handed out since the log
     * last forgot it (dropped or kept), and the record's partition right after the record: some
     * records are handed out again, none is lost. The log starts anew. Null when the record is
     * not among what the dropped runs of its partition covered.
     */
    private Map<TopicPartition, Long> resumeAfterDropped(TopicPartition partition, long offset) {
        Span span = dropped.get(partition);
        if (span == null || offset < span.first()) {
            return null;
        }
        long last = span.last();
        for (Run r : runs) {
            if (!r.moved && r.partition.equals(partition)) {
                last = Math.max(last, r.last);
            }
        }
        if (offset > last) {
            return null; // never handed out
        }
        Map<TopicPartition, Long> rewind = new LinkedHashMap<>();
        dropped.forEach((tp, covered) -> rewind.put(tp, covered.first()));
        for (Run r : runs) {
            if (!r.moved) {
                rewind.merge(r.partition, r.first, Math::min);
            }
        }
        if (offset < last) {
            rewind.put(partition, offset + 1);
        } else {
            rewind.remove(partition); // nothing of it was handed out after the record
        }
        clear();
        return rewind;
    }
}
