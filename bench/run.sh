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

jar=proxy/target/portico.jar
classes=bench/target/classes
stale=""
if [[ ! -f "$jar" || ! -f "$classes/io/portico/bench/Bench.class" ]]; then
  stale="missing"
elif [[ -n "$(find pom.xml protocol consumer-sessions proxy bench -newer "$jar" \
          \( -path '*/src/*' -o -name pom.xml \) -type f -print -quit 2>/dev/null)" ]]; then
  stale="older than the sources"
fi
if [[ -n "$stale" ]]; then
  echo "[bench] building ($jar $stale): mvn -q -DskipTests package"
  mvn -q -B -DskipTests package
fi

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$java_bin" -Xmx2g -Dbench.root="$root" -cp "$classes:$jar" io.portico.bench.Bench "$@"
