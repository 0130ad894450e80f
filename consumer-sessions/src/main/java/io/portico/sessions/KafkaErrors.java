package io.portico.sessions;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.BufferExhaustedException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicaAssignmentException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.ThrottlingQuotaExceededException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicDeletionDisabledException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Maps Kafka client exceptions to Portico's error vocabulary, by exception class (never by
 * message text). Wrappers ({@link CompletionException}, {@link ExecutionException}) are unwrapped.
 */
public final class KafkaErrors {
    private KafkaErrors() {
    }

    /**
     * The error a whole request fails with when a Kafka call it depends on fails. A timeout means
     * the cluster did not answer in time: 503, retriable.
     */
    public static RestException toRestException(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        if (t instanceof RestException rest) {
            return rest;
        }
        if (t instanceof UnknownTopicOrPartitionException) {
            return ErrorCode.TOPIC_NOT_FOUND.exception();
        }
        if (t instanceof InvalidTopicException) {
            return ErrorCode.TOPIC_NOT_FOUND.exception("Topic not found: " + t.getMessage());
        }
        if (t instanceof AuthorizationException) {
            return new RestException(ErrorCode.KAFKA_AUTHORIZATION_ERROR, null, t);
        }
        if (t instanceof AuthenticationException) {
            return new RestException(ErrorCode.KAFKA_AUTHENTICATION_ERROR, null, t);
        }
        if (t instanceof BufferExhaustedException) {
            return new RestException(ErrorCode.SERVICE_UNAVAILABLE,
                    "the producer's buffer is full (Kafka is slower than the requests); retry later", t);
        }
        if (t instanceof TimeoutException) {
            return new RestException(ErrorCode.BROKER_NOT_AVAILABLE, describe(t), t);
        }
        if (t instanceof RetriableException) {
            return new RestException(ErrorCode.KAFKA_RETRIABLE_ERROR, describe(t), t);
        }
        if (t instanceof KafkaException) {
            return new RestException(ErrorCode.KAFKA_ERROR, describe(t), t);
        }
        return new RestException(ErrorCode.INTERNAL_SERVER_ERROR, null, t);
    }

    /**
     * The error a topic's creation or deletion through IBM Event Streams' admin API
     * ({@code /admin/topics}) fails with: Kafka refusing it (an invalid name, count, replica
     * assignment or setting, a policy, topic deletion disabled) is 422 with Kafka's message, as
     * IBM's API answers a request it rejects; Kafka throttling topic changes is 429; the rest as
     * {@link #toRestException}.
     */
    public static RestException forAdminTopics(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        if (t instanceof RestException rest) {
            return rest;
        }
        if (t instanceof ThrottlingQuotaExceededException) {
            return new RestException(ErrorCode.TOO_MANY_REQUESTS, describe(t), t);
        }
        if (t instanceof InvalidTopicException || t instanceof InvalidPartitionsException
                || t instanceof InvalidReplicationFactorException || t instanceof InvalidReplicaAssignmentException
                || t instanceof InvalidConfigurationException || t instanceof PolicyViolationException
                || t instanceof InvalidRequestException || t instanceof TopicDeletionDisabledException) {
            return new RestException(ErrorCode.UNPROCESSABLE_ENTITY, describe(t), t);
        }
        return toRestException(t);
    }

    /**
     * The error a request that produced a single record fails with when its send fails:
     * 408 when delivery timed out, 503 when the cluster cannot take it now (retriable), 400 when
     * the record is too large or Kafka refuses it as invalid, 403/401 for authorization/authentication, else 500.
     */
    public static RestException forSingleRecord(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        if (t instanceof RestException rest) {
            return rest;
        }
        if (t instanceof ProducerShares.ShareFull) {
            return new RestException(ErrorCode.TOO_MANY_REQUESTS, t.getMessage(), t);
        }
        if (t instanceof TimeoutException && !(t instanceof BufferExhaustedException)) {
            return new RestException(ErrorCode.REQUEST_TIMEOUT, "producing to Kafka timed out: " + describe(t), t);
        }
        if (t instanceof RecordTooLargeException) {
            return new RestException(ErrorCode.BAD_REQUEST, "the record is too large for Kafka: " + describe(t), t);
        }
        if (t instanceof org.apache.kafka.common.InvalidRecordException) {
            // The record itself (a keyless one for a compacted topic, say): the client's to mend.
            return new RestException(ErrorCode.BAD_REQUEST, "Kafka refuses the record: " + describe(t), t);
        }
        if (t instanceof RetriableException || t instanceof BufferExhaustedException) {
            return new RestException(ErrorCode.SERVICE_UNAVAILABLE, "Kafka cannot take the record now: "
                    + describe(t), t);
        }
        return toRestException(t);
    }

    /** A failure's message for a client: its own message, or its kind when it has none. */
    public static String describe(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        String message = t.getMessage();
        return message == null || message.isBlank() ? t.getClass().getSimpleName() : message;
    }

    /**
     * The per-record code of a failed send in v2: 40101 authentication, 40301 authorization (the
     * produce's HTTP status becomes 401/403 when a record got one), else as {@link #perRecordCode}.
     */
    public static ErrorCode perRecordCodeV2(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        if (t instanceof AuthenticationException) {
            return ErrorCode.KAFKA_AUTHENTICATION_ERROR;
        }
        if (t instanceof AuthorizationException) {
            return ErrorCode.KAFKA_AUTHORIZATION_ERROR;
        }
        return perRecordCode(t);
    }

    /**
     * A failed record's delivery report in a v3 produce: Confluent's in-stream codes (40101,
     * 40301, 40403 for a partition the broker does not host, 413 for a record over Kafka's size
     * limits, 50003 when retrying may succeed, else 50002) with the cause's message.
     */
    public static io.portico.protocol.v3.RecordError v3RecordError(Throwable failure) {
        Throwable t = RestException.unwrap(failure);
        if (t instanceof RestException rest) {
            return new io.portico.protocol.v3.RecordError(rest.errorCode().code(), rest.getMessage());
        }
        if (t instanceof RecordTooLargeException
                || t instanceof org.apache.kafka.common.errors.RecordBatchTooLargeException) {
            return new io.portico.protocol.v3.RecordError(413, "Record too large: " + describe(t));
        }
        if (t instanceof ProducerShares.ShareFull) {
            return new io.portico.protocol.v3.RecordError(ErrorCode.TOO_MANY_REQUESTS.code(),
                    ErrorCode.TOO_MANY_REQUESTS.messageWith(t.getMessage()));
        }
        if (t instanceof UnknownTopicOrPartitionException) {
            return new io.portico.protocol.v3.RecordError(40403, "This server does not host this topic-partition.");
        }
        ErrorCode code = perRecordCodeV2(t);
        String message = code.message().endsWith(": ") ? code.message() + describe(t) : code.message();
        return new io.portico.protocol.v3.RecordError(code.code(), message);
    }

    /** The per-record code of a failed send: 50003 when retrying may succeed, else 50002. */
    public static ErrorCode perRecordCode(Throwable failure) {
        return RestException.unwrap(failure) instanceof RetriableException
                ? ErrorCode.KAFKA_RETRIABLE_ERROR
                : ErrorCode.KAFKA_ERROR;
    }
}
