package io.portico.proxy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Portico's configuration: immutable, validated once at start-up. Keys use Confluent's and
 * Kafka's names where they exist. Each key, its default, its check and its doc live together in
 * {@link Key}; {@link #from(Map)} fails with a {@link ConfigException} naming the first bad key.
 *
 * <p>Pass-through: {@code producer.*}, {@code consumer.*} and {@code admin.*} go to that client
 * with the prefix stripped; {@code client.*} and unprefixed Kafka client settings (e.g.
 * {@code security.protocol}) go to all three; {@code embedded.kafka.*} goes to the embedded
 * broker. Any other unknown key fails start-up, so a typo is never silently ignored.
 */
public record PorticoConfig(
        List<URI> listeners,
        String bootstrapServers,
        String hostName,
        List<URI> advertisedListeners,
        Path embeddedKafkaDir,
        Map<String, String> embeddedKafka,
        long requestBodyMaxBytes,
        Duration metadataTimeout,
        int produceThreads,
        int produceQueueSize,
        boolean showInternalTopics,
        Duration gracefulShutdown,
        int ioThreads,
        String serverId,
        Reads reads,
        Security security,
        RecordsLimits records,
        Operations operations,
        Map<String, Object> producer,
        Map<String, Object> consumer,
        Map<String, Object> admin) {

    /** The keys Portico itself reads, with their defaults and docs (the README's table is this list). */
    public enum Key {
        LISTENERS("listeners", "http://0.0.0.0:8082", "Comma-separated listener URLs, http:// or https://."),
        BOOTSTRAP_SERVERS("bootstrap.servers", "", "Kafka brokers. Empty: start an embedded single-node Kafka."),
        HOST_NAME("host.name", "", "Host name used in absolute URLs Portico returns; empty: the request's Host."),
        ADVERTISED_LISTENERS("advertised.listeners", "", "URLs clients reach this server at, for the base_uri of consumer instances (the one of the request's scheme); wins over host.name."),
        EMBEDDED_KAFKA_DIR("embedded.kafka.dir", "", "Data directory kept by the embedded Kafka; empty: a temporary one, deleted on exit."),
        REQUEST_BODY_MAX_BYTES("request.body.max.bytes", "16777216", "Largest request body accepted; larger gets 413."),
        METADATA_TIMEOUT_MS("metadata.timeout.ms", "5000", "Bound on waiting for Kafka metadata: a missing topic answers 404 after at most this long; admin calls time out after it."),
        PRODUCE_THREADS("produce.threads", "16", "Threads that hand produce requests to the producer."),
        PRODUCE_QUEUE_SIZE("produce.queue.size", "1024", "Produce requests that may wait for a thread; beyond it, 503."),
        TOPICS_SHOW_INTERNAL("topics.show.internal", "false", "Whether GET /topics lists internal topics such as __consumer_offsets."),
        SHUTDOWN_GRACEFUL_MS("shutdown.graceful.ms", "10000", "On shutdown, how long in-flight requests may take to finish."),
        IO_THREADS("io.threads", "0", "HTTP IO threads; 0 means one per core."),
        ID("id", "", "This server's id; generated consumer instance names include it."),
        CONSUMER_REQUEST_TIMEOUT_MS("consumer.request.timeout.ms", "1000", "How long a consumer read waits for records before answering []."),
        CONSUMER_REQUEST_MAX_BYTES("consumer.request.max.bytes", "67108864", "Cap on key+value bytes in one read response (max_bytes may lower it; the first record always comes back)."),
        CONSUMER_INSTANCE_TIMEOUT_MS("consumer.instance.timeout.ms", "300000", "Idle time after which a consumer instance is closed and leaves its group."),
        CONSUMER_INSTANCES_MAX("consumer.instances.max", "1000", "Consumer instances this server holds at most; creating one more answers 429."),
        CONSUMER_ASSIGNMENT_TIMEOUT_MS("consumer.assignment.timeout.ms", "10000", "How long the first read of an instance waits for its group to assign partitions."),
        CONSUMER_THREADS("consumer.threads", "64", "Threads that run consumer operations (reads long-poll on them)."),
        CONSUMER_QUEUE_SIZE("consumer.queue.size", "1024", "Consumer operations that may wait for a thread; beyond it, 503."),
        SIMPLECONSUMER_POOL_SIZE_MAX("simpleconsumer.pool.size.max", "25", "Consumers kept for reads by offset."),
        SIMPLECONSUMER_POOL_TIMEOUT_MS("simpleconsumer.pool.timeout.ms", "1000", "How long a read by offset waits for a free consumer before 503/50301."),
        READ_COUNT_MAX("read.count.max", "10000", "Largest count a read by offset may ask for; more answers 400."),
        AUTHENTICATION_METHOD("authentication.method", "NONE", "NONE, or API_KEY: every request needs a key from api.keys.file."),
        API_KEYS_FILE("api.keys.file", "", "The JSON file of API keys (see the README); re-read when it changes."),
        SSL_KEYSTORE_TYPE("ssl.keystore.type", "PKCS12", "PKCS12, JKS or PEM (a PKCS#8 private key and the certificate chain in one file)."),
        SSL_KEYSTORE_LOCATION("ssl.keystore.location", "", "The keystore of https listeners."),
        SSL_KEYSTORE_PASSWORD("ssl.keystore.password", "", "The keystore's password."),
        SSL_KEY_PASSWORD("ssl.key.password", "", "The private key's password, when it differs from the keystore's (PEM: of an encrypted key)."),
        SSL_CLIENT_AUTH("ssl.client.auth", "none", "none, requested or required: client certificates on https listeners."),
        SSL_TRUSTSTORE_TYPE("ssl.truststore.type", "PKCS12", "PKCS12, JKS or PEM: the CAs client certificates must chain to."),
        SSL_TRUSTSTORE_LOCATION("ssl.truststore.location", "", "The truststore for client certificates."),
        SSL_TRUSTSTORE_PASSWORD("ssl.truststore.password", "", "The truststore's password."),
        RECORDS_KEY_MAX_BYTES("records.key.max.bytes", "4096", "Records endpoint: largest key; larger answers 400."),
        RECORDS_VALUE_MAX_BYTES("records.value.max.bytes", "65536", "Records endpoint: largest value (the body); larger answers 400."),
        RECORDS_URI_MAX_BYTES("records.uri.max.bytes", "10240", "Records endpoint: longest request URI (key and headers ride in it); longer answers 414."),
        ADMIN_LISTENERS("admin.listeners", "", "Listeners for /health, /ready and /metrics only; when set, the main listeners do not serve them."),
        ACCESS_LOG_ENABLED("access.log.enabled", "true", "One line per request to the logger portico.access."),
        ACCESS_CONTROL_ALLOW_ORIGIN("access.control.allow.origin", "", "CORS: allowed origins, comma-separated, or *; empty: CORS off."),
        ACCESS_CONTROL_ALLOW_METHODS("access.control.allow.methods", "", "CORS: methods allowed in preflight answers (default GET,POST,PUT,DELETE,HEAD)."),
        ACCESS_CONTROL_ALLOW_HEADERS("access.control.allow.headers", "", "CORS: request headers allowed in preflight answers (default Origin,Accept,Content-Type,Authorization,X-Auth-Token,X-Requested-With)."),
        MAX_CONCURRENT_REQUESTS("max.concurrent.requests", "10000", "Requests in progress at most; beyond it, 503 with Retry-After."),
        PRODUCE_RECORDS_MAX("produce.records.max", "10000", "Records in one produce request at most; more answers 413."),
        PRODUCE_TIMEOUT_MS("produce.timeout.ms", "30000", "How long a produce waits for Kafka's acknowledgement before failing (the producer's delivery.timeout.ms)."),
        CLUSTER_CHECK_INTERVAL_MS("cluster.check.interval.ms", "5000", "How often Portico asks whether Kafka answers (for /ready and for reads while it is down).");

        private final String name;
        private final String defaultValue;
        private final String doc;

        Key(String name, String defaultValue, String doc) {
            this.name = name;
            this.defaultValue = defaultValue;
            this.doc = doc;
        }

        public String key() {
            return name;
        }

        public String defaultValue() {
            return defaultValue;
        }

        public String doc() {
            return doc;
        }
    }

    /** The settings of consumer instances and reads by offset. */
    public record Reads(
            Duration requestTimeout,
            long requestMaxBytes,
            Duration instanceTimeout,
            int instancesMax,
            Duration assignmentTimeout,
            int threads,
            int queueSize,
            int offsetReaders,
            Duration offsetReaderWait,
            int countMax) {
    }

    /** Authentication and TLS. Locations are null when not set. */
    public record Security(
            boolean apiKeys,
            Path apiKeysFile,
            String keystoreType,
            Path keystoreLocation,
            String keystorePassword,
            String keyPassword,
            String clientAuth,
            String truststoreType,
            Path truststoreLocation,
            String truststorePassword) {

        @Override
        public String toString() {
            return "Security[apiKeys=" + apiKeys + ", keystore=" + keystoreLocation + "]"; // no passwords
        }
    }

    /** Operations: admin listeners, access log, CORS, limits. */
    public record Operations(
            List<URI> adminListeners,
            boolean accessLog,
            String corsOrigins,
            String corsMethods,
            String corsHeaders,
            int maxConcurrentRequests,
            int produceRecordsMax,
            Duration produceTimeout,
            Duration clusterCheckInterval) {
        public Operations {
            adminListeners = List.copyOf(adminListeners);
        }
    }

    /** Size limits of the records endpoint. */
    public record RecordsLimits(int keyMaxBytes, int valueMaxBytes, int uriMaxBytes) {
    }

    /** Portico's default fetch size for consumers (Kafka's are 50 MiB / 1 MiB per partition). */
    static final int FETCH_MAX_BYTES = 384 * 1024;

    /** Producer settings Portico uses unless {@code producer.*} says otherwise. */
    static final Map<String, Object> PRODUCER_DEFAULTS = Map.of(
            ProducerConfig.LINGER_MS_CONFIG, "0",
            ProducerConfig.CLIENT_ID_CONFIG, "portico-producer");

    private static final Set<String> CLIENT_KEYS;

    static {
        CLIENT_KEYS = new java.util.HashSet<>();
        CLIENT_KEYS.addAll(ProducerConfig.configNames());
        CLIENT_KEYS.addAll(ConsumerConfig.configNames());
        CLIENT_KEYS.addAll(AdminClientConfig.configNames());
    }

    public PorticoConfig {
        listeners = List.copyOf(listeners);
        advertisedListeners = List.copyOf(advertisedListeners);
        if (security != null && security.keystoreLocation() == null
                && listeners.stream().anyMatch(u -> u.getScheme().equalsIgnoreCase("https"))) {
            throw new ConfigException(Key.SSL_KEYSTORE_LOCATION.key(), "an https listener needs a keystore");
        }
        embeddedKafka = Map.copyOf(embeddedKafka);
        producer = Map.copyOf(producer);
        consumer = Map.copyOf(consumer);
        admin = Map.copyOf(admin);
    }

    /** Whether Portico starts its own broker. */
    public boolean embedded() {
        return bootstrapServers == null;
    }

    /** The full producer configuration for the given bootstrap servers. */
    public Map<String, Object> producerConfig(String bootstrap) {
        Map<String, Object> out = new HashMap<>(PRODUCER_DEFAULTS);
        out.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(metadataTimeout.toMillis()));
        long produceTimeout = operations.produceTimeout().toMillis();
        out.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(produceTimeout));
        // Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms.
        out.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.min(30_000, produceTimeout)));
        out.putAll(producer);
        out.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return out;
    }

    /**
     * The consumer configuration shared by consumer instances and readers: the {@code consumer.*}
     * pass-through, with Kafka API calls (commits, offset lookups) bounded by {@code metadata.timeout.ms}.
     */
    public Map<String, Object> consumerConfig(String bootstrap) {
        Map<String, Object> out = new HashMap<>();
        out.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(metadataTimeout.toMillis()));
        // Fetch responses below half a G1 region of a small heap, so their buffers are not
        // humongous objects (which made most collections under load); consumers pipeline fetches.
        out.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(FETCH_MAX_BYTES));
        out.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(FETCH_MAX_BYTES));
        out.putAll(consumer);
        out.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return out;
    }

    /** The full admin-client configuration for the given bootstrap servers. */
    public Map<String, Object> adminConfig(String bootstrap) {
        Map<String, Object> out = new HashMap<>();
        out.put(AdminClientConfig.CLIENT_ID_CONFIG, "portico-admin");
        out.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(metadataTimeout.toMillis()));
        out.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(metadataTimeout.toMillis()));
        out.putAll(admin);
        out.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return out;
    }

    /** Defaults only. */
    public static PorticoConfig defaults() {
        return from(Map.of());
    }

    /** Validates {@code raw} (file and environment merged) into a config. */
    public static PorticoConfig from(Map<String, String> raw) {
        Map<String, String> own = new HashMap<>();
        for (Key k : Key.values()) {
            own.put(k.key(), k.defaultValue());
        }
        Map<String, Object> common = new TreeMap<>();
        Map<String, Object> producer = new TreeMap<>();
        Map<String, Object> consumer = new TreeMap<>();
        Map<String, Object> admin = new TreeMap<>();
        Map<String, String> embedded = new TreeMap<>();
        Set<String> ownNames = new java.util.HashSet<>();
        for (Key k : Key.values()) {
            ownNames.add(k.key());
        }
        for (Map.Entry<String, String> e : raw.entrySet()) {
            String key = e.getKey().trim();
            String value = e.getValue() == null ? "" : e.getValue().trim();
            if (ownNames.contains(key)) {
                own.put(key, value);
            } else if (key.startsWith("producer.")) {
                producer.put(key.substring("producer.".length()), value);
            } else if (key.startsWith("consumer.")) {
                consumer.put(key.substring("consumer.".length()), value);
            } else if (key.startsWith("admin.")) {
                admin.put(key.substring("admin.".length()), value);
            } else if (key.startsWith("client.")) {
                common.put(key.substring("client.".length()), value);
            } else if (key.startsWith("embedded.kafka.")) {
                embedded.put(key.substring("embedded.kafka.".length()), value);
            } else if (CLIENT_KEYS.contains(key)) {
                common.put(key, value);
            } else {
                throw new ConfigException(key, "unknown key (Portico keys are listed in the README; Kafka client "
                        + "settings take a producer., consumer., admin. or client. prefix)");
            }
        }
        producer = merge(common, producer);
        consumer = merge(common, consumer);
        admin = merge(common, admin);

        String bootstrap = own.get(Key.BOOTSTRAP_SERVERS.key());
        String hostName = own.get(Key.HOST_NAME.key());
        String dir = own.get(Key.EMBEDDED_KAFKA_DIR.key());
        return new PorticoConfig(
                listeners(Key.LISTENERS, own.get(Key.LISTENERS.key()), true),
                bootstrap.isEmpty() ? null : bootstrap,
                hostName.isEmpty() ? null : hostName,
                listeners(Key.ADVERTISED_LISTENERS, own.get(Key.ADVERTISED_LISTENERS.key()), false),
                dir.isEmpty() ? null : Path.of(dir),
                embedded,
                number(own, Key.REQUEST_BODY_MAX_BYTES, Long::parseLong, 1, Integer.MAX_VALUE),
                Duration.ofMillis(number(own, Key.METADATA_TIMEOUT_MS, Long::parseLong, 1, 3_600_000)),
                number(own, Key.PRODUCE_THREADS, Integer::parseInt, 1, 1024),
                number(own, Key.PRODUCE_QUEUE_SIZE, Integer::parseInt, 1, 1_000_000),
                bool(own, Key.TOPICS_SHOW_INTERNAL),
                Duration.ofMillis(number(own, Key.SHUTDOWN_GRACEFUL_MS, Long::parseLong, 0, 3_600_000)),
                number(own, Key.IO_THREADS, Integer::parseInt, 0, 256),
                own.get(Key.ID.key()),
                new Reads(
                        millis(own, Key.CONSUMER_REQUEST_TIMEOUT_MS, 1),
                        number(own, Key.CONSUMER_REQUEST_MAX_BYTES, Long::parseLong, 1, Long.MAX_VALUE),
                        millis(own, Key.CONSUMER_INSTANCE_TIMEOUT_MS, 1),
                        number(own, Key.CONSUMER_INSTANCES_MAX, Integer::parseInt, 1, 1_000_000),
                        millis(own, Key.CONSUMER_ASSIGNMENT_TIMEOUT_MS, 0),
                        number(own, Key.CONSUMER_THREADS, Integer::parseInt, 1, 4096),
                        number(own, Key.CONSUMER_QUEUE_SIZE, Integer::parseInt, 1, 1_000_000),
                        number(own, Key.SIMPLECONSUMER_POOL_SIZE_MAX, Integer::parseInt, 1, 10_000),
                        millis(own, Key.SIMPLECONSUMER_POOL_TIMEOUT_MS, 0),
                        number(own, Key.READ_COUNT_MAX, Integer::parseInt, 1, Integer.MAX_VALUE)),
                security(own),
                new RecordsLimits(
                        number(own, Key.RECORDS_KEY_MAX_BYTES, Integer::parseInt, 1, Integer.MAX_VALUE),
                        number(own, Key.RECORDS_VALUE_MAX_BYTES, Integer::parseInt, 1, Integer.MAX_VALUE),
                        number(own, Key.RECORDS_URI_MAX_BYTES, Integer::parseInt, 256, Integer.MAX_VALUE)),
                new Operations(
                        listeners(Key.ADMIN_LISTENERS, own.get(Key.ADMIN_LISTENERS.key()), false),
                        bool(own, Key.ACCESS_LOG_ENABLED),
                        own.get(Key.ACCESS_CONTROL_ALLOW_ORIGIN.key()),
                        own.get(Key.ACCESS_CONTROL_ALLOW_METHODS.key()),
                        own.get(Key.ACCESS_CONTROL_ALLOW_HEADERS.key()),
                        number(own, Key.MAX_CONCURRENT_REQUESTS, Integer::parseInt, 1, Integer.MAX_VALUE),
                        number(own, Key.PRODUCE_RECORDS_MAX, Integer::parseInt, 1, Integer.MAX_VALUE),
                        millis(own, Key.PRODUCE_TIMEOUT_MS, 1000),
                        millis(own, Key.CLUSTER_CHECK_INTERVAL_MS, 100)),
                producer, consumer, admin);
    }

    private static Map<String, Object> merge(Map<String, Object> common, Map<String, Object> specific) {
        Map<String, Object> out = new LinkedHashMap<>(common);
        out.putAll(specific);
        return out;
    }

    private static List<URI> listeners(Key key, String value, boolean required) {
        List<URI> out = new ArrayList<>();
        for (String part : value.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            URI uri;
            try {
                uri = URI.create(part.trim());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key.key(), "'" + part.trim() + "' is not a URL");
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new ConfigException(key.key(), "'" + part.trim()
                        + "': a listener is http://host:port or https://host:port");
            }
            if (uri.getHost() == null || uri.getPort() < 0 || uri.getPort() > 65535) {
                throw new ConfigException(key.key(), "'" + part.trim()
                        + "' must look like http://host:port (e.g. http://0.0.0.0:8082 or https://0.0.0.0:8443)");
            }
            out.add(uri);
        }
        if (out.isEmpty() && required) {
            throw new ConfigException(key.key(), "at least one listener is required");
        }
        return out;
    }

    private static <T extends Comparable<T>> T number(Map<String, String> own, Key key, Function<String, T> parse,
                                                     long min, long max) {
        String value = own.get(key.key());
        T parsed;
        try {
            parsed = parse.apply(value);
        } catch (NumberFormatException e) {
            throw new ConfigException(key.key(), "'" + value + "' is not a whole number");
        }
        long asLong = ((Number) parsed).longValue();
        if (asLong < min || asLong > max) {
            throw new ConfigException(key.key(), "'" + value + "' is out of range [" + min + ", " + max + "]");
        }
        return parsed;
    }

    private static Security security(Map<String, String> own) {
        String method = own.get(Key.AUTHENTICATION_METHOD.key()).toUpperCase(Locale.ROOT);
        boolean apiKeys = switch (method) {
            case "NONE" -> false;
            case "API_KEY" -> true;
            default -> throw new ConfigException(Key.AUTHENTICATION_METHOD.key(), "'" + method + "' is not NONE or API_KEY");
        };
        Path keysFile = path(own, Key.API_KEYS_FILE);
        if (apiKeys && keysFile == null) {
            throw new ConfigException(Key.API_KEYS_FILE.key(), "authentication.method=API_KEY needs the keys file");
        }
        String clientAuth = own.get(Key.SSL_CLIENT_AUTH.key()).toLowerCase(Locale.ROOT);
        if (!Set.of("none", "requested", "required").contains(clientAuth)) {
            throw new ConfigException(Key.SSL_CLIENT_AUTH.key(), "'" + clientAuth + "' is not none, requested or required");
        }
        return new Security(apiKeys, keysFile,
                storeType(own, Key.SSL_KEYSTORE_TYPE), path(own, Key.SSL_KEYSTORE_LOCATION),
                own.get(Key.SSL_KEYSTORE_PASSWORD.key()), own.get(Key.SSL_KEY_PASSWORD.key()), clientAuth,
                storeType(own, Key.SSL_TRUSTSTORE_TYPE), path(own, Key.SSL_TRUSTSTORE_LOCATION),
                own.get(Key.SSL_TRUSTSTORE_PASSWORD.key()));
    }

    private static String storeType(Map<String, String> own, Key key) {
        String type = own.get(key.key()).toUpperCase(Locale.ROOT);
        if (!Set.of("PKCS12", "JKS", "PEM").contains(type)) {
            throw new ConfigException(key.key(), "'" + type + "' is not PKCS12, JKS or PEM");
        }
        return type;
    }

    private static Path path(Map<String, String> own, Key key) {
        String value = own.get(key.key());
        return value.isEmpty() ? null : Path.of(value);
    }

    /** Whether a listener serves https. */
    public boolean hasHttpsListener() {
        return listeners.stream().anyMatch(u -> u.getScheme().equalsIgnoreCase("https"));
    }

    private static Duration millis(Map<String, String> own, Key key, long min) {
        return Duration.ofMillis(number(own, key, Long::parseLong, min, 86_400_000L * 365));
    }

    private static boolean bool(Map<String, String> own, Key key) {
        String value = own.get(key.key()).toLowerCase(Locale.ROOT);
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ConfigException(key.key(), "'" + value + "' is not true or false");
        };
    }
}
