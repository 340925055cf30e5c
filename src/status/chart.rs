//! The traffic section's chart: inbound Tor hits per hour over the window as inline SVG, stacked by kind. Kinds are
//! told apart by fill pattern (solid, stripes, dots) as well as colour, axes are labelled in text, every hour has a
//! title with its numbers, and the same numbers follow as a table, so the chart reads without colour, without a
//! pointer and without a script. Pure rendering, no IO.

use super::markup::{count, table, table_end};
use super::traffic::HourRow;
use std::fmt::Write;

/// Drawing size in SVG units (the chart scales to the page's width).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
/// Room for the y labels, and below the bars for the hour labels.
const LEFT: f64 = 52.0;
const RIGHT: f64 = 6.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

/// Each kind's name on the page and the fill that draws it, in the order of [`crate::event::Kind::ALL`].
const KINDS: [(&str, &str); 3] = [
    ("Firewall flows", "url(#tw0)"),
    ("Login attempts", "url(#tw1)"),
    ("Web requests", "url(#tw2)"),
];

/// The kinds' names in an hour's title.
const SHORT: [&str; 3] = ["firewall", "logins", "web"];

/// The chart and its table, for `hours` (oldest first).
pub fn hourly(out: &mut String, hours: &[HourRow]) {
    if hours.is_empty() {
        return;
    }
    let totals: Vec<u64> = hours.iter().map(|h| h.kinds.iter().sum()).collect();
    let top = nice(totals.iter().copied().max().unwrap_or(0).max(1));
    let peak = totals
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .map(|(i, n)| (hours.get(i).map_or(0, |h| h.start), *n));
    out.push_str(
        "<figure class=\"chart\">\n<div class=\"scroll\" role=\"region\" aria-label=\"Hourly chart\" tabindex=\"0\">\n",
    );
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"tw-chart-title tw-chart-desc\" \
         preserveAspectRatio=\"xMidYMid meet\">\n<title id=\"tw-chart-title\">Tor hits per hour, last 24 h \
         (UTC)</title>\n<desc id=\"tw-chart-desc\">"
    );
    count(out, totals.iter().sum());
    out.push_str(" inbound Tor hits");
    if let Some((at, n)) = peak.filter(|(_, n)| *n > 0) {
        out.push_str("; the busiest hour, ");
        hour_span(out, at);
        out.push_str(", had ");
        count(out, n);
    }
    out.push_str(".</desc>\n");
    defs(out);
    axes(out, top, hours);
    let slot = (WIDTH - LEFT - RIGHT) / hours.len() as f64;
    let scale = (HEIGHT - TOP - BOTTOM) / top as f64;
    for (i, (h, total)) in hours.iter().zip(&totals).enumerate() {
        bar(out, h, *total, LEFT + i as f64 * slot, slot, scale);
    }
    out.push_str("</svg>\n</div>\n<figcaption>");
    legend(out);
    out.push_str("</figcaption>\n</figure>\n");
    numbers(out, hours, &totals);
}

/// The smallest 1, 2 or 5 times a power of ten that is at least `n`.
fn nice(n: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let v = step.saturating_mul(m);
            if v >= n || v == u64::MAX {
                return v;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// The fills: solid, diagonal stripes, dots (patterns, so that no kind depends on its colour alone).
fn defs(out: &mut String) {
    out.push_str(
        "<defs>\n<pattern id=\"tw0\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">\
         <rect width=\"4\" height=\"4\" class=\"k0\"/></pattern>\n\
         <pattern id=\"tw1\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" class=\"kbg\"/>\
         <rect width=\"3\" height=\"6\" class=\"k1\"/></pattern>\n\
         <pattern id=\"tw2\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">\
         <rect width=\"5\" height=\"5\" class=\"kbg\"/><circle cx=\"2.5\" cy=\"2.5\" r=\"1.6\" class=\"k2\"/>\
         </pattern>\n</defs>\n",
    );
}

/// Grid lines with their counts (0, half, top) and an hour label every three hours.
fn axes(out: &mut String, top: u64, hours: &[HourRow]) {
    let bottom = HEIGHT - BOTTOM;
    for (value, y) in [(0, bottom), (top / 2, (TOP + bottom) / 2.0), (top, TOP)] {
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" class=\"grid\"/><text x=\"{}\" y=\"{}\" \
             class=\"ylab\">",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
        count(out, value);
        out.push_str("</text>\n");
    }
    let slot = (WIDTH - LEFT - RIGHT) / hours.len() as f64;
    for (i, h) in hours.iter().enumerate() {
        if (h.start / 3600).rem_euclid(3) != 0 {
            continue;
        }
        let Some(at) = chrono::DateTime::from_timestamp(h.start, 0) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" class=\"xlab\">{}</text>",
            LEFT + i as f64 * slot,
            HEIGHT - 8.0,
            at.format("%H:00")
        );
    }
}

/// One hour's stacked bar, with its numbers as title and data attributes.
fn bar(out: &mut String, h: &HourRow, total: u64, x: f64, slot: f64, scale: f64) {
    let _ = write!(
        out,
        "<g class=\"hour\" data-start=\"{}\" data-hits=\"{total}\" data-kinds=\"{} {} {}\"><title>",
        h.start, h.kinds[0], h.kinds[1], h.kinds[2]
    );
    hour_span(out, h.start);
    out.push_str(": ");
    count(out, total);
    out.push_str(" hits");
    if total > 0 {
        out.push_str(" (");
        for (i, (name, n)) in SHORT.iter().zip(h.kinds).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{name} ");
            count(out, n);
        }
        out.push(')');
    }
    out.push_str("</title>");
    let mut y = HEIGHT - BOTTOM;
    for ((_, fill), n) in KINDS.iter().zip(h.kinds) {
        if n == 0 {
            continue;
        }
        let height = n as f64 * scale;
        y -= height;
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{y:.2}\" width=\"{:.1}\" height=\"{height:.2}\" fill=\"{fill}\"/>",
            x + 1.0,
            (slot - 2.0).max(1.0)
        );
    }
    out.push_str("</g>\n");
}

