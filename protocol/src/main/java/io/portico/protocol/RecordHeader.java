package io.portico.protocol;

/** One Kafka record header: a name (repeatable) and its value's bytes (null allowed). */
public record RecordHeader(String key, byte[] value) {

    /**
     * Whether {@code name} can be a header's name: its UTF-16 well formed, every surrogate in a
     * pair. Kafka's producer sizes a record counting a lone high surrogate as four bytes and then
     * writes it as one ({@code ?}), so such a name corrupts the batch it lands in, and the broker
     * refuses the whole batch: every other client's records in it fail with it.
     */
    public static boolean isValidName(String name) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 == name.length() || !Character.isLowSurrogate(name.charAt(i + 1))) {
                    return false;
                }
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            }
        }
        return true;
    }
}
