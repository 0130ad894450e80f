# Sourced by bench/run.sh and bench/curves.sh from the repository's root: builds Portico's jar and
# the bench's classes (mvn -q -DskipTests package) when they are missing or older than the sources.
# $1: the bench class the script runs.
build_if_stale() {
  local jar=proxy/target/portico.jar classes=bench/target/classes stale=""
  if [[ ! -f "$jar" || ! -f "$classes/io/portico/bench/$1.class" ]]; then
    stale="missing"
  elif [[ -n "$(find pom.xml protocol consumer-sessions proxy bench -newer "$jar" \
            \( -path '*/src/*' -o -name pom.xml \) -type f -print -quit 2>/dev/null)" ]]; then
    stale="older than the sources"
  fi
  if [[ -n "$stale" ]]; then
    echo "[bench] building ($jar $stale): mvn -q -DskipTests package"
    mvn -q -B -DskipTests package
  fi
}
