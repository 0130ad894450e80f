package io.portico.proxy.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.eclipse.jetty.util.security.Credential;
import org.eclipse.jetty.util.security.Password;
import org.junit.jupiter.api.Test;

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
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("cy: ,admin\n"))
                .getMessage().contains("user 'cy'"));
    }

    @Test
    void theJaasConfigurationOfConfluentsDocsNamesTheUsersFile() {
        String jaas = "KafkaRest {\n"
                + "    org.eclipse.jetty.security.jaas.spi.PropertyFileLoginModule required\n"
                + "    file=\"/etc/kafka-rest/password.properties\"\n"
                + "    debug=\"false\";\n"
                + "};\n"
                + "Other {\n  x required file=\"/elsewhere\";\n};\n";
        Path where = Path.of("/etc/kafka-rest/jaas.conf");
        assertEquals(Path.of("/etc/kafka-rest/password.properties"), BasicUsers.fromJaas(jaas, "KafkaRest", where));
        assertEquals(Path.of("/elsewhere"), BasicUsers.fromJaas(jaas, "Other", where));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BasicUsers.fromJaas(jaas, "Rest", where))
                .getMessage().contains("has no section Rest"));
    }
}
