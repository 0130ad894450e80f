package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

class PorticoHeapTest {

    @Test
    void anXmxGivenToPorticoIsItsHeapCeiling() {
        assertEquals(256L << 20, Bench.porticoMaxHeap("256m"));
        assertEquals(2L << 30, Bench.porticoMaxHeap("2G"));
        assertEquals(512L << 10, Bench.porticoMaxHeap("512k"));
        assertEquals(1_000_000L, Bench.porticoMaxHeap("1000000"));
    }

    @Test
    void aSizedHeapGetsTheLaunchersCollectorUnlessAnotherIsNamed() {
        assertEquals(List.of(), Stack.porticoJvmOptions(null, List.of()), "as shipped: the launcher decides");
        assertEquals(List.of("-Xlog:gc"), Stack.porticoJvmOptions(null, List.of("-Xlog:gc")));
        assertEquals(List.of("-Xmx256m", "-XX:+UseParallelGC", "-Xlog:gc"),
                Stack.porticoJvmOptions("256m", List.of("-Xlog:gc")));
        assertEquals(List.of("-Xmx256m", "-XX:+UseG1GC"), Stack.porticoJvmOptions("256m", List.of("-XX:+UseG1GC")));
        assertEquals(List.of("-Xmx1g", "-XX:-UseParallelGC"), Stack.porticoJvmOptions("1g", List.of("-XX:-UseParallelGC")));
    }
}
