//! Timestamps found in log lines (RFC 3339, BSD `Mmm dd hh:mm:ss`, optionally with a year): bytes in, Unix seconds
//! and the number of bytes read out. Pure: the current time is a parameter, never read here.

use super::super::civil::{digits, month, year_of, CivilTime};

/// Two ASCII digits as a number.
fn two(a: u8, b: u8) -> Option<u8> {
    let (a, b) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'));
    (a <= 9 && b <= 9).then(|| a * 10 + b)
}

/// Reads `hh:mm:ss` at `at`.
fn clock(s: &[u8], at: usize) -> Option<(u8, u8, u8)> {
    let &[h1, h2, b':', m1, m2, b':', s1, s2] = s.get(at..at.checked_add(8)?)? else {
        return None;
    };
    Some((two(h1, h2)?, two(m1, m2)?, two(s1, s2)?))
}

/// Length of an optional `.digits` fraction at `at`.
fn fraction_len(s: &[u8], at: usize) -> usize {
    if s.get(at) != Some(&b'.') {
        return 0;
    }
    let n = s
        .get(at + 1..)
        .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
    if n == 0 {
        0
    } else {
        n + 1
    }
}

/// A stamp read and checked at the start of a slice, not yet turned into Unix seconds. Reading decides whether
/// a stamp is there and how long it is; [`Stamp::to_unix`] never fails on a stamp that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The fields as written; `year` is 0 when the stamp has none (BSD).
    civil: CivilTime,
    has_year: bool,
    /// Seconds east of UTC.
    offset: i64,
    /// Bytes the stamp takes.
    pub end: usize,
}

impl Stamp {
    /// Unix seconds. A stamp without a year takes the year of `now()` (called only then), or the one before when
    /// that would put it more than a day after `now`.
    pub fn to_unix(self, now: impl Fn() -> i64) -> Option<i64> {
        if self.has_year {
            return Some(self.civil.to_unix()? - self.offset);
        }
        let now = now();
        let this_year = year_of(now);
        let t = CivilTime {
            year: this_year,
            ..self.civil
        }
        .to_unix()?;
        if t > now + 86_400 {
            CivilTime {
                year: this_year - 1,
                ..self.civil
            }
            .to_unix()
        } else {
            Some(t)
        }
    }
}

/// Reads `YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh:mm|±hhmm]` at the start of `s`. A missing offset means UTC. `sep`
/// lists the accepted date/time separators.
pub fn read_rfc3339_with(s: &[u8], sep: &[u8]) -> Option<Stamp> {
    let &[y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, t, ..] = s else {
        return None;
    };
    if !sep.contains(&t) {
        return None;
    }
    let (hour, minute, second) = clock(s, 11)?;
    let civil = CivilTime {
        year: i64::from(two(y1, y2)?) * 100 + i64::from(two(y3, y4)?),
        month: two(mo1, mo2)?,
        day: two(d1, d2)?,
        hour,
        minute,
        second,
    };
    if !civil.is_valid() {
        return None;
    }
    let mut end = 19 + fraction_len(s, 19);
    let mut offset = 0;
    match s.get(end) {
        Some(b'Z' | b'z') => end += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let h = i64::from(digits(s, end + 1, 2)?);
            let colon = usize::from(s.get(end + 3) == Some(&b':'));
            let m = i64::from(digits(s, end + 3 + colon, 2)?);
            offset = h * 3_600 + m * 60;
            if sign == b'-' {
                offset = -offset;
            }
            end += 5 + colon;
        }
        _ => {}
    }
    Some(Stamp {
        civil,
        has_year: true,
        offset,
        end,
    })
}

/// Reads an RFC 3339 stamp (`T` separator) at the start of `s`.
pub fn read_rfc3339(s: &[u8]) -> Option<Stamp> {
    read_rfc3339_with(s, b"Tt")
}

