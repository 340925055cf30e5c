#!/usr/bin/env python3
"""Writes a synthetic netfilter drop log, a matching exit list and the exact answers `torwatch scan --json` must give.

Output directory contents:
  netfilter.log        LINES kernel LOG lines. `--mix mixed` (the default): iptables/ip6tables with and without the
                       kernel uptime stamp, UFW, plain DROP and firewalld-style REJECT prefixes, RFC 3339 and BSD
                       syslog stamps, IPv4 and IPv6 (the kernel's uncompressed form), TCP/UDP with ports, ICMP/ICMPv6
                       without; a few non-traffic lines. `--mix plain`: one shape only, UFW BLOCK lines of IPv4 TCP
                       with a BSD stamp and no uptime stamp (the easy case, for comparison)
  access.log.gz        a gzip nginx combined access log (HTTP status codes), some clients are exits
  exits.txt            the exit list, one address per line (plain/bulk form)
  exits.kernel.txt     the same, IPv6 in the kernel's uncompressed spelling (for text tools such as awk)
  exits.onionoo.json   the same exits as an Onionoo details document with nicknames and countries
  expected.json        the report for exits.onionoo.json (countries known)
  expected.plain.json  the report for exits.txt (every country unknown)

Usage: gen_netfilter.py OUTDIR [--lines N] [--exits N] [--tor-share F] [--seed S] [--mix mixed|plain] [--no-expected]
"""

import argparse
import gzip
import ipaddress
import json
import os
import random
from collections import Counter

COUNTRIES = ["de", "nl", "us", "fr", "se", "ch", "ro", "fi", "ca", "lu", None]
COMMON_PORTS = [22, 23, 80, 443, 445, 3389, 8080, 25, 53, 5900, 1433, 3306]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# (prefix text, action)
PREFIXES = [
    ("", "drop"),
    ("[UFW BLOCK] ", "drop"),
    ("[UFW ALLOW] ", "allow"),
    ("[UFW AUDIT] ", "allow"),
    ("FINAL_REJECT: ", "reject"),
    ("INPUT-DROP: ", "drop"),
]
STATUSES = [200, 200, 301, 304, 400, 401, 403, 404, 404, 404, 429, 500, 502, 503]


# First octets never drawn: private, shared, loopback, link-local and documentation ranges.
RESERVED_V4 = {0, 10, 100, 127, 169, 172, 192, 198, 203}
# Addresses (kernel spelling) that must never be drawn as a non-Tor address.
TAKEN = set()


def rand_v4(rng):
    """A public IPv4 address as text."""
    while True:
        first = rng.randint(1, 223)
        if first in RESERVED_V4:
            continue
        rest = rng.getrandbits(24)
        a = "%d.%d.%d.%d" % (first, rest >> 16, rest >> 8 & 255, rest & 255)
        if a not in TAKEN:
            return a


def rand_v6(rng):
    """A 2000::/3 address in the kernel's uncompressed spelling, with some zero groups."""
    while True:
        groups = [rng.choice((0, rng.getrandbits(16))) for _ in range(8)]
        groups[0] = 0x2000 | rng.getrandbits(12)
        groups[1] = rng.getrandbits(16) or 1
        a = ":".join("%04x" % g for g in groups)
        if a not in TAKEN:
            return a


def compressed(kernel):
    return ipaddress.ip_address(kernel).compressed


def make_exits(rng, n):
    exits, seen = [], set()
    while len(exits) < n:
        a = rand_v6(rng) if len(exits) % 20 == 19 else rand_v4(rng)
        if a in seen:
            continue
        seen.add(a)
        TAKEN.add(a)
        exits.append({
            "addr": a,
            "text": compressed(a),
            "v6": ":" in a,
            "nickname": "relay%04d" % len(exits),
            "country": rng.choice(COUNTRIES),
            "fingerprint": "%040X" % rng.getrandbits(160),
        })
    return exits


