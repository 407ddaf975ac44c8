#!/usr/bin/env bash
# Installs and builds what is missing, then runs the gateway (SQLite in $TETHER_HOME) in the
# background with the TUI attached in the foreground. Quitting the TUI stops the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
home="${TETHER_HOME:-$HOME/.tether}"
mkdir -p "$home"
node apps/gateway/dist/main.js --home "$home" "$@" 2>>"$home/gateway.log" &
gateway=$!
trap 'kill -TERM $gateway 2>/dev/null; wait $gateway 2>/dev/null || true' EXIT
# Ready once the runtime file names this gateway's pid. A file left by another gateway is not
# touched: a live one keeps serving (this one then refuses to start), a dead one's is replaced.
for _ in $(seq 1 100); do
  grep -Eq "\"pid\": *$gateway([^0-9]|$)" "$home/gateway.json" 2>/dev/null && break
  kill -0 "$gateway" 2>/dev/null || { echo "gateway failed to start; see $home/gateway.log" >&2; exit 1; }
  sleep 0.1
done
echo "gateway running (logs: $home/gateway.log); web page: http://127.0.0.1:$(node -p "require('$home/gateway.json').port")/?token=…"
node apps/tui/dist/main.js --home "$home"
