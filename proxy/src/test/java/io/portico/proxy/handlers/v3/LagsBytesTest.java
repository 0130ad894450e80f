package io.portico.proxy.handlers.v3;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.Json;
import io.portico.protocol.v3.ConsumerLagData;
import io.portico.sessions.ClusterAdmin;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The room a group's lags take before Kafka is asked for them is never less than their JSON. */
class LagsBytesTest {
    /** The JSON of {@code partitions} lags of one topic, all owned by one member, against the estimate. */
    private static void assertWithinEstimate(String baseUrl, String cluster, String group, String topic, String consumerId,
                                             String instanceId, String clientId, int partitions) {
        Resources r = new Resources(baseUrl, cluster);
        List<ConsumerLagData> lags = new ArrayList<>();
        long topicBytes = 0;
        long memberBytes = 0;
        for (int p = 0; p < partitions; p++) {
            lags.add(r.lag(group, new ClusterAdmin.Lag(topic, Integer.MAX_VALUE - p, consumerId, instanceId, clientId,
                    Long.MAX_VALUE - 1, Long.MAX_VALUE)));
            topicBytes += ClusterAdmin.LagsRoom.topicBytes(topic);
            memberBytes += ClusterAdmin.LagsRoom.memberBytes(consumerId, clientId, instanceId);
        }
        long json = Json.write(r.list(ConsumerLagData.LIST_KIND, lags, "consumer-groups", group, "lags")).length;
        long estimate = ConsumerGroupsHandlers.lagsBytes(baseUrl, cluster, group, partitions, topicBytes, memberBytes);
        assertTrue(json <= estimate, json + " bytes of JSON, " + estimate + " estimated: group " + group.length()
                + " characters, topic " + topic.length());
    }

    @Test
    void theEstimateCoversShortAndLongestNamesOfAnyScript() {
        String cluster = "eBazohtbRj2QoxqVFSnqZQ";
        for (String base : new String[] {"http://127.0.0.1:8082", "https://kafka-rest.apps.example.com:443/gateway/prefix"}) {
            for (int partitions : new int[] {1, 7, 500}) {
                assertWithinEstimate(base, cluster, "g", "t", "", null, "", partitions);
                assertWithinEstimate(base, cluster, "orders-readers", "orders", "consumer-orders-readers-1-0b7e6f0a",
                        null, "consumer-orders-readers-1", partitions);
                // the longest names Kafka takes: 255-character groups, 249-character topics
                String cjkGroup = "\u6ce8".repeat(255);
                String longTopic = "t".repeat(249);
                String member = "\u6ce8\u6587-" + "\u00e9".repeat(200) + " \"quoted\" \\ " + "\u0001\u0002";
                assertWithinEstimate(base, cluster, cjkGroup, longTopic, member + "-uuid", member, member, partitions);
                assertWithinEstimate(base, cluster, "a b/c?d%e#" + "x".repeat(240), "a.b_c-" + "z".repeat(243),
                        "\ud83d\ude00".repeat(100), "i", "c", partitions);
                // each kind of name that JSON or a URL makes longer than its UTF-8, alone
                String controls = "\u0001\u0002\u001f".repeat(85);
                String emoji = "\ud83d\ude00".repeat(127);
                assertWithinEstimate(base, cluster, "g", "t", "c", null, controls.repeat(4), partitions);
                assertWithinEstimate(base, cluster, "g", "t", "c", null, emoji.repeat(8), partitions);
                assertWithinEstimate(base, cluster, emoji, "t", "", null, "", partitions);
                assertWithinEstimate(base, cluster, controls, "t", "", null, "", partitions);
                assertWithinEstimate(base, cluster, "\"\\".repeat(127), "t", "", null, "", partitions);
            }
        }
        // A base URL from the request's Host, of characters JSON escapes or writes in two bytes
        assertWithinEstimate("http://" + "\u00e9\"".repeat(2000), cluster, "orders", "orders", "c", null, "c", 100);
    }
}
