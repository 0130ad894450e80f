package io.portico.sessions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import io.portico.protocol.CreateConsumerRequest;
import io.portico.protocol.EmbeddedFormat;
import io.portico.protocol.ErrorCode;
import io.portico.protocol.RestException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The registry of consumer instances: creation, lookup, deletion, idle expiry and shutdown. */
class ConsumerRegistryTest {

    private static final Duration INSTANCE_TIMEOUT = Duration.ofMinutes(5);
    private static final Map<String, Object> KAFKA = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092");
    private static final Pattern UUID_PATTERN =
            Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final SessionTestConsumer.Factory factory = new SessionTestConsumer.Factory();
    private final AtomicLong nanos = new AtomicLong();
    private final Ticker ticker = nanos::get;
    private final List<String> topicChecks = new ArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<ConsumerRegistry> registries = new ArrayList<>();

    @AfterEach
    void closeEverything() {
        registries.forEach(ConsumerRegistry::close);
        threads.shutdownNow();
    }

    private ConsumerRegistry registry(int maxInstances, String serverId) {
        ConsumerRegistry registry = new ConsumerRegistry(
                new ConsumerRegistry.Settings(KAFKA, INSTANCE_TIMEOUT, Duration.ofMillis(50), Duration.ofSeconds(2),
                        1 << 20, maxInstances, serverId),
                factory, topic -> {
                    topicChecks.add(topic);
                    return true;
                }, ticker);
        registries.add(registry);
        return registry;
    }

    private ConsumerRegistry registry() {
        return registry(100, "");
    }

    private static CreateConsumerRequest named(String name) {
        return new CreateConsumerRequest(name, null, null, null, null);
    }

    private static RestException assertRestError(ErrorCode expected, Executable call) {
        RestException e = assertThrows(RestException.class, call);
        assertEquals(expected, e.errorCode(), e.getMessage());
        return e;
    }

    private void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    // ---- create ------------------------------------------------------------------------------

    @Test
    void aReadBoundedByARelaysWaitKeepsItsWaitsWithinIt() {
        ConsumerInstance.ReadLimits limits = new ConsumerInstance.ReadLimits(Duration.ofSeconds(1), Duration.ofSeconds(10),
                1000, 7, 2);
        assertSame(limits, ConsumerRegistry.within(limits, null), "no bound: as is");
        ConsumerInstance.ReadLimits wide = ConsumerRegistry.within(limits, Duration.ofSeconds(290));
        assertEquals(Duration.ofSeconds(1), wide.requestTimeout());
        assertEquals(Duration.ofSeconds(10), wide.assignmentTimeout(), "within a wide bound nothing changes");
        ConsumerInstance.ReadLimits tight = ConsumerRegistry.within(limits, Duration.ofMillis(1500));
        assertEquals(Duration.ofSeconds(1), tight.requestTimeout(), "the wait for records first");
        assertEquals(Duration.ofMillis(500), tight.assignmentTimeout(), "the assignment gets what is left");
        ConsumerInstance.ReadLimits tighter = ConsumerRegistry.within(limits, Duration.ofMillis(800));
        assertEquals(Duration.ofMillis(800), tighter.requestTimeout());
        assertEquals(Duration.ZERO, tighter.assignmentTimeout());
        assertEquals(List.of(1000L, 7L, 2), List.of(tighter.maxBytes(), tighter.clientMaxBytes(), tighter.fetchMinBytes()));
    }

    @Test
    void createReturnsAnInstanceThatGetFindsByGroupAndName() {
        ConsumerRegistry registry = registry();

        ConsumerInstance instance = registry.create("g1",
                new CreateConsumerRequest("alice", null, "json", null, null), "key-1");

        assertEquals("g1", instance.group());
        assertEquals("alice", instance.name());
        assertEquals(EmbeddedFormat.JSON, instance.format());
        assertEquals("key-1", instance.owner());
        assertFalse(instance.isClosed());
        assertSame(instance, registry.get("g1", "alice"));
        assertEquals(1, registry.size());
        assertEquals(1, factory.made.size());
    }

