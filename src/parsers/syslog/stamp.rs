//! Timestamps found in log lines (RFC 3339, BSD `Mmm dd hh:mm:ss`, optionally with a year): bytes in, Unix seconds
//! and the number of bytes read out. Pure: the current time is a parameter, never read here.

use crate::event::{year_of, CivilTime};

/// Reads `n` ASCII digits at `at` as a number.
pub fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let field = s.get(at..at.checked_add(n)?)?;
    let mut v: u32 = 0;
    for &c in field {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Month number (1–12) of an English three-letter abbreviation, any case.
pub fn month(s: &[u8]) -> Option<u8> {
    let m = [
        s.first()?.to_ascii_lowercase(),
        s.get(1)?.to_ascii_lowercase(),
        s.get(2)?.to_ascii_lowercase(),
    ];
    Some(match &m {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// Reads `hh:mm:ss` at `at`.
fn clock(s: &[u8], at: usize) -> Option<(u8, u8, u8)> {
    if s.get(at + 2) != Some(&b':') || s.get(at + 5) != Some(&b':') {
        return None;
    }
    let h = digits(s, at, 2)?;
    let m = digits(s, at + 3, 2)?;
    let sec = digits(s, at + 6, 2)?;
    Some((h as u8, m as u8, sec as u8))
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

/// Parses `YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh:mm|±hhmm]` at the start of `s`. A missing offset means UTC.
/// `sep` lists the accepted date/time separators.
pub fn rfc3339_with(s: &[u8], sep: &[u8]) -> Option<(i64, usize)> {
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || !sep.contains(s.get(10)?) {
        return None;
    }
    let (hour, minute, second) = clock(s, 11)?;
    let civil = CivilTime {
        year: i64::from(digits(s, 0, 4)?),
        month: digits(s, 5, 2)? as u8,
        day: digits(s, 8, 2)? as u8,
        hour,
        minute,
        second,
    };
    let mut end = 19 + fraction_len(s, 19);
    let mut t = civil.to_unix()?;
    match s.get(end) {
        Some(b'Z' | b'z') => end += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let h = i64::from(digits(s, end + 1, 2)?);
            let colon = usize::from(s.get(end + 3) == Some(&b':'));
            let m = i64::from(digits(s, end + 3 + colon, 2)?);
            let off = h * 3_600 + m * 60;
            t = if sign == b'+' { t - off } else { t + off };
            end += 5 + colon;
        }
        _ => {}
    }
    Some((t, end))
}

/// Parses an RFC 3339 timestamp (`T` separator) at the start of `s`.
pub fn rfc3339(s: &[u8]) -> Option<(i64, usize)> {
    rfc3339_with(s, b"Tt")
}

/// Parses a BSD timestamp `Mmm dd hh:mm:ss[.frac]` or `Mmm dd yyyy hh:mm:ss` at the start of `s`. Without a year,
/// the year is that of `now`, or the one before when that would put the stamp more than a day after `now`.
pub fn bsd(s: &[u8], now: impl Fn() -> i64) -> Option<(i64, usize)> {
    let month = month(s)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let mut at = 4;
    if s.get(at) == Some(&b' ') {
        at += 1;
    }
    let day_len = s
        .get(at..)?
        .iter()
        .take(3)
        .take_while(|c| c.is_ascii_digit())
        .count();
    let day = digits(s, at, day_len)? as u8;
    at += day_len;
    if s.get(at) != Some(&b' ') {
        return None;
    }
    at += 1;
    let year = match (digits(s, at, 4), s.get(at + 4)) {
        (Some(y), Some(b' ')) => {
            at += 5;
            Some(i64::from(y))
        }
        _ => None,
    };
    let (hour, minute, second) = clock(s, at)?;
    let end = at + 8 + fraction_len(s, at + 8);
    let civil = |year| CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    };
    let t = match year {
        Some(y) => civil(y).to_unix()?,
        None => {
            let now = now();
            let this_year = year_of(now);
            let t = civil(this_year).to_unix()?;
            if t > now + 86_400 {
                civil(this_year - 1).to_unix()?
            } else {
                t
            }
        }
    };
    Some((t, end))
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
