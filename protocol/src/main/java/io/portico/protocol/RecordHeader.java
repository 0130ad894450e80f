package io.portico.protocol;

/** One Kafka record header: a name (repeatable) and its value's bytes (null allowed). */
public record RecordHeader(String key, byte[] value) {
}
