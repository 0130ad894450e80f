package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.Validation;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * {@code POST …/topics/{topic}/configs:alter}:
 * {@code {"data":[{"name":"retention.ms","value":"3600000"},{"name":"cleanup.policy","operation":"DELETE"}],"validate_only":false}}.
 * An entry sets its value ({@code SET}, the default) or resets the setting to its default
 * ({@code DELETE}). All entries are applied together or not at all.
 */
public record AlterConfigsRequest(
        @JsonProperty("data") List<Entry> data,
        @JsonProperty("validate_only") Boolean validateOnly) {

    /** One change: a setting's name, its new value (for {@code SET}) and the operation. */
    public record Entry(
            @JsonProperty("name") String name,
            @JsonProperty("value") String value,
            @JsonProperty("operation") String operation) {

        public Entry {
            if (name == null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("Every entry of data needs a name.");
            }
            if (operation != null) {
                String op = operation.toUpperCase(Locale.ROOT);
                if (!op.equals("SET") && !op.equals("DELETE")) {
                    throw ErrorCode.PAYLOAD_ERROR.exception("The operation of config " + Validation.excerpt(name) + " is SET or DELETE.");
                }
                operation = op;
            }
        }

        /** Whether this entry resets the setting to its default. */
        public boolean delete() {
            return "DELETE".equals(operation);
        }
    }

    public AlterConfigsRequest {
        if (data == null) {
            throw ErrorCode.PAYLOAD_ERROR.exception("data is required.");
        }
        if (data.stream().anyMatch(Objects::isNull)) {
            throw ErrorCode.PAYLOAD_ERROR.exception("data may not contain null.");
        }
        data = List.copyOf(data);
    }

    /** Whether the changes are only checked by Kafka, not made. */
    public boolean dryRun() {
        return Boolean.TRUE.equals(validateOnly);
    }
}
