#!/usr/bin/env bash
# The benchmark of issues 6 and 18: Portico against the native Kafka clients, side by side, in one run.
#
#   bench/run.sh            # the full run: produce at 1 and 3 partitions, both generators
#   bench/run.sh --quick    # tiny sizes: checks that everything runs
#   bench/run.sh --help     # all options
#
# Needs JDK 17+ and Maven; the HTTP rows are also measured with wrk when it is on the PATH
# (apt-get install wrk), and skipped with a note when it is not. Builds what it needs
# (mvn -q -DskipTests package at the root) when proxy/target/portico.jar is missing or older than
# the sources, then starts a Kafka broker (its own JVM) and Portico (java -jar
# proxy/target/portico.jar, as shipped, another JVM), measures, prints the tables, writes them to
# bench/results/<yyyy-MM-dd-HHmm>.md, and stops both by PID.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# shellcheck source=bench/build-if-stale.sh
source bench/build-if-stale.sh
build_if_stale Bench

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$java_bin" -Xmx2g -Dbench.root="$root" -cp bench/target/classes:proxy/target/portico.jar io.portico.bench.Bench "$@"