/// "11-29 13:00–14:00 UTC" (the window is one day: the year goes without saying).
fn hour_span(out: &mut String, start: i64) {
    match (
        chrono::DateTime::from_timestamp(start, 0),
        chrono::DateTime::from_timestamp(start + 3600, 0),
    ) {
        (Some(a), Some(b)) => {
            let _ = write!(out, "{}–{} UTC", a.format("%m-%d %H:%M"), b.format("%H:%M"));
        }
        _ => out.push_str("invalid time"),
    }
}

fn legend(out: &mut String) {
    out.push_str("<span class=\"mute\">Inbound Tor hits per hour (UTC), by the time in each log line:</span>");
    for (name, fill) in KINDS {
        let _ = write!(
            out,
            " <span class=\"key\"><svg viewBox=\"0 0 14 14\" aria-hidden=\"true\"><rect width=\"14\" \
             height=\"14\" fill=\"{fill}\"/></svg>{name}</span>"
        );
    }
}

/// The chart's numbers as a table, folded away.
fn numbers(out: &mut String, hours: &[HourRow], totals: &[u64]) {
    out.push_str("<details class=\"hourly\"><summary>Hourly counts</summary>\n");
    table(
        out,
        "Inbound Tor hits per hour",
        &[
            "Hour (UTC)",
            "#Firewall flows",
            "#Login attempts",
            "#Web requests",
            "#Total",
        ],
    );
    for (h, total) in hours.iter().zip(totals).rev() {
        out.push_str("<tr><td>");
        hour_span(out, h.start);
        out.push_str("</td>");
        for n in h.kinds {
            super::markup::num(out, n);
        }
        super::markup::num(out, *total);
        out.push_str("</tr>\n");
    }
    table_end(out);
    out.push_str("</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_tops() {
        assert_eq!(
            [1, 2, 3, 6, 10, 11, 99, 101, 4999].map(nice),
            [1, 2, 5, 10, 10, 20, 100, 200, 5000]
        );
        assert_eq!(nice(u64::MAX), u64::MAX);
    }

    #[test]
    fn bars_are_as_tall_as_their_counts() {
        let hours: Vec<HourRow> = (0..24)
            .map(|i| HourRow {
                start: 1_795_900_000 / 3600 * 3600 + i * 3600,
                kinds: [i as u64 * 2, u64::from(i == 23) * 10, 0],
            })
            .collect();
        let mut out = String::new();
        hourly(&mut out, &hours);
        assert_eq!(out.matches("<g class=\"hour\"").count(), 24);
        assert!(out.contains("data-hits=\"56\" data-kinds=\"46 10 0\""));
        // The last hour (56 hits) against a top of 100: 164 units of plot height, 46 + 10 of them.
        let plot = HEIGHT - TOP - BOTTOM;
        assert!(out.contains(&format!(
            "height=\"{:.2}\" fill=\"url(#tw0)\"",
            46.0 * plot / 100.0
        )));
        assert!(out.contains(&format!(
            "height=\"{:.2}\" fill=\"url(#tw1)\"",
            10.0 * plot / 100.0
        )));
        assert!(!out.contains("<script"));
        assert!(
            out.contains("<td class=\"n\">56</td></tr>"),
            "the table has the numbers"
        );
    }
}
