package io.portico.proxy.http;

import io.portico.sessions.MemoryBudget;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What HTTP/2 streams reset with their answers not all sent keep queued in Undertow until their
 * connections close (Undertow frees a reset stream's queued frame only then), charged to the
 * responses budget, on every listener of the process together.
 *
 * <p>Such answers may take a quarter of the budget in all. They are charged even when answers
 * being sent fill the rest (the budget then goes over by what they hold, and reads shrink), so a
 * stalled stream is not refused its reset because reads are busy. When the quarter is full, room
 * is made by closing a connection (which frees what its resets left) of the client address that
 * holds the most, the one of its connections that holds the most: a client stalling streams on
 * many connections, many to a connection or few, loses its own connections, not another
 * client's (a multiplexing proxy's) connection. The resetting connection is closed instead when
 * its own address holds the most and none of its other connections holds more than it would.
 * Thread-safe.
 */
public final class ResetAnswers {
    /**
     * What one reset stream's queued answer is charged: its frame waiting for a flow-control
     * window holds one of Undertow's 16 KiB buffers, one waiting for the socket a header buffer
     * too; 32 KiB is the most.
     */
    public static final long HELD_BYTES = 32 * 1024;

    private final MemoryBudget budget;
    private final long max;
    private long total; // guarded by this
    private final Set<Holder> holders = new HashSet<>(); // those charged something, guarded by this
    private final Map<Object, Long> byAddress = new HashMap<>(); // what they are charged, guarded by this

    /** Charged to {@code budget}, within a quarter of it; null: counted, within no bound. */
    public ResetAnswers(MemoryBudget budget) {
        this.budget = budget;
        this.max = budget == null ? Long.MAX_VALUE : budget.capacity() / 4;
    }

    /** What such answers are charged in all. */
    public synchronized long total() {
        return total;
    }

    /** The account of one connection from {@code address} (its client's), closed by {@code close} to make room. */
    Holder holder(Object address, Runnable close) {
        return new Holder(address, close);
    }

    /**
     * The holder to close to make room for {@code resetting}'s charge, or null when it is to be
     * closed itself: the address holding the most, when that is another holding more than
     * {@code resetting}'s would after the charge, its connection holding the most; else, of
     * {@code resetting}'s own address, a connection holding more than it would after the charge.
     */
    private Holder toClose(Holder resetting) {
        long mine = byAddress.getOrDefault(resetting.address, 0L);
        Object top = null;
        long most = mine + HELD_BYTES;
        for (Map.Entry<Object, Long> e : byAddress.entrySet()) {
            if (!e.getKey().equals(resetting.address) && e.getValue() > most) {
                top = e.getKey();
                most = e.getValue();
            }
        }
        Holder chosen = null;
        for (Holder h : holders) {
            boolean candidate = top != null ? h.address.equals(top)
                    : h != resetting && h.address.equals(resetting.address) && h.charged > resetting.charged + HELD_BYTES;
            if (candidate && (chosen == null || h.charged > chosen.charged)) {
                chosen = h;
            }
        }
        return chosen;
    }

    /** One connection's charge. */
    final class Holder {
        private final Object address;
        private final Runnable close;
        private long charged; // guarded by the ResetAnswers
        private boolean released; // guarded by the ResetAnswers

        private Holder(Object address, Runnable close) {
            this.address = address;
            this.close = close;
        }

        /**
         * Charges one reset stream's queued answer, first closing a connection to make room when
         * the quarter is full (see {@link ResetAnswers}); false (nothing charged) when this
         * connection is to be closed instead, or closed meanwhile.
         */
        boolean charge() {
            for (int attempt = 0; attempt < 4; attempt++) {
                Holder chosen;
                synchronized (ResetAnswers.this) {
                    if (released) {
                        return false;
                    }
                    if (total + HELD_BYTES <= max) {
                        total += HELD_BYTES;
                        charged += HELD_BYTES;
                        holders.add(this);
                        byAddress.merge(address, HELD_BYTES, Long::sum);
                        if (budget != null) {
                            budget.takeAnyway(HELD_BYTES);
                        }
                        return true;
                    }
                    chosen = toClose(this);
                    if (chosen == null) {
                        return false;
                    }
                    chosen.release(); // its charge goes now: its connection closes just below
                }
                chosen.close.run(); // outside the lock: closing runs the connection's close listeners (on its IO thread)
            }
            return false;
        }

        /** The connection closed: what its reset streams held is freed, and given back (once). */
        void release() {
            synchronized (ResetAnswers.this) {
                released = true;
                if (charged > 0) {
                    total -= charged;
                    if (budget != null) {
                        budget.give(charged);
                    }
                    holders.remove(this);
                    long left = byAddress.get(address) - charged;
                    if (left > 0) {
                        byAddress.put(address, left);
                    } else {
                        byAddress.remove(address);
                    }
                    charged = 0;
                }
            }
        }
    }
}
