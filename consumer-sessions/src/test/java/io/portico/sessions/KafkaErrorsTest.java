package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.BufferExhaustedException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.Test;

/** Kafka exceptions to Portico's error vocabulary, by class, through completion/execution wrappers. */
class KafkaErrorsTest {

    /** A retriable error Portico has never heard of: it must be mapped by its superclass. */
    private static final class BrandNewRetriableException extends RetriableException {
        BrandNewRetriableException(String message) {
            super(message);
        }
    }

    /** An authorization error subclass Portico has never heard of. */
    private static final class BrandNewAuthorizationException
            extends AuthorizationException {
        BrandNewAuthorizationException(String message) {
            super(message);
        }
    }

    private static ErrorCode codeOf(Throwable t) {
        return KafkaErrors.toRestException(t).errorCode();
    }

    // ---- whole-request errors -----------------------------------------------------------------

    @Test
    void topicAuthorizationFailureIs40301() {
        TopicAuthorizationException e = new TopicAuthorizationException(Set.of("orders"));

        RestException rest = KafkaErrors.toRestException(e);

        assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR, rest.errorCode());
        assertEquals(403, rest.httpStatus());
        assertEquals(40301, rest.body().errorCode());
        assertEquals("Request is not authorized", rest.getMessage(), "Confluent's fixed wording, no Kafka detail");
        assertSame(e, rest.getCause());
    }

    @Test
    void everyAuthorizationSubclassIs40301() {
        assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR, codeOf(new GroupAuthorizationException("group")));
        assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR, codeOf(new ClusterAuthorizationException("cluster")));
        assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR, codeOf(new BrandNewAuthorizationException("new")));
    }

    @Test
    void authenticationFailureIs40101() {
        RestException rest = KafkaErrors.toRestException(new SaslAuthenticationException("bad password"));

        assertEquals(ErrorCode.KAFKA_AUTHENTICATION_ERROR, rest.errorCode());
        assertEquals(401, rest.httpStatus());
        assertEquals("Authentication failed", rest.getMessage());
    }

    @Test
    void unknownTopicIs40401ThoughKafkaCallsItRetriable() {
        UnknownTopicOrPartitionException e = new UnknownTopicOrPartitionException("This server does not host this topic-partition.");

        RestException rest = KafkaErrors.toRestException(e);

        assertEquals(ErrorCode.TOPIC_NOT_FOUND, rest.errorCode());
        assertEquals(404, rest.httpStatus());
        assertEquals("Topic not found.", rest.getMessage());
    }

    @Test
    void invalidTopicIs40401CarryingKafkasReason() {
        RestException rest = KafkaErrors.toRestException(new InvalidTopicException("Topic name \"a b\" is illegal"));

        assertEquals(ErrorCode.TOPIC_NOT_FOUND, rest.errorCode());
        assertEquals("Topic not found: Topic name \"a b\" is illegal", rest.getMessage());
    }

    @Test
    void timeoutIsBrokerNotAvailable50302ThoughKafkaCallsItRetriable() {
        TimeoutException e = new TimeoutException("Timed out waiting for a node assignment.");

        RestException rest = KafkaErrors.toRestException(e);

        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, rest.errorCode());
        assertEquals(503, rest.httpStatus());
        assertEquals(50302, rest.body().errorCode());
        assertEquals("Broker not available: Timed out waiting for a node assignment.", rest.getMessage());
        assertSame(e, rest.getCause());
    }

    @Test
    void aFullProducerBufferIs503NotBrokerNotAvailable() {
        RestException rest = KafkaErrors.toRestException(new BufferExhaustedException("Failed to allocate memory"));
        assertEquals(ErrorCode.SERVICE_UNAVAILABLE, rest.errorCode());
        assertTrue(rest.getMessage().contains("buffer is full"), rest.getMessage());
    }

    @Test
    void retriableSubclassesAre50003() {
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR, codeOf(new NotLeaderOrFollowerException("moved")));
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR, codeOf(new NetworkException("connection lost")));

        RestException rest = KafkaErrors.toRestException(new BrandNewRetriableException("try again"));
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR, rest.errorCode());
        assertEquals(50003, rest.body().errorCode());
        assertEquals("Retriable Kafka error: try again", rest.getMessage());
    }

    @Test
    void otherKafkaExceptionsAre50002() {
        assertEquals(ErrorCode.KAFKA_ERROR, codeOf(new RecordTooLargeException("too large")));
        assertEquals(ErrorCode.KAFKA_ERROR, codeOf(new SerializationException("bad bytes")));

        RestException rest = KafkaErrors.toRestException(new KafkaException("something broke"));
        assertEquals(ErrorCode.KAFKA_ERROR, rest.errorCode());
        assertEquals(500, rest.httpStatus());
        assertEquals("Kafka error: something broke", rest.getMessage());
    }

    @Test
    void nonKafkaExceptionIsAPlain500WithoutItsMessage() {
        IllegalStateException e = new IllegalStateException("internal detail not for clients");

        RestException rest = KafkaErrors.toRestException(e);

        assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, rest.errorCode());
        assertEquals(500, rest.body().errorCode());
        assertEquals("Internal Server Error", rest.getMessage());
        assertSame(e, rest.getCause());
    }

    @Test
    void restExceptionPassesThroughUnchangedEvenWhenWrapped() {
        RestException original = ErrorCode.PARTITION_NOT_FOUND.exception();

        assertSame(original, KafkaErrors.toRestException(original));
        assertSame(original, KafkaErrors.toRestException(new CompletionException(original)));
    }

    @Test
    void completionAndExecutionWrappersAreUnwrappedAtAnyDepth() {
        TopicAuthorizationException cause = new TopicAuthorizationException(Set.of("orders"));
        Throwable wrapped = new CompletionException(new ExecutionException(new CompletionException(cause)));

        RestException rest = KafkaErrors.toRestException(wrapped);

        assertEquals(ErrorCode.KAFKA_AUTHORIZATION_ERROR, rest.errorCode());
        assertSame(cause, rest.getCause());
        assertSame(cause, RestException.unwrap(wrapped));
    }

    @Test
    void otherWrappersAreNotUnwrapped() {
        // Mapping is by the class of the failure itself; a KafkaException's cause does not decide it.
        KafkaException outer = new KafkaException("MockProducer is fenced.", new TopicAuthorizationException("t"));

        assertSame(outer, RestException.unwrap(outer));
        assertEquals(ErrorCode.KAFKA_ERROR, codeOf(outer));
    }

    @Test
    void aWrapperWithoutACauseIsItselfTheFailure() {
        ExecutionException empty = new ExecutionException("no cause", null);

        assertSame(empty, RestException.unwrap(empty));
        assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, codeOf(empty));
    }

    @Test
    void mappingIgnoresTheMessageText() {
        // A message that reads like another error must not change the class-based answer.
        assertEquals(ErrorCode.KAFKA_ERROR, codeOf(new KafkaException("UnknownTopicOrPartitionException: Timed out")));
        assertEquals(ErrorCode.INTERNAL_SERVER_ERROR, codeOf(new RuntimeException("Not authorized to access topics")));
    }

    // ---- per-record codes ---------------------------------------------------------------------

    @Test
    void retriableRecordFailuresAre50003() {
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR, KafkaErrors.perRecordCode(new NotLeaderOrFollowerException("moved")));
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR, KafkaErrors.perRecordCode(new TimeoutException("expired")));
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR, KafkaErrors.perRecordCode(new BrandNewRetriableException("x")));
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR,
                KafkaErrors.perRecordCode(new UnknownTopicOrPartitionException("not yet")));
    }

    @Test
    void nonRetriableRecordFailuresAre50002() {
        assertEquals(ErrorCode.KAFKA_ERROR, KafkaErrors.perRecordCode(new RecordTooLargeException("too large")));
        assertEquals(ErrorCode.KAFKA_ERROR, KafkaErrors.perRecordCode(new TopicAuthorizationException(Set.of("t"))));
        assertEquals(ErrorCode.KAFKA_ERROR, KafkaErrors.perRecordCode(new KafkaException("broken")));
        assertEquals(ErrorCode.KAFKA_ERROR, KafkaErrors.perRecordCode(new IllegalStateException("closed")));
    }

    @Test
    void perRecordCodeLooksThroughWrappers() {
        assertEquals(ErrorCode.KAFKA_RETRIABLE_ERROR, KafkaErrors.perRecordCode(
                new ExecutionException(new NotLeaderOrFollowerException("moved"))));
        assertEquals(ErrorCode.KAFKA_ERROR, KafkaErrors.perRecordCode(
                new CompletionException(new RecordTooLargeException("too large"))));
    }

    @Test
    void unwrapLeavesAnUnwrappedFailureAlone() {
        TimeoutException e = new TimeoutException("t");

        assertSame(e, RestException.unwrap(e));
        assertNull(RestException.unwrap(null));
    }
}
