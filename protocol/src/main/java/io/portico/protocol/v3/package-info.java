/**
 * The wire records of Confluent's v3 cluster admin API (plain {@code application/json}): every
 * resource has a {@code kind}, {@code metadata} ({@code self}, {@code resource_name}) and
 * {@code related} links; lists are {@link io.portico.protocol.v3.ResourceList}s. Field names and
 * order are those of Confluent's REST Proxy; absent optional values are written as {@code null}.
 */
package io.portico.protocol.v3;
