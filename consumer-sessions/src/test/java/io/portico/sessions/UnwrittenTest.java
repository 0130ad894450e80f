package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ConsumedRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class UnwrittenTest {
    private static final TopicPartition T0 = new TopicPartition("t", 0);
    private static final TopicPartition T1 = new TopicPartition("t", 1);

    private static ConsumedRecord r(int partition, long offset) {
        return new ConsumedRecord("t", null, new byte[1], partition, offset, 0L, List.of());
    }

    @Test
    void writtenBatchesCountAsReturnedInOrderAndTheRestStayUnwritten() {
        Unwritten u = new Unwritten();
        u.add(1, List.of(r(0, 0), r(1, 7), r(0, 1)));
        u.add(2, List.of(r(0, 2), r(1, 8)));
        u.add(3, List.of()); // nothing handed out: no batch
        u.add(4, List.of(r(1, 9)));
        assertEquals(Map.of(T0, 0L, T1, 7L), u.firsts());

        Map<TopicPartition, Long> returned = new HashMap<>();
        List<String> told = new ArrayList<>();
        u.written(2, (tp, last) -> {
            told.add(tp.partition() + "/" + last);
            returned.merge(tp, last, Math::max);
        });
        assertEquals(Map.of(T0, 2L, T1, 8L), returned);
        assertEquals(4, told.size(), "each partition of each batch written");
        assertEquals(Map.of(T1, 9L), u.firsts());

        u.written(2, (tp, last) -> told.add("again"));
        assertEquals(4, told.size(), "a batch counts once");
    }

    @Test
    void aPartitionForgottenIsNeitherReturnedNorMovedBackAndABatchOfOnlyItGoes() {
        Unwritten u = new Unwritten();
        u.add(1, List.of(r(0, 5), r(1, 3)));
        u.add(2, List.of(r(0, 6)));
        u.forget(List.of(T0));
        assertEquals(Map.of(T1, 3L), u.firsts());
        Map<TopicPartition, Long> returned = new HashMap<>();
        u.written(2, returned::put);
        assertEquals(Map.of(T1, 3L), returned, "the sought partition is where the seek put it");
        assertTrue(u.isEmpty());
        u.clear();
        assertTrue(u.isEmpty());
    }

    @Test
    void aRevokedPartitionGivenBackGoesOnAfterWhatWasHandedOutAndOneGoneIsForgotten() {
        Unwritten u = new Unwritten();
        u.add(1, List.of(r(0, 5), r(1, 3)));
        u.add(2, List.of(r(0, 6), r(0, 7)));
        u.revoked(List.of(T0, T1));
        Map<TopicPartition, Long> returned = new HashMap<>();
        u.written(1, returned::put); // the batch in flight is written during the join
        assertEquals(Map.of(), returned, "not returned while revoked: the partition may go to another member");
        assertEquals(Map.of(T0, 5L, T1, 3L), u.writtenWhileRevoked());
        assertEquals(Map.of(T0, 8L), u.assigned(List.of(T0), returned::put), "t-0 back: on after 7");
        assertEquals(Map.of(T0, 5L), returned, "what was written of t-0 counts once it is back; t-1's never");
        assertEquals(Map.of(T0, 6L), u.firsts(), "t-1 went elsewhere: forgotten");
        assertEquals(Map.of(), u.assigned(List.of(T0, T1), returned::put), "one rebalance's revocations are answered once");
    }
}
