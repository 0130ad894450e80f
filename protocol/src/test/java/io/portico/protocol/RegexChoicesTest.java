package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class RegexChoicesTest {

    @Test
    void choicesThatReadNothingAreCounted() {
        // Each of these makes Java's matcher try about 2^40 paths without reading a character.
        String[] runaway = {"(?:|)".repeat(40) + "(?!)", "(?:a?)?".repeat(40) + "(?!)", "(|b|)".repeat(40) + "\\z",
            "(?=" + "(?:|)".repeat(40) + "(?!))x", "(?>" + "(?:x?|y?)".repeat(40) + "(?!))", "((?:a*)?)".repeat(40) + "$"};
        for (String regex : runaway) {
            Pattern.compile(regex); // valid Java
            assertTrue(RegexChoices.work(regex) >= 40, regex + ": " + RegexChoices.work(regex));
        }
    }

    @Test
    void everydayPatternsCountLittleOrNothing() {
        String[] everyday = {"^[a-z]+$", "orders\\..*", "^(https?://)?([\\w-]+\\.)*[\\w-]+(:\\d+)?(/.*)?$",
            "^(\\+\\d{1,3})?(\\d*)?$", "(?=.*[A-Z])(?=.*\\d).{8,}", "[]a]+", "\\Q(|)\\E", "(?i)^[A-Z]{2}-\\d{4}$",
            "^(?<year>\\d{4})-(?<month>\\d{2})$", "^(foo|bar|baz|)$", "\\p{Lu}\\p{L}*", "[a-z&&[^e]]{0,3}",
            "^[\\x41-\\x5a]\\u0061\\cA\\07?$", "(a|b)*c"};
        for (String regex : everyday) {
            Pattern.compile(regex);
            assertTrue(RegexChoices.work(regex) <= 2, regex + ": " + RegexChoices.work(regex));
        }
    }

    @Test
    void aPatternWithinTheBoundRunsQuicklyOnTextItCannotMatch() {
        // Eight empty choices in a row: 256 paths, however many characters the text has.
        String regex = "(?:|)".repeat(8) + "(?!)";
        assertTrue(RegexChoices.work(regex) <= 8);
        assertFalse(Pattern.compile(regex).matcher("x".repeat(10_000)).find());
    }
}
