package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PorticoHeapTest {

    @Test
    void anXmxGivenToPorticoIsItsHeapCeiling() {
        assertEquals(256L << 20, Bench.porticoMaxHeap("256m"));
        assertEquals(2L << 30, Bench.porticoMaxHeap("2G"));
        assertEquals(512L << 10, Bench.porticoMaxHeap("512k"));
        assertEquals(1_000_000L, Bench.porticoMaxHeap("1000000"));
    }
}
