package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portico.protocol.Negotiation.Offer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every {@code Accept} and {@code Content-Type} value parses or is rejected cleanly: a value that is
 * not a media type is skipped in {@code Accept} (none left: 406) and is a 415 as a
 * {@code Content-Type}; nothing throws anything else.
 */
class HostileMediaTypesTest {

    private static final String LONG = "a".repeat(100_000);

    /** Values that are no media type at all. */
    private static final List<String> GARBAGE = List.of(
            ";", ";;", ",", ", ,", "/", "a/", "/b", "a/b/c", "a b/c", "=", "a=b", "/;q=1", ";q=1",
            LONG, ";".repeat(100_000), ",".repeat(100_000), "/".repeat(100_000), LONG + "/" + LONG + "/",
            "\u0000", "application/json\u0000", "\u0000application/json", "application/js\u0000on",
            "application\u0000/json", "text/\u0007", "\u001b[31mtext/html", "application/json\r\nX-Injected: yes",
            "application/json\n", "\rapplication/json", "application/\u007fjson",
            "application/js\u00f6n", "\u00fc/\u00fc", "application/json\u00a0", "\ufeffapplication/json",
            "application/\ud800", "(application)/json", "application/\"json\"",
            "application/json{}", "@/@");

    /** Values of the form type/subtype whose weight is not a number from 0 to 1: unusable ranges. */
    private static final List<String> UNUSABLE_WEIGHT = List.of(
            "*/*;q=", "*/*;q=NaN", "*/*;q=-1", "*/*;q=2", "*/*;q=Infinity", "*/*;q=-0.0001", "*/*;q=1.0001",
            "*/*; q = x", "*/*;q=" + "9".repeat(100_000), "*/*;q=\u0000", "*/*;q=0.5;q=", "*/*;q=;q=7");

    private static final List<List<Offer>> TABLES = List.of(
            KafkaMediaTypes.V1_METADATA, KafkaMediaTypes.V1_PARTITION_METADATA, KafkaMediaTypes.V1_RECORDS);

    private static List<String> everyHostileValue() {
        List<String> all = new ArrayList<>(GARBAGE);
        all.addAll(UNUSABLE_WEIGHT);
        all.addAll(List.of("application/json;;;", "application/json; ;=;q", "application/json;charset=\u00fc\u0000",
                "application/" + LONG, "APPLICATION/JSON ; Q=0.5 ; ;", " \tapplication/json\t ; q=1"));
        return all;
    }

    private static String shown(String value) {
        StringBuilder sb = new StringBuilder();
        value.codePoints().limit(40).forEach(c -> sb.append(c < 0x20 || c > 0x7e ? String.format("\\u%04x", c) : Character.toString(c)));
        return value.length() > 40 ? sb + "…(" + value.length() + " chars)" : sb.toString();
    }

    private static <T> T noThrow(String what, String value, Supplier<T> call) {
        try {
            return call.get();
        } catch (RuntimeException e) {
            throw new AssertionError(what + "(" + shown(value) + ") threw " + e, e);
        }
    }

    private static Stream<Executable> forEach(List<String> values, Consumer<String> check) {
        return values.stream().map(value -> () -> check.accept(value));
    }

    /** 415, exactly as the produce handler answers an unsupported type, or a format: nothing else. */
    private static EmbeddedFormat produceFormatOr415(String value) {
        try {
            return KafkaMediaTypes.v1ProduceFormat(value);
        } catch (RestException e) {
            assertEquals(ErrorCode.UNSUPPORTED_MEDIA_TYPE, e.errorCode(), shown(value));
            assertEquals(415, e.httpStatus(), shown(value));
            return null;
        } catch (RuntimeException e) {
            throw new AssertionError("v1ProduceFormat(" + shown(value) + ") threw " + e, e);
        }
    }

    @Test
    void nothingThrowsWhateverTheHeaderHolds() {
        assertAll(forEach(everyHostileValue(), value -> {
            noThrow("parse", value, () -> MediaType.parse(value));
            noThrow("parseAccept", value, () -> MediaType.parseAccept(value));
            for (List<Offer> offers : TABLES) {
                noThrow("select", value, () -> Negotiation.select(value, offers));
            }
            produceFormatOr415(value);
            noThrow("isV1GenericBody", value, () -> KafkaMediaTypes.isV1GenericBody(value));
        }));
    }

