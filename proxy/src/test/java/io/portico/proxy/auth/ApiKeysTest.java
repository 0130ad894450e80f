package io.portico.proxy.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;

/** The keys file's entries of client certificates, besides its keys. */
class ApiKeysTest {
    private static final byte[] PRINT = Digests.sha256("a certificate");
    private static final String PRINT_HEX = HexFormat.of().formatHex(PRINT);
    private static final String PRINT_OPENSSL = HexFormat.ofDelimiter(":").withUpperCase().formatHex(PRINT);

    private static ApiKeys parse(String entries) {
        return ApiKeys.parse(("{\"keys\":[" + entries + "]}").getBytes(StandardCharsets.UTF_8));
    }

    private static String entry(String name, String credentials) {
        return "{\"name\":\"" + name + "\"," + credentials + ",\"role\":\"writer\",\"topics\":[\"orders\"]}";
    }

    private static ClientCertificate certificate(String subject, byte[] sha256) {
        return new ClientCertificate(new X500Principal(subject), sha256);
    }

    private static String refusal(String entries) {
        return assertThrows(IllegalArgumentException.class, () -> parse(entries)).getMessage();
    }

    @Test
    void twoEntriesWithOneKeyAreRefusedHoweverItIsGiven() {
        String key = "shared-key-0123456789";
        assertTrue(refusal(entry("app", "\"key\":\"" + key + "\"") + "," + entry("app-admin", "\"key\":\"" + key + "\""))
                .contains("keys[1] (app-admin): another entry has the same key"));
        String sha = HexFormat.of().formatHex(Digests.sha256(key));
        assertTrue(refusal(entry("app", "\"key\":\"" + key + "\"") + "," + entry("hashed", "\"sha256\":\"" + sha.toUpperCase() + "\""))
                .contains("another entry has the same key"));
        parse(entry("a", "\"key\":\"" + key + "\"") + "," + entry("b", "\"key\":\"" + key + "-other\""));
    }

    @Test
    void aNameWithAControlCharacterIsRefused() {
        // "\u0000unauthenticated" owns what callers on authentication.skip.paths hold: no entry may share it.
        assertTrue(refusal(entry("\\u0000unauthenticated", "\"key\":\"nul-key-0123456789\""))
                .contains("control characters"));
    }

    @Test
    void aKeyThatNoHeaderCouldCarryIsRefused() {
        // Header values are read as ISO-8859-1 and trimmed: such a key would only ever get 401.
        for (String key : new String[] {"caf\u00e9-0123456789abcdef", "with space-0123456789", "tab\\t-0123456789abcdef",
                "\u00a0nbsp-0123456789abcdef"}) {
            assertTrue(refusal(entry("app", "\"key\":\"" + key + "\"")).contains("printable ASCII"), key);
        }
        parse(entry("app", "\"key\":\"!~printable-ASCII_0123456789\""));
    }

    @Test
    void anEntryThatListsGroupsMayUseThoseAloneOneWithoutListsAny() {
        ApiKeys keys = parse(entry("billing", "\"key\":\"billing-key-0123456\",\"groups\":[\"billing-*\",\" audit \"]") + ","
                + entry("any", "\"key\":\"any-key-0123456789\""));
        ApiKey billing = keys.find("billing-key-0123456");
        assertTrue(billing.allowsGroup("billing-eu"));
        assertTrue(billing.allowsGroup("audit"), "trimmed as topics are");
        assertFalse(billing.allowsGroup("payments"));
        assertTrue(keys.find("any-key-0123456789").allowsGroup("payments"));
        assertTrue(refusal(entry("bad", "\"key\":\"bad-key-01234567\",\"groups\":[\" \"]"))
                .contains("an empty consumer group pattern"));
    }

    @Test
    void anEntryKeptToItsGroupsReadsInternalTopicsOnlyThroughAPatternThatNamesThem() {
        String reader = "\"role\":\"reader\",\"topics\":[\"*\"]";
        ApiKeys keys = parse("{\"name\":\"billing\",\"key\":\"billing-key-0123456\"," + reader
                + ",\"groups\":[\"billing-*\"]},{\"name\":\"any\",\"key\":\"any-key-0123456789\"," + reader + "},"
                + "{\"name\":\"ops\",\"key\":\"ops-key-01234567890\",\"role\":\"reader\",\"topics\":[\"*\",\"__*\"],"
                + "\"groups\":[\"ops\"]}");
        ApiKey billing = keys.find("billing-key-0123456");
        assertTrue(billing.allows(Role.READER, "orders"));
        // Every group's committed offsets: not to a key kept to its own groups through "*".
        assertFalse(billing.allows(Role.READER, "__consumer_offsets"));
        assertFalse(billing.allows(Role.READER, "__transaction_state"));
        assertTrue(keys.find("any-key-0123456789").allows(Role.READER, "__consumer_offsets"), "no groups: any topic");
        assertTrue(keys.find("ops-key-01234567890").allows(Role.READER, "__consumer_offsets"), "named by a __ pattern");
    }

