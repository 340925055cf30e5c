#!/usr/bin/env python3
"""Writes the Grafana dashboards in this directory: tor-traffic.json, torwatch-health.json and tor-fleet.json.

Edit this file, run `python3 dashboards/generate.py [OUT_DIR]`, copy them into helm/torwatch/files/dashboards/,
commit. tests/ops/dashboards.sh fails when the JSON files differ from what this script writes, tests/ops/helm.sh
when the chart's copies differ. Metric names and labels: METRICS.md. Standard library only.
"""
import json
import pathlib
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job",instance=~"$instance"'
SELI = SEL + ',input=~"$input"'


class Layout:
    """Hands out panel ids and grid positions, left to right, then down."""

    def __init__(self):
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.row_h = 0

    def place(self, w, h):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        pid = self.next_id
        self.next_id += 1
        return pid, pos

    def row(self, title):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pid, pos = self.place(24, 1)
        self.x, self.y, self.row_h = 0, self.y + 1, 0
        return {"id": pid, "type": "row", "title": title, "collapsed": False, "datasource": DS, "gridPos": pos,
                "panels": []}


def target(expr, legend="__auto", ref="A", instant=False, fmt="time_series"):
    t = {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend, "range": not instant,
         "instant": instant, "format": fmt, "editorMode": "code"}
    return t


def panel(lay, kind, title, targets, w=12, h=8, unit=None, desc=None, options=None, defaults=None, **extra):
    pid, pos = lay.place(w, h)
    fd = {"custom": {}, "mappings": [], "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]}}
    if kind == "timeseries":
        fd["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
                        "spanNulls": False, "stacking": {"mode": "none", "group": "A"}}
    if unit:
        fd["unit"] = unit
    fd.update(defaults or {})
    p = {"id": pid, "type": kind, "title": title, "datasource": DS, "gridPos": pos, "targets": targets,
         "fieldConfig": {"defaults": fd, "overrides": []}, "options": options or {}}
    if desc:
        p["description"] = desc
    p.update(extra)
    return p


def stat(lay, title, targets, w=6, unit=None, desc=None, defaults=None, text_mode="auto"):
    opts = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "value",
            "graphMode": "area", "justifyMode": "auto", "orientation": "auto", "textMode": text_mode}
    return panel(lay, "stat", title, targets, w=w, h=4, unit=unit, desc=desc, options=opts, defaults=defaults)


def series(lay, title, targets, w=12, h=8, unit=None, desc=None, defaults=None):
    opts = {"legend": {"displayMode": "table", "placement": "right", "showLegend": True, "calcs": ["max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"}}
    return panel(lay, "timeseries", title, targets, w=w, h=h, unit=unit, desc=desc, options=opts, defaults=defaults)


def bars(lay, title, targets, w=12, h=10, unit=None, desc=None):
    opts = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "orientation": "horizontal",
            "displayMode": "gradient", "showUnfilled": True, "valueMode": "color", "namePlacement": "auto",
            "sizing": "auto", "minVizHeight": 16, "maxVizHeight": 300}
    return panel(lay, "bargauge", title, targets, w=w, h=h, unit=unit, desc=desc, options=opts)


def table(lay, title, targets, w=12, h=10, desc=None, sort="Value", rename=None):
    opts = {"showHeader": True, "cellHeight": "sm", "sortBy": [{"displayName": rename or sort, "desc": True}],
            "footer": {"show": False, "reducer": ["sum"], "fields": ""}}
    org = {"excludeByName": {"Time": True, "__name__": True, "job": True, "instance": True},
           "renameByName": {"Value": rename or "Value"}, "indexByName": {}}
    return panel(lay, "table", title, targets, w=w, h=h, desc=desc, options=opts,
                 transformations=[{"id": "organize", "options": org}])


def variable_query(name, label, query, multi=True):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": query, "definition": query,
            "refresh": 2, "includeAll": True, "multi": multi, "allValue": ".*", "sort": 1,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "options": [], "hide": 0,
            "regex": "", "skipUrlSync": False}


