#!/usr/bin/env bash
# The targets across the full runs kept in bench/results: in how many runs each was met, and how
# its ratio spread (lowest, median, highest, newest). Reads the targets' tables each run wrote;
# measures nothing.
#
#   bench/summary.sh                            # every full run kept
#   bench/summary.sh --since 2026-12-04-0000    # those from then on
#   bench/summary.sh --all --out /tmp/all.md    # every run with targets' tables, to a file
#
# Needs JDK 17+ and Maven (builds the bench's classes when they are missing or stale).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

source bench/build-if-stale.sh
build_if_stale Summary >&2 # the table alone on standard output

java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$java_bin" -Dbench.root="$root" -cp bench/target/classes:proxy/target/portico.jar io.portico.bench.Summary "$@"
