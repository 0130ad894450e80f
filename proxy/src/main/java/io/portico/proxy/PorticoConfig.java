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
        boolean internalTopicsProduce,
        Duration gracefulShutdown,
        int ioThreads,
        String serverId,
        Reads reads,
        Sse sse,
        Security security,
        RecordsLimits records,
        SchemaRegistry schemaRegistry,
        Operations operations,
        Idempotency idempotency,
        Memory memory,
        Connections connections,
        Map<String, Object> producer,
        Map<String, Object> consumer,
        Map<String, Object> admin,
        Streaming streaming,
        Nodes nodes,
        Quotas quotas) {

    /**
     * The keys Portico itself reads: each defined once, with what its value may be, its default
     * and its documentation. Parsing, start-up errors, the environment names and the README's
     * configuration table all come from this list (a test compares the README with it).
     */
    public enum Key {
        LISTENERS("listeners", Setting.listeners(), "http://0.0.0.0:8082",
                "Comma-separated listener URLs, http:// or https://."),
        BOOTSTRAP_SERVERS("bootstrap.servers", Setting.string(), "",
                "The Kafka cluster. Not set: start an embedded single-node Kafka; set but empty stops start-up."),
        HOST_NAME("host.name", Setting.string(), "",
                "Host name for absolute URLs Portico returns (with the request's port): a name or address alone, no scheme, port or path (else start-up stops); empty: the request's Host."),
        ADVERTISED_LISTENERS("advertised.listeners", Setting.advertised(), "",
                "URLs clients reach this server at, for the base_uri of consumer instances and v3 links (the one of the request's scheme; a path, a gateway's prefix, is kept); wins over host.name."),
        EMBEDDED_KAFKA_DIR("embedded.kafka.dir", Setting.path(), "",
                "Data directory the embedded Kafka keeps across restarts; empty: a temporary one, deleted on exit."),
        ID("id", Setting.string(), "", "This server's id, 1 to 64 letters, digits, '.', '_' and '-'; generated consumer instance names include it. With nodes.secret it is the node's id, which must differ from every other node's (empty: the host name and a random part, new at each start)."),
        IO_THREADS("io.threads", Setting.integer(0, 256), "0", "HTTP IO threads; 0 means one per core."),
        METADATA_TIMEOUT_MS("metadata.timeout.ms", Setting.millis(1, 3_600_000), "5000",
                "Bound on a request's Kafka metadata waits: a missing topic answers 404, an unreachable cluster 503, within it (also the producer's max.block.ms unless producer.max.block.ms is set)."),
        SHUTDOWN_GRACEFUL_MS("shutdown.graceful.ms", Setting.millis(0, 3_600_000), "10000",
                "On shutdown, how long requests in progress may take to finish."),
        TOPICS_SHOW_INTERNAL("topics.show.internal", Setting.bool(), "false",
                "Whether GET /topics lists internal topics such as __consumer_offsets."),
        INTERNAL_TOPICS_PRODUCE_ALLOWED("internal.topics.produce.allowed", Setting.bool(), "false",
                "Whether produce requests may write to internal topics (names starting with __); they are never created or deleted through Portico."),

        // Requests and connections
        REQUEST_BODY_MAX_BYTES("request.body.max.bytes", Setting.bytes(1, Integer.MAX_VALUE), "16777216",
                "Largest request body; larger answers 413."),
        REQUEST_HEADERS_MAX_BYTES("request.headers.max.bytes", Setting.integer(1024, 16 << 20), "65536",
                "Largest request line and headers together; larger answers 400 and the connection is closed."),
        REQUEST_HEADER_TIMEOUT_MS("request.header.timeout.ms", Setting.millis(1, 3_600_000), "10000",
                "Time a client has to send a request's line and headers once it started (on HTTP/2, a header block's "
                        + "frames from its HEADERS frame on, up to three times that while Portico is not reading the "
                        + "connection); then the connection is closed."),
        REQUEST_BODY_TIMEOUT_MS("request.body.timeout.ms", Setting.millis(1, 3_600_000), "30000",
                "Longest pause while a request body arrives; then 408 and the connection is closed."),
        CONNECTIONS_IDLE_TIMEOUT_MS("connections.idle.timeout.ms", Setting.millis(1, 86_400_000), "60000",
                "A connection with no request in progress (a new one too) is closed after this long."),
        HTTP2_ENABLED("http2.enabled", Setting.bool(), "true",
                "HTTP/2 on every listener: h2 by ALPN over TLS, h2c by prior knowledge and by upgrade."),
        HTTP2_MAX_CONCURRENT_STREAMS("http2.max.concurrent.streams", Setting.integer(1, 10_000), "100",
                "Streams one HTTP/2 connection may have open at once (each may buffer a 64 KiB window), as its SETTINGS announce; a client that ignores them is refused (429) past twice as many."),
        CONNECTIONS_MAX("connections.max", Setting.integer(1, 10_000_000), "10000",
                "Open connections at most (per listener; all listeners, admin ones included, never more than half the process's file-descriptor limit together); beyond it new ones are answered 503 and closed (on https closed before the handshake, unanswered)."),
        CONNECTIONS_PER_ADDRESS_MAX("connections.per.address.max", Setting.integer(1, 10_000_000), "5000",
                "Open connections from one client address at most (per listener), so that one host cannot take every place of connections.max; beyond it that address's new ones are answered 503 and closed (on https closed before the handshake, unanswered). Unless set, half of a listener's cap (connections.max, or less where the open-files limit lowers it; at least 1). Behind a load balancer or proxy whose connections to Portico all come from one address, set it to connections.max.",
                "half of a listener's cap"),
        MAX_CONCURRENT_REQUESTS("max.concurrent.requests", Setting.integer(1, Integer.MAX_VALUE), "10000",
                "Requests in progress at most; beyond it, 503 with Retry-After."),
        REQUESTS_PER_KEY_MAX("requests.per.key.max", Setting.integer(1, Integer.MAX_VALUE), "5000",
                "Requests one API key (or basic-authentication user) may have in progress at once on this server (event streams and long polls included); one more answers 429 with Retry-After, so that one key (whose bodies may arrive a byte at a time) cannot take every place of max.concurrent.requests. Unless set, half of max.concurrent.requests (at least 1); with authentication off there is one caller and no such bound.",
                "half of max.concurrent.requests"),
        REQUESTS_PER_ADDRESS_MAX("requests.per.address.max", Setting.integer(1, Integer.MAX_VALUE), "5000",
                "Requests from one client address (an IPv6 client by its /64) in progress at once on this server, authenticated or not, counted before routing and authentication (404s, 401s and HTTP/2 streams included); one more answers 429 with Retry-After, so that one host cannot take every place of max.concurrent.requests, with no API key or with many. Unless set, half of max.concurrent.requests (at least 1), or all of them when connections.per.address.max is set to connections.max or more (one address is a load balancer's). Requests other Portico nodes relay (with the node secret) are not counted: their callers were, at the relaying node. Behind a load balancer or proxy whose connections to Portico all come from one address, set it to max.concurrent.requests (or connections.per.address.max to connections.max).",
                "half of max.concurrent.requests"),
        ADMIN_REQUESTS_MAX("admin.requests.max", Setting.integer(1, 100_000), "32",
                "Requests answered from the shared Kafka admin client (as admin.requests.per.key.max counts them, but only those without a body: reads and deletes) in progress at once on this server, all callers together, authentication on or off; one more answers 503 with Retry-After. A create or change is counted per key only: its place would be taken before its body arrives. Kafka's admin client sends one call at a time to each broker and queues the rest, so this bounds how long a queue HTTP callers can build ahead of every other caller's metadata look-up."),
        ADMIN_REQUESTS_PER_KEY_MAX("admin.requests.per.key.max", Setting.integer(1, 100_000), "8",
                "Requests answered from the shared Kafka admin client (v1/v2 topic, partition and broker metadata, v3 clusters, brokers, topics, partitions, configs, consumer groups and lags, /admin/topics) one API key (or basic-authentication user) may have in progress at once on this server; one more answers 429 with Retry-After, so that one key's many calls cannot slow the admin client every other key (and /ready) waits on. With authentication off there is one caller and no such bound."),

        // Memory
        MEMORY_REQUESTS_MAX_BYTES("memory.requests.max.bytes", Setting.bytes(1 << 20, Long.MAX_VALUE), "15%",
                "Budget for request bodies as they arrive and produce records until Kafka acknowledges them (a body byte counts twice: raw and decoded)."),
        MEMORY_RESPONSES_MAX_BYTES("memory.responses.max.bytes", Setting.bytes(1 << 20, Long.MAX_VALUE), "15%",
                "Budget for read responses being built and sent."),
        MEMORY_CONSUMERS_MAX_BYTES("memory.consumers.max.bytes", Setting.bytes(1 << 20, Long.MAX_VALUE), "25%",
                "Budget for Kafka consumers (with the default fetch sizes 1 MiB for each instance, each reader walking by offset and each partition event stream, 640 KiB for a reader seeking at a random offset) and the records they hold between requests."),
        MEMORY_HEADS_MAX_BYTES("memory.heads.max.bytes", Setting.bytes(64 * 1024, Long.MAX_VALUE), "2%",
                "Budget for HTTP/1.x request heads (line and headers) and HTTP/2 header blocks still arriving: a head left incomplete by a read takes room for what it costs past its first 2 KiB, a header block for its bytes and the headers they can hold; without room its connection is answered 503 (HTTP/1.x) and closed. At least three times request.headers.max.bytes."),
        MEMORY_WAIT_MS("memory.wait.ms", Setting.millis(0, 60_000), "500",
                "How long a request that does not fit its memory budget waits before 503 with Retry-After (a large body behind an earlier one waiting too: at once)."),

        // Produce
        PRODUCE_THREADS("produce.threads", Setting.integer(1, 1024), "16",
                "Threads that parse produce bodies and hand records to the producer."),
        PRODUCE_QUEUE_SIZE("produce.queue.size", Setting.integer(1, 1_000_000), "1024",
                "Produce requests that may wait for a thread; beyond it, 503."),
        PRODUCE_RECORDS_MAX("produce.records.max", Setting.integer(1, Integer.MAX_VALUE), "10000",
                "Records in one produce request at most; more answers 413."),
        PRODUCE_TIMEOUT_MS("produce.timeout.ms", Setting.millis(1000, Integer.MAX_VALUE), "30000",
                "How long a produce waits for Kafka's acknowledgement before failing (the producer's delivery.timeout.ms)."),

        // Idempotency-Key
        IDEMPOTENCY_ENABLED("idempotency.enabled", Setting.bool(), "true",
                "Whether produce requests may carry an Idempotency-Key (it needs Kafka transactions); off: such a request answers 501 and idempotency.topic is not used."),
        IDEMPOTENCY_TOPIC("idempotency.topic", Setting.string(), "_portico_idempotency",
                "The compacted topic that holds the result of each keyed produce, shared by every node; created on start when absent (with the cluster's replication), hidden from clients."),
        IDEMPOTENCY_TOPIC_PARTITIONS("idempotency.topic.partitions", Setting.integer(1, 10_000), "8",
                "Partitions of idempotency.topic when Portico creates it (never change its partitions afterwards)."),
        IDEMPOTENCY_RETENTION_MS("idempotency.retention.ms", Setting.millis(60_000, 86_400_000L * 365), "86400000",
                "How long a key's result is kept: a retry within it answers the first response again (idempotency.topic's retention.ms: set when Portico creates it, raised at start when shorter)."),
        IDEMPOTENCY_WAIT_MS("idempotency.wait.ms", Setting.millis(1, 3_600_000), "10000",
                "How long a keyed request waits for another one with its key (or one that shares its transactional id) at this node, for this node to catch up with idempotency.topic, or for another node's result after being fenced; then 503."),
        IDEMPOTENCY_RESPONSE_MAX_BYTES("idempotency.response.max.bytes", Setting.integer(1024, 900_000), "524288",
                "Largest response a keyed request may have (it is kept for retries); over it nothing is produced and the answer is 413."),
        IDEMPOTENCY_MEMORY_MAX_BYTES("idempotency.memory.max.bytes", Setting.bytes(1 << 20, Long.MAX_VALUE), "10%",
                "Memory for the results every node keeps (each about 250 bytes plus its response); while they fill it, new keyed requests answer 503; results of other nodes that do not fit are not kept, and keyed requests of the API keys whose results were not kept, whose result this node does not hold, then answer 503 until older ones expire."),
        IDEMPOTENCY_MEMORY_PER_KEY_MAX_BYTES("idempotency.memory.per.key.max.bytes", Setting.bytes(1024, Long.MAX_VALUE), "1048576",
                "What the kept results of one API key's (or basic-authentication user's) keyed requests may take of idempotency.memory.max.bytes; past it that key's new keyed requests answer 429 until its results expire. Unless set, half of idempotency.memory.max.bytes (at least the largest result: idempotency.response.max.bytes and 250 bytes), so that one key cannot turn every other key's keyed requests away; set lower than the largest result, start-up fails. With authentication off there is one caller and no such bound.",
                "half of idempotency.memory.max.bytes"),
        IDEMPOTENCY_TRANSACTIONAL_IDS("idempotency.transactional.ids", Setting.integer(1, 1_048_576), "16384",
                "How many Kafka transactional ids keyed requests share (each key always takes the same one, so that nodes executing one key fence each other): what Kafka's transaction coordinator keeps for them is bounded by it. The same on every node."),

        // Consumers and reads
        CONSUMER_REQUEST_TIMEOUT_MS("consumer.request.timeout.ms", Setting.millis(1, 86_400_000L * 365), "1000",
                "How long a consumer read waits for records before answering []."),
        CONSUMER_REQUEST_MAX_BYTES("consumer.request.max.bytes", Setting.longValue(1, Long.MAX_VALUE), "67108864",
                "Cap on key+value bytes in one read response (max_bytes may lower it)."),
        CONSUMER_INSTANCE_TIMEOUT_MS("consumer.instance.timeout.ms", Setting.millis(1, 86_400_000L * 365), "300000",
                "Idle time after which a consumer instance is closed and leaves its group."),
        CONSUMER_INSTANCES_MAX("consumer.instances.max", Setting.integer(1, 1_000_000), "1000",
                "Consumer instances this server holds at most; one more answers 429. Unless set, also at most memory.consumers.max.bytes / 2 MiB (half the budget for the instances' consumers).",
                "`1000`, or memory.consumers.max.bytes / 2 MiB if fewer"),
        CONSUMER_INSTANCES_PER_KEY_MAX("consumer.instances.per.key.max", Setting.integer(1, 1_000_000), "1000000",
                "Consumer instances one API key (or basic-authentication user) may hold on this server; one more answers 429. Unless set, half of consumer.instances.max (at least 1), so that one key cannot take every slot; with authentication off there is one caller and no such bound.",
                "half of consumer.instances.max"),
        CONSUMER_ASSIGNMENT_TIMEOUT_MS("consumer.assignment.timeout.ms", Setting.millis(0, 86_400_000L * 365), "10000",
                "How long the first read of an instance (a v2 read only when it names no timeout) waits for its group to assign partitions."),
        CONSUMER_THREADS("consumer.threads", Setting.integer(1, 4096), "64",
                "Threads that run consumer operations (a long poll holds one for a 100 ms slice at a time, not for its whole wait)."),
        CONSUMER_QUEUE_SIZE("consumer.queue.size", Setting.integer(1, 1_000_000), "1024",
                "Consumer operations that may wait for a thread; beyond it, 503."),
        SIMPLECONSUMER_POOL_SIZE_MAX("simpleconsumer.pool.size.max", Setting.integer(1, 10_000), "25",
                "Consumers kept for reads by offset. One API key (or basic-authentication user) may have reads in progress on at most half of them, fewer while other keys' reads fill three quarters of them; one more answers 429."),
        SIMPLECONSUMER_POOL_TIMEOUT_MS("simpleconsumer.pool.timeout.ms", Setting.millis(0, 86_400_000L * 365), "1000",
                "How long a read by offset waits for a free consumer before 503/50301; 0: not at all (in Confluent's proxy 0 waits without end, which Portico never does)."),
        READ_COUNT_MAX("read.count.max", Setting.integer(1, Integer.MAX_VALUE), "10000",
                "Most records one read by offset returns: a v1 read asking more (count) gets this many, a v3 read asking more (max_records) answers 400."),

        // Server-Sent Events
        SSE_HEARTBEAT_MS("sse.heartbeat.ms", Setting.millis(100, 3_600_000), "15000",
                "An event stream that wrote nothing for this long writes a comment line (a heartbeat)."),
        SSE_STREAMS_MAX("sse.streams.max", Setting.integer(1, 100_000), "256",
                "Event streams served at once (each has a thread while it waits for records); one more answers 503."),
        SSE_STREAMS_PER_KEY_MAX("sse.streams.per.key.max", Setting.integer(1, 100_000), "100000",
                "Event streams one API key (or basic-authentication user) may hold at once on this server; one more answers 429. Unless set, half of sse.streams.max (at least 1); with authentication off there is one caller and no such bound.",
                "half of sse.streams.max"),
        SSE_TOKEN_TTL_MS("sse.token.ttl.ms", Setting.millis(1000, 86_400_000), "60000",
                "How long a token from POST /sse/tokens opens event streams (a browser's EventSource passes it as ?sse_token=)."),
        SSE_TOKEN_SECRET("sse.token.secret", Setting.password(), "",
                "The key that signs stream tokens, at least 16 characters; empty: one made from nodes.secret when that is set (the nodes of one service accept each other's tokens), else a random one per process."),

        // Records endpoint
        RECORDS_KEY_MAX_BYTES("records.key.max.bytes", Setting.integer(1, Integer.MAX_VALUE), "4096",
                "Records endpoint: largest key; larger answers 400."),
        RECORDS_VALUE_MAX_BYTES("records.value.max.bytes", Setting.integer(1, Integer.MAX_VALUE), "65536",
                "Records endpoint: largest value (the body); larger answers 400."),
        RECORDS_URI_MAX_BYTES("records.uri.max.bytes", Setting.integer(256, Integer.MAX_VALUE), "10240",
                "Records endpoint: longest request URI (key and headers ride in it); longer answers 414."),

        // Schema registry (the avro, jsonschema and protobuf embedded formats)
        SCHEMA_REGISTRY_URL("schema.registry.url", Setting.list(), "",
                "Confluent-compatible schema registry URLs, comma-separated (tried in order); empty: none, and the avro, jsonschema and protobuf formats answer 415."),
        SCHEMA_REGISTRY_BASIC_AUTH_CREDENTIALS_SOURCE("schema.registry.basic.auth.credentials.source",
                Setting.choice("URL", "USER_INFO"), "URL",
                "Where the registry's basic-auth credentials come from: URL (user:password@ in schema.registry.url, if any) or USER_INFO."),
        SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO("schema.registry.basic.auth.user.info", Setting.password(), "",
                "user:password for the registry, with the USER_INFO source."),
        SCHEMA_REGISTRY_SSL_TRUSTSTORE_TYPE("schema.registry.ssl.truststore.type", Setting.choice("PKCS12", "JKS", "PEM"),
                "PKCS12", "The format of the registry's truststore."),
        SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION("schema.registry.ssl.truststore.location", Setting.path(), "",
                "The CAs an https registry's certificate must chain to; empty: the JVM's."),
        SCHEMA_REGISTRY_SSL_TRUSTSTORE_PASSWORD("schema.registry.ssl.truststore.password", Setting.password(), "",
                "The registry truststore's password."),
        SCHEMA_REGISTRY_SSL_KEYSTORE_TYPE("schema.registry.ssl.keystore.type", Setting.choice("PKCS12", "JKS", "PEM"),
                "PKCS12", "The format of the client certificate's keystore for the registry."),
        SCHEMA_REGISTRY_SSL_KEYSTORE_LOCATION("schema.registry.ssl.keystore.location", Setting.path(), "",
                "A client certificate for an https registry that asks for one; empty: none."),
        SCHEMA_REGISTRY_SSL_KEYSTORE_PASSWORD("schema.registry.ssl.keystore.password", Setting.password(), "",
                "The registry keystore's password."),
        SCHEMA_REGISTRY_SSL_KEY_PASSWORD("schema.registry.ssl.key.password", Setting.password(), "",
                "The registry client key's password, when it differs from the keystore's."),
        SCHEMA_REGISTRY_REQUEST_TIMEOUT_MS("schema.registry.request.timeout.ms", Setting.millis(100, 600_000), "5000",
                "Bound on connecting to the registry and on each of its answers; a registry that does not answer in time is a 503."),

        // Authentication and TLS
        AUTHENTICATION_METHOD("authentication.method", Setting.choice("NONE", "API_KEY", "BASIC"), "NONE",
                "NONE; API_KEY: every request needs a key from api.keys.file; BASIC: Confluent's HTTP basic authentication, a user and password of the users file."),
        API_KEYS_FILE("api.keys.file", Setting.path(), "", "The JSON file of API keys; re-read when it changes."),
        AUTHENTICATION_REALM("authentication.realm", Setting.string(), "KafkaRest",
                "BASIC: the realm of the WWW-Authenticate challenge, and the section of the JAAS configuration that names the users file."),
        AUTHENTICATION_ROLES("authentication.roles", Setting.list(), "*",
                "BASIC: the roles of which a user needs one (* any user)."),
        AUTHENTICATION_USERS_FILE("authentication.users.file", Setting.path(), "",
                "BASIC: the users file (user: password[,role...]; plain, OBF: or MD5: passwords), re-read when it changes; empty: the file option of the realm's section of the JAAS configuration (-Djava.security.auth.login.config)."),
        AUTHENTICATION_SKIP_PATHS("authentication.skip.paths", Setting.list(), "",
                "Paths served without authentication (Confluent's setting): exact paths, or prefixes ending in /* (/* itself: every path). Empty: none."),
        QUOTA_REQUESTS_PER_SECOND("quota.requests.per.second", Setting.integer(0, 1_000_000_000), "0",
                "Requests a second each caller may make (an API key, a basic-authentication user, or a client address with authentication off); beyond it, 429 with Retry-After. 0: no quota. A key's requests_per_second in the keys file overrides it."),
        QUOTA_AUTH_FAILURES_PER_SECOND("quota.auth.failures.per.second", Setting.integer(0, 1_000_000_000), "10",
                "Requests refused 401 (credentials missing or wrong) or 403 for a wrong node secret one client address (an IPv6 client by its /64) may have a second, with ten seconds' worth at once; beyond it, 429 with Retry-After: guessing API keys, passwords or the node secret is held to it, whatever quota.requests.per.second says. 0: no bound."),
        QUOTA_REQUESTS_BURST("quota.requests.burst", Setting.integer(0, 1_000_000_000), "0",
                "Requests a caller at the default rate may make at once after a quiet spell (the most its bucket holds); 0: one second's worth."),
        SSL_KEYSTORE_TYPE("ssl.keystore.type", Setting.choice("PKCS12", "JKS", "PEM"), "PKCS12",
                "The keystore's format (PEM: a PKCS#8 private key and the certificate chain in one file)."),
        SSL_KEYSTORE_LOCATION("ssl.keystore.location", Setting.path(), "", "The keystore of https listeners."),
        SSL_KEYSTORE_PASSWORD("ssl.keystore.password", Setting.password(), "", "The keystore's password."),
        SSL_KEY_PASSWORD("ssl.key.password", Setting.password(), "",
                "The private key's password, when it differs from the keystore's (PEM: of an encrypted key)."),
        SSL_CLIENT_AUTH("ssl.client.auth", Setting.choice("none", "requested", "required"), "none",
                "Client certificates on https listeners (other than none with no https listener stops start-up)."),
        SSL_TRUSTSTORE_TYPE("ssl.truststore.type", Setting.choice("PKCS12", "JKS", "PEM"), "PKCS12",
                "The truststore's format."),
        SSL_TRUSTSTORE_LOCATION("ssl.truststore.location", Setting.path(), "",
                "The CAs client certificates must chain to."),
        SSL_TRUSTSTORE_PASSWORD("ssl.truststore.password", Setting.password(), "", "The truststore's password."),
        SSL_ENABLED_PROTOCOLS("ssl.enabled.protocols", Setting.list(), "TLSv1.2,TLSv1.3",
                "TLS versions https listeners accept."),
        SSL_CIPHER_SUITES("ssl.cipher.suites", Setting.list(), "",
                "Cipher suites https listeners accept; empty: the forward-secret AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305, and TLS 1.3's)."),

        // Operations
        ADMIN_LISTENERS("admin.listeners", Setting.listeners(), "",
                "Listeners for /health, /ready and /metrics only; when set, the main listeners do not serve them."),
        ACCESS_LOG_ENABLED("access.log.enabled", Setting.bool(), "true", "One line per request to the logger portico.access."),
        ACCESS_CONTROL_ALLOW_ORIGIN("access.control.allow.origin", Setting.string(), "",
                "CORS: allowed origins, comma-separated, or *; a * within an origin stands for any characters (https://*.example.com), as in Confluent's proxy; empty: CORS off. An origin is scheme://host[:port] (no path, not even a trailing /), as browsers send it; compared without regard to case."),
        ACCESS_CONTROL_ALLOW_METHODS("access.control.allow.methods", Setting.string(), "GET,POST,PUT,PATCH,DELETE,HEAD",
                "CORS: methods in preflight answers."),
        ACCESS_CONTROL_ALLOW_HEADERS("access.control.allow.headers", Setting.string(),
                "Origin,Accept,Content-Type,Authorization,X-Auth-Token,X-Requested-With,Last-Event-ID,Idempotency-Key",
                "CORS: request headers in preflight answers."),
        ACCESS_CONTROL_EXPOSE_HEADERS("access.control.expose.headers", Setting.string(),
                "Retry-After,Location,Idempotent-Replayed",
                "CORS: response headers a page's script may read (Access-Control-Expose-Headers); empty: none."),
        CROSS_SITE_WRITES_ALLOWED("cross.site.writes.allowed", Setting.bool(), "false",
                "Whether requests that change something (any method but GET, HEAD and OPTIONS, and a consumer instance's reads, which consume its records) sent by a web page of another site are served. false: a browser's such request (Sec-Fetch-Site cross-site or same-site, or an Origin other than the host it was sent to) is refused 403 unless its Origin is one access.control.allow.origin lets in, so that a page a user visits cannot produce through that user's browser (a form or a no-cors fetch needs no CORS preflight). Clients that are not browsers send no Origin and are not concerned."),
        ACCESS_CONTROL_SKIP_OPTIONS("access.control.skip.options", Setting.bool(), "true",
                "CORS: preflights are answered without authentication (a browser sends none with them); only true is taken, as Confluent's default."),
        CLUSTER_CHECK_INTERVAL_MS("cluster.check.interval.ms", Setting.millis(100, 86_400_000L * 365), "5000",
                "How often Portico asks whether Kafka answers (for /ready, and for reads while it is down)."),

        // Several nodes as one service
        NODES_SECRET("nodes.secret", Setting.password(), "",
                "Secret shared by the Portico nodes that serve one Kafka cluster together, at least 16 characters of printable ASCII without spaces: set the same on every node to make consumer instances reachable through any node. Empty: this node works alone. A request with a wrong one counts against its client address as a bad API key does."),
        NODE_URL("node.url", Setting.string(), "",
                "URL the other nodes reach this node at; empty: the first of advertised.listeners, else the first listener (a wildcard host replaced by this host's name)."),
        NODES_TOPIC("nodes.topic", Setting.string(), "__portico_nodes",
                "Compacted topic where the nodes record themselves and the consumer instances they hold (created with one partition and the cluster's default replication)."),
        NODES_HEARTBEAT_INTERVAL_MS("nodes.heartbeat.interval.ms", Setting.millis(100, 600_000), "2000",
                "How often a node records that it is alive."),
        NODES_EXPIRY_MS("nodes.expiry.ms", Setting.millis(500, 3_600_000), "10000",
                "A node not heard from for this long has left (at least twice nodes.heartbeat.interval.ms), judged against the newest broker timestamp this node read from the directory: nodes' clocks must agree well within it."),
        NODES_FORWARD_TIMEOUT_MS("nodes.forward.timeout.ms", Setting.millis(1000, 3_600_000), "300000",
                "Longest a request relayed to the node holding its consumer instance may take."),

        // Confluent v3 produce
        STREAMING_CONNECTION_MAX_DURATION_MS("streaming.connection.max.duration.ms",
                Setting.millis(1000, 86_400_000L * 365), "86400000",
                "How long a v3 produce stream may stay open; later records are answered 408, then the stream ends."),
        STREAMING_CONNECTION_MAX_DURATION_GRACE_PERIOD_MS("streaming.connection.max.duration.grace.period.ms",
                Setting.millis(0, 3_600_000), "500",
                "How long a v3 produce stream past its maximum duration still reads (answering 408) before it ends."),
        STREAMING_UNACKNOWLEDGED_MAX_RECORDS("streaming.unacknowledged.max.records", Setting.integer(1, 1_000_000),
                "2000",
                "Records of one v3 produce stream read and not yet reported; beyond it the stream is not read "
                        + "until Kafka acknowledges some (its bytes also count against memory.requests.max.bytes)."),
        API_V3_PRODUCE_BATCH_MAXIMUM_ENTRIES("api.v3.produce.batch.maximum.entries", Setting.integer(1, 50), "10",
                "Entries in one v3 records:batch request at most; more answers 422/42208.");

        private final String name;
        private final Setting setting;
        private final String defaultValue;
        private final String doc;
        private final String defaultDoc;

        Key(String name, Setting setting, String defaultValue, String doc) {
            this(name, setting, defaultValue, doc, null);
        }

        Key(String name, Setting setting, String defaultValue, String doc, String defaultDoc) {
            this.name = name;
            this.setting = setting;
            this.defaultValue = defaultValue;
            this.doc = doc;
            this.defaultDoc = defaultDoc;
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

        /** The environment variable that sets this key ({@code PORTICO_} and the key in upper case). */
        public String environmentName() {
            return ConfigLoader.environmentName(name);
        }

        /** The type, as the README's table states it. */
        public String type() {
            return setting.describe();
        }

        /** The default, as the README's table states it. */
        public String defaultDoc() {
            if (defaultDoc != null) {
                return defaultDoc;
            }
            return defaultValue.isEmpty() ? "(empty)" : "`" + defaultValue + "`";
        }

        Object parse(String value, long maxHeap) {
            return setting.parse(name, value, maxHeap);
        }
    }

    /** The README's configuration table, row by row, from {@link Key}. */
    public static String markdownTable() {
        StringBuilder out = new StringBuilder("| key | environment | type | default | meaning |\n| --- | --- | --- | --- | --- |\n");
        for (Key k : Key.values()) {
            out.append("| `").append(k.key()).append("` | `").append(k.environmentName()).append("` | ")
                    .append(k.type()).append(" | ").append(k.defaultDoc()).append(" | ").append(k.doc()).append(" |\n");
        }
        return out.toString();
    }

    /** The settings of consumer instances and reads by offset. */
    public record Reads(
            Duration requestTimeout,
            long requestMaxBytes,
            Duration instanceTimeout,
            int instancesMax,
            int instancesPerKeyMax,
            Duration assignmentTimeout,
            int threads,
            int queueSize,
            int offsetReaders,
            Duration offsetReaderWait,
            int countMax) {
    }

    /** Server-Sent Events: heartbeat, streams at once, and the tokens a browser opens them with. */
    public record Sse(Duration heartbeat, int streamsMax, int streamsPerKeyMax, Duration tokenTtl, String tokenSecret) {
        @Override
        public String toString() {
            return "Sse[heartbeat=" + heartbeat + ", streamsMax=" + streamsMax + ", streamsPerKeyMax=" + streamsPerKeyMax
                    + ", tokenTtl=" + tokenTtl + "]"; // no secret
        }
    }

    /** Authentication and TLS. Locations are null when not set. */
    public record Security(
            boolean apiKeys,
            Path apiKeysFile,
            Basic basic,
            List<String> skipPaths,
            String keystoreType,
            Path keystoreLocation,
            String keystorePassword,
            String keyPassword,
            String clientAuth,
            String truststoreType,
            Path truststoreLocation,
            String truststorePassword,
            List<String> enabledProtocols,
            List<String> cipherSuites) {

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
            String corsExposedHeaders,
            boolean crossSiteWritesAllowed,
            int maxConcurrentRequests,
            int requestsPerKeyMax,
            int requestsPerAddressMax,
            int adminRequestsMax,
            int adminRequestsPerKeyMax,
            int produceRecordsMax,
            Duration produceTimeout,
            Duration clusterCheckInterval) {
        public Operations {
            adminListeners = List.copyOf(adminListeners);
        }
    }

    /** Idempotency-Key: on or off, the topic of results and its partitions, retention, waits, largest response, memory. */
    public record Idempotency(boolean enabled, String topic, int partitions, Duration retention, Duration waitFor,
                              int responseMaxBytes, long memoryMaxBytes, int transactionalIds, long perKeyMaxBytes) {
    }

    /**
     * The memory budgets: bytes of request bodies and produce records awaiting acknowledgement,
     * of read responses being built and sent, of Kafka consumers and the records they hold, and
     * of request heads still arriving; how long a request waits for room before 503.
     */
    public record Memory(long requests, long responses, long consumers, long heads, Duration waitForRoom,
                         long producerBuffer) {
    }

    /**
     * Connection limits: header and body read timeouts, idle timeout, open connections (in all and
     * from one address; {@code perAddressMax} 0 when not set: half of each listener's cap).
     */
    public record Connections(int headersMaxBytes, Duration headerTimeout, Duration bodyTimeout, Duration idleTimeout,
                              int max, int perAddressMax, boolean http2, int http2MaxStreams) {
    }

    /** v3 produce: how long a stream may stay open, how far it may run ahead of Kafka, batch entries. */
    public record Streaming(Duration maxDuration, Duration gracePeriod, int unacknowledgedMax, int batchMaxEntries) {
    }

    /**
     * Several nodes as one service: the shared secret (empty when this node works alone), the URL
     * other nodes reach this one at (null: derived from the listeners), the directory topic,
     * heartbeat interval, expiry, and the bound on relayed requests.
     */
    /**
     * {@code authentication.method=BASIC}: the realm, the roles of which a user needs one, and the
     * users file (null: the one the JAAS configuration names for the realm).
     */
    public record Basic(String realm, List<String> roles, Path usersFile) {
    }

    /** Per-caller request quotas: the rate (0: none) and the burst (0: one second's worth). */
    public record Quotas(int requestsPerSecond, int burst, int authFailuresPerSecond) {
    }

    public record Nodes(String secret, URI url, String topic, Duration heartbeat, Duration expiry,
                        Duration forwardTimeout) {
        public boolean enabled() {
            return !secret.isEmpty();
        }

        @Override
        public String toString() {
            return "Nodes[url=" + url + ", topic=" + topic + ", heartbeat=" + heartbeat + ", expiry=" + expiry
                    + ", forwardTimeout=" + forwardTimeout + "]"; // no secret
        }
    }

    /**
     * The schema registry of the avro, jsonschema and protobuf formats: its URLs (empty: none),
     * basic-auth {@code user:password} (null: none), TLS stores (locations null when not set),
     * and the bound on each call.
     */
    public record SchemaRegistry(List<URI> urls, String userInfo, String truststoreType, Path truststoreLocation,
                                 String truststorePassword, String keystoreType, Path keystoreLocation,
                                 String keystorePassword, String keyPassword, Duration timeout) {
        public SchemaRegistry {
            urls = List.copyOf(urls);
        }

        public boolean enabled() {
            return !urls.isEmpty();
        }

        @Override
        public String toString() {
            return "SchemaRegistry[urls=" + urls.stream().map(u -> u.getHost() + ":" + u.getPort()).toList() + "]"; // no credentials
        }
    }

    /** Size limits of the records endpoint. */
    public record RecordsLimits(int keyMaxBytes, int valueMaxBytes, int uriMaxBytes) {
    }

    /** Portico's default fetch size for consumers (Kafka's are 50 MiB / 1 MiB per partition). */
    static final int FETCH_MAX_BYTES = 384 * 1024;

    /**
     * Portico's default socket receive buffer for consumers (Kafka's is 64 KiB): room for a whole
     * fetch response of Portico's default size ({@link #FETCH_MAX_BYTES}), so that the broker
     * sends one in a go rather than a window at a time (the kernel caps it at
     * {@code net.core.rmem_max}; {@code consumer.receive.buffer.bytes=-1} leaves the size to the
     * kernel, for a cluster far away).
     */
    static final int RECEIVE_BUFFER_BYTES = 1024 * 1024;

    /**
     * Producer settings Portico uses unless {@code producer.*} says otherwise. Idempotence is on
     * (as Kafka's default is with {@code acks=all}), said explicitly: no duplicates from the
     * producer's own retries, and a setting that contradicts it fails start-up rather than
     * turning it off silently. One request in flight per broker connection, not Kafka's 5: a
     * broker reads a connection's next request only once it has answered the one before, so
     * requests sent ahead only wait there, and they split what the shared producer gathers from
     * many small REST requests into more, smaller batches, each a request the broker handles.
     * With one, what arrives while a request is out goes in the next as one batch.
     */
    static final Map<String, Object> PRODUCER_DEFAULTS = Map.of(
            ProducerConfig.LINGER_MS_CONFIG, "0",
            ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1",
            ProducerConfig.CLIENT_ID_CONFIG, "portico-producer",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");

    private static final Set<String> CLIENT_KEYS;

    static {
        CLIENT_KEYS = new java.util.HashSet<>();
        CLIENT_KEYS.addAll(ProducerConfig.configNames());
        CLIENT_KEYS.addAll(ConsumerConfig.configNames());
        CLIENT_KEYS.addAll(AdminClientConfig.configNames());
    }

    /**
     * The Portico key {@code key} is a typo of (at most two letters added, removed or changed),
     * when {@code key} is not a Kafka client setting as it stands (after its prefix); else null.
     */
    static String nearMiss(String key, java.util.Collection<String> own) {
        String rest = key;
        for (String prefix : CLIENT_PREFIXES) {
            if (key.startsWith(prefix)) {
                rest = key.substring(prefix.length());
            }
        }
        if (CLIENT_KEYS.contains(rest) || CLIENT_KEYS.contains(key)) {
            return null;
        }
        for (String name : own) {
            if (Math.abs(name.length() - key.length()) <= 2 && distance(name, key) <= 2) {
                return name;
            }
        }
        return null;
    }

    /** The edit distance of {@code a} and {@code b} (insertions, deletions, substitutions). */
    private static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int change = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + change);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }

    /** The embedded broker's settings Portico makes itself: where it listens, its role, its data. */
    private static final java.util.Set<String> EMBEDDED_OWN = java.util.Set.of("process.roles", "node.id",
            "controller.quorum.voters", "listeners", "advertised.listeners", "listener.security.protocol.map",
            "controller.listener.names", "inter.broker.listener.name", "log.dirs", "log.dir", "metadata.log.dir",
            // every client of the embedded broker a super user of its authorizer: others would lock it out
            "super.users", "principal.builder.class");

    /** Prefixes whose keys pass through to the Kafka clients (client.: to all three). */
    private static final List<String> CLIENT_PREFIXES = List.of("producer.", "consumer.", "admin.", "client.");

    /** Whether {@code key} is one of Portico's own settings (not one passed on to the Kafka clients). */
    static boolean isOwnKey(String key) {
        String k = key.trim();
        for (Key own : Key.values()) {
            if (own.key().equals(k)) {
                return true;
            }
        }
        return false;
    }

    public PorticoConfig {
        listeners = List.copyOf(listeners);
        advertisedListeners = List.copyOf(advertisedListeners);
        if (security != null && security.keystoreLocation() == null && (https(listeners)
                || operations != null && https(operations.adminListeners()))) {
            throw new ConfigException(Key.SSL_KEYSTORE_LOCATION.key(), "an https listener needs a keystore");
        }
        if (security != null && !"none".equals(security.clientAuth()) && !https(listeners)) {
            // Client certificates meant as the access control, on plain http: the server would be
            // open while its operator believes it closed (an https admin listener does not close the API's).
            throw new ConfigException(Key.SSL_CLIENT_AUTH.key(), "asks for client certificates, but no listener "
                    + "is https:// (" + listeners + "): make one https, or set ssl.client.auth=none");
        }
        embeddedKafka = Map.copyOf(embeddedKafka);
        producer = Map.copyOf(producer);
        consumer = Map.copyOf(consumer);
        admin = Map.copyOf(admin);
    }

    /** A numeric Kafka client setting; {@code otherwise} when absent or not a number (Kafka then says so). */
    private static long asLong(Object value, long otherwise) {
        if (value == null) {
            return otherwise;
        }
        try {
            return Long.parseLong(value.toString().trim());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /** Whether Portico starts its own broker. */
    public boolean embedded() {
        return bootstrapServers == null;
    }

    /**
     * Batches the producer's buffer holds at the default batch size: 512, so that the 32 MiB buffer
     * of a 256 MiB heap (the launcher's) takes 64 KiB batches. Each partition a record goes to
     * takes a whole batch of the buffer until Kafka acknowledges it; with {@code linger.ms=0} a
     * batch is sent at once, so only records spread over more than 512 partitions faster than the
     * cluster acknowledges them wait for room (Kafka's defaults give 2,048 batches of 16 KiB).
     */
    static final long BUFFER_BATCHES = 512;

    /**
     * The producer's default batch size for a record buffer of {@code bufferBytes}: a 512th of it,
     * from Kafka's 16 KiB up to 64 KiB (from a 32 MiB buffer, a heap of 256 MiB, on). Larger batches
     * carry more of a busy partition's records per request to the broker, at no wait (the producer
     * still does not linger); see the README's benchmark section for what it changed there.
     */
    static long batchSize(long bufferBytes) {
        return Math.max(KAFKA_BATCH_SIZE, Math.min(64 * 1024, Long.highestOneBit(Math.max(1, bufferBytes / BUFFER_BATCHES))));
    }

    /** Kafka's default batch size and record buffer (the buffer an eighth of the heap when smaller). */
    private static final int KAFKA_BATCH_SIZE = 16 * 1024;
    private static final long KAFKA_BUFFER_MEMORY = 32L << 20;

    /**
     * The settings of the producers of {@code Idempotency-Key} requests (one per request): the
     * shared producer's, but with Kafka's 16 KiB batches and at most 32 MiB of buffer unless
     * {@code producer.*} sets them. Each of those producers carries one request's records, which
     * the requests budget counts as body bytes, not the whole batches they open: a request
     * spreading small records over many partitions would otherwise hold 64 KiB per partition.
     */
    public Map<String, Object> transactionalProducerConfig(String bootstrap) {
        Map<String, Object> out = producerConfig(bootstrap);
        if (!producer.containsKey(ProducerConfig.BATCH_SIZE_CONFIG)) {
            out.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(KAFKA_BATCH_SIZE));
        }
        if (!producer.containsKey(ProducerConfig.BUFFER_MEMORY_CONFIG)) {
            out.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(Math.min(KAFKA_BUFFER_MEMORY, memory.producerBuffer())));
        }
        return out;
    }

    /**
     * Kafka's producer requires {@code delivery.timeout.ms >= linger.ms + request.timeout.ms}: a
     * request timeout set beside {@code produce.timeout.ms} that breaks it would fail start-up as a
     * Kafka error naming neither key.
     */
    private void checkProducerTimeouts() {
        Map<String, Object> effective = producerConfig("-");
        long delivery = asLong(effective.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG), 0);
        long linger = asLong(effective.get(ProducerConfig.LINGER_MS_CONFIG), 0);
        long request = asLong(effective.get(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG), 0);
        if (delivery < linger + request) {
            throw new ConfigException(Key.PRODUCE_TIMEOUT_MS.key(), "produce.timeout.ms (the producer's delivery.timeout.ms, "
                    + delivery + " ms) must be at least producer.linger.ms + producer.request.timeout.ms ("
                    + linger + " + " + request + " ms)");
        }
    }

    /** The full producer configuration for the given bootstrap servers. */
    public Map<String, Object> producerConfig(String bootstrap) {
        Map<String, Object> out = new HashMap<>(PRODUCER_DEFAULTS);
        out.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(metadataTimeout.toMillis()));
        // The record buffer is an eighth of the heap, up to 128 MiB; batches as large as keep
        // room in it for BUFFER_BATCHES of them (16 KiB, Kafka's default, to 64 KiB).
        out.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(memory.producerBuffer()));
        long produceTimeout = operations.produceTimeout().toMillis();
        out.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(produceTimeout));
        out.putAll(producer);
        if (!producer.containsKey(ProducerConfig.BATCH_SIZE_CONFIG)) {
            long buffer = asLong(out.get(ProducerConfig.BUFFER_MEMORY_CONFIG), memory.producerBuffer());
            out.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(batchSize(buffer)));
        }
        if (!producer.containsKey(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG)) {
            // Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms. A request's own
            // timeout is half of what is left after the linger (Kafka's 30 s at most): a request
            // that times out is retried, idempotently, within the delivery timeout, which then
            // learns whether the broker wrote it; with the two equal, the record failed as timed out
            // at once while the broker might still write it.
            long delivery = asLong(out.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG), produceTimeout);
            long linger = asLong(out.get(ProducerConfig.LINGER_MS_CONFIG), 0);
            out.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
                    String.valueOf(Math.max(1, Math.min(30_000, (delivery - linger) / 2))));
        }
        out.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return out;
    }

    /**
     * The consumer configuration shared by consumer instances and readers: the {@code consumer.*}
     * pass-through, with Kafka API calls (commits, offset lookups) bounded by {@code metadata.timeout.ms}
     * and {@code read_committed} isolation.
     */
    public Map<String, Object> consumerConfig(String bootstrap) {
        Map<String, Object> out = new HashMap<>();
        out.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(metadataTimeout.toMillis()));
        // Fetch responses below half a G1 region of a small heap, so their buffers are not
        // humongous objects (which made most collections under load); consumers pipeline fetches.
        out.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(FETCH_MAX_BYTES));
        out.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(FETCH_MAX_BYTES));
        // The kernel holds at most the response in flight (one per broker connection), not the size.
        out.put(ConsumerConfig.RECEIVE_BUFFER_CONFIG, String.valueOf(RECEIVE_BUFFER_BYTES));
        // Records of aborted transactions (a keyed produce that did not commit) are never returned.
        out.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
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
        if (!admin.containsKey(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG)) {
            // A request.timeout.ms given for every client (30 s, say) above it would fail the admin
            // client's creation; Portico's own calls each pass their bound.
            long request = asLong(out.get(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG), metadataTimeout.toMillis());
            out.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                    String.valueOf(Math.max(metadataTimeout.toMillis(), request)));
        }
        out.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return out;
    }

    /** Defaults only. */
    public static PorticoConfig defaults() {
        return from(Map.of());
    }

    /** Validates {@code raw} (file and environment merged) into a config, shares of the heap taken of this JVM's. */
    public static PorticoConfig from(Map<String, String> raw) {
        return from(raw, maxHeap());
    }

    /**
     * The heap that {@code %} sizes are shares of: this JVM's {@code -Xmx} ({@code MaxHeapSize}).
     * Not {@code Runtime.maxMemory()}, which under ParallelGC (the server's collector as shipped)
     * leaves out a survivor space: the defaults (32 consumer instances on 256 MiB, a 32 MiB
     * producer buffer of 64 KiB batches) would shrink with the collector.
     */
    static long maxHeap() {
        try {
            return Long.parseLong(java.lang.management.ManagementFactory
                    .getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                    .getVMOption("MaxHeapSize").getValue());
        } catch (RuntimeException e) {
            return Runtime.getRuntime().maxMemory(); // not a HotSpot that names it: the runtime's figure
        }
    }

    /** As {@link #from(Map)}, with {@code maxHeap} as the heap that {@code %} sizes are shares of. */
    public static PorticoConfig from(Map<String, String> raw, long maxHeap) {
        Map<String, Key> byName = new HashMap<>();
        for (Key k : Key.values()) {
            byName.put(k.key(), k);
        }
        Map<Key, String> given = new java.util.EnumMap<>(Key.class);
        Map<String, Object> common = new TreeMap<>();
        Map<String, Object> producer = new TreeMap<>();
        Map<String, Object> consumer = new TreeMap<>();
        Map<String, Object> admin = new TreeMap<>();
        Map<String, String> embedded = new TreeMap<>();
        for (Map.Entry<String, String> e : raw.entrySet()) {
            String key = e.getKey().trim();
            String value = e.getValue() == null ? "" : e.getValue().trim();
            Key own = byName.get(key);
            String meant = own != null ? null : nearMiss(key, byName.keySet());
            if (own != null) {
                given.put(own, value);
            } else if (key.endsWith(".bootstrap.servers") && CLIENT_PREFIXES.stream().anyMatch(key::startsWith)) {
                // Every client reaches the cluster bootstrap.servers names: dropped, this one would
                // leave Portico on its throw-away embedded broker.
                throw new ConfigException(key, "Portico's clients all reach the cluster that bootstrap.servers names: "
                        + "set bootstrap.servers");
            } else if (meant != null) {
                // admin.listener, embedded.kafka.dirs: a typo of Portico's own key would otherwise
                // pass to a Kafka client or the embedded broker, silently unused.
                throw new ConfigException(key, "unknown key; did you mean " + meant + "?");
            } else if (key.startsWith("producer.")) {
                producer.put(key.substring("producer.".length()), value);
            } else if (key.startsWith("consumer.")) {
                consumer.put(key.substring("consumer.".length()), value);
            } else if (key.startsWith("admin.")) {
                admin.put(key.substring("admin.".length()), value);
            } else if (key.startsWith("ssl.")) {
                // Confluent's listener keys Portico lacks (ssl.endpoint.identification.algorithm,
                // ssl.protocol, ...) are Kafka client keys too: passed to the clients, a copied blank
                // one would turn off their check of the brokers' host names.
                throw new ConfigException(key, "is not a setting of Portico's listeners (their ssl.* keys are listed in "
                        + "the README); for the Kafka clients write client." + key);
            } else if (CLIENT_KEYS.contains(key)) { // before the client. prefix: client.rack, client.id
                common.put(key, value);
            } else if (key.startsWith("client.")) {
                common.put(key.substring("client.".length()), value);
            } else if (key.startsWith("embedded.kafka.")) {
                String setting = key.substring("embedded.kafka.".length());
                if (EMBEDDED_OWN.contains(setting)) {
                    // Portico would reach a broker that is not where it looks for it (or lose its data).
                    throw new ConfigException(key, "is set by Portico for its embedded broker"
                            + (setting.startsWith("log.dir") || setting.equals("metadata.log.dir")
                            ? "; its data directory is embedded.kafka.dir" : ""));
                }
                embedded.put(setting, value);
            } else {
                throw new ConfigException(key, "unknown key (Portico keys are listed in the README; Kafka client "
                        + "settings take a producer., consumer., admin. or client. prefix)");
            }
        }
        Map<Key, Object> v = new java.util.EnumMap<>(Key.class);
        for (Key k : Key.values()) {
            v.put(k, k.parse(given.getOrDefault(k, k.defaultValue()), maxHeap));
        }
        if (given.containsKey(Key.BOOTSTRAP_SERVERS) && given.get(Key.BOOTSTRAP_SERVERS).isEmpty()) {
            // A blank variable of a deployment must not run a throw-away broker that acknowledges
            // what a restart then loses.
            throw new ConfigException(Key.BOOTSTRAP_SERVERS.key(), "set but empty: name the Kafka cluster "
                    + "(host:port,...), or leave the setting out to run an embedded single-node Kafka");
        }
        for (String server : given.getOrDefault(Key.BOOTSTRAP_SERVERS, "").split(",")) {
            String s = server.trim();
            // Kafka's own check, which it makes only as a client is built (a stack trace then).
            if (!s.isEmpty() && (org.apache.kafka.common.utils.Utils.getHost(s) == null
                    || org.apache.kafka.common.utils.Utils.getPort(s) == null)) {
                throw new ConfigException(Key.BOOTSTRAP_SERVERS.key(), "'" + s + "' is not host:port");
            }
        }
        if (((List<?>) v.get(Key.LISTENERS)).isEmpty()) {
            throw new ConfigException(Key.LISTENERS.key(), "at least one listener is required");
        }
        if (!(Boolean) v.get(Key.ACCESS_CONTROL_SKIP_OPTIONS)) {
            throw new ConfigException(Key.ACCESS_CONTROL_SKIP_OPTIONS.key(),
                    "preflights are always answered without authentication (a browser sends none with them)");
        }
        long heads = (Long) v.get(Key.MEMORY_HEADS_MAX_BYTES);
        int headersMax = (Integer) v.get(Key.REQUEST_HEADERS_MAX_BYTES);
        if (heads < 3L * headersMax) {
            // A head of the largest size costs about twice its bytes: it must fit the budget alone.
            throw new ConfigException(Key.MEMORY_HEADS_MAX_BYTES.key(), heads + " bytes cannot hold a request head of "
                    + Key.REQUEST_HEADERS_MAX_BYTES.key() + " (" + headersMax + " bytes, which costs about twice that "
                    + "while it arrives): give it at least three times " + Key.REQUEST_HEADERS_MAX_BYTES.key()
                    + ", or lower that");
        }
        Memory memory = new Memory((Long) v.get(Key.MEMORY_REQUESTS_MAX_BYTES), (Long) v.get(Key.MEMORY_RESPONSES_MAX_BYTES),
                (Long) v.get(Key.MEMORY_CONSUMERS_MAX_BYTES), heads,
                (Duration) v.get(Key.MEMORY_WAIT_MS),
                Math.min(128L << 20, maxHeap / 8));
        int instancesMax = (Integer) v.get(Key.CONSUMER_INSTANCES_MAX);
        if (!given.containsKey(Key.CONSUMER_INSTANCES_MAX)) {
            // Half the consumers budget for the instances' own cost, half for readers and held records.
            Map<String, Object> fetch = new HashMap<>(Map.of(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(FETCH_MAX_BYTES)));
            fetch.putAll(merge(common, consumer));
            instancesMax = (int) Math.max(1, Math.min(instancesMax,
                    memory.consumers() / (2 * io.portico.sessions.HeldRecords.consumerCost(fetch))));
        }
        int instancesPerKeyMax = given.containsKey(Key.CONSUMER_INSTANCES_PER_KEY_MAX)
                ? (Integer) v.get(Key.CONSUMER_INSTANCES_PER_KEY_MAX) : Math.max(1, instancesMax / 2);
        String bootstrap = (String) v.get(Key.BOOTSTRAP_SERVERS);
        String hostName = (String) v.get(Key.HOST_NAME);
        if (!hostName.isEmpty() && !hostName.matches("[A-Za-z0-9._-]+|\\[[0-9A-Fa-f:.]+]")) {
            // Put in every base_uri as the host: a scheme, a port or a path there makes URLs no client can use.
            throw new ConfigException(Key.HOST_NAME.key(), "'" + hostName + "' is not a host name (no scheme, port or "
                    + "path: advertised.listeners takes whole URLs)");
        }
        PorticoConfig config = new PorticoConfig(
                listOf(v.get(Key.LISTENERS), URI.class),
                bootstrap.isEmpty() ? null : bootstrap,
                hostName.isEmpty() ? null : hostName,
                listOf(v.get(Key.ADVERTISED_LISTENERS), URI.class),
                (Path) v.get(Key.EMBEDDED_KAFKA_DIR),
                embedded,
                (Long) v.get(Key.REQUEST_BODY_MAX_BYTES),
                (Duration) v.get(Key.METADATA_TIMEOUT_MS),
                (Integer) v.get(Key.PRODUCE_THREADS),
                (Integer) v.get(Key.PRODUCE_QUEUE_SIZE),
                (Boolean) v.get(Key.TOPICS_SHOW_INTERNAL),
                (Boolean) v.get(Key.INTERNAL_TOPICS_PRODUCE_ALLOWED),
                (Duration) v.get(Key.SHUTDOWN_GRACEFUL_MS),
                (Integer) v.get(Key.IO_THREADS),
                (String) v.get(Key.ID),
                new Reads(
                        (Duration) v.get(Key.CONSUMER_REQUEST_TIMEOUT_MS),
                        (Long) v.get(Key.CONSUMER_REQUEST_MAX_BYTES),
                        (Duration) v.get(Key.CONSUMER_INSTANCE_TIMEOUT_MS),
                        instancesMax,
                        instancesPerKeyMax,
                        (Duration) v.get(Key.CONSUMER_ASSIGNMENT_TIMEOUT_MS),
                        (Integer) v.get(Key.CONSUMER_THREADS),
                        (Integer) v.get(Key.CONSUMER_QUEUE_SIZE),
                        (Integer) v.get(Key.SIMPLECONSUMER_POOL_SIZE_MAX),
                        (Duration) v.get(Key.SIMPLECONSUMER_POOL_TIMEOUT_MS),
                        (Integer) v.get(Key.READ_COUNT_MAX)),
                new Sse(
                        (Duration) v.get(Key.SSE_HEARTBEAT_MS),
                        (Integer) v.get(Key.SSE_STREAMS_MAX),
                        given.containsKey(Key.SSE_STREAMS_PER_KEY_MAX) ? (Integer) v.get(Key.SSE_STREAMS_PER_KEY_MAX)
                                : Math.max(1, (Integer) v.get(Key.SSE_STREAMS_MAX) / 2),
                        (Duration) v.get(Key.SSE_TOKEN_TTL_MS),
                        tokenSecret((String) v.get(Key.SSE_TOKEN_SECRET))),
                security(v),
                new RecordsLimits(
                        (Integer) v.get(Key.RECORDS_KEY_MAX_BYTES),
                        (Integer) v.get(Key.RECORDS_VALUE_MAX_BYTES),
                        (Integer) v.get(Key.RECORDS_URI_MAX_BYTES)),
                schemaRegistry(v),
                new Operations(
                        listOf(v.get(Key.ADMIN_LISTENERS), URI.class),
                        (Boolean) v.get(Key.ACCESS_LOG_ENABLED),
                        origins((String) v.get(Key.ACCESS_CONTROL_ALLOW_ORIGIN)),
                        (String) v.get(Key.ACCESS_CONTROL_ALLOW_METHODS),
                        (String) v.get(Key.ACCESS_CONTROL_ALLOW_HEADERS),
                        (String) v.get(Key.ACCESS_CONTROL_EXPOSE_HEADERS),
                        (Boolean) v.get(Key.CROSS_SITE_WRITES_ALLOWED),
                        (Integer) v.get(Key.MAX_CONCURRENT_REQUESTS),
                        given.containsKey(Key.REQUESTS_PER_KEY_MAX) ? (Integer) v.get(Key.REQUESTS_PER_KEY_MAX)
                                : Math.max(1, (Integer) v.get(Key.MAX_CONCURRENT_REQUESTS) / 2),
                        given.containsKey(Key.REQUESTS_PER_ADDRESS_MAX) ? (Integer) v.get(Key.REQUESTS_PER_ADDRESS_MAX)
                                // connections.per.address.max at connections.max says one address is a load
                                // balancer's: its clients then share no half of the requests in progress.
                                : given.containsKey(Key.CONNECTIONS_PER_ADDRESS_MAX)
                                        && (Integer) v.get(Key.CONNECTIONS_PER_ADDRESS_MAX) >= (Integer) v.get(Key.CONNECTIONS_MAX)
                                ? (Integer) v.get(Key.MAX_CONCURRENT_REQUESTS)
                                : Math.max(1, (Integer) v.get(Key.MAX_CONCURRENT_REQUESTS) / 2),
                        (Integer) v.get(Key.ADMIN_REQUESTS_MAX),
                        (Integer) v.get(Key.ADMIN_REQUESTS_PER_KEY_MAX),
                        (Integer) v.get(Key.PRODUCE_RECORDS_MAX),
                        (Duration) v.get(Key.PRODUCE_TIMEOUT_MS),
                        (Duration) v.get(Key.CLUSTER_CHECK_INTERVAL_MS)),
                idempotency(v, given.containsKey(Key.IDEMPOTENCY_MEMORY_PER_KEY_MAX_BYTES)),
                memory,
                new Connections(
                        (Integer) v.get(Key.REQUEST_HEADERS_MAX_BYTES),
                        (Duration) v.get(Key.REQUEST_HEADER_TIMEOUT_MS),
                        (Duration) v.get(Key.REQUEST_BODY_TIMEOUT_MS),
                        (Duration) v.get(Key.CONNECTIONS_IDLE_TIMEOUT_MS),
                        (Integer) v.get(Key.CONNECTIONS_MAX),
                        // 0: half of each listener's cap, as the server sets it (the open-files limit may lower it)
                        given.containsKey(Key.CONNECTIONS_PER_ADDRESS_MAX) ? (Integer) v.get(Key.CONNECTIONS_PER_ADDRESS_MAX) : 0,
                        (Boolean) v.get(Key.HTTP2_ENABLED),
                        (Integer) v.get(Key.HTTP2_MAX_CONCURRENT_STREAMS)),
                merge(common, producer), merge(common, consumer), merge(common, admin),
                new Streaming(
                        (Duration) v.get(Key.STREAMING_CONNECTION_MAX_DURATION_MS),
                        (Duration) v.get(Key.STREAMING_CONNECTION_MAX_DURATION_GRACE_PERIOD_MS),
                        (Integer) v.get(Key.STREAMING_UNACKNOWLEDGED_MAX_RECORDS),
                        (Integer) v.get(Key.API_V3_PRODUCE_BATCH_MAXIMUM_ENTRIES)),
                nodes(v),
                new Quotas((Integer) v.get(Key.QUOTA_REQUESTS_PER_SECOND), (Integer) v.get(Key.QUOTA_REQUESTS_BURST),
                        (Integer) v.get(Key.QUOTA_AUTH_FAILURES_PER_SECOND)));
        config.checkProducerTimeouts();
        return config;
    }

    /** A URL as an error may quote it: a password in it ({@code user:password@}) is not. */
    static String withoutUserInfo(String url) {
        int scheme = url.indexOf("://");
        int at = url.lastIndexOf('@'); // a password may hold '/' or '@'; all before the last '@' goes
        if (at < 0) {
            return url;
        }
        return (scheme < 0 || scheme > at ? "" : url.substring(0, scheme + 3)) + "…@" + url.substring(at + 1);
    }

    private static SchemaRegistry schemaRegistry(Map<Key, Object> v) {
        List<URI> urls = new ArrayList<>();
        String userInfo = null;
        for (String item : listOf(v.get(Key.SCHEMA_REGISTRY_URL), String.class)) {
            URI url;
            try {
                url = new URI(item);
            } catch (java.net.URISyntaxException e) {
                throw new ConfigException(Key.SCHEMA_REGISTRY_URL.key(), "'" + withoutUserInfo(item) + "' is not a URL");
            }
            String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("http") || scheme.equals("https")) || url.getHost() == null) {
                throw new ConfigException(Key.SCHEMA_REGISTRY_URL.key(), "'" + withoutUserInfo(item)
                        + "' must be an http:// or https:// URL with a host");
            }
            if (url.getRawUserInfo() != null) {
                userInfo = userInfo != null ? userInfo : java.net.URLDecoder.decode(url.getRawUserInfo(),
                        java.nio.charset.StandardCharsets.UTF_8);
                url = URI.create(scheme + "://" + url.getRawAuthority().substring(url.getRawAuthority().indexOf('@') + 1)
                        + (url.getRawPath() == null ? "" : url.getRawPath()));
            }
            urls.add(url);
        }
        if (v.get(Key.SCHEMA_REGISTRY_BASIC_AUTH_CREDENTIALS_SOURCE).equals("USER_INFO")) {
            userInfo = (String) v.get(Key.SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO);
            if (!userInfo.contains(":")) {
                throw new ConfigException(Key.SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO.key(),
                        "the USER_INFO credentials source needs user:password");
            }
        }
        return new SchemaRegistry(urls, userInfo,
                (String) v.get(Key.SCHEMA_REGISTRY_SSL_TRUSTSTORE_TYPE), (Path) v.get(Key.SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION),
                (String) v.get(Key.SCHEMA_REGISTRY_SSL_TRUSTSTORE_PASSWORD),
                (String) v.get(Key.SCHEMA_REGISTRY_SSL_KEYSTORE_TYPE), (Path) v.get(Key.SCHEMA_REGISTRY_SSL_KEYSTORE_LOCATION),
                (String) v.get(Key.SCHEMA_REGISTRY_SSL_KEYSTORE_PASSWORD), (String) v.get(Key.SCHEMA_REGISTRY_SSL_KEY_PASSWORD),
                (Duration) v.get(Key.SCHEMA_REGISTRY_REQUEST_TIMEOUT_MS));
    }

    /** The fewest characters of a secret set for {@code nodes.secret} or {@code sse.token.secret} (as of an API key). */
    static final int SECRET_MIN_CHARS = io.portico.proxy.auth.ApiKeys.KEY_MIN_CHARS;

    private static String tokenSecret(String secret) {
        return secret(Key.SSE_TOKEN_SECRET, secret, "a token that leaks must not let its secret be guessed");
    }

    /** {@code secret}, empty or of {@link #SECRET_MIN_CHARS} at least (else a refusal naming {@code key} and {@code why}). */
    private static String secret(Key key, String secret, String why) {
        if (!secret.isEmpty() && secret.length() < SECRET_MIN_CHARS) {
            throw new ConfigException(key.key(), "must have at least " + SECRET_MIN_CHARS + " characters: " + why);
        }
        return secret;
    }

    private static Nodes nodes(Map<Key, Object> v) {
        Duration heartbeat = (Duration) v.get(Key.NODES_HEARTBEAT_INTERVAL_MS);
        Duration expiry = (Duration) v.get(Key.NODES_EXPIRY_MS);
        if (expiry.compareTo(heartbeat.multipliedBy(2)) < 0) {
            throw new ConfigException(Key.NODES_EXPIRY_MS.key(), "must be at least twice nodes.heartbeat.interval.ms ("
                    + heartbeat.toMillis() + " ms)");
        }
        String url = (String) v.get(Key.NODE_URL);
        URI nodeUrl = null;
        if (!url.isEmpty()) {
            try {
                nodeUrl = new URI(url);
            } catch (java.net.URISyntaxException e) {
                throw new ConfigException(Key.NODE_URL.key(), "not a URL: " + e.getMessage());
            }
            if (nodeUrl.getHost() == null || !(url.startsWith("http://") || url.startsWith("https://"))) {
                throw new ConfigException(Key.NODE_URL.key(), "must be an http:// or https:// URL with a host");
            }
        }
        String secret = secret(Key.NODES_SECRET, (String) v.get(Key.NODES_SECRET),
                "it stands in for every API key between the nodes");
        if (!secret.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
            // It travels in a header between the nodes: other characters would not arrive intact,
            // and every relayed request would be refused as a wrong secret.
            throw new ConfigException(Key.NODES_SECRET.key(), "must be printable ASCII without spaces (letters, digits, "
                    + "punctuation): it is sent in a request header between the nodes");
        }
        String id = (String) v.get(Key.ID);
        if (!id.isEmpty() && !id.matches("[A-Za-z0-9._-]{1,64}")) {
            // In the names of the consumer instances it generates, which a '/' (say) would make
            // unreachable at their own base_uri.
            throw new ConfigException(Key.ID.key(), "the id is part of generated consumer instance names (and with "
                    + "nodes.secret names this node): 1 to 64 letters, digits, '.', '_' and '-'");
        }
        return new Nodes(secret, nodeUrl, (String) v.get(Key.NODES_TOPIC), heartbeat, expiry,
                (Duration) v.get(Key.NODES_FORWARD_TIMEOUT_MS));
    }

    /**
     * {@code access.control.allow.origin}, each entry checked to be an origin as a browser sends
     * one ({@code scheme://host[:port]}, {@code *} within, or {@code null}) or {@code *}: an entry
     * with a path (a trailing {@code /}) would never match, and CORS fail for it without a word.
     */
    private static String origins(String value) {
        for (String entry : value.split(",")) {
            String e = entry.trim();
            // A * may stand for the scheme too (*.example.com, as Jetty's filter takes it).
            if (!e.isEmpty() && !e.equals("*") && !e.equals("null")
                    && !e.matches("[A-Za-z*][A-Za-z0-9+.*-]*://[^/?#@\\s]+")
                    && !(e.contains("*") && e.matches("[^/?#@\\s]+"))) {
                throw new ConfigException(Key.ACCESS_CONTROL_ALLOW_ORIGIN.key(), "'" + e + "' is not an origin: "
                        + "scheme://host[:port] with no path (not even a trailing /), as a browser's Origin header says it");
            }
        }
        return value;
    }

    private static <T> List<T> listOf(Object value, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Object o : (List<?>) value) {
            out.add(type.cast(o));
        }
        return out;
    }

    private static Map<String, Object> merge(Map<String, Object> common, Map<String, Object> specific) {
        Map<String, Object> out = new LinkedHashMap<>(common);
        out.putAll(specific);
        return out;
    }

    private static Idempotency idempotency(Map<Key, Object> v, boolean perKeyGiven) {
        String topic = (String) v.get(Key.IDEMPOTENCY_TOPIC);
        try {
            io.portico.sessions.KafkaNames.topic(topic);
        } catch (io.portico.protocol.RestException e) {
            throw new ConfigException(Key.IDEMPOTENCY_TOPIC.key(), e.getMessage());
        }
        // One key's share must hold its largest result: a result past it is never kept, and its
        // request answers 429 "retry later" every time. (The whole memory, 1 MiB at least, always
        // holds one: a result is at most 900,000 bytes and its 250.)
        int responseMax = (Integer) v.get(Key.IDEMPOTENCY_RESPONSE_MAX_BYTES);
        long largest = io.portico.sessions.Idempotency.resultBytes(responseMax);
        long memory = (Long) v.get(Key.IDEMPOTENCY_MEMORY_MAX_BYTES);
        long perKey = perKeyGiven ? (Long) v.get(Key.IDEMPOTENCY_MEMORY_PER_KEY_MAX_BYTES) : Math.max(memory / 2, largest);
        if (largest > perKey) {
            throw new ConfigException(Key.IDEMPOTENCY_MEMORY_PER_KEY_MAX_BYTES.key(), "must hold the largest result, "
                    + largest + " bytes (" + Key.IDEMPOTENCY_RESPONSE_MAX_BYTES.key() + " and "
                    + (largest - responseMax) + " bytes more)");
        }
        return new Idempotency((Boolean) v.get(Key.IDEMPOTENCY_ENABLED), topic,
                (Integer) v.get(Key.IDEMPOTENCY_TOPIC_PARTITIONS), (Duration) v.get(Key.IDEMPOTENCY_RETENTION_MS),
                (Duration) v.get(Key.IDEMPOTENCY_WAIT_MS), responseMax, memory,
                (Integer) v.get(Key.IDEMPOTENCY_TRANSACTIONAL_IDS), perKey);
    }

    private static Security security(Map<Key, Object> v) {
        boolean apiKeys = v.get(Key.AUTHENTICATION_METHOD).equals("API_KEY");
        Path keysFile = (Path) v.get(Key.API_KEYS_FILE);
        if (apiKeys && keysFile == null) {
            throw new ConfigException(Key.API_KEYS_FILE.key(), "authentication.method=API_KEY needs the keys file");
        }
        String method = (String) v.get(Key.AUTHENTICATION_METHOD);
        // A file of credentials the method does not use would leave the server open while its
        // operator believes it is closed: refused, naming the setting to fix.
        if (!apiKeys && keysFile != null) {
            throw new ConfigException(Key.AUTHENTICATION_METHOD.key(), "api.keys.file is set but authentication.method is "
                    + method + ", so no key would be asked for: set authentication.method=API_KEY, or remove api.keys.file");
        }
        if (!method.equals("BASIC") && v.get(Key.AUTHENTICATION_USERS_FILE) != null) {
            throw new ConfigException(Key.AUTHENTICATION_METHOD.key(), "authentication.users.file is set but "
                    + "authentication.method is " + method + ", so no user would be asked for: set authentication.method=BASIC, "
                    + "or remove authentication.users.file");
        }
        Basic basic = null;
        if (method.equals("BASIC")) {
            String realm = ((String) v.get(Key.AUTHENTICATION_REALM)).trim();
            if (realm.isEmpty()) {
                throw new ConfigException(Key.AUTHENTICATION_REALM.key(), "authentication.method=BASIC needs a realm");
            }
            List<String> roles = listOf(v.get(Key.AUTHENTICATION_ROLES), String.class);
            if (roles.isEmpty()) {
                throw new ConfigException(Key.AUTHENTICATION_ROLES.key(), "name at least one role, or * for any user");
            }
            basic = new Basic(realm, List.copyOf(roles), (Path) v.get(Key.AUTHENTICATION_USERS_FILE));
        }
        List<String> protocols = listOf(v.get(Key.SSL_ENABLED_PROTOCOLS), String.class);
        if (protocols.isEmpty()) {
            throw new ConfigException(Key.SSL_ENABLED_PROTOCOLS.key(), "at least one protocol is required");
        }
        List<String> skip = listOf(v.get(Key.AUTHENTICATION_SKIP_PATHS), String.class);
        for (String path : skip) {
            if (!path.startsWith("/") || path.indexOf('*') >= 0 && !path.endsWith("/*") || path.indexOf('*') != path.lastIndexOf('*')) {
                throw new ConfigException(Key.AUTHENTICATION_SKIP_PATHS.key(), "'" + path + "': a path starting with /, "
                        + "or a prefix ending in /*");
            }
        }
        return new Security(apiKeys, keysFile, basic, List.copyOf(skip),
                (String) v.get(Key.SSL_KEYSTORE_TYPE), (Path) v.get(Key.SSL_KEYSTORE_LOCATION),
                (String) v.get(Key.SSL_KEYSTORE_PASSWORD), (String) v.get(Key.SSL_KEY_PASSWORD),
                (String) v.get(Key.SSL_CLIENT_AUTH),
                (String) v.get(Key.SSL_TRUSTSTORE_TYPE), (Path) v.get(Key.SSL_TRUSTSTORE_LOCATION),
                (String) v.get(Key.SSL_TRUSTSTORE_PASSWORD),
                protocols, listOf(v.get(Key.SSL_CIPHER_SUITES), String.class));
    }

    /** Whether a listener of clients serves https. */
    public boolean hasHttpsListener() {
        return https(listeners);
    }

    /** Whether any listener, the operations' too, serves https (and so needs the TLS context). */
    public boolean anyHttpsListener() {
        return https(listeners) || https(operations.adminListeners());
    }

    private static boolean https(List<URI> listeners) {
        return listeners.stream().anyMatch(u -> u.getScheme().equalsIgnoreCase("https"));
    }
}
