package io.portico.protocol;

/**
 * The one error vocabulary of Portico: HTTP status, Confluent error code and message.
 *
 * <p>Codes are permanent: clients match on them. A five-digit code starts with its HTTP status
 * (40401 is a 404) except where Confluent's proxy sends otherwise and clients expect it (40001 is
 * a 422, 50101 a 500); a three-digit code is the bare HTTP status, as Confluent's REST Proxy
 * writes for errors raised by its HTTP layer. A message that ends in {@code ": "} is a prefix to which a
 * detail is appended; any other message is used as is unless a detail replaces it.
 */
public enum ErrorCode {
    // HTTP-layer errors, worded as Confluent's REST Proxy words them.
    BAD_REQUEST(400, 400, "Bad Request"),
    UNAUTHORIZED(401, 401, "Unauthorized"),
    FORBIDDEN(403, 403, "Forbidden"),
    NOT_FOUND(404, 404, "HTTP 404 Not Found"),
    METHOD_NOT_ALLOWED(405, 405, "HTTP 405 Method Not Allowed"),
    NOT_ACCEPTABLE(406, 406, "HTTP 406 Not Acceptable"),
    REQUEST_TIMEOUT(408, 408, "Request timed out"),
    LENGTH_REQUIRED(411, 411, "Length Required"),
    PAYLOAD_TOO_LARGE(413, 413, "Request body is larger than the configured limit: "),
    URI_TOO_LONG(414, 414, "URI Too Long"),
    UNSUPPORTED_MEDIA_TYPE(415, 415, "HTTP 415 Unsupported Media Type"),
    SCHEMA_REGISTRY_REQUIRED(415, 415,
            "The avro, jsonschema and protobuf embedded formats need a schema registry, and this server has none "
                    + "configured: set schema.registry.url, or use the binary or json embedded format."),
    /** The records endpoint's {@code schemaname}/{@code schemaversion} names no schema of the registry (IBM's 404). */
    SCHEMA_NOT_FOUND(404, 404, "Schema not found: "),
    /** The records endpoint's body does not fit its schema ({@code schemavalidation=true}; IBM's 400). */
    SCHEMA_MISMATCH(400, 400, "The message does not fit its schema: "),
    UNPROCESSABLE_ENTITY(422, 422, "Unprocessable Entity"),
    /** A request relayed by another node reached a node other than the one it was meant for (its {@code node.url}). */
    MISDIRECTED_REQUEST(421, 421, "Misdirected request: "),
    TOO_MANY_REQUESTS(429, 429, "Too many requests: "),
    INTERNAL_SERVER_ERROR(500, 500, "Internal Server Error"),
    NOT_IMPLEMENTED(501, 501, "Not Implemented"),
    SERVICE_UNAVAILABLE(503, 503, "Service unavailable: "),
    /** The node holding a consumer instance did not answer a relayed request within {@code nodes.forward.timeout.ms}. */
    GATEWAY_TIMEOUT(504, 504, "Gateway timeout: "),

