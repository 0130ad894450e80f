package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;

/**
 * Room in one read's response, taken record by record from the responses budget before the
 * record joins the response. The first record may wait briefly for room, and a read that cannot
 * have even one is a 503; later records are only taken while there is room, so a read returns
 * fewer records rather than holding more memory than the budget allows.
 *
 * @param lease the request's account with the responses budget (given back when the response is sent)
 * @param patience how long the first record may wait for room ({@code memory.wait.ms})
 */
public record ResponseRoom(MemoryBudget.Lease lease, Duration patience) {

    /** Room without bounds (unit tests and callers that do not render). */
    public static ResponseRoom unbounded() {
        return new ResponseRoom(MemoryBudget.unbounded("memory.responses.max.bytes").lease(), Duration.ZERO);
    }

    /** What a record of these key and value sizes costs in a response: base64 and JSON around it. */
    static long cost(long keyAndValueBytes) {
        return keyAndValueBytes * 4 / 3 + 128;
    }

    /**
     * Takes room for one more record.
     *
     * @param first whether the response has no record yet (it may wait, and must get room)
     * @return false when a later record does not fit (the response ends before it)
     * @throws RestException 503 when not even the first record finds room in time
     */
    boolean take(long keyAndValueBytes, boolean first) {
        long bytes = cost(keyAndValueBytes);
        if (!first) {
            return lease.tryTake(bytes);
        }
        if (lease.take(bytes, patience)) {
            return true;
        }
        if (!lease.budget().fits(bytes)) {
            // One record larger than the whole budget: it goes out alone rather than never.
            lease.takeAnyway(bytes);
            return true;
        }
        throw ErrorCode.SERVICE_UNAVAILABLE.exception("responses being sent fill the memory set aside for them ("
                + lease.budget().name() + "); retry later");
    }
}
