package io.portico.sessions;

import java.util.concurrent.Executor;

/**
 * An executor whose tasks run on another's threads ({@link #pool()}): a caller's share of a
 * bounded pool, say. What looks at the pool's queue (whether other work waits) looks at that one.
 */
public interface OnPool extends Executor {
    /** The executor whose threads run the tasks. */
    Executor pool();

    /**
     * A task refused for its caller's share of the pool, not because the pool is full: the
     * message says whose share and which settings (a read refused so answers 429 with it).
     */
    final class ShareFull extends java.util.concurrent.RejectedExecutionException {
        private static final long serialVersionUID = 1L;

        public ShareFull(String message) {
            super(message);
        }
    }
}
