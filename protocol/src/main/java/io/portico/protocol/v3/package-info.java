/**
 * The wire records of Confluent's v3 API: records to produce (single, streamed, batched) as they
 * arrive, parsed incrementally, and the delivery reports written back.
 */
package io.portico.protocol.v3;
