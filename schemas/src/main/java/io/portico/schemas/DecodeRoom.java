package io.portico.schemas;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Room for the JSON that stored records are decoded into at once (avro and protobuf reads): a
 * record of a few bytes may stand for up to {@link ParsedSchema#MAX_JSON_BYTES} of JSON (an array
 * of long enum symbols, empty messages of many fields), built before the read's response budget
 * sees it, on any of the read pools' threads at once. Each decode grows its first
 * {@link #FREE_BYTES} without asking; past that it takes room here as it grows, waits a little
 * when there is none, and then fails the read with 503 (retriable) rather than fill the heap every
 * client shares. One decode larger than all the room goes on alone once it has it all; decodes of
 * many MiB each, which grow while holding what they took, take turns (one may get the 503).
 */
final class DecodeRoom {
    /** What a decode grows without asking (most records' JSON). */
    static final long FREE_BYTES = 256 * 1024;
    private static final long UNIT = 64 * 1024;
    /** How long a decode waits for room before its read is refused. */
    private static final long WAIT_MS = 1_000;

    /** Units of room: 10% of the heap, at least 32 MiB (so 32 MiB on the 256 MiB heap as shipped). */
    static final int UNITS = (int) Math.max(512, Runtime.getRuntime().maxMemory() / 10 / UNIT);

    private static final Semaphore ROOM = new Semaphore(UNITS, true);

    /** A quarter of the room, in bytes a decode may {@link #need} (past what it grows freely). */
    static final long QUARTER_BYTES = FREE_BYTES + UNITS / 4 * UNIT;

    private final Semaphore room;
    private final int max;
    private int held; // units this decode holds

    private DecodeRoom(Semaphore room, int max) {
        this.room = room;
        this.max = max;
    }

    /** A decode's account of the shared room; {@link #close} it when the decode is done. */
    static DecodeRoom open() {
        return new DecodeRoom(ROOM, UNITS);
    }

    /** As {@link #open()}, of {@code room}, which holds {@code max} units at most (tests). */
    static DecodeRoom open(Semaphore room, int max) {
        return new DecodeRoom(room, max);
    }

    /**
     * The decode now takes {@code bytes} in all: takes the room past {@link #FREE_BYTES} it does
     * not hold yet.
     *
     * @throws RestException 503 when none is free in time
     */
    void need(long bytes) {
        if (bytes <= FREE_BYTES) {
            return;
        }
        int units = (int) Math.min(max, (bytes - FREE_BYTES + UNIT - 1) / UNIT);
        if (units <= held) {
            return;
        }
        int more = units - held;
        // Room that is free now is taken at once, ahead of a decode waiting for more than is free:
        // an outsized decode waits (and may be refused) rather than every small one behind it.
        boolean taken = room.tryAcquire(more);
        try {
            taken = taken || room.tryAcquire(more, WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            taken = false;
        }
        if (!taken) {
            throw ErrorCode.SERVICE_UNAVAILABLE.exception("records being decoded at once fill the memory set aside "
                    + "for their JSON; retry");
        }
        held = units;
    }

    /** Gives back what the decode held. */
    void close() {
        if (held > 0) {
            room.release(held);
            held = 0;
        }
    }

    /** The room free now (tests). */
    static int available() {
        return ROOM.availablePermits();
    }
}
