package io.portico.schemas;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import io.portico.protocol.Json;
import java.io.IOException;

/**
 * The bound on a key or value that a schema format builds in memory whole before it serializes
 * it: a JSON Schema value becomes Jackson's tree (to be validated), a protobuf value Gson's tree
 * (protobuf's JSON parser), an avro value that {@link AvroJsonWriter} leaves to avro's JSON
 * decoder avro's datum. Such a tree takes some 40 to 70 bytes per token (a one-character string,
 * four bytes of JSON, is a node, a {@code String} and its array), 15 to 25 times the JSON, which
 * no memory budget counts; so the value's tokens are counted first, in one streaming pass that
 * builds nothing, and a value of more than {@link #MAX} is refused before any tree is built.
 */
final class JsonTokens {
    /**
     * The most tokens (each value, field name, bracket and brace) of one key or value: 1,000,000,
     * about 5 MiB of typical JSON (records of short fields have a token per 4 to 8 bytes), and a
     * tree of at most some 70 MB.
     */
    static final int MAX = 1_000_000;
    /** Bounds as loose as any caller's that checked the JSON before (the records endpoint's: numbers of any length). */
    private static final JsonFactory FACTORY = Json.scanOnly();

    private JsonTokens() {
    }

    /** What a tree takes per token, about (a node, a {@code String} and its array for a short string). */
    private static final long BYTES_PER_TOKEN = 64;

    /**
     * The tokens of the trees being built at once, at most: what 15% of the heap holds of them
     * (some 630,000 on the 256 MiB heap Portico ships with), so that requests building trees
     * together (one per thread of the schema pool) cannot fill the heap that every client shares.
     */
    static final int BUILDING_MAX = (int) Math.min(Integer.MAX_VALUE,
            Math.max(10_000, Runtime.getRuntime().maxMemory() * 15 / 100 / BYTES_PER_TOKEN));

    private static final java.util.concurrent.Semaphore BUILDING = new java.util.concurrent.Semaphore(BUILDING_MAX, true);

    /** How long a value waits for trees being built to make room before it is refused (503). */
    private static final long BUILDING_WAIT_MS = 2_000;

    /** Room taken for a tree while it is built; closing it gives the room back. */
    interface Room extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Counts the tokens of {@code json} ({@link #requireWithinBound}), then takes room for its tree
     * among the trees being built at once, waiting a little for it: one larger than all the room
     * goes on alone once it has it all.
     *
     * @throws ParsedSchema.InvalidDataException when it holds more than {@link #MAX} tokens
     * @throws io.portico.protocol.RestException 503 when the trees being built leave no room in time
     */
    static Room reserve(byte[] json) {
        return reserve(json, BUILDING, BUILDING_MAX);
    }

    /**
     * {@code build} of {@code json} (which builds its tree), with room {@linkplain #reserve reserved}
     * for the tree while it runs.
     */
    static byte[] built(byte[] json, java.util.function.UnaryOperator<byte[]> build) {
        Room room = reserve(json);
        try {
            return build.apply(json);
        } finally {
            room.close();
        }
    }

    /** As {@link #reserve(byte[])}, from {@code building}, which holds {@code max} at most. */
    static Room reserve(byte[] json, java.util.concurrent.Semaphore building, int max) {
        int tokens = requireWithinBound(json);
        // JSON this scan cannot read to its end, which a lenient parser may still read whole:
        // counted as the most tokens its bytes can hold.
        int permits = Math.max(1, Math.min(max, tokens >= 0 ? tokens : json.length / 2 + 1));
        // Room that is free now is taken at once, ahead of any value waiting for more than is free:
        // one client's outsized value waits (and may be refused) rather than every small one behind it.
        boolean taken = building.tryAcquire(permits);
        try {
            taken = taken || building.tryAcquire(permits, BUILDING_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            taken = false;
        }
        if (!taken) {
            throw io.portico.protocol.ErrorCode.SERVICE_UNAVAILABLE.exception("the schema-format values being "
                    + "built in memory at once fill the room set aside for them; retry");
        }
        java.util.concurrent.atomic.AtomicBoolean given = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (given.compareAndSet(false, true)) {
                building.release(permits);
            }
        };
    }

    /** The room free now for trees being built (tests). */
    static int available() {
        return BUILDING.availablePermits();
    }

    /**
     * Counts the tokens of {@code json} without building anything. JSON that does not parse is
     * left to the format's own parser, which says why.
     *
     * @return the tokens counted, or -1 when the JSON does not parse to its end
     * @throws ParsedSchema.InvalidDataException when it holds more than {@link #MAX} tokens
     */
    static int requireWithinBound(byte[] json) {
        int tokens = 0;
        try (JsonParser p = FACTORY.createParser(json)) {
            while (p.nextToken() != null) {
                if (++tokens > MAX) {
                    throw new ParsedSchema.InvalidDataException("it holds more than " + String.format(java.util.Locale.ROOT, "%,d", MAX) + " JSON tokens (values, "
                            + "field names, brackets), more than a schema format builds in memory");
                }
            }
        } catch (IOException e) {
            return -1; // not JSON to this scan: the format's parser says why, if it is not
        }
        return tokens;
    }
}
