package io.portico.protocol;

import io.portico.protocol.Negotiation.Offer;
import java.util.List;

/**
 * The Kafka REST media types and the negotiation tables of the Confluent v1 API.
 *
 * <p>Grammar: {@code application/vnd.kafka[.<embedded format>].<api version>+json}. The embedded
 * format of a produce comes from the request {@code Content-Type} (json and avro need their exact
 * type; every vague type means binary). The embedded format of a read comes from {@code Accept}.
 */
public final class KafkaMediaTypes {
    public static final String V1_JSON = "application/vnd.kafka.v1+json";
    public static final String KAFKA_JSON = "application/vnd.kafka+json";
    public static final String JSON = "application/json";
    public static final String OCTET_STREAM = "application/octet-stream";
    public static final String BINARY_V1 = "application/vnd.kafka.binary.v1+json";
    public static final String JSON_V1 = "application/vnd.kafka.json.v1+json";
    public static final String AVRO_V1 = "application/vnd.kafka.avro.v1+json";

    public static final String V2_JSON = "application/vnd.kafka.v2+json";
    public static final String BINARY_V2 = "application/vnd.kafka.binary.v2+json";
    public static final String JSON_V2 = "application/vnd.kafka.json.v2+json";
    public static final String AVRO_V2 = "application/vnd.kafka.avro.v2+json";
    public static final String JSONSCHEMA_V2 = "application/vnd.kafka.jsonschema.v2+json";
    public static final String PROTOBUF_V2 = "application/vnd.kafka.protobuf.v2+json";

    /**
     * Response types of metadata, produce and consumer-management endpoints for a v1 request;
     * {@code *}{@code /*} gets v1+json, a client asking for v2 gets v2.
     */
    public static final List<Offer> V1_METADATA = List.of(
            Offer.of(V1_JSON, 0.9), Offer.of(V2_JSON, 0.85), Offer.of(KAFKA_JSON, 0.8), Offer.of(JSON, 0.5));

    /** As {@link #V1_METADATA} for a v2 request (one whose body is a v2 type): vague clients get v2+json. */
    public static final List<Offer> V2_METADATA = List.of(
            Offer.of(V2_JSON, 0.9), Offer.of(V1_JSON, 0.85), Offer.of(KAFKA_JSON, 0.8), Offer.of(JSON, 0.5));

    /**
     * Response types of v2 consumer-management calls: as {@link #V2_METADATA}, plus the embedded
     * v2 types at a low weight, so that a client may send one {@code Accept} for every call on a
     * consumer (as Confluent's proxy allows).
     */
    public static final List<Offer> V2_CONSUMERS = List.of(
            Offer.of(V2_JSON, 0.9), Offer.of(V1_JSON, 0.85), Offer.of(KAFKA_JSON, 0.8), Offer.of(JSON, 0.5),
            Offer.of(BINARY_V2, 0.1), Offer.of(JSON_V2, 0.1), Offer.of(AVRO_V2, 0.1), Offer.of(JSONSCHEMA_V2, 0.1),
            Offer.of(PROTOBUF_V2, 0.1));

    /**
     * Response types of v2 consumer reads ({@code GET …/records}): binary for vague clients, the
     * other embedded formats when asked for by name. The generic JSON types ({@code application/json},
     * {@code application/vnd.kafka+json}), which Confluent's v2 reads do not offer, read binary
     * when alone but weigh less than a named type: {@code json.v2, application/json} reads the
     * json format, as on Confluent's proxy, where only the json reader matches it.
     */
    public static final List<Offer> V2_RECORDS = List.of(
            Offer.of(BINARY_V2, 1.0), Offer.of(V2_JSON, 0.9), Offer.of(KAFKA_JSON, 0.05), Offer.of(JSON, 0.04),
            Offer.of(JSON_V2, 0.1), Offer.of(AVRO_V2, 0.1), Offer.of(JSONSCHEMA_V2, 0.1), Offer.of(PROTOBUF_V2, 0.1));

