package io.portico.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Builds the {@link SSLContext} of https listeners from the {@code ssl.*} settings, named as Kafka
 * names them. Keystores are PKCS12, JKS, or PEM: one file holding a PKCS#8 private key (encrypted
 * with {@code ssl.key.password}, or not) and its certificate chain, leaf first. Every problem
 * fails start-up with a {@link ConfigException} naming the setting.
 */
final class Tls {
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+?)-----END \\1-----");

    private Tls() {
    }

    static SSLContext context(PorticoConfig.Security s) {
        KeyStore keys = load(s.keystoreType(), s.keystoreLocation(), s.keystorePassword(), s.keyPassword(),
                "ssl.keystore");
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            // A PEM file becomes an in-memory store whose key entry has an empty password.
            String entryPassword = s.keystoreType().equals("PEM") ? ""
                    : !s.keyPassword().isEmpty() ? s.keyPassword() : s.keystorePassword();
            kmf.init(keys, entryPassword.toCharArray());
            TrustManagerFactory tmf = null;
            if (s.truststoreLocation() != null) {
                KeyStore trust = load(s.truststoreType(), s.truststoreLocation(), s.truststorePassword(), "",
                        "ssl.truststore");
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trust);
            } else if (!s.clientAuth().equals("none")) {
                throw new ConfigException("ssl.truststore.location",
                        "ssl.client.auth=" + s.clientAuth() + " needs a truststore of the CAs client certificates chain to");
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            checkSupported(context, s);
            return context;
        } catch (java.security.UnrecoverableKeyException e) {
            throw new ConfigException("ssl.key.password", "cannot read the private key: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new ConfigException("ssl.keystore.location", e.toString());
        }
    }

    /**
     * The TLS context Portico reaches the schema registry with: its truststore (else the JVM's
     * CAs) and client certificate, when set; null when neither is (the JVM's defaults).
     */
    static SSLContext registryClient(PorticoConfig.SchemaRegistry r) {
        if (r.truststoreLocation() == null && r.keystoreLocation() == null) {
            return null;
        }
        String prefix = "schema.registry.ssl.";
        try {
            KeyManagerFactory kmf = null;
            if (r.keystoreLocation() != null) {
                KeyStore keys = load(r.keystoreType(), r.keystoreLocation(), r.keystorePassword(), r.keyPassword(),
                        prefix + "keystore");
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                String entryPassword = r.keystoreType().equals("PEM") ? ""
                        : !r.keyPassword().isEmpty() ? r.keyPassword() : r.keystorePassword();
                kmf.init(keys, entryPassword.toCharArray());
            }
            TrustManagerFactory tmf = null;
            if (r.truststoreLocation() != null) {
                KeyStore trust = load(r.truststoreType(), r.truststoreLocation(), r.truststorePassword(), "",
                        prefix + "truststore");
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trust);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            return context;
        } catch (java.security.UnrecoverableKeyException e) {
            throw new ConfigException(prefix + "key.password", "cannot read the private key: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new ConfigException(prefix + "keystore.location", e.toString());
        }
    }

    /** A TLS version or suite the JVM does not know would be dropped silently: fail start-up instead. */
    private static void checkSupported(SSLContext context, PorticoConfig.Security s) {
        javax.net.ssl.SSLParameters supported = context.getSupportedSSLParameters();
        List<String> protocols = List.of(supported.getProtocols());
        for (String p : s.enabledProtocols()) {
            if (!protocols.contains(p)) {
                throw new ConfigException("ssl.enabled.protocols", "'" + p + "' is not a protocol this JVM supports "
                        + protocols);
            }
        }
        // Known, but turned off by the JVM's jdk.tls.disabledAlgorithms (TLSv1.1): every handshake would fail.
        List<String> usable = List.of(context.getDefaultSSLParameters().getProtocols());
        for (String p : s.enabledProtocols()) {
            if (!usable.contains(p)) {
                throw new ConfigException("ssl.enabled.protocols", "'" + p + "' is turned off in this JVM "
                        + "(jdk.tls.disabledAlgorithms); it allows " + usable);
            }
        }
        List<String> suites = List.of(supported.getCipherSuites());
        for (String suite : s.cipherSuites()) {
            if (!suites.contains(suite)) {
                throw new ConfigException("ssl.cipher.suites", "'" + suite + "' is not a cipher suite this JVM supports");
            }
        }
        if (!s.cipherSuites().isEmpty()) {
            // TLS 1.3's suites serve TLS 1.3 alone, the others TLS 1.2 and before: none for any
            // protocol enabled, and no handshake could succeed.
            boolean tls13 = s.enabledProtocols().isEmpty() || s.enabledProtocols().contains("TLSv1.3");
            boolean older = s.enabledProtocols().isEmpty() || s.enabledProtocols().stream().anyMatch(p -> !p.equals("TLSv1.3"));
            boolean fits = s.cipherSuites().stream().anyMatch(suite -> suite.startsWith("TLS_AES_")
                    || suite.startsWith("TLS_CHACHA20_") ? tls13 : older);
            if (!fits) {
                throw new ConfigException("ssl.cipher.suites", "none of " + s.cipherSuites() + " serves a protocol of "
                        + "ssl.enabled.protocols " + s.enabledProtocols() + " (TLS_AES_* and TLS_CHACHA20_* serve TLSv1.3 alone)");
            }
        }
    }

    private static KeyStore load(String type, Path location, String password, String keyPassword, String prefix) {
        if (location == null) {
            throw new ConfigException(prefix + ".location", "is required");
        }
        if (!Files.isReadable(location)) {
            throw new ConfigException(prefix + ".location", "cannot read " + location);
        }
        try {
            if (type.equals("PEM")) {
                return pem(location, keyPassword, prefix);
            }
            KeyStore store = KeyStore.getInstance(type);
            try (InputStream in = Files.newInputStream(location)) {
                store.load(in, password.isEmpty() ? null : password.toCharArray());
            }
            if (store.size() == 0) {
                // A PKCS12 store opened without its password shows none of its encrypted
                // certificates: one that trusts nothing would refuse every client and server.
                throw new ConfigException(password.isEmpty() ? prefix + ".password" : prefix + ".location",
                        location + " holds no entries" + (password.isEmpty() ? " readable without a password" : ""));
            }
            return store;
        } catch (IOException e) {
            if (e.getCause() instanceof java.security.UnrecoverableKeyException
                    || String.valueOf(e.getMessage()).contains("password")) {
                throw new ConfigException(prefix + ".password", "cannot open " + location + ": " + e.getMessage());
            }
            throw new ConfigException(prefix + ".location", "cannot read " + location + " as " + type + ": " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw new ConfigException(prefix + ".location", "cannot read " + location + " as " + type + ": " + e);
        }
    }

    /** A PEM file as a key store: a private key with its chain (keystore), or certificates only (truststore). */
    private static KeyStore pem(Path location, String keyPassword, String prefix)
            throws IOException, GeneralSecurityException {
        String text = Files.readString(location, StandardCharsets.US_ASCII);
        List<Certificate> chain = new ArrayList<>();
        PrivateKey key = null;
        CertificateFactory certificates = CertificateFactory.getInstance("X.509");
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            switch (m.group(1)) {
                case "CERTIFICATE" -> chain.add(certificates.generateCertificate(new java.io.ByteArrayInputStream(der)));
                case "PRIVATE KEY" -> key = privateKey(der, prefix);
                case "ENCRYPTED PRIVATE KEY" -> key = privateKey(decrypt(der, keyPassword), prefix);
                case "RSA PRIVATE KEY", "EC PRIVATE KEY" -> throw new ConfigException(prefix + ".location",
                        "the private key in " + location + " is in the old " + m.group(1) + " form; convert it to "
                                + "PKCS#8 with: openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-pkcs8.pem");
                default -> {
                    // other blocks (parameters, comments) are ignored
                }
            }
        }
        if (chain.isEmpty()) {
            throw new ConfigException(prefix + ".location", location + " holds no CERTIFICATE block");
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        if (key != null) {
            store.setKeyEntry("portico", key, new char[0], chain.toArray(new Certificate[0]));
        } else if (prefix.equals("ssl.keystore")) {
            throw new ConfigException(prefix + ".location", location + " holds no PRIVATE KEY block");
        } else {
            for (int i = 0; i < chain.size(); i++) {
                store.setCertificateEntry("ca-" + i, chain.get(i));
            }
        }
        return store;
    }

    private static PrivateKey privateKey(byte[] pkcs8, String prefix) {
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "EdDSA", "DSA")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new ConfigException(prefix + ".location", "the private key is not an RSA, EC, EdDSA or DSA PKCS#8 key");
    }

    private static byte[] decrypt(byte[] der, String password) throws IOException, GeneralSecurityException {
        if (password.isEmpty()) {
            throw new ConfigException("ssl.key.password", "the PEM private key is encrypted: set ssl.key.password");
        }
        EncryptedPrivateKeyInfo info = new EncryptedPrivateKeyInfo(der);
        SecretKeyFactory factory = SecretKeyFactory.getInstance(info.getAlgName());
        Cipher cipher = Cipher.getInstance(info.getAlgName());
        cipher.init(Cipher.DECRYPT_MODE, factory.generateSecret(new PBEKeySpec(password.toCharArray())),
                info.getAlgParameters());
        try {
            return info.getKeySpec(cipher).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new ConfigException("ssl.key.password", "cannot decrypt the PEM private key: " + e.getMessage());
        }
    }
}