    @Test
    void anEntryThatListsSubjectsMayUseThoseAloneOneWithoutListsAny() {
        ApiKeys keys = parse(entry("billing", "\"key\":\"billing-key-0123456\",\"subjects\":[\"billing.*\",\" audit-value \"]")
                + "," + entry("any", "\"key\":\"any-key-0123456789\""));
        ApiKey billing = keys.find("billing-key-0123456");
        assertTrue(billing.allowsSubject("billing.Invoice"));
        assertTrue(billing.allowsSubject("audit-value"), "trimmed");
        assertFalse(billing.allowsSubject("orders-value"));
        assertTrue(billing.allowsGroup("anything"), "subjects say nothing of groups");
        assertTrue(keys.find("any-key-0123456789").allowsSubject("orders-value"));
        assertTrue(refusal(entry("bad", "\"key\":\"bad-key-01234567\",\"subjects\":[\"\"]"))
                .contains("an empty subject pattern"));
    }

    @Test
    void topicGlobsMatchWholeNamesWithStarsForAnyRun() {
        String[][] matching = {{"*", ""}, {"*", "orders"}, {"orders", "orders"}, {"orders.*", "orders."},
            {"orders.*", "orders.eu"}, {"*-*.events", "a-b.events"}, {"*-*.events", "a-b-c.events"},
            {"a*b*c", "abc"}, {"a*b*c", "aXbYbZc"}, {"**", "x"}, {"*.events*", "x.events.events"}};
        for (String[] m : matching) {
            assertTrue(ApiKey.globMatches(m[0], m[1]), m[0] + " ~ " + m[1]);
        }
        String[][] notMatching = {{"orders", "orders2"}, {"orders", "order"}, {"orders.*", "orders"},
            {"*-*.events", "ab.events"}, {"*-*.events", "a-b.event"}, {"a*b*c", "acb"}, {"a.b", "aXb"}, {"", "x"}};
        for (String[] m : notMatching) {
            assertFalse(ApiKey.globMatches(m[0], m[1]), m[0] + " !~ " + m[1]);
        }
        // A name that fails a glob of several stars late: a regular expression of .* backtracked
        // for a power of the length; this takes one pass per start the last star tries.
        assertFalse(ApiKey.globMatches("*-*-*-*.events", "-".repeat(60_000)));
        ApiKey reader = parse(entry("scoped", "\"key\":\"a-key-of-16-chars-or-more\"").replace("[\"orders\"]", "[\"orders.*\", \" audit \"]"))
                .named("scoped");
        assertTrue(reader.allows(Role.READER, "orders.eu"));
        assertTrue(reader.allows(Role.READER, "audit"), "names are trimmed");
        assertFalse(reader.allows(Role.READER, "payments"));
    }

    @Test
    void aSubjectMatchesInItsCanonicalFormWhateverTheCaseAndSpacing() {
        ApiKeys keys = parse(entry("cics", "\"certificate_subject\":\"CN=cics-app, O=Example\""));
        byte[] anyPrint = new byte[32];
        assertEquals("cics", keys.find(certificate("cn=CICS-app,o=example", anyPrint)).name());
        assertNull(keys.find(certificate("CN=cics-app,O=Other", anyPrint)), "another organisation");
        assertNull(keys.find(certificate("CN=cics-app", anyPrint)), "a subject with fewer names");
        assertNull(keys.find("cics"), "an entry without a key matches no presented key");
    }

    @Test
    void aFingerprintMatchesInOpensslsFormAndAsPlainHexadecimal() {
        for (String written : new String[] {PRINT_OPENSSL, PRINT_HEX}) {
            ApiKeys keys = parse(entry("pinned", "\"certificate_sha256\":\"" + written + "\""));
            assertEquals("pinned", keys.find(certificate("CN=anything", PRINT)).name(), written);
            byte[] other = PRINT.clone();
            other[31] ^= 1;
            assertNull(keys.find(certificate("CN=anything", other)), written);
        }
    }

    @Test
    void aPinnedFingerprintComesBeforeASubjectWhicheverIsWrittenFirst() {
        ApiKeys keys = parse(entry("by-subject", "\"certificate_subject\":\"CN=app\"") + ","
                + entry("by-print", "\"certificate_sha256\":\"" + PRINT_HEX + "\""));
        assertEquals("by-print", keys.find(certificate("CN=app", PRINT)).name());
        assertEquals("by-subject", keys.find(certificate("CN=app", new byte[32])).name());
    }

