package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;

/**
 * Room in one read's response, taken record by record from the responses budget before the
 * record joins the response. The first record may wait briefly for room, and a read that cannot
 * have even one is a 503; later records are only taken while there is room, so a read returns
 * fewer records rather than holding more memory than the budget allows. An event stream's batch
 * ({@link #forStream}) neither waits nor fails: it has no record, and the stream fetches again
 * once there is room.
 * Used by one thread at a time (the read's); the lease is given back when the response is sent.
 */
public final class ResponseRoom {
    /** Room is taken from the budget in blocks of at least this much, so the shared count is touched rarely. */
    private static final long BLOCK = 64 * 1024;

    private final MemoryBudget.Lease lease;
    private final Duration patience;
    private final boolean streaming; // a first record without room is left where it is, not a 503
    private long credit; // room taken from the budget and not yet used (one reading thread at a time)
    private boolean full; // a first record found no room (streaming only)
    private long ownerWanted; // ... because its owner holds its share: the room it wanted (streaming only)

    public ResponseRoom(MemoryBudget.Lease lease, Duration patience) {
        this(lease, patience, false);
    }

    private ResponseRoom(MemoryBudget.Lease lease, Duration patience, boolean streaming) {
        this.lease = lease;
        this.patience = patience;
        this.streaming = streaming;
    }

    /**
     * Room for one batch of an event stream: when the budget has no room for even its first
     * record, the record does not go in ({@link #take} is false, the batch has no record and the
     * record stays first in line), nothing waits and nothing fails, and {@link #wasFull} says so:
     * the stream fetches again a little later, for as long as the budget stays full. A record
     * larger than the whole budget still goes out alone.
     */
    public static ResponseRoom forStream(MemoryBudget.Lease lease) {
        return new ResponseRoom(lease, Duration.ZERO, true);
    }

    /** Whether a first record was left out for want of room (only a {@linkplain #forStream stream's} does that). */
    public boolean wasFull() {
        return full;
    }

    /**
     * The room the record left out wanted, when it was left out because the lease's owner (an API
     * key) holds its share of the budget (room the owner's other things must give back, unlike a
     * budget full of everyone's); else 0.
     */
    public long ownerWanted() {
        return ownerWanted;
    }

    /** Room without bounds (unit tests and callers that do not render). */
    public static ResponseRoom unbounded() {
        return new ResponseRoom(MemoryBudget.unbounded("memory.responses.max.bytes").lease(), Duration.ZERO);
    }

    /**
     * What a record of these key and value sizes costs while its response is built and sent: the
     * bytes themselves (no longer counted as held), their rendering (base64 is 4/3; json text
     * passes through a String and a builder) and the JSON around them.
     */
    static long cost(long keyAndValueBytes) {
        return keyAndValueBytes * 3 + 128;
    }

    /**
     * Takes room for a record grown after its room was taken (decoded into text longer than its
     * bytes): {@code from} key and value bytes became {@code to}. False when the difference does
     * not fit now (the response then ends before the record). Never waits.
     */
    public boolean grow(long from, long to) {
        long more = cost(to) - cost(from);
        if (more <= 0) {
            return true;
        }
        if (credit >= more) {
            credit -= more;
            return true;
        }
        if (lease.tryTake(more - credit)) {
            credit = 0;
            return true;
        }
        return false;
    }

    /**
     * Gives the room of a record taken but left out of the response (a record before it grew) to
     * the records kept: {@link #grow} takes from it first.
     */
    public void drop(long keyAndValueBytes) {
        credit += cost(keyAndValueBytes);
    }

    /**
     * As {@link #grow} for the response's first record, which must have its room (see
     * {@link #firstRoom}).
     *
     * @throws RestException 503 when the budget has no room for it in time
     */
    public void growFirst(long from, long to) {
        long needed = cost(to) - cost(from) - credit;
        if (!grow(from, to) && !firstRoom(needed, cost(to))) {
            throw full(needed);
        }
    }

    /**
     * Takes room for one more record.
     *
     * @param first whether the response has no record yet (it may wait, and must get room)
     * @return false when a later record does not fit (the response ends before it), or, for a
     *         {@linkplain #forStream stream}, when the first does not either
     * @throws RestException 503 when not even the first record finds room in time (never for a stream)
     */
    public boolean take(long keyAndValueBytes, boolean first) {
        long bytes = cost(keyAndValueBytes);
        if (credit >= bytes) {
            credit -= bytes;
            return true;
        }
        long block = Math.max(BLOCK, bytes - credit);
        if (lease.tryTake(block)) {
            credit += block - bytes;
            return true;
        }
        if (lease.tryTake(bytes - credit)) {
            credit = 0;
            return true;
        }
        if (!first) {
            return false;
        }
        if (firstRoom(bytes - credit, bytes)) {
            return true;
        }
        if (streaming) {
            full = true;
            // The owner's share, not everyone's: the budget itself has the room.
            ownerWanted = lease.ownerFull(bytes - credit) && lease.budget().hasRoomFor(bytes - credit) ? bytes - credit : 0;
            return false;
        }
        throw full(bytes - credit);
    }

    /**
     * Room for a response's first record, which must have it: {@code needed} more, the record
     * costing {@code whole} in all. A record larger than the whole budget takes it at once (it
     * goes out alone rather than never: no wait would make room for it); any other waits up to
     * the patience. False when none came in time.
     */
    private boolean firstRoom(long needed, long whole) {
        if (!lease.budget().fits(whole)) {
            lease.takeAnyway(needed);
        } else if (!lease.take(needed, patience)) {
            return false;
        }
        credit = 0;
        return true;
    }

    private RestException full(long needed) {
        if (lease.ownerFull(needed)) {
            return lease.budget().ownerShareFull();
        }
        return ErrorCode.SERVICE_UNAVAILABLE.exception("responses being sent fill the memory set aside for them ("
                + lease.budget().name() + "); retry later");
    }
}
