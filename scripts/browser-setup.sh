#!/usr/bin/env bash
# Installs what the browser tests need (crates/server/tests/api/widget.rs), once:
# Debian's chromium (/usr/bin/chromium) and the pinned npm packages of web/tests
# (playwright-core, axe-core; web/tests/package-lock.json). `make test` runs it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[browser-setup] %s\n' "$*" >&2; }

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  bash "$ROOT/scripts/debian-package.sh" chromium /usr/bin/chromium
fi
command -v node >/dev/null || { log "Node.js is missing: install Debian's nodejs and npm packages"; exit 1; }
cd "$ROOT/web/tests"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing playwright-core and axe-core (web/tests/package-lock.json)"
  npm ci --no-audit --no-fund
fi
