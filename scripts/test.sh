#!/usr/bin/env bash
# Installs, builds and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export TETHER_WITH_BROWSER=1
bash scripts/setup.sh
export TURBO_TELEMETRY_DISABLED=1
pnpm test
