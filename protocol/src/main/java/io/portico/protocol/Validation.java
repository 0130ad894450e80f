package io.portico.protocol;

import java.util.List;

/** Checks shared by the compact constructors of request records. */
final class Validation {
    private Validation() {
    }

    static <T> List<T> nonEmptyRecords(List<T> records) {
        if (records == null || records.isEmpty()) {
            throw ErrorCode.UNPROCESSABLE_ENTITY.exception("records may not be empty");
        }
        for (T r : records) {
            if (r == null) {
                throw ErrorCode.UNPROCESSABLE_ENTITY.exception("records may not contain null");
            }
        }
        return List.copyOf(records);
    }
}
