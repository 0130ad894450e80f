package io.portico.sessions;

import java.util.concurrent.Executor;

/**
 * An executor whose tasks run on another's threads ({@link #pool()}): a caller's share of a
 * bounded pool, say. What looks at the pool's queue (whether other work waits) looks at that one.
 */
public interface OnPool extends Executor {
    /** The executor whose threads run the tasks. */
    Executor pool();
}
