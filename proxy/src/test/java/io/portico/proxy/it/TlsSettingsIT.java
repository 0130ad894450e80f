package io.portico.proxy.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.proxy.testing.KafkaCluster;
import io.portico.proxy.testing.PorticoExtension;
import io.portico.proxy.testing.TestCerts;
import io.portico.proxy.testing.TestPortico;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * https listeners offer only what {@code ssl.enabled.protocols} and {@code ssl.cipher.suites}
 * allow; by default TLS 1.2 and 1.3 with forward-secret AEAD suites, so a client that can only
 * do CBC, SHA-1 MACs or RSA key exchange cannot connect.
 */
@ExtendWith(PorticoExtension.class)
class TlsSettingsIT {
    @TempDir
    static Path dir;
    private static TestCerts.Identity server;
    private static SSLContext client;

    @BeforeAll
    static void certificates() {
        server = TestCerts.selfSigned(dir, "portico", "CN=localhost", "SAN=dns:localhost,ip:127.0.0.1");
        client = TestCerts.clientContext(server.certificate(), null);
    }

    private static TestPortico start(KafkaCluster kafka, Map<String, String> extra) {
        Map<String, String> config = new HashMap<>(Map.of("listeners", "https://127.0.0.1:0",
                "ssl.keystore.location", server.pkcs12().toString(), "ssl.keystore.password", TestCerts.PASSWORD));
        config.putAll(extra);
        return TestPortico.start(kafka, config);
    }

    /** The protocol and suite the server agreed to, or an IOException when it refused the handshake. */
    private static String handshake(TestPortico p, String protocol, String suite) throws IOException {
        URI url = p.portico().listenerUrls().get(0);
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(url.getHost(), url.getPort())) {
            socket.setSoTimeout(60_000);
            socket.setEnabledProtocols(new String[] {protocol});
            socket.setEnabledCipherSuites(new String[] {suite});
            socket.startHandshake();
            return socket.getSession().getProtocol() + " " + socket.getSession().getCipherSuite();
        }
    }

    /** The protocol ALPN agreed on for a client offering h2 and http/1.1. */
    private static String alpn(TestPortico p) throws IOException {
        URI url = p.portico().listenerUrls().get(0);
        try (SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(url.getHost(), url.getPort())) {
            socket.setSoTimeout(60_000);
            javax.net.ssl.SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {"h2", "http/1.1"});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            return socket.getApplicationProtocol();
        }
    }

    /**
     * Undertow offers h2 only with HTTP/2's own suite enabled, falling back to HTTP/1.1 without a
     * word: with TLSv1.3 alone it is added (no handshake can choose it), else a warning says so.
     */
    @Test
    void http2IsOfferedOverTls13WhateverItsSuites(KafkaCluster kafka) throws Exception {
        try (TestPortico p = start(kafka, Map.of("ssl.enabled.protocols", "TLSv1.3",
                "ssl.cipher.suites", "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256"))) {
            assertEquals("h2", alpn(p));
            assertEquals("TLSv1.3 TLS_AES_128_GCM_SHA256", handshake(p, "TLSv1.3", "TLS_AES_128_GCM_SHA256"));
            assertThrows(IOException.class, () -> handshake(p, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        }
        try (TestPortico p = start(kafka, Map.of())) {
            assertEquals("h2", alpn(p));
        }
        try (TestPortico p = start(kafka, Map.of("ssl.cipher.suites", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"))) {
            String agreed = alpn(p);
            assertTrue(!agreed.equals("h2"), "without HTTP/2's suite where TLSv1.2 could choose it, HTTP/1.1: " + agreed);
        }
    }

    private static final String WEAK = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,"
            + "TLS_RSA_WITH_AES_128_GCM_SHA256";

    @Test
    void byDefaultOnlyForwardSecretAeadSuitesAreOffered(KafkaCluster kafka) throws Exception {
        // The client can do the weak suites: a server that offers them gets them.
        try (TestPortico weak = start(kafka, Map.of("ssl.cipher.suites", WEAK))) {
            for (String suite : WEAK.split(",")) {
                assertEquals("TLSv1.2 " + suite, handshake(weak, "TLSv1.2", suite));
            }
        }
        try (TestPortico p = start(kafka, Map.of())) {
            assertEquals("TLSv1.3 TLS_AES_128_GCM_SHA256", handshake(p, "TLSv1.3", "TLS_AES_128_GCM_SHA256"));
            assertEquals("TLSv1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    handshake(p, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
            assertThrows(IOException.class, () -> handshake(p, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
                    "CBC with SHA-1");
            assertThrows(IOException.class, () -> handshake(p, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
                    "CBC");
            assertThrows(IOException.class, () -> handshake(p, "TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
                    "no forward secrecy");
        }
    }

    @Test
    void theProtocolsAndSuitesAreThoseConfigured(KafkaCluster kafka) throws Exception {
        try (TestPortico p = start(kafka, Map.of("ssl.enabled.protocols", "TLSv1.3"))) {
            assertEquals("TLSv1.3 TLS_CHACHA20_POLY1305_SHA256", handshake(p, "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"));
            assertThrows(IOException.class, () -> handshake(p, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
        }
        try (TestPortico p = start(kafka, Map.of("ssl.cipher.suites", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"))) {
            assertEquals("TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                    handshake(p, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"), "an operator's explicit choice");
            assertThrows(IOException.class, () -> handshake(p, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
        }
    }

    @Test
    void aProtocolOrSuiteTheJvmDoesNotKnowFailsStartUpNamingTheKey(KafkaCluster kafka) {
        IllegalStateException protocol = assertThrows(IllegalStateException.class,
                () -> start(kafka, Map.of("ssl.enabled.protocols", "TLSv1.2,TLSv9")));
        assertTrue(String.valueOf(protocol.getCause()).contains("ssl.enabled.protocols"), String.valueOf(protocol.getCause()));
        IllegalStateException suite = assertThrows(IllegalStateException.class,
                () -> start(kafka, Map.of("ssl.cipher.suites", "TLS_NOT_A_SUITE")));
        assertTrue(String.valueOf(suite.getCause()).contains("ssl.cipher.suites"), String.valueOf(suite.getCause()));
    }

    @Test
    void aProtocolTheJvmTurnsOffOrSuitesServingNoProtocolEnabledFailStartUp(KafkaCluster kafka) {
        // Known to the JVM but turned off (jdk.tls.disabledAlgorithms): every handshake would fail.
        IllegalStateException off = assertThrows(IllegalStateException.class,
                () -> start(kafka, Map.of("ssl.enabled.protocols", "TLSv1.1")));
        assertTrue(String.valueOf(off.getCause()).contains("ssl.enabled.protocols")
                && String.valueOf(off.getCause()).contains("turned off"), String.valueOf(off.getCause()));
        IllegalStateException none = assertThrows(IllegalStateException.class, () -> start(kafka, Map.of(
                "ssl.enabled.protocols", "TLSv1.2", "ssl.cipher.suites", "TLS_AES_128_GCM_SHA256")));
        assertTrue(String.valueOf(none.getCause()).contains("ssl.cipher.suites"), String.valueOf(none.getCause()));
    }
}
