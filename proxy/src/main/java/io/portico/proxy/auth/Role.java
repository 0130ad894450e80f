package io.portico.proxy.auth;

import java.util.Locale;

/** What an API key may do; each role includes the ones before it. */
public enum Role {
    /** Metadata and consuming. */
    READER,
    /** A reader that may also produce. */
    WRITER,
    /** A writer that may also create and delete topics. */
    MANAGER;

    public boolean includes(Role other) {
        return ordinal() >= other.ordinal();
    }

    /** Parses {@code reader}, {@code writer} or {@code manager}, case-insensitively; null if none. */
    public static Role parse(String name) {
        if (name == null) {
            return null;
        }
        for (Role r : values()) {
            if (r.name().equalsIgnoreCase(name.trim())) {
                return r;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
