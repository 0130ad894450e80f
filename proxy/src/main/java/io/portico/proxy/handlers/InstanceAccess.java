package io.portico.proxy.handlers;

import io.portico.protocol.ErrorCode;
import io.portico.proxy.auth.Principal;
import io.portico.proxy.auth.Role;
import io.portico.sessions.ConsumerInstance;
import io.portico.sessions.KafkaNames;

/**
 * What a consumer instance may read: topics within its API key's scope. (Who may use it, the key
 * that created it, is {@code ConsumerRegistry.owned}'s to say; with authentication off every
 * caller may.)
 */
public final class InstanceAccess {
    private InstanceAccess() {
    }

    /**
     * 403 unless {@code caller} may still read every topic the client named for the instance (by
     * subscription or assignment): a key narrowed after it chose them reads none of them then.
     */
    public static void stillReadable(Principal caller, ConsumerInstance instance) {
        // A pattern subscription names no topic: a key removed (or no longer a reader, or no
        // longer allowed the group) must end its instance's stream all the same.
        if (!caller.hasRole(Role.READER) || !caller.allowsGroup(instance.group())) {
            throw ErrorCode.FORBIDDEN.exception("This API key may no longer read through this consumer instance");
        }
        for (String topic : instance.namedTopics()) {
            stillReadable(caller, topic);
        }
    }

    /** 403 unless {@code caller} may (still) read {@code topic}, a name checked when the read began. */
    public static void stillReadable(Principal caller, String topic) {
        if (!caller.allows(Role.READER, topic)) {
            throw ErrorCode.FORBIDDEN.exception("This API key does not have the reader role on topic '"
                    + KafkaNames.excerpt(topic) + "'");
        }
    }

    /** {@code topic}, if it is a valid name the caller may read; else 400 or 403. */
    public static String readable(Principal caller, String topic) {
        KafkaNames.topic(topic);
        KafkaNames.notReserved(topic);
        stillReadable(caller, topic);
        return topic;
    }
}