    @Test
    void anEntryMayHaveAKeyAndACertificateAndIsFoundByEither() {
        String key = "k-0123456789abcdef";
        ApiKeys keys = parse(entry("both", "\"key\":\"" + key + "\",\"certificate_subject\":\"CN=app\""));
        assertEquals("both", keys.find(key).name());
        assertEquals("both", keys.find(certificate("CN=app", PRINT)).name());
        assertTrue(keys.namesCertificates());
        assertFalse(parse(entry("key", "\"key\":\"" + key + "\"")).namesCertificates());
    }

    @Test
    void aStreamTokenBindsTheKeyAndHowTheCertificateIsNamed() {
        String key = "k-0123456789abcdef";
        ApiKey keyOnly = parse(entry("key", "\"key\":\"" + key + "\"")).named("key");
        assertArrayEquals(Digests.sha256(key), keyOnly.credentialDigest());
        byte[] both = parse(entry("both", "\"key\":\"" + key + "\",\"certificate_subject\":\"CN=app\"")).named("both")
                .credentialDigest();
        byte[] bothOther = parse(entry("both", "\"key\":\"" + key + "\",\"certificate_subject\":\"CN=other\""))
                .named("both").credentialDigest();
        assertFalse(java.util.Arrays.equals(both, bothOther), "a key and a certificate: changing either ends tokens");
        assertFalse(java.util.Arrays.equals(both, keyOnly.credentialDigest()));
        byte[] app = parse(entry("a", "\"certificate_subject\":\"CN=app\"")).named("a").credentialDigest();
        byte[] sameApp = parse(entry("a", "\"certificate_subject\":\"cn=APP\"")).named("a").credentialDigest();
        byte[] other = parse(entry("a", "\"certificate_subject\":\"CN=other\"")).named("a").credentialDigest();
        byte[] pinned = parse(entry("a", "\"certificate_sha256\":\"" + PRINT_HEX + "\"")).named("a").credentialDigest();
        assertArrayEquals(app, sameApp, "the canonical subject");
        assertFalse(java.util.Arrays.equals(app, other), "another subject: tokens minted before no longer hold");
        assertFalse(java.util.Arrays.equals(app, pinned));
    }

    @Test
    void badCertificateEntriesAreRefusedNamingTheEntry() {
        assertTrue(refusal("{\"name\":\"none\",\"role\":\"writer\",\"topics\":[\"*\"]}")
                .contains("keys[0] (none): give \"key\" or \"sha256\", or a client certificate's"));
        assertTrue(refusal(entry("two", "\"certificate_subject\":\"CN=a\",\"certificate_sha256\":\"" + PRINT_HEX + "\""))
                .contains("(two): give one of \"certificate_subject\" and \"certificate_sha256\", not both"));
        assertTrue(refusal(entry("dn", "\"certificate_subject\":\"not a name\""))
                .contains("(dn): \"certificate_subject\" must be a distinguished name"));
        assertTrue(refusal(entry("empty", "\"certificate_subject\":\"\"")).contains("(empty): \"certificate_subject\" is empty"));
        assertTrue(refusal(entry("short", "\"certificate_sha256\":\"AB:CD\""))
                .contains("(short): \"certificate_sha256\" must be 64 hexadecimal digits"));
        assertTrue(refusal(entry("hex", "\"certificate_sha256\":\"xyz\""))
                .contains("(hex): \"certificate_sha256\" must be hexadecimal"));
        assertTrue(refusal(entry("a", "\"certificate_subject\":\"CN=app\"") + ","
                + entry("b", "\"certificate_subject\":\"cn=app\""))
                .contains("keys[1] (b): another entry names the same certificate_subject"));
        assertTrue(refusal(entry("a", "\"certificate_sha256\":\"" + PRINT_HEX + "\"") + ","
                + entry("b", "\"certificate_sha256\":\"" + PRINT_OPENSSL + "\""))
                .contains("keys[1] (b): another entry names the same certificate_sha256"));
        assertTrue(refusal(entry("k", "\"key\":\"k-0123456789abcdef\",\"sha256\":\"" + PRINT_HEX + "\""))
                .contains("(k): give one of \"key\" and \"sha256\", not both"));
        assertTrue(refusal(entry("q", "\"key\":\"k-0123456789abcdef\",\"burst\":5"))
                .contains("(q): \"burst\" is 1 to 1000000000, with \"requests_per_second\""));
        assertTrue(refusal(entry("r", "\"key\":\"k-0123456789abcdef\",\"requests_per_second\":-1"))
                .contains("(r): \"requests_per_second\" must be 0 (no quota) to 1000000000"));
    }
}