def templating():
    vs = [{"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
           "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
           "regex": "", "skipUrlSync": False},
          variable_query("job", "Job", "label_values(torwatch_build_info, job)"),
          variable_query("instance", "Instance", 'label_values(torwatch_build_info{job=~"$job"}, instance)'),
          variable_query("input", "Input", f"label_values(torwatch_input_lines_total{{{SEL}}}, input)")]
    return {"list": vs}


def dashboard(uid, title, desc, panels, tags, time_from):
    return {
        "id": None, "uid": uid, "title": title, "description": desc, "tags": tags, "editable": True, "graphTooltip": 1,
        "schemaVersion": 39, "version": 1, "refresh": "1m", "timezone": "browser", "fiscalYearStartMonth": 0,
        "liveNow": False, "weekStart": "",
        "time": {"from": time_from, "to": "now"}, "timepicker": {},
        "annotations": {"list": []}, "links": [{"title": "torwatch", "type": "dashboards", "tags": ["torwatch"],
                                                "asDropdown": False, "includeVars": True, "keepTime": True}],
        "templating": templating(), "panels": panels,
    }


def tor_traffic():
    lay = Layout()
    hits = f"torwatch_tor_hits_total{{{SELI}}}"
    out = f'torwatch_tor_hits_total{{{SELI},direction="outbound"}}'
    p = [
        stat(lay, "Distinct exits (24 h)", [target(f"torwatch_tor_distinct_exits_24h{{{SEL}}}", "{{instance}}")],
             desc="Distinct Tor exit addresses seen in matched events over the last 24 hours."),
        stat(lay, "Tor hits in range", [target(f"sum(increase({hits}[$__range]))", "hits")],
             unit="short", desc="Events that matched a Tor list in the selected time range."),
        stat(lay, "Inbound Tor hits/s",
             [target(f'sum(rate(torwatch_tor_hits_total{{{SELI},direction="inbound"}}[$__rate_interval]))', "hits/s")],
             unit="reqps"),
        stat(lay, "Outbound to Tor relays in range", [target(f"sum(increase({out}[$__range]))", "connections")],
             unit="short", desc="Connections from inside to Tor relays (all-relays list) in the selected range."),
        series(lay, "Tor hits by direction and action",
               [target(f"sum by (direction, action) (rate({hits}[$__rate_interval]))", "{{direction}} {{action}}")],
               unit="reqps"),
        series(lay, "Tor hits by input and protocol",
               [target(f"sum by (input, proto) (rate({hits}[$__rate_interval]))", "{{input}} {{proto}}")],
               unit="reqps"),
        table(lay, "Top exit nodes",
              [target("topk(20, sum by (exit, nickname, country) "
                      f"(increase(torwatch_tor_hits_by_exit_total{{{SEL}}}[$__range])))",
                      "{{exit}}", instant=True, fmt="table")],
              rename="Hits", desc="The 20 exit addresses with the most inbound matched events in the range."),
        series(lay, "Outbound connections to Tor relays",
               [target(f"sum by (input, action) (rate({out}[$__rate_interval]))", "{{input}} {{action}}")],
               h=10, unit="reqps", desc="Hosts inside talking to Tor relays: Tor clients or malware using Tor."),
    ]
    country_expr = f"sum by (country) (increase(torwatch_tor_hits_by_country_total{{{SEL}}}[$__range]))"
    pid, pos = lay.place(12, 12)
    p.append({
        "id": pid, "type": "geomap", "title": "Tor hits by exit country", "datasource": DS, "gridPos": pos,
        "description": "Inbound matched events by the exit relay's country (ISO 3166 code).",
        "targets": [target(country_expr, "{{country}}", instant=True, fmt="table")],
        "fieldConfig": {"defaults": {"color": {"mode": "continuous-GrYlRd"}, "custom": {"hideFrom": {
            "legend": False, "tooltip": False, "viz": False}}, "mappings": [],
            "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]}}, "overrides": []},
        "options": {
            "view": {"id": "zero", "lat": 20, "lon": 0, "zoom": 1, "allLayers": True},
            "controls": {"showZoom": True, "mouseWheelZoom": False, "showAttribution": True},
            "basemap": {"type": "default", "name": "Basemap", "config": {}},
            "tooltip": {"mode": "details"},
            "layers": [{"type": "markers", "name": "Tor hits", "tooltip": True,
                        "location": {"mode": "lookup", "lookup": "country",
                                     "gazetteer": "public/gazetteer/countries.json"},
                        "config": {"showLegend": True,
                                   "size": {"field": "Value", "fixed": 5, "min": 4, "max": 30},
                                   "color": {"field": "Value", "fixed": "dark-green"},
                                   "style": {"symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
                                             "opacity": 0.6}}}],
        },
    })
    p += [
        bars(lay, "Top countries", [target(f"topk(20, {country_expr})", "{{country}}", instant=True)], h=12,
             unit="short", desc="The same data as the map, for readers without map tiles."),
        bars(lay, "Probed destination ports",
             [target("topk(20, sum by (port) (increase(torwatch_tor_hits_by_port_total"
                     f'{{{SEL},direction="inbound"}}[$__range])))', "{{port}}", instant=True)],
             unit="short", desc="Inbound matched events by destination port (configured ports, top others, other)."),
        series(lay, "Probed ports over time",
               [target("sum by (port) (rate(torwatch_tor_hits_by_port_total"
                       f'{{{SEL},direction="inbound"}}[$__rate_interval]))', "{{port}}")], h=10, unit="reqps"),
        series(lay, "HTTP errors served to Tor clients",
               [target("sum by (code) (rate(torwatch_tor_http_responses_total"
                       f'{{{SEL},code_class=~"4xx|5xx"}}[$__rate_interval]))', "{{code}}")], unit="reqps",
               desc="4xx and 5xx responses to requests from Tor exits, by status code (access logs)."),
        bars(lay, "HTTP responses to Tor clients by class",
             [target("sum by (code_class) (increase(torwatch_tor_http_responses_total"
                     f"{{{SEL}}}[$__range]))", "{{code_class}}", instant=True)], h=8, unit="short"),
    ]
    p += logins(lay)
    return dashboard("torwatch-tor-traffic", "Tor traffic",
                     "Traffic from and to Tor seen in firewall drop logs and access logs, as counted by torwatch.",
                     p, ["torwatch", "tor", "firewall"], "now-24h")


def logins(lay):
    """The "Tor exits trying to log in" row: login attempts from Tor exits by kind, service and result."""
    att = f"torwatch_tor_logins_total{{{SELI}}}"
    ok = f'torwatch_tor_logins_total{{{SELI},action="allow"}}'
    red = {"thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                        {"color": "red", "value": 1}]}}
    return [
        lay.row("Tor exits trying to log in"),
        stat(lay, "Successful logins from Tor in range", [target(f"sum(increase({ok}[$__range]))", "logins")],
             w=8, unit="short", defaults=red,
             desc="Logins from Tor exit addresses that the service accepted (sshd Accepted, a VPN or "
                  "administrator login that succeeded). Alert: TorwatchTorLoginSucceeded."),
        stat(lay, "Login attempts from Tor in range", [target(f"sum(increase({att}[$__range]))", "attempts")],
             w=8, unit="short", desc="Every log line of a login attempt from a Tor exit, whatever its outcome."),
        stat(lay, "Failed logins from Tor in range",
             [target(f'sum(increase(torwatch_tor_logins_total{{{SELI},action="fail"}}[$__range]))', "failed")],
             w=8, unit="short"),
        bars(lay, "Tor hits by kind",
             [target("sum by (kind) (increase(torwatch_tor_hits_total"
                     f'{{{SELI},direction="inbound"}}[$__range]))', "{{kind}}", instant=True)],
             w=8, h=8, unit="short",
             desc="Inbound matched events by what they are: traffic (firewall flows), auth (login attempts), web "
                  "(HTTP requests)."),
        bars(lay, "Login attempts by target service",
             [target(f"sum by (service) (increase({att}[$__range]))", "{{service}}", instant=True)],
             w=8, h=8, unit="short",
             desc="ssh, vpn (AnyConnect, GlobalProtect, SSL and IPsec VPN), web (HTTP authentication), admin (the "
                  "firewall's administration), other (the log line names none)."),
        bars(lay, "Login attempts by result",
             [target(f"sum by (action) (increase({att}[$__range]))", "{{action}}", instant=True)],
             w=8, h=8, unit="short", desc="fail, allow (succeeded), unknown (the line reports no outcome)."),
        table(lay, "Login attempts by service and result",
              [target(f"sum by (service, action) (increase({att}[$__range]))", "{{service}} {{action}}",
                      instant=True, fmt="table")],
              rename="Attempts", desc="The same counts, per service and result."),
        series(lay, "Login attempts over time",
               [target(f"sum by (service, action) (rate({att}[$__rate_interval]))", "{{service}} {{action}}")],
               unit="reqps"),
    ]


def health():
    lay = Layout()
    age = {"thresholds": {"mode": "absolute", "steps": [
        {"color": "green", "value": None}, {"color": "orange", "value": 3600}, {"color": "red", "value": 10800}]}}
    p = [
        stat(lay, "List loaded", [target(f"torwatch_list_loaded{{{SEL}}}", "{{instance}}")], w=4, defaults={
            "mappings": [{"type": "value", "options": {"0": {"text": "no", "color": "red", "index": 0},
                                                       "1": {"text": "yes", "color": "green", "index": 1}}}]}),
        stat(lay, "tor-exits entries", [target(f'sum(torwatch_list_entries{{{SEL},list="tor-exits"}})', "entries")],
             w=5, unit="short"),
        stat(lay, "Oldest list age", [target(f"max(time() - torwatch_list_updated_timestamp_seconds{{{SEL}}})",
                                             "age")], w=5, unit="s", defaults=age,
             desc="Time since the least recently confirmed list was confirmed by any of its sources."),
        stat(lay, "Sources up", [target(f"sum(torwatch_source_up{{{SEL}}}) / count(torwatch_source_up{{{SEL}}})",
                                        "up")], w=5, unit="percentunit"),
        stat(lay, "Version", [target(f"torwatch_build_info{{{SEL}}}", "{{version}}")], w=5, text_mode="name",
             defaults={"color": {"mode": "fixed", "fixedColor": "text"}}),
    ]
    p.append(lay.row("Lists"))
    p += [
        series(lay, "List size by list and family",
               [target(f"sum by (list, family) (torwatch_list_entries{{{SEL}}})", "{{list}} {{family}}")],
               unit="short"),
        series(lay, "List age", [
            target(f"max by (list) (time() - torwatch_list_updated_timestamp_seconds{{{SEL}}})", "{{list}}"),
            target(f"max(torwatch_list_stale_after_seconds{{{SEL}}})", "stale after", ref="B")],
               unit="s", defaults=age,
               desc="Time since the list's sources were last confirmed. A list older than torwatch's stale_after "
                    "(the \"stale after\" line) is stale: /readyz lists it, the status page marks it and "
                    "TorwatchListStale fires."),
    ]
    p.append(lay.row("Sources"))
    fetches = f"torwatch_source_fetches_total{{{SEL}}}"
    p += [
        table(lay, "Source outcomes in range",
              [target(f"sum by (source, result) (increase({fetches}[$__range]))", "{{source}} {{result}}",
                      instant=True, fmt="table")], h=8, rename="Fetches"),
        series(lay, "Source fetches by result",
               [target(f"sum by (source, result) (rate({fetches}[$__rate_interval]))", "{{source}} {{result}}")],
               unit="reqps"),
        series(lay, "Source last success age",
               [target(f"max by (source) (time() - torwatch_source_last_success_timestamp_seconds{{{SEL}}})",
                       "{{source}}")], unit="s", defaults=age),
        series(lay, "Source entries", [target(f"max by (source) (torwatch_source_entries{{{SEL}}})", "{{source}}")],
               unit="short"),
        series(lay, "Fetch duration (1 h window)", [
            target("histogram_quantile(0.95, sum by (source, le) (increase("
                   f"torwatch_source_fetch_duration_seconds_bucket{{{SEL}}}[1h])))", "p95 {{source}}"),
            target(f"sum by (source) (increase(torwatch_source_fetch_duration_seconds_sum{{{SEL}}}[1h])) / "
                   f"sum by (source) (increase(torwatch_source_fetch_duration_seconds_count{{{SEL}}}[1h]))",
                   "mean {{source}}", ref="B")], w=24, unit="s",
            desc="Fetches run every 30 minutes or more, so a window of an hour is used rather than the step."),
    ]
    p.append(lay.row("Publishing"))
    p += [
        series(lay, "Publish writes and applies", [
            target(f"sum by (file, result) (rate(torwatch_publish_writes_total{{{SEL}}}[$__rate_interval]))",
                   "write {{file}} {{result}}"),
            target(f"sum by (file, result) (rate(torwatch_publish_applies_total{{{SEL}}}[$__rate_interval]))",
                   "apply {{file}} {{result}}", ref="B")], unit="reqps"),
        series(lay, "Publish last success age",
               [target(f"time() - torwatch_publish_last_success_timestamp_seconds{{{SEL}}}", "{{file}}")], unit="s"),
    ]
    p.append(lay.row("Inputs"))
    last = f"torwatch_input_last_line_timestamp_seconds{{{SELI}}}"
    p += [
        series(lay, "Input lines/s", [
            target(f"sum by (input) (rate(torwatch_input_lines_total{{{SELI}}}[$__rate_interval]))", "read {{input}}"),
            target(f"sum by (input, format) (rate(torwatch_input_parsed_total{{{SELI}}}[$__rate_interval]))",
                   "parsed {{input}} {{format}}", ref="B")], unit="reqps"),
        series(lay, "Parse errors by reason",
               [target(f"sum by (input, reason) (rate(torwatch_input_parse_errors_total{{{SELI}}}[$__rate_interval]))",
                       "{{input}} {{reason}}")], unit="reqps"),
        series(lay, "Lines dropped inside torwatch",
               [target(f"sum by (input, reason) (rate(torwatch_input_dropped_total{{{SELI}}}[$__rate_interval]))",
                       "{{input}} {{reason}}")], unit="reqps",
               desc="queue_full: the pipeline could not keep up; oversize: a line longer than the limit."),
        series(lay, "Socket drops (kernel)",
               [target(f"sum by (input) (rate(torwatch_input_socket_drops_total{{{SELI}}}[$__rate_interval]))",
                       "{{input}}")], unit="reqps",
               desc="Datagrams the kernel dropped on a UDP input's socket before torwatch read them."),
        stat(lay, "Time since last line",
             [target(f"(time() - {last}) and ({last} > 0) or (({last} == 0) - 1)", "{{input}}")], w=24,
             unit="s", text_mode="value_and_name", defaults={"mappings": [
                 {"type": "value", "options": {"-1": {"text": "never", "color": "orange", "index": 0}}}]},
             desc="\"never\": the input has not read a line since torwatch started. TorwatchInputSilent fires when "
                  "an input that had lines gets none for 30 minutes."),
    ]
    p.append(lay.row("Service"))
    p += [
        series(lay, "HTTP requests",
               [target(f"sum by (endpoint, code) (rate(torwatch_http_requests_total{{{SEL}}}[$__rate_interval]))",
                       "{{endpoint}} {{code}}")], unit="reqps"),
        bars(lay, "Config reloads in range",
             [target(f"sum by (result) (increase(torwatch_config_reloads_total{{{SEL}}}[$__range]))", "{{result}}",
                     instant=True)], h=8, unit="short"),
    ]
    return dashboard("torwatch-health", "torwatch health",
                     "Exit list freshness, sources, publishing, inputs and the HTTP endpoint of torwatch.",
                     p, ["torwatch"], "now-6h")


def fleet():
    """Tor traffic of the whole fleet (rules/torwatch.fleet.rules.yml): no job or instance to pick, the last 24 h."""
    lay = Layout()
    hits = "kind:torwatch_tor_hits:increase24h"
    p = [
        stat(lay, "Distinct exits, fleet (24 h)", [target("fleet:torwatch_tor_distinct_exits:count24h", "exits")],
             desc="Distinct Tor exit addresses seen by any instance in the last 24 hours; an exit seen by two "
                  "instances counts once."),
        stat(lay, "Inbound Tor hits, fleet (24 h)", [target(f'sum({hits}{{direction="inbound"}})', "hits")],
             unit="short"),
        stat(lay, "Outbound to Tor relays, fleet (24 h)", [target(f'sum({hits}{{direction="outbound"}})',
                                                                  "connections")], unit="short"),
        stat(lay, "Instances", [target("fleet:torwatch_instances:count", "instances")],
             desc="torwatch instances Prometheus scrapes (leader, followers, standalone)."),
        table(lay, "Top exit nodes, fleet (24 h)",
              [target("topk(20, exit:torwatch_tor_hits_by_exit:increase24h)", "{{exit}}", instant=True,
                      fmt="table")],
              rename="Hits", desc="The 20 exit addresses with the most inbound matched events, all instances summed."),
        bars(lay, "Top countries, fleet (24 h)",
             [target("topk(20, country:torwatch_tor_hits_by_country:increase24h)", "{{country}}", instant=True)],
             unit="short"),
        bars(lay, "Probed destination ports, fleet (24 h)",
             [target("topk(20, sum by (port) "
                     '(direction_port:torwatch_tor_hits_by_port:increase24h{direction="inbound"}))', "{{port}}",
                     instant=True)], unit="short"),
        bars(lay, "HTTP errors served to Tor clients, fleet (24 h)",
             [target("sum by (code) "
                     '(code:torwatch_tor_http_responses:increase24h{code_class=~"4xx|5xx"})', "{{code}}",
                     instant=True)], unit="short"),
        series(lay, "Tor hits by kind, direction and action, fleet (24 h)",
               [target(f"sum by (kind, direction, action) ({hits})", "{{kind}} {{direction}} {{action}}")],
               unit="short", desc="Each point: the events of the 24 hours before it."),
        series(lay, "Distinct exits: fleet and per instance (24 h)", [
            target("fleet:torwatch_tor_distinct_exits:count24h", "fleet"),
            target("max by (instance) (torwatch_tor_distinct_exits_24h)", "{{instance}}", ref="B")],
               unit="short", desc="The fleet's count is at most the sum of the instances' counts: exits seen by "
                                  "several instances count once."),
        series(lay, "tor-exits entries per instance",
               [target('sum by (instance) (torwatch_list_entries{list="tor-exits"})', "{{instance}}")],
               unit="short", desc="Followers serve the leader's list: their lines lie on the leader's."),
        series(lay, "tor-exits age per instance",
               [target('max by (instance) (time() - torwatch_list_updated_timestamp_seconds{list="tor-exits"})',
                       "{{instance}}")], unit="s",
               desc="Time since each instance's list was last confirmed (a follower: by its leader)."),
    ]
    board = dashboard("torwatch-fleet", "Tor traffic: fleet",
                      "The five questions for every torwatch instance together, from the fleet's recording rules "
                      "(rules/torwatch.fleet.rules.yml).", p, ["torwatch", "tor", "fleet"], "now-24h")
    board["templating"] = {"list": [v for v in templating()["list"] if v["name"] == "datasource"]}
    return board


def main():
    here = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent)
    for name, board in (("tor-traffic.json", tor_traffic()), ("torwatch-health.json", health()),
                        ("tor-fleet.json", fleet())):
        (here / name).write_text(json.dumps(board, indent=2) + "\n")


if __name__ == "__main__":
    main()
