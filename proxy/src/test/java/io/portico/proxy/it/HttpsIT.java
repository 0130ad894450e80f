package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.portico.protocol.Json;
import io.portico.proxy.ConfigException;
import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.Rest;
import io.portico.proxy.testing.TestCerts;
import io.portico.proxy.testing.TestPortico;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * https listeners with a self-signed certificate made by keytool, in each keystore format, with
 * API keys; IBM's published curl commands run verbatim against them; client certificates.
 */
@ExtendWith(PorticoExtension.class)
class HttpsIT {
    private static final String KEY = "k-" + UUID.randomUUID();
    private static final String TEST_MESSAGE = "test message";

    @TempDir
    static Path dir;
    private static KafkaCluster kafka;
    private static TestCerts.Identity server;
    private static TestCerts.Identity ca;
    private static TestCerts.Identity caSignedClient;
    private static TestCerts.Identity selfSignedClient;
    private static TestCerts.Identity untrustedClient;
    private static Path esCert;
    private static Path keysFile;
    /** https only, PKCS12 keystore (as keytool wrote it), API keys. */
    private static TestPortico https;
    private static final List<TestPortico> started = new ArrayList<>();

    @BeforeAll
    static void start(KafkaCluster cluster) throws Exception {
        kafka = cluster;
        ExecutorService keytools = Executors.newFixedThreadPool(3);
        try {
            CompletableFuture<TestCerts.Identity> serverId = CompletableFuture.supplyAsync(() -> TestCerts.selfSigned(dir,
                    "portico", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1"), keytools);
            CompletableFuture<TestCerts.Identity> ca = CompletableFuture.supplyAsync(() -> TestCerts.selfSigned(dir,
                    "ca", "CN=Portico test CA", "bc:c"), keytools);
            CompletableFuture<TestCerts.Identity> client = CompletableFuture.supplyAsync(() -> TestCerts.selfSigned(dir,
                    "client", "CN=client"), keytools);
            CompletableFuture<TestCerts.Identity> self = CompletableFuture.supplyAsync(() -> TestCerts.selfSigned(dir,
                    "self", "CN=self-signed client"), keytools);
            CompletableFuture<TestCerts.Identity> stranger = CompletableFuture.supplyAsync(() -> TestCerts.selfSigned(dir,
                    "stranger", "CN=stranger"), keytools);
            server = serverId.get();
            CompletableFuture<Path> exported = CompletableFuture.supplyAsync(
                    () -> TestCerts.exportPem(server, dir.resolve("es-cert.pem")), keytools);
            HttpsIT.ca = ca.get();
            caSignedClient = TestCerts.signedBy(dir, ca.get(), client.get());
            selfSignedClient = self.get();
            untrustedClient = stranger.get();
            esCert = exported.get();
        } finally {
            keytools.shutdown();
        }
        keysFile = Files.writeString(dir.resolve("keys.json"), "{\"keys\":[{\"name\":\"es-app\",\"key\":\"" + KEY
                + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}");
        https = start(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", server.pkcs12().toString(),
                "ssl.keystore.password", TestCerts.PASSWORD,
                "authentication.method", "API_KEY",
                "api.keys.file", keysFile.toString()));
    }

    @AfterAll
    static void stop() {
        started.forEach(TestPortico::close);
    }

    // ---- helpers

    private static TestPortico start(Map<String, String> config) {
        TestPortico p = TestPortico.start(kafka, config);
        started.add(p);
        return p;
    }

    /** A JDK client of {@code base} that trusts the server's certificate and presents {@code client}'s, if any. */
    private static Rest client(URI base, TestCerts.Identity client) {
        return new Rest(base, Rest.client(TestCerts.clientContext(server.certificate(), client)));
    }

    private static URI httpsUrl(TestPortico portico) {
        return portico.portico().listenerUrls().stream().filter(u -> u.getScheme().equals("https")).findFirst()
                .orElseThrow();
    }

    private static Rest.Response produce(Rest rest, String topic, String value, String... credentials) {
        List<String> headers = new ArrayList<>(List.of(credentials));
        headers.add("Accept");
        headers.add("application/json");
        return rest.post("/topics/" + topic + "/records", "text/plain", value, headers.toArray(new String[0]));
    }

    private static String[] bearer() {
        return new String[] {"Authorization", "Bearer " + KEY};
    }

    private static void assertMetadata(String body, String topic) {
        JsonNode json;
        try {
            json = Json.mapper().readTree(body);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + body, e);
        }
        JsonNode metadata = json.get("metadata");
        assertTrue(metadata != null && metadata.isObject(), body);
        assertEquals(topic, metadata.get("topic").asText(), body);
        assertTrue(metadata.get("timestamp").isTextual(), body);
        assertTrue(metadata.get("partition").isInt(), body);
        assertTrue(metadata.get("offset").isIntegralNumber(), body);
    }

