package io.portico.protocol;

import java.util.List;

/** Checks shared by the compact constructors of request records (of every dialect's package). */
public final class Validation {
    private Validation() {
    }

    /** The start of a client's value, to quote in a message: at most 64 characters. */
    public static String excerpt(String value) {
        return value == null || value.length() <= 64 ? value : value.substring(0, 64) + "…";
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
