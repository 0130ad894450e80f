package io.portico.proxy.ops;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Allowed origins with a {@code *} within them, as Jetty's CrossOriginFilter takes them. */
class CorsTest {

    @Test
    void aStarWithinAnOriginStandsForAnyCharactersAndNothingElseIsSpecial() {
        assertTrue(Cors.matches("https://*.example.com", "https://app.example.com"));
        assertTrue(Cors.matches("https://*.example.com", "https://a.b.example.com"));
        assertFalse(Cors.matches("https://*.example.com", "https://example.com"), "the dot is the pattern's own");
        assertFalse(Cors.matches("https://*.example.com", "http://app.example.com"));
        assertFalse(Cors.matches("https://*.example.com", "https://app.example.com.evil"));
        assertFalse(Cors.matches("https://app.example.com", "https://appXexample.com"), "a dot is a dot");
        assertTrue(Cors.matches("http://localhost:*", "http://localhost:3000"));
        assertTrue(Cors.matches("*://*.example.com:*", "https://x.example.com:8443"));
        assertFalse(Cors.matches("*://*.example.com:*", "https://x.example.org:8443"));
    }

    @Test
    void originsAreComparedWithoutRegardToCase() {
        assertTrue(Cors.allowedOrigins("https://App.Example.com").test("https://app.example.com"));
        assertTrue(Cors.allowedOrigins("https://*.Example.com").test("https://APP.example.com"));
        assertFalse(Cors.allowedOrigins("https://app.example.com").test("https://app.example.org"));
    }

    @Test
    void manyStarsAgainstALongOriginStayCheap() {
        // A regular expression of .* pieces would backtrack for a long time here.
        String origin = "https://" + "a".repeat(60_000) + ".example.org";
        assertFalse(Cors.matches("https://*a*a*a*a*a*a*a*.example.com", origin));
    }
}
