#!/usr/bin/env bash
# Installs what a fresh Debian machine with Node.js 20 and npm lacks, then builds everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
export TURBO_TELEMETRY_DISABLED=1
need_apt=()
command -v tmux >/dev/null || need_apt+=(tmux)
command -v make >/dev/null || need_apt+=(make)
command -v g++ >/dev/null || need_apt+=(g++)
command -v python3 >/dev/null || need_apt+=(python3)
if [ "${TETHER_WITH_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null; then need_apt+=(chromium); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing: ${need_apt[*]} — install them with apt-get (needs root)" >&2
  fi
fi
if ! command -v pnpm >/dev/null || [ "$(pnpm -v)" != 10.34.9 ]; then npm i -g pnpm@10.34.9; fi
pnpm install --frozen-lockfile
pnpm build
