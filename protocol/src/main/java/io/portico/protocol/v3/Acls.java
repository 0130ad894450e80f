package io.portico.protocol.v3;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.Validation;
import java.util.List;
import java.util.Locale;

/**
 * The words of Kafka's ACLs as Confluent's v3 API takes them (case aside) and sorts them: each
 * list in Confluent's order, which its lists of ACLs are sorted by, then the words Kafka has
 * beyond Confluent's ({@code USER}, {@code CREATE_TOKENS}, {@code DESCRIBE_TOKENS},
 * {@code TWO_PHASE_COMMIT}). {@code UNKNOWN} is no value a client may give; {@code ANY} (and the
 * pattern type {@code MATCH}) only in a search or delete.
 */
public final class Acls {
    public static final List<String> RESOURCE_TYPES =
            List.of("UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER");
    public static final List<String> PATTERN_TYPES = List.of("UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED");
    public static final List<String> OPERATIONS = List.of("UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE",
            "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE",
            "CREATE_TOKENS", "DESCRIBE_TOKENS", "TWO_PHASE_COMMIT");
    public static final List<String> PERMISSIONS = List.of("UNKNOWN", "ANY", "DENY", "ALLOW");
    /** The longest resource name, principal or host taken (Kafka's topic names have at most 249 characters). */
    public static final int MAX_TEXT = 1024;
    /** The most ACLs one {@code acls:batch} creates. */
    public static final int MAX_BATCH = 1000;

    private Acls() {
    }

    /**
     * {@code value} upper-cased when it is one of {@code words} (not {@code UNKNOWN}), else
     * {@code error} naming {@code field}.
     */
    public static String word(String field, String value, List<String> words, ErrorCode error) {
        String upper = value.toUpperCase(Locale.ROOT);
        if (upper.equals("UNKNOWN") || !words.contains(upper)) {
            throw error.exception(field + " cannot be " + Validation.excerpt(value) + " (one of "
                    + String.join(", ", words.subList(1, words.size())) + ")");
        }
        return upper;
    }

    /** {@code value} when it has at most {@link #MAX_TEXT} characters, else {@code error} naming {@code field}. */
    public static String text(String field, String value, ErrorCode error) {
        if (value != null && value.length() > MAX_TEXT) {
            throw error.exception(field + " has more than " + MAX_TEXT + " characters");
        }
        return value;
    }
}
