package io.portico.proxy.http;

import io.portico.sessions.MemoryBudget;
import java.util.HashSet;
import java.util.Set;

/**
 * What HTTP/2 streams reset with their answers not all sent keep queued in Undertow until their
 * connections close (Undertow frees a reset stream's queued frame only then), charged to the
 * responses budget, on every listener of the process together.
 *
 * <p>Such answers may take a quarter of the budget in all. They are charged even when answers
 * being sent fill the rest (the budget then goes over by what they hold, and reads shrink), so a
 * stalled stream is not refused its reset because reads are busy. When the quarter is full, the
 * connection holding the most such answers is closed (which frees them) to make room, or the
 * resetting one when none holds more than it: a client stalling streams on many connections loses
 * its own connections, not others' multiplexed ones. Thread-safe.
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

    /** Charged to {@code budget}, within a quarter of it; null: counted, within no bound. */
    public ResetAnswers(MemoryBudget budget) {
        this.budget = budget;
        this.max = budget == null ? Long.MAX_VALUE : budget.capacity() / 4;
    }

    /** What such answers are charged in all. */
    public synchronized long total() {
        return total;
    }

    /** The account of one connection, closed by {@code close} to make room. */
    Holder holder(Runnable close) {
        return new Holder(close);
    }

    /** One connection's charge. */
    final class Holder {
        private final Runnable close;
        private long charged; // guarded by the ResetAnswers
        private boolean released; // guarded by the ResetAnswers

        private Holder(Runnable close) {
            this.close = close;
        }

        /**
         * Charges one reset stream's queued answer, first closing the connection holding the most
         * when the quarter is full (if it would still hold more than this one); false (nothing
         * charged) when none does, or this one closed meanwhile: then it is to be closed.
         */
        boolean charge() {
            for (int attempt = 0; attempt < 4; attempt++) {
                Holder most;
                synchronized (ResetAnswers.this) {
                    if (released) {
                        return false;
                    }
                    if (total + HELD_BYTES <= max) {
                        total += HELD_BYTES;
                        charged += HELD_BYTES;
                        holders.add(this);
                        if (budget != null) {
                            budget.takeAnyway(HELD_BYTES);
                        }
                        return true;
                    }
                    most = null;
                    for (Holder h : holders) {
                        if (h != this && h.charged > charged + HELD_BYTES && (most == null || h.charged > most.charged)) {
                            most = h;
                        }
                    }
                    if (most == null) {
                        return false;
                    }
                    most.release(); // its charge goes now: its connection closes just below
                }
                most.close.run(); // outside the lock: closing runs the connection's close listeners (on its IO thread)
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
                    charged = 0;
                }
            }
        }
    }
}
