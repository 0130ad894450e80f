package io.portico.protocol;

import static io.portico.protocol.KafkaMediaTypes.AVRO_V1;
import static io.portico.protocol.KafkaMediaTypes.BINARY_V1;
import static io.portico.protocol.KafkaMediaTypes.JSON;
import static io.portico.protocol.KafkaMediaTypes.JSON_V1;
import static io.portico.protocol.KafkaMediaTypes.KAFKA_JSON;
import static io.portico.protocol.KafkaMediaTypes.V1_JSON;
import static io.portico.protocol.KafkaMediaTypes.V1_METADATA;
import static io.portico.protocol.KafkaMediaTypes.V1_PARTITION_METADATA;
import static io.portico.protocol.KafkaMediaTypes.V1_RECORDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.portico.protocol.Negotiation.Offer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The v1 negotiation table of the reference (§2.1): client q first, then server qs, as Jersey does. */
class NegotiationTest {

    private static String select(String accept, List<Offer> offers) {
        MediaType chosen = Negotiation.select(accept, offers);
        return chosen == null ? null : chosen.essence();
    }

    private static EmbeddedFormat readFormat(String accept) {
        return KafkaMediaTypes.v1ReadFormat(Negotiation.select(accept, V1_RECORDS));
    }

    // --- metadata endpoints ---

    @Test
    void vagueAcceptGetsV1JsonForMetadata() {
        assertEquals(V1_JSON, select("*/*", V1_METADATA));
    }

    @Test
    void missingAcceptGetsV1JsonForMetadata() {
        assertEquals(V1_JSON, select(null, V1_METADATA));
        assertEquals(V1_JSON, select("", V1_METADATA));
    }

    @Test
    void eachGenericTypeCanBeAskedForByName() {
        assertEquals(V1_JSON, select(V1_JSON, V1_METADATA));
        assertEquals(KAFKA_JSON, select(KAFKA_JSON, V1_METADATA));
        assertEquals(JSON, select(JSON, V1_METADATA));
    }

    @Test
    void documentedAcceptWithWeightsGetsV1Json() {
        assertEquals(V1_JSON, select("application/vnd.kafka.v1+json; q=0.9, application/json; q=0.5", V1_METADATA));
    }

    @Test
    void clientWeightTimesServerWeightDecides() {
        // json: 1 × 0.5 = 0.5 beats v1+json: 0.1 × 0.9 = 0.09
        assertEquals(JSON, select("application/json;q=1, application/vnd.kafka.v1+json;q=0.1", V1_METADATA));
    }

    @Test
    void applicationWildcardGetsTheServersFavourite() {
        assertEquals(V1_JSON, select("application/*", V1_METADATA));
    }

    @Test
    void specificRangeOverridesTheWildcardItFallsUnder() {
        // v1+json: 0.5 × 0.9 = 0.45 (from its own range, not application/*) loses to json: 1 × 0.5
        assertEquals(JSON, select("application/*;q=0.5, application/json", V1_METADATA));
        assertEquals(JSON, select("*/*;q=0.1, application/json", V1_METADATA));
    }

    @Test
    void zeroWeightExcludesATypeEvenUnderAWildcard() {
        // v1 excluded: the next of the server's preferences, v2
        assertEquals(KafkaMediaTypes.V2_JSON, select("application/vnd.kafka.v1+json;q=0, */*", V1_METADATA));
        assertEquals(KAFKA_JSON, select("application/vnd.kafka.v1+json;q=0, application/vnd.kafka.v2+json;q=0, */*",
                V1_METADATA));
        assertNull(select("*/*;q=0", V1_METADATA));
        assertNull(select("application/json;q=0", V1_METADATA));
    }

    @Test
    void unacceptableTypeGetsNothingSoTheCallerAnswers406() {
        assertNull(select("text/html", V1_METADATA));
        assertNull(select("text/*", V1_METADATA));
        assertNull(select("text/html", V1_RECORDS));
    }

    @Test
    void acceptWithNothingParseableGetsNothing() {
        assertNull(select("garbage", V1_METADATA));
    }

    @Test
    void malformedAcceptElementsAreSkippedNotFatal() {
        assertEquals(JSON, select("garbage;;, application/json", V1_METADATA));
    }

    @Test
    void parametersInAcceptAreIgnored() {
        assertEquals(JSON, select("application/json; charset=utf-8", V1_METADATA));
    }

    @Test
    void acceptIsCaseInsensitive() {
        assertEquals(KAFKA_JSON, select("APPLICATION/VND.KAFKA+JSON", V1_METADATA));
        assertEquals(JSON, select("Application/Json;Q=1, application/vnd.kafka.v1+json;Q=0.1", V1_METADATA));
    }

    @Test
    void chosenTypeCarriesNoClientParameters() {
        MediaType chosen = Negotiation.select("application/json; q=0.7; charset=utf-8", V1_METADATA);
        assertEquals(new MediaType("application", "json", 1.0), chosen);
    }

    // --- partition metadata quirk ---

    @Test
    void vagueAcceptGetsV1JsonForPartitionMetadata() {
        assertEquals(V1_JSON, select("*/*", V1_PARTITION_METADATA));
    }

    @Test
    void partitionMetadataAlsoAnswersEmbeddedFormatTypes() {
        assertEquals(BINARY_V1, select(BINARY_V1, V1_PARTITION_METADATA));
        assertEquals(AVRO_V1, select(AVRO_V1, V1_PARTITION_METADATA));
        assertEquals(JSON_V1, select(JSON_V1, V1_PARTITION_METADATA));
        assertNull(select(BINARY_V1, V1_METADATA));
    }

