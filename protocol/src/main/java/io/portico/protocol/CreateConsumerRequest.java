package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Locale;

/**
 * {@code POST /consumers/{group}}: every field optional, an empty body means all defaults.
 * {@code id} is the deprecated spelling of {@code name} and wins over it, as in Confluent 2.0.
 * {@code auto.offset.reset} takes Kafka's names and the old consumer's {@code smallest} /
 * {@code largest}; {@code auto.commit.enable} is a string {@code "true"}/{@code "false"}
 * (a JSON boolean is accepted too).
 */
public record CreateConsumerRequest(
        @JsonProperty("name") String name,
        @JsonProperty("id") String id,
        @JsonProperty("format") String format,
        @JsonProperty("auto.offset.reset") String autoOffsetReset,
        @JsonProperty("auto.commit.enable") String autoCommitEnable) {

    /** The longest instance name taken. */
    public static final int NAME_MAX_LENGTH = 255;

    public static final CreateConsumerRequest DEFAULTS = new CreateConsumerRequest(null, null, null, null, null);

    /** The instance name asked for ({@code id} over {@code name}), or null to generate one. */
    public String instanceName() {
        String chosen = id != null && !id.isBlank() ? id : name;
        if (chosen == null || chosen.isBlank()) {
            return null;
        }
        // Any name its URLs can carry (percent-encoded), as Confluent takes, within 255 characters
        // and without control characters, as consumer group names; not '/', '\\' or '?' (the
        // server reads a path's separator, or the start of its query, in them however encoded),
        // '.' or '..' alone (a path's dot segments, refused on every route).
        if (chosen.length() > NAME_MAX_LENGTH) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception(
                    "Invalid consumer name: at most " + NAME_MAX_LENGTH + " characters");
        }
        if (chosen.indexOf('/') >= 0 || chosen.indexOf('\\') >= 0 || chosen.indexOf('?') >= 0
                || chosen.equals(".") || chosen.equals("..")) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Invalid consumer name: '/', '\\' and '?' are not "
                    + "allowed, nor '.' or '..' alone (its URL could not name it)");
        }
        for (int i = 0; i < chosen.length(); i++) {
            char c = chosen.charAt(i);
            if (Character.isISOControl(c)) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Invalid consumer name: control characters are not allowed");
            }
            // Half of a surrogate pair alone is no character: its URL would name another instance.
            if (Character.isHighSurrogate(c) && i + 1 < chosen.length() && Character.isLowSurrogate(chosen.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Invalid consumer name: it is not valid Unicode "
                        + "(half of a surrogate pair)");
            }
        }
        return chosen;
    }

    /** The embedded format of a v1 instance: binary (the default), json or avro. */
    public EmbeddedFormat embeddedFormat() {
        EmbeddedFormat f = anyEmbeddedFormat();
        if (f == EmbeddedFormat.JSONSCHEMA || f == EmbeddedFormat.PROTOBUF) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Invalid format type."); // not formats of v1
        }
        return f;
    }

    /** The embedded format of any of the five names (v2 has them all), binary by default. */
    public EmbeddedFormat anyEmbeddedFormat() {
        if (format == null) {
            return EmbeddedFormat.BINARY;
        }
        EmbeddedFormat f = EmbeddedFormat.fromWireName(format);
        if (f == null) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("Invalid format type.");
        }
        return f;
    }

    /** Kafka's {@code auto.offset.reset}: earliest, latest or none; null when not given. */
    public String kafkaOffsetReset() {
        if (autoOffsetReset == null) {
            return null;
        }
        return switch (autoOffsetReset.trim().toLowerCase(Locale.ROOT)) {
            case "smallest", "earliest" -> "earliest";
            case "largest", "latest" -> "latest";
            case "none" -> "none";
            default -> throw ErrorCode.INVALID_CONSUMER_CONFIG.exception(
                    "auto.offset.reset must be smallest, largest, earliest, latest or none, not '"
                            + Validation.excerpt(autoOffsetReset) + "'");
        };
    }

    /** Whether returned records are committed without an explicit commit; false unless asked (v1). */
    public boolean autoCommit() {
        if (autoCommitEnable == null) {
            return false;
        }
        return switch (autoCommitEnable.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw ErrorCode.INVALID_CONSUMER_CONFIG.exception(
                    "auto.commit.enable must be \"true\" or \"false\", not '" + Validation.excerpt(autoCommitEnable) + "'");
        };
    }
}
