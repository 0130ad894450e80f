package io.portico.protocol.v3;

/**
 * Why one record of a v3 produce was not produced, as its delivery report says:
 * {@code {"error_code":…,"message":…}}. Codes are Confluent's in-stream codes: 400 for a record
 * that is not well-formed, 404 / 40401 / 40402 for a missing topic or partition, 408 for a stream
 * past its time, 413 for a record over the size limit, 422 for what needs a schema registry,
 * 50002 / 50003 for Kafka's errors.
 */
public record RecordError(int errorCode, String message) {

    /** 400 with Confluent's {@code "Bad Request: "} prefix. */
    public static RecordError badRequest(String detail) {
        return new RecordError(400, "Bad Request: " + detail);
    }
}
