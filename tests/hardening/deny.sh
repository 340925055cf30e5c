#!/usr/bin/env bash
# Supply chain: `cargo deny check` (advisories, bans, licenses, sources) over the dependency tree with deny.toml,
# offline. The RustSec advisory database is the snapshot in ../shared/advisory-db (TORWATCH_ADVISORY_DB to use
# another copy): it is copied to a temporary directory, made a git repository whose one commit carries the
# snapshot's date (cargo-deny reads a database's age from it), and cargo-deny is pointed at it with the network
# off. Any advisory that deny.toml does not ignore with a reason fails the check; so does a snapshot older than
# MAX_AGE (cargo-deny's own staleness limit). The snapshot's date is printed with the result.
set -euo pipefail
cd "$(dirname "$0")/../.."
snapshot="${TORWATCH_ADVISORY_DB:-$(cd .. && pwd)/shared/advisory-db}"
max_age="${MAX_AGE:-P365D}"
command -v cargo-deny >/dev/null || cargo install --locked cargo-deny@0.20.2
cargo deny --version
test -f "$snapshot/SOURCE.md" && test -d "$snapshot/crates" || {
  echo "deny: no advisory database snapshot at $snapshot (SOURCE.md and crates/ expected)" >&2
  exit 1
}
date=$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$snapshot/SOURCE.md" | head -n1)
test -n "$date" || { echo "deny: $snapshot/SOURCE.md names no date" >&2; exit 1; }
age_days=$(( ($(date -u +%s) - $(date -u -d "$date" +%s)) / 86400 ))

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# cargo-deny keeps each database under db-path in a directory named after its URL (the last path segment and a
# hash of the URL): this is the one for the default URL, github.com/rustsec/advisory-db, in deny.toml.
db="$work/dbs/advisory-db-3157b0e258782691"
mkdir -p "$db"
cp -R "$snapshot"/. "$db"/
(
  cd "$db"
  git init -q
  git add -A
  GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z" \
    git -c user.name=snapshot -c user.email=snapshot@localhost -c commit.gpgsign=false commit -qm "RustSec snapshot $date"
)
# The same rules as deny.toml; only where the database lives and how old it may be differ.
grep -q '^db-path = ' deny.toml || { echo "deny: deny.toml has no db-path line" >&2; exit 1; }
sed -e "s|^db-path = .*|db-path = \"$work/dbs\"\nmaximum-db-staleness = \"$max_age\"|" deny.toml > "$work/deny.toml"

# Every package of the lock file (for every target) must be in cargo's cache for an offline run: fetch them from
# crates.io, the one network access this check makes.
cargo fetch --locked --quiet
echo "deny: advisories checked against the RustSec snapshot of $date ($age_days days old; $snapshot)"
cargo deny --frozen --config "$work/deny.toml" check --show-stats advisories bans licenses sources
echo "deny: advisories bans licenses sources: ok (RustSec as of $date)"
