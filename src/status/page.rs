//! Renders the status page from a snapshot and a traffic summary: pure, no IO, no clock. Every string that comes
//! from data (list and source names, errors, nicknames, country codes) goes through [`super::markup::text`].

use super::markup::{
    age, count, num, path_segment, span, table, table_end, text, time, utc, MAX_NAME,
};
use super::traffic::{self, Traffic};
use crate::list::List;
use crate::list::ListId;
use crate::snapshot::{Snapshot, SourceStatus};
use std::fmt::Write;

const CSS: &str = include_str!("page.css");
/// Longest error message shown, in characters.
const MAX_ERROR: usize = 300;

/// The whole page for `now` (unix seconds); a list no source has confirmed for `stale_after` seconds is stale.
pub fn render(snapshot: &Snapshot, traffic: &Traffic, now: i64, stale_after: i64) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"refresh\" content=\"60\">\n<title>torwatch status</title>\n<style>\n",
    );
    out.push_str(CSS);
    out.push_str(
        "</style>\n</head>\n<body>\n<header>\n<h1>torwatch</h1>\n<p class=\"mute\">Status at ",
    );
    utc(&mut out, now);
    out.push_str("; lists built ");
    time(&mut out, snapshot.built, now);
    out.push_str(". This page refreshes every minute.</p>\n</header>\n<main>\n");
    summary(&mut out, snapshot, traffic, now);
    traffic::section(&mut out, traffic, now);
    lists_section(&mut out, snapshot, now, stale_after);
    sources_section(&mut out, snapshot, now);
    let _ = write!(
        out,
        "</main>\n<footer>torwatch {} · <a href=\"/metrics\">metrics</a> · <a href=\"/readyz\">readiness</a>\
         </footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// The banner when no exit list is loaded, then the headline numbers.
fn summary(out: &mut String, snapshot: &Snapshot, traffic: &Traffic, now: i64) {
    let exits = snapshot.lists.get(ListId::Exits.name());
    if exits.is_none() {
        out.push_str(
            "<p class=\"banner bad\" role=\"alert\"><strong>No exit list loaded yet.</strong> Firewalls that poll \
             <code>/lists/tor-exits.txt</code> get HTTP 503 (and keep their last copy) until a source delivers a \
             valid list; see the sources below.</p>\n",
        );
    }
    out.push_str("<section aria-label=\"Summary\">\n<dl class=\"cards\">\n");
    card(out, "Exit addresses", |o| match exits {
        Some(list) => count(o, list.entries.len() as u64),
        None => o.push_str("not loaded"),
    });
    card(out, "Exit list confirmed", |o| {
        match snapshot.confirmed(ListId::Exits.name()) {
            0 => o.push_str("never"),
            at => age(o, now.saturating_sub(at)),
        };
    });
    let window = traffic.window_secs;
    card(out, "Tor hits", |o| count(o, traffic.hits));
    card(out, "Distinct exits", |o| count(o, traffic.distinct_exits));
    card(out, "Outbound to Tor", |o| count(o, traffic.outbound));
    let (logins, succeeded) = traffic.login_totals();
    card(out, "Logins from Tor", |o| {
        count(o, logins);
        if succeeded > 0 {
            o.push_str(" <strong class=\"bad\">(");
            count(o, succeeded);
            o.push_str(" succeeded)</strong>");
        }
    });
    out.push_str(
        "</dl>\n<p class=\"mute\">Hits, distinct exits, outbound connections and logins: last ",
    );
    span(out, window);
    out.push_str(".</p>\n</section>\n");
}

fn card(out: &mut String, label: &str, value: impl FnOnce(&mut String)) {
    let _ = write!(out, "<div><dt>{label}</dt><dd>");
    value(out);
    out.push_str("</dd></div>\n");
}

fn lists_section(out: &mut String, snapshot: &Snapshot, now: i64, stale_after: i64) {
    out.push_str("<section aria-labelledby=\"lists\">\n<h2 id=\"lists\">Lists</h2>\n");
    let mut names: Vec<&String> = snapshot.known.iter().chain(snapshot.lists.keys()).collect();
    names.sort_by_key(|n| window_order(n));
    names.dedup();
    table(
        out,
        "Published lists",
        &[
            "List",
            "State",
            "#Addresses",
            "#IPv4",
            "#IPv6",
            "Confirmed",
            "Contents changed",
        ],
    );
    for name in names {
        list_row(out, snapshot, name, now, stale_after);
    }
    table_end(out);
    out.push_str("<p class=\"mute\">Stale: no source of the list has succeeded for ");
    span(out, stale_after);
    out.push_str(". A list that is not loaded is answered with HTTP 503, never as an empty list.</p>\n</section>\n");
}

/// Sorts `tor-exits-7d` after `tor-exits-1d` and before `tor-exits-30d`: by name, then by window length.
fn window_order(name: &str) -> (&str, u32, &str) {
    let window = name
        .rsplit_once('-')
        .and_then(|(base, w)| Some((base, w.strip_suffix('d')?.parse::<u32>().ok()?)));
    match window {
        Some((base, days)) => (base, days, name),
        None => (name, 0, name),
    }
}

fn list_row(out: &mut String, snapshot: &Snapshot, name: &str, now: i64, stale_after: i64) {
    let list: Option<&List> = snapshot.lists.get(name).map(|l| &**l);
    let confirmed = snapshot.confirmed(name);
    out.push_str("<tr><th scope=\"row\"><a href=\"/lists/");
    path_segment(out, name);
    out.push_str(".txt\">");
    text(out, name, MAX_NAME);
    out.push_str("</a></th><td>");
    let Some(list) = list else {
        out.push_str(
            "<span class=\"bad\">not loaded</span></td><td class=\"n\">—</td><td class=\"n\">—</td>\
             <td class=\"n\">—</td><td>—</td><td>—</td></tr>\n",
        );
        return;
    };
    if !snapshot.is_stale(name, stale_after, now) {
        out.push_str("<span class=\"ok\">fresh</span></td>");
    } else {
        out.push_str("<span class=\"warn\">stale</span></td>");
    }
    // Entries are sorted with IPv4 before IPv6.
    let v4 = list.entries.partition_point(|e| e.net.addr().is_ipv4());
    num(out, list.entries.len() as u64);
    num(out, v4 as u64);
    num(out, list.entries.len().saturating_sub(v4) as u64);
    out.push_str("<td>");
    time(out, confirmed, now);
    out.push_str("</td><td>");
    time(out, list.updated, now);
    out.push_str("</td></tr>\n");
}

fn sources_section(out: &mut String, snapshot: &Snapshot, now: i64) {
    out.push_str("<section aria-labelledby=\"sources\">\n<h2 id=\"sources\">Sources</h2>\n");
    if snapshot.sources.is_empty() {
        out.push_str("<p>No sources are configured.</p>\n</section>\n");
        return;
    }
    table(
        out,
        "Exit list sources",
        &[
            "Source",
            "Result",
            "Last success",
            "Last attempt",
            "#Entries",
            "Type",
            "List",
            "Error",
        ],
    );
    for s in &snapshot.sources {
        source_row(out, s, now);
    }
    table_end(out);
    out.push_str("</section>\n");
}

fn source_row(out: &mut String, s: &SourceStatus, now: i64) {
    out.push_str("<tr><th scope=\"row\">");
    text(out, &s.name, MAX_NAME);
    out.push_str("</th><td>");
    let (class, label) = match s.last_result.as_str() {
        _ if !s.enabled => ("mute", "disabled"),
        "" => ("warn", "pending"),
        "ok" | "unchanged" => ("ok", s.last_result.as_str()),
        other => ("bad", other),
    };
    let _ = write!(out, "<span class=\"{class}\">");
    text(out, label, MAX_NAME);
    out.push_str("</span></td><td>");
    time(out, s.last_success, now);
    out.push_str("</td><td>");
    time(out, s.last_attempt, now);
    out.push_str("</td>");
    num(out, s.entries as u64);
    out.push_str("<td>");
    text(out, s.kind, MAX_NAME);
    out.push_str("</td><td>");
    text(out, &s.list, MAX_NAME);
    out.push_str("</td><td class=\"err\">");
    match &s.last_error {
        Some(e) => text(out, e, MAX_ERROR),
        None => out.push('—'),
    }
    out.push_str("</td></tr>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_windows_sort_by_length() {
        let mut names = vec![
            "tor-exits-30d",
            "tor-relays",
            "tor-exits-7d",
            "tor-exits",
            "tor-exits-1d",
            "a-xd",
        ];
        names.sort_by_key(|n| window_order(n));
        assert_eq!(
            names,
            [
                "a-xd",
                "tor-exits",
                "tor-exits-1d",
                "tor-exits-7d",
                "tor-exits-30d",
                "tor-relays"
            ]
        );
    }
}
