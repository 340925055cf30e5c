//! The traffic summary the status page shows (filled by whatever matches drop-log events against the lists) and
//! its tables: top exits, countries, destination ports, HTTP responses. Pure rendering, no IO.

use super::markup::{count, num, span, table, table_end, text, time, MAX_NAME};
use std::fmt::Write;

/// The traffic window the page shows, in seconds.
pub const WINDOW_SECS: i64 = 24 * 3600;

/// Tor traffic seen in the drop logs over a recent window, as the page shows it. Rows are sorted by the
/// provider, most hits first; the page shows at most [`ROWS`] of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    /// Length of the window in seconds (24 h on the page).
    pub window_secs: i64,
    /// Inbound events whose source is a Tor exit.
    pub hits: u64,
    /// Distinct exit addresses among those hits.
    pub distinct_exits: u64,
    pub top_exits: Vec<ExitRow>,
    /// ISO 3166-1 alpha-2 code (any case) → hits.
    pub countries: Vec<(String, u64)>,
    /// Destination port label (`443/tcp`, `other`, …) → hits.
    pub ports: Vec<(String, u64)>,
    /// HTTP status code answered to Tor clients (from access logs) → responses.
    pub http_status: Vec<(u16, u64)>,
    /// Outbound events whose destination is a Tor relay.
    pub outbound: u64,
    /// Inbound hits per hour over the window, oldest first (empty: no chart).
    pub hourly: Vec<HourRow>,
    /// Login attempts from Tor exits, by the service they were for (only services that had any).
    pub logins: Vec<LoginRow>,
}

/// Login attempts from Tor exits to one service over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginRow {
    /// `ssh`, `vpn`, `web`, `admin`, or `other` (the log line names none).
    pub service: &'static str,
    pub failed: u64,
    pub succeeded: u64,
    /// Lines of a login that report no outcome (a session that ended, a connection opened).
    pub no_outcome: u64,
}

impl Traffic {
    /// Login attempts and successful logins over the window.
    pub fn login_totals(&self) -> (u64, u64) {
        self.logins.iter().fold((0, 0), |(n, ok), r| {
            (n + r.failed + r.succeeded + r.no_outcome, ok + r.succeeded)
        })
    }
}

/// One hour of the chart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourRow {
    /// Unix seconds of the hour's start.
    pub start: i64,
    /// Inbound hits by kind, in the order of [`crate::event::Kind::ALL`].
    pub kinds: [u64; 3],
}

/// An empty 24 h window.
impl Default for Traffic {
    fn default() -> Traffic {
        Traffic {
            window_secs: WINDOW_SECS,
            hits: 0,
            distinct_exits: 0,
            top_exits: Vec::new(),
            countries: Vec::new(),
            ports: Vec::new(),
            http_status: Vec::new(),
            outbound: 0,
            hourly: Vec::new(),
            logins: Vec::new(),
        }
    }
}

/// One exit address and what it did in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExitRow {
    pub address: String,
    /// Relay nickname from Onionoo, if known. Chosen by the relay operator: untrusted text.
    pub nickname: Option<String>,
    /// ISO 3166-1 alpha-2 code, if known.
    pub country: Option<String>,
    pub hits: u64,
    /// Unix seconds of the last hit.
    pub last_seen: i64,
}

/// At most this many rows per traffic table.
pub const ROWS: usize = 20;

