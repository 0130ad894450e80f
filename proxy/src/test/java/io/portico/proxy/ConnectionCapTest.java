package io.portico.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Listeners share half the process's file descriptors: together their connections never take them all. */
class ConnectionCapTest {
    @Test
    void eachListenerGetsItsPartOfHalfTheDescriptors() {
        assertEquals(3_333, Portico.connectionCap(10_000, 3, 20_000), "three listeners of 20,000 descriptors");
        assertEquals(10_000, Portico.connectionCap(10_000, 1, 1_048_576), "far below the limit: as configured");
        assertEquals(100, Portico.connectionCap(100, 2, 1_000));
        assertEquals(5_000, Portico.connectionCap(10_000, 0, 10_000), "no listener counted: as one");
    }
}
