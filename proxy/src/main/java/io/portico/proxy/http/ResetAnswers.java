package io.portico.proxy.http;

import io.portico.sessions.MemoryBudget;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What HTTP/2 streams reset with their answers not all sent keep queued in Undertow until their
 * connections close (Undertow frees a reset stream's queued frame only then), charged to a
 * budget of their own (a quarter of the responses budget's size, outside it: answers being sent
 * are not shortened by them), on every listener of the process together.
 *
 * <p>When the budget is full, room is made by closing a connection (which frees what its resets
 * left) of the client address (an IPv6 client's /64, as {@link Http#addressKey} groups them)
 * holding the most, if it holds more than the resetting connection's address would: the one of
 * its connections holding the most. The resetting connection is closed instead when its own
 * address holds the most, unless another of its connections holds more than it would. So a
 * client's resets close another client's connection only while that client holds more such
 * answers than it. Thread-safe.
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

    /** Charged to {@code budget}, a budget of their own; null: counted, within no bound. */
    public ResetAnswers(MemoryBudget budget) {
        this.budget = budget;
        this.max = budget == null ? Long.MAX_VALUE : budget.capacity();
    }

    /** What such answers are charged in all. */
    public synchronized long total() {
        return total;
    }

    /** The account of one connection from {@code address} (its client's, as grouped), closed by {@code close} to make room. */
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
                chosen.close.run(); // outside the lock: closing runs the connection's close listeners
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
