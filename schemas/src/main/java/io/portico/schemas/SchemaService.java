package io.portico.schemas;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.portico.protocol.ConsumedRecord;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import io.portico.schemas.RegistryClient.Registered;
import io.portico.schemas.RegistryClient.SchemaText;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * The schema formats' service, shared by every dialect: finds the schema a key or value is
 * produced with (a schema given as text looked up under its subject and registered when the
 * subject lacks it, or one looked up by id, by version or as a subject's latest), frames what it serializes as Confluent's serializers do, and renders stored
 * records back as JSON, looking their schemas up by the id each carries.
 *
 * <p>Schemas are cached, parsed, in bounded Caffeine caches (by id, by text under a subject, by
 * version; a subject's latest version for a few seconds), so the registry is asked once per
 * schema, not per record. A call that must ask the registry blocks for at most the registry
 * timeout (for each configured URL): call it from a worker pool. Concurrent look-ups of one
 * schema share one call. Thread-safe.
 *
 * <p>Errors are {@link RestException}s: a registry that does not answer is 503 (retriable); one
 * that refuses (an incompatible schema, an unknown id, subject or version) is 422/42205 with its
 * reason; one that answers otherwise (it does not take this server's credentials, its URL is not a
 * registry's, its answer is not one of its API's) is 500, the server's failure; a schema that does
 * not parse is 422/42205; data that does not fit its schema is for the caller to report
 * ({@link ParsedSchema.InvalidDataException}, see {@link Resolved#serialize}).
 */
public final class SchemaService {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SchemaService.class);
    /**
     * The most characters a schema's text may have, with the texts of the schemas it references:
     * a schema is a client's text, parsed on a shared pool before the registry is asked, and
     * Confluent's registry keeps its schemas as records of a Kafka topic, which a broker takes up to
     * 1 MiB by default. Checked before the text is read at all.
     */
    public static final int MAX_SCHEMA_CHARS = 1 << 20;

    /** How long a subject's latest version is remembered. */
    private static final Duration LATEST_TTL = Duration.ofSeconds(5);

    /** The subject name strategies of Confluent's serializers (v3's {@code subject_name_strategy}). */
    public enum SubjectStrategy { TOPIC_NAME, RECORD_NAME, TOPIC_RECORD_NAME }

    /**
     * The schema a key or value is produced with: the subject it is under (null when only its id
     * was given, in v1 and v2), its id, its version there (null when unknown) and the parsed schema.
     */
    public record Resolved(String subject, int id, Integer version, ParsedSchema schema) {
        /**
         * {@code json} serialized in the schema and framed with its id.
         *
         * @throws ParsedSchema.InvalidDataException when the JSON does not fit the schema
         */
        public byte[] serialize(byte[] json) {
            return schema.encodeFramed(id, json);
        }
    }

    private record TextKey(String subject, SchemaType type, String text) {
    }

    private record VersionKey(String subject, String version) {
    }

    /** A schema id under a subject. */
    private record IdKey(String subject, int id) {
    }

    /**
     * The version a schema id has under a subject; or, {@code version} null, why the registry
     * refused the look-up ({@code refusal}: the subject does not have it, mostly).
     */
    private record SubjectVersion(Integer version, String refusal) {
    }

    private final RegistryClient client;
    private final Duration wait;
    private final AsyncCache<Integer, ParsedSchema> byId;
    /** The type of each schema id a JSON Schema record was read with (reading one needs no more). */
    private final AsyncCache<Integer, SchemaType> typeById;
    private final AsyncCache<TextKey, Resolved> byText;
    private final AsyncCache<VersionKey, Resolved> byVersion;
    private final AsyncCache<VersionKey, Resolved> latest;
    /** The texts of schemas other schemas reference, by subject and version. */
    private final AsyncCache<VersionKey, SchemaText> referenced;
    /** The most text one schema's references may hold together, in characters (a part of a cache's share). */
    private final long maxReferencedChars;
    /**
     * Subjects and versions the registry said it does not have, for {@link #NOT_FOUND_TTL}: a
     * client sending a misspelt schema name again and again asks the registry about it once a
     * second, not on every request.
     */
    private final Cache<VersionKey, String> notFound;
    private static final Duration NOT_FOUND_TTL = Duration.ofSeconds(1);
    /**
     * Schema ids whose schema the registry does not have or that cannot be used (it does not
     * parse, it is over the bounds), for {@link #FAILED_ID_TTL}: failed look-ups are not cached,
     * and a consumer stuck at a record framed with such an id fetched and parsed its schema (up to
     * 1 Mi characters) again on every poll.
     */
    private final Cache<Integer, RestException> failedIds;
    static final Duration FAILED_ID_TTL = Duration.ofSeconds(5);
    /**
     * The versions of schema ids under subjects, as v3's produce by id reports them: the registry
     * is asked once per subject and id, not per record, and a record by id is produced while it
     * does not answer. That a subject does not have an id (the record is refused) is remembered
     * for {@link #NOT_UNDER_SUBJECT_TTL} only (it may be registered there since).
     */
    private final AsyncCache<IdKey, SubjectVersion> versions;
    private static final Duration NOT_UNDER_SUBJECT_TTL = Duration.ofSeconds(30);

    /**
     * @param cacheMaxBytes bound on the schema text the caches hold (each cache gets a share; a
     *        parsed schema costs a few times its text)
     */
    public SchemaService(RegistryClient client, long cacheMaxBytes) {
        this.client = client;
        RegistryClient.Settings s = client.settings();
        this.wait = s.timeout().multipliedBy(s.urls().size()).plusSeconds(1);
        long share = Math.max(1, cacheMaxBytes / 5);
        // One schema and its references must fit a cache's share, or they would be fetched anew each time.
        this.maxReferencedChars = Math.max(1024, share / 16);
        // An entry heavier than its cache's maximum is evicted as it is put: a schema of more than
        // about 400,000 characters (with 16 MiB of caches) would be fetched and parsed for every
        // record. No entry weighs more than half a share, so one of any size allowed (at most
        // MAX_SCHEMA_CHARS, with its references) stays cached as often as its use earns; what it
        // costs beyond its weight is bounded by that size, two such entries a cache at most.
        int most = (int) Math.min(Integer.MAX_VALUE, Math.max(1, share / 2));
        this.byId = Caffeine.newBuilder().maximumWeight(share)
                .weigher((Integer k, ParsedSchema v) -> Math.min(most, weight(v))).buildAsync();
        this.typeById = Caffeine.newBuilder().maximumSize(Math.max(16, share / 1024)).buildAsync();
        this.byText = Caffeine.newBuilder().maximumWeight(share)
                .weigher((TextKey k, Resolved v) -> (int) Math.min(most, (long) weight(k.text()) + weight(v.schema())))
                .buildAsync();
        this.byVersion = Caffeine.newBuilder().maximumWeight(share)
                .weigher((VersionKey k, Resolved v) -> Math.min(most, weight(v.schema()))).buildAsync();
        this.latest = Caffeine.newBuilder().maximumWeight(share).expireAfterWrite(LATEST_TTL)
                .weigher((VersionKey k, Resolved v) -> Math.min(most, weight(v.schema()))).buildAsync();
        this.referenced = Caffeine.newBuilder().maximumWeight(share)
                .weigher((VersionKey k, SchemaText v) -> Math.min(most, weight(v.text()))).buildAsync();
        this.notFound = Caffeine.newBuilder().maximumWeight(Math.max(1, share / 16)).expireAfterWrite(NOT_FOUND_TTL)
                .executor(Runnable::run)
                .weigher((VersionKey k, String v) -> weight(k.subject()) + weight(v)).build();
        this.failedIds = Caffeine.newBuilder().maximumWeight(Math.max(1, share / 16)).expireAfterWrite(FAILED_ID_TTL)
                .executor(Runnable::run)
                .weigher((Integer k, RestException v) -> weight(v.getMessage())).build();
        this.versions = Caffeine.newBuilder().maximumWeight(Math.max(1, share / 16))
                .expireAfter(Expiry.writing((IdKey k, SubjectVersion v) -> v.version() == null ? NOT_UNDER_SUBJECT_TTL
                        : Duration.ofNanos(Long.MAX_VALUE)))
                .weigher((IdKey k, SubjectVersion v) -> weight(k.subject()) + (v.refusal() == null ? 0 : weight(v.refusal())))
                .buildAsync();
    }

    private static int weight(String text) {
        return weight(text.length());
    }

    /** A parsed schema costs a few times its text, and the texts of the schemas it references with it. */
    private static int weight(ParsedSchema schema) {
        return weight(schema.canonical().length() + (schema instanceof Referencing r ? r.referencedChars() : 0));
    }

    private static int weight(long chars) {
        return (int) Math.min(Integer.MAX_VALUE, 256L + 8L * chars);
    }

    /**
     * Runs {@code work}, which serializes values of {@code bytes} bytes in all (a request's), with
     * one budget for the work of every JSON Schema {@code pattern} it meets: 100,000 characters
     * read and 32 more per byte (see {@link BoundedPatterns}), and one for the JSON Schema keywords
     * it evaluates: 1,000,000 and 64 more per byte (see {@link BoundedValidation}).
     */
    public static <T> T patternsWithin(long bytes, java.util.function.Supplier<T> work) {
        return BoundedValidation.within(bytes, work);
    }

    /** The subject of the topic-name strategy: {@code <topic>-key} or {@code <topic>-value}. */
    public static String topicSubject(String topic, boolean key) {
        return topic + (key ? "-key" : "-value");
    }

    /**
     * Parses a schema given as text (it is not registered).
     *
     * @throws RestException 422/42205 when it does not parse as {@code type}
     */
    public static ParsedSchema parse(SchemaType type, String text) {
        return parse(type, text, Map.of());
    }

    /**
     * Parses a schema that may use the schemas of {@code references} by their reference names,
     * each listed after the ones it uses itself.
     *
     * @throws RestException 422/42205 when it, or a reference it uses, does not parse as {@code type}
     */
    static ParsedSchema parse(SchemaType type, String text, Map<String, String> references) {
        return parse(type, text, references, true);
    }

    /**
     * As {@link #parse(SchemaType, String, Map)}; {@code asNew} false for a schema read from the
     * registry, whose avro field defaults are not checked (as Confluent's serializers read them).
     */
    private static ParsedSchema parse(SchemaType type, String text, Map<String, String> references, boolean asNew) {
        long chars = text.length();
        for (String reference : references.values()) {
            chars += reference.length();
        }
        if (chars > MAX_SCHEMA_CHARS) {
            throw ErrorCode.INVALID_SCHEMA.exception("the schema" + (references.isEmpty() ? "" : " and its references")
                    + " have " + chars + " characters; at most " + MAX_SCHEMA_CHARS + " characters are taken");
        }
        try {
            return switch (type) {
                case AVRO -> AvroFormat.parse(text, references, asNew);
                case JSON -> JsonSchemaFormat.parse(text, references);
                case PROTOBUF -> ProtobufFormat.parse(text, references);
            };
        } catch (ParsedSchema.InvalidSchemaException e) {
            throw ErrorCode.INVALID_SCHEMA.exception(e.getMessage());
        } catch (io.portico.protocol.RestException e) {
            throw e;
        } catch (RuntimeException e) {
            // A parser failing otherwise on a text it was given: the schema's fault, not the
            // registry's (a 503 would have its client retry it for good).
            LOG.debug("A {} schema failed to parse", type, e);
            throw ErrorCode.INVALID_SCHEMA.exception("the schema could not be read: " + e.getClass().getSimpleName());
        }
    }

    // ---- produce: v1 and v2

    /**
     * The schema of v1 and v2's {@code key_schema}/{@code value_schema} (registered under
     * {@code subject} unless it already is) or {@code key_schema_id}/{@code value_schema_id}
     * (which must be a schema of {@code format}'s type registered under {@code subject}, as
     * Confluent's v2 and v3 both require: the subject's compatibility rule holds for every
     * record produced under it).
     *
     * @throws RestException 422/42205 for a schema that does not parse or that the registry
     *         refuses, or an id it does not know; 422/42207 for an id not registered under
     *         {@code subject}; 503 when it does not answer
     */
    public Resolved forProduce(EmbeddedFormat format, String subject, String rawSchema, Integer schemaId) {
        SchemaType type = SchemaType.of(format);
        if (rawSchema != null) {
            return register(subject, type, rawSchema);
        }
        ParsedSchema schema = ofId(format, schemaId).schema();
        return new Resolved(subject, schemaId, versionOf(subject, schemaId, schema), schema);
    }

    /**
     * Schema {@code id}, which must be of {@code format}'s type, whatever subjects hold it.
     *
     * @throws RestException as {@link #forProduce} for an id
     */
    Resolved ofId(EmbeddedFormat format, int id) {
        ParsedSchema schema = byId(id);
        requireType(schema, SchemaType.of(format), "schema id " + id);
        return new Resolved(null, id, null, schema);
    }

    // ---- produce: v3

    /**
     * The schema of a v3 key or value: given as text ({@code rawSchema}, registered unless it
     * already is), by
     * {@code schemaId}, by {@code schemaVersion} of the subject, or else the subject's latest
     * version. The subject is {@code subject} when given, else the one {@code strategy} names
     * (the topic name by default). {@code type} is null when the request gave none: the
     * registry's type is then taken.
     *
     * @throws RestException 422/42206 when the fields do not fit together or the subject is
     *         {@code .} or {@code ..}, 422/42205 as {@link #forProduce}, 422/42207 when
     *         {@code schemaId} is not registered under the subject (as Confluent's v3 refuses
     *         it), 503 when the registry does not answer
     */
    public Resolved forV3(SchemaType type, String topic, boolean key, String subject, SubjectStrategy strategy,
                          Integer schemaId, Integer schemaVersion, String rawSchema) {
        return forV3(type, topic, key, subject, strategy, schemaId, schemaVersion, rawSchema, target -> { });
    }

    /**
     * As {@link #forV3(SchemaType, String, boolean, String, SubjectStrategy, Integer, Integer, String)},
     * calling {@code mayUse} with the subject once it is known, before it is registered under or
     * looked up: it throws to refuse it (an API key that may not use that subject).
     */
    public Resolved forV3(SchemaType type, String topic, boolean key, String subject, SubjectStrategy strategy,
                          Integer schemaId, Integer schemaVersion, String rawSchema,
                          java.util.function.Consumer<String> mayUse) {
        if (subject != null) {
            requirePathSegment(subject, "subject");
        }
        SubjectStrategy s = strategy == null ? SubjectStrategy.TOPIC_NAME : strategy;
        if (rawSchema != null) {
            if (type == null) {
                throw ErrorCode.PAYLOAD_ERROR.exception("A raw schema needs its type (AVRO, JSONSCHEMA or PROTOBUF).");
            }
            // Only the record-name strategies need the schema parsed to name the subject; otherwise a
            // schema produced before is found by its text, without parsing it again.
            String target = subject != null ? subject : s == SubjectStrategy.TOPIC_NAME ? topicSubject(topic, key)
                    : subject(s, topic, key, parse(type, rawSchema));
            mayUse.accept(target);
            return register(target, type, rawSchema);
        }
        if (schemaId != null) {
            ParsedSchema schema = byId(schemaId);
            requireType(schema, type, "schema id " + schemaId);
            String target = subject != null ? subject : subject(s, topic, key, schema);
            mayUse.accept(target);
            Integer version = versionOf(target, schemaId, schema);
            return new Resolved(target, schemaId, version, schema);
        }
        String target = subject;
        if (target == null) {
            if (s == SubjectStrategy.RECORD_NAME || s == SubjectStrategy.TOPIC_RECORD_NAME) {
                throw ErrorCode.PAYLOAD_ERROR.exception("The " + s + " subject name strategy needs a schema or a "
                        + "schema_id to take the record name from.");
            }
            target = topicSubject(topic, key);
        }
        mayUse.accept(target);
        Resolved found = schemaVersion != null ? version(target, Integer.toString(schemaVersion)) : latest(target);
        requireType(found.schema(), type, "version " + found.version() + " of subject " + target);
        return found;
    }

    // ---- produce: the records endpoint

    /**
     * Version {@code version} ({@code latest} or a number) of {@code subject}: the schema that
     * the records endpoint's {@code schemaname} and {@code schemaversion} name.
     *
     * @throws RestException 404 when the registry has no such subject or version (any version
     *         other than a number or latest included), 422/42205 when its schema does not parse or
     *         the registry refuses the look-up otherwise, 503 when it does not answer
     */
    public Resolved subjectVersion(String subject, String version) {
        String what = "version " + version + " of subject '" + subject + "'";
        if (!version.equals("latest") && !version.matches("[1-9][0-9]{0,8}") || subject.equals(".") || subject.equals("..")) {
            // A Confluent-compatible registry numbers versions; "." and ".." are no path segment of one.
            throw ErrorCode.SCHEMA_NOT_FOUND.exception("the schema registry has no " + what
                    + " (a version is a number, or latest)");
        }
        VersionKey k = new VersionKey(subject, version);
        String missing = notFound.getIfPresent(k);
        if (missing != null) {
            throw ErrorCode.SCHEMA_NOT_FOUND.exception(missing);
        }
        try {
            return version.equals("latest") ? latest(subject) : version(subject, version);
        } catch (RestException e) {
            // Confluent's codes for no such subject, no such version: any other 404 (a wrong
            // schema.registry.url, say) is the registry's failure, not the client's.
            if (e.getCause() instanceof RegistryException r && (r.errorCode() == 40401 || r.errorCode() == 40402)) {
                String message = "the schema registry has no " + what + " (" + r.errorCode() + "): " + r.getMessage();
                notFound.put(k, message);
                throw ErrorCode.SCHEMA_NOT_FOUND.exception(message);
            }
            throw e;
        }
    }

    private static String subject(SubjectStrategy s, String topic, boolean key, ParsedSchema schema) {
        if (s == SubjectStrategy.TOPIC_NAME) {
            return topicSubject(topic, key);
        }
        String name = schema.recordName();
        if (name == null || name.isEmpty()) {
            throw ErrorCode.PAYLOAD_ERROR.exception("The " + s + " subject name strategy needs a record name, and the "
                    + schema.type() + " schema has none" + (schema.type() == SchemaType.JSON ? " (no title)" : "") + ".");
        }
        if (s == SubjectStrategy.RECORD_NAME) {
            requirePathSegment(name, "record name (the " + s + " subject name strategy's subject)");
            return name;
        }
        return topic + "-" + name;
    }

    /**
     * Refuses a subject of {@code .} or {@code ..} (422/42206) before the registry is asked: as a
     * path segment, which the registry's URLs take it as ({@code .} is not encoded), it names no
     * subject but the path above it, {@code POST /subjects/..} reaching the registry's root; its
     * answer there is no look-up's, and the request would fail as the server's fault (500),
     * although it can never succeed.
     */
    private static void requirePathSegment(String subject, String what) {
        if (subject.equals(".") || subject.equals("..")) {
            throw ErrorCode.PAYLOAD_ERROR.exception("The " + what + " '" + subject + "' cannot be used: the schema "
                    + "registry's URLs would read it as a path, not as a subject.");
        }
    }

    private static void requireType(ParsedSchema schema, SchemaType type, String what) {
        if (type != null && schema.type() != type) {
            throw ErrorCode.INVALID_SCHEMA.exception(what + " is a " + schema.type() + " schema, not "
                    + type.format().wireName());
        }
    }

    // ---- consume

    /**
     * The headers in which Confluent's serializers (8.0 on, {@code HeaderSchemaIdSerializer}) carry
     * a key's and a value's schema id instead of framing the payload with it: magic byte 1 and the
     * schema's GUID (with protobuf's message indexes), the payload itself then unframed.
     */
    static final String KEY_SCHEMA_ID_HEADER = "__key_schema_id";
    /** As {@link #KEY_SCHEMA_ID_HEADER}, for the value. */
    static final String VALUE_SCHEMA_ID_HEADER = "__value_schema_id";

    /**
     * The record with its key and value rendered as JSON text in {@code format}, each schema
     * looked up by the id the bytes carry; a null key or value stays null.
     *
     * @throws RestException 50002 naming the record's offset when a key or value is not in
     *         Confluent's framing, carries its schema id in a header (not supported), carries an
     *         id the registry does not know or of another type, or does not decode; 503 when the
     *         registry does not answer
     */
    public ConsumedRecord decode(EmbeddedFormat format, ConsumedRecord r) {
        byte[] key = r.key() == null ? null : toJson(format, r.key(), "key", r);
        byte[] value = r.value() == null ? null : toJson(format, r.value(), "value", r);
        return new ConsumedRecord(r.topic(), key, value, r.partition(), r.offset(), r.timestamp(), r.headers());
    }

    private byte[] toJson(EmbeddedFormat format, byte[] stored, String field, ConsumedRecord r) {
        String what = "the " + field + " of the record at offset " + r.offset() + " of partition " + r.partition();
        String header = field.equals("key") ? KEY_SCHEMA_ID_HEADER : VALUE_SCHEMA_ID_HEADER;
        if (hasHeader(r, header)) {
            // Confluent's deserializers take the header's id before any prefix: such a payload is
            // not framed, and read as framed (an avro payload often starts with 0) it would be
            // shown in whatever schema its first bytes happen to name, as if it were right.
            throw ErrorCode.KAFKA_ERROR.exception(what + " has its schema id in its " + header + " header (a "
                    + "schema GUID), which is not supported yet; read it in the binary embedded format");
        }
        if (!Framing.isFramed(stored)) {
            throw ErrorCode.KAFKA_ERROR.exception(what + " is not in the schema registry's wire format (magic byte 0 "
                    + "and a 4-byte schema id); read it in the binary embedded format");
        }
        int id = Framing.schemaId(stored);
        // A JSON Schema record is shown as its JSON text, which its schema does not change: only
        // the id's type is needed (Confluent's deserializer validates nothing either), so a schema
        // Portico would refuse to produce with (a loop of $refs, a huge generated one) does not
        // make its topic unreadable. Avro and protobuf records decode with their schema.
        boolean textAlone = format == EmbeddedFormat.JSONSCHEMA;
        ParsedSchema schema = null;
        SchemaType found;
        try {
            if (textAlone) {
                found = typeById(id);
            } else {
                schema = byId(id);
                found = schema.type();
            }
        } catch (RestException e) {
            if (e.errorCode() == ErrorCode.INVALID_SCHEMA) {
                throw ErrorCode.KAFKA_ERROR.exception(what + " has schema id " + id + ": " + e.getMessage());
            }
            throw e;
        }
        if (found != SchemaType.of(format)) {
            throw ErrorCode.KAFKA_ERROR.exception(what + " has schema id " + id + ", a " + found
                    + " schema; read it in the " + found.format().wireName() + " embedded format");
        }
        try {
            return textAlone ? JsonSchemaFormat.text(stored) : schema.toJson(stored);
        } catch (ParsedSchema.InvalidDataException e) {
            throw ErrorCode.KAFKA_ERROR.exception(what + " (schema id " + id + ") does not decode: " + e.getMessage());
        }
    }

    /** Whether {@code r} has a header named {@code name}, whatever its value. */
    private static boolean hasHeader(ConsumedRecord r, String name) {
        for (io.portico.protocol.RecordHeader h : r.headers()) {
            if (name.equals(h.key())) {
                return true;
            }
        }
        return false;
    }

    // ---- look-ups, cached

    /** The type of schema {@code id}, without parsing it when it is not parsed already. */
    private SchemaType typeById(int id) {
        return rememberingFailure(id, () -> await(cached(typeById, id, (k, executor) -> {
            ParsedSchema parsed = byId.synchronous().getIfPresent(k);
            return parsed != null ? CompletableFuture.completedFuture(parsed.type())
                    : client.byId(k).thenApply(SchemaText::type);
        }), "schema id " + id));
    }

    private ParsedSchema byId(int id) {
        return rememberingFailure(id, () -> await(cached(byId, id,
                (k, executor) -> client.byId(k).thenCompose(text -> fromRegistry(text, "schema id " + k))), "schema id " + id));
    }

    /**
     * {@code lookUp}'s answer for schema {@code id}, unless the id failed so within
     * {@link #FAILED_ID_TTL} (unknown to the registry, or a schema that does not parse): that
     * failure again, without asking the registry, so a reader stuck at such a record does not ask
     * it once a read.
     */
    private <T> T rememberingFailure(int id, java.util.function.Supplier<T> lookUp) {
        RestException failed = failedIds.getIfPresent(id);
        if (failed != null) {
            throw failed;
        }
        try {
            return lookUp.get();
        } catch (RestException e) {
            if (e.errorCode() == ErrorCode.INVALID_SCHEMA || e.errorCode() == ErrorCode.SCHEMA_NOT_FOUND) {
                failedIds.put(id, e);
            }
            throw e;
        }
    }

    /**
     * A schema given as text under {@code subject}, as Confluent's proxy finds it: looked up first
     * ({@code POST /subjects/{subject}}), and registered only when the registry answers that the
     * subject or the schema is not there, so a schema already registered is produced with under a
     * subject in READONLY mode or with credentials that may only read. Cached.
     */
    private Resolved register(String subject, SchemaType type, String rawSchema) {
        return await(cached(byText, new TextKey(subject, type, rawSchema), (k, executor) -> {
            ParsedSchema parsed;
            try {
                parsed = parse(type, rawSchema);
            } catch (RestException e) {
                return CompletableFuture.failedFuture(e);
            }
            SchemaText text = new SchemaText(type, parsed.canonical());
            return client.lookup(subject, text)
                    .thenApply(found -> new Resolved(subject, found.id(), found.version(), parsed))
                    .exceptionallyCompose(error -> !notRegistered(error) ? CompletableFuture.failedFuture(error)
                            : client.register(subject, text).thenCompose(id -> client.lookup(subject, text).handle(
                                    (found, e) -> new Resolved(subject, id, e == null ? found.version() : null, parsed))))
                    .whenComplete((resolved, error) -> {
                        if (resolved != null) {
                            // The asynchronous map's putIfAbsent does not wait for a load of the id in
                            // progress (the synchronous view's would, on a registry answer thread).
                            byId.asMap().putIfAbsent(resolved.id(), CompletableFuture.completedFuture(parsed));
                        }
                    });
        }), "the schema under subject '" + subject + "'");
    }

    /** {@code error} without the future's wrappers around its cause. */
    /**
     * Whether a look-up failed as Confluent's registry answers it for a schema a subject does not
     * have: 40401 (no such subject) or 40403 (no such schema).
     */
    private static boolean notRegistered(Throwable error) {
        Throwable c = RestException.unwrap(error);
        return c instanceof RegistryException r && r.refused() && (r.errorCode() == 40401 || r.errorCode() == 40403);
    }

    /**
     * The version schema {@code id} has under {@code subject}, cached. A record by an id its
     * subject does not have is refused, as Confluent's v3 refuses it ("Error when fetching schema
     * version"): the subject's compatibility rule holds for every record produced under it. The
     * look-up sends {@code schema}'s {@link ParsedSchema#canonical} text and references: the
     * registry's own for a schema fetched from it (see {@link #fromRegistry}).
     *
     * @throws RestException 422/42207 when the registry refuses the look-up (the subject does not
     *         have the id: 40401, 40403), 503 when it does not answer, 500 when it fails
     */
    private int versionOf(String subject, int id, ParsedSchema schema) {
        SubjectVersion found = await(cached(versions, new IdKey(subject, id), (k, executor) -> client.lookup(subject,
                new SchemaText(schema.type(), schema.canonical(), schema.references())).handle((answer, error) -> {
                    if (error == null) {
                        return CompletableFuture.completedFuture(new SubjectVersion(answer.version(), null));
                    }
                    Throwable c = RestException.unwrap(error);
                    // The registry's authorization refusing this server (40301) is not cached as an answer: 403.
                    if (!(c instanceof RegistryException r && r.refused()
                            && r.errorCode() != ErrorCode.KAFKA_AUTHORIZATION_ERROR.code())) {
                        return CompletableFuture.<SubjectVersion>failedFuture(c);
                    }
                    String refusal = notRegistered(r)
                            ? "Schema id " + id + " is not registered under subject '" + subject + "'"
                            : "The schema registry refused to look schema id " + id + " up under subject '" + subject + "'";
                    return CompletableFuture.completedFuture(new SubjectVersion(null,
                            refusal + " (" + r.errorCode() + ": " + r.getMessage() + ")"));
                }).thenCompose(f -> f)), "subject '" + subject + "'");
        if (found.version() == null) {
            throw ErrorCode.SERIALIZATION_ERROR.exception(found.refusal());
        }
        return found.version();
    }

    private Resolved version(String subject, String version) {
        return await(cached(byVersion, new VersionKey(subject, version), this::loadVersion),
                "version " + version + " of subject '" + subject + "'");
    }

    private Resolved latest(String subject) {
        return await(cached(latest, new VersionKey(subject, "latest"), this::loadVersion),
                "the latest version of subject '" + subject + "'");
    }

    private CompletableFuture<Resolved> loadVersion(VersionKey k, java.util.concurrent.Executor executor) {
        return client.byVersion(k.subject(), k.version()).thenCompose(found -> byId
                .get(found.id(), (id, e) -> fromRegistry(found.schema(), "schema id " + id))
                .thenApply(parsed -> new Resolved(k.subject(), found.id(), found.version(), parsed)));
    }

    /**
     * A schema the registry gave, parsed, with the schemas it references (fetched, at most
     * {@value #MAX_REFERENCED}). It keeps the registry's own text and references, which a look-up of
     * it under a subject sends ({@link #versionOf}): a registry that compares a look-up's text as
     * given (Apicurio 3.0.x) does not find a schema registered as, say, pretty-printed text by the
     * form Portico writes it in.
     */
    private CompletableFuture<ParsedSchema> fromRegistry(SchemaText text, String what) {
        if (text.references().isEmpty()) {
            try {
                return CompletableFuture.completedFuture(new Referencing(parseFromRegistry(text, Map.of(), what), text, 0));
            } catch (RestException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        References closure = new References(text.type(), what);
        return closure.fetch(text.references())
                .thenApply(done -> new Referencing(parseFromRegistry(text, closure.inOrder(text.references()), what),
                        text, closure.chars()));
    }

    private static ParsedSchema parseFromRegistry(SchemaText text, Map<String, String> references, String what) {
        try {
            return parse(text.type(), text.text(), references, false);
        } catch (RestException e) {
            throw ErrorCode.INVALID_SCHEMA.exception("the registry's " + what + " does not parse: " + e.getMessage());
        }
    }

    /** The most schemas one schema may reference, directly or through others. */
    static final int MAX_REFERENCED = 100;

    /**
     * The schemas one schema references, directly or through the ones it references: every
     * version named fetched from the registry (concurrently, each cached), then ordered as
     * Confluent's serializers resolve them: depth first, each after the ones it uses, the first
     * schema met under a name taking it (a name met again, a cycle included, is skipped).
     */
    private final class References {
        private final SchemaType type;
        private final String what;
        private final Map<VersionKey, SchemaText> fetched = new java.util.concurrent.ConcurrentHashMap<>();
        private final java.util.Set<VersionKey> asked = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private final java.util.concurrent.atomic.AtomicLong chars = new java.util.concurrent.atomic.AtomicLong();

        References(SchemaType type, String what) {
            this.type = type;
            this.what = what;
        }

        CompletableFuture<Void> fetch(List<RegistryClient.Reference> references) {
            List<CompletableFuture<Void>> pending = new ArrayList<>();
            for (RegistryClient.Reference r : references) {
                VersionKey key;
                try {
                    key = keyOf(r);
                } catch (RestException e) {
                    return CompletableFuture.failedFuture(e);
                }
                if (!asked.add(key)) {
                    continue;
                }
                if (asked.size() > MAX_REFERENCED) {
                    return refused("it references more than " + MAX_REFERENCED + " schemas");
                }
                pending.add(referenced(key).handle((text, error) -> {
                    if (error != null) {
                        return CompletableFuture.<Void>failedFuture(failed(r, error));
                    }
                    if (text.type() != type) {
                        return refused("its reference '" + r.name() + "' is a " + text.type() + " schema, not " + type);
                    }
                    if (chars.addAndGet(text.text().length()) > maxReferencedChars) {
                        return refused("the schemas it references hold more than " + maxReferencedChars + " characters");
                    }
                    fetched.put(key, text);
                    return fetch(text.references());
                }).thenCompose(f -> f));
            }
            return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new));
        }

        private VersionKey keyOf(RegistryClient.Reference r) {
            if (r.version() == -1) {
                return new VersionKey(r.subject(), "latest");
            }
            if (r.version() < 1) {
                throw ErrorCode.INVALID_SCHEMA.exception("the registry's " + what + " cannot be used: its reference '"
                        + r.name() + "' names version " + r.version() + " (a version is 1 or more, or -1 for the latest)");
            }
            return new VersionKey(r.subject(), Integer.toString(r.version()));
        }

        /** A reference the registry cannot give: unavailable stays 503, a failure 500; any refusal names the reference. */
        private Throwable failed(RegistryClient.Reference r, Throwable error) {
            Throwable c = RestException.unwrap(error);
            if (c instanceof RegistryException registry && registry.refused()
                    && registry.errorCode() == ErrorCode.KAFKA_AUTHORIZATION_ERROR.code()) {
                return ErrorCode.KAFKA_AUTHORIZATION_ERROR.exception("the schema registry does not authorize this server "
                        + "for the registry's " + what + "'s reference '" + r.name() + "' (version " + r.version()
                        + " of subject '" + r.subject() + "'): " + registry.getMessage());
            }
            if (c instanceof RegistryException registry && registry.refused()) {
                return ErrorCode.INVALID_SCHEMA.exception("the registry's " + what + " cannot be used: its reference '"
                        + r.name() + "' (version " + r.version() + " of subject '" + r.subject() + "'): the registry answered "
                        + registry.errorCode() + ": " + registry.getMessage());
            }
            return c;
        }

        private CompletableFuture<Void> refused(String why) {
            return CompletableFuture.failedFuture(ErrorCode.INVALID_SCHEMA.exception("the registry's " + what + " cannot be used: "
                    + why));
        }

        /** Every referenced schema's text by reference name, in the order they are to be parsed. */
        Map<String, String> inOrder(List<RegistryClient.Reference> roots) {
            Map<String, String> out = new java.util.LinkedHashMap<>();
            visit(roots, out, new java.util.HashSet<>());
            return out;
        }

        private void visit(List<RegistryClient.Reference> references, Map<String, String> out, java.util.Set<String> visited) {
            for (RegistryClient.Reference r : references) {
                if (!visited.add(r.name())) {
                    continue;
                }
                SchemaText text = fetched.get(keyOf(r));
                visit(text.references(), out, visited);
                out.put(r.name(), text.text());
            }
        }

        long chars() {
            return chars.get();
        }
    }

    /**
     * A referenced version's text (soft-deleted versions too, as records written before the
     * deletion still need them): a numbered version cached, the latest asked each time.
     */
    private CompletableFuture<SchemaText> referenced(VersionKey k) {
        if (k.version().equals("latest")) {
            return client.byVersion(k.subject(), k.version(), true).thenApply(Registered::schema);
        }
        return referenced.get(k, (key, executor) -> client.byVersion(key.subject(), key.version(), true)
                .thenApply(Registered::schema));
    }

    /**
     * Thrown by a look-up inside {@link #cachedOnly} whose answer is not cached (nothing is
     * started for it). Without a stack trace: it is a signal, not an error.
     */
    public static final class NeedsRegistry extends RuntimeException {
        private static final long serialVersionUID = 1L;

        private NeedsRegistry() {
            super("the schema registry must be asked", null, false, false);
        }
    }

    private static final NeedsRegistry NEEDS_REGISTRY = new NeedsRegistry();
    private static final ThreadLocal<Boolean> CACHED_ONLY = new ThreadLocal<>();

    /**
     * Runs {@code work} (produce's serialization, say), whose look-ups answer from what is cached
     * and throw {@link NeedsRegistry} rather than parse a schema or ask the registry: so that a request whose
     * schemas are known runs where no request waiting for a slow registry can hold it up, and only
     * one that must wait is run again where waiting is allowed. {@code work} must be safe to run
     * again (nothing done before the look-ups that cannot be done twice).
     *
     * @throws NeedsRegistry when a look-up's answer is not cached
     */
    public static <T> T cachedOnly(java.util.function.Supplier<T> work) {
        Boolean outer = CACHED_ONLY.get();
        CACHED_ONLY.set(Boolean.TRUE);
        try {
            return work.get();
        } finally {
            if (outer == null) {
                CACHED_ONLY.remove();
            }
        }
    }

    /**
     * {@code cache}'s value of {@code key}, {@code loader} looking it up when absent; inside
     * {@link #cachedOnly}, only a value there already: nothing is started (parsed, or asked of
     * the registry) on that thread, and {@link NeedsRegistry} is thrown instead.
     */
    private static <K, V> CompletableFuture<V> cached(AsyncCache<K, V> cache, K key,
            java.util.function.BiFunction<? super K, ? super java.util.concurrent.Executor,
                    ? extends CompletableFuture<? extends V>> loader) {
        if (CACHED_ONLY.get() != null) {
            CompletableFuture<V> there = cache.getIfPresent(key);
            if (there == null || !there.isDone()) {
                throw NEEDS_REGISTRY;
            }
            return there;
        }
        return cache.get(key, loader);
    }

    /** Waits for a look-up, at most the registry's bound, translating its failure. */
    private <T> T await(CompletableFuture<T> future, String what) {
        if (!future.isDone() && CACHED_ONLY.get() != null) {
            throw NEEDS_REGISTRY;
        }
        try {
            return future.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw unavailable("the schema registry did not answer within " + wait.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable("interrupted while waiting for the schema registry");
        } catch (ExecutionException | CompletionException e) {
            throw translate(e.getCause() == null ? e : e.getCause(), what);
        }
    }

    private static RuntimeException translate(Throwable cause, String what) {
        Throwable c = RestException.unwrap(cause);
        if (c instanceof RestException rest) {
            return rest;
        }
        if (c instanceof RegistryException r) {
            if (r.unavailable()) {
                return unavailable(r.getMessage());
            }
            if (!r.refused()) {
                // Not the client's fault: this server's credentials or registry URL, or the registry.
                return new RestException(ErrorCode.INTERNAL_SERVER_ERROR, "the schema registry cannot be asked for "
                        + what + ": " + r.getMessage(), r);
            }
            if (r.errorCode() == ErrorCode.KAFKA_AUTHORIZATION_ERROR.code()) {
                return new RestException(ErrorCode.KAFKA_AUTHORIZATION_ERROR, "the schema registry does not authorize "
                        + "this server for " + what + ": " + r.getMessage(), r);
            }
            return new RestException(ErrorCode.INVALID_SCHEMA, "the schema registry refused " + what + " ("
                    + r.errorCode() + "): " + r.getMessage(), r);
        }
        if (c instanceof java.io.IOException) {
            return unavailable("the schema registry call failed: " + c.getMessage());
        }
        LOG.error("Using the schema registry for {} failed unexpectedly", what, c);
        return new RestException(ErrorCode.INTERNAL_SERVER_ERROR, "the schema for " + what + " could not be used", c);
    }

    private static RestException unavailable(String detail) {
        return ErrorCode.SERVICE_UNAVAILABLE.exception(detail + "; retry later");
    }

    /** A function for {@code ConsumerRegistry}: records of {@code format} decoded by {@link #decode}. */
    public Function<ConsumedRecord, ConsumedRecord> decoder(EmbeddedFormat format) {
        return r -> decode(format, r);
    }
}
