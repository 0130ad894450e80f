package io.portico.proxy.testing;

import java.util.Map;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * One real Kafka cluster and one Portico in front of it per test JVM, shared by every test class
 * that uses this extension; each test uses topic names of its own. Tests declare a
 * {@link KafkaCluster} or {@link Rest} (a client of the shared Portico) parameter to get them.
 *
 * <p>The cluster is Portico's embedded single-node KRaft broker (topics auto-created, like the
 * default run). With {@code -Dportico.test.broker=testcontainers} it is Testcontainers' Kafka
 * instead, when a Docker engine is available; without one, the tests are skipped, not failed.
 */
public final class PorticoExtension implements ParameterResolver, ExecutionCondition {
    private static final String MODE = System.getProperty("portico.test.broker", "embedded");
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(PorticoExtension.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (MODE.equals("testcontainers") && !DockerClientFactory.instance().isDockerAvailable()) {
            return ConditionEvaluationResult.disabled(
                    "-Dportico.test.broker=testcontainers asked for Testcontainers' Kafka, and no Docker engine is available");
        }
        return ConditionEvaluationResult.enabled("broker: " + MODE);
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == KafkaCluster.class || type == Rest.class || type == TestPortico.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        TestPortico portico = shared(context);
        if (type == KafkaCluster.class) {
            return portico.cluster();
        }
        if (type == Rest.class) {
            return portico.rest();
        }
        return portico;
    }

    /** The test JVM's one Kafka cluster (started on first use), for extensions that start a Portico of their own. */
    static KafkaCluster sharedCluster(ExtensionContext context) {
        return shared(context).cluster();
    }

    private static TestPortico shared(ExtensionContext context) {
        ExtensionContext.Store store = context.getRoot().getStore(NS);
        KafkaCluster cluster = store.getOrComputeIfAbsent("cluster", k -> startCluster(), KafkaCluster.class);
        return store.getOrComputeIfAbsent("portico", k -> TestPortico.start(cluster, Map.of()), TestPortico.class);
    }

    private static KafkaCluster startCluster() {
        try {
            if (MODE.equals("testcontainers")) {
                // Kafka's authorizer with every client a super user, as the embedded broker runs (v3's ACLs)
                KafkaContainer container = new KafkaContainer("apache/kafka-native:4.1.0")
                        .withEnv("KAFKA_AUTHORIZER_CLASS_NAME", "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
                        .withEnv("KAFKA_SUPER_USERS", "User:ANONYMOUS");
                container.start();
                return new KafkaCluster(container.getBootstrapServers(), container::stop);
            }
            return KafkaCluster.embedded(Map.of());
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the test Kafka cluster", e);
        }
    }
}
