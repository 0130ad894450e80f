package io.portico.sessions;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;

/**
 * An admin client that answers the calls a test gives answers for (by method name, from the
 * call's arguments), records every call in order, and fails any other call.
 */
final class FakeAdmin {
    /** The names of the methods asked, in order. */
    final List<String> calls = new CopyOnWriteArrayList<>();
    private final Map<String, Function<Object[], Object>> answers = new HashMap<>();

    /** Answers calls of {@code method} with what {@code answer} makes of their arguments. */
    FakeAdmin on(String method, Function<Object[], Object> answer) {
        answers.put(method, answer);
        return this;
    }

    /** The admin client. */
    Admin admin() {
        return (Admin) Proxy.newProxyInstance(Admin.class.getClassLoader(), new Class<?>[] {Admin.class},
                (proxy, method, args) -> {
                    calls.add(method.getName());
                    Function<Object[], Object> answer = answers.get(method.getName());
                    if (answer == null) {
                        throw new UnsupportedOperationException("the admin client was asked: " + method.getName());
                    }
                    return answer.apply(args);
                });
    }

    /** A describeCluster result whose nodes are {@code nodes} (its other parts never complete). */
    static org.apache.kafka.clients.admin.DescribeClusterResult describeCluster(
            org.apache.kafka.common.KafkaFuture<java.util.Collection<org.apache.kafka.common.Node>> nodes) {
        try {
            java.lang.reflect.Constructor<org.apache.kafka.clients.admin.DescribeClusterResult> c =
                    org.apache.kafka.clients.admin.DescribeClusterResult.class.getDeclaredConstructor(
                            org.apache.kafka.common.KafkaFuture.class, org.apache.kafka.common.KafkaFuture.class,
                            org.apache.kafka.common.KafkaFuture.class, org.apache.kafka.common.KafkaFuture.class);
            c.setAccessible(true);
            return c.newInstance(nodes, new org.apache.kafka.common.internals.KafkaFutureImpl<>(),
                    new org.apache.kafka.common.internals.KafkaFutureImpl<>(),
                    new org.apache.kafka.common.internals.KafkaFutureImpl<>());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
