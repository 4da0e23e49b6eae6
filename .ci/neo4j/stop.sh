#!/usr/bin/env bash
# Stop the Neo4j that start.sh started (by its PID) and remove its data.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${NEO4J_STATE:-$(cd "$here/../.." && pwd)/.neo4j}"
pidfile="$state/neo4j.pid"
[[ -f "$pidfile" ]] || exit 0
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
fi
rm -f "$pidfile"
rm -rf "$state/data"