    @Test
    void theFactoryGetsTheGroupManualCommitAClientIdAndTheSharedSettings() {
        ConsumerRegistry registry = registry();

        registry.create("g1", new CreateConsumerRequest("alice", null, null, null, "true"), null);

        Map<String, Object> config = factory.configs.get(0);
        assertEquals("g1", config.get(ConsumerConfig.GROUP_ID_CONFIG));
        assertEquals("false", config.get(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG),
                "the proxy commits itself, even for auto.commit.enable=true");
        assertEquals("portico-instance-g1-alice", config.get(ConsumerConfig.CLIENT_ID_CONFIG));
        assertEquals("broker:9092", config.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG));
        assertFalse(config.containsKey(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG),
                "auto.offset.reset is left to Kafka's default when the request gives none");
    }

    @ParameterizedTest
    @CsvSource({"smallest,earliest", "largest,latest", "earliest,earliest", "latest,latest", "SMALLEST,earliest"})
    void autoOffsetResetReachesKafkaUnderItsModernName(String asked, String expected) {
        ConsumerRegistry registry = registry();

        registry.create("g1", new CreateConsumerRequest("alice", null, null, asked, null), null);

        assertEquals(expected, factory.configs.get(0).get(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG));
    }

    @Test
    void anInvalidAutoOffsetResetAnswers42204WithoutMakingAConsumer() {
        ConsumerRegistry registry = registry();

        assertRestError(ErrorCode.INVALID_CONSUMER_CONFIG, () -> registry.create("g1",
                new CreateConsumerRequest("alice", null, null, "sometimes", null), null));
        assertTrue(factory.made.isEmpty());
    }

    @Test
    void aConsumerThatKafkaRefusesToBuildAnswers42204WithKafkasReason() {
        ConsumerRegistry registry = new ConsumerRegistry(
                new ConsumerRegistry.Settings(KAFKA, INSTANCE_TIMEOUT, Duration.ofMillis(50), Duration.ofSeconds(2),
                        1 << 20, 100, ""),
                config -> {
                    throw new KafkaException("Failed to construct kafka consumer",
                            new ConfigException("fetch.max.bytes", "-1", "must be at least 0"));
                }, topic -> true, ticker);
        registries.add(registry);

        RestException e = assertRestError(ErrorCode.INVALID_CONSUMER_CONFIG,
                () -> registry.create("g1", named("alice"), null));
        assertTrue(e.getMessage().contains("fetch.max.bytes"), e.getMessage());
        assertThrows(RestException.class, () -> registry.get("g1", "alice"));
    }

    @Test
    void aNameIsGeneratedAsRestConsumerAndAUuid() {
        ConsumerRegistry registry = registry();

        String first = registry.create("g1", CreateConsumerRequest.DEFAULTS, null).name();
        String second = registry.create("g1", CreateConsumerRequest.DEFAULTS, null).name();

        for (String name : List.of(first, second)) {
            Matcher m = Pattern.compile("rest-consumer-(" + UUID_PATTERN + ")").matcher(name);
            assertTrue(m.matches(), name);
            UUID.fromString(m.group(1));
        }
        assertNotEquals(first, second);
    }

    @Test
    void aGeneratedNameCarriesTheServerIdWhenOneIsSet() {
        ConsumerRegistry registry = registry(100, "s1");

        String name = registry.create("g1", CreateConsumerRequest.DEFAULTS, null).name();

        assertTrue(Pattern.compile("rest-consumer-s1-" + UUID_PATTERN).matcher(name).matches(), name);
    }

    @Test
    void idOverridesName() {
        ConsumerRegistry registry = registry();

        ConsumerInstance instance = registry.create("g1",
                new CreateConsumerRequest("alice", "bob", null, null, null), null);

        assertEquals("bob", instance.name());
        assertSame(instance, registry.get("g1", "bob"));
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g1", "alice"));
    }

    @Test
    void aDuplicateNameInAGroupAnswers40902WithoutMakingAConsumer() {
        ConsumerRegistry registry = registry();
        ConsumerInstance first = registry.create("g1", named("alice"), null);

        RestException e = assertRestError(ErrorCode.CONSUMER_ALREADY_EXISTS,
                () -> registry.create("g1", named("alice"), null));

        assertEquals(409, e.httpStatus());
        assertEquals(1, factory.made.size());
        assertSame(first, registry.get("g1", "alice"));
        assertEquals("alice", registry.create("g2", named("alice"), null).name(), "another group may use the name");
    }

    @Test
    void aDuplicateCreatedWhileTheConsumerWasBeingBuiltAnswers40902AndClosesTheExtraConsumer() throws Exception {
        ConsumerRegistry registry = registry();
        CountDownLatch building = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        factory.beforeCreate = () -> {
            if (factory.configs.size() == 1) { // the first create is slow to build its consumer
                building.countDown();
                await(release);
            }
        };

        Future<ConsumerInstance> slow = threads.submit(() -> registry.create("g1", named("alice"), null));
        assertTrue(building.await(5, TimeUnit.SECONDS));
        ConsumerInstance winner = registry.create("g1", named("alice"), null);
        release.countDown();

        ExecutionException e = assertThrows(ExecutionException.class, () -> slow.get(5, TimeUnit.SECONDS));
        RestException rest = assertInstanceOf(RestException.class, e.getCause());
        assertEquals(ErrorCode.CONSUMER_ALREADY_EXISTS, rest.errorCode());
        assertEquals(2, factory.made.size());
        SessionTestConsumer extra = factory.made.stream().filter(c -> c.closedBy != null).findFirst().orElseThrow();
        assertTrue(extra.closed(), "the consumer built for the losing create is closed");
        SessionTestConsumer kept = factory.made.stream().filter(c -> c != extra).findFirst().orElseThrow();
        assertFalse(kept.closed());
        assertSame(winner, registry.get("g1", "alice"));
    }

    @Test
    void avroAnswers415WithoutMakingAConsumer() {
        ConsumerRegistry registry = registry();

        RestException e = assertRestError(ErrorCode.SCHEMA_REGISTRY_REQUIRED,
                () -> registry.create("g1", new CreateConsumerRequest("alice", null, "avro", null, null), null));

        assertEquals(415, e.httpStatus());
        assertTrue(factory.made.isEmpty());
        assertEquals(0, registry.size());
    }

    @Test
    void anUnknownFormatAnswers422InvalidFormatType() {
        ConsumerRegistry registry = registry();

        RestException e = assertRestError(ErrorCode.UNPROCESSABLE_ENTITY,
                () -> registry.create("g1", new CreateConsumerRequest("alice", null, "protobuf", null, null), null));

        assertEquals(422, e.httpStatus());
        assertEquals("Invalid format type.", e.getMessage());
        assertTrue(factory.made.isEmpty());
    }

    @Test
    void theInstanceLimitAnswers429UntilAnInstanceIsDeleted() {
        ConsumerRegistry registry = registry(2, "");
        registry.create("g1", named("a"), null);
        registry.create("g2", named("b"), null);

        RestException e = assertRestError(ErrorCode.TOO_MANY_REQUESTS,
                () -> registry.create("g1", named("c"), null));

        assertEquals(429, e.httpStatus());
        assertEquals(2, factory.made.size(), "no consumer is built for a refused create");
        registry.delete("g1", "a");
        assertEquals("c", registry.create("g1", named("c"), null).name());
    }

    @Test
    void oneApiKeyHoldsAtMostItsShareAndTheOthersStillCreate() {
        ConsumerRegistry registry = registry(10, "").instancesPerOwner(2);
        registry.create("g1", named("a1"), "app-a");
        registry.create("g1", named("a2"), "app-a");
        RestException e = assertRestError(ErrorCode.TOO_MANY_REQUESTS, () -> registry.create("g1", named("a3"), "app-a"));
        assertTrue(e.getMessage().contains("consumer.instances.per.key.max"), e.getMessage());
        assertEquals("b1", registry.create("g1", named("b1"), "app-b").name(), "another key is not held back");
        registry.delete("g1", "a1");
        assertEquals("a3", registry.create("g1", named("a3"), "app-a").name(), "a deleted instance frees its key's place");
        advance(INSTANCE_TIMEOUT.plusSeconds(1));
        registry.create("g1", named("a4"), "app-a");
        registry.create("g1", named("a5"), "app-a"); // the expired ones freed theirs too
        for (int i = 0; i < 4; i++) {
            registry.create("g2", named("anonymous" + i), null); // with authentication off: no key, no share
        }
        assertEquals(6, registry.size());
    }

    @Test
    void expiredInstancesDoNotCountTowardsTheLimit() {
        ConsumerRegistry registry = registry(1, "");
        registry.create("g1", named("a"), null);

        advance(INSTANCE_TIMEOUT.plusSeconds(1));

        assertEquals("b", registry.create("g1", named("b"), null).name());
        assertEquals(1, registry.size());
    }

    /**
     * The limit holds under concurrent creates: a slot is reserved before the (slow) consumer is
     * built, so a second create cannot pass the check while the first is still building.
     */
    @Test
    void concurrentCreatesCannotExceedTheInstanceLimit() throws Exception {
        ConsumerRegistry registry = registry(1, "");
        CountDownLatch building = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        factory.beforeCreate = () -> {
            if (factory.configs.size() == 1) {
                building.countDown();
                await(release);
            }
        };

        Future<ConsumerInstance> slow = threads.submit(() -> registry.create("g1", named("a"), null));
        assertTrue(building.await(5, TimeUnit.SECONDS));
        int created = 0;
        try {
            registry.create("g1", named("b"), null);
            created++;
        } catch (RestException e) {
            assertEquals(ErrorCode.TOO_MANY_REQUESTS, e.errorCode());
        }
        release.countDown();
        try {
            slow.get(5, TimeUnit.SECONDS);
            created++;
        } catch (ExecutionException e) {
            assertEquals(ErrorCode.TOO_MANY_REQUESTS, assertInstanceOf(RestException.class, e.getCause()).errorCode());
        }

        assertEquals(1, created, "with consumer.instances.max=1, one of two concurrent creates must get 429");
        assertEquals(1, registry.size());
    }

    @Test
    void anInstanceWhoseNameIsStillBeingClaimedIsNotHeldHereYet() throws Exception {
        // Another node holds "x" (key a's): this node's create of "x" for key b waits on the
        // directory's claim, which then refuses it. Meanwhile a's requests reaching this node
        // must go on to a's node, not find b's instance here (a 403 where the relay was due).
        ConsumerRegistry registry = registry();
        CountDownLatch claiming = new CountDownLatch(1);
        CountDownLatch refuse = new CountDownLatch(1);
        registry.ownership(new ConsumerRegistry.Ownership() {
            @Override
            public void claim(String group, String name) {
                claiming.countDown();
                await(refuse);
                throw ErrorCode.CONSUMER_ALREADY_EXISTS.exception();
            }

            @Override
            public void release(String group, String name) {
            }
        });
        Future<ConsumerInstance> create = threads.submit(() -> registry.create("g1", named("x"), "b"));
        assertTrue(claiming.await(5, TimeUnit.SECONDS));
        assertFalse(registry.holds("g1", "x"), "not this node's until claimed: requests for the name are relayed to "
                + "the node the directory names");
        refuse.countDown();
        ExecutionException refused = assertThrows(ExecutionException.class, () -> create.get(5, TimeUnit.SECONDS));
        assertEquals(ErrorCode.CONSUMER_ALREADY_EXISTS, assertInstanceOf(RestException.class, refused.getCause()).errorCode());
        assertFalse(registry.holds("g1", "x"));
    }

    // ---- get and delete ----------------------------------------------------------------------

    @Test
    void getOfAnUnknownInstanceAnswers40403() {
        ConsumerRegistry registry = registry();
        registry.create("g1", named("alice"), null);

        RestException e = assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g1", "bob"));
        assertEquals(404, e.httpStatus());
        assertEquals("Consumer instance not found.", e.getMessage());
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g2", "alice"));
    }

    @Test
    void deleteClosesTheConsumerBeforeReturningAndForgetsTheInstance() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = registry.create("g1", named("alice"), null);
        SessionTestConsumer consumer = factory.last();

        ConsumerInstance deleted = registry.delete("g1", "alice");

        assertSame(instance, deleted);
        assertTrue(consumer.closed(), "closed before delete returned");
        assertEquals(Thread.currentThread().getName(), consumer.closedBy, "closed on the deleting thread");
        assertTrue(instance.isClosed());
        assertEquals(0, registry.size());
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g1", "alice"));
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.delete("g1", "alice"));
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.read(instance, "orders", 0));
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.commit(instance));
    }

    @Test
    void aDeletedNameCanBeCreatedAgain() {
        ConsumerRegistry registry = registry();
        registry.create("g1", named("alice"), null);
        registry.delete("g1", "alice");

        ConsumerInstance again = registry.create("g1", named("alice"), null);

        assertSame(again, registry.get("g1", "alice"));
        assertFalse(factory.last().closed());
    }

    // ---- idle expiry -------------------------------------------------------------------------

    @Test
    void anIdleInstanceExpiresAndItsConsumerIsClosedOnTheCloserThread() throws Exception {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = registry.create("g1", named("alice"), null);
        SessionTestConsumer consumer = factory.last();

        advance(INSTANCE_TIMEOUT.plusMillis(1));
        registry.cleanUp();

        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g1", "alice"));
        assertTrue(SessionTestConsumer.waitUntil(consumer::closed, Duration.ofSeconds(5)), "consumer closed");
        assertEquals("portico-consumer-closer", consumer.closedBy);
        assertTrue(instance.isClosed());
        assertEquals(0, registry.size());
    }

    @Test
    void instancesThatExpireTogetherAreClosedSeveralAtATime() throws Exception {
        // Each close may wait for Kafka (a final commit, the leave): one at a time, a fleet of
        // expired instances took minutes, their consumers and memory held all along.
        ConsumerRegistry registry = registry();
        CountDownLatch bothClosing = new CountDownLatch(2);
        CountDownLatch letGo = new CountDownLatch(1);
        List<SessionTestConsumer> consumers = new ArrayList<>();
        for (String name : List.of("alice", "bob")) {
            registry.create("g1", named(name), null);
            SessionTestConsumer consumer = factory.last();
            consumer.duringClose = () -> {
                bothClosing.countDown();
                try {
                    letGo.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            consumers.add(consumer);
        }
        registry.create("g1", named("carol"), null);
        advance(INSTANCE_TIMEOUT.plusMillis(1));
        registry.cleanUp();

        assertTrue(bothClosing.await(30, TimeUnit.SECONDS), "both closes in progress at once");
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g1", "carol"));
        SessionTestConsumer carol = factory.last();
        assertTrue(SessionTestConsumer.waitUntil(carol::closed, Duration.ofSeconds(30)),
                "a third closes while the two wait");
        letGo.countDown();
        for (SessionTestConsumer c : consumers) {
            assertTrue(SessionTestConsumer.waitUntil(c::closed, Duration.ofSeconds(30)));
        }
    }

    @Test
    void anInstanceJustShortOfItsTimeoutLives() throws Exception {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = registry.create("g1", named("alice"), null);

        advance(INSTANCE_TIMEOUT.minusSeconds(1));
        registry.cleanUp();

        assertSame(instance, registry.get("g1", "alice"));
        assertFalse(factory.last().closed());
    }

    @Test
    void everyGetResetsTheIdleClock() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = registry.create("g1", named("alice"), null);
        Duration most = INSTANCE_TIMEOUT.multipliedBy(3).dividedBy(5);

        for (int i = 0; i < 4; i++) { // 2.4 timeouts in all, never 1 without access
            advance(most);
            registry.cleanUp();
            assertSame(instance, registry.get("g1", "alice"));
        }
        assertFalse(factory.last().closed());
    }

    @Test
    void anotherKeysRefusedRequestsDoNotKeepAnAbandonedInstanceAlive() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = registry.create("g1", named("alice"), "key-a");
        Duration most = INSTANCE_TIMEOUT.multipliedBy(3).dividedBy(5);

        assertSame(instance, registry.owned("g1", "alice", "key-a"), "its own key's access");
        advance(most);
        assertRestError(ErrorCode.FORBIDDEN, () -> registry.owned("g1", "alice", "key-b"));
        assertTrue(registry.holds("g1", "alice"));
        advance(most); // 1.2 timeouts since key-a's access, 0.6 since key-b's refused one
        registry.cleanUp();

        assertFalse(registry.holds("g1", "alice"));
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.owned("g1", "alice", "key-a"));
    }

    @Test
    void itsOwnKeysAccessResetsTheIdleClockAndWithoutAuthenticationEveryonesDoes() {
        ConsumerRegistry registry = registry();
        ConsumerInstance keyed = registry.create("g1", named("alice"), "key-a");
        ConsumerInstance open = registry.create("g1", named("bob"), null);
        Duration most = INSTANCE_TIMEOUT.multipliedBy(3).dividedBy(5);

        for (int i = 0; i < 3; i++) {
            advance(most);
            registry.cleanUp();
            assertSame(keyed, registry.owned("g1", "alice", "key-a"));
            assertSame(open, registry.owned("g1", "bob", null));
        }
    }

    @Test
    void aDeletedNameCreatedAgainKeepsItsNewClaimWhileTheCloserIsBusy() throws Exception {
        ConsumerRegistry registry = registry();
        List<String> calls = java.util.Collections.synchronizedList(new ArrayList<>());
        registry.ownership(new ConsumerRegistry.Ownership() {
            @Override
            public void claim(String group, String name) {
                calls.add("claim " + group + "/" + name);
            }

            @Override
            public void release(String group, String name) {
                calls.add("release " + group + "/" + name);
            }
        });
        // An expired instance whose consumer takes long to close holds the closer thread.
        registry.create("g1", named("slow"), null);
        CountDownLatch closing = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        factory.last().duringClose = () -> {
            closing.countDown();
            try {
                letGo.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        advance(INSTANCE_TIMEOUT.plusSeconds(1));
        registry.cleanUp();
        assertTrue(closing.await(10, TimeUnit.SECONDS), "the closer is busy");

        registry.create("g1", named("alice"), null);
        registry.delete("g1", "alice");
        registry.create("g1", named("alice"), null);
        letGo.countDown();
        registry.close(); // whatever the closer had queued has run

        List<String> alice = calls.stream().filter(c -> c.endsWith("g1/alice")).toList();
        assertEquals(List.of("claim g1/alice", "release g1/alice", "claim g1/alice"), alice,
                "other nodes must see alice held here");
        assertTrue(calls.contains("release g1/slow"));
    }

    /** An ownership whose claim of {@code g1/alice} waits until let go, then fails or not. */
    private static final class HeldClaim implements ConsumerRegistry.Ownership {
        final CountDownLatch claiming = new CountDownLatch(1);
        final CountDownLatch letGo = new CountDownLatch(1);
        final List<String> calls = java.util.Collections.synchronizedList(new ArrayList<>());
        private final boolean fails;

        HeldClaim(boolean fails) {
            this.fails = fails;
        }

        @Override
        public void claim(String group, String name) {
            calls.add("claim " + name);
            claiming.countDown();
            try {
                assertTrue(letGo.await(10, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (fails) {
                throw ErrorCode.SERVICE_UNAVAILABLE.exception("claim not read back in time");
            }
            calls.add("claimed " + name);
        }

        @Override
        public void release(String group, String name) {
            calls.add("release " + name);
        }

        long count(String call) {
            synchronized (calls) {
                return calls.stream().filter(call::equals).count();
            }
        }
    }

    /**
     * Creates {@code g1/alice} for key-a on another thread, deletes it while its claim is held (its
     * creator gave up waiting, say), then lets the claim go on: the create's error.
     */
    private static RestException deletedWhileClaiming(ConsumerRegistry registry, HeldClaim ownership) throws Exception {
        registry.ownership(ownership);
        ExecutorService creator = Executors.newSingleThreadExecutor();
        try {
            Future<ConsumerInstance> create = creator.submit(() -> registry.create("g1", named("alice"), "key-a"));
            assertTrue(ownership.claiming.await(10, TimeUnit.SECONDS));
            assertTrue(registry.delete("g1", "alice").isClosed());
            ownership.letGo.countDown();
            return (RestException) assertThrows(ExecutionException.class, create::get).getCause();
        } finally {
            creator.shutdownNow();
        }
    }

    @Test
    void aDeleteWhileTheClaimFailsGivesTheInstancesSlotBackOnce() throws Exception {
        ConsumerRegistry registry = registry(1, "");
        assertEquals(ErrorCode.SERVICE_UNAVAILABLE, deletedWhileClaiming(registry, new HeldClaim(true)).errorCode());
        registry.ownership(ConsumerRegistry.Ownership.NONE);

        registry.create("g1", named("bob"), "key-a");
        // One slot (consumer.instances.max 1): given back once, so the second create is refused.
        assertRestError(ErrorCode.TOO_MANY_REQUESTS, () -> registry.create("g1", named("carol"), "key-b"));
    }

    @Test
    void aDeleteWhileTheClaimIsReadBackEndsTheCreateAndReleasesTheClaim() throws Exception {
        ConsumerRegistry registry = registry(1, "");
        HeldClaim ownership = new HeldClaim(false);
        assertEquals(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, deletedWhileClaiming(registry, ownership).errorCode());
        // The delete came before the claim was read back: released after it, or other nodes refuse the name.
        assertEquals(List.of("claim alice", "release alice", "claimed alice", "release alice"), ownership.calls);
        registry.ownership(ConsumerRegistry.Ownership.NONE);
        registry.create("g1", named("bob"), "key-a");
        assertRestError(ErrorCode.TOO_MANY_REQUESTS, () -> registry.create("g1", named("carol"), "key-b"));
    }

    @Test
    void aNameMadeAgainWhileTheDeletedOnesClaimIsReadBackKeepsItsClaim() throws Exception {
        ConsumerRegistry registry = registry();
        HeldClaim ownership = new HeldClaim(false);
        registry.ownership(ownership);
        ExecutorService creators = Executors.newFixedThreadPool(2);
        try {
            Future<ConsumerInstance> first = creators.submit(() -> registry.create("g1", named("alice"), "key-a"));
            assertTrue(ownership.claiming.await(10, TimeUnit.SECONDS));
            registry.delete("g1", "alice"); // the client gave up waiting and deleted it
            Future<ConsumerInstance> again = creators.submit(() -> registry.create("g1", named("alice"), "key-a"));
            while (ownership.count("claim alice") < 2) {
                Thread.onSpinWait(); // the second create's claim has begun
            }
            ownership.letGo.countDown();
            ExecutionException failed = assertThrows(ExecutionException.class, first::get);
            assertEquals(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, ((RestException) failed.getCause()).errorCode());
            assertSame(again.get(10, TimeUnit.SECONDS), registry.get("g1", "alice"));
        } finally {
            creators.shutdownNow();
        }
        assertEquals(1, ownership.count("release alice"),
                "only the delete's: the name's new claim stays");
    }

    @Test
    void aDeleteOfAnInstanceMadeAgainUnderItsNameLeavesTheNewOne() {
        ConsumerRegistry registry = registry();
        ConsumerInstance checked = registry.owned("g1", registry.create("g1", named("alice"), "key-a").name(), "key-a");
        registry.delete("g1", "alice"); // the key's other delete, or expiry, came first
        ConsumerInstance again = registry.create("g1", named("alice"), "key-b");

        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.delete(checked));

        assertSame(again, registry.owned("g1", "alice", "key-b"));
        assertFalse(again.isClosed());
    }

    @Test
    void aCommitResetsTheIdleClock() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = registry.create("g1", named("alice"), null);
        Duration most = INSTANCE_TIMEOUT.multipliedBy(3).dividedBy(5);

        advance(most);
        registry.commit(instance);
        advance(most);
        registry.cleanUp();

        assertSame(instance, registry.get("g1", "alice"));
    }

    @Test
    void aLongReadCountsAsActivityWhenItEnds() {
        ConsumerRegistry registry = registry();
        ConsumerInstance instance = registry.create("g1", named("alice"), null);
        SessionTestConsumer consumer = factory.last();
        TopicPartition tp = new TopicPartition("orders", 0);
        consumer.schedulePollTask(() -> {
            advance(INSTANCE_TIMEOUT.multipliedBy(9).dividedBy(10)); // the read takes most of the timeout
            consumer.rebalance(List.of(tp));
            consumer.updateBeginningOffsets(Map.of(tp, 0L));
            consumer.addRecord(SessionTestConsumer.record("orders", 0, 0, null, "v"));
        });

        assertEquals(1, registry.read(registry.get("g1", "alice"), "orders", 0).size());
        advance(INSTANCE_TIMEOUT.dividedBy(2)); // 1.4 timeouts after the read began, 0.5 after it ended
        registry.cleanUp();

        assertSame(instance, registry.get("g1", "alice"));
        assertFalse(consumer.closed());
    }

    @Test
    void anExpiredInstanceIsReplacedByACreateOfTheSameName() throws Exception {
        ConsumerRegistry registry = registry();
        registry.create("g1", named("alice"), null);
        SessionTestConsumer old = factory.last();

        advance(INSTANCE_TIMEOUT.plusSeconds(1));
        ConsumerInstance fresh = registry.create("g1", named("alice"), null);

        assertSame(fresh, registry.get("g1", "alice"));
        assertTrue(SessionTestConsumer.waitUntil(old::closed, Duration.ofSeconds(5)), "expired consumer closed");
        assertFalse(factory.last().closed());
    }

    // ---- shutdown ----------------------------------------------------------------------------

    @Test
    void closeClosesEveryInstancesConsumerAndForgetsThem() {
        ConsumerRegistry registry = registry();
        ConsumerInstance a = registry.create("g1", named("a"), null);
        registry.create("g1", named("b"), null);
        registry.create("g2", named("a"), null);

        registry.close();

        assertEquals(3, factory.made.size());
        factory.made.forEach(c -> assertTrue(c.closed(), "every consumer closed before close() returned"));
        assertTrue(a.isClosed());
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g1", "a"));
        assertRestError(ErrorCode.CONSUMER_INSTANCE_NOT_FOUND, () -> registry.get("g2", "a"));
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("test latch not released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
