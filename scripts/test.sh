#!/usr/bin/env bash
# Installs, builds, lints, typechecks and runs the whole test suite, then prints one closing
# line with the totals.
set -euo pipefail
cd "$(dirname "$0")/.."
export TETHER_WITH_BROWSER=1
bash scripts/setup.sh
export TURBO_TELEMETRY_DISABLED=1
log=$(mktemp -t tether-test.XXXXXX)
status=0
pnpm lint
pnpm typecheck
pnpm test 2>&1 | tee "$log" || status=$?
# vitest prints "Tests  N passed | M failed | K skipped (T)" per package; add them up.
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^[^ ]*:test: +Tests +/ {
    for (i = 1; i <= NF; i++) {
      if ($(i + 1) ~ /^passed/) passed += $i
      if ($(i + 1) ~ /^failed/) failed += $i
      if ($(i + 1) ~ /^skipped/) skipped += $i
    }
  }
  END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }'
rm -f "$log"
exit "$status"
