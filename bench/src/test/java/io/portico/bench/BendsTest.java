package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BendsTest {
    /** Points at connections 1, 4, 16, … with these records/s and p99s; CPU as given. */
    private static List<Bends.Point> curve(double[] rates, double[] p99s, double porticoCpu, double brokerCpu,
                                           double generatorCpu) {
        List<Bends.Point> out = new ArrayList<>();
        int x = 1;
        for (int i = 0; i < rates.length; i++) {
            out.add(new Bends.Point(x, rates[i], rates[i], p99s[i] / 2, p99s[i], porticoCpu, brokerCpu, generatorCpu,
                    Double.NaN, 0, null));
            x *= 4;
        }
        return out;
    }

    private static Bends.Point failed(int x, String why) {
        return new Bends.Point(x, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0,
                why);
    }

    @Test
    void theBendIsTheFirstPointThatGrowsLessThanTenPercent() {
        List<Bends.Point> c = curve(new double[] {1000, 3500, 9000, 9800, 9900, 9950},
                new double[] {1, 1.2, 1.9, 5, 20, 80}, 120, 50, 25);
        assertEquals(3, Bends.flattens(c));
        assertEquals(3, Bends.p99Jumps(c));

        String text = Bends.describe(c, "connections", "records/s", 2);
        assertTrue(text.contains("grows by 10% or more at each step up to 16 connections (9,000/s)"), text);
        assertTrue(text.contains("from 16 to 64 connections it grows only by 9% (9,000 → 9,800/s): the curve bends "
                + "at 16 connections"), text);
        assertTrue(text.contains("p99 first at least doubles from 16 to 64 connections (1.90 → 5.00 ms)"), text);
        // 120 + 50 + 25 = 195% of 200%: the CPU is used up.
        assertTrue(text.contains("At 16 connections the machine's CPU is used up (Portico 120%, broker 50%, load "
                + "generator 25%: 195% of 200%)"), text);
        // Little's law at the last point: 1,024 connections ÷ 9,950 requests/s = 102.9 ms; p50 is 40 ms.
        assertTrue(text.contains("at 1,024 connections, p50 is 40.0 ms and Little's law (connections ÷ 9,950 "
                + "requests/s) gives a mean of 102.9 ms."), text);
    }

    @Test
    void aCurveThatKeepsGrowingHasNoBend() {
        List<Bends.Point> c = curve(new double[] {100, 200, 400}, new double[] {1, 1.5, 2.9}, 50, 10, 10);
        assertEquals(-1, Bends.flattens(c));
        assertEquals(-1, Bends.p99Jumps(c));
        String text = Bends.describe(c, "connections", "records/s", 2);
        assertTrue(text.contains("at every step up to the last point, 16 connections (400/s): no bend"), text);
        assertTrue(text.contains("p99 never doubles from one point to the next (1.00 ms at 1 connection, 2.90 ms at "
                + "16)"), text);
    }

    @Test
    void aFallIsABendAndIdleCpuMeansWaiting() {
        List<Bends.Point> c = curve(new double[] {5000, 4000}, new double[] {2, 3}, 40, 20, 10);
        assertEquals(1, Bends.flattens(c));
        String text = Bends.describe(c, "instances", "records/s", 2);
        assertTrue(text.contains("records/s is 5,000/s at 1 instance; from 1 to 4 instances it falls by 20%"), text);
        assertTrue(text.contains("the CPU is not used up (Portico 40%, broker 20%, load generator 10%: 70% of "
                + "200%)"), text);
    }

    @Test
    void aMachineBusyWithOtherProcessesIsSaid() {
        Bends.Point busy = new Bends.Point(64, 1000, 1000, 5, 10, 60, 20, 20, 190, 0, null);
        String text = Bends.why(busy, "connections", 2);
        assertTrue(text.contains("At 64 connections the machine's CPU is used up, though not by this run alone "
                + "(Portico 60%, broker 20%, load generator 20%: 100% of 200%; the machine was 190% busy, other "
                + "processes took the other 90%)"), text);
        Bends.Point quiet = new Bends.Point(64, 1000, 1000, 5, 10, 60, 20, 20, 105, 0, null);
        String q = Bends.why(quiet, "connections", 2);
        assertTrue(q.contains("the CPU is not used up (Portico 60%, broker 20%, load generator 20%: 100% of 200%; "
                + "the machine was 105% busy)"), q);
    }

    @Test
    void millisecondsKeepTheirDigitsReadable() {
        assertEquals("0.25", Bends.ms(0.25));
        assertEquals("57.0", Bends.ms(57));
        assertEquals("4,741", Bends.ms(4740.9));
        assertEquals("—", Bends.ms(Double.NaN));
    }

    @Test
    void failedPointsAreSkippedAndReported() {
        List<Bends.Point> c = new ArrayList<>(curve(new double[] {100, 300, 900}, new double[] {1, 1, 1}, 10, 10,
                10));
        c.add(failed(1000, "HTTP 429 on creating instance 1,000"));
        assertEquals(-1, Bends.flattens(c));
        c.add(1, failed(2, "no answer"));
        // The failed point between 1 and 4 is skipped: 4 is compared with 1.
        assertEquals(-1, Bends.flattens(c));
        String text = Bends.describe(c, "instances", "records/s", 2);
        assertTrue(text.contains("At 1,000 instances the point failed: HTTP 429 on creating instance 1,000."), text);
        assertTrue(text.contains("At 2 instances the point failed: no answer."), text);

        List<Bends.Point> flat = List.of(c.get(0), failed(2, "x"), new Bends.Point(4, 105, 105, 1, 1, 1, 1, 1, 3, 0,
                null));
        assertEquals(2, Bends.flattens(flat));
        assertTrue(Bends.describe(List.of(c.get(0)), "instances", "records/s", 2).startsWith("Too few points"));
    }

    @Test
    void idleConnectionsCostPerConnectionAndTheCap() {
        long mib = 1024 * 1024;
        List<Bends.Idle> points = List.of(
                new Bends.Idle(0, 0, 20 * mib, 130 * mib, 35, 31, 1.5, 10, 10),
                new Bends.Idle(1000, 1000, 22 * mib, 150 * mib, 35, 1031, 2.0, 10, 10),
                new Bends.Idle(10_000, 10_000, 40 * mib, 190 * mib, 36, 10_031, Double.NaN, 0, 10));
        String text = Bends.describeIdle(points, 10_000);
        assertTrue(text.contains("1,000 idle connections add 2.0 MiB of heap after a full GC (2.0 KiB each) and 20.0 "
                + "MiB of RSS (20.5 KiB each)"), text);
        assertTrue(text.contains("10,000 idle connections add 20.0 MiB of heap after a full GC (2.0 KiB each)"), text);
        assertTrue(text.contains("stays within a factor of 2: the heap cost grows linearly, no bend"), text);
        assertTrue(text.contains("Threads do not grow with connections"), text);
        assertTrue(text.contains("With 10,000 connections open, 0 of 10 fresh clients were answered: Portico holds "
                + "at most 10,000 connections"), text);
        assertFalse(Bends.describeIdle(points, 20_000).contains("Portico holds at most"));

        List<Bends.Idle> steep = List.of(points.get(0), points.get(1),
                new Bends.Idle(10_000, 10_000, 120 * mib, 300 * mib, 10_035, 10_031, 3, 10, 10));
        String s = Bends.describeIdle(steep, -1);
        assertTrue(s.contains("grows faster than the connections: the curve bends up"), s);
        assertTrue(s.contains("Threads grow by 10,000 with the connections."), s);
        assertTrue(s.contains("A fresh client's GET / took 3.00 ms (p50) with 10,000 connections open, 1.50 ms with "
                + "none."), s);
        assertEquals("No baseline (0 connections) was measured.", Bends.describeIdle(points.subList(1, 3), -1));
    }

    @Test
    void thePlotScalesBarsToTheLargest() {
        List<Bends.Point> c = curve(new double[] {500, 1000}, new double[] {1, 2}, 1, 1, 1);
        String[] lines = CurvesReport.plot("t", "connections", c).split("\n");
        assertEquals("t", lines[0]);
        assertEquals(20, lines[1].chars().filter(ch -> ch == '#').count(), lines[1]);
        assertEquals(40, lines[2].chars().filter(ch -> ch == '#').count(), lines[2]);
        assertTrue(lines[2].endsWith("| 1,000/s, p99 2.00 ms"), lines[2]);
    }

    @Test
    void bytesAreWrittenInTheirUnit() {
        assertEquals("512 B", Bends.bytes(512));
        assertEquals("2.0 KiB", Bends.bytes(2048));
        assertEquals("-1.5 MiB", Bends.bytes(-1.5 * 1024 * 1024));
        assertEquals("—", Bends.bytes(Double.NaN));
    }
}
