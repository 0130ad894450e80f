package io.portico.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.portico.protocol.RestException;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.Test;

/**
 * The JSON that records are decoded into counts against one shared room past each decode's first
 * {@link DecodeRoom#FREE_BYTES}: a decode without room fails with 503 and gives back what it took.
 */
class DecodeRoomTest {
    private static final long UNIT = 64 * 1024;

    @Test
    void decodesTakeRoomPastWhatIsFreeAndOneWithoutRoomIs503() {
        Semaphore room = new Semaphore(4);
        DecodeRoom small = DecodeRoom.open(room, 4);
        small.need(DecodeRoom.FREE_BYTES);
        assertEquals(4, room.availablePermits(), "most records' JSON takes nothing");
        DecodeRoom large = DecodeRoom.open(room, 4);
        large.need(DecodeRoom.FREE_BYTES + 3 * UNIT);
        assertEquals(1, room.availablePermits());
        large.need(DecodeRoom.FREE_BYTES + 2 * UNIT); // holds what it took
        assertEquals(1, room.availablePermits());
        RestException full = assertThrows(RestException.class,
                () -> DecodeRoom.open(room, 4).need(DecodeRoom.FREE_BYTES + 2 * UNIT));
        assertEquals(503, full.httpStatus(), full.getMessage());
        large.close();
        large.close();
        assertEquals(4, room.availablePermits());
        DecodeRoom huge = DecodeRoom.open(room, 4);
        huge.need(Long.MAX_VALUE / 2); // larger than the room: all of it, then alone
        assertEquals(0, room.availablePermits());
        huge.close();
        assertEquals(4, room.availablePermits());
    }

    @Test
    void aDecodeThatFitsWhatIsFreeIsNotHeldBehindOneWaitingForMore() throws Exception {
        Semaphore room = new Semaphore(4, true); // fair, as the shared room is
        DecodeRoom large = DecodeRoom.open(room, 4);
        large.need(DecodeRoom.FREE_BYTES + 3 * UNIT);
        // Another waits for 2 of the 1 free (longer than a decode waits: it is still there when the next asks).
        java.util.concurrent.CompletableFuture<Boolean> waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                boolean got = room.tryAcquire(2, 60, java.util.concurrent.TimeUnit.SECONDS);
                if (got) {
                    room.release(2);
                }
                return got;
            } catch (InterruptedException e) {
                return false;
            }
        });
        while (!room.hasQueuedThreads() && !waiting.isDone()) {
            Thread.onSpinWait();
        }
        DecodeRoom small = DecodeRoom.open(room, 4);
        small.need(DecodeRoom.FREE_BYTES + UNIT); // the one free: taken at once, not refused after the wait
        assertEquals(0, room.availablePermits());
        small.close();
        large.close();
        assertEquals(true, waiting.get(30, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(4, room.availablePermits());
    }

    @Test
    void anAvroRecordOfMuchJsonTakesRoomWhileDecodedAndIs503WithoutIt() {
        String symbol = "A".repeat(100_000);
        ParsedSchema schema = SchemaService.parse(SchemaType.AVRO, "{\"type\":\"array\",\"items\":{\"type\":\"enum\","
                + "\"name\":\"E\",\"symbols\":[\"" + symbol + "\"]}}");
        byte[] tenItems = {20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; // a block of 10 (zig-zag 20), index 0 each, the end
        byte[] framed = Framing.frame(1, tenItems);
        int before = DecodeRoom.available();
        assertEquals(10 * (symbol.length() + 2) + 11, schema.toJson(framed).length, "about a MiB of JSON");
        assertEquals(before, DecodeRoom.available(), "given back");

        DecodeRoom all = DecodeRoom.open();
        all.need(Long.MAX_VALUE / 2); // every other decode's room taken
        try {
            RestException e = assertThrows(RestException.class, () -> schema.toJson(framed));
            assertEquals(503, e.httpStatus(), e.getMessage());
        } finally {
            all.close();
        }
        assertEquals(before, DecodeRoom.available());
        assertEquals(10 * (symbol.length() + 2) + 11, schema.toJson(framed).length);
    }

    @Test
    void aProtobufRecordOfMuchJsonIs503WithoutRoom() {
        StringBuilder fields = new StringBuilder();
        for (int i = 1; i <= 10; i++) {
            fields.append("string f").append(i).append("x".repeat(5_000)).append(" = ").append(i).append("; ");
        }
        ParsedSchema schema = SchemaService.parse(SchemaType.PROTOBUF, "syntax = \"proto3\"; message M { repeated N n = 1; } "
                + "message N { " + fields + "}");
        byte[] payload = new byte[1 + 2 * 30];
        payload[0] = 0; // the message-index list: the first message
        for (int i = 0; i < 30; i++) {
            payload[1 + 2 * i] = 0x0A; // field 1, length-delimited: an empty N, shown with its ten fields
        }
        byte[] framed = Framing.frame(1, payload);
        int before = DecodeRoom.available();
        org.junit.jupiter.api.Assertions.assertTrue(schema.toJson(framed).length > 1_000_000, "over a MiB of JSON");
        assertEquals(before, DecodeRoom.available(), "given back");
        DecodeRoom all = DecodeRoom.open();
        all.need(Long.MAX_VALUE / 2);
        try {
            assertEquals(503, assertThrows(RestException.class, () -> schema.toJson(framed)).httpStatus());
        } finally {
            all.close();
        }
    }

    @Test
    void aProtobufRecordOfManyEmptyElementsTakesRoomBeforeItsMessageIsBuilt() {
        // Two bytes an element: 50,000 empty messages built (some MiB) for a record of 100 KB,
        // before its JSON (a few bytes an element) is anywhere near the room.
        ParsedSchema schema = SchemaService.parse(SchemaType.PROTOBUF,
                "syntax = \"proto3\"; message M { repeated E e = 1; } message E { }");
        byte[] payload = new byte[1 + 2 * 50_000];
        for (int i = 0; i < 50_000; i++) {
            payload[1 + 2 * i] = 0x0A;
        }
        byte[] framed = Framing.frame(1, payload);
        int before = DecodeRoom.available();
        assertEquals('{', schema.toJson(framed)[0]);
        assertEquals(before, DecodeRoom.available(), "given back");
        DecodeRoom all = DecodeRoom.open();
        all.need(Long.MAX_VALUE / 2);
        try {
            assertEquals(503, assertThrows(RestException.class, () -> schema.toJson(framed)).httpStatus());
        } finally {
            all.close();
        }
        assertEquals(before, DecodeRoom.available(), "given back after the 503 too");
    }
}
