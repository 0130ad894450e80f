package io.portico.proxy.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portico.proxy.testing.FakeTicker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The token buckets of {@link Quotas}, on a clock that moves only when told. */
class QuotasTest {
    private final FakeTicker clock = new FakeTicker();
    private final AtomicInteger refused = new AtomicInteger();

    private static long ms(long n) {
        return TimeUnit.MILLISECONDS.toNanos(n);
    }

    @Test
    void aCallerHasOneSecondsWorthAtOnceThenOneTokenPerTickOfItsRate() {
        Quotas quotas = new Quotas(2, 0, clock, refused::incrementAndGet);
        assertEquals(0, quotas.take("a", 2, 2));
        assertEquals(0, quotas.take("a", 2, 2));
        assertEquals(ms(500), quotas.take("a", 2, 2), "the third waits half a second");
        clock.advance(Duration.ofMillis(499));
        assertEquals(ms(1), quotas.take("a", 2, 2));
        clock.advance(Duration.ofMillis(1));
        assertEquals(0, quotas.take("a", 2, 2));
        assertEquals(ms(500), quotas.take("a", 2, 2), "a refusal takes nothing");
    }

    @Test
    void callersAreCountedApartAndCreditStopsAtTheBurst() {
        Quotas quotas = new Quotas(1, 3, clock, refused::incrementAndGet);
        for (int i = 0; i < 3; i++) {
            assertEquals(0, quotas.take("a", 1, 3), "request " + i);
        }
        assertEquals(ms(1000), quotas.take("a", 1, 3));
        for (int i = 0; i < 3; i++) {
            assertEquals(0, quotas.take("b", 1, 3), "b is not held back by a: " + i);
        }
        clock.advance(Duration.ofHours(1));
        for (int i = 0; i < 3; i++) {
            assertEquals(0, quotas.take("a", 1, 3), "request " + i + " after a quiet hour");
        }
        assertEquals(ms(1000), quotas.take("a", 1, 3), "no more than the burst saved up");
    }

    @Test
    void aNewRateForACallerStartsItsBucketAfresh() {
        Quotas quotas = new Quotas(1, 0, clock, refused::incrementAndGet);
        assertEquals(0, quotas.take("a", 1, 1));
        assertEquals(ms(1000), quotas.take("a", 1, 1));
        for (int i = 0; i < 10; i++) {
            assertEquals(0, quotas.take("a", 10, 10), "the keys file gave it 10 a second: " + i);
        }
        assertEquals(ms(100), quotas.take("a", 10, 10));
        for (int i = 0; i < 1000; i++) {
            assertEquals(0, quotas.take("fast", 1_000_000_000, 1_000_000_000), "a billion a second, no overflow: " + i);
        }
    }

    @Test
    void anIpv6ClientIsCountedByItsNetworkAnIpv4OneByItsAddress() throws Exception {
        assertEquals("2001:db8:1:2::/64", io.portico.proxy.http.Http.addressKey(java.net.InetAddress.getByName("2001:db8:1:2::1")));
        assertEquals("2001:db8:1:2::/64", io.portico.proxy.http.Http.addressKey(java.net.InetAddress.getByName("2001:db8:1:2:ffff:1:2:3")));
        assertEquals("2001:db8:1:3::/64", io.portico.proxy.http.Http.addressKey(java.net.InetAddress.getByName("2001:db8:1:3::1")));
        assertEquals("0:0:0:0::/64", io.portico.proxy.http.Http.addressKey(java.net.InetAddress.getByName("::1")));
        assertEquals("192.0.2.7", io.portico.proxy.http.Http.addressKey(java.net.InetAddress.getByName("192.0.2.7")));
    }

    /** A request from {@code address}, as Quotas sees one. */
    private static io.undertow.server.HttpServerExchange from(String address) throws Exception {
        io.undertow.server.HttpServerExchange exchange = new io.undertow.server.HttpServerExchange(null);
        exchange.setSourceAddress(new java.net.InetSocketAddress(java.net.InetAddress.getByName(address), 40000));
        return exchange;
    }

    @Test
    void refusedCredentialsAreHeldToTheirOwnRatePerAddressWithoutAnyRequestQuota() throws Exception {
        Quotas quotas = new Quotas(0, 0, 2, clock, refused::incrementAndGet); // no request quota; 2 failures a second
        for (int i = 0; i < 20; i++) {
            quotas.admitFailure(from("192.0.2.7")); // ten seconds' worth at once
        }
        io.portico.protocol.RestException e = org.junit.jupiter.api.Assertions.assertThrows(
                io.portico.protocol.RestException.class, () -> quotas.admitFailure(from("192.0.2.7")));
        assertEquals(429, e.httpStatus());
        assertEquals(1, refused.get());
        quotas.admitFailure(from("192.0.2.8")); // another address is counted apart
        clock.advance(Duration.ofMillis(500));
        quotas.admitFailure(from("192.0.2.7"));
        org.junit.jupiter.api.Assertions.assertThrows(io.portico.protocol.RestException.class,
                () -> quotas.admitFailure(from("192.0.2.7")));

        Quotas unbounded = new Quotas(5, 0, 0, clock, refused::incrementAndGet);
        for (int i = 0; i < 1000; i++) {
            unbounded.admitFailure(from("192.0.2.7")); // 0: no bound, whatever the request quota
        }
    }
}
