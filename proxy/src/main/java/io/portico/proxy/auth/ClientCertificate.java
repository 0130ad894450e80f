package io.portico.proxy.auth;

import io.undertow.server.HttpServerExchange;
import io.undertow.server.RenegotiationRequiredException;
import io.undertow.server.SSLSessionInfo;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.security.auth.x500.X500Principal;

/**
 * The certificate a client presented on a TLS connection, which the listener's truststore has
 * verified: its subject and the SHA-256 fingerprint of its encoding (what
 * {@code openssl x509 -noout -fingerprint -sha256} prints).
 */
record ClientCertificate(X500Principal subject, byte[] sha256) {

    /**
     * The verified certificate of the connection {@code exchange} came on, or null: not TLS, no
     * certificate asked for ({@code ssl.client.auth}) or none presented.
     */
    static ClientCertificate of(HttpServerExchange exchange) {
        SSLSessionInfo tls = exchange.getConnection().getSslSessionInfo();
        if (tls == null) {
            return null;
        }
        // Worked out once per TLS session (its requests all present the same certificate).
        javax.net.ssl.SSLSession session = tls.getSSLSession();
        if (session != null && session.getValue(SESSION_VALUE) instanceof ClientCertificate known) {
            return known;
        }
        Certificate[] chain;
        try {
            chain = tls.getPeerCertificates();
        } catch (SSLPeerUnverifiedException | RenegotiationRequiredException e) {
            return null;
        }
        if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
            return null;
        }
        ClientCertificate presented;
        try {
            presented = new ClientCertificate(leaf.getSubjectX500Principal(), Digests.sha256(leaf.getEncoded()));
        } catch (CertificateEncodingException e) {
            return null; // the JSSE decoded it from its encoding: not reached
        }
        if (session != null) {
            session.putValue(SESSION_VALUE, presented);
        }
        return presented;
    }

    private static final String SESSION_VALUE = "io.portico.client-certificate";

    /** How the 401 names it: the subject, never more than a line. */
    String describe() {
        String name = subject.getName(X500Principal.RFC2253);
        return name.length() <= 200 ? name : name.substring(0, 200) + "…";
    }

    /**
     * A fingerprint as a keys file may write it: 64 hexadecimal digits, in pairs separated by
     * colons (openssl's form) or not.
     *
     * @throws IllegalArgumentException when it is not one
     */
    static byte[] parseFingerprint(String text) {
        String digits = text.trim().replace(":", "");
        byte[] parsed;
        try {
            parsed = HexFormat.of().parseHex(digits);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("must be hexadecimal (colons between the pairs allowed)");
        }
        if (parsed.length != 32) {
            throw new IllegalArgumentException("must be 64 hexadecimal digits");
        }
        return parsed;
    }
}
