/**
 * The wire records of Confluent's v2 API that v1 does not have: consumer subscriptions,
 * assignments, positions, explicit commits and committed offsets, partition offsets.
 */
package io.portico.protocol.v2;
