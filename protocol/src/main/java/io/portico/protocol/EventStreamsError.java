package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * An error of the records endpoint, in IBM Event Streams' schema: the HTTP status as
 * {@code error_code}, and the same again nested under {@code error} with the Kafka error code and
 * topic when there are any, and the schema when the error is about the one the request named. It is also a valid Portico error body ({@code error_code}, {@code message}).
 */
public record EventStreamsError(
        @JsonProperty("error_code") int errorCode,
        @JsonProperty("message") String message,
        @JsonProperty("error") Detail error) {

    /** The nested error object. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Detail(
            @JsonProperty("error_code") int errorCode,
            @JsonProperty("message") String message,
            @JsonProperty("kafka_error_code") Integer kafkaErrorCode,
            @JsonProperty("topic") String topic,
            @JsonProperty("schema") String schema) {
    }

    public static EventStreamsError of(int status, String message, Integer kafkaErrorCode, String topic) {
        return of(status, message, kafkaErrorCode, topic, null);
    }

    /** As above, naming the schema involved ({@code schemaname}) when the error is about it. */
    public static EventStreamsError of(int status, String message, Integer kafkaErrorCode, String topic, String schema) {
        return new EventStreamsError(status, message, new Detail(status, message, kafkaErrorCode, topic, schema));
    }
}
