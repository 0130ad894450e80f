/**
 * The wire records of Confluent's v3 API (plain {@code application/json}). Cluster admin: every
 * resource has a {@code kind}, {@code metadata} ({@code self}, {@code resource_name}) and
 * {@code related} links; lists are {@link io.portico.protocol.v3.ResourceList}s; field names and
 * order are those of Confluent's REST Proxy, absent optional values written as {@code null}.
 * Records: records to produce (single, streamed, batched), parsed incrementally as they arrive,
 * and the delivery reports written back.
 */
package io.portico.protocol.v3;