/// Reads a BSD stamp `Mmm dd hh:mm:ss[.frac]` or `Mmm dd yyyy hh:mm:ss` at the start of `s`.
pub fn read_bsd(s: &[u8]) -> Option<Stamp> {
    let &[m1, m2, m3, b' ', d1, ..] = s else {
        return None;
    };
    let month = month(&[m1, m2, m3])?;
    // The day: one or two digits after one or two spaces (`Mmm  5`, `Mmm 5`, `Mmm 05`, `Mmm 15`, `Mmm  15`).
    let first = 4 + usize::from(d1 == b' ');
    let digit = |i: usize| s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9);
    let (day, mut at) = match (digit(first), digit(first + 1)) {
        (Some(a), Some(b)) => (a * 10 + b, first + 2),
        (Some(a), None) => (a, first + 1),
        (None, _) => return None,
    };
    if s.get(at) != Some(&b' ') {
        return None;
    }
    at += 1;
    let year = match s.get(at..at + 5) {
        Some(&[y1, y2, y3, y4, b' ']) => match (two(y1, y2), two(y3, y4)) {
            (Some(hi), Some(lo)) => {
                at += 5;
                Some(i64::from(hi) * 100 + i64::from(lo))
            }
            _ => None,
        },
        _ => None,
    };
    let (hour, minute, second) = clock(s, at)?;
    let civil = CivilTime {
        year: year.unwrap_or(0),
        month,
        day,
        hour,
        minute,
        second,
    };
    if !civil.is_valid() {
        return None;
    }
    Some(Stamp {
        civil,
        has_year: year.is_some(),
        offset: 0,
        end: at + 8 + fraction_len(s, at + 8),
    })
}

/// Reads an RFC 3339 stamp, else a BSD one, at the start of `s`.
pub fn read_any(s: &[u8]) -> Option<Stamp> {
    read_rfc3339(s).or_else(|| read_bsd(s))
}

/// Parses `YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh:mm|±hhmm]` at the start of `s` into Unix seconds and the number of
/// bytes read. A missing offset means UTC. `sep` lists the accepted date/time separators.
pub fn rfc3339_with(s: &[u8], sep: &[u8]) -> Option<(i64, usize)> {
    let stamp = read_rfc3339_with(s, sep)?;
    Some((stamp.to_unix(|| 0)?, stamp.end))
}

/// Parses an RFC 3339 timestamp (`T` separator) at the start of `s`.
pub fn rfc3339(s: &[u8]) -> Option<(i64, usize)> {
    rfc3339_with(s, b"Tt")
}

/// Parses a BSD timestamp `Mmm dd hh:mm:ss[.frac]` or `Mmm dd yyyy hh:mm:ss` at the start of `s`. Without a year,
/// the year is that of `now`, or the one before when that would put the stamp more than a day after `now`.
pub fn bsd(s: &[u8], now: impl Fn() -> i64) -> Option<(i64, usize)> {
    let stamp = read_bsd(s)?;
    Some((stamp.to_unix(now)?, stamp.end))
}

/// Parses a common-log-format stamp `dd/Mmm/yyyy:hh:mm:ss[ ±hhmm]` at the start of `s`.
pub fn clf(s: &[u8]) -> Option<(i64, usize)> {
    if s.get(2) != Some(&b'/') || s.get(6) != Some(&b'/') || s.get(11) != Some(&b':') {
        return None;
    }
    let (hour, minute, second) = clock(s, 12)?;
    let civil = CivilTime {
        year: i64::from(digits(s, 7, 4)?),
        month: month(s.get(3..6)?)?,
        day: digits(s, 0, 2)? as u8,
        hour,
        minute,
        second,
    };
    let t = civil.to_unix()?;
    match (s.get(20), s.get(21)) {
        (Some(b' '), Some(&sign @ (b'+' | b'-'))) => {
            let off = i64::from(digits(s, 22, 2)?) * 3_600 + i64::from(digits(s, 24, 2)?) * 60;
            Some((if sign == b'+' { t - off } else { t + off }, 26))
        }
        _ => Some((t, 20)),
    }
}
