#!/usr/bin/env bash
# Debian's chromium for the browser test (tests/test_graphiql_browser.py drives it
# with playwright; playwright's own browser download is not used). Does nothing
# when it is already there. Prints one line; apt's output only on failure.
set -uo pipefail
if [ -n "${BURNPATH_CHROMIUM:-}" ] || [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed"
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "chromium: not installed, and not root without sudo: the browser test will fail under CI" >&2
    exit 1
  fi
  sudo=(sudo)
fi
t0=$(date +%s)
log=$(mktemp)
if "${sudo[@]}" apt-get update -qq >"$log" 2>&1 &&
   "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
     chromium >>"$log" 2>&1; then
  echo "chromium: installed in $(( $(date +%s) - t0 ))s ($(/usr/bin/chromium --version 2>/dev/null))"
  rm -f "$log"
else
  echo "chromium: apt-get install failed after $(( $(date +%s) - t0 ))s:" >&2
  tail -20 "$log" >&2
  rm -f "$log"
  exit 1
fi
