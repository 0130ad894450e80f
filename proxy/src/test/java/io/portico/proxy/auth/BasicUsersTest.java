package io.portico.proxy.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.eclipse.jetty.util.security.Credential;
import org.eclipse.jetty.util.security.Password;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The users files of Confluent's basic authentication, with credentials made by Jetty itself
 * (what Confluent's docs have users run: {@code java -cp jetty-util.jar org.eclipse.jetty.util.security.Password}).
 */
class BasicUsersTest {
    private static BasicUsers parse(String text) {
        return BasicUsers.parse(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void plainObfuscatedAndMd5PasswordsAsJettyWritesThem() {
        String obfuscated = Password.obfuscate("s3cret-\u00e9t\u00e9");
        String md5 = Credential.MD5.digest("an other pass");
        BasicUsers users = parse("# Confluent's example file\n"
                + "fred: " + obfuscated + ",user,admin\n"
                + "harry: " + md5 + ",user\n"
                + "tom = plain-pass , developer\n");
        assertTrue(obfuscated.startsWith("OBF:") && md5.startsWith("MD5:"), obfuscated + " " + md5);
        assertEquals(List.of("user", "admin"), users.check("fred", "s3cret-\u00e9t\u00e9").roles());
        assertEquals("harry", users.check("harry", "an other pass").name());
        assertEquals(List.of("developer"), users.check("tom", "plain-pass").roles());
        assertNull(users.check("fred", "s3cret"), "a wrong password");
        assertNull(users.check("tom", "Plain-pass"));
        assertNull(users.check("nobody", "plain-pass"), "an unknown user");
        assertFalse(java.util.Arrays.equals(users.named("tom").credentialDigest(),
                parse("tom: other\n").named("tom").credentialDigest()), "a new password ends stream tokens");
    }

    @Test
    void aUserNeedsOneOfTheRolesUnlessTheyAreAny() {
        BasicUsers users = parse("fred: p,user,admin\nharry: p,user\nzed: p\n");
        assertTrue(BasicUsers.allowed(users.named("fred"), Set.of("admin", "developer")));
        assertFalse(BasicUsers.allowed(users.named("harry"), Set.of("admin", "developer")));
        assertTrue(BasicUsers.allowed(users.named("zed"), Set.of("*")));
    }

    @Test
    void linesThatCannotBeUsedAreRefusedNamingTheUser() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("ann: CRYPT:adpexzg3FUZAk,user\n"))
                .getMessage().contains("user 'ann': CRYPT: credentials are not supported"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("bo: MD5:12ab\n"))
                .getMessage().contains("user 'bo': an MD5: credential is 32 hexadecimal digits"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("\\u0000unauthenticated: secret\n"))
                .getMessage().contains("control characters"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("cy: ,admin\n"))
                .getMessage().contains("user 'cy'"));
    }

    @Test
    void theJaasConfigurationOfConfluentsDocsNamesTheUsersFileReadByTheJdksParser(@TempDir Path dir) throws Exception {
        String jaas = "/* the proxy's users */\n"
                + "// KafkaRest { x required file=\"/commented-out\"; };\n"
                + "KafkaRest {\n"
                + "    org.eclipse.jetty.security.jaas.spi.PropertyFileLoginModule required\n"
                + "    file=\"/etc/kafka-rest/password.properties\"\n"
                + "    debug=\"false\";\n"
                + "};\n"
                + "Other {\n  x required file=\"/elsewhere\";\n};\n";
        Path file = Files.writeString(dir.resolve("jaas.conf"), jaas);
        assertEquals(Path.of("/etc/kafka-rest/password.properties"), BasicUsers.fromJaas(file.toString(), "KafkaRest"));
        assertEquals(Path.of("/elsewhere"), BasicUsers.fromJaas("=" + file, "Other"), "== (only this file) as the JVM takes it");
        assertEquals(Path.of("/elsewhere"), BasicUsers.fromJaas(file.toUri().toString(), "Other"), "a file: URL");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BasicUsers.fromJaas(file.toString(), "Rest"))
                .getMessage().contains("has no section Rest"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BasicUsers.fromJaas(dir.resolve("none").toString(),
                "KafkaRest")).getMessage().contains("cannot be read"));
    }

    @Test
    void jettys12DigestsAByteOrderMarkAndAFileThatIsNotUtf8() {
        String sha = "MD:SHA-256:" + java.util.HexFormat.of().formatHex(Digests.of("SHA-256", "dig-pass"));
        assertTrue(Credential.getCredential(sha).check("dig-pass"), "Jetty reads it so too");
        BasicUsers users = parse("\uFEFFann: " + sha + ",admin\n");
        assertEquals("ann", users.check("ann", "dig-pass").name(), "the first user, after the byte order mark");
        assertNull(users.check("ann", sha), "the digest itself is no password");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("bo: MD:NOPE:00\n"))
                .getMessage().contains("user 'bo': an MD: credential is MD:<algorithm>:<hex>"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BasicUsers.parse(
                "cy: p\u00e4ss\n".getBytes(StandardCharsets.ISO_8859_1))).getMessage().contains("not UTF-8"));
    }
}
