package io.portico.proxy.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Certificates for TLS tests, made as an operator would make them: the JDK's {@code keytool}
 * generates key pairs and self-signed or CA-signed certificates, and exports certificates as PEM.
 * Key stores in the other formats (PEM with a PKCS#8 key, JKS, truststores) are written from those
 * with {@link KeyStore}.
 */
public final class TestCerts {
    /** The password of every store written here. */
    public static final String PASSWORD = "changeit";

    private TestCerts() {
    }

    /** A private key, its certificate chain (leaf first), and the PKCS12 keystore keytool wrote them to. */
    public record Identity(String alias, Path pkcs12, PrivateKey key, List<X509Certificate> chain) {
        public X509Certificate certificate() {
            return chain.get(0);
        }
    }

    /**
     * {@code keytool -genkeypair}: an RSA key and a self-signed certificate in a new PKCS12 store
     * {@code <alias>.p12} in {@code dir}.
     *
     * @param extensions keytool {@code -ext} values, e.g. {@code SAN=dns:localhost,ip:127.0.0.1} or {@code bc:c}
     */
    public static Identity selfSigned(Path dir, String alias, String dname, String... extensions) {
        Path store = dir.resolve(alias + ".p12");
        List<String> args = new ArrayList<>(List.of("-genkeypair", "-alias", alias, "-keyalg", "RSA", "-keysize", "2048",
                "-validity", "2", "-dname", dname, "-storetype", "PKCS12", "-keystore", store.toString(),
                "-storepass", PASSWORD, "-keypass", PASSWORD));
        for (String ext : extensions) {
            args.add("-ext");
            args.add(ext);
        }
        keytool(dir, args);
        return load(alias, store);
    }

    /**
     * {@code keytool -certreq} for {@code subject} and {@code keytool -gencert} by {@code ca}: a
     * certificate for the subject's key signed by the CA. Returns the subject with the chain
     * [signed certificate, CA certificate].
     */
    public static Identity signedBy(Path dir, Identity ca, Identity subject) {
        Path request = dir.resolve(subject.alias() + ".csr");
        Path signed = dir.resolve(subject.alias() + "-signed.pem");
        keytool(dir, List.of("-certreq", "-alias", subject.alias(), "-keystore", subject.pkcs12().toString(),
                "-storepass", PASSWORD, "-file", request.toString()));
        keytool(dir, List.of("-gencert", "-alias", ca.alias(), "-keystore", ca.pkcs12().toString(),
                "-storepass", PASSWORD, "-infile", request.toString(), "-outfile", signed.toString(), "-rfc",
                "-validity", "2"));
        List<X509Certificate> chain = List.of(readPem(signed).get(0), ca.certificate());
        return new Identity(subject.alias(), subject.pkcs12(), subject.key(), chain);
    }

    /** {@code keytool -exportcert -rfc}: the identity's certificate as a PEM file. */
    public static Path exportPem(Identity identity, Path file) {
        keytool(file.getParent(), List.of("-exportcert", "-rfc", "-alias", identity.alias(),
                "-keystore", identity.pkcs12().toString(), "-storepass", PASSWORD, "-file", file.toString()));
        return file;
    }

    /** The identity's private key as unencrypted PKCS#8 PEM ({@code -----BEGIN PRIVATE KEY-----}). */
    public static String privateKeyPem(Identity identity) {
        return pem("PRIVATE KEY", identity.key().getEncoded());
    }

    /** A certificate as PEM. */
    public static String certificatePem(Certificate certificate) {
        try {
            return pem("CERTIFICATE", certificate.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A PEM keystore as Portico reads it: the PKCS#8 private key followed by the certificate chain. */
    public static Path pemKeystore(Identity identity, Path file) {
        StringBuilder text = new StringBuilder(privateKeyPem(identity));
        identity.chain().forEach(c -> text.append(certificatePem(c)));
        return write(file, text.toString());
    }

    /** A keystore of {@code type} (PKCS12 or JKS) holding the identity's key and chain, password {@link #PASSWORD}. */
    public static Path keystore(Identity identity, String type, Path file) {
        return keystore(identity, type, file, PASSWORD);
    }

    /** As {@link #keystore(Identity, String, Path)}, the key entry protected by its own {@code keyPassword}. */
    public static Path keystore(Identity identity, String type, Path file, String keyPassword) {
        try {
            KeyStore store = KeyStore.getInstance(type);
            store.load(null, null);
            store.setKeyEntry(identity.alias(), identity.key(), keyPassword.toCharArray(),
                    identity.chain().toArray(new Certificate[0]));
            return save(store, file);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot write " + file, e);
        }
    }

    /** A PKCS12 truststore holding {@code trusted}, password {@link #PASSWORD}. */
    public static Path truststore(Path file, Certificate... trusted) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < trusted.length; i++) {
                store.setCertificateEntry("trusted-" + i, trusted[i]);
            }
            return save(store, file);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot write " + file, e);
        }
    }

    /**
     * A client's TLS context: trusting only {@code trusted} (the server's certificate), and
     * presenting {@code client}'s certificate when it is not null.
     */
    public static SSLContext clientContext(Certificate trusted, Identity client) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("server", trusted);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (client != null) {
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry("client", client.key(), PASSWORD.toCharArray(),
                        client.chain().toArray(new Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, PASSWORD.toCharArray());
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The certificates of a PEM file. */
    public static List<X509Certificate> readPem(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            return out;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
    }

    /** The JDK's keytool, the one of the JVM running the tests. */
    public static Path keytoolPath() {
        return Path.of(System.getProperty("java.home"), "bin", "keytool");
    }

    private static Identity load(String alias, Path store) {
        try (InputStream in = Files.newInputStream(store)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, PASSWORD.toCharArray());
            PrivateKey key = (PrivateKey) ks.getKey(alias, PASSWORD.toCharArray());
            List<X509Certificate> chain = new ArrayList<>();
            for (Certificate c : ks.getCertificateChain(alias)) {
                chain.add((X509Certificate) c);
            }
            return new Identity(alias, store, key, List.copyOf(chain));
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read " + store, e);
        }
    }

    private static void keytool(Path dir, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(keytoolPath().toString());
        command.addAll(args);
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            byte[] out;
            try (InputStream in = p.getInputStream()) {
                out = in.readAllBytes();
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("keytool did not finish: " + command);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("keytool failed (" + p.exitValue() + "): " + command + "\n"
                        + new String(out, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String pem(String type, byte[] der) {
        String base64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + base64 + "\n-----END " + type + "-----\n";
    }

    private static Path save(KeyStore store, Path file) throws IOException, GeneralSecurityException {
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, PASSWORD.toCharArray());
        }
        return file;
    }

    private static Path write(Path file, String text) {
        try {
            return Files.writeString(file, text, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
