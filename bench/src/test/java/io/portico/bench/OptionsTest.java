package io.portico.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OptionsTest {
    private static Options parse(String... args) {
        return Options.parse(args, Path.of("/repo"));
    }

    @Test
    void theReadRowsReadTenMillionRecordsByDefaultAndNeverFewerThanWereProduced() {
        Options d = parse();
        assertEquals(2_000_000, d.records());
        assertEquals(10_000_000, d.readRecords());
        assertEquals(4_000_000, parse("--read-records", "4,000,000").readRecords());
        Options more = parse("--records", "20000000");
        assertEquals(20_000_000, more.readRecords(), "the native producer's pass alone holds more");
        assertEquals(3_000_000, parse("--records", "3000000", "--read-records", "1000").readRecords());
        assertEquals(2_000, parse("--quick").readRecords(), "--quick reads what it produced");
        assertTrue(d.describe().contains("read records=10,000,000"), d.describe());
    }
}
