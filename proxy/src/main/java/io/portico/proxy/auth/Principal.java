package io.portico.proxy.auth;

/**
 * Who is calling: an API key's grants, or {@link #ANONYMOUS} (everything) when authentication is off.
 */
public interface Principal {
    /** The key's name (never the key itself); null for anonymous. */
    String name();

    /**
     * Whose the caller's consumer instances, event streams and shares of the server's bounds are
     * (memory, the producer's buffer, pooled readers, admin requests): its name, except that
     * callers let in without credentials on {@code authentication.skip.paths} while
     * authentication is on are one owner together ({@link #UNAUTHENTICATED}), held to the same
     * per-key bounds as any key; null (nothing counted) when authentication is off.
     */
    default String owner() {
        return name();
    }

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

    /**
     * Whether the caller holds at least {@code role} on the whole cluster, every topic and every
     * group: what a broker's settings and Kafka's ACLs take, since they bear on every application
     * of the cluster.
     */
    default boolean allowsCluster(Role role) {
        return hasRole(role);
    }

    /** Whether the caller may see {@code topic} at all (any role on it). */
    default boolean canSee(String topic) {
        return allows(Role.READER, topic);
    }

    /**
     * The owner of what callers without credentials hold while authentication is on: a name no
     * API key or user can have (it starts with a NUL character, which a key's name never holds:
     * the keys and users files refuse control characters in names).
     */
    String UNAUTHENTICATED_OWNER = "\u0000unauthenticated";

    /** Whether {@code name} holds a control character (which no key's or user's name may). */
    static boolean hasControlCharacter(String name) {
        return name.chars().anyMatch(Character::isISOControl);
    }

    /**
     * A caller let in without credentials on {@code authentication.skip.paths} while
     * authentication is on: allowed everything there, as {@link #ANONYMOUS}, but one owner (see
     * {@link #owner()}) so that such callers together take no more than a key's share.
     */
    Principal UNAUTHENTICATED = new Everything(UNAUTHENTICATED_OWNER);

    /** Every caller when authentication is off: allowed everything, owner of nothing counted. */
    Principal ANONYMOUS = new Everything(null);

    /** A caller without a name, allowed everything, whose shares go to {@code owner}. */
    final class Everything implements Principal {
        private final String owner;

        private Everything(String owner) {
            this.owner = owner;
        }

        @Override
        public String name() {
            return null;
        }

        @Override
        public String owner() {
            return owner;
        }

        @Override
        public boolean hasRole(Role role) {
            return true;
        }

        @Override
        public boolean allows(Role role, String topic) {
            return true;
        }
    }
}