def write_lists(out, exits):
    with open(os.path.join(out, "exits.txt"), "w") as f:
        f.write("# generated exit list\n")
        for e in exits:
            f.write("%s\n" % e["text"])
    with open(os.path.join(out, "exits.kernel.txt"), "w") as f:
        for e in exits:
            f.write("%s\n" % e["addr"])
    relays = []
    for e in exits:
        r = {"nickname": e["nickname"], "fingerprint": e["fingerprint"], "flags": ["Exit", "Running", "Valid"]}
        if e["country"]:
            r["country"] = e["country"]
        if e["v6"]:
            r["or_addresses"] = ["[%s]:9001" % e["text"]]
        else:
            r["or_addresses"] = ["%s:9001" % e["text"]]
            r["exit_addresses"] = [e["text"]]
        relays.append(r)
    with open(os.path.join(out, "exits.onionoo.json"), "w") as f:
        json.dump({"version": "8.0", "relays": relays}, f)


class Tally:
    def __init__(self):
        self.lines = self.parsed = self.tor_hits = 0
        self.by_exit, self.by_port, self.by_proto = Counter(), Counter(), Counter()
        self.by_action, self.http = Counter(), Counter()
        self.countries = Counter()

    def hit(self, exit_, port, proto, action, status=None):
        self.tor_hits += 1
        self.by_exit[exit_["text"]] += 1
        self.countries[exit_["country"] or "unknown"] += 1
        if port is not None:
            self.by_port[str(port)] += 1
        if proto:
            self.by_proto[proto] += 1
        self.by_action[action] += 1
        if status is not None:
            self.http[str(status)] += 1

    def report(self, countries):
        return {
            "lines": self.lines, "parsed": self.parsed, "tor_hits": self.tor_hits,
            "distinct_exits": len(self.by_exit), "by_exit": dict(self.by_exit),
            "by_country": dict(countries), "by_port": dict(self.by_port), "by_proto": dict(self.by_proto),
            "by_action": dict(self.by_action), "http_status": dict(self.http),
        }


def stamp(rng, i):
    sec = i % 86400
    h, m, s = sec // 3600, sec // 60 % 60, sec % 60
    if i % 2:
        return "2026-11-28T%02d:%02d:%02d.%06d+00:00 fw%d" % (h, m, s, rng.getrandbits(19), i % 3)
    return "Nov 28 %02d:%02d:%02d fw%d" % (h, m, s, i % 3)


def packet(rng, v6, src, dst):
    """Protocol, destination port and the kernel's field text after DST."""
    kind = rng.random()
    sport = rng.randint(1024, 65535)
    if kind < 0.08:
        proto = "ICMPv6" if v6 else "ICMP"
        return proto.lower(), None, "PROTO=%s TYPE=%d CODE=0 ID=%d SEQ=%d" % (
            proto, 128 if v6 else 8, rng.getrandbits(16), rng.getrandbits(8))
    dport = rng.choice(COMMON_PORTS) if rng.random() < 0.7 else rng.randint(1, 65535)
    if kind < 0.25:
        return "udp", dport, "PROTO=UDP SPT=%d DPT=%d LEN=%d" % (sport, dport, rng.randint(8, 512))
    return "tcp", dport, "PROTO=TCP SPT=%d DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0" % (sport, dport)


def plain_line(rng, i, exits, tor_share, t):
    """The plain mix: one UFW BLOCK shape, IPv4 TCP, BSD stamp, no uptime stamp, every line traffic."""
    exit_ = rng.choice([e for e in exits[:200] if not e["v6"]]) if rng.random() < tor_share else None
    src = exit_["addr"] if exit_ else rand_v4(rng)
    dport = rng.choice(COMMON_PORTS) if rng.random() < 0.7 else rng.randint(1, 65535)
    sec = i % 86400
    t.lines += 1
    t.parsed += 1
    if exit_ is not None:
        t.hit(exit_, dport, "tcp", "drop")
    return ("Nov 28 %02d:%02d:%02d fw%d kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 "
            "SRC=%s DST=192.0.2.%d LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=%d DF PROTO=TCP SPT=%d DPT=%d WINDOW=64240 "
            "RES=0x00 SYN URGP=0") % (sec // 3600, sec // 60 % 60, sec % 60, i % 3, src, rng.randint(1, 254),
                                      i & 0xFFFF, rng.randint(1024, 65535), dport)


