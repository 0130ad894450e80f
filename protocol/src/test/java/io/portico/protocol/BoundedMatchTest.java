package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BoundedMatchTest {
    /** Exponential in Java's matcher: its memory of failed loops does not cover a back reference. */
    private static final Pattern RUNAWAY = Pattern.compile("^(a+)+\\1$");

    @Test
    void aMatchWithinItsBudgetAnswersAsJavasMatcherDoes() {
        assertTrue(BoundedMatch.matches(RUNAWAY, "aaaa", 1_000));
        assertFalse(BoundedMatch.matches(RUNAWAY, "aaa!", 1_000));
        assertTrue(BoundedMatch.find(Pattern.compile("b+"), "aabba", new BoundedMatch.Budget(100)));
        assertFalse(BoundedMatch.find(Pattern.compile("c"), "aabba", new BoundedMatch.Budget(100)));
    }

    @Test
    void aMatchPastItsBudgetStops() {
        String text = "a".repeat(40) + "!";
        assertThrows(BoundedMatch.TooMuchWork.class, () -> BoundedMatch.matches(RUNAWAY, text, 100_000));
        assertThrows(BoundedMatch.TooMuchWork.class,
                () -> BoundedMatch.find(RUNAWAY, text, new BoundedMatch.Budget(100_000)));
    }

    @Test
    void matchesSharingABudgetStopOnceTogetherTheyPassIt() {
        Pattern letters = Pattern.compile("^[a-z]+$");
        BoundedMatch.Budget budget = new BoundedMatch.Budget(250);
        assertTrue(BoundedMatch.find(letters, "a".repeat(100), budget));
        assertTrue(BoundedMatch.find(letters, "a".repeat(100), budget));
        assertThrows(BoundedMatch.TooMuchWork.class, () -> BoundedMatch.find(letters, "a".repeat(100), budget));
    }
}
