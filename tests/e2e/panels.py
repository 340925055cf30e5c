#!/usr/bin/env python3
"""Runs every panel query of the shipped Grafana dashboards against a real Prometheus the way Grafana does.

Grafana's settings emulated: each dashboard's own default time range ending now, a panel ~1000 px wide
(maxDataPoints 1000), a Prometheus data source with Grafana's default scrape interval setting (15s, also the
minimum interval), template variables set to All (their allValue `.*`). From those, as Grafana computes them:
  $__range         the time range, e.g. 86400s for now-24h
  $__interval      range / 1000 rounded as Grafana rounds (1m for 24 h, 20s for 6 h), at least 15s
  $__rate_interval max($__interval + 15s, 4 * 15s)
A target with `instant: true` is an instant query at now; any other is a range query from now-range to now with
step $__interval, both ends aligned down to a multiple of the step (Grafana's AlignTimeRange), and a stat or
bar gauge panel shows its last value (reduceOptions lastNotNull).

As a module: `Grafana(prom_url).run(dashboard_paths)` returns one `Result` per target. As a command:
  panels.py PROM_URL [--require-data] [--allow-empty REGEX]... DASHBOARD.json...
prints every query with its outcome and exits non-zero if any fails (or, with --require-data, returns no series
unless its panel title or query matches an --allow-empty pattern). Standard library only.
"""
import json
import math
import re
import sys
import time
import urllib.parse
import urllib.request

SCRAPE = 15  # Grafana's default data source scrape interval (and minimum interval), seconds
MAX_POINTS = 1000
VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(text):
    """'now-24h' -> 86400; '90m' -> 5400."""
    text = text.removeprefix("now-")
    return sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", text))


def round_interval(ms):
    """Grafana's kbn.roundInterval, seconds from milliseconds."""
    for limit, value in ((1500, 1), (3500, 2), (7500, 5), (12500, 10), (17500, 15), (25000, 20), (45000, 30),
                         (90000, 60), (210000, 120), (450000, 300), (750000, 600), (1050000, 900),
                         (1500000, 1200), (2700000, 1800), (5400000, 3600), (9000000, 7200), (16200000, 10800),
                         (32400000, 21600), (86400000, 43200), (604800000, 86400)):
        if ms < limit:
            return value
    return 604800


def duration(s):
    return f"{s // 60}m" if s % 60 == 0 and s >= 60 else f"{s}s"


class Variables:
    def __init__(self, range_s):
        self.range_s = range_s
        self.interval = max(round_interval(range_s * 1000 / MAX_POINTS), SCRAPE)
        self.rate_interval = max(self.interval + SCRAPE, 4 * SCRAPE)

    def substitute(self, expr):
        builtin = {"__range": f"{self.range_s}s", "__range_s": str(self.range_s),
                   "__range_ms": str(self.range_s * 1000), "__interval": duration(self.interval),
                   "__interval_ms": str(self.interval * 1000), "__rate_interval": duration(self.rate_interval)}

        def repl(m):
            name = m.group(1) or m.group(2) or m.group(3)
            return builtin.get(name, ".*")

        return " ".join(VAR.sub(repl, expr).split())


class Result:
    """One target's query and what Prometheus answered: `series` is a list of (labels, value) with the value
    Grafana shows (the instant value, or the last point of a range query)."""

    def __init__(self, board, panel, target, expr, instant, at):
        self.board, self.panel, self.ref = board, panel.get("title", ""), target.get("refId", "")
        self.kind = panel.get("type", "")
        self.mappings = panel.get("fieldConfig", {}).get("defaults", {}).get("mappings", [])
        self.expr, self.instant, self.at = expr, instant, at
        self.error, self.series = None, []

    def values(self, label):
        return {s[0].get(label, ""): s[1] for s in self.series}

    def value(self):
        assert len(self.series) == 1, f"{self.panel}: {len(self.series)} series"
        return self.series[0][1]


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


class Grafana:
    def __init__(self, prom):
        self.prom = prom.rstrip("/")

    def api(self, path, **params):
        url = f"{self.prom}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            return json.load(e)

    def run(self, paths, now=None):
        now = time.time() if now is None else now
        out = []
        for path in paths:
            board = json.load(open(path))
            variables = Variables(seconds(board["time"]["from"]))
            for panel in panels(board.get("panels", [])):
                for target in panel.get("targets", []):
                    expr = variables.substitute(target.get("expr", ""))
                    if expr:
                        out.append(self.query(path, panel, target, expr, variables, now))
        return out

    def query(self, board, panel, target, expr, variables, now):
        instant = bool(target.get("instant")) and not target.get("range")
        if instant:
            r = Result(board, panel, target, expr, True, now)
            body = self.api("query", query=expr, time=f"{now:.3f}")
        else:
            step = variables.interval
            end = math.floor(now / step) * step
            start = math.floor((now - variables.range_s) / step) * step
            r = Result(board, panel, target, expr, False, end)
            body = self.api("query_range", query=expr, start=start, end=end, step=step)
        if body.get("status") != "success":
            r.error = body.get("error", str(body))
            return r
        for s in body["data"]["result"]:
            if "value" in s:
                r.series.append((s["metric"], float(s["value"][1])))
            elif s.get("values"):
                r.series.append((s["metric"], float(s["values"][-1][1])))
        return r


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    prom, rest = argv[1], argv[2:]
    require, allow, boards = False, [], []
    while rest:
        a = rest.pop(0)
        if a == "--require-data":
            require = True
        elif a == "--allow-empty":
            allow.append(re.compile(rest.pop(0)))
        else:
            boards.append(a)
    results = Grafana(prom).run(boards)
    failed = empty = 0
    for r in results:
        where = f"[{r.panel} {r.ref}]"
        if r.error:
            failed += 1
            print(f"FAIL (error: {r.error}) {where} {r.expr}")
        elif not r.series:
            empty += 1
            allowed = any(a.search(r.expr) or a.search(r.panel) for a in allow)
            if require and not allowed:
                failed += 1
                print(f"FAIL (no data) {where} {r.expr}")
            else:
                print(f"ok   (empty{', allowed' if allowed else ''}) {where} {r.expr}")
        else:
            print(f"ok   ({len(r.series)} series, {'instant' if r.instant else 'range'}) {where} {r.expr}")
    print(f"panels: {len(results)} queries as Grafana runs them, {empty} empty, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
