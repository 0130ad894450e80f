package io.portico.proxy.auth;

/**
 * Who is calling: an API key's grants, or {@link #ANONYMOUS} (everything) when authentication is off.
 */
public interface Principal {
    /** The key's name (never the key itself); null for anonymous. */
    String name();

    /** Whether the caller holds at least {@code role} on some topics. */
    boolean hasRole(Role role);

    /** Whether the caller holds at least {@code role} on {@code topic}. */
    boolean allows(Role role, String topic);

    /**
     * What the caller's credentials are, as one digest (what a stream token binds, so that a
     * token outlives no change of them); empty for anonymous.
     */
    default byte[] credentialDigest() {
        return new byte[0];
    }

    /**
     * Whether the caller may register schemas under, or look up, schema registry subject
     * {@code subject} beyond its topics' own ({@code <topic>-key}, {@code <topic>-value}): any,
     * unless its entry lists subjects.
     */
    default boolean allowsSubject(String subject) {
        return true;
    }

    /** Whether the caller may use (join, read, commit, describe) consumer group {@code group}. */
    default boolean allowsGroup(String group) {
        return true;
    }

    /** Whether the caller may see {@code topic} at all (any role on it). */
    default boolean canSee(String topic) {
        return allows(Role.READER, topic);
    }

    Principal ANONYMOUS = new Principal() {
        @Override
        public String name() {
            return null;
        }

        @Override
        public boolean hasRole(Role role) {
            return true;
        }

        @Override
        public boolean allows(Role role, String topic) {
            return true;
        }
    };
}
