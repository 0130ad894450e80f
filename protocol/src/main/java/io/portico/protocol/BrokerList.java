package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** {@code GET /brokers}: {@code {"brokers":[1,2,3]}}. */
public record BrokerList(@JsonProperty("brokers") List<Integer> brokers) {
}
