#!/usr/bin/env bash
# Checks config/torwatch.service with systemd-analyze: `verify` in a throwaway root (a stub
# /usr/local/bin/torwatch, the host's own unit directory for the targets), once alone and once with the
# config/torwatch-apply.conf drop-in uncommented; any warning fails. Then `security --offline` must rate the
# unit's exposure at most 2.0. Needs systemd-analyze (apt: systemd).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze not found (apt-get install systemd)" >&2; exit 1; }
echo "== $(systemd-analyze --version | head -1)"
units=""
for d in /usr/lib/systemd/system /lib/systemd/system; do [ -f "$d/sysinit.target" ] && units=$d && break; done
[ -n "$units" ] || { echo "FAIL: no systemd unit directory with sysinit.target" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
printf '#!/bin/sh\nexit 0\n' > "$root/usr/local/bin/torwatch"
chmod +x "$root/usr/local/bin/torwatch"
for k in /bin/kill /usr/bin/kill; do [ -x "$k" ] && cp "$k" "$root/bin/kill" && break; done
[ -x "$root/bin/kill" ] || { echo "FAIL: no /bin/kill" >&2; exit 1; }
cp -r "$units" "$root/usr/lib/systemd/system"
cp config/torwatch.service "$root/etc/systemd/system/torwatch.service"

verify() {
    local out
    out=$(systemd-analyze verify --man=no --root="$root" torwatch.service 2>&1) || { echo "$out" >&2; return 1; }
    if [ -n "$out" ]; then echo "$out" >&2; return 1; fi
}

echo "== systemd-analyze verify torwatch.service"
verify || { echo "FAIL: verify reported problems" >&2; exit 1; }

# the required settings are there, as written
# shellcheck disable=SC2016 # $MAINPID is systemd's
for line in 'ExecStart=/usr/local/bin/torwatch run --config /etc/torwatch/torwatch.yaml' \
    'ExecReload=/bin/kill -HUP $MAINPID' 'DynamicUser=yes' 'StateDirectory=torwatch' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' 'CapabilityBoundingSet=' \
    'ReadOnlyPaths=/var/log' 'Restart=on-failure' 'SystemCallFilter=@system-service'; do
    grep -qxF -- "$line" config/torwatch.service || { echo "FAIL: missing line: $line" >&2; exit 1; }
done
echo "ok: required settings present"

echo "== systemd-analyze security --offline (exposure must be <= 2.0)"
systemd-analyze security --offline=yes --root="$root" --threshold=20 torwatch.service | tail -1 ||
    { echo "FAIL: exposure above 2.0" >&2; exit 1; }

echo "== with the torwatch-apply.conf drop-in enabled"
mkdir -p "$root/etc/systemd/system/torwatch.service.d"
sed -E 's/^#(\[Service\]|[A-Za-z]+=)/\1/' config/torwatch-apply.conf > "$root/etc/systemd/system/torwatch.service.d/apply.conf"
grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN' "$root/etc/systemd/system/torwatch.service.d/apply.conf" ||
    { echo "FAIL: the drop-in does not add CAP_NET_ADMIN" >&2; exit 1; }
verify || { echo "FAIL: verify with the drop-in reported problems" >&2; exit 1; }
caps=$(systemd-analyze security --offline=yes --root="$root" torwatch.service | grep -c 'CAP_NET_ADMIN' || true)
[ "$caps" -ge 1 ] || { echo "FAIL: security analysis does not see CAP_NET_ADMIN with the drop-in" >&2; exit 1; }

echo "== verify catches a broken unit (the check can fail)"
rm -r "$root/etc/systemd/system/torwatch.service.d"
sed -i 's/^ProtectSystem=strict/ProtectSystem=bogus/' "$root/etc/systemd/system/torwatch.service"
if verify 2>/dev/null; then echo "FAIL: a bad value passed verify" >&2; exit 1; fi
echo "systemd: all checks passed"
