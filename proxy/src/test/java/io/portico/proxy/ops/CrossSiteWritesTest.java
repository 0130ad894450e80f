package io.portico.proxy.ops;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When an older browser's {@code Origin} names the host its request was sent to. */
class CrossSiteWritesTest {
    @Test
    void anOriginNamesTheHostAskedByNameAndByPortWhenTheHostGivesOne() {
        assertTrue(CrossSiteWrites.sameHost("http://portico:8082", "portico:8082"));
        assertTrue(CrossSiteWrites.sameHost("https://Portico.Example", "portico.example"));
        assertTrue(CrossSiteWrites.sameHost("https://portico.example", "portico.example:443"));
        assertTrue(CrossSiteWrites.sameHost("http://portico.example", "portico.example:80"));
        assertTrue(CrossSiteWrites.sameHost("http://[::1]:8082", "[::1]:8082"));
        assertTrue(CrossSiteWrites.sameHost("http://[::1]:8082", "[::1]"));

        assertFalse(CrossSiteWrites.sameHost("https://evil.example", "portico.example"));
        assertFalse(CrossSiteWrites.sameHost("https://portico.example.evil", "portico.example"));
        assertFalse(CrossSiteWrites.sameHost("http://portico:9999", "portico:8082"));
        assertFalse(CrossSiteWrites.sameHost("https://portico.example", "portico.example:80"));
        assertFalse(CrossSiteWrites.sameHost("http://[::2]:8082", "[::1]:8082"));
        assertFalse(CrossSiteWrites.sameHost("null", "portico:8082"));
        assertFalse(CrossSiteWrites.sameHost("not a url", "portico"));
        assertFalse(CrossSiteWrites.sameHost("http://portico:8082", null));
        assertFalse(CrossSiteWrites.sameHost("http://portico:8082", "portico:x"));
    }
}