    // Confluent REST Proxy codes (v1 and v2); message strings are Confluent's, exactly.
    INVALID_CONSUMER_CONFIG_CONSTRAINT(422, 40001,
            "Invalid consumer configuration. It does not abide by the constraints: "),
    KAFKA_BAD_REQUEST(400, 40002, "Kafka bad request: "),
    // Confluent v3: Kafka refused the request (the topic exists, a partition count or replication
    // factor it cannot take, an invalid config, a policy) and the message is Kafka's own, as
    // rest-utils' KafkaExceptionMapper writes it ("Topic 't' already exists."): the code of
    // KAFKA_BAD_REQUEST without its prefix.
    KAFKA_REFUSED(400, 40002, "Bad Request"),
    KAFKA_AUTHENTICATION_ERROR(401, 40101, "Authentication failed"),
    KAFKA_AUTHORIZATION_ERROR(403, 40301, "Request is not authorized"),
    TOPIC_NOT_FOUND(404, 40401, "Topic not found."),
    PARTITION_NOT_FOUND(404, 40402, "Partition not found."),
    CONSUMER_INSTANCE_NOT_FOUND(404, 40403, "Consumer instance not found."),
    // Confluent v2 and v3: Kafka's UnknownTopicOrPartitionException shares 40403 (rest-utils'
    // KafkaExceptionMapper); v3 answers a topic that does not exist with it.
    UNKNOWN_TOPIC_OR_PARTITION(404, 40403, "This server does not host this topic-partition."),
    LEADER_NOT_AVAILABLE(404, 40404, "Leader not available."),
    CONSUMER_GROUP_NOT_FOUND(404, 40405, "Consumer group id not found."),
    // Portico's own: a read by offset outside the partition's log (the message says which end).
    OFFSET_OUT_OF_RANGE(404, 40406, "Offset out of range: "),
    CONSUMER_FORMAT_MISMATCH(406, 40601,
            "The requested embedded data format does not match the deserializer for this consumer instance"),
    SCHEMA_REGISTRY_ERROR(408, 40801, "Schema registration or lookup failed"),
    CONSUMER_ALREADY_SUBSCRIBED(409, 40901,
            "Consumer cannot subscribe the the specified target because it has already subscribed to other topics."),
    CONSUMER_ALREADY_EXISTS(409, 40902,
            "Consumer with specified consumer ID already exists in the specified consumer group."),
    ILLEGAL_STATE(409, 40903, "Illegal state: "),
    KEY_SCHEMA_MISSING(422, 42201, "Request includes keys but does not include key schema"),
    VALUE_SCHEMA_MISSING(422, 42202, "Request includes values but does not include value schema"),
    JSON_AVRO_CONVERSION_FAILED(422, 42203, "Conversion of JSON to Avro failed: "),
    INVALID_CONSUMER_CONFIG(422, 42204, "Invalid consumer configuration: "),
    INVALID_SCHEMA(422, 42205, "Invalid schema: "),
    PAYLOAD_ERROR(422, 42206, "Payload error. "),
    SERIALIZATION_ERROR(422, 42207, "Error serializing message. "),
    INVALID_BATCH(422, 42208, "Invalid batch."),
    // Portico's own: an Idempotency-Key already used, within idempotency.retention.ms, for a request
    // with another method, path, Content-Type or body.
    IDEMPOTENCY_KEY_REUSED(422, 42209, "This Idempotency-Key was used for a different request (another path, "
            + "Content-Type or body); a new request needs a new key."),
    // IBM Event Streams' admin API (/admin/topics) answers an existing topic with 42201, which its
    // Node client matches on; in Confluent's produce API the same number means KEY_SCHEMA_MISSING.
    // The two never meet: each belongs to its own endpoints.
    ADMIN_TOPIC_EXISTS(422, 42201, "Topic already exists."),
    KAFKA_QUOTA_EXCEEDED(429, 42901, "Request rate limit exceeded: "),
    ZOOKEEPER_ERROR(500, 50001, "Zookeeper error: "),
    KAFKA_ERROR(500, 50002, "Kafka error: "),
    KAFKA_RETRIABLE_ERROR(500, 50003, "Retriable Kafka error: "),
    NO_SSL_SUPPORT(500, 50101,
            "Only SSL endpoints were found for the broker, but SSL is not currently supported."),
    NO_SIMPLE_CONSUMER_AVAILABLE(503, 50301,
            "No SimpleConsumer is available at the time in the pool. The request can be retried. "
                    + "You can increase the pool size or the pool timeout to avoid this error in the future."),
    BROKER_NOT_AVAILABLE(503, 50302, "Broker not available: ");

    private final int httpStatus;
    private final int code;
    private final String message;

    ErrorCode(int httpStatus, int code, String message) {
        this.httpStatus = httpStatus;
        this.code = code;
        this.message = message;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public int code() {
        return code;
    }

    public String message() {
        return message;
    }

    /** True when the message is a prefix that takes a detail ({@code "Kafka error: "}). */
    public boolean takesDetail() {
        return message.endsWith(" ");
    }

    /**
     * The message with {@code detail} applied: appended to a prefix message, replacing any other
     * message, or the plain message when {@code detail} is null.
     */
    public String messageWith(String detail) {
        if (detail == null || detail.isEmpty()) {
            return takesDetail() ? message.strip().replaceAll(":$", "") : message;
        }
        return takesDetail() ? message + detail : detail;
    }

    /** This code as an exception carrying the plain message. */
    public RestException exception() {
        return new RestException(this, null);
    }

    /** This code as an exception whose message is {@link #messageWith(String) built} from {@code detail}. */
    public RestException exception(String detail) {
        return new RestException(this, detail);
    }

    /** This code as a wire body. */
    public ErrorMessage body(String detail) {
        return new ErrorMessage(code, messageWith(detail));
    }
}
