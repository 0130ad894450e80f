package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;

/**
 * {@code PUT …/topics/{topic}/configs/{name}}: {@code {"value":"3600000"}}, the setting's new
 * value (Confluent's {@code UpdateTopicConfigRequest}).
 */
public record UpdateConfigRequest(@JsonProperty("value") String value) {
    public UpdateConfigRequest {
        if (value == null) {
            throw ErrorCode.PAYLOAD_ERROR.exception("value is required.");
        }
    }
}