    /**
     * Response types of the v1 partition metadata endpoints: as {@link #V1_METADATA}, plus the
     * embedded-format types at a low weight (a quirk of Confluent's resource class that clients rely on).
     */
    public static final List<Offer> V1_PARTITION_METADATA = List.of(
            Offer.of(V1_JSON, 0.9), Offer.of(V2_JSON, 0.85), Offer.of(KAFKA_JSON, 0.8), Offer.of(JSON, 0.5),
            Offer.of(BINARY_V1, 0.1), Offer.of(AVRO_V1, 0.1), Offer.of(JSON_V1, 0.1));

    /** Response types of the v1 consumer-instance endpoints (create, commit): as the partition metadata ones. */
    public static final List<Offer> V1_CONSUMERS = V1_PARTITION_METADATA;

    /**
     * Response types of v1 reads: binary wins for vague clients; json and avro only when asked for;
     * the generic types select the binary decoding.
     */
    public static final List<Offer> V1_RECORDS = List.of(
            Offer.of(BINARY_V1, 1.0), Offer.of(V1_JSON, 0.9), Offer.of(KAFKA_JSON, 0.8), Offer.of(JSON, 0.5),
            Offer.of(JSON_V1, 0.1), Offer.of(AVRO_V1, 0.1));

    private KafkaMediaTypes() {
    }

