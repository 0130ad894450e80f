package io.portico.proxy.handlers.v3;

import io.portico.protocol.v3.AclData;
import io.portico.protocol.v3.BrokerData;
import io.portico.protocol.v3.ClusterData;
import io.portico.protocol.v3.ConfigData;
import io.portico.protocol.v3.ConsumerAssignmentData;
import io.portico.protocol.v3.ConsumerData;
import io.portico.protocol.v3.ConsumerGroupData;
import io.portico.protocol.v3.ConsumerGroupLagSummaryData;
import io.portico.protocol.v3.ConsumerLagData;
import io.portico.protocol.v3.PartitionData;
import io.portico.protocol.v3.PartitionOffsetsData;
import io.portico.protocol.v3.ReassignmentData;
import io.portico.protocol.v3.Related;
import io.portico.protocol.v3.ReplicaData;
import io.portico.protocol.v3.ResourceList;
import io.portico.protocol.v3.ResourceMetadata;
import io.portico.protocol.v3.TopicData;
import io.portico.proxy.http.Http;
import io.portico.sessions.ClusterAdmin;
import java.util.List;
import java.util.Set;

/**
 * Turns what {@link ClusterAdmin} answers into v3 resources of one cluster, with the links and
 * resource names Confluent's proxy gives them: {@code self} and {@code related} URLs under
 * {@code <base URL>/v3/clusters/<cluster_id>} (each path segment percent-encoded, empty ones left
 * out as Confluent's URL factory does), resource names {@code crn:///kafka=<cluster_id>/topic=<t>}.
 */
final class Resources {
    /** Where a setting's value comes from, in the words Confluent's API knows; any other is {@code UNKNOWN}. */
    private static final Set<String> CONFIG_SOURCES = Set.of("DYNAMIC_CLUSTER_LINK_CONFIG", "DYNAMIC_TOPIC_CONFIG",
            "DYNAMIC_BROKER_LOGGER_CONFIG", "DYNAMIC_BROKER_CONFIG", "DYNAMIC_DEFAULT_BROKER_CONFIG", "DYNAMIC_GROUP_CONFIG",
            "STATIC_BROKER_CONFIG", "DEFAULT_CONFIG", "UNKNOWN");

    private final String cluster;
    private final String clusterId;
    private final String crn;

    /**
     * @param baseUrl {@code <scheme>://<host>[:<port>]} clients reach this server at
     * @param clusterId the cluster's id, as Kafka gives it
     */
    Resources(String baseUrl, String clusterId) {
        this.cluster = clusters(baseUrl) + "/" + Http.pathSegment(clusterId);
        this.clusterId = clusterId;
        this.crn = "crn:///kafka=" + clusterId;
    }

    /** The URL of the cluster list. */
    static String clusters(String baseUrl) {
        return baseUrl + "/v3/clusters";
    }

    /** The URL of a resource of this cluster: its path segments below the cluster's URL. */
    String url(String... segments) {
        StringBuilder out = new StringBuilder(cluster);
        for (String s : segments) {
            if (s != null && !s.isEmpty()) {
                out.append('/').append(Http.pathSegment(s));
            }
        }
        return out.toString();
    }

    private Related related(String... segments) {
        return new Related(url(segments));
    }

    /** {@code crn:///kafka=<cluster>/type=id/…}; a null id leaves the type alone ({@code /lag-summary}). */
    private String crn(String... typeIdPairs) {
        StringBuilder out = new StringBuilder(crn);
        for (int i = 0; i + 1 < typeIdPairs.length; i += 2) {
            out.append('/').append(typeIdPairs[i]);
            if (typeIdPairs[i + 1] != null) {
                out.append('=').append(typeIdPairs[i + 1]);
            }
        }
        return out.toString();
    }

    /** A list of this cluster's resources at the URL of {@code segments}. */
    <T> ResourceList<T> list(String kind, List<T> data, String... segments) {
        return ResourceList.of(kind, url(segments), data);
    }

    ClusterData cluster(ClusterAdmin.Cluster c) {
        return new ClusterData(ClusterData.KIND, new ResourceMetadata(url(), crn),
                clusterId, c.controller() == null ? null : related("brokers", String.valueOf(c.controller().id())),
                related("acls"), related("brokers"), related("broker-configs"), related("consumer-groups"), related("topics"),
                related("topics", "-", "partitions", "-", "reassignment"));
    }

