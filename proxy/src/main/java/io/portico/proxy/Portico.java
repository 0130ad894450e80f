package io.portico.proxy;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.jvm.GarbageCollectorMetricSet;
import com.codahale.metrics.jvm.MemoryUsageGaugeSet;
import com.codahale.metrics.jvm.ThreadStatesGaugeSet;
import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.proxy.auth.Access;
import io.portico.proxy.auth.Authenticator;
import io.portico.proxy.auth.Quotas;
import io.portico.proxy.auth.StreamTokens;
import io.portico.proxy.handlers.AdminTopicsHandlers;
import io.portico.proxy.handlers.ConsumerHandlers;
import io.portico.proxy.handlers.ConsumerV2Handlers;
import io.portico.proxy.handlers.EventStreamHandlers;
import io.portico.proxy.handlers.MessagesHandler;
import io.portico.proxy.handlers.MetadataHandlers;
import io.portico.proxy.handlers.ProduceHandler;
import io.portico.proxy.handlers.RecordsHandler;
import io.portico.proxy.handlers.v3.ProduceV3Handler;
import io.portico.proxy.handlers.v3.ReadV3Handler;
import io.portico.proxy.handlers.RootHandler;
import io.portico.proxy.handlers.StreamTokensHandler;
import io.portico.proxy.handlers.v3.V3AdminHandlers;
import io.portico.proxy.http.AdminCalls;
import io.portico.proxy.http.BaseUrl;
import io.portico.proxy.http.Budgets;
import io.portico.proxy.http.ErrorBoundary;
import io.portico.proxy.http.EventStreams;
import io.portico.proxy.http.HttpServer;
import io.portico.proxy.http.Idempotent;
import io.portico.proxy.http.InFlight;
import io.portico.proxy.http.ResetAnswers;
import io.portico.proxy.http.Router;
import io.portico.proxy.http.ScalingPool;
import io.portico.proxy.nodes.Forwarding;
import io.portico.proxy.ops.AccessLog;
import io.portico.proxy.ops.Cors;
import io.portico.proxy.ops.HttpMetrics;
import io.portico.proxy.ops.OpsHandlers;
import io.portico.schemas.RegistryClient;
import io.portico.schemas.SchemaService;
import io.portico.sessions.ClusterAdmin;
import io.portico.sessions.ClusterHealth;
import io.portico.sessions.ConsumerRegistry;
import io.portico.sessions.Idempotency;
import io.portico.sessions.MemoryBudget;
import io.portico.sessions.MetadataService;
import io.portico.sessions.NodeDirectory;
import io.portico.sessions.OffsetReader;
import io.portico.sessions.ProduceService;
import io.portico.sessions.ProducerPool;
import io.portico.sessions.SessionMetrics;
import io.portico.sessions.SharedAdmin;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Methods;
import io.undertow.server.handlers.HttpContinueReadHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Portico: the Kafka clients (and the embedded broker when no
 * {@code bootstrap.servers} is configured), the services, and the HTTP server in front of them.
 * {@link #start} returns once it serves; {@link #close} shuts down gracefully: stop taking
 * requests, let those in progress finish (bounded by {@code shutdown.graceful.ms}), flush and
 * close the clients, stop the server and the broker.
 */
public final class Portico implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Portico.class);
    /** The operator's probes, answered whatever the load (see {@link InFlight}). */
    private static final java.util.Set<String> PROBES = java.util.Set.of("/health", "/ready");

    private final PorticoConfig config;
    private final Ticker ticker;
    private EmbeddedKafka embeddedKafka;
    private String bootstrapServers;
    private ProducerPool producers;
    private SharedAdmin admin;
    private ThreadPoolExecutor producePool;
    private io.portico.proxy.handlers.v3.ProduceV3Handler produceV3;
    /** Where produce requests that need the schema registry run: the produce pool's size, apart from it. */
    private ThreadPoolExecutor schemaPool;
    /** Where requests with an Idempotency-Key execute (and wait): the produce pool's size, apart from it. */
    private ThreadPoolExecutor keyedPool;
    private ThreadPoolExecutor metadataPool;
    /** Where the admin client's answers are made into responses: never on its own network thread. */
    private ThreadPoolExecutor adminPool;
    private ThreadPoolExecutor consumerPool;
    /** Where reads in the schema formats run (decoding may wait on the registry): the consumer pool's size, apart from it. */
    private ThreadPoolExecutor schemaReadPool;
    private ConsumerRegistry consumers;
    private OffsetReader offsetReader;
    private EventStreams eventStreams;
    private Authenticator authenticator;
    private InFlight inFlight;
    private HttpServer server;
    private HttpServer adminServer;
    private MemoryBudget headsBudget; // request heads still arriving, on every listener
    private ResetAnswers resetAnswers; // reset HTTP/2 streams' queued answers, every listener's
    private AccessLog accessLog;
    private ClusterHealth cluster;
    private SharedAdmin healthAdmin;
    private NodeDirectory directory;
    private Forwarding forwarding;
    private String nodeId;
    private Idempotency idempotency;
    private final MetricRegistry metrics = new MetricRegistry();
    private boolean closed;

    private Portico(PorticoConfig config, Ticker ticker) {
        this.config = config;
        this.ticker = ticker;
    }

    /** Starts Portico as configured; on failure everything started so far is closed again. */
    public static Portico start(PorticoConfig config) throws IOException {
        return start(config, Ticker.systemTicker());
    }

    /**
     * Starts Portico with {@code ticker} as the time source of consumer-instance expiry (tests
     * pass a ticker they advance).
     */
    public static Portico start(PorticoConfig config, Ticker ticker) throws IOException {
        Portico portico = new Portico(config, ticker);
        try {
            portico.startAll();
            return portico;
        } catch (IOException | RuntimeException | Error e) {
            portico.close();
            throw e;
        }
    }

    private void startAll() throws IOException {
        // Portico's own state topics are refused to clients from the first request on, whether or not
        // this node uses them (other nodes of the cluster may).
        io.portico.sessions.KafkaNames.reserve(config.idempotency().topic());
        io.portico.sessions.KafkaNames.reserve(config.nodes().topic());
        // What can be checked without Kafka is checked first, so a bad setting fails at once.
        authenticator = authenticator(config.security(), config.hasHttpsListener());
        SSLContext tls = config.anyHttpsListener() ? Tls.context(config.security()) : null;
        if (config.embedded()) {
            embeddedKafka = EmbeddedKafka.start(config.embeddedKafkaDir(), config.embeddedKafka());
            bootstrapServers = embeddedKafka.bootstrapServers();
            LOG.info("No bootstrap.servers configured: started an embedded single-node Kafka at {} (data in {}{})",
                    bootstrapServers, embeddedKafka.dataDir(),
                    config.embeddedKafkaDir() == null ? ", deleted on exit" : "");
        } else {
            bootstrapServers = config.bootstrapServers();
        }

        Map<String, Object> adminConfig = config.adminConfig(bootstrapServers);
        validateAdminConfig(adminConfig);
        admin = new SharedAdmin(() -> Admin.create(adminConfig), Duration.ofSeconds(30));
        PorticoConfig.Operations ops = config.operations();
        // The health checks' own admin client: calls queued in the shared one (one at a time per
        // broker) must not make a cluster that answers look unreachable (/ready, reads' 503s).
        Map<String, Object> healthConfig = new java.util.HashMap<>(adminConfig);
        healthConfig.put(org.apache.kafka.clients.admin.AdminClientConfig.CLIENT_ID_CONFIG,
                adminConfig.get(org.apache.kafka.clients.admin.AdminClientConfig.CLIENT_ID_CONFIG) + "-health");
        healthAdmin = new SharedAdmin(() -> Admin.create(healthConfig), Duration.ofSeconds(30));
        cluster = new ClusterHealth(healthAdmin, admin, config.metadataTimeout(), ops.clusterCheckInterval());
        SessionMetrics sessionMetrics = new SessionMetrics(metrics);
        validateProducerConfig(config.producerConfig(bootstrapServers), config.idempotency().enabled());
        producers = ProducerPool.kafka(config.producerConfig(bootstrapServers), config.gracefulShutdown());
        producers.shared(); // created now, so that a bad producer.* setting fails start-up
        producePool = ScalingPool.create("portico-produce", config.produceThreads(), config.produceQueueSize());
        // Producer look-ups of topics it does not know yet block; requests stop waiting at their deadline.
        metadataPool = ScalingPool.create("portico-metadata", 8, 256);
        // The admin client's answers are made into responses here, off its one network thread (which
        // every admin call waits on), and apart from the look-ups above, which may block.
        adminPool = ScalingPool.create("portico-admin", 8, 1024);
        MetadataService metadata = new MetadataService(admin, config.metadataTimeout(), config.showInternalTopics(),
                adminPool);
        metadata.timestampAfterMaxMs(); // the brokers' settings asked now, in the background, before the first produce
        ProduceService produce = new ProduceService(producers, metadata, sessionMetrics,
                new ProduceService.Options(config.metadataTimeout(), config.internalTopicsProduce(), metadataPool));

        PorticoConfig.Reads reads = config.reads();
        Map<String, Object> consumerConfig = config.consumerConfig(bootstrapServers);
        validateConsumerConfig(consumerConfig);
        PorticoConfig.Memory memory = config.memory();
        if (2 * config.requestBodyMaxBytes() > memory.requests()) {
            LOG.warn("A body of request.body.max.bytes ({} bytes) counts twice and can never fit memory.requests.max.bytes "
                    + "({} bytes): such bodies get 413. Raise the heap or the budget, or lower the limit.",
                    config.requestBodyMaxBytes(), memory.requests());
        }
        // An eighth more for small bodies only: large uploads filling the budget never starve them.
        MemoryBudget requestsBudget = budget("memory.requests.max.bytes", "requests", memory.requests(),
                memory.requests() / 8);
        MemoryBudget responsesBudget = budget("memory.responses.max.bytes", "responses", memory.responses());
        // What reset HTTP/2 streams leave queued until their connections close: a quarter as much again, apart.
        resetAnswers = new ResetAnswers(budget("memory.responses.max.bytes", "reset.answers", memory.responses() / 4));
        MemoryBudget consumersBudget = budget("memory.consumers.max.bytes", "consumers", memory.consumers());
        headsBudget = budget("memory.heads.max.bytes", "heads", memory.heads());
        // One API key holds at most half of what answers being sent, consumers and their records
        // take (its instances, its event streams and what they hold): the other half stays for the others.
        requestsBudget.ownerShare(requestsBudget.capacity() / 2);
        responsesBudget.ownerShare(responsesBudget.capacity() / 2);
        consumersBudget.ownerShare(consumersBudget.capacity() / 2);
        PorticoConfig.Nodes nodes = config.nodes();
        nodeId = config.serverId();
        if (nodes.enabled() && nodeId.isEmpty()) {
            nodeId = generatedNodeId();
        }
        consumers = ConsumerRegistry.kafka(new ConsumerRegistry.Settings(consumerConfig, reads.instanceTimeout(),
                reads.requestTimeout(), reads.assignmentTimeout(), reads.requestMaxBytes(), reads.instancesMax(),
                nodeId), metadata::exists, ticker, sessionMetrics, consumersBudget, memory.waitForRoom());
        consumers.topicNames(metadata.cachedTopicNames(Duration.ofSeconds(1)));
        consumers.partitionCounts(metadata::recentPartitionCount);
        consumers.instancesPerOwner(reads.instancesPerKeyMax());
        offsetReader = OffsetReader.kafka(consumerConfig, reads.offsetReaders(), reads.offsetReaderWait(),
                config.metadataTimeout(), reads.requestMaxBytes(), sessionMetrics, consumersBudget)
                .logEnds(this::highWatermark)
                .partitionCounts(metadata::recentPartitionCount);
        consumerPool = ScalingPool.create("portico-consumer", reads.threads(), reads.queueSize());
        registerGauges();
        if (nodes.enabled()) {
            directory = new NodeDirectory(new NodeDirectory.Settings(nodes.topic(), nodeId, nodes.heartbeat(),
                    nodes.expiry(), config.metadataTimeout(), reads.instanceTimeout(), nodes.secret()), nodeProducer(),
                    nodeConsumer(consumerConfig),
                    admin::get, java.time.Clock.systemUTC());
        }
        // One API key's consumer reads may hold half of a read pool's threads and queued places,
        // less while other keys' reads crowd it.
        int readPlaces = (int) Math.min(Integer.MAX_VALUE, (long) reads.threads() + reads.queueSize());
        io.portico.proxy.http.PoolShares readShares = new io.portico.proxy.http.PoolShares(consumerPool, readPlaces / 2,
                readPlaces, "consumer.threads, consumer.queue.size");
        // A look-up of the node directory holds its thread up to metadata.timeout.ms: one key's at
        // most half the consumer threads (fewer while crowded), queued or running.
        io.portico.proxy.http.PoolShares catchUps = new io.portico.proxy.http.PoolShares(consumerPool,
                reads.threads() / 2, reads.threads(), "consumer.threads");
        // An instance's other requests (a commit, a seek by time, a delete) hold their thread while
        // Kafka answers, 5 s when a group's coordinator is away: one key's at most half the
        // consumer threads (fewer while crowded), queued or running, not half of threads and queue
        // as its reads' slices, so that its commits do not take every thread other keys' reads need.
        // (A share of its own, not the directory look-ups': a look-up serves its request in its own
        // task, which would then ask a second place of the same share while holding the first.)
        io.portico.proxy.http.PoolShares instanceRequests = new io.portico.proxy.http.PoolShares(consumerPool,
                reads.threads() / 2, reads.threads(), "consumer.threads");
        forwarding = new Forwarding(directory, consumers, nodes.secret(), catchUps, tls, nodes.forwardTimeout(),
                config.sse().streamsMax(), config.sse().heartbeat());
        PorticoConfig.Idempotency keys = config.idempotency();
        if (keys.enabled()) {
            idempotency = Idempotency.kafka(new Idempotency.Settings(keys.topic(), keys.partitions(), keys.retention(),
                    keys.waitFor(), keys.responseMaxBytes(), keys.memoryMaxBytes(), keys.transactionalIds(),
                    keys.perKeyMaxBytes()), config.transactionalProducerConfig(bootstrapServers),
                    consumerConfig, admin, config.metadataTimeout(), sessionMetrics);
            idempotency.start();
            // Keyed requests wait (for another with the key, the state topic, the transaction):
            // on threads of their own, never on those that produces without a key need.
            keyedPool = ScalingPool.create("portico-keyed", config.produceThreads(), config.produceQueueSize());
        }
        Idempotent idempotent = new Idempotent(idempotency, keyedPool, config.produceThreads(),
                produce::checkTopic);

        SchemaService schemas = schemaService(config.schemaRegistry());
        // A request that waits on a slow registry must not hold up produces that never ask it.
        schemaPool = schemas == null ? null : ScalingPool.create("portico-schema", config.produceThreads(),
                config.produceQueueSize());
        Executor schemaProduce = schemaPool == null ? producePool : schemaPool;
        // One API key's requests may hold half of the schema pool's threads, queued or running, less
        // while other keys' crowd them: a request waiting for the registry (a cache miss) holds its
        // thread, so a key's many such requests, queued, would hold up every other key's behind them.
        io.portico.proxy.http.PoolShares schemaShares = new io.portico.proxy.http.PoolShares(schemaProduce,
                config.produceThreads() / 2, config.produceThreads(), "produce.threads");
        schemaReadPool = schemas == null ? null : ScalingPool.create("portico-schema-reads", reads.threads(),
                reads.queueSize());
        Executor schemaReads = schemaReadPool == null ? consumerPool : schemaReadPool;
        io.portico.proxy.http.PoolShares schemaReadShares = schemaReadPool == null ? readShares
                : new io.portico.proxy.http.PoolShares(schemaReadPool, readPlaces / 2, readPlaces,
                        "consumer.threads, consumer.queue.size");
        // A read by offset decoding records holds its thread while the registry answers: one API
        // key's such reads, queued or running, at most half the threads (fewer while crowded).
        io.portico.proxy.http.PoolShares schemaReadsByOffset = new io.portico.proxy.http.PoolShares(schemaReads,
                reads.threads() / 2, reads.threads(), "consumer.threads");
        if (schemas != null) {
            consumers.decoders(schemas::decoder);
        }
        PorticoConfig.RecordsLimits recordsLimits = config.records();
        ClusterAdmin clusterAdmin = new ClusterAdmin(admin, config.metadataTimeout(), config.showInternalTopics(),
                adminPool);
        BaseUrl baseUrl = new BaseUrl(config.advertisedListeners(), config.hostName());
        PorticoConfig.Sse sse = config.sse();
        eventStreams = new EventStreams(sse.streamsMax(), sse.heartbeat()).perOwner(sse.streamsPerKeyMax());
        metrics.gauge("portico.sse.streams.open", () -> eventStreams::active);
        if (directory != null) {
            directory.onDeparture(eventStreams::endRelayedBy);
            eventStreams.relayersGoneWhen(directory::unheardOf);
        }
        StreamTokens streamTokens = new StreamTokens(authenticator,
                StreamTokens.secret(sse.tokenSecret(), config.nodes().secret()), sse.tokenTtl(), System::currentTimeMillis);
        PorticoConfig.Quotas quota = config.quotas();
        Quotas quotas = new Quotas(quota.requestsPerSecond(), quota.burst(), quota.authFailuresPerSecond(), ticker,
                metrics.meter("portico.quota.refused")::mark);
        Router routes = Api.routes(new Access(authenticator, streamTokens, quotas, config.security().skipPaths(),
                ops.requestsPerKeyMax()),
                new AdminCalls(ops.adminRequestsMax(), ops.adminRequestsPerKeyMax()), new Api.Handlers(
                new RootHandler(),
                new MetadataHandlers(metadata),
                new ProduceHandler(produce, producePool, schemaShares, config.requestBodyMaxBytes(), ops.produceRecordsMax(), schemas,
                        idempotent),
                new MessagesHandler(offsetReader, readShares, schemaReadsByOffset, reads.countMax(), schemas),
                new ConsumerHandlers(consumers, cluster, config.advertisedListeners(), config.hostName(),
                        config.requestBodyMaxBytes(), readShares, schemaReadShares, instanceRequests),
                new ConsumerV2Handlers(consumers, cluster, config.requestBodyMaxBytes(),
                        readShares, schemaReadShares, instanceRequests),
                new RecordsHandler(produce, producePool, schemaShares, new RecordsHandler.Limits(recordsLimits.keyMaxBytes(),
                        recordsLimits.valueMaxBytes(), recordsLimits.uriMaxBytes()), schemas, idempotent),
                new AdminTopicsHandlers(metadata, config.requestBodyMaxBytes()),
                V3AdminHandlers.of(clusterAdmin, baseUrl, config.requestBodyMaxBytes()),
                produceV3 = new ProduceV3Handler(produce, clusterAdmin, producePool, schemaShares, new ProduceV3Handler.Limits(
                        (int) Math.min(Integer.MAX_VALUE, config.requestBodyMaxBytes()),
                        config.streaming().unacknowledgedMax(), config.streaming().batchMaxEntries(),
                        config.connections().bodyTimeout(), config.streaming().maxDuration(),
                        config.streaming().gracePeriod()), schemas, idempotent),
                new ReadV3Handler(offsetReader, clusterAdmin, baseUrl, readShares, reads.countMax()),
                forwarding,
                new EventStreamHandlers(consumers, offsetReader, clusterAdmin, eventStreams, reads.requestTimeout()),
                new StreamTokensHandler(streamTokens)));
        OpsHandlers opsHandlers = new OpsHandlers(metrics, cluster, () -> inFlight != null && inFlight.isShuttingDown());
        Router adminRoutes = null;
        if (ops.adminListeners().isEmpty()) {
            Api.operations(routes, opsHandlers);
        } else {
            adminRoutes = Api.operations(new Router(), opsHandlers);
        }

        // The chain, outermost first: metrics and access log see every request, including those
        // turned away; errors thrown anywhere inside become JSON.
        if (ops.accessLog()) {
            accessLog = new AccessLog();
        }
        HttpHandler inner = forwarding.gate(new HttpContinueReadHandler(routes), quotas::refuseIfGuessing,
                quotas::admitFailure);
        inner = new Budgets(inner, new Budgets.Settings(requestsBudget, responsesBudget,
                config.connections().bodyTimeout(), memory.waitForRoom()));
        // The operator's probes on the API's listeners answer whatever the load (/ready says 503 itself
        // during shutdown); on admin listeners of their own they never meet this chain.
        java.util.function.Predicate<HttpServerExchange> probes = ops.adminListeners().isEmpty()
                ? exchange -> PROBES.contains(exchange.getRelativePath()) && (Methods.GET.equals(exchange.getRequestMethod())
                        || Methods.HEAD.equals(exchange.getRequestMethod()))
                : exchange -> false;
        inFlight = new InFlight(inner, ops.maxConcurrentRequests(), ops.requestsPerAddressMax(), forwarding::fromNode,
                probes);
        metrics.gauge("portico.http.in.flight", () -> inFlight::active);
        HttpHandler limited = inFlight;
        if (!ops.crossSiteWritesAllowed()) {
            limited = new io.portico.proxy.ops.CrossSiteWrites(limited,
                    io.portico.proxy.ops.Cors.allowedOrigins(ops.corsOrigins()), forwarding::fromNode);
        }
        HttpHandler chain = edge(limited, ops, routes);
        // A request the server turns away before the chain (an HTTP/2 stream past its
        // connection's bound) is answered through the same edge: logged, counted, with CORS headers.
        refusedChain = edge(HttpServer.THROW_REFUSAL, ops, routes);

        if (directory != null) {
            directory.madeHere(consumers::has);
            URI url = nodeUrl(config.listeners().get(0));
            if (url != null) {
                // Before the server listens: no create goes unrecorded, no relay looks at an empty directory.
                directory.start(url);
                consumers.ownership(directory);
            }
        }
        server = listen(PorticoConfig.Key.LISTENERS.key(), config.listeners(), chain, refusedChain, tls);
        if (adminRoutes != null) {
            adminServer = listen(PorticoConfig.Key.ADMIN_LISTENERS.key(), ops.adminListeners(), new ErrorBoundary(adminRoutes),
                    null, tls);
            LOG.info("Operations endpoints on {}", ops.adminListeners());
        }
        if (directory != null && !directory.started()) {
            // A listener on port 0 is known only now: the directory starts once the server listens.
            directory.start(nodeUrl(listenerUrls().get(0)));
            consumers.ownership(directory);
        }
        LOG.info("Portico serves on {}", listenerUrls());
        LOG.debug("Base64 of keys and values of 128 bytes or more: {}", io.portico.protocol.Base64Text.vectorizedForLargeValues()
                ? "the JDK's encoder, vectorized by this JVM" : "a table of character pairs (this JVM does not vectorize the JDK's)");
    }

    /**
     * The schema formats' service when {@code schema.registry.url} is set, else null (those
     * formats then answer 415). Its caches hold at most 16 MiB of schema text.
     */
    private static SchemaService schemaService(PorticoConfig.SchemaRegistry registry) {
        if (!registry.enabled()) {
            return null;
        }
        SSLContext tls = Tls.registryClient(registry);
        LOG.info("Schema formats (avro, jsonschema, protobuf) through the schema registry at {}", registry.urls().stream()
                .map(u -> u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort()) + u.getPath())
                .toList());
        return new SchemaService(new RegistryClient(new RegistryClient.Settings(registry.urls(), registry.userInfo(), tls,
                registry.timeout())), 16L << 20);
    }

    /** A partition's high watermark, the end of its log for every reader (asked of the admin client). */
    private long highWatermark(org.apache.kafka.common.TopicPartition tp, Duration timeout) {
        // Never sent with under 100 ms to live (CallDeadline's floor): a call that times out in
        // flight makes Kafka's admin client close its connection to that broker, which every
        // other caller of the shared client then pays for. A read overruns its bound by that at most.
        long millis = Math.max(100, timeout.toMillis());
        try {
            return admin.get().listOffsets(Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()),
                            new org.apache.kafka.clients.admin.ListOffsetsOptions(
                                    org.apache.kafka.common.IsolationLevel.READ_UNCOMMITTED).timeoutMs((int) Math.min(millis, Integer.MAX_VALUE)))
                    .partitionResult(tp).get(millis, java.util.concurrent.TimeUnit.MILLISECONDS).offset();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new org.apache.kafka.common.KafkaException(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new org.apache.kafka.common.errors.TimeoutException("the log end of " + tp + " was not known in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new org.apache.kafka.common.errors.InterruptException(e);
        }
    }

    /** A node id when none is configured: this host's name and a random part (a restarted node is a new node). */
    private static String generatedNodeId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "node";
        }
        host = host.split("\\.")[0].replaceAll("[^A-Za-z0-9_-]", "");
        if (host.isEmpty() || host.length() > 40) {
            host = "node";
        }
        return host + "-" + java.util.HexFormat.of().toHexDigits((int) (Math.random() * Integer.MAX_VALUE)).substring(2);
    }

    /**
     * Where other nodes reach this one: {@code node.url}, else the first advertised listener, else
     * {@code first} (a listener as configured or as bound) with a wildcard host replaced by this
     * host's name; null when only the bound port can tell.
     */
    private URI nodeUrl(URI first) {
        if (config.nodes().url() != null) {
            return config.nodes().url();
        }
        if (!config.advertisedListeners().isEmpty()) {
            return config.advertisedListeners().get(0);
        }
        if (first.getPort() <= 0) {
            return null;
        }
        String host = first.getHost();
        if (host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
            try {
                host = java.net.InetAddress.getLocalHost().getCanonicalHostName();
            } catch (IOException e) {
                host = "localhost";
            }
        }
        return URI.create(first.getScheme() + "://" + host + ":" + first.getPort());
    }

    private org.apache.kafka.clients.producer.Producer<byte[], byte[]> nodeProducer() {
        Map<String, Object> c = new java.util.HashMap<>(config.producerConfig(bootstrapServers));
        c.put(org.apache.kafka.clients.producer.ProducerConfig.ACKS_CONFIG, "all");
        c.put(org.apache.kafka.clients.producer.ProducerConfig.LINGER_MS_CONFIG, "0");
        // The directory's records must land in the order written (a release, then a claim of the
        // same name again): one request in flight, whatever producer.* says of idempotence.
        c.put(org.apache.kafka.clients.producer.ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        c.put(org.apache.kafka.clients.producer.ProducerConfig.CLIENT_ID_CONFIG, "portico-nodes-" + nodeId);
        return new org.apache.kafka.clients.producer.KafkaProducer<>(c,
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer());
    }

    private static org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> nodeConsumer(Map<String, Object> consumerConfig) {
        Map<String, Object> c = new java.util.HashMap<>(consumerConfig);
        c.remove(org.apache.kafka.clients.consumer.ConsumerConfig.GROUP_ID_CONFIG);
        c.put(org.apache.kafka.clients.consumer.ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(org.apache.kafka.clients.consumer.ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(org.apache.kafka.clients.consumer.ConsumerConfig.CLIENT_ID_CONFIG, "portico-nodes-reader");
        return new org.apache.kafka.clients.consumer.KafkaConsumer<>(c,
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer());
    }

    /** This node's id in the node directory (empty when it works alone and none is configured). */
    public String nodeId() {
        return nodeId;
    }

    /**
     * Serves {@code listeners} (the setting {@code key}); one that cannot be bound (its port taken,
     * say by Confluent's REST Proxy, whose port 8082 is, or its host unknown) stops start-up
     * naming the setting and the address.
     */
    private HttpServer listen(String key, List<URI> listeners, HttpHandler handler, HttpHandler refused, SSLContext tls)
            throws IOException {
        try {
            return serve(listeners, handler, refused, tls);
        } catch (java.net.BindException | java.net.UnknownHostException e) {
            throw new ConfigException(key, "cannot listen on " + listeners + ": " + e.getMessage()
                    + (e instanceof java.net.BindException ? " (another process may hold the port)" : ""));
        }
    }

    /**
     * What every request passes first and last: CORS (outside the in-flight cap, so that its 503s,
     * overload and shutdown, carry CORS headers too), the access log, metrics, and the boundary
     * that turns anything thrown inside into JSON.
     */
    private HttpHandler edge(HttpHandler inner, PorticoConfig.Operations ops, Router routes) {
        HttpHandler h = inner;
        if (!ops.corsOrigins().isBlank()) {
            h = new Cors(h, ops.corsOrigins(), ops.corsMethods(), ops.corsHeaders(), ops.corsExposedHeaders());
        }
        h = accessLog == null ? h : accessLog.wrap(h);
        return new ErrorBoundary(new HttpMetrics(metrics, h, routes::template));
    }

    /** The API listeners' answer to requests turned away before the chain (see {@link #edge}); null on admin listeners. */
    private HttpHandler refusedChain;

    private HttpServer serve(List<URI> listeners, HttpHandler handler, HttpHandler refused, SSLContext tls) throws IOException {
        PorticoConfig.Connections c = config.connections();
        PorticoConfig.Security s = config.security();
        int cap = connectionCap(c.max(), config.listeners().size() + config.operations().adminListeners().size());
        return HttpServer.start(listeners, handler, refused, tls, new HttpServer.Settings(config.ioThreads(), c.headersMaxBytes(),
                c.headerTimeout(), c.idleTimeout(), c.bodyTimeout(), cap,
                // Handlers enforce request.body.max.bytes themselves, with a 413 JSON answer; this
                // backstop only cuts off bodies nobody reads.
                2 * config.requestBodyMaxBytes(),
                s.enabledProtocols(), s.cipherSuites(), s.clientAuth(), c.http2(), c.http2MaxStreams(), headsBudget,
                c.perAddressMax() > 0 ? Math.min(c.perAddressMax(), cap) : Math.max(1, cap / 2), resetAnswers));
    }

    /**
     * {@code connections.max} for one of {@code listeners} listeners (main and admin), but never
     * more than its part of half the file descriptors the process may open: all listeners' idle
     * connections together leave the other half to Kafka's clients, the broker and new requests.
     */
    static int connectionCap(int configured, int listeners) {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return connectionCap(configured, listeners, unix.getMaxFileDescriptorCount());
        }
        return configured;
    }

    /** As {@link #connectionCap(int, int)} for a process that may open {@code descriptors} files. */
    static int connectionCap(int configured, int listeners, long descriptors) {
        long part = descriptors / 2 / Math.max(1, listeners);
        if (part > 0 && part < configured) {
            LOG.info("connections.max {} on each of {} listeners is more than half the file descriptors this process may "
                    + "open: {} connections at most on each", configured, listeners, part);
            return (int) part;
        }
        return configured;
    }

    private MemoryBudget budget(String key, String name, long capacity) {
        return budget(key, name, capacity, 0);
    }

    private MemoryBudget budget(String key, String name, long capacity, long reserve) {
        MemoryBudget budget = new MemoryBudget(key, capacity, reserve);
        metrics.gauge("portico.memory." + name + ".used", () -> budget::used);
        metrics.gauge("portico.memory." + name + ".capacity", () -> budget::capacity);
        return budget;
    }

    private void registerGauges() {
        metrics.registerAll("jvm.memory", new MemoryUsageGaugeSet());
        metrics.registerAll("jvm.gc", new GarbageCollectorMetricSet());
        metrics.registerAll("jvm.threads", new ThreadStatesGaugeSet());
        metrics.gauge("portico.pool.produce.active", () -> producePool::getActiveCount);
        metrics.gauge("portico.pool.produce.queued", () -> () -> producePool.getQueue().size());
        metrics.gauge("portico.pool.schema.active", () -> () -> schemaPool == null ? 0 : schemaPool.getActiveCount());
        metrics.gauge("portico.pool.schema.queued", () -> () -> schemaPool == null ? 0 : schemaPool.getQueue().size());
        metrics.gauge("portico.pool.keyed.active", () -> () -> keyedPool == null ? 0 : keyedPool.getActiveCount());
        metrics.gauge("portico.pool.keyed.queued", () -> () -> keyedPool == null ? 0 : keyedPool.getQueue().size());
        metrics.gauge("portico.pool.consumer.active", () -> consumerPool::getActiveCount);
        metrics.gauge("portico.pool.consumer.queued", () -> () -> consumerPool.getQueue().size());
        metrics.gauge("portico.pool.schema.reads.active", () -> () -> schemaReadPool == null ? 0 : schemaReadPool.getActiveCount());
        metrics.gauge("portico.pool.schema.reads.queued", () -> () -> schemaReadPool == null ? 0 : schemaReadPool.getQueue().size());
        metrics.gauge("portico.kafka.reachable", () -> () -> cluster.reachable() ? 1 : 0);
    }

    /** The metrics of this Portico (also served at {@code /metrics}). */
    public MetricRegistry metrics() {
        return metrics;
    }

    private static Authenticator authenticator(PorticoConfig.Security security, boolean httpsListener) throws IOException {
        if (security.basic() != null) {
            return basicAuthenticator(security.basic());
        }
        if (!security.apiKeys()) {
            return Authenticator.none();
        }
        try {
            Authenticator keys = Authenticator.apiKeys(security.apiKeysFile(), Duration.ofSeconds(2));
            LOG.info("API keys required (from {})", security.apiKeysFile());
            if (keys.namesCertificates() && (security.clientAuth().equals("none") || !httpsListener)) {
                LOG.warn("{} names client certificates, but no listener asks for them (an https listener and "
                        + "ssl.client.auth requested or required), so an entry without a key cannot be used",
                        security.apiKeysFile());
            }
            return keys;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ConfigException("api.keys.file", "no such file: " + security.apiKeysFile());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("api.keys.file", security.apiKeysFile() + ": " + e.getMessage());
        }
    }

    /** Confluent's HTTP basic authentication: the users file given, or the one the JAAS configuration names. */
    private static Authenticator basicAuthenticator(PorticoConfig.Basic basic) throws IOException {
        String key = "authentication.users.file";
        java.nio.file.Path users = basic.usersFile();
        if (users == null) {
            String jaas = System.getProperty("java.security.auth.login.config");
            if (jaas == null || jaas.isBlank()) {
                throw new ConfigException(key, "authentication.method=BASIC needs the users file, or a JAAS configuration "
                        + "(-Djava.security.auth.login.config=<file>) whose " + basic.realm() + " section names it");
            }
            try {
                users = Authenticator.usersFileOf(jaas, basic.realm());
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, e.getMessage());
            }
        }
        try {
            Authenticator authenticator = Authenticator.basic(users, basic.realm(), java.util.Set.copyOf(basic.roles()),
                    Duration.ofSeconds(2));
            LOG.info("HTTP basic authentication required (users from {}, realm {}, roles {})", users, basic.realm(),
                    basic.roles());
            return authenticator;
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ConfigException(key, "no such file: " + users);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key, users + ": " + e.getMessage());
        }
    }

    /**
     * A bad {@code producer.*} setting fails start-up with the key named: one that contradicts the
     * idempotence Portico turns on (e.g. {@code producer.acks=1}, which needs
     * {@code producer.enable.idempotence=false} as well), and, with Idempotency-Key on, one the
     * keyed requests' transactional producers cannot take.
     */
    static void validateProducerConfig(Map<String, Object> producerConfig, boolean transactions) {
        Map<String, Object> probe = new java.util.HashMap<>(producerConfig);
        probe.put("key.serializer", org.apache.kafka.common.serialization.ByteArraySerializer.class);
        probe.put("value.serializer", org.apache.kafka.common.serialization.ByteArraySerializer.class);
        try {
            new org.apache.kafka.clients.producer.ProducerConfig(probe);
            if (transactions) {
                new org.apache.kafka.clients.producer.ProducerConfig(Idempotency.transactionalConfig(probe, "probe"));
            }
        } catch (org.apache.kafka.common.config.ConfigException e) {
            throw new ConfigException("producer.*", e.getMessage() + (transactions
                    ? " (Idempotency-Key requests use transactional producers with these settings; "
                            + "idempotency.enabled=false turns them off)" : ""));
        }
        if ("false".equals(String.valueOf(producerConfig.get("enable.idempotence")))) {
            LOG.warn("producer.enable.idempotence=false: a produce the producer retries internally may be written "
                    + "twice (requests with an Idempotency-Key are not affected)");
        }
    }

    /** A bad {@code consumer.*} setting fails start-up, not the first consumer request. */
    /** Kafka's check of the admin client's settings, before one is built: a bad one names its key, no stack trace. */
    static void validateAdminConfig(Map<String, Object> adminConfig) {
        try {
            new org.apache.kafka.clients.admin.AdminClientConfig(adminConfig);
        } catch (org.apache.kafka.common.config.ConfigException e) {
            throw new ConfigException("admin.*", e.getMessage()); // Kafka's message names the setting
        }
    }

    private static void validateConsumerConfig(Map<String, Object> consumerConfig) {
        Map<String, Object> probe = new java.util.HashMap<>(consumerConfig);
        probe.put("key.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
        probe.put("value.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
        try {
            new org.apache.kafka.clients.consumer.ConsumerConfig(probe);
        } catch (org.apache.kafka.common.config.ConfigException e) {
            throw new ConfigException("consumer.*", e.getMessage()); // Kafka's message names the setting
        }
    }


    /** The URLs of the HTTP listeners as configured, with the real port where 0 was configured. */
    public List<URI> listenerUrls() {
        List<URI> urls = new ArrayList<>();
        List<InetSocketAddress> bound = server.addresses();
        for (int i = 0; i < bound.size(); i++) {
            URI configured = config.listeners().get(i);
            int port = bound.get(i).getPort();
            urls.add(URI.create(configured.getScheme() + "://" + configured.getHost() + ":" + port));
        }
        return urls;
    }

    /** The consumer-group instances this Portico holds. */
    public ConsumerRegistry consumers() {
        return consumers;
    }

    /** The Kafka cluster Portico talks to. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * A shutdown hook that calls {@link #close} is set: the embedded broker's own exit hook, which
     * covered start-up, goes (it would stop the broker under requests still finishing).
     */
    public void shutdownHookSet() {
        if (embeddedKafka != null) {
            embeddedKafka.closedByOwnerFromNowOn();
        }
    }

    /** Graceful shutdown; see the class comment. Safe to call more than once. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (inFlight != null) {
            inFlight.shutdown();
            if (directory != null) {
                // Said first: the other nodes end the event streams this one relays to its
                // clients (cleanly, as this node ends its own), so that they do not hold it up.
                directory.departing();
            }
            // One wait for both: streams ending, then the other requests in progress (each waited
            // shutdown.graceful.ms of its own, twice the time the setting promises).
            long gracefulEnd = System.nanoTime() + config.gracefulShutdown().toNanos();
            if (produceV3 != null) {
                // Told first: an event stream whose client reads nothing may take the whole wait below.
                produceV3.endStreams(); // produce streams end once the reports of what they read are written
            }
            if (eventStreams != null) {
                // Streams last until their clients go: end them (cleanly), so in-flight requests can finish.
                eventStreams.close(config.gracefulShutdown());
            }
            try {
                if (!inFlight.awaitIdle(Math.max(0, gracefulEnd - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    LOG.warn("{} requests still in progress after {} ms; closing anyway",
                            inFlight.active(), config.gracefulShutdown().toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (producePool != null) {
            producePool.shutdown();
        }
        if (schemaPool != null) {
            schemaPool.shutdown();
        }
        if (keyedPool != null) {
            keyedPool.shutdown();
        }
        if (metadataPool != null) {
            metadataPool.shutdown();
        }
        if (adminPool != null) {
            adminPool.shutdown();
        }
        if (consumerPool != null) {
            consumerPool.shutdown();
        }
        if (schemaReadPool != null) {
            schemaReadPool.shutdown();
        }
        if (directory != null) {
            directory.leaving(); // its instances' records stay: other nodes tell their callers it left
        }
        closeQuietly(eventStreams);
        closeQuietly(consumers);
        closeQuietly(directory);
        closeQuietly(offsetReader);
        closeQuietly(idempotency);
        closeQuietly(producers);
        closeQuietly(cluster);
        closeQuietly(healthAdmin);
        closeQuietly(admin);
        closeQuietly(server);
        closeQuietly(adminServer);
        closeQuietly(accessLog);
        closeQuietly(authenticator);
        closeQuietly(embeddedKafka);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("Closing {} failed: {}", c.getClass().getSimpleName(), e.toString());
        }
    }
}
