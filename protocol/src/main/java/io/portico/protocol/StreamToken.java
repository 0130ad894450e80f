package io.portico.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * {@code POST /sse/tokens}: a short-lived token that opens event streams on one path, for a
 * browser's {@code EventSource}, which cannot send an API key in a header.
 */
public final class StreamToken {
    private StreamToken() {
    }

    /** {@code {"path":"/consumers/g/instances/i/records"}}: the stream route's path, without a query. */
    public record Request(@JsonProperty("path") String path) {
        public Request {
            if (path == null || path.isBlank()) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("path is required");
            }
        }
    }

    /** {@code {"token","path","expires_in_ms"}}: pass the token as {@code ?sse_token=} on that path. */
    public record Response(@JsonProperty("token") String token, @JsonProperty("path") String path,
                           @JsonProperty("expires_in_ms") long expiresInMs) {
    }
}