def netfilter_line(rng, i, exits, tor_share, t):
    if i % 997 == 0:
        t.lines += 1
        return "%s kernel: [%d.%06d] e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex" % (
            stamp(rng, i), i, i % 1000000)
    v6 = rng.random() < 0.15
    exit_ = None
    if rng.random() < tor_share:
        exit_ = rng.choice(exits)
        v6 = exit_["v6"]
        src = exit_["addr"]
    else:
        src = rand_v6(rng) if v6 else rand_v4(rng)
    dst = rand_v6(rng) if v6 else "192.0.2.%d" % rng.randint(1, 254)
    outbound = exit_ is None and rng.random() < 0.05
    if outbound:
        # Outbound towards an exit address: not inbound Tor traffic, and no relay list to match it.
        target = rng.choice(exits)
        v6 = target["v6"]
        src, dst = (rand_v6(rng) if v6 else "192.0.2.9"), target["addr"]
    prefix, action = rng.choice(PREFIXES)
    proto, dport, fields = packet(rng, v6, src, dst)
    uptime = "[%d.%06d] " % (i // 100, i % 1000000) if rng.random() < 0.5 else ""
    ifaces = "IN= OUT=eth0" if outbound else "IN=eth0 OUT="
    mac = "" if v6 else "MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 "
    ipfields = ("LEN=80 TC=0 HOPLIMIT=55 FLOWLBL=0" if v6 else "LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=%d DF" % (i & 0xFFFF))
    t.lines += 1
    t.parsed += 1
    if exit_ is not None:
        t.hit(exit_, dport, proto, action)
    return "%s kernel: %s%s%s %sSRC=%s DST=%s %s %s" % (
        stamp(rng, i), uptime, prefix, ifaces, mac, src, dst, ipfields, fields)


def access_line(rng, i, exits, t):
    status = rng.choice(STATUSES)
    exit_ = rng.choice(exits) if rng.random() < 0.4 else None
    client = exit_["text"] if exit_ else rand_v4(rng)
    t.lines += 1
    t.parsed += 1
    if exit_ is not None:
        t.hit(exit_, None, None, "allow", status)
    return '%s - - [28/Nov/2026:%02d:%02d:%02d +0000] "GET /p/%d HTTP/1.1" %d %d "-" "Mozilla/5.0"' % (
        client, i // 3600 % 24, i // 60 % 60, i % 60, i, status, rng.randint(0, 99999))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--exits", type=int, default=2000)
    ap.add_argument("--tor-share", type=float, default=0.1)
    ap.add_argument("--access-lines", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mix", choices=["mixed", "plain"], default="mixed", help="the shapes of the log's lines")
    ap.add_argument("--no-expected", action="store_true", help="skip access log and answers (benchmark input)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    exits = make_exits(rng, args.exits)
    write_lists(args.out, exits)
    t = Tally()
    line = plain_line if args.mix == "plain" else netfilter_line
    with open(os.path.join(args.out, "netfilter.log"), "w", buffering=1 << 22) as f:
        batch = []
        for i in range(args.lines):
            batch.append(line(rng, i, exits, args.tor_share, t))
            if len(batch) == 10000:
                f.write("\n".join(batch) + "\n")
                batch = []
        if batch:
            f.write("\n".join(batch) + "\n")
    if args.no_expected:
        return
    with gzip.open(os.path.join(args.out, "access.log.gz"), "wt") as f:
        for i in range(args.access_lines):
            f.write(access_line(rng, i, exits, t) + "\n")
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(t.report(t.countries), f, indent=1, sort_keys=True)
    with open(os.path.join(args.out, "expected.plain.json"), "w") as f:
        json.dump(t.report({"unknown": sum(t.countries.values())} if t.countries else {}), f, indent=1,
                  sort_keys=True)


if __name__ == "__main__":
    main()
