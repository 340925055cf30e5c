//! The markup the status page writes: HTML-escaped strings, grouped numbers, UTC times and ages, and the
//! scrolling table frame. Appends to a `String`; never fails and never panics on any input.

use std::fmt::Write;

/// Longest name, nickname, address or label shown, in characters.
pub const MAX_NAME: usize = 64;

/// Appends `text` with `& < > " '` escaped, so it is safe in element content and in quoted attributes. Control
/// characters become U+FFFD; at most `max` characters are kept, then "…".
pub fn text(out: &mut String, text: &str, max: usize) {
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            return;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// Appends `segment` percent-encoded for a URL path (every byte outside `A-Za-z0-9._~-`).
pub fn path_segment(out: &mut String, segment: &str) {
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Appends `n` with thousands separators: `1,234,567`.
pub fn count(out: &mut String, n: u64) {
    let digits = n.to_string();
    let len = digits.len();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
}

/// Appends a `<time>` element for unix seconds `at`: the age relative to `now` ("5 min ago"), with the UTC time
/// as machine-readable value and tooltip. `0` (never happened) is "never".
pub fn time(out: &mut String, at: i64, now: i64) {
    if at <= 0 {
        out.push_str("never");
        return;
    }
    let Some(utc) = chrono::DateTime::from_timestamp(at, 0) else {
        out.push_str("invalid time");
        return;
    };
    let _ = write!(
        out,
        "<time datetime=\"{}\" title=\"{}\">",
        utc.format("%Y-%m-%dT%H:%M:%SZ"),
        utc.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    age(out, now.saturating_sub(at));
    out.push_str("</time>");
}

/// Appends a `<time>` element showing unix seconds `at` as UTC: "2026-11-29 04:00:00 UTC".
pub fn utc(out: &mut String, at: i64) {
    match chrono::DateTime::from_timestamp(at, 0) {
        Some(utc) => {
            let _ = write!(
                out,
                "<time datetime=\"{}\">{}</time>",
                utc.format("%Y-%m-%dT%H:%M:%SZ"),
                utc.format("%Y-%m-%d %H:%M:%S UTC"),
            );
        }
        None => out.push_str("invalid time"),
    }
}

/// Appends an age in seconds in words: "just now", "42 s ago", "5 min ago", "3 h 12 min ago", "2 d 4 h ago";
/// a negative age (clock skew) is "in …".
pub fn age(out: &mut String, secs: i64) {
    let ahead = secs < 0;
    let s = secs.unsigned_abs();
    if s < 5 {
        out.push_str("just now");
        return;
    }
    if ahead {
        out.push_str("in ");
    }
    let _ = match s {
        0..60 => write!(out, "{s} s"),
        60..3600 => write!(out, "{} min", s / 60),
        3600..86400 => match (s / 3600, s % 3600 / 60) {
            (h, 0) => write!(out, "{h} h"),
            (h, m) => write!(out, "{h} h {m} min"),
        },
        _ => match (s / 86400, s % 86400 / 3600) {
            (d, 0) => write!(out, "{d} d"),
            (d, h) => write!(out, "{d} d {h} h"),
        },
    };
    if !ahead {
        out.push_str(" ago");
    }
}

/// A duration in seconds in words, for the traffic window: "24 h", "7 d", "90 min".
pub fn span(out: &mut String, secs: i64) {
    let s = secs.max(0);
    let _ = match s {
        _ if s >= 86400 && s % 86400 == 0 && s != 86400 => write!(out, "{} d", s / 86400),
        _ if s >= 3600 && s % 3600 == 0 => write!(out, "{} h", s / 3600),
        _ if s >= 60 => write!(out, "{} min", s / 60),
        _ => write!(out, "{s} s"),
    };
}

/// Opens a horizontally scrolling table with a caption and column headers; a header starting with `#` is numeric.
pub fn table(out: &mut String, caption: &str, columns: &[&str]) {
    let _ = write!(
        out,
        "<div class=\"scroll\" role=\"region\" aria-label=\"{caption}\" tabindex=\"0\">\n<table>\n\
         <caption>{caption}</caption>\n<thead><tr>"
    );
    for c in columns {
        match c.strip_prefix('#') {
            Some(c) => {
                let _ = write!(out, "<th scope=\"col\" class=\"n\">{c}</th>");
            }
            None => {
                let _ = write!(out, "<th scope=\"col\">{c}</th>");
            }
        }
    }
    out.push_str("</tr></thead>\n<tbody>\n");
}

pub fn table_end(out: &mut String) {
    out.push_str("</tbody>\n</table>\n</div>\n");
}

/// A numeric cell.
pub fn num(out: &mut String, n: u64) {
    out.push_str("<td class=\"n\">");
    count(out, n);
    out.push_str("</td>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut String)) -> String {
        let mut s = String::new();
        f(&mut s);
        s
    }

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            with(|o| text(o, "<a href='x'>&\"\u{7}", 100)),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\u{fffd}"
        );
        assert_eq!(with(|o| text(o, "abcdef", 3)), "abc…");
        assert_eq!(with(|o| text(o, "abc", 3)), "abc");
    }

    #[test]
    fn numbers_times_and_paths() {
        assert_eq!(with(|o| count(o, 0)), "0");
        assert_eq!(with(|o| count(o, 999)), "999");
        assert_eq!(with(|o| count(o, 1000)), "1,000");
        assert_eq!(with(|o| count(o, 1234567)), "1,234,567");
        assert_eq!(with(|o| age(o, 2)), "just now");
        assert_eq!(with(|o| age(o, 42)), "42 s ago");
        assert_eq!(with(|o| age(o, 300)), "5 min ago");
        assert_eq!(with(|o| age(o, 3 * 3600 + 720)), "3 h 12 min ago");
        assert_eq!(with(|o| age(o, 2 * 86400)), "2 d ago");
        assert_eq!(with(|o| age(o, -600)), "in 10 min");
        assert_eq!(with(|o| age(o, i64::MIN)), "in 106751991167300 d 15 h");
        assert_eq!(with(|o| span(o, 86400)), "24 h");
        assert_eq!(with(|o| span(o, 7 * 86400)), "7 d");
        assert_eq!(with(|o| time(o, 0, 100)), "never");
        assert_eq!(with(|o| time(o, i64::MAX, 100)), "invalid time");
        assert_eq!(
            with(|o| time(o, 1_700_000_000, 1_700_000_060)),
            "<time datetime=\"2023-11-14T22:13:20Z\" title=\"2023-11-14 22:13:20 UTC\">1 min ago</time>"
        );
        assert_eq!(with(|o| path_segment(o, "a b/<c>")), "a%20b%2F%3Cc%3E");
    }
}