    /**
     * The embedded format a v1 produce body uses, from its {@code Content-Type}. A missing
     * Content-Type is read as binary, like {@code application/octet-stream}.
     *
     * @throws RestException 415 ({@link ErrorCode#UNSUPPORTED_MEDIA_TYPE}) when the type is not one a
     *         v1 produce consumes, or not a media type at all; never another exception
     */
    public static EmbeddedFormat v1ProduceFormat(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            return EmbeddedFormat.BINARY;
        }
        EmbeddedFormat cached = PRODUCE_FORMATS.get(contentType);
        if (cached != null) {
            return cached;
        }
        EmbeddedFormat format = parseV1ProduceFormat(contentType);
        if (contentType.length() <= CACHED_LENGTH_LIMIT && PRODUCE_FORMATS.size() < CACHE_LIMIT) {
            PRODUCE_FORMATS.put(contentType, format);
        }
        return format;
    }

    /**
     * Content types seen, by their exact header text (clients send a handful, over and over). Only
     * short ones are kept: a header may be a megabyte long, and a thousand of those would stay forever.
     */
    private static final java.util.concurrent.ConcurrentHashMap<String, EmbeddedFormat> PRODUCE_FORMATS =
            new java.util.concurrent.ConcurrentHashMap<>();
    private static final int CACHE_LIMIT = 1024;
    static final int CACHED_LENGTH_LIMIT = 256;

    /** Whether {@link #v1ProduceFormat} remembers its answer for this exact header text. */
    static boolean isProduceFormatCached(String contentType) {
        return PRODUCE_FORMATS.containsKey(contentType);
    }

    private static EmbeddedFormat parseV1ProduceFormat(String contentType) {
        MediaType type = MediaType.parse(contentType);
        if (type != null) {
            switch (type.essence()) {
                case BINARY_V1, V1_JSON, KAFKA_JSON, JSON, OCTET_STREAM:
                    return EmbeddedFormat.BINARY;
                case JSON_V1:
                    return EmbeddedFormat.JSON;
                case AVRO_V1:
                    return EmbeddedFormat.AVRO;
                default:
                    break;
            }
        }
        throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
    }

    /**
     * Whether a consumer request with a generic body (create consumer, commit; v1's and v2's, which
     * share these routes), or {@code POST /}, may carry this {@code Content-Type}: any Kafka v1 or
     * v2 type, the generic JSON types, {@code application/octet-stream}, or none. False (the caller
     * answers 415) for every other value, a malformed one included; never throws.
     */
    public static boolean isV1GenericBody(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            return true;
        }
        MediaType type = MediaType.parse(contentType);
        if (type == null) {
            return false;
        }
        return switch (type.essence()) {
            case BINARY_V1, JSON_V1, AVRO_V1, V1_JSON, KAFKA_JSON, JSON, OCTET_STREAM,
                 V2_JSON, BINARY_V2, JSON_V2, AVRO_V2, JSONSCHEMA_V2, PROTOBUF_V2 -> true;
            default -> false;
        };
    }

    /** The API version a request body's {@code Content-Type} names: 2 for any v2 type, else 1. */
    public static int apiVersion(String contentType) {
        return namedVersion(contentType) == 2 ? 2 : 1;
    }

    /**
     * The API version of a request with a body: the one its {@code Content-Type} names; for a type
     * that names none ({@code application/json}, {@code application/vnd.kafka+json},
     * {@code application/octet-stream}, none), 2 when its {@code Accept} names a v2 type and no
     * v1 type (a v2 client sending plain JSON, whose commit body must not be taken for v1's
     * commit of everything returned), else 1.
     */
    public static int apiVersion(String contentType, String accept) {
        int named = namedVersion(contentType);
        if (named != 0) {
            return named;
        }
        return acceptedVersion(accept) == 2 ? 2 : 1;
    }

    /**
     * The API version an {@code Accept} names: 1 when it lists a v1 Kafka type (not refused with
     * {@code q=0}), else 2 when it lists a v2 one, else 0.
     */
    private static int acceptedVersion(String accept) {
        if (accept == null || accept.indexOf('+') < 0) { // no Kafka type: nothing to parse (*/*, application/json)
            return 0;
        }
        int version = 0;
        for (MediaType range : MediaType.parseAccept(accept)) {
            if (range.quality() <= 0 || !range.subtype().startsWith("vnd.kafka")) {
                continue;
            }
            if (range.subtype().endsWith(".v1+json")) {
                return 1;
            }
            if (range.subtype().endsWith(".v2+json")) {
                version = 2;
            }
        }
        return version;
    }

    /**
     * Whether a request names v1 itself: its {@code Content-Type} is a v1 Kafka type, or its
     * {@code Accept} lists one (not refused with {@code q=0}). A v1 client's commit, whose body
     * Confluent's v1 proxy ignores, says so; a body under generic headers does not.
     */
    public static boolean namesV1(String contentType, String accept) {
        return namedVersion(contentType) == 1 || acceptedVersion(accept) == 1;
    }

    /** 1 or 2 when the type is a Kafka type naming that version, else 0. */
    private static int namedVersion(String contentType) {
        if (contentType == null || contentType.isBlank()) {
            return 0;
        }
        MediaType type = MediaType.parse(contentType);
        if (type == null || !type.subtype().startsWith("vnd.kafka")) {
            return 0;
        }
        return type.subtype().endsWith(".v2+json") ? 2 : type.subtype().endsWith(".v1+json") ? 1 : 0;
    }

    /**
     * The embedded format a v2 produce body uses, from its {@code Content-Type}: binary, json, or
     * a schema format (which the caller answers 415 for until a registry exists).
     *
     * @throws RestException 415 when the type is not one a v2 produce consumes
     */
    public static EmbeddedFormat v2ProduceFormat(String contentType) {
        MediaType type = MediaType.parse(contentType);
        if (type != null) {
            switch (type.essence()) {
                case BINARY_V2, V2_JSON:
                    return EmbeddedFormat.BINARY;
                case JSON_V2:
                    return EmbeddedFormat.JSON;
                case AVRO_V2:
                    return EmbeddedFormat.AVRO;
                case JSONSCHEMA_V2:
                    return EmbeddedFormat.JSONSCHEMA;
                case PROTOBUF_V2:
                    return EmbeddedFormat.PROTOBUF;
                default:
                    break;
            }
        }
        throw ErrorCode.UNSUPPORTED_MEDIA_TYPE.exception();
    }

    /** The embedded format a negotiated v2 read type selects: each by name, every vague type binary. */
    public static EmbeddedFormat v2ReadFormat(MediaType negotiated) {
        return switch (negotiated.essence()) {
            case JSON_V2 -> EmbeddedFormat.JSON;
            case AVRO_V2 -> EmbeddedFormat.AVRO;
            case JSONSCHEMA_V2 -> EmbeddedFormat.JSONSCHEMA;
            case PROTOBUF_V2 -> EmbeddedFormat.PROTOBUF;
            default -> EmbeddedFormat.BINARY;
        };
    }

    /** The embedded format a negotiated v1 read type selects: json and avro by name, every other type binary. */
    public static EmbeddedFormat v1ReadFormat(MediaType negotiated) {
        return switch (negotiated.essence()) {
            case JSON_V1 -> EmbeddedFormat.JSON;
            case AVRO_V1 -> EmbeddedFormat.AVRO;
            default -> EmbeddedFormat.BINARY;
        };
    }
}