    private static void assertStored(String topic, int count) {
        List<ConsumerRecord<byte[], byte[]>> stored = kafka.read(topic, count);
        assertEquals(count, stored.size());
        stored.forEach(c -> assertArrayEquals(TEST_MESSAGE.getBytes(StandardCharsets.UTF_8), c.value()));
    }

    private static ConfigException startFails(Map<String, String> config) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> TestPortico.start(kafka, config).close());
        return assertInstanceOf(ConfigException.class, e.getCause());
    }

    // ---- curl

    /** What a shell command printed and how it ended. */
    private record Run(int exit, String stdout, String stderr) {
    }

    private static boolean curlInstalled() {
        for (String p : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!p.isEmpty() && Files.isExecutable(Path.of(p, "curl"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code command} with {@code sh -c} in the directory holding {@code es-cert.pem}, as a user
     * would paste it into a terminal; at most 30 s.
     */
    private static Run shell(String command) throws IOException, InterruptedException {
        Assumptions.assumeTrue(curlInstalled(), "no curl binary on the PATH");
        Path out = Files.createTempFile(dir, "stdout", ".txt");
        Path err = Files.createTempFile(dir, "stderr", ".txt");
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", command).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        Map<String, String> env = pb.environment();
        for (String proxy : List.of("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")) {
            env.remove(proxy);
        }
        env.put("CURL_HOME", dir.toString()); // no user .curlrc
        Process process = pb.start();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("did not finish within 30 s: " + command);
        }
        return new Run(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Whether curl's verbose output shows the status (HTTP/2 by ALPN, as curl offers it, or HTTP/1.1). */
    private static boolean answered(String verbose, int status) {
        return verbose.contains("< HTTP/2 " + status) || verbose.contains("< HTTP/1.1 " + status);
    }

    private static void assertCurlProduced(Run run, String topic) {
        assertEquals(0, run.exit(), run.stderr());
        assertTrue(answered(run.stderr(), 200), run.stderr());
        assertTrue(run.stderr().contains("SSL certificate verify ok"), "curl checked the certificate: " + run.stderr());
        assertMetadata(run.stdout(), topic);
    }

    @Test
    void anHttpsAdminListenerBesideHttpListenersServesWithTheKeystore() throws Exception {
        int adminPort = TestPortico.freePort();
        TestPortico p = start(Map.of("listeners", "http://127.0.0.1:0",
                "admin.listeners", "https://127.0.0.1:" + adminPort,
                "ssl.keystore.location", server.pkcs12().toString(),
                "ssl.keystore.password", TestCerts.PASSWORD));
        Rest admin = client(URI.create("https://127.0.0.1:" + adminPort), null);
        assertEquals(200, admin.get("/health").status());
        assertEquals(200, p.rest().get("/topics").status());

        ConfigException e = startFails(Map.of("listeners", "http://127.0.0.1:0",
                "admin.listeners", "https://127.0.0.1:" + TestPortico.freePort()));
        assertTrue(e.getMessage().contains("ssl.keystore.location: an https listener needs a keystore"), e.getMessage());
    }

    @Test
    void aConnectionThatNeverFinishesItsTlsHandshakeIsClosed() throws Exception {
        TestPortico p = start(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", server.pkcs12().toString(),
                "ssl.keystore.password", TestCerts.PASSWORD,
                // Also the window of the final request's own connect and handshake.
                "connections.idle.timeout.ms", "2000"));
        URI url = httpsUrl(p);
        for (byte[] sent : List.of(new byte[0], new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01})) { // nothing; half a ClientHello
            try (java.net.Socket socket = new java.net.Socket(url.getHost(), url.getPort())) {
                socket.setSoTimeout(60_000);
                socket.getOutputStream().write(sent);
                socket.getOutputStream().flush();
                try {
                    while (socket.getInputStream().read() >= 0) {
                        // whatever the server sends before it closes
                    }
                } catch (java.net.SocketTimeoutException e) {
                    throw new AssertionError("the connection was neither used nor closed", e);
                } catch (IOException e) {
                    // a reset counts as closed
                }
            }
        }
        assertEquals(200, client(url, null).get("/topics").status());
    }

    @Test
    void ibmsBearerCurlCommandWorksVerbatim() throws Exception {
        String topic = KafkaCluster.uniqueTopic("curl-bearer");
        String apiEndpoint = httpsUrl(https).toString();
        Run run = shell("curl -v -X POST -H \"Authorization: Bearer " + KEY + "\" -H \"Content-Type: text/plain\" "
                + "-H \"Accept: application/json\" -d 'test message' --cacert es-cert.pem \"" + apiEndpoint
                + "/topics/" + topic + "/records\"");
        assertCurlProduced(run, topic);
        assertStored(topic, 1);
    }

    @Test
    void ibmsBasicCurlCommandWorksVerbatim() throws Exception {
        String topic = KafkaCluster.uniqueTopic("curl-basic");
        String token = Base64.getEncoder().encodeToString(("token:" + KEY).getBytes(StandardCharsets.UTF_8));
        String apiEndpoint = httpsUrl(https).toString();
        Run run = shell("curl -v -X POST -H \"Authorization: Basic " + token + "\" -H \"Content-Type: text/plain\" "
                + "-H \"Accept: application/json\" -d 'test message' --cacert es-cert.pem \"" + apiEndpoint
                + "/topics/" + topic + "/records\"");
        assertCurlProduced(run, topic);
        assertStored(topic, 1);
    }

    @Test
    void theXAuthTokenCurlCommandWorksVerbatim() throws Exception {
        String topic = KafkaCluster.uniqueTopic("curl-xauth");
        String apiEndpoint = httpsUrl(https).toString();
        Run run = shell("curl -v -X POST -H \"X-Auth-Token: " + KEY + "\" -H \"Content-Type: text/plain\" "
                + "-H \"Accept: application/json\" -d 'test message' --cacert es-cert.pem \"" + apiEndpoint
                + "/topics/" + topic + "/records\"");
        assertCurlProduced(run, topic);
        assertStored(topic, 1);
    }

    @Test
    void ibmsCurlDashUCommandWorksVerbatimAgainstLocalhost() throws Exception {
        String topic = KafkaCluster.uniqueTopic("curl-u");
        String apiEndpoint = "localhost:" + httpsUrl(https).getPort();
        Run run = shell("curl -v -X POST -u token:" + KEY + " -H \"Content-Type: text/plain\" "
                + "-H \"Accept: application/json\" -d 'test message' --cacert es-cert.pem \"https://" + apiEndpoint
                + "/topics/" + topic + "/records\"");
        assertCurlProduced(run, topic);
        assertStored(topic, 1);
    }

    @Test
    void curlWithoutTheKeyGets401AndWithoutTheCertificateRefusesTheServer() throws Exception {
        String topic = KafkaCluster.uniqueTopic("curl-refused");
        String apiEndpoint = httpsUrl(https).toString();
        Run noKey = shell("curl -v -X POST -H \"Content-Type: text/plain\" -H \"Accept: application/json\" "
                + "-d 'test message' --cacert es-cert.pem \"" + apiEndpoint + "/topics/" + topic + "/records\"");
        assertEquals(0, noKey.exit(), noKey.stderr());
        assertTrue(answered(noKey.stderr(), 401), noKey.stderr());
        assertTrue(noKey.stdout().contains("\"error_code\":401"), noKey.stdout());

        Run untrusted = shell("curl -v -X POST -H \"Authorization: Bearer " + KEY + "\" -H \"Content-Type: text/plain\" "
                + "-H \"Accept: application/json\" -d 'test message' \"" + apiEndpoint + "/topics/" + topic + "/records\"");
        assertEquals(60, untrusted.exit(), "curl refuses a certificate it cannot verify: " + untrusted.stderr());
    }

    // ---- the JDK client and the keystore formats

    @Test
    void theJdkHttpClientTrustingTheCertificateProducesByIpAndByName() {
        String topic = KafkaCluster.uniqueTopic("jdk");
        URI byIp = httpsUrl(https);
        Rest.Response r = produce(client(byIp, null), topic, TEST_MESSAGE, bearer());
        assertEquals(200, r.status(), r.body());
        assertMetadata(r.body(), topic);
        Rest.Response byName = produce(client(URI.create("https://localhost:" + byIp.getPort()), null), topic,
                TEST_MESSAGE, bearer());
        assertEquals(200, byName.status(), byName.body());
        assertStored(topic, 2);
    }

    @Test
    void consumerInstanceUrisOnAnHttpsListenerAreHttps() {
        URI url = httpsUrl(https);
        Rest rest = client(url, null);
        String group = KafkaCluster.uniqueTopic("tls-group");
        Rest.Response created = rest.post("/consumers/" + group, "application/vnd.kafka.v1+json", "{}", bearer());
        assertEquals(200, created.status(), created.body());
        String instance = created.json().get("instance_id").asText();
        assertEquals(url + "/consumers/" + group + "/instances/" + instance, created.json().get("base_uri").asText());
        assertEquals(204, rest.delete("/consumers/" + group + "/instances/" + instance, bearer()).status());
    }

    @Test
    void aClientThatDoesNotTrustTheCertificateCannotConnect() throws Exception {
        Rest untrusting = new Rest(httpsUrl(https), Rest.client(SSLContext.getDefault()));
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> untrusting.get("/topics", bearer()));
        assertInstanceOf(javax.net.ssl.SSLHandshakeException.class, e.getCause(), e.toString());
    }

    @Test
    void plainHttpToAnHttpsListenerGetsNoAnswer() {
        URI https = httpsUrl(HttpsIT.https);
        Rest plain = new Rest(URI.create("http://127.0.0.1:" + https.getPort()));
        assertThrows(UncheckedIOException.class, () -> plain.get("/topics", bearer()));
    }

    @Test
    void aPemKeystoreServesHttpsNextToAnHttpListener() {
        Path pem = TestCerts.pemKeystore(server, dir.resolve("portico-keystore.pem"));
        TestPortico both = start(Map.of("listeners", "http://127.0.0.1:0,https://127.0.0.1:0",
                "ssl.keystore.type", "PEM",
                "ssl.keystore.location", pem.toString(),
                "authentication.method", "API_KEY",
                "api.keys.file", keysFile.toString()));
        List<URI> urls = both.portico().listenerUrls();
        assertEquals(List.of("http", "https"), urls.stream().map(URI::getScheme).toList());
        assertNotEquals(urls.get(0).getPort(), urls.get(1).getPort());
        String topic = KafkaCluster.uniqueTopic("both");
        Rest.Response overHttp = produce(new Rest(urls.get(0)), topic, TEST_MESSAGE, bearer());
        assertEquals(200, overHttp.status(), overHttp.body());
        Rest.Response overHttps = produce(client(urls.get(1), null), topic, TEST_MESSAGE, bearer());
        assertEquals(200, overHttps.status(), overHttps.body());
        assertEquals(401, produce(client(urls.get(1), null), topic, TEST_MESSAGE).status(), "keys on https too");
        assertEquals(401, produce(new Rest(urls.get(0)), topic, TEST_MESSAGE).status(), "keys on http too");
        assertStored(topic, 2);
    }

    @Test
    void aJksKeystoreServesHttps() {
        Path jks = TestCerts.keystore(server, "JKS", dir.resolve("portico.jks"));
        TestPortico p = start(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.type", "JKS",
                "ssl.keystore.location", jks.toString(),
                "ssl.keystore.password", TestCerts.PASSWORD));
        String topic = KafkaCluster.uniqueTopic("jks");
        Rest.Response r = produce(client(httpsUrl(p), null), topic, TEST_MESSAGE);
        assertEquals(200, r.status(), r.body());
        assertStored(topic, 1);
    }

    @Test
    void aJksKeyWithAPasswordOfItsOwnNeedsSslKeyPassword() {
        Path jks = TestCerts.keystore(server, "JKS", dir.resolve("own-key-password.jks"), "key-secret");
        Map<String, String> config = Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.type", "JKS",
                "ssl.keystore.location", jks.toString(),
                "ssl.keystore.password", TestCerts.PASSWORD);
        ConfigException e = startFails(config);
        assertTrue(e.getMessage().contains("ssl.key.password"), e.getMessage());

        Map<String, String> withKeyPassword = new HashMap<>(config);
        withKeyPassword.put("ssl.key.password", "key-secret");
        TestPortico p = start(withKeyPassword);
        String topic = KafkaCluster.uniqueTopic("keypass");
        assertEquals(200, produce(client(httpsUrl(p), null), topic, TEST_MESSAGE).status());
        assertStored(topic, 1);
    }

    // ---- start-up errors

    @Test
    void aWrongKeystorePasswordFailsStartUpNamingIt() {
        Path jks = TestCerts.keystore(server, "JKS", dir.resolve("wrong-password.jks"));
        for (Map.Entry<String, Path> store : Map.of("PKCS12", server.pkcs12(), "JKS", jks).entrySet()) {
            ConfigException e = startFails(Map.of("listeners", "https://127.0.0.1:0",
                    "ssl.keystore.type", store.getKey(),
                    "ssl.keystore.location", store.getValue().toString(),
                    "ssl.keystore.password", "not-the-password"));
            assertTrue(e.getMessage().contains("ssl.keystore.password"), store.getKey() + ": " + e.getMessage());
            assertFalse(e.getMessage().contains("not-the-password"), "no password in the message: " + e.getMessage());
        }
    }

    @Test
    void anHttpsListenerWithoutAKeystoreFailsStartUpNamingTheLocation() {
        ConfigException none = startFails(Map.of("listeners", "https://127.0.0.1:0"));
        assertTrue(none.getMessage().contains("ssl.keystore.location"), none.getMessage());
        ConfigException missing = startFails(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", dir.resolve("no-such.p12").toString(),
                "ssl.keystore.password", TestCerts.PASSWORD));
        assertTrue(missing.getMessage().contains("ssl.keystore.location"), missing.getMessage());
        ConfigException notAKeystore = startFails(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.type", "PEM",
                "ssl.keystore.location", esCert.toString()));
        assertTrue(notAKeystore.getMessage().contains("ssl.keystore.location"), notAKeystore.getMessage());
    }

    @Test
    void requiredClientCertificatesNeedATruststore() {
        ConfigException e = startFails(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", server.pkcs12().toString(),
                "ssl.keystore.password", TestCerts.PASSWORD,
                "ssl.client.auth", "required"));
        assertTrue(e.getMessage().contains("ssl.truststore.location"), e.getMessage());
    }

    @Test
    void aTruststoreReadWithoutItsPasswordShowingNoEntryStopsStartUp(@org.junit.jupiter.api.io.TempDir Path dir) {
        // A PKCS12 store opened without its password shows none of its (encrypted) certificates:
        // started, the server would trust nothing and refuse every client certificate.
        Path truststore = TestCerts.truststore(dir.resolve("trust.p12"), server.certificate());
        ConfigException e = startFails(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", server.pkcs12().toString(),
                "ssl.keystore.password", TestCerts.PASSWORD,
                "ssl.client.auth", "required",
                "ssl.truststore.location", truststore.toString()));
        assertTrue(e.getMessage().contains("ssl.truststore.password") && e.getMessage().contains("no entries"),
                e.getMessage());
    }

    // ---- client certificates

    private static TestPortico mutualTls(String truststoreType, Path truststore) {
        Map<String, String> config = new HashMap<>(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", server.pkcs12().toString(),
                "ssl.keystore.password", TestCerts.PASSWORD,
                "ssl.client.auth", "required",
                "ssl.truststore.type", truststoreType,
                "ssl.truststore.location", truststore.toString()));
        if (!truststoreType.equals("PEM")) {
            config.put("ssl.truststore.password", TestCerts.PASSWORD);
        }
        return start(config);
    }

    /**
     * The connection is refused without an HTTP answer. With TLS 1.3 the server checks the client's
     * certificate after the client considers the handshake done, so the client sees either the
     * handshake alert (SSLException) or the connection closing before any response byte.
     */
    private static void assertRefused(Rest rest, String topic) {
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> produce(rest, topic, TEST_MESSAGE),
                "the handshake fails");
        boolean handshake = e.getCause() instanceof javax.net.ssl.SSLException;
        boolean closed = String.valueOf(e.getCause().getMessage()).contains("received no bytes");
        assertTrue(handshake || closed, "refused without an HTTP answer: " + e);
    }

    @Test
    void withRequiredClientCertificatesOnlyTrustedClientsGetIn() {
        Path truststore = TestCerts.truststore(dir.resolve("clients.p12"), caSignedClient.chain().get(1),
                selfSignedClient.certificate());
        URI url = httpsUrl(mutualTls("PKCS12", truststore));
        String topic = KafkaCluster.uniqueTopic("mtls");

        assertRefused(client(url, null), topic);
        assertRefused(client(url, untrustedClient), topic);
        Rest.Response signed = produce(client(url, caSignedClient), topic, TEST_MESSAGE);
        assertEquals(200, signed.status(), "a certificate signed by a trusted CA: " + signed.body());
        assertEquals(0, signed.json().get("metadata").get("offset").asLong(), "the refused requests wrote nothing");
        Rest.Response identical = produce(client(url, selfSignedClient), topic, TEST_MESSAGE);
        assertEquals(200, identical.status(), "a certificate that is itself trusted: " + identical.body());
        assertStored(topic, 2);
    }

    @Test
    void aPemTruststoreOfTheCaWorksLikeAPkcs12One() throws IOException {
        Path truststore = Files.writeString(dir.resolve("ca.pem"), TestCerts.certificatePem(caSignedClient.chain().get(1)));
        URI url = httpsUrl(mutualTls("PEM", truststore));
        String topic = KafkaCluster.uniqueTopic("mtls-pem");
        assertRefused(client(url, selfSignedClient), topic);
        Rest.Response signed = produce(client(url, caSignedClient), topic, TEST_MESSAGE);
        assertEquals(200, signed.status(), signed.body());
        assertStored(topic, 1);
    }

    @Test
    void ibmsMutualTlsCurlCommandWorksVerbatimAndCurlWithoutACertificateIsRefused() throws Exception {
        Path truststore = TestCerts.truststore(dir.resolve("curl-clients.p12"), caSignedClient.chain().get(1));
        URI url = httpsUrl(mutualTls("PKCS12", truststore));
        Files.writeString(dir.resolve("user.key"), TestCerts.privateKeyPem(caSignedClient));
        Files.writeString(dir.resolve("user.crt"), TestCerts.certificatePem(caSignedClient.certificate())
                + TestCerts.certificatePem(caSignedClient.chain().get(1)));
        String topic = KafkaCluster.uniqueTopic("curl-mtls");
        String apiEndpoint = url.getHost() + ":" + url.getPort();

        Run run = shell("curl -v -X POST -H \"Content-Type: text/plain\" -H \"Accept: application/json\" "
                + "-d 'test message' --cacert es-cert.pem --key user.key --cert user.crt \"https://" + apiEndpoint
                + "/topics/" + topic + "/records\"");
        assertCurlProduced(run, topic);

        Run withoutCertificate = shell("curl -v -X POST -H \"Content-Type: text/plain\" -H \"Accept: application/json\" "
                + "-d 'test message' --cacert es-cert.pem \"https://" + apiEndpoint + "/topics/" + topic + "/records\"");
        assertNotEquals(0, withoutCertificate.exit(), withoutCertificate.stderr());
        assertFalse(withoutCertificate.stdout().contains("metadata"), withoutCertificate.stdout());
        assertStored(topic, 1);
    }

    // ---- client certificates as API keys

    private static String fingerprint(java.security.cert.X509Certificate certificate) throws Exception {
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded());
        return java.util.HexFormat.ofDelimiter(":").withUpperCase().formatHex(digest); // as openssl prints it
    }

    /** https with client certificates asked for, trusted when the CA signed them (or pinned ones), and API keys. */
    private static Map<String, String> certificateKeys(String keys, String clientAuth, Path truststore) throws IOException {
        Path file = Files.writeString(Files.createTempFile(dir, "cert-keys", ".json"), keys);
        return new HashMap<>(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", server.pkcs12().toString(),
                "ssl.keystore.password", TestCerts.PASSWORD,
                "ssl.client.auth", clientAuth,
                "ssl.truststore.location", truststore.toString(),
                "ssl.truststore.password", TestCerts.PASSWORD,
                "authentication.method", "API_KEY",
                "api.keys.file", file.toString()));
    }

    @Test
    void anApiKeyEntryMayNameAClientCertificateBySubjectOrFingerprint() throws Exception {
        TestCerts.Identity nobody = TestCerts.signedBy(dir, ca, TestCerts.selfSigned(dir, "nobody", "CN=nobody"));
        Path truststore = TestCerts.truststore(dir.resolve("named-clients.p12"), ca.certificate(),
                selfSignedClient.certificate());
        String prefix = KafkaCluster.uniqueTopic("cert-keys");
        String keys = "{\"keys\":["
                + "{\"name\":\"cics\",\"certificate_subject\":\"cn=client\",\"role\":\"writer\",\"topics\":[\"" + prefix + "*\"]},"
                + "{\"name\":\"pinned\",\"certificate_sha256\":\"" + fingerprint(selfSignedClient.certificate())
                + "\",\"role\":\"reader\",\"topics\":[\"*\"]},"
                + "{\"name\":\"es-app\",\"key\":\"" + KEY + "\",\"role\":\"writer\",\"topics\":[\"*\"]}]}";
        // requested: a client without a certificate still connects, and needs a key
        URI url = httpsUrl(start(certificateKeys(keys, "requested", truststore)));
        String topic = prefix + "-a";

        // IBM's mutual TLS command, verbatim: the certificate is the credential
        Files.writeString(dir.resolve("user.key"), TestCerts.privateKeyPem(caSignedClient));
        Files.writeString(dir.resolve("user.crt"), TestCerts.certificatePem(caSignedClient.certificate())
                + TestCerts.certificatePem(caSignedClient.chain().get(1)));
        String apiEndpoint = url.getHost() + ":" + url.getPort();
        assertCurlProduced(shell("curl -v -X POST -H \"Content-Type: text/plain\" -H \"Accept: application/json\" "
                + "-d 'test message' --cacert es-cert.pem --key user.key --cert user.crt \"https://" + apiEndpoint
                + "/topics/" + topic + "/records\""), topic);

        // the entry's topics and role hold for its certificate as for a key
        Rest.Response outside = produce(client(url, caSignedClient), "elsewhere-" + topic, TEST_MESSAGE);
        assertEquals(403, outside.status(), outside.body());
        Rest pinned = client(url, selfSignedClient);
        Rest.Response reader = produce(pinned, topic, TEST_MESSAGE);
        assertEquals(403, reader.status(), "the pinned certificate's entry is a reader: " + reader.body());
        Rest.Response metadata = pinned.get("/topics/" + topic);
        assertEquals(200, metadata.status(), metadata.body());

        // a key, when there is one, decides: with it the reader's certificate produces as the key
        Rest.Response keyDecides = produce(pinned, topic, TEST_MESSAGE, bearer());
        assertEquals(200, keyDecides.status(), keyDecides.body());
        Rest.Response wrongKey = produce(client(url, caSignedClient), topic, TEST_MESSAGE, "Authorization", "Bearer not-a-key-at-all");
        assertEquals(401, wrongKey.status(), "a wrong key is not made good by the certificate: " + wrongKey.body());

        // a certificate the truststore trusts but no entry names, and no certificate at all
        Rest.Response unnamed = produce(client(url, nobody), topic, TEST_MESSAGE);
        assertEquals(401, unnamed.status(), unnamed.body());
        assertEquals("No API key names the client certificate 'CN=nobody'", unnamed.json().get("message").asText());
        Rest.Response none = produce(client(url, null), topic, TEST_MESSAGE);
        assertEquals(401, none.status(), none.body());
        assertTrue(none.json().get("message").asText().endsWith(", or a client certificate an API key names"), none.body());
        Rest.Response emptyKey = produce(client(url, caSignedClient), topic, TEST_MESSAGE, "Authorization", "Bearer ");
        assertEquals(401, emptyKey.status(), "a header meant as a credential decides, also when it holds none: "
                + emptyKey.body());
        assertStored(topic, 2);
    }

    @Test
    void aCertificateCallersConsumerInstanceAnswersThroughAnotherNode() throws Exception {
        // Each node trusts the clients' CA and the other node, whose relay presents the server's certificate.
        Path truststore = TestCerts.truststore(dir.resolve("nodes-and-clients.p12"), ca.certificate(), server.certificate());
        // A name no header could carry as it is: spaces, letters beyond Latin-1.
        String name = " cics app \u00fc\u2713 ";
        String keys = "{\"keys\":[{\"name\":\"" + name + "\",\"certificate_subject\":\"CN=client\",\"role\":\"writer\","
                + "\"topics\":[\"*\"]},{\"name\":\"cics app\",\"key\":\"" + KEY + "\",\"role\":\"reader\",\"topics\":[\"*\"]}]}";
        Map<String, String> config = certificateKeys(keys, "required", truststore);
        String secret = "nodes-" + UUID.randomUUID();
        config.put("nodes.secret", secret);
        config.put("nodes.topic", "__portico_nodes_" + UUID.randomUUID().toString().substring(0, 8));
        config.put("nodes.heartbeat.interval.ms", "250");
        Rest holder = client(httpsUrl(start(config)), caSignedClient);
        Rest other = client(httpsUrl(start(config)), caSignedClient);
        String topic = KafkaCluster.uniqueTopic("cert-relay");
        assertEquals(200, produce(holder, topic, TEST_MESSAGE).status());
        String v2 = "application/vnd.kafka.v2+json";
        String group = "cert-relay-" + UUID.randomUUID();

        Rest.Response created = holder.post("/consumers/" + group, v2,
                "{\"name\":\"i\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}");
        assertEquals(200, created.status(), created.body());
        String instance = "/consumers/" + group + "/instances/i";
        Rest.Response subscribed = other.post(instance + "/subscription", v2, "{\"topics\":[\"" + topic + "\"]}");
        assertEquals(204, subscribed.status(), "relayed to the holder as the certificate's entry: " + subscribed.body());
        JsonNode records = Json.mapper().createArrayNode();
        for (int i = 0; i < 40 && records.isEmpty(); i++) {
            Rest.Response read = other.get(instance + "/records?timeout=500", "Accept", "application/vnd.kafka.binary.v2+json");
            assertEquals(200, read.status(), read.body());
            records = read.json();
        }
        assertEquals(1, records.size(), records.toString());
        assertEquals(Base64.getEncoder().encodeToString(TEST_MESSAGE.getBytes(StandardCharsets.UTF_8)),
                records.get(0).get("value").asText());

        // a client cannot claim to be relayed for an entry: that needs the nodes' secret
        String encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(name.getBytes(StandardCharsets.UTF_8));
        Rest.Response claimed = other.get(instance + "/subscription", "Portico-Forwarded-For", encoded);
        assertEquals(403, claimed.status(), claimed.body());
        // with the secret, the entry a node relays for counts on a consumer instance's routes only,
        // and a relayed request is never the relaying connection's certificate
        Rest.Response notAnInstance = other.get("/topics", "Portico-Node-Secret", secret, "Portico-Forwarded-By", "n",
                "Portico-Forwarded-For", encoded);
        assertEquals(401, notAnInstance.status(), notAnInstance.body());
        Rest.Response noName = other.get(instance + "/subscription", "Portico-Node-Secret", secret, "Portico-Forwarded-By", "n");
        assertEquals(401, noName.status(), "not the certificate of the connection it came on: " + noName.body());
        assertEquals(204, other.delete(instance).status());
    }
}