    @Test
    void garbageIsNoMediaType() {
        assertAll(forEach(GARBAGE, value -> assertNull(MediaType.parse(value), shown(value))));
    }

    @Test
    void garbageAcceptAcceptsNothingSoTheCallerAnswers406() {
        assertAll(forEach(GARBAGE, value -> {
            assertTrue(MediaType.parseAccept(value).isEmpty(), shown(value));
            for (List<Offer> offers : TABLES) {
                assertNull(Negotiation.select(value, offers), shown(value));
            }
        }));
    }

    @Test
    void garbageContentTypeIs415() {
        assertAll(forEach(GARBAGE, value -> {
            RestException e = assertThrows(RestException.class, () -> KafkaMediaTypes.v1ProduceFormat(value),
                    shown(value));
            assertEquals(ErrorCode.UNSUPPORTED_MEDIA_TYPE, e.errorCode(), shown(value));
            assertEquals(new ErrorMessage(415, "HTTP 415 Unsupported Media Type"), e.body(), shown(value));
            assertFalse(KafkaMediaTypes.isV1GenericBody(value), shown(value));
        }));
    }

    @Test
    void aRangeWithAnUnusableWeightAcceptsNothing() {
        assertAll(forEach(UNUSABLE_WEIGHT, value -> {
            assertEquals(new MediaType("*", "*", 0.0), MediaType.parse(value), shown(value));
            for (List<Offer> offers : TABLES) {
                assertNull(Negotiation.select(value, offers), shown(value));
            }
            assertNull(produceFormatOr415(value), shown(value));
            assertFalse(KafkaMediaTypes.isV1GenericBody(value), shown(value));
        }));
    }

    @Test
    void malformedElementsNeverHideAGoodOne() {
        assertAll(forEach(everyHostileValue(), value -> {
            String accept = value + ", application/json";
            assertEquals(new MediaType("application", "json", 1.0),
                    noThrow("select", accept, () -> Negotiation.select(accept, KafkaMediaTypes.V1_METADATA)),
                    shown(accept));
        }));
    }

    @Test
    void malformedParametersAreIgnored() {
        for (String value : List.of("application/json;;;", "application/json; ;=;q", "application/json;charset=\u00fc\u0000")) {
            assertEquals(new MediaType("application", "json", 1.0), MediaType.parse(value), shown(value));
            assertEquals(EmbeddedFormat.BINARY, KafkaMediaTypes.v1ProduceFormat(value), shown(value));
            assertTrue(KafkaMediaTypes.isV1GenericBody(value), shown(value));
            assertEquals(KafkaMediaTypes.JSON, Negotiation.select(value, KafkaMediaTypes.V1_METADATA).essence());
        }
        assertEquals(new MediaType("application", "json", 0.5), MediaType.parse("APPLICATION/JSON ; Q=0.5 ; ;"));
    }

    @Test
    void spacesAndTabsAroundATypeAreAllowedButNoOtherWhiteSpace() {
        assertEquals(new MediaType("application", "json", 1.0), MediaType.parse(" \tapplication/json\t ; q=1"));
        assertNull(MediaType.parse("\napplication/json"));
        assertNull(MediaType.parse("application/json\u000b"));
    }

    @Test
    void aVeryLongTypeIsJustAnUnknownType() {
        String value = "application/" + LONG;
        assertEquals(LONG, MediaType.parse(value).subtype());
        assertNull(Negotiation.select(value, KafkaMediaTypes.V1_METADATA));
        assertNull(produceFormatOr415(value));
        assertFalse(KafkaMediaTypes.isV1GenericBody(value));
    }

    @Test
    void blankContentTypeIsNoContentType() {
        for (String value : List.of("", " ", "\t", " \t ")) {
            assertEquals(EmbeddedFormat.BINARY, KafkaMediaTypes.v1ProduceFormat(value));
            assertTrue(KafkaMediaTypes.isV1GenericBody(value));
            assertEquals(KafkaMediaTypes.V1_JSON, Negotiation.select(value, KafkaMediaTypes.V1_METADATA).essence());
        }
    }

    @Test
    void anOfferMustBeAMediaType() {
        assertThrows(IllegalArgumentException.class, () -> Offer.of(";", 1.0));
        assertThrows(IllegalArgumentException.class, () -> Offer.of("json", 1.0));
        assertThrows(IllegalArgumentException.class, () -> new Offer(null, 1.0));
    }
}