    BrokerData broker(ClusterAdmin.Broker b) {
        String id = String.valueOf(b.id());
        return new BrokerData(BrokerData.KIND, new ResourceMetadata(url("brokers", id), crn("broker", id)), clusterId,
                b.id(), b.host(), b.port(), b.rack(), related("brokers", id, "configs"),
                related("brokers", id, "partition-replicas"));
    }

    TopicData topic(ClusterAdmin.Topic t) {
        return topic(t.name(), t.internal(), t.replicationFactor(), t.partitions().size());
    }

    TopicData topic(String name, boolean internal, int replicationFactor, int partitionsCount) {
        return new TopicData(TopicData.KIND, new ResourceMetadata(url("topics", name), crn("topic", name)), clusterId, name,
                internal, replicationFactor, partitionsCount, related("topics", name, "partitions"),
                related("topics", name, "configs"), related("topics", name, "partitions", "-", "reassignment"), List.of());
    }

    PartitionData partition(String topic, ClusterAdmin.Partition p) {
        String id = String.valueOf(p.id());
        return new PartitionData(PartitionData.KIND,
                new ResourceMetadata(url("topics", topic, "partitions", id), crn("topic", topic, "partition", id)),
                clusterId, topic, p.id(),
                p.leader() == null ? null : related("topics", topic, "partitions", id, "replicas", String.valueOf(p.leader())),
                related("topics", topic, "partitions", id, "replicas"), related("topics", topic, "partitions", id, "reassignment"));
    }

    ReplicaData replica(String topic, ClusterAdmin.Partition p, int broker) {
        String partition = String.valueOf(p.id());
        String id = String.valueOf(broker);
        return new ReplicaData(ReplicaData.KIND,
                new ResourceMetadata(url("topics", topic, "partitions", partition, "replicas", id),
                        crn("topic", topic, "partition", partition, "replica", id)),
                clusterId, topic, p.id(), broker, p.leader() != null && p.leader() == broker, p.inSync().contains(broker),
                related("brokers", id));
    }

    PartitionOffsetsData offsets(String topic, int partition, ClusterAdmin.Offsets o) {
        String id = String.valueOf(partition);
        return new PartitionOffsetsData(PartitionOffsetsData.KIND,
                new ResourceMetadata(url("topics", topic, "partitions", id, "offset"),
                        crn("topic", topic, "partition", id, "offset_type", "earliest_and_latest")),
                clusterId, topic, partition, o.earliest(), o.latest());
    }

    ConfigData config(String topic, ClusterAdmin.Config c) {
        return config(ConfigData.TOPIC_KIND, url("topics", topic, "configs", c.name()),
                crn("topic", topic, "config", c.name()), topic, null, null, c);
    }

    ConfigData brokerConfig(int broker, ClusterAdmin.Config c) {
        String id = String.valueOf(broker);
        return config(ConfigData.BROKER_KIND, url("brokers", id, "configs", c.name()), crn("broker", id, "config", c.name()),
                null, broker, null, c);
    }

    ConfigData clusterConfig(ClusterAdmin.Config c) {
        return config(ConfigData.CLUSTER_KIND, url("broker-configs", c.name()), crn("broker-config", c.name()),
                null, null, ConfigData.BROKER, c);
    }

    private ConfigData config(String kind, String self, String resourceName, String topic, Integer broker, String type,
                              ClusterAdmin.Config c) {
        return new ConfigData(kind, new ResourceMetadata(self, resourceName), clusterId, topic, broker, type, c.name(),
                c.value(), c.isDefault(), c.readOnly(), c.sensitive(), source(c.source()),
                c.synonyms().stream().map(s -> new ConfigData.Synonym(s.name(), s.value(), source(s.source()))).toList());
    }

    /**
     * A partition being moved, alone ({@code one}) or in a list. Its {@code self} is the URL it is
     * served at ({@code …/partitions/{p}/reassignment}; Confluent's lists say {@code reassignments},
     * a path it does not serve); its resource name is Confluent's, which ends in
     * {@code reassignment} alone and {@code reassignments} in a list.
     */
    ReassignmentData reassignment(ClusterAdmin.Reassignment a, boolean one) {
        String partition = String.valueOf(a.partition());
        return new ReassignmentData(ReassignmentData.KIND,
                new ResourceMetadata(url("topics", a.topic(), "partitions", partition, "reassignment"),
                        crn("topic", a.topic(), "partition", partition, one ? "reassignment" : "reassignments", null)),
                clusterId, a.topic(), a.partition(), a.adding(), a.removing(),
                related("topics", a.topic(), "partitions", partition, "replicas"));
    }

