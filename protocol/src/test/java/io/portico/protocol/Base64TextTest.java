package io.portico.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Base64TextTest {

    @Test
    void writesWhatTheJdkEncoderWritesForEveryLengthUpTo600() {
        Random random = new Random(42);
        for (int n = 0; n <= 600; n++) {
            byte[] data = new byte[n];
            random.nextBytes(data);
            assertArrayEquals(Base64.getEncoder().encode(data), Base64Text.encode(data), "length " + n);
            assertEquals(Base64.getEncoder().encode(data).length, Base64Text.length(n), "length " + n);
        }
    }

    @Test
    void everyByteValueInEveryPositionOfAStep() {
        // Each byte value at each of the six places of a step and in the three- and one-byte tails.
        for (int shift = 0; shift < 9; shift++) {
            byte[] data = new byte[256 + shift];
            for (int i = 0; i < 256; i++) {
                data[shift + i] = (byte) i;
            }
            assertArrayEquals(Base64.getEncoder().encode(data), Base64Text.encode(data), "shift " + shift);
        }
        byte[] ones = new byte[37];
        Arrays.fill(ones, (byte) 0xff);
        assertEquals(Base64.getEncoder().encodeToString(ones), new String(Base64Text.encode(ones), StandardCharsets.US_ASCII));
    }

    @Test
    void writesAPartOfItsSourceInPlaceAndNothingAroundIt() {
        Random random = new Random(7);
        byte[] src = new byte[300];
        random.nextBytes(src);
        for (int from = 0; from < 10; from++) {
            for (int n = 0; n <= 40; n++) {
                byte[] out = new byte[100];
                Arrays.fill(out, (byte) '#');
                int end = Base64Text.encode(src, from, n, out, 5);
                byte[] expected = Base64.getEncoder().encode(Arrays.copyOfRange(src, from, from + n));
                assertEquals(5 + expected.length, end, "from " + from + ", " + n + " bytes");
                assertArrayEquals(expected, Arrays.copyOfRange(out, 5, end), "from " + from + ", " + n + " bytes");
                for (int i = 0; i < out.length; i++) {
                    if (i < 5 || i >= end) {
                        assertEquals('#', out[i], "byte " + i + " outside what was written, from " + from + ", " + n + " bytes");
                    }
                }
            }
        }
    }

    @Test
    void bothWaysWriteWhatTheJdkWritesAcrossChunksFromAnyPlaceAndNothingAroundIt() {
        // Whichever way this machine's JVM takes, each way is checked: the table's, and the JDK
        // encoder's through the scratch arrays (a whole array up to a chunk, chunks, and the
        // groups after the last whole chunk encoded as the end of one that starts back).
        Random random = new Random(11);
        byte[] src = new byte[3 * Base64Text.CHUNK + 20];
        random.nextBytes(src);
        int[] lengths = {0, 1, 2, 3, 95, 96, 97, 100, 127, 128, 129, 1000, Base64Text.CHUNK - 1, Base64Text.CHUNK,
            Base64Text.CHUNK + 1, Base64Text.CHUNK + 2, Base64Text.CHUNK + 95, Base64Text.CHUNK + 96,
            Base64Text.CHUNK + 100, Base64Text.CHUNK + Base64Text.BACK_CHUNK_FROM - 1,
            Base64Text.CHUNK + Base64Text.BACK_CHUNK_FROM, Base64Text.CHUNK + Base64Text.BACK_CHUNK_FROM + 2,
            2 * Base64Text.CHUNK - 1, 2 * Base64Text.CHUNK, 2 * Base64Text.CHUNK + 500,
            3 * Base64Text.CHUNK + 1, 3 * Base64Text.CHUNK + 20};
        for (int n : lengths) {
            for (int from : new int[] {0, 1, 2, 5}) {
                if (from + n > src.length) {
                    continue;
                }
                byte[] part = Arrays.copyOfRange(src, from, from + n);
                byte[] expected = Base64.getEncoder().encode(part);
                for (int way = 0; way < 4; way++) {
                    byte[] out = new byte[expected.length + 10];
                    Arrays.fill(out, (byte) '#');
                    // ways 2 and 3 hand over a whole array (the callers' case), 0 and 1 a part of a larger one
                    byte[] in = way >= 2 ? part : src;
                    int at = way >= 2 ? 0 : from;
                    int end = way % 2 == 0
                            ? Base64Text.encodeByJdk(in, at, n, out, 3)
                            : Base64Text.encodeByTable(in, at, n, out, 3);
                    String what = n + " bytes from " + from + ", way " + way;
                    assertEquals(3 + expected.length, end, what);
                    assertArrayEquals(expected, Arrays.copyOfRange(out, 3, end), what);
                    for (int i = 0; i < out.length; i++) {
                        if (i < 3 || i >= end) {
                            assertEquals('#', out[i], "byte " + i + " outside what was written, " + what);
                        }
                    }
                }
            }
        }
    }

    @Test
    void knownVectorsOfRfc4648() {
        String[][] vectors = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
            {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {"foobarfoobar!", "Zm9vYmFyZm9vYmFyIQ=="}};
        for (String[] v : vectors) {
            assertEquals(v[1], new String(Base64Text.encode(v[0].getBytes(StandardCharsets.US_ASCII)),
                    StandardCharsets.US_ASCII), v[0]);
        }
    }

    @Test
    void decodesWhatTheJdkDecodesPaddedOrNotAndLeavesEverythingElseToIt() {
        Random random = new Random(5);
        for (int n = 0; n <= 300; n++) {
            byte[] data = new byte[n];
            random.nextBytes(data);
            byte[] padded = Base64.getEncoder().encode(data);
            byte[] bare = Base64.getEncoder().withoutPadding().encode(data);
            assertArrayEquals(data, Base64Text.decodePlain(padded, 0, padded.length), "padded, length " + n);
            assertArrayEquals(data, Base64Text.decodePlain(bare, 0, bare.length), "unpadded, length " + n);
            byte[] framed = concat("\"".getBytes(StandardCharsets.US_ASCII), padded, "\"".getBytes(StandardCharsets.US_ASCII));
            assertArrayEquals(data, Base64Text.decodePlain(framed, 1, padded.length), "in place, length " + n);
            assertArrayEquals(data, Base64Text.decode(framed, 1, padded.length), "in place, either way, length " + n);
        }
        // Random text over the alphabet, '=', a line break and a space: the same bytes as the JDK, or
        // null wherever the JDK refuses (and, where it is not plain, null for the JDK to decide).
        byte[] letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/==\n -_".getBytes(StandardCharsets.US_ASCII);
        int decoded = 0;
        for (int round = 0; round < 200_000; round++) {
            byte[] text = new byte[random.nextInt(13)];
            for (int i = 0; i < text.length; i++) {
                text[i] = letters[random.nextInt(random.nextInt(4) == 0 ? letters.length : 64)];
            }
            byte[] jdk;
            try {
                jdk = Base64.getDecoder().decode(text);
            } catch (IllegalArgumentException e) {
                jdk = null;
            }
            byte[] ours = Base64Text.decodePlain(text, 0, text.length);
            byte[] either;
            try {
                either = Base64Text.decode(text, 0, text.length);
            } catch (IllegalArgumentException e) {
                either = null;
            }
            assertArrayEquals(jdk, either, "either way: '" + new String(text, StandardCharsets.US_ASCII) + "'");
            String shown = new String(text, StandardCharsets.US_ASCII);
            if (ours != null) {
                decoded++;
                assertArrayEquals(jdk, ours, "'" + shown + "'");
            } else {
                boolean plain = jdk != null;
                for (byte b : text) {
                    plain &= b != '\n' && b != ' ' && b != '-' && b != '_';
                }
                // The only plain text left to the JDK that it takes: none.
                assertFalse(plain && jdk != null && shown.indexOf('=') < 0, "'" + shown + "' was left to the JDK");
            }
        }
        assertTrue(decoded > 50_000, "decoded only " + decoded);
    }

    @Test
    void decodesAStringAsTheJdkDecodesOneAndRefusesWhatItRefuses() {
        for (String text : new String[] {"", "S2Fma2E=", "S2Fma2E", "QUJD", "QQ==", "QQ"}) {
            assertArrayEquals(Base64.getDecoder().decode(text), Base64Text.decode(text), "'" + text + "'");
        }
        // Characters past Latin-1 and others outside the alphabet: the JDK's refusal, whatever the way in.
        for (String text : new String[] {"QUJ\u20ac", "QUJ\u00e9", "QU JD", "QUJD\n", "Q", "QQ=", "QUJD=A=="}) {
            assertThrows(IllegalArgumentException.class, () -> Base64.getDecoder().decode(text), text);
            assertThrows(IllegalArgumentException.class, () -> Base64Text.decode(text), text);
        }
    }

    @Test
    void plainTextEndsAtAQuoteABackslashOrAByteThatIsNotPrintableAscii() {
        Random random = new Random(3);
        byte[] special = {'"', '\\', 0, 0x1f, (byte) 0x80, (byte) 0xff, (byte) 0xc3};
        for (int round = 0; round < 20_000; round++) {
            byte[] b = new byte[random.nextInt(40)];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) (0x20 + random.nextInt(0x60)); // 0x20 to 0x7f (DEL, which does not end the text)
                if (b[i] == '"' || b[i] == '\\') {
                    b[i] = 'x';
                }
            }
            int marks = random.nextInt(3);
            for (int m = 0; m < marks && b.length > 0; m++) {
                b[random.nextInt(b.length)] = special[random.nextInt(special.length)];
            }
            int from = b.length == 0 ? 0 : random.nextInt(b.length);
            int expected = from;
            while (expected < b.length && b[expected] != '"' && b[expected] != '\\' && b[expected] >= 0x20) {
                expected++;
            }
            assertEquals(expected, Base64Text.plainTextEnd(b, from, b.length), java.util.Arrays.toString(b) + " from " + from);
        }
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
