package io.portico.sessions;

import io.portico.protocol.ConsumedRecord;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * What an instance's stream handed out, in order, so that a client reconnecting with the id of
 * the last record it received resumes right after it on every partition: records written after
 * that one may never have reached it, and they are read again.
 *
 * <p>Kept as runs (consecutive records of one partition), a bounded number of the latest: a
 * record older than the log is not known, and resuming after it moves nothing. A seek forgets
 * the runs of the partitions it moves (a resume never undoes it). Not thread-safe: the instance's
 * lock guards it.
 */
final class DeliveryLog {
    /** Runs kept at most (a run is a few dozen bytes; a stream of one partition has one). */
    static final int MAX_RUNS = 1024;

    private static final class Run {
        final TopicPartition partition;
        final long first;
        long last;

        Run(TopicPartition partition, long first, long last) {
            this.partition = partition;
            this.first = first;
            this.last = last;
        }
    }

    private final ArrayDeque<Run> runs = new ArrayDeque<>();

    /** Notes records handed out, in the order they were. */
    void add(Collection<ConsumedRecord> records) {
        for (ConsumedRecord r : records) {
            Run tail = runs.peekLast();
            if (tail != null && tail.partition.partition() == r.partition() && tail.partition.topic().equals(r.topic())
                    && r.offset() > tail.last) {
                tail.last = r.offset();
                continue;
            }
            runs.addLast(new Run(new TopicPartition(r.topic(), r.partition()), r.offset(), r.offset()));
            if (runs.size() > MAX_RUNS) {
                runs.pollFirst();
            }
        }
    }

    /** Forgets what was handed out of {@code partitions} (sought, or no longer the instance's). */
    void forget(Collection<TopicPartition> partitions) {
        runs.removeIf(r -> partitions.contains(r.partition));
    }

    void clear() {
        runs.clear();
    }

    /**
     * Where each partition must start again for a client that received everything up to and
     * including {@code offset} of {@code partition} and nothing handed out after it; what follows
     * that record is forgotten (it will be handed out again).
     *
     * @return the offset to seek each partition to (empty when nothing was handed out after the
     *         record), or null when the record is not in the log
     */
    Map<TopicPartition, Long> resumeAfter(TopicPartition partition, long offset) {
        Run found = null;
        for (Iterator<Run> it = runs.descendingIterator(); it.hasNext(); ) {
            Run r = it.next();
            if (r.partition.equals(partition) && r.first <= offset && offset <= r.last) {
                found = r;
                break;
            }
        }
        if (found == null) {
            return null;
        }
        Map<TopicPartition, Long> rewind = new LinkedHashMap<>();
        if (offset < found.last) {
            rewind.put(partition, offset + 1);
            found.last = offset;
        }
        while (runs.peekLast() != found) {
            Run later = runs.pollLast();
            rewind.merge(later.partition, later.partition.equals(partition) ? offset + 1 : later.first, Math::min);
        }
        return rewind;
    }
}
