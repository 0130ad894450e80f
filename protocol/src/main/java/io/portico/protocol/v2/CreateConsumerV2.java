package io.portico.protocol.v2;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.CreateConsumerRequest;
import io.portico.protocol.ErrorCode;

/**
 * {@code POST /consumers/{group}} in v2: v1's fields, {@code auto.commit.enable} defaulting to
 * Kafka's (on), and per instance {@code fetch.min.bytes} (-1..10000000; -1 or absent: answer as
 * soon as records are there) and {@code consumer.request.timeout.ms} (how long a read waits), as
 * strings or numbers. A value out of range is 422/40001, as Confluent answers. The other names
 * Confluent's proxy takes for them ({@code autoOffsetReset}, {@code autoCommitEnable},
 * {@code responseMinBytes}, {@code requestWaitMs}) are taken too.
 */
public record CreateConsumerV2(
        @JsonProperty("name") String name,
        @JsonProperty("id") String id,
        @JsonProperty("format") String format,
        @JsonProperty("auto.offset.reset") @JsonAlias("autoOffsetReset") String autoOffsetReset,
        @JsonProperty("auto.commit.enable") @JsonAlias("autoCommitEnable") String autoCommitEnable,
        @JsonProperty("fetch.min.bytes") @JsonAlias("responseMinBytes") String fetchMinBytesText,
        @JsonProperty("consumer.request.timeout.ms") @JsonAlias("requestWaitMs") String requestTimeoutText) {

    public static final CreateConsumerV2 DEFAULTS = new CreateConsumerV2(null, null, null, null, null, null, null);

    /** The fields v1 has, validated as v1 validates them. */
    public CreateConsumerRequest common() {
        return new CreateConsumerRequest(name, id, format, autoOffsetReset, autoCommitEnable);
    }

    /** Whether returned records are committed without an explicit commit; Kafka's default (true) when not given. */
    public boolean autoCommit() {
        return autoCommitEnable == null || common().autoCommit();
    }

    /** {@code fetch.min.bytes}, or -1 when not given. */
    public int fetchMinBytes() {
        return bounded("fetch.min.bytes", fetchMinBytesText, -1, 10_000_000, -1);
    }

    /** {@code consumer.request.timeout.ms}, or -1 when not given (the server's default applies). */
    public int requestTimeoutMs() {
        return bounded("consumer.request.timeout.ms", requestTimeoutText, 0, 3_600_000, -1);
    }

    private static int bounded(String name, String value, int min, int max, int absent) {
        if (value == null || value.isBlank()) {
            return absent;
        }
        long parsed;
        try {
            parsed = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw ErrorCode.INVALID_CONSUMER_CONFIG_CONSTRAINT.exception(name + " must be a whole number");
        }
        if (parsed < min || parsed > max) {
            throw ErrorCode.INVALID_CONSUMER_CONFIG_CONSTRAINT.exception(name + " must be between " + min + " and " + max);
        }
        return (int) parsed;
    }
}
