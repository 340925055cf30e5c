#!/usr/bin/env bash
# Supply chain: cargo-deny over the dependency tree with deny.toml. Licences, bans and sources need only
# Cargo.lock and the registry index, so they always run. Advisories need the RustSec database, fetched from its
# git repository: when it cannot be fetched and no local copy exists, the check is reported as not run (never as
# passed). TORWATCH_REQUIRE_ADVISORIES=1 turns that into a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cargo-deny >/dev/null || cargo install --locked cargo-deny@0.20.2
cargo deny --version
cargo deny --locked check licenses bans sources
db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
cached() { [ -n "$(find "$db" -mindepth 2 -maxdepth 2 -name crates -type d 2>/dev/null)" ]; }
if timeout 60 cargo deny --locked fetch db >/dev/null 2>&1 || cached; then
  cargo deny --locked --offline check advisories
  echo "deny: licenses bans sources advisories: ok"
else
  echo "deny: advisories NOT CHECKED: the RustSec database could not be fetched and none is cached in $db" >&2
  [ "${TORWATCH_REQUIRE_ADVISORIES:-0}" = 1 ] && exit 1
  echo "deny: licenses bans sources: ok"
fi
