package io.portico.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.management.JMX;
import javax.management.MBeanServerConnection;
import javax.management.Notification;
import javax.management.NotificationListener;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import jdk.management.jfr.FlightRecorderMXBean;

/**
 * A look inside the Portico JVM without changing its command line: attaches (the JDK's Attach
 * API), starts its local JMX agent, and then reads heap use, follows every garbage collection
 * (the heap just before a collection is its peak) and, when profiling, starts and stops JFR
 * recordings. Cheap enough to sample every 100 ms.
 */
public final class JvmProbe implements AutoCloseable {
    private final JMXConnector connector;
    private final MemoryMXBean memory;
    private final List<GarbageCollectorMXBean> collectors = new ArrayList<>();
    private final Set<String> heapPools = new HashSet<>();
    private final MBeanServerConnection connection;
    private long peakBeforeGc;
    private long peakAfterGc;
    private long peakSampled;

    private JvmProbe(JMXConnector connector) throws IOException {
        this.connector = connector;
        this.connection = connector.getMBeanServerConnection();
        this.memory = ManagementFactory.newPlatformMXBeanProxy(connection, ManagementFactory.MEMORY_MXBEAN_NAME,
                MemoryMXBean.class);
        try {
            for (ObjectName pool : connection.queryNames(new ObjectName("java.lang:type=MemoryPool,*"), null)) {
                MemoryPoolMXBean bean = ManagementFactory.newPlatformMXBeanProxy(connection, pool.toString(),
                        MemoryPoolMXBean.class);
                if (bean.getType() == MemoryType.HEAP) {
                    heapPools.add(bean.getName());
                }
            }
            NotificationListener listener = this::onGc;
            for (ObjectName gc : connection.queryNames(new ObjectName("java.lang:type=GarbageCollector,*"), null)) {
                collectors.add(ManagementFactory.newPlatformMXBeanProxy(connection, gc.toString(),
                        GarbageCollectorMXBean.class));
                connection.addNotificationListener(gc, listener, null, null);
            }
        } catch (javax.management.JMException e) {
            throw new IOException(e);
        }
    }

    /** Attaches to the JVM of {@code pid}. */
    public static JvmProbe attach(long pid) throws IOException {
        String url;
        try {
            VirtualMachine vm = VirtualMachine.attach(String.valueOf(pid));
            try {
                url = vm.startLocalManagementAgent();
            } finally {
                vm.detach();
            }
        } catch (com.sun.tools.attach.AttachNotSupportedException e) {
            throw new IOException("cannot attach to " + pid + ": " + e.getMessage(), e);
        }
        return new JvmProbe(JMXConnectorFactory.connect(new JMXServiceURL(url)));
    }

    private void onGc(Notification n, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
            return;
        }
        GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
        long before = heapSum(info.getGcInfo().getMemoryUsageBeforeGc());
        long after = heapSum(info.getGcInfo().getMemoryUsageAfterGc());
        synchronized (this) {
            peakBeforeGc = Math.max(peakBeforeGc, before);
            peakAfterGc = Math.max(peakAfterGc, after);
        }
    }

    private long heapSum(Map<String, MemoryUsage> pools) {
        long sum = 0;
        for (Map.Entry<String, MemoryUsage> e : pools.entrySet()) {
            if (heapPools.contains(e.getKey())) {
                sum += e.getValue().getUsed();
            }
        }
        return sum;
    }

    /** Samples the heap in use now (call it periodically). */
    public void sample() {
        try {
            long used = memory.getHeapMemoryUsage().getUsed();
            synchronized (this) {
                peakSampled = Math.max(peakSampled, used);
            }
        } catch (RuntimeException e) {
            // the JVM is going away; the row will notice
        }
    }

    /**
     * The heap ceiling ({@code -Xmx}, the JVM's {@code MaxHeapSize}), which Portico takes its
     * memory budgets as shares of; the heap's own maximum when the JVM does not name it (under
     * ParallelGC that maximum leaves out a survivor space).
     */
    public long heapMax() {
        try {
            com.sun.management.HotSpotDiagnosticMXBean hotSpot = ManagementFactory.newPlatformMXBeanProxy(connection,
                    "com.sun.management:type=HotSpotDiagnostic", com.sun.management.HotSpotDiagnosticMXBean.class);
            return Long.parseLong(hotSpot.getVMOption("MaxHeapSize").getValue());
        } catch (IOException | RuntimeException e) {
            return memory.getHeapMemoryUsage().getMax();
        }
    }

    /** Starts a new window for {@link #peaks()}. */
    public synchronized void resetPeaks() {
        peakBeforeGc = 0;
        peakAfterGc = 0;
        peakSampled = 0;
    }

    /** Heap peaks since {@link #resetPeaks()}, in bytes. */
    public synchronized HeapPeaks peaks() {
        return new HeapPeaks(Math.max(peakBeforeGc, peakSampled), peakAfterGc);
    }

    /**
     * @param used the most heap in use at once (before a collection, or sampled)
     * @param afterGc the most heap left after a collection: the live set plus what survived young
     */
    public record HeapPeaks(long used, long afterGc) {
    }

    /** Collections so far and the total time they took, over all collectors. */
    public GcTotals gcTotals() {
        long count = 0;
        long millis = 0;
        for (GarbageCollectorMXBean gc : collectors) {
            count += Math.max(0, gc.getCollectionCount());
            millis += Math.max(0, gc.getCollectionTime());
        }
        return new GcTotals(count, millis);
    }

    public record GcTotals(long count, long millis) {
    }

    /** Starts a JFR recording with the JDK's "profile" settings; returns its id. */
    public long startRecording(String name) throws IOException {
        FlightRecorderMXBean jfr = flightRecorder();
        long id = jfr.newRecording();
        jfr.setRecordingOptions(id, Map.of("name", name));
        jfr.setPredefinedConfiguration(id, "profile");
        jfr.startRecording(id);
        return id;
    }

    /** Stops the recording and writes it to {@code file} (the JVM writes it: same machine). */
    public void stopRecording(long id, Path file) throws IOException {
        FlightRecorderMXBean jfr = flightRecorder();
        jfr.stopRecording(id);
        jfr.copyTo(id, file.toAbsolutePath().toString());
        jfr.closeRecording(id);
    }

    private FlightRecorderMXBean flightRecorder() throws IOException {
        try {
            return JMX.newMXBeanProxy(connection, new ObjectName(FlightRecorderMXBean.MXBEAN_NAME),
                    FlightRecorderMXBean.class);
        } catch (javax.management.MalformedObjectNameException e) {
            throw new IOException(e);
        }
    }

    @Override
    public void close() {
        try {
            connector.close();
        } catch (IOException ignored) {
            // the JVM went away first
        }
    }
}
