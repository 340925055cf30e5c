#!/usr/bin/env python3
"""The dashboards tell the exact answers: a real torwatch tails a netfilter log and an access log, a real Prometheus
scrapes it every second, and every panel query of the shipped dashboards is run as Grafana runs it (panels.py).
The scenario: exits with no series before their first hit, a one-hit exit, exits whose series are evicted when
idle and that come back, web requests answered 2xx/4xx/5xx, an outbound connection to a relay, more exits than
the per-exit cap (the rest counted as exit="other"), ports beyond the configured and top ones, an input that never
gets a line, and a restart of torwatch between two bursts.

Each of the recipe's five questions is checked on the panel that answers it (distinct exits in 24 h, hits per
exit, per country, per probed port, HTTP responses by class; plus hits and outbound connections in range):
  * strictly: the increase Prometheus' samples hold (every rise, and the new value after a counter reset, summed
    without extrapolation) equals the exact answer of the scenario, for every label the panel groups by;
  * the panel's value lies between the exact answer and Prometheus' extrapolation of it. increase() stretches a
    series' rise over the part of the range its samples do not cover: not at the start here (every series is first
    scraped at 0, so Prometheus extrapolates to its zero point, which is its first sample), and at the end by at
    most 1.1 average scrape intervals (the time since its last sample, or half an interval once a series has gone).
    So the tolerance per series is a factor 1 + 1.1 * (average interval) / (time its samples span), computed from
    the series' own samples: about 1 % for a series scraped every second for two minutes.

Usage: exact_panels.py TORWATCH_BIN. Needs prometheus on PATH. Loopback only; starts and stops its own processes.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from panels import Grafana  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BOARDS = [os.path.join(ROOT, "dashboards", "tor-traffic.json"), os.path.join(ROOT, "dashboards", "torwatch-health.json")]
CAP, TOP_PORTS, PORTS, IDLE = 6, 2, (22, 443), 8
# Exits: name -> (address, country or None, nickname)
EXITS = {n: (f"185.220.101.{11 + i}", c, f"relay{n}") for i, (n, c) in enumerate(
    [("A", "de"), ("B", "nl"), ("C", "us"), ("D", "de"), ("E", "fr"), ("F", "se"), ("G", "ch"), ("H", "ro"),
     ("J", "fi"), ("K", None), ("L", "ca"), ("M", "lu")])}
RELAY = "45.66.33.45"
FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL", msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def wait(what, check, seconds=60, every=0.2):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(every)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


class Model:
    """The exact answers, kept as torwatch must count them: per exit the hits while it had its own series (the
    rest under "other"), per country, per port label (configured, the first TOP_PORTS others per process life,
    then "other"), per HTTP class; distinct exits; all hits and the outbound ones."""

    def __init__(self):
        self.exit, self.country, self.port, self.http = {}, {}, {}, {}
        self.distinct, self.total, self.outbound = set(), 0, 0
        self.logins = {}
        self.new_life()

    def new_life(self):
        self.live, self.port_slots = set(), set(PORTS)

    def evicted(self):
        self.live = set()

    def add(self, table, key, n=1):
        table[key] = table.get(key, 0) + n

    def inbound(self, name, port=None, status=None, login=None):
        addr, country, _ = EXITS[name]
        if login is not None:
            self.add(self.logins, login)
        self.total += 1
        self.distinct.add(addr)
        self.add(self.country, country or "unknown")
        if addr in self.live or len(self.live) < CAP:
            self.live.add(addr)
            self.add(self.exit, addr)
        else:
            self.add(self.exit, "other")
        if port is not None:
            self.add(self.port, self.port_label(port))
        if status is not None:
            self.add(self.http, f"{status // 100}xx")

    def port_label(self, port):
        if port not in self.port_slots and len(self.port_slots) < len(PORTS) + TOP_PORTS:
            self.port_slots.add(port)
        return str(port) if port in self.port_slots else "other"

    def out(self, port):
        self.total += 1
        self.outbound += 1
        self.port_label(port)


def kernel_line(src, dst, port):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return (f"{stamp} fw1 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00:00:00:00:00 SRC={src} DST={dst} LEN=60 "
            f"TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=40000 DPT={port} WINDOW=64240 RES=0x00 SYN URGP=0\n")


def web_line(src, status):
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    return f'{src} - - [{stamp}] "GET /login HTTP/1.1" {status} 153 "-" "curl/8"\n'


def sshd_line(src, ok):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    what = "Accepted password for bob" if ok else "Failed password for root"
    return f"{stamp} host sshd[4242]: {what} from {src} port 40000 ssh2\n"


class Torwatch:
    def __init__(self, binary, tmp):
        self.binary, self.tmp, self.proc = binary, tmp, None
        self.port, self.udp = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        relays = [{"nickname": nick, "fingerprint": f"{i + 1:040X}", "flags": ["Exit", "Running", "Valid"],
                   "or_addresses": [f"{addr}:9001"], "exit_addresses": [addr], **({"country": c} if c else {})}
                  for i, (addr, c, nick) in enumerate(EXITS.values())]
        relays.append({"nickname": "middle", "fingerprint": "F" * 40, "flags": ["Running", "Valid"],
                       "or_addresses": [f"{RELAY}:9001"], "country": "at"})
        with open(os.path.join(tmp, "onionoo.json"), "w") as f:
            json.dump({"version": "8.0", "relays": relays}, f)
        for name in ("kern.log", "access.log", "auth.log"):
            open(os.path.join(tmp, name), "w").close()
        self.config = os.path.join(tmp, "torwatch.yaml")
        with open(self.config, "w") as f:
            f.write(f"""listen: 127.0.0.1:{self.port}