    /** An ACL; its {@code self} is the search that finds it alone, as Confluent's (no resource name). */
    AclData acl(ClusterAdmin.Acl a) {
        return new AclData(AclData.KIND, new ResourceMetadata(aclSearch(a), null), clusterId, a.resourceType(),
                a.resourceName(), a.patternType(), a.principal(), a.host(), a.operation(), a.permission());
    }

    /** The ACLs a search found, at the search's URL. */
    ResourceList<AclData> aclList(ClusterAdmin.Acl filter, List<AclData> data) {
        return ResourceList.of(AclData.LIST_KIND, aclSearch(filter), data);
    }

    /** {@code …/acls?resource_type=…&resource_name=…&pattern_type=…&principal=…&host=…&operation=…&permission=…}. */
    private String aclSearch(ClusterAdmin.Acl a) {
        return url("acls") + "?resource_type=" + query(a.resourceType()) + "&resource_name=" + query(a.resourceName())
                + "&pattern_type=" + query(a.patternType()) + "&principal=" + query(a.principal())
                + "&host=" + query(a.host()) + "&operation=" + query(a.operation()) + "&permission=" + query(a.permission());
    }

    private static String query(String value) {
        return value == null ? "" : java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String source(String kafkaSource) {
        return CONFIG_SOURCES.contains(kafkaSource) ? kafkaSource : "UNKNOWN";
    }

    ConsumerGroupData group(ClusterAdmin.ConsumerGroup g) {
        return new ConsumerGroupData(ConsumerGroupData.KIND,
                new ResourceMetadata(url("consumer-groups", g.id()), crn("consumer-group", g.id())), clusterId, g.id(),
                g.simple(), g.assignor(), g.state(), g.type(), g.mixed(),
                g.coordinator() == null ? null : related("brokers", String.valueOf(g.coordinator().id())),
                related("consumer-groups", g.id(), "consumers"), related("consumer-groups", g.id(), "lag-summary"));
    }

    ConsumerData consumer(String group, ClusterAdmin.Member m) {
        return new ConsumerData(ConsumerData.KIND,
                new ResourceMetadata(url("consumer-groups", group, "consumers", m.consumerId()),
                        crn("consumer-group", group, "consumer", m.consumerId())),
                clusterId, group, m.consumerId(), m.instanceId(), m.clientId(),
                related("consumer-groups", group, "consumers", m.consumerId(), "assignments"));
    }

    ConsumerAssignmentData assignment(String group, String consumerId, ClusterAdmin.Assigned a) {
        String partition = String.valueOf(a.partition());
        return new ConsumerAssignmentData(ConsumerAssignmentData.KIND,
                new ResourceMetadata(url("consumer-groups", group, "consumers", consumerId, "assignments", a.topic(),
                        "partitions", partition),
                        crn("consumer-group", group, "consumer", consumerId, "assignment", a.topic(), "partition", partition)),
                clusterId, group, consumerId, a.topic(), a.partition(), related("topics", a.topic(), "partitions", partition),
                related("consumer-groups", group, "lags", a.topic(), "partitions", partition));
    }

    ConsumerLagData lag(String group, ClusterAdmin.Lag l) {
        String partition = String.valueOf(l.partition());
        return new ConsumerLagData(ConsumerLagData.KIND,
                new ResourceMetadata(url("consumer-groups", group, "lags", l.topic(), "partitions", partition),
                        crn("consumer-group", group, "lag", l.topic(), "partition", partition)),
                clusterId, group, l.topic(), l.partition(), l.consumerId(), l.instanceId(), l.clientId(), l.currentOffset(),
                l.logEndOffset(), l.lag());
    }

    ConsumerGroupLagSummaryData summary(String group, ClusterAdmin.LagSummary s) {
        ClusterAdmin.Lag max = s.max();
        return new ConsumerGroupLagSummaryData(ConsumerGroupLagSummaryData.KIND,
                new ResourceMetadata(url("consumer-groups", group, "lag-summary"),
                        crn("consumer-group", group, "lag-summary", null)),
                clusterId, group, max.lag(), s.totalLag(), max.consumerId(),
                related("consumer-groups", group, "consumers", max.consumerId()), max.clientId(), max.instanceId(),
                max.topic(), max.partition(), related("topics", max.topic(), "partitions", String.valueOf(max.partition())));
    }
}