/// The traffic section of the page: the tables, or a line saying there were no hits.
pub fn section(out: &mut String, traffic: &Traffic, now: i64) {
    out.push_str("<section aria-labelledby=\"traffic\">\n<h2 id=\"traffic\">Tor traffic, last ");
    span(out, traffic.window_secs);
    out.push_str("</h2>\n");
    if traffic.hits == 0 && traffic.top_exits.is_empty() && traffic.http_status.is_empty() {
        out.push_str("<p>No Tor hits in this window.</p>\n");
    } else {
        super::chart::hourly(out, &traffic.hourly);
        logins_table(out, traffic);
        exits_table(out, traffic, now);
        out.push_str("<div class=\"cols\">\n");
        share_table(
            out,
            "Countries",
            "Country",
            &traffic.countries,
            traffic.hits,
        );
        share_table(
            out,
            "Destination ports",
            "Port",
            &traffic.ports,
            traffic.hits,
        );
        if !traffic.http_status.is_empty() {
            http_table(out, &traffic.http_status);
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

/// Tor exits trying to log in: attempts by service and result; a successful login stands out.
fn logins_table(out: &mut String, traffic: &Traffic) {
    if traffic.logins.is_empty() {
        return;
    }
    table(
        out,
        "Tor exits trying to log in",
        &["Service", "#Failed", "#Succeeded", "#No outcome"],
    );
    for row in &traffic.logins {
        out.push_str("<tr><td>");
        text(out, row.service, MAX_NAME);
        out.push_str("</td>");
        num(out, row.failed);
        if row.succeeded > 0 {
            out.push_str("<td class=\"n\"><strong class=\"bad\">");
            count(out, row.succeeded);
            out.push_str("</strong></td>");
        } else {
            num(out, 0);
        }
        num(out, row.no_outcome);
        out.push_str("</tr>\n");
    }
    table_end(out);
    out.push_str(
        "<p class=\"mute\">Each log line of a login counts: sshd may log a failed password and the client's \
         disconnect for one attempt. Succeeded: a login from a Tor exit that the service accepted.</p>\n",
    );
}

fn http_table(out: &mut String, rows: &[(u16, u64)]) {
    out.push_str("<div>\n");
    table(out, "HTTP responses to Tor", &["Status", "#Responses"]);
    for (code, n) in rows.iter().take(ROWS) {
        let class = if *code >= 400 { " class=\"bad\"" } else { "" };
        let _ = write!(out, "<tr><td><span{class}>{code}</span></td>");
        num(out, *n);
        out.push_str("</tr>\n");
    }
    table_end(out);
    out.push_str("</div>\n");
}

fn exits_table(out: &mut String, traffic: &Traffic, now: i64) {
    table(
        out,
        "Top exits",
        &["Address", "Nickname", "Country", "#Hits", "Last hit"],
    );
    for row in traffic.top_exits.iter().take(ROWS) {
        out.push_str("<tr><td><code>");
        text(out, &row.address, MAX_NAME);
        out.push_str("</code></td><td>");
        text(out, row.nickname.as_deref().unwrap_or("—"), MAX_NAME);
        out.push_str("</td><td>");
        country(out, row.country.as_deref());
        out.push_str("</td>");
        num(out, row.hits);
        out.push_str("<td>");
        time(out, row.last_seen, now);
        out.push_str("</td></tr>\n");
    }
    table_end(out);
}

fn country(out: &mut String, code: Option<&str>) {
    match code {
        Some(c) if !c.is_empty() => text(out, &c.to_ascii_uppercase(), MAX_NAME),
        _ => out.push('—'),
    }
}

/// A table of label → hits with each row's share of `total`.
fn share_table(out: &mut String, caption: &str, label: &str, rows: &[(String, u64)], total: u64) {
    out.push_str("<div>\n");
    table(out, caption, &[label, "#Hits", "#Share"]);
    for (name, n) in rows.iter().take(ROWS) {
        out.push_str("<tr><td>");
        if label == "Country" {
            country(out, Some(name));
        } else {
            text(out, name, MAX_NAME);
        }
        out.push_str("</td>");
        num(out, *n);
        let share = if total == 0 {
            0.0
        } else {
            *n as f64 * 100.0 / total as f64
        };
        let _ = writeln!(out, "<td class=\"n\">{share:.1} %</td></tr>");
    }
    if rows.is_empty() {
        out.push_str("<tr><td colspan=\"3\">none</td></tr>\n");
    }
    table_end(out);
    out.push_str("</div>\n");
}
