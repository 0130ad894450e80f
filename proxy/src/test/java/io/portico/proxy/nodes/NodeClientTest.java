package io.portico.proxy.nodes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.net.URI;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class NodeClientTest {

    @Test
    void aNodeUrlNotAskedForInAnHourIsDroppedWhileOneInUseStays() {
        AtomicLong nanos = new AtomicLong();
        Forwarding.NodeClient nodes = new Forwarding.NodeClient(null, 1, 0, org.xnio.OptionMap.EMPTY, nanos::get);
        URI gone = URI.create("http://10.0.0.1:8082");
        URI kept = URI.create("http://10.0.0.2:8082");
        var keptClient = nodes.client(kept);
        nodes.client(gone);
        assertEquals(Set.of(gone, kept), nodes.urls());

        nanos.addAndGet(Forwarding.NodeClient.IDLE.toNanos() / 2);
        assertSame(keptClient, nodes.client(kept), "one client per node while it is asked for");
        nanos.addAndGet(Forwarding.NodeClient.IDLE.toNanos() / 2 + 1);
        assertEquals(Set.of(kept), nodes.urls(), "the node no longer asked for (a restarted pod's old URL) is dropped");

        nanos.addAndGet(Forwarding.NodeClient.IDLE.toNanos() + 1);
        assertEquals(Set.of(), nodes.urls());
        nodes.client(gone);
        assertEquals(Set.of(gone), nodes.urls(), "asked for again, made again");
    }
}
