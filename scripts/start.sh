#!/usr/bin/env bash
# Installs and builds what is missing, then runs the gateway (SQLite in $TETHER_HOME) in the
# background with the TUI attached in the foreground. Quitting the TUI stops the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
home="${TETHER_HOME:-$HOME/.tether}"
mkdir -p "$home"
rm -f "$home/gateway.json"
node apps/gateway/dist/main.js --home "$home" "$@" 2>>"$home/gateway.log" &
gateway=$!
trap 'kill -TERM $gateway 2>/dev/null; wait $gateway 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -f "$home/gateway.json" ] && break
  kill -0 "$gateway" 2>/dev/null || { echo "gateway failed to start; see $home/gateway.log" >&2; exit 1; }
  sleep 0.1
done
echo "gateway running (logs: $home/gateway.log); web page: http://127.0.0.1:$(node -p "require('$home/gateway.json').port")/?token=…"
node apps/tui/dist/main.js --home "$home"
