#!/usr/bin/env bash
# Headless Chromium checks of the status page against the real torwatch binary (see status.mjs).
# Fails, never skips, when node or chromium is missing. Screenshots land in target/status-*.png.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
chromium=${CHROMIUM:-/usr/bin/chromium}

command -v node >/dev/null || { echo "status page browser test: node is missing (apt-get install nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null || { echo "status page browser test: npm is missing (apt-get install npm)" >&2; exit 1; }
[ -x "$chromium" ] || { echo "status page browser test: chromium is missing at $chromium (apt-get install chromium)" >&2; exit 1; }

(cd "$root" && cargo build --quiet --bin torwatch)
cd "$here"
if [ ! -f node_modules/playwright-core/package.json ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
fi
mkdir -p "$target"
TORWATCH_BIN=${TORWATCH_BIN:-$target/debug/torwatch} OUT_DIR=$target CHROMIUM=$chromium node status.mjs
