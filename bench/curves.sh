#!/usr/bin/env bash
# The cost curves of issue 18: Portico's throughput, latency and memory as load grows, in one run.
#
#   bench/curves.sh            # the full run: about 15 minutes on 2 cores
#   bench/curves.sh --quick    # a few points, 2 s each: checks that everything runs
#   bench/curves.sh --help     # all options
#
# Needs JDK 17+ and Maven; uses wrk too when it is on the PATH. Builds what it needs (mvn -q
# -DskipTests package at the root) when proxy/target/portico.jar is missing or older than the
# sources, then starts a Kafka broker (its own JVM) and Portico (java -jar proxy/target/portico.jar,
# another JVM, started afresh before each curve), measures, writes the tables to
# bench/results/curves-<yyyy-MM-dd-HHmm>.md, and stops both by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# shellcheck source=bench/build-if-stale.sh
source bench/build-if-stale.sh
build_if_stale Curves

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$java_bin" -Xmx2g -Dbench.root="$root" -cp bench/target/classes:proxy/target/portico.jar io.portico.bench.Curves "$@"