    // --- record reads ---

    @Test
    void vagueAcceptGetsBinaryForRecords() {
        assertEquals(BINARY_V1, select("*/*", V1_RECORDS));
        assertEquals(EmbeddedFormat.BINARY, readFormat("*/*"));
    }

    @Test
    void missingAcceptGetsBinaryForRecords() {
        assertEquals(BINARY_V1, select(null, V1_RECORDS));
        assertEquals(EmbeddedFormat.BINARY, readFormat(null));
    }

    @Test
    void applicationWildcardGetsBinaryForRecords() {
        assertEquals(BINARY_V1, select("application/*", V1_RECORDS));
    }

    @Test
    void explicitJsonV1AcceptSelectsJsonForRecords() {
        assertEquals(JSON_V1, select(JSON_V1, V1_RECORDS));
        assertEquals(EmbeddedFormat.JSON, readFormat(JSON_V1));
    }

    @Test
    void explicitAvroV1AcceptSelectsAvroForRecords() {
        assertEquals(AVRO_V1, select(AVRO_V1, V1_RECORDS));
        assertEquals(EmbeddedFormat.AVRO, readFormat(AVRO_V1));
    }

    @Test
    void explicitBinaryV1AcceptSelectsBinaryForRecords() {
        assertEquals(BINARY_V1, select(BINARY_V1, V1_RECORDS));
        assertEquals(EmbeddedFormat.BINARY, readFormat(BINARY_V1));
    }

    @Test
    void genericAcceptTypesSelectBinaryDecodingForRecords() {
        assertEquals(V1_JSON, select(V1_JSON, V1_RECORDS));
        assertEquals(KAFKA_JSON, select(KAFKA_JSON, V1_RECORDS));
        assertEquals(JSON, select(JSON, V1_RECORDS));
        assertEquals(EmbeddedFormat.BINARY, readFormat(V1_JSON));
        assertEquals(EmbeddedFormat.BINARY, readFormat(KAFKA_JSON));
        assertEquals(EmbeddedFormat.BINARY, readFormat(JSON));
    }

    @Test
    void jsonV1WithCharsetSelectsJsonForRecords() {
        assertEquals(EmbeddedFormat.JSON, readFormat("application/vnd.kafka.json.v1+json; charset=utf-8"));
    }

    @Test
    void upperCaseJsonV1AcceptSelectsJsonForRecords() {
        assertEquals(EmbeddedFormat.JSON, readFormat("APPLICATION/VND.KAFKA.JSON.V1+JSON"));
    }

    @Test
    void jsonV1NextToAWildcardStillLosesToBinary() {
        // binary: 1 × 1.0 beats json.v1: 1 × 0.1 — the low qs makes binary win for vague clients
        assertEquals(BINARY_V1, select("application/vnd.kafka.json.v1+json, */*", V1_RECORDS));
    }

    @Test
    void equalScoresGoToTheEarlierOffer() {
        assertEquals(JSON_V1, select(AVRO_V1 + ", " + JSON_V1, V1_RECORDS));
        List<Offer> offers = List.of(Offer.of("application/a", 0.5), Offer.of("application/b", 0.5));
        assertEquals("application/a", select("application/b, application/a", offers));
    }
    // --- v2 record reads ---

    private static EmbeddedFormat v2ReadFormat(String accept) {
        return KafkaMediaTypes.v2ReadFormat(Negotiation.select(accept, KafkaMediaTypes.V2_RECORDS));
    }

    @Test
    void aV2ReadOfVagueOrGenericTypesIsBinary() {
        assertEquals(EmbeddedFormat.BINARY, v2ReadFormat("*/*"));
        assertEquals(EmbeddedFormat.BINARY, v2ReadFormat(null));
        assertEquals(EmbeddedFormat.BINARY, v2ReadFormat(JSON));
        assertEquals(EmbeddedFormat.BINARY, v2ReadFormat(KAFKA_JSON));
        assertEquals(EmbeddedFormat.BINARY, v2ReadFormat("application/vnd.kafka.v2+json"));
    }

    @Test
    void aNamedV2FormatListedWithAGenericJsonTypeIsThatFormat() {
        // Confluent's v2 reads do not offer the generic types: only the named format's reader matches.
        assertEquals(EmbeddedFormat.JSON, v2ReadFormat("application/vnd.kafka.json.v2+json, application/json"));
        assertEquals(EmbeddedFormat.JSON, v2ReadFormat("application/json, application/vnd.kafka.json.v2+json"));
        assertEquals(EmbeddedFormat.AVRO, v2ReadFormat("application/vnd.kafka.avro.v2+json, application/vnd.kafka+json"));
        assertEquals(EmbeddedFormat.JSONSCHEMA, v2ReadFormat("application/vnd.kafka.jsonschema.v2+json, application/json"));
        assertEquals(EmbeddedFormat.PROTOBUF, v2ReadFormat("application/vnd.kafka.protobuf.v2+json, application/json"));
        // Binary's own generic type still outweighs them (Confluent's binary reader offers v2+json).
        assertEquals(EmbeddedFormat.BINARY, v2ReadFormat("application/vnd.kafka.json.v2+json, application/vnd.kafka.v2+json"));
    }
}
