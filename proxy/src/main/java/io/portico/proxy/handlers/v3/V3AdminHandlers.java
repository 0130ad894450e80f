package io.portico.proxy.handlers.v3;

import io.portico.proxy.http.BaseUrl;
import io.portico.sessions.ClusterAdmin;

/**
 * The handlers of Confluent's v3 cluster admin API, one small class per resource. Each answers
 * plain JSON, checks the route's cluster id first (404 for another cluster's), and asks
 * {@link ClusterAdmin} without blocking.
 */
public record V3AdminHandlers(ClustersHandlers clusters, BrokersHandlers brokers, TopicsHandlers topics,
                              TopicConfigsHandlers configs, PartitionsHandlers partitions,
                              ConsumerGroupsHandlers groups, BrokerConfigsHandlers brokerConfigs,
                              ReassignmentsHandlers reassignments, AclsHandlers acls) {

    /**
     * @param base where clients reach this server, for {@code self} and {@code related} URLs
     * @param maxBodyBytes the largest request body ({@code request.body.max.bytes})
     */
    public static V3AdminHandlers of(ClusterAdmin admin, BaseUrl base, long maxBodyBytes) {
        return new V3AdminHandlers(new ClustersHandlers(admin, base), new BrokersHandlers(admin, base),
                new TopicsHandlers(admin, base, maxBodyBytes), new TopicConfigsHandlers(admin, base, maxBodyBytes),
                new PartitionsHandlers(admin, base), new ConsumerGroupsHandlers(admin, base),
                new BrokerConfigsHandlers(admin, base, maxBodyBytes), new ReassignmentsHandlers(admin, base),
                new AclsHandlers(admin, base, maxBodyBytes));
    }
}
