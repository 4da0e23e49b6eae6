#!/usr/bin/env bash
# Start a real Neo4j 5.26 (in-process harness, resolved from Maven Central and
# cached in ~/.m2) in the background and wait until Bolt answers.
#   NEO4J_PORT (default 17687), NEO4J_PASSWORD (default burnpath-ci),
#   NEO4J_STATE (default <repo>/.neo4j: pid, log, data; removed by stop.sh),
#   NEO4J_HEAP (default 1g; the benchmark wants more)
# Prints the bolt URI on success; exits non-zero (with the server log) on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${NEO4J_PORT:-17687}"
password="${NEO4J_PASSWORD:-burnpath-ci}"
state="${NEO4J_STATE:-$root/.neo4j}"
timeout_s="${NEO4J_START_TIMEOUT:-180}"
mkdir -p "$state"

if [[ -f "$state/neo4j.pid" ]] && kill -0 "$(cat "$state/neo4j.pid")" 2>/dev/null; then
  echo "neo4j already running (pid $(cat "$state/neo4j.pid"))" >&2
  exit 1
fi

t0=$(date +%s)
# The resolved classpath is cached beside the jars (keyed by the pom), so a warm
# start skips Maven; else Maven offline first (fast when ~/.m2 has it), then online.
cache="$HOME/.m2/burnpath-neo4j-classpath-$(sha1sum "$here/pom.xml" | cut -c1-12).txt"
cp_ok() { [[ -s "$1" ]] && tr ':' '\n' <"$1" | while read -r jar; do [[ -f "$jar" ]] || exit 1; done; }
if cp_ok "$cache"; then
  cp "$cache" "$state/classpath.txt"
else
  if ! mvn -q -B -o -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$state/classpath.txt" >"$state/mvn.log" 2>&1; then
    mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$state/classpath.txt" >"$state/mvn.log" 2>&1 \
      || { cat "$state/mvn.log" >&2; echo "could not resolve neo4j-harness from Maven Central" >&2; exit 1; }
  fi
  cp "$state/classpath.txt" "$cache"
fi
t1=$(date +%s)

rm -rf "$state/data"
nohup java -Xms256m -Xmx"${NEO4J_HEAP:-1g}" -XX:+UseSerialGC -cp "$(cat "$state/classpath.txt")" \
  "$here/Launcher.java" "$port" "$password" "$state/data" >"$state/neo4j.log" 2>&1 </dev/null &
echo $! >"$state/neo4j.pid"

NEO4J_URI="bolt://127.0.0.1:$port" NEO4J_PASSWORD="$password" PID="$(cat "$state/neo4j.pid")" \
TIMEOUT="$timeout_s" STATE="$state" python3 - <<'PY' || { tail -50 "$state/neo4j.log" >&2; "$here/stop.sh" >/dev/null 2>&1 || true; exit 1; }
import os, sys, time
from neo4j import GraphDatabase
from neo4j.exceptions import ServiceUnavailable
deadline = time.time() + float(os.environ["TIMEOUT"])
pid = int(os.environ["PID"])
log = os.path.join(os.environ["STATE"], "neo4j.log")
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("neo4j exited during startup")
    # Log in only once the launcher has set the password (it prints READY after).
    with open(log, errors="replace") as fh:
        if "NEO4J READY" not in fh.read():
            if time.time() > deadline:
                sys.exit("neo4j did not start in time")
            time.sleep(0.5)
            continue
    try:
        with GraphDatabase.driver(os.environ["NEO4J_URI"], auth=("neo4j", os.environ["NEO4J_PASSWORD"])) as d:
            d.verify_connectivity()
        break
    except (ServiceUnavailable, OSError):
        if time.time() > deadline:
            sys.exit("neo4j did not answer on bolt in time")
        time.sleep(0.5)
PY
t2=$(date +%s)
echo "neo4j ready at bolt://127.0.0.1:$port (resolve $((t1 - t0))s, start $((t2 - t1))s, pid $(cat "$state/neo4j.pid"))" >&2
echo "bolt://127.0.0.1:$port"
