package io.portico.protocol.v3;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.portico.protocol.ErrorCode;
import java.util.List;
import java.util.Objects;

/** {@code POST …/acls:batch}: {@code {"data":[<CreateAclRequest>,…]}}, at most {@link Acls#MAX_BATCH} entries. */
public record CreateAclsRequest(@JsonProperty("data") List<CreateAclRequest> data) {
    public CreateAclsRequest {
        if (data == null) {
            throw ErrorCode.PAYLOAD_ERROR.exception("Empty input provided. Data is required.");
        }
        if (data.stream().anyMatch(Objects::isNull)) {
            throw ErrorCode.PAYLOAD_ERROR.exception("data may not contain null.");
        }
        if (data.size() > Acls.MAX_BATCH) {
            throw ErrorCode.PAYLOAD_ERROR.exception("At most " + Acls.MAX_BATCH + " ACLs at once.");
        }
        data = List.copyOf(data);
    }
}
