package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class MediaTypeTest {

    @Test
    void plainTypeParsesWithFullWeight() {
        MediaType t = MediaType.parse("application/vnd.kafka.v1+json");
        assertEquals("application", t.type());
        assertEquals("vnd.kafka.v1+json", t.subtype());
        assertEquals(1.0, t.quality());
        assertEquals("application/vnd.kafka.v1+json", t.essence());
        assertEquals("application/vnd.kafka.v1+json", t.toString());
    }

    @Test
    void typeAndSubtypeAreLowerCased() {
        MediaType t = MediaType.parse("Application/VND.Kafka.JSON.v1+JSON");
        assertEquals("application/vnd.kafka.json.v1+json", t.essence());
    }

    @Test
    void parametersOtherThanQAreIgnored() {
        MediaType t = MediaType.parse("application/json; charset=utf-8");
        assertEquals("application/json", t.essence());
        assertEquals(1.0, t.quality());
    }

    @Test
    void qWeightIsReadWhereverItAppearsAndWhateverItsCase() {
        assertEquals(0.5, MediaType.parse("application/json;q=0.5").quality());
        assertEquals(0.5, MediaType.parse("application/json; charset=utf-8; Q = 0.5").quality());
        assertEquals(0.0, MediaType.parse("application/json;q=0").quality());
        assertEquals(1.0, MediaType.parse("application/json;q=1").quality());
    }

    @Test
    void unreadableOrOutOfRangeWeightCountsAsZero() {
        assertEquals(0.0, MediaType.parse("application/json;q=abc").quality());
        assertEquals(0.0, MediaType.parse("application/json;q=").quality());
        assertEquals(0.0, MediaType.parse("application/json;q=1.5").quality());
        assertEquals(0.0, MediaType.parse("application/json;q=-0.1").quality());
        assertEquals(0.0, MediaType.parse("application/json;q=NaN").quality());
    }

    @Test
    void surroundingWhitespaceIsTrimmed() {
        assertEquals("text/html", MediaType.parse("  text/html  ").essence());
    }

    @Test
    void somethingThatIsNotTypeSlashSubtypeDoesNotParse() {
        assertNull(MediaType.parse(null));
        assertNull(MediaType.parse(""));
        assertNull(MediaType.parse("json"));
        assertNull(MediaType.parse("application/"));
        assertNull(MediaType.parse("/json"));
        assertNull(MediaType.parse("a/b/c"));
        assertNull(MediaType.parse("application/ json"));
        assertNull(MediaType.parse("; q=0.5"));
    }

    @Test
    void wildcardRangesParse() {
        assertEquals("*/*", MediaType.parse("*/*").essence());
        assertEquals("application/*", MediaType.parse("application/*").essence());
    }

    @Test
    void missingOrBlankAcceptMeansAnything() {
        assertEquals(List.of(MediaType.ANY), MediaType.parseAccept(null));
        assertEquals(List.of(MediaType.ANY), MediaType.parseAccept(""));
        assertEquals(List.of(MediaType.ANY), MediaType.parseAccept("   "));
    }

    @Test
    void acceptListsEveryRangeInOrderWithItsWeight() {
        List<MediaType> ranges = MediaType.parseAccept(
                "application/vnd.kafka.v1+json; q=0.9, application/json; q=0.5");
        assertEquals(List.of(
                new MediaType("application", "vnd.kafka.v1+json", 0.9),
                new MediaType("application", "json", 0.5)), ranges);
    }

    @Test
    void malformedAcceptElementsAreSkipped() {
        List<MediaType> ranges = MediaType.parseAccept("garbage, , application/json, a/b/c");
        assertEquals(List.of(new MediaType("application", "json", 1.0)), ranges);
    }

    @Test
    void acceptWithNothingParseableAcceptsNothing() {
        assertTrue(MediaType.parseAccept("garbage, nonsense").isEmpty());
    }

    @Test
    void rangeSpecificityRanksExactOverTypeWildcardOverAny() {
        MediaType json = MediaType.parse("application/json");
        assertEquals(3, MediaType.parse("application/json").specificityFor(json));
        assertEquals(2, MediaType.parse("application/*").specificityFor(json));
        assertEquals(1, MediaType.parse("*/*").specificityFor(json));
        assertEquals(0, MediaType.parse("text/*").specificityFor(json));
        assertEquals(0, MediaType.parse("application/xml").specificityFor(json));
        assertEquals(0, MediaType.parse("*/json").specificityFor(json));
    }

    @Test
    void valuesSeenBeforeParseAsTheyDidWhateverCameBetween() {
        // More distinct values than the memo has slots, valid and not, long and short, each
        // parsed again after all the others: every answer is still its own value's.
        int n = 300;
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < n; i++) {
                MediaType t = MediaType.parse("application/x-" + i + "; q=0." + (i % 10));
                assertEquals("x-" + i, t.subtype(), "round " + round);
                assertEquals((i % 10) / 10.0, t.quality());
                assertNull(MediaType.parse("not-a-type-" + i), "round " + round);
                String longValue = "application/" + "y".repeat(200) + i;
                assertEquals("y".repeat(200) + i, MediaType.parse(longValue).subtype());
            }
        }
    }
}
