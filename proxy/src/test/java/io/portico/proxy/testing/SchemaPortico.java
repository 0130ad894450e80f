package io.portico.proxy.testing;

import java.util.Map;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A Portico with {@code schema.registry.url} set, in front of the test JVM's one Kafka cluster
 * and one schema registry ({@link SchemaRegistryServer}), both started on first use and shared by
 * every test class that declares a {@code SchemaPortico} parameter (with this extension).
 */
public record SchemaPortico(TestPortico portico, SchemaRegistryServer registry) {

    public Rest rest() {
        return portico.rest();
    }

    public KafkaCluster cluster() {
        return portico.cluster();
    }

    /** The JUnit extension that resolves {@link SchemaPortico} parameters. */
    public static final class Extension implements ParameterResolver {
        private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SchemaPortico.class);

        @Override
        public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
            return parameter.getParameter().getType() == SchemaPortico.class;
        }

        @Override
        public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
            ExtensionContext.Store store = context.getRoot().getStore(NS);
            KafkaCluster cluster = PorticoExtension.sharedCluster(context);
            SchemaRegistryServer registry = store.getOrComputeIfAbsent("registry", k -> {
                try {
                    return SchemaRegistryServer.start();
                } catch (Exception e) {
                    throw new IllegalStateException("cannot start the schema registry", e);
                }
            }, SchemaRegistryServer.class);
            TestPortico portico = store.getOrComputeIfAbsent("portico", k -> TestPortico.start(cluster,
                    Map.of("schema.registry.url", registry.url().toString())), TestPortico.class);
            return new SchemaPortico(portico, registry);
        }
    }
}