state_dir: {tmp}/state
sources:
  - {{ name: onionoo, type: onionoo, url: {tmp}/onionoo.json, interval: 1h, min_entries: 1 }}
inputs:
  - {{ name: kernel, type: file, paths: ["{tmp}/kern.log"], start_at: beginning, poll: 100ms }}
  - {{ name: web, type: file, paths: ["{tmp}/access.log"], start_at: beginning, poll: 100ms }}
  - {{ name: auth, type: file, paths: ["{tmp}/auth.log"], start_at: beginning, poll: 100ms }}
  - {{ name: idle, type: syslog_udp, listen: "127.0.0.1:{self.udp}" }}
matcher:
  ports: [{", ".join(map(str, PORTS))}]
  top_ports: {TOP_PORTS}
  exit_series_cap: {CAP}
  exit_series_idle: {IDLE}s
""")

    def start(self):
        log = open(os.path.join(self.tmp, "torwatch.log"), "a")
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config], stdout=log, stderr=log)
        wait("torwatch ready", lambda: urllib.request.urlopen(f"{self.url}/readyz", timeout=2).status == 200)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def write(self, name, lines):
        with open(os.path.join(self.tmp, name), "a") as f:
            f.writelines(lines)

    def wait_lines(self, prom, kernel, web, auth=0):
        """Waits until Prometheus has scraped the lines parsed (this process's counts). Only Prometheus reads
        /metrics here, as in a real setup: another client's scrapes would hold new series back (see gate.rs)."""
        def done():
            r = prom.query('sum by (input) (torwatch_input_parsed_total{job="torwatch"})')
            got = {s["metric"]["input"]: float(s["value"][1]) for s in r}
            return got.get("kernel", 0) >= kernel and got.get("web", 0) >= web and got.get("auth", 0) >= auth
        wait(f"{kernel} kernel, {web} web and {auth} auth lines parsed", done)

class Prometheus:
    def __init__(self, tmp, target):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = os.path.join(tmp, "prom.yml")
        with open(config, "w") as f:
            f.write("global: { scrape_interval: 1s, evaluation_interval: 1s }\n"
                    f"rule_files: [\"{ROOT}/rules/torwatch.rules.yml\"]\n"
                    f"scrape_configs:\n  - job_name: torwatch\n    static_configs: [{{ targets: [\"{target}\"] }}]\n")
        log = open(os.path.join(tmp, "prom.log"), "w")
        self.proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp}/prom",
                                      f"--web.listen-address=127.0.0.1:{self.port}"], stdout=log, stderr=log)

    def query(self, expr, at=None):
        params = {"query": expr, **({"time": f"{at:.3f}"} if at else {})}
        body = json.loads(get(f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"))
        assert body["status"] == "success", body
        return body["data"]["result"]

    def scrapes(self):
        r = self.query("count_over_time(up[1h])")
        return int(float(r[0]["value"][1])) if r else 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def raw_increase(prom, selector, at, by):
    """Per value of label `by`: (the increase the raw samples hold, the bound of Prometheus' extrapolation)."""
    out = {}
    for s in prom.query(f"{selector}[1d]", at):
        points = [(float(t), float(v)) for t, v in s["values"]]
        inc = sum(b - a if b >= a else b for (_, a), (_, b) in zip(points, points[1:]))
        span = points[-1][0] - points[0][0]
        factor = 1 + 1.1 * (span / (len(points) - 1)) / span if span > 0 else 1
        key = s["metric"].get(by, "")
        raw, bound = out.get(key, (0.0, 0.0))
        out[key] = (raw + inc, bound + inc * factor)
    return out


def check(name, panel, exact, raw):
    """`panel` and `exact`: label -> value; `raw`: label -> (raw increase, extrapolation bound)."""
    keys = sorted(set(panel) | set(exact) | {k for k, (r, _) in raw.items() if r})
    bad = []
    for k in keys:
        want, got = exact.get(k, 0), panel.get(k, 0.0)
        held, bound = raw.get(k, (0.0, 0.0))
        ok = abs(held - want) < 1e-9 and want - 1e-9 <= got <= bound + 1e-9
        line = f"  {k or '-':>16}: exact {want:>4}  samples {held:>6.1f}  panel {got:>8.3f}  bound {bound:>8.3f}"
        print(line + ("" if ok else "   <-- wrong"))
        if not ok:
            bad.append(k)
    (fail if bad else print)(f"{name}: {'wrong for ' + ', '.join(bad) if bad else 'every value within bounds'}")


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="torwatch-exact-")
    tw = Torwatch(binary, tmp)
    model = Model()
    tw.start()
    prom = Prometheus(tmp, f"127.0.0.1:{tw.port}")
    try:
        run(tw, prom, model)
    finally:
        tw.stop()
        prom.stop()
    if FAILURES:
        print(f"exact_panels: {len(FAILURES)} failed: {'; '.join(FAILURES)}")
        print(open(os.path.join(tmp, "torwatch.log")).read()[-3000:])
        sys.exit(1)
    print("exact_panels: every panel query ran as Grafana runs it; the five questions read exactly")


def run(tw, prom, model):
    wait("Prometheus scraping torwatch", lambda: prom.scrapes() >= 3, 90, 0.5)
    A, B, C, D, E, F, G, H, J, K, L, M = (EXITS[n][0] for n in "ABCDEFGHJKLM")

    print("== burst 1: new exits (one of them with one hit), web requests, an outbound connection")
    kernel = []
    for name, ports in (("A", [22, 443, 8080, 8080, 9999]), ("B", [22, 3389, 3389]), ("C", [443] * 4), ("D", [22])):
        for p in ports:
            kernel.append(kernel_line(EXITS[name][0], "10.0.0.5", p))
            model.inbound(name, port=p)
    kernel.append(kernel_line("10.0.0.9", RELAY, 9001))
    model.out(9001)
    web = []
    for name, status in (("A", 200), ("A", 404), ("E", 500), ("E", 503), ("E", 404)):
        web.append(web_line(EXITS[name][0], status))
        model.inbound(name, status=status)
    # Logins over ssh from two exits already seen: two failed, one accepted.
    auth = []
    for name, ok in (("A", False), ("A", False), ("B", True)):
        auth.append(sshd_line(EXITS[name][0], ok))
        model.inbound(name, login="allow" if ok else "fail")
    tw.write("kern.log", kernel)
    tw.write("access.log", web)
    tw.write("auth.log", auth)
    tw.wait_lines(prom, len(kernel), len(web), len(auth))
    n_kernel, n_web = len(kernel), len(web)

    print(f"== the exits go idle: their series are evicted after {IDLE}s (checked every 30 s)")
    wait("every per-exit series evicted",
         lambda: not prom.query('torwatch_tor_hits_by_exit_total{job="torwatch"}'), 90, 1)
    model.evicted()

    print("== burst 2: an evicted exit comes back, a new one, a web request")
    kernel = [kernel_line(B, "10.0.0.5", 22), kernel_line(B, "10.0.0.5", 8080), kernel_line(F, "10.0.0.5", 443),
              kernel_line(F, "10.0.0.5", 22)]
    for name, p in (("B", 22), ("B", 8080), ("F", 443), ("F", 22)):
        model.inbound(name, port=p)
    tw.write("kern.log", kernel)
    tw.write("access.log", [web_line(E, 200)])
    model.inbound("E", status=200)
    n_kernel, n_web = n_kernel + len(kernel), n_web + 1
    tw.wait_lines(prom, n_kernel, n_web)
    time.sleep(3)

    print("== restart")
    tw.stop()
    tw.start()
    model.new_life()
    n_kernel = n_web = 0  # the parsed counters start again

    print(f"== burst 3: eight exits against a cap of {CAP}, new ports, then web requests")
    order = [("A", 22), ("C", 443), ("G", 22), ("H", 8443), ("J", 5900), ("K", 443), ("L", 22), ("M", 6000),
             ("A", 443), ("L", 22), ("M", 22)]
    kernel = []
    for name, p in order:
        kernel.append(kernel_line(EXITS[name][0], "10.0.0.5", p))
        model.inbound(name, port=p)
    tw.write("kern.log", kernel)
    n_kernel += len(kernel)
    tw.wait_lines(prom, n_kernel, n_web)
    tw.write("access.log", [web_line(K, 500), web_line(A, 404)])
    model.inbound("K", status=500)
    model.inbound("A", status=404)
    n_web += 2
    tw.wait_lines(prom, n_kernel, n_web)

    # Every hit shown by a scrape, and the range queries' last step (aligned down to their step) after it.
    settled = time.time() + 3
    step = 60
    while time.time() < (settled // step + 1) * step + 1:
        time.sleep(0.5)
    now = time.time()
    results = Grafana(prom.url).run(BOARDS, now)

    print("== every panel query, as Grafana runs it")
    empty_ok = ("publish",)
    for r in results:
        if r.error:
            fail(f"[{r.panel} {r.ref}] {r.expr}: {r.error}")
        elif not r.series and not any(w in r.expr for w in empty_ok):
            fail(f"[{r.panel} {r.ref}] no data: {r.expr}")
        else:
            print(f"ok   ({len(r.series)} series, {'instant' if r.instant else 'range'}) [{r.panel} {r.ref}]")
    panel = {r.panel: r for r in results if r.ref == "A"}

    print("== the five questions")
    got = panel["Distinct exits (24 h)"].value()
    (print if got == len(model.distinct) else fail)(
        f"distinct exits in 24 h: panel {got:.0f}, exact {len(model.distinct)}")
    by_exit = 'torwatch_tor_hits_by_exit_total{job="torwatch"}'
    top = panel["Top exit nodes"]
    check("hits per exit (Top exit nodes)", top.values("exit"), model.exit,
          raw_increase(prom, by_exit, top.at, "exit"))
    rows = top.values("exit")
    (print if abs(sum(rows.values()) - model.total + model.outbound) < 0.05 * model.total else fail)(
        f"the rows, other included, add up to the inbound hits: {sum(rows.values()):.2f} ~ "
        f"{model.total - model.outbound}")
    by_country = 'torwatch_tor_hits_by_country_total{job="torwatch"}'
    for title in ("Top countries", "Tor hits by exit country"):
        r = panel[title]
        check(f"hits per country ({title})", r.values("country"), model.country,
              raw_increase(prom, by_country, r.at, "country"))
    r = panel["Probed destination ports"]
    check("hits per probed port (Probed destination ports)", r.values("port"), model.port,
          raw_increase(prom, 'torwatch_tor_hits_by_port_total{job="torwatch",direction="inbound"}', r.at, "port"))
    r = panel["HTTP responses to Tor clients by class"]
    check("HTTP responses by class", r.values("code_class"), model.http,
          raw_increase(prom, 'torwatch_tor_http_responses_total{job="torwatch"}', r.at, "code_class"))
    codes = {s[0].get("code") for s in panel["HTTP errors served to Tor clients"].series}
    (print if {"404", "500", "503"} <= codes else fail)(f"HTTP errors by code in range: {sorted(codes)}")
    r = panel["Tor hits in range"]
    check("Tor hits in range", {"": r.value()}, {"": model.total},
          raw_increase(prom, 'torwatch_tor_hits_total{job="torwatch"}', r.at, "__nothing__"))
    r = panel["Outbound to Tor relays in range"]
    check("outbound to Tor relays in range", {"": r.value()}, {"": model.outbound},
          raw_increase(prom, 'torwatch_tor_hits_total{job="torwatch",direction="outbound"}', r.at, "__nothing__"))

    logins = 'torwatch_tor_logins_total{job="torwatch"}'
    r = panel["Login attempts by result"]
    check("login attempts by result", r.values("action"), model.logins, raw_increase(prom, logins, r.at, "action"))
    for title, want in (("Login attempts from Tor in range", sum(model.logins.values())),
                        ("Successful logins from Tor in range", model.logins.get("allow", 0)),
                        ("Failed logins from Tor in range", model.logins.get("fail", 0))):
        r = panel[title]
        sel = {"Successful": ',action="allow"', "Failed": ',action="fail"'}.get(title.split()[0], "")
        check(title, {"": r.value()}, {"": want},
              raw_increase(prom, logins.replace("}", sel + "}"), r.at, "__nothing__"))

    print("== health: an input without a line says never")
    r = panel["Time since last line"]
    since = r.values("input")
    never = [m for m in r.mappings if m.get("options", {}).get("-1", {}).get("text") == "never"]
    (print if since.get("idle") == -1 and never and 0 <= since.get("kernel", -2) < 3600 else fail)(
        f"time since last line: {since} (mapping -1 -> never: {bool(never)})")


if __name__ == "__main__":
    main()
